"""Benchmark of kronpde's PETSc backend against a bare petsc4py script and kronpde's amg-cg.

Problem: ``-Δu = f`` on the unit cube with homogeneous Dirichlet faces, ``n³``
unknowns (``n + 1`` cells per axis; ``n = 128`` by default: 2.1 M unknowns), a
seeded random right-hand side (a sine would be an eigenvector), CG to
``rtol = 1e-8`` on the unpreconditioned relative residual.

Rows:

* ``kronpde petsc``: ``prepare(problem, "amg-cg", backend="petsc",
  options={"pc": pc})`` (set-up: DMDA, each rank's rows from the 1-D stencils,
  KSP and preconditioner set-up) and ``prepared.solve(b)`` (the rank's block of
  ``b``, KSP solve, the true-residual check, the gather of ``u`` to rank 0);
* ``bare petsc4py``: the same problem written directly in petsc4py, the way
  an experienced user would: a DMDA, the 7-point stencil assembled per rank
  with numpy into CSR rows (global columns through the DMDA's
  local-to-global map), ``setValuesCSR``, KSPCG with the same preconditioner
  and norm type, the right-hand side scattered from the natural ordering, the
  solution gathered to rank 0; it shares no code with kronpde;
* ``kronpde amg-cg``: kronpde's serial CG with pyamg's smoothed aggregation
  (one process; ``prepare`` + ``solve``).

A second table, the variable-coefficient row: ``-div(k grad u) = f`` on the
same grid with ``k = (1 + 0.5 sin(2 pi x) cos(pi y)) (1 + 0.2 sin z)`` (between
0.4 and 1.8; the test suite's ``k``), the same random right-hand side and
stopping rule, solved by kronpde's PETSc backend (``amg-cg``) with each
preconditioner (GAMG, hypre's BoomerAMG, ``mg``: PETSc's PCMG on the grid's own
coarse grids with Galerkin coarse operators), 1 and 2 ranks, against kronpde's
serial ``fastdiag-cg`` and ``amg-cg`` in this process.  Set-up includes
evaluating ``k`` on each rank's box and assembling its rows.

A third table, the schemes row: a cell-centred grid (``128³`` cells,
``centering = "cell"``: Dirichlet faces in x, Neumann/Robin in y, periodic in
z, ``c = 1``, constant ``k``) and the fourth-order compact scheme (``1024²``,
Dirichlet and Neumann faces, the 9-point rows), the same random right-hand
side and stopping rule, by the PETSc backend (``amg-cg``, each preconditioner
of ``--scheme-pcs``) at 1 and 2 ranks against the serial ``fastdiag`` (exact:
its time is the bar a distributed solve has to beat per rank) and ``amg-cg``.

``--pcs`` may include ``mg`` (kronpde's geometric multigrid, which the bare
script has no counterpart of: its ratio is against the bare GAMG script when
that ran): the measurement behind the default preconditioner of a constant ``k``.

Each configuration runs in its own ``mpirun -n P`` job; a job solves a small
grid first (warm-up: imports, PETSc initialisation, first-touch), then the
measured grid once.  The jobs of kronpde and of the bare script alternate,
``--repeats`` times, and the table shows medians (wall time on rank 0 between
barriers).  ``ratio`` is kronpde's (set-up + solve) over the bare script's.
BLAS/OpenMP threads are 1 (``OMP_NUM_THREADS=1``); Open MPI ranks busy-poll,
so with 2 ranks on a 2-core machine that other work shares the numbers are
noisy.

Usage::

    python scripts/bench_petsc.py                # 128³, GAMG and hypre, 1 and 2 ranks
    python scripts/bench_petsc.py --quick        # 32³, one repeat: a smoke test
    python scripts/bench_petsc.py --n 96 --ranks 1 2 4 --pcs gamg --repeats 5
    python scripts/bench_petsc.py --rows variable --variable-pcs mg gamg   # the variable-k row only
    python scripts/bench_petsc.py --rows schemes --scheme-pcs mg gamg       # cells and order 4
    python scripts/bench_petsc.py --rows constant --pcs mg gamg hypre       # the default pc
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

RTOL = 1e-8
SEED = 20261129
WARMUP_N = 16


# --------------------------------------------------------------------------- workers


def _rhs(n: int):
    import numpy as np

    return np.random.default_rng(SEED).standard_normal(n**3)


def _petsc_run(problem, b, pc: str) -> dict:
    """prepare + solve on the petsc backend; timings on rank 0 between barriers."""
    from mpi4py import MPI

    from kronpde import prepare

    comm = MPI.COMM_WORLD
    comm.Barrier()
    t0 = time.perf_counter()
    prepared = prepare(problem, "amg-cg", backend="petsc", options={"pc": pc})
    comm.Barrier()
    t1 = time.perf_counter()
    solution = prepared.solve(b, rtol=RTOL)
    comm.Barrier()
    t2 = time.perf_counter()
    report = solution.report
    return {
        "setup": t1 - t0,
        "solve": t2 - t1,
        "iterations": report.iterations,
        "residual": report.relative_residual,
        "converged": report.converged,
        "pc_type": report.options["pc_type"],
        "levels": report.options.get("levels"),
        "ranks": comm.size,
        "unknowns": problem.size,
        "checksum": None if solution.x is None else float(solution.x @ b),
    }


def _serial_run(problem, b, method: str) -> dict:
    """prepare + solve in this process (after the caller's warm-up)."""
    from kronpde import prepare

    t0 = time.perf_counter()
    prepared = prepare(problem, method)
    t1 = time.perf_counter()
    solution = prepared.solve(b, rtol=RTOL)
    t2 = time.perf_counter()
    return {
        "setup": t1 - t0,
        "solve": t2 - t1,
        "iterations": solution.report.iterations,
        "residual": solution.report.relative_residual,
        "converged": solution.report.converged,
        "checksum": float(solution.x @ b),
    }


def _kronpde_worker(n: int, pc: str) -> dict:
    """A constant k on the petsc backend."""
    from kronpde import Grid, Problem

    return _petsc_run(Problem(Grid.box([n + 1] * 3), source=0.0), _rhs(n), pc)


def variable_k(x, y, z):
    """The benchmark's coefficient: the test suite's ``k`` (smooth, contrast about 4)."""
    import numpy as np

    return (1.0 + 0.5 * np.sin(2 * np.pi * x) * np.cos(np.pi * y)) * (1.0 + 0.2 * np.sin(z))


def _variable_problem(n: int, check: bool = True):
    from kronpde import Grid, Problem

    return Problem(Grid.box([n + 1] * 3), source=0.0, coefficient=variable_k, check=check)


def _variable_worker(n: int, pc: str) -> dict:
    """A variable k on the petsc backend: each rank evaluates k on its own box (check=False,
    as the command line does), assembles its rows, solves."""
    return _petsc_run(_variable_problem(n, check=False), _rhs(n), pc)


def _serial_variable(n: int, method: str) -> dict:
    from kronpde import prepare

    prepare(_variable_problem(WARMUP_N), method).solve(_rhs(WARMUP_N), rtol=RTOL)  # warm-up
    return _serial_run(_variable_problem(n), _rhs(n), method)


#: The schemes table's grids at full size (``--n`` is for the other tables).
SCHEME_SIZES = {"cells": (128, 128, 128), "order4": (1024, 1024)}


def _scheme_problem(kind: str, cells: tuple[int, ...], check: bool = True):
    """A cell-centred 3-D problem with three kinds of faces, or a 2-D one at order 4."""
    from kronpde import Dirichlet, Grid, Neumann, Periodic, Problem, Robin

    if kind == "cells":
        faces = {
            "ymin": Neumann(0.0),
            "ymax": Robin(1.0, 1.0, 0.0),
            "zmin": Periodic(),
            "zmax": Periodic(),
        }
        grid = Grid.box(cells, boundary=faces, default=Dirichlet(0.0), centering="cell")
        return Problem(grid, source=0.0, shift=1.0, check=check)
    grid = Grid.box(cells, boundary={"xmax": Neumann(0.0)}, default=Dirichlet(0.0))
    return Problem(grid, source=0.0, order=4, check=check)


def _scheme_rhs(problem):
    import numpy as np

    return np.random.default_rng(SEED).standard_normal(problem.size)


def _scheme_worker(kind: str, n: int, pc: str) -> dict:
    """A cell-centred or fourth-order problem on the petsc backend (``n``: 0 for full size)."""
    cells = SCHEME_SIZES[kind] if n == 0 else (n,) * len(SCHEME_SIZES[kind])
    problem = _scheme_problem(kind, cells, check=False)
    return _petsc_run(problem, _scheme_rhs(problem), pc)


def _serial_scheme(kind: str, cells: tuple[int, ...], method: str) -> dict:
    from kronpde import prepare

    small = _scheme_problem(kind, (WARMUP_N,) * len(cells))
    prepare(small, method).solve(_scheme_rhs(small), rtol=RTOL)  # warm-up
    problem = _scheme_problem(kind, cells)
    return _serial_run(problem, _scheme_rhs(problem), method)


def _bare_worker(n: int, pc: str) -> dict:
    """The same problem written directly in petsc4py (no kronpde code)."""
    import numpy as np
    from mpi4py import MPI
    from petsc4py import PETSc

    comm = MPI.COMM_WORLD
    b_global = _rhs(n)
    h = 1.0 / (n + 1)
    comm.Barrier()
    t0 = time.perf_counter()
    da = PETSc.DMDA().create(
        dim=3,
        dof=1,
        sizes=(n, n, n),
        stencil_type=PETSc.DMDA.StencilType.STAR,
        stencil_width=1,
        comm=PETSc.COMM_WORLD,
    )
    (xs, xe), (ys, ye), (zs, ze) = da.getRanges()
    (gxs, gxe), (gys, gye), (gzs, gze) = da.getGhostRanges()
    k = np.arange(zs, ze)[:, None, None]
    j = np.arange(ys, ye)[None, :, None]
    i = np.arange(xs, xe)[None, None, :]
    gx, gy = gxe - gxs, gye - gys

    def local(ii, jj, kk):  # index in the ghosted box (x fastest)
        return (ii - gxs) + gx * ((jj - gys) + gy * (kk - gzs))

    shape = (ze - zs, ye - ys, xe - xs)
    m = shape[0] * shape[1] * shape[2]
    cols = np.empty((m, 7), dtype=PETSc.IntType)
    vals = np.empty((m, 7))
    keep = np.ones((m, 7), dtype=bool)
    cols[:, 0] = np.broadcast_to(local(i, j, k), shape).ravel()
    vals[:, 0] = 6.0 / h**2
    neighbours = [
        (i - 1, j, k, i > 0),
        (i + 1, j, k, i < n - 1),
        (i, j - 1, k, j > 0),
        (i, j + 1, k, j < n - 1),
        (i, j, k - 1, k > 0),
        (i, j, k + 1, k < n - 1),
    ]
    for c, (ii, jj, kk, inside) in enumerate(neighbours, start=1):
        inside = np.broadcast_to(inside, shape).ravel()
        cols[:, c] = np.where(inside, np.broadcast_to(local(ii, jj, kk), shape).ravel(), 0)
        vals[:, c] = -1.0 / h**2
        keep[:, c] = inside
    indptr = np.zeros(m + 1, dtype=PETSc.IntType)
    np.cumsum(keep.sum(axis=1), out=indptr[1:])
    columns = da.getLGMap().apply(cols[keep])
    A = da.createMatrix()
    A.setValuesCSR(indptr, columns, vals[keep])
    A.assemble()
    A.setOption(PETSc.Mat.Option.SYMMETRIC, True)
    ksp = PETSc.KSP().create(comm=PETSc.COMM_WORLD)
    ksp.setOperators(A)
    ksp.setType("cg")
    ksp.setNormType(PETSc.KSP.NormType.UNPRECONDITIONED)
    if pc == "hypre":
        ksp.getPC().setType("hypre")
        ksp.getPC().setHYPREType("boomeramg")
    else:
        ksp.getPC().setType(pc)
    ksp.setTolerances(rtol=RTOL, atol=0.0, max_it=10000)
    ksp.setFromOptions()
    ksp.setUp()
    comm.Barrier()
    t1 = time.perf_counter()
    natural = da.createNaturalVec()
    lo, hi = natural.getOwnershipRange()
    natural.array[:] = b_global[lo:hi]
    bvec = da.createGlobalVec()
    da.naturalToGlobal(natural, bvec)
    x = da.createGlobalVec()
    ksp.solve(bvec, x)
    da.globalToNatural(x, natural)
    scatter, x0 = PETSc.Scatter.toZero(natural)
    scatter.scatter(natural, x0, addv=PETSc.InsertMode.INSERT, mode=PETSc.ScatterMode.FORWARD)
    u = x0.array.copy() if comm.rank == 0 else None
    comm.Barrier()
    t2 = time.perf_counter()
    r = bvec.duplicate()
    A.mult(x, r)
    r.aypx(-1.0, bvec)
    return {
        "setup": t1 - t0,
        "solve": t2 - t1,
        "iterations": ksp.getIterationNumber(),
        "residual": r.norm() / bvec.norm(),
        "converged": ksp.getConvergedReason() > 0,
        "pc_type": ksp.getPC().getType(),
        "ranks": comm.size,
        "checksum": None if u is None else float(u @ b_global),
    }


def _amg_cg(n: int) -> dict:
    from kronpde import Grid, Problem, prepare

    problem = Problem(Grid.box([n + 1] * 3), source=0.0)
    b = _rhs(n)
    t0 = time.perf_counter()
    prepared = prepare(problem, "amg-cg")
    t1 = time.perf_counter()
    solution = prepared.solve(b, rtol=RTOL)
    t2 = time.perf_counter()
    return {
        "setup": t1 - t0,
        "solve": t2 - t1,
        "iterations": solution.report.iterations,
        "residual": solution.report.relative_residual,
        "converged": solution.report.converged,
        "pc_type": "pyamg sa",
        "ranks": 1,
        "checksum": None,
    }


def worker(kind: str, n: int, pc: str) -> None:
    """Run one job: warm-up on a small grid, then the measured grid; rank 0 prints JSON."""
    if kind.startswith("scheme-"):
        scheme = kind.split("-", 1)[1]
        _scheme_worker(scheme, WARMUP_N, pc)
        result = _scheme_worker(scheme, n, pc)
    else:
        run = {"kronpde": _kronpde_worker, "bare": _bare_worker, "variable": _variable_worker}
        run[kind](WARMUP_N, pc)
        result = run[kind](n, pc)
    from mpi4py import MPI

    if MPI.COMM_WORLD.rank == 0:
        print("RESULT " + json.dumps(result), flush=True)


# --------------------------------------------------------------------------- driver


def _launch(kind: str, n: int, pc: str, ranks: int, timeout: float) -> dict:
    mpirun = shutil.which("mpirun")
    if mpirun is None:
        sys.exit("bench_petsc: mpirun not found; run scripts/install-petsc.sh first")
    env = dict(os.environ)
    env.update(
        OMPI_ALLOW_RUN_AS_ROOT="1",
        OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
        OMPI_MCA_rmaps_base_oversubscribe="1",
        OMP_NUM_THREADS="1",
        OPENBLAS_NUM_THREADS="1",
    )
    command = [mpirun, "-q", "-n", str(ranks), sys.executable, str(Path(__file__).resolve())]
    command += ["--worker", kind, "--n", str(n), "--pcs", pc]
    proc = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        sys.exit(f"bench_petsc: {' '.join(command)} failed:\n{proc.stdout}\n{proc.stderr}")
    return json.loads(lines[-1][len("RESULT ") :])


def _median(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=128, help="unknowns per axis (default 128)")
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--pcs", nargs="+", default=["gamg", "hypre"])
    parser.add_argument(
        "--rows",
        choices=["constant", "variable", "schemes", "both", "all"],
        default="both",
        help="the constant-coefficient table, the variable-k one, the cell-centred and "
        "fourth-order one, both of the first two (default), or all three",
    )
    parser.add_argument("--variable-pcs", nargs="+", default=["mg", "gamg", "hypre"])
    parser.add_argument("--scheme-pcs", nargs="+", default=["mg", "gamg"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="32³, one repeat")
    parser.add_argument("--no-amg-cg", action="store_true", help="skip kronpde's serial amg-cg")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per job")
    parser.add_argument(
        "--worker",
        choices=["kronpde", "bare", "variable", "scheme-cells", "scheme-order4"],
        help=argparse.SUPPRESS,
    )
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.n, args.pcs[0])
        return 0
    if args.quick:
        args.n, args.repeats = 32, 1
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    n = args.n
    if args.rows in ("constant", "both", "all"):
        _constant_table(args, n)
    if args.rows in ("variable", "both", "all"):
        _variable_table(args, n)
    if args.rows in ("schemes", "all"):
        _scheme_table(args)
    return 0


def _scheme_table(args: argparse.Namespace) -> None:
    """The cell-centred and fourth-order rows: PETSc at 1 and 2 ranks, the serial methods."""
    quick = 32 if args.quick else 0
    print(
        f"\nCell-centred {'x'.join(map(str, SCHEME_SIZES['cells'] if not quick else (32,) * 3))} "
        "cells (Dirichlet x, Neumann/Robin y, periodic z, c = 1) and the fourth-order scheme on "
        f"{'x'.join(map(str, SCHEME_SIZES['order4'] if not quick else (32,) * 2))} cells "
        f"(Dirichlet, one Neumann face), random rhs, CG to rtol {RTOL:g}; median of "
        f"{args.repeats}; OMP_NUM_THREADS=1\n"
    )
    print(
        "| problem | backend | method | preconditioner | ranks | setup s | solve s | total s "
        "| iterations |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for kind, label in (("cells", "cell-centred 3-D"), ("order4", "order 4, 2-D")):
        checks = []
        for pc in args.scheme_pcs:
            for ranks in args.ranks:
                v = [
                    _launch("scheme-" + kind, quick, pc, ranks, args.timeout)
                    for _ in range(args.repeats)
                ]
                setup, solve = _median(v, "setup"), _median(v, "solve")
                levels = f" ({v[0]['levels']} levels)" if v[0]["levels"] else ""
                print(
                    f"| {label} | petsc | amg-cg | {v[0]['pc_type']}{levels} | {ranks} | "
                    f"{setup:.2f} | {solve:.2f} | {setup + solve:.2f} | {v[0]['iterations']} |",
                    flush=True,
                )
                checks.append(v[0])
        cells = SCHEME_SIZES[kind] if not quick else (quick,) * len(SCHEME_SIZES[kind])
        for method in ("fastdiag", "amg-cg"):
            v = [_serial_scheme(kind, cells, method) for _ in range(args.repeats)]
            setup, solve = _median(v, "setup"), _median(v, "solve")
            how = "-" if method == "fastdiag" else "pyamg sa"
            print(
                f"| {label} | serial | {method} | {how} | 1 | {setup:.2f} | {solve:.2f} | "
                f"{setup + solve:.2f} | {v[0]['iterations']} |",
                flush=True,
            )
            checks.append(v[0])
        _warn_unless_agreed(checks)


def _warn_unless_agreed(checks: list[dict]) -> None:
    """Print a warning under a table whose runs missed rtol or whose solutions differ."""
    if not all(c["converged"] and c["residual"] <= RTOL for c in checks):
        print(f"(warning: a run did not reach rtol {RTOL:g}: {checks})")
    sums = [c["checksum"] for c in checks if c["checksum"] is not None]
    if max(sums) - min(sums) > 1e-6 * max(abs(x) for x in sums):
        print(f"(warning: the solutions differ: checksums u.b {sums})")


def _variable_table(args: argparse.Namespace, n: int) -> None:
    """The variable-k row: each preconditioner at each rank count, and the serial methods."""
    print(
        f"\nVariable k = (1 + 0.5 sin(2 pi x) cos(pi y))(1 + 0.2 sin z), {n}^3 = {n**3:,} "
        f"unknowns (Dirichlet box), random rhs, CG to rtol {RTOL:g}; median of "
        f"{args.repeats}; OMP_NUM_THREADS=1\n"
    )
    print(
        "| backend | method | preconditioner | ranks | setup s | solve s | total s | iterations |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    checks = []
    for pc in args.variable_pcs:
        for ranks in args.ranks:
            v = [_launch("variable", n, pc, ranks, args.timeout) for _ in range(args.repeats)]
            setup, solve = _median(v, "setup"), _median(v, "solve")
            label = v[0]["pc_type"] + (f" ({v[0]['levels']} levels)" if v[0]["levels"] else "")
            print(
                f"| petsc | amg-cg | {label} | {ranks} | {setup:.2f} | {solve:.2f} | "
                f"{setup + solve:.2f} | {v[0]['iterations']} |",
                flush=True,
            )
            checks.append(v[0])
    for method in ("fastdiag-cg", "amg-cg"):
        v = [_serial_variable(n, method) for _ in range(args.repeats)]
        setup, solve = _median(v, "setup"), _median(v, "solve")
        print(
            f"| serial | {method} | {'fastdiag' if method == 'fastdiag-cg' else 'pyamg sa'} | 1 "
            f"| {setup:.2f} | {solve:.2f} | {setup + solve:.2f} | {v[0]['iterations']} |",
            flush=True,
        )
        checks.append(v[0])
    _warn_unless_agreed(checks)


def _constant_table(args: argparse.Namespace, n: int) -> None:
    """The constant-coefficient table: kronpde's backend against the bare petsc4py script."""
    print(
        f"3-D Poisson, {n}^3 = {n**3:,} unknowns (Dirichlet box), random rhs, CG to rtol "
        f"{RTOL:g} (unpreconditioned residual); median of {args.repeats}; "
        f"{os.cpu_count()} cores; OMP_NUM_THREADS=1\n"
    )
    print(
        "| assembly | preconditioner | ranks | setup s | solve s | iterations | "
        "rel. residual | ratio vs bare |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    bare_gamg: dict[int, float] = {}  # the bare GAMG script's total per rank count
    for pc in args.pcs:
        for ranks in args.ranks:
            kinds = ("kronpde",) if pc == "mg" else ("kronpde", "bare")  # no bare PCMG script
            runs: dict[str, list[dict]] = {k: [] for k in kinds}
            for r in range(args.repeats):
                order = kinds if r % 2 == 0 else kinds[::-1]
                for kind in order:
                    runs[kind].append(_launch(kind, n, pc, ranks, args.timeout))
            total = {k: _median(v, "setup") + _median(v, "solve") for k, v in runs.items()}
            if pc == "gamg":
                bare_gamg[ranks] = total["bare"]
            labels = (("bare", "bare petsc4py"), ("kronpde", "kronpde petsc"))
            for kind, label in labels:
                if kind not in runs:
                    continue
                v = runs[kind]
                reference = total.get("bare", bare_gamg.get(ranks))
                ratio = "1" if kind == "bare" else "-"
                if kind == "kronpde" and reference:
                    ratio = f"{total[kind] / reference:.2f}" + (
                        "" if "bare" in runs else " (vs gamg)"
                    )
                print(
                    f"| {label} | {v[0]['pc_type']} | {ranks} | {_median(v, 'setup'):.2f} | "
                    f"{_median(v, 'solve'):.2f} | {v[0]['iterations']} | "
                    f"{max(x['residual'] for x in v):.1e} | {ratio} |",
                    flush=True,
                )
            checks = {k: v[0]["checksum"] for k, v in runs.items()}
            if not all(x["converged"] for v in runs.values() for x in v):
                print(f"(warning: a run did not converge: {runs})")
            elif "bare" in checks and abs(checks["kronpde"] - checks["bare"]) > 1e-6 * abs(
                checks["bare"]
            ):
                print(f"(warning: the two solutions differ: checksums {checks})")
    if not args.no_amg_cg:
        v = [_amg_cg(n) for _ in range(1 if args.quick else 1)]
        print(
            f"| kronpde amg-cg (serial) | {v[0]['pc_type']} | 1 | {_median(v, 'setup'):.2f} | "
            f"{_median(v, 'solve'):.2f} | {v[0]['iterations']} | "
            f"{max(x['residual'] for x in v):.1e} | - |"
        )


if __name__ == "__main__":
    sys.exit(main())
