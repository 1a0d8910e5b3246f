"""The tridiagonal-axis solver against scipy's sparse direct solve of the same assembled matrix."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from kronpde import Axis, Dirichlet, Neumann, Periodic, Robin
from kronpde.operators.stencils import second_difference
from kronpde.problem.partial import FirstRow, PartialStructure
from kronpde.solvers.tridiagonal_axis import TridiagonalAxisSolver

FACES = {
    "dirichlet": (Dirichlet(), Dirichlet()),
    "neumann": (Neumann(), Neumann()),
    "robin": (Robin(1.0, 0.5), Neumann()),
    "periodic": (Periodic(), Periodic()),
}


def axis(cells: int, faces: str, stretched: bool = False, centering: str = "node") -> Axis:
    lo, hi = FACES[faces]
    coords = None
    if stretched:
        s = np.linspace(0.0, 1.0, cells + 1)
        coords = tuple(s + 0.15 * np.sin(np.pi * s) * s)
    return Axis(cells, 0.0, 1.0, lo, hi, coordinates=coords, centering=centering)


def structure(axes, t, rng, *, coupled=True, weighted=True, first_row=None):
    """A random operator of the partial form and its pieces, on the given axes."""
    ops = [second_difference(a) for a in axes]
    n = ops[t].n
    coupling = [None if (i == t or not coupled) else 0.5 + rng.random(n) for i in range(len(axes))]
    rhs_weights = [0.5 + rng.random(op.n) if weighted else None for op in ops]
    tt = ops[t]
    return PartialStructure(
        axis=t,
        operators=tuple(None if i == t else op for i, op in enumerate(ops)),
        coupling=tuple(coupling),
        lower=tt.lower.copy(),
        diag=tt.diag.copy(),
        upper=tt.upper.copy(),
        periodic=tt.periodic,
        t_weights=tt.weights.copy(),
        rhs_weights=tuple(rhs_weights),
        axes=tuple(None if i == t else a for i, a in enumerate(axes)),
        first_row=first_row,
    )


def assemble(s: PartialStructure, shift: float) -> sp.csr_array:
    """``W⁻¹ [Σ G_i ⊗ T_i + T_t + c I]`` by Kronecker products (independent of the solver)."""
    t = s.axis
    shape = [len(s.diag) if i == t else op.n for i, op in enumerate(s.operators)]
    n = shape[t]
    tt = sp.diags_array([s.lower[1:], s.diag, s.upper[:-1]], offsets=[-1, 0, 1]).tolil()
    if s.periodic and n >= 3:
        tt[0, n - 1] += s.lower[0]
        tt[n - 1, 0] += s.upper[-1]

    def kron(factors):
        out = sp.identity(1, format="csr")
        for f in factors:
            out = sp.kron(out, f, format="csr")
        return out

    eye = [sp.identity(m, format="csr") for m in shape]
    a = kron([tt.tocsr() if i == t else eye[i] for i in range(len(shape))])
    a = a + shift * sp.identity(a.shape[0])
    for i, op in enumerate(s.operators):
        if op is None:
            continue
        g = np.ones(n) if s.coupling[i] is None else s.coupling[i]
        factors = list(eye)
        factors[t] = sp.diags_array(g)
        factors[i] = op.tosparse()
        a = a + kron(factors)
    w = np.ones(())
    for i, wi in enumerate(s.rhs_weights):
        shp = [1] * len(shape)
        shp[i] = shape[i]
        w = w * (np.ones(shp) if wi is None else np.reshape(wi, shp))
    w = np.broadcast_to(w, shape).reshape(-1)
    return sp.diags_array(1.0 / w) @ a


CASES = [
    # (cells per axis, faces per axis, t)
    ((9, 7), ("dirichlet", "dirichlet"), 0),
    ((9, 7), ("dirichlet", "neumann"), 1),
    ((9, 7), ("periodic", "robin"), 1),
    ((8, 7), ("periodic", "dirichlet"), 0),
    ((6, 5, 7), ("dirichlet", "neumann", "robin"), 0),
    ((6, 5, 7), ("neumann", "periodic", "dirichlet"), 1),
    ((6, 5, 7), ("robin", "dirichlet", "periodic"), 2),
    ((6, 5, 7), ("dirichlet", "robin", "neumann"), 2),
]


@pytest.mark.parametrize("compiled", [False, True])
@pytest.mark.parametrize(("cells", "faces", "t"), CASES)
@pytest.mark.parametrize("shift", [0.0, 3.0, -40.0])
def test_agrees_with_spsolve(cells, faces, t, shift, compiled):
    rng = np.random.default_rng(sum(cells) + t)
    pairs = enumerate(zip(cells, faces, strict=True))
    axes = [axis(c, f, stretched=(i == 1)) for i, (c, f) in pairs]
    s = structure(axes, t, rng)
    solver = TridiagonalAxisSolver(s, shift, compiled=compiled)
    assert solver.pivoting == (shift < 0.0)
    b = rng.standard_normal(solver.shape)
    a = assemble(s, shift)
    expect = spla.spsolve(a.tocsc(), b.reshape(-1)).reshape(solver.shape)
    u = solver.solve(b)
    assert np.max(np.abs(u - expect)) <= 1e-10 * np.max(np.abs(expect))
    assert not solver.singular


@pytest.mark.parametrize("compiled", [False, True])
@pytest.mark.parametrize(
    ("cells", "faces", "t", "centering"),
    [
        ((9, 7), ("neumann", "neumann"), 0, "node"),
        ((9, 7), ("periodic", "neumann"), 0, "cell"),
        ((6, 5, 7), ("neumann", "periodic", "periodic"), 2, "node"),
        ((6, 5, 7), ("periodic", "neumann", "neumann"), 1, "cell"),
    ],
)
def test_singular_mode(cells, faces, t, centering, compiled):
    """Pure Neumann/periodic, c = 0: the data projected with the weights, mean_w(u) = 0."""
    rng = np.random.default_rng(7)
    axes = [axis(c, f, centering=centering) for c, f in zip(cells, faces, strict=True)]
    s = structure(axes, t, rng, coupled=False, weighted=False)
    solver = TridiagonalAxisSolver(s, 0.0, compiled=compiled)
    assert solver.singular
    a = assemble(s, 0.0)
    v = rng.standard_normal(solver.shape)
    omega = np.ones(())
    for i, ax in enumerate(axes):
        shp = [1] * len(cells)
        shp[i] = -1
        omega = omega * ax.weights.reshape(shp)
    v -= np.sum(omega * v) / np.sum(omega * np.ones(solver.shape))  # mean_w(v) = 0
    b = (a @ v.reshape(-1)).reshape(solver.shape)
    u = solver.solve(b + 2.5)  # plus a constant: projected out
    assert np.max(np.abs(u - v)) <= 1e-10 * np.max(np.abs(v))
    assert solver.last_projected_norm > 0.1


@pytest.mark.parametrize("compiled", [False, True])
@pytest.mark.parametrize("singular", [False, True])
def test_shared_first_point(compiled, singular):
    """A point at z = 0 shared by every line of a periodic axis: the per-mode first row.

    The array system repeats the shared point on every line: row ``(0, m)`` is
    ``a u[0, m] - (a / M) Σ_m' u[1, m']``; in Fourier space only the constant
    mode couples row 0 to row 1 (``upper = -a``), every other mode has ``û_0 = 0``.
    """
    rng = np.random.default_rng(3)
    outer = Neumann() if singular else Dirichlet()
    t_axis = Axis(8, 0.0, 1.0, Neumann(), outer)
    theta = Axis(12, 0.0, 1.0, Periodic(), Periodic())
    m = second_difference(theta).n
    a0 = 7.0
    upper = np.zeros((1, m))
    upper[0, 0] = -a0  # the real Fourier basis: the constant mode is column 0
    tt = second_difference(t_axis)
    null_weight = -tt.lower[1] * tt.weights[1] / a0
    first = FirstRow(np.full((1, m), a0), upper, np.ones((1, m)), null_weight)
    s = structure([t_axis, theta], 0, rng, coupled=True, weighted=False, first_row=first)
    s = PartialStructure(**{**s.__dict__, "coupling": (None, np.linspace(0.0, 2.0, tt.n))})
    solver = TridiagonalAxisSolver(s, 0.0, compiled=compiled)
    assert solver.singular == singular
    a = assemble(s, 0.0).tolil()
    for j in range(m):
        a[j, :] = 0.0
        a[j, j] = a0
        for k in range(m):
            a[j, m + k] = -a0 / m
    a = a.tocsr()
    if singular:
        v = rng.standard_normal(solver.shape)
        v[0, :] = v[0, 0]
        b = (a @ v.reshape(-1)).reshape(solver.shape)
        u = solver.solve(b)
        diff = u - v
        assert np.max(np.abs(diff - diff[0, 0])) <= 1e-10 * np.max(np.abs(v))
    else:
        b = rng.standard_normal(solver.shape)
        b[0, :] = b[0, 0]
        expect = spla.spsolve(a.tocsc(), b.reshape(-1)).reshape(solver.shape)
        u = solver.solve(b)
        assert np.max(np.abs(u - expect)) <= 1e-10 * np.max(np.abs(expect))
        assert np.ptp(u[0]) <= 1e-12 * np.max(np.abs(expect))


def test_in_place_and_shift():
    rng = np.random.default_rng(11)
    axes = [axis(10, "dirichlet"), axis(9, "neumann", stretched=True), axis(8, "robin")]
    s = structure(axes, 0, rng)
    solver = TridiagonalAxisSolver(s, 1.0)
    b = rng.standard_normal(solver.shape)
    for shift in (1.0, 0.0, -25.0):
        solver.set_shift(shift)
        expect = spla.spsolve(assemble(s, shift).tocsc(), b.reshape(-1)).reshape(b.shape)
        x = b.copy()
        assert solver.solve(x, out=x) is x
        assert np.max(np.abs(x - expect)) <= 1e-10 * np.max(np.abs(expect))


def test_kronecker_route_picks_the_dense_axis_else_the_slowest():
    from kronpde import Grid, Problem
    from kronpde.solvers.tridiagonal_axis import TRIDIAGONAL_MIN_SIZE, kronecker_route

    def route(cells, boundary=None, shift=0.0):
        p = Problem(Grid.box(cells, boundary=boundary or {}), 1.0, shift=shift)
        return kronecker_route(p.axis_operators, p.grid.axes, p.shift)

    assert route([600, 600]) == 0
    assert route([600, 600], {"ymin": Robin(1.0, 1.0)}) == 1  # the eigh axis
    assert route([600, 600], {"ymin": Periodic(), "ymax": Periodic()}) is None
    assert route([600, 600], shift=-1.0) is None  # the full solve checks the resonance
    assert route([64, 64]) is None  # below TRIDIAGONAL_MIN_SIZE
    assert 64 * 64 < TRIDIAGONAL_MIN_SIZE <= 599 * 599


def test_prepared_in_place_solve_allocates_no_array_of_the_grid_size():
    """``prepare(p).solve(b, out=b, check=False)``: the tridiagonal route, b overwritten."""
    import tracemalloc

    from kronpde import Grid, Problem, prepare
    from kronpde.solvers.fastdiag import FastDiagSolver

    p = Problem(Grid.box([1200, 1000], boundary={"xmin": Neumann(0.0)}), 1.0, shift=2.0)
    s = prepare(p, "fastdiag")
    s.solve(p.rhs(), check=False)  # without numba loaded: every axis transformed, this once
    assert s.solve(p.rhs(), check=False).report.options["axis_methods"] == ("tridiagonal", "dst1")
    b = np.random.default_rng(5).standard_normal(p.grid.shape)
    expect = FastDiagSolver.from_problem(p).solve(b)  # every axis transformed
    x = b.copy()
    s.solve(x, out=x, check=False)  # loads what a first solve loads
    np.copyto(x, b)
    tracemalloc.start()
    sol = s.solve(x, out=x, check=False)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert np.shares_memory(sol.x, x)
    assert np.max(np.abs(x - expect)) <= 1e-10 * np.max(np.abs(expect))
    import numba

    from kronpde.operators.kernels._tridiagonal_compiled import BLOCK

    # the Thomas factors of one block of modes (n_t x BLOCK floats) per thread, small change
    threads = numba.get_num_threads()
    assert peak <= threads * 8 * BLOCK * x.shape[0] + 65536
    assert peak < 0.3 * x.nbytes


def test_shift_absorbed_into_a_transformed_axis():
    """``shift_axis = i``: ``c`` enters as ``G_i ⊗ (T_i + c diag(s))``; set_shift redoes eigh."""
    from dataclasses import replace

    rng = np.random.default_rng(13)
    axes = [axis(9, "neumann"), axis(8, "dirichlet"), axis(7, "robin")]
    s = structure(axes, 0, rng)
    weights = 0.5 + rng.random(s.operators[2].n)
    s = replace(s, shift_axis=2, shift_weights=weights)
    solver = TridiagonalAxisSolver(s, 0.0)
    b = rng.standard_normal(solver.shape)
    for shift in (0.0, 4.0, 1.5):
        solver.set_shift(shift)
        op = s.operators[2]
        shifted = type(op)(op.diag + shift * weights, op.lower, op.upper, False, op.weights)
        reference = replace(s, operators=(None, s.operators[1], shifted))
        a = assemble(reference, 0.0)
        expect = spla.spsolve(a.tocsc(), b.reshape(-1)).reshape(b.shape)
        u = solver.solve(b)
        assert np.max(np.abs(u - expect)) <= 1e-10 * np.max(np.abs(expect))
        assert solver.axis_methods[2] == "eigh"


def test_set_shift_negative_goes_back_to_the_full_solve():
    from kronpde import Grid, Problem, prepare
    from kronpde.solvers.fastdiag import FastDiagSolver

    p = Problem(Grid.box([520, 520]), 1.0, shift=1.0)
    s = prepare(p, "fastdiag")
    assert isinstance(s.backend, TridiagonalAxisSolver)
    b = np.random.default_rng(2).standard_normal(p.grid.shape)
    assert s.set_shift(-5.0) is False  # prepared again, with the resonance check
    assert isinstance(s.backend, FastDiagSolver)
    expect = FastDiagSolver.from_problem(p.with_shift(-5.0)).solve(b)
    assert np.max(np.abs(s.solve(b).x.reshape(b.shape) - expect)) <= 1e-12 * np.max(abs(expect))
    assert s.set_shift(2.0) is True
    again = FastDiagSolver.from_problem(p.with_shift(2.0)).solve(b)
    assert np.allclose(s.solve(b).x.reshape(b.shape), again, rtol=1e-12, atol=0.0)


@pytest.mark.parametrize("kernels", ["transform", "gemm"])
@pytest.mark.parametrize("compiled", [False, True])
def test_periodic_transformed_axes_by_halfcomplex_fft_or_gemm(kernels, compiled):
    """A periodic axis before and after t: the halfcomplex real FFT and the dense basis agree."""
    rng = np.random.default_rng(21)
    axes = [axis(9, "periodic"), axis(7, "dirichlet", stretched=True), axis(10, "periodic")]
    s = structure(axes, 1, rng)
    solver = TridiagonalAxisSolver(s, 0.7, kernels=kernels, compiled=compiled)
    assert solver.axis_methods == ("fft", "tridiagonal", "fft")
    assert [p.kernel for p in solver._plans if p is not None] == [kernels] * 2
    b = rng.standard_normal(solver.shape)
    expect = spla.spsolve(assemble(s, 0.7).tocsc(), b.reshape(-1)).reshape(solver.shape)
    assert np.max(np.abs(solver.solve(b) - expect)) <= 1e-10 * np.max(np.abs(expect))


@pytest.mark.parametrize("n", [7, 8])
def test_halfcomplex_fft_matches_scipy_fftpack_and_its_fallback(n, monkeypatch):
    """pocketfft's in-place r2r_fftpack, or scipy.fftpack's rfft/irfft where it is missing."""
    import scipy.fftpack

    from kronpde.solvers import halfcomplex as hc

    x = np.random.default_rng(n).standard_normal((3, n, 4))
    expect = scipy.fftpack.rfft(x, axis=1)
    for module in (hc._pocketfft, None):
        monkeypatch.setattr(hc, "_pocketfft", module)
        y = x.copy()
        assert hc.halfcomplex(y, [1], False, 1) is y or module is None
        assert np.max(np.abs(y - expect)) <= 1e-13 * np.max(np.abs(expect))
        hc.halfcomplex(y, [1], True, 1)  # unscaled: the round trip multiplies by n
        assert np.max(np.abs(y / n - x)) <= 1e-13 * np.max(np.abs(x))
