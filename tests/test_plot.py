"""Tests of pictures: ``kronpde plot``, ``solve --plot``, app.pictures, io.result."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import meshio
import numpy as np
import pytest

from kronpde.app import cli
from kronpde.app.pictures import FIGSIZE, PictureError, slice_field
from kronpde.io.result import ResultError, read_result
from kronpde.io.vtk import write_result

ROOT = Path(__file__).resolve().parents[1]
INSTALL = "pip install 'kronpde[plot]'"
SMALL = {  # example case -> smaller cells, so each solve takes milliseconds
    1: ("poisson1d_robin.toml", "[32]"),
    2: ("poisson2d_dirichlet.toml", "[12, 20]"),
    3: ("poisson3d_mixed.toml", "[8, 8, 6]"),
}


def run(capsys, *argv) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def small_case(d: int, folder: Path) -> Path:
    name, cells = SMALL[d]
    text = (ROOT / "cases" / name).read_text()
    text, n = re.subn(r"^cells = \[[^\]]*\]", f"cells = {cells}", text, count=1, flags=re.M)
    assert n == 1
    copy = folder / name
    copy.write_text(text)
    return copy


def solved(d: int, folder: Path, capsys) -> Path:
    """A result file of a small d-D example case, with u, u_exact and error (and f)."""
    out = folder / f"r{d}.vtu"
    code, _, err = run(capsys, "solve", small_case(d, folder), "-o", out, "-q")
    assert code == 0, err
    return out


def pixels(path: Path, dpi: int = 100) -> np.ndarray:
    """The RGB pixels of a picture, checked to be the expected size and not blank."""
    from matplotlib.image import imread

    image = imread(path)
    expected = (round(FIGSIZE[1] * dpi), round(FIGSIZE[0] * dpi))
    assert image.shape[:2] == expected
    rgb = image[..., :3]
    assert float(np.var(rgb)) > 1e-3, "the picture is (nearly) blank"
    return rgb


def colours(rgb: np.ndarray) -> int:
    return len(np.unique(rgb.reshape(-1, 3), axis=0))


def listing(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


# -- kronpde plot ---------------------------------------------------------------------------


@pytest.mark.parametrize("d", [1, 2, 3])
def test_plot_each_dimension(d, tmp_path, capsys):
    result = solved(d, tmp_path, capsys)
    picture = tmp_path / f"p{d}.png"
    code, out, err = run(capsys, "plot", result, "-o", picture)
    assert (code, err) == (0, "")
    assert f"{picture} (u, {d}-D" in out
    rgb = pixels(picture)
    if d > 1:  # a colour map and a colour bar: many colours
        assert colours(rgb) > 200


def test_fields_cuts_and_resolution(tmp_path, capsys):
    result = solved(3, tmp_path, capsys)
    pictures = {}
    for name, extra, dpi in (
        ("u", [], 100),
        ("error", ["--field", "error", "--dpi", "50"], 50),
        ("y03", ["--axis", "y", "--at", "0.3"], 100),
    ):
        picture = tmp_path / f"{name}.png"
        code, _, err = run(capsys, "plot", result, "-o", picture, *extra)
        assert code == 0, err
        pictures[name] = pixels(picture, dpi=dpi)
    assert not np.array_equal(pictures["u"], pictures["y03"])  # another cut, another picture
    # a 2-D field cut across an axis is a line plot: far fewer colours than a colour map
    result2 = solved(2, tmp_path, capsys)
    code, _, err = run(capsys, "plot", result2, "-o", tmp_path / "line.png", "--axis", "x")
    assert code == 0, err
    assert colours(pixels(tmp_path / "line.png")) < colours(pictures["u"]) / 2


def test_default_output_and_relative_paths(tmp_path, capsys, monkeypatch):
    (tmp_path / "runs").mkdir()
    solved(2, tmp_path / "runs", capsys)
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "plot", "runs/r2.vtu")
    assert code == 0, err
    assert "runs/r2.png" in out
    pixels(tmp_path / "runs" / "r2.png")
    (tmp_path / "pics").mkdir()
    code, _, err = run(capsys, "plot", "runs/r2.vtu", "-o", "pics/slice.svg")
    assert code == 0, err
    assert (tmp_path / "pics" / "slice.svg").read_text().lstrip().startswith("<?xml")


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--field", "v"], ["--field", "u, f, u_exact, error", "'v'"]),
        (["--axis", "z", "--at", "7"], ["outside the box", "0 <= z <= 1"]),
        (["--dpi", "5"], ["--dpi"]),
        (["-o", "nodir/p.png"], ["-o", "does not exist"]),
        (["-o", "p.jpeg"], ["-o", "'.jpeg'", ".png"]),
    ],
)
def test_plot_bad_options_exit_2(extra, words, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = solved(3, tmp_path, capsys)
    (tmp_path / "r3.png").write_bytes(b"an older picture")
    before = listing(tmp_path)
    code, out, err = run(capsys, "plot", result.name, *extra)
    assert code == 2
    assert out == ""
    assert err.startswith("kronpde: error: ")
    assert len(err.strip().splitlines()) == 1
    for w in words:
        assert w in err
    assert listing(tmp_path) == before
    assert (tmp_path / "r3.png").read_bytes() == b"an older picture"


def test_plot_bad_result_files_exit_2(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("garbage.vtu").write_bytes(b"\x00\x01 not a VTU file")
    triangles = meshio.Mesh(
        np.array([[0.0, 0, 0], [1, 0, 0], [0, 1, 0]]), [("triangle", [[0, 1, 2]])]
    )
    triangles.point_data["u"] = np.arange(3.0)
    meshio.write("tri.vtu", triangles)
    Path("case.toml").write_text("[grid]\ncells = [4]\n")
    Path("folder.vtu").mkdir()
    cases = {
        "garbage.vtu": "cannot read it",
        "tri.vtu": "not a kronpde result",
        "case.toml": "not a kronpde result",
        "missing.vtu": "no such file",
        "folder.vtu": "not a file",
    }
    for name, words in cases.items():
        code, out, err = run(capsys, "plot", name)
        assert code == 2, name
        assert err.startswith(f"kronpde: error: {name}: ")
        assert words in err
        assert "Traceback" not in err
        assert len(err.strip().splitlines()) == 1
        assert not Path(name).with_suffix(".png").exists()


def test_failed_write_keeps_the_old_picture(tmp_path, capsys, monkeypatch):
    result = solved(2, tmp_path, capsys)
    picture = tmp_path / "p.png"
    picture.write_bytes(b"an older picture")

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    code, _, err = run(capsys, "plot", result, "-o", picture)
    monkeypatch.undo()
    assert code == 2
    assert "No space left on device" in err
    assert picture.read_bytes() == b"an older picture"
    assert listing(tmp_path) == sorted(["p.png", "r2.vtu", "poisson2d_dirichlet.toml"])


# -- solve --plot ---------------------------------------------------------------------------


def test_solve_plot(tmp_path, capsys):
    case = small_case(3, tmp_path)
    out_file, picture = tmp_path / "r.vtu", tmp_path / "u.png"
    code, out, err = run(capsys, "solve", case, "-o", out_file, "--plot", picture, "--json")
    assert code == 0, err
    assert f"picture    {picture}" in out
    assert meshio.read(out_file).point_data["u"].size == 9 * 9 * 7
    rgb = pixels(picture)
    # the same picture as `kronpde plot` of the written file draws
    code, _, err = run(capsys, "plot", out_file, "-o", tmp_path / "again.png")
    assert code == 0, err
    again = pixels(tmp_path / "again.png")
    assert rgb.shape == again.shape
    # same field, same colour map: the plot areas agree except for the title's file name
    assert float(np.mean(np.abs(rgb[60:] - again[60:]))) < 1e-3


def test_solve_plot_not_converged_draws_nothing(tmp_path, capsys):
    case = small_case(2, tmp_path)
    code, _, err = run(
        capsys,
        "solve",
        case,
        "--method",
        "cg",
        "--maxiter",
        "1",
        "-o",
        tmp_path / "r.vtu",
        "--plot",
        tmp_path / "u.png",
    )
    assert code == 1
    assert "nothing written" in err
    assert listing(tmp_path) == ["poisson2d_dirichlet.toml"]


# -- without matplotlib -----------------------------------------------------------------------


def test_without_matplotlib(tmp_path, capsys, monkeypatch):
    """Every picture option says how to install matplotlib and exits 2; the rest works."""
    result = solved(2, tmp_path, capsys)
    case = small_case(2, tmp_path)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` now fails
    monkeypatch.chdir(tmp_path)
    before = listing(tmp_path)
    for argv in (
        ["plot", result.name, "-o", "p.png"],
        ["solve", case.name, "-o", "new.vtu", "--plot", "p.png"],
        ["converge", case.name, "--levels", "2", "--plot", "p.png"],
        ["compare", case.name, "--plot", "p.png"],
    ):
        code, out, err = run(capsys, *argv)
        assert code == 2, argv
        assert out == ""
        assert INSTALL in err
        assert "matplotlib" in err
        assert len(err.strip().splitlines()) == 1
        assert listing(tmp_path) == before, argv  # checked before any work: nothing written
    for argv in (
        ["solve", case.name, "-o", "new.vtu", "-q"],
        ["converge", case.name, "--levels", "2", "-q"],
        ["compare", case.name, "-q"],
    ):
        code, out, err = run(capsys, *argv)
        assert (code, err) == (0, ""), argv
    assert (tmp_path / "new.vtu").exists()


def test_kronpde_does_not_import_matplotlib(tmp_path):
    case = small_case(2, tmp_path)
    code = (
        "import sys\n"
        "import kronpde, kronpde.app.cli, kronpde.app.studies, kronpde.app.pictures\n"
        "import kronpde.io.result\n"
        f"assert kronpde.app.cli.main(['solve', {str(case)!r}, '-o', 'r.vtu', '-q']) == 0\n"
        f"assert kronpde.app.cli.main(['compare', {str(case)!r}, '-q']) == 0\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'matplotlib'))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


# -- the library functions ------------------------------------------------------------------


def test_slice_field_takes_the_nearest_node_plane():
    x, y, z = np.linspace(0, 1, 9), np.linspace(0, 2, 5), np.linspace(-1, 1, 11)
    X, Y, Z = np.meshgrid(x, y, z, indexing="ij")
    u = X + 10 * Y + 100 * Z
    cut = slice_field([x, y, z], u, "y", 0.6)  # nodes 0, 0.5, 1, ...: 0.5 is nearest
    assert cut.labels == ("x", "z")
    assert cut.where == "y = 0.5"
    np.testing.assert_array_equal(cut.values, np.add.outer(x, 100 * z) + 5.0)
    middle = slice_field([x, y, z], u)  # 3-D default: z at the middle
    assert middle.where == "z = 0"
    np.testing.assert_array_equal(middle.values, np.add.outer(x, 10 * y))
    line = slice_field([x, y], u[:, :, 0], "x", 1.0)
    np.testing.assert_array_equal(line.nodes[0], y)
    np.testing.assert_array_equal(line.values, 1.0 + 10 * y - 100)
    flat = slice_field([x, y], u[:, :, 0])
    assert flat.where == ""
    for axis, at in (("z", None), ("x", 1.5), ("y", float("nan"))):
        with pytest.raises(PictureError):
            slice_field([x, y], u[:, :, 0], axis, at)
    with pytest.raises(PictureError):
        slice_field([x], u[:, 0, 0], "x")


@pytest.mark.parametrize("ext", [".vtu", ".vtk", ".xdmf"])
@pytest.mark.parametrize("d", [1, 2, 3])
def test_read_result_round_trip(ext, d, tmp_path, rng):
    nodes = [np.sort(rng.uniform(-1, 1, n)) for n in (5, 4, 3)[:d]]  # non-uniform, non-cubic
    shape = tuple(x.size for x in nodes)
    fields = {"u": rng.standard_normal(shape), "error": rng.standard_normal(shape)}
    path = write_result(tmp_path / f"r{ext}", nodes, fields)
    result = read_result(path)
    assert result.dimension == d
    for a, b in zip(result.nodes, nodes, strict=True):
        np.testing.assert_array_equal(a, b)
    assert list(result.fields) == ["u", "error"]
    for name, values in fields.items():
        np.testing.assert_array_equal(result.fields[name], values)


def test_read_result_rejects_points_out_of_order(tmp_path):
    x, y = np.linspace(0, 1, 3), np.linspace(0, 1, 4)
    mesh = meshio.read(write_result(tmp_path / "r.vtu", [x, y], {"u": np.zeros((3, 4))}))
    mesh.points = mesh.points[::-1].copy()
    meshio.write(tmp_path / "shuffled.vtu", mesh)
    with pytest.raises(ResultError, match="not the nodes of a box grid"):
        read_result(tmp_path / "shuffled.vtu")


def test_docstring_examples_run():
    import doctest

    import kronpde.app.pictures
    import kronpde.io.result

    for module in (kronpde.app.pictures, kronpde.io.result):
        result = doctest.testmod(module)
        assert result.failed == 0
        assert result.attempted > 0
