"""Tests of kronpde.toolkit against dense formulas (np.kron, scipy.linalg, explicit loops)."""

from __future__ import annotations

import doctest
import math
import warnings

import numpy as np
import pytest
import scipy.linalg
import scipy.ndimage
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from kronpde import toolkit
from kronpde.errors import KronpdeError, SolverError
from kronpde.toolkit import (
    BlockDiagonalSolver,
    IllConditionedWarning,
    KronProduct,
    KronSum,
    block_diag_matvec,
    block_diag_solve,
    blocks,
    filtering,
    kron_lstsq,
    kron_matvec,
    lstsq,
    matmul_axis,
    products,
    separable_filter,
    solve_sylvester,
    stacking,
    sylvester,
    unvec,
    vec,
)

RTOL = 1e-12
ATOL = 1e-12
HYP = settings(max_examples=50, deadline=None)

dims = st.integers(min_value=1, max_value=4)
seeds = st.integers(min_value=0, max_value=2**32 - 1)


@pytest.fixture(autouse=True)
def _raise_on_fp_errors():
    # Not underflow: BLAS may legitimately set that flag.
    with np.errstate(divide="raise", over="raise", invalid="raise"):
        yield


def dense_kron(mats):
    """Independent reference: the dense Kronecker product by np.kron."""
    out = np.ones((1, 1))
    for m in mats:
        out = np.kron(out, m.toarray() if sp.issparse(m) else m)
    return out


def dense_kron_sum(mats, shift=0.0):
    ns = [m.shape[0] for m in mats]
    total = shift * np.eye(math.prod(ns))
    for k, m in enumerate(mats):
        eyes = [np.eye(n) for n in ns]
        eyes[k] = m
        total = total + dense_kron(eyes)
    return total


def conv_matrix_1d(h, n):
    """The chapter's conv_matrix_1d, verbatim (zero padding, no flip)."""
    C = np.zeros((n, n))
    pad = len(h) // 2
    for i in range(n):
        for ki, hv in enumerate(h):
            j = i + ki - pad
            if 0 <= j < n:
                C[i, j] = hv
    return C


def test_docstring_examples_run():
    # the toolkit's examples live in its modules, one a job
    attempted = 0
    for module in (toolkit, stacking, products, blocks, sylvester, lstsq, filtering):
        result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0, module.__name__
        attempted += result.attempted
    assert attempted > 10


# --------------------------------------------------------------------------- vec / unvec


def test_vec_is_chapter_definition():
    X = np.arange(12.0).reshape(3, 4)
    np.testing.assert_array_equal(vec(X), X.T.flatten())
    np.testing.assert_array_equal(unvec(vec(X), (3, 4)), X)


def test_chapter_vec_identity_vec_AXB():
    rng = np.random.default_rng(0)
    A, X, B = rng.standard_normal((3, 4)), rng.standard_normal((4, 5)), rng.standard_normal((5, 2))
    np.testing.assert_allclose(vec(A @ X @ B), np.kron(B.T, A) @ vec(X), rtol=RTOL, atol=ATOL)


def test_unvec_rejects_wrong_length():
    with pytest.raises(ValueError, match="cannot be unvec"):
        unvec(np.zeros(5), (2, 3))


# --------------------------------------------------------------------------- matmul_axis


def reference_matmul_axis(A, X, axis):
    return np.moveaxis(np.tensordot(A, X, axes=(1, axis)), 0, axis)


@pytest.mark.parametrize("shape", [(5,), (4, 6), (3, 4, 5), (2, 3, 4, 5)])
@pytest.mark.parametrize("rows", [None, 2, 7])
def test_matmul_axis_matches_tensordot(shape, rows):
    rng = np.random.default_rng(1)
    X = rng.standard_normal(shape)
    for axis in range(-len(shape), len(shape)):
        n = shape[axis]
        A = rng.standard_normal((rows or n, n))
        expected = reference_matmul_axis(A, X, axis)
        Y = matmul_axis(A, X, axis)
        assert Y.flags.c_contiguous
        np.testing.assert_allclose(Y, expected, rtol=RTOL, atol=ATOL)
        out = np.full(expected.shape, np.nan)
        assert matmul_axis(A, X, axis, out=out) is out
        np.testing.assert_allclose(out, expected, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_matmul_axis_sparse_matches_dense(axis):
    rng = np.random.default_rng(2)
    X = rng.standard_normal((3, 4, 5))
    n = X.shape[axis]
    A = sp.random_array((6, n), density=0.5, rng=rng, format="csr")
    expected = reference_matmul_axis(A.toarray(), X, axis)
    np.testing.assert_allclose(matmul_axis(A, X, axis), expected, rtol=RTOL, atol=ATOL)
    out = np.empty(expected.shape)
    matmul_axis(A, X, axis, out=out)
    np.testing.assert_allclose(out, expected, rtol=RTOL, atol=ATOL)


def test_matmul_axis_complex_and_noncontiguous():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((6, 5, 4)).transpose(2, 0, 1)  # not C-contiguous
    A = rng.standard_normal((6, 6)) + 1j * rng.standard_normal((6, 6))
    Y = matmul_axis(A, X, 1)
    assert Y.dtype == np.complex128
    np.testing.assert_allclose(Y, reference_matmul_axis(A, X, 1), rtol=RTOL, atol=ATOL)


def test_matmul_axis_rejects_bad_input():
    X = np.zeros((3, 4, 5))
    with pytest.raises(ValueError, match="4 entries along axis 1"):
        matmul_axis(np.eye(3), X, 1)
    with pytest.raises(ValueError, match="out of range"):
        matmul_axis(np.eye(3), X, 3)
    with pytest.raises(ValueError, match="must not overlap"):
        matmul_axis(np.eye(3), X, 0, out=X)
    with pytest.raises(ValueError, match="shape"):
        matmul_axis(np.eye(3), X, 0, out=np.zeros((3, 4, 4)))
    with pytest.raises(ValueError, match="dtype"):
        matmul_axis(np.eye(3) * 1j, X, 0, out=np.zeros((3, 4, 5)))
    with pytest.raises(ValueError, match="C-contiguous"):
        matmul_axis(np.eye(3), X, 0, out=np.zeros((5, 4, 3)).T)


# --------------------------------------------------------------------------- kron_matvec


@pytest.mark.parametrize("nfactors", [1, 2, 3, 4])
def test_kron_matvec_rectangular_matches_np_kron(nfactors):
    rng = np.random.default_rng(10 + nfactors)
    shapes = [(2, 3), (4, 2), (3, 3), (1, 2)][:nfactors]
    mats = [rng.standard_normal(s) for s in shapes]
    K = dense_kron(mats)
    x = rng.standard_normal(K.shape[1])
    np.testing.assert_allclose(kron_matvec(mats, x), K @ x, rtol=RTOL, atol=ATOL)
    X = rng.standard_normal((K.shape[1], 3))
    np.testing.assert_allclose(kron_matvec(mats, X), K @ X, rtol=RTOL, atol=ATOL)


def test_kron_matvec_first_factor_is_slowest_axis():
    # Non-cubic: a factor order mix-up cannot go unnoticed.
    rng = np.random.default_rng(12)
    A, B = rng.standard_normal((3, 3)), rng.standard_normal((5, 5))
    X = rng.standard_normal((3, 5))
    expected = (A @ X @ B.T).ravel()
    np.testing.assert_allclose(kron_matvec([A, B], X.ravel()), expected, rtol=RTOL, atol=ATOL)


def test_kron_matvec_sparse_factors():
    rng = np.random.default_rng(13)
    mats = [sp.random_array((n, n), density=0.6, rng=rng, format="csr") for n in (3, 4, 2)]
    x = rng.standard_normal(24)
    expected = dense_kron(mats) @ x
    np.testing.assert_allclose(kron_matvec(mats, x), expected, rtol=RTOL, atol=ATOL)


def test_kron_matvec_rejects_single_matrix_and_bad_length():
    with pytest.raises(TypeError, match="sequence of matrices"):
        kron_matvec(np.eye(2), np.zeros(2))
    with pytest.raises(ValueError, match="shape"):
        kron_matvec([np.eye(2), np.eye(3)], np.zeros(5))


# --------------------------------------------------------------------------- KronProduct


def test_kron_product_operator_matches_dense():
    rng = np.random.default_rng(20)
    mats = [rng.standard_normal((2, 3)), rng.standard_normal((4, 2)), rng.standard_normal((3, 3))]
    K = dense_kron(mats)
    op = KronProduct(mats)
    assert op.shape == K.shape
    x = rng.standard_normal(K.shape[1])
    y = rng.standard_normal(K.shape[0])
    np.testing.assert_allclose(op @ x, K @ x, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(op.matmat(np.eye(K.shape[1])), K, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(op.rmatvec(y), K.T @ y, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(op.T @ y, K.T @ y, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(op.to_sparse().toarray(), K, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("seed", range(5))
def test_kron_product_adjoint_dot_test(seed):
    rng = np.random.default_rng(seed)
    mats = [rng.standard_normal((m, n)) for m, n in [(3, 2), (2, 4), (5, 3)]]
    mats[1] = mats[1] + 1j * rng.standard_normal(mats[1].shape)
    op = KronProduct(mats)
    x = rng.standard_normal(op.shape[1]) + 1j * rng.standard_normal(op.shape[1])
    y = rng.standard_normal(op.shape[0]) + 1j * rng.standard_normal(op.shape[0])
    lhs = np.vdot(y, op @ x)
    rhs = np.vdot(op.H @ y, x)
    assert abs(lhs - rhs) <= 1e-12 * abs(lhs)
    np.testing.assert_allclose(op.rmatvec(y), dense_kron(mats).conj().T @ y, rtol=RTOL, atol=ATOL)


# --------------------------------------------------------------------------- KronSum


def test_kron_sum_matches_dense_on_noncubic_grid():
    rng = np.random.default_rng(30)
    mats = [rng.standard_normal((n, n)) for n in (2, 3, 4)]
    L = dense_kron_sum(mats, shift=0.7)
    op = KronSum(mats, shift=0.7)
    x = rng.standard_normal(24)
    np.testing.assert_allclose(op @ x, L @ x, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(op.matmat(np.eye(24)), L, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(op.rmatvec(x), L.T @ x, rtol=RTOL, atol=ATOL)
    S = op.to_sparse()
    assert isinstance(S, sp.csr_array)
    np.testing.assert_allclose(S.toarray(), L, rtol=RTOL, atol=ATOL)


def test_kron_sum_is_scipy_kronsum_reversed():
    # scipy.sparse.kronsum(A, B) = kron(I, A) + kron(B, I): its first argument is the fast axis.
    rng = np.random.default_rng(31)
    A, B = rng.standard_normal((3, 3)), rng.standard_normal((5, 5))
    expected = sp.kronsum(B, A).toarray()
    np.testing.assert_allclose(KronSum([A, B]).to_sparse().toarray(), expected, rtol=RTOL)


def test_kron_sum_sparse_laplacian_eigenvalues_closed_form():
    # 1-D Dirichlet second difference: eigenvalues 2 - 2 cos(k pi / (n + 1)).
    ns = (3, 5)
    Ts = [sp.diags_array([-1.0, 2.0, -1.0], offsets=[-1, 0, 1], shape=(n, n)) for n in ns]
    lam = [2 - 2 * np.cos(np.arange(1, n + 1) * np.pi / (n + 1)) for n in ns]
    E = KronSum(Ts).eigenvalues()
    assert E.shape == ns
    np.testing.assert_allclose(E, lam[0][:, None] + lam[1][None, :], rtol=1e-12, atol=1e-13)


def test_kron_sum_eigenvalues_nonsymmetric():
    rng = np.random.default_rng(32)
    mats = [rng.standard_normal((n, n)) for n in (3, 2)]
    E = KronSum(mats, shift=-1.5).eigenvalues()
    dense = np.linalg.eigvals(dense_kron_sum(mats, shift=-1.5))
    np.testing.assert_allclose(np.sort_complex(E.ravel()), np.sort_complex(dense), atol=1e-10)


@pytest.mark.parametrize("seed", range(5))
def test_kron_sum_adjoint_dot_test(seed):
    rng = np.random.default_rng(seed)
    mats = [rng.standard_normal((n, n)) for n in (3, 4, 2)]
    op = KronSum(mats, shift=0.3 - 0.2j)
    x = rng.standard_normal(24) + 1j * rng.standard_normal(24)
    y = rng.standard_normal(24) + 1j * rng.standard_normal(24)
    lhs = np.vdot(y, op @ x)
    rhs = np.vdot(op.H @ y, x)
    assert abs(lhs - rhs) <= 1e-12 * abs(lhs)


def test_kron_sum_symmetric_factors_give_symmetric_operator():
    rng = np.random.default_rng(33)
    mats = []
    for n in (3, 4):
        M = rng.standard_normal((n, n))
        mats.append(M + M.T)
    op = KronSum(mats)
    x, y = rng.standard_normal(12), rng.standard_normal(12)
    assert abs(y @ (op @ x) - x @ (op @ y)) <= 1e-12 * np.linalg.norm(x) * np.linalg.norm(y) * 10


def test_kron_sum_rejects_rectangular_factor():
    with pytest.raises(ValueError, match="square"):
        KronSum([np.eye(2), np.ones((2, 3))])


# --------------------------------------------------------------------------- block diagonal


def test_block_diag_matvec_and_solve_match_dense():
    rng = np.random.default_rng(40)
    blocks = rng.standard_normal((4, 3, 3)) + 3 * np.eye(3)
    D = scipy.linalg.block_diag(*blocks)
    x = rng.standard_normal(12)
    X = rng.standard_normal((12, 2))
    np.testing.assert_allclose(block_diag_matvec(blocks, x), D @ x, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(block_diag_matvec(list(blocks), X), D @ X, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(block_diag_solve(blocks, x), np.linalg.solve(D, x), rtol=1e-10)
    np.testing.assert_allclose(block_diag_solve(list(blocks), X), np.linalg.solve(D, X), rtol=1e-10)
    solver = BlockDiagonalSolver(blocks)
    assert solver.n_blocks == 4
    assert solver.block_size == 3
    np.testing.assert_allclose(solver.solve(x), np.linalg.solve(D, x), rtol=1e-10)
    np.testing.assert_allclose(solver.solve(X), np.linalg.solve(D, X), rtol=1e-10)


def test_block_diag_rectangular_blocks_matvec():
    rng = np.random.default_rng(41)
    blocks = rng.standard_normal((3, 2, 4))
    x = rng.standard_normal(12)
    D = scipy.linalg.block_diag(*blocks)
    np.testing.assert_allclose(block_diag_matvec(blocks, x), D @ x, rtol=RTOL, atol=ATOL)


def test_identity_kron_A_single_block():
    rng = np.random.default_rng(42)
    A = rng.standard_normal((3, 3)) + 3 * np.eye(3)
    D = np.kron(np.eye(5), A)
    x = rng.standard_normal(15)
    X = rng.standard_normal((15, 2))
    np.testing.assert_allclose(block_diag_matvec(A, x), D @ x, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(block_diag_matvec(A, X), D @ X, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(block_diag_solve(A, x), np.linalg.solve(D, x), rtol=1e-10)
    np.testing.assert_allclose(block_diag_solve(A, X), np.linalg.solve(D, X), rtol=1e-10)
    solver = BlockDiagonalSolver(A)
    assert solver.n_blocks is None
    np.testing.assert_allclose(solver.solve(X), np.linalg.solve(D, X), rtol=1e-10)
    with pytest.raises(ValueError, match="blocks of size 3"):
        block_diag_solve(A, np.zeros(7))


def test_block_diag_singular_block_raises():
    blocks = np.stack([np.eye(2), np.zeros((2, 2)), np.eye(2)])
    with pytest.raises(SolverError, match=r"block\(s\) \[1\]"):
        block_diag_solve(blocks, np.ones(6))
    with pytest.raises(SolverError, match=r"block\(s\) \[1\]"):
        BlockDiagonalSolver(blocks)


# --------------------------------------------------------------------------- Sylvester


def dense_sylvester_residual(A, B, C, X):
    return np.linalg.norm(A @ X + X @ B - C) / np.linalg.norm(C)


@pytest.mark.parametrize(("m", "n"), [(4, 4), (5, 3), (1, 6)])
@pytest.mark.parametrize("symmetric", [True, False])
def test_sylvester_matches_scipy(m, n, symmetric):
    rng = np.random.default_rng(50 + m + n)
    A = rng.standard_normal((m, m))
    B = rng.standard_normal((n, n))
    if symmetric:
        A, B = A + A.T, B + B.T
    A = A + (m + 2) * np.eye(m)  # keeps lambda_i + mu_j away from 0
    B = B + (n + 2) * np.eye(n)
    C = rng.standard_normal((m, n))
    X = solve_sylvester(A, B, C)
    assert X.dtype == np.float64
    np.testing.assert_allclose(X, scipy.linalg.solve_sylvester(A, B, C), rtol=1e-9, atol=1e-12)
    assert dense_sylvester_residual(A, B, C, X) < 1e-12


def test_sylvester_matches_chapter_kron_formulation_complex():
    rng = np.random.default_rng(55)
    A = rng.standard_normal((3, 3)) + 1j * rng.standard_normal((3, 3)) + 4 * np.eye(3)
    B = rng.standard_normal((4, 4)) + 4 * np.eye(4)
    C = rng.standard_normal((3, 4)) + 1j * rng.standard_normal((3, 4))
    M = np.kron(np.eye(4), A) + np.kron(B.T, np.eye(3))  # chapter: (I⊗A + Bᵀ⊗I) vec(X)
    expected = np.linalg.solve(M, C.T.ravel()).reshape(4, 3).T
    X = solve_sylvester(A, B, C)
    assert X.dtype == np.complex128
    np.testing.assert_allclose(X, expected, rtol=1e-10, atol=1e-12)


def test_sylvester_exactly_singular_raises():
    A, B = np.diag([1.0, 2.0]), np.diag([-1.0, 5.0])
    with pytest.raises(SolverError, match=r"singular.*λ_0\(A\) = 1\.0.*μ_0\(B\) = -1\.0"):
        solve_sylvester(A, B, np.ones((2, 2)))
    with pytest.raises(KronpdeError):
        solve_sylvester(A, B, np.ones((2, 2)))


def test_sylvester_nearly_singular_warns():
    A, B = np.diag([1.0, 2.0]), np.diag([-1.0 + 1e-14, 5.0])
    with pytest.warns(IllConditionedWarning, match="scipy.linalg.solve_sylvester"):
        X = solve_sylvester(A, B, np.ones((2, 2)))
    # diagonal case: X_ij = C_ij / (a_i + b_j), computed independently
    d = np.array([1.0, 2.0])[:, None] + np.array([-1.0 + 1e-14, 5.0])[None, :]
    np.testing.assert_allclose(X, 1.0 / d, rtol=1e-12)


def test_sylvester_defective_matrix_warns_on_eigenvector_condition():
    A = np.array([[1.0, 1.0], [0.0, 1.0]])  # a Jordan block
    B = np.diag([3.0, 4.0])
    C = np.ones((2, 2))
    with pytest.warns(IllConditionedWarning, match="eigenvector matrix of A"):
        solve_sylvester(A, B, C)


def test_sylvester_well_posed_does_not_warn():
    A, B = np.diag([1.0, 2.0]), np.diag([3.0, 5.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error", IllConditionedWarning)
        solve_sylvester(A, B, np.ones((2, 2)))


def test_sylvester_shape_mismatch():
    with pytest.raises(ValueError, match=r"C must have shape \(2, 3\)"):
        solve_sylvester(np.eye(2), np.eye(3), np.ones((3, 2)))


# --------------------------------------------------------------------------- least squares


def dense_lstsq_X(A, B, y):
    x = np.linalg.lstsq(np.kron(B, A), y, rcond=None)[0]
    return x.reshape(A.shape[1], B.shape[1], order="F")


@pytest.mark.parametrize(
    ("shape_a", "shape_b"), [((5, 3), (4, 2)), ((2, 4), (3, 3)), ((3, 3), (1, 1))]
)
def test_kron_lstsq_matches_numpy(shape_a, shape_b):
    rng = np.random.default_rng(60)
    A, B = rng.standard_normal(shape_a), rng.standard_normal(shape_b)
    y = rng.standard_normal(shape_a[0] * shape_b[0])
    X = kron_lstsq(A, B, y)
    assert X.shape == (shape_a[1], shape_b[1])
    np.testing.assert_allclose(X, dense_lstsq_X(A, B, y), rtol=1e-9, atol=1e-12)
    Y = unvec(y, (shape_a[0], shape_b[0]))
    np.testing.assert_allclose(kron_lstsq(A, B, Y), X, rtol=RTOL, atol=ATOL)


def test_kron_lstsq_rank_deficient_gives_minimum_norm():
    rng = np.random.default_rng(61)
    u, v = rng.standard_normal((6, 1)), rng.standard_normal((1, 4))
    A = u @ v  # rank 1
    B = rng.standard_normal((5, 3))
    B[:, 2] = B[:, 0] - 2 * B[:, 1]  # rank 2
    y = rng.standard_normal(30)
    X = kron_lstsq(A, B, y)
    expected = dense_lstsq_X(A, B, y)
    np.testing.assert_allclose(X, expected, rtol=1e-9, atol=1e-12)
    # the minimum-norm solution is orthogonal to the null space of B ⊗ A
    null = scipy.linalg.null_space(np.kron(B, A))
    assert np.linalg.norm(null.T @ vec(X)) < 1e-10 * np.linalg.norm(X)


def test_kron_lstsq_rejects_bad_y():
    with pytest.raises(ValueError, match="y must have shape"):
        kron_lstsq(np.eye(2), np.eye(3), np.zeros(5))


# --------------------------------------------------------------------------- separable filter


@pytest.mark.parametrize(
    ("h_row", "h_col"),
    [([0.25, 0.5, 0.25], [-1.0, 0.0, 1.0]), ([-1.0, 5.0, -1.0], [1.0, 2.0]), ([1.0], [3.0])],
)
def test_separable_filter_is_chapter_kron_on_vec(h_row, h_col):
    rng = np.random.default_rng(70)
    image = rng.standard_normal((7, 5))  # non-square: rows and columns cannot be confused
    H_row = conv_matrix_1d(np.asarray(h_row), image.shape[1])
    H_col = conv_matrix_1d(np.asarray(h_col), image.shape[0])
    expected = unvec(np.kron(H_row, H_col) @ vec(image), image.shape)
    np.testing.assert_allclose(
        separable_filter(image, h_row, h_col), expected, rtol=RTOL, atol=ATOL
    )
    # dense operator matrices give the same
    np.testing.assert_allclose(
        separable_filter(image, H_row, H_col), expected, rtol=RTOL, atol=ATOL
    )


def test_separable_filter_equals_dense_2d_kernel():
    rng = np.random.default_rng(71)
    image = rng.standard_normal((6, 8))
    h_row, h_col = np.array([1.0, -2.0, 0.5]), np.array([0.3, 0.0, 1.0, 2.0, -1.0])
    K = np.outer(h_col, h_row)  # K[p, q]: p along axis 0 (h_col), q along axis 1 (h_row)
    pr, pc = len(h_col) // 2, len(h_row) // 2
    expected = np.zeros_like(image)
    for i in range(image.shape[0]):
        for j in range(image.shape[1]):
            for p in range(K.shape[0]):
                for q in range(K.shape[1]):
                    ii, jj = i + p - pr, j + q - pc
                    if 0 <= ii < image.shape[0] and 0 <= jj < image.shape[1]:
                        expected[i, j] += K[p, q] * image[ii, jj]
    np.testing.assert_allclose(
        separable_filter(image, h_row, h_col), expected, rtol=RTOL, atol=ATOL
    )


@pytest.mark.parametrize("mode", ["reflect", "nearest", "wrap", "mirror"])
def test_separable_filter_other_modes_match_2d_correlate(mode):
    rng = np.random.default_rng(72)
    image = rng.standard_normal((6, 9))
    h_row, h_col = np.array([1.0, 2.0, -0.5]), np.array([0.5, -1.0, 3.0])
    expected = scipy.ndimage.correlate(image, np.outer(h_col, h_row), mode=mode)
    np.testing.assert_allclose(
        separable_filter(image, h_row, h_col, mode=mode), expected, rtol=1e-12, atol=1e-12
    )


def test_separable_filter_rejects_bad_mode():
    with pytest.raises(ValueError, match="mode must be one of"):
        separable_filter(np.zeros((3, 3)), [1.0], [1.0], mode="zero")


# --------------------------------------------------------------------------- properties


def random_matrix(seed, shape):
    return np.random.default_rng(seed).uniform(-2.0, 2.0, size=shape)


@HYP
@given(m=dims, n=dims, p=dims, q=dims, seed=seeds)
def test_property_vec_identity(m, n, p, q, seed):
    # (A ⊗ B) vec(X) = vec(B X Aᵀ), A (m, n), B (p, q), X (q, n)
    A, B = random_matrix(seed, (m, n)), random_matrix(seed + 1, (p, q))
    X = random_matrix(seed + 2, (q, n))
    expected = vec(B @ X @ A.T)
    np.testing.assert_allclose(np.kron(A, B) @ vec(X), expected, rtol=1e-12, atol=1e-12)
    # kron_matvec acts on C-ordered data; vec(X) is X.T.ravel(), so it works unchanged.
    np.testing.assert_allclose(kron_matvec([A, B], vec(X)), expected, rtol=1e-12, atol=1e-12)


@HYP
@given(m=dims, n=dims, r=dims, p=dims, q=dims, s=dims, seed=seeds)
def test_property_mixed_product(m, n, r, p, q, s, seed):
    # (A ⊗ B)(C ⊗ D) = (AC) ⊗ (BD)
    A, C = random_matrix(seed, (m, n)), random_matrix(seed + 1, (n, r))
    B, D = random_matrix(seed + 2, (p, q)), random_matrix(seed + 3, (q, s))
    x = random_matrix(seed + 4, (r * s, 2))
    expected = np.kron(A @ C, B @ D) @ x
    via_ops = KronProduct([A, B]) @ (KronProduct([C, D]) @ x)
    np.testing.assert_allclose(via_ops, expected, rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(kron_matvec([A @ C, B @ D], x), expected, rtol=1e-11, atol=1e-11)


@HYP
@given(m=dims, n=dims, p=dims, q=dims, k=dims, seed=seeds)
def test_property_transpose(m, n, p, q, k, seed):
    # (A ⊗ B)ᵀ = Aᵀ ⊗ Bᵀ, here with three factors
    A, B = random_matrix(seed, (m, n)), random_matrix(seed + 1, (p, q))
    C = random_matrix(seed + 2, (k, 2))
    y = random_matrix(seed + 3, (m * p * k,))
    expected = np.kron(np.kron(A, B), C).T @ y
    op = KronProduct([A, B, C])
    np.testing.assert_allclose(op.T @ y, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(op.rmatvec(y), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(kron_matvec([A.T, B.T, C.T], y), expected, rtol=1e-12, atol=1e-12)


@HYP
@given(ns=st.lists(dims, min_size=1, max_size=3), shift=st.floats(-3, 3), seed=seeds)
def test_property_kron_sum_eigenvalues(ns, shift, seed):
    mats = []
    for k, n in enumerate(ns):
        M = random_matrix(seed + k, (n, n))
        mats.append(M + M.T)
    E = KronSum(mats, shift=shift).eigenvalues()
    assert E.shape == tuple(ns)
    expected = np.linalg.eigvalsh(dense_kron_sum(mats, shift))
    np.testing.assert_allclose(np.sort(E.ravel()), expected, rtol=1e-10, atol=1e-10)


@HYP
@given(shape=st.lists(dims, min_size=1, max_size=4), rows=dims, data=st.data(), seed=seeds)
def test_property_matmul_axis(shape, rows, data, seed):
    axis = data.draw(st.integers(0, len(shape) - 1))
    X = random_matrix(seed, tuple(shape))
    A = random_matrix(seed + 1, (rows, shape[axis]))
    np.testing.assert_allclose(
        matmul_axis(A, X, axis), reference_matmul_axis(A, X, axis), rtol=1e-12, atol=1e-12
    )
