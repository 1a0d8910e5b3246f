"""The grammar of kronpde's expressions: what is allowed, how a text is checked and compiled.

A text is parsed with :func:`ast.parse` and the tree is checked node by node
against exactly the grammar of :mod:`kronpde.expr.expression` (numbers, the coordinates,
``pi`` and ``e``, ``+ - * / **`` with parentheses, calls of the functions of
:data:`FUNCTIONS`), within :data:`MAX_NODES` parts and :data:`MAX_DEPTH`
levels, then compiled into a short postfix *program* of numpy ufunc calls that
:func:`run` evaluates without recursion.  Nothing is ever given to ``eval``,
``exec`` or ``compile``.  :mod:`kronpde.expr.expression` holds the public
:class:`~kronpde.expr.expression.Expression`; :mod:`kronpde.expr.calculus` differentiates
programs.
"""

from __future__ import annotations

import ast
import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from kronpde.errors import ExpressionError

__all__ = [
    "COORDINATES",
    "FUNCTIONS",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "MAX_NODES",
    "PAIR_FUNCTIONS",
    "Instruction",
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

#: The functions of two arguments: ``min(a, b)`` (the union of two solids' level sets) and
#: ``max(a, b)`` (their intersection).
PAIR_FUNCTIONS: dict[str, np.ufunc] = {"min": np.minimum, "max": np.maximum}

_CONSTANTS = {"pi": math.pi, "e": math.e}
COORDINATES = ("x", "y", "z")

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
_FUNCTION_LIST = ", ".join([*FUNCTIONS, *PAIR_FUNCTIONS])
_ALL_FUNCTIONS = {**FUNCTIONS, **PAIR_FUNCTIONS}

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


# A program is a tuple of postfix instructions:
#   ("const", np.float64), ("coord", axis), ("call", ufunc) with one operand,
#   ("binary", ufunc) with two operands.
Instruction = tuple[str, Any]


def number(v: float | complex) -> str:
    if isinstance(v, (complex, np.complexfloating)) and v.imag != 0:  # an imaginary literal's
        return f"{complex(v):.6g}"
    return f"{float(np.real(v)):.6g}"


def shorten(s: str, limit: int = 60) -> str:
    return s if len(s) <= limit else s[: limit - 3] + "..."


def parse(source: str) -> ast.Expression:
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
        msg = f"{shorten(source)!r} is not a valid expression: {reason}{where}"
        raise ExpressionError(msg) from None
    except (ValueError, RecursionError, MemoryError):
        msg = f"{shorten(source)!r} is not a valid expression (it cannot be parsed)"
        raise ExpressionError(msg) from None


def _segment(source: str, node: ast.AST) -> str:
    piece = ast.get_source_segment(source, node)
    if piece is None:  # pragma: no cover - every parsed node has a position
        piece = ast.unparse(node)
    return shorten(piece, 200)


def allowed_names(dimension: int) -> str:
    return ", ".join([*COORDINATES[:dimension], *_CONSTANTS])


def _grammar(dimension: int) -> str:
    return (
        f"allowed are numbers, the names {allowed_names(dimension)}, the operators "
        f"+ - * / ** with parentheses, and the functions {_FUNCTION_LIST}"
    )


def _reject(what: str, source: str, node: ast.AST, dimension: int) -> ExpressionError:
    msg = f"{what} {_segment(source, node)!r} is not allowed; {_grammar(dimension)}"
    return ExpressionError(msg)


def compile_tree(
    root: ast.AST, source: str, dimension: int
) -> tuple[tuple[Instruction, ...], set[str]]:
    """Check the tree (outermost node first) and emit its postfix program.

    Iterative, so that neither checking nor evaluation can exhaust Python's
    recursion limit, whatever the nesting.
    """
    program: list[Instruction] = []
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
            elif node.func.id in PAIR_FUNCTIONS:  # min(a, b), max(a, b)
                program.append(("binary", PAIR_FUNCTIONS[node.func.id]))
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
                program.append(("coord", COORDINATES.index(node.id)))
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
        return list(node.args)
    if isinstance(node, ast.Name):
        if node.id in _CONSTANTS or node.id in COORDINATES[:dimension]:
            return []
        if node.id in COORDINATES:
            msg = (
                f"name {node.id!r} is not allowed in a {dimension}-D case; allowed "
                f"names: {allowed_names(dimension)}"
            )
        elif node.id in PAIR_FUNCTIONS:
            msg = (
                f"name {node.id!r} is a function and must be called with two "
                f"arguments, e.g. '{node.id}(x, y)'"
            )
        elif node.id in FUNCTIONS:
            msg = (
                f"name {node.id!r} is a function and must be called with one "
                f"argument, e.g. '{node.id}(x)'"
            )
        else:
            msg = (
                f"name {_segment(source, node)!r} is not allowed; allowed names: "
                f"{allowed_names(dimension)}; allowed functions: {_FUNCTION_LIST}"
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
                if isinstance(inner.func, ast.Name) and inner.func.id not in _ALL_FUNCTIONS:
                    _check_call(inner, source, dimension)  # raises: not allowed
                inner = inner.func
            else:
                inner = inner.value
        msg = (
            f"function {_segment(source, func)!r} is not allowed; allowed functions: "
            f"{_FUNCTION_LIST}"
        )
        raise ExpressionError(msg)
    if func.id not in _ALL_FUNCTIONS:
        msg = f"function {func.id!r} is not allowed; allowed functions: {_FUNCTION_LIST}"
        raise ExpressionError(msg)
    call = _segment(source, node)
    arity = 2 if func.id in PAIR_FUNCTIONS else 1
    takes = "exactly two positional arguments" if arity == 2 else "exactly one positional argument"
    if node.keywords:
        keyword = _segment(source, node.keywords[0])
        msg = f"keyword argument {keyword!r} in {call!r} is not allowed; {func.id} takes {takes}"
        raise ExpressionError(msg)
    for arg in node.args:
        if isinstance(arg, ast.Starred):
            msg = (
                f"starred argument {_segment(source, arg)!r} in {call!r} is not allowed; "
                f"{func.id} takes {takes}"
            )
            raise ExpressionError(msg)
    if len(node.args) != arity:
        count = "one argument" if arity == 1 else "two arguments"
        msg = f"function {func.id!r} takes exactly {count}, got {len(node.args)} in {call!r}"
        raise ExpressionError(msg)


def _literal(node: ast.Constant, source: str, dimension: int) -> np.float64 | np.complex128:
    """Return the float64 (complex128 for ``2j``) value of a numeric literal; raise otherwise."""
    value = node.value
    piece = _segment(source, node)
    if isinstance(value, bool) or value is None or value is Ellipsis:
        kind = "boolean" if isinstance(value, bool) else "constant"
        msg = f"{kind} {piece!r} is not allowed; {_grammar(dimension)}"
        raise ExpressionError(msg)
    if isinstance(value, complex):  # an imaginary literal, 2j: the expression is complex
        if not (math.isfinite(value.real) and math.isfinite(value.imag)):
            msg = f"the number {piece!r} is too large; numbers must be finite"
            raise ExpressionError(msg)
        return np.complex128(value)
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


def run(program: tuple[Instruction, ...], coords: Sequence[np.ndarray]) -> Any:
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
