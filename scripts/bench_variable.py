"""Benchmark: variable coefficient in 3-D, fastdiag-cg against amg-cg (smoothed aggregation).

Problem: ``-div(k grad u) = f`` on the unit cube, ``cells = n³`` (``(n-1)³``
unknowns), homogeneous Dirichlet faces, a seeded random right-hand side (a sine
would be too easy), stopping rule ``||b - A u||_2 <= 1e-8 ||b||_2`` on the
unsymmetrised system (kronpde's rule for every iterative method), with

    k(x, y, z) = exp(a sin(2 pi x) sin(2 pi y) sin(2 pi z)),  a = ln(contrast)/2,

a smooth coefficient that is not a product of 1-D functions, with
``max k / min k = contrast`` (the extreme values lie on nodes when ``n`` is a
multiple of 4).

Rows per contrast: ``fastdiag-cg`` with the constant (geometric-mean) ``k``
(``approximation="mean"``, the default), ``fastdiag-cg`` with the
``sqrt(k)`` scaling (``"scaled"``), and ``amg-cg`` with kronpde's
smoothed-aggregation hierarchy.  *setup* is :func:`kronpde.prepare` (the
variable-coefficient operator data for every method; the CSR assembly and the
hierarchy for amg-cg; the eigenpairs for fastdiag-cg), *solve* one
``PreparedSolver.solve``; the evaluation of ``k`` at the nodes (``Problem``) is
not timed.  Warm-up runs come first (every method on 16³ cells, fastdiag-cg
on the full grid); each row is the median of ``--repeats`` runs.  BLAS runs
single-threaded (``OPENBLAS_NUM_THREADS=1`` before numpy loads); ``scipy.fft``
inside fastdiag uses ``--workers`` threads.

Usage::

    python scripts/bench_variable.py             # 128³ cells, contrasts 2, 10, 100
    python scripts/bench_variable.py --quick     # 32³ cells, one repeat
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import pyamg  # noqa: E402
import scipy  # noqa: E402

import kronpde  # noqa: E402
from kronpde import Grid, Problem  # noqa: E402
from kronpde.solvers import prepare  # noqa: E402

METHODS = (
    ("fastdiag-cg (mean)", "fastdiag-cg", {"approximation": "mean"}),
    ("fastdiag-cg (scaled)", "fastdiag-cg", {"approximation": "scaled"}),
    ("amg-cg (SA)", "amg-cg", {"kind": "sa"}),
)


def coefficient(contrast: float):
    """``k = exp(a sin(2 pi x) sin(2 pi y) sin(2 pi z))`` with ``max/min = contrast``."""
    a = math.log(contrast) / 2.0

    def k(x, y, z):
        return np.exp(a * np.sin(2 * np.pi * x) * np.sin(2 * np.pi * y) * np.sin(2 * np.pi * z))

    return k


def run_once(n: int, contrast: float, method: str, options: dict, rtol: float, workers: int):
    """One set-up and one solve; returns (iterations, setup, solve, converged, residual)."""
    problem = Problem(Grid.box([n, n, n]), source=0.0, coefficient=coefficient(contrast))
    b = np.random.default_rng(12345).standard_normal(problem.size)
    opts = dict(options)
    if method == "fastdiag-cg":
        opts["workers"] = workers
    t0 = time.perf_counter()
    prepared = prepare(problem, method, options=opts)
    setup = time.perf_counter() - t0
    t0 = time.perf_counter()
    rep = prepared.solve(b, rtol=rtol).report
    solve = time.perf_counter() - t0
    return rep.iterations, setup, solve, rep.converged, rep.relative_residual


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=128, help="cells per axis (default 128)")
    parser.add_argument("--contrasts", type=float, nargs="+", default=[2.0, 10.0, 100.0])
    parser.add_argument("--repeats", type=int, default=1, help="runs per row (median)")
    parser.add_argument("--rtol", type=float, default=1e-8)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--quick", action="store_true", help="32³ cells, one repeat")
    args = parser.parse_args(argv)
    n = 32 if args.quick else args.cells
    repeats = 1 if args.quick else args.repeats

    print(
        f"kronpde {kronpde.__version__}, numpy {np.__version__}, scipy {scipy.__version__}, "
        f"pyamg {pyamg.__version__}, Python {platform.python_version()}, "
        f"{os.cpu_count()} cores"
    )
    print(
        f"threads: BLAS {os.environ.get('OPENBLAS_NUM_THREADS')} "
        f"(OPENBLAS_NUM_THREADS), scipy.fft workers {args.workers}; "
        f"grid {n}³ cells = {(n - 1) ** 3:,} unknowns, Dirichlet faces, random b, "
        f"rtol {args.rtol:g}, median of {repeats}"
    )
    for _, method, options in METHODS:  # warm-up: imports, FFT plans, pyamg code paths
        run_once(16, 10.0, method, options, args.rtol, args.workers)
    run_once(n, 2.0, "fastdiag-cg", {}, args.rtol, args.workers)  # and the full-size arrays

    print()
    print("| contrast | method | iterations | setup [s] | solve [s] | total [s] | converged |")
    print("| ---: | --- | ---: | ---: | ---: | ---: | --- |")
    for contrast in args.contrasts:
        for label, method, options in METHODS:
            runs = [
                run_once(n, contrast, method, options, args.rtol, args.workers)
                for _ in range(repeats)
            ]
            its = runs[0][0]
            setup = statistics.median(r[1] for r in runs)
            solve = statistics.median(r[2] for r in runs)
            total = statistics.median(r[1] + r[2] for r in runs)
            ok = all(r[3] for r in runs)
            print(
                f"| {contrast:g} | {label} | {its} | {setup:.3f} | {solve:.3f} | {total:.3f} | "
                f"{'yes' if ok else 'NO'} ({max(r[4] for r in runs):.1e}) |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
