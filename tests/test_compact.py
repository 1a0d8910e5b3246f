"""Tests of the fourth-order compact scheme: operators.compact, operators.compact_rhs, order=4.

The operator is checked entrywise against a reference built node by node from
the stencil's definition (tests/reference_operators.py), the fast solve against
scipy's sparse direct solve, the eigenvalue combination against dense
eigenvalues, and the whole scheme (operator and right-hand side) by grid
convergence against exact solutions: max-norm orders 3.7-4.3 for ``auto`` and
``cg``, on every face kind in 1-, 2- and 3-D.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse.linalg as sla
from conftest import build_problem, observed_order
from reference_operators import compact_operator

from kronpde import Dirichlet, Grid, Neumann, Periodic, Problem, Robin
from kronpde.errors import DataError, SolverError
from kronpde.solvers import prepare, refusal, solve
from kronpde.solvers.fastdiag import FastDiagSolver
from kronpde.solvers.fastdiag_pc import FastDiagPreconditioner
from kronpde.solvers.registry import choose

#: Faces by letter: Dirichlet, Neumann, Robin, periodic, and Robin with alpha = 0 (Neumann-like).
FACES = {
    "D": Dirichlet(0.0),
    "N": Neumann(0.0),
    "R": Robin(1.5, 0.7, 0.0),
    "P": Periodic(),
    "Z": Robin(0.0, 2.0, 0.0),
}
PAIRS = ["DD", "DN", "ND", "NN", "DR", "RD", "RN", "NR", "RR", "PP", "ZN", "RZ"]
SEPARABLE = ["DD", "DN", "ND", "NN", "PP", "ZN"]  # no Robin face with alpha != 0
CELLS = {1: [6], 2: [5, 4], 3: [4, 3, 3]}
UPPER = [1.0, 1.3, 0.8]


def grid_of(combo: tuple[str, ...], cells=None) -> Grid:
    d = len(combo)
    boundary = {}
    for i, pair in enumerate(combo):
        boundary["xyz"[i] + "min"] = FACES[pair[0]]
        boundary["xyz"[i] + "max"] = FACES[pair[1]]
    return Grid.box(cells or CELLS[d], upper=UPPER[:d], boundary=boundary)


def combos(d: int, pairs: list[str], count: int | None = None) -> list[tuple[str, ...]]:
    every = list(itertools.product(pairs, repeat=d))
    if count is None or count >= len(every):
        return every
    rng = np.random.default_rng(20261201 + d)
    return [every[i] for i in sorted(rng.choice(len(every), count, replace=False))]


MIXES = [*combos(1, PAIRS), *combos(2, PAIRS), *combos(3, PAIRS, 40)]
SEPARABLE_MIXES = [*combos(1, SEPARABLE), *combos(2, SEPARABLE), *combos(3, SEPARABLE, 20)]


def ids(mixes) -> list[str]:
    return ["-".join(m) for m in mixes]


# -- the operator ------------------------------------------------------------------------------


@pytest.mark.parametrize("combo", MIXES, ids=ids(MIXES))
def test_operator_equals_the_stencil_reference(combo):
    """Assembled A = the 9/19-point stencil with ghost reflection, entry by entry."""
    grid = grid_of(combo)
    p = Problem(grid, 1.0, shift=0.7, coefficient=1.4, order=4)
    reference = compact_operator(grid, k=1.4, shift=0.7)
    a = p.operator().toarray()
    assert a.shape == reference.shape == (grid.size, grid.size)
    np.testing.assert_allclose(a, reference, rtol=0, atol=1e-13 * np.abs(reference).max())


@pytest.mark.parametrize("cells", [[1, 3], [2, 1], [2, 2], [3, 2]], ids=str)
@pytest.mark.parametrize("combo", combos(2, ["DN", "NR", "RR", "PP", "DD"]), ids=ids)
def test_operator_on_grids_of_one_or_two_cells(cells, combo):
    """Ghosts reflected onto a Dirichlet node, periodic axes of one or two unknowns."""
    try:
        grid = grid_of(combo, cells)
    except ValueError:  # Dirichlet on both faces of one cell: no unknown
        assert 1 in [c for c, pair in zip(cells, combo, strict=True) if pair == "DD"]
        return
    p = Problem(grid, "x*y + 1", shift=0.5, order=4)
    reference = compact_operator(grid, k=1.0, shift=0.5)
    np.testing.assert_allclose(
        p.operator().toarray(), reference, rtol=0, atol=1e-12 * np.abs(reference).max()
    )
    assert np.all(np.isfinite(p.rhs()))


def test_two_dimensional_stencil_is_the_mehrstellen_one():
    """Equal spacing, k = 1, c = 0: (1/6h²)[-1 -4 -1; -4 20 -4; -1 -4 -1] in the interior."""
    h = 1.0 / 8
    p = Problem(Grid.box([8, 8]), order=4)
    row = p.operator().toarray()[3 * 7 + 3].reshape(7, 7)  # node (4, 4)
    expected = np.array([[-1.0, -4.0, -1.0], [-4.0, 20.0, -4.0], [-1.0, -4.0, -1.0]]) / (6 * h * h)
    np.testing.assert_allclose(row[2:5, 2:5], expected, rtol=1e-13)
    assert np.count_nonzero(row) == 9


@pytest.mark.parametrize(
    "combo", [("RN", "DR"), ("NN", "PP"), ("RR", "ZN", "DD"), ("RN", "NR", "RR")], ids=ids
)
def test_matrix_free_symmetric_and_weighted_forms(combo, rng):
    """A x matrix-free = assembled; D A D^-1 symmetric; W A symmetric; Aᵀ by the dot test."""
    grid = grid_of(combo)
    p = Problem(grid, 1.0, shift=0.4, coefficient=0.8, order=4)
    a = p.operator()
    x, y = rng.standard_normal(p.size), rng.standard_normal(p.size)
    np.testing.assert_allclose(p.linear_operator() @ x, a @ x, rtol=1e-13, atol=1e-12)
    d = p.symmetric_scale
    a_hat = p.operator(symmetric=True).toarray()
    np.testing.assert_allclose(
        a_hat, (d[:, None] * a.toarray()) / d[None, :], rtol=1e-13, atol=1e-9
    )
    np.testing.assert_allclose(a_hat, a_hat.T, rtol=0, atol=1e-12 * np.abs(a_hat).max())
    np.testing.assert_allclose(p.linear_operator(symmetric=True) @ x, a_hat @ x, rtol=1e-12)
    wa = p.weighted_operator().toarray()
    np.testing.assert_allclose(wa, wa.T, rtol=0, atol=1e-13 * np.abs(wa).max())
    np.testing.assert_allclose(p.diagonal(), np.diag(a.toarray()), rtol=1e-14)
    for lin in (p.linear_operator(), p.linear_operator(symmetric=True)):  # the dot test
        assert float(y @ (lin @ x)) == pytest.approx(float(x @ (lin.rmatvec(y))), rel=1e-12)
    np.testing.assert_allclose(p.linear_operator().rmatvec(y), a.T @ y, rtol=1e-12, atol=1e-9)
    assert np.linalg.eigvalsh(a_hat).min() > 0  # shift > 0: positive definite


# -- the fast solve ---------------------------------------------------------------------------


@pytest.mark.parametrize("combo", SEPARABLE_MIXES, ids=ids(SEPARABLE_MIXES))
def test_fastdiag_equals_the_sparse_direct_solve(combo, rng):
    """Same transforms, the scheme's eigenvalue combination: scipy's spsolve to 1e-10."""
    grid = grid_of(combo, [c + 2 for c in CELLS[len(combo)]])
    p = Problem(grid, "1 + x", shift=0.0, coefficient=1.3, order=4)
    solver = FastDiagSolver.from_problem(p)
    assert solver.scheme is p.scheme
    for b in (p.rhs(), rng.standard_normal(p.size)):
        if p.singular:
            w = p.weights().reshape(-1)
            b = b - (w @ b) / w.sum()
        u = solver.solve(b)
        if p.singular:
            ref = reference_solve_with(p, b)
        else:
            ref = sla.spsolve(p.operator().tocsc(), b)
        assert np.abs(u - ref).max() <= 1e-10 * np.abs(ref).max()


def reference_solve_with(p: Problem, b: np.ndarray) -> np.ndarray:
    """conftest.reference_solve for another right-hand side (b in the range of A)."""
    a = p.operator().tocsc()
    w = p.weights().reshape(-1)
    u = np.zeros_like(b)
    u[1:] = sla.spsolve(a[1:, 1:].tocsc(), b[1:])
    return u - (w @ u) / w.sum()


@pytest.mark.parametrize(
    "combo", [("DN",), ("NN", "PP"), ("DD", "ND"), ("ZN", "PP", "DN")], ids=ids
)
def test_eigenvalue_combination_and_its_minimum(combo):
    """μ = c + Σ(1 - c a_i)λ_i - Σ(a_i + a_j)λ_iλ_j are the eigenvalues of Â; min over the modes."""
    grid = grid_of(combo)
    p = Problem(grid, 1.0, shift=0.3 if "D" not in "".join(combo) else 0.0, order=4)
    dense = np.sort(scipy.linalg.eigvalsh(p.operator(symmetric=True).toarray()))
    mu = np.sort(p.scheme.eigenvalues().ravel())
    np.testing.assert_allclose(mu, dense, rtol=1e-10, atol=1e-10 * dense.max())
    np.testing.assert_allclose(
        np.sort(FastDiagSolver.from_problem(p).eigenvalues().ravel()), dense, rtol=1e-10, atol=1e-9
    )
    assert p.scheme.smallest_eigenvalue() == pytest.approx(dense.min(), rel=1e-10)
    certified = p.smallest_eigenvalue()  # kronpde.problem.certify: the same minimum, lowered
    assert certified.computed == pytest.approx(dense.min(), rel=1e-10)
    assert dense.min() * (1.0 - 1e-9) <= certified.value <= dense.min()


def test_smallest_eigenvalue_of_a_singular_problem_and_the_robin_lower_bound():
    pure = Problem(grid_of(("NN", "PP", "NN")), 0.0, order=4)
    dense = np.sort(scipy.linalg.eigvalsh(pure.operator(symmetric=True).toarray()))
    assert abs(dense[0]) < 1e-9  # the constants
    assert pure.scheme.smallest_eigenvalue(singular=True) == pytest.approx(dense[1], rel=1e-10)
    assert pure.smallest_eigenvalue().computed == pytest.approx(dense[1], rel=1e-10)
    assert pure.smallest_eigenvalue().value <= dense[1]
    robin = Problem(grid_of(("RN", "RR")), 1.0, order=4)
    true = scipy.linalg.eigvalsh(robin.operator(symmetric=True).toarray()).min()
    bound = robin.scheme.smallest_eigenvalue()
    assert 0.5 * true < bound <= true * (1 + 1e-12)  # R is positive semidefinite
    assert 0.5 * true < robin.smallest_eigenvalue().value <= bound
    order2 = Problem(grid_of(("RN", "RR")), 1.0)
    true2 = scipy.linalg.eigvalsh(order2.operator(symmetric=True).toarray()).min()
    assert order2.smallest_eigenvalue().computed == pytest.approx(true2, rel=1e-10)


def test_robin_faces_go_to_fastdiag_cg_with_the_separable_fast_solve():
    p, _ = build_problem([12, 10], [("robin", "neumann"), ("dirichlet", "robin")], shift=0.5)
    p4 = Problem(p.grid, p.source, p.shift, order=4)
    reason = refusal(p4, "fastdiag")
    assert reason is not None
    assert "'fastdiag-cg'" in reason
    assert "order 4" in reason
    cls, why = choose(p4, "auto")
    assert cls.name == "fastdiag-cg"
    assert "order 4" in why
    assert "Robin" in why
    prepared = prepare(p4)
    assert prepared.solver.backend.solver.scheme is p4.scheme
    sol = prepared.solve(rtol=1e-12)
    assert sol.report.converged
    assert 0 < sol.report.iterations <= 12
    ref = sla.spsolve(p4.operator().tocsc(), p4.rhs())
    assert np.abs(sol.x - ref).max() <= 1e-9 * np.abs(ref).max()
    with pytest.raises(SolverError, match="fastdiag-cg"):
        solve(p4, "fastdiag")
    # alpha = 0 is Neumann's row: separable, fastdiag takes it
    z = Problem(grid_of(("ZN", "DD")), 1.0, order=4)
    assert choose(z, "auto")[0].name == "fastdiag"


def test_a_fourth_order_operator_that_is_not_positive_is_refused_by_the_fast_solve():
    """Robin faces with a huge alpha h/beta break a_i λ_i <= 1/3: a clear SolverError."""
    grid = Grid.box([2, 64], boundary={"xmin": Robin(1e4, 1.0, 0.0), "xmax": Robin(1e4, 1.0, 0.0)})
    p = Problem(grid, 1.0, order=4)
    with pytest.raises(SolverError, match="not positive definite"):
        FastDiagPreconditioner.from_problem(p)


# -- the scheme's accuracy ---------------------------------------------------------------------

ORDER_CASES = [
    ([8], [("neumann", "robin")]),
    ([8], [("periodic", "periodic")]),
    ([8], [("robin", "dirichlet")]),
    ([6, 5], [("neumann", "neumann"), ("robin", "robin")]),
    ([6, 5], [("dirichlet", "neumann"), ("periodic", "periodic")]),
    ([6, 5], [("robin", "robin"), ("robin", "robin")]),
    ([4, 4, 3], [("neumann", "robin"), ("dirichlet", "neumann"), ("periodic", "periodic")]),
    ([4, 4, 3], [("robin", "robin"), ("robin", "robin"), ("robin", "robin")]),
]


def errors_over_levels(cells, kinds, method, levels, shift=0.5, k=1.3):
    hs, errs = [], []
    for level in range(levels):
        p2, sol = build_problem([c * 2**level for c in cells], kinds, shift=shift, k=k)
        p = Problem(p2.grid, p2.source, p2.shift, p2.coefficient, order=4)
        s = solve(p, method, rtol=1e-13)
        assert s.report.converged
        e = s.u - sol.u(*np.meshgrid(*p.grid.nodes, indexing="ij"))
        if p.singular:  # the exact solution's weighted mean is not zero: compare without it
            w = p.weights()
            e -= float(np.sum(w * p.grid.from_nodes(e)) / w.sum())
        hs.append(max(a.h for a in p.grid.axes))
        errs.append(float(np.abs(e).max()))
    return hs, errs


@pytest.mark.parametrize("method", ["auto", "cg"])
@pytest.mark.parametrize(
    ("cells", "kinds"),
    ORDER_CASES,
    ids=["-".join(k[0][0] + k[1][0] for k in c[1]) for c in ORDER_CASES],
)
def test_grid_convergence_is_fourth_order(cells, kinds, method):
    levels = 4 if len(cells) < 3 else 3
    hs, errs = errors_over_levels(cells, kinds, method, levels)
    assert errs[-1] > 1e-11  # above rounding: the sequence measures the scheme
    assert 3.7 <= observed_order(hs, errs) <= 4.3, errs
    assert 3.7 <= math.log2(errs[-2] / errs[-1]) <= 4.3, errs


def test_pure_neumann_problem_is_fourth_order():
    """Singular (c = 0): the solution of zero weighted mean, compared after removing the mean."""
    hs, errs = errors_over_levels([6, 5], [("neumann", "neumann")] * 2, "auto", 4, shift=0.0)
    assert 3.7 <= observed_order(hs, errs) <= 4.3, errs


EXACT = "cos(1.3*x + 0.3)*cos(0.9*y + 0.5)*exp(0.4*z)"


def expression_problem(cells, kind: str) -> Problem:
    """u = cos(1.3x+0.3) cos(0.9y+0.5) e^{0.4z} with every datum an expression string."""
    u = EXACT
    du = {
        "x": "-1.3*sin(1.3*x + 0.3)*cos(0.9*y + 0.5)*exp(0.4*z)",
        "y": "-0.9*cos(1.3*x + 0.3)*sin(0.9*y + 0.5)*exp(0.4*z)",
        "z": "0.4*" + u,
    }
    boundary = {}
    for axis in "xyz":
        for side, sign in (("min", "-"), ("max", "")):
            if kind == "neumann":
                boundary[axis + side] = Neumann(f"{sign}({du[axis]})")
            else:
                boundary[axis + side] = Robin(2.0, 0.5, f"2*({u}) + 0.5*{sign}({du[axis]})")
    grid = Grid.box(cells, upper=[1.0, 1.2, 0.9], boundary=boundary)
    lam = 1.3**2 + 0.9**2 - 0.4**2
    return Problem(grid, f"({lam} + 0.6)*{u}", shift=0.6, order=4)


@pytest.mark.parametrize("kind", ["neumann", "robin"])
def test_expression_data_are_differentiated_symbolically(kind):
    """3-D, every face an expression: the symbolic derivatives give fourth order too."""
    from kronpde.expr.expression import parse_expression

    exact = parse_expression(EXACT, dimension=3)
    hs, errs = [], []
    for m in (4, 8, 16):
        p = expression_problem([m, m, m], kind)
        s = solve(p, "auto", rtol=1e-13)
        e = s.u - exact.evaluate(np.meshgrid(*p.grid.nodes, indexing="ij", sparse=True))
        hs.append(p.grid.axes[1].h)
        errs.append(float(np.abs(e).max()))
    assert 3.7 <= observed_order(hs, errs) <= 4.3, errs


def test_array_callable_and_expression_data_give_the_same_scheme():
    """The derivatives of nodal arrays and callables (differences) agree with the symbolic ones."""
    p_expr = expression_problem([8, 8, 8], "robin")
    grid = p_expr.grid
    x = grid.node_coordinates()
    f_nodes = p_expr.source.evaluate(x)
    as_callable = Problem(grid, lambda *c: p_expr.source.evaluate(list(c)), 0.6, order=4)
    as_array = Problem(grid, f_nodes, 0.6, order=4)
    b = p_expr.rhs()
    for other in (as_callable, as_array):
        diff = np.abs(other.rhs() - b).max()
        assert 0 < diff < 2e-3 * np.abs(b).max()  # only f's normal derivatives differ: O(h²) h
    # the face data as arrays on their nodes
    boundary = {}
    for i, axis in enumerate(grid.axes):
        for side, bc in ((0, axis.lower_bc), (1, axis.upper_bc)):
            values = np.squeeze(grid.face_data(i, side), axis=i)
            boundary["xyz"[i] + ("min", "max")[side]] = Robin(bc.alpha, bc.beta, values)
    arrays = Problem(
        Grid.box([8, 8, 8], upper=[1.0, 1.2, 0.9], boundary=boundary), f_nodes, 0.6, order=4
    )
    diff = np.abs(arrays.rhs() - b).max()
    assert 0 < diff < 2e-2 * np.abs(b).max()
    ref = solve(p_expr, "direct").u
    exact_err = np.abs(ref - p_expr.source.evaluate(x) / (1.3**2 + 0.9**2 - 0.16 + 0.6)).max()
    assert np.abs(solve(arrays, "direct").u - ref).max() < 5 * exact_err


# -- what order 4 refuses ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "words"),
    [
        (lambda: Problem(Grid.box([4, 4]), 1.0, order=3), "must be 2 or 4"),
        (lambda: Problem(Grid.box([4, 4]), 1.0, order=True), "must be 2 or 4"),
        (lambda: Problem(Grid.box([4, 4]), 1.0, coefficient="1 + x", order=4), "constant"),
        (
            lambda: Problem(Grid.box([4, 4], nodes=[[0, 0.1, 0.3, 0.6, 1.0], None]), order=4),
            "stretched",
        ),
    ],
)
def test_what_the_fourth_order_scheme_refuses(build, words):
    with pytest.raises(DataError, match=words) as info:
        build()
    assert info.value.subject == "order"


def test_petsc_backend_takes_order_4_and_without_petsc4py_says_how_to_install(monkeypatch):
    """The PETSc backend assembles the compact scheme (tests/test_petsc.py); without petsc4py
    the error is the install hint."""
    import sys

    for name in ("petsc4py", "petsc4py.PETSc", "mpi4py", "mpi4py.MPI"):
        monkeypatch.setitem(sys.modules, name, None)
    p = Problem(Grid.box([4, 4]), 1.0, order=4)
    with pytest.raises(SolverError, match="install-petsc.sh"):
        solve(p, backend="petsc")


def test_refined_problem_keeps_the_order():
    p = Problem(Grid.box([4, 4]), "x*y", order=4)
    assert p.refined(2).order == 4
    assert "order=4" in repr(p)


@pytest.mark.parametrize(
    ("kinds", "shift"),
    [
        ([("neumann", "neumann"), ("periodic", "periodic")], 0.0),  # singular
        ([("robin", "dirichlet"), ("neumann", "robin")], 0.3),
        ([("dirichlet", "neumann"), ("robin", "robin"), ("periodic", "periodic")], 0.3),
    ],
    ids=["singular", "robin-2d", "robin-3d"],
)
def test_every_method_solves_the_same_fourth_order_system(kinds, shift):
    cells = [10, 8] if len(kinds) == 2 else [6, 5, 6]
    p2, _ = build_problem(cells, kinds, shift=shift)
    p = Problem(p2.grid, p2.source, p2.shift, order=4)
    assert p.singular == (shift == 0.0)
    reference = solve(p, "direct").x
    methods = ["cg", "amg-cg", "fastdiag-cg"] + (["fastdiag"] if p.fast_diagonalizable else [])
    for method in methods:
        s = solve(p, method, rtol=1e-12)
        assert s.report.converged, method
        assert np.abs(s.x - reference).max() <= 1e-9 * np.abs(reference).max(), method
    if p.singular:
        assert abs(p.weighted_mean(reference)) < 1e-12


@pytest.mark.parametrize(
    ("source", "face", "subject", "words"),
    [
        ("sqrt(x)", 0.0, "source", "d/dn_x of the source"),
        (1.0, "sqrt(y)", "xmin", "d2/dy2 of face xmin's data"),
    ],
)
def test_a_derivative_that_is_not_finite_names_its_data(source, face, subject, words):
    grid = Grid.box([8, 8], boundary={"xmin": Neumann(face)})
    with pytest.raises(DataError, match="the fourth-order scheme needs") as info:
        Problem(grid, source, order=4)
    assert info.value.subject == subject
    assert words in str(info.value)
    Problem(grid, source)  # order 2 needs no derivative


# -- the apply and |A| in fewer passes: the same values as the term-by-term formulas --------
def _apply_term_by_term(scheme, x):
    """``A x`` as CompactOperator computed it before it skipped 0 x and factors of 1."""
    from kronpde.operators.compact import apply_axis

    ops, a, c, d = scheme.ops, scheme.a, scheme.shift, len(scheme.ops)
    X = x.reshape(scheme.shape)
    Y = np.multiply(X, c)
    t = [apply_axis(ops[j], X, j, np.empty_like(X), np.empty_like(X)) for j in range(1, d)]
    for i in range(d):
        if i == d - 1 and d > 1:
            Y += t[i - 1] * (1.0 - c * a[i])
            continue
        z = X * (1.0 - c * a[i])
        for j in range(i + 1, d):
            z -= t[j - 1] * (a[i] + a[j])
        Y += apply_axis(ops[i], z, i, np.empty_like(X), np.empty_like(X))
    return Y.reshape(-1)


def _absolute_term_by_term(scheme, x):
    """``|P|(|T|) x`` term by term, from the dense ``|T_i|`` (no Robin face)."""
    ops = [np.abs(op.todense()) for op in scheme.ops]
    a, c, d = scheme.a, scheme.shift, len(scheme.ops)
    X = x.reshape(scheme.shape)

    def along(m, v, i):
        return np.moveaxis(np.tensordot(m, v, axes=([1], [i])), 0, i)

    Y = abs(c) * X
    for i in range(d):
        z = abs(1.0 - c * a[i]) * X
        for j in range(i + 1, d):
            z = z + (a[i] + a[j]) * along(ops[j], X, j)
        Y = Y + along(ops[i], z, i)
    return Y.reshape(-1)


@pytest.mark.parametrize("shift", [0.0, 0.8])
@pytest.mark.parametrize(
    ("cells", "boundary"),
    [
        ([12, 10], {"ymax": Neumann(0.5)}),
        ([8, 6, 7], {"xmin": Neumann(), "zmax": Periodic(), "zmin": Periodic()}),
        ([9], None),
    ],
)
def test_apply_and_absolute_in_fewer_passes_equal_the_term_by_term_forms(cells, boundary, shift):
    p = Problem(Grid.box(cells, boundary=boundary), 1.0, order=4, shift=shift)
    scheme = p.discretisation.scheme
    assert not scheme.robin
    x = np.random.default_rng(3).standard_normal(p.size)
    y = p.linear_operator().matvec_into(x, np.empty(p.size))
    np.testing.assert_array_equal(y, _apply_term_by_term(scheme, x))  # bit for bit
    absolute = p.discretisation.absolute_operator()
    ax = absolute.apply(np.abs(x), np.empty(p.size))
    ref = _absolute_term_by_term(scheme, np.abs(x))
    np.testing.assert_allclose(ax, ref, rtol=1e-14, atol=0)
    assert np.all(ax >= 0.0)


@pytest.mark.parametrize(
    ("cells", "boundary"),
    [
        ([300, 260], {"ymax": Robin(1.5, 0.7, 0.0), "xmin": Neumann()}),
        ([40, 6, 30], {"xmin": Robin(1.5, 0.7, 0.0), "zmax": Periodic(), "zmin": Periodic()}),
    ],
)
def test_diagonal_by_blocks_equals_the_whole_products(cells, boundary):
    from kronpde.operators.compact import _bshape

    p = Problem(Grid.box(cells, boundary=boundary), 1.0, order=4, shift=0.3)
    scheme = p.discretisation.scheme
    assert scheme.robin
    d = len(scheme.ops)
    expected = np.zeros(scheme.shape)
    for coef, factors in scheme.terms():  # the products formed whole, as before
        part = coef
        for i, f in factors.items():
            if isinstance(f, tuple):
                e = np.zeros(scheme.shape[i])
                e[f[1]] = 1.0
                part = part * e.reshape(_bshape(d, i, e.size))
            else:
                part = part * f.diag.reshape(_bshape(d, i, f.n))
        expected += part
    np.testing.assert_array_equal(scheme.diagonal(), expected)
    np.testing.assert_array_equal(p.diagonal(), p.operator().diagonal())


@pytest.mark.parametrize("shape", [(600, 500), (70, 60, 80), (1, 300000)])
def test_apply_axis_in_two_threads_equals_one_thread(shape):
    from kronpde import Axis
    from kronpde.operators import compact
    from kronpde.operators.stencils import second_difference

    x = np.random.default_rng(5).standard_normal(shape)
    assert x.size >= compact.THREADED_SIZE
    for axis, n in enumerate(shape):
        op = second_difference(Axis(n, upper_bc=Neumann()))
        assert op.n == n
        want = compact._apply_axis_whole(op, x, axis, np.empty(shape), np.empty(shape))
        got = compact.apply_axis(op, x, axis, np.empty(shape), np.empty(shape))
        np.testing.assert_array_equal(got, want)
