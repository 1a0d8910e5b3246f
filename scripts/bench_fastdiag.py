"""Benchmark kronpde.solvers.fastdiag.FastDiagSolver against its anchors, in the same process.

Three tables (markdown), random right-hand sides (seeded), warm-up first, medians:

1. **Prepared solve vs bare transforms** on Dirichlet grids (every axis DST-I):
   ``solver.solve(f)`` and ``solver.solve(f, out=u)`` against the bare round trip
   ``g = scipy.fft.dstn(f, type=1); scipy.fft.idstn(g, type=1, overwrite_x=True)`` with the
   same ``workers`` (the solver does the same two transforms, unscaled, with the scale
   folded into its ``1/Λ`` array, plus a copy of ``f`` and one multiply).  Contenders run
   interleaved, round after round, so that load from other processes on this shared
   machine hits them alike; the ratio column is the median of the per-round ratios.
2. **eigh path vs hand-written GEMMs** on grids with Robin faces on every side (so every
   axis takes the dense ``eigh`` path): the solver against an independent hand version
   (own ``scipy.linalg.eigh`` of the symmetrised operators, ``np.matmul`` on reshaped
   views into preallocated buffers).
3. **Cell-centred grids** (every axis the same pair of faces, ``centering="cell"``): the
   prepared solve against the bare ``scipy.fft`` round trip of the same type, measured as in
   table 1: DST-II / DST-III (``dstn``/``idstn`` type 2) for Dirichlet faces, DCT-II /
   DCT-III for Neumann faces, DST-IV / DCT-IV for the mixed pairs, ``rfftn``/``irfftn`` for
   periodic axes.
4. **Large grids** (256³, 512³ unknowns; Dirichlet = DST-I and periodic = FFT), each in its
   own subprocess so that ``ru_maxrss`` is that case's: set-up time, solve time, and peak
   memory (``tracemalloc`` peak of the numpy allocations from before ``f`` is drawn until
   after the solve, i.e. ``f`` + solver + result; and the process's ``ru_maxrss``).
4. **Fourth-order fast solve vs second-order** on the same grids (Dirichlet, Neumann and
   periodic faces): the solver's set-up (eigenpairs and the array it divides by: the sum
   of the ``λ_i`` at order 2, the compact scheme's combination at order 4) plus one solve
   with a random right-hand side, both orders interleaved; the ratio is order 4's time over
   order 2's (goal: at most 1.3).  The right-hand side's assembly, which order 4 makes
   costlier (``M f``, the corrections), is shown apart.
5. **Error reached per second** on a smooth 2-D problem with mixed faces: the whole
   pipeline a user pays (``Problem`` with its right-hand side, ``prepare``, ``solve``) and
   the max-norm error, at order 2 and order 4 on refined grids; for every order-4 grid, the
   time order 2 needs for the same error (log-log interpolation of its own rows, or the
   ``h²`` law beyond them) and the speed-up.

Usage::

    python scripts/bench_fastdiag.py                     # everything (a few minutes)
    python scripts/bench_fastdiag.py --quick             # every table at small sizes (smoke)
    python scripts/bench_fastdiag.py --no-large --repeats 5
    python scripts/bench_fastdiag.py --cells-only        # table 3 only
    python scripts/bench_fastdiag.py --large-only --large-sizes 256
    python scripts/bench_fastdiag.py --fourth-only       # tables 4 and 5
    python scripts/bench_fastdiag.py --quick             # every table on small grids (smoke)
"""

from __future__ import annotations

import argparse
import ctypes
import json
import math
import os
import resource
import subprocess
import sys
import time
import tracemalloc
from functools import partial

import numpy as np
import scipy
import scipy.fft
import scipy.linalg

from kronpde import Dirichlet, Grid, Neumann, Periodic, Problem, Robin
from kronpde.solvers import prepare
from kronpde.solvers.fastdiag import FastDiagSolver

SEED = 20261125
EIGH_SHAPES = [(127,) * 3, (96, 112, 128), (1023,) * 2]


def blas_count() -> int | None:
    """The OpenBLAS thread count as the library reports it (None if not found)."""
    try:
        with open("/proc/self/maps") as fh:
            paths = {line.split()[-1] for line in fh if "openblas" in line and ".so" in line}
        for path in paths:
            lib = ctypes.CDLL(path)
            for name in (
                "scipy_openblas_get_num_threads64_",
                "openblas_get_num_threads64_",
                "openblas_get_num_threads",
            ):
                if hasattr(lib, name):
                    return int(getattr(lib, name)())
    except OSError:
        pass
    return None


def blas_threads() -> str:
    """The OpenBLAS thread count and the environment that set it."""
    env = ", ".join(
        f"{v}={os.environ[v]}"
        for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")
        if v in os.environ
    )
    count = blas_count()
    text = f"OpenBLAS reports {count} threads" if count is not None else "BLAS threads unknown"
    return f"{text} ({env or 'no *_NUM_THREADS set'})"


def describe(solver: FastDiagSolver) -> str:
    pairs = sorted(set(zip(solver.axis_methods, solver.axis_kernels, strict=True)))
    return ", ".join(f"{m} ({'scipy.fft' if k == 'transform' else k})" for m, k in pairs)


def interleaved(fns: dict, repeats: int) -> dict[str, list[float]]:
    """Run every contender once per round (after one warm-up each); seconds per call."""
    for fn in fns.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return times


def ns_per_unknown(seconds: list[float], size: int) -> float:
    return 1e9 * float(np.median(seconds)) / size


def ratio(a: list[float], b: list[float]) -> float:
    return float(np.median(np.asarray(a) / np.asarray(b)))


def dirichlet_problem(shape: tuple[int, ...]) -> Problem:
    """Homogeneous Dirichlet box [0,1]^d with ``shape`` unknowns."""
    return Problem(Grid.box([n + 1 for n in shape]))


# --------------------------------------------------------------------------- table 1


def bare_round_trip(f: np.ndarray, workers: int) -> np.ndarray:
    """The anchor: DST-I forward and back, leaving ``f`` intact (one result allocated)."""
    g = scipy.fft.dstn(f, type=1, workers=workers)
    return scipy.fft.idstn(g, type=1, overwrite_x=True, workers=workers)


def table_transforms(shapes, workers_list, repeats: int) -> list[str]:
    rows = [
        "| unknowns | methods (kernel) | workers | setup ms | solve(f) ns/u | solve(f, out) ns/u "
        "| bare dstn+idstn ns/u | solve(f) / bare | solve(f, out) / bare |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    rng = np.random.default_rng(SEED)
    for shape in shapes:
        problem = dirichlet_problem(shape)
        f = rng.standard_normal(shape)
        out = np.empty(shape)
        for workers in workers_list:
            solver = FastDiagSolver.from_problem(problem, workers=workers)

            times = interleaved(
                {
                    "solve": partial(solver.solve, f),
                    "solve_out": partial(solver.solve, f, out=out),
                    "bare": partial(bare_round_trip, f, workers),
                },
                repeats,
            )
            n = f.size
            rows.append(
                f"| {'×'.join(map(str, shape))} | {describe(solver)} "
                f"| {workers} | {1e3 * solver.setup_seconds:.1f} "
                f"| {ns_per_unknown(times['solve'], n):.1f} "
                f"| {ns_per_unknown(times['solve_out'], n):.1f} "
                f"| {ns_per_unknown(times['bare'], n):.1f} "
                f"| {ratio(times['solve'], times['bare']):.2f} "
                f"| {ratio(times['solve_out'], times['bare']):.2f} |"
            )
            print(rows[-1], file=sys.stderr, flush=True)
    return rows


# --------------------------------------------------------------------------- table 4

#: The cell-centred closed forms: the faces of every axis and the bare transform pair.
CELL_KINDS = {
    "dst2": ((Dirichlet(), Dirichlet()), scipy.fft.dstn, scipy.fft.idstn, 2),
    "dct2": ((Neumann(), Neumann()), scipy.fft.dctn, scipy.fft.idctn, 2),
    "dst4": ((Dirichlet(), Neumann()), scipy.fft.dstn, scipy.fft.idstn, 4),
    "dct4": ((Neumann(), Dirichlet()), scipy.fft.dctn, scipy.fft.idctn, 4),
    "fft": ((Periodic(), Periodic()), None, None, None),
}


def cell_problem(shape: tuple[int, ...], kind: str) -> Problem:
    """A cell-centred box whose every axis takes the closed form ``kind``."""
    (lo, hi), *_ = CELL_KINDS[kind]
    boundary = {}
    for name in "xyz"[: len(shape)]:
        boundary[name + "min"], boundary[name + "max"] = lo, hi
    return Problem(Grid.box(list(shape), boundary=boundary, centering="cell"))


def bare_cell_round_trip(f: np.ndarray, kind: str, workers: int) -> np.ndarray:
    """The anchor: the same transform pair forward and back, ``f`` intact (one result)."""
    _, fwd, inv, typ = CELL_KINDS[kind]
    if fwd is None:
        g = scipy.fft.rfftn(f, workers=workers)
        return scipy.fft.irfftn(g, s=f.shape, overwrite_x=True, workers=workers)
    g = fwd(f, type=typ, workers=workers)
    return inv(g, type=typ, overwrite_x=True, workers=workers)


def table_cell_transforms(shapes, workers_list, repeats: int) -> list[str]:
    rows = [
        "| unknowns | methods (kernel) | workers | setup ms | solve(f) ns/u | solve(f, out) ns/u "
        "| bare round trip ns/u | solve(f) / bare | solve(f, out) / bare |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    rng = np.random.default_rng(SEED + 3)
    for shape in shapes:
        f = rng.standard_normal(shape)
        out = np.empty(shape)
        for kind in CELL_KINDS:
            problem = cell_problem(shape, kind)
            for workers in workers_list:
                solver = FastDiagSolver.from_problem(problem, workers=workers, kernels="transform")
                assert solver.axis_methods == (kind,) * len(shape), solver.axis_methods
                times = interleaved(
                    {
                        "solve": partial(solver.solve, f),
                        "solve_out": partial(solver.solve, f, out=out),
                        "bare": partial(bare_cell_round_trip, f, kind, workers),
                    },
                    repeats,
                )
                n = f.size
                rows.append(
                    f"| {'×'.join(map(str, shape))} | {describe(solver)} "
                    f"| {workers} | {1e3 * solver.setup_seconds:.1f} "
                    f"| {ns_per_unknown(times['solve'], n):.1f} "
                    f"| {ns_per_unknown(times['solve_out'], n):.1f} "
                    f"| {ns_per_unknown(times['bare'], n):.1f} "
                    f"| {ratio(times['solve'], times['bare']):.2f} "
                    f"| {ratio(times['solve_out'], times['bare']):.2f} |"
                )
                print(rows[-1], file=sys.stderr, flush=True)
    return rows


# --------------------------------------------------------------------------- table 2


class HandGemm:
    """Independent fast diagonalization with dense eigenvectors and plain ``np.matmul``."""

    def __init__(self, ops, shift: float):
        self.shape = tuple(op.n for op in ops)
        self.forward, self.backward = [], []
        total = np.full(self.shape, float(shift))
        for i, op in enumerate(ops):
            d = np.sqrt(op.weights)
            t = op.todense()
            ts = d[:, None] * t / d[None, :]
            lam, q = scipy.linalg.eigh(0.5 * (ts + ts.T))
            self.forward.append(np.ascontiguousarray(q.T * d[None, :]))
            self.backward.append(np.ascontiguousarray(q / d[:, None]))
            bshape = [1] * len(self.shape)
            bshape[i] = op.n
            total += lam.reshape(bshape)
        self.inv = 1.0 / total
        self.buf = [np.empty(self.shape), np.empty(self.shape)]

    @staticmethod
    def _apply(mat, x, axis, out):
        n = x.shape[axis]
        a = math.prod(x.shape[:axis])
        b = math.prod(x.shape[axis + 1 :])
        if a == 1:
            np.matmul(mat, x.reshape(n, b), out=out.reshape(n, b))
        elif b == 1:
            np.matmul(x.reshape(a, n), mat.T, out=out.reshape(a, n))
        else:
            np.matmul(mat, x.reshape(a, n, b), out=out.reshape(a, n, b))

    def solve(self, f):
        cur, k = f, 0
        for axis, mat in enumerate(self.forward):
            nxt = self.buf[k % 2]
            self._apply(mat, cur, axis, nxt)
            cur, k = nxt, k + 1
        cur *= self.inv
        for axis, mat in enumerate(self.backward):
            nxt = self.buf[k % 2]
            self._apply(mat, cur, axis, nxt)
            cur, k = nxt, k + 1
        return cur


def table_eigh(shapes, repeats: int) -> list[str]:
    rows = [
        "| unknowns | methods (kernel) | BLAS threads | setup ms | solve(f) ns/u "
        "| solve(f, out) ns/u | hand GEMM ns/u "
        "| solve(f) / hand | solve(f, out) / hand | max rel. diff |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    rng = np.random.default_rng(SEED + 1)
    for shape in shapes:
        grid = Grid.box([n - 1 for n in shape], default=Robin(1.0, 1.0))
        problem = Problem(grid, shift=0.5)
        assert grid.shape == tuple(shape)
        solver = FastDiagSolver.from_problem(problem)
        hand = HandGemm(problem.axis_operators, problem.shift)
        f = rng.standard_normal(shape)
        out = np.empty(shape)
        diff = np.abs(solver.solve(f) - hand.solve(f)).max() / np.abs(hand.solve(f)).max()
        times = interleaved(
            {
                "solve": partial(solver.solve, f),
                "solve_out": partial(solver.solve, f, out=out),
                "hand": partial(hand.solve, f),
            },
            repeats,
        )
        n = f.size
        rows.append(
            f"| {'×'.join(map(str, shape))} | {describe(solver)} | {blas_count()} "
            f"| {1e3 * solver.setup_seconds:.1f} "
            f"| {ns_per_unknown(times['solve'], n):.1f} "
            f"| {ns_per_unknown(times['solve_out'], n):.1f} "
            f"| {ns_per_unknown(times['hand'], n):.1f} "
            f"| {ratio(times['solve'], times['hand']):.2f} "
            f"| {ratio(times['solve_out'], times['hand']):.2f} | {diff:.1e} |"
        )
        print(rows[-1], file=sys.stderr, flush=True)
    return rows


# --------------------------------------------------------------------------- table 4


def large_case(n: int, kind: str, workers: int, repeats: int) -> dict:
    """One large 3-D case, meant to run in a fresh process (``--large-case``)."""
    tracemalloc.start()
    if kind.startswith("dirichlet"):
        grid = Grid.box([n + 1] * 3)
    else:
        grid = Grid.box([n] * 3, default=Periodic())
    problem = Problem(grid)
    kernels = "transform" if kind.endswith("-transform") else "auto"
    solver = FastDiagSolver.from_problem(problem, workers=workers, kernels=kernels)
    f = np.random.default_rng(SEED + 2).standard_normal(grid.shape)
    t0 = time.perf_counter()
    u = solver.solve(f)
    first = time.perf_counter() - t0
    times = []
    for _ in range(repeats):
        del u
        t0 = time.perf_counter()
        u = solver.solve(f)
        times.append(time.perf_counter() - t0)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    result = {
        "n": n,
        "kind": kind,
        "methods": describe(solver),
        "unknowns": solver.size,
        "setup_s": solver.setup_seconds,
        "first_s": first,
        "solve_s": float(np.median(times)) if times else first,
        "tracemalloc_peak_gb": peak / 1e9,
        "maxrss_gb": maxrss / 1e9,
        "relative_residual": None,
    }
    if n <= 256:  # the residual needs another array or two; skip it where memory is tight
        # singular (periodic, c = 0): the system solved has f minus its weighted mean
        b = f.reshape(-1) - (problem.weighted_mean(f) if solver.singular else 0.0)
        r = problem.linear_operator().matvec(u.reshape(-1))
        r -= b
        result["relative_residual"] = float(np.linalg.norm(r) / np.linalg.norm(b))
    return result


def table_large(sizes, kinds, workers: int, repeats: int) -> list[str]:
    rows = [
        "| unknowns | methods (kernel) | setup s | first solve s | solve s | ns/u "
        "| tracemalloc peak GB | maxrss GB | rel. residual |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for n in sizes:
        for kind in kinds:
            cmd = [
                sys.executable,
                os.path.abspath(__file__),
                "--large-case",
                str(n),
                kind,
                "--workers",
                str(workers),
                "--repeats",
                str(repeats),
            ]
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                rows.append(f"| {n}³ | {kind} | failed: {proc.stderr.strip()[-200:]} |")
                continue
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            res = r["relative_residual"]
            rows.append(
                f"| {n}³ | {r['methods']} | {r['setup_s']:.2f} | {r['first_s']:.2f} "
                f"| {r['solve_s']:.2f} | {1e9 * r['solve_s'] / r['unknowns']:.1f} "
                f"| {r['tracemalloc_peak_gb']:.2f} | {r['maxrss_gb']:.2f} "
                f"| {'-' if res is None else f'{res:.1e}'} |"
            )
            print(rows[-1], file=sys.stderr, flush=True)
    return rows


# --------------------------------------------------------------------------- table 4

#: Faces of the fourth-order comparison: DST-III/DCT-III along x, DCT-I along y, FFT along z.
FOURTH_FACES = {
    "xmin": Dirichlet(0.0),
    "xmax": Neumann(0.0),
    "ymin": Neumann(0.0),
    "ymax": Neumann(0.0),
    "zmin": Periodic(),
    "zmax": Periodic(),
}


def fourth_problem(cells, order: int) -> Problem:
    d = len(cells)
    faces = {k: v for k, v in FOURTH_FACES.items() if "xyz".index(k[0]) < d}
    return Problem(Grid.box(list(cells), boundary=faces), "sin(3*x)", shift=1.0, order=order)


def setup_and_solve(problem: Problem, f: np.ndarray, workers: int) -> None:
    solver = FastDiagSolver.from_problem(problem, workers=workers)
    solver.solve(f)


def table_fourth(cells_list, workers: int, repeats: int) -> list[str]:
    rows = [
        "| cells | unknowns | methods (kernel) | workers | order 2 setup+solve ms "
        "| order 4 setup+solve ms | order 4 / order 2 | order 2 setup ms | order 4 setup ms "
        "| b order 2 ms | b order 4 ms | max rel. diff to spsolve (order 4) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    rng = np.random.default_rng(SEED + 3)
    for cells in cells_list:
        p2, p4 = fourth_problem(cells, 2), fourth_problem(cells, 4)
        f = rng.standard_normal(p2.grid.shape)
        times = interleaved(
            {
                "o2": partial(setup_and_solve, p2, f, workers),
                "o4": partial(setup_and_solve, p4, f, workers),
                "s2": partial(FastDiagSolver.from_problem, p2, workers=workers),
                "s4": partial(FastDiagSolver.from_problem, p4, workers=workers),
                "b2": partial(p2._rhs, None),
                "b4": partial(p4._rhs, None),
            },
            repeats,
        )
        solver = FastDiagSolver.from_problem(p4, workers=workers)
        check = "-"
        if p4.size <= 70_000:  # an independent check of the order-4 solve: scipy's spsolve
            import scipy.sparse.linalg as sla

            ref = sla.spsolve(p4.operator().tocsc(), f.reshape(-1))
            check = f"{np.abs(solver.solve(f).reshape(-1) - ref).max() / np.abs(ref).max():.1e}"
        ms = {k: 1e3 * float(np.median(v)) for k, v in times.items()}
        rows.append(
            f"| {'×'.join(map(str, cells))} | {p2.size:,} | {describe(solver)} | {workers} "
            f"| {ms['o2']:.2f} | {ms['o4']:.2f} | {ratio(times['o4'], times['o2']):.2f} "
            f"| {ms['s2']:.2f} | {ms['s4']:.2f} | {ms['b2']:.2f} | {ms['b4']:.2f} | {check} |"
        )
        print(rows[-1], file=sys.stderr, flush=True)
    return rows


# --------------------------------------------------------------------------- table 5

SMOOTH_U = "cos(pi*x)*sin(2*y) + x**3*y"  # cases/poisson2d_order{2,4}.toml


def smooth_problem(m: int, order: int) -> Problem:
    """cases/poisson2d_order*.toml on ``m x 2m`` cells."""
    grid = Grid.box(
        [m, 2 * m],
        upper=[1.0, 2.0],
        boundary={
            "xmin": Dirichlet("sin(2*y)"),
            "xmax": Neumann("3*y"),
            "ymin": Neumann("-2*cos(pi*x) - x**3"),
            "ymax": Dirichlet("cos(pi*x)*sin(4) + 2*x**3"),
        },
    )
    return Problem(grid, "(pi**2 + 4)*cos(pi*x)*sin(2*y) - 6*x*y", order=order)


def pipeline(m: int, order: int, workers: int) -> tuple[float, float]:
    """Seconds of Problem + prepare + solve, and the max error over all nodes."""
    t0 = time.perf_counter()
    p = smooth_problem(m, order)
    u = prepare(p, "fastdiag", options={"workers": workers}).solve().u
    seconds = time.perf_counter() - t0
    x, y = np.meshgrid(*p.grid.nodes, indexing="ij")
    exact = np.cos(np.pi * x) * np.sin(2 * y) + x**3 * y
    return seconds, float(np.abs(u - exact).max())


def table_error_per_second(ms2, ms4, workers: int, repeats: int) -> list[str]:
    rows = [
        "| order | cells | unknowns | seconds | max error | order 2 for this error: s | speed-up |",
        "|---|---|---|---|---|---|---|",
    ]
    results = {2: [], 4: []}
    for order, ms in ((2, ms2), (4, ms4)):
        for m in ms:
            pipeline(m, order, workers)  # warm-up
            runs = [pipeline(m, order, workers) for _ in range(repeats)]
            results[order].append((m, float(np.median([t for t, _ in runs])), runs[0][1]))
    log_e2 = np.log([e for _, _, e in results[2]])
    log_t2 = np.log([t for _, t, _ in results[2]])
    for order in (2, 4):
        for m, t, e in results[order]:
            cell = speed = "-"
            if order == 4:
                if log_e2.min() <= math.log(e) <= log_e2.max():  # interpolate order 2's rows
                    need = math.exp(np.interp(-math.log(e), -log_e2, log_t2))
                    how = ""
                else:  # beyond them: error ~ h², time ~ N ~ h^-2 (fast solve), so t ~ 1/error
                    need = math.exp(log_t2[-1]) * math.exp(log_e2[-1]) / e
                    how = " (h² law)"
                cell, speed = f"{need:.3g}{how}", f"{need / t:.3g}"
            rows.append(
                f"| {order} | {m}×{2 * m} | {(m + 1) * (2 * m + 1):,} | {t:.4f} | {e:.2e} "
                f"| {cell} | {speed} |"
            )
    return rows


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=9, help="timed rounds (default 9)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--no-large", action="store_true", help="skip 256³ / 512³")
    parser.add_argument("--large-only", action="store_true", help="only 256³ / 512³")
    parser.add_argument("--large-sizes", type=int, nargs="+", default=[256, 512])
    parser.add_argument(
        "--large-kinds",
        nargs="+",
        default=["dirichlet", "dirichlet-transform", "periodic"],
        choices=["dirichlet", "dirichlet-transform", "periodic"],
        help="dirichlet-transform forces kernels='transform' (scipy.fft on every axis)",
    )
    parser.add_argument("--large-repeats", type=int, default=2)
    parser.add_argument(
        "--blas-threads",
        nargs="+",
        default=["1", "2"],
        help="OPENBLAS_NUM_THREADS of the eigh-table subprocesses ('default': as inherited)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: every table but the large grids at small sizes, 3 rounds",
    )
    parser.add_argument("--cells-only", action="store_true", help="only the cell-centred table")
    parser.add_argument(
        "--fourth-only", action="store_true", help="only tables 4 and 5 (the fourth order)"
    )
    parser.add_argument("--large-case", nargs=2, metavar=("N", "KIND"), help=argparse.SUPPRESS)
    parser.add_argument("--eigh-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    shapes = [(127,) * 3, (128,) * 3, (1023,) * 2, (1024,) * 2]
    cell_shapes = [(128,) * 3, (96, 112, 128), (1024,) * 2]
    eigh_shapes = EIGH_SHAPES
    if args.quick:
        args.repeats = min(args.repeats, 3)
        args.no_large = True
        args.blas_threads = ["default"]
        args.large_sizes = [32]
        args.large_repeats = 1
        shapes = [(31,) * 3, (128,) * 2]
        cell_shapes = [(32,) * 3, (128,) * 2]
        eigh_shapes = [(31,) * 3]

    if args.eigh_only:
        rows = table_eigh(eigh_shapes, args.repeats)
        print("\n".join(rows[2:]))
        return 0

    if args.large_case:
        n, kind = int(args.large_case[0]), args.large_case[1]
        print(json.dumps(large_case(n, kind, args.workers, args.repeats)))
        return 0

    print(f"numpy {np.__version__}, scipy {scipy.__version__}, os.cpu_count()={os.cpu_count()}")
    print(
        f"scipy.fft workers: {sorted({1, args.workers})} (solver default {os.cpu_count()}); "
        f"BLAS: {blas_threads()}"
    )
    print(
        f"timings: median of {args.repeats} interleaved rounds after a warm-up; "
        "ns/u = nanoseconds per unknown\n"
    )
    workers_list = sorted({1, args.workers})
    if args.cells_only:
        print("### Cell-centred grids: prepared solve vs the bare round trip of the same type\n")
        print("\n".join(table_cell_transforms(cell_shapes, workers_list, args.repeats)))
        return 0
    if not (args.large_only or args.fourth_only):
        print("### Prepared solve vs the bare DST-I round trip (Dirichlet grids)\n")
        print("\n".join(table_transforms(shapes, workers_list, args.repeats)))
        print("\n### Cell-centred grids: prepared solve vs the bare round trip of the same type\n")
        print("\n".join(table_cell_transforms(cell_shapes, workers_list, args.repeats)))
        print("\n### eigh path (Robin faces on every side) vs hand-written GEMMs\n")
        rows = table_eigh([], args.repeats)
        for threads in args.blas_threads:
            env = dict(os.environ)
            if threads != "default":
                env["OPENBLAS_NUM_THREADS"] = env["OMP_NUM_THREADS"] = threads
            cmd = [sys.executable, os.path.abspath(__file__), "--eigh-only"]
            cmd += ["--repeats", str(args.repeats)] + (["--quick"] if args.quick else [])
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
            if proc.returncode != 0:
                rows.append(f"| BLAS threads {threads}: failed: {proc.stderr.strip()[-300:]} |")
            else:
                rows.extend(proc.stdout.strip().splitlines())
        print("\n".join(rows))
    if not (args.no_large or args.fourth_only):
        print(f"\n### Large grids (workers={args.workers}; each in its own process)\n")
        rows = table_large(args.large_sizes, args.large_kinds, args.workers, args.large_repeats)
        print("\n".join(rows))
    if not args.large_only:
        print(
            f"\n### Fourth-order fast solve vs second-order, same grids "
            f"(workers={args.workers}; faces D/N, N/N, periodic)\n"
        )
        cells = [(256, 256), (1024, 1024), (1000, 1000), (64, 64, 64), (128, 128, 128)]
        if args.quick:
            cells = [(64, 64), (16, 16, 16)]
        print("\n".join(table_fourth(cells, args.workers, args.repeats)))
        print(
            f"\n### Error reached per second: {SMOOTH_U} (cases/poisson2d_order*.toml), "
            f"Problem + prepare + solve (fastdiag, workers={args.workers})\n"
        )
        ms2, ms4 = [16, 32, 64, 128, 256, 512, 1024], [8, 16, 32, 64, 128]
        if args.quick:
            ms2, ms4 = [16, 32, 64], [8, 16, 32]
        rows = table_error_per_second(ms2, ms4, args.workers, max(1, min(args.repeats, 5)))
        print("\n".join(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
