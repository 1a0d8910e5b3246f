"""Manufactured solutions: the discretisation is second order for every boundary kind."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import build_problem, observed_order, reference_solve

from kronpde import DataError, Grid, Neumann, Problem

KIND_SETS = {
    1: {
        "dirichlet": [("dirichlet", "dirichlet")],
        "neumann": [("neumann", "dirichlet")],
        "robin": [("robin", "neumann")],
        "periodic-shift": [("periodic", "periodic")],
        "pure-neumann": [("neumann", "neumann")],
        "dirichlet-robin": [("dirichlet", "robin")],
    },
    2: {
        "dirichlet": [("dirichlet", "dirichlet"), ("dirichlet", "dirichlet")],
        "neumann": [("neumann", "neumann"), ("dirichlet", "neumann")],
        "robin": [("robin", "robin"), ("robin", "dirichlet")],
        "periodic": [("periodic", "periodic"), ("dirichlet", "neumann")],
        "mixed": [("neumann", "robin"), ("periodic", "periodic")],
        "pure-neumann": [("neumann", "neumann"), ("neumann", "neumann")],
        "pure-periodic": [("periodic", "periodic"), ("periodic", "periodic")],
    },
    3: {
        "dirichlet": [("dirichlet", "dirichlet")] * 3,
        "neumann": [("neumann", "dirichlet"), ("dirichlet", "neumann"), ("neumann", "neumann")],
        "robin": [("robin", "robin"), ("dirichlet", "dirichlet"), ("robin", "neumann")],
        "periodic-mixed": [
            ("periodic", "periodic"),
            ("robin", "dirichlet"),
            ("neumann", "neumann"),
        ],
        "pure-neumann": [("neumann", "neumann")] * 3,
    },
}
LEVELS = {1: (16, 32, 64), 2: (8, 16, 32), 3: (6, 12, 24)}
CASES = [(d, name) for d in KIND_SETS for name in KIND_SETS[d]]


def _error(problem, sol):
    """Max-norm nodal error of the reference solution; zero-mean exact one if singular."""
    u_h = problem.to_nodes(reference_solve(problem))
    exact = sol.u(*problem.grid.node_coordinates())
    exact = np.broadcast_to(exact, problem.grid.node_shape).copy()
    if problem.singular:
        exact -= problem.weighted_mean(problem.grid.from_nodes(exact))
    return np.abs(u_h - exact).max()


@pytest.mark.parametrize(("dim", "name"), CASES, ids=[f"{d}d-{n}" for d, n in CASES])
def test_manufactured_solution_second_order(dim, name):
    kinds = KIND_SETS[dim][name]
    shift = 0.0 if "pure" in name else (2.0 if "shift" in name else 0.5)
    hs, errs = [], []
    for m in LEVELS[dim]:
        cells = [m + (i % 2) * m // 2 for i in range(dim)]  # non-cubic: m, 1.5m, m
        problem, sol = build_problem(cells, kinds, shift=shift, k=1.3)
        assert problem.singular == ("pure" in name)
        hs.append(problem.grid.spacing[0])
        errs.append(_error(problem, sol))
    order = observed_order(hs, errs)
    assert 1.8 <= order <= 2.3, (errs, order)


def test_singular_projection_reports_the_removed_part():
    grid = Grid.box([8, 6], default=Neumann())
    problem = Problem(grid, source=1.0)  # incompatible: the mean of f is 1
    b = problem.rhs()
    projected, size = problem.project_rhs(b)
    w = problem.weights().reshape(-1)
    assert abs(w @ projected) < 1e-13 * np.abs(b).sum()
    np.testing.assert_allclose(projected, b - 1.0, atol=1e-14)
    assert size == pytest.approx(1.0)  # b is the constant 1: all of it is removed
    # compatible data remove nothing measurable
    p2 = Problem(grid, source=lambda x, y: np.cos(np.pi * x))
    assert p2.project_rhs(p2.rhs())[1] < 1e-14


def test_problem_argument_errors():
    grid = Grid.box([4])
    with pytest.raises(DataError, match="shift"):
        Problem(grid, shift=-float("inf"))  # any finite c is accepted, c < 0 included
    with pytest.raises(DataError, match="coefficient"):
        Problem(grid, coefficient=0.0)
    with pytest.raises(DataError, match="coefficient"):  # <= 0 at unknowns (x = 0 is Dirichlet)
        Problem(grid, coefficient=lambda x: x - 0.5)
    with pytest.raises(DataError, match="node shape"):
        Problem(grid, source=np.ones(3))  # refused when built, not first in rhs()


def test_array_source_equals_callable_source():
    grid = Grid.box([5, 4], boundary={"xmin": Neumann(2.0)})
    f = lambda x, y: np.sin(x) + y  # noqa: E731
    nodal = np.broadcast_to(f(*grid.node_coordinates()), grid.node_shape)
    np.testing.assert_allclose(Problem(grid, nodal).rhs(), Problem(grid, f).rhs(), rtol=1e-15)


# -- the parts a problem delegates to ---------------------------------------------------------
def test_one_discretisation_is_chosen_at_construction():
    from kronpde.problem.compact_scheme import CompactFourthOrder
    from kronpde.problem.flux_form import FluxForm
    from kronpde.problem.kronecker import KroneckerSum

    g = Grid.box([6, 4])
    assert type(Problem(g, 1.0).discretisation) is KroneckerSum
    assert type(Problem(g, 1.0, order=4).discretisation) is CompactFourthOrder
    assert type(Problem(g, 1.0, coefficient="1 + x*y").discretisation) is FluxForm
    assert Problem(g, 1.0).discretisation.stencil_points == 5  # the star of 2-D
    assert Problem(g, 1.0, order=4).discretisation.stencil_points == 9  # the compact box
    for p in (Problem(g, 1.0), Problem(g, 1.0, order=4), Problem(g, 1.0, coefficient="1 + x*y")):
        assert p.order == p.discretisation.order
        assert p.fast_diagonalizable == (p.discretisation.fast_solve_obstacle() is None)


def test_with_shift_shares_one_data_object_and_what_does_not_depend_on_c():
    g = Grid.box([6, 4], boundary=Neumann())
    for order in (2, 4):
        p = Problem(g, "cos(pi*x)", order=order)
        q = p.with_shift(3.0)
        assert q.data is p.data
        assert q.discretisation.shared is p.discretisation.shared
        assert q.axis_operators is p.axis_operators
        # b contains c at order 4 only (the faces' corrections)
        assert (q.rhs_values is p.rhs_values) == (order == 2)
        fresh = Problem(g, "cos(pi*x)", 3.0, order=order)
        np.testing.assert_allclose(q.rhs(), fresh.rhs(), rtol=1e-13, atol=1e-13)
        assert abs(q.operator() - fresh.operator()).max() <= 1e-12


def test_docstring_examples_run():
    import doctest
    import importlib

    for name in ("kronpde.problem.problem", "kronpde.problem.certify", "kronpde.problem.spectrum"):
        module = importlib.import_module(name)
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.attempted >= 2, name
        assert result.failed == 0, name


def test_a_problem_offers_every_member_of_the_protocol_solvers_type_it_with():
    from kronpde.problem.protocol import SolvableProblem

    p = Problem(Grid.box([4, 4]), 1.0, coefficient="1 + x")
    members = [name for name in vars(SolvableProblem) if not name.startswith("_")]
    assert len(members) > 25
    assert [name for name in members if not hasattr(p, name)] == []
