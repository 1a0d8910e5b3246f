"""Curvilinear coordinates: FISHPACK parity, second order in every system, the bad inputs.

FISHPACK's numbers are the discretisation errors its test drivers print (FISHPACK 4.1,
``test/t*.f``, in NCAR/NCAR-Classic-Libraries-for-Geophysics), compiled with
``gfortran -std=legacy -fdefault-real-8 -fdefault-double-8`` on 2026-12-07: each driver's own
error metric, applied here to kronpde's nodal field.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse.linalg as sla
from conftest import observed_order

from kronpde import Problem, load_case
from kronpde.app.cli import main
from kronpde.geometry.boundary import Dirichlet, Neumann, OnAxis, Periodic, Pole
from kronpde.geometry.coordinates import coordinates
from kronpde.geometry.curvilinear import CurvilinearGrid
from kronpde.solvers import solve

DATA = Path(__file__).parent / "data" / "fishpack"


def _mean_removed(diff: np.ndarray, u: np.ndarray) -> float:  # HWSCYL, HSTCYL
    return float(np.abs(diff - diff.mean()).max())


def _pole_removed(diff: np.ndarray, u: np.ndarray) -> float:  # HWSSSP, HSTSSP: u(1,1)
    return float(np.abs(diff - u[0, 0]).max())


def _inside(diff: np.ndarray, u: np.ndarray) -> float:  # HWSCSP: the nodes with r < 1
    return float(np.abs(diff[:-1, :]).max())


def _plain(diff: np.ndarray, u: np.ndarray) -> float:
    return float(np.abs(diff).max())


#: driver -> (FISHPACK's 64-bit error, its metric).
FISHPACK = {
    "hwsplr": (6.1913422787441e-04, _plain),
    "hstplr": (1.1303794564841e-03, _plain),
    "hwscyl": (3.7367223808182e-04, _mean_removed),
    "hstcyl": (7.5279633145163e-05, _mean_removed),
    "hwsssp": (3.3810733852584e-03, _pole_removed),
    "hstssp": (3.3752323225735e-03, _pole_removed),
    "hwscsp": (7.9984163748015e-04, _inside),
    "hwscsp2": (5.8682428900392e-05, _plain),  # the shift lambda/(r sin theta)^2
    "hstcsp": (5.5843237566080e-03, _plain),
}


def four_digits(value: float) -> str:
    return f"{value:.3e}"


@pytest.mark.parametrize("method", ["direct", "cg", "fastdiag"])
@pytest.mark.parametrize("driver", sorted(FISHPACK))
def test_fishpack_drivers_reproduced(driver, method):
    case = load_case(DATA / f"{driver}.toml")
    p = case.problem
    sol = solve(p, method, rtol=1e-13)
    u = sol.u
    exact = case.exact.evaluate(p.grid.point_coordinates())
    ref, metric = FISHPACK[driver]
    err = metric(u - exact, u)
    assert four_digits(err) == four_digits(ref), (driver, method, err, ref)
    if method != "cg":  # the same scheme solved exactly: agreement far beyond four digits
        assert abs(err / ref - 1) < 1e-8


def test_shared_points_are_counted_once_and_repeated_in_the_output():
    case = load_case(DATA / "hwsssp.toml")
    g = case.grid
    assert g.tensor_shape == (19, 72)
    assert g.size == 18 * 72 + 1  # the pole once
    u = solve(case.problem, "direct").u
    assert u.shape == (19, 73)
    assert np.all(u[0, :] == u[0, 0])
    np.testing.assert_array_equal(u[:, -1], u[:, 0])  # periodic: node m repeats node 0
    # the volumes add up to the hemisphere's area (2 pi) to second order
    assert abs(g.weights().sum() - 2 * math.pi) < 5e-3


@pytest.mark.parametrize("driver", ["hwsplr", "hstcsp", "hwscyl"])
def test_weights_make_the_operator_symmetric(driver):
    p = load_case(DATA / f"{driver}.toml").problem
    a_hat = p.operator(symmetric=True)
    w = p.grid.weights()
    wa = (a_hat.multiply(np.sqrt(w)[:, None]).multiply(np.sqrt(w)[None, :])).tocsr()
    assert abs(wa - wa.T).max() <= 1e-13 * abs(wa).max()
    assert abs(a_hat - a_hat.T).max() <= 1e-13 * abs(a_hat).max()


# -- second order in every system, node- and cell-centred, with axis and pole faces ----
# The rows next to the axis and the poles have an O(1) truncation error on a thin cone
# (FISHPACK's too), which costs a log(h) factor in the max norm where the solution varies
# like the squared distance from the z axis (x**2); the spherical cases here vary along z
# and at third order off the axis, where three refinements show the order cleanly
# (docs/curvilinear.md).
TWO_PI, PI = 2 * math.pi, math.pi
#: system, dimension, cells at the coarsest level, upper, faces, source, exact, shift
ORDER_CASES = {
    "polar": ("polar", 2, [6, 12], [1.0, TWO_PI], {"rmin": "axis", "thetamin": "periodic"},
              "2*cos(x)*cos(y)", "cos(x)*cos(y)", 0.0),
    "cylindrical-3d": ("cylindrical", 3, [4, 8, 4], [1.0, TWO_PI, 1.0],
                       {"rmin": "axis", "thetamin": "periodic"},
                       "3*cos(x)*cos(y)*cos(z)", "cos(x)*cos(y)*cos(z)", 0.0),
    "cylindrical-axisymmetric": ("cylindrical", 2, [6, 6], [1.0, 1.0], {"rmin": "axis"},
                                 "-(4*r**2 - 5)*exp(-r**2)*cos(z)", "exp(-r**2)*cos(z)", 0.0),
    "spherical-3d": ("spherical", 3, [4, 6, 8], [1.0, PI, TWO_PI],
                     {"rmin": "axis", "thetamin": "pole", "thetamax": "pole",
                      "phimin": "periodic"},
                     "-(exp(z) + 20*r**2)", "exp(z) + x**3 - 3*x*y**2 + r**4", 0.0),
    "spherical-axisymmetric": ("spherical", 2, {"node": [12, 16], "cell": [8, 8]}, [1.0, PI],
                               {"rmin": "axis", "thetamin": "pole", "thetamax": "pole"},
                               "-(exp(z) + 12*z**2)", "exp(z) + z**4", 0.0),
    "sphere": ("sphere", 2, [8, 12], [PI, TWO_PI],
               {"thetamin": "pole", "thetamax": "pole", "phimin": "periodic"},
               "7*x*z + 3*y", "x*z + y", 1.0),
}  # fmt: skip


def build(name: str, level: int, centering: str) -> tuple[Problem, np.ndarray]:
    system_name, d, cells, upper, faces, source, exact, shift = ORDER_CASES[name]
    system = coordinates(system_name, d)
    u = system.expression(exact)
    kinds = {"axis": OnAxis(), "pole": Pole(), "periodic": Periodic()}
    boundary = {}
    for face in system.face_names:
        kind = faces.get(face)
        if face.endswith("max") and faces.get(face[:-3] + "min") == "periodic":
            kind = "periodic"
        boundary[face] = kinds[kind] if kind in kinds else Dirichlet(u)
    if isinstance(cells, dict):
        cells = cells[centering]
    cells = [c * 2**level for c in cells]
    grid = CurvilinearGrid.build(system, cells, [0.0] * d, upper, boundary, centering=centering)
    problem = Problem(grid, system.expression(source), shift=shift)
    exact_values = u.evaluate(grid.point_coordinates())
    return problem, exact_values


@pytest.mark.parametrize("centering", ["node", "cell"])
@pytest.mark.parametrize("name", sorted(ORDER_CASES))
def test_second_order_in_every_system(name, centering):
    errors, hs = [], []
    for level in range(3):
        problem, exact = build(name, level, centering)
        x = sla.spsolve(problem.operator().tocsc(), problem.rhs())
        u = problem.to_nodes(x)
        errors.append(float(np.abs(u - exact).max()))
        hs.append(0.5**level)
    order = observed_order(hs, errors)
    assert 1.9 <= order <= 2.1, (name, centering, errors, order)


#: Where the tridiagonal axis has no form yet: the node-centred centre of a 3-D ball (it
#: couples every radius of the longitude modes: a rank-one correction per mode).
NO_TRIDIAGONAL = {("spherical-3d", "node")}


@pytest.mark.parametrize("centering", ["node", "cell"])
@pytest.mark.parametrize("name", sorted(ORDER_CASES))
def test_fastdiag_tridiagonal_axis_agrees_with_spsolve(name, centering):
    problem, _ = build(name, 1, centering)
    if (name, centering) in NO_TRIDIAGONAL:
        assert "no tridiagonal-axis form" in problem.discretisation.fast_solve_obstacle()
        return
    reference = sla.spsolve(problem.operator().tocsc(), problem.rhs())
    x = solve(problem, "fastdiag").x
    assert solve(problem, "auto").report.method == "fastdiag"
    assert np.abs(x - reference).max() <= 1e-10 * np.abs(reference).max()


# -- bad input exits 2 naming the key ----------------------------------------------------
POLAR = """
[grid]
coordinates = "polar"
cells = [8, 8]
lower = [{rlo}, 0.0]
upper = [1.0, {tup}]
[equation]
source = 1.0
[boundary]
rmin = {{ type = "{rmin}" }}
rmax = {{ type = "dirichlet", value = 0.0 }}
thetamin = {{ type = "{theta}" }}
thetamax = {{ type = "{theta}" }}
{output}
"""

SPHERE = """
[grid]
coordinates = "sphere"
cells = [8, 8]
lower = [{tlo}, 0.0]
upper = [3.141592653589793, 6.283185307179586]
[equation]
source = "x*z"
shift = 1.0
[boundary]
thetamin = {{ type = "pole" }}
thetamax = {{ type = "pole" }}
phimin = {{ type = "periodic" }}
phimax = {{ type = "periodic" }}
"""


def _polar(rlo="0.0", tup="6.283185307179586", rmin="axis", theta="periodic", output=""):
    return POLAR.format(rlo=rlo, tup=tup, rmin=rmin, theta=theta, output=output)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        (_polar(rlo="-0.5", rmin="neumann\", value = \"0"), "[grid] lower"),
        (_polar(rlo="0.5"), "[boundary] rmin"),
        (SPHERE.format(tlo="0.25"), "[boundary] thetamin"),
        (_polar(tup="7.0", theta="neumann\", value = \"0"), "[grid] upper"),
        (_polar(tup="3.0"), "[boundary] thetamin"),
        (_polar(output='[output]\nfile = "out.vti"'), "[output] file"),
        (_polar(output='[output]\nfile = "out.vtr"'), "[output] file"),
    ],
    ids=["negative-r", "axis-off-r0", "pole-off-0", "span-over-2pi", "periodic-short",
         "vti", "vtr"],
)  # fmt: skip
def test_bad_input_exits_2_naming_the_key(tmp_path, capsys, text, key):
    path = tmp_path / "case.toml"
    path.write_text(text)
    code = main(["check", str(path)])
    err = capsys.readouterr().err
    assert code == 2
    assert key in err, err
    assert "Traceback" not in err
    if "vt" in key or "output" in key:
        assert ".vts" in err


def test_sphere_case_is_fine_as_written(tmp_path, capsys):
    path = tmp_path / "case.toml"
    path.write_text(SPHERE.format(tlo="0.0"))
    assert main(["check", str(path)]) == 0


# -- output ----------------------------------------------------------------------------
@pytest.mark.parametrize(("driver", "cells"), [("hwscsp", False), ("hstcsp", True)])
def test_vts_holds_the_points_at_their_cartesian_positions(tmp_path, capsys, driver, cells):
    from kronpde.io.vts import read_vts

    out = tmp_path / f"{driver}.vts"
    assert main(["solve", str(DATA / f"{driver}.toml"), "-o", str(out), "--quiet"]) == 0
    (x, y, z), fields, cell_fields = read_vts(out)
    data = cell_fields if cells else fields
    assert set(data) == {"u", "u_exact", "error"}
    assert np.all(y == 0.0)  # the axisymmetric meridian
    np.testing.assert_allclose(np.hypot(x, z).max(), 1.0, rtol=1e-15)
    if not cells:  # u at the point (x, 0, z) of the ball is about z**4 (the exact solution)
        assert np.abs(data["u"] - z**4).max() < 1e-3
        np.testing.assert_allclose(data["u_exact"], z**4, atol=1e-14)
    picture = tmp_path / f"{driver}.png"
    assert main(["plot", str(out), "-o", str(picture), "--quiet"]) == 0
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_minus_o_vti_is_refused_naming_vts(tmp_path, capsys):
    code = main(["solve", str(DATA / "hwsplr.toml"), "-o", str(tmp_path / "u.vti")])
    err = capsys.readouterr().err
    assert code == 2
    assert ".vts" in err
    assert not (tmp_path / "u.vti").exists()


# -- PETSc -----------------------------------------------------------------------------
def _petsc_json(tmp_path: Path, case: Path, *extra: str) -> tuple[int, dict, str]:
    import json
    import subprocess
    import sys

    from test_petsc import MPIRUN, _mpi_env

    assert MPIRUN is not None, "mpirun is not on PATH: run scripts/install-petsc.sh"
    command = [MPIRUN, "-n", "2", sys.executable, "-m", "kronpde", "solve", str(case),
               "--backend", "petsc", "--json", *extra]  # fmt: skip
    proc = subprocess.run(
        command, cwd=tmp_path, env=_mpi_env(), capture_output=True, text=True, timeout=300
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    return proc.returncode, json.loads(lines[-1]) if lines else {}, proc.stderr


@pytest.mark.petsc
@pytest.mark.parametrize("driver", ["hstplr", "hstcyl", "hstssp", "hstcsp"])
def test_petsc_two_ranks_agree_with_serial(tmp_path, driver):
    from kronpde.io.vts import read_pvts, read_vts

    case = DATA / f"{driver}.toml"
    out = tmp_path / f"{driver}.vts"
    code, report, err = _petsc_json(tmp_path, case, "--rtol", "1e-10", "-o", str(out))
    assert code == 0, err[-2000:]
    assert report["ranks"] == 2
    assert report["converged"]
    assert report["output"].endswith(".pvts")
    serial = solve(load_case(case).problem, "direct", rtol=1e-12)
    exact = load_case(case).exact.evaluate(load_case(case).grid.point_coordinates())
    diff = serial.u - exact  # singular ones: both the solution of zero weighted mean
    serial_max = float(np.abs(diff).max())
    assert abs(report["error_max"] / serial_max - 1) < 1e-6
    pieces = sorted((tmp_path / driver).glob(f"{driver}_*.vts"))
    assert len(pieces) == 2
    largest = max(float(np.abs(read_vts(p)[2]["error"]).max()) for p in pieces)
    assert largest == pytest.approx(report["error_max"], rel=1e-12)
    _, _, whole = read_pvts(tmp_path / f"{driver}.pvts")  # the pieces put together
    assert np.abs(whole["u"] - serial.u).max() < 1e-7 * np.abs(serial.u).max()
    index = (tmp_path / f"{driver}.pvts").read_text()
    assert "PStructuredGrid" in index
    assert "PPoints" in index


@pytest.mark.petsc
def test_petsc_refuses_a_shared_axis_point_naming_cell_centred_axes(tmp_path):
    code, _, err = _petsc_json(tmp_path, DATA / "hwsplr.toml")
    assert code == 2
    assert "make r cell-centred" in err


def test_rtol_auto_without_exact_estimates_on_the_coarse_curvilinear_grid(tmp_path, capsys):
    import json

    text = (DATA / "hwsplr.toml").read_text().split("[exact]")[0]
    path = tmp_path / "case.toml"
    path.write_text(text)
    assert main(["solve", str(path), "--method", "cg", "--json"]) == 0
    record = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert record["coordinates"] == "polar"
    assert record["discretisation_estimate"] == "richardson"
    # FISHPACK's error of this grid is 6.19e-4: the estimate is of its size
    assert 1e-4 < record["discretisation_error"] < 2e-3
    # the grid's own faces (docs/fluxes.md): u = r⁴ (1 - cos 4θ) lets 2 pi in through rmax
    assert set(record["fluxes"]) == {"rmin", "rmax", "thetamin", "thetamax"}
    assert record["fluxes"]["rmax"] == pytest.approx(-2 * math.pi, rel=1e-3)
    assert record["fluxes"]["rmin"] == 0.0  # the axis: no area


# -- the certified bound and the separable pieces ---------------------------------------
@pytest.mark.parametrize("driver", ["hwsplr", "hstplr", "hwscsp", "hstcsp"])
def test_certified_bound_is_below_the_smallest_eigenvalue_and_close(driver):
    p = load_case(DATA / f"{driver}.toml").problem
    lower, _, how = p.discretisation.smallest_eigenvalue(False)
    a_hat = p.operator(symmetric=True).tocsc()
    true = float(sla.eigsh(a_hat, k=1, sigma=0.0, which="LM", tol=1e-14)[0][0])  # shift-invert
    assert 0.999 * true < lower <= true * (1 - 1e-12), (lower, true, how)
    assert p.error_bound(p.rhs() * 0 + 1.0).bound is not None


@pytest.mark.parametrize("name", sorted(ORDER_CASES))
def test_separable_pieces_rebuild_the_assembled_operator(name):
    import scipy.sparse as sp

    from kronpde.problem.curvilinear import assemble
    from kronpde.problem.curvilinear_partial import curvilinear_pieces

    problem, _ = build(name, 0, "cell")  # cell-centred: no shared point, M is the tensor's
    grid = problem.grid
    pieces = curvilinear_pieces(grid)
    t, shape = pieces.axis, grid.tensor_shape
    lower, diag, upper = pieces.stiffness
    k_t = sp.diags_array([lower[1:], diag, upper[:-1]], offsets=[-1, 0, 1]).tolil()
    if grid.axes[t].periodic:
        k_t[0, -1], k_t[-1, 0] = lower[0], upper[-1]

    def kron(mats):
        out = mats[0]
        for m in mats[1:]:
            out = sp.kron(out, m)
        return sp.csr_array(out)

    bracket = kron([k_t if j == t else sp.eye_array(shape[j]) for j in range(grid.dimension)])
    for i, op in enumerate(pieces.operators):
        if op is None:
            continue
        mats = [sp.eye_array(n) for n in shape]
        mats[t], mats[i] = sp.diags_array(pieces.coupling[i]), op.tosparse()
        bracket = bracket + kron(mats)
    outer = [sp.diags_array(pieces.factor[j]) if j != t else sp.eye_array(shape[j])
             for j in range(grid.dimension)]  # fmt: skip
    m = kron(outer) @ bracket
    reference = assemble(problem.data).matrix
    assert abs(m - reference).max() <= 1e-14 * abs(reference).max()


def test_fastdiag_prepared_once_follows_the_shift_with_a_shared_axis():
    from kronpde.solvers import prepare

    problem, _ = build("cylindrical-3d", 0, "node")  # r = 0 shared by theta, z transformed
    solver = prepare(problem, "fastdiag")
    for shift in (0.0, 2.5, 40.0):
        solver.set_shift(shift)
        shifted = problem.with_shift(shift)
        reference = sla.spsolve(shifted.operator().tocsc(), shifted.rhs())
        x = solver.solve(shifted.rhs()).x
        assert np.abs(x - reference).max() <= 1e-10 * np.abs(reference).max()


@pytest.mark.parametrize("centering", [["cell", "node", "node"], ["node", "node", "cell"]])
def test_a_3d_spherical_pole_point_is_solved_exactly(centering):
    """The pole row holds the radius' eigenvalues, which the shift (on r) changes: the
    solver adds them per mode (``FirstRow.couples``), so every ``c`` agrees with spsolve."""
    from kronpde.solvers import prepare

    grid = CurvilinearGrid.build(
        "spherical", [4, 6, 8], [0.5, 0.0, 0.0], [1.0, PI / 2, TWO_PI],
        {"rmin": Neumann(0.0), "rmax": Dirichlet(0.0), "thetamin": Pole(),
         "thetamax": Dirichlet(0.0), "phimin": Periodic(), "phimax": Periodic()},
        centering=centering,
    )  # fmt: skip
    problem = Problem(grid, "1 + x*y + z", shift=0.5)
    assert problem.discretisation.fast_solve_obstacle() is None
    assert solve(problem, "auto").report.method == "fastdiag"
    solver = prepare(problem, "fastdiag")
    for shift in (0.5, 0.0, 40.0, -2.0):
        solver.set_shift(shift)
        shifted = problem.with_shift(shift)
        reference = sla.spsolve(shifted.operator().tocsc(), shifted.rhs())
        x = solver.solve(shifted.rhs()).x
        assert np.abs(x - reference).max() <= 1e-10 * np.abs(reference).max()


@pytest.mark.parametrize("name", ["polar", "sphere", "cylindrical-3d"])
def test_fastdiag_cg_for_a_variable_k_agrees_with_spsolve(name):
    problem, _ = build(name, 0, "node")
    system = problem.grid.coordinate_system
    k = system.expression("1 + 0.5*x*x + 0.3*z*z")
    varied = Problem(problem.grid, problem.source, shift=problem.shift, coefficient=k)
    reference = sla.spsolve(varied.operator().tocsc(), varied.rhs())
    found = solve(varied, "auto", rtol=1e-11)
    assert found.report.method == "fastdiag-cg"
    assert found.report.iterations <= 30
    assert np.abs(found.x - reference).max() <= 1e-8 * np.abs(reference).max()


@pytest.mark.parametrize(
    ("name", "text"),
    [("polar", "1 + 9*r**2 + 0.5*x"), ("sphere", "exp(2*theta)*(1 + 0.2*sin(y))")],
)
def test_fastdiag_cg_preconditions_with_a_k_of_the_tridiagonal_coordinate(name, text):
    """k varying mostly along t: the reference k_ref(t) (each surface's geometric mean).

    With one constant k_ref these took 25 (polar) and 222 (sphere) iterations to 1e-8.
    """
    problem, _ = build(name, 1, "node")
    k = problem.grid.coordinate_system.expression(text)
    varied = Problem(problem.grid, problem.source, shift=problem.shift, coefficient=k)
    reference = sla.spsolve(varied.operator().tocsc(), varied.rhs())
    found = solve(varied, "fastdiag-cg", rtol=1e-11)
    assert "k_ref(" in varied.discretisation.reference_structure().note
    assert found.report.iterations <= 14, found.report.iterations
    assert np.abs(found.x - reference).max() <= 1e-8 * np.abs(reference).max()


@pytest.mark.parametrize("force_eigh", [False, True])
def test_shared_axis_with_a_periodic_z_agrees_with_spsolve(force_eigh):
    """The axis point's row adds λ_z G_z[0] in the solver's own mode order (the FFT's
    halfcomplex order, or eigh's): a periodic z once took them in ascending order (1e-2 off)."""
    from kronpde.solvers import prepare

    grid = CurvilinearGrid.build(
        "cylindrical", [6, 8, 10], [0.0, 0.0, 0.0], [1.0, TWO_PI, 1.0],
        {"rmin": OnAxis(), "rmax": Dirichlet(0.0), "thetamin": Periodic(),
         "thetamax": Periodic(), "zmin": Periodic(), "zmax": Periodic()},
    )  # fmt: skip
    problem = Problem(grid, "1 + x*y + z", shift=0.3)
    solver = prepare(problem, "fastdiag", options={"force_eigh": force_eigh})
    reference = sla.spsolve(problem.operator().tocsc(), problem.rhs())
    x = solver.solve(problem.rhs()).x
    assert np.abs(x - reference).max() <= 1e-10 * np.abs(reference).max()
