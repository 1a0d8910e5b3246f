"""Case files: load_case builds the right Problem and rejects every kind of mistake by key."""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import numpy as np
import pytest

from kronpde import CaseError, Dirichlet, Grid, Neumann, Periodic, Problem, Robin
from kronpde.app.cli.common import check_method
from kronpde.app.fields import CaseFields
from kronpde.expr.expression import Expression
from kronpde.io.case import Case, load_case

CASES = sorted((Path(__file__).resolve().parents[1] / "cases").glob("*.toml"))

BASE = """
[grid]
cells = [4, 6]

[equation]
source = "x + y"

[boundary]
default = { type = "dirichlet", value = 0 }
"""


def write(tmp_path: Path, text: str, name: str = "case.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def load(tmp_path: Path, text: str) -> Case:
    return load_case(write(tmp_path, text))


def error(tmp_path: Path, text: str) -> CaseError:
    """A mistake as ``kronpde check`` meets it: reading the file, then the method name
    (the command line checks it against the solvers) and the output fields (evaluated
    before any solve)."""

    def check() -> None:
        case = load(tmp_path, text)
        check_method(case.method, "[solver] method", case)
        CaseFields.of(case)

    with pytest.raises(CaseError) as info:
        check()
    return info.value


# -- what a valid file gives ------------------------------------------------------------


def test_defaults(tmp_path):
    case = load(tmp_path, BASE)
    assert case.dimension == 2
    assert case.cells == (4, 6)
    assert case.lower == (0.0, 0.0)
    assert case.upper == (1.0, 1.0)
    assert case.method == "auto"
    assert case.rtol == "auto"  # stop at a tenth of the discretisation error
    assert case.maxiter is None
    assert case.output is None
    assert case.fields == ("u",)
    assert case.exact is None
    assert case.problem.shift == 0.0
    assert case.problem.coefficient == 1.0
    assert case.problem.size == 3 * 5
    assert case.path == tmp_path / "case.toml"


def test_every_key_is_read(tmp_path):
    case = load(
        tmp_path,
        """
        [grid]
        cells = [8, 4, 2]
        lower = [-1, 0, 0.5]
        upper = [1, "pi", 1]

        [equation]
        source = "sin(x)*y + z"
        shift = 2
        coefficient = "1/4"

        [boundary]
        default = { type = "neumann", value = "x*y" }
        xmin = { type = "dirichlet", value = 1.5 }
        ymax = { type = "robin", alpha = 2, beta = "1/2", value = "z" }
        zmin = { type = "periodic" }
        zmax = { type = "periodic" }

        [solver]
        method = "cg"
        rtol = 1e-6
        maxiter = 50

        [output]
        file = "sub/result.xdmf"
        fields = ["f", "u", "f"]

        [exact]
        u = "x*y*z"
        """,
    )
    assert case.dimension == 3
    assert case.cells == (8, 4, 2)
    assert case.lower == (-1.0, 0.0, 0.5)
    assert case.upper == (1.0, math.pi, 1.0)
    assert (case.method, case.rtol, case.maxiter) == ("cg", 1e-6, 50)
    assert case.output == tmp_path / "sub" / "result.xdmf"
    assert case.fields == ("u", "f")
    assert case.exact.text == "x*y*z"
    assert case.problem.shift == 2.0
    assert case.problem.coefficient == 0.25
    axes = case.grid.axes
    assert axes[0].lower_bc == Dirichlet(1.5)
    assert isinstance(axes[0].upper_bc, Neumann)
    assert isinstance(axes[1].lower_bc, Neumann)
    assert isinstance(axes[1].upper_bc, Robin)
    assert (axes[1].upper_bc.alpha, axes[1].upper_bc.beta) == (2.0, 0.5)
    assert axes[2].lower_bc == Periodic()
    assert axes[2].upper_bc == Periodic()
    assert isinstance(axes[0].upper_bc.value, Expression)
    assert axes[0].upper_bc.value.text == "x*y"
    assert axes[0].upper_bc.value.dimension == 3


def test_problem_matches_one_built_by_hand(tmp_path):
    """The case's operator and right-hand side equal those of the same Problem built in Python."""
    case = load(
        tmp_path,
        """
        [grid]
        cells = [6, 5]
        upper = [2, 1]
        [equation]
        source = "exp(x)*cos(y)"
        shift = 0.5
        coefficient = 3
        [boundary]
        xmin = { type = "dirichlet", value = "1 + y**2" }
        xmax = { type = "neumann", value = "sin(y)" }
        ymin = { type = "robin", alpha = 1, beta = 2, value = "x" }
        ymax = { type = "dirichlet", value = -2 }
        """,
    )
    grid = Grid.box(
        [6, 5],
        upper=[2.0, 1.0],
        boundary={
            "xmin": Dirichlet(lambda x, y: 1 + y**2),
            "xmax": Neumann(lambda x, y: np.sin(y)),
            "ymin": Robin(1.0, 2.0, lambda x, y: x),
            "ymax": Dirichlet(-2.0),
        },
    )
    ref = Problem(grid, lambda x, y: np.exp(x) * np.cos(y), shift=0.5, coefficient=3.0)
    np.testing.assert_allclose(case.problem.rhs(), ref.rhs(), rtol=1e-14, atol=1e-14)
    diff = case.problem.operator() - ref.operator()
    assert abs(diff).max() == 0.0
    u = np.arange(ref.size, dtype=float)
    np.testing.assert_allclose(case.problem.to_nodes(u), ref.to_nodes(u), rtol=0, atol=0)


def test_point_data(tmp_path):
    case = load(
        tmp_path,
        BASE
        + """
        [output]
        file = "r.vtu"
        fields = ["u", "f"]
        [exact]
        u = "x*y"
        """,
    )
    x, y = np.meshgrid(np.linspace(0, 1, 5), np.linspace(0, 1, 7), indexing="ij")
    u = np.ones(case.grid.node_shape)
    data = CaseFields.of(case).point_data(u)
    assert list(data) == ["u", "f", "u_exact", "error"]
    np.testing.assert_allclose(data["f"], x + y, rtol=0, atol=1e-15)
    np.testing.assert_allclose(data["u_exact"], x * y, rtol=0, atol=1e-15)
    np.testing.assert_allclose(data["error"], 1.0 - x * y, rtol=0, atol=1e-15)


def test_point_data_without_exact(tmp_path):
    case = load(tmp_path, BASE)
    fields = CaseFields.of(case)
    assert list(fields.point_data(np.zeros(case.grid.node_shape))) == ["u"]
    assert fields.exact is None


def test_constant_data_stay_numbers(tmp_path):
    case = load(tmp_path, BASE.replace('"x + y"', '"2*pi"'))
    assert case.problem.source == pytest.approx(2 * math.pi)
    assert case.grid.axes[0].lower_bc.value == 0.0


def test_source_needs_to_be_finite_only_where_used(tmp_path):
    """log(x) is -inf on the Dirichlet face x = 0, where f is not used, unless f is written."""
    text = BASE.replace('"x + y"', '"log(x)"')
    case = load(tmp_path, text)
    assert np.all(np.isfinite(case.problem.rhs()))
    err = error(tmp_path, text + '\n[output]\nfields = ["u", "f"]\n')
    assert err.key == "[equation] source"
    assert "field f" in str(err)


def test_non_finite_default_names_the_face(tmp_path):
    err = error(tmp_path, BASE.replace("value = 0", 'value = "1/(x - 0.5)"'))
    assert err.key == "[boundary] default.value"
    assert "on face ymin" in str(err)


def test_one_dimensional_case(tmp_path):
    case = load(
        tmp_path,
        """
        [grid]
        cells = [10]
        [equation]
        source = 1
        [boundary]
        xmin = { type = "dirichlet", value = 0 }
        xmax = { type = "neumann", value = "x" }
        """,
    )
    assert case.dimension == 1
    assert case.problem.size == 10


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_example_cases_load(path):
    case = load_case(path)
    assert case.exact is not None, "every example case has an exact solution"
    assert case.output is not None
    assert case.output.parent == path.parent


# -- mistakes ----------------------------------------------------------------------------


def test_error_carries_file_and_key(tmp_path):
    err = error(tmp_path, BASE.replace("[4, 6]", "[0, 6]"))
    path = str(tmp_path / "case.toml")
    assert err.file == path
    assert err.key == "[grid] cells"
    assert str(err) == f"{path}: [grid] cells: must be positive integers, got [0, 6]"
    assert isinstance(err, ValueError)


@pytest.mark.parametrize(
    ("old", "new", "key", "words"),
    [
        ("cells = [4, 6]", "cels = [4, 6]", "[grid] cels", "did you mean 'cells'"),
        ("[grid]", "[grids]", "[grids]", "did you mean 'grid'"),
        ("cells = [4, 6]", "cells = 4", "[grid] cells", "cells = [4]"),
        ("cells = [4, 6]", "cells = [4, 6, 2, 2]", "[grid] cells", "1 to 3"),
        ("cells = [4, 6]", "cells = [4, true]", "[grid] cells", "positive integers"),
        ("cells = [4, 6]", "cells = [1, 6]", "[grid] cells", "at least 2 cells"),
        ("cells = [4, 6]", "cells = [4, 6]\nlower = [0]", "[grid] lower", "2 entries"),
        ("cells = [4, 6]", "cells = [4, 6]\nupper = [1, -1]", "[grid] upper", "greater"),
        ("cells = [4, 6]", "cells = [4, 6]\nupper = [1, 1e200]", "[grid] upper", "1e100"),
        (
            "cells = [4, 6]",
            "cells = [4, 6]\nlower = [1e9, 0]\nupper = [1.000000000000001e9, 1]",
            "[grid] cells",
            "too small",
        ),
        ("cells = [4, 6]", 'cells = [4, 6]\nupper = ["x", 1]', "[grid] upper", "constant"),
        ("cells = [4, 6]", "cells = [100000, 100000, 100000]", "[grid] cells", "2**33"),
        ('source = "x + y"', 'source = "x + y"\nshift = inf', "[equation] shift", "finite"),
        ('source = "x + y"', 'source = "x + y"\nshift = true', "[equation] shift", "boolean"),
        (
            'source = "x + y"',
            'source = "x + y"\ncoefficient = "x - 0.5"',
            "[equation] coefficient",
            "> 0 at every node",
        ),
        ('source = "x + y"', 'source = "x + y"\ncoefficient = -2', "[equation] coefficient", "> 0"),
        (
            'source = "x + y"',
            'source = "x + y"\ncoefficient = [1]',
            "[equation] coefficient",
            "must be a number",
        ),
        ('source = "x + y"', 'source = ["x"]', "[equation] source", "array"),
        ('source = "x + y"', "", "[equation] source", "source = 0"),
        ("value = 0", 'value = "x.real"', "[boundary] default.value", "attribute"),
        ("value = 0", "value = 0, alpha = 1", "[boundary] default.alpha", "takes type, value"),
        (
            'type = "dirichlet", value = 0',
            'type = "robin", value = 0, alpha = 1',
            "[boundary] default.beta",
            "missing",
        ),
        (
            'type = "dirichlet", value = 0',
            'type = "robin", value = 0, alpha = inf, beta = -1',
            "[boundary] default.alpha",
            "must be a finite number",
        ),
        (
            'type = "dirichlet", value = 0',
            'type = "robin", value = 0, alpha = 1, beta = 0',
            "[boundary] default.beta",
            "non-zero",
        ),
        ('type = "dirichlet"', 'type = "Dirichlet"', "[boundary] default.type", "dirichlet"),
        ('type = "dirichlet", value = 0', "value = 0", "[boundary] default.type", "missing"),
        ("default = {", "xmax = {", "[boundary]", "xmin, ymin, ymax"),
        ("default = {", "zmax = {", "[boundary] zmax", "2-D"),
        ("default = {", "top = {", "[boundary] top", "faces of this 2-D grid"),
        (
            'default = { type = "dirichlet", value = 0 }',
            'default = "dirichlet"',
            "[boundary] default",
            "must be a table",
        ),
    ],
)
def test_mistakes_name_their_key(tmp_path, old, new, key, words):
    assert old in BASE
    err = error(tmp_path, BASE.replace(old, new, 1))
    assert err.key == key
    assert words in str(err)


@pytest.mark.parametrize(
    ("extra", "key", "words"),
    [
        ('[solver]\nmethod = "amg"', "[solver] method", "did you mean 'amg-cg'"),
        ("[solver]\nmethod = 1", "[solver] method", "the number 1"),
        ("[solver]\nrtol = 1", "[solver] rtol", "< 1"),
        ('[solver]\nrtol = "1e-8"', "[solver] rtol", "must be a number"),
        ("[solver]\nmaxiter = 0", "[solver] maxiter", "positive integer"),
        ("[solver]\nmaxiter = 1e3", "[solver] maxiter", "positive integer"),
        ("[solver]\ntol = 1e-8", "[solver] tol", "did you mean 'rtol'"),
        ('[output]\nfile = "r.png"', "[output] file", ".vtu"),
        ('[output]\nfile = ""', "[output] file", "file name"),
        ('[output]\nfields = ["u", "error"]', "[output] fields", "written automatically"),
        ('[output]\nfields = "u"', "[output] fields", "array"),
        ("[exact]\nu = 1\nv = 2", "[exact] v", "takes u"),
        ("[exact]", "[exact] u", "missing"),
        ('[exact]\nu = "1/x"', "[exact] u", "not finite"),
        ('[exact]\nu = "z"', "[exact] u", "'z'"),
        ("solver = 3", "[solver]", "must be a table"),
        ("rtol = 3", "rtol", "belongs in [solver]"),
        ("whatever = 3", "whatever", "unknown key"),
    ],
)
def test_mistakes_in_optional_tables(tmp_path, extra, key, words):
    # a top-level key must come before the first table
    text = extra + "\n" + BASE if "[" not in extra.split("\n")[0] else BASE + "\n" + extra
    err = error(tmp_path, text)
    assert err.key == key
    assert words in str(err)


@pytest.mark.parametrize(
    ("faces", "key"),
    [
        ('xmin = { type = "periodic" }', "[boundary] xmin"),
        ('xmax = { type = "periodic" }\nxmin = { type = "neumann", value = 0 }', "[boundary] xmax"),
    ],
)
def test_half_periodic_axis(tmp_path, faces, key):
    err = error(tmp_path, BASE + faces)
    assert err.key == key
    assert "periodic on both faces" in str(err)


def test_periodic_default_with_one_other_face_names_that_face(tmp_path):
    text = BASE.replace('type = "dirichlet", value = 0', 'type = "periodic"')
    text += 'ymin = { type = "dirichlet", value = 0 }\n'
    err = error(tmp_path, text)
    assert err.key == "[boundary] ymin"


def test_file_problems(tmp_path):
    err = error(tmp_path, "[grid\ncells = [4]\n")
    assert "not valid TOML" in str(err)
    assert "line 1" in str(err)
    with pytest.raises(CaseError, match="no such file"):
        load_case(tmp_path / "missing.toml")
    with pytest.raises(CaseError, match="is a folder"):
        load_case(tmp_path)
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b"[grid]\ncells = [4]\n# \xff\xfe\n")
    with pytest.raises(CaseError, match="UTF-8"):
        load_case(bad)
    err = error(tmp_path, "")
    assert err.key == "[grid]"
    err = error(tmp_path, "[grid]\ncells = [4]\n")
    assert err.key == "[equation]"


# -- [scheme] --------------------------------------------------------------------------


def test_scheme_order_is_read(tmp_path):
    case = load(tmp_path, BASE + "\n[scheme]\norder = 4\n")
    assert case.problem.order == 4
    assert case.refined(2).problem.order == 4
    assert load(tmp_path, BASE + "\n[scheme]\n").problem.order == 2
    assert load(tmp_path, BASE).problem.order == 2
    built = Problem(case.grid, "x + y", order=4)
    np.testing.assert_allclose(case.problem.rhs(), built.rhs(), rtol=1e-14)
    assert abs(case.problem.operator() - built.operator()).max() == 0.0


STRETCHED = """
[grid]
cells = [4, 6]
nodes.x = { stretch = "tanh", beta = 1.5 }
[equation]
source = 1
[boundary]
default = { type = "dirichlet", value = 0 }
[scheme]
order = 4
"""


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (BASE + "[scheme]\norder = 3", "must be 2 or 4, got the number 3"),
        (BASE + '[scheme]\norder = "4"', 'got the string "4"'),
        (BASE + "[scheme]\norder = 4.0", "got the number 4.0"),
        (BASE + "[scheme]\norder = true", "got the boolean true"),
        (
            BASE.replace('source = "x + y"', 'source = 1\ncoefficient = "1 + x"')
            + "[scheme]\norder = 4",
            "needs a constant coefficient k",
        ),
        (STRETCHED, "axis x is stretched"),
    ],
)
def test_scheme_mistakes_name_the_order(tmp_path, text, words):
    err = error(tmp_path, text)
    assert err.key == "[scheme] order", str(err)
    assert words in str(err)


def test_scheme_takes_only_order(tmp_path):
    err = error(tmp_path, BASE + "\n[scheme]\norders = 4\n")
    assert err.key == "[scheme] orders"
    assert "did you mean 'order'" in str(err)
