"""End-to-end tests of the ``kronpde`` command: example cases, bad inputs, exit codes, output."""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import types
from pathlib import Path

import meshio
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kronpde.app import cli
from kronpde.expr.expression import parse_expression
from kronpde.io.case import load_case

try:
    import tomllib
except ImportError:  # Python 3.10: the case reader needs tomli there too
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]
CASES = sorted((ROOT / "cases").glob("*.toml"))
CASE_IDS = [p.stem for p in CASES]

JSON_KEYS = {
    "dimension",
    "cells",
    "unknowns",
    "method",
    "converged",
    "iterations",
    "relative_residual",
    "setup_seconds",
    "solve_seconds",
    "output",
    "projected_norm",
    "reason",
    "case",
}
OLD = b"a previous result that a failed run must leave as it was\n"


@pytest.fixture
def no_h5py(monkeypatch):
    """meshio's XDMF reader imports h5py even for inline XML data, which never touches it."""
    if "h5py" not in sys.modules:
        try:
            import h5py  # noqa: F401
        except ImportError:
            monkeypatch.setitem(sys.modules, "h5py", types.ModuleType("h5py"))


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def last_json(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


def refined(case: Path, folder: Path, factor: int) -> Path:
    """A copy of ``case`` in ``folder`` with ``factor`` times the cells on every axis."""
    text = case.read_text()

    def scale(m: re.Match) -> str:
        cells = [int(c) * factor for c in m.group(1).split(",")]
        return "cells = [" + ", ".join(map(str, cells)) + "]"

    text, n = re.subn(r"^cells = \[([^\]]*)\]", scale, text, count=1, flags=re.MULTILINE)
    assert n == 1
    copy = folder / f"{case.stem}_x{factor}.toml"
    copy.write_text(text)
    return copy


def expected_points(case_file: Path) -> np.ndarray:
    """The grid's nodes as meshio points, from the file alone (C order, 3-D coordinates)."""
    grid = tomllib.loads(case_file.read_text())["grid"]
    cells = grid["cells"]
    d = len(cells)

    def number(v):
        return float(parse_expression(v, dimension=3).value) if isinstance(v, str) else float(v)

    lower = [number(v) for v in grid.get("lower", [0.0] * d)]
    upper = [number(v) for v in grid.get("upper", [1.0] * d)]
    axes = [np.linspace(lo, hi, m + 1) for lo, hi, m in zip(lower, upper, cells, strict=True)]
    mesh = np.meshgrid(*axes, indexing="ij")
    points = np.zeros((mesh[0].size, 3))
    for i in range(d):
        points[:, i] = mesh[i].ravel()
    return points


def cell_centred(case_file: Path) -> bool:
    """True for a case whose unknowns sit at the cell centres ([grid] centering = "cell")."""
    return tomllib.loads(case_file.read_text())["grid"].get("centering") == "cell"


def read_with_vtk(path: Path) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Points (C order of kronpde's nodes, x slowest) and point data of a .vti/.vtr, by vtk.

    The cell data instead of the point data where the file has no point data
    (a cell-centred case), in the C order of the cells.
    """
    import vtk
    from vtk.util.numpy_support import vtk_to_numpy

    reader = {".vti": vtk.vtkXMLImageDataReader, ".vtr": vtk.vtkXMLRectilinearGridReader}[
        path.suffix
    ]()
    reader.SetFileName(str(path))
    reader.Update()
    data = reader.GetOutput()
    dims = [d for d in data.GetDimensions() if d > 1] or [1]
    order = np.arange(data.GetNumberOfPoints()).reshape(dims[::-1]).T.ravel()  # x fastest -> C
    points = np.array([data.GetPoint(int(k)) for k in order])
    arrays = data.GetPointData()
    if arrays.GetNumberOfArrays() == 0:  # cell data: the same reordering over the cells
        arrays = data.GetCellData()
        cells = [d - 1 for d in dims] if dims != [1] else [1]
        order = np.arange(data.GetNumberOfCells()).reshape(cells[::-1]).T.ravel()
    fields = {
        arrays.GetArrayName(i): vtk_to_numpy(arrays.GetArray(i))[order]
        for i in range(arrays.GetNumberOfArrays())
    }
    return points, fields


def scheme_order(case_file: Path) -> int:
    """``[scheme] order`` of a case file (2 when it has none)."""
    return tomllib.loads(case_file.read_text()).get("scheme", {}).get("order", 2)


def listing(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


# -- the installed command ----------------------------------------------------------------


def test_a_closed_standard_output_is_a_quiet_exit_141_and_the_file_is_complete(tmp_path):
    """`kronpde solve ... | head`: no traceback, the shell's SIGPIPE code, the result written."""
    exe = shutil.which("kronpde")
    case = shutil.copy(ROOT / "cases" / "poisson2d_dirichlet.toml", tmp_path / "case.toml")
    out = tmp_path / "result.vti"
    for args in (["solve", str(case), "-o", str(out), "--json"], ["check", str(case)]):
        read, write = os.pipe()
        os.close(read)  # the reader has gone before anything is written
        try:
            proc = subprocess.run(
                [exe, *args], stdout=write, stderr=subprocess.PIPE, text=True, check=False
            )
        finally:
            os.close(write)
        assert proc.returncode == 141, proc.stderr
        assert proc.stderr == ""
    from vtk_reference import read_vtk

    u = read_vtk(out).point_data["u"]
    assert u.size == 33 * 65
    assert np.isfinite(u).all()


def test_console_script(tmp_path):
    exe = shutil.which("kronpde")
    assert exe is not None, "the kronpde console script is not installed (pip install -e .)"
    case = shutil.copy(ROOT / "cases" / "poisson2d_dirichlet.toml", tmp_path / "case.toml")
    out = tmp_path / "result.vtu"
    proc = subprocess.run(
        [exe, "solve", str(case), "-o", str(out), "--json"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    record = json.loads(proc.stdout.strip().splitlines()[-1])
    assert JSON_KEYS | {"error_max", "error_rms"} <= set(record)
    assert record["output"] == str(out)
    assert meshio.read(out).point_data["u"].shape == (33 * 65,)

    version = subprocess.run([exe, "--version"], capture_output=True, text=True, check=False)
    assert version.returncode == 0
    assert version.stdout.startswith("kronpde ")
    help_text = subprocess.run([exe, "--help"], capture_output=True, text=True, check=False)
    assert help_text.returncode == 0
    assert "kronpde init mycase" in help_text.stdout  # examples a pip user can run (issue 29)
    assert "kronpde solve mycase.toml" in help_text.stdout
    assert "exit codes" in help_text.stdout


def test_console_script_rejects_code_injection(tmp_path):
    """A real process: exit 2, one line, no traceback, and the command never runs."""
    case = tmp_path / "case.toml"
    case.write_text(
        "[grid]\ncells = [4, 4]\n[equation]\nsource = \"__import__('os').system('touch PWNED')\"\n"
        '[boundary]\ndefault = { type = "dirichlet", value = 0 }\n[output]\nfile = "out.vtu"\n'
    )
    for command in (["solve", "case.toml"], ["check", "case.toml"]):
        proc = subprocess.run(
            [sys.executable, "-m", "kronpde", *command],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            check=False,
        )
        assert proc.returncode == 2
        assert "[equation] source" in proc.stderr
        assert "Traceback" not in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1
        assert listing(tmp_path) == ["case.toml"]


# -- every example case, and its refinement -------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_example_case_is_second_order(case, tmp_path):
    """The installed command, as a user runs it, on the case and on a refined copy."""
    exe = shutil.which("kronpde")
    assert exe is not None, "the kronpde console script is not installed (pip install -e .)"
    errors = []
    for factor in (1, 2):
        copy = refined(case, tmp_path, factor)
        out = tmp_path / f"{copy.stem}.vtu"
        proc = subprocess.run(
            [exe, "solve", str(copy), "-o", str(out), "--json", "--quiet"],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            check=False,
        )
        code, stdout, stderr = proc.returncode, proc.stdout, proc.stderr
        assert code == 0, stderr
        assert stderr == ""
        record = last_json(stdout)
        assert JSON_KEYS | {"error_max", "error_rms"} <= set(record)
        assert record["converged"] is True
        assert record["method"] in {"cg", "amg-cg", "fastdiag-cg", "fastdiag", "direct"}
        assert record["output"] == str(out)
        assert record["relative_residual"] < 1e-8
        assert record["unknowns"] > 0
        assert record["dimension"] == len(record["cells"])

        mesh = meshio.read(out)
        np.testing.assert_allclose(mesh.points, expected_points(copy), rtol=0, atol=1e-12)
        data = mesh.point_data  # a cell-centred case: cell data on the faces' hexahedra
        if cell_centred(copy):
            assert not data
            data = {name: blocks[0] for name, blocks in mesh.cell_data.items()}
        assert {"u", "u_exact", "error"} <= set(data)
        assert np.all(np.isfinite(data["u"]))
        np.testing.assert_allclose(data["error"], data["u"] - data["u_exact"], rtol=0, atol=1e-14)
        assert record["error_max"] == pytest.approx(np.max(np.abs(data["error"])), rel=1e-12)
        assert record["error_rms"] == pytest.approx(np.sqrt(np.mean(data["error"] ** 2)), rel=1e-12)
        errors.append(record["error_max"])
    order = math.log2(errors[0] / errors[1])
    low, high = (3.7, 4.3) if scheme_order(case) == 4 else (1.8, 2.3)  # [scheme] order
    assert low <= order <= high, f"observed order {order:.3f} from errors {errors}"


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_example_case_writes_its_own_output(case, tmp_path, capsys, no_h5py):
    """Without -o the result goes to [output] file, next to the case file."""
    copy = Path(shutil.copy(case, tmp_path / case.name))
    code, out, err = run(capsys, "solve", copy, "--json")
    assert code == 0, err
    target = tmp_path / tomllib.loads(case.read_text())["output"]["file"]
    assert target.suffix in (".vti", ".vtr")  # the examples write the structured formats
    assert last_json(out)["output"] == str(target)
    assert listing(tmp_path) == sorted([case.name, target.name])
    points, point_data = read_with_vtk(target)  # the reader ParaView uses
    fields = tomllib.loads(case.read_text())["output"].get("fields", ["u"])
    expected = ["u"] + (["f"] if "f" in fields else []) + ["u_exact", "error"]
    assert list(point_data) == expected
    np.testing.assert_allclose(points, expected_points(copy), rtol=0, atol=1e-12)
    np.testing.assert_allclose(
        point_data["error"], point_data["u"] - point_data["u_exact"], rtol=0, atol=1e-14
    )


def test_periodic_node_repeats_node_zero(tmp_path, capsys):
    out = tmp_path / "p.vtu"
    code, _, err = run(capsys, "solve", ROOT / "cases" / "poisson2d_periodic.toml", "-o", out)
    assert code == 0, err
    u = meshio.read(out).point_data["u"].reshape(65, 33)
    np.testing.assert_array_equal(u[-1], u[0])


def test_f_field_is_the_source(tmp_path, capsys):
    out = tmp_path / "d.vtu"
    code, _, err = run(capsys, "solve", ROOT / "cases" / "poisson2d_dirichlet.toml", "-o", out)
    assert code == 0, err
    mesh = meshio.read(out)
    x, y = mesh.points[:, 0], mesh.points[:, 1]
    f = (np.pi**2 + 4) * np.cos(np.pi * x) * np.sin(2 * y)
    np.testing.assert_allclose(mesh.point_data["f"], f, rtol=0, atol=1e-12)


# -- what is printed --------------------------------------------------------------------------


def test_summary_then_json_last(tmp_path, capsys):
    out = tmp_path / "r.vtu"
    code, stdout, stderr = run(
        capsys, "solve", ROOT / "cases" / "poisson2d_robin.toml", "-o", out, "--json"
    )
    assert code == 0
    for words in ("unknowns", "method     direct", "relative residual", "setup", "error", str(out)):
        assert words in stdout
    assert last_json(stdout)["method"] == "direct"
    assert stderr == ""


def test_auto_reports_its_choice(tmp_path, capsys):
    case = ROOT / "cases" / "screened2d_neumann.toml"
    code, stdout, _ = run(capsys, "solve", case, "-o", tmp_path / "r.vtu", "--json")
    assert code == 0
    record = last_json(stdout)
    assert record["method"] != "auto"
    assert "(auto" in stdout


def test_quiet_prints_nothing_but_json(tmp_path, capsys):
    case = ROOT / "cases" / "poisson2d_neumann.toml"
    code, stdout, stderr = run(capsys, "solve", case, "-o", tmp_path / "r.vtu", "--quiet")
    assert (code, stdout, stderr) == (0, "", "")
    code, stdout, stderr = run(capsys, "solve", case, "-o", tmp_path / "r.vtu", "-q", "--json")
    assert code == 0
    assert stderr == ""
    assert len(stdout.strip().splitlines()) == 1


def test_progress_lines_on_stderr(tmp_path, capsys, monkeypatch):
    import kronpde.solvers.progress

    # a line every iteration
    monkeypatch.setattr(kronpde.solvers.progress, "PROGRESS_INTERVAL", 0.0)
    case = ROOT / "cases" / "poisson2d_neumann.toml"
    code, stdout, stderr = run(
        capsys, "solve", case, "-o", tmp_path / "r.vtu", "--method", "cg", "--json"
    )
    assert code == 0
    record = last_json(stdout)
    lines = [line for line in stderr.splitlines() if line.startswith("  iteration")]
    assert len(lines) == record["iterations"]
    residuals = [float(re.search(r"relative residual (\S+)", line).group(1)) for line in lines]
    assert residuals[0] > 1e-3
    # the lines show CG's own residual, ||D(b - A u_k)|| / ||D b|| of the symmetrised system
    # (the same for every backend); at the end that of the u written to the file
    problem = load_case(case).problem
    u = problem.grid.from_nodes(meshio.read(tmp_path / "r.vtu").point_data["u"].reshape(33, 33))
    D, b = problem.symmetric_scale, problem.rhs()
    r = D * (b - problem.operator() @ u.reshape(-1))
    assert residuals[-1] == pytest.approx(np.linalg.norm(r) / np.linalg.norm(D * b), rel=1e-3)
    assert not any(line.startswith("  iteration") for line in stdout.splitlines())


def test_overrides(tmp_path, capsys):
    case = ROOT / "cases" / "poisson2d_dirichlet.toml"
    out = tmp_path / "r.vtk"
    code, stdout, _ = run(
        capsys, "solve", case, "-o", out, "--method", "cg", "--rtol", "1e-3", "--json", "-q"
    )
    assert code == 0
    record = last_json(stdout)
    assert record["method"] == "cg"
    assert record["iterations"] > 0
    assert record["relative_residual"] <= 1e-3
    assert meshio.read(out).point_data["u"].size == 33 * 65


def test_no_output_configured(tmp_path, capsys):
    text = (ROOT / "cases" / "poisson2d_dirichlet.toml").read_text()
    text = re.sub(r"\[output\]\n(.*\n)*?\n", "", text)
    case = tmp_path / "case.toml"
    case.write_text(text)
    code, stdout, _ = run(capsys, "solve", case, "--json")
    assert code == 0
    assert last_json(stdout)["output"] is None
    assert "output     none" in stdout
    assert listing(tmp_path) == ["case.toml"]


def test_vti_on_a_stretched_grid_is_refused_before_the_solve(tmp_path, capsys, monkeypatch):
    """ImageData has one spacing per axis: exit 2 naming [output] file, suggesting .vtr."""
    import kronpde.solvers

    def forbidden(*args, **kwargs):
        msg = "no solve for a result that cannot be written"
        raise AssertionError(msg)

    text = BASE.replace("cells = [6, 6]", 'cells = [6, 6]\nnodes.x = { stretch = "tanh" }')
    case = tmp_path / "case.toml"
    case.write_text(text.replace('"out.vtu"', '"out.vti"'))
    monkeypatch.setattr(kronpde.solvers, "solve", forbidden)
    for command in ("check", "solve"):
        code, out, err = run(capsys, command, case)
        assert code == 2
        assert f"{case}: [output] file:" in err
        assert ".vtr" in err
        assert listing(tmp_path) == ["case.toml"]
    monkeypatch.undo()
    case.write_text(text.replace('"out.vtu"', '"out.vtr"'))
    code, out, err = run(capsys, "solve", case, "-q")
    assert code == 0, err
    points, data = read_with_vtk(tmp_path / "out.vtr")
    x = np.unique(points[:, 0])
    np.testing.assert_allclose(x, load_case(case).grid.axes[0].nodes, rtol=0, atol=1e-15)
    assert not np.allclose(np.diff(x), np.diff(x)[0])  # stretched, as written


# -- check ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("coefficient", "method", "words"),
    [
        # fastdiag cannot solve a coefficient that varies along two axes (one axis alone
        # is a layered medium, which it solves): check says so, as solve would
        ('"1 + x*y"', "fastdiag", "varies in space"),
        # direct's factors would not fit its memory limit (made small here)
        ("1", "direct", "would need about"),
    ],
)
def test_check_asks_the_method_whether_it_accepts_the_case(
    tmp_path, capsys, monkeypatch, coefficient, method, words
):
    from kronpde.solvers.direct import Direct

    monkeypatch.setitem(Direct.defaults, "max_memory", 1000.0)
    text = BASE.replace('method = "cg"', f'method = "{method}"')
    text = text.replace("[boundary]", f"coefficient = {coefficient}\n\n[boundary]")
    case = tmp_path / "case.toml"
    case.write_text(text)
    for command in ("check", "solve"):
        code, out, err = run(capsys, command, case)
        assert code == 2, (command, out, err)
        assert f"{case}: [solver] method: {method}:" in err
        assert words in err
        assert len(err.strip().splitlines()) == 1
    assert listing(tmp_path) == ["case.toml"]


def test_check_validates_without_solving_or_writing(tmp_path, capsys, monkeypatch):
    import kronpde.io.vtk
    import kronpde.solvers

    def forbidden(*args, **kwargs):
        msg = "check must not solve or write"
        raise AssertionError(msg)

    monkeypatch.setattr(kronpde.solvers, "solve", forbidden)
    monkeypatch.setattr(kronpde.io.vtk, "write_result", forbidden)
    for case in CASES:
        copy = Path(shutil.copy(case, tmp_path / case.name))
        before = listing(tmp_path)
        code, stdout, stderr = run(capsys, "check", copy)
        assert (code, stderr) == (0, "")
        assert f"{copy}: valid" in stdout
        assert "unknowns" in stdout
        assert listing(tmp_path) == before
    # a bad expression is found by evaluating it on the grid, without a solve
    bad = tmp_path / "bad.toml"
    bad.write_text(re.sub(r"^u = .*$", 'u = "1/(x - x)"', CASES[0].read_text(), flags=re.M))
    code, _, stderr = run(capsys, "check", bad)
    assert code == 2
    assert "[exact] u" in stderr


# -- bad inputs: exit 2, the key named, nothing written ---------------------------------------

BASE = """\
[grid]
cells = [6, 6]

[equation]
source = "exp(x)*sin(3*y)"

[boundary]
default = { type = "dirichlet", value = "x*y" }

[solver]
method = "cg"

[output]
file = "out.vtu"

[exact]
u = "x*y"
"""


def _replace(old: str, new: str) -> str:
    assert old in BASE
    return BASE.replace(old, new, 1)


def _blocker(folder: Path) -> None:
    (folder / "blocker").write_text("a regular file where a folder is expected\n")


INJECT = "__import__('os').system('touch PWNED')"

# (id, case text or None for a missing file, text that must appear in stderr, setup, options)
BAD_INPUTS = [
    ("missing-file", None, "case.toml: no such file", None, []),
    ("broken-toml", "[grid\ncells = [4]\n", "not valid TOML", None, []),
    ("bad-toml-value", _replace("cells = [6, 6]", "cells = [6, 6"), "not valid TOML", None, []),
    ("unknown-table", _replace("[solver]", "[solvers]"), "[solvers]", None, []),
    (
        "unknown-key-grid",
        _replace("cells = [6, 6]", "cells = [6, 6]\nupperr = [1, 1]"),
        "[grid] upperr",
        None,
        [],
    ),
    (
        "unknown-key-equation",
        _replace('source = "exp', 'sauce = 1\nsource = "exp'),
        "[equation] sauce",
        None,
        [],
    ),
    (
        "unknown-key-solver",
        _replace('method = "cg"', 'method = "cg"\ntol = 1e-3'),
        "[solver] tol",
        None,
        [],
    ),
    (
        "unknown-key-output",
        _replace('file = "out.vtu"', 'file = "out.vtu"\nformat = "vtu"'),
        "[output] format",
        None,
        [],
    ),
    ("unknown-key-exact", _replace('u = "x*y"', 'u = "x*y"\nf = 1'), "[exact] f", None, []),
    ("unknown-face-key", _replace("default = {", "defualt = {"), "[boundary] defualt", None, []),
    ("missing-cells", _replace("cells = [6, 6]", "lower = [0, 0]"), "[grid] cells", None, []),
    ("cells-zero", _replace("[6, 6]", "[0, 6]"), "[grid] cells", None, []),
    ("cells-string", _replace("[6, 6]", '"6x6"'), "[grid] cells", None, []),
    ("cells-float", _replace("[6, 6]", "[6.0, 6]"), "[grid] cells", None, []),
    ("cells-four-axes", _replace("[6, 6]", "[6, 6, 6, 6]"), "[grid] cells", None, []),
    (
        "lower-too-short",
        _replace("cells = [6, 6]", "cells = [6, 6]\nlower = [0]"),
        "[grid] lower",
        None,
        [],
    ),
    (
        "upper-not-above-lower",
        _replace("cells = [6, 6]", "cells = [6, 6]\nupper = [1, 0]"),
        "[grid] upper",
        None,
        [],
    ),
    (
        "upper-inf",
        _replace("cells = [6, 6]", "cells = [6, 6]\nupper = [inf, 1]"),
        "[grid] upper",
        None,
        [],
    ),
    (
        "shift-nan",
        _replace('source = "exp', 'shift = nan\nsource = "exp'),
        "[equation] shift",
        None,
        [],
    ),
    (
        "shift-bool",
        _replace('source = "exp', 'shift = true\nsource = "exp'),
        "[equation] shift",
        None,
        [],
    ),
    (
        "shift-infinite",
        _replace('source = "exp', 'shift = -inf\nsource = "exp'),
        "[equation] shift",
        None,
        [],
    ),
    (
        "coefficient-not-positive",
        _replace('source = "exp', 'coefficient = "x - 0.5"\nsource = "exp'),
        "[equation] coefficient",
        None,
        [],
    ),
    (
        "coefficient-zero",
        _replace('source = "exp', 'coefficient = 0\nsource = "exp'),
        "[equation] coefficient",
        None,
        [],
    ),
    ("missing-source", _replace('source = "exp(x)*sin(3*y)"', ""), "[equation] source", None, []),
    ("source-bool", _replace('"exp(x)*sin(3*y)"', "false"), "[equation] source", None, []),
    (
        "source-injection",
        _replace('"exp(x)*sin(3*y)"', '"' + INJECT + '"'),
        "[equation] source",
        None,
        [],
    ),
    (
        "value-injection",
        _replace('value = "x*y"', 'value = "().__class__"'),
        "[boundary] default.value",
        None,
        [],
    ),
    (
        "exact-injection",
        _replace('u = "x*y"', 'u = "x.__class__.__bases__"'),
        "[exact] u",
        None,
        [],
    ),
    ("source-z-in-2d", _replace('"exp(x)*sin(3*y)"', '"exp(z)"'), "[equation] source", None, []),
    ("source-syntax", _replace('"exp(x)*sin(3*y)"', '"exp(x"'), "[equation] source", None, []),
    (
        "source-unknown-function",
        _replace('"exp(x)*sin(3*y)"', '"gamma(x)"'),
        "[equation] source",
        None,
        [],
    ),
    (
        "source-not-finite",
        _replace('"exp(x)*sin(3*y)"', '"log(x - 2)"'),
        "[equation] source",
        None,
        [],
    ),
    ("source-nan-number", _replace('"exp(x)*sin(3*y)"', "nan"), "[equation] source", None, []),
    (
        "value-not-finite",
        _replace('value = "x*y"', 'value = "1/(x - 0.5)"'),
        "[boundary] default.value",
        None,
        [],
    ),
    (
        "value-array",
        _replace('value = "x*y"', "value = [1, 2]"),
        "[boundary] default.value",
        None,
        [],
    ),
    ("missing-faces", _replace("default = {", "xmin = {"), "ymin", None, []),
    (
        "face-of-missing-axis",
        _replace("default = {", 'zmin = { type = "neumann", value = 0 }\ndefault = {'),
        "[boundary] zmin",
        None,
        [],
    ),
    (
        "half-periodic",
        _replace("default = {", 'xmax = { type = "periodic" }\ndefault = {'),
        "[boundary] xmax",
        None,
        [],
    ),
    (
        "bad-condition-type",
        _replace('type = "dirichlet"', 'type = "dirichet"'),
        "[boundary] default.type",
        None,
        [],
    ),
    (
        "robin-missing-beta",
        _replace('type = "dirichlet"', 'type = "robin", alpha = 1'),
        "[boundary] default.beta",
        None,
        [],
    ),
    (
        "dirichlet-with-alpha",
        _replace('type = "dirichlet"', 'type = "dirichlet", alpha = 1'),
        "[boundary] default.alpha",
        None,
        [],
    ),
    (
        "periodic-with-value",
        _replace('type = "dirichlet"', 'type = "periodic"'),
        "[boundary] default.value",
        None,
        [],
    ),
    ("bad-method", _replace('method = "cg"', 'method = "multigrid"'), "[solver] method", None, []),
    ("rtol-zero", _replace('method = "cg"', "rtol = 0"), "[solver] rtol", None, []),
    ("rtol-above-one", _replace('method = "cg"', "rtol = 2.5"), "[solver] rtol", None, []),
    ("maxiter-float", _replace('method = "cg"', "maxiter = 10.5"), "[solver] maxiter", None, []),
    ("maxiter-bool", _replace('method = "cg"', "maxiter = true"), "[solver] maxiter", None, []),
    ("bad-extension", _replace('"out.vtu"', '"out.txt"'), "[output] file", None, []),
    (
        "bad-field",
        _replace('file = "out.vtu"', 'file = "out.vtu"\nfields = ["u", "g"]'),
        "[output] fields",
        None,
        [],
    ),
    ("folder-missing", _replace('"out.vtu"', '"nowhere/out.vtu"'), "[output] file", None, []),
    ("folder-is-a-file", _replace('"out.vtu"', '"blocker/out.vtu"'), "[output] file", _blocker, []),
    ("top-level-key", "rtol = 1e-6\n" + BASE, "rtol", None, []),
    ("option-o-folder-is-a-file", BASE, "-o", _blocker, ["-o", "blocker/x.vtu"]),
    ("option-o-extension", BASE, "-o", None, ["-o", "x.png"]),
    ("option-method", BASE, "--method", None, ["--method", "cgg"]),
    ("option-rtol", BASE, "--rtol", None, ["--rtol", "0"]),
    ("option-rtol-nan", BASE, "--rtol", None, ["--rtol", "nan"]),
    ("option-rtol-text", BASE, "--rtol", None, ["--rtol", "small"]),
    ("option-maxiter", BASE, "--maxiter", None, ["--maxiter", "0"]),
]


@pytest.mark.parametrize(
    ("text", "expected", "setup", "options"),
    [entry[1:] for entry in BAD_INPUTS],
    ids=[entry[0] for entry in BAD_INPUTS],
)
def test_bad_input(tmp_path, capsys, monkeypatch, text, expected, setup, options):
    folder = tmp_path / "work"
    folder.mkdir()
    monkeypatch.chdir(folder)
    (folder / "out.vtu").write_bytes(OLD)
    if text is not None:
        (folder / "case.toml").write_text(text)
    if setup is not None:
        setup(folder)
    before = listing(folder)
    commands = [["solve", "case.toml", *options, "--json"]]
    if not options:
        commands.append(["check", "case.toml"])
    for argv in commands:
        code, out, err = run(capsys, *argv)
        assert code == 2, (argv, out, err)
        assert expected in err, err
        assert "Traceback" not in err
        if not expected.startswith("--"):  # argparse prints usage, then its error line
            assert len(err.strip().splitlines()) == 1, err
            assert err.startswith("kronpde: error: ")
        assert out == ""
        assert listing(folder) == before
        assert (folder / "out.vtu").read_bytes() == OLD
        assert not (folder / "PWNED").exists()
        assert not (tmp_path / "PWNED").exists()


def test_bad_input_table_is_broad():
    assert len(BAD_INPUTS) >= 25


def test_not_converged_is_exit_1_and_writes_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "out.vtu").write_bytes(OLD)
    text = _replace("[6, 6]", "[16, 16]").replace('method = "cg"', 'method = "cg"\nmaxiter = 2')
    (tmp_path / "case.toml").write_text(text)
    before = listing(tmp_path)
    code, out, err = run(capsys, "solve", "case.toml", "--json")
    assert code == 1
    record = last_json(out)
    assert record["converged"] is False
    assert record["output"] is None
    assert record["iterations"] == 2
    assert record["relative_residual"] > 1e-8
    assert "nothing written" in err
    assert "Traceback" not in err
    assert listing(tmp_path) == before
    assert (tmp_path / "out.vtu").read_bytes() == OLD
    # and the same file converges with enough iterations
    code, out, _ = run(capsys, "solve", "case.toml", "--maxiter", "1000", "--json", "-q")
    assert code == 0
    assert (tmp_path / "out.vtu").read_bytes() != OLD


def test_method_that_cannot_run_is_exit_2(tmp_path, capsys, monkeypatch):
    """direct refuses a grid whose factors would not fit: an impossible set-up, not a bug."""
    import kronpde.solvers.direct as direct_module

    monkeypatch.setattr(direct_module, "available_memory", lambda: 8 * 1024**3)  # any machine
    monkeypatch.chdir(tmp_path)
    text = _replace("[6, 6]", "[120, 120, 120]").replace('"exp(x)*sin(3*y)"', "1")
    text = text.replace('value = "x*y"', "value = 0").replace('"cg"', '"direct"')
    text = text.replace('u = "x*y"', "u = 0")
    (tmp_path / "case.toml").write_text(text)
    code, out, err = run(capsys, "solve", "case.toml", "--json")
    assert code == 2
    assert "case.toml: [solver] method: direct" in err
    assert len(err.strip().splitlines()) == 1
    assert out == ""
    assert listing(tmp_path) == ["case.toml"]
    code, _, err = run(capsys, "solve", "case.toml", "--method", "direct", "-q")
    assert code == 2
    assert err.startswith("kronpde: error: --method: direct")


def test_usage_errors_and_help(capsys):
    assert cli.main([]) == 2
    assert "usage" in capsys.readouterr().err
    assert cli.main(["frobnicate"]) == 2
    capsys.readouterr()
    assert cli.main(["--help"]) == 0
    assert "examples" in capsys.readouterr().out
    assert cli.main(["solve", "--help"]) == 0
    assert "--maxiter" in capsys.readouterr().out
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("kronpde ")


def test_internal_error_is_one_line_and_exit_3(tmp_path, capsys, monkeypatch):
    import kronpde.solvers

    def broken(*args, **kwargs):
        msg = "simulated bug"
        raise ZeroDivisionError(msg)

    monkeypatch.setattr(kronpde.solvers, "solve", broken)
    case = tmp_path / "case.toml"
    case.write_text(BASE)
    code, out, err = run(capsys, "solve", case, "--quiet")
    assert code == 3
    assert "internal error" in err
    assert "simulated bug" in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out.vtu").exists()


# -- random mutations of valid files: never a traceback ---------------------------------------

TINY_CASES = [
    {
        "grid": {"cells": [4, 3], "upper": [2, 1]},
        "equation": {"source": "sin(x)*y", "shift": 0.5},
        "boundary": {
            "default": {"type": "dirichlet", "value": "x"},
            "xmax": {"type": "neumann", "value": 1},
            "ymin": {"type": "robin", "alpha": 1, "beta": 2, "value": "y"},
        },
        "solver": {"method": "auto", "rtol": 1e-8, "maxiter": 200},
        "output": {"file": "r.vtu", "fields": ["u", "f"]},
        "exact": {"u": "x*y"},
    },
    {
        "grid": {"cells": [5]},
        "equation": {"source": 1, "coefficient": 2},
        "boundary": {
            "xmin": {"type": "dirichlet", "value": 0},
            "xmax": {"type": "neumann", "value": 0},
        },
        "solver": {"method": "cg"},
        "output": {"file": "r.vtk"},
    },
    {
        "grid": {"cells": [3, 2, 4], "lower": [0, 0, -1]},
        "equation": {"source": "cos(2*pi*x)*z"},
        "boundary": {
            "default": {"type": "neumann", "value": 0},
            "xmin": {"type": "periodic"},
            "xmax": {"type": "periodic"},
            "zmin": {"type": "dirichlet", "value": "cos(2*pi*x)"},
        },
        "solver": {"method": "fastdiag"},
        "exact": {"u": "0"},
    },
]

_SPECIAL = [
    "x",
    "y*z",
    "sin(pi*x)",
    "1/0",
    "log(x)",
    INJECT,
    "().__class__",
    "dirichlet",
    "neumann",
    "robin",
    "periodic",
    "auto",
    "cg",
    "amg-cg",
    "fastdiag",
    "direct",
    "r.vtu",
    "u",
    "f",
    "",
]
_CHARS = st.characters(exclude_categories=("Cs",))  # TOML strings cannot hold surrogates
# Values that often keep a file valid, so that many examples reach the solver.
_EXPRESSIONS = st.sampled_from(["x", "sin(pi*x)", "1 + x*x", "exp(-x)", "0", "2.5"])
_PLAUSIBLE = {
    "type": st.sampled_from(["dirichlet", "neumann", "robin", "periodic"]),
    "method": st.sampled_from(["auto", "cg", "amg-cg", "fastdiag", "direct"]),
    "value": _EXPRESSIONS | st.floats(-5, 5),
    "source": _EXPRESSIONS | st.floats(-5, 5),
    "u": _EXPRESSIONS,
    "shift": st.floats(0, 10),
    "coefficient": st.floats(0.1, 10),
    "alpha": st.floats(0, 5),
    "beta": st.floats(0.1, 5),
    "rtol": st.floats(1e-12, 0.5),
    "maxiter": st.integers(1, 300),
    "file": st.sampled_from(["r.vtu", "r.vtk", "r.xdmf"]),
    int: st.integers(1, 8),
    float: st.floats(-2.0, 2.0),
}
_VALUES = st.recursive(
    st.one_of(
        st.integers(-3, 12),
        st.floats(-1e3, 1e3),
        st.sampled_from([math.nan, math.inf, -math.inf, 0.0, 1e-9]),
        st.booleans(),
        st.text(_CHARS, max_size=10),
        st.sampled_from(_SPECIAL),
    ),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["type", "value", "alpha", "beta", "u"]), children, max_size=3
        )
    ),
    max_leaves=6,
)
_NAMES = st.sampled_from(
    [
        "cells",
        "lower",
        "upper",
        "source",
        "shift",
        "coefficient",
        "default",
        "xmin",
        "zmax",
        "type",
        "value",
        "alpha",
        "beta",
        "method",
        "rtol",
        "maxiter",
        "file",
        "fields",
        "u",
        "grid",
        "solver",
        "cell",
        "Source",
        "x min",
    ]
) | st.text(_CHARS, min_size=1, max_size=8)


def _paths(node, prefix=()):
    """Every (container path, key) in a nested dict/list document."""
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, value in items:
        yield prefix, key
        if isinstance(value, (dict, list)):
            yield from _paths(value, (*prefix, key))


def _get(doc, path):
    for key in path:
        doc = doc[key]
    return doc


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _toml_value(key)


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):  # a TOML basic string: JSON's escapes, plus DEL
        return json.dumps(v, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(x)}" for k, x in v.items()) + " }"


def to_toml(doc: dict) -> str:
    lines = [
        f"{_toml_key(k)} = {_toml_value(v)}" for k, v in doc.items() if not isinstance(v, dict)
    ]
    for name, table in doc.items():
        if isinstance(table, dict):
            lines.append(f"[{_toml_key(name)}]")
            lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


@st.composite
def mutated_cases(draw) -> str:
    doc = json.loads(json.dumps(draw(st.sampled_from(TINY_CASES))))  # a deep copy
    for _ in range(draw(st.sampled_from([1, 1, 1, 2, 3]))):
        paths = list(_paths(doc))[::-1]  # hypothesis favours early choices: leaves first
        if not paths:
            break
        prefix, key = draw(st.sampled_from(paths))
        parent = _get(doc, prefix)
        op = draw(st.sampled_from(["perturb", "drop", "perturb", "rename", "replace", "add"]))
        if op == "drop":
            del parent[key]
        elif op == "rename" and isinstance(parent, dict):
            parent[draw(_NAMES)] = parent.pop(key)
        elif op == "add" and isinstance(parent, dict):
            parent[draw(_NAMES)] = draw(_VALUES)
        elif op == "perturb" and (key in _PLAUSIBLE or type(parent[key]) in _PLAUSIBLE):
            parent[key] = draw(_PLAUSIBLE.get(key, _PLAUSIBLE.get(type(parent[key]))))
        else:
            parent[key] = draw(_VALUES)
    text = to_toml(doc)
    if draw(st.integers(0, 7)) == 7:
        text = text[: draw(st.integers(0, len(text)))]
    return text


def test_tiny_cases_are_valid(tmp_path, capsys):
    for i, doc in enumerate(TINY_CASES):
        case = tmp_path / f"c{i}.toml"
        case.write_text(to_toml(doc))
        code, _, err = run(capsys, "solve", case, "-o", tmp_path / f"c{i}.vtu", "-q")
        assert code == 0, err


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(text=mutated_cases())
def test_mutated_cases_never_crash(text):
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "case.toml").write_text(text)
        os.chdir(folder)
        try:
            for argv in (
                ["check", "case.toml"],
                ["solve", "case.toml", "-o", "out.vtu", "--json", "--quiet"],
            ):
                out, err = io.StringIO(), io.StringIO()
                with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                    code = cli.main(argv)
                assert code in (0, 1, 2), (argv, err.getvalue())
                assert "Traceback" not in err.getvalue()
                if code == 2:
                    assert err.getvalue().startswith("kronpde: error: ")
                    assert out.getvalue() == ""
                if argv[0] == "solve" and code != 0:
                    assert not (folder / "out.vtu").exists()
            assert not (folder / "PWNED").exists()
        finally:
            os.chdir(cwd)


# -- [scheme] order ------------------------------------------------------------------------


def test_check_and_solve_show_the_scheme(tmp_path, capsys):
    case = shutil.copy(ROOT / "cases" / "poisson2d_order4.toml", tmp_path / "c.toml")
    code, out, err = run(capsys, "check", case)
    assert code == 0, err
    assert "scheme     order 4 (compact fourth-order" in out
    code, out, err = run(capsys, "solve", case, "--json")
    assert code == 0, err
    assert "scheme     order 4" in out
    record = last_json(out)
    assert record["method"] == "fastdiag"
    assert "fourth-order" in record["reason"]
    assert record["error_max"] < 1e-6  # 32 x 64 cells: order 2 gives 1.7e-3 here
    order2 = shutil.copy(ROOT / "cases" / "poisson2d_order2.toml", tmp_path / "c2.toml")
    code, out, err = run(capsys, "solve", order2, "--json", "--quiet")
    assert code == 0, err
    assert last_json(out)["error_max"] > 1000 * record["error_max"]


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ("[scheme]\norder = 6\n", "[scheme] order: must be 2 or 4"),
        ('[scheme]\norder = 4\n[grid.nodes]\ny = { stretch = "tanh", beta = 2.0 }\n', "stretched"),
    ],
)
def test_bad_scheme_order_exits_2_naming_the_key(extra, words, tmp_path, capsys):
    text = (
        (ROOT / "cases" / "poisson2d_order2.toml").read_text().replace("[scheme]\norder = 2\n", "")
    )
    case = tmp_path / "c.toml"
    case.write_text(text + "\n" + extra)
    out_file = tmp_path / "u.vtu"
    code, out, err = run(capsys, "solve", case, "-o", out_file)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert "[scheme] order" in err
    assert words in err
    assert "Traceback" not in err
    assert not out_file.exists()


def test_petsc_backend_with_order_4_needs_only_petsc4py(tmp_path, capsys, monkeypatch):
    """The PETSc backend assembles the fourth-order scheme (tests/test_petsc.py): without
    petsc4py the one obstacle is petsc4py itself, and the error says how to install it."""
    from kronpde.io.case import load_case
    from kronpde.solvers.petsc import PetscUnavailableError

    for name in ("petsc4py", "petsc4py.PETSc", "mpi4py", "mpi4py.MPI"):
        monkeypatch.setitem(sys.modules, name, None)
    problem = load_case(ROOT / "cases" / "poisson2d_order4.toml").problem
    from kronpde.solvers import solve

    with pytest.raises(PetscUnavailableError, match="install-petsc.sh"):
        solve(problem, backend="petsc")


@pytest.mark.parametrize(("extra", "code"), [((), 0), (("--method", "cg", "--maxiter", "3"), 1)])
def test_the_process_exits_with_mains_code_and_all_its_output(tmp_path, extra, code):
    """``python -m kronpde`` leaves by ``os._exit`` after a serial run: nothing is lost.

    The exit code is main's, the JSON line is whole on a pipe, and the result file
    (written before) reads back as the solution the JSON describes.
    """
    case = Path(__file__).resolve().parents[1] / "cases" / "poisson2d_dirichlet.toml"
    out = tmp_path / "u.vtu"
    done = subprocess.run(
        [sys.executable, "-m", "kronpde", "solve", str(case), "--json", "-o", str(out), *extra],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == code, done.stderr
    record = json.loads(done.stdout.splitlines()[-1])
    assert record["converged"] is (code == 0)
    if code == 0:  # the file holds the whole field: the in-process solve's, point by point
        from kronpde import load_case, solve

        loaded = load_case(case)
        expect = solve(loaded.problem, "fastdiag").u
        mesh = meshio.read(out)
        order = np.lexsort((mesh.points[:, 0], mesh.points[:, 1]))  # y slowest, x fastest
        got = mesh.point_data["u"][order].reshape(expect.shape[::-1]).T
        np.testing.assert_allclose(got, expect, rtol=0, atol=1e-12 * np.abs(expect).max())
