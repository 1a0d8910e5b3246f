"""A charged sphere electrode inside a grounded box: its capacitance against ``4 π ε0 R``.
=======================================================================================

The electrode (radius ``R``, potential ``V = 1``) is a Dirichlet embedded
boundary inside the box ``[-L, L]³`` whose faces are grounded (``u = 0``);
``-Δu = 0`` between them (units with ``ε0 = 1``).  The charge on the electrode
is the flux of ``-grad u`` out through the box's faces (Gauss: no charge in
between), taken from the discrete fluxes between the faces and their first
layer of unknowns, so the capacitance is ``C = Q / V``.  An isolated sphere has
``C = 4 π ε0 R``; a grounded shell of radius ``L`` around it ``4 π ε0 R L/(L - R)``,
and the box, as it grows, approaches the isolated sphere's from above.

Run ``python scripts/examples/sphere_capacitance.py [--per-radius 8]
[--half-widths 0.5 0.75 1 1.5] [--picture sphere.png]``.
"""

from __future__ import annotations

import argparse
import math
import sys

import numpy as np

from kronpde import Dirichlet, Grid, Problem, solve

R = 0.25


def capacitance(half_width: float, per_radius: int) -> tuple[float, Problem, np.ndarray, int]:
    """Return ``C``, the problem, the potential on the nodes and the iterations."""
    n = round(2 * half_width / R * per_radius)
    grid = Grid.box(
        [n] * 3, lower=[-half_width] * 3, upper=[half_width] * 3, boundary=Dirichlet(0.0)
    )
    problem = Problem(
        grid, source=0.0, domain=f"{R} - sqrt(x**2 + y**2 + z**2)", embedded=Dirichlet(1.0)
    )
    sol = solve(problem, "fastdiag-cg", rtol=1e-10)
    u = np.nan_to_num(sol.u)
    h = 2 * half_width / n
    # the flux (u_1 - 0)/h through each face cell of area h², summed over the six faces
    first = [
        u[1, 1:-1, 1:-1],
        u[-2, 1:-1, 1:-1],
        u[1:-1, 1, 1:-1],
        u[1:-1, -2, 1:-1],
        u[1:-1, 1:-1, 1],
        u[1:-1, 1:-1, -2],
    ]
    charge = sum(float(f.sum()) for f in first) * h
    return charge, problem, sol.u, sol.report.iterations


def picture(problem: Problem, u: np.ndarray, path: str = "") -> None:
    """The potential on the plane z = 0 (the electrode blanked)."""
    import matplotlib.pyplot as plt  # the picture only: matplotlib is the `plot` extra

    x, y, _ = problem.grid.points
    mid = u.shape[2] // 2
    fig, ax = plt.subplots(figsize=(6, 5))
    mesh = ax.pcolormesh(x, y, u[:, :, mid].T, shading="auto", cmap="magma")
    ax.contour(x, y, np.nan_to_num(u[:, :, mid].T, nan=1.0), levels=12, colors="w", linewidths=0.5)
    fig.colorbar(mesh, label="u")
    ax.set_aspect("equal")
    ax.set_title("sphere electrode (u = 1) in a grounded box, z = 0")
    if path:
        fig.savefig(path, dpi=120, bbox_inches="tight")


def main(argv: list[str] | None = None) -> int:
    """Run the example from the command line; return the exit status."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--per-radius", type=int, default=8, help="cells per radius")
    parser.add_argument("--half-widths", type=float, nargs="+", default=[0.5, 0.75, 1.0, 1.5])
    parser.add_argument("--picture", default="", help="also save the picture to this file")
    args = parser.parse_args(argv)
    isolated = 4 * math.pi * R
    print("| L | cells | C / (4 π ε0 R) | shell of radius L | fastdiag-cg iterations |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    for L in args.half_widths:
        c, problem, u, iterations = capacitance(L, args.per_radius)
        shell = L / (L - R)
        cells = problem.grid.cells[0]
        print(f"| {L:g} | {cells}³ | {c / isolated:.4f} | {shell:.4f} | {iterations} |")
    picture(problem, u, args.picture)
    if args.picture:
        print(f"picture: {args.picture}")
    return 0


if __name__ == "__main__":
    if status := main():
        sys.exit(status)
