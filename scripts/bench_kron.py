"""Benchmark the vec identity and the Kronecker sum: matmul_axis, and KronSum's two applies.

Table 1, :func:`kronpde.operators.matmul.matmul_axis`: one dense n×n matrix along each
axis of an n^3 array.  Anchors measured in the same process, on the same random data:

* hand GEMM  - np.dot on reshaped arrays: axis 0 ``A @ X.reshape(n, -1)``, last axis
  ``X.reshape(-1, n) @ A.T``, middle axis a transpose copy + one GEMM + copy back;
* tensordot  - ``np.tensordot`` + ``np.moveaxis`` + ``np.ascontiguousarray`` (same C-ordered
  result as the others);
* einsum     - ``np.einsum(..., optimize=True)`` + ``np.ascontiguousarray``.

Table 2, :class:`kronpde.operators.kronsum.KronSum` on the 3-D Dirichlet Laplacian with n^3
unknowns, ``matvec_into`` on a random vector: the banded apply (AxisOperator factors)
against the general apply of the same factors as sparse and as dense matrices
(:func:`matmul_axis` per axis) and against the assembled CSR ``A @ x``.

Prints markdown tables of median wall times (ms) after a warm-up.  Each BLAS thread count
runs in its own subprocess with ``OPENBLAS_NUM_THREADS`` / ``OMP_NUM_THREADS`` set, because
OpenBLAS reads them only at start-up; ``--threads default`` runs in this process as is.

Usage::

    python scripts/bench_kron.py                 # BLAS threads 1 and 2
    python scripts/bench_kron.py --threads default --sizes 128 --repeats 5
    python scripts/bench_kron.py --quick         # smoke run: 32^3, 3 repeats, 1 BLAS thread
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import numpy as np

from kronpde import Grid, Problem
from kronpde.operators.kronsum import KronSum, assemble
from kronpde.operators.matmul import matmul_axis


def blas_threads_statement() -> str:
    try:
        import threadpoolctl  # optional; only used if already installed
    except ImportError:
        pass
    else:
        info = threadpoolctl.threadpool_info()
        blas = [f"{d.get('internal_api')}={d.get('num_threads')}" for d in info]
        return "threadpoolctl: " + ", ".join(blas)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if var in os.environ:
            return f"{var}={os.environ[var]}"
    return f"default (no *_NUM_THREADS set; os.cpu_count()={os.cpu_count()})"


def median_ms(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(times))


def hand_gemm(A: np.ndarray, X: np.ndarray, axis: int) -> np.ndarray:
    n = A.shape[1]
    a = int(np.prod(X.shape[:axis]))
    b = int(np.prod(X.shape[axis + 1 :]))
    if axis == 0:
        return np.dot(A, X.reshape(n, b)).reshape(X.shape)
    if axis == X.ndim - 1:
        return np.dot(X.reshape(a, n), A.T).reshape(X.shape)
    Xt = np.ascontiguousarray(X.reshape(a, n, b).transpose(1, 0, 2)).reshape(n, a * b)
    Y = np.dot(A, Xt).reshape(n, a, b).transpose(1, 0, 2)
    return np.ascontiguousarray(Y).reshape(X.shape)


def tensordot(A: np.ndarray, X: np.ndarray, axis: int) -> np.ndarray:
    return np.ascontiguousarray(np.moveaxis(np.tensordot(A, X, axes=(1, axis)), 0, axis))


EINSUM = {0: "ij,jab->iab", 1: "ij,ajb->aib", 2: "ij,abj->abi"}


def einsum(A: np.ndarray, X: np.ndarray, axis: int) -> np.ndarray:
    # optimize=True may hand back a transposed view: copy to C order like the others
    return np.ascontiguousarray(np.einsum(EINSUM[axis], A, X, optimize=True))


def run(sizes: list[int], repeats: int) -> None:
    rng = np.random.default_rng(0)
    load0 = loadavg()
    print(
        f"BLAS threads: {blas_threads_statement()}; numpy {np.__version__}; "
        f"median of {repeats} after 1 warm-up; times in ms\n"
    )
    print(
        "| n^3 | axis | matmul_axis(out=) | matmul_axis | hand GEMM | tensordot | einsum "
        "| out= / hand |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for n in sizes:
        X = rng.standard_normal((n, n, n))
        A = rng.standard_normal((n, n))
        out = np.empty_like(X)
        for axis in range(3):
            ref = hand_gemm(A, X, axis)
            for fn in (tensordot, einsum):
                assert np.allclose(fn(A, X, axis), ref, rtol=1e-10, atol=1e-8)
            assert np.allclose(matmul_axis(A, X, axis), ref, rtol=1e-10, atol=1e-8)
            t = {
                "out": median_ms(lambda: matmul_axis(A, X, axis, out=out), repeats),  # noqa: B023
                "new": median_ms(lambda: matmul_axis(A, X, axis), repeats),  # noqa: B023
                "hand": median_ms(lambda: hand_gemm(A, X, axis), repeats),  # noqa: B023
                "td": median_ms(lambda: tensordot(A, X, axis), repeats),  # noqa: B023
                "es": median_ms(lambda: einsum(A, X, axis), repeats),  # noqa: B023
            }
            print(
                f"| {n}^3 | {axis} | {t['out']:.2f} | {t['new']:.2f} | {t['hand']:.2f} "
                f"| {t['td']:.2f} | {t['es']:.2f} | {t['out'] / t['hand']:.2f} |",
                flush=True,
            )
    print()
    print(
        "| n^3 | banded (AxisOperator) | general, sparse factors | general, dense factors "
        "| CSR A @ x | sparse / banded | dense / banded | CSR / banded |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for n in sizes:
        cells = [n + 1] * 3
        ops = Problem(Grid.box(cells, upper=[float(c) for c in cells])).axis_operators
        banded = KronSum(ops)
        sparse = KronSum([op.tosparse() for op in ops])
        dense = KronSum([op.todense() for op in ops])
        a = assemble(ops)
        x = rng.standard_normal(a.shape[0])
        y = np.empty_like(x)
        ref = a @ x
        for op in (banded, sparse, dense):
            op.matvec_into(x, y)
            assert np.allclose(y, ref, rtol=1e-12, atol=1e-10)
        t = {
            "banded": median_ms(lambda: banded.matvec_into(x, y), repeats),  # noqa: B023
            "sparse": median_ms(lambda: sparse.matvec_into(x, y), repeats),  # noqa: B023
            "dense": median_ms(lambda: dense.matvec_into(x, y), repeats),  # noqa: B023
            "csr": median_ms(lambda: a @ x, repeats),  # noqa: B023
        }
        print(
            f"| {n}^3 | {t['banded']:.2f} | {t['sparse']:.2f} | {t['dense']:.2f} "
            f"| {t['csr']:.2f} | {t['sparse'] / t['banded']:.2f} "
            f"| {t['dense'] / t['banded']:.2f} | {t['csr'] / t['banded']:.2f} |",
            flush=True,
        )
    print(
        f"\n1-min load average at start/end: {load0} / {loadavg()} (other processes "
        "sharing the cores inflate times, 2-thread runs most)\n"
    )


def loadavg() -> str:
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "n/a"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument(
        "--threads",
        nargs="+",
        default=["1", "2"],
        help="BLAS thread counts, each in a subprocess; 'default' runs in this process",
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 32^3, 3 repeats, 1 BLAS thread"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.repeats, args.threads = [32], 3, ["1"]
    for threads in args.threads:
        if threads == "default":
            run(args.sizes, args.repeats)
            continue
        env = dict(
            os.environ,
            OPENBLAS_NUM_THREADS=threads,
            OMP_NUM_THREADS=threads,
            MKL_NUM_THREADS=threads,
        )
        cmd = [
            sys.executable,
            __file__,
            "--threads",
            "default",
            "--repeats",
            str(args.repeats),
            "--sizes",
            *map(str, args.sizes),
        ]
        subprocess.run(cmd, env=env, check=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
