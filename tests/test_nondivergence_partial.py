"""The non-divergence form with one strongly advective axis: fastdiag solves it tridiagonally.

Where one axis' 1-D operator has no stable similarity (a cell Péclet number >= 2, or
eigenvectors conditioned beyond ``CONDITION_LIMIT``), ``fastdiag`` diagonalises the other
axes through their eigenvectors and solves the advective one by tridiagonal systems per
mode: it equals ``spsolve`` of the same matrix to 1e-10 (``c`` of either sign) and
converges at second order; two such axes are refused, naming ``direct``.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse.linalg as sla
from conftest import observed_order

from kronpde import Dirichlet, Grid, Neumann, Problem, Robin
from kronpde.errors import SolverError
from kronpde.problem.nondivergence import similarity_weights
from kronpde.solvers import solve


@pytest.mark.parametrize(
    ("cells", "second", "first", "shift"),
    [
        ([16, 12], {"x": 1.0, "y": "1 + y"}, {"x": "40", "y": "y"}, 0.0),  # Peclet 2.5 on x
        ([32, 12], {"x": 1.0, "y": 1.0}, {"x": "40"}, -6.0),  # real, condition 1.6e10
        ([12, 20], {"x": "2 + x", "y": "exp(40*y)"}, {"x": "1"}, 3.0),  # a_y varies: 4e7
    ],
)
def test_fastdiag_equals_spsolve_with_a_strongly_advective_axis(cells, second, first, shift):
    faces = {"xmin": Robin(1.0, 0.5, 0.2), "xmax": Dirichlet(1.0),
             "ymin": Neumann(0.3), "ymax": Dirichlet(0.0)}  # fmt: skip
    grid = Grid.box(cells, boundary=faces)
    problem = Problem(grid, "x*y + 1", shift=shift, second=second, first=first)
    assert problem.discretisation.eigen_structure() is None  # no full similarity
    sol = solve(problem, "fastdiag")
    ref = sla.spsolve(problem.operator().tocsc(), problem.rhs())
    assert np.max(np.abs(sol.x - ref)) <= 1e-10 * np.max(np.abs(ref))
    assert "tridiagonal" in sol.report.options["axis_methods"]


def test_a_strongly_advective_axis_converges_at_second_order_with_fastdiag():
    # -(u_xx + 30 u_x) - u_yy = f for u = sin(pi x) sin(pi y): x's eigenvectors have
    # condition exp(15) = 3e6 > 1e6 at every level, so x is the tridiagonal axis
    source = "2*pi**2*sin(pi*x)*sin(pi*y) - 30*pi*cos(pi*x)*sin(pi*y)"
    errors, hs = [], []
    for n in (16, 32, 64):
        grid = Grid.box([n, n], boundary=Dirichlet(0.0))
        problem = Problem(grid, source, second={"x": 1.0, "y": 1.0}, first={"x": 30.0})
        op = problem.discretisation.axis_operators[0]
        assert similarity_weights(op, grid.axes[0])[0] is None
        x, y = grid.point_coordinates()
        u = solve(problem, "fastdiag").u
        errors.append(float(np.max(np.abs(u - np.sin(np.pi * x) * np.sin(np.pi * y)))))
        hs.append(1.0 / n)
    order = observed_order(hs, errors)
    assert 1.9 <= order <= 2.1, (errors, order)


def test_two_strongly_advective_axes_are_refused_naming_direct():
    grid = Grid.box([16, 16])
    problem = Problem(grid, 1.0, second={"x": 1.0, "y": 1.0}, first={"x": "40", "y": "40"})
    with pytest.raises(SolverError, match="'direct'"):
        solve(problem, "fastdiag")
    assert solve(problem).report.method == "direct"  # auto


def test_minres_refuses_the_non_divergence_form_and_the_exact_methods_solve_it():
    """MINRES needs a symmetric operator: it names fastdiag and direct, which agree with spsolve."""
    from kronpde import prepare
    from kronpde.errors import OptionError

    g = Grid.box([12, 10])
    p = Problem(g, source="x*y", second={"x": "1 + x", "y": 1.0}, first={"x": 0.5}, shift=-3.0)
    with pytest.raises((OptionError, SolverError)) as err:
        prepare(p, method="fastdiag-minres")
    assert "not symmetric" in str(err.value)
    assert "'fastdiag'" in str(err.value)
    assert "'direct'" in str(err.value)
    ref = sla.spsolve(p.operator().tocsc(), p.rhs())
    u = solve(p, method="fastdiag").x.reshape(-1)
    assert np.max(np.abs(u - ref)) <= 1e-10 * np.max(np.abs(ref))
