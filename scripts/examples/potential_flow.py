"""Potential flow past a cylinder: a Neumann obstacle inside the box (an embedded boundary).
=========================================================================================

The velocity potential of a uniform stream past a cylinder of radius ``R`` is
``u = x (1 + R²/r²)``: harmonic outside the cylinder, ``du/dn = 0`` on it.
kronpde solves ``-Δu = 0`` on the box ``[-2, 2]²`` minus the cylinder (the
level set ``R - r``: the domain is where it is negative) with the exact
potential on the box's faces and a Neumann embedded boundary, by the
finite-volume rule of the cut cells (``docs/embedded-boundaries.md``), and
compares with the exact potential: second order in the RMS norm.

Run ``python scripts/examples/potential_flow.py [--cells 64 128 256] [--picture flow.png]``.
"""

from __future__ import annotations

import argparse
import math
import sys

import numpy as np

from kronpde import Dirichlet, Grid, Neumann, Problem, solve

R = 0.5
EXACT = f"x*(1 + {R**2}/(x**2 + y**2))"


def flow(n: int) -> tuple[Problem, np.ndarray]:
    """Solve on ``n x n`` cells; return the problem and the nodal potential (NaN outside)."""
    grid = Grid.box([n, n], lower=[-2, -2], upper=[2, 2], boundary=Dirichlet(EXACT))
    problem = Problem(grid, source=0.0, domain=f"{R} - sqrt(x**2 + y**2)", embedded=Neumann(0.0))
    return problem, solve(problem, "auto", rtol=1e-10).u


def errors(problem: Problem, u: np.ndarray) -> tuple[float, float]:
    """Max and RMS error over the domain's points."""
    x, y = np.meshgrid(*problem.grid.points, indexing="ij")
    with np.errstate(divide="ignore", invalid="ignore"):
        exact = x * (1 + R**2 / (x**2 + y**2))
    inside = problem.discretisation.domain_points()
    e = (u - exact)[inside]
    return float(np.max(np.abs(e))), float(np.sqrt(np.mean(e * e)))


def picture(problem: Problem, u: np.ndarray, path: str = "") -> None:
    """Draw the equipotentials and the streamlines of the computed flow."""
    import matplotlib.pyplot as plt  # the picture only: matplotlib is the `plot` extra
    from matplotlib.patches import Circle

    x, y = problem.grid.points
    vx, vy = np.gradient(u, x, y)
    fig, ax = plt.subplots(figsize=(6, 6))
    ax.contour(x, y, u.T, levels=30, cmap="coolwarm", linewidths=0.8)
    ax.streamplot(x, y, vx.T, vy.T, color="k", density=1.4, linewidth=0.6)
    ax.add_patch(Circle((0, 0), R, color="0.6"))
    ax.set_aspect("equal")
    ax.set_title("potential flow past a cylinder (Neumann embedded boundary)")
    if path:
        fig.savefig(path, dpi=120, bbox_inches="tight")


def main(argv: list[str] | None = None) -> int:
    """Run the example from the command line; return the exit status."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--cells", type=int, nargs="+", default=[64, 128, 256])
    parser.add_argument("--picture", default="", help="also save the picture to this file")
    args = parser.parse_args(argv)
    print("| cells | unknowns | max error | RMS error | RMS order |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    last = None
    for n in args.cells:
        problem, u = flow(n)
        err_max, err_rms = errors(problem, u)
        order = "" if last is None else f"{math.log2(last / err_rms):.2f}"
        print(f"| {n}² | {problem.domain_size} | {err_max:.3e} | {err_rms:.3e} | {order} |")
        last = err_rms
    picture(problem, u, args.picture)
    if args.picture:
        print(f"picture: {args.picture}")
    return 0


if __name__ == "__main__":
    if status := main():
        sys.exit(status)
