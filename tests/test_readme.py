"""Every code block of README.md runs.

* ``toml``: the case is solved by ``kronpde solve`` and its error is the
  scheme's (against its own ``[exact]`` section).
* ``python``: executed in a fresh folder; its solves converge.
* ``bash``: each command, one ``&&`` part at a time: ``kronpde ...`` runs (in
  order, in one folder holding a copy of ``cases/``) and exits 0; an install,
  test or documentation command must be one that ``.ci/run`` runs itself, so
  CI runs it.
* The README stays short: at most 250 lines.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path

import numpy as np
import pytest

from kronpde.app.cli import main

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
CI = (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", README, flags=re.M | re.S)


def commands(block: str) -> list[str]:
    """The commands of a bash block: lines without comments, split at ``&&``."""
    lines = [line.strip() for line in block.splitlines()]
    return [part.strip() for line in lines if line and not line.startswith("#")
            for part in line.split("&&")]


def test_the_readme_is_short_and_has_each_kind_of_block():
    assert len(README.splitlines()) <= 250
    assert len(blocks("toml")) == 1
    assert len(blocks("python")) == 1
    assert len(blocks("bash")) >= 3
    assert not re.findall(r"^```(?!toml|python|bash|$)", README, flags=re.M), "a block of no kind"


def test_the_case_file_solves_to_the_schemes_error(tmp_path, capsys):
    case = tmp_path / "case.toml"
    case.write_text(blocks("toml")[0], encoding="utf-8")
    assert main(["solve", str(case), "--json"]) == 0
    record = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert record["converged"]
    assert (tmp_path / "result.vti").stat().st_size > 0
    assert 1e-5 < record["error_max"] < 2e-3  # O(h²) on 48 x 32 cells: not round-off, not wrong


def test_the_python_example_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(blocks("python")[0], "README.md", "exec"), namespace)  # noqa: S102
    assert namespace["solution"].report.method == "fastdiag"
    assert namespace["solution"].report.algebraic_error_bound < 1e-10
    assert namespace["report"].converged
    assert namespace["report"].discretisation_error > 0
    v = namespace["v"]  # ten backward-Euler steps of dt = 1e-3 from 1 (u = 0 on the faces)
    assert 0.0 < v.max() < 1.0
    assert np.all(v >= 0.0)
    assert capsys.readouterr().out.startswith("fastdiag ")


def test_every_shell_command_runs_or_is_run_by_ci(tmp_path, monkeypatch, capsys):
    shutil.copytree(ROOT / "cases", tmp_path / "cases")
    monkeypatch.chdir(tmp_path)
    ran = []
    for block in blocks("bash"):
        for command in commands(block):
            words = shlex.split(command)
            if words[0] == "kronpde":
                assert main(words[1:]) == 0, (command, capsys.readouterr().err)
                ran.append(command)
            else:  # an install, the tests, the docs build: CI runs exactly this
                assert command in CI, f"README command not run by .ci/run: {command}"
    capsys.readouterr()
    assert (tmp_path / "cases" / "poisson2d_dirichlet.vti").stat().st_size > 0
    assert (tmp_path / "mycase.vti").stat().st_size > 0
    assert len(ran) >= 5


@pytest.mark.parametrize(
    "link", sorted(set(re.findall(r"\]\(((?!https?:)[^)#]+)", README))), ids=str
)
def test_every_link_of_the_readme_exists(link):
    assert (ROOT / link).exists(), link
