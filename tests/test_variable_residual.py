"""The flux form's one-pass certificate and its largest row sum, compiled, against references.

``VariableOperator.residual_sums`` (the compiled ``r = b - A u`` with the
certificate's four sums) must give the certificate of two applies and dense
sums; ``largest_row_sum`` (what the eigenvalue bound's rounding margin reads)
must be the assembled matrix's largest absolute row sum; the eigenvalue bound
it gives must be the one of ``2 diag - Â 1``.
"""

from __future__ import annotations

import numpy as np
import pytest

from kronpde import Dirichlet, Grid, Neumann, Periodic, Problem, Robin, solve
from kronpde.operators.kernels import _dispatch as dispatch
from kronpde.operators.kernels import compile_kernels
from kronpde.problem.certify import certificate

KERNELS = ["variable_apply", "variable_residual", "variable_row_norm"]


def _k(*x):
    return 1.0 + 0.6 * np.sin(3.0 * x[0]) * np.cos(2.0 * x[-1]) ** 2


def _problem(kind: str, cells: tuple[int, ...]) -> Problem:
    d = len(cells)
    faces = [f"{a}{s}" for a in "xyz"[:d] for s in ("min", "max")]
    shift, centering = 0.0, "node"
    if kind == "dirichlet":
        bc = {f: Dirichlet("x + 0.5") for f in faces}
    elif kind == "robin-shift":
        bc, shift = {f: Robin(1.0, 2.0, 0.5) for f in faces}, 0.7
    elif kind == "periodic":  # c > 0: not singular in 1-D
        bc, shift = {f: Dirichlet(0.1) for f in faces}, 0.4
        bc["xmin"] = bc["xmax"] = Periodic()
        if d > 2:
            bc["zmin"] = bc["zmax"] = Periodic()
    elif kind == "neumann-shift":
        bc, shift = {f: (Neumann(0.2) if f.endswith("max") else Dirichlet(0.3)) for f in faces}, 1.5
    elif kind == "cells":
        bc = {f: Dirichlet(0.2) for f in faces}
        centering = ["cell"] + ["node"] * (d - 1)
    else:
        raise AssertionError(kind)
    upper = [1.0, 0.8, 1.3][:d]
    grid = Grid.box(list(cells), upper=upper, boundary=bc, centering=centering)
    return Problem(grid, source="sin(2*x) + 1", shift=shift, coefficient=_k)


@pytest.fixture
def compiled(monkeypatch):
    """Every operator takes the compiled path (the kernels loaded first)."""
    compile_kernels(KERNELS)
    monkeypatch.setattr(dispatch, "MIN_COMPILED_SIZE", 1)


KINDS = ["dirichlet", "robin-shift", "periodic", "neumann-shift", "cells"]
CELLS = [(30,), (17, 13), (9, 8, 10)]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("cells", CELLS)
def test_the_compiled_residual_sums_are_the_dense_ones(compiled, kind, cells):
    """r = b - A u and Σ r², Σ w r², Σ w (|A||u|)², Σ w b² against the assembled A (1e-13)."""
    p = _problem(kind, cells)
    op = p.linear_operator()
    assert op.compiled
    rng = np.random.default_rng(len(cells))
    u = rng.standard_normal(p.size)
    b = p.rhs()
    r = np.empty(p.size)
    weights = [a.weights for a in p.grid.axes]
    sums = op.residual_sums(u, b, r, weights)
    a = p.operator()
    ref_r = b - a @ u
    w = p.unknown_weights
    absu = abs(a) @ np.abs(u)
    expected = [ref_r @ ref_r, w @ ref_r**2, w @ absu**2, w @ b**2]
    scale = np.max(abs(a) @ np.abs(u)) + np.max(np.abs(b))
    assert np.max(np.abs(r - ref_r)) <= 1e-13 * scale
    assert sums == pytest.approx(expected, rel=1e-12)
    # Â itself (no scaling) too
    sym = p.linear_operator(symmetric=True)
    sums_hat = sym.residual_sums(u, b, r, weights)
    ref_hat = b - p.operator(symmetric=True) @ u
    assert sums_hat[0] == pytest.approx(ref_hat @ ref_hat, rel=1e-12)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("cells", CELLS)
def test_the_fused_certificate_is_the_two_apply_one(compiled, kind, cells):
    """Problem.error_bound through the compiled pass equals the two-apply certificate (1e-12)."""
    p = _problem(kind, cells)
    b = p.rhs()
    u = solve(p, "direct").x + 1e-4 * np.random.default_rng(3).standard_normal(p.size)
    certifier = p.certifier
    taken = []
    fused = p.linear_operator().residual_sums

    def counted(*args):
        taken.append(1)
        return fused(*args)

    certifier.apply = p.linear_operator()
    certifier.apply.residual_sums = counted
    new = certifier.certify(u, b)
    assert taken, "the compiled pass was not taken"
    n = p.size
    r, t = np.empty(n), np.empty(n)
    p.linear_operator().matvec_into(u, r)
    np.subtract(b, r, out=r)
    old = certificate(
        r, u, b, lambda absu: certifier._abs_apply(absu, r), certifier.measure,
        certifier.eigenvalue, t,
    )  # fmt: skip
    for field in ("residual_norm", "weighted_residual", "rounding", "bound"):
        assert getattr(new, field) == pytest.approx(getattr(old, field), rel=1e-12), field
    # and it bounds the true algebraic error
    exact = solve(p, "direct").x
    err = np.sqrt(p.unknown_weights @ (u - exact) ** 2)
    assert err <= new.bound


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("cells", CELLS)
@pytest.mark.parametrize("path", ["compiled", "numpy"])
def test_the_largest_row_sum_is_the_assembled_one(monkeypatch, kind, cells, path):
    """max_i Σ_j |Â_ij| from the coefficients, compiled and on NumPy, against the matrix."""
    if path == "compiled":
        compile_kernels(KERNELS)
        monkeypatch.setattr(dispatch, "MIN_COMPILED_SIZE", 1)
    p = _problem(kind, cells)
    op = p.linear_operator(symmetric=True)
    expected = float(np.max(abs(p.operator(symmetric=True)) @ np.ones(p.size)))
    assert op.largest_row_sum() == pytest.approx(expected, rel=1e-14)


@pytest.mark.parametrize("kind", KINDS)
def test_the_eigenvalue_bound_from_the_row_sum_is_the_applied_one(kind):
    """variable_bound with the row sum equals it with 2 diag - Â 1 (1e-13) and bounds λ_min."""
    from kronpde.problem.spectrum import variable_bound

    p = _problem(kind, (14, 11))
    scheme = p.discretisation
    found = p.smallest_eigenvalue()
    a_hat = p.linear_operator(symmetric=True)
    old = variable_bound(
        scheme.unit_bound(False), p.coefficient_range()[0], p.shift, a_hat.matvec,
        p.diagonal(), None, p.grid.dimension,
    )  # fmt: skip
    assert found.value == pytest.approx(old[0], rel=1e-13)
    a = p.operator(symmetric=True).toarray()
    assert found.value <= float(np.linalg.eigvalsh(0.5 * (a + a.T))[0])
