"""Benchmark of the distributed exact solve (kronpde.solvers.pencil) against serial fastdiag.

Problem: ``-Δu = f`` on the unit cube with homogeneous Dirichlet faces, ``m``
cells per axis (``(m - 1)³`` unknowns; ``m = 256`` and ``384`` by default), a
seeded random right-hand side, the solve into a given ``out=`` (prepared once,
solved many times).

Rows, one process or ``mpirun -n P`` job each, all started by one run of this
script:

* ``serial fastdiag`` (the anchor): :class:`kronpde.solvers.fastdiag.FastDiagSolver`
  with ``workers`` threads of ``scipy.fft`` (default 2), in a process of its own;
* ``pencil``: :class:`kronpde.solvers.pencil.PencilFastDiag` on ``P`` ranks (1 and
  2 by default), each rank generating and holding only its own block of ``b``
  and ``u``; one rank runs ``workers`` threads, more ranks one thread each.

Each configuration runs ``--rounds`` times, the configurations interleaved.
Columns: the median and the best time of a solve over the rounds (each run
``--repeats`` solves after one warm-up; under MPI the slowest rank's, between
barriers), their ratios to the anchor's, the share of the best solve spent in
the all-to-all transposes (the largest rank's), and the peak
resident memory (``ru_maxrss``, read before the check below) of the largest
rank with its ratio to the anchor process's.  A last solve of one eigenvector
(a product of sines, whose solution is ``b / λ``) checks every run's answer;
its relative error is printed under the table.  The problems are built with
``check=False``: a checked :class:`~kronpde.Problem` evaluates ``f`` on every
unknown, a whole-grid array on each rank.  BLAS threads are 1; Open MPI ranks
wait by yielding their core (``mpi_yield_when_idle``), as the test suite runs
them.  On a machine that other work shares the times are noisy: run it twice.

With ``--cli`` the rows are whole command-line runs of one case file (the
Dirichlet box with ``[exact]``, no output file) instead: ``kronpde solve CASE
--method fastdiag`` (the anchor: serial ``fastdiag`` runs as many ``scipy.fft``
threads as the machine has cores, two here) against ``mpirun -n P kronpde solve
CASE --backend petsc --method fastdiag`` (one rank: as many threads; more: one
thread per rank).  Columns: the wall time
of the whole run (interpreter, imports, MPI and PETSc start-up, data, solve,
residual, bound and estimate), the set-up and solve seconds of its JSON, and
the peak resident memory of the largest process (``RUSAGE_CHILDREN`` of a
runner that starts the command: the largest rank under ``mpirun``).

Usage::

    python scripts/bench_distributed.py                  # 256³ and 384³, 1 and 2 ranks
    python scripts/bench_distributed.py --cells 64 --repeats 2     # a smoke test
    python scripts/bench_distributed.py --cli --cells 256          # through the command line
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _problem(cells: int):
    from kronpde import Grid, Problem

    return Problem(Grid.box([cells] * 3), source=0.0, check=False)


def _eigenvector(shape, slices, modes=(1, 2, 3)) -> tuple[np.ndarray, float]:
    """A product of sines (the Dirichlet box's eigenvector) on a block, and its eigenvalue."""
    out = np.ones(())
    lam = 0.0
    for n, s, k in zip(shape, slices, modes, strict=True):
        j = np.arange(s.start, s.stop) + 1
        out = np.multiply.outer(out, np.sin(np.pi * k * j / (n + 1)))
        h = 1.0 / (n + 1)
        lam += 4.0 / h**2 * math.sin(0.5 * math.pi * k / (n + 1)) ** 2
    return out, lam


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_serial(cells: int, workers: int, repeats: int) -> dict:
    """The anchor, in this process: FastDiagSolver with ``workers`` threads."""
    from kronpde.solvers.fastdiag import FastDiagSolver

    solver = FastDiagSolver.from_problem(_problem(cells), workers=workers)
    shape = solver.shape
    b = np.random.default_rng(0).standard_normal(shape)
    u = np.empty(shape)
    times = []
    for _ in range(repeats + 1):
        t0 = time.perf_counter()
        solver.solve(b, out=u)
        times.append(time.perf_counter() - t0)
    peak = _peak_mib()  # before the check's temporaries
    full = tuple(slice(0, n) for n in shape)
    b[...], lam = _eigenvector(shape, full)
    solver.solve(b, out=u)
    error = float(np.abs(u - b / lam).max() * lam / np.abs(b).max())
    return {
        "times": times[1:],
        "shares": [0.0] * repeats,
        "peak": peak,
        "error": error,
        "layout": "-",
        "workers": workers,
    }


def run_ranks(cells: int, workers: int, repeats: int) -> dict | None:
    """One ``mpirun`` rank: PencilFastDiag on COMM_WORLD; rank 0 returns the record."""
    from mpi4py import MPI

    from kronpde.solvers.pencil import PencilFastDiag

    comm = MPI.COMM_WORLD
    solver = PencilFastDiag(_problem(cells), comm, workers=workers)
    local = solver.local_shape
    b = np.random.default_rng(comm.rank).standard_normal(local)
    u = np.empty(local)
    times, shares = [], []
    for _ in range(repeats + 1):
        comm.Barrier()
        t0 = time.perf_counter()
        solver.solve(b, out=u)
        elapsed = comm.allreduce(time.perf_counter() - t0, op=MPI.MAX)
        times.append(elapsed)
        shares.append(comm.allreduce(solver.timings["transpose"], op=MPI.MAX) / elapsed)
    peak = comm.allreduce(_peak_mib(), op=MPI.MAX)  # before the check's temporaries
    b[...], lam = _eigenvector(solver.shape, solver.local_slices)
    solver.solve(b, out=u)
    diff = comm.allreduce(float(np.abs(u - b / lam).max(initial=0.0)), op=MPI.MAX)
    error = diff * lam / comm.allreduce(float(np.abs(b).max(initial=0.0)), op=MPI.MAX)
    layout = f"{solver.decomposition} {'x'.join(map(str, solver.dims))}"
    solver.close()
    if comm.rank:
        return None
    return {
        "times": times[1:],
        "shares": shares[1:],
        "peak": peak,
        "error": error,
        "layout": layout,
        "workers": workers,
    }


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = "1"
    env.update(
        OMPI_ALLOW_RUN_AS_ROOT="1",
        OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
        OMPI_MCA_rmaps_base_oversubscribe="1",
        OMPI_MCA_mpi_yield_when_idle="1",
    )
    return env


def _child(mode: str, argv: list[str], ranks: int | None) -> dict:
    """Run this script as ``--child mode`` (under mpirun for ``ranks``); return its record."""
    command = [sys.executable, __file__, "--child", mode, *argv]
    if ranks is not None:
        mpirun = shutil.which("mpirun") or shutil.which("mpiexec")
        if mpirun is None:
            msg = "mpirun is not on PATH: run scripts/install-petsc.sh"
            raise SystemExit(msg)
        command = [mpirun, "-n", str(ranks), *command]
    proc = subprocess.run(command, env=_env(), capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        msg = f"{' '.join(command)} failed:\n{proc.stderr[-3000:]}"
        raise SystemExit(msg)
    return json.loads(proc.stdout.strip().splitlines()[-1])


CASE = """[grid]
cells = [{cells}, {cells}, {cells}]

[equation]
source = "3*pi**2*sin(pi*x)*sin(pi*y)*sin(pi*z)"

[boundary]
default = {{ type = "dirichlet", value = 0.0 }}

[exact]
u = "sin(pi*x)*sin(pi*y)*sin(pi*z)"
"""

#: Runs a command; prints its exit code, wall time, output and the peak RSS (MiB) of its
#: largest process (``RUSAGE_CHILDREN``: under mpirun, the largest rank).
RUNNER = (
    "import json, resource, subprocess, sys, time; t = time.perf_counter(); "
    "p = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
    "wall = time.perf_counter() - t; "
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0; "
    "sys.stderr.write(p.stderr[-2000:]); "
    "print(json.dumps(dict(code=p.returncode, wall=wall, peak=peak, out=p.stdout)))"
)


def run_cli(case: Path, ranks: int | None) -> dict:
    """One command-line run of ``case`` (serial, or under ``mpirun -n ranks``): its record."""
    command = [sys.executable, "-m", "kronpde", "solve", str(case), "--method", "fastdiag"]
    command += ["--json", "-q"]
    if ranks is not None:
        mpirun = shutil.which("mpirun") or shutil.which("mpiexec")
        if mpirun is None:
            msg = "mpirun is not on PATH: run scripts/install-petsc.sh"
            raise SystemExit(msg)
        command = [mpirun, "-n", str(ranks), *command, "--backend", "petsc"]
    proc = subprocess.run(
        [sys.executable, "-c", RUNNER, *command],
        env=_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    run = json.loads(proc.stdout.strip().splitlines()[-1])
    if run["code"] != 0:
        msg = f"{' '.join(command)} failed: {proc.stderr[-2000:]}"
        raise SystemExit(msg)
    record = json.loads(run["out"].strip().splitlines()[-1])
    return {
        "wall": run["wall"],
        "peak": run["peak"],
        "setup": record["setup_seconds"],
        "solve": record["solve_seconds"],
        "iterations": record["iterations"],
        "layout": record.get("decomposition", "-"),
        "error": record.get("error_max"),
    }


def cli_table(cells: int, rows: list[tuple[str, int, list[dict]]]) -> str:
    """The markdown table of the command-line runs (medians over the rounds; largest peak)."""

    def med(runs: list[dict], key: str) -> float:
        return statistics.median(r[key] for r in runs)

    anchor = rows[0][2]
    anchor_peak = max(r["peak"] for r in anchor)
    lines = [
        f"### {cells - 1}³ unknowns ({cells}³ cells), Dirichlet box, through the command line",
        "",
        "| run | ranks | layout | wall s (median) | x serial | setup s | solve s | x serial "
        "| iterations | peak RSS of largest process MiB | x serial | max error |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, ranks, runs in rows:
        peak = max(r["peak"] for r in runs)
        lines.append(
            f"| {name} | {ranks} | {runs[0]['layout']} | {med(runs, 'wall'):.2f} "
            f"| {med(runs, 'wall') / med(anchor, 'wall'):.2f} | {med(runs, 'setup'):.2f} "
            f"| {med(runs, 'solve'):.2f} | {med(runs, 'solve') / med(anchor, 'solve'):.2f} "
            f"| {runs[0]['iterations']} | {peak:.0f} | {peak / anchor_peak:.2f} "
            f"| {runs[0]['error']:.3e} |"
        )
    return "\n".join(lines)


def main_cli(args: argparse.Namespace) -> int:
    """The ``--cli`` rows: each configuration ``--rounds`` times, interleaved."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        for cells in args.cells:
            case = Path(tmp) / f"box{cells}.toml"
            case.write_text(CASE.format(cells=cells))
            configs = [("serial fastdiag", 1, None)]
            configs += [("petsc fastdiag", p, p) for p in args.ranks]
            runs: dict[int, list[dict]] = {i: [] for i in range(len(configs))}
            for _ in range(args.rounds):  # interleaved: a busy spell hits every configuration
                for i, (_, _, ranks) in enumerate(configs):
                    runs[i].append(run_cli(case, ranks))
            rows = [(c[0], c[1], runs[i]) for i, c in enumerate(configs)]
            print(cli_table(cells, rows), "\n", flush=True)
    return 0


def merge(records: list[dict]) -> dict:
    """One row from the rounds of a configuration: all their solves, the largest peak."""
    times = [t for r in records for t in r["times"]]
    shares = [x for r in records for x in r["shares"]]
    best = int(np.argmin(times))
    return {
        **records[0],
        "time": statistics.median(times),
        "best": times[best],
        "share": shares[best],
        "peak": max(r["peak"] for r in records),
        "error": max(r["error"] for r in records),
    }


def table(cells: int, rows: list[tuple[str, int, dict]]) -> str:
    """The markdown table of one grid: the anchor first."""
    anchor = rows[0][2]
    n = cells - 1
    lines = [
        f"### {n}³ unknowns ({cells}³ cells), Dirichlet box",
        "",
        "| run | ranks | layout | scipy.fft workers per rank | solve s median | x serial "
        "| solve s best | x serial | transposes (best) | peak RSS of largest rank MiB "
        "| x serial |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, ranks, rec in rows:
        lines.append(
            f"| {name} | {ranks} | {rec['layout']} | {rec['workers']} | {rec['time']:.3f} "
            f"| {rec['time'] / anchor['time']:.2f} | {rec['best']:.3f} "
            f"| {rec['best'] / anchor['best']:.2f} | {100 * rec['share']:.0f} % "
            f"| {rec['peak']:.0f} | {rec['peak'] / anchor['peak']:.2f} |"
        )
    errors = ", ".join(f"{name} ({ranks}): {rec['error']:.1e}" for name, ranks, rec in rows)
    lines += ["", f"Relative error on one eigenvector: {errors}."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cells", type=int, nargs="+", default=[256, 384])
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--workers", type=int, default=2, help="scipy.fft threads (serial)")
    parser.add_argument("--repeats", type=int, default=5, help="solves per run")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each configuration")
    parser.add_argument("--child", choices=["serial", "ranks"], help=argparse.SUPPRESS)
    parser.add_argument("--cli", action="store_true", help="whole command-line runs")
    args = parser.parse_args(argv)
    if args.cli:
        return main_cli(args)

    if args.child:
        run = run_serial if args.child == "serial" else run_ranks
        record = run(args.cells[0], args.workers, args.repeats)
        if record is not None:
            print(json.dumps(record))
        return 0

    print(
        f"# Distributed exact solve vs serial fastdiag ({os.cpu_count()} cores; "
        f"{args.rounds} interleaved rounds of {args.repeats} solves after a warm-up)\n"
    )
    for cells in args.cells:
        common = ["--cells", str(cells), "--repeats", str(args.repeats)]
        configs = [("serial fastdiag", 1, "serial", args.workers, None)]
        configs += [("pencil", p, "ranks", args.workers if p == 1 else 1, p) for p in args.ranks]
        runs: dict[int, list[dict]] = {i: [] for i in range(len(configs))}
        for _ in range(args.rounds):  # interleaved: a busy spell hits every configuration
            for i, (_, _, mode, workers, ranks) in enumerate(configs):
                runs[i].append(_child(mode, [*common, "--workers", str(workers)], ranks))
        rows = [(c[0], c[1], merge(runs[i])) for i, c in enumerate(configs)]
        print(table(cells, rows), "\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
