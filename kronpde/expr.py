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

import ast
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kronpde.errors import DataError

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

#: Longest expression text accepted, in characters.
MAX_LENGTH = 2000
#: Deepest syntax tree accepted (a number or a name has depth 1).
MAX_DEPTH = 200
#: Most syntax-tree nodes accepted.
MAX_NODES = 1000

#: The functions an expression may call, and the numpy ufunc each one means.
FUNCTIONS: dict[str, np.ufunc] = {
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "exp": np.exp,
    "log": np.log,
    "sqrt": np.sqrt,
    "abs": np.absolute,
    "sinh": np.sinh,
    "cosh": np.cosh,
    "tanh": np.tanh,
    "arcsin": np.arcsin,
    "arccos": np.arccos,
    "arctan": np.arctan,
}

_CONSTANTS = {"pi": math.pi, "e": math.e}
_COORDINATES = ("x", "y", "z")

_BINARY: dict[type, np.ufunc] = {
    ast.Add: np.add,
    ast.Sub: np.subtract,
    ast.Mult: np.multiply,
    ast.Div: np.true_divide,
    ast.Pow: np.power,
}
_OPERATOR_SYMBOLS = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.Pow: "**",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.MatMult: "@",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitOr: "|",
    ast.BitXor: "^",
    ast.BitAnd: "&",
    ast.Invert: "~",
    ast.Not: "not",
    ast.UAdd: "+",
    ast.USub: "-",
}
_FUNCTION_LIST = ", ".join(FUNCTIONS)

# What the user wrote, named the way a user would call it.
_CONSTRUCTS = {
    ast.Attribute: "attribute access",
    ast.Subscript: "subscript",
    ast.Slice: "slice",
    ast.Lambda: "lambda",
    ast.List: "list",
    ast.Tuple: "tuple",
    ast.Dict: "dict",
    ast.Set: "set",
    ast.ListComp: "list comprehension",
    ast.SetComp: "set comprehension",
    ast.DictComp: "dict comprehension",
    ast.GeneratorExp: "generator expression",
    ast.Compare: "comparison",
    ast.BoolOp: "boolean operator",
    ast.IfExp: "conditional expression",
    ast.NamedExpr: "assignment expression",
    ast.JoinedStr: "f-string",
    ast.FormattedValue: "f-string",
    ast.Starred: "starred argument",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
}


class ExpressionError(DataError):
    """An expression that is not allowed, cannot be parsed, or is not finite.

    A :class:`~kronpde.errors.DataError`: where the model knows which argument
    the expression was given for, ``subject`` names it.
    """


# A program is a tuple of postfix instructions:
#   ("const", np.float64), ("coord", axis), ("call", ufunc) with one operand,
#   ("binary", ufunc) with two operands.
_Instruction = tuple[str, Any]


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
    value : float or None
        The (finite) value of a constant expression; None otherwise.
    """

    text: str
    dimension: int
    names_used: frozenset[str]
    value: float | None = None
    _program: tuple[_Instruction, ...] = field(default=(), repr=False, compare=False)

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
            names = ", ".join(_COORDINATES[: self.dimension])
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
            value = _run(self._program, arrays)
        out = np.empty(shape, dtype=np.float64)
        out[...] = value
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
            f"{name}={_number(c)}"
            for name, c in zip(_COORDINATES[: self.dimension], point, strict=True)
        )
        more = f" and at {count - 1} more of the {total} points" if count > 1 else ""
        return f"{self.text!r} is not finite at {where} ({_number(value)}){more}"


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
    kronpde.expr.ExpressionError: attribute access 'x.real' is not allowed; allowed are ...
    """
    if (
        isinstance(dimension, bool)
        or not isinstance(dimension, (int, np.integer))
        or dimension not in (1, 2, 3)
    ):
        msg = f"dimension must be 1, 2 or 3, got {dimension!r}"
        raise ExpressionError(msg)
    dimension = int(dimension)
    if isinstance(text, (bool, np.bool_)):
        msg = f"expected a number or an expression string, got the boolean {text!r}"
        raise ExpressionError(msg)
    if isinstance(text, (int, float, np.integer, np.floating)):
        return _from_number(text, dimension)
    if not isinstance(text, str):
        msg = (
            "expected a number or an expression string, got "
            f"{type(text).__name__} {_shorten(repr(text))}"
        )
        raise ExpressionError(msg)

    source = text.strip()
    if not source:
        msg = "the expression is empty; give a number or an expression such as 'sin(pi*x)'"
        raise ExpressionError(msg)
    if len(source) > MAX_LENGTH:
        msg = f"the expression is {len(source)} characters long; at most {MAX_LENGTH} are allowed"
        raise ExpressionError(msg)
    tree = _parse(source)
    program, names = _compile(tree.body, source, dimension)
    names_used = frozenset(names)
    value = None
    if not names_used:
        with np.errstate(all="ignore"):
            result = _run(program, [])
        value = float(result)
        if not math.isfinite(value):
            msg = f"{source!r} is not finite ({_number(value)})"
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


# --------------------------------------------------------------------------- internals


def _number(v: float) -> str:
    return f"{float(v):.6g}"


def _shorten(s: str, limit: int = 60) -> str:
    return s if len(s) <= limit else s[: limit - 3] + "..."


def _from_number(number: int | float | np.integer | np.floating, dimension: int) -> Expression:
    try:
        value = float(number)
    except OverflowError:
        value = math.inf
    if not math.isfinite(value):
        shown = _shorten(repr(number)) if isinstance(number, float) else "given"
        msg = f"the number {shown} is not finite; a finite number is required"
        raise ExpressionError(msg)
    text = str(int(number)) if isinstance(number, (int, np.integer)) else repr(value)
    program = (("const", np.float64(value)),)
    return Expression(text, dimension, frozenset(), value, program)


def _parse(source: str) -> ast.Expression:
    try:
        # Literal oddities (invalid escapes, "1 is 1") warn at parse time;
        # they are rejected below anyway.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(source, mode="eval")
    except SyntaxError as exc:
        where = ""
        if exc.offset:
            where = f" at column {exc.offset}"
            if "\n" in source and exc.lineno:
                where = f" at line {exc.lineno}, column {exc.offset}"
        reason = exc.msg or "invalid syntax"
        msg = f"{_shorten(source)!r} is not a valid expression: {reason}{where}"
        raise ExpressionError(msg) from None
    except (ValueError, RecursionError, MemoryError):
        msg = f"{_shorten(source)!r} is not a valid expression (it cannot be parsed)"
        raise ExpressionError(msg) from None


def _segment(source: str, node: ast.AST) -> str:
    piece = ast.get_source_segment(source, node)
    if piece is None:  # pragma: no cover - every parsed node has a position
        piece = ast.unparse(node)
    return _shorten(piece, 200)


def _allowed_names(dimension: int) -> str:
    return ", ".join([*_COORDINATES[:dimension], *_CONSTANTS])


def _grammar(dimension: int) -> str:
    return (
        f"allowed are numbers, the names {_allowed_names(dimension)}, the operators "
        f"+ - * / ** with parentheses, and the functions {_FUNCTION_LIST}"
    )


def _reject(what: str, source: str, node: ast.AST, dimension: int) -> ExpressionError:
    msg = f"{what} {_segment(source, node)!r} is not allowed; {_grammar(dimension)}"
    return ExpressionError(msg)


def _compile(
    root: ast.AST, source: str, dimension: int
) -> tuple[tuple[_Instruction, ...], set[str]]:
    """Check the tree (outermost node first) and emit its postfix program.

    Iterative, so that neither checking nor evaluation can exhaust Python's
    recursion limit, whatever the nesting.
    """
    program: list[_Instruction] = []
    names: set[str] = set()
    count = 0
    stack: list[tuple[ast.AST, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, expanded = stack.pop()
        if expanded:
            if isinstance(node, ast.BinOp):
                program.append(("binary", _BINARY[type(node.op)]))
            elif isinstance(node, ast.UnaryOp):
                if isinstance(node.op, ast.USub):
                    program.append(("call", np.negative))
            else:  # ast.Call
                program.append(("call", FUNCTIONS[node.func.id]))
            continue
        count += 1
        if count > MAX_NODES:
            msg = f"the expression has more than {MAX_NODES} parts; it is too large"
            raise ExpressionError(msg)
        if depth > MAX_DEPTH:
            msg = f"the expression is nested more than {MAX_DEPTH} levels deep"
            raise ExpressionError(msg)
        children = _check(node, source, dimension)
        if isinstance(node, ast.Constant):
            program.append(("const", _literal(node, source, dimension)))
        elif isinstance(node, ast.Name):
            if node.id in _CONSTANTS:
                program.append(("const", np.float64(_CONSTANTS[node.id])))
            else:
                names.add(node.id)
                program.append(("coord", _COORDINATES.index(node.id)))
        else:
            stack.append((node, depth, True))
            stack.extend((child, depth + 1, False) for child in reversed(children))
    return tuple(program), names


def _check(node: ast.AST, source: str, dimension: int) -> list[ast.AST]:
    """Raise if ``node`` itself is not allowed; return its operands."""
    if isinstance(node, ast.BinOp):
        if type(node.op) not in _BINARY:
            symbol = _OPERATOR_SYMBOLS.get(type(node.op), type(node.op).__name__)
            msg = (
                f"operator {symbol!r} in {_segment(source, node)!r} is not allowed; "
                f"{_grammar(dimension)}"
            )
            raise ExpressionError(msg)
        return [node.left, node.right]
    if isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, (ast.USub, ast.UAdd)):
            symbol = _OPERATOR_SYMBOLS.get(type(node.op), type(node.op).__name__)
            msg = (
                f"operator {symbol!r} in {_segment(source, node)!r} is not allowed; "
                f"{_grammar(dimension)}"
            )
            raise ExpressionError(msg)
        return [node.operand]
    if isinstance(node, ast.Call):
        _check_call(node, source, dimension)
        return [node.args[0]]
    if isinstance(node, ast.Name):
        if node.id in _CONSTANTS or node.id in _COORDINATES[:dimension]:
            return []
        if node.id in _COORDINATES:
            msg = (
                f"name {node.id!r} is not allowed in a {dimension}-D case; allowed "
                f"names: {_allowed_names(dimension)}"
            )
        elif node.id in FUNCTIONS:
            msg = (
                f"name {node.id!r} is a function and must be called with one "
                f"argument, e.g. '{node.id}(x)'"
            )
        else:
            msg = (
                f"name {_segment(source, node)!r} is not allowed; allowed names: "
                f"{_allowed_names(dimension)}; allowed functions: {_FUNCTION_LIST}"
            )
        raise ExpressionError(msg)
    if isinstance(node, ast.Constant):
        _literal(node, source, dimension)  # raises if not a finite real number
        return []
    what = _CONSTRUCTS.get(type(node), f"construct ({type(node).__name__})")
    raise _reject(what, source, node, dimension)


def _check_call(node: ast.Call, source: str, dimension: int) -> None:
    func = node.func
    if not isinstance(func, ast.Name):
        # For ``__import__('os').system('ls')`` name the innermost offending
        # call, the one that would have run first.
        inner: ast.AST = func
        while isinstance(inner, (ast.Attribute, ast.Subscript, ast.Call)):
            if isinstance(inner, ast.Call):
                if isinstance(inner.func, ast.Name) and inner.func.id not in FUNCTIONS:
                    _check_call(inner, source, dimension)  # raises: not allowed
                inner = inner.func
            else:
                inner = inner.value
        msg = (
            f"function {_segment(source, func)!r} is not allowed; allowed functions: "
            f"{_FUNCTION_LIST}"
        )
        raise ExpressionError(msg)
    if func.id not in FUNCTIONS:
        msg = f"function {func.id!r} is not allowed; allowed functions: {_FUNCTION_LIST}"
        raise ExpressionError(msg)
    call = _segment(source, node)
    if node.keywords:
        keyword = _segment(source, node.keywords[0])
        msg = (
            f"keyword argument {keyword!r} in {call!r} is not allowed; "
            f"{func.id} takes exactly one positional argument"
        )
        raise ExpressionError(msg)
    for arg in node.args:
        if isinstance(arg, ast.Starred):
            msg = (
                f"starred argument {_segment(source, arg)!r} in {call!r} is not allowed; "
                f"{func.id} takes exactly one positional argument"
            )
            raise ExpressionError(msg)
    if len(node.args) != 1:
        msg = f"function {func.id!r} takes exactly one argument, got {len(node.args)} in {call!r}"
        raise ExpressionError(msg)


def _literal(node: ast.Constant, source: str, dimension: int) -> np.float64:
    """Return the float64 value of a numeric literal; raise for anything else."""
    value = node.value
    piece = _segment(source, node)
    if isinstance(value, bool) or value is None or value is Ellipsis:
        kind = "boolean" if isinstance(value, bool) else "constant"
        msg = f"{kind} {piece!r} is not allowed; {_grammar(dimension)}"
        raise ExpressionError(msg)
    if isinstance(value, complex):
        msg = f"complex number {piece!r} is not allowed; {_grammar(dimension)}"
        raise ExpressionError(msg)
    if isinstance(value, (str, bytes)):
        msg = f"string {piece!r} is not allowed; {_grammar(dimension)}"
        raise ExpressionError(msg)
    if not isinstance(value, (int, float)):  # pragma: no cover - no other literal kinds
        msg = f"literal {piece!r} is not allowed; {_grammar(dimension)}"
        raise ExpressionError(msg)
    try:
        number = float(value)  # ints become floats: no big-integer arithmetic ever
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        msg = f"the number {piece!r} is too large; numbers must be finite float64 values"
        raise ExpressionError(msg)
    return np.float64(number)


def _run(program: tuple[_Instruction, ...], coords: Sequence[np.ndarray]) -> Any:
    """Evaluate a postfix program (call under ``np.errstate``)."""
    stack: list[Any] = []
    for op, arg in program:
        if op == "const":
            stack.append(arg)
        elif op == "coord":
            stack.append(coords[arg])
        elif op == "call":
            stack.append(arg(stack.pop()))
        else:
            right = stack.pop()
            stack.append(arg(stack.pop(), right))
    (result,) = stack
    return result
