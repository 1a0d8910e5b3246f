"""The temperature in a heated pipe wall of two layers: polar coordinates, a layered ``k(r)``.
===========================================================================================

A pipe wall ``1 <= r <= 2`` is a steel layer inside an insulating one: the
conductivity changes smoothly from 40 to 2 around ``r = 1.5``,
``k(r) = 2 + 38 / (1 + exp((r - 1.5)/0.03))``.  The hot fluid holds the inner
face at 100; the outer face sees the air at 20 and the sun, a Robin face
``h u + k du/dn = h T_air + q cos(θ)`` on the lit side (``q`` where
``cos θ > 0``, as ``q max(cos θ, 0)``), and the wall makes heat inside at a
rate ``s`` (a current through the steel).  kronpde solves
``-div(k grad u) = s`` on the polar grid's own cells (the flux form with
``k`` at the faces).

The check: averaged over θ, the discrete problem is the radial one
``-(1/r)(r k u')' = s`` (``k`` depends on ``r`` only, and the θ-mean of every
θ-coupling vanishes), whose solution this script also computes by quadrature
of the radial flux (``r k u' = -(s r²/2) + C``) with the θ-mean of the Robin
data; the two agree at the scheme's order.

Run ``python scripts/examples/heated_pipe.py [--cells 64] [--picture pipe.png]``
(the picture is drawn with ``matplotlib.pyplot`` and saved where ``--picture``
names a file).
"""

from __future__ import annotations

import argparse
import math
import sys

import numpy as np
from scipy.integrate import quad
from scipy.optimize import brentq

from kronpde import Problem
from kronpde.geometry.boundary import Dirichlet, Periodic, Robin
from kronpde.geometry.coordinates import coordinates
from kronpde.geometry.curvilinear import CurvilinearGrid
from kronpde.solvers import solve

K = "2 + 38/(1 + exp((r - 1.5)/0.03))"
H, T_AIR, Q, S = 5.0, 20.0, 50.0, 30.0


def k_of(r: float) -> float:
    """The conductivity at radius ``r``."""
    return 2 + 38 / (1 + math.exp((r - 1.5) / 0.03))


def radial_mean(r: np.ndarray) -> np.ndarray:
    """Return the θ-mean temperature ``100 + ∫_1^r (C - s t²/2)/(t k(t)) dt`` (C: Robin)."""
    mean_g = H * T_AIR + Q / math.pi  # the θ-mean of q max(cos θ, 0) is q/π

    def u_at(rr: float, c: float) -> float:
        return 100.0 + quad(lambda t: (c - S * t * t / 2) / (t * k_of(t)), 1.0, rr, limit=200)[0]

    def robin(c: float) -> float:  # h u + k du/dr = mean g at r = 2 (du/dn = du/dr there)
        return H * u_at(2.0, c) + (c - S * 2.0) / 2.0 - mean_g

    c = brentq(robin, -1e4, 1e4)
    return np.array([u_at(float(v), c) for v in r])


def pipe(cells: int) -> dict:
    """Solve on ``cells`` radial and ``4 cells`` angular cells; return the field and the check."""
    system = coordinates("polar", 2)
    sun = system.expression(f"{H * T_AIR} + {Q}*(cos(theta) + abs(cos(theta)))/2")
    grid = CurvilinearGrid.build(
        system, [cells, 4 * cells], [1.0, 0.0], [2.0, 2 * math.pi],
        {"rmin": Dirichlet(100.0), "rmax": Robin(H, k_of(2.0), sun), "thetamin": Periodic(),
         "thetamax": Periodic()},
    )  # fmt: skip
    problem = Problem(grid, S, coefficient=system.expression(K))
    u = solve(problem, "direct").u
    mean = u[:, :-1].mean(axis=1)  # node m repeats node 0
    r = grid.points[0]
    return {"grid": grid, "u": u, "error": float(np.abs(mean - radial_mean(r)).max())}


def main(argv: list[str] | None = None) -> int:
    """Solve at two resolutions, print the check, draw the temperature."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--cells", type=int, default=64)
    parser.add_argument("--picture", default="", help="also save the picture to this file")
    args = parser.parse_args(argv)
    errors = []
    for cells in (args.cells // 2, args.cells):
        run = pipe(cells)
        errors.append(run["error"])
        print(f"cells {cells:4d}: max |mean_θ u - radial solution| = {run['error']:.3e}, "
              f"u from {run['u'].min():.2f} to {run['u'].max():.2f}")  # fmt: skip
    print(f"observed order: {math.log2(errors[0] / errors[1]):.2f}")
    draw(run, args.picture)
    return 0


def draw(run: dict, path: str = "") -> None:
    """Draw the temperature on the annulus (saved to ``path`` if one is named)."""
    import matplotlib.pyplot as plt  # the picture only: matplotlib is the `plot` extra

    x, y, _ = run["grid"].cartesian_points()
    fig, ax = plt.subplots(figsize=(5.6, 4.6))
    mesh = ax.pcolormesh(x, y, run["u"], shading="gouraud", cmap="inferno")
    fig.colorbar(mesh, ax=ax, label="T")
    ax.set_aspect("equal")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title("heated pipe wall (steel inside, insulation outside)")
    fig.tight_layout()
    if path:
        fig.savefig(path, dpi=120)
        print(f"picture {path}")


if __name__ == "__main__":
    if status := main():
        sys.exit(status)
