"""The accuracy policy of a solve, in one place for the serial driver and the PETSc backend.

:func:`plan_solve` decides, before the method runs, which discretisation-error
estimate a solve makes, the goal of ``rtol="auto"`` or the residual target,
and the warnings of a fallback (:class:`SolvePlan`); :meth:`SolvePlan.conclude`
says, after it ran, what the report carries of the certified bound and the
estimate.  The backends supply only their unknowns and reductions
(:class:`~kronpde.solvers.space.SolveSpace`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kronpde.problem.settings import AUTO
from kronpde.problem.spectrum import UNIT_ROUNDOFF
from kronpde.solvers.accuracy import exact_estimate, richardson_estimate
from kronpde.solvers.estimate import FALLBACK_RTOL, ErrorEstimate, Goal, Unavailable
from kronpde.solvers.space import SolveSpace

__all__ = [
    "SolvePlan",
    "accuracy_notes",
    "choose_estimate",
    "floor_warning",
    "plan_solve",
    "rounding_floor",
]

#: Why a right-hand side other than the problem's own has no Richardson estimate.
_NOT_OWN = (
    "b is not the problem's own right-hand side, so the coarse grid has no "
    "counterpart of it (pass exact= to compare with a known solution)"
)


def choose_estimate(
    space: SolveSpace, b: np.ndarray, exact: np.ndarray | None, own_rhs: bool
) -> tuple[ErrorEstimate | None, str]:
    """Return the discretisation-error estimate of a solve, or None and why not.

    The exact solution when there is one, else Richardson for the problem's
    own right-hand side (made once per space, kept in ``space.richardson``).

    Parameters
    ----------
    space : SolveSpace
        The unknowns.
    b : ndarray
        The right-hand side solved for (projected if singular).
    exact : ndarray or None
        The exact solution at the space's unknowns.
    own_rhs : bool
        Whether ``b`` is the problem's own right-hand side.
    """
    if exact is not None:
        return exact_estimate(space, exact, b), ""
    if not own_rhs:
        return None, _NOT_OWN
    if space.richardson is None:
        try:
            space.richardson = richardson_estimate(space)
        except Unavailable as exc:
            space.richardson = exc
    if isinstance(space.richardson, Unavailable):
        return None, str(space.richardson)
    return space.richardson, ""


def rounding_floor(problem: Any) -> float:
    """Return the smallest relative residual ``||b - A u|| / ||b||`` float64 shows here.

    Each entry of a computed ``b - A u`` carries a rounding error of about
    ``sqrt(K) u_r (|A||u|)_i`` (``K`` the discretisation's
    ``residual_terms()``, ``u_r`` the unit roundoff); for the smoothest
    solution ``|A||u| <= (1 + 2 max|diag A| / λ_min) |b|``.  Hence about
    ``sqrt(K) u_r (1 + 2 max|diag A| / λ_min)`` (``λ_min`` the certified
    bound; ``sqrt(K) u_r`` where none is known): a target below it is one no
    iteration can show it met.
    """
    terms = problem.discretisation.residual_terms()
    floor = math.sqrt(terms) * UNIT_ROUNDOFF
    eigenvalue = problem.smallest_eigenvalue()
    if eigenvalue is not None and eigenvalue.value > 0.0:
        diagonal = float(np.max(np.abs(problem.diagonal()), initial=0.0))
        floor *= 1.0 + 2.0 * diagonal / eigenvalue.value
    return floor


def floor_warning(rtol: float, floor: float) -> str:
    """Return the warning of a numeric ``rtol`` raised to the rounding ``floor``."""
    return (
        f"rtol = {rtol:.3g} is below the rounding floor {floor:.3g} of this operator's "
        "residual in float64 (sqrt(K) u (1 + 2 max|diag A| / lambda_min), K the rounded "
        "operations per entry), which no computed residual can show: rtol was raised to "
        f"{floor:.3g} instead of iterating to maxiter (rtol='auto' stops at the accuracy "
        "the grid allows)."
    )


def _advice(*, auto: bool, exact: bool, converged: bool) -> str:
    """Return what the accuracy warning advises, fitting the solve (never what is already so)."""
    if exact:
        return (
            "an exact method's algebraic error is its rounding, amplified by the conditioning "
            "of A: no rtol changes it"
        )
    if not converged:
        return "the solve stopped before its target: raise maxiter"
    if auto:
        return "rtol='auto' stopped at the rounding limit of float64, which no rtol lowers"
    return "lower rtol, or use rtol='auto'"


def accuracy_notes(
    bound: float | None,
    computed: bool,
    error: float | None,
    estimator: ErrorEstimate | None,
    goal: Goal | None,
    warned: bool,
    *,
    rounding: float | None = None,
    auto: bool = False,
    exact: bool = False,
    converged: bool = True,
    estimated: tuple[float, float] | None = None,
) -> tuple[str, list[str]]:
    """Return what a report says of the certified bound and the error estimate.

    Parameters
    ----------
    bound : float or None
        The certified bound on ``||u - u_h||_W``; None where no lower bound on
        ``λ_min`` is known (a warning says so).
    computed : bool
        Whether a bound was asked for at all (False for ``check=False``: the
        caller's message says so, nothing is added here about the bound).
    error : float or None
        The estimate of the discretisation error at the returned ``u``.
    estimator : ErrorEstimate or None
        Where ``error`` came from (its ``kind`` and ``description``).
    goal : Goal or None
        The ``rtol="auto"`` goal, whose own message gives the bound already.
    warned : bool
        Whether the solve warned already (then no second warning on the bound).
    rounding : float or None, optional
        The certificate's rounding part of the bound (``rounding / λ``): a
        bound within twice it is the rounding floor, not a solver's shortfall,
        and gets no warning.
    auto : bool, optional
        Whether ``rtol`` is ``"auto"`` (never advised again).
    exact : bool, optional
        Whether the method is exact (never advised to lower ``rtol``).
    converged : bool, optional
        Whether the method met its target (else the advice is ``maxiter``).
    estimated : tuple of float, optional
        ``(λ̃, e)``: where no bound is proven, an estimate ``λ̃`` of
        ``λ_min`` and the algebraic error ``e`` it implies (not certified).

    Returns
    -------
    text : str
        Sentences to append to the report's message (each with a leading space).
    warnings : list of str
        Warnings to add to the report.
    """
    text, warnings = "", []
    if computed and bound is None:
        warnings.append(
            "The algebraic error bound was not computed: no certified lower bound on the "
            "smallest eigenvalue of A is known for this problem."
            + (
                ""
                if estimated is None
                else f" Estimated (not certified): lambda_min ~ {estimated[0]:.3e}, so "
                f"||u - u_h||_W ~ {estimated[1]:.3e}."
            )
        )
        if estimated is not None:
            text += (
                f" Estimated algebraic error ||u - u_h||_W ~ {estimated[1]:.3e} "
                f"(an estimate, not certified: lambda_min ~ {estimated[0]:.3e} estimated)."
            )
    elif computed:
        if goal is None:
            text += f" Certified algebraic error ||u - u_h||_W <= {bound:.3e}."
        floor = 0.0 if rounding is None else 2.0 * rounding
        if error is not None and bound > max(error, floor) and not warned:
            advice = _advice(auto=auto, exact=exact, converged=converged)
            warnings.append(
                f"The certified algebraic error {bound:.3e} exceeds the estimated "
                f"discretisation error {error:.3e} ({estimator.kind}): the solution may be "
                f"less accurate than the grid allows; {advice}."
            )
    if error is not None:
        text += (
            f" Estimated discretisation error {error:.3e}: {estimator.description}."
            if goal is None
            else f" The estimate: {estimator.description}."
        )
    return text, warnings


@dataclass(eq=False)
class SolvePlan:
    """What a solve is asked for: the estimate, the goal or target, the warnings so far.

    Attributes
    ----------
    estimator : ErrorEstimate or None
        The discretisation-error estimate the solve makes (None: none).
    goal : Goal or None
        What ``rtol="auto"`` asks of an iterative method (None: a residual target).
    target : float
        The relative residual target ``max(rtol, atol / ||b||)`` (``rtol="auto"``:
        :data:`~kronpde.solvers.estimate.FALLBACK_RTOL`).
    warnings : list of str
        The report's warnings so far (no estimate; the fallback of ``rtol="auto"``).
    """

    estimator: ErrorEstimate | None
    goal: Goal | None
    target: float
    warnings: list[str] = field(default_factory=list)
    auto: bool = False
    #: Where no bound on ``λ_min`` is proven: a function giving an estimate of it (or None).
    eigenvalue_estimate: Callable[[], float | None] | None = None

    def conclude(
        self,
        x: np.ndarray,
        certificate: Any,
        message: str,
        warned: tuple[str, ...] = (),
        *,
        said: bool = False,
        exact: bool = False,
        converged: bool = True,
    ) -> dict[str, Any]:
        """Return the report's accuracy fields of a solve that returned ``x``.

        Parameters
        ----------
        x : ndarray
            The unknowns (this rank's under PETSc).
        certificate : Certificate or None
            Of ``x`` (None: not computed, ``check=False``).
        message : str
            The method's sentence; what is said of the bound and the estimate
            is appended.
        warned : tuple of str
            The method's own warnings (e.g. a rounding limit).
        said : bool
            Whether ``message`` says already that nothing was checked (then
            no sentence on the missing bound is added).
        exact : bool
            Whether the method is exact (the warning's advice fits it).
        converged : bool
            Whether the method met its target (the warning's advice fits it).

        Returns
        -------
        dict
            ``message``, ``algebraic_error_bound``, ``warnings``,
            ``discretisation_error``, ``discretisation_estimate`` and
            ``checked``: keywords of :func:`~kronpde.solvers.report.make_report`.
        """
        warnings = [*self.warnings, *warned]
        bound = None if certificate is None else certificate.bound
        if bound is not None and not math.isfinite(bound):
            bound = None
        estimator = self.estimator
        error = None if estimator is None else estimator(x)
        if certificate is None and not said:
            message += " The certified error bound was not computed (check=False)."
        rounding = None
        if bound is not None and certificate.eigenvalue:
            rounding = certificate.rounding / certificate.eigenvalue
        estimated = None
        if certificate is not None and bound is None and self.eigenvalue_estimate is not None:
            lam = self.eigenvalue_estimate()
            if lam is not None and lam > 0.0:
                residual = certificate.weighted_residual + certificate.rounding
                estimated = (lam, residual / lam + certificate.mean_term)
        text, notes = accuracy_notes(
            bound,
            certificate is not None,
            error,
            estimator,
            self.goal,
            bool(warned),
            rounding=rounding,
            auto=self.auto,
            exact=exact,
            converged=converged,
            estimated=estimated,
        )
        return {
            "algebraic_error_estimate": None if estimated is None else estimated[1],
            "eigenvalue_estimate": None if estimated is None else estimated[0],
            "message": message + text,
            "algebraic_error_bound": bound,
            "warnings": warnings + notes,
            "discretisation_error": error,
            "discretisation_estimate": None if estimator is None else estimator.kind,
            "checked": certificate is not None,
        }


def plan_solve(
    space: SolveSpace,
    b: np.ndarray,
    *,
    rtol: float | str,
    atol: float,
    nb: float,
    estimate: bool | None,
    exact: np.ndarray | None,
    own_rhs: Callable[[], bool],
    iterative: bool,
    goal: Goal | None = None,
) -> SolvePlan:
    """Return the plan of a solve of ``A u = b`` (``b`` projected): the one policy.

    Parameters
    ----------
    space : SolveSpace
        The unknowns (serial, or this rank's).
    b : ndarray
        The right-hand side (projected if singular).
    rtol, atol : float or "auto", float
        The checked tolerances (:func:`~kronpde.problem.settings.check_stopping`).
    nb : float
        ``||b||_2`` (NaN where it was not computed).
    estimate : bool or None
        Estimate the discretisation error: None with ``rtol="auto"`` or
        ``exact``, True always, False never.
    exact : ndarray or None
        The exact solution at the space's unknowns.
    own_rhs : callable
        Whether ``b`` is the problem's own right-hand side (asked only where
        the Richardson estimate could be made).
    iterative : bool
        Whether the method iterates (only an iterative method has a goal).
    goal : Goal, optional
        A given goal (the coarse solves of the Richardson estimate run to the
        rounding level with one): no estimate is then made.
    """
    auto = rtol == AUTO
    warnings: list[str] = []
    estimator, why = None, ""
    wanted = estimate is True or (estimate is None and (auto or exact is not None))
    if goal is None and wanted:
        estimator, why = choose_estimate(space, b, exact, exact is None and own_rhs())
        if estimator is None and not auto:
            warnings.append(f"No discretisation-error estimate: {why}.")
    if goal is None and auto and iterative:
        goal = space.goal(estimator)
        if goal is None:
            if estimator is not None:
                why = "no certified lower bound on the smallest eigenvalue of A"
            warnings.append(
                f"rtol='auto' fell back to rtol = {FALLBACK_RTOL:g}: no discretisation-error "
                f"estimate could be made ({why})."
            )
    if auto or goal is not None:
        target = FALLBACK_RTOL
    else:
        target = max(rtol, atol / nb) if nb > 0.0 else rtol
    problem = space.problem
    guess = None
    if problem.smallest_eigenvalue() is None:
        singular = bool(problem.singular)

        def guess() -> float | None:
            return problem.discretisation.eigenvalue_estimate(singular)

    return SolvePlan(estimator, goal, target, warnings, auto, guess)
