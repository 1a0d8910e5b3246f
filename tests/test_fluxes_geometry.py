"""Net outward fluxes of curvilinear grids and embedded boundaries: balance and closed forms.

kronpde.problem.fluxes_curvilinear and fluxes_embedded, through face_fluxes and the
command line; docs/fluxes.md.
"""

from __future__ import annotations

import contextlib
import io
import json
import math

import numpy as np
import pytest
import scipy.sparse.linalg as sla
from conftest import observed_order

from kronpde import Dirichlet, Grid, Neumann, Periodic, Problem, Robin, solve
from kronpde.app import cli
from kronpde.geometry.boundary import OnAxis, Pole
from kronpde.geometry.coordinates import coordinates
from kronpde.geometry.curvilinear import CurvilinearGrid
from kronpde.problem.fluxes import face_fluxes

PI, TWO_PI = math.pi, 2 * math.pi

#: name: (system, cells, lower, upper, faces, variable k); every face kind of each system
CURVILINEAR = {
    "polar-sector": ("polar", [8, 6], [0.5, 0.0], [1.5, PI / 2],
                     {"rmin": Robin(1.0, 2.0, "x"), "rmax": Dirichlet("x*y"),
                      "thetamin": Neumann("x + 1"), "thetamax": Dirichlet(1.0)}, True),
    "polar-disc": ("polar", [6, 8], [0.0, 0.0], [1.0, TWO_PI],
                   {"rmin": OnAxis(), "rmax": Neumann("1 + y"), "thetamin": Periodic(),
                    "thetamax": Periodic()}, False),
    "cylindrical-3d": ("cylindrical", [4, 6, 4], [0.0, 0.0, 0.0], [1.0, TWO_PI, 1.0],
                       {"rmin": OnAxis(), "rmax": Neumann(0.5), "thetamin": Periodic(),
                        "thetamax": Periodic(), "zmin": Robin(2.0, 1.0, "x"),
                        "zmax": Dirichlet("z + x")}, True),
    "cylindrical-axisymmetric": ("cylindrical", [6, 5], [0.5, 0.0], [1.5, 1.0],
                                 {"rmin": Dirichlet(1.0), "rmax": Robin(1.0, 1.0, 0.5),
                                  "zmin": Neumann("x + 1"), "zmax": Dirichlet("x*y")}, False),
    "spherical-3d": ("spherical", [4, 6, 4], [0.5, 0.0, 0.0], [1.0, PI, TWO_PI],
                     {"rmin": Dirichlet(1.0), "rmax": Robin(1.0, 2.0, "z"),
                      "thetamin": Pole(), "thetamax": Pole(), "phimin": Periodic(),
                      "phimax": Periodic()}, True),
    "spherical-ball": ("spherical", [4, 6, 4], [0.0, 0.0, 0.0], [1.0, PI, TWO_PI],
                       {"rmin": OnAxis(), "rmax": Dirichlet("x"), "thetamin": Pole(),
                        "thetamax": Pole(), "phimin": Periodic(), "phimax": Periodic()}, False),
    "spherical-axisymmetric": ("spherical", [6, 6], [0.0, 0.3], [1.0, 2.5],
                               {"rmin": OnAxis(), "rmax": Robin(1.0, 1.0, "y"),
                                "thetamin": Neumann(0.25), "thetamax": Neumann("x")},
                               True),
    "sphere-cap": ("sphere", [6, 8], [0.0, 0.0], [PI / 2, TWO_PI],
                   {"thetamin": Pole(), "thetamax": Robin(1.0, 2.0, "x"),
                    "phimin": Periodic(), "phimax": Periodic()}, False),
    "sphere-patch": ("sphere", [6, 6], [0.4, 0.0], [2.0, PI],
                     {"thetamin": Dirichlet("y"), "thetamax": Neumann(0.5),
                      "phimin": Neumann("y"), "phimax": Dirichlet(0.0)}, True),
}  # fmt: skip

#: the faces with no area or no net flux
NO_AREA = (OnAxis, Pole, Periodic)


def _curvilinear(name: str, centering: str) -> Problem:
    system, cells, lower, upper, faces, variable = CURVILINEAR[name]
    grid = CurvilinearGrid.build(system, cells, lower, upper, faces, centering=centering)
    k = "1 + 0.5*x*x" if variable else 2.0
    return Problem(grid, source="1 + x", shift=0.5, coefficient=k)


def _relative(fb) -> float:
    scale = max(abs(fb.source), abs(fb.absorbed), sum(abs(q) for q in fb.fluxes.values()))
    return abs(fb.imbalance) / scale


@pytest.mark.parametrize("centering", ["node", "cell"])
@pytest.mark.parametrize("name", sorted(CURVILINEAR))
def test_curvilinear_exact_solve_balances_to_round_off(name, centering):
    p = _curvilinear(name, centering)
    x = sla.spsolve(p.operator().tocsc(), p.rhs())
    fb = face_fluxes(p, x)
    system, *_, faces, _ = CURVILINEAR[name]
    assert set(fb.fluxes) == set(faces)
    assert _relative(fb) <= 1e-10, fb
    assert fb.imbalance == pytest.approx(-fb.residual, abs=1e-12)
    for face, condition in faces.items():
        if isinstance(condition, NO_AREA):
            assert fb.fluxes[face] == 0.0, face
    # the nodal field gives the same fluxes as the unknowns
    again = face_fluxes(p, p.to_nodes(x))
    for face, q in fb.fluxes.items():
        assert again.fluxes[face] == pytest.approx(q, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("centering", ["node", "cell"])
def test_a_shift_expression_balances(centering):
    """c(x) = 1 + r² times the control volumes: c ∫ u is the scheme's."""
    grid = CurvilinearGrid.polar(
        [8, 8], [0.0, 0.0], [1.0, TWO_PI],
        {"rmin": OnAxis(), "rmax": Neumann(0.3), "thetamin": Periodic(), "thetamax": Periodic()},
        centering=centering,
    )  # fmt: skip
    p = Problem(grid, "1 + x", shift=grid.expression("1 + r*r"))
    fb = face_fluxes(p, sla.spsolve(p.operator().tocsc(), p.rhs()))
    assert _relative(fb) <= 1e-10
    assert fb.fluxes["rmax"] == pytest.approx(-0.3 * TWO_PI, rel=2e-2)  # k g 2π R, R = 1


@pytest.mark.parametrize("centering", ["node", "cell"])
def test_fastdiag_solves_balance_on_curvilinear_grids(centering):
    p = _curvilinear("polar-disc", centering)
    fb = face_fluxes(p, solve(p, "fastdiag").x)
    assert _relative(fb) <= 1e-10


@pytest.mark.parametrize("centering", ["node", "cell"])
def test_a_neumann_circle_carries_its_prescribed_flux(centering):
    """du/dn = 0.75 on r = 1.5 with k = 2: q = -2 0.75 (2 pi 1.5), the circle's true length."""  # noqa: E501
    grid = CurvilinearGrid.polar(
        [6, 12], [0.5, 0.0], [1.5, TWO_PI],
        {"rmin": Dirichlet(0.0), "rmax": Neumann(0.75), "thetamin": Periodic(),
         "thetamax": Periodic()}, centering=centering,
    )  # fmt: skip
    p = Problem(grid, source="x", coefficient=2.0)
    fb = face_fluxes(p, solve(p, "fastdiag").x)
    # node-centred: FISHPACK's ghost reflection takes the face factor r as the harmonic
    # mean of r -/+ h/2, r (1 - (h/2r)²) (docs/curvilinear.md)
    shrink = 1.0 - ((1.0 / 6.0) / 3.0) ** 2 if centering == "node" else 1.0
    assert fb.fluxes["rmax"] == pytest.approx(-2.0 * 0.75 * TWO_PI * 1.5 * shrink, rel=1e-12)


@pytest.mark.parametrize("centering", ["node", "cell"])
def test_coaxial_capacitor_flux_converges_at_second_order(centering):
    """u = ln(r/a)/ln(b/a): q(rmax) = -2 pi k/ln(b/a), q(rmin) = +2 pi k/ln(b/a)."""
    a, b, k = 1.0, 2.0, 2.0
    exact = TWO_PI * k / math.log(b / a)
    errors, hs = [], []
    for n in (8, 16, 32):
        grid = CurvilinearGrid.polar(
            [n, 8], [a, 0.0], [b, TWO_PI],
            {"rmin": Dirichlet(0.0), "rmax": Dirichlet(1.0), "thetamin": Periodic(),
             "thetamax": Periodic()}, centering=centering,
        )  # fmt: skip
        p = Problem(grid, 0.0, coefficient=k)
        fb = face_fluxes(p, solve(p, "fastdiag").x)
        assert fb.fluxes["rmin"] == pytest.approx(-fb.fluxes["rmax"], rel=1e-10)
        errors.append(abs(fb.fluxes["rmax"] + exact))
        hs.append(1.0 / n)
    order = observed_order(hs, errors)
    assert 1.9 <= order <= 2.1, (errors, order)


@pytest.mark.parametrize("centering", ["node", "cell"])
def test_every_face_of_a_polar_sector_converges_at_second_order(centering):
    """u = x² + y, f = -2 on 1 < r < 2, 0 < θ < π/2: Dirichlet, Neumann and Robin faces.

    q = π/2 + 1 (rmin), -2 (π + 1) (rmax), 1 (thetamin, y = 0), 0 (thetamax, x = 0);
    the corners of node-centred Dirichlet faces give the other faces their half cells.
    """
    e = coordinates("polar", 2).expression
    u = e("x*x + y")
    exact = {"rmin": PI / 2 + 1, "rmax": -2 * (PI + 1), "thetamin": 1.0, "thetamax": 0.0}
    errors, hs = [], []
    for n in (8, 16, 32):
        faces = {"rmin": Dirichlet(u), "rmax": Dirichlet(u), "thetamin": Neumann(-1.0),
                 "thetamax": Robin(1.0, 1.0, e("x*x + y - 2*x"))}  # fmt: skip
        grid = CurvilinearGrid.polar([n, n], [1.0, 0.0], [2.0, PI / 2], faces, centering=centering)
        p = Problem(grid, -2.0)
        fb = face_fluxes(p, solve(p, "direct").x)
        assert fb.fluxes["thetamin"] == pytest.approx(1.0, rel=1e-12)  # its data, whole length
        errors.append(max(abs(fb.fluxes[f] - q) for f, q in exact.items()))
        hs.append(1.0 / n)
    order = observed_order(hs, errors)
    assert 1.9 <= order <= 2.1, (errors, order)


@pytest.mark.parametrize("centering", ["node", "cell"])
def test_a_ball_with_unit_source_lets_out_its_volume(centering):
    """-Δu = 1 in the ball of radius 1.5, u = 0 on it: q(rmax) = 4/3 pi 1.5³."""
    exact = 4.0 / 3.0 * PI * 1.5**3
    errors, hs = [], []
    for n in (4, 8, 16):
        grid = CurvilinearGrid.spherical(
            [n, n, 4], [0.0, 0.0, 0.0], [1.5, PI, TWO_PI],
            {"rmin": OnAxis(), "rmax": Dirichlet(0.0), "thetamin": Pole(), "thetamax": Pole(),
             "phimin": Periodic(), "phimax": Periodic()}, centering=centering,
        )  # fmt: skip
        p = Problem(grid, 1.0)
        fb = face_fluxes(p, solve(p, "direct").x)
        assert fb.fluxes["rmax"] == pytest.approx(fb.source, rel=1e-10)
        errors.append(abs(fb.fluxes["rmax"] - exact))
        hs.append(1.0 / n)
    order = observed_order(hs, errors)
    assert 1.9 <= order <= 2.1, (errors, order)


def test_an_axisymmetric_ball_lets_out_its_volume_per_radian():
    grid = CurvilinearGrid.spherical(
        [16, 16],
        [0.0, 0.0],
        [1.5, PI],
        {"rmin": OnAxis(), "rmax": Dirichlet(0.0), "thetamin": Pole(), "thetamax": Pole()},
    )
    p = Problem(grid, 1.0)
    fb = face_fluxes(p, solve(p, "direct").x)
    assert fb.fluxes["rmax"] == pytest.approx(1.5**3 * 2.0 / 3.0, rel=5e-3)


# -- embedded boundaries ------------------------------------------------------------------
DISC = "sqrt((x - 0.6)**2 + (y - 0.5)**2) - 0.7"  # reaches xmax and ymax of [-1, 1]²

BOX_FACES = {
    "dirichlet": {},
    "neumann-robin": {"xmax": Neumann("1 + y"), "ymax": Robin(1.0, 2.0, "x + 0.5")},
}


def _mask(n: int) -> np.ndarray:
    x = np.linspace(-1, 1, n + 1)
    r = np.hypot(*np.meshgrid(x - 0.5, x - 0.4, indexing="ij"))
    return r < 0.75


def _embedded(centering: str, faces: str, embedded, k=2.0, domain: object = DISC) -> Problem:
    grid = Grid.box(
        [16, 12], lower=[-1, -1], upper=[1, 1], boundary=BOX_FACES[faces],
        default=Dirichlet("x*x + 1"), centering=centering,
    )  # fmt: skip
    return Problem(grid, source="1 + x", shift=0.5, coefficient=k, domain=domain,
                   embedded=embedded)  # fmt: skip


EMBEDDED_CASES = {
    "dirichlet": (Dirichlet("x*y"), 2.0),
    "dirichlet-variable-k": (Dirichlet("x*y"), "1 + x*x"),
    "neumann": (Neumann(0.3), 2.0),
}


@pytest.mark.parametrize("centering", ["node", "cell"])
@pytest.mark.parametrize("faces", sorted(BOX_FACES))
@pytest.mark.parametrize("case", sorted(EMBEDDED_CASES))
def test_embedded_exact_solve_balances_to_round_off(case, faces, centering):
    embedded, k = EMBEDDED_CASES[case]
    p = _embedded(centering, faces, embedded, k)
    x = sla.spsolve(p.operator().tocsc(), p.rhs())
    fb = face_fluxes(p, x)
    assert set(fb.fluxes) == {"xmin", "xmax", "ymin", "ymax", "embedded"}
    assert _relative(fb) <= 1e-10, fb
    assert fb.fluxes["xmin"] == 0.0  # Ω reaches neither xmin nor ymin
    assert fb.fluxes["ymin"] == 0.0
    assert fb.fluxes["xmax"] != 0.0
    assert fb.fluxes["ymax"] != 0.0
    again = face_fluxes(p, p.to_nodes(x))  # NaN outside the domain
    for face, q in fb.fluxes.items():
        assert again.fluxes[face] == pytest.approx(q, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("centering", ["node", "cell"])
@pytest.mark.parametrize("embedded", [Dirichlet("x"), Neumann(0.5)], ids=["dirichlet", "neumann"])
def test_masks_balance_to_round_off(embedded, centering):
    grid = Grid.box([16, 16], lower=[-1, -1], upper=[1, 1], centering=centering)
    mask = _mask(16) if centering == "node" else _mask(15)[:16, :16]
    p = Problem(grid, source="1 + y", shift=1.0, domain=mask, embedded=embedded)
    fb = face_fluxes(p, solve(p, "direct").x)
    assert _relative(fb) <= 1e-10, fb


@pytest.mark.parametrize("centering", ["node", "cell"])
@pytest.mark.parametrize("embedded", [Dirichlet("x"), Neumann(0.5)], ids=["dirichlet", "neumann"])
def test_a_ball_cut_by_a_neumann_box_face_balances(embedded, centering):
    grid = Grid.box(
        [10, 10, 10], lower=[-1, -1, -1], upper=[1, 1, 1], centering=centering,
        boundary={"zmax": Neumann(0.2)},
    )  # fmt: skip
    p = Problem(grid, source="1 + z", shift=0.5, domain="sqrt(x**2 + y**2 + (z - 0.35)**2) - 0.7",
                embedded=embedded)  # fmt: skip
    fb = face_fluxes(p, solve(p, "direct").x)
    assert _relative(fb) <= 1e-10, fb
    assert fb.fluxes["zmax"] < 0.0  # the cap on zmax lets 0.2 in per unit area
    assert all(fb.fluxes[f] == 0.0 for f in ("xmin", "xmax", "ymin", "ymax", "zmin"))


def test_a_domain_filling_the_box_has_the_box_fluxes():
    """Cell-centred, no corner nodes: every face's flux is the box rule's, nothing crosses Γ."""
    grid = Grid.box(
        [12, 10], lower=[-1, -1], upper=[1, 1], centering="cell",
        boundary={"xmin": Neumann("1 + y"), "ymax": Robin(1.0, 2.0, "x + 0.5")},
        default=Dirichlet("x*x + 1"),
    )  # fmt: skip
    box = Problem(grid, source="1 + x", shift=0.5, coefficient=2.0)
    inside = Problem(grid, source="1 + x", shift=0.5, coefficient=2.0, domain="x*x - 9",
                     embedded=Dirichlet(0.0))  # fmt: skip
    want = face_fluxes(box, solve(box, "direct").x).fluxes
    got = face_fluxes(inside, solve(inside, "direct").x).fluxes
    assert got["embedded"] == pytest.approx(0.0, abs=1e-12)
    for face in ("xmin", "ymax"):  # the prescribed fluxes of the Neumann and Robin faces
        assert got[face] == pytest.approx(want[face], rel=1e-12)
    total = sum(got[f] for f in ("xmin", "xmax", "ymin", "ymax"))
    assert total == pytest.approx(sum(want.values()), rel=1e-10)


@pytest.mark.parametrize("centering", ["node", "cell"])
def test_dirichlet_disc_with_unit_source_lets_out_its_area(centering):
    """-Δu = 1 in the disc of radius 0.7, u = 0 on it: q(embedded) = pi 0.7²."""
    errors, hs = [], []
    for n in (16, 32, 64):
        grid = Grid.box([n, n], lower=[-1, -1], upper=[1, 1], centering=centering)
        p = Problem(grid, source=1.0, domain="sqrt(x**2 + y**2) - 0.7", embedded=Dirichlet(0.0))
        fb = face_fluxes(p, solve(p, "direct").x)
        assert all(fb.fluxes[f] == 0.0 for f in ("xmin", "xmax", "ymin", "ymax"))
        errors.append(abs(fb.fluxes["embedded"] - PI * 0.49))
        hs.append(2.0 / n)
    order = observed_order(hs, errors)
    assert 1.8 <= order <= 2.2, (errors, order)


@pytest.mark.parametrize("centering", ["node", "cell"])
def test_neumann_disc_flux_is_k_g_times_the_circle(centering):
    """du/dn = 0.5 on the circle of radius 0.7, k = 2, c = 1: q = -2 0.5 (2 pi 0.7)."""
    errors, hs = [], []
    for n in (16, 32, 64):
        grid = Grid.box([n, n], lower=[-1, -1], upper=[1, 1], centering=centering)
        p = Problem(grid, source=1.0, shift=1.0, coefficient=2.0,
                    domain="sqrt(x**2 + y**2) - 0.7", embedded=Neumann(0.5))  # fmt: skip
        fb = face_fluxes(p, solve(p, "direct").x)
        assert _relative(fb) <= 1e-10
        errors.append(abs(fb.fluxes["embedded"] + 2.0 * 0.5 * TWO_PI * 0.7))
        hs.append(2.0 / n)
    order = observed_order(hs, errors)
    assert 1.8 <= order <= 2.2, (errors, order)


# -- iterative solves ------------------------------------------------------------------
@pytest.mark.parametrize("which", ["curvilinear", "embedded"])
def test_iterative_imbalance_is_the_weighted_residual_sum(which):
    if which == "curvilinear":
        p = _curvilinear("polar-sector", "node")
    else:
        p = _embedded("node", "neumann-robin", Dirichlet("x*y"))
    s = solve(p, "cg", rtol=1e-3)
    fb = face_fluxes(p, s.x)
    r = p.unknown_weights * (p.rhs() - p.operator() @ s.x)
    assert abs(fb.imbalance) > 1e-8  # not converged to round-off: a visible imbalance
    assert fb.imbalance == pytest.approx(-r.sum(), rel=1e-8)


# -- the command line ------------------------------------------------------------------
def _run(tmp_path, text: str, *args: str) -> tuple[dict, str]:
    case = tmp_path / "case.toml"
    case.write_text(text)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(["solve", str(case), "--json", "--balance", *args]) == 0
    lines = out.getvalue().splitlines()
    return json.loads(lines[-1]), "\n".join(lines[:-1])


CAPACITOR = """
[grid]
coordinates = "polar"
cells = [32, 8]
lower = [1.0, 0.0]
upper = [2.0, 6.283185307179586]
[equation]
source = 0.0
coefficient = 2.0
[boundary]
rmin = { type = "dirichlet", value = 0.0 }
rmax = { type = "dirichlet", value = 1.0 }
thetamin = { type = "periodic" }
thetamax = { type = "periodic" }
[solver]
method = "fastdiag"
"""


def test_command_line_reports_curvilinear_fluxes(tmp_path):
    record, summary = _run(tmp_path, CAPACITOR)
    exact = TWO_PI * 2.0 / math.log(2.0)
    assert set(record["fluxes"]) == {"rmin", "rmax", "thetamin", "thetamax"}
    assert record["fluxes"]["rmax"] == pytest.approx(-exact, rel=1e-4)
    assert record["fluxes"]["thetamin"] == 0.0
    assert abs(record["flux_imbalance"]) < 1e-10 * exact
    assert "fluxes     rmin " in summary
    assert "balance    sum q + c int u - int f = " in summary
    assert "not computed" not in summary


DISC_CASE = """
[grid]
cells = [32, 32]
lower = [-1, -1]
upper = [1, 1]
[geometry]
level_set = "sqrt(x**2 + y**2) - 0.7"
[equation]
source = 1.0
[boundary]
default = { type = "dirichlet", value = "x + 2*y" }
embedded = { type = "dirichlet", value = "x + 2*y" }
[solver]
method = "direct"
"""


def test_command_line_reports_the_embedded_flux(tmp_path):
    record, summary = _run(tmp_path, DISC_CASE)
    assert set(record["fluxes"]) == {"xmin", "xmax", "ymin", "ymax", "embedded"}
    assert record["fluxes"]["embedded"] == pytest.approx(PI * 0.49, rel=2e-3)
    assert abs(record["flux_imbalance"]) < 1e-10
    assert "embedded 1.5" in summary
    assert "not computed" not in summary


def test_grad_u_of_an_embedded_domain_is_nan_outside(tmp_path):
    """u = x + 2y (f = 0): one-sided differences at the boundary are exact too."""
    from vtk_reference import read_vtk

    text = DISC_CASE.replace("source = 1.0", "source = 0.0")
    text += '[output]\nfile = "u.vti"\nfields = ["u", "grad_u", "flux"]\n'
    _run(tmp_path, text)
    data = read_vtk(tmp_path / "u.vti")
    grad = data.point_data["grad_u"]
    inside = data.point_data["domain"] > 0
    np.testing.assert_allclose(grad[inside], np.tile([1.0, 2.0, 0.0], (inside.sum(), 1)),
                               atol=1e-9)  # fmt: skip
    np.testing.assert_allclose(data.point_data["flux"][inside], -grad[inside], atol=1e-12)
    assert np.all(np.isnan(grad[~inside]))


@pytest.mark.parametrize("centering", ["node", "cell"])
def test_grad_u_on_a_curvilinear_grid_is_cartesian(tmp_path, centering):
    """u = x on an annulus: grad u = (1, 0, 0) in Cartesian components, to second order."""
    from kronpde.io.vts import read_vts

    text = (
        CAPACITOR.replace("value = 0.0 }", 'value = "x" }')
        .replace("value = 1.0 }", 'value = "x" }')
        .replace("[32, 8]", "[32, 32]")
        .replace('coordinates = "polar"', f'coordinates = "polar"\ncentering = "{centering}"')
    )
    text += '[output]\nfile = "u.vts"\nfields = ["u", "grad_u"]\n'
    _run(tmp_path, text)
    found = read_vts(tmp_path / "u.vts")
    arrays = found[2] if centering == "cell" else found[1]
    grad = arrays["grad_u"].reshape(-1, 3)
    np.testing.assert_allclose(grad, np.tile([1.0, 0.0, 0.0], (grad.shape[0], 1)), atol=2e-2)
