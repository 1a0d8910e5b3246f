"""The rules of ``kronpde solve --backend petsc``: which method runs, and the PETSc options."""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from typing import Any

from kronpde.app.cli.common import UsageError

__all__ = ["add_backend_arguments", "backend_options", "launcher_rank"]


def add_backend_arguments(parser: argparse.ArgumentParser) -> None:
    """``--backend``, ``--pc``, ``--petsc-options``."""
    parser.add_argument(
        "--backend",
        metavar="B",
        default="serial",
        help="serial (default) or petsc: every rank of `mpirun -n P kronpde solve ...` "
        "(needs petsc4py; see 'Scaling out' in the documentation): fastdiag (auto's choice "
        "where it is exact) on slabs or pencils of the grid, no iteration (needs "
        "mpi4py-fft), or CG on PETSc; a serial-only [solver] method "
        "(direct, ...) gives way to auto",
    )
    parser.add_argument(
        "--pc",
        metavar="PC",
        help="--backend petsc: the multigrid preconditioner of amg-cg: mg (geometric multigrid "
        "on the grid's own coarse grids, the default), gamg (PETSc's algebraic multigrid) or "
        "hypre (BoomerAMG; strongly stretched grids)",
    )
    parser.add_argument(
        "--petsc-options",
        metavar="OPTS",
        help="--backend petsc: PETSc options, e.g. '-ksp_monitor -pc_gamg_threshold 0.02'",
    )


# Variables MPI launchers set to the number of processes (Open MPI, PMIx, MPICH/Hydra, Slurm).
_SIZE_VARIABLES = (
    "OMPI_COMM_WORLD_SIZE",
    "PMIX_SIZE",
    "PMI_SIZE",
    "MV2_COMM_WORLD_SIZE",
    "SLURM_NTASKS",
)


def launcher_ranks() -> int:
    """Return how many processes the MPI launcher started (1 outside MPI, or if it does not say)."""
    for name in _SIZE_VARIABLES:
        value = os.environ.get(name)
        if value is not None and value.strip().isdigit():
            return int(value)
    return 1


# Variables MPI launchers set to a process's rank (Open MPI, PMIx, MPICH/Hydra, MVAPICH, Slurm).
_RANK_VARIABLES = (
    "OMPI_COMM_WORLD_RANK",
    "PMIX_RANK",
    "PMI_RANK",
    "MV2_COMM_WORLD_RANK",
    "SLURM_PROCID",
)


def launcher_rank() -> int:
    """Return this process's rank as the MPI launcher set it (0 if none did).

    Lets the command line print an input error once per job, not once per
    rank, before (or without) initialising MPI.
    """
    for name in _RANK_VARIABLES:
        value = os.environ.get(name)
        if value is not None and value.strip().isdigit():
            return int(value)
    return 0


def backend_options(
    args: argparse.Namespace, method: str, problem: Any = None
) -> tuple[str, dict[str, Any] | None]:
    """Return the method and the options of ``--backend petsc`` (None: the serial backend).

    A serial-only method named in the case file gives way to ``auto``
    (``fastdiag``, the distributed exact solve, where it is exact, else
    ``amg-cg``); named on the command line it is an error, and so is
    ``--method fastdiag`` on a problem it cannot solve exactly.  Without
    mpi4py-fft an exact solve on several ranks is refused, saying how to install it.  A ``problem``
    the PETSc backend cannot solve (a cell-centred grid) is refused before
    PETSc is looked for.
    """
    from kronpde.errors import OptionError, SolverError
    from kronpde.solvers import petsc

    if args.backend not in ("serial", "petsc"):
        subject = "--backend"
        msg = f"must be serial or petsc, got {args.backend!r}"
        raise UsageError(subject, msg)
    if args.backend == "serial":
        for name, value in (("--pc", args.pc), ("--petsc-options", args.petsc_options)):
            if value is not None:
                raise UsageError(name, "applies to --backend petsc only")
        return method, None
    reason = None if problem is None else petsc.refusal(problem)
    if reason is not None:
        subject = "--backend petsc"
        raise UsageError(subject, reason)
    if not petsc.available():
        subject = "--backend petsc"
        raise UsageError(subject, petsc.INSTALL_HINT)
    if args.pc is not None and args.pc not in petsc.PRECONDITIONERS:
        subject = "--pc"
        msg = f"must be {', '.join(petsc.PRECONDITIONERS)}, got {args.pc!r}"
        raise UsageError(subject, msg)
    if method == "fastdiag" and problem is not None:
        try:
            petsc.choose_exact(problem, method)
        except SolverError as exc:  # not exact here: refused if asked for, else auto
            if args.method is not None:
                subject = "--method"
                raise UsageError(subject, str(exc)) from None
            method = "auto"
    if method not in petsc.METHODS or (args.pc is not None and args.method is None):
        if args.method is not None:  # asked for on the command line: refuse
            subject = "--method"
            msg = (
                f"{method} runs on the serial backend only; --backend petsc runs "
                f"{', '.join(petsc.METHODS)}"
            )
            raise UsageError(subject, msg)
        method = "auto"  # the case file's serial choice (or its cg, with --pc) gives way
    if args.pc is not None and method in ("cg", "fastdiag", "fastdiag-cg"):
        subject = "--pc"
        msg = f"applies to amg-cg; --method {method} uses " + (
            {"cg": "Jacobi", "fastdiag": "no preconditioner (an exact solve)"}.get(
                method, "the distributed fast solve"
            )
        )
        raise UsageError(subject, msg)
    exact = problem is not None and petsc.choose_exact(problem, method, args.pc is not None)[0]
    exact = exact or (problem is not None and method == "fastdiag-cg")  # transposes too
    several = launcher_ranks() > 1 and problem.grid.dimension > 1 if exact else False
    if several and importlib.util.find_spec("mpi4py_fft") is None:
        from kronpde.solvers.pencil import INSTALL_HINT

        subject = "--backend petsc"
        raise UsageError(subject, INSTALL_HINT)
    options: dict[str, Any] = {"monitor": None if args.quiet else sys.stderr}
    if args.pc is not None:
        options["pc"] = args.pc
    if args.petsc_options is not None:
        try:
            petsc.parse_petsc_options(args.petsc_options)  # checked here, for the message
        except OptionError as exc:
            subject = "--petsc-options"
            raise UsageError(subject, str(exc)) from None
        options["petsc_options"] = args.petsc_options
    return method, options
