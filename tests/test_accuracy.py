"""Tests of ``rtol="auto"``: the discretisation-error estimates and the stop at a tenth of them.

Anchors: the exact solution of the continuous problem (max-norm errors and
their observed order against fastdiag's, the exact discrete solution to
rounding), the true discretisation error ``||u_h - u_exact||_W`` for the
estimates, polynomials that Lagrange interpolation must reproduce exactly, and
the case file's own messages for the expressions Python accepts.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from kronpde import (
    CaseError,
    DataError,
    Dirichlet,
    Grid,
    Neumann,
    Periodic,
    Problem,
    Robin,
    load_case,
    prepare,
    solve,
)
from kronpde.app import cli
from kronpde.errors import OptionError
from kronpde.geometry.grid import stretched_nodes
from kronpde.problem.settings import AUTO, SolverSettings, check_rtol
from kronpde.solvers.accuracy import richardson_estimate
from kronpde.solvers.coarse import coarse_problem, scheme_order
from kronpde.solvers.coarse import resample_axis as _resample
from kronpde.solvers.estimate import AUTO_FRACTION, FALLBACK_RTOL, Unavailable

# the issue's problem: u = e^{xy} + sin 2x on the unit square
U = "exp(x*y) + sin(2*x)"
F = "-(x**2 + y**2)*exp(x*y) + 4*sin(2*x)"
DU_DX = "y*exp(x*y) + 2*cos(2*x)"


def exact_u(*x):
    return np.exp(x[0] * x[1]) + np.sin(2.0 * x[0])


def issue_problem(n: int, neumann: bool) -> Problem:
    bc = {"xmax": Neumann(DU_DX)} if neumann else {}
    return Problem(Grid.box([n, n], boundary=bc, default=Dirichlet(U)), source=F)


def max_error(problem: Problem, u: np.ndarray) -> float:
    return float(np.max(np.abs(u - exact_u(*problem.grid.node_coordinates()))))


def w_norm(problem: Problem, v: np.ndarray) -> float:
    w = problem.weights().reshape(-1)
    return float(np.sqrt(w @ (v * v)))


def order(errors) -> list[float]:
    return [math.log2(a / b) for a, b in zip(errors[:-1], errors[1:], strict=True)]


# --------------------------------------------------------------------------- acceptance

SIZES = (64, 128, 256)


@pytest.mark.parametrize("neumann", [False, True], ids=["dirichlet", "neumann-face"])
def test_auto_reaches_the_accuracy_of_the_scheme(neumann):
    """cg, amg-cg and fastdiag-cg with rtol="auto": fastdiag's max errors, order 2."""
    errors: dict[str, list[float]] = {}
    for n in SIZES:
        problem = issue_problem(n, neumann)
        reference = max_error(problem, solve(problem, "fastdiag").u)
        errors.setdefault("fastdiag", []).append(reference)
        for method in ("cg", "amg-cg", "fastdiag-cg"):
            prepared = prepare(problem, method)
            sol = prepared.solve(rtol="auto")
            report = sol.report
            assert report.converged, report.message
            assert report.discretisation_estimate == "richardson"
            assert report.algebraic_error_bound <= AUTO_FRACTION * report.discretisation_error
            assert report.warnings == ()
            err = max_error(problem, sol.u)
            assert err <= 1.2 * reference, (n, method, err, reference)
            errors.setdefault(method, []).append(err)
            if method == "cg" and n == SIZES[-1]:  # the exact solution's estimate: the same
                known = prepared.solve(rtol="auto", exact=exact_u).report
                assert known.discretisation_estimate == "exact"
                assert known.discretisation_error == pytest.approx(
                    report.discretisation_error, rel=0.05
                )
    for method, errs in errors.items():
        for p in order(errs):
            assert 1.9 <= p <= 2.1, (method, errs)


def test_a_fixed_rtol_falls_short_and_says_so():
    """The issue's failure, measured: rtol = 1e-8 stops early, and the warning says so."""
    problem = issue_problem(256, True)
    sol = solve(problem, "cg", rtol=1e-8, estimate=True)
    report = sol.report
    assert report.converged  # the contract's meaning of rtol is kept
    reference = max_error(problem, solve(problem, "fastdiag").u)
    assert max_error(problem, sol.u) > 1.1 * reference  # 13% off on this grid
    assert report.algebraic_error_bound > report.discretisation_error
    assert len(report.warnings) == 1
    assert "exceeds the estimated discretisation error" in report.warnings[0]
    same = solve(problem, "cg", rtol=1e-8)  # and without the estimate: the same iterations
    assert same.report.iterations == report.iterations
    np.testing.assert_array_equal(same.x, sol.x)
    assert same.report.warnings == ()
    assert same.report.discretisation_error is None


# --------------------------------------------------------------------------- the estimates


def _true_discretisation_error(problem: Problem, exact) -> float:
    u_h = solve(problem, "direct").x
    ref = problem.grid.from_nodes(exact(*problem.grid.node_coordinates())).reshape(-1)
    d = u_h - ref
    if problem.singular:
        w = problem.weights().reshape(-1)
        d = d - (w @ d) / w.sum()
    return w_norm(problem, d)


def _periodic_problem(cells):
    def u(x, y):
        return np.cos(2 * np.pi * x) * np.exp(y) + 0.0 * x

    bc = {"xmin": Periodic(), "xmax": Periodic(), "ymin": Dirichlet(u), "ymax": Dirichlet(u)}
    f = "(4*pi**2 - 1)*cos(2*pi*x)*exp(y)"
    return Problem(Grid.box(cells, boundary=bc), source=f), u


def _neumann_problem(cells):
    def u(x, y):
        return np.cos(np.pi * x) * np.cos(2 * np.pi * y)

    return Problem(Grid.box(cells, boundary=Neumann()), source=f"5*pi**2*{_cos}"), u


_cos = "cos(pi*x)*cos(2*pi*y)"


def _stretched_problem(cells):
    x = stretched_nodes(cells[0], 0.0, 1.0, "tanh", 1.5)
    g = Grid.box(cells, nodes=[x, None], boundary={"xmax": Robin(1.0, 1.0, "(1 + y) * (1 + 1)")})

    def u(x, y):  # u = (1 + y) * x: alpha u + du/dn = (1 + y)(1 + 1) at x = 1
        return (1.0 + y) * x + 0.0 * x

    return Problem(g, source=0.0, coefficient=1.0), u


@pytest.mark.parametrize(
    ("make", "cells"),
    [
        (lambda c: (issue_problem(c[0], False), exact_u), (48, 48)),
        (lambda c: (issue_problem(c[0], True), exact_u), (47, 47)),  # odd: interpolation
        (_periodic_problem, (40, 33)),
        (_periodic_problem, (41, 32)),  # odd periodic axis
        (_neumann_problem, (40, 30)),  # singular
    ],
    ids=["dirichlet", "neumann-odd", "periodic", "periodic-odd", "pure-neumann"],
)
def test_richardson_estimates_the_true_discretisation_error(make, cells):
    problem, exact = make(cells)
    estimate = richardson_estimate(problem)
    u_h = solve(problem, "direct").x
    truth = _true_discretisation_error(problem, exact)
    assert 0.8 * truth <= estimate(u_h) <= 1.25 * truth
    assert 0.6 * truth <= estimate.first_guess() <= 1.6 * truth  # the quarter grid's prediction
    assert estimate.reference_bound < 1e-9 * truth / 1e-6
    shared = all(c % 2 == 0 for c in cells)
    assert ("at its nodes" in estimate.description) is shared


def _cell_problem(cells, centering, faces):
    """The issue's u on a cell-centred (or mixed) grid: Dirichlet, Neumann, Robin, periodic."""
    bc = {}
    if "neumann" in faces:
        bc["xmax"] = Neumann(DU_DX)
    if "robin" in faces:  # alpha u + du/dn at x = 1
        bc["xmax"] = Robin(1.0, 1.0, f"{U} + {DU_DX}")
    grid = Grid.box(cells, boundary=bc, default=Dirichlet(U), centering=centering)
    return Problem(grid, source=F), exact_u


def _cell_neumann(cells):
    def u(x, y):
        return np.cos(np.pi * x) * np.cos(2 * np.pi * y)

    grid = Grid.box(cells, boundary=Neumann(), centering="cell")
    return Problem(grid, source=f"5*pi**2*{_cos}"), u


def _cell_periodic_stretched(cells):
    y = stretched_nodes(cells[1], 0.0, 1.0, "tanh", 1.2)
    grid = Grid.box(
        cells,
        nodes=[None, y],
        boundary={"xmin": Periodic(), "xmax": Periodic()},
        default=Dirichlet("exp(y)*cos(2*pi*x)"),
        centering="cell",
    )

    def u(x, y):
        return np.exp(y) * np.cos(2 * np.pi * x)

    return Problem(grid, source="(4*pi**2 - 1)*exp(y)*cos(2*pi*x)"), u


def _true_error_at_points(problem: Problem, exact) -> float:
    u_h = solve(problem, "direct").x
    g = problem.grid
    ref = g.from_nodes(np.broadcast_to(exact(*g.point_coordinates()), g.point_shape)).reshape(-1)
    d = u_h - ref
    if problem.singular:
        w = problem.weights().reshape(-1)
        d = d - (w @ d) / w.sum()
    return w_norm(problem, d)


@pytest.mark.parametrize(
    ("make", "cells"),
    [
        (lambda c: _cell_problem(c, "cell", ()), (48, 48)),
        (lambda c: _cell_problem(c, "cell", ()), (47, 40)),  # odd
        (lambda c: _cell_problem(c, ["node", "cell"], ("neumann",)), (48, 40)),
        (lambda c: _cell_problem(c, "cell", ("robin",)), (40, 33)),
        (_cell_neumann, (40, 30)),  # singular: zero mean over the cells
        (_cell_periodic_stretched, (32, 40)),  # periodic, stretched (even)
    ],
    ids=["dirichlet", "dirichlet-odd", "mixed-centring", "robin-odd", "pure-neumann", "periodic"],
)
def test_richardson_on_cell_centred_axes(make, cells):
    """Coarse centres lie between fine ones: interpolated, and the estimate is the true error."""
    problem, exact = make(cells)
    estimate = richardson_estimate(problem)
    truth = _true_error_at_points(problem, exact)
    assert 0.8 * truth <= estimate(solve(problem, "direct").x) <= 1.25 * truth
    assert 0.6 * truth <= estimate.first_guess() <= 1.6 * truth
    assert "Lagrange interpolation of degree 3" in estimate.description
    sol = solve(problem, "cg", rtol="auto")
    fast = solve(problem, "fastdiag")
    g = problem.grid
    ex = np.broadcast_to(exact(*g.point_coordinates()), g.point_shape)
    # (the singular case's u has zero mean over the cells, as the solutions have)
    err, err_fast = np.max(np.abs(sol.u - ex)), np.max(np.abs(fast.u - ex))
    assert err == pytest.approx(err_fast, rel=0.02)
    assert sol.report.algebraic_error_bound <= 0.1 * sol.report.discretisation_error


def test_cell_axis_resampling_reproduces_cubics_at_the_coarse_centres():
    from kronpde import Axis

    fine = Axis(12, 0.0, 2.0, Dirichlet(), Neumann(), centering="cell")
    coarse = Axis(6, 0.0, 2.0, Dirichlet(), Neumann(), centering="cell")
    r = _resample(fine, coarse, 2)
    assert r.stride is None
    x, xc = fine.points, coarse.points
    got = r.apply(1.0 - x + 0.5 * x**2 - 0.3 * x**3, 0)
    np.testing.assert_allclose(got, 1.0 - xc + 0.5 * xc**2 - 0.3 * xc**3, rtol=0, atol=1e-12)


def test_richardson_of_a_variable_coefficient_uses_the_preconditioned_solve():
    def u(x, y):
        return np.sin(np.pi * x) * np.sin(np.pi * y)

    def k(x, y):
        return 1.0 + 0.5 * x * y

    def f(x, y):  # -div(k grad u)
        ux, uy = (
            np.pi * np.cos(np.pi * x) * np.sin(np.pi * y),
            np.pi * np.sin(np.pi * x) * np.cos(np.pi * y),
        )
        return -(0.5 * y * ux + 0.5 * x * uy) + k(x, y) * 2 * np.pi**2 * u(x, y)

    problem = Problem(Grid.box([48, 40]), source=f, coefficient=k)
    estimate = richardson_estimate(problem)
    truth = _true_discretisation_error(problem, u)
    assert 0.8 * truth <= estimate(solve(problem, "direct").x) <= 1.25 * truth
    sol = solve(problem, "fastdiag-cg", rtol="auto")
    assert sol.report.converged
    assert sol.report.discretisation_estimate == "richardson"
    assert sol.report.algebraic_error_bound <= 0.1 * sol.report.discretisation_error


@pytest.mark.parametrize("periodic", [False, True])
def test_interpolation_to_odd_coarse_points_is_exact_for_cubics(periodic):
    from kronpde import Axis

    bc = Periodic() if periodic else Dirichlet()
    fine = Axis(15, -0.5, 2.5, bc, bc)
    coarse = Axis(7, -0.5, 2.5, bc, bc)
    r = _resample(fine, coarse, 2)
    assert r.stride is None
    assert r.index.shape == (8, 4)
    x, xc = fine.nodes, coarse.nodes
    if periodic:  # smooth and periodic: fourth-order accurate
        L = 3.0
        got = r.apply(np.sin(2 * np.pi * (x + 0.5) / L), 0)
        want = np.sin(2 * np.pi * (xc + 0.5) / L)
        assert np.max(np.abs(got - want)) < 2e-3
        finer = _resample(Axis(61, -0.5, 2.5, bc, bc), Axis(30, -0.5, 2.5, bc, bc), 2)
        xf2, xc2 = np.linspace(-0.5, 2.5, 62), np.linspace(-0.5, 2.5, 31)
        err2 = np.max(
            np.abs(
                finer.apply(np.sin(2 * np.pi * (xf2 + 0.5) / L), 0)
                - np.sin(2 * np.pi * (xc2 + 0.5) / L)
            )
        )
        assert err2 < np.max(np.abs(got - want)) / 100  # h four times smaller: ~256x
    else:
        poly = 1.0 - 2.0 * x + 0.5 * x**2 - 0.3 * x**3
        want = 1.0 - 2.0 * xc + 0.5 * xc**2 - 0.3 * xc**3
        np.testing.assert_allclose(r.apply(poly, 0), want, rtol=0, atol=1e-12)
    even = _resample(Axis(16, 0.0, 1.0, bc, bc), Axis(8, 0.0, 1.0, bc, bc), 2)
    assert even.stride == 2


@pytest.mark.parametrize("neumann", [False, True], ids=["dirichlet", "neumann-face"])
def test_richardson_of_the_fourth_order_scheme(neumann):
    """Order 4: the coarse solve is fourth order too, the factor 2^4 - 1, the estimate true."""
    g = Grid.box(
        [24, 24], boundary={"xmax": Neumann(DU_DX)} if neumann else {}, default=Dirichlet(U)
    )
    problem = Problem(g, source=F, order=4)
    assert scheme_order(problem) == 4
    coarse, _ = coarse_problem(problem)
    assert coarse.order == 4
    assert coarse.grid.cells == (12, 12)
    estimate = richardson_estimate(problem)
    assert "2^4 - 1" in estimate.description
    u_h = solve(problem, "fastdiag").x
    truth = _true_discretisation_error(problem, exact_u)
    assert 0.8 * truth <= estimate(u_h) <= 1.25 * truth
    # and the error is the fourth-order one: far below second differences'
    second = _true_discretisation_error(Problem(g, source=F), exact_u)
    assert second > 50 * truth


def test_coarse_problem_keeps_the_data_and_subsamples_arrays():
    g = Grid.box([8, 6], upper=[2.0, 1.0], boundary={"xmax": Neumann(np.linspace(0, 1, 7))})
    source = np.arange(9 * 7, dtype=float).reshape(9, 7)
    problem = Problem(g, source=source, shift=0.5)
    coarse, resample = coarse_problem(problem)
    assert coarse.grid.cells == (4, 3)
    assert coarse.shift == 0.5
    assert coarse.grid.axes[0].upper == 2.0
    np.testing.assert_array_equal(coarse.source, source[::2, ::2])
    np.testing.assert_array_equal(coarse.grid.axes[0].upper_bc.value, np.linspace(0, 1, 7)[::2])
    assert [r.stride for r in resample] == [2, 2]


@pytest.mark.parametrize(
    ("grid", "source", "reason"),
    [
        (Grid.box([1, 8], boundary=Neumann()), 1.0, "axis x has 1 cell"),
        (Grid.box([2, 8]), 1.0, "at least 2 cells for one unknown"),
        (
            Grid.box([7, 8], nodes=[stretched_nodes(7, 0, 1, "tanh", 1.0), None]),
            1.0,
            "odd number of cells",
        ),
        (Grid.box([7, 8]), np.ones((8, 9)), "the source is given as an array"),
    ],
    ids=["one-cell", "dirichlet-two-cells", "stretched-odd", "array-odd"],
)
def test_where_no_coarse_grid_exists_auto_falls_back_and_says_why(grid, source, reason):
    problem = Problem(grid, source=source)
    with pytest.raises(Unavailable, match=reason):
        coarse_problem(problem)
    sol = solve(problem, "cg", rtol="auto")
    report = sol.report
    assert report.converged
    assert report.discretisation_error is None
    assert report.discretisation_estimate is None
    # the one-cell box is pure Neumann with source 1: all its data are incompatible (issue 24)
    incompatible = [w for w in report.warnings if w.startswith("INCOMPATIBLE DATA")]
    assert len(incompatible) == (1 if problem.singular else 0)
    assert len(report.warnings) == 1 + len(incompatible)
    assert f"fell back to rtol = {FALLBACK_RTOL:g}" in report.warnings[0]
    assert reason in report.warnings[0]
    assert report.relative_residual <= FALLBACK_RTOL


def test_a_right_hand_side_of_its_own_has_no_richardson_counterpart():
    problem = issue_problem(24, False)
    prepared = prepare(problem, "amg-cg")
    other = prepared.solve(2.0 * problem.rhs(), rtol="auto")
    assert "not the problem's own right-hand side" in other.report.warnings[0]
    assert other.report.relative_residual <= FALLBACK_RTOL
    own = prepared.solve(problem.rhs(), rtol="auto")  # equal to its own: Richardson
    assert own.report.discretisation_estimate == "richardson"
    assert own.report.warnings == ()
    # an exact solution works for any b: u = 2 u_exact solves the doubled problem
    doubled = prepared.solve(2.0 * problem.rhs(), rtol="auto", exact=lambda x, y: 2 * exact_u(x, y))
    assert doubled.report.discretisation_estimate == "exact"
    assert doubled.report.warnings == ()


def test_the_rounding_limit_is_reached_not_chased():
    """A quadratic is solved exactly by the scheme: no discretisation error to stop at."""
    g = Grid.box([40, 40], default=Dirichlet("x**2 + x*y"))
    problem = Problem(g, source=-2.0)
    sol = solve(problem, "cg", rtol="auto", exact="x**2 + x*y", maxiter=5000)
    report = sol.report
    assert report.converged
    assert report.iterations < 400  # stops, does not run to maxiter
    assert "rounding limit" in report.warnings[0]
    x, y = g.node_coordinates()
    assert np.max(np.abs(sol.u - (x**2 + x * y))) < 1e-10


def test_maxiter_ends_an_auto_solve_unconverged():
    problem = issue_problem(32, False)
    sol = solve(problem, "cg", rtol="auto", maxiter=5)
    assert not sol.report.converged
    assert sol.report.iterations == 5
    assert "maxiter = 5" in sol.report.message


def test_auto_on_exact_methods_reports_the_estimate():
    problem = issue_problem(32, True)
    for method in ("fastdiag", "direct"):
        report = solve(problem, method, rtol="auto").report
        assert report.discretisation_estimate == "richardson"
        assert report.algebraic_error_bound < 1e-6 * report.discretisation_error


def test_solver_argument_errors():
    problem = issue_problem(8, False)
    with pytest.raises(OptionError, match="estimate=False"):
        solve(problem, "cg", rtol="auto", estimate=False)
    with pytest.raises(OptionError, match="estimate must be None, True or False"):
        solve(problem, "cg", estimate="yes")
    with pytest.raises(OptionError, match='must be "auto" or a number'):
        solve(problem, "cg", rtol="tight")
    with pytest.raises(OptionError, match="exact must have the point shape"):
        solve(problem, "cg", exact=np.zeros(5))
    with pytest.raises(DataError, match="exact: name 'z' is not allowed"):
        solve(problem, "cg", exact="sin(z)")
    assert check_rtol("auto", "rtol") == AUTO == SolverSettings().rtol
    assert check_rtol(" 1e-6 ", "--rtol", below_one=True) == 1e-6


# --------------------------------------------------------------------------- the case file and CLI

CASE = """\
[grid]
cells = [{n}, {n}]

[equation]
source = "{f}"

[boundary]
default = {{ type = "dirichlet", value = "{u}" }}
xmax = {{ type = "neumann", value = "{du}" }}

[solver]
method = "{method}"
{rtol}
[output]
file = "out.vtu"
{exact}"""


def write_case(folder: Path, n: int, method: str, *, rtol: str = "", exact: bool = True) -> Path:
    text = CASE.format(
        n=n,
        f=F,
        u=U,
        du=DU_DX,
        method=method,
        rtol=rtol + "\n" if rtol else "",
        exact=f'\n[exact]\nu = "{U}"\n' if exact else "",
    )
    path = folder / f"case_{n}_{method}{'_exact' if exact else ''}.toml"
    path.write_text(text)
    return path


def run(capsys, *argv) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("exact", [True, False], ids=["with-exact", "without-exact"])
def test_cli_default_is_auto_with_either_estimate(tmp_path, capsys, exact):
    """A case without [exact] gets Richardson, and the same accuracy as fastdiag."""
    errors = []
    for n in (48, 96):
        case = write_case(tmp_path, n, "cg", exact=exact)
        assert load_case(case).rtol == "auto"
        code, out, err = run(capsys, "solve", case, "--json")
        assert code == 0, err
        record = json.loads(out.strip().splitlines()[-1])
        assert record["rtol"] == "auto"
        assert record["warnings"] == []
        assert record["discretisation_estimate"] == ("exact" if exact else "richardson")
        assert record["algebraic_error_bound"] <= 0.1 * record["discretisation_error"]
        assert "accuracy   algebraic error <=" in out
        problem = load_case(case).problem
        import meshio

        u = meshio.read(tmp_path / "out.vtu").point_data["u"].reshape(problem.grid.node_shape)
        reference = max_error(problem, solve(problem, "fastdiag").u)
        errors.append(max_error(problem, u))
        assert errors[-1] <= 1.2 * reference
    assert 1.9 <= order(errors)[0] <= 2.1


def test_cli_numeric_rtol_keeps_its_meaning_and_warns(tmp_path, capsys):
    case = write_case(tmp_path, 64, "cg", rtol="rtol = 1e-3", exact=False)
    # a numeric rtol estimates only when asked (issue 24): --estimate
    code, out, err = run(capsys, "solve", case, "--json", "-q")
    assert code == 0, err
    record = json.loads(out.strip().splitlines()[-1])
    assert record["discretisation_estimate"] is None
    assert record["estimate_seconds"] == 0.0
    code, out, err = run(capsys, "solve", case, "--json", "--estimate")
    assert code == 0, err  # still solved and written
    record = json.loads(out.strip().splitlines()[-1])
    assert record["relative_residual"] <= 1e-3
    assert record["discretisation_estimate"] == "richardson"
    assert len(record["warnings"]) == 1
    assert "exceeds" in record["warnings"][0]
    assert re.search(r"^warning    The certified algebraic error", out, flags=re.M)
    assert (tmp_path / "out.vtu").exists()
    plain = solve(load_case(case).problem, "cg", rtol=1e-3)
    assert record["iterations"] == plain.report.iterations
    code, out, _ = run(capsys, "solve", case, "--rtol", "auto", "--json", "-q")
    assert code == 0
    assert json.loads(out)["warnings"] == []
    assert json.loads(out)["rtol"] == "auto"


@pytest.mark.parametrize(
    ("text", "expected"),
    [('rtol = "fast"', 'must be a number > 0 and < 1, or "auto"'), ("rtol = 0", "> 0 and < 1")],
)
def test_case_rtol_errors(tmp_path, capsys, text, expected):
    case = write_case(tmp_path, 8, "cg", rtol=text)
    with pytest.raises(CaseError, match=re.escape(expected)):
        load_case(case)
    code, _, err = run(capsys, "check", case)
    assert code == 2
    assert "[solver] rtol" in err


def test_check_names_auto(tmp_path, capsys):
    case = write_case(tmp_path, 8, "cg")
    code, out, _ = run(capsys, "check", case)
    assert code == 0
    assert "rtol auto: a tenth of the estimated discretisation error" in out


# --------------------------------------------------------------------------- expressions in Python


def test_python_takes_the_expressions_of_case_files(tmp_path):
    """Problem(source="..."), Dirichlet("..."), coefficient="...": as in a case file."""
    grid = Grid.box([12, 10], boundary={"xmin": Dirichlet("sin(x) + y")}, default=Dirichlet(0.0))
    by_text = Problem(grid, source="sin(x)*exp(y)", coefficient="1 + x*y")
    by_callable = Problem(
        Grid.box(
            [12, 10],
            boundary={"xmin": Dirichlet(lambda x, y: np.sin(x) + y)},
            default=Dirichlet(0.0),
        ),
        source=lambda x, y: np.sin(x) * np.exp(y),
        coefficient=lambda x, y: 1 + x * y,
    )
    np.testing.assert_array_equal(by_text.rhs(), by_callable.rhs())
    a, b = solve(by_text, "direct").u, solve(by_callable, "direct").u
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-13)
    # a bad string is refused when the problem is built, with the case file's message
    case = tmp_path / "bad.toml"
    case.write_text(
        '[grid]\ncells = [4, 4]\n[equation]\nsource = "sin(pi*z)"\n[boundary]\n'
        'default = { type = "dirichlet", value = 0 }\n'
    )
    with pytest.raises(CaseError) as from_file:
        load_case(case)
    with pytest.raises(DataError) as from_python:
        Problem(Grid.box([4, 4]), source="sin(pi*z)")
    assert from_python.value.detail in str(from_file.value)
    with pytest.raises(DataError, match="coefficient: 'import os' is not a valid expression"):
        Problem(Grid.box([4, 4]), source=1.0, coefficient="import os")
    with pytest.raises(DataError, match="Dirichlet value"):
        Dirichlet("__import__('os')")
