"""Verification runs: grid convergence against ``[exact]``, and every method on one case.

:func:`converge` solves a case on successively refined grids (cells × 2 per
level) and measures the nodal error against the case's known solution, the
way ``case-format.md`` states the scheme's accuracy (max norm, O(h²); O(h⁴) with
``[scheme] order = 4``).
:func:`compare_methods` runs every applicable solver method on one case and
measures each against the fast-diagonalization reference.  Neither writes a
file or draws a picture (that is :mod:`kronpde.app.pictures`); both return small
frozen dataclasses that the command line prints as tables or JSON.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from kronpde._checks import is_count
from kronpde.app.fields import CaseFields, error_norms
from kronpde.errors import CaseError, SolverError
from kronpde.geometry.grid import Grid
from kronpde.io.case import Case
from kronpde.solvers import METHODS, prepare, refusal, solve

if TYPE_CHECKING:
    from kronpde.solvers.result import SolveReport

__all__ = [
    "Comparison",
    "ConvergenceStudy",
    "Level",
    "MethodRun",
    "compare_methods",
    "converge",
    "observed_order",
    "largest_spacing",
    "refine_case",
    "require_exact",
]

#: Methods that solve exactly (to rounding): the reference, in order of preference.
EXACT_METHODS = ("fastdiag", "direct")


# --------------------------------------------------------------------------- refinement


def refine_case(case: Case, factor: int) -> Case:
    """Return the case on a grid with ``factor`` times the cells per axis (:meth:`Case.refined`).

    Bounds, boundary conditions, source, shift, coefficient, solver settings
    and ``[exact]`` stay as they are; ``case`` is not modified.

    Raises
    ------
    GridError
        If ``factor`` is not a positive integer.
    """
    return case.refined(factor)


def largest_spacing(grid: Grid) -> float:
    """Return the largest distance between neighbouring nodes (the ``h`` of a level).

    On a cell-centred axis the nodes are the cell faces: ``h`` is the widest cell.
    """
    return max(float(np.max(np.diff(x))) for x in grid.nodes)


def observed_order(h: Sequence[float], error: Sequence[float]) -> float | None:
    """Slope of ``log error`` against ``log h`` (least squares), or None.

    None when fewer than two levels have a positive finite error (an error at
    rounding level, e.g. for a solution the scheme reproduces exactly, has no
    order).

    Examples
    --------
    >>> round(observed_order([0.1, 0.05, 0.025], [1e-2, 2.5e-3, 6.25e-4]), 12)
    2.0
    """
    pairs = [(a, e) for a, e in zip(h, error, strict=True) if e > 0.0 and math.isfinite(e)]
    if len(pairs) < 2:
        return None
    x, y = np.log([a for a, _ in pairs]), np.log([e for _, e in pairs])
    return float(np.polyfit(x, y, 1)[0])


# --------------------------------------------------------------------------- converge


@dataclass(frozen=True)
class Level:
    """One grid of a convergence study.

    Attributes
    ----------
    cells : tuple of int
        Intervals per axis.
    h : float
        The largest spacing over the axes (every axis halves per level).
    unknowns : int
        Number of unknowns.
    error_max, error_rms : float
        Max and root-mean-square of ``u - u_exact`` over all nodes (Dirichlet
        nodes included; the cell centres along cell-centred axes), as
        ``kronpde solve`` reports them.
    order_max, order_rms : float or None
        Observed order from the previous level, ``log(e_prev / e) / log(h_prev / h)``;
        None on the first level or when an error is zero.
    method : str
        The method that ran.
    converged : bool
        Whether the solver met its tolerance.
    iterations : int
        Solver iterations (0 for the exact methods).
    relative_residual : float
        ``||b - A u|| / ||b||``.
    seconds : float
        Set-up plus solve time.
    message : str
        The solver's message.
    """

    cells: tuple[int, ...]
    h: float
    unknowns: int
    error_max: float
    error_rms: float
    order_max: float | None
    order_rms: float | None
    method: str
    converged: bool
    iterations: int
    relative_residual: float
    seconds: float
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Return the level as JSON-ready values (without the message)."""
        names = [f.name for f in dataclasses.fields(self) if f.name != "message"]
        return {name: _plain(getattr(self, name)) for name in names}


@dataclass(frozen=True)
class ConvergenceStudy:
    """The levels of a convergence study, coarsest first.

    Attributes
    ----------
    levels : tuple of Level
        The grids that ran (fewer than asked if a solve did not converge).
    requested : int
        Levels asked for.
    """

    levels: tuple[Level, ...]
    requested: int

    @property
    def converged(self) -> bool:
        """True when every level ran and every solve converged."""
        return len(self.levels) == self.requested and all(lv.converged for lv in self.levels)

    @property
    def order_max(self) -> float | None:
        """Least-squares order of the max error over all levels."""
        return observed_order([lv.h for lv in self.levels], [lv.error_max for lv in self.levels])

    @property
    def order_rms(self) -> float | None:
        """Least-squares order of the RMS error over all levels."""
        return observed_order([lv.h for lv in self.levels], [lv.error_rms for lv in self.levels])

    def to_dict(self) -> dict[str, Any]:
        """Return the study as JSON-ready values."""
        return {
            "levels": [lv.to_dict() for lv in self.levels],
            "requested_levels": self.requested,
            "converged": self.converged,
            "order_max": _plain(self.order_max),
            "order_rms": _plain(self.order_rms),
        }


def require_exact(case: Case) -> None:
    """Check that ``case`` has a known solution (``[exact] u``).

    Raises
    ------
    CaseError
        If it has none; the message says what to add.
    """
    if case.exact is None:
        msg = (
            "missing: a convergence study needs the known solution; add a table "
            '[exact] with u = "..." (an expression in the coordinates) to the case file'
        )
        raise CaseError(
            msg,
            file=str(case.path),
            key="[exact]",
        )


def _order(e_prev: float, e: float, h_prev: float, h: float) -> float | None:
    if not (e_prev > 0.0 and e > 0.0 and math.isfinite(e_prev) and math.isfinite(e)):
        return None
    return math.log(e_prev / e) / math.log(h_prev / h)


def converge(
    case: Case,
    levels: int,
    *,
    method: str | None = None,
    rtol: float | str | None = None,
    maxiter: int | None = None,
    on_level: Callable[[Level], Any] | None = None,
) -> ConvergenceStudy:
    """Solve ``case`` on ``levels`` grids (cells × 1, 2, 4, ...) and measure the error.

    Parameters
    ----------
    case : Case
        A case with ``[exact]``; its grid is the coarsest level.
    levels : int
        Number of grids, ``>= 2``.
    method, rtol, maxiter : optional
        Solver settings; by default the case's ``[solver]`` ones.
    on_level : callable, optional
        ``on_level(level)`` as soon as each level is done (to print rows as
        they come).

    Returns
    -------
    ConvergenceStudy
        Stops after the first level whose solve does not converge.

    Raises
    ------
    CaseError
        If the case has no ``[exact]`` solution.
    ValueError
        If ``levels < 2``.
    SolverError
        If the method cannot run on a level (e.g. ``direct`` on a grid too large).
    """
    require_exact(case)
    if not is_count(levels, 2):
        msg = f"levels must be an integer >= 2 (an order needs two grids), got {levels!r}"
        raise ValueError(msg)
    method = case.method if method is None else method
    rtol = case.rtol if rtol is None else rtol
    maxiter = case.maxiter if maxiter is None else maxiter

    done: list[Level] = []
    for k in range(int(levels)):
        level_case = case.refined(2**k)
        fields = CaseFields.of(level_case)
        solution = solve(level_case.problem, method, rtol=rtol, maxiter=maxiter, exact=fields.exact)
        report = solution.report
        norms = error_norms(fields.point_data(solution.u))  # over a domain's points only
        e_max, e_rms = norms["error_max"], norms["error_rms"]
        h = largest_spacing(level_case.grid)
        prev = done[-1] if done else None
        level = Level(
            cells=tuple(level_case.cells),
            h=h,
            unknowns=level_case.problem.domain_size,
            error_max=e_max,
            error_rms=e_rms,
            order_max=None if prev is None else _order(prev.error_max, e_max, prev.h, h),
            order_rms=None if prev is None else _order(prev.error_rms, e_rms, prev.h, h),
            method=report.method,
            converged=report.converged,
            iterations=report.iterations,
            relative_residual=report.relative_residual,
            seconds=report.setup_seconds + report.solve_seconds,
            message=report.message,
        )
        done.append(level)
        if on_level is not None:
            on_level(level)
        if not report.converged:
            break
    return ConvergenceStudy(levels=tuple(done), requested=int(levels))


def convergence_header() -> list[str]:
    """Return the two header lines of the convergence table printed by ``kronpde converge``."""
    return [
        f"{'level':>5}  {'cells':>14}  {'h':>10}  {'unknowns':>11}  {'max error':>10}  "
        f"{'order':>6}  {'rms error':>10}  {'order':>6}  {'iter':>6}  {'time s':>7}",
        "-" * 104,
    ]


def convergence_row(index: int, level: Level) -> str:
    """One row of the convergence table (see :func:`convergence_header`)."""
    cells = "x".join(map(str, level.cells))
    flag = "" if level.converged else "  NOT converged"
    return (
        f"{index:>5}  {cells:>14}  {level.h:>10.4e}  {level.unknowns:>11,}  "
        f"{level.error_max:>10.3e}  {_fmt_order(level.order_max)}  {level.error_rms:>10.3e}  "
        f"{_fmt_order(level.order_rms)}  {level.iterations:>6}  {level.seconds:>7.3f}{flag}"
    )


def _fmt_order(order: float | None) -> str:
    return f"{'-':>6}" if order is None else f"{order:>6.3f}"


# --------------------------------------------------------------------------- compare


@dataclass(frozen=True, eq=False)
class MethodRun:
    """One method on one case.

    Attributes
    ----------
    method : str
        The method's name.
    report : SolveReport or None
        Its report; None when the method was skipped.
    skipped : str or None
        Why the method did not run (e.g. ``direct`` on a grid too large), else None.
    max_difference : float or None
        ``max |u - u_ref|`` over all nodes, ``u_ref`` from the reference method;
        None when skipped or when no reference ran.
    error_max : float or None
        ``max |u - u_exact|`` over all nodes with ``[exact]``, else None.
    u : ndarray or None
        The nodal solution (None when skipped).
    """

    method: str
    report: SolveReport | None
    skipped: str | None = None
    max_difference: float | None = None
    error_max: float | None = None
    u: np.ndarray | None = None

    @property
    def iterative(self) -> bool:
        """True when the method has a residual history (CG-based methods)."""
        return self.report is not None and self.report.residual_norms.size > 0

    def to_dict(self) -> dict[str, Any]:
        """Return the run as JSON-ready values (no arrays but the residual history)."""
        r = self.report
        out: dict[str, Any] = {"method": self.method, "skipped": self.skipped}
        if r is not None:
            out.update(
                converged=r.converged,
                iterations=r.iterations,
                relative_residual=_plain(r.relative_residual),
                setup_seconds=_plain(r.setup_seconds),
                solve_seconds=_plain(r.solve_seconds),
                max_difference=_plain(self.max_difference),
                error_max=_plain(self.error_max),
            )
        return out


@dataclass(frozen=True, eq=False)
class Comparison:
    """Every method on one case.

    Attributes
    ----------
    runs : tuple of MethodRun
        In the order they ran, skipped ones included.
    reference : str or None
        The method the differences are measured against (``fastdiag``, else
        ``direct``); None when neither ran.
    """

    runs: tuple[MethodRun, ...]
    reference: str | None

    @property
    def converged(self) -> bool:
        """True when every method that ran met its tolerance."""
        return all(r.report.converged for r in self.runs if r.report is not None)

    def to_dict(self) -> dict[str, Any]:
        """Return the comparison as JSON-ready values."""
        return {
            "reference": self.reference,
            "converged": self.converged,
            "methods": [r.to_dict() for r in self.runs],
        }

    def table(self) -> list[str]:
        """Return the comparison as printed by ``kronpde compare``."""
        ref = self.reference or "none"
        w = max([10, *(len(r.method) for r in self.runs)])
        lines = [
            f"{'method':<{w}}  {'iter':>6}  {'setup s':>8}  {'solve s':>8}  {'rel. residual':>13}  "
            f"{'max |u - u_' + ref + '|':>20}  {'max error':>10}",
            "-" * (w + 79),
        ]
        for run in self.runs:
            r = run.report
            if r is None:
                lines.append(f"{run.method:<{w}}  skipped: {run.skipped}")
                continue
            diff = "-" if run.max_difference is None else f"{run.max_difference:.3e}"
            err = "-" if run.error_max is None else f"{run.error_max:.3e}"
            flag = "" if r.converged else "  NOT converged"
            lines.append(
                f"{run.method:<{w}}  {r.iterations:>6}  {r.setup_seconds:>8.4f}  "
                f"{r.solve_seconds:>8.4f}  {r.relative_residual:>13.3e}  {diff:>20}  "
                f"{err:>10}{flag}"
            )
        return lines


def applicable_methods() -> tuple[str, ...]:
    """Every method but ``auto``, the exact ones first (the reference runs first)."""
    named = [m for m in METHODS if m != "auto"]
    first = [m for m in EXACT_METHODS if m in named]
    return tuple(first + [m for m in named if m not in EXACT_METHODS])


def compare_methods(
    case: Case,
    *,
    methods: Sequence[str] | None = None,
    rtol: float | str | None = None,
    maxiter: int | None = None,
) -> Comparison:
    """Run every method on ``case`` and measure each against the exact reference.

    Each method is prepared and solved exactly as :func:`kronpde.solvers.solve`
    (which ``kronpde solve --method M`` calls) does, so its numbers are those of
    the individual run.

    Parameters
    ----------
    case : Case
        The case.
    methods : sequence of str, optional
        Methods to run (default :func:`applicable_methods`).
    rtol, maxiter : optional
        Iterative-solver settings; by default the case's ``[solver]`` ones.

    Returns
    -------
    Comparison
        A method that cannot be set up here (``direct`` on a grid whose factors
        would not fit, a backend that is not installed) is listed as skipped
        with the reason.
    """
    problem = case.problem
    rtol = case.rtol if rtol is None else rtol
    maxiter = case.maxiter if maxiter is None else maxiter
    exact = CaseFields.of(case).exact
    runs: list[MethodRun] = []
    for method in applicable_methods() if methods is None else methods:
        reason = refusal(problem, method)
        if reason is not None:  # e.g. direct on a grid whose factors would not fit here
            runs.append(MethodRun(method, None, skipped=reason))
            continue
        try:
            prepared = prepare(problem, method)
        except (SolverError, ImportError) as exc:  # a library failed, a backend not installed
            runs.append(MethodRun(method, None, skipped=str(exc)))
            continue
        solution = prepared.solve(None, rtol=rtol, maxiter=maxiter, exact=exact)
        u = np.asarray(solution.u, dtype=float)
        # NaN only outside a domain inside the box: not measured
        err = None if exact is None else float(np.nanmax(np.abs(u - exact)))
        runs.append(MethodRun(method, solution.report, error_max=err, u=u))
    ref = next(
        (
            r
            for m in EXACT_METHODS
            for r in runs
            if r.method == m and r.report is not None and r.report.converged
        ),
        None,
    )
    if ref is not None:
        runs = [
            r
            if r.u is None
            else dataclasses.replace(r, max_difference=float(np.nanmax(np.abs(r.u - ref.u))))
            for r in runs
        ]
    return Comparison(runs=tuple(runs), reference=None if ref is None else ref.method)


def _plain(v: Any) -> Any:
    """JSON-safe scalars: numpy to Python, non-finite floats to None, tuples to lists."""
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        v = float(v)
        return v if math.isfinite(v) else None
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v
