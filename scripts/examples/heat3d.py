"""The implicit heat equation in 3-D: backward Euler, one prepared solver, a time series.
======================================================================================

``u_t = Δu`` on the unit cube with ``u = 0`` on its faces, from the lowest
Fourier mode ``u_0 = sin(πx) sin(πy) sin(πz)``, whose exact solution decays
as ``exp(-3π² t)``.  Backward Euler with step ``dt`` solves, every step,

    (c I - Δ_h) u_{n+1} = c u_n,      c = 1/dt,

kronpde's ``-div(k grad u) + c u = f`` with ``k = 1``, shift ``c`` and the
right-hand side ``c u_n`` (the boundary data are zero, so nothing is lifted
in).  The solver (fast diagonalization: a DST-I along every axis) is prepared
once; a step is then ``b = c u`` and one ``solve(b, out=u, check=False)``:
the unknowns are written back into ``u``, no nodal field is built and no
residual is computed (a simulation checks what it needs, here the decay).
The first ``--start`` steps take a quarter of the step, as a code might while
a transient settles, and :meth:`~kronpde.solvers.PreparedSolver.set_shift`
then changes ``c`` to ``1/dt`` without a new set-up (the eigenvalue sums are
re-summed, nothing else).  Every ``--every`` steps the field is written to a
ParaView time series (``--output run.pvd``: ``run/run_000000.vti``, ...).

The mode is an eigenvector of ``-Δ_h`` with eigenvalue
``λ_h = 3 (4/h²) sin²(πh/2)``, so the computed solution is
``Π_n (1 + dt_n λ_h)^{-1} u_0`` to rounding (the discrete factor), and the
continuous one is approached at the scheme's accuracy:
``log(u_n / exact) ≈ λ t (πh)²/12 + λ² Σ dt_n²/2`` (the leading terms of the
spatial and the temporal error, :func:`error_estimate`).

Run ``python scripts/examples/heat3d.py [--cells 96] [--steps 400] [--dt 1e-3]
[--every 40] [--output run.pvd]``; ``tests/test_examples.py`` runs a short
version and checks both numbers.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from kronpde import Grid, Problem
from kronpde.errors import KronpdeError
from kronpde.solvers import prepare


@dataclass
class HeatRun:
    """What :func:`run` measured.

    Attributes
    ----------
    cells : int
        Cells per axis.
    times, amplitudes : list of float
        After every step: the time and the amplitude of the mode (the
        ``W``-weighted projection of ``u`` on ``u_0``, over ``||u_0||_W²``).
    steps : list of float
        The step sizes taken.
    eigenvalue : float
        ``λ_h`` of the mode.
    files : list
        The time series' files (empty without ``output``).
    seconds_per_step : float
        Wall time of the loop (solves, right-hand sides, amplitudes, writes) per step.
    solve_seconds : float
        Of which the solves.
    """

    cells: int
    times: list[float] = field(default_factory=list)
    amplitudes: list[float] = field(default_factory=list)
    steps: list[float] = field(default_factory=list)
    eigenvalue: float = 0.0
    files: list = field(default_factory=list)
    seconds_per_step: float = 0.0
    solve_seconds: float = 0.0

    def discrete_factor(self) -> float:
        """``Π_n (1 + dt_n λ_h)^{-1}``: the amplitude the scheme must produce exactly."""
        return math.prod(1.0 / (1.0 + dt * self.eigenvalue) for dt in self.steps)

    def exact(self) -> float:
        """``exp(-3π² t)`` at the last time: the continuous amplitude."""
        return math.exp(-3.0 * math.pi**2 * self.times[-1])


def mode_eigenvalue(cells: int) -> float:
    """Return ``λ_h = 3 (4/h²) sin²(πh/2)``, the eigenvalue of the mode (``h = 1/cells``)."""
    h = 1.0 / cells
    return 3.0 * (4.0 / h**2) * math.sin(0.5 * math.pi * h) ** 2


def error_estimate(cells: int, steps: list[float]) -> float:
    """The leading terms of ``log(computed / exact)`` for the lowest mode.

    Spatial: ``λ_h = λ (1 - (πh)²/12 + O(h⁴))``, so ``exp(-λ_h t)`` is off by
    ``λ t (πh)²/12``; temporal: ``-log(1 + dt λ) = -dt λ + (dt λ)²/2 - ...``,
    summed over the steps.  Both positive: the computed amplitude is above
    the exact one.
    """
    lam = 3.0 * math.pi**2
    h = 1.0 / cells
    t = sum(steps)
    return lam * t * (math.pi * h) ** 2 / 12.0 + lam**2 * sum(dt * dt for dt in steps) / 2.0


def run(
    cells: int = 96,
    steps: int = 400,
    dt: float = 1e-3,
    *,
    start: int = 8,
    every: int = 40,
    output: str | os.PathLike[str] | None = None,
    out=sys.stdout,
) -> HeatRun:
    """March ``steps`` backward-Euler steps (the first ``start`` of ``dt/4``) and report.

    Parameters
    ----------
    cells : int
        Cells per axis (``(cells - 1)³`` unknowns).
    steps : int
        Time steps.
    dt : float
        The step after the first ``start`` ones.
    start : int
        Steps of ``dt/4`` at the beginning.
    every : int
        Write the field (and a table row) every this many steps.
    output : path, optional
        The ``.pvd`` of the time series (its folder must exist); None writes none.
    out : text stream
        Where the table goes (None: nowhere).

    Returns
    -------
    HeatRun
    """
    grid = Grid.box([cells, cells, cells])
    points = [a.points[a.unknown_slice] for a in grid.axes]
    mode = np.multiply.outer(
        np.multiply.outer(np.sin(np.pi * points[0]), np.sin(np.pi * points[1])),
        np.sin(np.pi * points[2]),
    )
    w = grid.weights()
    mode_norm = float(np.einsum("ijk,ijk,ijk->", w, mode, mode))
    result = HeatRun(cells, eigenvalue=mode_eigenvalue(cells))

    first = dt / 4.0 if start > 0 else dt
    problem = Problem(grid, shift=1.0 / first)
    solver = prepare(problem, "fastdiag")
    writer = None
    if output is not None:
        from kronpde.io.series import TimeSeriesWriter  # the file layer, only when writing

        writer = TimeSeriesWriter(output)
        result.files.append(writer.write(0.0, grid.points, {"u": problem.to_nodes(mode)}))

    u = mode.copy()
    b = np.empty_like(u)
    t = 0.0
    solving = 0.0
    if out is not None:
        print(f"heat3d: {cells}³ cells, {grid.size:,} unknowns; {steps} steps", file=out)
        print("\n| step | t | amplitude | discrete factor | exp(-3π² t) |", file=out)
        print("|---|---|---|---|---|", file=out)
    t_loop = time.perf_counter()
    for n in range(steps):
        step = first if n < start else dt
        if n == start and step != first:
            solver.set_shift(1.0 / step)  # same eigenpairs, re-summed with the new c
        np.multiply(u, 1.0 / step, out=b)
        t0 = time.perf_counter()
        solver.solve(b, out=u, check=False)
        solving += time.perf_counter() - t0
        t += step
        result.steps.append(step)
        result.times.append(t)
        result.amplitudes.append(float(np.einsum("ijk,ijk,ijk->", w, u, mode)) / mode_norm)
        if (n + 1) % every == 0 or n + 1 == steps:
            if writer is not None:
                result.files.append(writer.write(t, grid.points, {"u": problem.to_nodes(u)}))
            if out is not None:
                print(
                    f"| {n + 1} | {t:.4g} | {result.amplitudes[-1]:.6e} | "
                    f"{result.discrete_factor():.6e} | {result.exact():.6e} |",
                    file=out,
                )
    result.seconds_per_step = (time.perf_counter() - t_loop) / max(steps, 1)
    result.solve_seconds = solving
    if out is not None:
        discrete = abs(result.amplitudes[-1] / result.discrete_factor() - 1.0)
        continuous = math.log(result.amplitudes[-1] / result.exact())
        print(
            f"\nagainst the discrete factor: relative difference {discrete:.2e} (rounding)\n"
            f"against exp(-3π² t): log(computed/exact) = {continuous:.3e}, the estimate of the "
            f"scheme's error {error_estimate(cells, result.steps):.3e}\n"
            f"{1e3 * result.seconds_per_step:.1f} ms per step, of which the solve "
            f"{1e3 * solving / max(steps, 1):.1f} ms",
            file=out,
        )
    return result


def main(argv: list[str] | None = None) -> int:
    """Run the example from the command line."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--cells", type=int, default=96, help="cells per axis (default 96)")
    parser.add_argument("--steps", type=int, default=400, help="time steps (default 400)")
    parser.add_argument("--dt", type=float, default=1e-3, help="time step (default 1e-3)")
    parser.add_argument("--start", type=int, default=8, help="first steps of dt/4 (default 8)")
    parser.add_argument("--every", type=int, default=40, help="write every k steps (default 40)")
    parser.add_argument("--output", help="the time series' .pvd (default: none written)")
    parser.add_argument(
        "--plot", nargs="?", const="", metavar="PNG", help="draw the decay (into PNG if named)"
    )
    args = parser.parse_args(argv)
    try:
        result = run(
            args.cells, args.steps, args.dt, start=args.start, every=args.every, output=args.output
        )
    except KronpdeError as exc:  # bad arguments or an unwritable --output: a message, no traceback
        print(f"heat3d: error: {exc}", file=sys.stderr)
        return 2
    if args.plot is not None:
        draw(result, args.plot)
    return 0


def draw(result: HeatRun, path: str = "") -> None:
    """Plot the mode's amplitude against time with the discrete and the exact decay."""
    import matplotlib.pyplot as plt  # the picture only: matplotlib is the `plot` extra

    times = np.array(result.times)
    discrete = np.cumprod([1.0 / (1.0 + dt * result.eigenvalue) for dt in result.steps])
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    ax.semilogy(times, result.amplitudes, "o", ms=3, label="kronpde, backward Euler")
    ax.semilogy(times, discrete, "-", label="discrete factor Π (1 + dt λ_h)⁻¹")
    ax.semilogy(times, np.exp(-3.0 * np.pi**2 * times), "--", label="exact exp(-3π² t)")
    ax.set_xlabel("t")
    ax.set_ylabel("amplitude of sin(πx) sin(πy) sin(πz)")
    ax.set_title(f"heat equation on {result.cells}³ cells")
    ax.legend()
    fig.tight_layout()
    if path:
        fig.savefig(path)


if __name__ == "__main__":
    if status := main():
        sys.exit(status)
