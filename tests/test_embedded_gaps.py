"""Embedded boundaries, second wave: the eigenvalue estimate where no bound is proven,
PETSc's floating domain, a variable k and the memory line of ``kronpde check``."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as sla

from kronpde import Dirichlet, Grid, Neumann, Periodic, Problem, solve
from kronpde.app import cli
from kronpde.errors import DataError
from kronpde.problem.eigen_estimate import estimate_smallest_eigenvalue

CYL = "0.5 - sqrt(x**2 + y**2)"
CYL_U = "x*(1 + 0.25/(x**2 + y**2))"


def _cylinder(n: int) -> Problem:
    g = Grid.box([n, n], lower=[-1, -1], upper=[1, 1], boundary=Dirichlet(CYL_U))
    return Problem(g, source=0.0, domain=CYL, embedded=Neumann(0.0))


def _floating(n: int) -> Problem:
    g = Grid.box([n, n], boundary=Neumann(0.0))
    return Problem(
        g, source="x - 0.4", domain="0.2 - sqrt((x - 0.5)**2 + (y - 0.5)**2)", embedded=Neumann()
    )


def _dense_spectrum(p: Problem) -> np.ndarray:
    idx = np.flatnonzero(p.discretisation.domain_unknowns())
    return np.linalg.eigvalsh(p.operator(symmetric=True)[idx][:, idx].toarray())


def test_the_eigenvalue_estimate_matches_a_dense_eigenvalue():
    p = _cylinder(32)  # 784 unknowns: ARPACK's shift-invert
    dense = _dense_spectrum(p)
    assert p.smallest_eigenvalue() is None  # Neumann: no bound is proven
    est = p.discretisation.eigenvalue_estimate(False)
    assert abs(est - dense[0]) <= 1e-6 * dense[0]
    idx = np.flatnonzero(p.discretisation.domain_unknowns())
    lobpcg = estimate_smallest_eigenvalue(p.operator(symmetric=True)[idx][:, idx], dimension=3)
    assert abs(lobpcg - dense[0]) <= 1e-4 * dense[0]
    q = _floating(40)  # singular: lambda_2, past the null vector
    dense = _dense_spectrum(q)
    assert q.singular
    assert dense[0] <= 1e-8 * dense[-1]
    est = q.discretisation.eigenvalue_estimate(True)
    assert abs(est - dense[1]) <= 1e-6 * dense[1]


def test_the_report_gives_an_estimate_never_a_certificate():
    p = _cylinder(32)
    ref = sla.spsolve(sp.csc_matrix(p.operator()), p.rhs())
    sol = solve(p, "cg", rtol=1e-6)
    r = sol.report
    assert r.algebraic_error_bound is None
    dense = _dense_spectrum(p)[0]
    assert abs(r.eigenvalue_estimate - dense) <= 1e-6 * dense
    w = p.unknown_weights
    error = float(np.sqrt(np.sum(w * (sol.x - ref) ** 2)))
    assert error <= r.algebraic_error_estimate <= 1e3 * error  # residual / lambda_min bounds it
    assert "not certified" in r.message
    assert any("not certified" in text for text in r.warnings)
    # a Dirichlet embedded boundary keeps its certificate and gives no estimate
    g = Grid.box([32, 32], lower=[-1, -1], upper=[1, 1], boundary=Dirichlet(0.0))
    d = solve(Problem(g, source=1.0, domain="sqrt(x**2 + y**2) - 0.8"), "cg", rtol=1e-8).report
    assert d.algebraic_error_bound is not None
    assert d.algebraic_error_estimate is None


CASE = """
[grid]
cells = [32, 32]
lower = [-1, -1]
upper = [1, 1]
[geometry]
level_set = "0.5 - sqrt(x**2 + y**2)"
[equation]
source = "0"
[boundary]
default = { type = "dirichlet", value = "x*(1 + 0.25/(x**2 + y**2))" }
embedded = { type = "neumann", value = 0 }
[solver]
method = "cg"
rtol = 1e-8
"""


def test_the_summary_and_the_json_label_the_estimate(tmp_path, capsys):
    case = tmp_path / "case.toml"
    case.write_text(CASE)
    out_file = str(tmp_path / "u.vti")
    assert cli.main(["solve", str(case), "-o", out_file, "--json", "-q"]) == 0
    record = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert record["algebraic_error_bound"] is None
    dense = _dense_spectrum(_cylinder(32))[0]
    assert abs(record["eigenvalue_estimate"] - dense) <= 1e-6 * dense
    assert record["algebraic_error_estimate"] > 0.0
    assert cli.main(["solve", str(case), "-o", out_file]) == 0
    assert "estimated (not certified)" in capsys.readouterr().out


# -- a variable k with a Dirichlet embedded boundary -------------------------------------

VAR_K = "1 + 0.5*sin(x + 2*y)"
VAR_U = "exp(x)*sin(2*y) + x**2"
VAR_F = (  # -div(k grad u) of VAR_U (sympy)
    "-(2*x + exp(x)*sin(2*y))*cos(x + 2*y)/2 - (exp(x)*sin(2*y) + 2)*(sin(x + 2*y)/2 + 1)"
    " + 4*(sin(x + 2*y)/2 + 1)*exp(x)*sin(2*y) - 2*exp(x)*cos(2*y)*cos(x + 2*y)"
)


def _variable(n: int, domain: str = "sqrt(x**2 + y**2) - 0.8", box: str = "0") -> Problem:
    g = Grid.box([n, n], lower=[-1, -1], upper=[1, 1], boundary=Dirichlet(box))
    return Problem(g, source=VAR_F, coefficient=VAR_K, domain=domain, embedded=Dirichlet(VAR_U))


def _exact(p: Problem) -> np.ndarray:
    x, y = (np.broadcast_to(v, p.grid.shape).reshape(-1) for v in p.grid.unknown_coordinates())
    return np.exp(x) * np.sin(2 * y) + x**2


def test_a_domain_filling_the_box_is_the_flux_form():
    g = Grid.box([24, 20], lower=[-1, -1], upper=[1, 1.3], boundary=Dirichlet(VAR_U))
    full = Problem(g, source=VAR_F, coefficient=VAR_K)
    emb = Problem(g, source=VAR_F, coefficient=VAR_K, domain="-1 + 0*x", embedded=Dirichlet(0.0))
    scale = abs(full.operator()).max()
    assert abs(full.operator() - emb.operator()).max() <= 1e-13 * scale
    assert np.max(np.abs(full.rhs() - emb.rhs())) <= 1e-12 * np.max(np.abs(full.rhs()))


def test_a_variable_k_is_second_order_in_the_max_norm():
    errors = []
    for n in (32, 64, 128):
        p = _variable(n)
        x = sla.spsolve(sp.csc_matrix(p.operator()), p.rhs())
        inside = p.discretisation.domain_unknowns()
        errors.append(float(np.max(np.abs(x - _exact(p))[inside])))
    orders = [np.log2(a / b) for a, b in zip(errors, errors[1:], strict=False)]
    assert all(1.9 <= o <= 2.1 for o in orders), (errors, orders)


def test_a_variable_k_methods_equal_spsolve_and_the_bound_holds():
    p = _variable(48, box="x")
    ref = sla.spsolve(sp.csc_matrix(p.operator()), p.rhs())
    for method in ("fastdiag-cg", "amg-cg", "cg", "direct"):
        x = solve(p, method, rtol=1e-13).x
        assert np.max(np.abs(x - ref)) <= 1e-9 * np.max(np.abs(ref)), method
    sym = p.operator(symmetric=True)
    assert abs(sym - sym.T).max() <= 1e-12 * abs(sym).max()
    q = _variable(20)
    lam = np.linalg.eigvalsh(q.operator(symmetric=True).toarray())[0]
    bound = q.smallest_eigenvalue().value
    assert 0.0 < bound <= lam
    assert bound >= 0.2 * lam  # k_min times the unit bound: not vacuous


def test_a_variable_k_with_a_neumann_embedded_boundary_is_refused():
    g = Grid.box([16, 16], lower=[-1, -1], upper=[1, 1])
    with pytest.raises(DataError, match="Dirichlet embedded boundary") as info:
        Problem(g, coefficient=VAR_K, domain=CYL, embedded=Neumann(0.0))
    assert info.value.subject == "coefficient"


def test_a_periodic_axis_with_a_domain_is_refused_by_name():
    g = Grid.box([16, 16], lower=[-1, -1], upper=[1, 1], default=Periodic())
    with pytest.raises(DataError, match="periodic axis") as info:
        Problem(g, source=1.0, domain="sqrt(x**2 + y**2) - 0.8")
    assert info.value.subject == "grid"


# -- kronpde check's memory line: the band correction's LU -------------------------------


@pytest.mark.parametrize(
    ("cells", "domain", "embedded"),
    [
        ([256, 256], "sqrt(x**2 + y**2) - 0.8", Dirichlet(0.0)),
        ([32, 32, 32], "0.4 - sqrt(x**2 + y**2 + z**2)", Dirichlet(0.0)),
        ([32, 32, 32], "0.4 - sqrt(x**2 + y**2 + z**2)", Neumann(0.0)),
    ],
)
def test_the_memory_estimate_counts_the_band_lu(cells, domain, embedded):
    from kronpde.solvers.band import BandCorrection
    from kronpde.solvers.memory import band_bytes, solve_bytes

    d = len(cells)
    g = Grid.box(cells, lower=[-1] * d, upper=[1] * d, boundary=Dirichlet(0.0))
    p = Problem(g, source=1.0, domain=domain, embedded=embedded)
    estimate = band_bytes(p)
    band = BandCorrection(p.operator(symmetric=True), p.discretisation.reference_defect())
    lu = band._lu
    actual = 12 * (lu.L.nnz + lu.U.nnz) + 12 * (band._rows.nnz + band._cols.nnz)
    assert actual <= estimate <= 3 * actual, (estimate, actual)
    with_band, name = solve_bytes(p, "fastdiag-cg")
    assert name == "fastdiag-cg"
    assert with_band - solve_bytes(Problem(g, source=1.0), "fastdiag-cg")[0] >= estimate


def test_check_prints_the_band_correction(tmp_path, capsys):
    case = tmp_path / "case.toml"
    case.write_text(CASE.replace('method = "cg"', 'method = "fastdiag-cg"'))
    assert cli.main(["check", str(case)]) == 0
    line = next(t for t in capsys.readouterr().out.splitlines() if t.startswith("memory"))
    assert "fastdiag-cg" in line
    assert "band correction's LU" in line
