"""The compact scheme's one blocked residual pass: the residual of its apply, a bound above.

The residual and its weighted norm equal those of the whole-array apply; the
rounding term's ``|| |P|(|T|)|u| ||_W`` is bounded by ``ρ ||u||_W``, never below
the two-apply value and close to it.
"""

import numpy as np
import pytest

import kronpde.operators.compact as compact
import kronpde.operators.compact_residual as cr
from kronpde import Dirichlet, Grid, Neumann, Problem, solve
from kronpde.problem.certify import certificate


def _two_applies(problem, u, b):
    """The certificate from ``A u`` and ``|P|(|T|)|u|`` over whole arrays (the reference)."""
    certifier = problem.certifier
    r, t = np.empty(u.size), np.empty(u.size)
    problem.linear_operator().matvec_into(u, r)
    np.subtract(b, r, out=r)
    absolute = certifier._absolute
    return certificate(
        r, u, b, lambda absu: absolute.apply(absu, r), certifier.measure, certifier.eigenvalue, t
    )


CASES = {
    "dirichlet-2d": ([40, 33], None),
    "neumann-2d": ([37, 30], {"xmax": Neumann(0.5), "ymin": Neumann(1.0)}),
    "dirichlet-3d": ([14, 12, 11], None),
    "mixed-3d": ([13, 12, 10], {"xmin": Neumann(0.3), "zmax": Dirichlet("x*y")}),
    "shift-2d": ([30, 25], "shift"),
}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("blocks", ["one", "many", "threads"])
def test_the_blocked_pass_equals_the_two_applies(name, blocks, monkeypatch):
    cells, faces = CASES[name]
    if blocks != "one":  # blocks of one or two planes: every halo is used
        monkeypatch.setattr(cr, "BLOCK_BYTES", 1)
    if blocks == "threads":
        monkeypatch.setattr(cr, "THREADED_SIZE", 1)
    shift = 7.5 if faces == "shift" else 0.0
    grid = Grid.box(cells, boundary=faces) if isinstance(faces, dict) else Grid.box(cells)
    p = Problem(grid, source="exp(x)*(1 + y)", order=4, shift=shift)
    rng = np.random.default_rng(len(cells))
    u = solve(p, "direct").x + 1e-3 * rng.standard_normal(p.size)  # a residual of size
    b = p.rhs()
    assert cr.fusable(p.linear_operator().scheme)
    new = p.error_bound(u, b)
    old = _two_applies(p, u, b)
    assert new.residual_norm == pytest.approx(old.residual_norm, rel=1e-12)
    assert new.weighted_residual == pytest.approx(old.weighted_residual, rel=1e-12)
    # |P|(|T|)|u| bounded through its W-norm: never below, and close for this smooth u
    assert old.rounding <= new.rounding <= 1.5 * old.rounding
    assert old.bound <= new.bound <= 1.5 * old.bound


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_norm_bounds_the_dense_absolute_polynomial(name):
    """ρ is at least ||W^½ |P|(|T|) W^-½||₂ of the dense matrix, and within 1.5 of it."""
    cells, faces = CASES[name]
    cells = [min(c, 9) for c in cells]
    shift = 7.5 if faces == "shift" else 0.0
    grid = Grid.box(cells, boundary=faces) if isinstance(faces, dict) else Grid.box(cells)
    p = Problem(grid, source=1.0, order=4, shift=shift)
    absolute = p.certifier._absolute
    n = p.size
    dense = np.empty((n, n))
    for j in range(n):
        e = np.zeros(n)
        e[j] = 1.0
        dense[:, j] = absolute.apply(e, np.empty(n))
    d = np.sqrt(p.unknown_weights)
    exact = np.linalg.norm(d[:, None] * dense / d[None, :], 2)
    rho = cr.absolute_norm(
        p.linear_operator().scheme, absolute.ops, [a.weights for a in p.grid.axes]
    )
    assert exact <= rho <= 1.5 * exact


def test_a_robin_face_keeps_the_two_applies():
    from kronpde import Robin

    p = Problem(Grid.box([20, 18], boundary={"xmax": Robin(1.0, 1.0, 0.0)}), source=1.0, order=4)
    assert not cr.fusable(p.linear_operator().scheme)
    u = solve(p, "direct").x
    b = p.rhs()
    assert p.error_bound(u, b).bound == pytest.approx(_two_applies(p, u, b).bound, rel=1e-12)


def test_the_pass_uses_the_polynomial_apply_of_the_operator():
    """The blocked ``A u`` is the operator's own apply, to the bit (the residual's entries)."""
    p = Problem(Grid.box([24, 20, 9]), source="x + y*z", order=4)
    s = p.linear_operator().scheme
    assert compact.polynomial_apply is cr.polynomial_apply
    u = np.random.default_rng(3).standard_normal(p.size)
    b = np.zeros(p.size)
    sums = cr.compact_residual_sums(
        s, p.certifier._absolute.ops, u.reshape(s.shape), b.reshape(s.shape),
        [a.weights for a in p.grid.axes],
    )  # fmt: skip
    au = p.linear_operator() @ u
    assert sums[0] == pytest.approx(float(au @ au), rel=1e-13)
