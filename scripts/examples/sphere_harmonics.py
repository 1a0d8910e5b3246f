"""Poisson's equation on the sphere: a spherical-harmonic source against its exact solution.
=========================================================================================

On the sphere of radius ``R`` a spherical harmonic of degree ``l`` is an
eigenfunction of the surface Laplacian, ``-Δ_S Y_l = l (l + 1) / R² Y_l``.  The
restrictions of the harmonic polynomials ``x² - y²`` (``l = 2``) and
``x³ - 3 x y²`` (``l = 3``) are such harmonics, so with

    f = 6 (x² - y²)/R⁴ + 12 (x³ - 3 x y²)/R⁵      (x, y, z the points' Cartesian coordinates)

the solution of ``-Δ_S u = f`` is ``u = (x² - y²)/R² + (x³ - 3xy²)/R³``, up to
a constant (the problem is singular: poles and a periodic longitude, ``c = 0``;
kronpde returns the solution of zero mean over the sphere, which this one has).
The grid is ``θ`` (colatitude, both poles shared points) by ``φ`` (periodic).

Run ``python scripts/examples/sphere_harmonics.py [--cells 32] [--picture sphere.png]``
(the picture is drawn with ``matplotlib.pyplot`` and saved where ``--picture``
names a file).
"""

from __future__ import annotations

import argparse
import math
import sys

import numpy as np

from kronpde import Problem
from kronpde.geometry.boundary import Periodic, Pole
from kronpde.geometry.curvilinear import CurvilinearGrid
from kronpde.solvers import solve

RADIUS = 2.0


def sphere(cells: int, method: str = "direct") -> dict:
    """Solve on ``cells`` colatitude by ``2 cells`` longitude cells; return field and error."""
    grid = CurvilinearGrid.build(
        "sphere", [cells, 2 * cells], [0.0, 0.0], [math.pi, 2 * math.pi],
        {"thetamin": Pole(), "thetamax": Pole(), "phimin": Periodic(), "phimax": Periodic()},
        radius=RADIUS,
    )  # fmt: skip
    system = grid.coordinate_system
    r2, r3 = RADIUS**2, RADIUS**3
    exact = system.expression(f"(x**2 - y**2)/{r2} + (x**3 - 3*x*y**2)/{r3}")
    source = system.expression(f"(6*(x**2 - y**2)/{r2} + 12*(x**3 - 3*x*y**2)/{r3})/{r2}")
    problem = Problem(grid, source)
    u = solve(problem, method).u
    e = exact.evaluate(grid.point_coordinates())
    w = grid.weights()  # zero mean in the sphere's area: compare the same normalisation
    diff = grid.from_nodes(u - e)
    offset = float(np.sum(w * diff) / np.sum(w))
    return {"grid": grid, "u": u, "error": float(np.abs(u - e - offset).max())}


def main(argv: list[str] | None = None) -> int:
    """Solve at two resolutions, print the errors and the order, draw the solution."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--cells", type=int, default=32)
    parser.add_argument("--picture", default="", help="also save the picture to this file")
    args = parser.parse_args(argv)
    errors = []
    for cells in (args.cells // 2, args.cells):
        run = sphere(cells)
        errors.append(run["error"])
        print(f"cells {cells:4d} x {2 * cells}: max |u - u_exact| = {run['error']:.3e}")
    print(f"observed order: {math.log2(errors[0] / errors[1]):.2f}")
    draw(run, args.picture)
    return 0


def draw(run: dict, path: str = "") -> None:
    """Draw the solution on the sphere in 3-D (saved to ``path`` if one is named)."""
    import matplotlib.pyplot as plt  # the picture only: matplotlib is the `plot` extra
    from matplotlib import cm, colors

    x, y, z = run["grid"].cartesian_points()
    u = run["u"]
    face = 0.25 * (u[:-1, :-1] + u[1:, :-1] + u[:-1, 1:] + u[1:, 1:])  # a colour per cell
    norm = colors.Normalize(float(face.min()), float(face.max()))
    fig = plt.figure(figsize=(6.0, 5.0))
    ax = fig.add_subplot(projection="3d")
    ax.plot_surface(x, y, z, facecolors=cm.viridis(norm(face)), shade=False)
    ax.set_box_aspect((1.0, 1.0, 1.0))
    fig.colorbar(cm.ScalarMappable(norm=norm, cmap="viridis"), ax=ax, label="u", shrink=0.7)
    ax.set_title("Poisson on the sphere, l = 2 and 3")
    if path:
        fig.savefig(path, dpi=120)
        print(f"picture {path}")


if __name__ == "__main__":
    if status := main():
        sys.exit(status)
