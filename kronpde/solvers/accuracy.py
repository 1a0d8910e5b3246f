"""How accurate a solve needs to be: the discretisation-error estimates behind ``rtol="auto"``.

With ``rtol="auto"`` the iterative methods stop when the certified algebraic
error (:meth:`kronpde.Problem.error_bound`, a bound on ``||u - u_h||_W``) is at
most :data:`AUTO_FRACTION` (a tenth) of an estimate of the discretisation
error ``||u_h - u||_W`` in the same norm.  Two estimates (:class:`ErrorEstimate`):

``"exact"``
    A known solution (the case's ``[exact]``, or ``exact=`` in Python):
    ``||u_k - u_exact||_W`` over the unknowns.  Since the algebraic error of
    ``u_k`` is at most the bound, the true discretisation error is at least
    this minus the bound, so stopping at ``bound <= estimate / 10`` leaves the
    algebraic error below a ninth of it.
``"richardson"``
    The same problem on the grid with half the cells per axis
    (:func:`coarse_problem`; the same centring per axis), solved once to
    round-off by the fastest exact method that applies (``fastdiag``;
    ``fastdiag-cg`` to round-off for a variable ``k``).  With ``e_h ≈ C h^p``
    (``p`` the scheme's order, :func:`scheme_order`),
    ``u_h - u_2h ≈ (1 - 2^p) e_h``, so at every check the
    estimate is ``||I u_k - u_2h||_{W_2h} / (2^p - 1)`` over the coarse grid's
    unknowns, ``I`` the interpolation of the fine field to the coarse
    points: the identity where they are fine nodes (even cell counts), else
    (odd counts, and always along a cell-centred axis, whose coarse centres lie
    between fine ones) Lagrange interpolation of degree ``p + 1`` (its error,
    ``O(h^{p+2})``, is below the estimate's own).  Singular problems compare
    modulo constants (the weighted mean of the difference is removed).

Both need a first guess before CG starts, to set the first round's tolerance:
the certified bound of ``u_exact`` itself as an approximate solution (an upper
bound on the discretisation error at the unknowns), or the Richardson estimate
of the coarse grid against the grid with a quarter of the cells divided by
``2^p`` (when that grid exists).

Where no estimate can be made (a coarse grid that does not exist: one cell on
an axis, a Dirichlet axis with 2 cells, a stretched axis with an odd number of
cells, data given as arrays that are not known at the coarse points; or a
right-hand side other than the problem's own), ``rtol="auto"`` falls back to
``rtol =`` :data:`FALLBACK_RTOL` and the report's ``warnings`` say why.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from kronpde.errors import DataError, GridError, OptionError
from kronpde.geometry.boundary import Dirichlet, Neumann, Robin, check_data, evaluate_data
from kronpde.geometry.grid import Axis, Grid, axis_name, face_name
from kronpde.problem.certify import gamma, residual_terms
from kronpde.problem.problem import Problem
from kronpde.solvers.registry import method_class

__all__ = [
    "AUTO_FRACTION",
    "FALLBACK_RTOL",
    "ROUNDOFF_RTOL",
    "ErrorEstimate",
    "Goal",
    "Unavailable",
    "coarse_problem",
    "exact_unknowns",
    "exact_estimate",
    "richardson_estimate",
    "scheme_order",
]

#: ``rtol="auto"`` stops when the certified algebraic error is at most this fraction of the
#: estimated discretisation error.
AUTO_FRACTION = 0.1

#: The relative residual target ``rtol="auto"`` falls back to where no estimate exists.
FALLBACK_RTOL = 1e-10

#: The relative residual the coarse Richardson solve of a variable ``k`` is first run to
#: (then on to the rounding level, see :func:`_solve_to_roundoff`).
ROUNDOFF_RTOL = 1e-8


class Unavailable(Exception):  # noqa: N818 - a reason, not a failure of the caller
    """No discretisation-error estimate can be made here; the message says why."""


def scheme_order(problem: Problem) -> int:
    """Return the order ``p`` of the problem's scheme (:attr:`Problem.order`: 2 or 4)."""
    return int(problem.order)


# --------------------------------------------------------------------------- the estimates


@dataclass(frozen=True, eq=False)
class ErrorEstimate:
    """An estimate of the discretisation error ``||u_h - u||_W`` of the current iterate.

    Attributes
    ----------
    kind : str
        ``"exact"`` or ``"richardson"``.
    description : str
        What it compares with (for the report).
    initial : float, callable or None
        A first guess before any iteration (module docstring), or None; a
        callable computes it when an iterative goal first asks
        (:meth:`first_guess`), so that an exact method never pays for it.
    measure : callable
        ``measure(x)`` for the unknowns ``x`` (flat): the estimate for ``x``.
    solution_norm : float
        ``||u||_W`` of the reference (``u_exact``, or the coarse solution):
        the size of the solution, which sets the rounding level of its residual.
    reference_bound : float or None
        Richardson: the certified algebraic error of the coarse solution.
    """

    kind: str
    description: str
    initial: float | Callable[[], float | None] | None
    measure: Callable[[np.ndarray], float]
    solution_norm: float
    reference_bound: float | None = None

    def __call__(self, x: np.ndarray) -> float:
        """Return the estimate for the unknowns ``x``."""
        return float(self.measure(x))

    def first_guess(self) -> float | None:
        """Return :attr:`initial`, computed now where it is a callable."""
        return self.initial() if callable(self.initial) else self.initial


@dataclass(frozen=True, eq=False)
class Goal:
    """What ``rtol="auto"`` asks of an iterative method (its ``goal`` argument).

    Stop when ``certificate.bound <= fraction * estimate(x)``.

    Attributes
    ----------
    estimate : ErrorEstimate
        The discretisation-error estimate.
    eigenvalue : float
        The ``λ`` of the bound (:meth:`kronpde.Problem.smallest_eigenvalue`).
    fraction : float
        :data:`AUTO_FRACTION`.
    floor : float
        The smallest symmetrised residual norm the first round asks CG for:
        about the rounding level of the residual, ``γ_K max(diag A)
        ||u||_W``, so that CG never chases a residual it cannot compute.
    """

    estimate: ErrorEstimate
    eigenvalue: float
    fraction: float = AUTO_FRACTION
    floor: float = 0.0


def choose_estimate(
    exact: Callable[[], ErrorEstimate] | None,
    own_rhs: bool,
    richardson: Callable[[], ErrorEstimate],
    cached: ErrorEstimate | Unavailable | None,
) -> tuple[ErrorEstimate | None, str, ErrorEstimate | Unavailable | None]:
    """Return the discretisation-error estimate of a solve, or None and why not.

    The one rule of the serial driver and the PETSc backend: the exact
    solution when there is one, else Richardson for the problem's own
    right-hand side (computed once per prepared solver, kept in ``cached``).

    Parameters
    ----------
    exact : callable or None
        Makes the ``"exact"`` estimate (None: no exact solution given).
    own_rhs : bool
        Whether ``b`` is the problem's own right-hand side.
    richardson : callable
        Makes the Richardson estimate; may raise :class:`Unavailable`.
    cached : ErrorEstimate, Unavailable or None
        What an earlier call returned as its third value (None the first time).

    Returns
    -------
    estimate : ErrorEstimate or None
    reason : str
        Why there is no estimate ("" when there is one).
    cached : ErrorEstimate, Unavailable or None
        To pass to the next call.
    """
    if exact is not None:
        return exact(), "", cached
    if not own_rhs:
        return (
            None,
            "b is not the problem's own right-hand side, so the coarse grid has no "
            "counterpart of it (pass exact= to compare with a known solution)",
            cached,
        )
    if cached is None:
        try:
            cached = richardson()
        except Unavailable as exc:
            cached = exc
    if isinstance(cached, Unavailable):
        return None, str(cached), cached
    return cached, "", cached


def accuracy_notes(
    bound: float | None,
    computed: bool,
    error: float | None,
    estimator: ErrorEstimate | None,
    goal: Goal | None,
    warned: bool,
) -> tuple[str, list[str]]:
    """Return what a report says of the certified bound and the error estimate.

    The one wording of the serial driver and the PETSc backend.

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
        )
    elif computed:
        if goal is None:
            text += f" Certified algebraic error ||u - u_h||_W <= {bound:.3e}."
        if error is not None and bound > error and not warned:
            warnings.append(
                f"The certified algebraic error {bound:.3e} exceeds the estimated "
                f"discretisation error {error:.3e} ({estimator.kind}): the solution may be "
                "less accurate than the grid allows; lower rtol, or use rtol='auto'."
            )
    if error is not None:
        text += (
            f" Estimated discretisation error {error:.3e}: {estimator.description}."
            if goal is None
            else f" The estimate: {estimator.description}."
        )
    return text, warnings


def _weighted_norm(d: np.ndarray, w: np.ndarray, singular: bool) -> float:
    if singular:
        d = d - float(w @ d) / float(w.sum())
    return math.sqrt(max(float(w @ (d * d)), 0.0))


def exact_unknowns(problem: Problem, exact: object) -> np.ndarray:
    """Evaluate an exact solution at the problem's unknowns (flat, a new array).

    Parameters
    ----------
    problem : Problem
        The problem.
    exact : number, str, callable or ndarray
        ``u`` as a number, an expression string, a callable ``u(x, y, ...)``,
        or an array over the grid's points (:attr:`Grid.point_shape`: the
        nodes, or the cell centres along cell-centred axes) or the unknowns
        (``(n,)`` or :attr:`Grid.shape`).

    Raises
    ------
    OptionError
        For an array of another shape or values that are not finite.
    DataError
        For a bad expression (its ``subject`` is ``"exact"``).
    """
    g = problem.grid
    if isinstance(exact, np.ndarray) and exact.ndim > 0:
        arr = np.asarray(exact, dtype=float)
        if arr.shape == g.point_shape:
            arr = g.from_nodes(arr)
        elif arr.shape not in ((g.size,), g.shape):
            msg = (
                f"exact must have the point shape {g.point_shape} or the unknowns' shape "
                f"({g.size},) or {g.shape}, got {arr.shape}"
            )
            raise OptionError(msg)
        out = np.array(arr, dtype=float).reshape(-1)
    else:
        value = check_data(exact, "exact", dimension=g.dimension)
        points = evaluate_data(value, g.point_coordinates(), g.point_shape, "exact")
        out = g.from_nodes(points).reshape(-1)
    if not np.all(np.isfinite(out)):
        msg = "exact contains NaN or infinity"
        raise OptionError(msg)
    return out


def exact_estimate(problem: Problem, exact: np.ndarray, b: np.ndarray) -> ErrorEstimate:
    """Return the ``"exact"`` estimate: ``||x - u_exact||_W`` over the unknowns.

    Parameters
    ----------
    problem : Problem
        The problem.
    exact : ndarray, shape (n,)
        The exact solution at the unknowns (:func:`exact_unknowns`).
    b : ndarray, shape (n,)
        The right-hand side solved for (projected if singular): the certified
        bound of ``u_exact`` against it is the first guess.
    """
    w = problem.unknown_weights
    singular = problem.singular
    centred = exact - float(w @ exact) / float(w.sum()) if singular else exact  # as u_h is

    def first() -> float | None:  # the bound of u_exact: an iterative goal's first guess
        return problem.error_bound(centred, b).bound

    def measure(x: np.ndarray) -> float:
        return _weighted_norm(np.asarray(x).reshape(-1) - exact, w, singular)

    size = _weighted_norm(exact, w, False)
    return ErrorEstimate("exact", "||u - u_exact||_W over the unknowns", first, measure, size)


# --------------------------------------------------------------------------- coarse grids


def _coarse_axis(i: int, axis: Axis) -> Axis:
    name = axis_name(i)
    m = axis.cells
    if m < 2:
        msg = f"axis {name} has {m} cell, so no grid with half the cells exists"
        raise Unavailable(msg)
    if not axis.uniform and m % 2:
        msg = (
            f"the stretched axis {name} has an odd number of cells ({m}), so the grid with half "
            "the cells is not made of its nodes"
        )
        raise Unavailable(msg)
    try:
        if axis.uniform:
            return replace(axis, cells=m // 2)
        return replace(axis, cells=m // 2, coordinates=tuple(axis.nodes[::2].tolist()))
    except GridError as exc:
        msg = f"the grid with half the cells does not exist on axis {name}: {exc.detail}"
        raise Unavailable(msg) from None


@dataclass(frozen=True)
class _Resample:
    """Values of a fine nodal line at coarse points: ``sum_k weights[:, k] x[index[:, k]]``."""

    index: np.ndarray  # (m_c + 1, q) fine node indices
    weights: np.ndarray  # (m_c + 1, q)
    stride: int | None  # 2 (or 1) when the coarse points are every stride-th fine node

    def apply(self, x: np.ndarray, axis: int) -> np.ndarray:
        if self.stride is not None:
            index = [slice(None)] * x.ndim
            index[axis] = slice(None, None, self.stride)
            return np.ascontiguousarray(x[tuple(index)])
        shape = [1] * x.ndim
        shape[axis] = self.index.shape[0]
        out = None
        for k in range(self.index.shape[1]):
            term = np.take(x, self.index[:, k], axis=axis) * self.weights[:, k].reshape(shape)
            out = term if out is None else out + term
        return out


def _resample(fine: Axis, coarse: Axis, order: int) -> _Resample:
    """Interpolation of ``fine``'s field to ``coarse``'s points (Lagrange, degree p + 1).

    The points are the nodes of a node-centred axis and the cell centres of a
    cell-centred one.  Coarse nodes that are every other fine node (even cell
    counts) are taken as they are; coarse cell centres never coincide with fine
    ones (each lies between two), so a cell-centred axis is always interpolated.
    """
    xf, xc = fine.points, coarse.points
    m = fine.cells
    if (
        not fine.cell_centred
        and m == 2 * coarse.cells
        and (fine.uniform or np.array_equal(xf[::2], xc))
    ):
        return _Resample(np.zeros((0, 0), int), np.zeros((0, 0)), 2)
    # the distinct points: a periodic node axis repeats node 0 as node m
    count = m if fine.periodic else xf.size
    q = min(order + 2, count)
    period = fine.upper - fine.lower
    index = np.empty((xc.size, q), dtype=int)
    weights = np.empty((xc.size, q))
    for j, x in enumerate(xc):
        k = int(np.clip(np.searchsorted(xf[:count], x, side="right") - 1, 0, max(count - 2, 0)))
        hit = next((h for h in (k, k + 1) if h < count and x == xf[h]), None)
        if hit is not None:  # a fine point: the identity
            index[j] = hit
            weights[j] = 0.0
            weights[j, 0] = 1.0
            continue
        start = k - (q // 2 - 1)
        if fine.periodic:
            idx = np.arange(start, start + q)
            pts = xf[idx % count] + period * np.floor_divide(idx, count)
            idx = idx % count
        else:
            start = int(np.clip(start, 0, count - q))
            idx = np.arange(start, start + q)
            pts = xf[idx]
        for a in range(q):
            others = np.delete(pts, a)
            weights[j, a] = float(np.prod((x - others) / (pts[a] - others)))
        index[j] = idx
    return _Resample(index, weights, None)


def _coarse_data(value: object, selections: Sequence[_Resample], axes: Sequence[int], what: str):
    """Return data for the coarse grid: anything but an array as it is, an array subsampled."""
    if not isinstance(value, np.ndarray) or value.ndim == 0:
        return value
    if any(selections[a].stride != 2 for a in axes):
        msg = (
            f"{what} is given as an array on the fine grid's points, and the coarse grid's "
            "points are not all among them (odd cell counts, or cell centres)"
        )
        raise Unavailable(msg)
    index = [slice(None)] * value.ndim
    offset = value.ndim - len(axes)
    for k in range(len(axes)):
        if value.shape[offset + k] > 1:
            index[offset + k] = slice(None, None, 2)
    return np.ascontiguousarray(value[tuple(index)])


def _coarse_condition(bc: Any, i: int, d: int, selections: Sequence[_Resample], name: str):
    if not isinstance(bc, (Dirichlet, Neumann, Robin)):
        return bc
    value = bc.value
    if isinstance(value, np.ndarray) and value.ndim > 0:
        if value.ndim == d:  # the N-D face shape with length 1 along axis i
            value = np.squeeze(value, axis=i)
        others = [a for a in range(d) if a != i]
        return replace(bc, value=_coarse_data(value, selections, others, f"the data of {name}"))
    return bc


def coarse_problem(problem: Problem) -> tuple[Problem, list[_Resample]]:
    """Return the same problem on the grid with half the cells per axis, and the resampling.

    Bounds, conditions, source, shift and coefficient are kept; data given as
    arrays on the nodes are taken at the coarse nodes (which must then be
    fine nodes).  The resampling takes a fine nodal field to the coarse nodes.

    Raises
    ------
    Unavailable
        Where the coarse grid does not exist (module docstring).
    """
    g = problem.grid
    d = g.dimension
    order = scheme_order(problem)
    axes = [_coarse_axis(i, a) for i, a in enumerate(g.axes)]
    resample = [_resample(f, c, order) for f, c in zip(g.axes, axes, strict=True)]
    bound = []
    for i, a in enumerate(axes):
        lo = _coarse_condition(a.lower_bc, i, d, resample, face_name(i, 0))
        hi = _coarse_condition(a.upper_bc, i, d, resample, face_name(i, 1))
        same = lo is a.lower_bc and hi is a.upper_bc
        bound.append(a if same else replace(a, lower_bc=lo, upper_bc=hi))
    every = list(range(d))
    source = _coarse_data(problem.source, resample, every, "the source")
    coefficient = _coarse_data(problem.coefficient, resample, every, "the coefficient")
    try:
        coarse = Problem(Grid(bound), source, problem.shift, coefficient, order=order)
    except (GridError, DataError) as exc:
        msg = f"the problem on the grid with half the cells cannot be built: {exc}"
        raise Unavailable(msg) from None
    return coarse, resample


def _solve_to_roundoff(problem: Problem) -> tuple[np.ndarray, float | None]:
    """Solve a problem's own system to round-off; return the unknowns and their certified bound.

    Fast-diagonalizable (:attr:`Problem.fast_diagonalizable`): fastdiag.  Otherwise (a
    variable ``k``, a fourth-order Robin face): fastdiag-cg, first to
    :data:`ROUNDOFF_RTOL` (which a residual computed in float64 can always
    show), then from there to the rounding level of the residual itself (a
    :class:`Goal` with a zero estimate: CG runs to ``||D r||`` about
    ``γ_K max(diag A) ||u||_W`` and stops, instead of chasing a relative
    tolerance it cannot see).
    """
    b, _ = problem.project_rhs(problem.rhs_values.reshape(-1).copy())
    if problem.fast_diagonalizable:
        x = method_class("fastdiag")(problem).solve(b).x
        return x, problem.error_bound(x, b).bound
    method = method_class("fastdiag-cg")(problem)
    maxiter = 10 * problem.size
    x = np.array(method.solve(b, target=ROUNDOFF_RTOL, maxiter=maxiter).x)
    eigenvalue = problem.smallest_eigenvalue()
    if eigenvalue is not None:
        size = _weighted_norm(x, problem.unknown_weights, False)
        zero = ErrorEstimate("round-off", "the rounding level", 0.0, lambda _x: 0.0, size)
        terms = residual_terms(problem.grid.dimension, problem.order)
        floor = gamma(terms) * float(np.max(problem.diagonal()))
        goal = Goal(zero, eigenvalue.value, AUTO_FRACTION, floor * size)
        x = np.array(method.solve(b, x0=x, goal=goal, maxiter=maxiter).x)
    return x, problem.error_bound(x, b).bound


def _nodal(problem: Problem, x: np.ndarray) -> np.ndarray:
    return problem.to_nodes(np.asarray(x).reshape(-1))


def _restrict(field: np.ndarray, resample: Sequence[_Resample]) -> np.ndarray:
    for axis, r in enumerate(resample):
        field = r.apply(field, axis)
    return field


def _difference(
    fine: Problem, x: np.ndarray, coarse: Problem, xc: np.ndarray, resample: Sequence[_Resample]
) -> float:
    """``||I x - x_c||_{W_c}`` over the coarse unknowns (modulo constants if singular)."""
    at_coarse = _restrict(_nodal(fine, x), resample)
    d = coarse.grid.from_nodes(at_coarse).reshape(-1) - xc
    return _weighted_norm(d, coarse.weights().reshape(-1), coarse.singular)


def richardson_estimate(problem: Problem) -> ErrorEstimate:
    """Return the ``"richardson"`` estimate of a problem (one coarse solve, two if it can).

    Raises
    ------
    Unavailable
        Where the coarse grid does not exist.
    """
    p = scheme_order(problem)
    factor = 2.0**p - 1.0
    coarse, resample = coarse_problem(problem)
    xc, coarse_bound = _solve_to_roundoff(coarse)
    initial = None
    try:
        coarser, resample2 = coarse_problem(coarse)
    except Unavailable:
        pass
    else:
        xcc, _ = _solve_to_roundoff(coarser)
        initial = _difference(coarse, xc, coarser, xcc, resample2) / factor / 2.0**p

    def measure(x: np.ndarray) -> float:
        return _difference(problem, x, coarse, xc, resample) / factor

    cells = " x ".join(str(c) for c in coarse.grid.cells)
    shared = all(r.stride is not None for r in resample)
    how = "its nodes" if shared else f"its points (Lagrange interpolation of degree {p + 1})"
    description = f"Richardson, ||u_h - u_2h||_W / (2^{p} - 1) against the {cells} grid at {how}"
    size = _weighted_norm(xc, coarse.weights().reshape(-1), False)
    return ErrorEstimate("richardson", description, initial, measure, size, coarse_bound)
