"""A coaxial capacitor: the axisymmetric potential between two cylinders, and its capacitance.
===========================================================================================

The inner conductor (radius ``a``) is held at ``V``, the outer (radius ``b``) at 0;
the end faces ``z = 0, L`` are insulating (``du/dz = 0``).  In axisymmetric
cylindrical coordinates ``(r, z)`` the potential is the ``log`` profile

    u(r) = V log(b/r) / log(b/a),

and the capacitance of a length ``L`` is ``C = 2 π ε L / log(b/a)``.  kronpde
solves ``-div(ε grad u) = 0`` on the grid's own cells; the charge is the
discrete flux through the inner conductor, summed over its faces (the flux
form conserves it: the same through every cylinder ``r = const``), so
``C_h = Q / V`` converges to ``C`` at second order.

Run ``python scripts/examples/coaxial_capacitor.py [--cells 32] [--picture coax.png]``
(the picture is drawn with ``matplotlib.pyplot`` and saved where ``--picture``
names a file); ``tests/test_examples_curvilinear.py`` runs it and checks both numbers.
"""

from __future__ import annotations

import argparse
import math
import sys

import numpy as np

from kronpde import Problem
from kronpde.geometry.boundary import Dirichlet, Neumann
from kronpde.geometry.curvilinear import CurvilinearGrid
from kronpde.solvers import solve


def capacitor(cells: int, a: float = 1.0, b: float = 3.0, length: float = 2.0, volts: float = 1.0,
              epsilon: float = 1.0) -> dict:  # fmt: skip
    """Solve the capacitor on ``cells`` radial cells; return the field, the errors and ``C``."""
    grid = CurvilinearGrid.build(
        "cylindrical", [cells, max(2, cells // 4)], [a, 0.0], [b, length],
        {"rmin": Dirichlet(volts), "rmax": Dirichlet(0.0), "zmin": Neumann(0.0),
         "zmax": Neumann(0.0)},
    )  # fmt: skip
    problem = Problem(grid, 0.0, coefficient=epsilon)
    solution = solve(problem, "direct")
    u = solution.u
    r = grid.points[0]
    exact = volts * np.log(b / r) / math.log(b / a)
    # the charge: the flux through the first radial face, r_{1/2} (u_0 - u_1)/h per radian,
    # times 2 pi, summed over the z control widths (the flux form's own discrete flux)
    metric = grid.metrics[1]
    h = r[1] - r[0]
    face = 0.5 * (r[0] + r[1])
    z_width = metric.mass  # j_z = 1: the control widths along z
    charge = 2 * math.pi * epsilon * face * np.sum((u[0, :] - u[1, :]) / h * z_width)
    capacitance = 2 * math.pi * epsilon * length / math.log(b / a)
    return {
        "grid": grid,
        "u": u,
        "error": float(np.abs(u - exact[:, None]).max()),
        "capacitance": charge / volts,
        "exact_capacitance": capacitance,
    }


def main(argv: list[str] | None = None) -> int:
    """Solve, print the errors against the closed forms and draw the potential."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--cells", type=int, default=32)
    parser.add_argument("--picture", default="", help="also save the picture to this file")
    args = parser.parse_args(argv)
    previous = None
    for cells in (args.cells // 2, args.cells):
        run = capacitor(cells)
        rel = abs(run["capacitance"] / run["exact_capacitance"] - 1)
        print(f"cells {cells:4d}: max |u - V log(b/r)/log(b/a)| = {run['error']:.3e}, "
              f"C_h = {run['capacitance']:.6f} (exact {run['exact_capacitance']:.6f}, "
              f"relative error {rel:.2e})")  # fmt: skip
        if previous is not None:
            print(f"observed order of the capacitance: {math.log2(previous / rel):.2f}")
        previous = rel
    draw(run, args.picture)
    return 0


def draw(run: dict, path: str = "") -> None:
    """Draw the potential on the meridian ``(r, z)`` (saved to ``path`` if one is named)."""
    import matplotlib.pyplot as plt  # the picture only: matplotlib is the `plot` extra

    x, _, z = run["grid"].cartesian_points()  # the meridian y = 0: x is r
    fig, ax = plt.subplots(figsize=(5.6, 4.4))
    mesh = ax.pcolormesh(x, z, run["u"], shading="gouraud", cmap="viridis")
    fig.colorbar(mesh, ax=ax, label="u")
    ax.set_aspect("equal")
    ax.set_xlabel("r")
    ax.set_ylabel("z")
    ax.set_title("coaxial capacitor: u on the meridian r-z")
    fig.tight_layout()
    if path:
        fig.savefig(path, dpi=120)
        print(f"picture {path}")


if __name__ == "__main__":
    if status := main():
        sys.exit(status)
