"""``rtol="auto"`` and the certified bound on PETSc: the serial formulas, given the ranks' sums.

:class:`DistributedCertifier` (the serial
:func:`~kronpde.problem.certify.certificate` on a rank's rows), the eigenvalue
bounds of the assembly table, and the hooks of the serial estimates: an exact
solution on a rank's unknowns, coarse ownership and the restriction of the
Richardson estimate.  ``docs/petsc.md``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from kronpde.errors import DataError, OptionError
from kronpde.geometry.boundary import DataSurvey, check_data, evaluate_data
from kronpde.operators.flux import box_points
from kronpde.problem.certify import (
    Certificate,
    EigenvalueBound,
    Measure,
    certificate,
    certified_eigenvalue,
    residual_terms,
)
from kronpde.problem.spectrum import variable_bound
from kronpde.solvers.accuracy import exact_array
from kronpde.solvers.coarse import combine
from kronpde.solvers.petsc.fetch import PointFetch
from kronpde.solvers.space import Restriction as SpaceRestriction

if TYPE_CHECKING:
    from kronpde.problem.protocol import SolvableProblem

__all__ = [
    "DistributedCertifier",
    "Restriction",
    "coarse_ownership",
    "local_exact",
    "own_eigenvalue",
    "rounding_terms",
    "rows_eigenvalue",
]


def rounding_terms(problem: SolvableProblem) -> int:
    """Return the rounded operations per entry of ``fl(b - A u)`` the bound allows for.

    :func:`kronpde.problem.certify.residual_terms` (``4 d + 8``) for the star rows of
    the second-order scheme; for rows of more entries (the box rows of the
    fourth-order scheme, ``3^d``) twice their number plus 4, if that is more.
    """
    terms = residual_terms(problem.grid.dimension)
    return max(terms, 2 * problem.discretisation.stencil_points + 4)


# --------------------------------------------------------------------------- the bound


class DistributedCertifier:
    """:class:`~kronpde.problem.certify.Certifier` of a :class:`~.backend.PetscSolver`, reduced.

    The serial formula (:func:`kronpde.problem.certify.certificate`) on this
    rank's rows, with the solver's sums over the ranks.

    Parameters
    ----------
    solver : PetscSolver
        The set-up solver (its ``Â``, ``D``, weights, diagonal, ``|Â|``).
    eigenvalue : EigenvalueBound or None
        :func:`eigenvalue_bound` of the solver.
    """

    def __init__(self, solver: Any, eigenvalue: EigenvalueBound | None):
        self.solver = solver
        self.eigenvalue = eigenvalue
        self.terms = rounding_terms(solver.problem)
        self.singular = bool(solver.problem.singular)
        self.size = solver.problem.size
        self.total = solver.weight_sum
        scale_norm = math.sqrt(self.total)  # ||D 1||_2
        self.null = solver._D / scale_norm  # this rank's part of v = D 1 / ||D 1||
        if solver.null is not None:  # a floating domain: v = D 1_domain / ||D 1_domain||
            self.null = solver._D * solver.null
            self.null /= math.sqrt(solver.reductions.sum(self.null * self.null))
        self.measure = Measure(
            weights=solver._w,
            scale=solver._D,
            null=self.null if self.singular else None,
            total=self.total,
            size=self.size,
            terms=self.terms,
            sums=solver.reductions,
        )

    def _apply(self, v: np.ndarray, matrix: Any = None) -> np.ndarray:
        """Return this rank's part of ``A v`` (``|A| v`` with ``matrix=|Â|``): ``D^{-1} Â D v``."""
        s = self.solver
        s._work.array[:] = s._D * v
        (s._A if matrix is None else matrix).mult(s._work, s._r)
        return np.asarray(s._r.array) / s._D

    def _absolute(self, absu: np.ndarray) -> np.ndarray:
        """Return this rank's part of ``|A| |u|`` (``2 diag |u| - A |u|``, or by ``|Â|``)."""
        s = self.solver
        if s.z_matrix:
            return np.maximum(2.0 * s._diagonal * absu - self._apply(absu), 0.0)
        return self._apply(absu, s._abs_A)

    def certify(self, u: np.ndarray, b: np.ndarray) -> Certificate:
        """Return the :class:`~kronpde.problem.certify.Certificate` of ``u`` (collective).

        Parameters
        ----------
        u : ndarray
            This rank's unknowns.
        b : ndarray
            This rank's right-hand side (projected for a singular problem).

        Returns
        -------
        Certificate
            The same numbers as the serial certificate, reduced over the ranks.
        """
        u = np.asarray(u, dtype=float).reshape(-1)
        b = np.asarray(b, dtype=float).reshape(-1)
        r = b - self._apply(u)
        return certificate(r, u, b, self._absolute, self.measure, self.eigenvalue)


def own_eigenvalue(solver: Any) -> EigenvalueBound | None:
    """Return the problem's own bound (from the 1-D operators, which every rank has)."""
    return solver.problem.smallest_eigenvalue()


def rows_eigenvalue(solver: Any) -> EigenvalueBound | None:
    """Return the flux form's bound from the ranks' rows: the serial formula, reduced.

    :func:`kronpde.problem.spectrum.variable_bound` with ``k_min`` the
    smallest ``k`` the rows read (over the ranks; on cell-centred axes the
    boundary faces' ``k`` too), ``Â`` applied by PETSc and the solver's sums.
    """
    p = solver.problem
    unit = p.discretisation.unit_bound(bool(p.singular))
    if unit is None:
        return None
    k_min = -solver.allreduce(-float(solver.k_min), "max")

    def apply(x: np.ndarray) -> np.ndarray:
        solver._work.array[:] = x
        solver._A.mult(solver._work, solver._r)
        return np.array(solver._r.array)

    null = solver._D / math.sqrt(solver.weight_sum) if p.singular else None
    found = variable_bound(
        unit, k_min, p.shift, apply, solver._diagonal, null, p.grid.dimension, solver.reductions
    )
    return certified_eigenvalue(found)


# --------------------------------------------------------------------------- exact


def local_exact(solver: Any, exact: Any) -> np.ndarray:
    """Return an exact solution at this rank's unknowns (flat): evaluated, or read from an array.

    Parameters
    ----------
    solver : PetscSolver
        The solver (its box).
    exact : number, str, Expression, callable or ndarray
        As :func:`kronpde.solvers.accuracy.exact_unknowns`: an array over the
        grid's points or its unknowns (the global array; each rank reads its
        part), anything else evaluated at the rank's unknowns only.

    Raises
    ------
    OptionError
        For an array of another shape, or values that are not finite (on any rank).
    DataError
        For a bad expression (its ``subject`` is ``"exact"``).
    """
    g = solver.problem.grid
    lo, hi = solver.lo, solver.hi
    if isinstance(exact, np.ndarray) and exact.ndim > 0:
        out = np.array(exact_array(g, exact)[solver.box], dtype=float).reshape(-1)
    else:  # on the points the box owns, checked together: the serial check's message
        value = check_data(exact, "exact", dimension=g.dimension)
        points, owned = box_points(g, tuple(lo), tuple(hi))
        mine = [p[o] for p, o in zip(points, owned, strict=True)]
        values = None
        try:
            coords = np.meshgrid(
                *[a.points[ix] for a, ix in zip(g.axes, mine, strict=True)],
                indexing="ij",
                sparse=True,
            )
            shape = tuple(ix.size for ix in mine)
            values = evaluate_data(value, coords, shape, "exact", check=False)
            survey = DataSurvey.of(values, mine)
        except DataError as exc:
            survey = DataSurvey.failed(exc)
        survey = solver._merge(survey)

        def point(index: tuple[int, ...]) -> list[float]:
            return [float(a.points[j]) for a, j in zip(g.axes, index, strict=True)]

        survey.raise_error(value, "exact", point)
        take = tuple(
            slice(a.unknown_slice.start + low - int(ix[0]), a.unknown_slice.start + h - int(ix[0]))
            for a, low, h, ix in zip(g.axes, lo, hi, mine, strict=True)
        )
        out = np.array(values[take], dtype=float).reshape(-1)
    inside = solver.problem.discretisation.domain_unknowns()
    if inside is not None:  # a domain inside the box: measured there only (x is 0 elsewhere)
        out = np.where(inside.reshape(g.shape)[solver.box].reshape(-1), out, 0.0)
    bad = solver.allreduce(float(np.count_nonzero(~np.isfinite(out))))
    if bad:
        msg = "exact contains NaN or infinity"
        raise OptionError(msg)
    return out


# --------------------------------------------------------------------------- Richardson


def coarse_ownership(fine: Any, coarse_grid: Any) -> tuple[np.ndarray, ...] | None:
    """Return DMDA ownership ranges that give each coarse unknown to the rank owning its place.

    Per axis, a coarse unknown goes to the rank whose fine box holds the fine
    point nearest below it (its own point where the coarse points are fine
    nodes), so that the restriction is local there.  None where some rank
    would own no coarse unknown along an axis (PETSc's own split is used then).
    """
    out = []
    ranges = list(reversed(fine._da.getOwnershipRanges()))  # kronpde's axis order
    for a, (f, c) in enumerate(zip(fine.problem.grid.axes, coarse_grid.axes, strict=True)):
        counts = np.asarray(ranges[a])
        fine_points = f.points[f.unknown_slice]
        coarse_points = c.points[c.unknown_slice] + 1e-9 * f.h  # a shared node is its own
        where = np.searchsorted(fine_points, coarse_points, side="right") - 1
        where = np.clip(where, 0, fine_points.size - 1)
        owner = np.searchsorted(np.cumsum(counts), where, side="right")
        owned = np.bincount(owner, minlength=counts.size)
        if owned.size != counts.size or np.any(owned == 0):
            return None
        out.append(owned)
    return tuple(out)


class Restriction(SpaceRestriction):
    """The fine iterate at the coarse unknowns of a rank's coarse box: the serial resampling.

    Made once per pair of solvers; :meth:`difference` then costs one PETSc
    scatter of the fine field (local where the coarse points lie in the rank's
    fine box) and the per-axis resampling of
    :func:`kronpde.solvers.coarse.coarse_problem` (the identity at shared
    nodes, Lagrange weights elsewhere).

    Parameters
    ----------
    fine, coarse : PetscSolver
        The solvers of the fine and the coarse problem (the same ranks).
    resample : sequence
        Per axis, the resampling from the fine points to the coarse points.
    """

    def __init__(self, fine: Any, coarse: Any, resample: Sequence[Any]):
        super().__init__(coarse)
        self.fine = fine
        self.parts: list[tuple[np.ndarray, np.ndarray | None]] = []
        box = []
        for a, (axis, r) in enumerate(zip(coarse.problem.grid.axes, resample, strict=True)):
            points = axis.unknown_slice.start + np.arange(coarse.lo[a], coarse.hi[a])
            if r.stride is not None:
                index = (points * r.stride)[:, None]
                weights = None
            else:
                index, weights = r.index[points], r.weights[points]
            first = int(index.min()) if index.size else 0
            last = int(index.max()) if index.size else 0
            box.append(slice(first, last + 1))
            self.parts.append((index - first, weights))
        self.fetch = PointFetch(fine, tuple(box))

    def restrict(self, x: np.ndarray) -> np.ndarray:
        """Return the fine unknowns ``x`` (this rank's) at its coarse unknowns (collective)."""
        field = self.fetch(x)
        for a, (index, weights) in enumerate(self.parts):
            if weights is None:
                field = np.take(field, index[:, 0], axis=a)
                continue
            field = combine(field, index, weights, a)
        return field.reshape(-1)

    def close(self) -> None:
        """Destroy the scatter of the fine field."""
        self.fetch.destroy()
