"""Benchmark of issue 17: ``rtol="auto"`` against ``rtol=1e-8``, and the certified bound.

Problem (the issue's): ``-Δu = f`` on the unit square with
``u = exp(x y) + sin(2 x)``, ``cells = n²``, Dirichlet faces from ``u``
("dirichlet"), or the same with the Neumann face ``du/dx`` at ``x = 1``
("neumann").  The right-hand side is the problem's own, smooth one: the
point is the discretisation error, which a random right-hand side does not
have, and Richardson's estimate needs the problem's own data.

Table 1, accuracy: for each grid and method (``cg``, ``amg-cg``,
``fastdiag-cg``) with ``rtol="auto"`` (Richardson estimate, no exact solution
given): the max error over all nodes against ``u``, its ratio to fastdiag's
(the exact discrete solution), the observed order between consecutive grids,
the certified bound and the estimated discretisation error (both in the
trapezoid-weighted L² norm ``W``).

Table 2, cost: for three grids, iterations and time of ``rtol="auto"``
against ``rtol=1e-8`` (the Python default), the max-error ratio to fastdiag
of each, and the tightness of the certified bound, ``bound / ||u - u_h||_W``
with ``u_h`` from fastdiag refined once with a residual in extended
precision (so that fastdiag's own rounding does not blur the small algebraic
errors of the large grids).  *time* is ``kronpde.solve`` (set-up and solve; for
``"auto"`` also the Richardson coarse solves, done once per prepared
solver), the median of ``--repeats`` runs after a warm-up.  The anchor is
``scipy.sparse.linalg.cg`` on the same symmetrised system
``Â y = D b`` (assembled CSR, ``rtol=1e-8`` on its own residual; its time is
the solve alone) in the ``cg`` rows.  (With a constant ``k``, fastdiag-cg's
preconditioner is the exact solve: one iteration, an error at the rounding
level, and the bound is then mostly its rounding term.)

BLAS runs single-threaded (``OPENBLAS_NUM_THREADS=1`` before numpy loads);
``scipy.fft`` inside fastdiag and fastdiag-cg uses ``--workers`` threads.

Usage::

    python scripts/bench_honest.py           # table 1: 128² .. 1024²; table 2: 256², 512², 1024²
    python scripts/bench_honest.py --quick   # 32² .. 128², one repeat (a smoke run)
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
import scipy.sparse.linalg as spla  # noqa: E402

import kronpde  # noqa: E402
from kronpde import Dirichlet, Grid, Neumann, Problem, solve  # noqa: E402

U = "exp(x*y) + sin(2*x)"
F = "-(x**2 + y**2)*exp(x*y) + 4*sin(2*x)"
DU_DX = "y*exp(x*y) + 2*cos(2*x)"
METHODS = ("cg", "amg-cg", "fastdiag-cg")
VARIANTS = ("dirichlet", "neumann")


def problem_of(n: int, variant: str) -> Problem:
    bc = {"xmax": Neumann(DU_DX)} if variant == "neumann" else {}
    return Problem(Grid.box([n, n], boundary=bc, default=Dirichlet(U)), source=F)


def max_error(problem: Problem, u: np.ndarray) -> float:
    x, y = problem.grid.node_coordinates()
    return float(np.max(np.abs(u - (np.exp(x * y) + np.sin(2.0 * x)))))


def w_norm(problem: Problem, v: np.ndarray) -> float:
    w = problem.weights().reshape(-1)
    return float(np.sqrt(w @ (v * v)))


def refined(problem: Problem, workers: int) -> tuple[np.ndarray, object]:
    """``u_h`` to well below float64's rounding: fastdiag, then one step of refinement.

    The residual of fastdiag's solution is accumulated in ``np.longdouble``
    (extended precision on x86) from the assembled coefficients, and the
    correction solved by fastdiag again; returns ``(u_h, fastdiag's solution)``.
    """
    first = solve(problem, "fastdiag", options={"workers": workers})
    a = problem.operator().tocoo()
    ld = np.longdouble
    au = np.zeros(problem.size, dtype=ld)
    np.add.at(au, a.row, a.data.astype(ld) * first.x.astype(ld)[a.col])
    r = (problem.rhs().astype(ld) - au).astype(np.float64)
    prepared = kronpde.prepare(problem, "fastdiag", options={"workers": workers})
    return first.x + prepared.solve(r).x, first


def options(method: str, workers: int) -> dict:
    return {"workers": workers} if method in ("fastdiag", "fastdiag-cg") else {}


def timed(problem: Problem, method: str, rtol, workers: int, repeats: int):
    """Median wall time of ``solve`` over ``repeats`` runs, and the last solution."""
    times, sol = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        sol = solve(problem, method, rtol=rtol, options=options(method, workers))
        times.append(time.perf_counter() - t0)
    return statistics.median(times), sol


def scipy_cg_time(problem: Problem, repeats: int) -> tuple[float, int]:
    """scipy's cg on ``Â y = D b`` to ``rtol=1e-8``: median solve time and iterations."""
    a = problem.operator(symmetric=True).tocsr()
    rhs = problem.symmetric_scale * problem.rhs()
    times, its = [], 0
    for _ in range(repeats):
        count = [0]

        def callback(_xk, count=count):
            count[0] += 1

        t0 = time.perf_counter()
        _, info = spla.cg(a, rhs, rtol=1e-8, atol=0.0, maxiter=10 * problem.size, callback=callback)
        times.append(time.perf_counter() - t0)
        its = count[0] if info == 0 else -count[0]
    return statistics.median(times), its


def accuracy_table(sizes: list[int], workers: int) -> bool:
    print(
        "| grid | faces | method | iterations | max error | / fastdiag | order | bound | estimate |"
    )
    print("| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    ok = True
    for variant in VARIANTS:
        previous: dict[str, float] = {}
        for n in sizes:
            problem = problem_of(n, variant)
            reference = solve(problem, "fastdiag", options={"workers": workers})
            e_ref = max_error(problem, reference.u)
            rows = [("fastdiag", reference)]
            for method in METHODS:
                rows.append(
                    (method, solve(problem, method, rtol="auto", options=options(method, workers)))
                )
            for method, sol in rows:
                r = sol.report
                err = max_error(problem, sol.u)
                ratio = err / e_ref
                p = math.log2(previous[method] / err) if method in previous else None
                previous[method] = err
                within = ratio <= 1.2 and (p is None or 1.9 <= p <= 2.1) and r.converged
                ok = ok and within
                est = "-" if r.discretisation_error is None else f"{r.discretisation_error:.2e}"
                print(
                    f"| {n}² | {variant} | {method} | {r.iterations} | {err:.3e} | {ratio:.3f} | "
                    f"{'-' if p is None else f'{p:.3f}'} | {r.algebraic_error_bound:.2e} | {est} |"
                    + ("" if within else " **outside**"),
                    flush=True,
                )
    return ok


def cost_table(sizes: list[int], workers: int, repeats: int) -> None:
    print(
        "| grid | faces | method | iterations auto | iterations 1e-8 | time auto [s] | "
        "time 1e-8 [s] | auto / 1e-8 | error / fastdiag, auto | error / fastdiag, 1e-8 | "
        "tightness auto | tightness 1e-8 | scipy cg 1e-8 [s] (iterations) |"
    )
    print(
        "| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    )
    for n in sizes:
        for variant in VARIANTS:
            problem = problem_of(n, variant)
            u_h, reference = refined(problem, workers)
            e_ref = max_error(problem, reference.u)
            anchor = "-"
            for method in METHODS:
                t_auto, auto = timed(problem, method, "auto", workers, repeats)
                t_fix, fixed = timed(problem, method, 1e-8, workers, repeats)
                tight = []
                for sol in (auto, fixed):
                    true = w_norm(problem, sol.x - u_h)
                    tight.append(f"{sol.report.algebraic_error_bound / true:.0f}")
                if method == "cg":
                    t_sp, its = scipy_cg_time(problem, repeats)
                    anchor = f"{t_sp:.3f} ({its})"
                print(
                    f"| {n}² | {variant} | {method} | {auto.report.iterations} | "
                    f"{fixed.report.iterations} | {t_auto:.3f} | {t_fix:.3f} | "
                    f"{t_auto / t_fix:.2f} | {max_error(problem, auto.u) / e_ref:.3f} | "
                    f"{max_error(problem, fixed.u) / e_ref:.3f} | {tight[0]} | "
                    f"{tight[1]} | {anchor if method == 'cg' else '-'} |",
                    flush=True,
                )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=[128, 256, 512, 1024],
        help="cells per axis of table 1 (default 128 256 512 1024)",
    )
    parser.add_argument(
        "--cost-sizes",
        type=int,
        nargs="+",
        default=[256, 512, 1024],
        help="cells per axis of table 2 (default 256 512 1024)",
    )
    parser.add_argument("--repeats", type=int, default=3, help="runs per timing (median)")
    parser.add_argument("--workers", type=int, default=1, help="scipy.fft threads (default 1)")
    parser.add_argument("--quick", action="store_true", help="32² .. 128², one repeat")
    args = parser.parse_args(argv)
    sizes = [32, 64, 128] if args.quick else args.sizes
    cost_sizes = [32, 64, 128] if args.quick else args.cost_sizes
    repeats = 1 if args.quick else args.repeats

    print(
        f"kronpde {kronpde.__version__}, numpy {np.__version__}, scipy {scipy.__version__}, "
        f"pyamg {pyamg.__version__}, Python {platform.python_version()}, "
        f"{os.cpu_count()} cores; load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}"
    )
    print(
        f"threads: BLAS {os.environ.get('OPENBLAS_NUM_THREADS')} (OPENBLAS_NUM_THREADS), "
        f"scipy.fft workers {args.workers}; u = {U}, the problem's own right-hand side"
    )
    for method in ("fastdiag", *METHODS):  # warm-up: imports, FFT plans, pyamg code paths
        solve(problem_of(16, "neumann"), method, rtol="auto")
    print()
    print("Table 1: rtol='auto' (Richardson estimate) against fastdiag, max error over the nodes")
    print()
    ok = accuracy_table(sizes, args.workers)
    print()
    print(f"every row within 1.2x of fastdiag and order 1.9-2.1: {'yes' if ok else 'NO'}")
    print()
    print(f"Table 2: cost of rtol='auto' against rtol=1e-8 (median of {repeats})")
    print()
    cost_table(cost_sizes, args.workers, repeats)
    print()
    print(f"load average at the end {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
