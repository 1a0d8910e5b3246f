"""``fastdiag-cg`` on PETSc: the distributed fast solve of the reference problem as a python PC.

:func:`fast_preconditioner` is the context of the ``python`` PC that
:class:`~kronpde.solvers.petsc.setup.PetscSetUp` gives KSPCG for ``pc="fastdiag"``:
``D A_0^{-1} D^{-1}`` with ``A_0`` the :func:`reference_problem` (``k`` replaced by
its weighted geometric mean, summed over the ranks' boxes), solved by
:class:`~kronpde.solvers.pencil.PencilFastDiag` on the DMDA's own blocks.
petsc4py is not imported here.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from kronpde.errors import SolverError

__all__ = ["fast_preconditioner", "reference_problem"]


def reference_problem(problem: Any, k_ref: float | None = None) -> Any:
    """Return the constant-coefficient problem ``fastdiag-cg`` preconditions with.

    The flux form of a variable ``k`` with ``k`` replaced by ``k_ref`` (its
    weighted geometric mean, option ``approximation="mean"`` of the serial
    method), or a Kronecker sum itself.  ``k_ref=None`` only checks.

    Raises
    ------
    SolverError
        For a problem without a separable reference (the fourth-order scheme
        with a Robin face).
    """
    from kronpde.problem.embedded import EmbeddedBoundary
    from kronpde.problem.flux_form import FluxForm
    from kronpde.problem.kronecker import KroneckerSum
    from kronpde.problem.problem import Problem

    kind = type(problem.discretisation)
    if kind not in (FluxForm, KroneckerSum, EmbeddedBoundary):
        msg = (
            "petsc backend: fastdiag-cg preconditions a variable k (or a constant one) "
            f"and a domain inside the box; not the {problem.discretisation.name}: use amg-cg"
        )
        raise SolverError(msg)
    if k_ref is None:
        return None
    return Problem(problem.grid, 0.0, problem.shift, coefficient=k_ref, check=False)


def fast_preconditioner(solver: Any) -> Any:
    """Return the python PC context of ``fastdiag-cg``: ``D A_0^{-1} D^{-1}`` (collective).

    ``A_0`` is :func:`reference_problem` with ``k_ref = exp(Σ w log k / Σ w)``
    summed over the ranks' boxes (each evaluates ``k`` on its own unknowns);
    its distributed fast solve has the DMDA's blocks (the solver's DMDA was
    made with the pencils' ownership).
    """
    from kronpde.solvers.pencil import PencilFastDiag, PencilPreconditioner

    p = solver.problem
    if p.variable_coefficient:  # k at this rank's unknowns (its points), checked over the ranks
        box = tuple(
            slice(lo + a.unknown_slice.start, hi + a.unknown_slice.start)
            for lo, hi, a in zip(solver.lo, solver.hi, p.grid.axes, strict=True)
        )
        k = np.asarray(p.data.coefficient_values(box, merge=solver._merge), dtype=float)
        logs = solver.reductions.sum(solver._w * np.log(k.reshape(-1)))
        k_ref = math.exp(logs / solver.weight_sum)
    else:
        k_ref = float(p.coefficient)
    comm = solver.comm.tompi4py() if hasattr(solver.comm, "tompi4py") else solver.comm
    pencil = PencilFastDiag(reference_problem(p, k_ref), comm)
    if pencil.local_slices != solver.box:  # pragma: no cover - a bug
        msg = f"petsc backend: the DMDA's block {solver.box} is not the fast solve's"
        raise SolverError(msg)
    solver.reference_k = k_ref
    unknowns = p.discretisation.reference_unknowns()
    if unknowns is None:
        return PencilPreconditioner(pencil, scale=solver._D)
    # a domain inside the box: the box's solve restricted to its unknowns, extended by zero
    keep = np.asarray(unknowns.reshape(p.grid.shape)[solver.box], dtype=float).reshape(-1)
    rest = np.zeros(keep.size)
    np.divide(1.0, solver._diagonal, out=rest, where=keep == 0.0)
    return PencilPreconditioner(pencil, scale=solver._D, keep=keep, rest=rest)
