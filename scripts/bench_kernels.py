"""Benchmark of the compiled kernels (``kronpde.operators.kernels``): memory floor, anchors.

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
   unknowns): :class:`~kronpde.operators.kernels.ConstantStencil` ``apply`` and
   ``apply_dot`` (1 and 2 threads), today's NumPy matrix-free
   :class:`~kronpde.operators.kronsum.KronSumOperator` (``matvec_into``) and scipy's CSR
   ``A @ x``.  *bytes* is the traffic each must move at least (stencils:
   read ``x``, write ``y``; CSR: values, column indices, row pointers, ``x``,
   ``y``), *GB/s* the implied bandwidth, *x floor* the time over bytes/floor.
3. **CG iteration** with a random right-hand side to ``rtol`` (default 1e-8):
   the package's ``"cg"`` method (``prepare(problem, "cg").solve(b)``: the
   kernels, the true unsymmetrised residual as stopping rule, the certified
   bound at the end), :func:`kronpde.solvers.cg.cg` on the (now compiled)
   :class:`~kronpde.operators.kronsum.KronSumOperator`, the same with the kernels
   switched off (the NumPy path: what main ran before), the bare
   :func:`fused_cg.cg_fused` loop (``scripts/fused_cg.py``), and ``scipy.sparse.linalg.cg`` on
   CSR (recurrence residual).  Time per iteration = time of the solve /
   iterations.  The floor of one CG iteration is 88 bytes per unknown
   (matvec: read p, write Ap; update: read x, p, r, Ap, write x, r; new
   direction: read r, p, write p).  *diff* is ``||x - x_scipy|| / ||x_scipy||``.
4. **Variable coefficient** ``Â`` (smooth ``k``, Dirichlet) on ``128³``
   cells: :class:`~kronpde.operators.kernels.VariableStencil` against
   :class:`~kronpde.operators.flux.VariableOperator` and CSR; 48 bytes per unknown
   (x, y, diagonal, three edge arrays).
5. **fastdiag-cg iteration** against one fast solve of its preconditioner
   (smooth ``k`` of contrast 10, Dirichlet, ``128³`` cells): the iteration is
   the fast solve plus the compiled matvec and vector work.
6. **Prepared fastdiag solve** (``solve(b, out=u, check=False)``) against
   the bare ``scipy.fft`` round trip of the same transforms (the same
   ``1/Λ`` array, the same ``workers``) on ``256²`` Neumann cells (257²
   nodes, DCT-I) and ``128³`` Dirichlet cells (DST-I), and the default
   checked solve (residual, certified bound, nodal field).  The two timed
   calls alternate, so both see the same load.
7. **JIT cost** per kernel: the first compilation in a fresh numba cache and
   the load from that cache in a later process (each in a child process with
   its own ``NUMBA_CACHE_DIR``), and ``import numba``.
8. **The command line, first and later runs**: ``kronpde solve`` of a small
   example case (``cases/poisson3d_dirichlet.toml``, never compiled) and of
   the same case on ``64³`` cells with ``method = "cg"`` (compiled), each in
   a fresh process with an empty ``NUMBA_CACHE_DIR`` (a fresh installation)
   and then three more with that cache (later runs, median); with
   ``--baseline-python`` the same with another installation's interpreter
   (e.g. today's main) for comparison.
9. **Threads**: the package's ``cg`` per iteration with 1 and 2 numba
   threads under kronpde's default (``OMP_WAIT_POLICY=PASSIVE``), OpenMP's
   spinning (``ACTIVE``), libgomp's own default, a short spin
   (``GOMP_SPINCOUNT``) and numba's ``workqueue`` layer, each in a child
   process, with the load average before it.

``--threshold`` prints instead the table behind
:data:`kronpde.operators.kernels.MIN_COMPILED_SIZE`: per grid size the iteration of
:func:`kronpde.solvers.cg.cg` on the package's operator, on the NumPy path
and compiled (the threshold moved out of the way either side), the CG
iterations of a random right-hand side, and the saving per solve against the
one-off cost of a process that loads numba and the CG kernels from the cache.

BLAS runs single-threaded (``OMP_NUM_THREADS``/``OPENBLAS_NUM_THREADS`` set to
1 before numpy loads; numba's own thread count is not affected by them).

Usage::

    python scripts/bench_kernels.py              # the full tables
    python scripts/bench_kernels.py --quick      # small sizes, one repeat (smoke test)
    python scripts/bench_kernels.py --threshold  # the numpy/compiled crossover
    python scripts/bench_kernels.py --baseline-python ../main/.venv/bin/python
"""

from __future__ import annotations

import os
import pathlib

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
import scipy.fft  # noqa: E402
import scipy.sparse.linalg as spla  # noqa: E402
from fused_cg import cg_fused  # noqa: E402  (scripts/, on sys.path for a script)

import kronpde.operators.kernels as K  # noqa: E402
import kronpde.operators.kernels._dispatch as dispatch  # noqa: E402
from kronpde import Grid, Neumann, Problem, prepare  # noqa: E402
from kronpde.operators.flux import VariableDiffusion, VariableOperator  # noqa: E402
from kronpde.operators.kronsum import KronSumOperator, assemble  # noqa: E402
from kronpde.operators.stencils import second_difference  # noqa: E402
from kronpde.solvers.cg import cg as kronpde_cg  # noqa: E402

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


def timed_pair(
    first: Callable[[], object], second: Callable[[], object], repeats: int
) -> tuple[float, float]:
    """Median wall times of two calls measured alternately (after one warm-up call each)."""
    first()
    second()
    a, b = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        first()
        a.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        second()
        b.append(time.perf_counter() - t0)
    return statistics.median(a), statistics.median(b)


class numpy_path:
    """Within the block the kernels' threshold is out of reach: NumPy everywhere (main's path)."""

    def __enter__(self):
        self.before = dispatch.MIN_COMPILED_SIZE
        dispatch.MIN_COMPILED_SIZE = 1 << 62

    def __exit__(self, *exc):
        dispatch.MIN_COMPILED_SIZE = self.before


class compiled_path(numpy_path):
    """Within the block every size is above the kernels' threshold: compiled everywhere."""

    def __enter__(self):
        self.before = dispatch.MIN_COMPILED_SIZE
        dispatch.MIN_COMPILED_SIZE = 1


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
    with numpy_path():  # the NumPy banded apply (above the threshold it takes the stencil)
        numpy_op = KronSumOperator(ops)
    assert not numpy_op.compiled
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
    """Rows of the CG table for one grid: the package's method, cg(), cg_fused, NumPy, scipy."""
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
    # the package's method: Â = A here (uniform Dirichlet weights), b scaled by the constant D
    problem = Problem(grid)
    prepared = prepare(problem, "cg")
    operator = KronSumOperator(ops)
    path = "kernels" if K.use_compiled(n) else "NumPy: below the threshold"
    for count in thread_counts():

        def run_method():
            out["method"] = prepared.solve(b, rtol=rtol)

        t = with_threads(count, lambda: timed(run_method, repeats, cheap))
        sol = out["method"]
        diff = np.linalg.norm(sol.x - x_scipy) / np.linalg.norm(x_scipy)
        rows.append((f"'cg' method, prepare/solve ({path})", count, sol.report.iterations, t, diff))

        def run_cg():
            out["cg"] = kronpde_cg(operator, b, rtol=rtol, atol=0.0)

        t = with_threads(count, lambda: timed(run_cg, repeats, cheap))
        res = out["cg"]
        diff = np.linalg.norm(res.x - x_scipy) / np.linalg.norm(x_scipy)
        rows.append((f"cg() on KronSumOperator ({path})", count, res.iterations, t, diff))

        def run_fused():
            out["fused"] = cg_fused(stencil, b, rtol=rtol)

        t = with_threads(count, lambda: timed(run_fused, repeats, cheap))
        res = out["fused"]
        diff = np.linalg.norm(res.x - x_scipy) / np.linalg.norm(x_scipy)
        rows.append(("cg_fused (bare loop)", count, res.iterations, t, diff))
    with numpy_path():
        numpy_op = KronSumOperator(ops)
        assert not numpy_op.compiled

        def run_numpy():
            out["numpy"] = kronpde_cg(numpy_op, b, rtol=rtol, atol=0.0)

        t = timed(run_numpy, repeats, cheap)
    res = out["numpy"]
    diff = np.linalg.norm(res.x - x_scipy) / np.linalg.norm(x_scipy)
    rows.append(("cg(), NumPy path (main before)", 1, res.iterations, t, diff))
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
        f"CG on the Dirichlet -Δ, random right-hand side, rtol {rtol:g} (scipy, cg_fused: "
        "recurrence residual; kronpde: the true residual)",
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
    with numpy_path():
        numpy_op = VariableOperator(data, symmetric=True)
    assert not numpy_op.compiled
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


# -- 5. fastdiag-cg ----------------------------------------------------------------------
def smooth_k(contrast: float):
    """``k = exp(a prod_i sin(2π x_i))`` with ``max k / min k = contrast``."""
    a = math.log(contrast) / 2

    def k(*x):
        wave = 1.0
        for c in x:
            wave = wave * np.sin(2 * np.pi * c)
        return np.exp(a * wave)

    return k


def _fastdiag_cg_times(prepared, fast, b, z, rtol, repeats) -> tuple[float, float, float, int]:
    """Median seconds per fastdiag-cg iteration (whole solve / iterations, and marginal) and
    per fast solve, measured alternately.

    The marginal cost is ``(t(its) - t(its // 4)) / (its - its // 4)`` for two solves stopped
    by ``maxiter`` (rtol 1e-300 so that neither converges, ``check=False``): it leaves out
    what a solve pays once (the first residual and preconditioner apply, the final true
    residual, the report), which the whole-solve figure spreads over few iterations.
    """
    prepared.solve(b, rtol=rtol)  # warm-up
    u = np.empty_like(b)
    per, marginal, single = [], [], []
    its = 0
    for _ in range(max(repeats, 1)):
        t0 = time.perf_counter()
        its = prepared.solve(b, rtol=rtol).report.iterations
        per.append((time.perf_counter() - t0) / max(its, 1))
        short = max(its // 4, 1)
        if its > short:
            ends = []
            for count in (short, its):
                t0 = time.perf_counter()
                prepared.solve(b, rtol=1e-300, maxiter=count, check=False, out=u)
                ends.append(time.perf_counter() - t0)
            marginal.append((ends[1] - ends[0]) / (its - short))
        for _ in range(3):
            t0 = time.perf_counter()
            fast.solve(b, out=z)
            single.append(time.perf_counter() - t0)
    step = statistics.median(marginal) if marginal else math.nan
    return statistics.median(per), step, statistics.median(single), its


def fastdiag_cg_table(cells, rtol: float, repeats: int, contrast: float = 10.0):
    """One fastdiag-cg iteration against one fast solve of its preconditioner."""
    grid = Grid.box(list(cells))
    problem = Problem(grid, coefficient=smooth_k(contrast))
    prepared = prepare(problem, "fastdiag-cg")
    fast = prepared.backend.solver
    b = np.random.default_rng(6).standard_normal(grid.size)
    z = np.empty(grid.size)
    table = Table(
        f"fastdiag-cg on {label(cells)} cells, smooth k of contrast {contrast:g}, random b, "
        f"rtol {rtol:g}; scipy.fft workers {fast.workers}",
        ["threads", "iterations", "solve s", "ms/iter (solve / its)", "marginal ms/iter",
         "one fast solve ms", "x fast solve (solve / its)", "x fast solve (marginal)"],
    )  # fmt: skip
    for count in thread_counts():
        per_iteration, step, fast_solve, its = with_threads(
            count, lambda: _fastdiag_cg_times(prepared, fast, b, z, rtol, repeats)
        )
        table.add(count, its, per_iteration * its, 1e3 * per_iteration, 1e3 * step,
                  1e3 * fast_solve, per_iteration / fast_solve, step / fast_solve)  # fmt: skip
    table.notes.append(
        "An iteration: the preconditioner (one fast solve), the compiled matvec with p·Ap, "
        "the fused update and the new direction. 'solve / its' also spreads over the "
        "iterations what the solve pays once (first residual and preconditioner apply, the "
        "final true residual, the certified bound, the report); 'marginal' is the cost of "
        "one more iteration, from two solves stopped by maxiter (see _fastdiag_cg_times)."
    )
    return table


# -- 6. the prepared fastdiag solve ------------------------------------------------------
def _prepared_fastdiag_row(table: Table, cells, neumann: bool, workers: int, repeats: int) -> None:
    """One row: the bare round trip, the lean prepared solve and the checked one, alternating."""
    grid = Grid.box(list(cells), boundary=Neumann() if neumann else None)
    problem = Problem(grid, source=1.0)
    b = np.random.default_rng(7).standard_normal(grid.shape)
    u = np.empty(grid.shape)
    kind = "dct1" if neumann else "dst1"
    forward = scipy.fft.dctn if neumann else scipy.fft.dstn
    inverse = scipy.fft.idctn if neumann else scipy.fft.idstn
    prepared = prepare(problem, "fastdiag", options={"workers": workers})
    fd = prepared.backend
    assert fd.axis_methods == (kind,) * len(cells)
    inv = fd._inv  # 1/(Λ + c) with the round trip's scale folded in: both transforms unscaled

    def bare():
        t = forward(b, type=1, workers=workers)
        t *= inv
        return inverse(t, type=1, norm="forward", overwrite_x=True, workers=workers)

    t_bare, t_lean = timed_pair(bare, lambda: prepared.solve(b, out=u, check=False), repeats)
    t_bare2, t_checked = timed_pair(bare, lambda: prepared.solve(b), max(3, repeats // 4))
    table.add(
        label(cells), grid.size, kind, workers, 1e3 * t_bare, 1e3 * t_lean, t_lean / t_bare,
        1e3 * t_checked, t_checked / t_bare2,
    )  # fmt: skip
    prepared.solve(b, out=u, check=False)
    ref = bare()
    err = np.max(np.abs(u - ref)) / np.max(np.abs(ref))
    table.notes.append(
        f"{label(cells)}, {workers} workers: max |u - bare| / max |bare| = {err:.1e}."
    )


def prepared_fastdiag_table(cases, repeats: int) -> Table:
    """``solve(b, out=u, check=False)`` against the bare scipy.fft round trip it wraps."""
    table = Table(
        "Prepared fastdiag solve against the bare scipy.fft round trip (same transforms, same "
        "1/Λ array, same workers; alternating calls)",
        ["cells", "unknowns", "transform", "workers", "bare ms", "out=, check=False ms",
         "x bare", "checked solve ms", "x bare"],
    )  # fmt: skip
    for cells, neumann in cases:
        for workers in sorted({1, os.cpu_count() or 1}):
            _prepared_fastdiag_row(table, cells, neumann, workers, repeats)
    return table


# -- 7. JIT cost -------------------------------------------------------------------------
_CHILD = """
import json, sys, time
t0 = time.perf_counter()
import numba
t_numba = time.perf_counter() - t0
import kronpde.operators.kernels as K
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


# -- 8. the command line: first and later runs --------------------------------------------
BIG_CASE = """
[grid]
cells = [64, 64, 64]

[equation]
source = "-exp(x - y)*sin(z + 1)"

[boundary]
default = { type = "dirichlet", value = "exp(x - y)*sin(z + 1)" }

[solver]
method = "cg"
rtol = 1e-8

[output]
file = "big{suffix}"
"""


def _cli_seconds(
    python: str, case: pathlib.Path, cache: str, folder: str, suffix: str = ".vti"
) -> float:
    """Wall time of one ``kronpde solve CASE -q`` in a new process with NUMBA_CACHE_DIR=cache."""
    env = dict(os.environ, NUMBA_CACHE_DIR=cache)
    command = [python, "-m", "kronpde.app.cli", "solve", str(case), "-q", "-o", "out" + suffix]
    t0 = time.perf_counter()
    subprocess.run(command, env=env, cwd=folder, check=True, capture_output=True)
    return time.perf_counter() - t0


def cli_table(pythons: dict[str, str], later: int = 3, suffix: str = ".vti") -> Table:
    """The first ``kronpde solve`` with an empty numba cache, and the later ones, per install.

    ``suffix`` is the output format of every run (``.vtu`` to compare with an installation
    older than the structured writers).
    """
    root = pathlib.Path(__file__).resolve().parents[1]
    table = Table(
        f"kronpde solve: the first run with an empty numba cache, then the median of {later} "
        "later runs (each a new process)",
        ["case", "unknowns", "installation", "output", "first s", "later s"],
    )
    with tempfile.TemporaryDirectory(prefix="kronpde-cli-") as folder:
        big = pathlib.Path(folder) / "poisson3d_64_cg.toml"
        big.write_text(BIG_CASE.replace("{suffix}", suffix))
        # the example case with its output in the format of every run (an older installation
        # refuses a format it does not know even where -o replaces it)
        small = pathlib.Path(folder) / "poisson3d_dirichlet.toml"
        text = (root / "cases" / "poisson3d_dirichlet.toml").read_text()
        small.write_text(text.replace('.vti"', suffix + '"'))
        cases = [
            (small, "15³ (amg-cg)"),
            (big, "63³ (cg)"),
        ]
        for case, size in cases:
            caches = {name: tempfile.mkdtemp(prefix="numba-", dir=folder) for name in pythons}
            first = {
                name: _cli_seconds(python, case, caches[name], folder, suffix)
                for name, python in pythons.items()
            }
            # the later runs alternate between the installations, round by round, so that
            # the machine's load drifts over all of them alike
            times: dict[str, list[float]] = {name: [] for name in pythons}
            for _ in range(later):
                for name, python in pythons.items():
                    times[name].append(_cli_seconds(python, case, caches[name], folder, suffix))
            for name in pythons:
                later_s = statistics.median(times[name])
                table.add(case.name, size, name, suffix, first[name], later_s)
    table.notes.append(
        "An empty NUMBA_CACHE_DIR is what a fresh installation has (numba then compiles the "
        "kernels a run needs, and only a run that needs them); the Python bytecode of both "
        "installations was already compiled."
    )
    return table


# -- 9. threads on a shared machine -------------------------------------------------------
_THREADS_CHILD = """
import json, sys, time
import numpy as np
import kronpde.operators.kernels as K
from kronpde import Grid, Problem, prepare
cells = json.loads(sys.argv[1])
s = prepare(Problem(Grid.box(cells)), "cg")
b = np.random.default_rng(8).standard_normal(s.problem.size)
out = {"layer": K.threading_layer()}
for count in (1, 2):
    K.set_threads(count)
    s.solve(b)  # warm-up
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        its = s.solve(b).report.iterations
        times.append((time.perf_counter() - t0) / its)
    out[count] = sorted(times)[1]
print(json.dumps(out))
"""

THREAD_SETTINGS = {
    "default (OMP_WAIT_POLICY=PASSIVE set by kronpde)": {},
    "OMP_WAIT_POLICY=ACTIVE (OpenMP's spinning)": {"OMP_WAIT_POLICY": "ACTIVE"},
    # an empty value is "set" for kronpde and ignored by libgomp: its own default spin count
    "libgomp's default (OMP_WAIT_POLICY empty)": {"OMP_WAIT_POLICY": ""},
    "GOMP_SPINCOUNT=10000 (a short spin)": {"OMP_WAIT_POLICY": "", "GOMP_SPINCOUNT": "10000"},
    "NUMBA_THREADING_LAYER=workqueue": {"NUMBA_THREADING_LAYER": "workqueue"},
}


def threads_table(cells) -> Table:
    """CG per iteration with 1 and 2 threads under each threading setting (child processes)."""
    table = Table(
        f"Threads: the package's cg on {label(cells)} cells, ms per iteration (median of 3, "
        "each setting in its own process)",
        ["setting", "layer", "1 thread", "2 threads", "load before"],
    )
    for name, extra in THREAD_SETTINGS.items():
        env = {
            k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")
        }
        env.update(extra)
        load = os.getloadavg()[0]
        done = subprocess.run(
            [sys.executable, "-c", _THREADS_CHILD, json.dumps(list(cells))],
            env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        got = json.loads(done.stdout.strip().splitlines()[-1])
        table.add(name, got["layer"], 1e3 * got["1"], 1e3 * got["2"], f"{load:.2f}")
    return table


# -- threshold ---------------------------------------------------------------------------
_LOAD_CG = """
import json, time
import numpy as np
import kronpde.operators.kernels as K  # numba is not imported yet
t0 = time.perf_counter()
K.compile_kernels(["constant_apply", "update_xr", "new_direction", "dot"])
K.dot(np.zeros(1), np.zeros(1), compiled=True)  # starts the threading layer
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
            with numpy_path() if not compiled else compiled_path():
                operator = KronSumOperator(ops)  # the package's operator, either way
                box = {}

                def run(operator=operator, box=box, b=b):
                    box["res"] = kronpde_cg(operator, b, rtol=rtol, atol=0.0)

                t = with_threads(count, lambda run=run: timed(run, repeats, cheap))
            assert operator.compiled is compiled
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


#: The tables ``--tables`` chooses from (the triad, the floor of the others, always runs).
TABLES = ("matvec", "cg", "variable", "fastdiag-cg", "prepared", "jit", "cli", "threads")


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
    parser.add_argument("--no-jit", action="store_true", help="skip the JIT-cost tables")
    parser.add_argument(
        "--tables",
        help=f"a comma-separated subset of the tables: {','.join(TABLES)} (default all)",
    )
    parser.add_argument(
        "--baseline-python",
        help="the interpreter of another installation (e.g. today's main) for the CLI table",
    )
    parser.add_argument(
        "--cli-output",
        default=".vti",
        help="the output format of the CLI table's runs (.vtu for an installation without .vti)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        grids = args.grids or [(16, 16, 16), (64, 64)]
        variable, triad_n, repeats = args.variable or (16, 16, 16), args.triad or 1 << 20, 1
        fastdiag_cases = [((32, 32), True), ((16, 16, 16), False)]
    else:
        grids = args.grids or [(64, 64, 64), (128, 128, 128), (1024, 1024)]
        variable, triad_n, repeats = args.variable or (128, 128, 128), args.triad or 1 << 25, 5
        fastdiag_cases = [((256, 256), True), ((128, 128, 128), False)]
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
    wanted = set(TABLES if args.tables is None else args.tables.split(","))
    if wanted - set(TABLES):
        parser.error(f"unknown tables {sorted(wanted - set(TABLES))}; the tables are {TABLES}")
    if args.no_jit:
        wanted -= {"jit", "cli"}
    triad, floor = triad_table(triad_n, repeats, args.cheap)  # the floor of the others
    triad.show()
    if "matvec" in wanted:
        matvec_table(grids, floor, repeats, args.cheap).show()
    if "cg" in wanted:
        cg_table(grids, floor, args.rtol, repeats, args.cheap).show()
    if "variable" in wanted:
        variable_table(variable, floor, repeats, args.cheap).show()
    if "fastdiag-cg" in wanted:
        fastdiag_cg_table(variable, args.rtol, min(repeats, 3)).show()
    if "prepared" in wanted:
        prepared_fastdiag_table(fastdiag_cases, 7 if args.quick else 41).show()
    if "jit" in wanted:
        jit_table().show()
    if "cli" in wanted:
        pythons = {"this one": sys.executable}
        if args.baseline_python:
            pythons["baseline"] = args.baseline_python
        cli_table(pythons, later=1 if args.quick else 7, suffix=args.cli_output).show()
    if "threads" in wanted:
        threads_table((32, 32, 32) if args.quick else (64, 64, 64)).show()
    print(f"\nload average at the end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
