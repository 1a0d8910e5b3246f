"""Net outward fluxes through the box's faces of a PETSc solve, and their balance, over the ranks.

:func:`petsc_face_fluxes` is :func:`kronpde.problem.fluxes.face_fluxes` for a
solution spread over the ranks: the faces' two outer layers are fetched to
rank 0 by one PETSc scatter per face (``d - 1``-dimensional data, never the
whole field) and go through the serial per-face arithmetic
(:func:`~kronpde.problem.fluxes.layer_fluxes`); ``∫ f``, ``c ∫ u`` and the
weighted residual sum are each rank's sums over its own points
(:func:`~kronpde.problem.fluxes.volume_sums`), added by an allreduce.  How:
``docs/fluxes.md``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kronpde.errors import DataError, SolverError
from kronpde.problem.fluxes import (
    FluxBalance,
    box_faces,
    face_layers,
    layer_fluxes,
    volume_sums,
    zero_flux_problem,
)
from kronpde.solvers.petsc.fetch import PointFetch

__all__ = ["petsc_face_fluxes"]


def petsc_face_fluxes(solver: Any, solution: Any, *, balance: bool = True) -> FluxBalance:
    """Return the net outward flux through each face of a PETSc solution (collective).

    Every rank calls it with its own part of the solution; every rank gets the
    same result, equal to :func:`~kronpde.problem.fluxes.face_fluxes` of the
    gathered solution up to the order of the sums.

    Parameters
    ----------
    solver : PetscSolver or PetscFastDiag
        The prepared solver (its blocks, scatters and reductions).
    solution : PetscSolution
        Its solution: this rank's ``local`` block is read.
    balance : bool, optional
        Also compute ``∫ f``, ``c ∫ u`` and the weighted residual sum
        ``Σ w (b - A u)`` (default), each rank over its own points.

    Returns
    -------
    FluxBalance
        As :func:`~kronpde.problem.fluxes.face_fluxes`; ``residual`` is None
        for an exact solve of a discretisation without a matrix-free operator.

    Raises
    ------
    SolverError
        For a fourth-order problem (as :func:`~kronpde.problem.fluxes.face_fluxes`).
    DataError
        On every rank, if ``k`` is not finite on a face (as serially).
    """
    problem = solver.problem
    if getattr(problem, "order", 2) != 2:
        msg = (
            "fluxes follow the control volumes of the second-order scheme; the fourth-order "
            "compact scheme has none: solve with order = 2 to compute fluxes"
        )
        raise SolverError(msg)
    x = np.asarray(solution.local, dtype=float).reshape(-1)
    fluxes = _root_fluxes(solver, x)
    if not balance:
        return FluxBalance(fluxes, None, None, None)
    closed = zero_flux_problem(problem)
    owned, _ = solver.piece_box()
    # this rank's points as unknowns of the zero-flux problem (a periodic node m is node 0's)
    hi = tuple(min(s.stop, a.n_unknowns) for s, a in zip(owned, closed.grid.axes, strict=True))
    lo = tuple(min(s.start, h) for s, h in zip(owned, hi, strict=True))
    fetch = PointFetch(solver, tuple(slice(a, b) for a, b in zip(lo, hi, strict=True)))
    try:
        v = fetch(x)
    finally:
        fetch.destroy()
    source, absorbed = volume_sums(closed, np.reshape(v, -1), (lo, hi))
    residual = _weighted_residual(solver, x)
    return FluxBalance(
        fluxes,
        solver.allreduce(source),
        solver.allreduce(absorbed),
        None if residual is None else solver.allreduce(residual),
    )


def _root_fluxes(solver: Any, x: np.ndarray) -> dict[str, float]:
    """Fetch every face's two outer layers to rank 0, compute ``q`` there, share it."""
    grid = solver.problem.grid
    root = solver.rank == 0
    point = tuple(slice(0, 1) for _ in grid.axes)  # the other ranks: one point, unused
    layers = {}
    for face in box_faces(grid):  # collective: the other ranks fetch nothing
        box = face_layers(grid, *face) if root else point
        fetch = PointFetch(solver, box)
        try:
            layers[face] = fetch(x)
        finally:
            fetch.destroy()
    outcome: Any = None
    if root:
        try:
            outcome = layer_fluxes(solver.problem, layers)
        except DataError as exc:  # k not finite on a face: raised on every rank
            outcome = str(exc)
    outcome = solver._da.getComm().tompi4py().bcast(outcome, root=0)
    if isinstance(outcome, str):
        raise DataError(outcome)
    return outcome


def _weighted_residual(solver: Any, x: np.ndarray) -> float | None:
    """Return this rank's ``Σ w (b - A u)`` with the problem's own ``b`` (not projected).

    ``A u`` by the assembled rows (``D^{-1} Â D u``) of an iterative solver, or
    by the matrix-free operator of the exact one (None: it has none).
    """
    b = solver.own_rhs().reshape(-1)
    matrix = getattr(solver, "_A", None)
    if matrix is not None:
        scale = solver._D
        solver._work.array[:] = scale * x
        matrix.mult(solver._work, solver._r)
        applied = np.asarray(solver._r.array) / scale
    else:
        operator = getattr(solver, "_operator", None)
        if operator is None:
            return None
        applied = operator.apply(x)
    w = solver.problem.weights((solver.lo, solver.hi)).reshape(-1)
    return float(np.sum(w * (b - applied)))
