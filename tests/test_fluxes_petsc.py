"""Face fluxes and their balance of PETSc solves (``petsc``): under mpirun on 1 and 2 ranks.

The reference is :func:`kronpde.problem.fluxes.face_fluxes` of the same solution,
gathered on rank 0; the balance of an exact solve is zero to round-off, an
iterative one's imbalance is minus the weighted residual sum the serial
function computes of the same iterate.
"""

from __future__ import annotations

import json
import sys
import textwrap

import numpy as np
import pytest
from test_petsc import TESTS, kronpde_command, mpirun, petsc_ready  # noqa: F401

from kronpde import Dirichlet, Grid, Neumann, Problem, Robin, solve
from kronpde.problem.fluxes import face_fluxes

#: A driver run under mpirun: every problem by every method; rank 0 writes the records.
DRIVER = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, {tests!r})
    from mpi4py import MPI
    from kronpde import Dirichlet, Grid, Neumann, Periodic, Problem, Robin, prepare
    from kronpde.errors import OptionError, SolverError
    from kronpde.problem.fluxes import face_fluxes
    from kronpde.solvers.petsc.fluxes import petsc_face_fluxes

    comm = MPI.COMM_WORLD
    PROBLEMS = {{
        "1d-node-robin": (
            [12], "node", {{"xmin": Robin(1.0, 2.0, 0.5)}}, 2.0, 0.5),
        "2d-node-mixed": (
            [12, 10], "node", {{"xmin": Robin(1.0, 2.0, "x + 0.5"), "ymin": Neumann("1 + x")}},
            2.0, 0.5),
        "2d-cell-variable": (
            [12, 10], "cell", {{"xmin": Neumann("1 + y"), "xmax": Robin(2.0, 1.0, 1.0)}},
            "1 + x*x + 0.5*sin(y)", 0.5),
        "2d-cell-pure-neumann": (
            [10, 8], "cell", {{f: Neumann(0.25) for f in ("xmin", "xmax", "ymin", "ymax")}},
            1.0, 0.0),
        "2d-node-periodic-variable": (
            [12, 10], "node", {{"xmin": Periodic(), "xmax": Periodic()}}, "1 + 0.5*y", 0.0),
        "3d-node-mixed": (
            [8, 6, 6], "node",
            {{"xmin": Periodic(), "xmax": Periodic(), "ymin": Neumann(0.5),
              "ymax": Robin(1.0, 1.0, "z")}}, 1.5, 0.5),
    }}
    METHODS = [("fastdiag", None), ("cg", "jacobi"), ("amg-cg", "gamg"), ("amg-cg", "hypre"),
               ("amg-cg", "mg"),
               ("fastdiag-cg", None)]
    records = {{}}
    for name, (cells, centering, faces, k, c) in PROBLEMS.items():
        upper = [1.0, 2.0, 0.5][: len(cells)]
        grid = Grid.box(cells, upper=upper, boundary=faces, default=Dirichlet("x*x + 1"),
                        centering=centering)
        p = Problem(grid, source="1 + x", shift=c, coefficient=k)
        for method, pc in METHODS:
            options = {{"gather": "root"}} if pc is None else {{"gather": "root", "pc": pc}}
            try:
                s = prepare(p, method, backend="petsc", options=options)
            except (OptionError, SolverError):
                continue  # e.g. fastdiag of a variable k: the same on every rank
            sol = s.solve(rtol=1e-6)
            fb = petsc_face_fluxes(s, sol)
            alone = petsc_face_fluxes(s, sol, balance=False)
            if comm.rank == 0:
                ref = face_fluxes(p, sol.x)
                records[f"{{name}}/{{method}}/{{pc}}"] = dict(
                    fluxes=fb.fluxes, alone=alone.fluxes, serial=ref.fluxes,
                    source=fb.source, serial_source=ref.source,
                    absorbed=fb.absorbed, serial_absorbed=ref.absorbed,
                    residual=fb.residual, serial_residual=ref.residual,
                    imbalance=fb.imbalance, iterations=sol.report.iterations,
                    converged=sol.report.converged, ranks=sol.ranks,
                )
    if comm.rank == 0:
        with open(sys.argv[1], "w") as f:
            json.dump(records, f)
    """
)


@pytest.mark.parametrize("dim", [1, 2, 3])
@pytest.mark.parametrize("centering", ["node", "cell"])
def test_an_iterate_imbalance_is_minus_its_weighted_residual_sum(dim, centering):
    """Serially: a perturbed solution's balance (cell-centred Dirichlet faces too)."""
    faces = {"xmin": Neumann("1 + x"), "xmax": Robin(2.0, 1.0, 1.0)}
    grid = Grid.box(
        [12, 10, 6][:dim],
        upper=[1.0, 2.0, 0.5][:dim],
        boundary=faces,
        default=Dirichlet("x*x + 1"),
        centering=centering,
    )
    p = Problem(grid, source="1 + x", shift=0.5, coefficient="1 + x*x")
    x = solve(p, "direct").x + 1e-4 * np.random.default_rng(1).standard_normal(p.size)
    r = p.unknown_weights * (p.rhs() - p.operator() @ x)  # independent: the assembled rows
    fb = face_fluxes(p, x)
    assert fb.residual == pytest.approx(r.sum(), rel=1e-12)
    assert abs(fb.residual) > 1e-6
    assert abs(fb.imbalance + fb.residual) <= 1e-12 * abs(fb.source)


@pytest.mark.petsc
@pytest.mark.parametrize("ranks", [1, 2])
def test_fluxes_of_every_method_are_the_serial_fluxes_of_the_same_solution(
    petsc_ready,  # noqa: F811
    tmp_path,
    ranks,
):
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER.format(tests=str(TESTS)))
    out = tmp_path / "records.json"
    proc = mpirun(ranks, sys.executable, driver, out, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    records = json.loads(out.read_text())
    solved = {key.split("/")[1] for key in records}
    assert solved == {"fastdiag", "cg", "amg-cg", "fastdiag-cg"}
    assert {key.split("/")[2] for key in records} >= {"gamg", "hypre", "mg", "jacobi"}
    for key, rec in records.items():
        assert rec["ranks"] == ranks, key
        assert rec["converged"], key
        scale = max(map(abs, rec["serial"].values()))
        volume = max(abs(rec["serial_source"]), abs(rec["serial_absorbed"]), scale)
        for face, q in rec["serial"].items():
            assert abs(rec["fluxes"][face] - q) <= 1e-10 * scale, (key, face)
            assert abs(rec["alone"][face] - q) <= 1e-10 * scale, (key, face)
        for name in ("source", "absorbed", "residual"):
            assert abs(rec[name] - rec[f"serial_{name}"]) <= 1e-10 * volume, (key, name)
        # the balance: Σ q + c ∫u - ∫f = -Σ w (b - A u), the projected part included
        assert abs(rec["imbalance"] + rec["residual"]) <= 1e-10 * volume, key
        method = key.split("/")[1]
        if method == "fastdiag" and "pure-neumann" not in key:  # an exact solve balances
            assert abs(rec["imbalance"]) <= 1e-10 * volume, key
        pc = key.split("/")[2]  # mg of these grids is one direct coarse solve: exact
        if pc in ("jacobi", "gamg", "hypre") and key[:2] != "1d" and "pure" not in key:
            assert abs(rec["residual"]) > 1e-13 * volume, key
    # pure Neumann, f = 1 + x on [0, 1] x [0, 2], du/dn = 1/4 on the faces: the projection
    # removes ∫ f + ∮ g = 3 + 6/4 (midpoint rule exact for a linear f), all reported
    singular = [r for k, r in records.items() if "pure-neumann" in k]
    assert len(singular) >= 3
    for rec in singular:
        assert rec["source"] == pytest.approx(3.0, rel=1e-12)
        assert rec["residual"] == pytest.approx(4.5, rel=1e-10)


CASE = """
[grid]
cells = [16, 12]
upper = [1.0, 2.0]
centering = "{centering}"

[equation]
source = "1 + x*y"
shift = 0.5

[boundary]
xmin = {{ type = "robin", alpha = 1.0, beta = 2.0, value = "y" }}
xmax = {{ type = "dirichlet", value = "x*x + y" }}
ymin = {{ type = "neumann", value = "x" }}
ymax = {{ type = "dirichlet", value = 1.0 }}

[solver]
method = "fastdiag"
rtol = 1e-10
"""


@pytest.mark.petsc
@pytest.mark.parametrize("centering", ["node", "cell"])
def test_command_line_reports_the_serial_fluxes_on_two_ranks(
    petsc_ready,  # noqa: F811
    tmp_path,
    centering,
):
    case = tmp_path / "case.toml"
    case.write_text(CASE.format(centering=centering))
    argv = ["solve", case, "--json", "-q", "--balance"]
    serial = mpirun(1, *kronpde_command(*argv, "-o", tmp_path / "s.vti"), cwd=tmp_path)
    assert serial.returncode == 0, serial.stderr
    petsc = mpirun(
        2, *kronpde_command(*argv, "-o", tmp_path / "p.vti", "--backend", "petsc"), cwd=tmp_path
    )
    assert petsc.returncode == 0, petsc.stderr
    want, got = json.loads(serial.stdout), json.loads(petsc.stdout)
    assert got["ranks"] == 2
    scale = max(map(abs, want["fluxes"].values()))
    assert np.allclose(
        [got["fluxes"][f] for f in want["fluxes"]],
        list(want["fluxes"].values()),
        rtol=0,
        atol=1e-10 * scale,
    )
    assert abs(got["flux_imbalance"]) <= 1e-10 * scale
    summary = mpirun(
        2, *kronpde_command("solve", case, "--backend", "petsc", "--balance"), cwd=tmp_path
    )
    assert summary.returncode == 0, summary.stderr
    lines = {line.split()[0]: line for line in summary.stdout.splitlines() if line.strip()}
    assert "net outward" in lines["fluxes"]
    assert "weighted residual sum" in lines["balance"]


@pytest.mark.petsc
def test_fourth_order_and_grad_u_under_petsc_say_why(petsc_ready, tmp_path):  # noqa: F811
    case = tmp_path / "case.toml"
    text = CASE.format(centering="node") + "\n[scheme]\norder = 4\n"
    text = text.replace(
        'type = "robin", alpha = 1.0, beta = 2.0, value = "y"', 'type = "dirichlet", value = "y"'
    )
    text = text.replace('type = "neumann", value = "x"', 'type = "dirichlet", value = "x"')
    case.write_text(text)
    proc = mpirun(2, *kronpde_command("solve", case, "--backend", "petsc"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "fluxes     not computed for order 4" in proc.stdout
    fields = tmp_path / "fields.toml"
    fields.write_text(CASE.format(centering="node") + '\n[output]\nfields = ["u", "grad_u"]\n')
    proc = mpirun(2, *kronpde_command("solve", fields, "--backend", "petsc"), cwd=tmp_path)
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.startswith("kronpde")]
    assert len(lines) == 1  # rank 0 says it, before the solve
    assert lines[0].startswith("kronpde: error: [output] fields: grad_u and flux")
    assert "output" not in proc.stdout  # refused before the solve: no summary


SINGULAR = """
[grid]
cells = [16, 12]

[equation]
source = "{source}"

[boundary]
default = {{ type = "neumann", value = 0.0 }}

[solver]
method = "{method}"
rtol = {rtol}
"""


def _words(ranks: int, text: str, tmp_path, *extra):
    """The JSON record and the stderr warning lines of ``kronpde solve`` on ``ranks`` ranks."""
    case = tmp_path / f"case{ranks}.toml"
    case.write_text(text)
    argv = ["solve", case, "--json", "-o", tmp_path / f"u{ranks}.vti", *extra]
    proc = mpirun(ranks, *kronpde_command(*argv), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    record = json.loads(proc.stdout.splitlines()[-1])
    return record, [line for line in proc.stderr.splitlines() if "warning:" in line]


@pytest.mark.petsc
@pytest.mark.parametrize("method", ["cg", "amg-cg"])
def test_rtol_below_the_rounding_floor_is_raised_with_the_serial_words(
    petsc_ready,  # noqa: F811
    tmp_path,
    method,
):
    text = SINGULAR.format(source="cos(pi*x)*cos(pi*y)", method=method, rtol="1e-20")
    text = text.replace('type = "neumann", value = 0.0', 'type = "dirichlet", value = 0.0')
    serial, _ = _words(1, text.replace(method, "cg"), tmp_path)
    petsc, _ = _words(2, text, tmp_path, "--backend", "petsc")
    assert petsc["ranks"] == 2
    assert petsc["converged"]  # at the floor, not maxiter
    assert petsc["iterations"] < 1000
    said = serial["warnings"][0]
    assert said.startswith("rtol = 1e-20 is below the rounding floor")
    assert petsc["warnings"][0] == said  # the same floor: the ranks' max |diag A|


@pytest.mark.petsc
@pytest.mark.parametrize(
    ("source", "loud"), [("cos(pi*x) + 0.001", False), ("1 + x", True)], ids=["some", "most"]
)
@pytest.mark.parametrize("method", ["cg", "fastdiag"])
def test_incompatible_singular_data_warn_as_serially_once(
    petsc_ready,  # noqa: F811
    tmp_path,
    source,
    loud,
    method,
):
    text = SINGULAR.format(source=source, method=method, rtol="1e-10")
    serial, serial_lines = _words(1, text, tmp_path)
    petsc, petsc_lines = _words(2, text, tmp_path, "--backend", "petsc")
    assert 1e-6 < serial["projected_norm"] < 1.0
    assert petsc["projected_norm"] == pytest.approx(serial["projected_norm"], rel=1e-10)
    assert petsc["warnings"] == serial["warnings"]
    assert len(petsc_lines) == len(serial_lines) == 1  # on stderr too, once (rank 0)
    assert petsc_lines[0].split("warning: ")[1] == serial_lines[0].split("warning: ")[1]
    assert petsc_lines[0].split("warning: ")[1].startswith("INCOMPATIBLE") is loud
