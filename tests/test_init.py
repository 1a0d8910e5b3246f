"""``kronpde init`` and ``kronpde --help`` for a pip user: no repository needed.

The examples of ``--help`` run, in order, in an empty folder (what a user who
installed the wheel has) and exit 0; the shipped example cases are the
repository's ``cases/`` files byte for byte; no help text names a path of the
repository.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from kronpde.app import examples
from kronpde.app.cli import _EPILOG, COMMANDS, main

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", examples.names())
def test_every_shipped_example_is_the_repository_case(name):
    assert examples.text(name) == (ROOT / "cases" / f"{name}.toml").read_text(encoding="utf-8")


def test_the_examples_are_many_and_the_default_is_one():
    assert len(examples.names()) >= 10
    assert examples.DEFAULT in examples.names()


def test_the_help_examples_run_in_an_empty_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    lines = [line.strip() for line in _EPILOG.split("exit codes:")[0].splitlines()]
    commands = [shlex.split(line)[1:] for line in lines if line.startswith("kronpde ")]
    assert len(commands) >= 8
    assert commands[0][0] == "init"
    for words in commands:
        assert main(words) == 0, (words, capsys.readouterr().err)
    capsys.readouterr()
    for written in (
        "mycase.toml",
        "mycase.vti",
        "u.vtu",
        "conv.png",
        "residuals.png",
        "slice.png",
        "box3d.toml",
        "slice3d.png",
    ):
        assert (tmp_path / written).stat().st_size > 0, written
    assert 'file = "mycase.vti"' in (tmp_path / "mycase.toml").read_text(encoding="utf-8")


def test_init_refuses_to_overwrite_and_names_unknown_examples(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["init", "a"]) == 0
    assert main(["init", "a.toml"]) == 2
    assert "exists already" in capsys.readouterr().err
    assert main(["init", "a", "--force", "--example", "poisson1d_robin"]) == 0
    assert "two-point boundary-value problem" in (tmp_path / "a.toml").read_text()
    assert main(["init", "b", "--example", "no_such_case"]) == 2
    assert "invalid choice" in capsys.readouterr().err


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_no_help_text_names_a_repository_path(command, capsys):
    argv = ["--help"] if command is None else [command, "--help"]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "usage: kronpde" in text
    for path in ("cases/", "scripts/", "case-format.md", "../shared"):
        assert path not in text, (command, path)
