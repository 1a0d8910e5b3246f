"""Benchmark of kronpde's solvers against scipy's CG and pyamg's own solver, in one process.

Problem: ``-Δu = f`` on the unit square/cube, homogeneous Dirichlet faces, a
seeded random right-hand side (a sine would be an eigenvector), relative
residual target ``rtol = 1e-8`` on ``||b - A u|| / ||b||``.

Rows per grid:

* ``fastdiag`` (workers 1 and 2), ``direct`` (where its memory estimate fits),
  ``cg`` (matrix-free, no preconditioner: the diagonal is constant),
  ``amg-cg`` with smoothed aggregation (``sa``) and Ruge-Stuben (``rs``);
* anchors: ``scipy.sparse.linalg.cg`` on the CSR matrix, and pyamg's own
  ``ml = pyamg.<builder>(Â, ...)``; ``ml.solve(D b, tol=rtol, accel="cg")``,
  once with pyamg's default options and once with exactly kronpde's
  hierarchy options (same ``B``, ``smooth``, seed: the same hierarchy, so the
  difference is the cycle and the Krylov loop only).

Times are the median of ``--repeats`` interleaved rounds (every contender once per
round) after a warm-up run on a small grid (one run only where a single run takes
longer than ``--cheap`` seconds); peak
memory is the ``tracemalloc`` peak of one extra run (numpy arrays, so
SuperLU's own allocations are added from the factor sizes for ``direct``).
BLAS and scipy.sparse kernels run single-threaded (``OMP_NUM_THREADS`` and
``OPENBLAS_NUM_THREADS`` are set to 1 before numpy loads); only
``scipy.fft`` in ``fastdiag`` uses ``workers`` threads.

Usage::

    python scripts/bench_solvers.py                      # 1024², 64³, 128³
    python scripts/bench_solvers.py --grids 256x256 32x32x32 --repeats 5
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import gc  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402

import numpy as np  # noqa: E402
import pyamg  # noqa: E402
import scipy  # noqa: E402
import scipy.sparse.linalg as spla  # noqa: E402

import kronpde  # noqa: E402
from kronpde import Grid, Problem  # noqa: E402
from kronpde.errors import SolverError  # noqa: E402
from kronpde.solvers import prepare  # noqa: E402
from kronpde.solvers.amg import DEFAULT_SA_SMOOTH, _seeded_global_random  # noqa: E402
from kronpde.solvers.direct import estimate_factor_bytes  # noqa: E402

RTOL = 1e-8


@dataclass
class Run:
    setup: float
    solve: float
    iterations: int | str
    residual: float
    extra_bytes: float = 0.0  # memory not seen by tracemalloc (SuperLU)


@dataclass
class Row:
    grid: str
    name: str
    note: str
    setup: float | None = None
    solve: float | None = None
    iterations: int | str = ""
    residual: float | None = None
    peak_mib: float | None = None
    repeats: int = 0
    refused: str = ""


def true_residual(problem: Problem, u: np.ndarray, b: np.ndarray) -> float:
    r = b - problem.linear_operator().matvec(u)
    return float(np.linalg.norm(r) / np.linalg.norm(b))


# -- the contenders -------------------------------------------------------------------------
def kronpde_method(
    method: str, options: dict | None = None
) -> Callable[[Problem, np.ndarray], Run]:
    def run(problem: Problem, b: np.ndarray) -> Run:
        prepared = prepare(problem, method, options=options)
        sol = prepared.solve(b, rtol=RTOL, maxiter=100_000)
        rep = sol.report
        extra = 0.0
        if method == "direct":
            extra = 14.0 * prepared.backend.fill  # SuperLU's factors are not numpy arrays
        return Run(
            rep.setup_seconds, rep.solve_seconds, rep.iterations, rep.relative_residual, extra
        )

    return run


def scipy_cg(problem: Problem, b: np.ndarray) -> Run:
    t0 = time.perf_counter()
    A_hat = problem.operator(symmetric=True)
    d = problem.symmetric_scale
    setup = time.perf_counter() - t0
    count = [0]

    def callback(_xk):
        count[0] += 1

    t0 = time.perf_counter()
    y, _info = spla.cg(A_hat, d * b, rtol=RTOL, atol=0.0, maxiter=100_000, callback=callback)
    solve = time.perf_counter() - t0
    return Run(setup, solve, count[0], true_residual(problem, y / d, b))


def pyamg_solve(
    kind: str, same_as_kronpde: bool, cycle: str = "V"
) -> Callable[[Problem, np.ndarray], Run]:
    builder = pyamg.smoothed_aggregation_solver if kind == "sa" else pyamg.ruge_stuben_solver

    def run(problem: Problem, b: np.ndarray) -> Run:
        d = problem.symmetric_scale
        t0 = time.perf_counter()
        A_hat = problem.operator(symmetric=True)
        kwargs = {}
        if kind == "sa" and same_as_kronpde:
            kwargs = {"B": (d / np.linalg.norm(d))[:, None], "smooth": DEFAULT_SA_SMOOTH}
        with _seeded_global_random(0):
            ml = builder(A_hat, **kwargs)
        setup = time.perf_counter() - t0
        residuals: list[float] = []
        t0 = time.perf_counter()
        y = ml.solve(d * b, tol=RTOL, accel="cg", cycle=cycle, maxiter=100_000, residuals=residuals)
        solve = time.perf_counter() - t0
        return Run(setup, solve, len(residuals) - 1, true_residual(problem, y / d, b))

    return run


# -- measuring -------------------------------------------------------------------------------
def bench_grid(cells: list[int], args) -> list[Row]:
    grid_name = "x".join(map(str, cells))
    problem = Problem(Grid.box(cells))
    small_problem = Problem(Grid.box([32] * len(cells)))
    rng = np.random.default_rng(2024)
    b = rng.standard_normal(problem.size)
    small_b = rng.standard_normal(small_problem.size)
    big = problem.size > 1_500_000

    chosen: dict[str, str] = {}  # the cycle kronpde's "auto" picked, for pyamg's "same" run

    amg_wanted = not args.only or any("amg" in o for o in args.only)

    def cycle_of(kind: str) -> str:
        if not amg_wanted:
            return "V"
        if kind not in chosen:
            chosen[kind] = prepare(problem, "amg-cg", options={"kind": kind}).options["cycle"]
        return chosen[kind]

    contenders: list[tuple[str, str, Callable]] = [
        ("fastdiag", "workers=1", kronpde_method("fastdiag", {"workers": 1})),
        ("fastdiag", "workers=2", kronpde_method("fastdiag", {"workers": 2})),
        ("direct", "SuperLU, MMD(AᵀA+A) symmetric mode", kronpde_method("direct")),
        ("cg", "matrix-free, no Jacobi (constant diagonal)", kronpde_method("cg")),
        ("scipy cg", "scipy.sparse.linalg.cg on CSR Â", scipy_cg),
        (
            "amg-cg sa",
            f"kronpde defaults: level-0 local weighting, {cycle_of('sa')}-cycle, kronpde cycle",
            kronpde_method("amg-cg"),
        ),
        (
            "pyamg sa (same)",
            f"same hierarchy, ml.solve(accel='cg', cycle='{cycle_of('sa')}')",
            pyamg_solve("sa", True, cycle_of("sa")),
        ),
        (
            "pyamg sa (default)",
            "pyamg defaults, ml.solve(accel='cg'), V-cycle",
            pyamg_solve("sa", False),
        ),
        (
            "amg-cg rs",
            f"pyamg RS defaults, {cycle_of('rs')}-cycle, kronpde cycle",
            kronpde_method("amg-cg", {"kind": "rs"}),
        ),
        (
            "pyamg rs (same)",
            f"same hierarchy, ml.solve(accel='cg', cycle='{cycle_of('rs')}')",
            pyamg_solve("rs", False, cycle_of("rs")),
        ),
    ]
    # Contenders run interleaved, round after round (a contender drops out after a first run
    # longer than --cheap), so that load from other processes on this shared machine hits
    # them alike; the reported setup and solve times are each contender's medians.
    rows: list[Row] = []
    active = []
    for name, note, fn in contenders:
        if args.only and not any(name.startswith(o) for o in args.only):
            continue
        if big and name in ("cg", "scipy cg") and not args.slow:
            rows.append(Row(grid_name, name, note, refused="skipped (--slow to run)"))
            continue
        if name == "direct":
            est = estimate_factor_bytes(problem.grid.shape)
            if est > 2 * 1024**3:
                try:
                    prepare(problem, "direct")
                except SolverError:
                    pass
                rows.append(
                    Row(grid_name, name, note, refused=f"refused: estimate {est / 2**30:.1f} GiB")
                )
                continue
        fn(small_problem, small_b)  # warm-up: imports, caches, code paths
        active.append((name, note, fn))
    runs: dict[str, list[Run]] = {name: [] for name, _, _ in active}
    for round_ in range(args.repeats):
        for name, _note, fn in active:
            done = runs[name]
            if round_ > 0 and done[0].setup + done[0].solve > args.cheap:
                continue
            print(f"  {grid_name} {name} (round {round_ + 1}) ...", flush=True)
            gc.collect()
            done.append(fn(problem, b))
    for name, note, fn in active:
        done = runs[name]
        peak = None
        if not args.no_memory:
            gc.collect()
            tracemalloc.start()
            tracemalloc.reset_peak()
            extra = fn(problem, b).extra_bytes
            peak = (tracemalloc.get_traced_memory()[1] + extra) / 2**20
            tracemalloc.stop()
        rows.append(
            Row(
                grid_name,
                name,
                note,
                statistics.median(r.setup for r in done),
                statistics.median(r.solve for r in done),
                done[0].iterations,
                max(r.residual for r in done),
                peak,
                len(done),
            )
        )
    order = {name: i for i, (name, _, _) in enumerate(contenders)}
    rows.sort(key=lambda r: order[r.name])
    return rows


def table(rows: list[Row]) -> str:
    head = (
        "| grid | method | setup s | solve s | total s | iterations | rel. residual "
        "| peak MiB | runs | notes |\n"
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|"
    )
    lines = [head]
    for r in rows:
        if r.refused:
            lines.append(f"| {r.grid} | {r.name} | | | | | | | | {r.refused}; {r.note} |")
            continue
        peak = "" if r.peak_mib is None else f"{r.peak_mib:.0f}"
        lines.append(
            f"| {r.grid} | {r.name} | {r.setup:.3f} | {r.solve:.3f} | {r.setup + r.solve:.3f} "
            f"| {r.iterations} | {r.residual:.1e} | {peak} | {r.repeats} | {r.note} |"
        )
    return "\n".join(lines)


def ratios(rows: list[Row]) -> str:
    out = []
    by = {(r.grid, r.name): r for r in rows if not r.refused}
    for grid in dict.fromkeys(r.grid for r in rows):
        for ours, theirs in (
            ("amg-cg sa", "pyamg sa (same)"),
            ("amg-cg sa", "pyamg sa (default)"),
            ("amg-cg rs", "pyamg rs (same)"),
        ):
            a, p = by.get((grid, ours)), by.get((grid, theirs))
            if a is None or p is None:
                continue
            total = (a.setup + a.solve) / (p.setup + p.solve)
            out.append(
                f"- {grid}: {ours} / {theirs}: total {total:.2f}, "
                f"solve {a.solve / p.solve:.2f}, iterations {a.iterations} vs {p.iterations}"
            )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--grids", nargs="+", default=["1024x1024", "64x64x64", "128x128x128"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cheap", type=float, default=20.0, help="repeat runs shorter than this")
    parser.add_argument("--slow", action="store_true", help="run plain CG on grids > 1.5M unknowns")
    parser.add_argument("--no-memory", action="store_true", help="skip the tracemalloc run")
    parser.add_argument("--only", nargs="*", help="run only methods starting with these names")
    args = parser.parse_args(argv)

    print(
        f"kronpde {kronpde.__version__}, numpy {np.__version__}, scipy {scipy.__version__}, "
        f"pyamg {pyamg.__version__}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs; OMP/OPENBLAS threads {os.environ['OPENBLAS_NUM_THREADS']}; "
        f"rtol {RTOL:g}; median of up to {args.repeats} runs after a warm-up",
        flush=True,
    )
    rows = []
    for spec in args.grids:
        rows.extend(bench_grid([int(c) for c in spec.split("x")], args))
    print()
    print(table(rows))
    print()
    print(ratios(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
