"""Benchmark the tridiagonal axis (partial fast diagonalisation) against full fast diagonalisation.

One thread (OMP/MKL/OpenBLAS/numba threads = 1, ``workers=1``), minimum of
interleaved repeats (the machine is shared: ratios, not times, are the
result).  Four tables:

1. ``--crossover``: an axis with dense eigenvectors (stretched) of ``n``
   points times a uniform axis, ``2^18`` unknowns in all: the full solve
   (GEMM along the stretched axis, a DST along the other) against the
   tridiagonal axis along the stretched one.  The smallest ``n`` where the
   tridiagonal solve is faster is
   :data:`kronpde.solvers.tridiagonal_axis.EIGH_TRIDIAGONAL_MIN_N`.
2. ``--memory``: the peak resident memory of a prepared in-place solve
   (``prepare(p).solve(b, out=b)``) of the Cartesian Dirichlet benchmark
   problems, each in its own subprocess: ``(VmHWM - RSS before b) / size of
   b``, with the prepared solver counted (its peak is reset with
   ``/proc/self/clear_refs`` after a warm-up solve).  Goal: at most 1.5.
3. ``--stretched``: one stretched axis at ``n³`` against the all-uniform grid,
   both by ``fastdiag`` (goal at 256³: at most 1.3).
4. ``--layered``: ``k = 1 + 0.5 sin(2 z)`` at ``n³`` solved exactly by
   ``fastdiag`` against the constant ``k`` (goal at 256³: at most 1.5).

Usage::

    python scripts/bench_tridiagonal.py --crossover
    python scripts/bench_tridiagonal.py --memory
    python scripts/bench_tridiagonal.py --stretched --layered --size 256
    python scripts/bench_tridiagonal.py --all --quick
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_name] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from kronpde import Axis, Grid, Problem, prepare  # noqa: E402
from kronpde.solvers.fastdiag import FastDiagSolver  # noqa: E402
from kronpde.solvers.tridiagonal_axis import (  # noqa: E402
    TridiagonalAxisSolver,
    kronecker_partial,
)


def best_of(solve, b: np.ndarray, repeats: int) -> float:
    """The minimum seconds of ``solve(x)`` on a fresh copy of ``b``."""
    x = b.copy()
    solve(x)
    best = float("inf")
    for _ in range(repeats):
        np.copyto(x, b)
        t0 = time.perf_counter()
        solve(x)
        best = min(best, time.perf_counter() - t0)
    return best


def stretched_axis(n: int) -> Axis:
    s = np.linspace(0.0, 1.0, n + 1)
    return Axis(n, coordinates=tuple(s + 0.1 * np.sin(np.pi * s) * s))


def crossover(repeats: int, total: int) -> None:
    print("\n| stretched n | other n | full (GEMM) ms | tridiagonal ms | tridiagonal / full |")
    print("| --- | --- | --- | --- | --- |")
    for n in (4, 8, 16, 32, 64, 128, 256, 512):
        m = max(total // n, 8)
        g = Grid([stretched_axis(n), Axis(m)])
        ops = tuple(Problem(g, 1.0).axis_operators)
        full = FastDiagSolver(ops, 0.0, axes=g.axes, workers=1)
        tri = TridiagonalAxisSolver(kronecker_partial(ops, g.axes, 0), workers=1, compiled=True)
        b = np.random.default_rng(0).standard_normal(g.shape)
        tf = tt = float("inf")
        for _ in range(3):
            tf = min(tf, best_of(lambda x, s=full: s.solve(x, out=x), b, repeats))
            tt = min(tt, best_of(lambda x, s=tri: s.solve(x, out=x), b, repeats))
        print(f"| {g.shape[0]} | {m} | {1e3 * tf:.2f} | {1e3 * tt:.2f} | {tt / tf:.2f} |")


_MEMORY_CHILD = r"""
import os, sys, json
for k in ("OMP_NUM_THREADS","MKL_NUM_THREADS","OPENBLAS_NUM_THREADS","NUMBA_NUM_THREADS"):
    os.environ[k] = "1"
import numpy as np
from kronpde import Grid, Problem, prepare
def rss(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) * 1024
n, d, route = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
small = Problem(Grid.box([64] * d), source=1.0)          # load every kernel first
s = prepare(small, method="fastdiag", options={"workers": 1})
x = np.ones(small.grid.shape); s.solve(x, out=x, check=False)
p = Problem(Grid.box([n] * d), source=1.0)
before = rss("VmRSS")
b = np.ones(p.grid.shape)
if route == "full":
    from kronpde.solvers.fastdiag import FastDiagSolver
    solver = FastDiagSolver.from_problem(p, workers=1)
    run = lambda: solver.solve(b, out=b)
else:
    s = prepare(p, method="fastdiag", options={"workers": 1})
    run = lambda: s.solve(b, out=b, check=False)
run()
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")
run()
peak = rss("VmHWM")
print(json.dumps({"ratio": (peak - before) / b.nbytes, "mb": b.nbytes / 2**20}))
"""


def memory(sizes: list[tuple[int, int]]) -> None:
    print("\n| grid | array MB | peak / array: prepared fastdiag | full fast diagonalisation |")
    print("| --- | --- | --- | --- |")
    for n, d in sizes:
        out = {}
        for route in ("prepared", "full"):
            proc = subprocess.run(
                [sys.executable, "-c", _MEMORY_CHILD, str(n), str(d), route],
                capture_output=True,
                text=True,
                check=True,
            )
            out[route] = json.loads(proc.stdout.strip().splitlines()[-1])
        mb = out["prepared"]["mb"]
        print(
            f"| {n}^{d} cells | {mb:.0f} | {out['prepared']['ratio']:.2f} "
            f"| {out['full']['ratio']:.2f} |"
        )


def compare(kind: str, n: int, repeats: int) -> None:
    """Table 3 or 4: the variant over the all-uniform constant-k solve of the same grid."""
    base = Problem(Grid.box([n] * 3), source=1.0)
    if kind == "stretched":
        g = Grid([Axis(n), Axis(n), stretched_axis(n)])
        other = Problem(g, source=1.0)
        what = "one stretched axis"
    else:
        other = Problem(Grid.box([n] * 3), source=1.0, coefficient="1 + 0.5*sin(2*z)")
        what = "layered k(z)"
    sb = prepare(base, method="fastdiag", options={"workers": 1})
    so = prepare(other, method="fastdiag", options={"workers": 1})
    b = np.random.default_rng(1).standard_normal(base.grid.shape)
    tb = to = float("inf")
    for _ in range(3):
        tb = min(tb, best_of(lambda x: sb.solve(x, out=x, check=False), b, repeats))
        to = min(to, best_of(lambda x: so.solve(x, out=x, check=False), b, repeats))
    methods = so.solve(b, check=False).report.options.get("axis_methods")
    print(f"\n| {n}^3 | uniform ms | {what} ms | ratio | {what}: axis methods |")
    print("| --- | --- | --- | --- | --- |")
    print(f"| {n}^3 | {1e3 * tb:.0f} | {1e3 * to:.0f} | {to / tb:.2f} | {methods} |")


def main(argv: list[str] | None = None) -> int:
    """Run the tables asked for."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--crossover", action="store_true")
    ap.add_argument("--memory", action="store_true")
    ap.add_argument("--stretched", action="store_true")
    ap.add_argument("--layered", action="store_true")
    ap.add_argument("--all", action="store_true")
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke)")
    ap.add_argument("--size", type=int, default=256, help="n of the n^3 tables 3 and 4")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    every = args.all or not (args.crossover or args.memory or args.stretched or args.layered)
    size = 32 if args.quick else args.size
    if every or args.crossover:
        crossover(args.repeats, 1 << (14 if args.quick else 18))
    if every or args.memory:
        sizes = [(256, 2), (32, 3)] if args.quick else [(1024, 2), (2048, 2), (128, 3), (256, 3)]
        memory(sizes)
    if every or args.stretched:
        compare("stretched", size, args.repeats)
    if every or args.layered:
        compare("layered", size, args.repeats)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
