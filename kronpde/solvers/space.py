"""The unknowns of a solve as a backend holds them, and what the accuracy policy asks of them.

A :class:`SolveSpace` is the one interface through which the plan of a solve
(:mod:`kronpde.solvers.plan`) and the error estimates
(:mod:`kronpde.solvers.accuracy`) see a backend: the weights, the reductions
over the unknowns (:class:`Reductions`: trivial serially, over the ranks under
PETSc), the certificate, the eigenvalue bound, and the coarse solves of the
Richardson estimate.  :class:`SerialSpace` is the serial one (all the
unknowns, in this process); the PETSc solver is its own
(:class:`kronpde.solvers.petsc.backend.PetscSolver`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from kronpde.problem.certify import LocalSums, gamma
from kronpde.solvers.coarse import Resample, restrict
from kronpde.solvers.estimate import AUTO_FRACTION, ROUNDOFF_RTOL, Goal, zero_estimate
from kronpde.solvers.registry import method_class

if TYPE_CHECKING:
    from kronpde.problem.certify import Certificate, EigenvalueBound
    from kronpde.problem.protocol import SolvableProblem
    from kronpde.solvers.estimate import ErrorEstimate, Unavailable

__all__ = ["Reductions", "Restriction", "SerialSpace", "SolveSpace"]


class Reductions(LocalSums):
    """Sums over the unknowns of a solve: here, in one process, plain NumPy.

    The :class:`~kronpde.problem.spectrum.Sums` the certified bounds take
    (``dot``, ``norm``, ``squares``, ``largest``), and the sum and allreduce of
    the accuracy policy.  The PETSc backend's subclass sums each rank's part
    over the ranks.
    """

    def sum(self, values: np.ndarray) -> float:
        """Return the sum of ``values``."""
        return float(np.sum(values))

    def allreduce(self, value: float, op: str = "sum") -> float:
        """Return ``value`` summed (``"sum"``) or maximised (``"max"``) over the processes."""
        return float(value)


class Restriction:
    """A fine iterate at the coarse unknowns of the Richardson estimate.

    Parameters
    ----------
    coarse : SolveSpace
        The coarse unknowns.
    """

    def __init__(self, coarse: SolveSpace):
        self.coarse = coarse

    def restrict(self, x: np.ndarray) -> np.ndarray:
        """Return the fine unknowns ``x`` at the coarse unknowns."""
        raise NotImplementedError

    def difference(self, x: np.ndarray, xc: np.ndarray) -> float:
        """Return ``||I x - x_c||_{W_c}`` over the coarse unknowns (mod constants if singular)."""
        d = self.restrict(np.asarray(x).reshape(-1)) - xc
        keep = self.coarse.problem.discretisation.domain_unknowns()
        if keep is not None:  # a domain inside the box: where both grids have unknowns only
            fine = getattr(self, "fine", None)
            if fine is not None:
                inside = fine.problem.discretisation.domain_unknowns()
                covered = self.restrict(inside.astype(float))  # 1: every point read is inside
                keep = keep & (np.abs(covered - 1.0) <= 1e-12)
            d = np.where(keep, d, 0.0)
        return self.coarse.weighted_norm(d, self.coarse.singular)

    def close(self) -> None:
        """Free what the restriction holds (nothing here)."""


class SolveSpace:
    """The unknowns of a solve and the numbers the accuracy policy needs of them.

    A subclass sets :attr:`problem`, :attr:`reductions`, :attr:`weights`
    (this process's ``W``, flat), :attr:`scale` (``D = W^{1/2}``) and
    :attr:`weight_sum`, and supplies the methods that raise
    ``NotImplementedError`` here.

    Attributes
    ----------
    richardson : ErrorEstimate, Unavailable or None
        The Richardson estimate, made on first use (or why there is none).
    coarse_parts : tuple or None
        The coarse space and restriction that estimate measures with (kept alive with it).
    """

    problem: SolvableProblem
    reductions: Reductions
    weights: np.ndarray
    scale: np.ndarray
    weight_sum: float
    richardson: ErrorEstimate | Unavailable | None = None
    coarse_parts: tuple[SolveSpace, Restriction] | None = None
    #: The null vector of a singular ``A`` where it is not the constants (a floating domain
    #: inside the box: 1 on its unknowns, 0 elsewhere); None: the constants.
    null: np.ndarray | None = None

    @property
    def singular(self) -> bool:
        """Whether ``A`` has the constants as its null space."""
        return bool(self.problem.singular)

    # -- what a backend supplies ----------------------------------------------------------
    def certify(self, x: np.ndarray, b: np.ndarray) -> Certificate:
        """Return the :class:`~kronpde.problem.certify.Certificate` of ``x`` for ``A x = b``."""
        raise NotImplementedError

    def eigenvalue(self) -> EigenvalueBound | None:
        """Return the certified lower bound on ``λ_min(A)`` (None: none known)."""
        raise NotImplementedError

    def goal_floor(self) -> float:
        """Return ``γ_K max |diag A|``: times ``||u||_W``, the rounding level of the residual."""
        raise NotImplementedError

    def weighted_mean(self, values: np.ndarray) -> float:
        """Return the ``W``-weighted mean of ``values``."""
        raise NotImplementedError

    def own_rhs(self) -> np.ndarray:
        """Return a copy of the problem's own right-hand side (this process's, flat)."""
        raise NotImplementedError

    def coarse(self, problem: SolvableProblem) -> SolveSpace:
        """Return the space of a coarse problem (the Richardson estimate)."""
        raise NotImplementedError

    def restriction(self, coarse: SolveSpace, resample: Sequence[Resample]) -> Restriction:
        """Return the restriction of this space's iterates to ``coarse``'s unknowns."""
        raise NotImplementedError

    def iterate_to(self, b: np.ndarray, x0: np.ndarray | None, goal: Goal | None) -> np.ndarray:
        """Solve ``A x = b`` (projected) iteratively to ``ROUNDOFF_RTOL``, or to ``goal``."""
        raise NotImplementedError

    def direct_solution(self, b: np.ndarray) -> np.ndarray | None:
        """Return ``x`` solved exactly where this space can (None: it iterates)."""
        return None

    def solves_directly(self) -> bool:
        """Return whether :meth:`direct_solution` solves this space's problem (else None)."""
        return False

    # -- what every backend shares ----------------------------------------------------------
    def remove_mean(self, x: np.ndarray) -> np.ndarray:
        """Remove a singular problem's weighted mean from ``x`` (in place)."""
        if self.singular:
            mean = self.weighted_mean(x)
            x -= mean if self.null is None else mean * self.null
        return x

    def project(self, b: np.ndarray) -> tuple[np.ndarray, float]:
        """Return ``b`` projected onto the range of ``A`` and the relative norm removed.

        :meth:`kronpde.Problem.project_rhs`: a singular problem's weighted mean
        is removed; other problems keep ``b``.
        """
        if not self.singular:
            return b, 0.0
        norm_b = self.reductions.norm(b)
        mean = self.weighted_mean(b)
        count = self.problem.size if self.null is None else self.reductions.sum(self.null)
        removed = abs(mean) * math.sqrt(count)
        shift = mean if self.null is None else mean * self.null
        return b - shift, (removed / norm_b if norm_b > 0 else 0.0)

    def weighted_norm(self, values: np.ndarray, singular: bool) -> float:
        """Return ``||v||_W`` (modulo constants if ``singular``)."""
        w = self.weights
        red = self.reductions
        if singular and self.null is not None:  # a floating domain: its own mean
            wn = w * self.null
            values = (values - red.dot(wn, values) / red.sum(wn)) * self.null
        elif singular:
            values = values - red.dot(w, values) / self.weight_sum
        return math.sqrt(max(red.dot(w, values * values), 0.0))

    def goal(self, estimator: ErrorEstimate | None) -> Goal | None:
        """Return what ``rtol="auto"`` asks of an iterative method (None: it cannot ask)."""
        if estimator is None:
            return None
        eigenvalue = self.eigenvalue()
        if eigenvalue is None:
            return None
        floor = self.goal_floor() * estimator.solution_norm
        return Goal(estimator, eigenvalue.value, AUTO_FRACTION, floor)

    def solve_to_roundoff(self) -> tuple[np.ndarray, float | None]:
        """Solve the problem's own system to round-off; return the unknowns and their bound.

        Exactly where the space can (:meth:`direct_solution`); else first to
        :data:`~kronpde.solvers.estimate.ROUNDOFF_RTOL` (which a residual
        computed in float64 can always show), then from there to the rounding
        level of the residual itself (a :class:`~kronpde.solvers.estimate.Goal`
        with a zero estimate: CG runs to ``||D r||`` about ``γ_K max(diag A)
        ||u||_W`` and stops, instead of chasing a relative tolerance it cannot see).
        """
        b, _ = self.project(self.own_rhs())
        x = self.direct_solution(b)
        if x is None:
            x = self.iterate_to(b, None, None)
            goal = self.goal(zero_estimate(self.weighted_norm(x, False)))
            if goal is not None:
                x = self.iterate_to(b, x, goal)
        return x, self.certify(x, b).bound

    def solve_for_estimate(
        self, estimate: ErrorEstimate, fraction: float
    ) -> tuple[np.ndarray, float | None]:
        """Solve the problem's own system to the accuracy an estimate needs; return x and bound.

        Exactly where the space can; else iteratively until the certified
        algebraic error is at most ``fraction`` times ``estimate`` of the
        iterate (a Richardson estimate needs its coarse solution to a tenth
        of the estimate, not to round-off); to round-off where no goal can
        be set (no eigenvalue bound).
        """
        b, _ = self.project(self.own_rhs())
        x = self.direct_solution(b)
        if x is None:
            goal = self.goal(estimate)
            if goal is None:
                return self.solve_to_roundoff()
            x = self.iterate_to(b, None, replace(goal, fraction=fraction))
        return x, self.certify(x, b).bound


class _NodalRestriction(Restriction):
    """The serial restriction: the fine nodal field resampled at the coarse points."""

    def __init__(self, fine: SerialSpace, coarse: SerialSpace, resample: Sequence[Resample]):
        super().__init__(coarse)
        self.fine = fine
        self.resample = resample

    def restrict(self, x: np.ndarray) -> np.ndarray:
        """Return the fine unknowns ``x`` at the coarse unknowns."""
        at_coarse = restrict(self.fine.field(x), self.resample)
        return self.coarse.problem.grid.from_nodes(at_coarse).reshape(-1)


class SerialSpace(SolveSpace):
    """All the unknowns of a problem, in this process.

    Parameters
    ----------
    problem : SolvableProblem
        The problem.
    """

    def __init__(self, problem: SolvableProblem):
        self.problem = problem
        self.reductions = Reductions()
        self._method: Any = None  # the coarse solves' fastdiag-cg, made on first use
        # (x, field): the nodal field of the unknowns x, built once by the driver for the
        # solution and the estimate alike; None outside that one solve
        self.nodal: tuple[np.ndarray, np.ndarray] | None = None

    # made on first use: a lean exact solve (check=False) never needs them, so that a
    # prepared in-place solve holds no array of the grid's size beyond b
    @cached_property
    def weights(self) -> np.ndarray:  # type: ignore[override]
        """``W`` on the unknowns, flat (the problem's, read-only)."""
        return self.problem.unknown_weights

    @cached_property
    def scale(self) -> np.ndarray:  # type: ignore[override]
        """``D = W^{1/2}``, flat."""
        return self.problem.symmetric_scale

    @cached_property
    def weight_sum(self) -> float:  # type: ignore[override]
        """``Σ W``."""
        return float(self.weights.sum())

    @cached_property
    def null(self) -> np.ndarray | None:  # type: ignore[override]
        """The null vector of a floating domain's ``A`` (None: the constants, or none)."""
        return self.problem.discretisation.null_vector()

    def field(self, x: np.ndarray) -> np.ndarray:
        """Return the nodal field of the unknowns ``x`` (the one the driver built, if it is x's).

        A domain inside the box blanks its outside with NaN; here it is 0 (the
        Richardson estimate interpolates it, then measures the domain only).
        """
        field = None
        if self.nodal is not None:
            given, made = self.nodal
            if given.size == x.size and np.shares_memory(given, x):
                if given.__array_interface__["data"] == x.__array_interface__["data"]:
                    field = made
        if field is None:
            field = self.problem.to_nodes(x)
        if self.problem.discretisation.domain_points() is not None:
            field = np.where(np.isnan(field), 0.0, field)
        return field

    def certify(self, x: np.ndarray, b: np.ndarray) -> Certificate:
        """Return :meth:`kronpde.Problem.error_bound` of ``x``."""
        return self.problem.error_bound(x, b)

    def eigenvalue(self) -> EigenvalueBound | None:
        """Return :meth:`kronpde.Problem.smallest_eigenvalue`."""
        return self.problem.smallest_eigenvalue()

    def goal_floor(self) -> float:
        """Return ``γ_K max |diag A|`` (``K`` the discretisation's ``residual_terms()``)."""
        p = self.problem
        terms = p.discretisation.residual_terms()
        return gamma(terms) * float(np.max(np.abs(p.diagonal()), initial=0.0))

    def weighted_mean(self, values: np.ndarray) -> float:
        """Return :meth:`kronpde.Problem.weighted_mean`."""
        return self.problem.weighted_mean(values)

    def own_rhs(self) -> np.ndarray:
        """Return a copy of ``problem.rhs()``, flat."""
        return self.problem.rhs_values.reshape(-1).copy()

    def coarse(self, problem: SolvableProblem) -> SerialSpace:
        """Return the space of ``problem``."""
        return SerialSpace(problem)

    def restriction(self, coarse: SolveSpace, resample: Sequence[Resample]) -> Restriction:
        """Return the nodal resampling to ``coarse``'s unknowns."""
        return _NodalRestriction(self, coarse, resample)

    def solves_directly(self) -> bool:
        """Return whether the problem is fast-diagonalizable (``fastdiag`` solves it)."""
        return self.problem.discretisation.fast_solve_obstacle() is None

    def direct_solution(self, b: np.ndarray) -> np.ndarray | None:
        """Return ``fastdiag``'s solution where the problem is fast-diagonalizable."""
        if not self.solves_directly():
            return None
        return method_class("fastdiag")(self.problem).solve(b).x

    def iterate_to(self, b: np.ndarray, x0: np.ndarray | None, goal: Goal | None) -> np.ndarray:
        """Solve by ``fastdiag-cg`` (a variable ``k``, Robin at order 4), else ``amg-cg``."""
        if self._method is None:  # amg-cg where no fast solve is near (a curvilinear grid)
            name = "fastdiag-cg"
            if method_class(name).refusal(self.problem) is not None:
                name = "amg-cg"
            self._method = method_class(name)(self.problem)
        maxiter = 10 * self.problem.size
        if goal is None:
            found = self._method.solve(b, x0=x0, target=ROUNDOFF_RTOL, maxiter=maxiter)
        else:
            found = self._method.solve(b, x0=x0, goal=goal, maxiter=maxiter)
        return np.array(found.x)
