"""Assembly, right-hand side, symmetric forms, the Kronecker-sum operator, banded storage."""

from __future__ import annotations

import itertools

import numpy as np
import pyamg
import pytest
import scipy.sparse as sp
from conftest import build_problem, dense_reference
from scipy.sparse.linalg import LaplacianNd

from kronpde import Axis, Dirichlet, Grid, Neumann, Periodic, Problem, Robin, assemble
from kronpde.operators.banded import PlaneBlocks, csr_from_bands
from kronpde.operators.kronsum import KronSum, KronSumOperator, kron_weights
from kronpde.operators.stencils import second_difference

AXIS_KINDS = [
    ("dirichlet", "dirichlet"),
    ("dirichlet", "neumann"),
    ("neumann", "dirichlet"),
    ("neumann", "neumann"),
    ("robin", "dirichlet"),
    ("dirichlet", "robin"),
    ("robin", "neumann"),
    ("robin", "robin"),
    ("periodic", "periodic"),
]
CELLS = {1: (6,), 2: (4, 3), 3: (3, 4, 2)}


def _combos(dim, count=None, seed=0):
    combos = list(itertools.product(AXIS_KINDS, repeat=dim))
    if count is not None and count < len(combos):
        pick = np.random.default_rng(seed).choice(len(combos), size=count, replace=False)
        combos = [combos[i] for i in sorted(pick)]
    return combos


CASES = (
    [(1, c) for c in _combos(1)]
    + [(2, c) for c in _combos(2)]
    + [(3, c) for c in _combos(3, count=40)]
)


def _id(case):
    dim, kinds = case
    return f"{dim}d-" + "-".join(f"{a[0][0]}{b[0][0]}" for a, b in kinds)


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_operator_and_rhs_equal_entrywise_reference(case):
    dim, kinds = case
    problem, _ = build_problem(CELLS[dim], list(kinds), shift=0.3, k=1.7)
    mat, rhs = dense_reference(problem.grid, problem.source, shift=0.3, k=1.7)
    a = problem.operator()
    assert a.shape == mat.shape
    np.testing.assert_allclose(a.toarray(), mat, rtol=1e-13, atol=1e-12 * np.abs(mat).max())
    np.testing.assert_allclose(problem.rhs(), rhs, rtol=1e-12, atol=1e-12 * np.abs(rhs).max())


@pytest.mark.parametrize("case", CASES[::3], ids=[_id(c) for c in CASES[::3]])
def test_symmetric_forms(case):
    dim, kinds = case
    problem, _ = build_problem(CELLS[dim], list(kinds))
    a = problem.operator().toarray()
    wa = problem.weighted_operator().toarray()
    w = problem.weights().reshape(-1)
    np.testing.assert_allclose(wa, w[:, None] * a, rtol=1e-14)
    np.testing.assert_allclose(wa, wa.T, rtol=0, atol=1e-12 * np.abs(wa).max())
    # smallest eigenvalue of the generalized problem W A v = mu W v equals A's smallest one
    sym = problem.operator(symmetric=True).toarray()
    np.testing.assert_allclose(sym, sym.T, rtol=0, atol=1e-12 * np.abs(sym).max())
    d = np.sqrt(w)
    np.testing.assert_allclose(sym, d[:, None] * a / d[None, :], rtol=1e-12, atol=1e-10)
    mu = np.linalg.eigvalsh(wa)
    scale = np.abs(mu).max()
    if problem.singular:
        assert abs(mu[0]) < 1e-10 * scale
        assert mu[1] > 1e-8 * scale  # the null space is one-dimensional
    else:
        assert mu[0] > 1e-10 * scale


@pytest.mark.parametrize("shape", [(7,), (5, 6), (4, 3, 5)])
def test_dirichlet_equals_pyamg_poisson(shape):
    cells = [n + 1 for n in shape]
    upper = [0.5 * c for c in cells]  # h = 0.5 on every axis
    problem = Problem(Grid.box(cells, upper=upper))
    ref = pyamg.gallery.poisson(shape, format="csr") / 0.25
    diff = abs(problem.operator() - ref)
    assert diff.max() < 1e-12


@pytest.mark.parametrize(("bc", "kind"), [("dirichlet", None), ("periodic", Periodic())])
@pytest.mark.parametrize("shape", [(6,), (4, 5), (3, 4, 5)])
def test_eigenvalues_equal_laplacian_nd(shape, bc, kind):
    h = 0.25
    if kind is None:
        cells = [n + 1 for n in shape]
        grid = Grid.box(cells, upper=[h * c for c in cells])
    else:
        grid = Grid.box(list(shape), upper=[h * n for n in shape], default=kind)
    problem = Problem(grid)
    ours = np.sort(np.linalg.eigvals(problem.operator().toarray()).real)
    lap = LaplacianNd(shape, boundary_conditions=bc)
    theirs = np.sort(-lap.eigenvalues() / h**2)
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-9)


def test_neumann_eigenvalues_are_the_vertex_centred_ones():
    # scipy's "neumann" LaplacianNd is cell-centred (eigenvalues 4 sin²(πk/2n));
    # ours is vertex-centred with n = m + 1 nodes: 4 sin²(πk/2m)/h², k = 0..m.
    m, h = 7, 0.2
    grid = Grid.box([m], upper=[m * h], default=Neumann())
    ours = np.sort(np.linalg.eigvals(Problem(grid).operator().toarray()).real)
    k = np.arange(m + 1)
    np.testing.assert_allclose(ours, 4 * np.sin(np.pi * k / (2 * m)) ** 2 / h**2, atol=1e-10)


@pytest.mark.parametrize("case", CASES[::5], ids=[_id(c) for c in CASES[::5]])
@pytest.mark.parametrize("symmetric", [False, True])
def test_matrix_free_equals_csr(case, symmetric, rng):
    dim, kinds = case
    cells = {1: (9,), 2: (7, 5), 3: (5, 4, 6)}[dim]
    problem, _ = build_problem(cells, list(kinds), shift=0.4)
    a = problem.operator(symmetric=symmetric)
    op = problem.linear_operator(symmetric=symmetric)
    x = rng.standard_normal(problem.size)
    y = rng.standard_normal(problem.size)
    scale = abs(a).max() * np.abs(x).max()
    np.testing.assert_allclose(op.matvec(x), a @ x, rtol=0, atol=1e-13 * scale)
    np.testing.assert_allclose(op.rmatvec(x), a.T @ x, rtol=0, atol=1e-13 * scale)
    out = np.empty_like(x)
    op.matvec_into(x, out)
    np.testing.assert_allclose(out, a @ x, rtol=0, atol=1e-13 * scale)
    # dot-product (adjoint) test
    assert abs(y @ op.matvec(x) - op.rmatvec(y) @ x) <= 1e-12 * scale * np.abs(y).sum()


def test_matrix_free_small_blocks_equal_csr(rng, monkeypatch):
    """Blocking along axis 0 with blocks of one plane (neighbours across blocks)."""
    import kronpde.operators.banded as banded_module

    monkeypatch.setattr(banded_module, "BLOCK_BYTES", 8)
    assert PlaneBlocks((6, 5, 4)).size == 1
    for kinds in [
        [("periodic", "periodic"), ("neumann", "robin"), ("dirichlet", "dirichlet")],
        [("neumann", "neumann"), ("periodic", "periodic"), ("robin", "dirichlet")],
    ]:
        problem, _ = build_problem((6, 5, 4), kinds)
        op = KronSumOperator(problem.axis_operators, 0.2)
        x = rng.standard_normal(problem.size)
        ref = assemble(problem.axis_operators, 0.2) @ x
        np.testing.assert_allclose(op.matvec(x), ref, rtol=0, atol=1e-12 * np.abs(ref).max())


@pytest.mark.parametrize("n", [1, 2, 3])
def test_tiny_periodic_axes(n, rng):
    """n <= 2 periodic axes fold coinciding neighbours; compare with scipy.sparse.kron."""
    grid = Grid.box([n, 4], default=Periodic())
    problem = Problem(grid, shift=0.5)
    ops = problem.axis_operators
    ref = sp.kron(ops[0].tosparse(), sp.eye_array(ops[1].n)) + sp.kron(
        sp.eye_array(ops[0].n), ops[1].tosparse()
    )
    ref = ref + 0.5 * sp.eye_array(problem.size)
    np.testing.assert_allclose(problem.operator().toarray(), ref.toarray(), atol=1e-12)
    x = rng.standard_normal(problem.size)
    np.testing.assert_allclose(problem.linear_operator().matvec(x), ref @ x, atol=1e-10)
    # the wrapped 1-D operator itself, entrywise: every row sums to zero
    np.testing.assert_allclose(ops[0].todense().sum(axis=1), 0.0, atol=1e-12)


def test_assembly_is_canonical_csr():
    problem, _ = build_problem(
        (5, 4, 6), [("periodic", "periodic"), ("neumann", "robin"), ("dirichlet", "dirichlet")]
    )
    a = problem.operator()
    assert isinstance(a, sp.csr_array)
    assert a.has_sorted_indices
    b = a.copy()
    b.sum_duplicates()
    assert b.nnz == a.nnz
    assert np.all(a.data != 0)


# -- one Kronecker-sum class, two kinds of factors ---------------------------------------
def _axis_ops():
    """Non-cubic 3-D: Neumann-Robin (not symmetric), periodic, Dirichlet-Neumann, stretched-free."""
    return [
        second_difference(Axis(4, 0.0, 1.0, Neumann(), Robin(1.0, 2.0))),
        second_difference(Axis(5, 0.0, 2.0, Periodic(), Periodic())),
        second_difference(Axis(3, 0.0, 0.5, Dirichlet(), Neumann())),
    ]


def _dense_kron_sum(mats, shift=0.0):
    """Independent reference: sum of np.kron(I, ..., A_k, ..., I) + shift I."""
    ns = [m.shape[0] for m in mats]
    total = shift * np.eye(int(np.prod(ns)), dtype=np.result_type(shift, *mats))
    for k, m in enumerate(mats):
        term = np.ones((1, 1))
        for j, n in enumerate(ns):
            term = np.kron(term, m if j == k else np.eye(n))
        total = total + term
    return total


def test_kron_sum_operator_is_the_one_kron_sum():
    assert KronSumOperator is KronSum
    op = Problem(Grid.box([4, 3])).linear_operator()
    assert isinstance(op, KronSum)
    assert op.banded


def test_banded_kron_sum_matches_dense_and_its_sparse_forms(rng):
    ops = _axis_ops()
    dense = _dense_kron_sum([op.todense() for op in ops], shift=0.3)
    K = KronSumOperator(ops, 0.3)
    assert K.banded
    assert K.dims == K.grid_shape == (5, 5, 3)
    x = rng.standard_normal(K.shape[0])
    np.testing.assert_allclose(K @ x, dense @ x, rtol=1e-13, atol=1e-13 * np.abs(dense).max())
    np.testing.assert_allclose(K.matmat(np.eye(K.shape[0])), dense, rtol=1e-13, atol=1e-12)
    for sparse in (K.to_sparse(), K.tosparse()):
        assert isinstance(sparse, sp.csr_array)
        np.testing.assert_allclose(sparse.toarray(), dense, rtol=1e-13, atol=1e-12)
    # transpose and adjoint: the factors are not symmetric (Neumann/Robin rows)
    assert not np.allclose(dense, dense.T)
    for T in (K.T, K.H, K.transpose_operator()):
        assert isinstance(T, KronSum)
        assert T.banded
        np.testing.assert_allclose(T @ x, dense.T @ x, rtol=1e-13, atol=1e-12)
    np.testing.assert_allclose(K.rmatvec(x), dense.T @ x, rtol=1e-13, atol=1e-12)
    # a complex vector through the real banded apply
    z = x + 1j * rng.standard_normal(x.size)
    np.testing.assert_allclose(K @ z, dense @ z, rtol=1e-13, atol=1e-12)


def test_banded_kron_sum_eigenvalues_are_real_and_equal_dense_ones():
    ops = _axis_ops()
    K = KronSum(ops, shift=0.3)
    E = K.eigenvalues()
    assert E.shape == K.dims
    assert E.dtype == np.float64  # symmetrizable factors: real, by eigvalsh
    dense = np.linalg.eigvals(assemble(ops, 0.3).toarray())
    assert np.abs(dense.imag).max() < 1e-8
    np.testing.assert_allclose(np.sort(E.ravel()), np.sort(dense.real), rtol=1e-10, atol=1e-9)
    # the transposed operators break W T = (W T)^T, so the general path is taken: same spectrum
    Et = K.transpose_operator().eigenvalues()
    np.testing.assert_allclose(np.sort(Et.ravel().real), np.sort(dense.real), rtol=1e-10, atol=1e-9)


def test_kron_sum_mixed_and_complex_factors_take_the_general_path(rng):
    ops = _axis_ops()
    M = rng.standard_normal((5, 5))
    mixed = KronSum([ops[0], M, sp.csr_array(ops[2].todense())], shift=-0.4)
    assert not mixed.banded
    dense = _dense_kron_sum([ops[0].todense(), M, ops[2].todense()], shift=-0.4)
    x = rng.standard_normal(mixed.shape[0])
    np.testing.assert_allclose(mixed @ x, dense @ x, rtol=1e-12, atol=1e-12)
    out = np.full_like(x, np.nan)
    assert mixed.matvec_into(x, out) is out
    np.testing.assert_allclose(out, dense @ x, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(mixed.rmatvec(x), dense.T @ x, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(mixed.to_sparse().toarray(), dense, rtol=1e-12, atol=1e-12)
    # AxisOperators with a complex shift: general path, complex dtype
    c = KronSum(ops, shift=0.5 + 0.25j)
    assert not c.banded
    assert c.dtype == np.complex128
    dense_c = _dense_kron_sum([op.todense() for op in ops], shift=0.5 + 0.25j)
    np.testing.assert_allclose(c @ x, dense_c @ x, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(c.H @ x, dense_c.conj().T @ x, rtol=1e-12, atol=1e-12)
    lam = np.linalg.eigvals(dense_c)
    np.testing.assert_allclose(
        np.sort_complex(c.eigenvalues().ravel()), np.sort_complex(lam), atol=1e-9
    )


def test_kron_sum_rejects_a_single_factor_and_a_bad_shift():
    op = second_difference(Axis(3))
    with pytest.raises(TypeError, match="sequence of matrices"):
        KronSum(op)
    with pytest.raises(TypeError, match="shift must be a real or complex number"):
        KronSum([op], shift="1")
    with pytest.raises(ValueError, match="at least one"):
        KronSum([])


def test_kron_weights_are_the_grid_weights():
    grid = Grid.box(
        [4, 3, 2], upper=[1.0, 2.0, 0.5], boundary={"xmin": Neumann(), "zmax": Robin(1, 1)}
    )
    ops = [second_difference(a) for a in grid.axes]
    w = kron_weights(ops)
    np.testing.assert_allclose(w, grid.weights(), rtol=1e-15)
    flat = np.kron(np.kron(ops[0].weights, ops[1].weights), ops[2].weights)
    np.testing.assert_allclose(w.reshape(-1), flat, rtol=1e-15)


# -- banded storage ----------------------------------------------------------------------
def test_csr_from_bands_equals_entrywise_loop(rng):
    shape = (3, 4)
    n = 12
    diag = rng.standard_normal(shape)
    up = rng.standard_normal(shape)
    # band +4 (one step along axis 0) from rows 0..1; band -1 everywhere but column 3 of a row;
    # two terms on one offset add up
    terms = [
        (0, (), diag),
        (0, (), 1.5),
        (4, (slice(1, None),), up[1:]),
        (-1, (slice(None), slice(None, -1)), up[:, :-1]),
    ]
    a = csr_from_bands(shape, terms)
    assert isinstance(a, sp.csr_array)
    expected = np.zeros((n, n))
    for c in range(n):
        i, j = divmod(c, 4)
        expected[c, c] += diag[i, j] + 1.5
        if i >= 1:
            expected[c - 4, c] += up[i, j]  # DIA: A[c - offset, c]
        if j < 3:
            expected[c + 1, c] += up[i, j]
    np.testing.assert_array_equal(a.toarray(), expected)
    assert a.has_sorted_indices
    assert np.all(a.data != 0)


def test_plane_blocks_cover_every_plane_once(monkeypatch):
    import kronpde.operators.banded as banded_module

    monkeypatch.setattr(banded_module, "BLOCK_BYTES", 3 * 5 * 8)
    blocks = PlaneBlocks((7, 5))
    assert blocks.size == 3
    seen = [(p0, p1, w.shape) for p0, p1, w in blocks]
    assert seen == [(0, 3, (3, 5)), (3, 6, (3, 5)), (6, 7, (1, 5))]
