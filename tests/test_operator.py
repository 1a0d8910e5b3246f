"""Assembly, right-hand side, symmetric forms and the matrix-free operator."""

from __future__ import annotations

import itertools

import numpy as np
import pyamg
import pytest
import scipy.sparse as sp
from conftest import build_problem, dense_reference
from scipy.sparse.linalg import LaplacianNd

from kronpde import Grid, Neumann, Periodic, Problem, assemble
from kronpde.operator import KronSumOperator

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
    import kronpde.operator as operator_module

    monkeypatch.setattr(operator_module, "BLOCK_BYTES", 8)
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
