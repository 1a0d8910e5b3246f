"""Symbolic derivatives of kronpde's expressions, on their checked programs.

A program (:mod:`kronpde.expr.grammar`) is turned back into its tree, the tree
is differentiated by the rules of calculus (sum, product, quotient, power and
chain rules, the derivatives of the allowed functions), constants are folded,
and the result is compiled into a new program of the same numpy ufuncs, with
its text: nothing is evaluated by finite differences, nothing is given to
``eval``.  :meth:`kronpde.expr.expression.Expression.derivative` is the public entry.
"""

from __future__ import annotations

import math

import numpy as np

from kronpde._checks import is_count
from kronpde.errors import ExpressionError
from kronpde.expr.grammar import COORDINATES, FUNCTIONS, Instruction, allowed_names, run

__all__ = ["derivative_program"]


def derivative_program(
    program: tuple[Instruction, ...], coordinate: str | int, dimension: int
) -> tuple[str, frozenset[str], float | None, tuple[Instruction, ...]]:
    """Differentiate a program with respect to one coordinate.

    Returns
    -------
    text, names_used, value, program
        The derivative written out, the coordinates it uses, its value when it
        is constant (else None), and its program.
    """
    axis = _coordinate_axis(coordinate, dimension)
    return _from_tree(_differentiate(_tree(program), axis))


# A tree is nested tuples: ("const", float), ("coord", axis), ("call", ufunc, child),
# ("binary", ufunc, left, right).  Trees are built from a program, differentiated and
# compiled back without recursion (a derivative tree may be deeper than MAX_DEPTH).

_NAMES = {ufunc: name for name, ufunc in FUNCTIONS.items()}
_NAMES[np.sign] = "sign"
_SYMBOLS = {np.add: "+", np.subtract: "-", np.multiply: "*", np.true_divide: "/", np.power: "**"}
_PRECEDENCE = {np.add: 1, np.subtract: 1, np.multiply: 2, np.true_divide: 2, np.power: 4}
_ZERO = ("const", 0.0)
_ONE = ("const", 1.0)


def _coordinate_axis(coordinate: str | int, dimension: int) -> int:
    if isinstance(coordinate, str) and coordinate in COORDINATES[:dimension]:
        return COORDINATES.index(coordinate)
    if is_count(coordinate) and int(coordinate) < dimension:
        return int(coordinate)
    msg = (
        f"cannot differentiate with respect to {coordinate!r}: a {dimension}-D expression "
        f"has the coordinates {allowed_names(dimension).rsplit(', ', 2)[0]}"
    )
    raise ExpressionError(msg)


def _tree(program: tuple[Instruction, ...]) -> tuple:
    stack: list[tuple] = []
    for op, arg in program:
        if op == "const":
            stack.append(("const", float(arg)))
        elif op == "coord":
            stack.append(("coord", int(arg)))
        elif op == "call":
            stack.append(_call(arg, stack.pop()))
        else:
            right = stack.pop()
            left = stack.pop()
            if _const(left) is not None and _const(right) is not None:
                stack.append(_fold(arg, left[1], right[1]))
            else:
                stack.append(("binary", arg, left, right))
    (root,) = stack
    return root


def _const(node: tuple) -> float | None:
    return node[1] if node[0] == "const" else None


def _fold(ufunc: np.ufunc, *values: float) -> tuple:
    with np.errstate(all="ignore"):
        return ("const", float(ufunc(*values)))


def _add(a: tuple, b: tuple) -> tuple:
    ca, cb = _const(a), _const(b)
    if ca == 0.0:
        return b
    if cb == 0.0:
        return a
    if ca is not None and cb is not None:
        return _fold(np.add, ca, cb)
    return ("binary", np.add, a, b)


def _neg(a: tuple) -> tuple:
    ca = _const(a)
    if ca is not None:
        return ("const", -ca)
    if a[0] == "call" and a[1] is np.negative:
        return a[2]
    return ("call", np.negative, a)


def _sub(a: tuple, b: tuple) -> tuple:
    ca, cb = _const(a), _const(b)
    if cb == 0.0:
        return a
    if ca == 0.0:
        return _neg(b)
    if ca is not None and cb is not None:
        return _fold(np.subtract, ca, cb)
    return ("binary", np.subtract, a, b)


def _mul(a: tuple, b: tuple) -> tuple:
    ca, cb = _const(a), _const(b)
    if ca == 0.0 or cb == 0.0:
        return _ZERO  # the term of a derivative that vanishes identically
    if ca == 1.0:
        return b
    if cb == 1.0:
        return a
    if ca == -1.0:
        return _neg(b)
    if cb == -1.0:
        return _neg(a)
    if ca is not None and cb is not None:
        return _fold(np.multiply, ca, cb)
    if _negated(a) or _negated(b):  # -(a b) reads better than a*-b
        return _neg(_mul(_neg(a), b) if _negated(a) else _mul(a, _neg(b)))
    return ("binary", np.multiply, a, b)


def _negated(a: tuple) -> bool:
    return a[0] == "call" and a[1] is np.negative


def _div(a: tuple, b: tuple) -> tuple:
    ca, cb = _const(a), _const(b)
    if ca == 0.0:
        return _ZERO
    if cb == 1.0:
        return a
    if ca is not None and cb is not None:
        return _fold(np.true_divide, ca, cb)
    return ("binary", np.true_divide, a, b)


def _pow(a: tuple, b: tuple) -> tuple:
    ca, cb = _const(a), _const(b)
    if cb == 1.0:
        return a
    if cb == 0.0:
        return _ONE
    if ca is not None and cb is not None:
        return _fold(np.power, ca, cb)
    return ("binary", np.power, a, b)


def _call(ufunc: np.ufunc, a: tuple) -> tuple:
    ca = _const(a)
    if ca is not None:
        return _fold(ufunc, ca)
    return ("call", ufunc, a)


def _function_derivative(ufunc: np.ufunc, u: tuple) -> tuple:
    """``f'(u)`` for the functions of :data:`FUNCTIONS` (and negation)."""
    if ufunc is np.negative:
        return ("const", -1.0)
    if ufunc is np.sin:
        return _call(np.cos, u)
    if ufunc is np.cos:
        return _neg(_call(np.sin, u))
    if ufunc is np.tan:
        return _div(_ONE, _pow(_call(np.cos, u), ("const", 2.0)))
    if ufunc is np.exp:
        return _call(np.exp, u)
    if ufunc is np.log:
        return _div(_ONE, u)
    if ufunc is np.sqrt:
        return _div(_ONE, _mul(("const", 2.0), _call(np.sqrt, u)))
    if ufunc is np.absolute:
        return _call(np.sign, u)
    if ufunc is np.sinh:
        return _call(np.cosh, u)
    if ufunc is np.cosh:
        return _call(np.sinh, u)
    if ufunc is np.tanh:
        return _div(_ONE, _pow(_call(np.cosh, u), ("const", 2.0)))
    if ufunc in (np.arcsin, np.arccos):
        d = _div(_ONE, _call(np.sqrt, _sub(_ONE, _pow(u, ("const", 2.0)))))
        return d if ufunc is np.arcsin else _neg(d)
    if ufunc is np.arctan:
        return _div(_ONE, _add(_ONE, _pow(u, ("const", 2.0))))
    if ufunc is np.sign:
        return _ZERO
    msg = f"no derivative rule for {ufunc!r}"  # pragma: no cover - every function has one
    raise ExpressionError(msg)


def _children(node: tuple) -> tuple:
    if node[0] == "call":
        return (node[2],)
    if node[0] == "binary":
        return (node[2], node[3])
    return ()


def _derivative_of(node: tuple, d: list[tuple], axis: int) -> tuple:
    """Return the derivative of ``node`` from the derivatives ``d`` of its children."""
    kind = node[0]
    if kind == "const":
        return _ZERO
    if kind == "coord":
        return _ONE if node[1] == axis else _ZERO
    if kind == "call":
        return _mul(_function_derivative(node[1], node[2]), d[0])
    op, u, v = node[1], node[2], node[3]
    du, dv = d
    if op is np.minimum or op is np.maximum:
        name = "min" if op is np.minimum else "max"
        msg = f"{name}(a, b) has no derivative where a = b; the derivatives need smooth data"
        raise ExpressionError(msg)
    if op is np.add:
        return _add(du, dv)
    if op is np.subtract:
        return _sub(du, dv)
    if op is np.multiply:
        return _add(_mul(du, v), _mul(u, dv))
    if op is np.true_divide:
        if _const(dv) == 0.0:
            return _div(du, v)
        return _div(_sub(_mul(du, v), _mul(u, dv)), _pow(v, ("const", 2.0)))
    # power: u**v
    if _const(dv) == 0.0:  # v does not depend on the coordinate
        cv = _const(v)
        lower = ("const", cv - 1.0) if cv is not None else _sub(v, _ONE)
        return _mul(_mul(v, _pow(u, lower)), du)
    log_u = _call(np.log, u)
    if _const(du) == 0.0:
        return _mul(_mul(node, log_u), dv)
    return _mul(node, _add(_mul(dv, log_u), _div(_mul(v, du), u)))


def _differentiate(root: tuple, axis: int) -> tuple:
    done: dict[int, tuple] = {}
    stack: list[tuple[tuple, bool]] = [(root, False)]
    while stack:
        node, ready = stack.pop()
        if id(node) in done:
            continue
        children = _children(node)
        if ready:
            done[id(node)] = _derivative_of(node, [done[id(c)] for c in children], axis)
        else:
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in done)
    return done[id(root)]


def _post_order(root: tuple) -> list[tuple]:
    """Nodes in post-order (children first), shared subtrees repeated, without recursion."""
    out: list[tuple] = []
    stack: list[tuple[tuple, bool]] = [(root, False)]
    while stack:
        node, ready = stack.pop()
        if ready:
            out.append(node)
            continue
        stack.append((node, True))
        stack.extend((c, False) for c in reversed(_children(node)))
    return out


def _text_of_const(value: float) -> str:
    if math.isfinite(value) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def _from_tree(root: tuple) -> tuple[str, frozenset[str], float | None, tuple[Instruction, ...]]:
    """Compile a tree into its text, names, constant value and program."""
    program: list[Instruction] = []
    texts: list[tuple[str, int]] = []  # (text, precedence) of each operand on the stack
    names: set[str] = set()
    for node in _post_order(root):
        kind = node[0]
        if kind == "const":
            program.append(("const", np.float64(node[1])))
            prec = 5 if node[1] >= 0.0 else 3
            texts.append((_text_of_const(node[1]), prec))
        elif kind == "coord":
            program.append(("coord", node[1]))
            names.add(COORDINATES[node[1]])
            texts.append((COORDINATES[node[1]], 5))
        elif kind == "call":
            program.append(("call", node[1]))
            inner, prec = texts.pop()
            if node[1] is np.negative:
                texts.append((f"-({inner})" if prec < 5 else f"-{inner}", 3))
            else:
                texts.append((f"{_NAMES[node[1]]}({inner})", 5))
        else:
            op = node[1]
            program.append(("binary", op))
            (right, rp), (left, lp) = texts.pop(), texts.pop()
            if op is np.minimum or op is np.maximum:
                texts.append((f"{'min' if op is np.minimum else 'max'}({left}, {right})", 5))
                continue
            p = _PRECEDENCE[op]
            if op is np.power:  # right-associative, binds tighter than unary minus on its left
                left = left if lp > p else f"({left})"
                right = right if rp >= p else f"({right})"
            else:
                left = left if lp >= p else f"({left})"
                right = right if rp > p else f"({right})"
            texts.append((f"{left}{_SYMBOLS[op]}{right}", p))
    program_t = tuple(program)
    value = None
    if not names:
        with np.errstate(all="ignore"):
            value = float(run(program_t, []))
    ((text, _),) = texts
    return text, frozenset(names), value, program_t
