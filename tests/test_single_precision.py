"""fastdiag-cg's single-precision fast solve (option ``precision``) against double precision.

The float32 solve of a layered reference must agree with the float64 one to
float32's rounding; CG preconditioned by it must reach the same solution (the
direct solve's, within the certified bound) in about as many iterations; the
compiled vector kernels that read a float32 ``z`` must equal NumPy's; and
``"single"`` is refused where it is not available.
"""

from __future__ import annotations

import numpy as np
import pytest

from kronpde import Dirichlet, Grid, Neumann, OptionError, Periodic, Problem, Robin, solve
from kronpde.operators.kernels import _dispatch as dispatch
from kronpde.operators.kernels import compile_kernels, dot, new_direction
from kronpde.solvers.fastdiag_pc import FastDiagCG, FastDiagPreconditioner
from kronpde.solvers.tridiagonal_axis import TridiagonalAxisSolver

# the run's kernels: the preconditioner's (float64 and float32) and CG's on a variable k
SINGLE_KERNELS = [
    *FastDiagCG.run_kernels,
    "variable_apply",
    "dot",
    "update_xr",
    "new_direction",
    "variable_residual",
    "variable_row_norm",
]


def _layered(cells, boundary=None, shift=0.0, centering="node") -> Problem:
    """A k that varies along x only: fastdiag-cg's layered reference (transforms along y, z)."""
    grid = Grid.box(list(cells), boundary=boundary or Dirichlet(0.0), centering=centering)
    return Problem(grid, source="1 + x*y", shift=shift, coefficient="1 + 0.8*x + 0.1*y")


BOUNDARIES = {
    "dirichlet": None,
    "neumann-robin": {"ymin": Neumann(0.3), "xmin": Robin(1.0, 2.0, 0.1), "xmax": Neumann(0.0)},
    "x-periodic": {"xmin": Periodic(), "xmax": Periodic()},
}


@pytest.mark.parametrize("kind", list(BOUNDARIES))
@pytest.mark.parametrize("cells", [(24, 20), (12, 10, 14)])
def test_the_float32_solve_is_the_float64_one_to_float32_rounding(kind, cells):
    p = _layered(cells, BOUNDARIES[kind], shift=0.5 if kind == "x-periodic" else 0.0)
    m = FastDiagPreconditioner.from_problem(p, precision="double")
    solver = m.solver
    assert isinstance(solver, TridiagonalAxisSolver)
    assert solver.single_ready
    r = np.random.default_rng(5).standard_normal(p.size)
    double = solver.solve(r)
    single = np.empty(p.size, dtype=np.float32)
    solver.solve(r, out=single)
    err = np.max(np.abs(single - double)) / np.max(np.abs(double))
    assert err < 2e-6  # float32 (2^-24 = 6e-8) times the transforms' and solves' growth
    assert err > 1e-12  # it did round to float32


def test_a_float32_out_is_refused_where_a_transform_is_not_real():
    # a periodic y (the transform axis): the real FFT's halfcomplex packing stays float64
    p = _layered((16, 12), {"ymin": Periodic(), "ymax": Periodic()}, shift=0.3)
    solver = FastDiagPreconditioner.from_problem(p, precision="double").solver
    assert not solver.single_ready
    with pytest.raises(ValueError, match="float64"):
        solver.solve(np.ones(p.size), out=np.empty(p.size, dtype=np.float32))
    with pytest.raises(OptionError, match="precision='single'"):
        solve(p, "fastdiag-cg", options={"precision": "single"})


@pytest.mark.parametrize("compiled", [False, True])
@pytest.mark.parametrize("cells", [(40, 36), (16, 14, 18)])
def test_single_precision_cg_reaches_the_direct_solution(monkeypatch, compiled, cells):
    if compiled:  # CG's compiled vector work with a float32 z
        compile_kernels(SINGLE_KERNELS)
        monkeypatch.setattr(dispatch, "MIN_COMPILED_SIZE", 1)
    p = _layered(cells, BOUNDARIES["neumann-robin"])
    exact = solve(p, "direct").x
    single = solve(p, "fastdiag-cg", rtol=1e-11, options={"precision": "single"}).report
    double = solve(p, "fastdiag-cg", rtol=1e-11, options={"precision": "double"}).report
    assert single.options["precision"] == "single"
    assert double.options["precision"] == "double"
    assert single.converged
    assert double.converged
    assert single.iterations <= double.iterations + 1
    x = solve(p, "fastdiag-cg", rtol=1e-11, options={"precision": "single"}).x
    err = np.sqrt(p.unknown_weights @ (x - exact) ** 2)
    assert err <= single.algebraic_error_bound
    assert np.max(np.abs(x - exact)) <= 1e-8 * np.max(np.abs(exact))


def test_auto_takes_single_precision_from_the_compiled_size_on(monkeypatch):
    p = _layered((20, 18))
    assert solve(p, "fastdiag-cg").report.options["precision"] == "double"  # small: NumPy
    compile_kernels(SINGLE_KERNELS)
    monkeypatch.setattr(dispatch, "MIN_COMPILED_SIZE", 1)
    assert solve(p, "fastdiag-cg").report.options["precision"] == "single"


@pytest.mark.parametrize(
    "problem",
    [
        # k varying in both directions alike: one constant k_ref, a transform solve
        lambda: Problem(Grid.box([16, 16]), source=1.0, coefficient="1 + x*y"),
        # pure Neumann: singular
        lambda: _layered((16, 12), Neumann(0.0)),
    ],
    ids=["constant-reference", "singular"],
)
def test_single_precision_is_refused_where_it_is_not_available(monkeypatch, problem):
    p = problem()
    with pytest.raises(OptionError, match="precision='single'"):
        solve(p, "fastdiag-cg", options={"precision": "single"})
    monkeypatch.setattr(dispatch, "MIN_COMPILED_SIZE", 1)
    compile_kernels(SINGLE_KERNELS)
    assert solve(p, "fastdiag-cg").report.options["precision"] == "double"  # auto


@pytest.mark.parametrize("compiled", [False, True])
def test_the_vector_kernels_read_a_float32_z(compiled):
    if compiled:
        compile_kernels(["dot_single", "new_direction_single"])
    rng = np.random.default_rng(2)
    n = 1000
    r = rng.standard_normal(n)
    z = rng.standard_normal(n).astype(np.float32)
    wide = z.astype(np.float64)
    assert dot(r, z, compiled=compiled) == pytest.approx(float(r @ wide), rel=1e-13)
    p = rng.standard_normal(n)
    expected = wide + 0.7 * p
    new_direction(p, z, 0.7, compiled=compiled)
    np.testing.assert_array_equal(p, expected)


@pytest.mark.parametrize("request_", ["auto", "single"])
def test_a_new_shift_that_makes_the_operator_singular_takes_double(monkeypatch, request_):
    from kronpde import prepare

    compile_kernels(SINGLE_KERNELS)
    monkeypatch.setattr(dispatch, "MIN_COMPILED_SIZE", 1)
    p = _layered((14, 12, 16), Neumann(0.0), shift=1.0)
    s = prepare(p, "fastdiag-cg", options={"precision": request_})
    assert s.solve(p.rhs(), rtol=1e-10).report.options["precision"] == "single"
    s.set_shift(0.0)  # pure Neumann: singular
    q = p.with_shift(0.0)
    found = s.solve(q.rhs(), rtol=1e-10)
    assert found.report.options["precision"] == "double"
    assert found.report.converged
    exact = solve(q, "direct").x
    assert np.max(np.abs(found.x - exact)) <= 1e-7 * np.max(np.abs(exact))
    s.set_shift(2.0)  # definite again: single again
    assert s.solve(p.with_shift(2.0).rhs(), rtol=1e-10).report.options["precision"] == "single"
