"""Complex problems (issue 28 item 4): imaginary literals, complex c, f and faces."""

import json

import numpy as np
import pytest
import scipy.sparse.linalg as spla

from kronpde import ComplexProblem, Dirichlet, Grid, Neumann, Periodic, Robin, prepare, solve
from kronpde.errors import ExpressionError, OptionError, SolverError
from kronpde.expr.expression import parse_expression

# u = exp(i pi x) sin(pi y): -lap u = 2 pi^2 u
EXACT = "(cos(pi*x) + 1j*sin(pi*x))*sin(pi*y)"


def wave(n, c, coefficient=1.0):
    grid = Grid.box([n, n], boundary=Dirichlet(EXACT))
    return ComplexProblem(grid, source=f"(2*pi**2 + ({c!r}))*{EXACT}", shift=c)


def exact_nodes(n):
    x = np.linspace(0, 1, n + 1)[:, None]
    y = np.linspace(0, 1, n + 1)[None, :]
    return np.exp(1j * np.pi * x) * np.sin(np.pi * y)


def test_imaginary_literals():
    ex = parse_expression("1 - 0.5j + 2j*x", dimension=1)
    assert ex.is_complex
    np.testing.assert_allclose(ex(np.array([0.0, 1.0])), [1 - 0.5j, 1 + 1.5j])
    assert parse_expression("2j", dimension=2).value == 2j
    assert not parse_expression("x + 2", dimension=1).is_complex
    with pytest.raises(ExpressionError, match="complex"):
        ex.derivative("x")
    with pytest.raises(ExpressionError, match=r"not finite \(nan\+infj\)"):
        parse_expression("1j/0", dimension=1)


BOXES = [
    Dirichlet("x*1j + y"),
    {
        "xmin": Neumann("1j*y"),
        "xmax": Robin(1.0, 2.0, "x + 1j"),
        "ymin": Periodic(),
        "ymax": Periodic(),
    },
]


@pytest.mark.parametrize("boundary", BOXES)
@pytest.mark.parametrize("c", [1 - 0.5j, -30 + 2j, 4.0])
def test_fastdiag_equals_spsolve(boundary, c):
    p = ComplexProblem(Grid.box([12, 10], boundary=boundary), "exp(x)*(1 + 2j) + y", c)
    ref = spla.spsolve(p.operator().tocsc(), p.rhs())
    for method in ("fastdiag", "direct", "fastdiag-cg"):
        x = solve(p, method).x
        assert np.max(np.abs(x - ref)) <= 1e-10 * np.max(np.abs(ref)), method


@pytest.mark.parametrize("method", ["fastdiag", "direct", "fastdiag-cg"])
def test_order_two(method):
    c = -8.0 + 3.0j
    errors = [solve(wave(n, c), method).error_max(exact_nodes(n)) for n in (16, 32, 64)]
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all((orders > 1.9) & (orders < 2.1)), orders


def test_gmres_variable_k():
    grid = Grid.box([24, 20], boundary=Dirichlet("1j*x"))
    p = ComplexProblem(grid, "exp(x)*(1 + 2j)", -20 + 1j, coefficient="1 + x*y")
    ref = spla.spsolve(p.operator().tocsc(), p.rhs())
    sol = solve(p, "fastdiag-cg", rtol=1e-12)
    assert sol.report["converged"]
    assert 1 < sol.report["iterations"] < 40
    assert np.max(np.abs(sol.x - ref)) <= 1e-9 * np.max(np.abs(ref))
    with pytest.raises(OptionError, match="direct or fastdiag-cg"):
        prepare(p, "fastdiag")


@pytest.mark.parametrize("method", ["cg", "amg-cg", "fastdiag-minres"])
def test_spd_methods_refuse(method):
    with pytest.raises(OptionError, match="fastdiag, direct, fastdiag-cg"):
        prepare(wave(8, 1j), method)


def test_petsc_refuses():
    with pytest.raises(OptionError, match="real scalars"):
        prepare(wave(8, 1j), "amg-cg", backend="petsc")


@pytest.mark.parametrize("method", ["fastdiag", "direct", "fastdiag-cg"])
def test_set_shift_sweep(method):
    prepared = prepare(wave(16, 1.0), method)
    for c in (-30.0, 2 - 3j, 0.5j, 7.0):
        prepared.set_shift(c)
        fresh = wave(16, 1.0).with_shift(c)
        ref = spla.spsolve(fresh.operator().tocsc(), fresh.rhs())
        x = prepared.solve(fresh.rhs()).x
        assert np.max(np.abs(x - ref)) <= 1e-10 * np.max(np.abs(ref)), c


def test_resonance():
    n = 8
    h = 1.0 / n
    lam = float(2 * (4 / h**2) * np.sin(np.pi * h / 2) ** 2)  # the lowest eigenvalue, 2-D
    with pytest.raises(SolverError, match="singular"):
        solve(wave(n, complex(-lam)), "fastdiag")
    sol = solve(wave(n, -lam * (1 + 1e-10) + 0j), "fastdiag")
    assert any("condition number" in w for w in sol.report["warnings"])


def test_output_parts_and_modulus_error():
    sol = solve(wave(16, 2j), "fastdiag")
    u = exact_nodes(16)
    np.testing.assert_allclose(sol.u_abs, np.abs(sol.u))
    assert np.max(np.abs(sol.u_real - u.real)) < 5e-3
    assert np.max(np.abs(sol.u_imag - u.imag)) < 5e-3
    assert sol.error_max(u) == pytest.approx(np.max(np.abs(sol.u - u)))


CASE = f"""
[grid]
cells = [16, 16]
[equation]
source = "(2*pi**2 + 1 - 0.5j)*{EXACT}"
shift = "1 - 0.5j"
[boundary]
default = {{ type = "dirichlet", value = "{EXACT}" }}
[output]
fields = ["u", "f"]
[exact]
u = "{EXACT}"
"""


@pytest.mark.parametrize("suffix", ["vti", "vtu"])
def test_case_file_fields_and_json(tmp_path, capsys, suffix):
    from kronpde.app import cli
    from kronpde.io.result import read_result

    case = tmp_path / "wave.toml"
    case.write_text(CASE)
    out = tmp_path / f"wave.{suffix}"
    code = cli.main(["solve", str(case), "--json", "-o", str(out), "--method", "fastdiag"])
    stdout, _ = capsys.readouterr()
    assert code == 0
    record = json.loads(stdout.strip().splitlines()[-1])  # valid JSON: no complex numbers
    assert record["shift"] == {"real": 1.0, "imag": -0.5}
    assert record["algebraic_error_bound"] is None
    result = read_result(out)
    u = exact_nodes(16)
    got = result.fields["u"] + 1j * result.fields["u_imag"]
    np.testing.assert_allclose(result.fields["u_abs"], np.abs(got), atol=1e-12)
    # error_max: the largest modulus against the complex [exact] u (read back: the written u)
    assert record["error_max"] == pytest.approx(np.max(np.abs(got.reshape(u.shape) - u)))
    np.testing.assert_allclose(result.fields["u_exact_imag"].reshape(u.shape), u.imag, atol=1e-12)


def test_case_file_refusals(tmp_path, capsys):
    from kronpde.app import cli

    case = tmp_path / "wave.toml"
    case.write_text(CASE)
    assert cli.main(["solve", str(case), "--method", "cg"]) == 2
    assert "fastdiag, direct, fastdiag-cg" in capsys.readouterr().err
    lam = float(2 * (4 * 16**2) * np.sin(np.pi / 32) ** 2)
    case.write_text(CASE.replace('shift = "1 - 0.5j"', f'shift = "{-lam!r} + 0j"'))
    assert cli.main(["solve", str(case), "--method", "fastdiag"]) == 2
    assert "singular" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("kw", "subject"),
    [({"shift": 1j}, "shift"), ({"source": "1 + 2j"}, "source"), ({"shift": "2j"}, "shift")],
)
def test_real_problem_names_complex_problem(kw, subject):
    from kronpde import Problem
    from kronpde.errors import DataError

    with pytest.raises(DataError, match="ComplexProblem") as info:
        Problem(Grid.box([4, 4]), **kw)
    assert info.value.subject == subject
    with pytest.raises(DataError, match="ComplexProblem"):
        Problem(Grid.box([4, 4], boundary=Dirichlet("x*1j")))
    prepared = prepare(Problem(Grid.box([4, 4])), "fastdiag")
    with pytest.raises(DataError, match="ComplexProblem"):
        prepared.set_shift(1j)


@pytest.mark.parametrize("method", ["direct", "fastdiag-cg"])
def test_variable_complex_shift_order_two(method):
    c = "(-5 + 2j*x)"
    errors = []
    for n in (16, 32, 64):
        grid = Grid.box([n, n], boundary=Dirichlet(EXACT))
        p = ComplexProblem(grid, source=f"(2*pi**2 + {c})*{EXACT}", shift=c)
        errors.append(solve(p, method).error_max(exact_nodes(n)))
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all((orders > 1.9) & (orders < 2.1)), orders
    with pytest.raises(OptionError, match="varies in space"):
        prepare(p, "fastdiag")


def test_real_shift_expression_with_complex_source():
    # a separable real c(x) stays in the 1-D operators: fastdiag is exact, = spsolve
    p = ComplexProblem(Grid.box([12, 10]), "1 + 2j*x", "x - 3*y**2")
    ref = spla.spsolve(p.operator().tocsc(), p.rhs())
    x = solve(p, "fastdiag").x
    assert np.max(np.abs(x - ref)) <= 1e-10 * np.max(np.abs(ref))
