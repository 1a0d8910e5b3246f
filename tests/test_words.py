"""Words that are right (issue 24, item 4): the trial write, suggestions, argument names, booleans.

Each test failed before the change it checks: ``check -o /proc/out.vti`` said the folder was
writable; ``--mehtod`` got no suggestion; ``Grid.box(16)`` raised a raw ``TypeError``;
``maxiter = true`` was shown as ``True``; the corner rule was written only in a docstring.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np
import pytest

from kronpde import Dirichlet, Grid, Neumann, Problem
from kronpde.app import cli
from kronpde.errors import GridError

ROOT = Path(__file__).resolve().parents[1]

CASE = """\
[grid]
cells = [4, 4]
[equation]
source = 1.0
[boundary]
default = { type = "dirichlet", value = 0.0 }
"""


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(list(argv))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def case(tmp_path) -> Path:
    path = tmp_path / "case.toml"
    path.write_text(CASE)
    return path


# -- check -o tries the write ----------------------------------------------------------
@pytest.mark.parametrize("command", ["check", "solve"])
def test_a_folder_that_takes_no_file_is_refused_before_the_solve(case, command):
    code, out, err = _run(command, str(case), "-o", "/proc/out.vti")
    assert code == 2
    assert err.startswith("kronpde: error: -o: cannot write '/proc/out.vti': ")
    assert "no temporary file can be created in '/proc'" in err
    assert "valid" not in out


def test_the_trial_write_leaves_nothing(case, tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    code, out, _ = _run("check", str(case), "-o", str(folder / "u.vti"))
    assert code == 0
    assert "the folder is writable" in out
    assert list(folder.iterdir()) == []


# -- misspelt options and commands -----------------------------------------------------
@pytest.mark.parametrize(
    ("words", "hint"),
    [
        (["--mehtod", "cg"], "did you mean --method?"),
        (["--josn"], "did you mean --json?"),
        (["--rtol=1e-6", "--quite"], "did you mean --quiet?"),
    ],
)
def test_a_misspelt_option_gets_a_suggestion(case, words, hint):
    code, _, err = _run("solve", str(case), *words)
    assert code == 2
    last = err.strip().splitlines()[-1]
    assert last.startswith("kronpde solve: error: unrecognized arguments: ") or last.startswith(
        "kronpde: error: unrecognized arguments: "
    )
    assert last.endswith("; " + hint)


def test_an_unknown_option_far_from_any_gets_none(case):
    code, _, err = _run("solve", str(case), "--xyzzy")
    assert code == 2
    assert "did you mean" not in err


def test_a_misspelt_command_gets_a_suggestion(case):
    code, _, err = _run("solv", str(case))
    assert code == 2
    assert err.strip().endswith("; did you mean solve?")


# -- Grid.box names the argument -------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "subject"),
    [
        ({"cells": 16}, "cells"),
        ({"cells": "16"}, "cells"),
        ({"cells": [16], "lower": 0.0}, "lower"),
        ({"cells": [16], "upper": 1}, "upper"),
        ({"cells": [16], "boundary": 5}, "boundary"),
        ({"cells": [16], "default": 3}, "default"),
        ({"cells": [16], "nodes": 5}, "nodes"),
    ],
)
def test_grid_box_argument_errors_name_the_argument(kwargs, subject):
    with pytest.raises(GridError) as info:
        Grid.box(**kwargs)
    assert info.value.subject == subject
    assert str(info.value).startswith(f"{subject} must be ")


def test_grid_box_of_a_number_says_what_to_write():
    with pytest.raises(GridError, match=r"e\.g\. Grid\.box\(\[16\]\) for 16 cells in 1-D"):
        Grid.box(16)


# -- values shown as the case file writes them ------------------------------------------
@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            ("[grid]", "[solver]\nmaxiter = true\n[grid]"),
            "[solver] maxiter: must be an integer, got the boolean true",
        ),
        (
            ("source = 1.0", "source = false"),
            "[equation] source: expected a number or an expression string, got the boolean false",
        ),
        (
            ("value = 0.0", "value = true"),
            "[boundary] default.value: expected a number or an "
            "expression string, got the boolean true",
        ),
    ],
)
def test_booleans_are_shown_as_the_case_file_writes_them(tmp_path, edit, message):
    path = tmp_path / "case.toml"
    path.write_text(CASE.replace(*edit))
    code, _, err = _run("check", str(path))
    assert code == 2
    assert message in err
    assert "True" not in err
    assert "False" not in err


# -- the corner rule in the user reference ----------------------------------------------
def test_the_corner_rule_is_in_the_reference_and_holds():
    # the user reference moved from the README to the site's case-file page (issue 29)
    reference = " ".join((ROOT / "docs" / "case-format.md").read_text().split())
    assert "the node's value is the mean of their values there" in reference
    assert "`xmin = 0` and `ymin = 1` give the corner `(0, 0)` the value `0.5`" in reference
    grid = Grid.box(
        [2, 2],
        boundary={
            "xmin": Dirichlet(0.0),
            "ymin": Dirichlet(1.0),
            "xmax": Neumann(),
            "ymax": Neumann(),
        },
    )
    u = Problem(grid).to_nodes(np.zeros(Problem(grid).size))
    assert u[0, 0] == 0.5  # the mean of 0 and 1
    assert u[1, 0] == 1.0  # on ymin only
    assert u[0, 2] == 0.0  # xmin meets a Neumann face: the Dirichlet value
