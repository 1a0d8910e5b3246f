"""Benchmark of the core: assembly, matvec and CG against scipy and pyamg.

Prints markdown tables for 3-D 64³ and 128³ and 2-D 1024² unknowns (homogeneous
Dirichlet, so pyamg.gallery.poisson builds the same matrix):

* assembly: kronpde's ``assemble`` against ``scipy.sparse.kronsum`` (folded
  over the axes) and ``pyamg.gallery.poisson``: time (median of repeats after a
  warm-up, runs interleaved so no contender always gets fresh memory) and peak
  temporary memory beyond the final CSR (tracemalloc, which sees numpy's
  allocations), as a multiple of the CSR's size;
* matvec: CSR ``A @ x`` against the matrix-free ``KronSumOperator.matvec_into``;
* CG: kronpde's ``cg`` with the matrix-free operator against
  ``scipy.sparse.linalg.cg`` on the CSR matrix, random right-hand side, rtol
  1e-8: iterations and time per iteration.

Usage: ``python scripts/bench_core.py [--quick]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import tracemalloc

import numpy as np
import pyamg
import scipy
import scipy.sparse as sp
import scipy.sparse.linalg as sla

from kronpde import Grid, Problem, assemble
from kronpde.solvers.cg import cg


def csr_bytes(a) -> int:
    return a.data.nbytes + a.indices.nbytes + a.indptr.nbytes


def kronsum_assembly(ops):
    """scipy's kronsum folded over the axes (kronsum(A, B) puts A on the LAST axis)."""
    a = ops[0].tosparse()
    for op in ops[1:]:
        a = sp.kronsum(op.tosparse(), a, format="csr")
    return a


def timed(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def peak_temporaries(fn) -> tuple[int, int]:
    """(peak bytes during fn, bytes of the result still alive) via tracemalloc."""
    tracemalloc.start()
    result = fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak, csr_bytes(result)


def bench_assembly(shape, repeats):
    cells = [n + 1 for n in shape]
    problem = Problem(Grid.box(cells, upper=[float(c) for c in cells]))  # h = 1
    ops = problem.axis_operators
    contenders = {
        "kronpde assemble": lambda: assemble(ops),
        "scipy kronsum": lambda: kronsum_assembly(ops),
        "pyamg poisson": lambda: pyamg.gallery.poisson(shape, format="csr"),
    }
    ref = contenders["pyamg poisson"]()
    ours = contenders["kronpde assemble"]()
    assert abs(ours - ref).max() < 1e-12, "assembly differs from pyamg.gallery.poisson"
    del ref, ours
    for fn in contenders.values():  # warm-up
        fn()
    times = {name: [] for name in contenders}
    for _ in range(repeats):  # interleaved
        for name, fn in contenders.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    rows = []
    for name, fn in contenders.items():
        peak, final = peak_temporaries(fn)
        rows.append((name, statistics.median(times[name]), (peak - final) / final))
    return rows


def bench_matvec_cg(shape, repeats, cg_maxiter):
    cells = [n + 1 for n in shape]
    problem = Problem(Grid.box(cells, upper=[float(c) for c in cells]))
    a = problem.operator()
    op = problem.linear_operator()
    rng = np.random.default_rng(0)
    x = rng.standard_normal(problem.size)
    y = np.empty_like(x)
    a @ x
    op.matvec_into(x, y)
    t_csr = timed(lambda: a @ x, repeats)
    t_mf = timed(lambda: op.matvec_into(x, y), repeats)

    b = rng.standard_normal(problem.size)
    ours = {}

    def run_ours():
        t0 = time.perf_counter()
        res = cg(op, b, rtol=1e-8, maxiter=cg_maxiter)
        ours["t"], ours["it"] = time.perf_counter() - t0, res.iterations

    theirs = {"it": 0}

    def count(_):
        theirs["it"] += 1

    def run_scipy():
        theirs["it"] = 0
        t0 = time.perf_counter()
        sla.cg(a, b, rtol=1e-8, atol=0.0, maxiter=cg_maxiter, callback=count)
        theirs["t"] = time.perf_counter() - t0

    run_ours()
    run_scipy()
    return t_csr, t_mf, ours, theirs


def threads() -> str:
    try:
        from threadpoolctl import threadpool_info

        blas = [f"{i['internal_api']}={i['num_threads']}" for i in threadpool_info()]
        return ", ".join(blas) or "none loaded"
    except ImportError:
        return f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'default')}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    args = parser.parse_args()
    shapes = (
        [(32, 32, 32), (256, 256)] if args.quick else [(64, 64, 64), (128, 128, 128), (1024, 1024)]
    )
    repeats = 3 if args.quick else 7
    print(
        f"numpy {np.__version__}, scipy {scipy.__version__}, pyamg {pyamg.__version__}; "
        f"cores {os.cpu_count()}; BLAS threads: {threads()}; matvec and CG are single-threaded"
    )
    print()
    print("## Assembly (homogeneous Dirichlet, h = 1)")
    print()
    print("| unknowns | method | time s | ratio to pyamg | peak temporaries / final CSR |")
    print("| --- | --- | --- | --- | --- |")
    for shape in shapes:
        rows = bench_assembly(shape, repeats)
        t_ref = dict((n, t) for n, t, _ in rows)["pyamg poisson"]
        label = "×".join(map(str, shape))
        for name, t, temp in rows:
            print(f"| {label} | {name} | {t:.3f} | {t / t_ref:.2f} | {temp:.2f} |")
    print()
    print("## Matvec and CG (random right-hand side, rtol 1e-8, no preconditioner)")
    print()
    print(
        "| unknowns | CSR matvec ms | matrix-free ms | CSR / matrix-free | "
        "kronpde cg its | scipy cg its | kronpde ms/it | scipy ms/it | kronpde / scipy per it |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for shape in shapes:
        t_csr, t_mf, ours, theirs = bench_matvec_cg(shape, repeats * 3, cg_maxiter=5000)
        per_ours = ours["t"] / ours["it"] * 1e3
        per_theirs = theirs["t"] / theirs["it"] * 1e3
        print(
            f"| {'×'.join(map(str, shape))} | {t_csr * 1e3:.1f} | {t_mf * 1e3:.1f} | "
            f"{t_csr / t_mf:.2f} | {ours['it']} | {theirs['it']} | {per_ours:.2f} | "
            f"{per_theirs:.2f} | {per_ours / per_theirs:.2f} |"
        )


if __name__ == "__main__":
    main()
