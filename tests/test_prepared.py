"""The prepared solve of a time-stepping loop: ``out=``, ``check=False`` and ``set_shift``.

Anchors: ``scipy.sparse.linalg.spsolve`` of the assembled operator of the
same problem (built afresh, never through the prepared solver), and a fresh
``prepare`` of the shifted problem for ``set_shift``.
"""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as sla

from kronpde import Dirichlet, Grid, Neumann, Problem, Robin, prepare
from kronpde.errors import DataError, OptionError

METHODS = ["fastdiag", "direct", "cg", "amg-cg", "fastdiag-cg"]
EXACT = ["fastdiag", "direct"]


def mixed(cells=(20, 14)) -> Problem:
    """Dirichlet, Neumann and Robin faces, a source with some structure, a shift."""
    grid = Grid.box(
        list(cells),
        boundary={"xmax": Neumann(0.5), "ymin": Robin(2.0, 1.0, 0.3), "ymax": Dirichlet(1.0)},
    )
    return Problem(grid, source="exp(x) * (1 + y)", shift=0.7)


def neumann(cells=(16, 12), shift=0.0) -> Problem:
    """Pure Neumann: singular at ``c = 0``."""
    grid = Grid.box(list(cells), boundary=Neumann())
    return Problem(grid, source="cos(pi*x) * cos(pi*y) + 0.25", shift=shift)


def reference(problem: Problem, b: np.ndarray) -> np.ndarray:
    """``A u = b`` by spsolve; a singular problem: the projected ``b``, zero weighted mean."""
    a = sp.csc_array(problem.operator())
    w = problem.weights().reshape(-1)
    if not problem.singular:
        return sla.spsolve(a, b)
    n = problem.size
    bordered = sp.bmat([[a, w[:, None]], [w[None, :], None]], format="csc")
    rhs = np.concatenate([b - (w @ b) / w.sum(), [0.0]])
    return sla.spsolve(bordered, rhs)[:n]


def close(u, ref, rtol):
    scale = np.abs(ref).max()
    np.testing.assert_allclose(u, ref, rtol=0, atol=rtol * scale)


# -- out= ----------------------------------------------------------------------------------
@pytest.mark.parametrize("method", METHODS)
def test_out_receives_the_unknowns_and_no_field_is_built(method, rng):
    p = mixed()
    s = prepare(p, method)
    b = rng.standard_normal(p.size)
    ref = reference(p, b)
    full = s.solve(b, rtol=1e-11)
    for out in (np.full(p.grid.shape, np.nan), np.full(p.size, np.nan)):
        sol = s.solve(b, out=out, rtol=1e-11)
        assert sol.u is None
        assert np.shares_memory(sol.x, out)
        assert sol.x.shape == (p.size,)
        close(out.reshape(-1), ref, 1e-9)
        np.testing.assert_array_equal(out.reshape(-1), full.x)  # the same arithmetic
    # out may be b itself: b is read before u is written
    inplace = b.copy()
    s.solve(inplace, out=inplace, rtol=1e-11)
    np.testing.assert_array_equal(inplace, full.x)


def test_out_is_checked():
    p = mixed((8, 6))
    s = prepare(p, "fastdiag")
    b = p.rhs()
    for bad in (
        np.empty(p.size + 1),
        np.empty(p.size, dtype=np.float32),
        np.empty((p.size, 2))[:, 0],
    ):
        with pytest.raises(OptionError, match="out must be"):
            s.solve(b, out=bad)
    frozen = np.empty(p.size)
    frozen.flags.writeable = False
    with pytest.raises(OptionError, match="writable"):
        s.solve(b, out=frozen)
    with pytest.raises(OptionError, match="check must be True or False"):
        s.solve(b, check="no")


# -- check=False ---------------------------------------------------------------------------
@pytest.mark.parametrize("method", EXACT)
@pytest.mark.parametrize("build", [mixed, neumann], ids=["mixed", "singular"])
def test_unchecked_exact_solve_skips_residual_and_bound(method, build, rng):
    p = build()
    s = prepare(p, method)
    b = rng.standard_normal(p.size) + 0.5  # a singular problem's b is incompatible
    checked = s.solve(b)
    sol = s.solve(b, check=False)
    r = sol.report
    assert math.isnan(r.relative_residual)
    assert r.algebraic_error_bound is None
    assert r.checked is False
    assert "not computed (check=False)" in r.message
    assert r.warnings == ()
    assert r.converged
    assert checked.report.checked is True
    assert checked.report.algebraic_error_bound is not None
    close(sol.x, reference(p, b), 1e-10)
    close(sol.x, checked.x, 1e-12)
    assert checked.report.projected_norm > 1e-3 or not p.singular
    if p.singular and method == "fastdiag":  # its own dropping of the zero mode, unmeasured
        assert math.isnan(r.projected_norm)
        assert "not measured (check=False)" in r.message
    else:  # the driver's projection, measured as in a checked solve
        assert r.projected_norm == pytest.approx(checked.report.projected_norm, rel=1e-10)


@pytest.mark.parametrize("method", ["cg", "amg-cg", "fastdiag-cg"])
def test_unchecked_iterative_solve_keeps_its_stopping_rule(method, rng):
    p = mixed()
    s = prepare(p, method)
    b = rng.standard_normal(p.size)
    checked = s.solve(b, rtol=1e-9)
    sol = s.solve(b, rtol=1e-9, check=False)
    r = sol.report
    assert r.converged
    assert r.iterations == checked.report.iterations
    assert r.algebraic_error_bound is None
    assert r.checked is False
    assert "not computed (check=False)" in r.message
    true = np.linalg.norm(b - p.operator() @ sol.x) / np.linalg.norm(b)
    assert true <= 1e-9
    assert r.relative_residual == pytest.approx(true, rel=1e-6)
    np.testing.assert_array_equal(sol.x, checked.x)


def test_unchecked_auto_still_certifies(rng):
    p = mixed((24, 16))
    s = prepare(p, "cg")
    r = s.solve(rtol="auto", check=False).report
    assert r.algebraic_error_bound is not None  # the stopping rule of auto is the bound
    assert r.algebraic_error_bound <= 0.1 * r.discretisation_error


# -- set_shift -----------------------------------------------------------------------------
def _compare(s, fresh_problem, method, b, rtol):
    fresh = prepare(fresh_problem, method)
    got = s.solve(b, rtol=1e-12)
    want = fresh.solve(b, rtol=1e-12)
    close(got.x, want.x, rtol)
    close(got.x, reference(fresh_problem, b), 1e-9)
    assert s.problem.shift == fresh_problem.shift
    assert s.problem.singular == fresh_problem.singular
    lam, lam_fresh = s.problem.smallest_eigenvalue(), fresh_problem.smallest_eigenvalue()
    assert (lam is None) == (lam_fresh is None)
    if lam is not None:
        assert lam.value == pytest.approx(lam_fresh.value, rel=1e-12)
        assert got.report.algebraic_error_bound == pytest.approx(
            want.report.algebraic_error_bound, rel=0.1, abs=1e-13
        )
    return got


@pytest.mark.parametrize(
    ("method", "in_place"),
    [("fastdiag", True), ("fastdiag-cg", True), ("cg", True), ("direct", False), ("amg-cg", False)],
)
def test_set_shift_equals_a_fresh_prepare(method, in_place, rng):
    p = mixed()
    s = prepare(p, method)
    backend = s.backend
    b = rng.standard_normal(p.size)
    for shift in (3.0, 0.0, 40.0):
        assert s.set_shift(shift) is in_place
        assert s.prepared_again is (not in_place)
        assert (s.backend is backend) is in_place or method == "cg"
        _compare(s, Problem(p.grid, p.source, shift), method, b, 1e-9)


@pytest.mark.parametrize("method", ["fastdiag", "fastdiag-cg", "direct", "cg"])
def test_set_shift_across_singular_and_back(method, rng):
    p = neumann()
    s = prepare(p, method)
    b = rng.standard_normal(p.size) + 0.5
    assert s.problem.singular
    for shift in (2.0, 0.0):
        s.set_shift(shift)
        sol = _compare(s, neumann(shift=shift), method, b, 1e-8)
        assert s.problem.singular is (shift == 0.0)
        if shift == 0.0:  # projected again, zero weighted mean again
            assert sol.report.projected_norm > 1e-3
            assert abs(s.problem.weighted_mean(sol.x)) <= 1e-10 * np.abs(sol.x).max()
        else:
            assert sol.report.projected_norm == 0.0


def test_set_shift_variable_coefficient_fastdiag_cg(rng):
    grid = Grid.box([18, 14], boundary={"xmax": Neumann()})
    p = Problem(grid, source=1.0, coefficient="1 + x*y + 0.5*sin(3*x)")
    s = prepare(p, "fastdiag-cg")
    pc_solver = s.backend.solver
    b = rng.standard_normal(p.size)
    for shift in (5.0, 0.0):
        assert s.set_shift(shift)
        assert s.backend.solver is pc_solver  # the fast solve's eigenpairs are kept
        assert pc_solver.shift == shift
        fresh = Problem(grid, p.source, shift, p.coefficient)
        _compare(s, fresh, "fastdiag-cg", b, 1e-9)
        np.testing.assert_allclose(  # the shared flux-form data, diagonal shifted
            s.problem.diagonal(), fresh.diagonal(), rtol=1e-14
        )


@pytest.mark.parametrize("method", ["fastdiag", "fastdiag-cg"])
def test_set_shift_order_four(method, rng):
    """At order 4 the eigenvalue combination depends on c (``1 - c a_i`` weighs each λ_i)."""
    faces = {"xmax": Neumann(0.2), "ymin": Neumann()}
    if method == "fastdiag-cg":
        faces["ymax"] = Robin(1.5, 1.0)  # not separable: fastdiag-cg's preconditioned case
    grid = Grid.box([16, 12], boundary=faces)
    p = Problem(grid, source="sin(2*x) + y", order=4)
    s = prepare(p, method)
    b = rng.standard_normal(p.size)
    for shift in (6.0, 0.5):
        assert s.set_shift(shift)
        fresh = Problem(grid, p.source, shift, order=4)
        close(s.solve(b, rtol=1e-12).x, reference(fresh, b), 1e-9)
        close(s.solve(b, rtol=1e-12).x, prepare(fresh, method).solve(b, rtol=1e-12).x, 1e-9)
        own = prepare(fresh, method).solve(rtol=1e-12).x  # its own rhs: at order 4 it has c
        close(s.solve(rtol=1e-12).x, own, 1e-9)


def test_set_shift_refreshes_the_auto_estimate():
    p = mixed((24, 16))
    s = prepare(p, "cg")
    first = s.solve(rtol="auto").report.discretisation_error
    s.set_shift(25.0)
    got = s.solve(rtol="auto").report
    want = prepare(Problem(p.grid, p.source, 25.0), "cg").solve(rtol="auto").report
    assert got.discretisation_error == pytest.approx(want.discretisation_error, rel=1e-6)
    assert got.discretisation_error != pytest.approx(first, rel=1e-3)


def test_bad_shift_changes_nothing():
    p = mixed((8, 6))
    s = prepare(p, "fastdiag")
    before = s.solve().x
    for bad in (math.nan, math.inf, "2"):  # any finite c is a shift, c < 0 too
        with pytest.raises(DataError, match="shift"):
            s.set_shift(bad)
    assert s.problem is p
    np.testing.assert_array_equal(s.solve().x, before)


def test_with_shift_shares_the_evaluated_data():
    p = mixed((10, 8))
    q = p.with_shift(2.5)
    assert q.shift == 2.5
    assert p.shift == 0.7
    assert q.rhs_values is p.rhs_values
    assert q.axis_operators is p.axis_operators
    fresh = Problem(p.grid, p.source, 2.5)
    assert abs(q.operator() - fresh.operator()).max() <= 1e-13 * abs(fresh.operator()).max()
    np.testing.assert_array_equal(q.rhs(), fresh.rhs())
    v = Problem(p.grid, 1.0, 0.0, "1 + x")
    w = v.with_shift(3.0)
    assert w.data.k_nodes is v.data.k_nodes
    assert w.discretisation.diffusion.edges is v.discretisation.diffusion.edges
    fresh_v = Problem(p.grid, 1.0, 3.0, "1 + x").operator()
    assert abs(w.operator() - fresh_v).max() <= 1e-13 * abs(fresh_v).max()


# -- numba stays out of small solves ----------------------------------------------------------
def test_small_prepared_solves_never_import_numba():
    code = (
        "import sys, numpy as np\n"
        "from kronpde import Grid, Problem, prepare, Robin\n"
        "g = Grid.box([40, 30], boundary={'xmin': Robin(1.0, 1.0)})\n"
        "for k in (1.0, '1 + x*y'):\n"
        "    p = Problem(g, source=1.0, coefficient=k, shift=1.0)\n"
        "    for m in (['cg', 'fastdiag-cg', 'direct'] + (['fastdiag'] if k == 1.0 else [])):\n"
        "        s = prepare(p, m)\n"
        "        s.solve(rtol=1e-10)\n"
        "        s.set_shift(2.0)\n"
        "        s.solve(out=np.empty(p.size), check=False)\n"
        "assert 'numba' not in sys.modules, 'numba was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
