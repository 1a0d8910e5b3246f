"""The report of a solve: :class:`SolveReport`, :class:`Solution`, a method's :class:`Outcome`.

A method's ``solve`` returns an :class:`Outcome`; the serial driver and the
PETSc backend make the :class:`SolveReport` of it (:func:`make_report`) and
return a :class:`Solution`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "PROJECTED_WARNING",
    "Outcome",
    "Solution",
    "SolveReport",
    "make_report",
    "projection_warning",
]


@dataclass(frozen=True, eq=False)
class SolveReport:
    """How a solve went.

    Attributes
    ----------
    method : str
        The method that ran (never ``"auto"``).
    requested : str
        The method asked for (possibly ``"auto"``).
    reason : str
        Why this method ran (what ``"auto"`` looked at, or "requested").
    converged : bool
        Whether the tolerance was met (exact methods: whether the result is
        finite; the tolerance is not theirs to meet).
    iterations : int
        CG iterations over all rounds (0 for ``direct`` and ``fastdiag``).
    residual_norms : ndarray
        Iterative methods: ``||D b - Â y_k||_2 = ||D (b - A u_k)||_2``, the
        residual of the symmetrised system CG works on, entry 0 the initial
        one, one entry per iteration (rounds concatenated).  Empty for
        ``direct`` and ``fastdiag``.
    relative_residual : float
        The true ``||b - A u||_2 / ||b||_2`` of the unsymmetrised system for
        the returned ``u``; for a singular problem ``b`` is the projected
        right-hand side.  NaN where it was not computed (an exact method with
        ``check=False``).
    setup_seconds : float
        Wall time of :func:`~kronpde.solvers.prepare` (assembly, hierarchy,
        factorisation, eigenpairs).
    solve_seconds : float
        Wall time of this solve, without the discretisation-error estimate.
    projected_norm : float
        ``||b - b_projected||_2 / ||b||_2``: how much of ``b`` a singular
        problem's projection removed (0 for nonsingular problems; NaN where
        ``fastdiag`` projected it unchecked, ``check=False``, and did not
        measure it).
    message : str
        One or two sentences with the numbers.
    options : dict
        The effective options of the method (defaults filled in).
    algebraic_error_bound : float or None
        A certified upper bound on ``||u - u_h||_W``, the distance of the
        returned ``u`` from the exact solution ``u_h`` of the discrete system
        in the discrete L² norm of the trapezoid weights
        (:meth:`kronpde.Problem.error_bound`); None where it was not computed
        (no eigenvalue bound is known, or ``check=False``).
    warnings : tuple of str
        Sentences on what the caller should know (e.g. an algebraic error
        bound above the estimated discretisation error); empty when all is well.
    discretisation_error : float or None
        The estimate of the discretisation error ``||u_h - u||_W`` the solve
        compared with (``rtol="auto"``, a known exact solution, or
        ``estimate=True``); None where none was made.
    discretisation_estimate : str or None
        Which estimate: ``"exact"`` or ``"richardson"`` (None: none made).
    checked : bool
        False for a solve with ``check=False``: no certified bound, and for
        the exact methods no residual (``relative_residual`` NaN) and no scan
        of ``u`` for NaN/infinity (``converged`` is then True unverified).
    estimate_seconds : float
        Wall time of the discretisation-error estimate (its coarse solves and
        its measure of ``u``), not counted in ``solve_seconds``; 0 where none
        was made.
    algebraic_error_estimate : float or None
        Where no eigenvalue bound is proven (``algebraic_error_bound`` None):
        an estimate of ``||u - u_h||_W``, not certified (the residual over an
        estimate of ``λ_min``); None elsewhere.
    eigenvalue_estimate : float or None
        The estimate of ``λ_min`` (``λ_2`` if singular) behind it.
    """

    method: str
    requested: str
    reason: str
    converged: bool
    iterations: int
    residual_norms: np.ndarray
    relative_residual: float
    setup_seconds: float
    solve_seconds: float
    projected_norm: float
    message: str
    options: dict = field(default_factory=dict)
    algebraic_error_bound: float | None = None
    warnings: tuple[str, ...] = ()
    discretisation_error: float | None = None
    discretisation_estimate: str | None = None
    checked: bool = True
    estimate_seconds: float = 0.0
    algebraic_error_estimate: float | None = None
    eigenvalue_estimate: float | None = None


@dataclass(frozen=True, eq=False)
class Solution:
    """A solved problem.

    Attributes
    ----------
    u : ndarray, shape ``grid.point_shape``, or None
        The nodal field, Dirichlet values included (``problem.to_nodes(x)``);
        along a cell-centred axis its points are the cell centres.  None for a
        solve into ``out=`` (the caller's array holds the unknowns and no
        field is built; ``problem.to_nodes(x)`` builds it when wanted).
    x : ndarray, shape (n,)
        The unknowns (with ``out=``: a flat view of ``out``).
    report : SolveReport
        How it was obtained.
    """

    u: np.ndarray | None
    x: np.ndarray
    report: SolveReport


@dataclass(frozen=True, eq=False)
class Outcome:
    """What a method's ``solve`` knows about its result (the driver makes the report of it).

    Attributes
    ----------
    x : ndarray, shape (n,)
        The unknowns.
    converged : bool
        Whether the method met its target (exact methods: the result is finite).
    iterations : int
        Iterations over all rounds (0 for the exact methods).
    residual_norms : sequence of float
        The residual history (empty for the exact methods).
    relative_residual : float or None
        ``||b - A u|| / ||b||`` if the method computed it (the iterative ones
        do); None leaves it to the driver.
    message : str or None
        The method's sentence; None lets the driver write the one of an exact solve.
    certificate : Certificate or None
        The :class:`~kronpde.problem.certify.Certificate` of ``x`` if the method
        computed it (the iterative ones do); None leaves it to the driver.
    warnings : tuple of str
        Sentences for the report's ``warnings`` (e.g. a rounding limit).
    projected_norm : float or None
        For a method that projects a singular problem's data itself and was
        given ``b`` unprojected: ``||b - b_projected|| / ||b||``; None otherwise.
    """

    x: np.ndarray
    converged: bool
    iterations: int = 0
    residual_norms: Sequence[float] = ()
    relative_residual: float | None = None
    message: str | None = None
    certificate: Any = None
    warnings: tuple[str, ...] = ()
    projected_norm: float | None = None


#: A singular problem's data whose projected part exceeds this fraction of ``||b||_2`` warn.
PROJECTED_WARNING = 1e-6

#: Above this fraction the data were mostly removed: the warning says so loudly.
PROJECTED_MOST = 0.5


def projection_warning(projected_norm: float) -> str:
    """Return the warning of a singular problem's projected data ('' where it is small).

    Parameters
    ----------
    projected_norm : float
        ``||b - b_projected||_2 / ||b||_2`` (NaN: not measured, no warning).
    """
    if not projected_norm > PROJECTED_WARNING:
        return ""
    if projected_norm > PROJECTED_MOST:
        return (
            f"INCOMPATIBLE DATA: {100.0 * projected_norm:.3g}% of the right-hand side "
            "(relative 2-norm ||b - b_projected||_2 / ||b||_2 = "
            f"{projected_norm:.3e}) was removed to make this singular problem (pure "
            "Neumann or periodic, c = 0) solvable: the source and the boundary fluxes do not "
            "balance, and u solves the projected problem, not the one given."
        )
    return (
        f"The data of this singular problem (pure Neumann or periodic, c = 0) are not "
        f"compatible: a part of relative 2-norm ||b - b_projected||_2 / ||b||_2 = "
        f"{projected_norm:.3e} (above {PROJECTED_WARNING:g}) was projected away; the "
        "source and the boundary fluxes do not balance exactly."
    )


def make_report(
    prepared: Any,
    *,
    converged: bool,
    iterations: int,
    residual_norms: Sequence[float],
    relative_residual: float,
    solve_seconds: float,
    projected_norm: float,
    message: str,
    algebraic_error_bound: float | None = None,
    warnings: Sequence[str] = (),
    discretisation_error: float | None = None,
    discretisation_estimate: str | None = None,
    checked: bool = True,
    estimate_seconds: float = 0.0,
    algebraic_error_estimate: float | None = None,
    eigenvalue_estimate: float | None = None,
) -> SolveReport:
    """Make the :class:`SolveReport` of one solve by a prepared solver (serial or PETSc).

    ``prepared`` supplies ``method``, ``requested``, ``reason``,
    ``setup_seconds`` and ``options``; a singular problem's projection is
    appended to ``message``, and the residual history is frozen (read-only).
    The accuracy fields (bound, warnings, estimate) default to "not computed".
    """
    if math.isnan(projected_norm):
        message += (
            " The right-hand side was projected onto the range of A (singular problem); "
            "the removed part was not measured (check=False)."
        )
    elif projected_norm > 0.0:
        message += (
            f" The right-hand side was projected onto the range of A (singular problem); "
            f"the removed part has relative norm {projected_norm:.3e}."
        )
    warning = projection_warning(projected_norm) if checked else ""  # check=False: silent
    if warning:
        warnings = (*warnings, warning)
    norms = np.array(residual_norms, dtype=np.float64)
    norms.flags.writeable = False
    return SolveReport(
        method=prepared.method,
        requested=prepared.requested,
        reason=prepared.reason,
        converged=bool(converged),
        iterations=int(iterations),
        residual_norms=norms,
        relative_residual=float(relative_residual),
        setup_seconds=prepared.setup_seconds,
        solve_seconds=solve_seconds,
        projected_norm=float(projected_norm),
        message=message,
        options=dict(prepared.options),
        algebraic_error_bound=None
        if algebraic_error_bound is None
        else float(algebraic_error_bound),
        warnings=tuple(warnings),
        discretisation_error=None if discretisation_error is None else float(discretisation_error),
        discretisation_estimate=discretisation_estimate,
        checked=bool(checked),
        estimate_seconds=float(estimate_seconds),
        algebraic_error_estimate=algebraic_error_estimate,
        eigenvalue_estimate=eigenvalue_estimate,
    )
