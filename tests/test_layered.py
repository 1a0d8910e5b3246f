"""Layered media: a k of one coordinate, solved exactly by fastdiag's tridiagonal axis."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse.linalg as spla

from kronpde import Grid, Neumann, Periodic, Problem, Robin, prepare
from kronpde.problem.layered import LayeredFluxForm

CASES = [
    # (cells, boundary, the coordinate of k, centering)
    ([8, 7, 6], {}, "z", "node"),
    ([8, 7, 6], {"xmin": Neumann(0.0), "ymax": Robin(1.0, 2.0, 0.5)}, "y", "node"),
    ([8, 7, 6], {"zmin": Neumann(0.0), "xmax": Robin(2.0, 1.0, 0.0)}, "x", "cell"),
    ([9, 8], {"ymin": Periodic(), "ymax": Periodic()}, "y", "node"),
    ([9, 8], {"xmin": Periodic(), "xmax": Periodic(), "ymin": Neumann(1.0)}, "y", "cell"),
    ([12], {"xmax": Neumann(0.0)}, "x", "node"),
]


@pytest.mark.parametrize(("cells", "boundary", "name", "centering"), CASES)
@pytest.mark.parametrize("shift", [0.0, 2.0, -30.0])
def test_fastdiag_is_exact(cells, boundary, name, centering, shift):
    g = Grid.box(cells, boundary=boundary, centering=centering)
    p = Problem(g, source="1 + x*x", coefficient=f"1.5 + sin(4*{name})", shift=shift)
    assert isinstance(p.discretisation, LayeredFluxForm)
    assert p.discretisation.fast_solve_obstacle() is None
    ref = spla.spsolve(p.operator().tocsc(), p.rhs())
    for method in ("fastdiag", "auto") if shift >= 0 else ("fastdiag",):
        s = prepare(p, method=method)
        assert s.method == "fastdiag"
        x = s.solve(p.rhs()).x.reshape(-1)
        assert np.max(np.abs(x - ref)) <= 1e-10 * np.max(np.abs(ref))


def test_fastdiag_cg_still_works():
    g = Grid.box([10, 9], boundary={"ymin": Neumann(0.0)})
    p = Problem(g, source="x*y", coefficient="2 + cos(3*y)")
    ref = spla.spsolve(p.operator().tocsc(), p.rhs())
    x = prepare(p, method="fastdiag-cg").solve(p.rhs(), rtol=1e-12).x.reshape(-1)
    assert np.max(np.abs(x - ref)) <= 1e-9 * np.max(np.abs(ref))


def test_not_layered_stays_flux_form():
    g = Grid.box([6, 5])
    p = Problem(g, source=1.0, coefficient="1 + x*y")
    assert not isinstance(p.discretisation, LayeredFluxForm)
    assert p.discretisation.partial_structure() is None


def _error(cells: int, centering: str, dimension: int) -> float:
    """Max error of the manufactured ``u = Π sin(π x_i)`` with ``k = 1 + sin(2 z)/2``."""
    k = "(1 + 0.5*sin(2*z))" if dimension == 3 else "(1 + 0.5*sin(2*y))"
    last = "z" if dimension == 3 else "y"
    names = ("x", "y", "z")[:dimension]
    u = "*".join(f"sin(pi*{v})" for v in names)
    others = "*".join(f"sin(pi*{v})" for v in names[:-1])
    f = f"{dimension}*pi*pi*{k}*{u} - cos(2*{last})*pi*{others}*cos(pi*{last})"
    g = Grid.box([cells] * dimension, centering=centering)
    p = Problem(g, source=f, coefficient=k)
    assert isinstance(p.discretisation, LayeredFluxForm)
    x = prepare(p, method="fastdiag").solve(p.rhs()).x
    coords = g.unknown_coordinates()
    exact = np.ones(g.shape)
    for c in coords:
        exact = exact * np.sin(np.pi * c)
    return float(np.max(np.abs(x.reshape(g.shape) - exact)))


@pytest.mark.parametrize(
    ("centering", "dimension"), [("node", 2), ("cell", 2), ("node", 3), ("cell", 3)]
)
def test_observed_order_two(centering, dimension):
    sizes = (8, 16, 32, 64) if dimension == 3 else (16, 32, 64, 128)
    errors = [_error(n, centering, dimension) for n in sizes]
    orders = [np.log2(a / b) for a, b in zip(errors, errors[1:], strict=False)]
    assert all(1.9 <= q <= 2.1 for q in orders), orders


def test_distributed_exact_solves_name_the_methods_that_work():
    """The pencils and PETSc's exact path need a Kronecker sum: a layered k says so."""
    from kronpde.errors import SolverError
    from kronpde.solvers import petsc
    from kronpde.solvers.pencil.solver import PencilFastDiag

    p = Problem(Grid.box([6, 5]), source=1.0, coefficient="1 + y")
    why = p.discretisation.distributed_fast_obstacle()
    assert "one process" in why
    assert "'fastdiag-cg'" in why
    assert p.discretisation.fast_solve_obstacle() is None
    with pytest.raises(SolverError, match="fastdiag-cg"):
        PencilFastDiag(p)
    assert petsc.choose_exact(p, "auto")[0] is False
    with pytest.raises(SolverError, match="one process"):
        petsc.choose_exact(p, "fastdiag")


def test_fastdiag_cg_preconditions_a_nearly_layered_k_with_its_layers():
    """k varying mostly along z: k_ref(z), each layer's geometric mean, solved by the
    tridiagonal axis (84 iterations to 1e-8 with one constant k_ref at 32³, 9 with it)."""
    from kronpde.solvers import solve

    p = Problem(Grid.box([12, 10, 14]), source="x + z", coefficient="exp(4*z)*(1 + 0.2*cos(5*x*y))")
    assert "layered k_ref along axis 2" in p.discretisation.layered_reference().note
    found = solve(p, "fastdiag-cg", rtol=1e-11)
    assert found.report.iterations <= 14, found.report.iterations
    reference = spla.spsolve(p.operator().tocsc(), p.rhs())
    assert np.abs(found.x - reference).max() <= 1e-8 * np.abs(reference).max()
    across = Problem(Grid.box([12, 10]), source=1.0, coefficient="1 + x*y")  # no layers
    assert across.discretisation.layered_reference() is None
