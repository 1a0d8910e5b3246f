"""The compiled kernels against independent references: assembled CSR matrices and NumPy.

Every operator kernel is compared with the CSR matrix of the same operator,
assembled independently (``kronpde.operators.kronsum.assemble`` for the Kronecker sum,
``VariableDiffusion.operator`` for the flux form), on every boundary kind,
dimension 1-3, odd sizes, mixed kinds per axis and periodic axes of 1, 2 and 3
unknowns, compiled and on the NumPy path.  The vector kernels are compared
with the NumPy expressions they replace (bit for bit elementwise, to rounding
for dot products) and the fused CG loop of ``scripts/fused_cg.py`` with scipy's ``cg``.

The compiled kernels have one signature each and are compiled once per
session (numba's on-disk cache makes later sessions load them); the tests
share them through the module-level dispatchers of ``kronpde.operators.kernels._compiled``.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as sla
from reference_operators import weighted_operator

import kronpde.operators.kernels as K
from kronpde import Dirichlet, Grid, Neumann, Periodic, Robin
from kronpde.geometry.grid import stretched_nodes
from kronpde.operators.flux import VariableDiffusion
from kronpde.operators.kronsum import KronSumOperator, assemble
from kronpde.operators.stencils import second_difference

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def _load_fused_cg():
    """Import ``scripts/fused_cg.py``: the bare CG loop the kernel benchmark times."""
    spec = importlib.util.spec_from_file_location("fused_cg", SCRIPTS / "fused_cg.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


cg_fused = _load_fused_cg().cg_fused

BLOCK = 8192  # kronpde.operators.kernels._compiled.BLOCK, not imported: that would import numba


def _condition(kind: str):
    return {
        "D": Dirichlet(),
        "N": Neumann(),
        "R": Robin(1.5, 0.5),
        "P": Periodic(),
    }[kind]


# (cells, per-axis "lower upper" kinds, stretched axes)
CASES = [
    ((7,), ["DD"], ()),
    ((6,), ["NN"], ()),
    ((5,), ["RD"], ()),
    ((9,), ["PP"], ()),
    ((1,), ["PP"], ()),
    ((2,), ["PP"], ()),
    ((3,), ["PP"], ()),
    ((2,), ["DD"], ()),
    ((7, 5), ["DD", "DD"], ()),
    ((6, 9), ["NN", "RN"], (0,)),
    ((5, 4), ["PP", "DN"], ()),
    ((3, 8), ["PP", "PP"], ()),
    ((1, 6), ["PP", "RR"], ()),
    ((7, 2), ["NR", "PP"], (0,)),
    ((5, 4, 3), ["DD", "DD", "DD"], ()),
    ((4, 5, 3), ["NN", "NN", "NN"], ()),
    ((3, 4, 5), ["RR", "DN", "PP"], (1,)),
    ((3, 2, 1), ["PP", "PP", "PP"], ()),
    ((6, 3, 7), ["PP", "NR", "DD"], (2,)),
    ((2, 7, 4), ["DN", "PP", "RR"], ()),
]
IDS = ["-".join([str(c) for c in cells] + kinds) for cells, kinds, _ in CASES]


def _grid(cells, kinds, stretched=()) -> Grid:
    boundary = {}
    for i, k in enumerate(kinds):
        name = "xyz"[i]
        boundary[name + "min"] = _condition(k[0])
        boundary[name + "max"] = _condition(k[1])
    upper = [1.0 + 0.3 * i for i in range(len(cells))]
    nodes = [
        stretched_nodes(c, 0.0, u, "tanh", 1.5) if i in stretched and c > 1 else None
        for i, (c, u) in enumerate(zip(cells, upper, strict=True))
    ]
    return Grid.box(cells, upper=upper, boundary=boundary, nodes=nodes)


def _close(y, ref, scale, what=""):
    """``|y - ref| <= 1e-13 * scale`` entrywise (``scale``: ``|A| |x|``, the rounding bound)."""
    err = np.abs(y - ref)
    bound = 1e-13 * scale + 1e-300
    assert np.all(err <= bound), f"{what}: max err/scale {np.max(err / (scale + 1e-300)):.3e}"


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "numpy"])
@pytest.mark.parametrize(("cells", "kinds", "stretched"), CASES, ids=IDS)
def test_constant_stencil_matches_assembled_csr(cells, kinds, stretched, compiled, rng):
    grid = _grid(cells, kinds, stretched)
    base = [second_difference(a) for a in grid.axes]
    for ops in (base, [op.symmetrized() for op in base]):
        for shift in (0.0, 0.7):
            a = assemble(ops, shift)
            A = K.ConstantStencil(ops, shift, compiled=compiled)
            assert A.compiled is compiled
            x = rng.standard_normal(grid.size)
            scale = abs(a) @ np.abs(x)
            y = np.empty(grid.size)
            _close(A.apply(x, y), a @ x, scale, f"apply shift={shift}")
            y2 = np.full(grid.shape, np.nan)  # out in the grid's shape; every entry overwritten
            d = A.apply_dot(x.reshape(grid.shape), y2)
            _close(y2.reshape(-1), a @ x, scale, "apply_dot")
            assert abs(d - x @ (a @ x)) <= 1e-12 * (np.abs(x) @ scale)
            _close(A @ x, a @ x, scale, "matvec")
            _close(A.rmatvec(x), a.T @ x, abs(a.T) @ np.abs(x), "rmatvec")


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "numpy"])
def test_constant_stencil_set_shift(compiled, rng):
    grid = _grid((6, 5), ["NR", "PP"])
    ops = [second_difference(a).symmetrized() for a in grid.axes]
    A = K.ConstantStencil(ops, 0.2, compiled=compiled)
    A.set_shift(3.5)
    x = rng.standard_normal(grid.size)
    a = assemble(ops, 3.5)
    _close(A.apply(x), a @ x, abs(a) @ np.abs(x), "set_shift")
    B = K.ConstantStencil.from_operator(KronSumOperator(ops, 3.5), compiled=compiled)
    _close(B.apply(x), a @ x, abs(a) @ np.abs(x), "from_operator")


def _diffusion(grid: Grid, rng, shift: float) -> VariableDiffusion:
    # a positive coefficient with a contrast of about e^2 between nodes
    k = np.exp(rng.uniform(-1.0, 1.0, grid.node_shape))
    return VariableDiffusion(grid, k, shift)


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "numpy"])
@pytest.mark.parametrize(("cells", "kinds", "stretched"), CASES, ids=IDS)
def test_variable_stencil_matches_assembled_csr(cells, kinds, stretched, compiled, rng):
    grid = _grid(cells, kinds, stretched)
    for shift in (0.0, 0.7):
        data = _diffusion(grid, rng, shift)
        a = data.operator(symmetric=True)
        # the row formulas against the independent Kronecker-product assembly of W A
        w = np.sqrt(grid.weights().reshape(-1))
        wa = sp.diags_array(1 / w) @ weighted_operator(grid, data.k, shift) @ sp.diags_array(1 / w)
        assert abs(a - wa).max() <= 1e-12 * abs(a).max()
        A = K.VariableStencil.from_diffusion(data, compiled=compiled)
        assert A.compiled is compiled
        x = rng.standard_normal(grid.size)
        scale = abs(a) @ np.abs(x)
        y = np.full(grid.size, np.nan)
        d = A.apply_dot(x, y)
        _close(y, a @ x, scale, f"apply_dot shift={shift}")
        assert abs(d - x @ (a @ x)) <= 1e-12 * (np.abs(x) @ scale)
        _close(A.apply(x), a @ x, scale, "apply")
        # set_shift against the operator assembled afresh with the new shift
        A.set_shift(2.25)
        a2 = _diffusion_like(data, 2.25).operator(symmetric=True)
        _close(A.apply(x), a2 @ x, abs(a2) @ np.abs(x), "set_shift")


def _diffusion_like(data: VariableDiffusion, shift: float) -> VariableDiffusion:
    return VariableDiffusion(data.grid, data.k, shift)


def test_variable_stencil_with_constant_k_equals_constant_stencil(rng):
    grid = _grid((5, 4, 6), ["RN", "PP", "DD"])
    data = VariableDiffusion(grid, np.full(grid.node_shape, 2.5), 0.4)
    ops = [second_difference(a).symmetrized().scaled(2.5) for a in grid.axes]
    x = rng.standard_normal(grid.size)
    y_var = K.VariableStencil.from_diffusion(data, compiled=True).apply(x)
    y_con = K.ConstantStencil(ops, 0.4, compiled=True).apply(x)
    a = assemble(ops, 0.4)
    _close(y_var, y_con, abs(a) @ np.abs(x), "variable vs constant")


@pytest.mark.parametrize(("cells", "kinds", "stretched"), CASES[::3], ids=IDS[::3])
def test_package_operators_route_through_the_kernels_above_the_threshold(
    cells, kinds, stretched, monkeypatch, rng
):
    """KronSumOperator and VariableOperator, built above the threshold, against CSR."""
    import kronpde.operators.kernels._dispatch as dispatch
    from kronpde.operators.flux import VariableOperator

    grid = _grid(cells, kinds, stretched)
    ops = [second_difference(a) for a in grid.axes]
    data = _diffusion(grid, rng, 0.3)
    below = (KronSumOperator(ops, 0.3), VariableOperator(data, True), VariableOperator(data, False))
    monkeypatch.setattr(dispatch, "MIN_COMPILED_SIZE", grid.size)
    above = (KronSumOperator(ops, 0.3), VariableOperator(data, True), VariableOperator(data, False))
    refs = (assemble(ops, 0.3), data.operator(symmetric=True), data.operator(symmetric=False))
    x = rng.standard_normal(grid.size)
    # loaded kernels: the operators above take the compiled path from their first apply
    K.compile_kernels(["constant_apply", "variable_apply"])
    for low, high, a in zip(below, above, refs, strict=True):
        assert not low.compiled
        assert high.compiled
        scale = abs(a) @ np.abs(x)
        for op in (low, high):
            y = np.full(grid.size, np.nan)
            op.matvec_into(x, y)
            _close(y, a @ x, scale, f"{type(op).__name__} matvec_into")
            y = np.full(grid.size, np.nan)
            d = op.apply_dot(x, y)
            _close(y, a @ x, scale, f"{type(op).__name__} apply_dot")
            assert abs(d - x @ (a @ x)) <= 1e-12 * (np.abs(x) @ scale)
            _close(op.rmatvec(x), a.T @ x, abs(a.T) @ np.abs(x), "rmatvec")


def test_stencil_argument_checks(rng):
    grid = _grid((4, 3), ["DD", "DD"])
    ops = [second_difference(a) for a in grid.axes]
    A = K.ConstantStencil(ops, compiled=True)
    x = rng.standard_normal(grid.size)
    with pytest.raises(ValueError, match="entries"):
        A.apply(x[:-1])
    with pytest.raises(ValueError, match="overlap"):
        A.apply(x, x)
    with pytest.raises(ValueError, match="C-contiguous float64"):
        A.apply(x, np.empty(grid.size, dtype=np.float32))
    with pytest.raises(ValueError, match="1 to 3"):
        K.ConstantStencil(ops * 2)
    data = _diffusion(grid, rng, 0.0)
    with pytest.raises(ValueError, match=r"edges\[0\]"):
        K.VariableStencil(data.diagonal, data.edges[::-1], data.wraps)
    with pytest.raises(ValueError, match="one edge and wrap array per axis"):
        K.VariableStencil(data.diagonal, data.edges[:1], data.wraps)
    with pytest.raises(ValueError, match="unknown kernel"):
        K.compile_kernels(["matvec"])


def test_size_decides_compiled_or_numpy():
    small = Grid.box([31, 31])
    assert small.size < K.MIN_COMPILED_SIZE
    ops = [second_difference(a) for a in small.axes]
    assert not K.ConstantStencil(ops).compiled
    big = Grid.box([K.MIN_COMPILED_SIZE // 256 + 1, 257])  # 256 * (MIN / 256) unknowns
    assert big.size == K.MIN_COMPILED_SIZE
    assert K.ConstantStencil([second_difference(a) for a in big.axes]).compiled
    assert K.use_compiled(K.MIN_COMPILED_SIZE)
    assert not K.use_compiled(K.MIN_COMPILED_SIZE - 1)
    assert K.use_compiled(1, compiled=True)
    assert not K.use_compiled(10**9, compiled=False)


def test_small_grids_never_import_numba():
    code = (
        "import sys, numpy as np\n"
        f"sys.path.insert(0, {str(SCRIPTS)!r})\n"
        "import kronpde, kronpde.operators.kernels as K\n"
        "from fused_cg import cg_fused\n"
        "from kronpde import Grid\n"
        "from kronpde.operators.stencils import second_difference\n"
        "assert 'numba' not in sys.modules\n"
        "g = Grid.box([40, 30])\n"
        "A = K.ConstantStencil([second_difference(a).symmetrized() for a in g.axes])\n"
        "res = cg_fused(A, np.ones(g.size), rtol=1e-10)\n"
        "assert res.converged, res.status\n"
        "assert 'numba' not in sys.modules, 'numba was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_an_operator_above_the_threshold_loads_numba_only_once_it_is_applied_often():
    """An exact method's few applies stay on NumPy; the (NUMPY_APPLIES + 1)-th is compiled."""
    code = (
        "import sys, numpy as np\n"
        "import kronpde.operators.kernels as K, kronpde.operators.kernels._dispatch as dispatch\n"
        "from kronpde import Grid, Neumann, Problem, solve\n"
        "from kronpde.operators.kronsum import KronSumOperator, assemble\n"
        "from kronpde.operators.stencils import second_difference\n"
        "dispatch.MIN_COMPILED_SIZE = 1\n"
        "g = Grid.box([9, 8, 7], boundary={'xmax': Neumann(0.5)})\n"
        "s = solve(Problem(g, source='x*y + z'), method='fastdiag')\n"
        "assert s.report.algebraic_error_bound < 1e-10, s.report\n"
        "assert 'numba' not in sys.modules, 'the exact solve imported numba'\n"
        "ops = [second_difference(a) for a in g.axes]\n"
        "A, ref = KronSumOperator(ops, 0.2), assemble(ops, 0.2)\n"
        "assert A.compiled\n"
        "x = np.random.default_rng(1).standard_normal(g.size)\n"
        "y = np.empty(g.size)\n"
        "for k in range(K.NUMPY_APPLIES + 1):\n"
        "    d = A.apply_dot(x, y) if k % 2 else A.matvec_into(x, y) @ x\n"
        "    assert np.abs(y - ref @ x).max() <= 1e-13 * np.abs(ref @ x).max()\n"
        "    assert abs(d - x @ (ref @ x)) <= 1e-12 * abs(x) @ abs(ref @ x)\n"
        "    loaded = 'numba' in sys.modules  # by this apply, the compiled one\n"
        "    assert loaded == (k == K.NUMPY_APPLIES), (k, loaded)\n"
        "assert 'numba' in sys.modules\n"
        "B = KronSumOperator(ops, 0.2)  # the kernels are loaded: compiled from its first apply\n"
        "calls = []\n"
        "real = B._stencil.apply\n"
        "B._stencil.apply = lambda x, out: calls.append(1) or real(x, out)\n"
        "B.matvec_into(x, y)\n"
        "assert calls == [1]\n"
        "assert np.abs(y - ref @ x).max() <= 1e-13 * np.abs(ref @ x).max()\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_a_one_shot_exact_solve_above_the_tridiagonal_size_leaves_numba_unloaded():
    """The tridiagonal route's compiled solves cost more to load than they save once.

    So ``solve(problem)`` of a Kronecker sum from ``TRIDIAGONAL_MIN_SIZE`` on
    transforms every axis in a process without numba (same answer as
    ``spsolve``), and a prepared solver takes the route from its second solve.
    """
    code = (
        "import sys, numpy as np\n"
        "from kronpde import Grid, Neumann, Problem, prepare, solve\n"
        "from kronpde.solvers.tridiagonal_axis import TRIDIAGONAL_MIN_SIZE\n"
        "g = Grid.box([70, 60, 40], boundary={'zmax': Neumann(1.0)})\n"
        "p = Problem(g, source='x*y + z', shift=0.5)\n"
        "assert p.size >= TRIDIAGONAL_MIN_SIZE, p.size\n"
        "s = solve(p, method='fastdiag')\n"
        "assert 'numba' not in sys.modules, 'the one-shot exact solve imported numba'\n"
        "assert 'tridiagonal' not in s.report.options['axis_methods'], s.report.options\n"
        "A, b = p.operator(), p.rhs()\n"
        "assert np.linalg.norm(A @ s.x - b) <= 1e-12 * np.linalg.norm(b)\n"
        "prep = prepare(p, 'fastdiag')\n"
        "first = prep.solve(p.rhs(), check=False).report.options['axis_methods']\n"
        "second = prep.solve(p.rhs())\n"
        "assert 'tridiagonal' not in first\n"
        "assert 'tridiagonal' in second.report.options['axis_methods']\n"
        "assert np.abs(second.x - s.x).max() <= 1e-12 * np.abs(s.x).max()\n"
        "assert 'numba' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


# -- vector kernels ----------------------------------------------------------------------
SIZES = [1, 7, BLOCK - 1, BLOCK, 3 * BLOCK + 5]


def _dot_bound(a, b) -> float:
    return 1e-13 * float(np.abs(a) @ np.abs(b)) + 1e-300


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "numpy"])
@pytest.mark.parametrize("n", SIZES)
def test_vector_kernels_match_numpy(n, compiled, rng):
    x, r, p, Ap, z = (rng.standard_normal(n) for _ in range(5))
    inv = rng.uniform(0.5, 2.0, n)
    alpha, beta = 0.37, 1.9

    xk, rk = x.copy(), r.copy()
    rr = K.update_xr(xk, rk, p, Ap, alpha, compiled=compiled)
    x_ref, r_ref = x + alpha * p, r - alpha * Ap
    np.testing.assert_array_equal(xk, x_ref)  # same IEEE operations: bit for bit
    np.testing.assert_array_equal(rk, r_ref)
    assert abs(rr - r_ref @ r_ref) <= _dot_bound(r_ref, r_ref)

    xk, rk, zk = x.copy(), r.copy(), np.empty(n)
    rr, rz = K.update_xr_jacobi(xk, rk, zk, p, Ap, inv, alpha, compiled=compiled)
    np.testing.assert_array_equal(xk, x_ref)
    np.testing.assert_array_equal(rk, r_ref)
    np.testing.assert_array_equal(zk, r_ref * inv)
    assert abs(rr - r_ref @ r_ref) <= _dot_bound(r_ref, r_ref)
    assert abs(rz - r_ref @ (r_ref * inv)) <= _dot_bound(r_ref, r_ref * inv)

    pk = p.copy()
    K.new_direction(pk, z, beta, compiled=compiled)
    np.testing.assert_array_equal(pk, z + beta * p)

    assert abs(K.dot(x, z, compiled=compiled) - x @ z) <= _dot_bound(x, z)

    yk = r.copy()
    K.axpy(-alpha, x, yk, compiled=compiled)
    np.testing.assert_array_equal(yk, r - alpha * x)

    out = np.empty(n)
    K.scale(x, inv, out, compiled=compiled)
    np.testing.assert_array_equal(out, inv * x)
    K.unscale(x, inv, out, compiled=compiled)
    np.testing.assert_array_equal(out, x / inv)
    inplace = x.copy()  # out may be the input itself
    K.scale(inplace, inv, inplace, compiled=compiled)
    np.testing.assert_array_equal(inplace, inv * x)


def test_compiled_reductions_do_not_depend_on_the_thread_count(rng):
    import numba  # the compiled path is under test here, so numba is loaded anyway

    n = 5 * BLOCK + 3
    a, b = rng.standard_normal(n), rng.standard_normal(n)
    grid = _grid((9, 11, 13), ["DN", "PP", "RR"])
    A = K.ConstantStencil([second_difference(ax) for ax in grid.axes], 0.1, compiled=True)
    x = rng.standard_normal(grid.size)
    y = np.empty(grid.size)
    before = numba.get_num_threads()
    results = []
    try:
        for count in sorted({1, numba.config.NUMBA_NUM_THREADS}):
            K.set_threads(count)
            assert K.threads() == count
            results.append((K.dot(a, b, compiled=True), A.apply_dot(x, y), y.copy()))
    finally:
        numba.set_num_threads(before)
    for other in results[1:]:
        assert other[0] == results[0][0]
        assert other[1] == results[0][1]
        np.testing.assert_array_equal(other[2], results[0][2])
    assert K.threading_layer() in ("omp", "tbb", "workqueue")


def test_vector_argument_checks(rng):
    x = rng.standard_normal(10)
    with pytest.raises(ValueError, match="entries"):
        K.dot(x, x[:5])
    with pytest.raises(ValueError, match="overlap"):
        K.axpy(1.0, x, x)
    ro = x.copy()
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="writable"):
        K.new_direction(ro, x, 1.0)
    with pytest.raises(TypeError, match="real"):
        K.dot(x + 1j, x)
    with pytest.raises(ValueError, match="C-contiguous"):
        K.update_xr(np.empty(20)[::2], x.copy(), x, x, 1.0)


# -- the fused CG loop -------------------------------------------------------------------
def _scipy_cg(a, b, rtol, M=None):
    iterations = []
    x, info = sla.cg(
        a,
        b,
        rtol=rtol,
        atol=0.0,
        maxiter=10 * b.size,
        M=M,
        callback=lambda xk: iterations.append(1),
    )
    assert info == 0
    return x, len(iterations)


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "numpy"])
def test_cg_fused_matches_scipy_cg(compiled, rng):
    grid = _grid((31, 23), ["DD", "DN"])
    ops = [second_difference(a).symmetrized() for a in grid.axes]
    a = assemble(ops, 0.0)
    b = rng.standard_normal(grid.size)
    res = cg_fused(K.ConstantStencil(ops, compiled=compiled), b, rtol=1e-10)
    x_ref, its = _scipy_cg(a, b, 1e-10)
    assert res.converged
    assert res.status == "converged"
    assert abs(res.iterations - its) <= 1  # same recurrence, dot products equal to rounding
    assert len(res.residual_norms) == res.iterations + 1
    exact = sla.spsolve(a.tocsc(), b)
    assert np.linalg.norm(res.x - exact) <= 1e-8 * np.linalg.norm(exact)
    assert res.relative_residual <= 2e-10
    assert np.linalg.norm(b - a @ res.x) / np.linalg.norm(b) == pytest.approx(
        res.relative_residual, rel=1e-6
    )


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "numpy"])
def test_cg_fused_jacobi_on_variable_coefficient(compiled, rng):
    grid = _grid((17, 13, 9), ["RD", "PP", "NR"], (0,))
    data = _diffusion(grid, rng, 0.3)
    a = data.operator(symmetric=True)
    A = K.VariableStencil.from_diffusion(data, compiled=compiled)
    inv = 1.0 / data.diagonal.reshape(-1)
    b = rng.standard_normal(grid.size)
    res = cg_fused(A, b, rtol=1e-9, inv_diag=inv)
    _, its = _scipy_cg(a, b, 1e-9, M=sp.diags_array(inv))
    assert res.converged
    assert abs(res.iterations - its) <= 1
    exact = sla.spsolve(a.tocsc(), b)
    assert np.linalg.norm(res.x - exact) <= 1e-7 * np.linalg.norm(exact)
    # without Jacobi it takes more iterations on this coefficient contrast
    plain = cg_fused(A, b, rtol=1e-9)
    assert plain.converged
    assert plain.iterations > res.iterations


def test_cg_fused_reports_breakdown_and_maxiter(rng):
    grid = _grid((6, 5), ["DD", "DD"])
    ops = [second_difference(a).symmetrized().scaled(-1.0) for a in grid.axes]  # negative definite
    b = rng.standard_normal(grid.size)
    res = cg_fused(K.ConstantStencil(ops, compiled=True), b)
    assert res.status == "breakdown"
    assert not res.converged
    assert res.iterations == 0
    ops = [second_difference(a).symmetrized() for a in grid.axes]
    res = cg_fused(K.ConstantStencil(ops, compiled=True), b, rtol=1e-14, maxiter=3)
    assert res.status == "maxiter"
    assert res.iterations == 3
    assert res.relative_residual > 1e-6
