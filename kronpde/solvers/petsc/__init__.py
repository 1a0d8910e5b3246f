"""The distributed backend: kronpde's problems solved by PETSc, on one or many MPI ranks.

Optional (petsc4py, PETSc with MPI): only :mod:`kronpde.solvers.petsc.backend`
imports petsc4py, when a PETSc solve is prepared.  Use it as
``solve(problem, backend="petsc")`` or ``mpirun -n 4 kronpde solve case.toml
--backend petsc``; :class:`~kronpde.solvers.petsc.backend.PetscSolver` lists
the options, ``docs/petsc.md`` says how it works.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kronpde.solvers.petsc.options import (
    INSTALL_HINT,
    METHODS,
    PRECONDITIONERS,
    PetscUnavailableError,
    available,
    choose_exact,
    parse_petsc_options,
    refusal,
)

__all__ = [
    "INSTALL_HINT",
    "METHODS",
    "PRECONDITIONERS",
    "PetscUnavailableError",
    "available",
    "choose_exact",
    "parse_petsc_options",
    "prepare",
    "refusal",
]


def prepare(problem, method: str = "auto", *, options: Mapping[str, Any] | None = None):
    """Set up a PETSc solve of ``problem`` (collective over the communicator).

    ``kronpde.solvers.prepare(problem, method, backend="petsc", options=...)``
    calls this.  ``"fastdiag"`` (and ``"auto"`` for a problem it solves
    exactly, without a ``pc`` option) is the distributed exact solve,
    :class:`kronpde.solvers.petsc.exact.PetscFastDiag` (it takes and returns
    each rank's block); see :class:`kronpde.solvers.petsc.backend.PetscSolver`
    for the iterative methods and their options.

    Raises
    ------
    PetscUnavailableError
        If petsc4py cannot be imported (the message says how to install it).
    SolverError
        For a method the backend does not run, bad options, or a problem it
        does not handle (:func:`refusal`: more than 3 dimensions, even
        without petsc4py).
    """
    reason = refusal(problem)
    if reason is not None:  # before petsc4py is looked for
        from kronpde.errors import SolverError

        raise SolverError(reason)
    exact, reason = choose_exact(problem, method, "pc" in (options or {}))
    if exact:  # the distributed exact solve (kronpde.solvers.pencil) on a DMDA of its blocks
        from kronpde.solvers.petsc.exact import PetscFastDiag

        return PetscFastDiag.from_problem(problem, options=options, requested=method, reason=reason)
    from kronpde.solvers.petsc.backend import PetscSolver

    return PetscSolver.from_problem(problem, method, options=options)
