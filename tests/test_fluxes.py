"""Net outward fluxes through the box's faces (kronpde.problem.fluxes): balance and accuracy."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kronpde import Dirichlet, Grid, Neumann, Periodic, Problem, Robin, solve
from kronpde.errors import SolverError
from kronpde.problem.fluxes import face_fluxes

KINDS = {
    "dirichlet": {},
    "neumann": {"xmin": Neumann("1 + y"), "ymax": Neumann(0.5)},
    "robin": {"xmin": Robin(1.0, 2.0, "x + 0.5"), "ymin": Robin(2.0, 1.0, 1.0)},
    "periodic": {"xmin": Periodic(), "xmax": Periodic()},
}


def _problem(dim: int, centering: str, kind: str, variable: bool, shift: float = 0.5) -> Problem:
    boundary = {f: c for f, c in KINDS[kind].items() if f[0] in "xyz"[:dim]}
    if dim == 1 and kind == "neumann":
        boundary = {"xmin": Neumann(1.5)}
    if dim == 1 and kind == "robin":
        boundary = {"xmin": Robin(1.0, 2.0, 0.5)}
    grid = Grid.box(
        [12, 10, 8][:dim],
        upper=[1.0, 2.0, 0.5][:dim],
        boundary=boundary,
        default=Dirichlet("x*x + 1"),
        centering=centering,
    )
    k = "1 + x*x + 0.5*sin(x)" if variable else 2.0
    return Problem(grid, source="1 + x", shift=shift, coefficient=k)


@pytest.mark.parametrize("dim", [1, 2, 3])
@pytest.mark.parametrize("centering", ["node", "cell"])
@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("variable", [False, True], ids=["k-constant", "k-variable"])
def test_exact_solve_balances_to_round_off(dim, centering, kind, variable):
    p = _problem(dim, centering, kind, variable)
    s = solve(p, "direct" if variable else "fastdiag")
    fb = face_fluxes(p, s.x)
    assert set(fb.fluxes) == {f"{a}{e}" for a in "xyz"[:dim] for e in ("min", "max")}
    assert abs(fb.imbalance) <= 1e-10 * abs(fb.source)
    assert abs(fb.absorbed - 0.5 * np.sum(p.weights() * s.x.reshape(p.grid.shape))) < 1.0  # c>0
    if kind == "periodic":
        assert fb.fluxes["xmin"] == 0.0
        assert fb.fluxes["xmax"] == 0.0
    # the nodal field gives the same fluxes as the unknowns
    again = face_fluxes(p, p.to_nodes(s.x))
    for name, q in fb.fluxes.items():
        assert again.fluxes[name] == pytest.approx(q, rel=1e-12, abs=1e-12)


#: (centering, cells, kind); a node-centred Dirichlet axis of one cell has no unknown
THIN = [
    (centering, cells, kind)
    for centering in ("node", "cell")
    for cells in ([1, 4], [2, 3], [1, 1, 3])
    for kind in ("neumann", "robin", "dirichlet")
    if not (kind == "dirichlet" and centering == "node" and 1 in cells)
]


@pytest.mark.parametrize(("centering", "cells", "kind"), THIN)
def test_one_or_two_cells_across_balance(centering, cells, kind):
    """The two outer layers are the whole axis: faces share every point of it."""
    condition = {"neumann": Neumann("1 + x"), "robin": Robin(1.0, 0.5, "y"), "dirichlet": None}
    face = condition[kind]
    boundary = {} if face is None else {"xmin": face, "xmax": face, "ymin": face}
    grid = Grid.box(cells, boundary=boundary, default=Dirichlet("x - y"), centering=centering)
    p = Problem(grid, source="1 + x*y", shift=1.0, coefficient="1 + x + y")
    fb = face_fluxes(p, solve(p, "direct").x)
    assert abs(fb.imbalance) <= 1e-10 * max(abs(fb.source), 1.0)


@pytest.mark.parametrize("centering", ["node", "cell"])
def test_neumann_face_carries_the_prescribed_flux(centering):
    """du/dn = g on xmin: q = -k g times the face's length (2), whatever the solution."""
    grid = Grid.box(
        [10, 8], upper=[1.0, 2.0], boundary={"xmin": Neumann(0.75)}, centering=centering
    )
    p = Problem(grid, source="x*y", coefficient=3.0)
    fb = face_fluxes(p, solve(p, "fastdiag").x)
    assert fb.fluxes["xmin"] == pytest.approx(-3.0 * 0.75 * 2.0, rel=1e-12)


@pytest.mark.parametrize("centering", ["node", "cell"])
def test_flux_converges_at_second_order_to_the_closed_form(centering):
    """u = sin(pi x) sin(pi y), k = 1 + x: q = 2, 4, 3, 3 on xmin, xmax, ymin, ymax."""
    f = "-pi*cos(pi*x)*sin(pi*y) + 2*(1 + x)*pi**2*sin(pi*x)*sin(pi*y)"
    exact = {"xmin": 2.0, "xmax": 4.0, "ymin": 3.0, "ymax": 3.0}
    errors = []
    for m in (16, 32, 64):
        p = Problem(Grid.box([m, m], centering=centering), source=f, coefficient="1 + x")
        fb = face_fluxes(p, solve(p, "direct").x)
        errors.append(max(abs(fb.fluxes[k] - v) for k, v in exact.items()))
    orders = [math.log2(a / b) for a, b in zip(errors, errors[1:], strict=False)]
    assert all(1.8 <= o <= 2.3 for o in orders), (errors, orders)


def test_one_dimensional_quadratic_is_exact():
    """u = x (1 - x), -u'' = 2: q = 1 through each end (second differences are exact)."""
    p = Problem(Grid.box([7]), source=2.0)
    fb = face_fluxes(p, solve(p, "fastdiag").x)
    assert fb.fluxes == pytest.approx({"xmin": 1.0, "xmax": 1.0}, rel=1e-12)


def test_iterative_imbalance_is_the_weighted_residual_sum():
    p = _problem(2, "node", "robin", variable=True, shift=0.0)
    s = solve(p, "cg", rtol=1e-3)
    fb = face_fluxes(p, s.x)
    r = p.unknown_weights * (p.rhs() - p.operator() @ s.x)
    assert abs(fb.imbalance) > 1e-8  # not converged to round-off: a visible imbalance
    assert fb.imbalance == pytest.approx(-r.sum(), rel=1e-8)
    assert fb.residual == pytest.approx(r.sum(), rel=1e-8)


def test_incompatible_pure_neumann_data_show_in_the_residual():
    """f = 1 with zero flux: nothing leaves, so the projected source is the imbalance."""
    p = Problem(Grid.box([8, 8], default=Neumann(0.0)), source=1.0)
    fb = face_fluxes(p, solve(p, "fastdiag").x)
    assert fb.total == pytest.approx(0.0, abs=1e-12)
    assert fb.imbalance == pytest.approx(-1.0, rel=1e-10)  # -∫ f over the unit square
    assert fb.residual == pytest.approx(1.0, rel=1e-10)


def test_fourth_order_is_refused_clearly():
    p = Problem(Grid.box([8, 8]), source=1.0, order=4)
    with pytest.raises(SolverError, match="order = 2 to compute fluxes"):
        face_fluxes(p, solve(p, "fastdiag").x)


def _cli(tmp_path, text: str) -> tuple[dict, str]:
    import json

    from kronpde.app import cli

    case = tmp_path / "case.toml"
    case.write_text(text)
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(["solve", str(case), "--json", "--balance"]) == 0
    lines = out.getvalue().splitlines()
    return json.loads(lines[-1]), "\n".join(lines[:-1])


def test_command_line_reports_the_fluxes(tmp_path):
    """u = x (1 - x) on [0, 1]: one unit leaves through each end (closed form)."""
    record, summary = _cli(
        tmp_path,
        "[grid]\ncells = [8]\n[equation]\nsource = 2.0\n"
        '[boundary]\ndefault = { type = "dirichlet", value = 0 }\n[solver]\nmethod = "fastdiag"\n',
    )
    assert record["fluxes"] == pytest.approx({"xmin": 1.0, "xmax": 1.0}, rel=1e-12)
    assert abs(record["flux_imbalance"]) < 1e-12
    assert "fluxes     xmin 1.0000e+00, xmax 1.0000e+00 (net outward" in summary
    assert "balance    sum q + c int u - int f = " in summary


def test_the_balance_is_reported_when_asked_only(tmp_path):
    import contextlib
    import io
    import json

    from kronpde.app import cli

    case = tmp_path / "case.toml"
    case.write_text(
        "[grid]\ncells = [8]\n[equation]\nsource = 2.0\n"
        '[boundary]\ndefault = { type = "dirichlet", value = 0 }\n'
    )
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(["solve", str(case), "--json"]) == 0
    record = json.loads(out.getvalue().splitlines()[-1])
    assert record["fluxes"] == pytest.approx({"xmin": 1.0, "xmax": 1.0}, rel=1e-12)
    assert "flux_imbalance" not in record
    assert "balance " not in out.getvalue()


def test_command_line_says_why_order_four_has_no_fluxes(tmp_path):
    record, summary = _cli(
        tmp_path,
        "[grid]\ncells = [8, 8]\n[equation]\nsource = 2.0\n[scheme]\norder = 4\n"
        '[boundary]\ndefault = { type = "dirichlet", value = 0 }\n'
        '[solver]\nmethod = "fastdiag"\n',
    )
    assert record["fluxes"] is None
    assert "fluxes     not computed for order 4" in summary


@pytest.mark.parametrize("suffix", [".vti", ".vtr"])
@pytest.mark.parametrize(
    ("coefficient", "source", "tolerance"),
    [("2.0", "0.0", 1e-10), ('"1 + x"', "-1.0", 2e-3)],
    ids=["k-constant", "k-variable"],
)
def test_grad_u_and_flux_fields_as_vtk_reads_them(tmp_path, suffix, coefficient, source, tolerance):
    """u = x + 2y - z: grad u = (1, 2, -1) and flux = -k grad u, read back by vtk.

    With k = 2 (f = 0) the scheme is exact for a linear u; with k = 1 + x (f = -1) its
    harmonic means at the midpoints are not, to about 1e-4 at these cells.
    """
    from vtk_reference import read_vtk

    case = tmp_path / "case.toml"
    case.write_text(
        "[grid]\ncells = [8, 6, 4]\nupper = [1.0, 2.0, 0.5]\n"
        f"[equation]\nsource = {source}\ncoefficient = {coefficient}\n"
        '[boundary]\ndefault = { type = "dirichlet", value = "x + 2*y - z" }\n'
        '[solver]\nmethod = "direct"\n'
        f'[output]\nfile = "u{suffix}"\nfields = ["u", "grad_u", "flux"]\n'
    )
    import contextlib
    import io

    from kronpde.app import cli

    with contextlib.redirect_stdout(io.StringIO()):
        assert cli.main(["solve", str(case), "-q"]) == 0
    data = read_vtk(tmp_path / f"u{suffix}")
    grad = data.point_data["grad_u"]
    flux = data.point_data["flux"]
    assert grad.shape == (9 * 7 * 5, 3)
    direction = np.array([1.0, 2.0, -1.0])
    np.testing.assert_allclose(grad, np.tile(direction, (grad.shape[0], 1)), atol=tolerance)
    x = data.points[:, 0]  # VTK's point order, as the arrays
    k = 2.0 if coefficient == "2.0" else (1 + x)[:, None]
    np.testing.assert_allclose(
        flux, -k * np.tile(direction, (flux.shape[0], 1)), atol=2 * tolerance
    )


def test_vector_fields_are_refused_for_unstructured_files(tmp_path):
    case = tmp_path / "case.toml"
    case.write_text(
        "[grid]\ncells = [4, 4]\n[equation]\nsource = 1.0\n"
        '[boundary]\ndefault = { type = "dirichlet", value = 0.0 }\n'
        '[output]\nfile = "u.vtu"\nfields = ["flux"]\n'
    )
    import contextlib
    import io

    from kronpde.app import cli

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert cli.main(["check", str(case)]) == 2
    assert "[output] fields: flux: vector fields are written to .vti, .vtr and .vts files only" in (
        err.getvalue()
    )
