"""What the subcommands share: usage errors, common arguments, the summary's pieces, JSON values.

Light on purpose: nothing here imports the solvers or the file layer at
module level, so that ``kronpde --help`` answers at once.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from kronpde.errors import CaseError

if TYPE_CHECKING:
    from kronpde.io.case import Case
    from kronpde.problem.settings import SolverSettings

__all__ = [
    "EXIT_INTERNAL",
    "EXIT_INVALID",
    "EXIT_NOT_CONVERGED",
    "EXIT_OK",
    "UsageError",
    "add_case_argument",
    "add_plot_option",
    "add_solver_overrides",
    "check_method",
    "check_writable",
    "describe_grid",
    "describe_rtol",
    "json_value",
    "method_names",
    "output_path",
    "picture_path",
    "solver_settings",
]

EXIT_OK = 0
EXIT_NOT_CONVERGED = 1
EXIT_INVALID = 2
EXIT_INTERNAL = 3


class UsageError(Exception):
    """A bad command-line value (or a case value only the command line can check)."""

    def __init__(self, option: str, message: str):
        super().__init__(f"{option}: {message}")


def method_names() -> tuple[str, ...]:
    """Return the solver methods (:data:`kronpde.solvers.METHODS`)."""
    from kronpde.solvers.registry import METHODS

    return METHODS


def add_case_argument(parser: argparse.ArgumentParser) -> None:
    """``CASE.toml`` and ``-o OUT``."""
    parser.add_argument("case", metavar="CASE.toml", help="the case file")
    parser.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        help="write the result here (relative to the current folder) instead of "
        "[output] file; .vti or .vtr (structured, for ParaView), .vtu, .vtk or .xdmf",
    )


def add_solver_overrides(parser: argparse.ArgumentParser, *, method: bool = True) -> None:
    """Add ``--method``, ``--rtol``, ``--maxiter``: the overrides of ``[solver]``."""
    if method:
        parser.add_argument(
            "--method", metavar="M", help="override [solver] method: " + ", ".join(method_names())
        )
    else:
        parser.set_defaults(method=None)
    parser.add_argument(
        "--rtol",
        metavar="R",
        help="override [solver] rtol: a number, or auto (the default: stop the iterative "
        "methods at a tenth of the estimated discretisation error)",
    )
    parser.add_argument("--maxiter", metavar="N", type=int, help="override [solver] maxiter")


def add_json_quiet(parser: argparse.ArgumentParser, quiet_help: str) -> None:
    """``--json`` and ``-q/--quiet``."""
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the results as one JSON object on the last line of standard output",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help=quiet_help)


def add_plot_option(parser: argparse.ArgumentParser, what: str) -> None:
    """``--plot PNG``."""
    parser.add_argument(
        "--plot",
        metavar="PNG",
        help=f"draw {what} to this picture (.png, .svg or .pdf; relative to the current "
        "folder); needs matplotlib: pip install 'kronpde[plot]'",
    )


def check_method(name: str, key: str, case: Case | None = None) -> str:
    """``name`` if it is a method of the solvers, else a usage error naming ``key``."""
    from kronpde.io.case import suggest

    methods = method_names()
    if name not in methods:
        message = f"must be one of {', '.join(methods)}; {suggest(name, methods)}got {name!r}"
        if case is not None:
            raise CaseError(message, file=str(case.path), key=key)
        raise UsageError(key, message)
    return name


def solver_settings(case: Case, args: argparse.Namespace) -> SolverSettings:
    """Return the case's ``[solver]`` with the command line's overrides, every value checked."""
    from dataclasses import replace

    from kronpde.errors import OptionError
    from kronpde.problem.settings import check_maxiter, check_rtol

    settings = case.solver
    check_method(settings.method, "[solver] method", case)
    changes: dict[str, Any] = {}
    try:
        if args.method is not None:
            changes["method"] = check_method(args.method, "--method")
        if args.rtol is not None:
            changes["rtol"] = check_rtol(args.rtol, "--rtol", below_one=True)
        if args.maxiter is not None:
            changes["maxiter"] = check_maxiter(args.maxiter, "--maxiter", positive=True)
    except OptionError as exc:
        option, _, message = str(exc).partition(": ")
        raise UsageError(option, message) from None
    return replace(settings, **changes)


def describe_rtol(rtol: float | str) -> str:
    """``rtol`` for a summary line: ``auto`` with what it means, or the number."""
    if isinstance(rtol, str):
        return f"{rtol}: a tenth of the estimated discretisation error"
    return f"{rtol:g}"


def describe_grid(case: Case) -> list[str]:
    """Return the summary lines about the grid and the equation."""
    from kronpde.expr.expression import Expression

    grid = case.grid
    problem = case.problem
    cells = " x ".join(str(c) for c in grid.cells)
    box = " x ".join(f"[{a.lower:g}, {a.upper:g}]" for a in grid.axes)
    system = grid.coordinate_system  # a curvilinear grid names its axes r, theta, ...
    names = system.axes if system is not None else "xyz"
    faces = ", ".join(
        f"{names[i]}: {a.lower_bc.kind}/{a.upper_bc.kind}" for i, a in enumerate(grid.axes)
    )
    equation = "-div(k grad u) + c u = f" if problem.shift else "-div(k grad u) = f"
    k = problem.coefficient
    k = k.text if isinstance(k, Expression) else f"{k:g}"
    data = problem.data
    shift_text = getattr(data, "shift_text", None)  # a separable c(x)
    if shift_text is not None:
        equation = "-div(k grad u) + c u = f"
    if getattr(data, "nondivergence", False):  # second/first: no k
        equation = "-sum_i (a_i u_ii + b_i u_i) + c u = f"
        k = "none (second/first)"
    centring = ""
    if any(a.cell_centred for a in grid.axes):
        centring = (
            ", cell-centred"
            if grid.cell_centred
            else f", centring {'/'.join(grid.centering)} per axis"
        )
    unknowns = f"{grid.size:,}"
    if problem.domain_size != grid.size:  # a domain inside the box
        disc = problem.discretisation
        unknowns = (
            f"{problem.domain_size:,} in the domain ({disc.geometry.domain.describe()}; "
            f"embedded {disc.condition.kind}) of the box's {grid.size:,}"
        )
    return [
        f"grid       {grid.dimension}-D{'' if system is None else ' ' + system.name}, {cells} "
        f"cells on {box}{centring}",
        f"unknowns   {unknowns}",
        f"faces      {faces}",
        f"equation   {equation}, k = {k}, c = {c_text(problem.shift, shift_text)}",
        f"scheme     order {problem.order} ({SCHEMES.get(problem.order, '')})",
    ]


def c_text(shift: float, expression: str | None) -> str:
    """Return the summary's ``c``: the number, or a separable expression (plus the number)."""
    if expression is None:
        return f"{shift:g}"
    return expression if shift == 0.0 else f"{expression} + {shift:g}"


#: How the summary names the discretisation of each ``[scheme] order``.
SCHEMES = {
    2: "second differences",
    4: "compact fourth-order differences, the 9/19-point Mehrstellen stencil",
}


def output_path(case: Case, option: str | None) -> tuple[Path | None, str]:
    """Return the file to write and the key or option that named it."""
    from kronpde.io.case import check_extension

    if option is not None:
        path = Path(option)
        check_extension(path, "-o")
        if case.grid.coordinate_system is not None:  # .vti/.vtr refused, naming .vts
            from kronpde.io.case_curvilinear import output_refusal

            refusal = output_refusal(case.grid, path)
            if refusal is not None:
                raise refusal
        return path, "-o"
    return case.output, "[output] file"


def check_writable(case: Case, path: Path | None, key: str) -> None:
    """Before the solve: the result file ``path`` can be written (else a CaseError for ``key``)."""
    from kronpde.app.fields import VECTOR_FIELDS, output_geometry
    from kronpde.io.vtk import OutputError
    from kronpde.io.vtk import check_writable as check

    if path is None:
        return
    vectors = [f for f in case.fields if f in VECTOR_FIELDS]
    if vectors and path.suffix.lower() not in (".vti", ".vtr", ".vts"):
        msg = (
            f"{' and '.join(vectors)}: vector fields are written to .vti, .vtr and .vts files "
            "only, "
            f"not {path.suffix or 'a file without extension'} (the output is {key})"
        )
        raise CaseError(msg, file=str(case.path), key="[output] fields")
    axes, _ = output_geometry(case.grid)  # the faces of a cell-centred grid, else its points
    if any(x.size < 2 for x in axes):  # a mixed centring with one cell on a cell-centred axis
        file = None if key == "-o" else str(case.path)
        msg = (
            "cannot write this grid: a mixed centring writes point data at the cell centres, "
            "which needs at least 2 cells on every cell-centred axis"
        )
        raise CaseError(msg, file=file, key=key)
    try:
        # a .vti needs uniform axes, and the folder must take a new file (a trial write):
        # refused before the solve
        check(path, nodes=axes, probe=True)
    except OutputError as exc:
        file = None if key == "-o" else str(case.path)
        raise CaseError(str(exc), file=file, key=key) from None


def picture_path(option: str, value: str | None) -> Path | None:
    """Before any work: matplotlib is there and the picture ``value`` can be written."""
    if value is None:
        return None
    from kronpde.app.pictures import (
        PictureError,
        PlottingUnavailable,
        check_picture_path,
        require_matplotlib,
    )

    try:
        require_matplotlib()
        return check_picture_path(value)
    except (PlottingUnavailable, PictureError) as exc:
        raise UsageError(option, str(exc)) from None


def json_value(v: Any) -> Any:
    """JSON-safe: numpy scalars to Python, non-finite floats to null."""
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if isinstance(v, (np.integer, int)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        v = float(v)
        return v if math.isfinite(v) else None
    if isinstance(v, (list, tuple)):
        return [json_value(x) for x in v]
    return v
