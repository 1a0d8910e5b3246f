"""Fast diagonalization: exactness against scipy, closed-form eigenpairs, orders, singular data."""

from __future__ import annotations

import doctest
import math
import os

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as sla
from conftest import build_problem, observed_order, peak_bytes, reference_solve
from scipy.sparse.linalg import LaplacianNd

import kronpde.solvers.fastdiag as fastdiag_module
from kronpde import Axis, AxisOperator, Dirichlet, Grid, Neumann, Periodic, Problem, Robin
from kronpde.errors import SolverError
from kronpde.operators.kronsum import assemble
from kronpde.operators.stencils import second_difference
from kronpde.solvers.fastdiag import FastDiagSolver

DD = ("dirichlet", "dirichlet")
NN = ("neumann", "neumann")
DN = ("dirichlet", "neumann")
ND = ("neumann", "dirichlet")
PP = ("periodic", "periodic")
RR = ("robin", "robin")
RD = ("robin", "dirichlet")
NR = ("neumann", "robin")

#: the method each axis kind must get
METHOD = {
    DD: "dst1",
    NN: "dct1",
    DN: "dst3",
    ND: "dct3",
    PP: "fft",
    RR: "eigh",
    RD: "eigh",
    NR: "eigh",
}
CELLS = {1: (7,), 2: (6, 5), 3: (5, 4, 3)}

# (kinds per axis, shift, coefficient k)
SYSTEMS = [
    ([DD], 0.0, 1.0),
    ([NN], 0.0, 1.0),
    ([DN], 0.0, 2.5),
    ([ND], 1.5, 1.0),
    ([PP], 0.0, 1.0),
    ([RR], 0.0, 0.7),
    ([DD, NN], 0.0, 1.0),
    ([PP, DN], 2.0, 1.3),
    ([ND, RR], 0.0, 1.0),
    ([NN, PP], 0.0, 0.6),
    ([PP, PP], 0.0, 1.0),
    ([NN, NN], 3.0, 1.0),
    ([DD, DN, PP], 0.0, 1.0),
    ([NN, NN, NN], 0.0, 1.7),
    ([NN, PP, NN], 0.0, 1.0),
    ([RR, ND, PP], 0.5, 1.0),
    ([DN, RD, NR], 0.0, 2.0),
    ([PP, RR, RD], 0.0, 1.0),
    ([PP, PP, PP], 1.0, 0.9),
    ([ND, DD, DN], 0.0, 1.0),
]


def _id(system):
    kinds, shift, k = system
    name = "-".join(a[0] + b[0] for a, b in kinds)
    return f"{len(kinds)}d-{name}-c{shift:g}-k{k:g}"


def _relative_residual(problem, u):
    a = problem.operator()
    b = problem.rhs()
    if problem.singular:  # the system actually solved: b projected onto the range of A
        w = problem.weights().reshape(-1)
        b = b - (w @ b) / w.sum()
    return np.linalg.norm(b - a @ u) / np.linalg.norm(b)


# -- exactness -----------------------------------------------------------------------------
MODES = {  # how the axes are applied: keyword arguments of FastDiagSolver
    "transform": {"kernels": "transform"},
    "gemm": {"kernels": "gemm"},
    "eigh": {"force_eigh": True},
}


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("system", SYSTEMS, ids=[_id(s) for s in SYSTEMS])
def test_solution_equals_sparse_direct(system, mode):
    kinds, shift, k = system
    problem, _ = build_problem(CELLS[len(kinds)], kinds, shift=shift, k=k)
    solver = FastDiagSolver.from_problem(problem, **MODES[mode])
    methods = tuple("eigh" if mode == "eigh" else METHOD[x] for x in kinds)
    assert solver.axis_methods == methods
    expected_kernels = tuple(
        "gemm" if mode != "transform" or m == "eigh" else "transform" for m in methods
    )
    assert solver.axis_kernels == expected_kernels
    assert solver.singular == problem.singular
    assert solver.shape == problem.grid.shape
    assert solver.size == problem.size
    u = solver.solve(problem.rhs())
    assert _relative_residual(problem, u) <= 1e-10
    ref = reference_solve(problem)
    np.testing.assert_allclose(u, ref, rtol=0, atol=1e-10 * np.abs(ref).max())
    if problem.singular:
        w = problem.weights().reshape(-1)
        assert abs(w @ u) / w.sum() <= 1e-12 * np.abs(u).max()


def test_four_axes_mixing_every_method(rng):
    # x dst1, y eigh, z fft, w dct3: forward/backward ping-pong with a periodic axis in between
    axes = [
        Axis(5, 0.0, 1.0, Dirichlet(), Dirichlet()),
        Axis(4, 0.0, 0.8, Robin(1.0, 2.0), Neumann()),
        Axis(6, 0.0, 1.2, Periodic(), Periodic()),
        Axis(3, 0.0, 0.5, Neumann(), Dirichlet()),
    ]
    problem = Problem(Grid(axes), source=0.0, shift=0.4)
    solver = FastDiagSolver.from_problem(problem)
    assert solver.axis_methods == ("dst1", "eigh", "fft", "dct3")
    b = rng.standard_normal(problem.size)
    u = solver.solve(b)
    ref = sla.spsolve(problem.operator().tocsc(), b)
    np.testing.assert_allclose(u, ref, rtol=0, atol=1e-10 * np.abs(ref).max())
    for mode in MODES:  # two or more GEMM axes with or without a periodic one, into out
        solver = FastDiagSolver.from_problem(problem, **MODES[mode])
        out = np.empty((problem.size,))
        assert solver.solve(b, out=out) is out
        np.testing.assert_allclose(out, ref, rtol=0, atol=1e-10 * np.abs(ref).max())


# -- closed-form 1-D eigenpairs ----------------------------------------------------------------
KIND_AXES = {
    "dst1": (Dirichlet(), Dirichlet()),
    "dct1": (Neumann(), Neumann()),
    "dst3": (Dirichlet(), Neumann()),
    "dct3": (Neumann(), Dirichlet()),
    "fft": (Periodic(), Periodic()),
}


# a Dirichlet-Dirichlet axis needs 2 cells to have an unknown
CLOSED_FORM_CASES = [
    (method, cells)
    for method in KIND_AXES
    for cells in (1, 2, 3, 8, 13)
    if not (method == "dst1" and cells < 2)
]


@pytest.mark.parametrize(("method", "cells"), CLOSED_FORM_CASES)
def test_closed_form_eigenvalues_equal_numpy(method, cells):
    lo, hi = KIND_AXES[method]
    axis = Axis(cells, 0.0, 0.7, lo, hi)
    op = second_difference(axis).scaled(1.9)  # k != 1: the scale is read from the operator
    solver = FastDiagSolver([op], axes=[axis])
    assert solver.axis_methods == (method,)
    t = op.todense()
    lam = solver.axis_eigenvalues(0)
    scale = max(np.abs(t).max(), 1.0)
    np.testing.assert_allclose(
        np.sort(lam), np.sort(np.linalg.eigvals(t).real), rtol=0, atol=1e-12 * scale
    )
    s = solver.axis_eigenvectors(0)
    np.testing.assert_allclose(t @ s, s * lam, rtol=0, atol=1e-11 * scale)
    w = op.weights
    np.testing.assert_allclose(s.T @ (w[:, None] * s), np.eye(op.n), rtol=0, atol=1e-12)
    # the same axis recognised from the operator alone (n = 1 is [2s] for every kind)
    assert FastDiagSolver([op]).axis_methods == (method if op.n > 1 or method == "fft" else "dst1",)
    np.testing.assert_allclose(FastDiagSolver([op]).axis_eigenvalues(0), lam, rtol=1e-15)


def test_eigh_eigenpairs_of_a_robin_axis():
    axis = Axis(6, 0.0, 1.0, Robin(2.0, 1.0), Neumann())
    op = second_difference(axis)
    solver = FastDiagSolver([op], axes=[axis])
    assert solver.axis_methods == ("eigh",)
    t = op.todense()
    lam = solver.axis_eigenvalues(0)
    np.testing.assert_allclose(lam, np.sort(np.linalg.eigvals(t).real), rtol=1e-12)
    s = solver.axis_eigenvectors(0)
    np.testing.assert_allclose(t @ s, s * lam, atol=1e-10 * np.abs(t).max())
    np.testing.assert_allclose(s.T @ (op.weights[:, None] * s), np.eye(op.n), atol=1e-12)


@pytest.mark.parametrize("system", SYSTEMS[12:17], ids=[_id(s) for s in SYSTEMS[12:17]])
def test_nd_eigenvectors(system):
    kinds, shift, k = system
    problem, _ = build_problem(CELLS[3], kinds, shift=shift, k=k)
    solver = FastDiagSolver.from_problem(problem)
    a = problem.operator()
    lam = solver.eigenvalues()
    assert lam.shape == problem.grid.shape
    np.testing.assert_allclose(
        np.sort(lam.ravel()),
        np.sort(np.linalg.eigvals(a.toarray()).real),
        rtol=0,
        atol=1e-10 * np.abs(lam).max(),
    )
    for index in [(0, 0, 0), (1, 2, 0), tuple(n - 1 for n in solver.shape)]:
        v = solver.eigenvector(index)
        assert v.shape == solver.shape
        np.testing.assert_allclose(
            a @ v.ravel(), lam[index] * v.ravel(), rtol=0, atol=1e-10 * np.abs(lam).max()
        )


@pytest.mark.parametrize("bc", ["dirichlet", "periodic"])
@pytest.mark.parametrize("shape", [(6,), (4, 5), (5, 4, 3)])
def test_eigenvalues_equal_scipy_laplacian_nd(shape, bc):
    # LaplacianNd is the negative Laplacian with h = 1: ours = -L.eigenvalues() / h².
    # Its "neumann" is the cell-centred operator (rows [1, -1]), not our vertex-centred one,
    # so only Dirichlet and periodic are compared.
    h = 0.25
    if bc == "dirichlet":
        cells = [n + 1 for n in shape]
        grid = Grid.box(cells, upper=[h * c for c in cells])
    else:
        grid = Grid.box(list(shape), upper=[h * n for n in shape], default=Periodic())
    solver = FastDiagSolver.from_problem(Problem(grid))
    theirs = -LaplacianNd(shape, boundary_conditions=bc).eigenvalues() / h**2
    np.testing.assert_allclose(
        np.sort(solver.eigenvalues().ravel()), np.sort(theirs), rtol=0, atol=1e-10 / h**2
    )


def test_scipy_neumann_laplacian_is_not_ours():
    m, h = 5, 0.25
    grid = Grid.box([m], upper=[m * h], default=Neumann())
    ours = FastDiagSolver.from_problem(Problem(grid)).axis_eigenvalues(0)
    theirs = np.sort(-LaplacianNd((m + 1,), boundary_conditions="neumann").eigenvalues())
    assert not np.allclose(np.sort(ours) * h**2, theirs)
    k = np.arange(m + 1)  # vertex-centred: θ = πk/m; scipy's cell-centred: πk/(m+1)
    np.testing.assert_allclose(theirs, 4 * np.sin(np.pi * k / (2 * (m + 1))) ** 2, atol=1e-12)


# -- recognition and fall-back ----------------------------------------------------------------
def test_non_matching_operators_fall_back_to_eigh(rng):
    axis = Axis(9, 0.0, 1.0, Dirichlet(), Dirichlet())
    op = second_difference(axis)
    # a non-uniform operator with the same boundary conditions (still symmetric)
    bumped = AxisOperator(
        op.diag * (1.0 + 0.1 * np.arange(op.n)), op.lower, op.upper, False, op.weights
    )
    periodic_axis = Axis(6, 0.0, 1.0, Periodic(), Periodic())
    solver = FastDiagSolver(
        [bumped, second_difference(periodic_axis)], 0.0, axes=[axis, periodic_axis]
    )
    assert solver.axis_methods == ("eigh", "fft")
    b = rng.standard_normal(solver.size)
    a = assemble([bumped, second_difference(periodic_axis)]).tocsc()
    u = solver.solve(b)
    np.testing.assert_allclose(a @ u, b, rtol=0, atol=1e-11 * np.abs(b).max())
    # Robin with alpha = 0 has the Neumann row: the cosine transform applies
    axis = Axis(5, 0.0, 1.0, Robin(0.0, 2.0), Neumann())
    assert FastDiagSolver([second_difference(axis)], axes=[axis]).axis_methods == ("dct1",)


def test_auto_kernels_avoid_awkward_transform_lengths(rng):
    # DST-I with n = 256 runs scipy.fft at length 2(n+1) = 514 = 2·257: the GEMM is used;
    # n = 255 (length 512) and short axes keep the transform
    cells = {256: 257, 255: 256, 20: 21}
    kernels = {}
    for n, m in cells.items():
        axis = Axis(m, 0.0, 1.0, Dirichlet(), Dirichlet())
        kernels[n] = FastDiagSolver([second_difference(axis)], axes=[axis]).axis_kernels
    assert kernels == {256: ("gemm",), 255: ("transform",), 20: ("transform",)}
    # closed-form eigenvectors as GEMM on a long periodic axis: same answer as rfft
    axes = [Axis(7, 0.0, 1.0, Dirichlet(), Dirichlet()), Axis(34, 0.0, 2.0, Periodic(), Periodic())]
    ops = [second_difference(a) for a in axes]
    b = rng.standard_normal((6, 34))
    u_gemm = FastDiagSolver(ops, 0.3, axes=axes, kernels="gemm").solve(b)
    u_fft = FastDiagSolver(ops, 0.3, axes=axes, kernels="transform").solve(b)
    np.testing.assert_allclose(u_gemm, u_fft, rtol=0, atol=1e-13 * np.abs(u_fft).max())
    with pytest.raises(ValueError, match="kernels"):
        FastDiagSolver(ops, kernels="blas")


def test_not_weight_symmetric_is_an_error():
    op = second_difference(Axis(4, 0.0, 1.0, Dirichlet(), Dirichlet()))
    upper = op.upper.copy()
    upper[0] *= 3.0
    with pytest.raises(SolverError, match="not symmetric"):
        FastDiagSolver([AxisOperator(op.diag, op.lower, upper, False, op.weights)])


# -- manufactured solutions: second order -------------------------------------------------
ORDER_KINDS = [DD, NN, DN, ND, PP, RR]
ORDER_CELLS = {  # build_problem's box is [0,1] x [0,1.5] x [0,2]: about equal spacing
    1: [(16,), (32,), (64,)],
    2: [(8, 12), (16, 24), (32, 48)],
    3: [(6, 9, 12), (12, 18, 24), (24, 36, 48)],
}


@pytest.mark.parametrize("kind", ORDER_KINDS, ids=lambda k: k[0] + k[1])
@pytest.mark.parametrize("dim", [1, 2, 3])
def test_manufactured_second_order(dim, kind):
    shift = 0.0 if kind in (NN, PP) else 1.0  # pure Neumann / periodic: the singular case
    hs, errs = [], []
    for cells in ORDER_CELLS[dim]:
        problem, sol = build_problem(cells, [kind] * dim, shift=shift, k=1.3)
        solver = FastDiagSolver.from_problem(problem)
        assert solver.singular == (shift == 0.0)
        u = solver.solve(problem.rhs())
        exact = sol.u(*problem.grid.unknown_coordinates()).reshape(-1)
        if solver.singular:
            w = problem.weights().reshape(-1)
            exact = exact - (w @ exact) / w.sum()
        errs.append(np.abs(u - exact).max())
        hs.append(max(problem.grid.spacing))
    assert 1.8 <= observed_order(hs, errs) <= 2.3


def test_pure_neumann_zero_mean_cosine():
    # u = cos(πx) cos(πy) with homogeneous Neumann faces, f = 2π² u, weighted mean removed
    hs, errs = [], []
    for m in (16, 32, 64):
        grid = Grid.box([m, m], default=Neumann(0.0))
        problem = Problem(grid, lambda x, y: 2 * np.pi**2 * np.cos(np.pi * x) * np.cos(np.pi * y))
        solver = FastDiagSolver.from_problem(problem)
        assert solver.axis_methods == ("dct1", "dct1")
        assert solver.singular
        u = solver.solve(problem.rhs()).reshape(grid.shape)
        x, y = grid.unknown_coordinates()
        exact = np.cos(np.pi * x) * np.cos(np.pi * y)
        w = problem.weights()
        exact = exact - (w * exact).sum() / w.sum()
        assert abs((w * u).sum()) <= 1e-13 * w.sum()
        errs.append(np.abs(u - exact).max())
        hs.append(1.0 / m)
    assert 1.8 <= observed_order(hs, errs) <= 2.3


# -- singular problems ---------------------------------------------------------------------------
@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("kinds", [[NN, NN], [PP, NN, PP], [NN]], ids=["nn", "pnp", "n"])
def test_incompatible_data_projected_and_reported(kinds, mode, rng):
    problem, _ = build_problem(CELLS[len(kinds)], kinds)
    solver = FastDiagSolver.from_problem(problem, **MODES[mode])
    assert solver.singular
    b = rng.standard_normal(problem.size) + 0.7  # mean_w(b) != 0: incompatible
    u = solver.solve(b)
    w = problem.weights().reshape(-1)
    mean = (w @ b) / w.sum()
    expected = abs(mean) * math.sqrt(b.size) / np.linalg.norm(b)
    assert expected > 0.1
    assert solver.last_projected_norm == pytest.approx(expected, rel=1e-12)
    assert problem.project_rhs(b)[1] == pytest.approx(expected, rel=1e-12)
    a = problem.operator()
    np.testing.assert_allclose(a @ u, b - mean, rtol=0, atol=1e-11 * np.abs(b).max())
    assert abs(w @ u) / w.sum() <= 1e-12 * np.abs(u).max()
    # compatible data: nothing removed
    solver.solve(b - mean)
    assert solver.last_projected_norm <= 1e-14


def test_projected_norm_is_zero_for_regular_problems(rng):
    problem, _ = build_problem(CELLS[2], [NN, NN], shift=0.5)
    solver = FastDiagSolver.from_problem(problem)
    assert not solver.singular
    solver.solve(rng.standard_normal(problem.size) + 3.0)
    assert solver.last_projected_norm == 0.0


# -- prepare once, solve many ---------------------------------------------------------------------
@pytest.mark.parametrize("kinds", [[DD, NN, PP], [RR, DN, ND], [NN, NN]], ids=["dnp", "rdn", "nn"])
def test_set_shift_equals_a_new_solver(kinds, rng):
    problem, _ = build_problem(CELLS[len(kinds)], kinds)
    solver = FastDiagSolver.from_problem(problem)
    b = rng.standard_normal(problem.size)
    for shift in (2.5, 0.0, 0.1):
        solver.set_shift(shift)
        fresh = FastDiagSolver(problem.axis_operators, shift, axes=problem.grid.axes)
        assert solver.shift == shift
        assert solver.singular == fresh.singular
        np.testing.assert_allclose(
            solver.solve(b), fresh.solve(b), rtol=0, atol=1e-15 * np.abs(fresh.solve(b)).max()
        )
        np.testing.assert_allclose(solver.eigenvalues(), fresh.eigenvalues(), rtol=1e-15)
        a = problem.operator() + shift * sp.eye_array(problem.size)
        if not fresh.singular:
            np.testing.assert_allclose(a @ solver.solve(b), b, atol=1e-10 * np.abs(b).max())


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize(
    "kinds", [[DD, NN, PP], [RR, DN, ND], [PP, PP], [RR, RR]], ids=["dnp", "rdn", "pp", "rr"]
)
def test_solve_is_repeatable_and_leaves_b_alone(kinds, mode, rng):
    problem, _ = build_problem(CELLS[len(kinds)], kinds, shift=0.3)
    solver = FastDiagSolver.from_problem(problem, **MODES[mode])
    b = rng.standard_normal(problem.size)
    keep = b.copy()
    u1 = solver.solve(b)
    u2 = solver.solve(b)
    assert np.array_equal(b, keep)
    assert np.array_equal(u1, u2)
    assert u1 is not u2
    # N-D layout in, N-D layout out; out= gets the same numbers
    u3 = solver.solve(b.reshape(solver.shape))
    assert u3.shape == solver.shape
    assert np.array_equal(u3.ravel(), u1)
    out = np.full(solver.shape, np.nan)
    assert solver.solve(b.reshape(solver.shape), out=out) is out
    assert np.array_equal(out.ravel(), u1)
    # out aliasing b: an in-place solve
    inplace = b.copy()
    solver.solve(inplace, out=inplace)
    assert np.array_equal(inplace, u1)


@pytest.mark.parametrize("kinds", [[DD, DN, ND], [RR, NN, RD]], ids=["fast", "eigh"])
def test_solve_into_out_allocates_nothing_large(kinds, rng):
    problem, _ = build_problem((33, 31, 29), kinds, shift=0.2)
    solver = FastDiagSolver.from_problem(problem)
    b = rng.standard_normal(problem.size)
    out = np.empty_like(b)
    solver.solve(b, out=out)  # warm-up
    assert peak_bytes(lambda: solver.solve(b, out=out)) < 0.01 * b.nbytes


def test_argument_errors():
    problem, _ = build_problem(CELLS[2], [DD, NN])
    solver = FastDiagSolver.from_problem(problem)
    with pytest.raises(ValueError, match="shape"):
        solver.solve(np.zeros(problem.size + 1))
    with pytest.raises(ValueError, match="shape"):
        solver.solve(np.zeros(problem.size), out=np.zeros(problem.grid.shape))
    with pytest.raises(ValueError, match="C-contiguous float64"):
        solver.solve(np.zeros(problem.size), out=np.zeros(problem.size, dtype=np.float32))
    with pytest.raises(ValueError, match="finite"):
        solver.set_shift(float("nan"))
    with pytest.raises(ValueError, match="axes"):
        FastDiagSolver(problem.axis_operators, axes=problem.grid.axes[:1])
    with pytest.raises(ValueError, match="at least one"):
        FastDiagSolver([])
    with pytest.raises(ValueError, match="workers"):
        FastDiagSolver(problem.axis_operators, workers=0)
    with pytest.raises(ValueError, match="indices"):
        solver.eigenvector((0,))
    assert solver.workers == (os.cpu_count() or 1)  # the documented default


def test_negative_shift_hitting_an_eigenvalue_is_an_error():
    axis = Axis(4, 0.0, 1.0, Dirichlet(), Dirichlet())
    op = second_difference(axis)
    lam = FastDiagSolver([op]).axis_eigenvalues(0)
    with pytest.raises(SolverError, match="singular"):
        FastDiagSolver([op], shift=-float(lam[1]))
    solver = FastDiagSolver([op], shift=0.5)
    b = np.arange(1.0, op.n + 1)
    before = solver.solve(b)
    with pytest.raises(SolverError, match="singular"):
        solver.set_shift(-float(lam[2]))
    assert solver.shift == 0.5  # unchanged, and still solving with it
    np.testing.assert_array_equal(solver.solve(b), before)


def test_docstring_examples():
    result = doctest.testmod(fastdiag_module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
