"""Product coefficients in 2-D (``k_s = a(s) b(t)``, ``k_t = c(t) d(s)``) and k unread at nodes.

BLKTRI's case is in ``test_fishpack.py``; here ``fastdiag`` equals ``spsolve`` of the
flux form's matrix for product coefficients (isotropic ``k = f(x) g(y)`` too, with a
shift of either sign and Neumann ends), the order, the refusal where ``k`` is no product,
and the point check: a formula ``k`` not finite at a Dirichlet node (no flux reads it)
is accepted, at an unknown it is refused naming the coefficient.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse.linalg as sla
from conftest import observed_order

from kronpde import Grid, Problem
from kronpde.errors import DataError, SolverError
from kronpde.geometry.boundary import Dirichlet, Neumann
from kronpde.solvers import solve


def _fast_and_sparse(problem: Problem) -> tuple[np.ndarray, np.ndarray]:
    fast = solve(problem, "fastdiag").u[problem.grid.unknown_index].reshape(-1)
    return fast, sla.spsolve(problem.operator().tocsc(), problem.rhs())


@pytest.mark.parametrize(
    ("coefficient", "shift", "boundary"),
    [
        ({"x": "(1 + y)/(1 + x)", "y": "(2 + x)*exp(y)"}, 0.0, Dirichlet(0.0)),
        # k_x of x alone (b = 1): a shift of either sign joins T_x
        ({"x": "1 + x**2", "y": "(2 + sin(3*y))*(1 + x)"}, -7.0, Dirichlet(1.0)),
        ({"x": "1 + x**2", "y": "(2 + sin(3*y))*(1 + x)"}, 3.0, Dirichlet(1.0)),
        ("(1 + x**2)*(2 + sin(3*y))", 0.0, Neumann(0.5)),  # isotropic f(x) g(y)
    ],
)
def test_fastdiag_equals_spsolve_for_a_product_k(coefficient, shift, boundary):
    grid = Grid.box([23, 17], boundary={"xmin": boundary, "xmax": Dirichlet(0.0),
                                        "ymin": boundary, "ymax": Dirichlet(0.0)})  # fmt: skip
    problem = Problem(grid, source="x*y + 1", coefficient=coefficient, shift=shift)
    fast, ref = _fast_and_sparse(problem)
    assert np.max(np.abs(fast - ref)) <= 1e-10 * np.max(np.abs(ref))


def test_a_product_k_converges_at_second_order_with_fastdiag():
    # -div(K grad u) for u = sin(pi x) sin(pi y), k_x = (1 + y)/(1 + x), k_y = (1 + x)(1 + y)
    source = (
        "-(pi*cos(pi*x)*sin(pi*y)*(-(1 + y)/(1 + x)**2)"
        " - pi**2*(1 + y)/(1 + x)*sin(pi*x)*sin(pi*y))"
        " - (pi*sin(pi*x)*cos(pi*y)*(1 + x) - pi**2*(1 + x)*(1 + y)*sin(pi*x)*sin(pi*y))"
    )
    errors = []
    for n in (16, 32, 64):
        grid = Grid.box([n, n], boundary=Dirichlet(0.0))
        problem = Problem(
            grid, source=source, coefficient={"x": "(1 + y)/(1 + x)", "y": "(1 + x)*(1 + y)"}
        )
        x, y = grid.point_coordinates()
        u = solve(problem, "fastdiag").u
        errors.append(float(np.max(np.abs(u - np.sin(np.pi * x) * np.sin(np.pi * y)))))
    order = observed_order([1 / 16, 1 / 32, 1 / 64], errors)
    assert 1.9 <= order <= 2.1, (errors, order)


def test_a_k_that_is_no_product_still_refuses_fastdiag():
    grid = Grid.box([12, 12], boundary=Dirichlet(0.0))
    problem = Problem(grid, source=1.0, coefficient={"x": "1 + x*y", "y": "1 + x + y"})
    with pytest.raises(SolverError, match="fastdiag-cg"):
        solve(problem, "fastdiag")


def test_a_product_k_with_a_shift_on_both_axes_refuses_and_direct_solves():
    grid = Grid.box([12, 12], boundary=Dirichlet(0.0))
    problem = Problem(grid, source=1.0, coefficient="(1 + x)*(1 + y)", shift=2.0)
    with pytest.raises(SolverError, match="shift c != 0"):
        solve(problem, "fastdiag")
    u = solve(problem, "direct").u[grid.unknown_index].reshape(-1)
    ref = sla.spsolve(problem.operator().tocsc(), problem.rhs())
    np.testing.assert_allclose(u, ref, rtol=1e-12)
    prepared = solve(problem.with_shift(0.0), "fastdiag")  # c = 0: exact
    zero = problem.with_shift(0.0)
    ref0 = sla.spsolve(zero.operator().tocsc(), zero.rhs())
    np.testing.assert_allclose(prepared.u[grid.unknown_index].reshape(-1), ref0, rtol=1e-10)


def test_k_infinite_at_a_dirichlet_node_only_is_accepted_at_an_unknown_refused():
    dirichlet = Grid.box([10, 10], boundary=Dirichlet(0.0))
    ok = Problem(dirichlet, source=1.0, coefficient={"x": "y/x", "y": "x/y"})
    fast, ref = _fast_and_sparse(ok)
    assert np.max(np.abs(fast - ref)) <= 1e-10 * np.max(np.abs(ref))
    faces = {"xmin": Neumann(0.0), "xmax": Dirichlet(0.0),
             "ymin": Dirichlet(0.0), "ymax": Dirichlet(0.0)}  # fmt: skip
    neumann = Grid.box([10, 10], boundary=faces)
    with pytest.raises(DataError, match="coefficient.x"):
        Problem(neumann, source=1.0, coefficient={"x": "y/x", "y": "x/y"})
