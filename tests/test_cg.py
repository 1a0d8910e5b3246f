"""Tests of kronpde.solvers.cg against scipy, spsolve and closed forms."""

from __future__ import annotations

import doctest
import re
import tracemalloc

import numpy as np
import pyamg
import pytest
import scipy.linalg as sla
import scipy.sparse as sp
import scipy.sparse.linalg as spla

import kronpde.solvers.cg as cg_module
from kronpde.solvers.cg import CGResult, as_operator, cg


def poisson(shape):
    """The 5/7-point -Laplacian (h = 1) as a float64 CSR array."""
    return sp.csr_array(pyamg.gallery.poisson(shape, format="csr"), dtype=float)


def variable_diagonal(rng, n=900):
    """2-D Poisson plus a strongly varying positive diagonal: Jacobi matters."""
    A = poisson((30, 30))
    return sp.csr_array(A + sp.diags_array(rng.uniform(0.0, 50.0, n) ** 2))


def periodic_1d(n):
    """Circulant [-1, 2, -1]: singular SPD with null vector ones."""
    A = sp.diags_array([-1.0, 2.0, -1.0], offsets=[-1, 0, 1], shape=(n, n)).tolil()
    A[0, n - 1] = A[n - 1, 0] = -1.0
    return sp.csr_array(A)


def neumann_1d_weighted(m, h):
    """W K for the nodal Neumann -d2/dx2 K (ghost reflection); W = trapezoid weights."""
    K = sp.diags_array([-1.0, 2.0, -1.0], offsets=[-1, 0, 1], shape=(m, m)).tolil()
    K[0, 1] = K[m - 1, m - 2] = -2.0
    w = np.full(m, h)
    w[[0, -1]] = h / 2
    return sp.csr_array(sp.diags_array(w) @ K.tocsr() / h**2), sp.diags_array(w)


def neumann_2d(mx, my, hx, hy):
    """Symmetrised pure-Neumann 2-D Laplacian on (my, mx) nodes, x fastest (C order)."""
    Kx, Wx = neumann_1d_weighted(mx, hx)
    Ky, Wy = neumann_1d_weighted(my, hy)
    return sp.csr_array(sp.kron(Wy, Kx) + sp.kron(Ky, Wx))


def scipy_iterations(A, b, **kwargs):
    count = [0]

    def callback(_xk):
        count[0] += 1

    x, info = spla.cg(A, b, callback=callback, **kwargs)
    return x, info, count[0]


# --------------------------------------------------------------------------- accuracy


@pytest.mark.parametrize("shape", [(40, 40), (12, 14, 16)], ids=["2d", "3d"])
def test_matches_spsolve(shape):
    rng = np.random.default_rng(1)
    A = poisson(shape)
    b = rng.standard_normal(A.shape[0])
    res = cg(A, b, rtol=1e-10)
    x_ref = spla.spsolve(A.tocsc(), b)
    assert isinstance(res, CGResult)
    assert res.converged
    assert res.status == "converged"
    assert np.linalg.norm(res.x - x_ref) / np.linalg.norm(x_ref) <= 1e-7
    true_rel = np.linalg.norm(b - A @ res.x) / np.linalg.norm(b)
    assert true_rel <= 1e-10
    assert res.relative_residual == pytest.approx(true_rel, rel=1e-8, abs=1e-18)
    # the last history entry is the true residual, not the recurrence one
    assert res.residual_norms[-1] == pytest.approx(np.linalg.norm(b - A @ res.x), rel=1e-8)
    assert len(res.residual_norms) == res.iterations + 1


@pytest.mark.parametrize("problem", ["poisson", "variable"])
@pytest.mark.parametrize("jacobi", [False, True], ids=["plain", "jacobi"])
def test_iterations_match_scipy(problem, jacobi):
    rng = np.random.default_rng(2)
    A = poisson((30, 30)) if problem == "poisson" else variable_diagonal(rng)
    b = rng.standard_normal(A.shape[0])
    M = sp.diags_array(1.0 / A.diagonal()).tocsr() if jacobi else None
    res = cg(A, b, rtol=1e-8, M=M)
    x_sp, info, its_sp = scipy_iterations(A, b, rtol=1e-8, atol=0.0, M=M)
    assert info == 0
    assert res.converged
    assert abs(res.iterations - its_sp) <= 2
    assert np.linalg.norm(res.x - x_sp) <= 1e-6 * np.linalg.norm(x_sp)


def test_jacobi_reduces_iterations_on_variable_diagonal():
    rng = np.random.default_rng(3)
    A = variable_diagonal(rng)
    b = rng.standard_normal(A.shape[0])
    plain = cg(A, b, rtol=1e-8)
    M = sp.diags_array(1.0 / A.diagonal())
    jac = cg(A, b, rtol=1e-8, M=M)
    _, _, its_sp_jac = scipy_iterations(A, b, rtol=1e-8, atol=0.0, M=M)
    assert jac.iterations < plain.iterations
    assert abs(jac.iterations - its_sp_jac) <= 2


def test_replace_every_one_gives_true_residual_history():
    rng = np.random.default_rng(4)
    A = poisson((15, 15))
    b = rng.standard_normal(A.shape[0])
    iterates = []
    res = cg(A, b, rtol=1e-9, replace_every=1, callback=lambda xk: iterates.append(xk.copy()))
    true_norms = [np.linalg.norm(b)] + [np.linalg.norm(b - A @ xk) for xk in iterates]
    np.testing.assert_allclose(res.residual_norms, true_norms, rtol=1e-9)


# --------------------------------------------------------------------------- operator kinds


def test_operator_kinds_give_same_iterates():
    rng = np.random.default_rng(5)
    A = poisson((12, 12))
    b = rng.standard_normal(A.shape[0])
    kinds = {
        "csr_array": A,
        "csr_matrix": sp.csr_matrix(A),
        "coo": A.tocoo(),
        "linear_operator": spla.aslinearoperator(A),
        "callable": lambda v: A @ v,
        "dense": A.toarray(),
    }
    runs = {}
    for name, op in kinds.items():
        its = []
        res = cg(op, b, rtol=0.0, maxiter=15, callback=lambda xk, its=its: its.append(xk.copy()))
        assert res.iterations == 15, name
        assert len(its) == 15, name
        runs[name] = np.array(its)
    # first iterate in closed form: x1 = (b.b / b.Ab) b
    x1 = (b @ b) / (b @ (A @ b)) * b
    for name, its in runs.items():
        np.testing.assert_allclose(its[0], x1, rtol=1e-13, atol=0, err_msg=name)
        np.testing.assert_allclose(its, runs["csr_array"], rtol=0, atol=1e-11, err_msg=name)


def test_as_operator_wrappers():
    rng = np.random.default_rng(6)
    A = poisson((7, 9))
    n = A.shape[0]
    v = rng.standard_normal(n)
    out = np.empty(n)
    for obj in (A, A.toarray()):
        op = as_operator(obj, n, "A")
        op.matvec_into(v, out)
        np.testing.assert_allclose(out, A @ v, rtol=1e-14, atol=1e-14)
        np.testing.assert_allclose(op.matvec(v), A @ v, rtol=1e-14, atol=1e-14)

    class WithInto:
        def __call__(self, x):
            return 3.0 * x

        def matvec_into(self, x, out):
            np.multiply(x, 3.0, out=out)

    op = as_operator(WithInto(), n, "M")
    op.matvec_into(v, out)
    np.testing.assert_array_equal(out, 3.0 * v)


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"A": np.eye(4)}, r"A has shape \(4, 4\).*\(5, 5\)"),
        ({"M": sp.eye_array(6)}, r"M has shape \(6, 6\).*\(5, 5\)"),
        ({"x0": np.zeros(4)}, r"x0 must be .*\(5,\).*\(4,\)"),
        ({"b": np.array([1.0, np.nan, 0, 0, 0])}, "b contains NaN"),
        ({"x0": np.full(5, np.inf)}, "x0 contains NaN or infinity"),
        ({"rtol": -1e-3}, "rtol must be"),
        ({"A": np.ones(5)}, "A must be 2-D"),
        ({"null_space": np.ones((5, 2))}, "linearly dependent"),
    ],
)
def test_argument_errors_raise(kwargs, pattern):
    args = {"A": 2.0 * np.eye(5), "b": np.ones(5)}
    args.update(kwargs)
    A = args.pop("A")
    b = args.pop("b")
    with pytest.raises(ValueError, match=pattern):
        cg(A, b, **args)


def test_unsupported_operator_type_raises():
    with pytest.raises(TypeError, match="A must be"):
        cg("not an operator", np.ones(3))


# --------------------------------------------------------------------------- reported failures


def test_indefinite_matrix_reports_breakdown():
    rng = np.random.default_rng(7)
    n = 30
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    A = Q @ np.diag(np.linspace(-2.0, 1.0, n)) @ Q.T
    A = (A + A.T) / 2
    b = rng.standard_normal(n)
    bAb = b @ A @ b
    assert bAb < 0  # so the first p = b already shows it
    res = cg(A, b)
    assert not res.converged
    assert res.status.startswith("breakdown")
    assert res.iterations == 0
    reported = float(re.search(r"p\^T A p = (\S+)", res.message).group(1))
    assert reported == pytest.approx(bAb, rel=1e-5)
    np.testing.assert_array_equal(res.x, np.zeros(n))
    assert res.relative_residual == pytest.approx(1.0, rel=1e-15)


@pytest.mark.parametrize("form", ["callable", "sparse"])
def test_non_spd_preconditioner_is_reported(form):
    rng = np.random.default_rng(8)
    A = poisson((10, 10))
    b = rng.standard_normal(A.shape[0])
    M = (lambda r: -r) if form == "callable" else -sp.eye_array(A.shape[0], format="csr")
    res = cg(A, b, M=M)
    assert not res.converged
    assert res.status == "preconditioner not SPD"
    assert res.iterations == 0
    reported = float(re.search(r"r\^T M r = (\S+)", res.message).group(1))
    assert reported == pytest.approx(-(b @ b), rel=1e-5)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_operator_is_reported(bad):
    rng = np.random.default_rng(9)
    A = poisson((10, 10))
    b = rng.standard_normal(A.shape[0])
    calls = [0]

    def op(v):
        calls[0] += 1
        y = A @ v
        if calls[0] >= 3:
            y[5] = bad
        return y

    res = cg(op, b)
    assert not res.converged
    assert res.status == "nan"
    assert res.iterations == 2
    assert ("NaN" if np.isnan(bad) else "infinity") in res.message
    assert np.isnan(res.relative_residual) or np.isinf(res.relative_residual)


def test_invalid_operation_in_operator_is_reported_not_raised():
    rng = np.random.default_rng(20)
    A = poisson((10, 10))
    b = rng.standard_normal(A.shape[0])
    with np.errstate(invalid="raise"):
        # zeros times infinity inside the operator: invalid, and NaN in A p
        res = cg(lambda v: (A @ v) * np.where(np.arange(v.size) == 3, np.inf, 1.0) * 0.0, b)
    assert not res.converged
    assert res.status == "nan"
    assert res.iterations == 0


# --------------------------------------------------------------------------- singular systems


def neumann_problem():
    return neumann_2d(9, 13, 1.0 / 8, 1.5 / 12)


@pytest.mark.parametrize("system", ["periodic_1d", "neumann_2d"])
def test_singular_compatible(system):
    rng = np.random.default_rng(10)
    S = periodic_1d(64) if system == "periodic_1d" else neumann_problem()
    n = S.shape[0]
    ones = np.ones(n)
    assert abs(S - S.T).max() == 0.0
    assert np.abs(S @ ones).max() <= 1e-10
    u = rng.standard_normal(n)
    b = S @ u
    res = cg(S, b, rtol=1e-11, null_space=ones)
    assert res.converged
    assert res.projected_norm <= 1e-12 * np.linalg.norm(b)
    assert abs(res.x.mean()) <= 1e-13 * np.linalg.norm(res.x)
    x_ref = u - u.mean()  # the solution orthogonal to the constants
    assert np.linalg.norm(res.x - x_ref) <= 1e-7 * np.linalg.norm(x_ref)
    assert np.linalg.norm(S @ res.x - b) <= 1e-10 * np.linalg.norm(b)


@pytest.mark.parametrize("system", ["periodic_1d", "neumann_2d"])
def test_singular_incompatible_projects_b(system):
    rng = np.random.default_rng(11)
    S = periodic_1d(64) if system == "periodic_1d" else neumann_problem()
    n = S.shape[0]
    b = rng.standard_normal(n) + 0.7
    res = cg(S, b, rtol=1e-10, null_space=np.ones(n))
    assert res.converged
    assert res.projected_norm == pytest.approx(abs(b.mean()) * np.sqrt(n), rel=1e-12)
    assert "null-space component" in res.message
    b_proj = b - b.mean()
    assert abs(res.x.mean()) <= 1e-13 * np.linalg.norm(res.x)
    assert np.linalg.norm(S @ res.x - b_proj) <= 1e-9 * np.linalg.norm(b_proj)
    assert res.relative_residual == pytest.approx(
        np.linalg.norm(b_proj - S @ res.x) / np.linalg.norm(b_proj), rel=1e-6
    )


def test_singular_two_dimensional_null_space():
    rng = np.random.default_rng(12)
    n1, n2 = 20, 31
    S = sp.csr_array(sp.block_diag([periodic_1d(n1), periodic_1d(n2)]))
    N = np.zeros((n1 + n2, 2))
    N[:n1, 0] = 2.0  # any basis of the null space will do
    N[:, 1] = 1.0
    b = rng.standard_normal(n1 + n2)
    res = cg(S, b, rtol=1e-10, null_space=N)
    assert res.converged
    m1, m2 = b[:n1].mean(), b[n1:].mean()
    expected = np.hypot(m1 * np.sqrt(n1), m2 * np.sqrt(n2))
    assert res.projected_norm == pytest.approx(expected, rel=1e-12)
    assert abs(res.x[:n1].sum()) <= 1e-12 * np.linalg.norm(res.x)
    assert abs(res.x[n1:].sum()) <= 1e-12 * np.linalg.norm(res.x)
    b_proj = np.concatenate([b[:n1] - m1, b[n1:] - m2])
    assert np.linalg.norm(S @ res.x - b_proj) <= 1e-9 * np.linalg.norm(b_proj)


# --------------------------------------------------------------------------- bookkeeping


def test_maxiter_reported():
    rng = np.random.default_rng(13)
    A = poisson((20, 20))
    b = rng.standard_normal(A.shape[0])
    calls = [0]
    res = cg(A, b, maxiter=7, callback=lambda xk: calls.__setitem__(0, calls[0] + 1))
    assert not res.converged
    assert res.status == "maxiter"
    assert res.iterations == 7
    assert calls[0] == 7
    assert len(res.residual_norms) == 8
    expected = np.linalg.norm(b - A @ res.x) / np.linalg.norm(b)
    assert res.relative_residual == pytest.approx(expected, rel=1e-12)


def test_initial_residual_and_final_relative_residual():
    rng = np.random.default_rng(14)
    A = poisson((16, 16))
    b = rng.standard_normal(A.shape[0])
    x0 = rng.standard_normal(A.shape[0])
    x0_copy = x0.copy()
    res = cg(A, b, x0=x0, rtol=1e-9)
    assert res.residual_norms[0] == pytest.approx(np.linalg.norm(b - A @ x0_copy), rel=1e-13)
    expected = np.linalg.norm(b - A @ res.x) / np.linalg.norm(b)
    assert res.relative_residual == pytest.approx(expected, rel=1e-8)
    np.testing.assert_array_equal(x0, x0_copy)  # x0 is not modified


def test_x0_exact_solution_needs_no_iteration():
    rng = np.random.default_rng(15)
    A = poisson((16, 16))
    b = rng.standard_normal(A.shape[0])
    x_exact = spla.spsolve(A.tocsc(), b)
    res = cg(A, b, x0=x_exact, rtol=1e-8)
    assert res.converged
    assert res.iterations == 0
    np.testing.assert_array_equal(res.x, x_exact)
    assert res.residual_norms[0] == pytest.approx(np.linalg.norm(b - A @ x_exact), rel=1e-12)


def test_zero_rhs():
    rng = np.random.default_rng(16)
    A = poisson((8, 8))
    res = cg(A, np.zeros(A.shape[0]), x0=rng.standard_normal(A.shape[0]))
    assert res.converged
    assert res.iterations == 0
    assert res.relative_residual == 0.0
    np.testing.assert_array_equal(res.x, np.zeros(A.shape[0]))


def test_callback_count_and_read_only_iterate():
    rng = np.random.default_rng(17)
    A = poisson((20, 20))
    b = rng.standard_normal(A.shape[0])
    seen = []

    def callback(xk):
        assert not xk.flags.writeable
        seen.append(np.linalg.norm(b - A @ xk))

    res = cg(A, b, rtol=1e-8, callback=callback)
    assert len(seen) == res.iterations
    assert seen[-1] == pytest.approx(res.residual_norms[-1], rel=1e-10)


class ShiftedLaplacian1D(spla.LinearOperator):
    """2.5 u_i - u_{i-1} - u_{i+1}, with an allocation-free matvec_into."""

    def __init__(self, n):
        super().__init__(dtype=np.float64, shape=(n, n))

    def _matvec(self, x):
        out = np.empty(self.shape[0])
        self.matvec_into(x.ravel(), out)
        return out

    def matvec_into(self, x, out):
        np.multiply(x, 2.5, out=out)
        np.subtract(out[1:], x[:-1], out=out[1:])
        np.subtract(out[:-1], x[1:], out=out[:-1])


@pytest.mark.parametrize("form", ["matvec_into", "csr"])
def test_no_allocation_in_the_loop(form):
    """Peak extra memory of 200 iterations at n = 200_000 stays below 12 vectors.

    Measured: 4 vectors (x, r, p, Ap; z is r without a preconditioner), i.e. 6.4 MB,
    the same for 20 or 200 iterations.
    """
    n = 200_000
    rng = np.random.default_rng(18)
    b = rng.standard_normal(n)
    A = ShiftedLaplacian1D(n)
    if form == "csr":
        A = sp.diags_array([-1.0, 2.5, -1.0], offsets=[-1, 0, 1], shape=(n, n), format="csr")
    cg(A, b, maxiter=2)  # warm-up: imports, BLAS handles
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        res = cg(A, b, rtol=0.0, maxiter=200)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert res.iterations == 200
    vector = 8 * n
    assert peak <= 5 * vector  # the figure documented above, with a vector to spare


def test_docstring_examples_run():
    result = doctest.testmod(cg_module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 10
    assert result.failed == 0


def test_dense_spd_with_known_condition_number():
    """A dense SPD matrix with a known spectrum: error bound from the condition number."""
    rng = np.random.default_rng(19)
    n = 40
    Q = sla.qr(rng.standard_normal((n, n)))[0]
    A = Q @ np.diag(np.geomspace(1.0, 1e3, n)) @ Q.T
    A = (A + A.T) / 2
    x_true = rng.standard_normal(n)
    b = A @ x_true
    res = cg(A, b, rtol=1e-12)
    assert res.converged
    assert np.linalg.norm(res.x - x_true) <= 1e3 * 1e-12 * np.linalg.norm(x_true) * 10


# --------------------------------------------------------------------------- compiled kernels


@pytest.fixture
def compiled_everywhere(monkeypatch):
    """Lower the kernels' size threshold to 1: operators built now, and cg, run compiled."""
    import kronpde.operators.kernels._dispatch as dispatch

    monkeypatch.setattr(dispatch, "MIN_COMPILED_SIZE", 1)


def _package_cases():
    from kronpde import Grid, Neumann, Problem, Robin

    robin = Grid.box([18, 13], boundary={"xmin": Robin(2.0, 1.0), "ymax": Neumann(0.3)})
    return {
        "cg-dirichlet-3d": (Problem(Grid.box([9, 8, 7]), source=1.0), "cg"),
        "cg-jacobi-robin": (Problem(robin, source="x + y", shift=0.5), "cg"),
        "cg-singular": (Problem(Grid.box([14, 11], boundary=Neumann()), source="x - 0.3"), "cg"),
        "fastdiag-cg-variable": (Problem(Grid.box([15, 12]), 1.0, 0.0, "1 + x*y*4"), "fastdiag-cg"),
        "amg-cg": (Problem(robin, source=1.0), "amg-cg"),
    }


@pytest.mark.parametrize("case", list(_package_cases()))
def test_the_methods_take_the_same_iterations_compiled(case, request):
    """The fused kernels change rounding only: same counts, iterates equal to rounding."""
    from kronpde import prepare

    problem, method = _package_cases()[case]
    b = np.random.default_rng(30).standard_normal(problem.size)
    numpy_run = prepare(problem, method)
    assert not numpy_run.solver.A_hat.compiled
    want = numpy_run.solve(b, rtol=1e-10)
    request.getfixturevalue("compiled_everywhere")
    problem = _package_cases()[case][0]  # built again: its operators are compiled now
    compiled_run = prepare(problem, method)
    assert compiled_run.solver.A_hat.compiled
    got = compiled_run.solve(b, rtol=1e-10)
    assert got.report.converged
    assert got.report.iterations == want.report.iterations
    history = want.report.residual_norms  # equal to the rounding of the first residual
    np.testing.assert_allclose(got.report.residual_norms, history, rtol=0, atol=1e-12 * history[0])
    scale = np.abs(want.x).max()
    np.testing.assert_allclose(got.x, want.x, rtol=0, atol=1e-9 * scale)
    # and against the assembled system solved directly
    a = sp.csc_array(problem.operator())
    bp, _ = problem.project_rhs(b)
    if problem.singular:
        w = problem.weights().reshape(-1)
        bordered = sp.bmat([[a, w[:, None]], [w[None, :], None]], format="csc")
        exact = spla.spsolve(bordered, np.concatenate([bp, [0.0]]))[: problem.size]
    else:
        exact = spla.spsolve(a, bp)
    np.testing.assert_allclose(got.x, exact, rtol=0, atol=1e-7 * np.abs(exact).max())


def test_cg_on_csr_uses_the_compiled_vector_work(compiled_everywhere, rng):
    """An operator without apply_dot: matvec_into, then the compiled dot and updates."""
    A = variable_diagonal(rng)
    b = rng.standard_normal(A.shape[0])
    calls = []
    res = cg(A, b, rtol=1e-10, M=sp.diags_array(1.0 / A.diagonal()), callback=calls.append)
    x_ref, info, count = scipy_iterations(
        A, b, rtol=1e-10, atol=0.0, M=sp.diags_array(1.0 / A.diagonal())
    )
    assert res.converged
    assert info == 0
    assert abs(res.iterations - count) <= 1
    assert len(calls) == res.iterations
    np.testing.assert_allclose(res.x, x_ref, rtol=0, atol=1e-8 * np.abs(x_ref).max())
