"""Helmholtz of either sign (issue 28, item 3, real shifts): ``-div(k grad u) + c u = f``, c < 0.

Each test checks numbers against an independent reference: scipy's ``spsolve`` of the
same assembled matrix, the 1-D closed-form eigenvalues, or the exact solution of a
manufactured problem.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse.linalg as spla

from kronpde import Dirichlet, Grid, Neumann, Periodic, Problem, Robin, prepare, solve
from kronpde.app import cli
from kronpde.errors import SolverError
from kronpde.solvers import refusal
from kronpde.solvers.resonance import WARN_CONDITION

SOURCE = {1: "x", 2: "exp(x)*sin(3*y) + x", 3: "x*y + z*z + 1"}


def _reference(p: Problem) -> np.ndarray:
    """``spsolve`` of the problem's own assembled matrix and right-hand side."""
    return spla.spsolve(p.operator().tocsc(), p.rhs())


def _dirichlet_lambda1(n: int, length: float = 1.0) -> float:
    """The smallest eigenvalue of the 1-D Dirichlet second difference on n cells (closed form)."""
    h = length / n
    return 4.0 / h**2 * math.sin(math.pi * h / (2.0 * length)) ** 2


def _stretched(n: int) -> np.ndarray:
    return 0.5 * (1.0 - np.cos(np.pi * np.linspace(0.0, 1.0, n + 1)))  # Chebyshev-like nodes


GRIDS = {
    "dirichlet-2d": lambda: Grid.box([24, 20]),
    "neumann-2d": lambda: Grid.box([20, 16], default=Neumann(0.0)),
    "periodic-2d": lambda: Grid.box([16, 20], default=Periodic()),
    "robin-2d": lambda: Grid.box(
        [16, 16], boundary={"xmin": Robin(2.0, 1.0, 0.5), "ymax": Robin(1.0, 3.0, "x")}
    ),
    "stretched-2d": lambda: Grid.box(
        [20, 16], boundary={"ymin": Neumann(1.0)}, nodes=[_stretched(20), None]
    ),
    "cell-2d": lambda: Grid.box([16, 12], boundary={"xmin": Neumann(0.0)}, centering="cell"),
    "dirichlet-3d": lambda: Grid.box([10, 8, 12]),
    "mixed-3d": lambda: Grid.box(
        [8, 10, 8],
        boundary={
            "xmin": Periodic(),
            "xmax": Periodic(),
            "ymin": Neumann(0.0),
            "zmax": Robin(1.0, 2.0, 0.0),
        },
        nodes=[None, _stretched(10), None],
    ),
}


@pytest.mark.parametrize("name", sorted(GRIDS))
@pytest.mark.parametrize("shift", [-7.3, -123.4])
def test_fastdiag_with_a_negative_shift_equals_spsolve_of_the_same_matrix(name, shift):
    grid = GRIDS[name]()
    p = Problem(grid, source=SOURCE[grid.dimension], shift=shift)
    sol = solve(p, "fastdiag")
    ref = _reference(p)
    assert np.max(np.abs(sol.x - ref)) <= 1e-10 * np.max(np.abs(ref)), name
    assert sol.report.converged
    assert sol.report.algebraic_error_bound is None or shift > -_lowest(p)


def _lowest(p: Problem) -> float:
    """λ_min of the c = 0 operator, densely (small grids only)."""
    a = p.with_shift(0.0).operator(symmetric=True).toarray()
    return float(np.linalg.eigvalsh(0.5 * (a + a.T))[0])


def test_fourth_order_fastdiag_with_a_negative_shift_equals_spsolve():
    grid = Grid.box([16, 12], boundary={"ymin": Neumann("x")})
    p = Problem(grid, source="sin(2*x)*y", shift=-60.0, order=4)
    ref = _reference(p)
    sol = solve(p, "fastdiag")
    assert np.max(np.abs(sol.x - ref)) <= 1e-10 * np.max(np.abs(ref))


def test_fourth_order_fastdiag_is_fourth_order_for_an_indefinite_shift():
    """u = sin(2x) cos(y) + x y, c = -30 (below -λ_min ≈ -19.7): observed order ~4."""
    exact, c = "sin(2*x)*cos(y) + x*y", -30.0
    errors = []
    for n in (8, 16, 32):
        grid = Grid.box([n, n], default=Dirichlet(exact))
        p = Problem(grid, source=f"5*sin(2*x)*cos(y) + ({c})*({exact})", shift=c, order=4)
        sol = solve(p, "fastdiag")
        x, y = np.meshgrid(*(a.points for a in grid.axes), indexing="ij")
        errors.append(float(np.max(np.abs(sol.u - (np.sin(2 * x) * np.cos(y) + x * y)))))
    orders = [math.log2(errors[i] / errors[i + 1]) for i in range(2)]
    assert all(3.8 < q < 4.2 for q in orders), errors


def test_an_indefinite_problem_gives_no_certified_bound_and_says_why():
    p = Problem(Grid.box([16, 16]), source=1.0, shift=-50.0)  # 2 π² ≈ 19.7 < 50
    for method in ("fastdiag", "direct"):
        report = solve(p, method).report
        assert report.algebraic_error_bound is None
        assert any("No certified error bound" in w and "indefinite" in w for w in report.warnings)
    definite = solve(p.with_shift(-10.0), "fastdiag").report  # λ_min + c ≈ 9.7 > 0
    assert definite.algebraic_error_bound is not None
    assert not definite.warnings


# -- the singular shift and the condition-number warning ---------------------------------------


def _resonant_case(tmp_path, shift: float) -> str:
    case = tmp_path / "resonant.toml"
    case.write_text(
        f"[grid]\ncells = [32, 32]\n\n[equation]\nsource = \"x*y\"\nshift = {shift!r}\n\n"
        '[boundary]\ndefault = { type = "dirichlet", value = 0 }\n\n'
        '[solver]\nmethod = "fastdiag"\n'
    )
    return str(case)


def test_a_shift_at_an_eigenvalue_exits_2_and_raises(tmp_path, capsys):
    lam = _dirichlet_lambda1(32)
    c = -(lam + lam)  # the lowest eigenvalue of the unit square's operator, from 1-D closed forms
    p = Problem(Grid.box([32, 32]), source="x*y", shift=c)
    with pytest.raises(SolverError, match="singular to working precision"):
        prepare(p, "fastdiag")
    with pytest.raises(SolverError, match="direct: A is singular to working precision"):
        prepare(p, "direct")  # its condition estimate from the LU factors says the same
    code = cli.main(["solve", _resonant_case(tmp_path, c)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "singular" in err
    assert "[solver] method" in err
    # a higher eigenvalue, λ_1 + λ_2 on a 3-D box, from its closed forms too
    n = (8, 10, 12)
    lams = [[4 * m**2 * math.sin(math.pi * k / (2 * m)) ** 2 for k in (1, 2)] for m in n]
    c3 = -(lams[0][1] + lams[1][0] + lams[2][0])
    with pytest.raises(SolverError, match="singular"):
        prepare(Problem(Grid.box(list(n)), 1.0, shift=c3), "fastdiag")


def test_a_shift_near_an_eigenvalue_solves_with_the_condition_number(tmp_path, capsys):
    lam = _dirichlet_lambda1(32)
    c = -(lam + lam) * (1.0 - 1e-6)
    p = Problem(Grid.box([32, 32]), source="x*y", shift=c)
    sol = solve(p, "fastdiag")
    ref = _reference(p)
    assert np.max(np.abs(sol.x - ref)) <= 1e-6 * np.max(np.abs(ref))  # κ ≈ 4e8: ~8 digits lost
    (warning,) = [w for w in sol.report.warnings if "nearly singular" in w]
    kappa = float(warning.split("min|λ + c| is ")[1].split(" ")[0])
    # κ = max|λ + c| / min|λ + c|, from the closed forms: the largest mode is (31, 31)
    top = 2 * 4 * 32**2 * math.sin(math.pi * 31 / 64) ** 2 + c
    assert kappa == pytest.approx(top / (2 * lam * 1e-6), rel=1e-3)  # printed to 4 digits
    assert kappa > WARN_CONDITION
    direct = solve(p, "direct").report  # the estimate ||Â||_1 ||Â^-1||_1 from its factors
    (warning,) = [w for w in direct.warnings if "nearly singular" in w]
    estimate = float(warning.split("LU factors) is ")[1].split(" ")[0])
    assert kappa <= estimate <= 4 * kappa
    code = cli.main(["solve", _resonant_case(tmp_path, c), "--json"])
    out, err = capsys.readouterr()
    assert code == 0
    assert "nearly singular" in out + err


def test_set_shift_to_a_negative_shift_on_a_prepared_fastdiag():
    lam = _dirichlet_lambda1(16)
    p = Problem(Grid.box([16, 16]), source="x", shift=10.0)
    s = prepare(p, "fastdiag")
    assert s.set_shift(-45.0)  # between the 1st (≈19.7) and the 2nd (≈49) eigenvalue
    ref = _reference(p.with_shift(-45.0))
    assert np.max(np.abs(s.solve().x - ref)) <= 1e-10 * np.max(np.abs(ref))
    before = s.solve().x
    with pytest.raises(SolverError, match="singular"):
        s.set_shift(-2.0 * lam)
    assert s.problem.shift == -45.0  # unchanged, and still solving with it
    np.testing.assert_array_equal(s.solve().x, before)


# -- the CG-type methods ------------------------------------------------------------------------

CG_METHODS = ("cg", "amg-cg", "fastdiag-cg")


@pytest.mark.parametrize("method", CG_METHODS)
def test_cg_methods_refuse_an_indefinite_problem_naming_the_method_that_works(method):
    constant = Problem(Grid.box([16, 16]), source=1.0, shift=-30.0)
    reason = refusal(constant, method)
    assert reason.startswith(f"{method}: with shift c = -30")
    assert "'fastdiag'" in reason
    with pytest.raises(SolverError, match="'fastdiag'"):
        prepare(constant, method)
    variable = Problem(Grid.box([16, 16]), source=1.0, shift=-30.0, coefficient="1 + x*y")
    assert "'direct'" in refusal(variable, method)
    with pytest.raises(SolverError, match="'direct'"):
        prepare(variable, method)
    # and a prepared one refuses set_shift to it, staying as it was
    s = prepare(constant.with_shift(1.0), method)
    with pytest.raises(SolverError, match="not certified positive definite"):
        s.set_shift(-30.0)
    assert s.problem.shift == 1.0


@pytest.mark.parametrize("method", CG_METHODS)
def test_cg_methods_accept_a_slightly_negative_shift_the_bound_keeps_definite(method):
    lam = 2 * _dirichlet_lambda1(24)
    p = Problem(Grid.box([24, 24]), source="exp(x)*y", shift=-0.9 * lam)
    assert refusal(p, method) is None
    assert p.smallest_eigenvalue().value == pytest.approx(0.1 * lam, rel=1e-6)
    sol = solve(p, method, rtol=1e-12)
    ref = solve(p, "fastdiag").x
    assert sol.report.converged
    assert np.max(np.abs(sol.x - ref)) <= 1e-9 * np.max(np.abs(ref))
    assert sol.report.algebraic_error_bound is not None


def test_auto_takes_direct_for_an_indefinite_variable_coefficient():
    p = Problem(Grid.box([16, 16]), source=1.0, shift=-30.0, coefficient="1 + x*y")
    sol = solve(p)
    assert sol.report.method == "direct"
    assert "indefinite" in sol.report.reason
    definite = solve(p.with_shift(-5.0))  # k_min λ_min - 5 > 0: CG as before
    assert definite.report.method == "fastdiag-cg"
    assert solve(p.with_shift(-30.0).with_shift(0.0)).report.method == "fastdiag-cg"


def test_rtol_auto_does_not_estimate_from_an_indefinite_coarse_problem():
    n = 32
    fine, coarse = 2 * _dirichlet_lambda1(n), 2 * _dirichlet_lambda1(n // 2)
    c = -0.5 * (fine + coarse)  # definite on 32 x 32, indefinite on 16 x 16
    p = Problem(Grid.box([n, n]), source="exp(x)*y", shift=c)
    sol = solve(p, "cg", rtol="auto")
    assert sol.report.converged
    assert sol.report.discretisation_estimate is None
    (note,) = [w for w in sol.report.warnings if "fell back" in w]
    assert "half the cells is not certified positive definite" in note
    ref = solve(p, "fastdiag").x
    assert np.max(np.abs(sol.x - ref)) <= 1e-8 * np.max(np.abs(ref))


# -- direct on an indefinite variable-coefficient problem ---------------------------------------


def test_direct_solves_an_indefinite_variable_coefficient_problem_to_second_order():
    """u = sin(2x) cos(y) + x y, k = 1 + x y / 2, c = -40 (between eigenvalues on any grid)."""
    exact = "sin(2*x)*cos(y) + x*y"
    # f = -div(k grad u) + c u, derived by hand: k_x = y/2, k_y = x/2
    ux, uy = "(2*cos(2*x)*cos(y) + y)", "(-sin(2*x)*sin(y) + x)"
    lap = "(-5*sin(2*x)*cos(y))"
    k = "(1 + x*y/2)"
    source = f"-({k}*{lap} + (y/2)*{ux} + (x/2)*{uy}) - 40*({exact})"
    errors = []
    for n in (16, 32):
        grid = Grid.box([n, n], default=Dirichlet(exact))
        p = Problem(grid, source=source, shift=-40.0, coefficient=k[1:-1])
        assert refusal(p, "cg") is not None  # indefinite: k_min λ_min - 40 < 0
        sol = solve(p, "direct")
        assert sol.report.relative_residual < 1e-12
        x, y = np.meshgrid(*(a.points for a in grid.axes), indexing="ij")
        errors.append(float(np.max(np.abs(sol.u - (np.sin(2 * x) * np.cos(y) + x * y)))))
    order = math.log2(errors[0] / errors[1])
    assert 1.8 < order < 2.2, errors


# -- the PETSc backend and the case reader ------------------------------------------------------


def test_the_petsc_backend_refuses_a_negative_shift_naming_the_serial_method(tmp_path, capsys):
    case = _resonant_case(tmp_path, -10.0)
    code = cli.main(["solve", case, "--backend", "petsc"])
    err = capsys.readouterr().err
    assert code == 2
    assert "--backend petsc" in err
    assert "serial" in err
    assert "'fastdiag'" in err
    from kronpde.solvers.petsc import refusal as petsc_refusal

    variable = Problem(Grid.box([8, 8]), 1.0, shift=-1.0, coefficient="1 + x*y")
    assert "'direct'" in petsc_refusal(variable)
    assert petsc_refusal(variable.with_shift(0.0)) is None
    with pytest.raises(SolverError, match="serial backend only"):
        prepare(variable, "amg-cg", backend="petsc")  # before petsc4py is looked for


def test_check_accepts_a_negative_shift_and_cg_is_refused_there(tmp_path, capsys):
    case = _resonant_case(tmp_path, -100.0)
    assert cli.main(["check", case]) == 0
    assert "valid" in capsys.readouterr().out
    text = open(case).read().replace('method = "fastdiag"', 'method = "cg"')
    open(case, "w").write(text)
    assert cli.main(["check", case]) == 2
    err = capsys.readouterr().err
    assert "[solver] method" in err
    assert "'fastdiag'" in err


def test_docstring_examples():
    import doctest

    from kronpde.solvers import indefinite, resonance

    for module in (indefinite, resonance):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.attempted > 0
        assert result.failed == 0
