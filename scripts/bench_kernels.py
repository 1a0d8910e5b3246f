"""Benchmark of the compiled kernels (``kronpde.kernels``) against the memory floor and the anchors.

Everything is measured in one run (the JIT rows in child processes), warm-up
first, median of ``--repeats`` (one run only where a run takes longer than
``--cheap`` seconds), random data from a fixed seed.  Tables:

1. **Triad** ``a = b + s c`` (STREAM's 24 bytes per entry) with numba
   ``prange`` at 1 and 2 threads and with NumPy (single-threaded, two passes
   ``np.multiply``/``np.add`` but counted as 24 bytes too): the bandwidth
   floor.  The floor of the other tables is the compiled triad at the
   default thread count.
2. **Matvec** of the 7-point (5-point in 2-D) Dirichlet operator ``Â`` on
   ``64³``, ``128³`` and ``1024²`` cells (``63³``, ``127³``, ``1023²``
   unknowns): :class:`~kronpde.kernels.ConstantStencil` ``apply`` and
   ``apply_dot`` (1 and 2 threads), today's NumPy matrix-free
   :class:`~kronpde.operator.KronSumOperator` (``matvec_into``) and scipy's CSR
   ``A @ x``.  *bytes* is the traffic each must move at least (stencils:
   read ``x``, write ``y``; CSR: values, column indices, row pointers, ``x``,
   ``y``), *GB/s* the implied bandwidth, *x floor* the time over bytes/floor.
3. **CG iteration** with a random right-hand side to ``rtol`` (default 1e-8,
   the recurrence residual, scipy's rule): :func:`~kronpde.kernels.cg_fused`
   (three fused passes per iteration), today's :func:`kronpde.solvers.cg.cg`
   on the NumPy operator, and ``scipy.sparse.linalg.cg`` on CSR.  Time per
   iteration = time of the solve / iterations.  The floor of one CG iteration
   is 88 bytes per unknown (matvec: read p, write Ap; update: read x, p, r,
   Ap, write x, r; new direction: read r, p, write p).  *diff* is
   ``||x - x_scipy|| / ||x_scipy||``.
4. **Variable coefficient** ``Â`` (smooth ``k``, Dirichlet) on ``128³``
   cells: :class:`~kronpde.kernels.VariableStencil` against
   :class:`~kronpde.variable.VariableOperator` and CSR; 48 bytes per unknown
   (x, y, diagonal, three edge arrays).
5. **JIT cost** per kernel: the first compilation in a fresh numba cache and
   the load from that cache in a later process (each in a child process with
   its own ``NUMBA_CACHE_DIR``), and ``import numba``.

``--threshold`` prints instead the table behind
:data:`kronpde.kernels.MIN_COMPILED_SIZE`: per grid size the NumPy and
compiled CG iteration, the CG iterations of a random right-hand side, and the
saving per solve against the one-off cost of a process that loads numba and
the CG kernels from the cache.

BLAS runs single-threaded (``OMP_NUM_THREADS``/``OPENBLAS_NUM_THREADS`` set to
1 before numpy loads; numba's own thread count is not affected by them).

Usage::

    python scripts/bench_kernels.py              # the full tables
    python scripts/bench_kernels.py --quick      # small sizes, one repeat (smoke test)
    python scripts/bench_kernels.py --threshold  # the numpy/compiled crossover
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402

import numba  # noqa: E402
import numpy as np  # noqa: E402
import scipy  # noqa: E402
import scipy.sparse.linalg as spla  # noqa: E402

import kronpde.kernels as K  # noqa: E402
from kronpde import Grid  # noqa: E402
from kronpde.operator import KronSumOperator, assemble  # noqa: E402
from kronpde.solvers.cg import cg as kronpde_cg  # noqa: E402
from kronpde.stencils import second_difference  # noqa: E402
from kronpde.variable import VariableDiffusion, VariableOperator  # noqa: E402

CG_BYTES_PER_UNKNOWN = 88  # 16 (matvec) + 48 (update of x, r) + 24 (new direction)


# -- tables ------------------------------------------------------------------------------
@dataclass
class Table:
    """A markdown table: a title, column names and rows of already formatted cells."""

    title: str
    columns: Sequence[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *cells) -> None:
        self.rows.append([_fmt(c) for c in cells])

    def show(self) -> None:
        print(f"\n### {self.title}\n")
        print("| " + " | ".join(self.columns) + " |")
        print("|" + "|".join("---" for _ in self.columns) + "|")
        for row in self.rows:
            print("| " + " | ".join(row) + " |")
        for note in self.notes:
            print(f"\n{note}")
        sys.stdout.flush()


def _fmt(value) -> str:
    if isinstance(value, float):
        if value == 0.0 or not math.isfinite(value):
            return str(value)
        if abs(value) >= 100:
            return f"{value:.0f}"
        if abs(value) >= 1:
            return f"{value:.2f}"
        return f"{value:.3g}"
    return str(value)


def timed(func: Callable[[], object], repeats: int, cheap: float) -> float:
    """Median wall time of ``func`` after one warm-up call (one call if it is not cheap)."""
    t0 = time.perf_counter()
    func()
    first = time.perf_counter() - t0
    if first > cheap:
        return first
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        func()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def with_threads(count: int, func: Callable[[], float]) -> float:
    """Run ``func`` with numba limited to ``count`` threads."""
    before = numba.get_num_threads()
    numba.set_num_threads(count)
    try:
        return func()
    finally:
        numba.set_num_threads(before)


def thread_counts() -> list[int]:
    """1 and the default thread count (the machine's cores)."""
    return sorted({1, numba.config.NUMBA_NUM_THREADS})


# -- problems ----------------------------------------------------------------------------
def dirichlet_ops(cells: Sequence[int]):
    """The symmetrised 1-D operators of ``-Δ`` on the unit box with Dirichlet faces."""
    grid = Grid.box(list(cells))
    return grid, [second_difference(a).symmetrized() for a in grid.axes]


def label(cells: Sequence[int]) -> str:
    c = cells[0]
    return f"{c}³" if len(cells) == 3 else f"{c}²" if len(cells) == 2 else str(c)


@numba.njit(parallel=True, cache=True, fastmath=False)
def _triad(a, b, c, s):  # pragma: no cover - compiled
    for i in numba.prange(a.size):
        a[i] = b[i] + s * c[i]


# -- 1. triad ----------------------------------------------------------------------------
def triad_table(n: int, repeats: int, cheap: float) -> tuple[Table, float]:
    """The triad bandwidth; returns the table and the floor (compiled, default threads) in B/s."""
    rng = np.random.default_rng(1)
    a, b, c = np.empty(n), rng.random(n), rng.random(n)
    s = 0.5
    table = Table(
        f"Triad a = b + s c, {n} entries ({24 * n / 1e6:.0f} MB moved per call)",
        ["kernel", "threads", "ms", "GB/s"],
    )
    floor = 0.0
    for count in thread_counts():
        t = with_threads(count, lambda: timed(lambda: _triad(a, b, c, s), repeats, cheap))
        table.add("numba prange", count, 1e3 * t, 24 * n / t / 1e9)
        if count == numba.config.NUMBA_NUM_THREADS:
            floor = 24 * n / t

    def numpy_triad():
        np.multiply(c, s, out=a)
        np.add(a, b, out=a)

    t = timed(numpy_triad, repeats, cheap)
    table.add("numpy (2 passes)", 1, 1e3 * t, 24 * n / t / 1e9)
    table.notes.append(
        f"Floor for the tables below: {floor / 1e9:.1f} GB/s "
        f"(numba, {numba.config.NUMBA_NUM_THREADS} threads)."
    )
    return table, floor


# -- 2. matvec ---------------------------------------------------------------------------
def matvec_rows(table: Table, cells, floor: float, repeats: int, cheap: float) -> None:
    """Rows of the matvec table for one grid."""
    grid, ops = dirichlet_ops(cells)
    n = grid.size
    rng = np.random.default_rng(2)
    x = rng.standard_normal(n)
    y = np.empty(n)
    stencil = K.ConstantStencil(ops, compiled=True)
    numpy_op = KronSumOperator(ops)
    csr = assemble(ops)
    stencil_bytes = 16 * n
    csr_bytes = 12 * csr.nnz + 4 * (n + 1) + 16 * n

    def row(name, threads, t, nbytes):
        table.add(
            label(cells), n, name, threads, 1e3 * t, nbytes / 1e6, nbytes / t / 1e9,
            t / (nbytes / floor),
        )  # fmt: skip

    for count in thread_counts():
        t = with_threads(count, lambda: timed(lambda: stencil.apply(x, y), repeats, cheap))
        row("ConstantStencil.apply", count, t, stencil_bytes)
        t = with_threads(count, lambda: timed(lambda: stencil.apply_dot(x, y), repeats, cheap))
        row("ConstantStencil.apply_dot", count, t, stencil_bytes)
    t = timed(lambda: numpy_op.matvec_into(x, y), repeats, cheap)
    row("KronSumOperator (numpy)", 1, t, stencil_bytes)
    t = timed(lambda: csr @ x, repeats, cheap)
    row("scipy CSR A @ x", 1, t, csr_bytes)
    ref = csr @ x
    err = np.max(np.abs(stencil.apply(x, y) - ref)) / np.max(np.abs(ref))
    table.notes.append(f"{label(cells)}: max |kernel - CSR| / max |CSR| = {err:.1e}.")


def matvec_table(grids, floor, repeats, cheap) -> Table:
    table = Table(
        "Matvec of the Dirichlet -Δ (symmetrised), one product",
        ["cells", "unknowns", "method", "threads", "ms", "MB", "GB/s", "x floor"],
    )
    for cells in grids:
        matvec_rows(table, cells, floor, repeats, cheap)
    return table


# -- 3. CG iteration ---------------------------------------------------------------------
def _scipy_cg(a, b, rtol):
    count = [0]

    def callback(xk):
        count[0] += 1

    x, info = spla.cg(a, b, rtol=rtol, atol=0.0, maxiter=10 * b.size, callback=callback)
    return x, count[0], info


def cg_rows(table: Table, cells, floor: float, rtol: float, repeats: int, cheap: float) -> None:
    """Rows of the CG table for one grid: fused (1 and 2 threads), kronpde cg today, scipy."""
    grid, ops = dirichlet_ops(cells)
    n = grid.size
    b = np.random.default_rng(3).standard_normal(n)
    stencil = K.ConstantStencil(ops, compiled=True)
    csr = assemble(ops)
    floor_iter = CG_BYTES_PER_UNKNOWN * n / floor
    out: dict[str, tuple] = {}

    def run_scipy():
        out["scipy"] = _scipy_cg(csr, b, rtol)

    t_scipy = timed(run_scipy, repeats, cheap)
    x_scipy, its_scipy, info = out["scipy"]
    per_scipy = t_scipy / max(its_scipy, 1)
    rows = []
    for count in thread_counts():

        def run_fused():
            out["fused"] = K.cg_fused(stencil, b, rtol=rtol)

        t = with_threads(count, lambda: timed(run_fused, repeats, cheap))
        res = out["fused"]
        diff = np.linalg.norm(res.x - x_scipy) / np.linalg.norm(x_scipy)
        rows.append(("cg_fused (kernels)", count, res.iterations, t, diff))
    numpy_op = KronSumOperator(ops)

    def run_today():
        out["today"] = kronpde_cg(numpy_op, b, rtol=rtol, atol=0.0)

    t = timed(run_today, repeats, cheap)
    res = out["today"]
    diff = np.linalg.norm(res.x - x_scipy) / np.linalg.norm(x_scipy)
    rows.append(("kronpde cg (numpy)", 1, res.iterations, t, diff))
    rows.append((f"scipy cg on CSR (info {info})", 1, its_scipy, t_scipy, 0.0))
    for name, count, its, t, diff in rows:
        per = t / max(its, 1)
        table.add(
            label(cells), n, name, count, its, t, 1e3 * per, per / per_scipy, per / floor_iter,
            f"{diff:.1e}",
        )  # fmt: skip
    table.notes.append(
        f"{label(cells)}: floor {1e3 * floor_iter:.2f} ms per iteration "
        f"({_fmt(CG_BYTES_PER_UNKNOWN * n / 1e6)} MB at {floor / 1e9:.1f} GB/s)."
    )


def cg_table(grids, floor, rtol, repeats, cheap) -> Table:
    table = Table(
        f"CG on the Dirichlet -Δ, random right-hand side, rtol {rtol:g} (recurrence residual)",
        ["cells", "unknowns", "method", "threads", "iterations", "solve s", "ms/iter",
         "x scipy", "x floor", "diff"],
    )  # fmt: skip
    for cells in grids:
        cg_rows(table, cells, floor, rtol, repeats, cheap)
    return table


# -- 4. variable coefficient -------------------------------------------------------------
def variable_table(cells, floor, repeats, cheap, contrast: float = 10.0) -> Table:
    """``Â`` of a smooth ``k`` with ``max k / min k = contrast``: kernel, numpy, CSR."""
    grid = Grid.box(list(cells))
    coords = grid.node_coordinates()
    a = math.log(contrast) / 2
    wave = np.ones(())
    for c in coords:
        wave = wave * np.sin(2 * np.pi * c)
    data = VariableDiffusion(grid, np.exp(a * wave))
    n = grid.size
    x = np.random.default_rng(4).standard_normal(n)
    y = np.empty(n)
    stencil = K.VariableStencil.from_diffusion(data, compiled=True)
    numpy_op = VariableOperator(data, symmetric=True)
    csr = data.operator(symmetric=True)
    kernel_bytes = (16 + 8 + 8 * grid.dimension) * n
    csr_bytes = 12 * csr.nnz + 4 * (n + 1) + 16 * n
    table = Table(
        f"Variable-coefficient Â (smooth k, contrast {contrast:g}), one product",
        ["cells", "unknowns", "method", "threads", "ms", "MB", "GB/s", "x floor"],
    )

    def row(name, threads, t, nbytes):
        table.add(
            label(cells), n, name, threads, 1e3 * t, nbytes / 1e6, nbytes / t / 1e9,
            t / (nbytes / floor),
        )  # fmt: skip

    for count in thread_counts():
        t = with_threads(count, lambda: timed(lambda: stencil.apply_dot(x, y), repeats, cheap))
        row("VariableStencil.apply_dot", count, t, kernel_bytes)
    t = timed(lambda: numpy_op.matvec_into(x, y), repeats, cheap)
    row("VariableOperator (numpy)", 1, t, kernel_bytes)
    t = timed(lambda: csr @ x, repeats, cheap)
    row("scipy CSR A @ x", 1, t, csr_bytes)
    ref = csr @ x
    err = np.max(np.abs(stencil.apply(x, y) - ref)) / np.max(np.abs(ref))
    table.notes.append(f"max |kernel - CSR| / max |CSR| = {err:.1e}.")
    return table


# -- 5. JIT cost -------------------------------------------------------------------------
_CHILD = """
import json, sys, time
t0 = time.perf_counter()
import numba
t_numba = time.perf_counter() - t0
import kronpde.kernels as K
seconds = K.compile_kernels()
print(json.dumps({"import numba": t_numba, **seconds}))
"""


def _child(cache_dir: str) -> dict[str, float]:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    done = subprocess.run(
        [sys.executable, "-c", _CHILD], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def jit_table() -> Table:
    """Compile times in a fresh cache, then load times from it, in two child processes."""
    with tempfile.TemporaryDirectory(prefix="kronpde-numba-") as cache:
        first = _child(cache)
        later = _child(cache)
    table = Table(
        "JIT cost per kernel (child processes, own NUMBA_CACHE_DIR)",
        ["kernel", "first compile s", "later process (cache) s"],
    )
    for name in first:
        table.add(name, first[name], later[name])
    kernels = [k for k in first if k != "import numba"]
    table.add("all kernels", sum(first[k] for k in kernels), sum(later[k] for k in kernels))
    return table


# -- threshold ---------------------------------------------------------------------------
_LOAD_CG = """
import json, time
import kronpde.kernels as K  # numba is not imported yet
t0 = time.perf_counter()
K.compile_kernels(["constant_apply", "update_xr", "new_direction", "dot"])
K.dot(K.np.zeros(1), K.np.zeros(1), compiled=True)  # starts the threading layer
print(json.dumps(time.perf_counter() - t0))
"""


def threshold_table(grids, rtol: float, repeats: int, cheap: float) -> Table:
    """NumPy against compiled CG iterations by size, and the one-off cost of loading numba."""
    K.compile_kernels()  # make sure the cache is filled, so the child measures a cache load
    done = subprocess.run(
        [sys.executable, "-c", _LOAD_CG], capture_output=True, text=True, check=True
    )
    load = json.loads(done.stdout.strip().splitlines()[-1])
    threads = numba.config.NUMBA_NUM_THREADS
    table = Table(
        f"NumPy or compiled: CG (rtol {rtol:g}, random b) by size; a process pays "
        f"{load:.2f} s once to import numba and load the CG kernels from the cache",
        ["cells", "unknowns", "iterations", "numpy ms/iter", "compiled 1 thread ms/iter",
         f"compiled {threads} threads ms/iter", f"saved per solve s ({threads} threads)",
         "saved / load"],
    )  # fmt: skip
    for cells in grids:
        grid, ops = dirichlet_ops(cells)
        b = np.random.default_rng(5).standard_normal(grid.size)
        per = {}
        its = 0
        for compiled, count in ((False, 1), (True, 1), (True, threads)):
            stencil = K.ConstantStencil(ops, compiled=compiled)
            box = {}

            def run(stencil=stencil, box=box, b=b):
                box["res"] = K.cg_fused(stencil, b, rtol=rtol)

            t = with_threads(count, lambda run=run: timed(run, repeats, cheap))
            its = box["res"].iterations
            per[compiled, count] = t / max(its, 1)
        saved = (per[False, 1] - per[True, threads]) * its
        table.add(
            label(cells), grid.size, its, 1e3 * per[False, 1], 1e3 * per[True, 1],
            1e3 * per[True, threads], saved, saved / load,
        )  # fmt: skip
    return table


# -- main --------------------------------------------------------------------------------
def environment() -> str:
    load = os.getloadavg()
    return (
        f"python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
        f"numba {numba.__version__} (threading layer {K.threading_layer()}, "
        f"{numba.config.NUMBA_NUM_THREADS} threads by default), {os.cpu_count()} CPUs, "
        f"BLAS threads {os.environ.get('OPENBLAS_NUM_THREADS')}; "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )


def parse_grid(text: str) -> tuple[int, ...]:
    return tuple(int(v) for v in text.lower().split("x"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one repeat")
    parser.add_argument("--threshold", action="store_true", help="the numpy/compiled crossover")
    parser.add_argument("--grids", nargs="+", type=parse_grid, help="cells, e.g. 64x64x64")
    parser.add_argument("--variable", type=parse_grid, help="cells of the variable-k table")
    parser.add_argument("--triad", type=int, help="entries of the triad arrays")
    parser.add_argument("--rtol", type=float, default=1e-8)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--cheap", type=float, default=2.0, help="one run only above (s)")
    parser.add_argument("--no-jit", action="store_true", help="skip the JIT-cost table")
    args = parser.parse_args(argv)
    if args.quick:
        grids = args.grids or [(16, 16, 16), (64, 64)]
        variable, triad_n, repeats = args.variable or (16, 16, 16), args.triad or 1 << 20, 1
    else:
        grids = args.grids or [(64, 64, 64), (128, 128, 128), (1024, 1024)]
        variable, triad_n, repeats = args.variable or (128, 128, 128), args.triad or 1 << 25, 5
    repeats = args.repeats if not args.quick else repeats
    K.compile_kernels()  # compile (or load) before anything is timed
    print(f"# bench_kernels\n\n{environment()}")
    if args.threshold:
        sizes = args.grids or (
            [(32, 32), (16, 16, 16), (64, 64)]
            if args.quick
            else [(64, 64), (32, 32, 32), (181, 181), (256, 256), (64, 64, 64), (512, 512)]
        )
        threshold_table(sizes, args.rtol, repeats, args.cheap).show()
        return 0
    triad, floor = triad_table(triad_n, repeats, args.cheap)
    triad.show()
    matvec_table(grids, floor, repeats, args.cheap).show()
    cg_table(grids, floor, args.rtol, repeats, args.cheap).show()
    variable_table(variable, floor, repeats, args.cheap).show()
    if not args.no_jit:
        jit_table().show()
    print(f"\nload average at the end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
