"""The distributed backend: kronpde's problems solved by PETSc, on one or many MPI ranks.

Optional: it needs petsc4py (and PETSc itself, with MPI).  Nothing in kronpde
imports petsc4py except :mod:`kronpde.solvers.petsc.backend`, and only when a PETSc
solve is prepared; this module and :mod:`kronpde.solvers.petsc.assembly` import
without it.

Use it through the one entry point, with ``backend="petsc"``::

    from kronpde import solve
    solution = solve(problem, backend="petsc", options={"pc": "hypre"})

or on the command line, ``mpirun -n 4 kronpde solve case.toml --backend petsc``.
The *method* keeps its meaning (``"amg-cg"``: CG preconditioned by multigrid,
``"cg"``: CG with Jacobi); the *backend* says where it runs.  Every problem the
serial code discretises runs here: constant or variable ``k``, node- or
cell-centred axes in any mix, the second- or fourth-order scheme, any faces, in
1 to 3 dimensions; ``rtol="auto"`` and the certified bound are computed over the
ranks (:mod:`kronpde.solvers.petsc.estimates`).  See
:class:`kronpde.solvers.petsc.backend.PetscSolver` for the options.
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
    parse_petsc_options,
    refusal,
)

__all__ = [
    "INSTALL_HINT",
    "METHODS",
    "PRECONDITIONERS",
    "PetscUnavailableError",
    "available",
    "parse_petsc_options",
    "prepare",
    "refusal",
]


def prepare(problem, method: str = "auto", *, options: Mapping[str, Any] | None = None):
    """Set up a PETSc solve of ``problem`` (collective over the communicator).

    ``kronpde.solvers.prepare(problem, method, backend="petsc", options=...)``
    calls this.  See :class:`kronpde.solvers.petsc.backend.PetscSolver` for the
    methods and options.

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
    from kronpde.solvers.petsc.backend import PetscSolver

    return PetscSolver.from_problem(problem, method, options=options)
