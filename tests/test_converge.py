"""Tests of ``kronpde converge`` and kronpde.app.studies's refinement: orders, errors, bad input."""

from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from kronpde.app import cli
from kronpde.app.fields import CaseFields
from kronpde.app.studies import observed_order, refine_case
from kronpde.io.case import load_case
from kronpde.solvers import solve

ROOT = Path(__file__).resolve().parents[1]
CASES = sorted((ROOT / "cases").glob("*.toml"))


def run(capsys, *argv) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def last_json(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


def scaled(case: Path, folder: Path, num: int, den: int = 1, name: str | None = None) -> Path:
    """A copy of ``case`` with ``cells * num / den`` on every axis (rewritten in the TOML text)."""
    text = case.read_text()

    def scale(m: re.Match) -> str:
        cells = [int(c) * num // den for c in m.group(1).split(",")]
        return "cells = [" + ", ".join(map(str, cells)) + "]"

    text, n = re.subn(r"^cells = \[([^\]]*)\]", scale, text, count=1, flags=re.MULTILINE)
    assert n == 1
    copy = folder / (name or f"{case.stem}_{num}_{den}.toml")
    copy.write_text(text)
    return copy


def toml_spacing(case: Path) -> float:
    """The largest (upper - lower) / cells of a case file, from its text."""
    import tomllib

    from kronpde.expr.expression import parse_expression

    grid = tomllib.loads(case.read_text())["grid"]
    d = len(grid["cells"])

    def number(v):
        return float(parse_expression(v, dimension=3).value) if isinstance(v, str) else float(v)

    lower = [number(v) for v in grid.get("lower", [0.0] * d)]
    upper = [number(v) for v in grid.get("upper", [1.0] * d)]
    return max((hi - lo) / m for lo, hi, m in zip(lower, upper, grid["cells"], strict=True))


# -- orders on every example case -------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[p.stem for p in CASES])
def test_orders_on_example_cases(case, tmp_path, capsys):
    """Three levels from half the example's cells: every order in 1.8-2.3 (3.7-4.3 at order 4)."""
    listed = re.search(r"^nodes\.\w+ = \[", case.read_text(), flags=re.M)  # fixes its cells
    coarse = scaled(case, tmp_path, 1, 1 if listed else 2)
    code, out, err = run(capsys, "converge", coarse, "--levels", "3", "--json")
    assert code == 0, err
    assert err == ""
    record = last_json(out)
    levels = record["levels"]
    assert len(levels) == 3
    assert record["converged"] is True
    h0 = levels[0]["h"] if "nodes" in coarse.read_text() else toml_spacing(coarse)
    for k, level in enumerate(levels):
        assert level["h"] == pytest.approx(h0 / 2**k, rel=1e-12)  # every interval halves
        assert level["converged"] is True
    low, high = (3.7, 4.3) if record["scheme_order"] == 4 else (1.8, 2.3)
    for level in levels[1:]:
        assert low <= level["order_max"] <= high, levels
    assert low <= record["order_max"] <= high
    assert low <= record["order_rms"] <= high
    # the orders are those of the printed errors
    e = [lv["error_max"] for lv in levels]
    assert levels[2]["order_max"] == pytest.approx(math.log(e[1] / e[2]) / math.log(2), rel=1e-9)
    # the table has one row per level, printed before the JSON line
    rows = [line for line in out.splitlines() if re.match(r"^\s+\d+\s+\d+(x\d+)*\s", line)]
    assert len(rows) == 3


def test_levels_agree_with_individual_solves(tmp_path, capsys):
    """Each level's errors equal those of ``kronpde solve`` on a case file with those cells."""
    exact = scaled(CASES[0], tmp_path, 1, 2, name="exact.toml")
    iterative = scaled(ROOT / "cases" / "poisson2d_neumann.toml", tmp_path, 1, 2, name="cg.toml")
    for case_file in (exact, iterative):
        code, out, err = run(capsys, "converge", case_file, "--levels", "3", "--json", "-q")
        assert code == 0, err
        levels = last_json(out)["levels"]
        for k, level in enumerate(levels):
            copy = scaled(case_file, tmp_path, 2**k, name=f"level{k}.toml")
            code, out, err = run(capsys, "solve", copy, "-o", tmp_path / "r.vtu", "--json", "-q")
            assert code == 0, err
            single = last_json(out)
            assert level["cells"] == single["cells"]
            assert level["unknowns"] == single["unknowns"]
            assert level["method"] == single["method"]
            assert level["iterations"] == single["iterations"]
            assert level["error_max"] == pytest.approx(single["error_max"], rel=1e-9, abs=1e-15)
            assert level["error_rms"] == pytest.approx(single["error_rms"], rel=1e-9, abs=1e-15)


def test_refine_case_matches_a_case_file_with_more_cells(tmp_path):
    """refine_case(case, 2) solves to the same field as the case file with doubled cells."""
    source = ROOT / "cases" / "poisson2d_robin.toml"
    fine_file = scaled(source, tmp_path, 2, name="fine.toml")
    refined = refine_case(load_case(source), 2)
    fine = load_case(fine_file)
    assert refined.cells == fine.cells
    for a, b in zip(refined.grid.nodes, fine.grid.nodes, strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-15)
    u_refined = solve(refined.problem, "fastdiag").u
    u_fine = solve(fine.problem, "fastdiag").u
    np.testing.assert_allclose(u_refined, u_fine, rtol=0, atol=1e-12)
    np.testing.assert_allclose(
        CaseFields.of(refined).exact, CaseFields.of(fine).exact, rtol=0, atol=1e-15
    )


def test_observed_order_is_the_least_squares_slope():
    h = np.array([0.1, 0.05, 0.025, 0.0125])
    err = 3.0 * h**2 * (1 + 0.01 * np.array([1, -1, 1, -1]))
    slope = np.polyfit(np.log(h), np.log(err), 1)[0]
    assert observed_order(h, err) == pytest.approx(slope, rel=1e-12)
    assert observed_order([0.1, 0.05], [0.0, 0.0]) is None


# -- what the case says, and options ---------------------------------------------------------


def test_respects_solver_method_and_override(tmp_path, capsys):
    case = ROOT / "cases" / "poisson2d_neumann.toml"  # [solver] method = "cg"
    coarse = scaled(case, tmp_path, 1, 2)
    code, out, _ = run(capsys, "converge", coarse, "--levels", "2", "--json", "-q")
    assert code == 0
    levels = last_json(out)["levels"]
    assert [lv["method"] for lv in levels] == ["cg", "cg"]
    assert all(lv["iterations"] > 0 for lv in levels)
    assert all(lv["relative_residual"] <= 1e-10 for lv in levels)  # the case's rtol
    code, out, _ = run(
        capsys, "converge", coarse, "--levels", "2", "--json", "--method", "fastdiag"
    )
    assert code == 0
    fast = last_json(out)["levels"]
    assert [lv["method"] for lv in fast] == ["fastdiag", "fastdiag"]
    for a, b in zip(levels, fast, strict=True):  # rtol 1e-10: the same discrete solution
        assert a["error_max"] == pytest.approx(b["error_max"], rel=1e-5)


def test_not_converged_stops_with_exit_1(tmp_path, capsys):
    case = scaled(ROOT / "cases" / "poisson2d_neumann.toml", tmp_path, 1, 2)
    code, out, err = run(capsys, "converge", case, "--levels", "3", "--maxiter", "3", "--json")
    assert code == 1
    record = last_json(out)
    assert record["converged"] is False
    assert len(record["levels"]) == 1
    assert record["levels"][0]["iterations"] == 3
    assert "NOT converged" in out
    assert "maxiter" in err
    assert "Traceback" not in err


def test_plot_draws_error_against_h(tmp_path, capsys, monkeypatch):
    from matplotlib.image import imread

    monkeypatch.chdir(tmp_path)
    case = scaled(CASES[0], tmp_path, 1, 2, name="c.toml")
    (tmp_path / "pics").mkdir()
    code, out, err = run(capsys, "converge", "c.toml", "--levels", "3", "--plot", "pics/conv.png")
    assert code == 0, err
    assert case.exists()
    image = imread(tmp_path / "pics" / "conv.png")
    assert image.shape[:2] == (480, 640)
    assert float(np.var(image[..., :3])) > 1e-3
    assert "pics/conv.png" in out
    assert sorted(p.name for p in (tmp_path / "pics").iterdir()) == ["conv.png"]


# -- bad input: exit 2, one line, nothing written ---------------------------------------------


NO_EXACT = """\
[grid]
cells = [8, 8]
[equation]
source = 1
[boundary]
default = { type = "dirichlet", value = 0 }
"""


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["converge", "case.toml"], ["case.toml", "[exact]", "known solution"]),
        (["converge", "case.toml", "--plot", "c.png"], ["[exact]"]),
        (["converge", "good.toml", "--levels", "1"], ["--levels", "at least 2"]),
        (["converge", "good.toml", "--levels", "60"], ["--levels", "too many"]),
        (["converge", "good.toml", "--plot", "no/c.png"], ["--plot", "does not exist"]),
        (["converge", "good.toml", "--plot", "c.txt"], ["--plot", ".png"]),
        (["converge", "good.toml", "--method", "cgg"], ["--method", "did you mean 'cg'"]),
        (["converge", "missing.toml"], ["missing.toml", "no such file"]),
    ],
)
def test_bad_input_exit_2(argv, words, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "case.toml").write_text(NO_EXACT)
    shutil.copy(CASES[0], tmp_path / "good.toml")
    before = sorted(p.name for p in tmp_path.iterdir())
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert err.startswith("kronpde: error: ")
    assert len(err.strip().splitlines()) == 1
    for w in words:
        assert w in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_docstring_examples_run():
    import doctest

    import kronpde.app.studies

    result = doctest.testmod(kronpde.app.studies)
    assert result.failed == 0
    assert result.attempted > 0


@pytest.mark.parametrize("order", [2, 4])
def test_convergence_picture_draws_the_scheme_order_line(order, tmp_path, monkeypatch):
    """The reference line through the coarsest point is h² at order 2 and h⁴ at order 4."""
    import kronpde.app.pictures as plotting

    drawn = {}
    real_save = plotting._save

    def keep(fig, path, dpi):
        drawn["fig"] = fig
        return real_save(fig, path, dpi)

    monkeypatch.setattr(plotting, "_save", keep)
    h = [0.1, 0.05, 0.025]
    errors = {"max": [1e-3 * (v / 0.1) ** order for v in h]}
    plotting.save_convergence_picture(tmp_path / "c.png", h, errors, order=order)
    (ref,) = [ln for ln in drawn["fig"].axes[0].get_lines() if ln.get_linestyle() == "--"]
    assert ref.get_label() == ("h⁴ (fourth order)" if order == 4 else "h² (second order)")
    x, y = np.asarray(ref.get_xdata()), np.asarray(ref.get_ydata())
    assert observed_order(x, y) == pytest.approx(order, rel=1e-12)
    assert (tmp_path / "c.png").stat().st_size > 0
