"""Tests of the safe expression evaluator, kronpde.expr.expression."""

from __future__ import annotations

import ast
import dataclasses
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kronpde.expr.grammar as grammar_module
from kronpde.errors import KronpdeError
from kronpde.expr.expression import (
    MAX_LENGTH,
    MAX_NODES,
    Expression,
    ExpressionError,
    evaluate_expression,
    parse_expression,
)

# Points strictly inside the domains of log, sqrt, arcsin, arccos.
XS = np.linspace(0.1, 0.9, 5)
YS = np.linspace(0.2, 0.8, 4)
ZS = np.linspace(0.3, 0.7, 3)


@pytest.fixture(autouse=True)
def _raise_on_float_errors():
    # The evaluator must not depend on the caller's numpy error state.
    with np.errstate(all="raise"):
        yield


def grid2(sparse: bool = True) -> list[np.ndarray]:
    return np.meshgrid(XS, YS, indexing="ij", sparse=sparse)


# --------------------------------------------------------------------------- values

VALID_2D = [
    ("x", lambda x, y: x + 0 * y),
    ("y", lambda x, y: y + 0 * x),
    ("pi", lambda x, y: np.full((5, 4), math.pi)),
    ("e", lambda x, y: np.full((5, 4), math.e)),
    ("2", lambda x, y: np.full((5, 4), 2.0)),
    ("2.5e-1", lambda x, y: np.full((5, 4), 0.25)),
    ("1_000", lambda x, y: np.full((5, 4), 1000.0)),
    ("x + y", lambda x, y: x + y),
    ("x - y - 1", lambda x, y: (x - y) - 1),
    ("x / y / 2", lambda x, y: (x / y) / 2),
    ("x * y + 3", lambda x, y: x * y + 3),
    ("-x**2", lambda x, y: -(x**2) + 0 * y),
    ("(-x)**2", lambda x, y: x * x + 0 * y),
    ("-x + +y", lambda x, y: y - x),
    ("2**-1", lambda x, y: np.full((5, 4), 0.5)),
    ("2**3**2", lambda x, y: np.full((5, 4), 512.0)),
    ("x**0.5", lambda x, y: np.sqrt(x) + 0 * y),
    ("((x + (y)) * ((2)))", lambda x, y: 2 * (x + y)),
    ("-(-(x))", lambda x, y: x + 0 * y),
    ("(1 + x) * (2 - y) / (3 + x*y)", lambda x, y: (1 + x) * (2 - y) / (3 + x * y)),
    (
        "3*pi**2*sin(pi*x)*sin(pi*y)",
        lambda x, y: 3 * np.pi**2 * np.sin(np.pi * x) * np.sin(np.pi * y),
    ),
    ("exp(-x*y) * cos(2*pi*y)", lambda x, y: np.exp(-x * y) * np.cos(2 * np.pi * y)),
    ("sin(cos(tan(x)))", lambda x, y: np.sin(np.cos(np.tan(x))) + 0 * y),
    ("  x*y\n", lambda x, y: x * y),
    ("(x +\n y)", lambda x, y: x + y),
    ("sin(x*y)", lambda x, y: np.sin(x * y)),
    ("cos(x*y)", lambda x, y: np.cos(x * y)),
    ("tan(x*y)", lambda x, y: np.tan(x * y)),
    ("exp(x*y)", lambda x, y: np.exp(x * y)),
    ("log(x*y)", lambda x, y: np.log(x * y)),
    ("sqrt(x*y)", lambda x, y: np.sqrt(x * y)),
    ("abs(x - y)", lambda x, y: np.abs(x - y)),
    ("sinh(x*y)", lambda x, y: np.sinh(x * y)),
    ("cosh(x*y)", lambda x, y: np.cosh(x * y)),
    ("tanh(x*y)", lambda x, y: np.tanh(x * y)),
    ("arcsin(x*y)", lambda x, y: np.arcsin(x * y)),
    ("arccos(x*y)", lambda x, y: np.arccos(x * y)),
    ("arctan(x*y)", lambda x, y: np.arctan(x * y)),
    ("log(e)", lambda x, y: np.ones((5, 4))),
]


@pytest.mark.parametrize(("text", "reference"), VALID_2D, ids=[t for t, _ in VALID_2D])
def test_values_match_numpy(text, reference):
    x, y = np.meshgrid(XS, YS, indexing="ij")
    result = parse_expression(text, dimension=2).evaluate(grid2())
    assert result.dtype == np.float64
    assert result.shape == (5, 4)
    np.testing.assert_allclose(result, reference(x, y), rtol=1e-14, atol=1e-15)


def test_unary_minus_binds_looser_than_power():
    coords = grid2()
    a = parse_expression("-x**2", dimension=2).evaluate(coords)
    b = parse_expression("-(x**2)", dimension=2).evaluate(coords)
    c = parse_expression("(-x)**2", dimension=2).evaluate(coords)
    np.testing.assert_array_equal(a, b)
    assert np.all(a < 0)
    np.testing.assert_allclose(c, -a, rtol=1e-15)


def test_three_d_values_and_dense_grid():
    x, y, z = np.meshgrid(XS, YS, ZS, indexing="ij")
    text = "sin(pi*x)*cos(pi*y)*exp(z) + x*y*z"
    expected = np.sin(np.pi * x) * np.cos(np.pi * y) * np.exp(z) + x * y * z
    sparse = evaluate_expression(
        text, np.meshgrid(XS, YS, ZS, indexing="ij", sparse=True), dimension=3
    )
    dense = evaluate_expression(text, [x, y, z], dimension=3)
    np.testing.assert_allclose(sparse, expected, rtol=1e-14)
    np.testing.assert_allclose(dense, expected, rtol=1e-14)


def test_one_point_and_scalars():
    result = evaluate_expression("x*y + 1", [0.5, 4.0], dimension=2)
    assert result.shape == ()
    assert float(result) == 3.0


# --------------------------------------------------------------------------- shapes

SHAPES = {1: (4,), 2: (4, 5), 3: (4, 5, 6)}


def _coords(dimension: int) -> list[np.ndarray]:
    axes = [np.linspace(0.0, 1.0, n) for n in SHAPES[dimension]]
    return np.meshgrid(*axes, indexing="ij", sparse=True)


@pytest.mark.parametrize("dimension", [1, 2, 3])
@pytest.mark.parametrize("text", ["2.5", "x + 1", "LAST", "pi*e"])
def test_result_has_full_broadcast_shape(dimension, text):
    last = "xyz"[dimension - 1]
    text = text.replace("LAST", f"3*{last}")
    coords = _coords(dimension)
    full = np.meshgrid(*[np.linspace(0.0, 1.0, n) for n in SHAPES[dimension]], indexing="ij")
    expected = {
        "2.5": np.full(SHAPES[dimension], 2.5),
        "x + 1": full[0] + 1,
        f"3*{last}": 3 * full[-1],
        "pi*e": np.full(SHAPES[dimension], math.pi * math.e),
    }[text]
    result = parse_expression(text, dimension=dimension).evaluate(coords)
    assert result.shape == SHAPES[dimension]
    assert result.dtype == np.float64
    assert result.flags.writeable
    np.testing.assert_allclose(result, expected, rtol=1e-15)


@pytest.mark.parametrize("number", [3, 2.5, np.float64(-1.25), np.int32(7), 0])
def test_numbers_are_constant_expressions(number):
    ex = parse_expression(number, dimension=2)
    assert ex.is_constant
    assert ex.names_used == frozenset()
    assert ex.value == float(number)
    result = ex.evaluate(grid2())
    np.testing.assert_array_equal(result, np.full((5, 4), float(number)))


def test_expression_attributes():
    ex = parse_expression("  sin(pi*x) * z + 1 ", dimension=3)
    assert ex.text == "sin(pi*x) * z + 1"
    assert ex.names_used == frozenset({"x", "z"})
    assert not ex.is_constant
    assert ex.value is None
    assert ex.dimension == 3
    const = parse_expression("2*pi", dimension=1)
    assert const.is_constant
    assert const.value == pytest.approx(2 * math.pi, rel=1e-15)
    with pytest.raises(dataclasses.FrozenInstanceError):
        ex.text = "y"  # type: ignore[misc]
    assert isinstance(ex, Expression)


def test_evaluation_leaves_coordinates_alone():
    coords = grid2()
    before = [c.copy() for c in coords]
    out = parse_expression("x", dimension=2).evaluate(coords)
    out[...] = -1.0
    for c, b in zip(coords, before, strict=True):
        np.testing.assert_array_equal(c, b)


def test_wrong_number_of_coordinate_arrays():
    with pytest.raises(ExpressionError, match="expected 2 coordinate"):
        parse_expression("x", dimension=2).evaluate(_coords(3))


def test_coordinates_that_do_not_broadcast():
    with pytest.raises(ExpressionError, match="do not broadcast"):
        parse_expression("x + y", dimension=2).evaluate([np.zeros(3), np.zeros(4)])


# --------------------------------------------------------------------------- rejections

REJECTED = [
    # (text, dimension, piece the message must contain)
    ("__import__('os').system('echo hi')", 2, "'__import__'"),
    ("().__class__.__bases__", 2, "().__class__.__bases__"),
    ("().__class__", 2, "attribute access '().__class__'"),
    ("open('f')", 2, "'open'"),
    ("exec('1')", 2, "'exec'"),
    ("eval('1')", 2, "'eval'"),
    ("compile('1', 'f', 'eval')", 2, "'compile'"),
    ("np.sin(x)", 2, "np.sin"),
    ("numpy", 2, "'numpy'"),
    ("X", 2, "'X'"),
    ("x.real", 2, "x.real"),
    ("x[0]", 2, "x[0]"),
    ("lambda: 1", 1, "lambda: 1"),
    ("[1]", 1, "[1]"),
    ("{}", 1, "{}"),
    ("{1}", 1, "{1}"),
    ("(x, y)", 2, "(x, y)"),
    ("'a'", 1, "'a'"),
    ("b'a'", 1, "b'a'"),
    ("f'{x}'", 1, "f'{x}'"),
    ("1 if x else 2", 1, "1 if x else 2"),
    ("x < 1", 1, "x < 1"),
    ("x and y", 2, "x and y"),
    ("not x", 1, "not x"),
    ("~x", 1, "~x"),
    ("sin(x, y)", 2, "sin(x, y)"),
    ("sin()", 2, "sin()"),
    ("sin(x=1)", 2, "x=1"),
    ("sin(*x)", 2, "*x"),
    ("sin", 1, "'sin'"),
    ("x(2)", 1, "'x'"),
    ("z", 2, "'z'"),
    ("y", 1, "'y'"),
    ("1e400j", 1, "1e400j"),  # imaginary literals are allowed (issue 28), but finite only
    ("True", 1, "True"),
    ("None", 1, "None"),
    ("x // 2", 1, "//"),
    ("x % 2", 1, "%"),
    ("x @ y", 2, "@"),
    ("x << 2", 1, "<<"),
    ("nan", 1, "'nan'"),
    ("inf", 1, "'inf'"),
    ("1e400", 1, "1e400"),
    ("(y := 1)", 2, "y := 1"),
    ("[i for i in x]", 1, "[i for i in x]"),
    ("x +* 2", 1, "'x +* 2'"),
    ("sin(x", 1, "'sin(x'"),
    ("x; y", 2, "'x; y'"),
    ("x\0", 1, "not a valid expression"),
    ("", 2, "empty"),
    ("   ", 2, "empty"),
]


@pytest.mark.parametrize(("text", "dimension", "piece"), REJECTED, ids=[r[0] for r in REJECTED])
def test_rejected(text, dimension, piece):
    with pytest.raises(ExpressionError) as info:
        parse_expression(text, dimension=dimension)
    message = str(info.value)
    assert piece in message
    assert "\n" not in message
    assert "Traceback" not in message
    assert info.value.__cause__ is None
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, KronpdeError)


def test_rejections_say_what_is_allowed():
    with pytest.raises(ExpressionError, match=r"allowed names: x, y, pi, e$"):
        parse_expression("z", dimension=2)
    with pytest.raises(ExpressionError, match="allowed functions: sin, cos, tan, exp, log"):
        parse_expression("__import__('os').system('ls')", dimension=3)
    with pytest.raises(ExpressionError, match=r"the names x, y, z, pi, e.*arctan"):
        parse_expression("x[0]", dimension=3)


def test_injection_does_not_run(tmp_path):
    target = tmp_path / "pwned"
    for text in [
        f"__import__('os').system('touch {target}')",
        f"open('{target}', 'w')",
        f"[c for c in ().__class__.__base__.__subclasses__()][0]('{target}')",
    ]:
        with pytest.raises(ExpressionError):
            parse_expression(text, dimension=1)
    assert not target.exists()


@pytest.mark.parametrize(
    ("value", "piece"),
    [
        (True, "boolean"),
        (np.bool_(False), "boolean"),
        (None, "NoneType"),
        ([1.0], "list"),
        (float("nan"), "nan"),
        (float("inf"), "inf"),
        (10**400, "not finite"),
    ],
)
def test_rejected_values(value, piece):
    with pytest.raises(ExpressionError, match=piece):
        parse_expression(value, dimension=1)


@pytest.mark.parametrize("dimension", [0, 4, True, 2.0])
def test_bad_dimension(dimension):
    with pytest.raises(ExpressionError, match="dimension must be 1, 2 or 3"):
        parse_expression("x", dimension=dimension)


def test_length_and_depth_limits():
    with pytest.raises(ExpressionError, match=f"at most {MAX_LENGTH}"):
        parse_expression("x+" * 1200 + "x", dimension=1)
    with pytest.raises(ExpressionError, match="nested more than"):
        parse_expression("-" * 1500 + "x", dimension=1)
    with pytest.raises(ExpressionError, match="nested more than"):
        parse_expression("x+" * 900 + "x", dimension=1)
    with pytest.raises(ExpressionError, match="not a valid expression"):
        parse_expression("(" * 300 + "x" + ")" * 300, dimension=1)
    # A long but reasonable expression is fine: 150 terms.
    text = " + ".join(f"{k}*x**{k}" for k in range(150))
    ex = parse_expression(text, dimension=1)
    expected = sum(k * 0.5**k for k in range(150))
    assert float(ex.evaluate([0.5])) == pytest.approx(expected, rel=1e-13)


# --------------------------------------------------------------------------- non-finite values


def _count_power_calls(monkeypatch) -> list:
    """Count the elementwise powers the evaluator runs (its ** is numpy's float64 power)."""
    calls = []
    power = grammar_module._BINARY[ast.Pow]

    def counting(a, b):
        calls.append((np.asarray(a).dtype, np.asarray(b).dtype))
        return power(a, b)

    monkeypatch.setitem(grammar_module._BINARY, ast.Pow, counting)
    return calls


@pytest.mark.parametrize(
    ("text", "powers"),
    [("9**9**9**9", 3), ("10**10**10", 2), ("(2**1000)**(2**1000)", 3), ("9.0**9**9**9**9**9", 5)],
)
def test_exponent_bombs_cost_one_float_operation_per_operator(text, powers, monkeypatch):
    """The guard against a hang counts work: each ** is one float64 power (it overflows to inf
    at once, never runs Python's big-integer power), and parsing refuses a program of more
    than MAX_NODES steps or MAX_DEPTH levels."""
    calls = _count_power_calls(monkeypatch)
    with pytest.raises(ExpressionError, match="is not finite"):
        parse_expression(text, dimension=1)
    assert len(calls) == powers
    assert all(a == b == np.float64 for a, b in calls)


def test_exponent_bomb_with_a_coordinate_is_one_pass_per_operation(monkeypatch):
    calls = _count_power_calls(monkeypatch)  # before parsing: the program holds the ufuncs
    ex = parse_expression("x * 9**9**9**9", dimension=2)
    assert ex.operations == 9  # x, 9, 9, 9, 9, three powers, one product
    assert calls == []  # the constant part is not folded at parse time
    with pytest.raises(ExpressionError, match=r"is not finite at x=0\.1, y=0\.2 \(inf\)"):
        ex.evaluate(grid2())
    assert len(calls) == 3


def test_programs_beyond_the_stated_size_are_refused():
    chunk = "+".join(["x"] * 150)  # 299 parts, nested 150 deep (within MAX_DEPTH)

    def chunks(k: int) -> str:  # k chunks: 300 k - 1 parts in about 300 k characters
        return "+".join(f"({chunk})" for _ in range(k))

    assert parse_expression(chunks(3), dimension=1).operations == 899
    assert 4 * 299 + 3 > MAX_NODES
    with pytest.raises(ExpressionError, match=f"more than {MAX_NODES} parts"):
        parse_expression(chunks(4), dimension=1)


@pytest.mark.parametrize(
    ("text", "message"),
    [("1/0", "'1/0' is not finite (inf)"), ("log(-1)", "'log(-1)' is not finite (nan)")],
)
def test_constant_not_finite_at_parse(text, message):
    with pytest.raises(ExpressionError) as info:
        parse_expression(text, dimension=2)
    assert str(info.value) == message


def test_not_finite_names_first_point():
    coords = np.meshgrid(
        np.linspace(0.0, 1.0, 3), np.linspace(0.5, 1.0, 2), indexing="ij", sparse=True
    )
    with pytest.raises(ExpressionError) as info:
        evaluate_expression("log(x - 2)", coords, dimension=2)
    assert str(info.value) == (
        "'log(x - 2)' is not finite at x=0, y=0.5 (nan) and at 5 more of the 6 points"
    )


def test_not_finite_first_point_in_c_order():
    coords = np.meshgrid([1.0, 2.0], [3.0, 4.0], [5.0, 6.0], indexing="ij", sparse=True)
    with pytest.raises(ExpressionError) as info:
        evaluate_expression("1/(x - 2) + 1/(z - 6)", coords, dimension=3)
    # Bad points: x=2 (4 of them) or z=6 (4 of them), 2 of those shared: 6 of 8.
    assert str(info.value) == (
        "'1/(x - 2) + 1/(z - 6)' is not finite at x=1, y=3, z=6 (inf) and at 5 more of the 8 points"
    )


def test_mask_restricts_the_check():
    xs = np.linspace(0.0, 1.0, 5)
    coords = np.meshgrid(xs, YS, indexing="ij", sparse=True)
    ex = parse_expression("1/x", dimension=2)
    interior = np.zeros((5, 4), dtype=bool)
    interior[1:, :] = True
    result = ex.evaluate(coords, mask=interior)
    np.testing.assert_allclose(result[1:], np.broadcast_to(1 / xs[1:, None], (4, 4)), rtol=1e-15)
    assert np.all(np.isinf(result[0]))
    # A broadcastable mask: per x row.
    ex.evaluate(coords, mask=(xs > 0)[:, None])
    with pytest.raises(ExpressionError, match=r"not finite at x=0, y=0\.2 \(inf\)"):
        ex.evaluate(coords, mask=~interior)
    with pytest.raises(ExpressionError, match="not finite"):
        ex.evaluate(coords, mask=np.ones((5, 4), dtype=bool))
    with pytest.raises(ExpressionError, match="does not broadcast"):
        ex.evaluate(coords, mask=np.ones(3, dtype=bool))


# --------------------------------------------------------------------------- properties

SMALL_GRID = np.meshgrid(
    np.linspace(-1.0, 2.0, 4), np.linspace(0.0, 1.0, 3), indexing="ij", sparse=True
)

FUZZ_COORDS = {d: _coords(d) for d in (1, 2, 3)}

TOKENS = [
    "x",
    "y",
    "z",
    "pi",
    "e",
    "0",
    "1",
    "2.5",
    "1e3",
    "9",
    "+",
    "-",
    "*",
    "/",
    "**",
    "//",
    "%",
    "@",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ".",
    ":",
    "=",
    ":=",
    "<",
    "'a'",
    "f'{x}'",
    "j",
    "~",
    "not",
    "if",
    "else",
    "lambda",
    "sin",
    "log",
    "sqrt",
    "abs",
    "arcsin",
    "__class__",
    "__import__",
    "os",
    "True",
    "None",
    "...",
    "*",
    "\n",
    " ",
    "\\",
    "#",
]


def _check_only_expression_error(text: str, dimension: int) -> None:
    try:
        ex = parse_expression(text, dimension=dimension)
    except ExpressionError as exc:
        message = str(exc)
        ex = None
    if ex is None:
        assert "\n" not in message
        assert message
        return
    try:
        result = ex.evaluate(FUZZ_COORDS[dimension])
    except ExpressionError:
        return
    assert result.dtype == (np.complex128 if ex.is_complex else np.float64)  # 2j: complex
    assert np.all(np.isfinite(result))


FUZZ = settings(max_examples=300, deadline=1000, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(text=st.text(max_size=80), dimension=st.sampled_from([1, 2, 3]))
def test_fuzz_any_text(text, dimension):
    _check_only_expression_error(text, dimension)


@FUZZ
@given(
    text=st.text(alphabet="xyz+-*/()0123456789.e ,sincotaqrlgpbh_[]'j", max_size=100),
    dimension=st.sampled_from([1, 2, 3]),
)
def test_fuzz_expression_like_text(text, dimension):
    _check_only_expression_error(text, dimension)


@FUZZ
@given(
    tokens=st.lists(st.sampled_from(TOKENS), max_size=40),
    sep=st.sampled_from(["", " "]),
    dimension=st.sampled_from([1, 2, 3]),
)
def test_fuzz_token_sequences(tokens, sep, dimension):
    _check_only_expression_error(sep.join(tokens), dimension)


FUNCS = [
    "sin",
    "cos",
    "tan",
    "exp",
    "log",
    "sqrt",
    "abs",
    "sinh",
    "cosh",
    "tanh",
    "arcsin",
    "arccos",
    "arctan",
]
NUMPY = {"abs": np.absolute}
BINARY = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.true_divide, "**": np.power}


def _leaf():
    return st.one_of(
        st.sampled_from(
            [
                ("x", lambda x, y: x),
                ("y", lambda x, y: y),
                ("pi", lambda x, y: np.float64(math.pi)),
                ("e", lambda x, y: np.float64(math.e)),
            ]
        ),
        st.integers(0, 50).map(lambda n: (str(n), lambda x, y, n=n: np.float64(n))),
        st.floats(0.0, 10.0).map(lambda v: (repr(v), lambda x, y, v=v: np.float64(v))),
    )


def _extend(children):
    def call(pair):
        name, (text, fn) = pair
        ufunc = NUMPY.get(name, getattr(np, name))
        return f"{name}({text})", lambda x, y: ufunc(fn(x, y))

    def binary(triple):
        op, (ta, fa), (tb, fb) = triple
        return f"({ta}) {op} ({tb})", lambda x, y: BINARY[op](fa(x, y), fb(x, y))

    return st.one_of(
        st.tuples(st.sampled_from(FUNCS), children).map(call),
        st.tuples(st.sampled_from(list(BINARY)), children, children).map(binary),
        children.map(lambda c: (f"-({c[0]})", lambda x, y: np.negative(c[1](x, y)))),
    )


@settings(max_examples=300, deadline=1000)
@given(tree=st.recursive(_leaf(), _extend, max_leaves=12))
def test_random_valid_trees_match_numpy(tree):
    text, reference = tree
    x, y = SMALL_GRID
    with np.errstate(all="ignore"):
        expected = np.broadcast_to(reference(x, y), (4, 3)).astype(np.float64)
    if not np.all(np.isfinite(expected)):
        with pytest.raises(ExpressionError, match="is not finite"):
            evaluate_expression(text, SMALL_GRID, dimension=2)
        return
    result = evaluate_expression(text, SMALL_GRID, dimension=2)
    with np.errstate(under="ignore"):  # the comparison itself may underflow
        np.testing.assert_allclose(result, expected, rtol=1e-12, atol=0.0)


# --------------------------------------------------------------------------- derivatives

# (expression, d/dx in closed form) on XS x YS, points inside every function's domain
DERIVATIVES = [
    ("x", lambda x, y: 1.0 + 0 * x * y),
    ("y", lambda x, y: 0 * x * y),
    ("3", lambda x, y: 0 * x * y),
    ("x*y - 2*x/y", lambda x, y: y - 2 / y),
    ("x**3", lambda x, y: 3 * x**2 + 0 * y),
    ("x**y", lambda x, y: y * x ** (y - 1)),
    ("y**x", lambda x, y: y**x * np.log(y)),
    ("x**x", lambda x, y: x**x * (np.log(x) + 1) + 0 * y),
    ("2**-x", lambda x, y: -np.log(2) * 2.0**-x + 0 * y),
    ("-x**2 + +y", lambda x, y: -2 * x + 0 * y),
    ("sin(pi*x)", lambda x, y: np.pi * np.cos(np.pi * x) + 0 * y),
    ("cos(x*y)", lambda x, y: -y * np.sin(x * y)),
    ("tan(x)", lambda x, y: 1 / np.cos(x) ** 2 + 0 * y),
    ("exp(-x*y)", lambda x, y: -y * np.exp(-x * y)),
    ("log(x*y)", lambda x, y: 1 / x + 0 * y),
    ("sqrt(x + y)", lambda x, y: 0.5 / np.sqrt(x + y)),
    ("abs(x - 0.5)", lambda x, y: np.sign(x - 0.5) + 0 * y),
    ("sinh(2*x)", lambda x, y: 2 * np.cosh(2 * x) + 0 * y),
    ("cosh(x)", lambda x, y: np.sinh(x) + 0 * y),
    ("tanh(x)", lambda x, y: 1 / np.cosh(x) ** 2 + 0 * y),
    ("arcsin(x*y)", lambda x, y: y / np.sqrt(1 - (x * y) ** 2)),
    ("arccos(x)", lambda x, y: -1 / np.sqrt(1 - x**2) + 0 * y),
    ("arctan(x/y)", lambda x, y: (1 / y) / (1 + (x / y) ** 2)),
    ("(1 + x)**-1.5 * e", lambda x, y: -1.5 * np.e * (1 + x) ** -2.5 + 0 * y),
    (
        "sin(cos(tan(x)))",
        lambda x, y: -np.cos(np.cos(np.tan(x))) * np.sin(np.tan(x)) / np.cos(x) ** 2,
    ),
]


@pytest.mark.parametrize(("text", "closed"), DERIVATIVES, ids=[t for t, _ in DERIVATIVES])
def test_derivative_equals_the_closed_form(text, closed):
    x, y = grid2()
    d = parse_expression(text, dimension=2).derivative("x")
    assert isinstance(d, Expression)
    assert d.dimension == 2
    np.testing.assert_allclose(
        d.evaluate([x, y]), np.broadcast_to(closed(x, y), (5, 4)), rtol=1e-13, atol=1e-13
    )


@pytest.mark.parametrize("text", [t for t, _ in DERIVATIVES if "abs" not in t])
def test_derivative_matches_central_differences_and_its_text_parses(text):
    """Along y and x, against fourth-order central differences; the text is the same function."""
    ex = parse_expression(text, dimension=2)
    x, y = grid2()
    step = 1e-3
    for axis, name in ((0, "x"), (1, "y")):
        d = ex.derivative(name)

        def at(t, axis=axis):
            c = [x, y]
            c[axis] = c[axis] + t * step
            return ex.evaluate(c)

        fd = (-at(2) + 8 * at(1) - 8 * at(-1) + at(-2)) / (12 * step)
        np.testing.assert_allclose(d.evaluate([x, y]), fd, rtol=1e-8, atol=1e-8)
        again = parse_expression(d.text, dimension=2)
        np.testing.assert_allclose(again.evaluate([x, y]), d.evaluate([x, y]), rtol=1e-14)


def test_second_and_mixed_derivatives():
    ex = parse_expression("x**3 * sin(y) + z*x", dimension=3)
    xs = np.meshgrid(XS, YS, ZS, indexing="ij", sparse=True)
    x, y, z = xs
    np.testing.assert_allclose(
        ex.derivative("x").derivative("x").evaluate(xs), 6 * x * np.sin(y) + 0 * z
    )
    np.testing.assert_allclose(
        ex.derivative("y").derivative(0).evaluate(xs), 3 * x**2 * np.cos(y) + 0 * z, rtol=1e-14
    )
    assert ex.derivative("z").derivative("y").value == 0.0
    assert ex.derivative(2).text == "x"


def test_derivative_of_a_constant_is_zero_and_coordinates_are_checked():
    assert parse_expression("2*pi", dimension=1).derivative("x").value == 0.0
    assert parse_expression("y", dimension=2).derivative(0).is_constant
    for bad in ("z", 2, -1, True, "t"):
        with pytest.raises(ExpressionError, match="cannot differentiate"):
            parse_expression("x*y", dimension=2).derivative(bad)


def test_derivative_of_a_deep_expression_needs_no_recursion():
    text = "sin(" * 180 + "x" + ")" * 180
    d = parse_expression(text, dimension=1).derivative("x")
    value = d.evaluate([np.array([0.3])])[0]
    fd = (
        parse_expression(text, dimension=1).evaluate([np.array([0.3 + 1e-6])])[0]
        - parse_expression(text, dimension=1).evaluate([np.array([0.3 - 1e-6])])[0]
    ) / 2e-6
    assert value == pytest.approx(fd, rel=1e-6)


def test_values_whose_sum_overflows_are_finite_and_kept():
    """The one-pass finiteness check: a sum that overflows falls back to the scan."""
    xy = np.meshgrid(np.linspace(0, 1, 40), np.linspace(0, 1, 30), indexing="ij", sparse=True)
    big = parse_expression("1e307 * (1 + x*y)", dimension=2).evaluate(xy)
    with np.errstate(over="ignore"):
        assert not np.isfinite(np.sum(big))  # the sum overflows ...
    assert big.shape == (40, 30)  # ... and the values are kept
    assert big[-1, -1] == 2e307
    assert big[0, 0] == 1e307
    with pytest.raises(ExpressionError, match="not finite"):
        parse_expression("1/(x - 0.5) + y", dimension=2).evaluate(
            np.meshgrid([0.0, 0.5, 1.0], [0.0, 1.0], indexing="ij", sparse=True)
        )


def test_a_full_size_result_is_a_new_writable_array():
    """The program's own result is returned without a copy, never a coordinate array."""
    x = np.linspace(0.0, 1.0, 5)
    full = [np.broadcast_to(x[:, None], (5, 4)).copy(), np.zeros((5, 4))]
    same = parse_expression("x", dimension=2).evaluate(full)
    assert not np.shares_memory(same, full[0])
    assert same.flags.writeable
    value = parse_expression("sin(x) * (1 + y)", dimension=2).evaluate(full)
    np.testing.assert_array_equal(value, np.sin(full[0]))
    value[0, 0] = 7.0  # writable, and no input changed
    assert full[0][0, 0] == 0.0


def test_a_survey_counts_what_is_not_finite_even_where_the_sum_overflows():
    """DataSurvey.of proves finiteness by the sum; an overflowing sum falls back to the scan."""
    from kronpde.geometry.boundary import DataSurvey

    big = np.full((4, 3), 1e308)
    big[2, 1] = 5e307
    survey = DataSurvey.of(big)
    assert (survey.total, survey.bad, survey.lowest) == (12, 0, (5e307, (2, 1)))
    big[3, 0] = np.nan
    survey = DataSurvey.of(big)
    assert (survey.bad, survey.first_bad[0], survey.lowest[1]) == (1, (3, 0), (2, 1))
    plain = DataSurvey.of(np.arange(6.0).reshape(2, 3) - 2.0)
    assert (plain.bad, plain.lowest) == (0, (-2.0, (0, 0)))
