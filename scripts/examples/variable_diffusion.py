"""Diffusion through a heterogeneous medium: backward Euler with ``k(x)`` and fastdiag-cg.
=======================================================================================

``u_t = div(k grad u)`` on the unit box (2-D or 3-D) with ``u = 0`` on its
faces, from a Gaussian blob, with a smooth coefficient of contrast
``k_max / k_min = --contrast``,

    k(x) = exp(a · prod_i sin(2π x_i)),   a = log(contrast) / 2.

Backward Euler with step ``dt`` solves every step

    (c I - div_h k grad_h) u_{n+1} = c u_n,      c = 1/dt,

kronpde's ``-div(k grad u) + c u = f`` with shift ``c``.  The operator is not
a Kronecker sum (``k`` varies), so the method is ``fastdiag-cg``: CG
preconditioned by the exact fast solve of the operator with ``k`` replaced by
its geometric mean, whose condition number is at most the contrast on every
grid.  It is prepared once (the preconditioner's transforms and eigenvalues,
the operator's flux-form coefficients); a step is ``b = c u`` and one
``solve(b, out=u, x0=u, check=False)``: the previous step is the initial guess,
the result is written back into ``u``, and no certified bound is computed
(CG still checks its true residual, ``||b - A u|| <= rtol ||b||``).  After
``--start`` steps of ``dt/4`` the step grows to ``dt`` and
:meth:`~kronpde.solvers.PreparedSolver.set_shift` moves ``c`` in the
preconditioner and the operator without a new set-up.

How close is it?  With Dirichlet faces on a uniform grid ``A = c I + A_k`` is
symmetric with ``λ_min(A) >= c``, so one step's algebraic error is at most
``||r|| / c <= rtol ||b|| / c = rtol ||u_n||``, and a backward-Euler step
never amplifies an earlier error (``||c (c I + A_k)^{-1}|| <= 1``): after ``N``
steps the CG march is within ``N rtol max_n ||u_n||`` (Euclidean norm) of the
march with exact solves.  ``tests/test_examples.py`` checks exactly that
against ``scipy.sparse.linalg.spsolve`` of the assembled matrices.

Run ``python scripts/examples/variable_diffusion.py [--cells 64 64 64]
[--steps 20] [--dt 2e-3] [--contrast 10]``.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from kronpde import Grid, Problem
from kronpde.errors import KronpdeError
from kronpde.solvers import prepare


def coefficient(contrast: float):
    """Return ``k(x) = exp(a prod_i sin(2π x_i))`` with ``max k / min k = contrast``."""
    a = math.log(contrast) / 2.0

    def k(*x):
        wave = 1.0
        for xi in x:
            wave = wave * np.sin(2.0 * np.pi * xi)
        return np.exp(a * wave)

    return k


def blob(grid: Grid) -> np.ndarray:
    """Return the initial field on the unknowns: a Gaussian off the box's centre."""
    points = [a.points[a.unknown_slice] for a in grid.axes]
    r2 = np.zeros(())
    for i, x in enumerate(points):
        shape = [1] * grid.dimension
        shape[i] = x.size
        r2 = r2 + ((x - 0.4 - 0.05 * i) ** 2).reshape(shape)
    return np.exp(-40.0 * r2)


@dataclass
class DiffusionRun:
    """What :func:`run` did.

    Attributes
    ----------
    problem : Problem
        The problem of the last step (its shift the last ``1/dt``).
    u : ndarray, shape ``grid.shape``
        The field on the unknowns after the last step.
    steps : list of float
        The step sizes taken.
    iterations : list of int
        CG iterations of every step.
    seconds_per_step : float
        Wall time of the loop per step.
    setup_seconds : float
        Wall time of ``prepare``.
    """

    problem: Problem
    u: np.ndarray
    steps: list[float] = field(default_factory=list)
    iterations: list[int] = field(default_factory=list)
    seconds_per_step: float = 0.0
    setup_seconds: float = 0.0


def run(
    cells: Sequence[int] = (64, 64, 64),
    steps: int = 20,
    dt: float = 2e-3,
    *,
    start: int = 4,
    contrast: float = 10.0,
    rtol: float = 1e-10,
    out=sys.stdout,
) -> DiffusionRun:
    """March ``steps`` backward-Euler steps (the first ``start`` of ``dt/4``) with fastdiag-cg.

    Parameters
    ----------
    cells : sequence of int
        Cells per axis (2 or 3 axes).
    steps : int
        Time steps.
    dt : float
        The step after the first ``start`` ones.
    start : int
        Steps of ``dt/4`` at the beginning.
    contrast : float
        ``k_max / k_min``.
    rtol : float
        CG's tolerance on ``||b - A u|| / ||b||``, every step.
    out : text stream
        Where the lines go (None: nowhere).

    Returns
    -------
    DiffusionRun
    """
    grid = Grid.box(list(cells))
    first = dt / 4.0 if start > 0 else dt
    problem = Problem(grid, shift=1.0 / first, coefficient=coefficient(contrast))
    t0 = time.perf_counter()
    solver = prepare(problem, "fastdiag-cg")
    setup = time.perf_counter() - t0
    u = blob(grid)
    b = np.empty_like(u)
    result = DiffusionRun(problem, u, setup_seconds=setup)
    if out is not None:
        print(
            f"variable_diffusion: {' x '.join(map(str, cells))} cells, {grid.size:,} unknowns, "
            f"contrast {contrast:g}; prepared in {setup:.2f} s",
            file=out,
        )
    t_loop = time.perf_counter()
    for n in range(steps):
        step = first if n < start else dt
        if n == start and step != first:
            solver.set_shift(1.0 / step)  # the same transforms; c changes in M and in A
        np.multiply(u, 1.0 / step, out=b)
        report = solver.solve(b, out=u, x0=u, rtol=rtol, check=False).report
        if not report.converged:
            msg = f"step {n + 1}: {report.message}"
            raise RuntimeError(msg)
        result.steps.append(step)
        result.iterations.append(report.iterations)
    result.seconds_per_step = (time.perf_counter() - t_loop) / max(steps, 1)
    result.problem = solver.problem
    if out is not None:
        print(
            f"{steps} steps, CG iterations per step {min(result.iterations)}-"
            f"{max(result.iterations)}, {1e3 * result.seconds_per_step:.1f} ms per step; "
            f"max u = {u.max():.6f}",
            file=out,
        )
    return result


def main(argv: list[str] | None = None) -> int:
    """Run the example from the command line."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--cells", type=int, nargs="+", default=[64, 64, 64])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--dt", type=float, default=2e-3)
    parser.add_argument("--start", type=int, default=4)
    parser.add_argument("--contrast", type=float, default=10.0)
    parser.add_argument("--rtol", type=float, default=1e-10)
    parser.add_argument(
        "--plot", nargs="?", const="", metavar="PNG", help="draw k and u (into PNG if named)"
    )
    args = parser.parse_args(argv)
    try:
        result = run(
            args.cells,
            args.steps,
            args.dt,
            start=args.start,
            contrast=args.contrast,
            rtol=args.rtol,
        )
    except KronpdeError as exc:  # bad arguments: a message, no traceback
        print(f"variable_diffusion: error: {exc}", file=sys.stderr)
        return 2
    if args.plot is not None:
        draw(result, args.contrast, args.plot)
    return 0


def draw(result: DiffusionRun, contrast: float, path: str = "") -> None:
    """Draw ``k`` and the last ``u`` (in 3-D on the middle plane of the last axis)."""
    import matplotlib.pyplot as plt  # the picture only: matplotlib is the `plot` extra

    grid = result.problem.grid
    u = result.problem.to_nodes(result.u)
    points = grid.points
    k = coefficient(contrast)(*np.meshgrid(*points, indexing="ij"))
    if u.ndim == 3:
        middle = u.shape[2] // 2
        u, k = u[:, :, middle], k[:, :, middle]
    fig, axes = plt.subplots(1, 2, figsize=(9.0, 3.8))
    for ax, field_, name in zip(axes, (k, u), ("k(x, y)", "u after the last step"), strict=True):
        image = ax.pcolormesh(points[0], points[1], field_.T, shading="auto")
        fig.colorbar(image, ax=ax)
        ax.set_title(name)
        ax.set_xlabel("x")
        ax.set_ylabel("y")
        ax.set_aspect("equal")
    fig.tight_layout()
    if path:
        fig.savefig(path)


if __name__ == "__main__":
    if status := main():
        sys.exit(status)
