"""Tests of the entry point kronpde.solvers: every method, every boundary condition.

The anchor is scipy's ``spsolve`` of the unsymmetrised system ``A u = b`` as
assembled by ``Problem.operator()`` (bordered with the constraint
``w · u = 0`` and a multiplier on the constants for singular problems, with
trapezoid weights ``w`` computed here from the grid, independently of kronpde).
"""

from __future__ import annotations

import doctest

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

import kronpde.solvers.driver as api_module
from kronpde import Dirichlet, Grid, Neumann, Periodic, Problem, Robin
from kronpde.errors import OptionError
from kronpde.problem.discretisation import Discretisation
from kronpde.problem.kronecker import KroneckerSum
from kronpde.solvers import METHODS, Solution, SolveReport, prepare, solve

ITERATIVE = ("cg", "amg-cg")
ALL = ("cg", "amg-cg", "fastdiag-cg", "direct", "fastdiag")

CELLS = {1: [40], 2: [18, 12], 3: [8, 6, 7]}


def _source(*x):
    return np.exp(0.5 * x[0]) * np.cos(2.0 * x[-1]) + 0.3 * x[0] ** 2


def _wavy(*x):
    return 0.5 + np.sin(3.0 * x[0])


def _boundary(kind: str, d: int) -> tuple[dict, float]:
    """Faces and shift of a BC set-up of one kind in ``d`` dimensions."""
    faces = [f"{a}{s}" for a in "xyz"[:d] for s in ("min", "max")]
    if kind == "dirichlet":
        return {f: Dirichlet(_wavy if d > 1 else 0.7) for f in faces}, 0.0
    if kind == "neumann":  # Neumann on the max faces, Dirichlet on the min faces
        return {f: (Neumann(0.4) if f.endswith("max") else Dirichlet(-0.2)) for f in faces}, 0.0
    if kind == "robin":
        return {f: Robin(1.5, 0.5, 0.3) for f in faces}, 0.0
    if kind == "periodic":  # periodic in x, Dirichlet elsewhere (all periodic in 1-D: singular)
        bc = {f: Dirichlet(0.1) for f in faces}
        bc["xmin"] = bc["xmax"] = Periodic()
        return bc, 0.0
    if kind == "mixed":
        bc = {"xmin": Dirichlet(1.0), "xmax": Robin(2.0, 1.0, -0.5)}
        if d > 1:
            bc.update({"ymin": Neumann(0.25), "ymax": Dirichlet(_wavy)})
        if d > 2:
            bc.update({"zmin": Periodic(), "zmax": Periodic()})
        return bc, 0.0
    if kind == "pure-neumann":  # singular; the source is incompatible on purpose
        return {f: Neumann(0.2) for f in faces}, 0.0
    if kind == "shift":
        return {f: Neumann(0.0) for f in faces}, 2.5
    raise AssertionError(kind)


KINDS = ("dirichlet", "neumann", "robin", "periodic", "mixed", "pure-neumann", "shift")


def make_problem(d: int, kind: str) -> Problem:
    bc, shift = _boundary(kind, d)
    grid = Grid.box(CELLS[d], upper=[1.0, 0.8, 1.3][:d], boundary=bc)
    return Problem(grid, source=_source, shift=shift)


def trapezoid_weights(problem: Problem) -> np.ndarray:
    """Trapezoid weights of the unknowns, computed from the boundary conditions alone."""
    w = np.ones(())
    for a in problem.grid.axes:
        h = (a.upper - a.lower) / a.cells
        ends = []
        for bc in (a.lower_bc, a.upper_bc):
            ends.append(None if isinstance(bc, Dirichlet) else bc)
        if isinstance(a.lower_bc, Periodic):
            wa = np.full(a.cells, h)
        else:
            n = a.cells + 1 - sum(isinstance(bc, Dirichlet) for bc in (a.lower_bc, a.upper_bc))
            wa = np.full(n, h)
            if ends[0] is not None:
                wa[0] = h / 2
            if ends[1] is not None:
                wa[-1] = h / 2
        w = np.multiply.outer(w, wa)
    return w.reshape(-1)


def reference(problem: Problem, b: np.ndarray) -> np.ndarray:
    """spsolve of A u = b, or of the bordered singular system [[A, 1], [w^T, 0]]."""
    A = sp.csc_array(problem.operator())
    n = A.shape[0]
    if not problem.singular:
        return spla.spsolve(A, b)
    w = trapezoid_weights(problem)
    K = sp.block_array(
        [[A, sp.csc_array(np.ones((n, 1)))], [sp.csc_array(w[None, :]), None]], format="csc"
    )
    return spla.spsolve(K, np.append(b, 0.0))[:n]


def relative_error(u: np.ndarray, ref: np.ndarray) -> float:
    return float(np.max(np.abs(u - ref)) / np.max(np.abs(ref)))


@pytest.fixture(autouse=True)
def _raise_on_float_errors():
    with np.errstate(all="raise"):
        yield


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("d", [1, 2, 3])
def test_all_methods_agree_with_spsolve(d, kind):
    problem = make_problem(d, kind)
    assert problem.singular == (kind == "pure-neumann" or (kind == "periodic" and d == 1))
    b = problem.rhs()
    ref = reference(problem, b)
    fields = {}
    for method in ALL:
        sol = solve(problem, method, rtol=1e-10)
        rep = sol.report
        assert rep.method == method
        assert rep.converged, rep.message
        assert relative_error(sol.x, ref) <= 1e-7, (method, relative_error(sol.x, ref))
        # the reported residual is the true unsymmetrised one, recomputed here
        b_used = b
        if problem.singular:
            w = trapezoid_weights(problem)
            b_used = b - (w @ b) / w.sum()
        true = np.linalg.norm(b_used - problem.operator() @ sol.x) / np.linalg.norm(b_used)
        assert rep.relative_residual == pytest.approx(true, rel=1e-6, abs=1e-13)
        if method in ITERATIVE:
            assert rep.relative_residual <= 1e-10
        else:
            assert rep.relative_residual <= 1e-11
        fields[method] = sol.u
    for method in ALL:  # with one another, as nodal fields (Dirichlet values included)
        assert relative_error(fields[method], fields["fastdiag"]) <= 1e-7


@pytest.mark.parametrize("method", ALL)
def test_singular_solution_has_zero_weighted_mean(method):
    problem = make_problem(2, "pure-neumann")
    sol = solve(problem, method, rtol=1e-10)
    w = trapezoid_weights(problem)
    assert abs(w @ sol.x) / (w.sum() * np.max(np.abs(sol.x))) <= 1e-12
    # the source (mean about 0.9) and the Neumann data make b incompatible
    b = problem.rhs()
    removed = abs(w @ b / w.sum()) * np.sqrt(b.size) / np.linalg.norm(b)
    assert sol.report.projected_norm == pytest.approx(removed, rel=1e-9)
    assert sol.report.projected_norm > 0.1
    assert "projected" in sol.report.message


def test_nodal_field_carries_dirichlet_values():
    problem = make_problem(2, "dirichlet")
    sol = solve(problem, "amg-cg", rtol=1e-10)
    assert sol.u.shape == problem.grid.node_shape
    y = problem.grid.axes[1].nodes
    np.testing.assert_allclose(sol.u[0, :], 0.5 + np.sin(3.0 * 0.0), rtol=0, atol=1e-15)
    np.testing.assert_allclose(sol.u[-1, 1:-1], 0.5 + np.sin(3.0 * 1.0), rtol=0, atol=1e-15)
    assert y.size == sol.u.shape[1]
    np.testing.assert_array_equal(sol.u[1:-1, 1:-1].reshape(-1), sol.x)


@pytest.mark.parametrize("kind", ["neumann", "robin", "mixed", "pure-neumann"])
@pytest.mark.parametrize("rtol", [1e-4, 1e-7, 1e-10])
@pytest.mark.parametrize("method", ITERATIVE)
def test_stopping_rule_is_on_the_unsymmetrised_residual(method, rtol, kind):
    # on these problems D = W^(1/2) varies, so ||D r||/||D b|| and ||r||/||b|| differ
    problem = make_problem(3, kind)
    rng = np.random.default_rng(11)
    b = rng.standard_normal(problem.size)
    sol = prepare(problem, method).solve(b, rtol=rtol)
    assert sol.report.converged, sol.report.message
    if problem.singular:
        w = trapezoid_weights(problem)
        b = b - (w @ b) / w.sum()
    true = np.linalg.norm(b - problem.operator() @ sol.x) / np.linalg.norm(b)
    assert true <= rtol
    assert sol.report.relative_residual == pytest.approx(true, rel=1e-6)


def test_atol_is_an_absolute_target():
    problem = make_problem(2, "robin")
    b = problem.rhs()
    atol = 1e-3 * np.linalg.norm(b)
    sol = prepare(problem, "cg").solve(b, rtol=0.0, atol=atol)
    r = np.linalg.norm(b - problem.operator() @ sol.x)
    assert sol.report.converged
    assert r <= atol
    assert r > 1e-3 * atol  # it stopped near the target, not at full accuracy


@pytest.mark.parametrize("method", ITERATIVE)
def test_maxiter_too_small_is_a_result_not_an_error(method):
    problem = make_problem(3, "dirichlet")
    sol = solve(problem, method, rtol=1e-12, maxiter=2)
    rep = sol.report
    assert rep.converged is False
    assert rep.iterations == 2
    assert "maxiter" in rep.message
    assert rep.residual_norms.shape == (3,)
    assert rep.relative_residual > 1e-12
    assert np.all(np.isfinite(sol.u))


@pytest.mark.parametrize("method", ITERATIVE)
@pytest.mark.parametrize("kind", ["robin", "pure-neumann"])
def test_callback_once_per_iteration_with_u_space_iterates(method, kind):
    problem = make_problem(2, kind)
    seen = []
    sol = solve(problem, method, rtol=1e-9, callback=lambda uk: seen.append(uk.copy()))
    rep = sol.report
    assert rep.iterations >= 3
    assert len(seen) == rep.iterations
    assert rep.residual_norms.shape == (rep.iterations + 1,)
    np.testing.assert_allclose(seen[-1], sol.x, rtol=0, atol=1e-14 * np.max(np.abs(sol.x)))
    # the iterates are in u-space: their true residual decreases to the final one
    b = problem.project_rhs(problem.rhs())[0]
    A = problem.operator()
    first = np.linalg.norm(b - A @ seen[0]) / np.linalg.norm(b)
    last = np.linalg.norm(b - A @ seen[-1]) / np.linalg.norm(b)
    assert last == pytest.approx(rep.relative_residual, rel=1e-6)
    assert last < 1e-6 * first


@pytest.mark.parametrize("method", ["direct", "fastdiag"])
def test_exact_methods_never_call_back_and_report_no_history(method):
    problem = make_problem(2, "mixed")
    calls = []
    rep = solve(problem, method, callback=calls.append).report
    assert calls == []
    assert rep.iterations == 0
    assert rep.residual_norms.shape == (0,)


def test_auto_picks_fastdiag_and_says_why():
    problem = make_problem(3, "mixed")
    sol = solve(problem)
    rep = sol.report
    assert rep.method == "fastdiag"
    assert rep.requested == "auto"
    assert "Kronecker" in rep.reason
    assert prepare(problem).method == "fastdiag"
    explicit = solve(problem, "direct")
    assert explicit.report.reason == "requested"
    assert relative_error(sol.x, explicit.x) <= 1e-10


class _NoKroneckerStructure(KroneckerSum):
    """The same operator, as a discretisation without a Kronecker structure would offer it."""

    has_reference_structure = False

    def eigen_structure(self):
        return None

    def fast_solve_obstacle(self):
        return Discretisation.fast_solve_obstacle(self)


def test_auto_falls_back_to_amg_cg_without_kronecker_structure():
    problem = make_problem(2, "robin")
    scheme = problem.discretisation
    problem.discretisation = _NoKroneckerStructure(scheme.data, scheme.shift, scheme.shared)
    assert not problem.is_kronecker_sum
    rep = solve(problem, rtol=1e-10).report
    assert rep.method == "amg-cg"
    assert "not a Kronecker sum" in rep.reason


def test_unknown_method_lists_the_methods():
    problem = make_problem(1, "dirichlet")
    with pytest.raises(OptionError, match="unknown method 'multigrid'") as info:
        solve(problem, "multigrid")
    for name in METHODS:
        assert repr(name) in str(info.value)
    assert METHODS == (
        "auto", "cg", "amg-cg", "fastdiag-cg", "fastdiag", "direct", "fastdiag-minres"
    )


@pytest.mark.parametrize(
    ("method", "options", "pattern"),
    [
        ("cg", {"precond": "jacobi"}, "unknown option 'precond'.*jacobi"),
        ("cg", {"jacobi": "yes"}, "jacobi='yes'"),
        ("direct", {"max_mem": 1}, "unknown option 'max_mem'.*max_memory"),
        ("direct", {"permc_spec": "METIS"}, "permc_spec='METIS'"),
        ("fastdiag", {"threads": 2}, "unknown option 'threads'.*workers"),
        ("fastdiag", {"workers": 0}, "workers"),
        ("amg-cg", {"cycles": "V"}, "unknown option 'cycles'"),
    ],
)
def test_bad_options_raise_option_error_naming_them(method, options, pattern):
    with pytest.raises(OptionError, match=pattern):
        prepare(make_problem(2, "dirichlet"), method, options=options)


def test_cg_uses_jacobi_only_where_the_diagonal_varies():
    assert prepare(make_problem(2, "dirichlet"), "cg").options == {"jacobi": False}
    assert prepare(make_problem(2, "neumann"), "cg").options == {"jacobi": False}
    assert prepare(make_problem(2, "robin"), "cg").options == {"jacobi": True}
    forced = prepare(make_problem(2, "dirichlet"), "cg", options={"jacobi": True})
    assert forced.options == {"jacobi": True}
    rep = forced.solve().report
    assert rep.converged
    assert "Jacobi preconditioner used" in rep.message


def test_prepare_once_solve_many():
    problem = make_problem(2, "mixed")
    rng = np.random.default_rng(5)
    for method in ALL:
        prepared = prepare(problem, method)
        setup = prepared.setup_seconds
        for _ in range(3):
            b = rng.standard_normal(problem.size)
            sol = prepared.solve(b, rtol=1e-11)
            assert sol.report.setup_seconds == setup
            assert relative_error(sol.x, reference(problem, b)) <= 1e-8
        # b as an array of the grid's shape is accepted too
        b2 = rng.standard_normal(problem.grid.shape)
        assert (
            relative_error(prepared.solve(b2, rtol=1e-11).x, reference(problem, b2.reshape(-1)))
            <= 1e-8
        )


@pytest.mark.parametrize("method", ITERATIVE)
def test_initial_guess_is_in_u_space(method):
    problem = make_problem(2, "robin")
    prepared = prepare(problem, method)
    exact = reference(problem, problem.rhs())
    rep = prepared.solve(x0=exact, rtol=1e-8).report
    assert rep.iterations == 0
    assert rep.converged


@pytest.mark.parametrize("method", ALL)
def test_zero_right_hand_side_gives_zero(method):
    problem = make_problem(2, "pure-neumann")
    sol = prepare(problem, method).solve(np.zeros(problem.size))
    assert sol.report.converged
    np.testing.assert_array_equal(sol.x, 0.0)


def test_bad_right_hand_side_and_tolerances():
    prepared = prepare(make_problem(2, "dirichlet"), "cg")
    n = prepared.problem.size
    with pytest.raises(ValueError, match=r"b must be a real array of shape"):
        prepared.solve(np.ones(n + 1))
    with pytest.raises(ValueError, match="NaN"):
        prepared.solve(np.full(n, np.nan))
    with pytest.raises(ValueError, match="rtol"):
        prepared.solve(rtol=-1.0)
    with pytest.raises(ValueError, match="maxiter"):
        prepared.solve(maxiter=-3)


def test_report_fields():
    problem = make_problem(3, "neumann")
    rep = solve(problem, "amg-cg", rtol=1e-9).report
    assert isinstance(rep, SolveReport)
    assert rep.projected_norm == 0.0
    assert rep.options["kind"] == "sa"
    assert rep.options["cycle"] in ("V", "W")
    assert not rep.residual_norms.flags.writeable
    assert rep.residual_norms[-1] < 1e-9 * rep.residual_norms[0] * 10
    sol = solve(problem, "fastdiag")
    assert isinstance(sol, Solution)
    assert "axis_methods" in sol.report.options


def test_docstring_examples():
    result = doctest.testmod(api_module, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 2
    assert result.failed == 0
