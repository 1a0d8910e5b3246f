"""The safe expression evaluator: the strings of case files and of the Python API.

No file format owns it: :class:`~kronpde.Problem` and the boundary conditions
accept the same strings as case files do, and the case reader uses it too.

An expression is a string such as ``"3*pi**2*sin(pi*x)*sin(pi*y)"`` in the
coordinates of the grid's dimension (``x``; ``x, y``; ``x, y, z``), the
constants ``pi`` and ``e``, numbers, the operators ``+ - * / **`` (unary ``-``
and ``+`` too) with parentheses, and calls of one argument of the functions
``sin cos tan exp log sqrt abs sinh cosh tanh arcsin arccos arctan``.

The text is parsed with :func:`ast.parse` and the tree is checked node by node
against exactly that grammar, then turned into a short postfix program of
numpy ufunc calls. Nothing is ever given to ``eval``, ``exec`` or ``compile``,
evaluation needs no recursion, and all arithmetic is float64 numpy arithmetic
(an exponent bomb such as ``9**9**9**9`` overflows to ``inf`` at once instead
of running Python's big-integer power).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kronpde._checks import is_count, is_real, sum_is_finite
from kronpde.errors import ExpressionError
from kronpde.expr.calculus import derivative_program
from kronpde.expr.grammar import (
    COORDINATES,
    FUNCTIONS,
    MAX_DEPTH,
    MAX_LENGTH,
    MAX_NODES,
    Instruction,
    compile_tree,
    number,
    parse,
    run,
    shorten,
)

__all__ = [
    "FUNCTIONS",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "MAX_NODES",
    "Expression",
    "ExpressionError",
    "as_expression",
    "evaluate_expression",
    "parse_expression",
]


@dataclass(frozen=True)
class Expression:
    """A checked expression, ready to evaluate on coordinate arrays.

    Build one with :func:`parse_expression`.

    Attributes
    ----------
    text : str
        The expression as given, without surrounding whitespace (a number is
        written with ``repr``).
    dimension : int
        1, 2 or 3: the coordinates allowed are the first ``dimension`` of
        ``x, y, z``.
    names_used : frozenset of str
        The coordinate names the expression uses.
    value : float, complex or None
        The (finite) value of a constant expression (complex with an imaginary
        literal); None otherwise.
    """

    text: str
    dimension: int
    names_used: frozenset[str]
    value: float | complex | None = None
    _program: tuple[Instruction, ...] = field(default=(), repr=False, compare=False)

    @property
    def is_complex(self) -> bool:
        """True when the expression has an imaginary literal (``2j``): its values are complex."""
        return any(op == "const" and isinstance(arg, complex) for op, arg in self._program)

    @property
    def is_constant(self) -> bool:
        """True when the expression uses no coordinate."""
        return not self.names_used

    @property
    def operations(self) -> int:
        """How many elementwise operations one evaluation performs.

        Evaluation runs the checked program once, one float64 numpy operation
        (or a constant or a coordinate) per step, so its work is this number
        times the number of points; parsing refuses a program longer than
        :data:`MAX_NODES` or deeper than :data:`MAX_DEPTH`.
        """
        return len(self._program)

    def __call__(self, *coords: np.ndarray | float) -> np.ndarray:
        """Evaluate at broadcastable coordinate arrays, one per axis (see :meth:`evaluate`)."""
        return self.evaluate(coords)

    def derivative(self, coordinate: str | int) -> Expression:
        """Return the derivative with respect to one coordinate, differentiated symbolically.

        The checked program is turned back into its tree, the tree is
        differentiated by the rules of calculus (sum, product, quotient, power
        and chain rules, the derivatives of the allowed functions), constants
        are folded, and the result is compiled into a new program of the same
        numpy ufuncs: nothing is evaluated by finite differences, nothing is
        given to ``eval``.  ``abs`` has the derivative ``sign`` (0 at a kink),
        the one function of a derivative's :attr:`text` that the input grammar
        does not have.

        Parameters
        ----------
        coordinate : str or int
            ``"x"``, ``"y"``, ``"z"`` (or the axis 0, 1, 2), one of the
            expression's dimension.

        Returns
        -------
        Expression
            The derivative, of the same dimension; a constant 0 where the
            expression does not depend on the coordinate.  Its ``text`` is the
            derivative written out (``value`` is set when it is constant).

        Raises
        ------
        ExpressionError
            For a coordinate the expression's dimension does not have.

        Examples
        --------
        >>> ex = parse_expression("x**3 * sin(y)", dimension=2)
        >>> ex.derivative("x").text
        '3*x**2*sin(y)'
        >>> ex.derivative("y").derivative("y").text
        '-(x**3*sin(y))'
        >>> parse_expression("sin(pi*x)", dimension=1).derivative(0)(0.0).item() == math.pi
        True
        >>> parse_expression("y", dimension=2).derivative("x").value
        0.0
        """
        if self.is_complex:
            msg = f"cannot differentiate the complex expression {self.text!r}"
            raise ExpressionError(msg)
        text, names, value, program = derivative_program(self._program, coordinate, self.dimension)
        return Expression(text, self.dimension, names, value, program)

    def in_dimension(self, dimension: int) -> Expression:
        """Return the same expression for a grid of ``dimension`` axes.

        Raises
        ------
        ExpressionError
            If it uses a coordinate that grid does not have (the message a case
            file of that dimension would give).
        """
        if dimension == self.dimension:
            return self
        return parse_expression(self.text, dimension=dimension)

    def evaluate(
        self, coords: Sequence[np.ndarray | float], *, mask: np.ndarray | None = None
    ) -> np.ndarray:
        """Evaluate at the points given by broadcastable coordinate arrays.

        Parameters
        ----------
        coords : sequence of array_like
            ``dimension`` coordinate arrays (``x``, ``y``, ``z`` in order),
            broadcastable to each other, e.g. from
            ``np.meshgrid(..., indexing="ij", sparse=True)``.
        mask : array_like of bool, optional
            Broadcastable to the shape of the points; only where it is true
            must the value be finite. Everywhere by default.

        Returns
        -------
        numpy.ndarray
            float64, of the full broadcast shape of ``coords`` (also for a
            constant or an expression that uses only some coordinates); a
            new, writable array.

        Raises
        ------
        ExpressionError
            If the value is not finite at a point where it is checked (the
            message gives the first such point), or the coordinate arrays or
            mask do not fit.

        Examples
        --------
        >>> import numpy as np
        >>> xy = np.meshgrid([0.0, 0.5, 1.0], [0.0, 1.0], indexing="ij", sparse=True)
        >>> parse_expression("x + 10*y", dimension=2).evaluate(xy)
        array([[ 0. , 10. ],
               [ 0.5, 10.5],
               [ 1. , 11. ]])
        """
        if len(coords) != self.dimension:
            names = ", ".join(COORDINATES[: self.dimension])
            msg = (
                f"expected {self.dimension} coordinate array(s) ({names}) for a "
                f"{self.dimension}-D expression, got {len(coords)}"
            )
            raise ExpressionError(msg)
        arrays = [np.asarray(c, dtype=np.float64) for c in coords]
        try:
            shape = np.broadcast_shapes(*(a.shape for a in arrays))
        except ValueError:
            shapes = ", ".join(str(a.shape) for a in arrays)
            msg = f"coordinate arrays of shapes {shapes} do not broadcast together"
            raise ExpressionError(msg) from None
        with np.errstate(all="ignore"):
            value = run(self._program, arrays)
        dtype = np.complex128 if self.is_complex else np.float64
        if _fresh(value, shape, dtype, arrays):  # the program's own full-size result: kept
            out = value
        else:
            out = np.empty(shape, dtype=dtype)
            out[...] = value
        if mask is None and _all_finite(out):
            return out
        if mask is not None and np.ndim(mask) == 0 and not mask:  # checked nowhere
            return out
        bad = ~np.isfinite(out)
        if mask is not None:
            try:
                bad &= np.broadcast_to(np.asarray(mask, dtype=bool), shape)
            except ValueError:
                msg = (
                    f"a mask of shape {np.shape(mask)} does not broadcast to the "
                    f"points' shape {shape}"
                )
                raise ExpressionError(msg) from None
        if bad.any():
            first = np.unravel_index(int(np.argmax(bad)), shape)
            point = [float(np.broadcast_to(a, shape)[first]) for a in arrays]
            msg = self.not_finite_message(point, out[first], int(np.count_nonzero(bad)), out.size)
            raise ExpressionError(msg)
        return out

    def not_finite_message(
        self, point: Sequence[float], value: float, count: int, total: int
    ) -> str:
        """Return the message of :meth:`evaluate` for values that are not finite.

        Parameters
        ----------
        point : sequence of float
            The coordinates of the first such point.
        value : float
            The value there.
        count, total : int
            How many of the ``total`` points are not finite.

        Returns
        -------
        str
            E.g. ``"'1/x' is not finite at x=0, y=0.5 (inf) and at 3 more of the 81 points"``:
            the same words whether the points were evaluated at once or in parts
            (each rank of a distributed solve its own).
        """
        where = ", ".join(
            f"{name}={number(c)}"
            for name, c in zip(COORDINATES[: self.dimension], point, strict=True)
        )
        more = f" and at {count - 1} more of the {total} points" if count > 1 else ""
        return f"{self.text!r} is not finite at {where} ({number(value)}){more}"


def parse_expression(text: str | int | float, *, dimension: int) -> Expression:
    """Check an expression (or a number) and return it ready to evaluate.

    Parameters
    ----------
    text : str or int or float
        The expression, or a finite number (a constant expression). Booleans
        are not numbers here.
    dimension : int
        1, 2 or 3: which coordinate names are allowed (``x``; ``x, y``;
        ``x, y, z``).

    Returns
    -------
    Expression

    Raises
    ------
    ExpressionError
        If the text is not a valid expression of the allowed grammar (the
        message names the offending piece and what is allowed), is too long or
        too deep, or is constant and not finite.

    Examples
    --------
    >>> ex = parse_expression("sin(pi*x) * y", dimension=2)
    >>> sorted(ex.names_used), ex.is_constant
    (['x', 'y'], False)
    >>> parse_expression("2**-1 + e", dimension=1).value == 0.5 + 2.718281828459045
    True
    >>> parse_expression("x.real", dimension=2)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    kronpde.errors.ExpressionError: attribute access 'x.real' is not allowed; allowed are ...
    """
    if not is_count(dimension) or dimension not in (1, 2, 3):
        msg = f"dimension must be 1, 2 or 3, got {dimension!r}"
        raise ExpressionError(msg)
    dimension = int(dimension)
    if isinstance(text, (bool, np.bool_)):
        # as a case file writes it: true, false
        shown = "true" if text else "false"
        msg = f"expected a number or an expression string, got the boolean {shown}"
        raise ExpressionError(msg)
    if is_real(text):
        return _from_number(text, dimension)
    if not isinstance(text, str):
        msg = (
            "expected a number or an expression string, got "
            f"{type(text).__name__} {shorten(repr(text))}"
        )
        raise ExpressionError(msg)

    source = text.strip()
    if not source:
        msg = "the expression is empty; give a number or an expression such as 'sin(pi*x)'"
        raise ExpressionError(msg)
    if len(source) > MAX_LENGTH:
        msg = f"the expression is {len(source)} characters long; at most {MAX_LENGTH} are allowed"
        raise ExpressionError(msg)
    tree = parse(source)
    program, names = compile_tree(tree.body, source, dimension)
    names_used = frozenset(names)
    value = None
    if not names_used:
        with np.errstate(all="ignore"):
            result = run(program, [])
        value = complex(result) if np.iscomplexobj(result) else float(result)
        if not np.isfinite(value):
            msg = f"{source!r} is not finite ({number(value)})"
            raise ExpressionError(msg)
    return Expression(source, dimension, names_used, value, program)


def as_expression(value: object, *, dimension: int) -> object:
    """``value`` itself, or the :class:`Expression` a string parses to.

    The one place where the model turns a string argument (a source, a
    coefficient, a face's value) into an expression.

    Raises
    ------
    ExpressionError
        For a string that is not an allowed expression in ``dimension`` coordinates.
    """
    if isinstance(value, str):
        return parse_expression(value, dimension=dimension)
    if isinstance(value, Expression):
        return value.in_dimension(dimension)
    return value


def evaluate_expression(
    text: str | int | float,
    coords: Sequence[np.ndarray | float],
    *,
    dimension: int,
    mask: np.ndarray | None = None,
) -> np.ndarray:
    """Parse ``text`` and evaluate it at ``coords``; see :meth:`Expression.evaluate`.

    Examples
    --------
    >>> evaluate_expression("2*x", [np.array([0.0, 1.0])], dimension=1)
    array([0., 2.])
    """
    return parse_expression(text, dimension=dimension).evaluate(coords, mask=mask)


def _from_number(number: int | float | np.integer | np.floating, dimension: int) -> Expression:
    try:
        value = float(number)
    except OverflowError:
        value = math.inf
    if not math.isfinite(value):
        shown = shorten(repr(number)) if isinstance(number, float) else "given"
        msg = f"the number {shown} is not finite; a finite number is required"
        raise ExpressionError(msg)
    text = str(int(number)) if isinstance(number, (int, np.integer)) else repr(value)
    program = (("const", np.float64(value)),)
    return Expression(text, dimension, frozenset(), value, program)


def _fresh(value: Any, shape: tuple[int, ...], dtype: Any, inputs: Sequence[np.ndarray]) -> bool:
    """Whether ``value`` is a new writable array of ``shape`` and ``dtype`` (no input's memory)."""
    return (
        isinstance(value, np.ndarray)
        and value.shape == shape
        and value.dtype == dtype
        and value.flags.writeable
        and value.flags.owndata
        and not any(np.may_share_memory(value, a) for a in inputs)
    )


def _all_finite(values: np.ndarray) -> bool:
    """Whether every value is finite: by the sum (one pass, no temporary), else by the scan."""
    return sum_is_finite(values) or bool(np.isfinite(values).all())
