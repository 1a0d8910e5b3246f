"""A projection step on a MAC (staggered) grid: the pressure Poisson solve of incompressible flow.
===============================================================================================

The velocity of a 2-D incompressible flow on ``[0, Lx] x [0, Ly]`` lives on
the faces of ``nx x ny`` cells (Harlow and Welch's marker-and-cell grid):

* ``u`` (the x velocity) on the faces normal to x: node-centred along x (at
  ``x_i = i hx``), cell-centred along y (at ``(j + 1/2) hy``), shape
  ``(nx + 1, ny)`` between walls, ``(nx, ny)`` when x is periodic (face
  ``nx`` is face ``0``);
* ``v`` (the y velocity) on the faces normal to y, shape ``(nx, ny + 1)``;
* the pressure ``phi`` at the cell centres, shape ``(nx, ny)``.

The discrete divergence of a cell is the net outflow through its four faces,
``div[i, j] = (u[i+1, j] - u[i, j])/hx + (v[i, j+1] - v[i, j])/hy``, and the
discrete gradient of ``phi`` on an interior face is the difference of its two
cells over their distance; on a wall the normal velocity is given (no
penetration, ``u.n = 0``) and the gradient is zero.  ``-div(grad phi)`` is then
exactly kronpde's cell-centred operator with zero-flux (homogeneous Neumann)
faces, periodic where the flow is: the projection

    solve  A phi = -div(u*)   (A = -div grad, pure Neumann/periodic: phi has zero mean)
    u = u* - grad(phi)

makes ``div(u) = -div(u*) + A phi``, the residual of the solve: round-off for
the exact fast-diagonalization solve (a DCT-II along a wall-bounded axis, an
FFT along a periodic one).  The solver is prepared once (:class:`Projection`)
and every time step costs two transforms per axis.  A field that is already
divergence-free (the discrete curl of a stream function) has ``div(u*) = 0``
to round-off, so the projection leaves it as it was.

Run ``python scripts/examples/mac_projection.py [--cells 128 96] [--steps 50]
[--periodic-x]``: a fluid at rest driven by a body force that is not
divergence-free, projected after every explicit step; the table shows the
divergence before and after each projection.  ``tests/test_examples.py``
runs it and checks the divergence and the divergence-free case.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass

import numpy as np

from kronpde import Grid, Neumann, Periodic, Problem
from kronpde.errors import KronpdeError
from kronpde.solvers import prepare


@dataclass(frozen=True)
class MacGrid:
    """The cells of a MAC grid and where each unknown sits.

    Attributes
    ----------
    cells : tuple of int
        ``(nx, ny)``.
    size : tuple of float
        ``(Lx, Ly)``.
    periodic_x : bool
        True: x is periodic (``u`` has ``nx`` faces per row); else walls.
    """

    cells: tuple[int, int]
    size: tuple[float, float] = (1.0, 1.0)
    periodic_x: bool = False

    @property
    def h(self) -> tuple[float, float]:
        """The spacings ``(hx, hy)``."""
        return self.size[0] / self.cells[0], self.size[1] / self.cells[1]

    @property
    def u_shape(self) -> tuple[int, int]:
        """Shape of ``u``: ``(nx + 1, ny)`` between walls, ``(nx, ny)`` periodic in x."""
        nx, ny = self.cells
        return (nx if self.periodic_x else nx + 1, ny)

    @property
    def v_shape(self) -> tuple[int, int]:
        """Shape of ``v``: ``(nx, ny + 1)``."""
        nx, ny = self.cells
        return (nx, ny + 1)

    def faces(self, axis: int) -> np.ndarray:
        """The face coordinates ``0, h, ..., L`` along ``axis``."""
        return np.linspace(0.0, self.size[axis], self.cells[axis] + 1)

    def centres(self, axis: int) -> np.ndarray:
        """The cell centres ``(j + 1/2) h`` along ``axis``."""
        return (np.arange(self.cells[axis]) + 0.5) * self.h[axis]

    def u_points(self) -> tuple[np.ndarray, np.ndarray]:
        """Coordinates of ``u`` (broadcastable to :attr:`u_shape`)."""
        x = self.faces(0)[: self.u_shape[0]]
        return x[:, None], self.centres(1)[None, :]

    def v_points(self) -> tuple[np.ndarray, np.ndarray]:
        """Coordinates of ``v`` (broadcastable to :attr:`v_shape`)."""
        return self.centres(0)[:, None], self.faces(1)[None, :]

    def divergence(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """The net outflow per unit area of every cell, shape ``(nx, ny)``."""
        hx, hy = self.h
        right = np.roll(u, -1, axis=0) if self.periodic_x else u[1:]
        left = u if self.periodic_x else u[:-1]
        return (right - left) / hx + (v[:, 1:] - v[:, :-1]) / hy

    def gradient(self, phi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``grad(phi)`` on the faces: zero on the walls (zero flux), wrapped where periodic."""
        hx, hy = self.h
        gu = np.zeros(self.u_shape)
        if self.periodic_x:
            gu[:] = (phi - np.roll(phi, 1, axis=0)) / hx
        else:
            gu[1:-1] = (phi[1:] - phi[:-1]) / hx
        gv = np.zeros(self.v_shape)
        gv[:, 1:-1] = (phi[:, 1:] - phi[:, :-1]) / hy
        return gu, gv

    def curl(self, psi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(u, v) = (dpsi/dy, -dpsi/dx)`` of a stream function at the cell corners.

        ``psi`` has shape ``(nx + 1, ny + 1)`` (``(nx, ny + 1)`` periodic in x);
        the result is divergence-free to round-off (the differences telescope)
        and has no normal velocity on a wall where ``psi`` is constant.
        """
        hx, hy = self.h
        u = (psi[:, 1:] - psi[:, :-1]) / hy
        right = np.roll(psi, -1, axis=0) if self.periodic_x else psi[1:]
        v = -(right - (psi if self.periodic_x else psi[:-1])) / hx
        return u, v


class Projection:
    """The pressure Poisson solve of a :class:`MacGrid`, prepared once.

    Parameters
    ----------
    grid : MacGrid
        The cells and the faces (walls, or periodic in x).
    method : str, optional
        A kronpde method (default ``"fastdiag"``, the exact transform solve).

    Attributes
    ----------
    problem : kronpde.Problem
        ``-div(grad phi) = f`` on the cell centres, zero-flux walls.
    solver : kronpde.solvers.PreparedSolver
        Prepared once; :meth:`project` calls its ``solve`` every step.
    """

    def __init__(self, grid: MacGrid, method: str = "fastdiag"):
        self.grid = grid
        walls = {"ymin": Neumann(0.0), "ymax": Neumann(0.0)}
        x_faces = Periodic() if grid.periodic_x else Neumann(0.0)
        cells = Grid.box(
            list(grid.cells),
            upper=list(grid.size),
            boundary={"xmin": x_faces, "xmax": x_faces, **walls},
            centering="cell",
        )
        self.problem = Problem(cells)  # c = 0: singular, phi has zero mean over the cells
        self.solver = prepare(self.problem, method)

    def project(self, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return the divergence-free part of ``(u, v)`` and the pressure ``phi``.

        ``u`` and ``v`` must have no normal velocity on the walls (their sum of
        outflows is then zero, the compatibility of the Neumann problem); they
        are not modified.
        """
        g = self.grid
        b = -g.divergence(u, v)
        solution = self.solver.solve(b.reshape(-1), rtol=1e-12)
        phi = solution.x.reshape(g.cells)
        gu, gv = g.gradient(phi)
        return u - gu, v - gv, phi


def body_force(grid: MacGrid, t: float) -> tuple[np.ndarray, np.ndarray]:
    """A smooth force that is not divergence-free, zero normal component on the walls."""
    lx, ly = grid.size
    x, y = grid.u_points()
    fu = np.cos(2 * math.pi * x / lx + t) * np.sin(math.pi * y / ly) ** 2
    if not grid.periodic_x:
        fu = fu * np.sin(math.pi * x / lx)
    x, y = grid.v_points()
    fv = np.sin(math.pi * y / ly) * (1.0 + np.cos(2 * math.pi * x / lx - 2 * t))
    return np.broadcast_to(fu, grid.u_shape).copy(), np.broadcast_to(fv, grid.v_shape).copy()


def relative_divergence(grid: MacGrid, u: np.ndarray, v: np.ndarray, scale: float) -> float:
    """``max |div(u, v)|`` times ``h / scale``: relative to a field of that size's divergence."""
    return float(np.max(np.abs(grid.divergence(u, v)))) * min(grid.h) / scale


def run(grid: MacGrid, steps: int, dt: float, out=sys.stdout, last=None) -> float:
    """March ``steps`` explicit steps of ``u_t = force``, each projected; the worst divergence.

    Prints one markdown row per step: ``max |div|`` of the field before and
    after the projection, times ``h / max |u*|`` (:func:`relative_divergence`).
    """
    t0 = time.perf_counter()
    projection = Projection(grid)
    setup = time.perf_counter() - t0
    print(
        f"MAC grid {grid.cells[0]} x {grid.cells[1]} cells on [0, {grid.size[0]:g}] x "
        f"[0, {grid.size[1]:g}], {'periodic in x' if grid.periodic_x else 'walls'}; "
        f"pressure solve prepared once ({projection.solver.method}, {1e3 * setup:.1f} ms)\n",
        file=out,
    )
    print("| step | divergence of u* | divergence after projection | projection ms |", file=out)
    print("|---|---|---|---|", file=out)
    u, v = np.zeros(grid.u_shape), np.zeros(grid.v_shape)
    worst = 0.0
    for step in range(1, steps + 1):
        fu, fv = body_force(grid, step * dt)
        us, vs = u + dt * fu, v + dt * fv
        scale = max(np.abs(us).max(), np.abs(vs).max())
        t0 = time.perf_counter()
        u, v, _ = projection.project(us, vs)
        seconds = time.perf_counter() - t0
        before = relative_divergence(grid, us, vs, scale)
        after = relative_divergence(grid, u, v, scale)
        worst = max(worst, after)
        print(f"| {step} | {before:.2e} | {after:.2e} | {1e3 * seconds:.2f} |", file=out)
    if last is not None:  # the caller keeps the last step's fields
        last.update(u=u, v=v, u_star=us, v_star=vs)
    return worst


def main(argv: list[str] | None = None) -> int:
    """Run the example (see the module docstring); exit 1 if a divergence is above 1e-12."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cells", type=int, nargs=2, default=[128, 96], metavar=("NX", "NY"))
    parser.add_argument("--size", type=float, nargs=2, default=[2.0, 1.5], metavar=("LX", "LY"))
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--dt", type=float, default=0.05)
    parser.add_argument("--periodic-x", action="store_true", help="periodic in x, walls in y")
    parser.add_argument(
        "--plot", nargs="?", const="", metavar="PNG", help="draw the last step (into PNG if named)"
    )
    args = parser.parse_args(argv)
    last: dict = {}
    try:
        grid = MacGrid(tuple(args.cells), tuple(args.size), args.periodic_x)
        worst = run(grid, args.steps, args.dt, last=last)
    except KronpdeError as exc:  # bad arguments: a message, no traceback
        print(f"mac_projection: error: {exc}", file=sys.stderr)
        return 2
    print(f"\nworst relative divergence after projection: {worst:.2e}")
    if args.plot is not None:
        draw(grid, last, args.plot)
    return 0 if worst <= 1e-12 else 1


def draw(grid: MacGrid, last: dict, path: str = "") -> None:
    """Draw the divergence of the last step before and after its projection, and the flow."""
    import matplotlib.pyplot as plt  # the picture only: matplotlib is the `plot` extra

    x, y = grid.centres(0), grid.centres(1)
    fig, axes = plt.subplots(1, 3, figsize=(12.0, 3.6))
    for ax, (a, b), name in zip(
        axes[:2],
        ((last["u_star"], last["v_star"]), (last["u"], last["v"])),
        ("div u* (before)", "div u (after projection)"),
        strict=True,
    ):
        image = ax.pcolormesh(x, y, grid.divergence(a, b).T, shading="auto", cmap="RdBu_r")
        fig.colorbar(image, ax=ax, format="%.0e")
        ax.set_title(name)
        ax.set_aspect("equal")
    u, v = last["u"], last["v"]
    uc = 0.5 * (u[: grid.cells[0]] + np.roll(u, -1, axis=0)[: grid.cells[0]])
    vc = 0.5 * (v[:, :-1] + v[:, 1:])
    axes[2].streamplot(x, y, uc.T, vc.T, density=1.0, color=np.hypot(uc, vc).T)
    axes[2].set_title("projected velocity")
    axes[2].set_aspect("equal")
    fig.tight_layout()
    if path:
        fig.savefig(path)


if __name__ == "__main__":
    if status := main():
        sys.exit(status)
