"""Variable coefficient ``-div(k grad u) + c u = f``: operator, accuracy, fastdiag-cg, the methods.

Anchors: the constant-coefficient operator (``k`` constant must give exactly
``k`` times it), the operator built independently with Kronecker products
(``W A = sum_i D_iᵀ K_i D_i``, ``tests/reference_operators.py``), manufactured
solutions with the right-hand side differentiated by hand, scipy's ``spsolve``,
and the conjugate-gradient bound ``iterations <= sqrt(kappa)/2 ln(2/rtol)``
with ``kappa <= k_max/k_min``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse.linalg as sla
from conftest import manufactured, observed_order, reference_solve
from reference_operators import weighted_operator

from kronpde import Dirichlet, Grid, Neumann, Periodic, Problem, Robin
from kronpde.errors import DataError, OptionError, SolverError
from kronpde.geometry.grid import stretched_nodes
from kronpde.operators.stencils import harmonic_mean
from kronpde.solvers import prepare, solve
from kronpde.solvers.fastdiag import FastDiagSolver

TWO_PI = 2.0 * math.pi


def k_issue(*x):
    """The issue's ``k = 1 + 0.5 sin(2 pi x) cos(pi y)`` (times ``1 + 0.2 sin z`` in 3-D)."""
    k = 1.0 + 0.5 * np.sin(TWO_PI * x[0]) * np.cos(math.pi * x[1])
    return k * (1.0 + 0.2 * np.sin(x[2])) if len(x) > 2 else k


def dk_issue(i, *x):
    """``d k_issue / d x_i`` by hand."""
    a = 0.5 * np.sin(TWO_PI * x[0]) * np.cos(math.pi * x[1])
    if i == 0:
        g = 0.5 * TWO_PI * np.cos(TWO_PI * x[0]) * np.cos(math.pi * x[1])
    elif i == 1:
        g = -0.5 * math.pi * np.sin(TWO_PI * x[0]) * np.sin(math.pi * x[1])
    else:
        g = 0.0 * x[0]
    if len(x) > 2:
        z = 1.0 + 0.2 * np.sin(x[2])
        return g * z if i < 2 else (1.0 + a) * 0.2 * np.cos(x[2])
    return g


def k_periodic_y(*x):
    """A ``k`` that is periodic in ``y`` on ``[0, 1]``."""
    return 1.0 + 0.5 * np.sin(TWO_PI * x[0]) * np.cos(TWO_PI * x[1])


def dk_periodic_y(i, *x):
    if i == 0:
        return 0.5 * TWO_PI * np.cos(TWO_PI * x[0]) * np.cos(TWO_PI * x[1])
    return -0.5 * TWO_PI * np.sin(TWO_PI * x[0]) * np.sin(TWO_PI * x[1])


def variable_problem(cells, kinds, k, dk, upper=None, shift=0.0, nodes=None):
    """A problem whose exact solution is conftest's manufactured ``u``.

    ``f = -div(k grad u) + c u = -sum_i dk_i du_i + k |w|² u + c u`` for
    ``u = prod cos(w_i x_i + p_i)``; the boundary data are those of ``u``.
    """
    d = len(cells)
    upper = list(upper or [1.0] * d)
    sol = manufactured(d, kinds, upper)
    lam = sum(w * w for w in sol.omega)
    boundary = {}
    for i in range(d):
        for side in (0, 1):
            boundary["xyz"[i] + ("min", "max")[side]] = sol.condition(kinds[i][side], i, side)

    def f(*x):
        out = (k(*x) * lam + shift) * sol.u(*x)
        for i in range(d):
            out = out - dk(i, *x) * sol.du(i, *x)
        return out

    grid = Grid.box(cells, upper=upper, boundary=boundary, nodes=nodes)
    return Problem(grid, f, shift, coefficient=k), sol


def max_error(problem, sol, u_nodes) -> float:
    exact = np.broadcast_to(sol.u(*problem.grid.node_coordinates()), problem.grid.node_shape)
    return float(np.max(np.abs(u_nodes - exact)))


def faces(kind_pairs, d):
    """Conditions with made-up data for operator comparisons."""
    data = {"D": Dirichlet(0.3), "N": Neumann(-0.2), "R": Robin(1.5, 0.5, 0.1)}
    out = {}
    for i, pair in enumerate(kind_pairs[:d]):
        for side, c in enumerate(pair):
            out["xyz"[i] + ("min", "max")[side]] = Periodic() if c == "P" else data[c]
    return out


SETUPS = ["DD", "NN", "RR", "DN", "NR", "PP"]


# -- the operator -----------------------------------------------------------------
@pytest.mark.parametrize("x_kind", SETUPS)
@pytest.mark.parametrize("y_kind", ["DR", "PP", "NN"])
def test_constant_k_gives_k_times_the_constant_operator(x_kind, y_kind):
    grid = Grid.box([5, 4], upper=[1.0, 2.5], boundary=faces([x_kind, y_kind], 2))
    k = 0.37
    const = Problem(grid, source=lambda x, y: np.sin(x) + y, shift=0.4, coefficient=k)
    var = Problem(
        grid, source=lambda x, y: np.sin(x) + y, shift=0.4, coefficient=lambda x, y: k + 0 * x
    )
    assert var.variable_coefficient
    assert not const.variable_coefficient
    for symmetric in (False, True):
        ref = const.operator(symmetric).toarray()
        scale = np.max(np.abs(ref))
        assembled = var.operator(symmetric).toarray()  # bands of the row coefficients
        free = var.linear_operator(symmetric) @ np.eye(var.size)  # row formulas, matrix-free
        np.testing.assert_allclose(assembled, ref, rtol=0, atol=4e-16 * scale)
        np.testing.assert_allclose(free, ref, rtol=0, atol=4e-16 * scale)
    np.testing.assert_allclose(var.rhs(), const.rhs(), rtol=1e-15, atol=1e-15)


@pytest.mark.parametrize("kinds", [["DN", "RR", "PP"], ["NN", "NN", "NN"], ["RD", "DD", "NR"]])
def test_assembly_matrix_free_and_symmetry_agree_in_3d(kinds, rng):
    grid = Grid.box([4, 5, 3], upper=[1.0, 1.3, 0.7], boundary=faces(kinds, 3))
    kn = np.exp(rng.uniform(-1.0, 1.0, grid.node_shape))
    p = Problem(grid, source=1.0, shift=0.2, coefficient=kn)
    for symmetric in (False, True):
        a = p.operator(symmetric).toarray()
        free = p.linear_operator(symmetric) @ np.eye(p.size)
        np.testing.assert_allclose(free, a, rtol=1e-13, atol=1e-13 * np.max(np.abs(a)))
    a_hat = p.operator(symmetric=True).toarray()
    np.testing.assert_allclose(a_hat, a_hat.T, rtol=1e-13, atol=1e-13 * np.max(np.abs(a_hat)))
    wa = weighted_operator(grid, kn, shift=0.2).toarray()  # from Kronecker products
    w = p.weights().reshape(-1)
    np.testing.assert_allclose(wa, w[:, None] * p.operator().toarray(), rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(p.weighted_operator().toarray(), wa, rtol=1e-12, atol=1e-10)
    x, y = rng.standard_normal((2, p.size))  # adjoint (dot) test of the matrix-free A
    op = p.linear_operator()
    assert y @ op.matvec(x) == pytest.approx(op.rmatvec(y) @ x, rel=1e-12)
    assert np.all(np.linalg.eigvalsh(a_hat) > 0)


@pytest.mark.parametrize("x_kind", SETUPS)
@pytest.mark.parametrize("y_kind", ["DR", "PP", "RN"])
@pytest.mark.parametrize("stretched", [False, True])
def test_weighted_operator_equals_the_kronecker_product_reference(x_kind, y_kind, stretched, rng):
    nodes = [stretched_nodes(6, 0.0, 1.0, "tanh", 1.5), None] if stretched else None
    grid = Grid.box([6, 5], upper=[1.0, 1.7], boundary=faces([x_kind, y_kind], 2), nodes=nodes)
    kn = np.exp(rng.uniform(-1.0, 1.0, grid.node_shape))
    p = Problem(grid, source=1.0, shift=0.3, coefficient=kn)
    ref = weighted_operator(grid, kn, shift=0.3)
    scale = abs(ref).max()
    assert abs(p.weighted_operator() - ref).max() <= 1e-13 * scale
    # and the symmetric Â = W^{-1/2} (W A) W^{-1/2}, assembled and matrix-free
    s = np.sqrt(grid.weights().reshape(-1))
    a_hat = ref.toarray() / s[:, None] / s[None, :]
    np.testing.assert_allclose(p.operator(True).toarray(), a_hat, rtol=0, atol=1e-13 * scale)
    x = rng.standard_normal(p.size)
    out = np.empty_like(x)
    p.linear_operator(True).matvec_into(x, out)
    np.testing.assert_allclose(out, a_hat @ x, rtol=0, atol=1e-12 * scale * np.abs(x).max())


def test_matrix_free_blocks_of_one_plane_equal_csr(rng, monkeypatch):
    """The shared blocking with one plane per block: couplings across blocks, wraps on axis 0."""
    import kronpde.operators.banded as banded_module

    monkeypatch.setattr(banded_module, "BLOCK_BYTES", 8)
    for kinds in (["PP", "NR", "DD"], ["RN", "PP", "DN"]):
        grid = Grid.box([5, 4, 3], upper=[1.0, 1.3, 0.7], boundary=faces(kinds, 3))
        kn = np.exp(rng.uniform(-1.0, 1.0, grid.node_shape))
        p = Problem(grid, source=1.0, shift=0.2, coefficient=kn)
        for symmetric in (False, True):
            op = p.linear_operator(symmetric)
            x = rng.standard_normal(p.size)
            ref = p.operator(symmetric) @ x
            np.testing.assert_allclose(op.matvec(x), ref, rtol=0, atol=1e-12 * np.abs(ref).max())
            ref_t = p.operator(symmetric).T @ x
            np.testing.assert_allclose(
                op.rmatvec(x), ref_t, rtol=0, atol=1e-12 * np.abs(ref_t).max()
            )


def test_one_dimensional_rows_by_hand():
    # nodes 0, 1/3, 2/3, 1; Dirichlet left, Neumann right; k at the nodes
    grid = Grid.box([3], boundary={"xmin": Dirichlet(2.0), "xmax": Neumann(0.5)})
    kn = np.array([1.0, 3.0, 2.0, 4.0])
    p = Problem(grid, source=0.0, coefficient=kn)
    h = 1.0 / 3.0
    kh = [2 * a * b / (a + b) for a, b in zip(kn[:-1], kn[1:], strict=True)]  # harmonic
    expected = np.array(
        [
            [kh[0] + kh[1], -kh[1], 0.0],
            [-kh[1], kh[1] + kh[2], -kh[2]],
            [0.0, -2 * kh[2], 2 * kh[2]],  # half cell at the Neumann node
        ]
    ) / (h * h)
    np.testing.assert_allclose(p.operator().toarray(), expected, rtol=1e-14)
    b = p.rhs()
    np.testing.assert_allclose(b, [kh[0] / h**2 * 2.0, 0.0, 2.0 * 4.0 * 0.5 / h], rtol=1e-14)


def test_harmonic_mean_is_exact_for_equal_values_and_a_series_conductance():
    a = np.array([0.1, 3.7, 1e-8])
    np.testing.assert_array_equal(harmonic_mean(a, a), a)
    assert harmonic_mean(np.array(1.0), np.array(3.0)) == pytest.approx(1.5, rel=1e-15)


# -- accuracy ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "kinds",
    [
        [("dirichlet", "dirichlet"), ("dirichlet", "dirichlet")],
        [("dirichlet", "neumann"), ("robin", "dirichlet")],
        [("neumann", "robin"), ("neumann", "dirichlet")],
    ],
)
def test_second_order_in_2d(kinds):
    errors, hs = [], []
    for m in (16, 32, 64):
        p, sol = variable_problem([m, m], kinds, k_issue, dk_issue, shift=0.5)
        u = solve(p, "direct").u
        errors.append(max_error(p, sol, u))
        hs.append(1.0 / m)
    assert 1.8 <= observed_order(hs, errors) <= 2.3
    assert errors[-1] < 5e-3


def test_second_order_with_a_periodic_axis_and_pure_neumann():
    for kinds, shift in (
        ([("dirichlet", "robin"), ("periodic", "periodic")], 0.0),
        ([("neumann", "neumann"), ("periodic", "periodic")], 1.0),
    ):
        errors, hs = [], []
        for m in (16, 32, 64):
            p, sol = variable_problem([m, m], kinds, k_periodic_y, dk_periodic_y, shift=shift)
            u = solve(p, "fastdiag-cg", rtol=1e-12).u
            errors.append(max_error(p, sol, u))
            hs.append(1.0 / m)
        assert 1.8 <= observed_order(hs, errors) <= 2.3


@pytest.mark.parametrize("stretched", [False, True])
def test_second_order_in_3d(stretched):
    kinds = [("dirichlet", "neumann"), ("robin", "dirichlet"), ("dirichlet", "dirichlet")]
    errors, hs = [], []
    for m in (8, 16, 32):
        nodes = [stretched_nodes(m, 0.0, 1.0, "tanh", 1.5), None, stretched_nodes(m)]
        nodes = nodes if stretched else None
        p, sol = variable_problem([m, m, m], kinds, k_issue, dk_issue, nodes=nodes)
        sol_h = solve(p, rtol=1e-11)
        assert sol_h.report.method == "fastdiag-cg"
        errors.append(max_error(p, sol, sol_h.u))
        hs.append(1.0 / m)
    assert 1.8 <= observed_order(hs, errors) <= 2.3


# -- fastdiag-cg -------------------------------------------------------------------
def _cg_bound(kappa: float, rtol: float) -> float:
    """CG's classical iteration bound ``sqrt(kappa)/2 ln(2/rtol)``."""
    return 0.5 * math.sqrt(kappa) * math.log(2.0 / rtol)


def test_fastdiag_cg_iterations_are_bounded_under_refinement(rng):
    counts = []
    for m in (32, 64, 128, 256):
        grid = Grid.box([m, m], boundary={"xmax": Neumann(0.0)})
        p = Problem(grid, source=1.0, coefficient=k_issue)
        b = rng.standard_normal(p.size)
        prepared = prepare(p, "fastdiag-cg")
        rep = prepared.solve(b, rtol=1e-8).report
        assert rep.converged
        assert rep.relative_residual <= 1e-8
        counts.append(rep.iterations)
        contrast = prepared.backend.contrast
    # k in [0.5, 1.5] at most: contrast <= 3, and the count does not grow with the grid
    assert contrast <= 3.0
    assert max(counts) <= 1.2 * _cg_bound(3.0, 1e-8) + 2  # 21.8; measured 15
    assert max(counts) - min(counts) <= 2, counts


def test_fastdiag_cg_iterations_grow_with_the_contrast(rng):
    counts = []
    contrasts = (2.0, 10.0, 100.0)
    for contrast in contrasts:
        a = math.log(contrast) / 2.0

        def k(x, y, a=a):
            return np.exp(a * np.sin(TWO_PI * x) * np.sin(TWO_PI * y))

        p = Problem(Grid.box([64, 64]), source=1.0, coefficient=k)
        b = rng.standard_normal(p.size)
        rep = prepare(p, "fastdiag-cg").solve(b, rtol=1e-8).report
        assert rep.converged
        counts.append(rep.iterations)
        assert rep.iterations <= 1.2 * _cg_bound(contrast, 1e-8) + 2
    assert counts[0] < counts[1] < counts[2], counts  # measured 11, 29, 95
    assert counts[2] >= 2.5 * counts[0]


def test_scaled_approximation_helps_smooth_high_contrast(rng):
    def k(x, y):
        return np.exp(math.log(100.0) / 2 * np.sin(TWO_PI * x) * np.sin(TWO_PI * y))

    p = Problem(Grid.box([64, 64]), source=1.0, coefficient=k)
    b = rng.standard_normal(p.size)
    mean = prepare(p, "fastdiag-cg").solve(b, rtol=1e-8)
    scaled = prepare(p, "fastdiag-cg", options={"approximation": "scaled"}).solve(b, rtol=1e-8)
    assert mean.report.converged
    assert scaled.report.converged
    assert scaled.report.iterations * 3 < mean.report.iterations  # measured 14 vs 95
    np.testing.assert_allclose(scaled.x, mean.x, rtol=0, atol=1e-6 * np.max(np.abs(mean.x)))


@pytest.mark.parametrize("approximation", ["mean", "scaled"])
def test_preconditioner_equals_its_formula_bit_for_bit(approximation, rng):
    # M r = S^{-1} D A_0^{-1} D^{-1} S^{-1} r as the scalings were built before "mean" made
    # no arrays for S = I: 1 / (D S) and D / S, with S = 1 for "mean"
    from kronpde.solvers.fastdiag_pc import FastDiagPreconditioner

    boundary = {"xmin": Neumann(0.0), "ymax": Robin(1.0, 2.0, 0.1)}  # D varies
    p = Problem(Grid.box([24, 20], boundary=boundary), 1.0, coefficient=lambda x, y: 1 + x * y)
    m = FastDiagPreconditioner.from_problem(p, approximation=approximation)
    d = p.symmetric_scale
    k = p.coefficient_values()[p.grid.unknown_index].reshape(-1)
    s = np.ones_like(d) if approximation == "mean" else np.sqrt(k / m.reference_k)
    r = rng.standard_normal(p.size)
    expected = m.solver.solve(r * (1.0 / (d * s))) * (d / s)
    assert np.ptp(d) > 0.0
    np.testing.assert_array_equal(m.matvec(r), expected)


def test_fastdiag_cg_is_exact_in_one_iteration_for_constant_k():
    p = Problem(Grid.box([20, 12], boundary={"ymin": Robin(1.0, 2.0, 0.1)}), 1.0, coefficient=2.5)
    rep = solve(p, "fastdiag-cg", rtol=1e-10).report
    assert rep.iterations == 1
    assert rep.converged


# -- every method ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("boundary", "shift"),
    [
        ({"xmin": Dirichlet(1.0), "xmax": Robin(2.0, 1.0, -0.5), "ymin": Neumann(0.25)}, 0.0),
        (Neumann(0.2), 0.0),  # pure Neumann: singular, incompatible data projected
        ({"xmin": Periodic(), "xmax": Periodic(), "ymax": Neumann(0.0)}, 0.7),
    ],
)
def test_all_methods_agree_with_spsolve_on_variable_k(boundary, shift):
    grid = Grid.box([20, 14], upper=[1.0, 0.8], boundary=boundary)
    p = Problem(grid, lambda x, y: np.cos(3 * x) + y, shift, coefficient=k_periodic_y)
    ref = reference_solve(p)
    scale = np.max(np.abs(ref))
    for method in ("fastdiag-cg", "amg-cg", "cg", "direct", "auto"):
        sol = solve(p, method, rtol=1e-11)
        assert sol.report.converged, method
        np.testing.assert_allclose(sol.x, ref, rtol=0, atol=1e-8 * scale, err_msg=method)
    assert solve(p).report.method == "fastdiag-cg"
    assert "varies in space" in solve(p).report.reason


def test_fastdiag_refuses_variable_k_with_a_clear_error():
    p = Problem(Grid.box([8, 8]), source=1.0, coefficient=k_issue)
    with pytest.raises(SolverError, match="varies in space.*fastdiag-cg"):
        solve(p, "fastdiag")
    with pytest.raises(SolverError, match="varies in space"):
        FastDiagSolver.from_problem(p)
    with pytest.raises(OptionError, match="approximation"):
        prepare(p, "fastdiag-cg", options={"approximation": "median"})


def test_coefficient_must_be_positive_and_finite_at_every_node():
    # at every node a flux reads: (0, 0) is an unknown here (a formula k is not read at a
    # Dirichlet node, test_product_k.py)
    grid = Grid.box(
        [4, 4],
        boundary={"xmin": Neumann(0.0), "xmax": Dirichlet(0.0), "ymin": Neumann(0.0),
                  "ymax": Dirichlet(0.0)},
    )  # fmt: skip
    with pytest.raises(DataError, match=r"> 0 at every node.*k = -0\.5 at \(0, 0\)"):
        Problem(grid, coefficient=lambda x, y: x + y - 0.5)
    with pytest.raises(DataError, match="not finite"):
        Problem(grid, coefficient=lambda x, y: 1.0 / (x * y))
    with pytest.raises(DataError, match="node shape"):
        Problem(grid, coefficient=np.ones((4, 4)))
    k = Problem(grid, coefficient=lambda x, y: 1.0 + x * y).coefficient_values()
    np.testing.assert_allclose(k[4, 4], 2.0)
    # the spsolve of the assembled operator is the discrete solution the methods approach
    p = Problem(grid, source=1.0, coefficient=lambda x, y: 1.0 + x * y)
    np.testing.assert_allclose(
        solve(p, "direct").x, sla.spsolve(p.operator().tocsc(), p.rhs()), rtol=1e-12
    )


def test_docstring_examples_run():
    import doctest
    import importlib

    for name in ("kronpde.operators.flux", "kronpde.solvers.fastdiag_pc", "kronpde.geometry.grid"):
        module = importlib.import_module(name)
        result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.attempted >= 2, name
        assert result.failed == 0, name


def test_fastdiag_cg_contrast_counts_the_boundary_faces_k_of_cell_centred_axes(rng):
    # k = 0.05 on the face x = 0 and about 1 at every cell centre: the face's flux is one
    # of the operator's coefficients, so it belongs to the contrast that bounds the
    # condition number; the iterations stay within CG's bound for that contrast
    def k(x, y):
        return 0.05 + np.tanh(200.0 * x) * (1.0 + 0.0 * y)

    g = Grid.box([48, 40], boundary=Dirichlet(0.0), centering="cell")
    p = Problem(g, source=1.0, coefficient=k)
    centres = p.coefficient_values()
    faces = p.face_coefficient_values()
    assert float(np.min(faces[(0, 0)])) == pytest.approx(0.05)
    assert float(np.min(centres)) > 0.9  # every centre is at x >= h/2, where tanh ~ 1
    prepared = prepare(p, "fastdiag-cg")
    expected = max(np.max(centres), *(np.max(f) for f in faces.values())) / 0.05
    assert prepared.backend.contrast == pytest.approx(expected)
    rep = prepared.solve(rng.standard_normal(p.size), rtol=1e-8).report
    assert rep.converged
    assert rep.iterations <= 1.2 * _cg_bound(prepared.backend.contrast, 1e-8) + 2
