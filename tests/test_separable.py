"""Separable operators (issue 28): coefficients at the faces, Robin of either sign, anisotropy.

Anchors: operators written entry by entry from the rules of case-format.md
("Separable operators, anisotropy, Helmholtz of either sign"), manufactured
solutions differentiated by hand (observed order), scipy's ``spsolve`` of the
same matrix, closed forms.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse.linalg as sla
from cell_reference import staggered_reference
from conftest import observed_order
from reference_operators import weighted_operator

from kronpde import Dirichlet, Grid, Neumann, Problem, Robin
from kronpde.errors import DataError, OptionError, SolverError
from kronpde.solvers import prepare, solve


def test_a_formula_is_evaluated_at_every_face_the_fluxes_cross():
    """An expression and a callable give the same operator: k at the interval mid-points."""
    g = Grid.box([6, 5], boundary={"xmax": Robin(1.0, 2.0), "ymin": Robin(1.0, 1.0)})
    expr = Problem(g, 1.0, coefficient="1 + x + x*y**2")
    func = Problem(g, 1.0, coefficient=lambda x, y: 1 + x + x * y**2)
    mat, _ = staggered_reference(g, 1.0, 0.0, k=lambda x, y: 1 + x + x * y**2)
    scale = float(np.max(np.abs(mat)))
    assert np.max(np.abs(expr.operator().toarray() - mat)) <= 1e-13 * scale
    assert np.max(np.abs(func.operator().toarray() - mat)) <= 1e-13 * scale


def test_an_array_keeps_the_harmonic_mean_of_its_points():
    g = Grid.box([6, 5], boundary={"xmax": Robin(1.0, 2.0)})
    x, y = g.node_coordinates()
    k = 1 + x + x * y**2
    p = Problem(g, 1.0, coefficient=k)
    ref = weighted_operator(g, k).toarray()
    got = p.weighted_operator().toarray()
    assert np.max(np.abs(got - ref)) <= 1e-13 * np.max(np.abs(ref))
    mat, _ = staggered_reference(g, 1.0, 0.0, k=k)  # the cell reference's harmonic path
    assert np.max(np.abs(p.operator().toarray() - mat)) <= 1e-13 * np.max(np.abs(mat))


def test_faces_improve_a_rough_coefficient_and_keep_second_order():
    """-(k u')' = f with k = 1 + 0.9 sin(8 pi x): observed order 2 on the faces' k."""
    errors, hs = [], []
    for m in (32, 64, 128):
        g = Grid.box([m])
        k = "1 + 0.9*sin(8*pi*x)"
        # u = sin(pi x): -(k u')' = -(k' u' + k u'')
        f = "-(0.9*8*pi*cos(8*pi*x)*pi*cos(pi*x)) + (1 + 0.9*sin(8*pi*x))*pi**2*sin(pi*x)"
        u = solve(Problem(g, f, coefficient=k), method="direct").u
        xs = g.node_coordinates()[0]
        errors.append(float(np.max(np.abs(u - np.sin(np.pi * xs)))))
        hs.append(1.0 / m)
    order = observed_order(hs, errors)
    assert 1.9 <= order <= 2.1, (errors, order)


def test_a_face_value_that_is_not_finite_names_the_coefficient_and_the_point():
    g = Grid.box([5])  # nodes 0, 0.2, ..., 1; the interval mid-point 0.5 is a face
    with pytest.raises(DataError) as err:
        Problem(g, 1.0, coefficient="2 + (x - 0.5)/abs(x - 0.5)")
    assert err.value.subject == "coefficient"
    assert "0.5" in str(err.value)


def test_k_min_and_the_contrast_take_the_interior_faces():
    """k = 2 + cos(2 pi m x): 3 at every node, 1 at every interval mid-point."""
    m = 16
    g = Grid.box([m, m])
    p = Problem(g, 1.0, coefficient=f"2 + cos(2*pi*{m}*x)")
    k_min, k_max = p.coefficient_range()
    assert abs(k_min - 1.0) < 1e-12
    assert abs(k_max - 3.0) < 1e-12
    prepared = prepare(p, method="fastdiag-cg")
    assert abs(prepared.backend.contrast - 3.0) < 1e-9
    bound = p.smallest_eigenvalue()
    exact = sla.eigsh(p.operator(symmetric=True), k=1, sigma=0.0, return_eigenvectors=False)
    assert bound is not None
    assert bound.value <= float(exact[0])
    assert "k_min = 1 " in bound.how  # the faces' 1, not the nodes' 3


def _robin_grid(m: int) -> Grid:
    """u = exp(x) sin(y) + 1 on [0,1]^2; x = 0: u_x + u = 2 sin(y) + 1, i.e. alpha 1, beta -1."""
    return Grid.box(
        [m, m],
        boundary={"xmin": Robin(1.0, -1.0, "2*sin(y) + 1")},
        default=Dirichlet("exp(x)*sin(y) + 1"),
    )


@pytest.mark.parametrize("method", ["fastdiag", "direct"])
def test_robin_of_either_sign_is_second_order(method):
    errors, hs = [], []
    for m in (16, 32, 64):
        g = _robin_grid(m)
        p = Problem(g, source="exp(x)*sin(y)*0", shift=0.0)
        sol = solve(p, method=method)
        x, y = g.node_coordinates()
        errors.append(float(np.max(np.abs(sol.u - (np.exp(x) * np.sin(y) + 1)))))
        hs.append(1.0 / m)
    order = observed_order(hs, errors)
    assert 1.9 <= order <= 2.1, (errors, order)


def test_robin_feeding_energy_is_refused_by_cg_naming_the_exact_methods():
    """Neumann elsewhere: u = 1 has Rayleigh quotient -1 < 0, so A is indefinite."""
    g = Grid.box([16, 16], boundary={"xmin": Robin(1.0, -1.0, 0.0)}, default=Neumann())
    lam = sla.eigsh(Problem(g, 1.0).operator(symmetric=True), k=1, which="SA")[0][0]
    assert lam < 0.0
    p = Problem(g, source="x*y")
    with pytest.raises((OptionError, SolverError)) as err:
        solve(p, method="cg")
    assert "fastdiag" in str(err.value)
    k = Problem(g, source="x*y", coefficient="1 + x")
    with pytest.raises((OptionError, SolverError)) as err:
        solve(k, method="fastdiag-cg")
    assert "direct" in str(err.value)
    # the exact methods solve it: the same u to rounding, and A u = b
    a = solve(p, method="fastdiag").u
    b = solve(p, method="direct").u
    assert np.max(np.abs(a - b)) <= 1e-10 * np.max(np.abs(b))
    ref = sla.spsolve(p.operator().tocsc(), p.rhs())
    assert np.max(np.abs(p.to_nodes(ref) - a)) <= 1e-10 * np.max(np.abs(a))
