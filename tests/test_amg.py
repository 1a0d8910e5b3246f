"""Tests of kronpde.solvers.amg: the pyamg hierarchy, the cycle, the options and their errors."""

from __future__ import annotations

import functools

import numpy as np
import pyamg
import pytest
import scipy.sparse.linalg as spla

from kronpde import Dirichlet, Grid, Neumann, Periodic, Problem, Robin
from kronpde.errors import OptionError
from kronpde.solvers import prepare
from kronpde.solvers.amg import AMG_KINDS, AMGPreconditioner, MultigridCycle


@pytest.fixture(autouse=True)
def _raise_on_float_errors():
    with np.errstate(all="raise"):
        yield


def robin_mixed(cells):
    faces = {"xmin": Robin(1.0, 0.5, 0.2), "xmax": Neumann(0.3), "ymin": Dirichlet(1.0)}
    return Problem(Grid.box(cells, boundary=faces), source=1.0)


def pure_neumann(cells):
    return Problem(
        Grid.box(cells, boundary=Neumann()), source=lambda *x: np.cos(3.0 * x[0]) + x[-1] ** 2
    )


# -- iteration counts under refinement --------------------------------------------------
# Random right-hand sides (a sine is an eigenvector); rtol 1e-8 on ||b - A u||/||b||.
# All sizes the brief asks for fit the time budget here (about 5 s together).
@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sa", "rs"])
@pytest.mark.parametrize(
    "cells",
    [[64, 64], [128, 128], [256, 256], [512, 512], [16, 16, 16], [32, 32, 32], [64, 64, 64]],
    ids=lambda c: "x".join(map(str, c)),
)
def test_iterations_bounded_under_refinement(cells, kind):
    problem = Problem(Grid.box(cells))
    rng = np.random.default_rng(len(cells) * 1000 + cells[0])
    b = rng.standard_normal(problem.size)
    sol = prepare(problem, "amg-cg", options={"kind": kind}).solve(b, rtol=1e-8)
    rep = sol.report
    assert rep.converged, rep.message
    assert rep.iterations <= 15
    true = np.linalg.norm(b - problem.operator() @ sol.x) / np.linalg.norm(b)
    assert true <= 1e-8


@pytest.mark.parametrize(
    "problem",
    [robin_mixed([96, 64]), pure_neumann([64, 48]), pure_neumann([12, 10, 14])],
    ids=["robin", "neumann-2d", "neumann-3d"],
)
def test_iterations_bounded_on_other_boundary_conditions(problem):
    b = np.random.default_rng(3).standard_normal(problem.size)
    rep = prepare(problem, "amg-cg").solve(b, rtol=1e-8).report
    assert rep.converged, rep.message
    assert rep.iterations <= 15


# -- the cycle against pyamg's own ------------------------------------------------------
@pytest.mark.parametrize("cycle", ["V", "W", "F"])
@pytest.mark.parametrize("kind", ["sa", "rs"])
@pytest.mark.parametrize("make", [robin_mixed, pure_neumann], ids=["robin", "neumann"])
def test_cycle_equals_pyamg_aspreconditioner(make, kind, cycle):
    problem = make([40, 30])
    pre = AMGPreconditioner.from_problem(problem, {"kind": kind, "cycle": cycle, "max_coarse": 5})
    assert pre.levels >= 3
    assert isinstance(pre.operator, MultigridCycle)
    reference = pre.ml.aspreconditioner(cycle=cycle)  # pyamg's own, same hierarchy
    rng = np.random.default_rng(7)
    null = np.sqrt(problem.weights().reshape(-1))
    null /= np.linalg.norm(null)
    for _ in range(3):
        v = rng.standard_normal(problem.size)
        if problem.singular:  # CG hands the preconditioner residuals orthogonal to D·1
            v -= (null @ v) * null
        out = np.empty_like(v)
        pre.operator.matvec_into(v, out)
        expected = reference.matvec(v)
        assert np.linalg.norm(out - expected) <= 1e-12 * np.linalg.norm(expected)
        np.testing.assert_allclose(pre.operator.matvec(v), out, rtol=1e-15, atol=0)


@pytest.mark.parametrize("kind", ["sa", "rs"])
def test_cycle_is_symmetric_positive(kind):
    problem = robin_mixed([30, 20])
    M = AMGPreconditioner.from_problem(problem, {"kind": kind}).operator
    rng = np.random.default_rng(8)
    u, v = rng.standard_normal((2, problem.size))
    assert u @ M.matvec(v) == pytest.approx(v @ M.matvec(u), rel=1e-10)
    assert u @ M.matvec(u) > 0


def test_pyamg_preconditioner_option_gives_the_same_iterates():
    problem = robin_mixed([48, 40])
    b = np.random.default_rng(9).standard_normal(problem.size)
    ours = prepare(problem, "amg-cg").solve(b, rtol=1e-10)
    theirs = prepare(problem, "amg-cg", options={"preconditioner": "pyamg"}).solve(b, rtol=1e-10)
    assert ours.report.iterations == theirs.report.iterations
    ours_norms, theirs_norms = ours.report.residual_norms, theirs.report.residual_norms
    np.testing.assert_allclose(ours_norms, theirs_norms, rtol=0, atol=1e-15 * ours_norms[0])


# -- hierarchy set-up ---------------------------------------------------------------------
def test_hierarchy_is_csr_and_built_on_the_symmetric_operator():
    problem = robin_mixed([40, 30])
    pre = AMGPreconditioner.from_problem(problem)
    A_hat = problem.operator(symmetric=True)
    assert (pre.ml.levels[0].A != A_hat).nnz == 0
    for lvl in pre.ml.levels:
        assert lvl.A.format == "csr"
    for lvl in pre.ml.levels[:-1]:
        assert lvl.P.format == "csr"
        assert lvl.R.format == "csr"
    assert pre.operator_complexity < 2.0


def test_singular_near_null_space_is_d_times_ones():
    problem = pure_neumann([24, 20])
    pre = AMGPreconditioner.from_problem(problem, {"keep": True})
    B = pre.ml.levels[0].B[:, 0]
    d = np.sqrt(problem.weights().reshape(-1))
    np.testing.assert_allclose(B, d / np.linalg.norm(d), rtol=1e-14)
    # and it is the null vector of Â
    assert np.linalg.norm(problem.operator(symmetric=True) @ B) <= 1e-10 * np.linalg.norm(
        problem.operator(symmetric=True).data
    )


@pytest.mark.parametrize(("kind", "expected"), [("sa", "W"), ("rs", "V")])
def test_auto_cycle_takes_w_only_where_levels_shrink_fast(kind, expected):
    problem = Problem(Grid.box([128, 128]))
    pre = AMGPreconditioner.from_problem(problem, {"kind": kind})
    sizes = [lvl.A.shape[0] for lvl in pre.ml.levels]
    shrink = min(a / b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
    assert (shrink >= 3.0) == (expected == "W")
    assert pre.cycle == expected
    assert pre.options["cycle"] == expected
    assert pre.operator.cycle == expected


def test_ruge_stuben_is_selectable():
    problem = pure_neumann([40, 40])
    prepared = prepare(problem, "amg-cg", options={"kind": "ruge_stuben", "cycle": "w"})
    assert prepared.options["kind"] == "rs"
    assert prepared.options["cycle"] == "W"
    rep = prepared.solve(rtol=1e-10).report
    assert rep.converged
    assert rep.iterations <= 10


def test_options_pass_through_to_pyamg():
    problem = robin_mixed([64, 64])
    pre = AMGPreconditioner.from_problem(problem, {"max_levels": 2, "max_coarse": 1})
    assert pre.levels == 2
    pre = AMGPreconditioner.from_problem(
        problem, {"strength": ("symmetric", {"theta": 0.0}), "coarse_solver": "splu"}
    )
    assert pre.options["strength"] == ("symmetric", {"theta": 0.0})
    assert "splu" in repr(pre.ml.coarse_solver)


def test_global_random_state_is_restored_and_setup_is_reproducible():
    problem = robin_mixed([64, 48])
    # pyamg draws from numpy's legacy global generator: it must be left as it was
    np.random.seed(1234)  # noqa: NPY002
    expected = np.random.rand(3)  # noqa: NPY002
    np.random.seed(1234)  # noqa: NPY002
    first = prepare(problem, "amg-cg").solve(rtol=1e-10)
    np.testing.assert_array_equal(np.random.rand(3), expected)  # noqa: NPY002
    second = prepare(problem, "amg-cg").solve(rtol=1e-10)
    np.testing.assert_array_equal(first.report.residual_norms, second.report.residual_norms)


# -- errors --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"strenght": "symmetric"}, "'strenght'"),
        ({"strength": "bogus"}, "strength='bogus'"),
        ({"aggregate": "bogus"}, "aggregate='bogus'"),
        ({"smooth": ("jacobi", {"omga": 1.0})}, "smooth=('jacobi', {'omga': 1.0})"),
        ({"presmoother": "nonsense"}, "presmoother='nonsense'"),
        ({"max_coarse": "ten"}, "max_coarse='ten'"),
        ({"coarse_solver": "bogus"}, "coarse_solver='bogus'"),
        ({"kind": "rs", "CF": "XYZ"}, "CF='XYZ'"),
        ({"kind": "rs", "smooth": "jacobi"}, "'smooth'"),
        ({"kind": "gamg"}, "kind='gamg'"),
        ({"cycle": "AMLI"}, "cycle='AMLI'"),
        ({"preconditioner": "ilu"}, "preconditioner='ilu'"),
        ({"seed": -1}, "seed=-1"),
        ({"presmoother": ("gauss_seidel", {"sweep": "forward"})}, "presmoother="),
    ],
)
def test_bad_options_raise_option_error_naming_the_option(options, named):
    problem = robin_mixed([16, 16])
    with pytest.raises(OptionError) as info:
        prepare(problem, "amg-cg", options=options)
    assert named in str(info.value)
    assert str(info.value).startswith("amg-cg:")


def test_unknown_option_lists_the_known_ones():
    with pytest.raises(OptionError) as info:
        prepare(robin_mixed([8, 8]), "amg-cg", options={"strenght": 0.25})
    for name in ("strength", "smooth", "coarse_solver", "kind", "cycle"):
        assert name in str(info.value)


def test_singular_coarse_level_failure_names_coarse_solver():
    # 1-D pure Neumann: the coarsest matrix is exactly singular, so splu cannot factor it
    problem = Problem(Grid.box([8], boundary=Neumann()), source=lambda x: np.cos(3 * x))
    with pytest.raises(OptionError, match=r"coarse_solver='splu'.*singular.*pinv"):
        prepare(problem, "amg-cg", options={"coarse_solver": "splu"})
    # the default (pinv) works on the same problem
    rep = prepare(problem, "amg-cg").solve(rtol=1e-10).report
    assert rep.converged


def test_failing_coarse_solver_callable_is_reported():
    def broken(A, b):
        return np.full_like(b, np.nan)

    with pytest.raises(OptionError, match="coarse_solver=.*NaN"):
        prepare(robin_mixed([32, 32]), "amg-cg", options={"coarse_solver": broken})


def test_periodic_and_shift_converge():
    faces = {"xmin": Periodic(), "xmax": Periodic(), "ymin": Periodic(), "ymax": Periodic()}
    problem = Problem(Grid.box([64, 32], boundary=faces), source=lambda x, y: x * y)
    rep = prepare(problem, "amg-cg").solve(rtol=1e-10).report
    assert rep.converged
    assert rep.iterations <= 15
    shifted = Problem(Grid.box([64, 32], boundary=faces), source=lambda x, y: x * y, shift=1e4)
    rep = prepare(shifted, "amg-cg").solve(rtol=1e-10).report
    assert rep.converged
    assert rep.iterations <= 10


def test_setup_is_reused_across_solves(monkeypatch):
    """The hierarchy is built once, by prepare, however many solves follow."""
    calls = []
    builder = AMG_KINDS["sa"]

    @functools.wraps(builder)  # its signature stays readable (the options are checked by it)
    def counting(*args, **kwargs):
        calls.append(1)
        return builder(*args, **kwargs)

    monkeypatch.setitem(AMG_KINDS, "sa", counting)
    problem = robin_mixed([64, 64])
    prepared = prepare(problem, "amg-cg")
    assert len(calls) == 1
    rng = np.random.default_rng(4)
    for _ in range(3):
        b = rng.standard_normal(problem.size)
        sol = prepared.solve(b, rtol=1e-8)
        assert sol.report.converged
        ref = spla.spsolve(problem.operator().tocsc(), b)
        np.testing.assert_allclose(sol.x, ref, rtol=0, atol=1e-6 * np.abs(ref).max())
    assert len(calls) == 1


def test_pyamg_version_has_the_used_api():
    # aspreconditioner(cycle=...) and MultilevelSolver(levels, coarse_solver=...) are used
    assert hasattr(pyamg.MultilevelSolver, "aspreconditioner")
