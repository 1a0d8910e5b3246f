"""A large definite Kronecker sum divides by ``Λ + c`` block by block: the same bits, less memory.

Against the full array ``1/(Λ + c)`` that smaller (or singular, or indefinite) sums keep.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import peak_bytes

from kronpde import Dirichlet, Grid, Neumann, Periodic, Problem
from kronpde.solvers.fastdiag import LAZY_MODES, FastDiagSolver

CASES = {  # (boundary, shift, cells): at least LAZY_MODES modes (a periodic axis halves its)
    "dirichlet": (Dirichlet(0.0), 0.0, [67, 66, 68]),
    "neumann-shift": (
        {"xmin": Neumann(0.0), "ymax": Neumann(0.0), "zmin": Neumann(0.0)},
        0.5,
        [67, 66, 68],
    ),
    "periodic": ({"ymin": Periodic(), "ymax": Periodic()}, 0.0, [67, 132, 68]),
}


@pytest.mark.parametrize("kind", list(CASES))
def test_block_division_gives_the_full_arrays_bits(kind):
    boundary, shift, cells = CASES[kind]
    p = Problem(Grid.box(cells, boundary=boundary), source="x*y + z", shift=shift)
    solver = FastDiagSolver.from_problem(p)
    assert np.prod(solver._transforms.spectral_shape) >= LAZY_MODES
    assert solver._inv is None  # no array of the grid's size for the divisor
    b = np.random.default_rng(1).standard_normal(p.size)
    by_blocks = solver.solve(b)
    solver._lazy = None
    solver._fill_inv()
    full = solver.solve(b)
    np.testing.assert_array_equal(by_blocks, full)
    assert np.linalg.norm(p.operator() @ full - b) <= 1e-10 * np.linalg.norm(b)


def test_a_small_or_singular_sum_keeps_the_full_array():
    small = FastDiagSolver.from_problem(Problem(Grid.box([16, 16, 16]), source=1.0))
    assert small._inv is not None
    singular = Problem(Grid.box([67, 66, 68], boundary=Neumann(0.0)), source="x - 0.5")
    solver = FastDiagSolver.from_problem(singular)
    assert solver.singular
    assert solver._inv is not None


def test_block_division_allocates_nothing_large_after_the_first_solve():
    p = Problem(Grid.box([67, 66, 68]), source=1.0, shift=0.2)
    solver = FastDiagSolver.from_problem(p)
    b = np.random.default_rng(2).standard_normal(p.size)
    out = np.empty_like(b)
    solver.solve(b, out=out)  # makes its one block of work
    assert peak_bytes(lambda: solver.solve(b, out=out)) < 0.01 * b.nbytes
    solver.set_shift(3.0)  # a new shift: new pieces, still no full array
    assert solver._inv is None
    x = solver.solve(b)
    assert np.linalg.norm(p.with_shift(3.0).operator() @ x - b) <= 1e-10 * np.linalg.norm(b)


@pytest.mark.parametrize("shift", [0.0, 2.0])
def test_the_fourth_order_combination_by_blocks_gives_the_full_arrays_bits(shift):
    from kronpde import prepare

    p = Problem(Grid.box([67, 66, 68]), source="x*y + z", shift=shift, order=4)
    solver = prepare(p, "fastdiag").solver.backend  # the FastDiagSolver of the method
    assert isinstance(solver, FastDiagSolver)
    assert solver._inv is None
    b = np.random.default_rng(3).standard_normal(p.size)
    by_blocks = solver.solve(b)
    solver._lazy = None
    solver._fill_inv()
    np.testing.assert_array_equal(by_blocks, solver.solve(b))
    assert np.linalg.norm(p.operator() @ by_blocks - b) <= 1e-10 * np.linalg.norm(b)


def test_an_indefinite_shift_keeps_the_full_array_and_its_resonance_check():
    p = Problem(Grid.box([67, 66, 68]), source=1.0, shift=-50.0)
    solver = FastDiagSolver.from_problem(p)
    assert solver._inv is not None
    assert solver.condition is not None  # the distance from the spectrum was measured


@pytest.mark.parametrize("shift", [0.0, 3.0, 400.0])
@pytest.mark.parametrize("cells", [[24, 20], [10, 12, 9]])
def test_the_combinations_least_corner_bounds_every_mode(shift, cells):
    """The fourth-order combination is multilinear: no mode lies below its least corner."""
    from kronpde import prepare
    from kronpde.solvers.fastdiag_divisor import end_shape

    boundary = {"xmin": Neumann(0.0)} if shift else None
    p = Problem(Grid.box(cells, boundary=boundary), source=1.0, shift=shift, order=4)
    solver = prepare(p, "fastdiag").solver.backend
    plan = solver._transforms
    per_axis = [plan.spectral_eigenvalues(i) for i in range(plan.ndim)]
    d = len(per_axis)
    ends = [np.array([v.min(), v.max()]).reshape(end_shape(i, d)) for i, v in enumerate(per_axis)]
    corners = solver._rule.combination.combine(ends, shift)
    modes = solver._rule.combination.combine(per_axis, shift)
    assert float(modes.min()) >= float(corners.min()) * (1.0 - 1e-12)
    assert solver._rule.definite(plan, shift) is not None
