"""A pressure projection on a MAC grid around an obstacle: a masked Neumann solve.
===============================================================================

The velocity lives on the faces of ``nx x ny`` cells (``u`` on the faces
normal to x, ``v`` on those normal to y), the pressure ``phi`` at the cell
centres.  The fluid cells are those whose centre lies outside a disc; a face
between two fluid cells is open, every other face (a wall of the box, or a
face touching the obstacle) is closed: no flow through it.  The projection

    solve  A phi = -div(u*)   on the fluid cells,   u = u* - grad(phi) on the open faces

with ``A = -div grad`` over the open faces is kronpde's cell-centred problem
with a *mask* (the fluid cells) and a Neumann embedded condition, which closes
the faces between inside and outside points (``docs/embedded-boundaries.md``).
The fluid touches Neumann boundaries only, so ``A`` is singular: kronpde
projects ``b`` onto its range and returns ``phi`` of zero mean over the fluid.
The divergence of the projected field is the residual of the solve: round-off
in every fluid cell.

Run ``python scripts/examples/obstacle_projection.py [--cells 160 80] [--picture obstacle.png]``.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from kronpde import Grid, Neumann, Problem, prepare

SIZE = (2.0, 1.0)
CENTRE, RADIUS = (0.6, 0.5), 0.18


def setup(nx: int, ny: int):
    """Return the cell centres, the fluid mask and the prepared pressure solve."""
    grid = Grid.box([nx, ny], upper=list(SIZE), boundary=Neumann(0.0), centering="cell")
    x, y = np.meshgrid(*grid.points, indexing="ij")
    fluid = np.hypot(x - CENTRE[0], y - CENTRE[1]) > RADIUS
    problem = Problem(grid, source=np.zeros(grid.point_shape), domain=fluid, embedded=Neumann())
    return grid, fluid, problem


def open_faces(fluid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which u faces (nx + 1, ny) and v faces (nx, ny + 1) lie between two fluid cells."""
    nx, ny = fluid.shape
    ou = np.zeros((nx + 1, ny), dtype=bool)
    ou[1:-1] = fluid[1:] & fluid[:-1]
    ov = np.zeros((nx, ny + 1), dtype=bool)
    ov[:, 1:-1] = fluid[:, 1:] & fluid[:, :-1]
    return ou, ov


def divergence(u: np.ndarray, v: np.ndarray, h: tuple[float, float]) -> np.ndarray:
    """The net outflow per area of every cell."""
    return (u[1:] - u[:-1]) / h[0] + (v[:, 1:] - v[:, :-1]) / h[1]


def project(problem: Problem, solver, u, v, h, ou, ov):
    """Return the projected ``u, v`` and ``phi``."""
    b = -divergence(u, v, h)
    sol = solver.solve(b.reshape(-1), rtol=1e-12)
    phi = sol.x.reshape(problem.grid.shape)
    gu = np.zeros_like(u)
    gv = np.zeros_like(v)
    gu[1:-1] = (phi[1:] - phi[:-1]) / h[0]
    gv[:, 1:-1] = (phi[:, 1:] - phi[:, :-1]) / h[1]
    return u - np.where(ou, gu, 0.0), v - np.where(ov, gv, 0.0), phi, sol


def picture(grid, fluid, u, v, path: str = "") -> None:
    """The speed at the cell centres, the obstacle blanked."""
    import matplotlib.pyplot as plt  # the picture only: matplotlib is the `plot` extra

    uc = 0.5 * (u[1:] + u[:-1])
    vc = 0.5 * (v[:, 1:] + v[:, :-1])
    speed = np.where(fluid, np.hypot(uc, vc), np.nan)
    x, y = grid.points
    fig, ax = plt.subplots(figsize=(8, 4))
    mesh = ax.pcolormesh(x, y, speed.T, shading="auto", cmap="viridis")
    ax.streamplot(
        x,
        y,
        np.where(fluid, uc, 0).T,
        np.where(fluid, vc, 0).T,
        color="w",
        density=1.2,
        linewidth=0.5,
    )
    fig.colorbar(mesh, label="|u| after the projection")
    ax.set_aspect("equal")
    ax.set_title("MAC projection around an obstacle (masked Neumann solve)")
    if path:
        fig.savefig(path, dpi=120, bbox_inches="tight")


def main(argv: list[str] | None = None) -> int:
    """Run the example from the command line; return the exit status."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--cells", type=int, nargs=2, default=[160, 80])
    parser.add_argument("--picture", default="", help="also save the picture to this file")
    parser.add_argument("--method", default="direct", help="any method that takes it")
    args = parser.parse_args(argv)
    nx, ny = args.cells
    grid, fluid, problem = setup(nx, ny)
    h = grid.spacing
    ou, ov = open_faces(fluid)
    solver = prepare(problem, args.method)  # prepared once, solved every time step
    # a uniform stream plus a swirl: not divergence-free, and it crosses the obstacle
    xu, yu = np.meshgrid(np.linspace(0, SIZE[0], nx + 1), grid.points[1], indexing="ij")
    xv, yv = np.meshgrid(grid.points[0], np.linspace(0, SIZE[1], ny + 1), indexing="ij")
    u_star = np.where(ou, 1.0 + 0.3 * np.sin(3 * yu) * np.cos(2 * xu), 0.0)
    v_star = np.where(ov, 0.2 * np.sin(4 * xv), 0.0)
    before = np.max(np.abs(divergence(u_star, v_star, h)[fluid]))
    u, v, phi, sol = project(problem, solver, u_star, v_star, h, ou, ov)
    after = np.max(np.abs(divergence(u, v, h)[fluid]))
    print(
        f"cells {nx} x {ny}, fluid cells {int(fluid.sum())}, method {sol.report.method}, "
        f"{sol.report.iterations} iterations"
    )
    print(
        f"max |div u| over the fluid cells: before {before:.3e}, after {after:.3e} "
        f"(relative {after / before:.1e})"
    )
    picture(grid, fluid, u, v, args.picture)
    if args.picture:
        print(f"picture: {args.picture}")
    return 0


if __name__ == "__main__":
    if status := main():
        sys.exit(status)
