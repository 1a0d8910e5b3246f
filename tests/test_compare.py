"""Tests of ``kronpde compare`` and app.studies.compare_methods against individual solves."""

from __future__ import annotations

import json
import re
from pathlib import Path

import meshio
import numpy as np
import pytest

from kronpde.app import cli
from kronpde.app.studies import applicable_methods, compare_methods
from kronpde.io.case import load_case
from kronpde.solvers.direct import Direct

ROOT = Path(__file__).resolve().parents[1]


def run(capsys, *argv) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def last_json(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


def small_case(name: str, folder: Path, cells: str) -> Path:
    text = (ROOT / "cases" / name).read_text()
    text, n = re.subn(r"^cells = \[[^\]]*\]", f"cells = {cells}", text, count=1, flags=re.M)
    assert n == 1
    copy = folder / name
    copy.write_text(text)
    return copy


@pytest.mark.parametrize(
    ("name", "cells"),
    [("poisson2d_robin.toml", "[16, 24]"), ("poisson3d_mixed.toml", "[8, 8, 6]")],
)
def test_compare_agrees_with_individual_solves(name, cells, tmp_path, capsys):
    """Iterations, residuals and fields equal those of ``kronpde solve --method M``."""
    case = small_case(name, tmp_path, cells)
    code, out, err = run(capsys, "compare", case, "--json")
    assert code == 0, err
    record = last_json(out)
    assert record["reference"] == "fastdiag"
    runs = {r["method"]: r for r in record["methods"]}
    assert set(runs) == set(applicable_methods())
    assert {"fastdiag", "direct", "cg", "amg-cg"} <= set(runs)

    fields = {}
    core = ("fastdiag", "direct", "cg", "amg-cg")
    for method in core:
        r = runs[method]
        assert r["skipped"] is None
        out_file = tmp_path / f"{method}.vtu"
        code, out, err = run(capsys, "solve", case, "--method", method, "-o", out_file, "--json")
        assert code == 0, err
        single = last_json(out)
        assert single["method"] == method
        assert r["iterations"] == single["iterations"]
        assert r["converged"] is single["converged"] is True
        assert r["relative_residual"] == pytest.approx(single["relative_residual"], rel=1e-6)
        assert r["error_max"] == pytest.approx(single["error_max"], rel=1e-9, abs=1e-14)
        fields[method] = meshio.read(out_file).point_data["u"]
    for method in core:
        r = runs[method]
        diff = float(np.max(np.abs(fields[method] - fields["fastdiag"])))
        assert r["max_difference"] == pytest.approx(diff, rel=1e-6, abs=1e-13)
    assert runs["fastdiag"]["max_difference"] == 0.0
    assert runs["direct"]["max_difference"] < 1e-10  # both exact to rounding
    assert runs["cg"]["iterations"] > runs["amg-cg"]["iterations"] > 0
    assert runs["fastdiag"]["iterations"] == runs["direct"]["iterations"] == 0


def test_table_lists_every_method(tmp_path, capsys):
    case = small_case("poisson2d_neumann.toml", tmp_path, "[12, 12]")
    code, out, err = run(capsys, "compare", case)
    assert (code, err) == (0, "")
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.strip()}
    for method in ("fastdiag", "direct", "cg", "amg-cg"):
        assert method in rows
    record = compare_methods(load_case(case))
    cg = next(r for r in record.runs if r.method == "cg")
    assert int(rows["cg"][1]) == cg.report.iterations


def test_direct_too_large_is_skipped_with_the_reason(tmp_path, capsys, monkeypatch):
    """direct refuses grids whose factors would not fit: reported, not fatal."""
    monkeypatch.setitem(Direct.defaults, "max_memory", 1000.0)
    case = small_case("poisson2d_dirichlet.toml", tmp_path, "[16, 16]")
    code, out, err = run(capsys, "compare", case, "--json")
    assert code == 0, err
    record = last_json(out)
    runs = {r["method"]: r for r in record["methods"]}
    assert "max_memory" in runs["direct"]["skipped"]
    assert "iterations" not in runs["direct"]
    assert re.search(r"^direct\s+skipped: direct: .*max_memory", out, flags=re.M)
    assert runs["cg"]["skipped"] is None
    # rtol = "auto" (the case gives none): the algebraic error is a fraction of the
    # discretisation error, which fastdiag's error measures
    assert runs["cg"]["max_difference"] < 0.2 * runs["fastdiag"]["error_max"]


def test_not_converged_exit_1(tmp_path, capsys):
    case = small_case("poisson2d_neumann.toml", tmp_path, "[12, 12]")
    code, out, err = run(capsys, "compare", case, "--maxiter", "2", "--json")
    assert code == 1
    runs = {r["method"]: r for r in last_json(out)["methods"]}
    assert runs["fastdiag"]["converged"] is True
    assert runs["cg"]["converged"] is False
    assert runs["cg"]["iterations"] == 2
    assert "cg: not converged" in err
    assert "Traceback" not in err


def test_plot_residual_histories(tmp_path, capsys, monkeypatch):
    from matplotlib.image import imread

    monkeypatch.chdir(tmp_path)
    small_case("poisson3d_dirichlet.toml", tmp_path, "[8, 8, 8]")
    code, out, err = run(capsys, "compare", "poisson3d_dirichlet.toml", "--plot", "res.png")
    assert code == 0, err
    image = imread(tmp_path / "res.png")
    assert image.shape[:2] == (480, 640)
    assert float(np.var(image[..., :3])) > 1e-3
    assert "picture    res.png" in out


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["compare", "nothere.toml"], ["nothere.toml", "no such file"]),
        (["compare", "c.toml", "--rtol", "2"], ["--rtol"]),
        (["compare", "c.toml", "--plot", "x/res.png"], ["--plot", "does not exist"]),
        (["compare", "c.toml", "--method", "cg"], ["unrecognized arguments"]),
    ],
)
def test_bad_input_exit_2(argv, words, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    small_case("poisson2d_neumann.toml", tmp_path, "[8, 8]").rename(tmp_path / "c.toml")
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    for w in words:
        assert w in err
    assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.toml"]
