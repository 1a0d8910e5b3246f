"""Boundary condition types and the evaluation of boundary and source data.

A condition sits on one face of the box (one side of one axis).  Its data may
be a number, an expression string (the grammar of :mod:`kronpde.expr.expression`, the
same as in case files), a callable of the coordinates, or an array over the
face's nodes.

Conventions (see ``case-format.md``):

* ``Dirichlet(value)``: ``u = value``; the face's nodes are known, not unknowns.
* ``Neumann(value)``: ``du/dn = value`` with ``n`` the *outward* normal.
* ``Robin(alpha, beta, value)``: ``alpha*u + beta*du/dn = value`` (outward normal).
* ``Periodic()``: on both faces of an axis, or on neither.

Every argument is checked when the condition is built: a string must be an
allowed expression (in ``x, y, z``; the grid refuses, when it is built, a
coordinate it does not have), a number or an array must be finite.  A
callable can only be checked where it is evaluated (:func:`evaluate_data`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from kronpde._checks import is_real, sum_is_finite
from kronpde.errors import DataError, GridError
from kronpde.expr.expression import Expression, ExpressionError, as_expression

BoundaryData = float | str | Expression | Callable[..., np.ndarray] | np.ndarray

#: A string in a condition is checked against all three coordinates when the condition
#: is built, and against the grid's own when the grid is (Grid.__init__).
_ANY_DIMENSION = 3


def data_error(what: str, detail: str) -> DataError:
    """Return a :class:`DataError` about ``what`` (its subject), the message ``"what: detail"``."""
    return DataError(f"{what}: {detail}", subject=what, detail=detail)


def check_data(value: object, what: str, *, dimension: int | None = None) -> object:
    """Check boundary or source data and return it (a string parsed to an :class:`Expression`).

    Parameters
    ----------
    value : number, str, Expression, callable or array_like
        The data.
    what : str
        Its name, for messages and as the error's ``subject``.
    dimension : int, optional
        The coordinates an expression may use; None (a condition, which does
        not know its grid yet): a string may use ``x, y, z`` and an
        :class:`Expression` is kept as it is.

    Returns
    -------
    object
        ``value``, a string parsed; an array as a float64 array.

    Raises
    ------
    DataError
        For a boolean, a non-finite number or array, something that is not
        data, or a string that is not an allowed expression.
    """
    if isinstance(value, Expression) and dimension is None:
        return value
    if isinstance(value, (str, Expression)):
        try:
            return as_expression(value, dimension=dimension or _ANY_DIMENSION)
        except ExpressionError as exc:
            msg = f"{what}: {exc}"
            raise ExpressionError(msg, subject=what, detail=exc.detail) from None
    if callable(value):
        return value
    if isinstance(value, (bool, np.bool_)):
        msg = "a boolean is not data; give a number, an expression, a callable or an array"
        raise data_error(what, msg)
    if is_real(value):
        if not math.isfinite(float(value)):
            msg = f"must be finite, got {value!r}"
            raise data_error(what, msg)
        return value
    if isinstance(value, (complex, np.complexfloating)):  # a complex problem's data
        if not np.isfinite(value):
            msg = f"must be finite, got {value!r}"
            raise data_error(what, msg)
        return value
    try:
        complex_array = np.iscomplexobj(value) and not isinstance(value, (str, bytes))
        arr = np.asarray(value, dtype=complex if complex_array else float)
    except (TypeError, ValueError) as exc:
        msg = (
            "must be a number, an expression string, a callable of the coordinates "
            f"or an array, got {type(value).__name__}"
        )
        raise data_error(what, msg) from exc
    if not np.all(np.isfinite(arr)):
        msg = "array contains non-finite values"
        raise data_error(what, msg)
    return arr


def _check_coefficient(value: object, name: str) -> float:
    if not is_real(value):
        msg = f"{name}: must be a number, got {value!r}"
        raise GridError(msg, subject=name)
    value = float(value)
    if not math.isfinite(value):
        msg = f"{name}: must be finite, got {value!r}"
        raise GridError(msg, subject=name)
    return value


@dataclass(frozen=True)
class Dirichlet:
    """Prescribed value ``u = value`` on the face."""

    value: BoundaryData = 0.0
    kind = "dirichlet"

    def __post_init__(self) -> None:
        """Check the arguments (see the class docstring)."""
        object.__setattr__(self, "value", check_data(self.value, "Dirichlet value"))


@dataclass(frozen=True)
class Neumann:
    """Prescribed outward normal derivative ``du/dn = value`` on the face."""

    value: BoundaryData = 0.0
    kind = "neumann"

    def __post_init__(self) -> None:
        """Check the arguments (see the class docstring)."""
        object.__setattr__(self, "value", check_data(self.value, "Neumann value"))


@dataclass(frozen=True)
class Robin:
    """Mixed condition ``alpha*u + beta*du/dn = value`` (outward normal).

    ``beta`` must be non-zero (``beta = 0`` is a Dirichlet condition: use
    :class:`Dirichlet`).  ``alpha`` and ``beta`` may have either sign: with
    ``alpha/beta >= 0`` the operator stays symmetric positive (semi)definite;
    with ``alpha/beta < 0`` the face feeds energy in (FISHPACK's SEPELI test:
    ``u_x + u = g`` on ``x = 0``), the operator may be indefinite or singular,
    and the solvers treat it as a negative shift (:mod:`kronpde.solvers.indefinite`).
    """

    alpha: float
    beta: float
    value: BoundaryData = 0.0
    kind = "robin"

    def __post_init__(self) -> None:
        """Check the arguments (see the class docstring)."""
        alpha = _check_coefficient(self.alpha, "alpha")
        beta = _check_coefficient(self.beta, "beta")
        if beta == 0.0:
            msg = (
                "beta: must be non-zero (beta = 0 makes alpha*u = value a Dirichlet condition; "
                "use a Dirichlet face)"
            )
            raise GridError(msg, subject="beta")
        object.__setattr__(self, "alpha", alpha)
        object.__setattr__(self, "beta", beta)
        object.__setattr__(self, "value", check_data(self.value, "Robin value"))


@dataclass(frozen=True)
class Periodic:
    """Periodic axis: node ``m`` is node ``0``.  Set on both faces of the axis."""

    kind = "periodic"


@dataclass(frozen=True)
class OnAxis(Neumann):
    """The face ``r = 0`` of a curvilinear grid: the solution is regular on the axis (no data).

    A zero-flux face to every rule that treats it as a Neumann face; the
    curvilinear discretisation closes it (``docs/curvilinear.md``).
    """

    kind = "axis"

    def __post_init__(self) -> None:
        """No data: the value is 0."""
        object.__setattr__(self, "value", 0.0)


@dataclass(frozen=True)
class Pole(Neumann):
    """A face ``theta = 0`` or ``pi`` of a spherical grid or the sphere: regular at the pole."""

    kind = "pole"

    def __post_init__(self) -> None:
        """No data: the value is 0."""
        object.__setattr__(self, "value", 0.0)


Condition = Dirichlet | Neumann | Robin | Periodic
CONDITION_TYPES = (Dirichlet, Neumann, Robin, Periodic)


def in_dimension(bc: Condition, dimension: int) -> Condition:
    """``bc`` with an expression value checked for (and bound to) a grid of ``dimension`` axes.

    Raises
    ------
    ExpressionError
        If the value uses a coordinate such a grid does not have.
    """
    value = getattr(bc, "value", None)
    if not isinstance(value, Expression) or value.dimension == dimension:
        return bc
    return replace(bc, value=value.in_dimension(dimension))


def evaluate_data(
    value: BoundaryData,
    coords: Sequence[np.ndarray],
    shape: tuple[int, ...],
    what: str,
    *,
    check: bool = True,
) -> np.ndarray:
    """Evaluate boundary or source data on a set of nodes.

    Parameters
    ----------
    value : float, Expression, callable or array_like
        A number; an expression or a callable ``value(*coords)`` of the
        coordinate arrays; or an array broadcastable to ``shape``.
    coords : sequence of ndarray
        One coordinate array per axis, mutually broadcastable to ``shape``
        (e.g. from ``np.meshgrid(..., indexing="ij", sparse=True)``).
    shape : tuple of int
        Shape of the node set.
    what : str
        Name used in error messages and as the error's ``subject``.
    check : bool, optional
        Raise for values that are not finite (default).  With False they are
        returned as they are, for a :class:`DataSurvey` that may cover more
        points than these (a distributed solve evaluates each rank's part).

    Returns
    -------
    ndarray
        Float64 array of ``shape`` (a fresh array, safe to modify).

    Raises
    ------
    DataError
        If the data have the wrong shape or (with ``check``) are not finite,
        or a callable raised (an :class:`~kronpde.expr.expression.ExpressionError`,
        itself a DataError, for an expression that is not finite somewhere).
    """
    if isinstance(value, Expression):
        try:
            result = value.evaluate(coords, mask=None if check else False)
        except ExpressionError as exc:
            msg = f"{what}: {exc}"
            raise ExpressionError(msg, subject=what, detail=exc.detail) from None
        if result.shape == tuple(shape) and result.dtype == np.float64:
            return result  # a new array of its own (Expression.evaluate), checked if asked
    elif callable(value):
        try:
            # non-finite results are reported below, not as floating-point exceptions
            with np.errstate(all="ignore"):
                result = value(*coords)
        except Exception as exc:  # the user's function failed: say which data
            msg = f"the callable raised {type(exc).__name__}: {exc}"
            raise data_error(what, msg) from exc
    else:
        result = value
    try:
        arr = np.broadcast_to(np.asarray(result, dtype=float), shape)
    except (TypeError, ValueError) as exc:
        got = np.shape(result)
        msg = f"expected an array of shape {shape}, got shape {got}"
        raise data_error(what, msg) from exc
    if check and not np.all(np.isfinite(arr)):
        raise data_error(what, NOT_FINITE)
    return np.array(arr, dtype=float)


#: What a check says of data other than an expression that are not finite somewhere.
NOT_FINITE = "data are not finite on every node"

#: A point of an array: its index along every axis.
Point = tuple[int, ...]


@dataclass(frozen=True)
class DataSurvey:
    """What a check of evaluated data finds on one part of the points; parts merge.

    Serial code surveys a whole array at once; each rank of a distributed
    solve surveys the points it owns (the parts of the ranks tile the array),
    the ranks merge their surveys in rank order (:meth:`merged`), and every
    rank raises the error of the merged survey: the error, message for
    message, that a check of the whole array raises, whichever rank holds the
    bad points.

    Attributes
    ----------
    total : int
        The points surveyed.
    bad : int
        How many of them are not finite.
    first_bad : (Point, float) or None
        The first point in C order (index along every axis of the whole
        array) that is not finite, and its value.
    lowest : (float, Point) or None
        The smallest finite value and the first point in C order that has it.
    error : DataError or None
        The error that evaluating the part raised (a callable that failed).

    Examples
    --------
    >>> import numpy as np
    >>> left = DataSurvey.of(np.array([[3.0, 1.0]]), [np.array([0]), np.array([0, 1])])
    >>> right = DataSurvey.of(np.array([[np.inf, 1.0]]), [np.array([1]), np.array([0, 1])])
    >>> whole = DataSurvey.merged([left, right])
    >>> whole.total, whole.bad, whole.first_bad, whole.lowest
    (4, 1, ((1, 0), inf), (1.0, (0, 1)))
    """

    total: int = 0
    bad: int = 0
    first_bad: tuple[Point, float] | None = None
    lowest: tuple[float, Point] | None = None
    error: DataError | None = None

    @classmethod
    def of(cls, values: np.ndarray, index: Sequence[np.ndarray] | None = None) -> DataSurvey:
        """Survey ``values``.

        Parameters
        ----------
        values : ndarray
            The evaluated data of the part.
        index : sequence of ndarray, optional
            Per axis, the increasing indices in the whole array of the part's
            points along that axis (default ``0, 1, ...``: the part is the whole).

        Returns
        -------
        DataSurvey
        """
        values = np.asarray(values, dtype=float)
        if index is None:
            index = [np.arange(n) for n in values.shape]

        def point(flat: int) -> Point:
            local = np.unravel_index(flat, values.shape)
            return tuple(int(ix[j]) for ix, j in zip(index, local, strict=True))

        total = int(values.size)
        finite = True if sum_is_finite(values) else np.isfinite(values)  # no scan if proven
        bad = 0 if finite is True else total - int(np.count_nonzero(finite))
        first_bad = lowest = None
        if bad:
            flat = int(np.argmax(~finite.reshape(-1)))
            first_bad = (point(flat), float(values.reshape(-1)[flat]))
        if bad < total:
            masked = np.where(finite, values, np.inf) if bad else values
            flat = int(np.argmin(masked.reshape(-1)))
            lowest = (float(values.reshape(-1)[flat]), point(flat))
        return cls(total, bad, first_bad, lowest)

    @classmethod
    def failed(cls, error: DataError) -> DataSurvey:
        """Return the survey of a part whose evaluation raised ``error``."""
        return cls(error=error)

    @classmethod
    def merged(cls, parts: Sequence[DataSurvey]) -> DataSurvey:
        """Return the survey of the points of all ``parts`` (each point in one part).

        The error of the first part that failed, if any, is the merged error.
        """
        error = next((p.error for p in parts if p.error is not None), None)
        bads = [p.first_bad for p in parts if p.first_bad is not None]
        lows = [p.lowest for p in parts if p.lowest is not None]
        return cls(
            total=sum(p.total for p in parts),
            bad=sum(p.bad for p in parts),
            first_bad=min(bads, key=lambda b: b[0]) if bads else None,
            lowest=min(lows) if lows else None,
            error=error,
        )

    def raise_error(
        self, value: BoundaryData, what: str, coordinates: Callable[[Point], Sequence[float]]
    ) -> None:
        """Raise the error of a check of every surveyed point, if there is one.

        Parameters
        ----------
        value : data
            What was evaluated (an expression's message names it, the first
            point that is not finite and how many are).
        what : str
            The data's name (the error's ``subject``).
        coordinates : callable
            ``coordinates(point)``: the coordinates of a point.

        Raises
        ------
        DataError
            :attr:`error`; or, for values that are not finite, the error of
            :func:`evaluate_data` (an :class:`~kronpde.expr.expression.ExpressionError`
            for an expression).
        """
        if self.error is not None:
            raise self.error
        if not self.bad or self.first_bad is None:
            return
        if isinstance(value, Expression):
            point, bad_value = self.first_bad
            detail = value.not_finite_message(coordinates(point), bad_value, self.bad, self.total)
            msg = f"{what}: {detail}"
            raise ExpressionError(msg, subject=what, detail=detail)
        raise data_error(what, NOT_FINITE)
