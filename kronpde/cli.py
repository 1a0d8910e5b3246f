"""The ``kronpde`` command: solve or check a case file.

``kronpde solve CASE.toml`` reads the case (:func:`kronpde.io.case.load_case`),
checks that the result can be written, solves, prints a summary and writes the
result file; ``kronpde check CASE.toml`` does everything but solve and write.
``kronpde converge``, ``compare`` and ``plot`` (and ``solve --plot``) run
:mod:`kronpde.verify` and draw with :mod:`kronpde.plotting` (optional matplotlib).
The exit codes, the JSON keys and the output file are fixed by
``case-format.md``.  Each subcommand is one ``add_*_arguments`` + ``run_*``
pair (meshio's layout); :func:`main` returns the exit code instead of exiting,
so tests call it in-process.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np

from kronpde.errors import CaseError, KronpdeError, SolverError

if TYPE_CHECKING:
    from kronpde.io.case import Case

__all__ = [
    "EXIT_INTERNAL",
    "EXIT_INVALID",
    "EXIT_NOT_CONVERGED",
    "EXIT_OK",
    "main",
]

EXIT_OK = 0
EXIT_NOT_CONVERGED = 1
EXIT_INVALID = 2
EXIT_INTERNAL = 3

#: Seconds between two progress lines of an iterative solve.
PROGRESS_INTERVAL = 1.0

_EPILOG = """\
examples:
  kronpde check cases/poisson2d_dirichlet.toml
  kronpde solve cases/poisson2d_dirichlet.toml
  kronpde solve cases/poisson3d_dirichlet.toml --method amg-cg --rtol 1e-10 -o u.vtu --json
  kronpde converge cases/poisson2d_robin.toml --levels 4 --plot conv.png
  kronpde compare cases/poisson3d_dirichlet.toml --plot residuals.png
  kronpde plot cases/poisson3d_mixed.vtu -o slice.png --field u --axis z --at 0.5

exit codes:
  0  solved (and the result written)
  1  the solver did not reach its tolerance (nothing written)
  2  invalid input: missing or unreadable file, bad TOML, unknown key, wrong
     type, bad expression, impossible grid or boundary set-up, output that
     cannot be written (nothing written; an existing output file is kept)
  3  an internal error: a bug in kronpde, please report it (set KRONPDE_DEBUG=1
     to see the traceback)
"""


class _UsageError(Exception):
    """A bad command-line value that argparse itself does not catch."""

    def __init__(self, option: str, message: str):
        super().__init__(f"{option}: {message}")


# --------------------------------------------------------------------------- parser


def _methods() -> tuple[str, ...]:
    from kronpde.io.case import _methods

    return _methods()


def _add_case_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("case", metavar="CASE.toml", help="the case file")
    parser.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        help="write the result here (relative to the current folder) instead of "
        "[output] file; .vtu, .vtk or .xdmf",
    )


def add_solve_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``kronpde solve``."""
    _add_case_argument(parser)
    parser.add_argument(
        "--method",
        metavar="M",
        help="override [solver] method: " + ", ".join(_methods()),
    )
    parser.add_argument("--rtol", metavar="R", type=float, help="override [solver] rtol")
    parser.add_argument("--maxiter", metavar="N", type=int, help="override [solver] maxiter")
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the results as one JSON object on the last line of standard output",
    )
    parser.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="print no summary and no progress (errors and --json still print)",
    )
    _add_plot_option(parser, "u (3-D: the middle z slice) after the solve")
    parser.add_argument(
        "--backend",
        metavar="B",
        default="serial",
        help="serial (default) or petsc: CG on PETSc, on every rank of "
        "`mpirun -n P kronpde solve ...` (needs petsc4py: scripts/install-petsc.sh); "
        "a serial-only [solver] method (fastdiag, direct, ...) gives way to amg-cg",
    )
    parser.add_argument(
        "--pc",
        metavar="PC",
        help="--backend petsc: the multigrid preconditioner of amg-cg, gamg (default) or hypre",
    )
    parser.add_argument(
        "--petsc-options",
        metavar="OPTS",
        help="--backend petsc: PETSc options, e.g. '-ksp_monitor -pc_gamg_threshold 0.02'",
    )


def add_check_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``kronpde check``."""
    _add_case_argument(parser)


def _add_plot_option(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--plot",
        metavar="PNG",
        help=f"draw {what} to this picture (.png, .svg or .pdf; relative to the current "
        "folder); needs matplotlib: pip install 'kronpde[plot]'",
    )


def _add_verify_arguments(parser: argparse.ArgumentParser, *, method: bool) -> None:
    """CASE.toml, the solver overrides, --json and --quiet of converge and compare."""
    parser.add_argument("case", metavar="CASE.toml", help="the case file")
    if method:
        parser.add_argument(
            "--method", metavar="M", help="override [solver] method: " + ", ".join(_methods())
        )
    else:
        parser.set_defaults(method=None)
    parser.add_argument("--rtol", metavar="R", type=float, help="override [solver] rtol")
    parser.add_argument("--maxiter", metavar="N", type=int, help="override [solver] maxiter")
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the results as one JSON object on the last line of standard output",
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="print no table (errors and --json still print)"
    )


def add_converge_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``kronpde converge``."""
    _add_verify_arguments(parser, method=True)
    parser.add_argument(
        "--levels",
        metavar="L",
        type=int,
        default=4,
        help="number of grids: the case's, then cells x 2, x 4, ... (default 4, at least 2)",
    )
    _add_plot_option(parser, "max and RMS error against h (log-log, with an h^2 line)")


def add_compare_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``kronpde compare``."""
    _add_verify_arguments(parser, method=False)
    _add_plot_option(parser, "the residual histories of the iterative methods")


def add_plot_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``kronpde plot``."""
    # dest "case": main() names the input file of every command through args.case
    parser.add_argument(
        "case", metavar="RESULT", help="a result file written by kronpde solve (.vtu .vtk .xdmf)"
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="PNG",
        help="the picture (.png, .svg or .pdf; relative to the current folder); default "
        "RESULT with the extension .png",
    )
    parser.add_argument("--field", default="u", help="the point-data field to draw (default u)")
    parser.add_argument(
        "--axis",
        choices=("x", "y", "z"),
        help="cut across this axis: a 3-D field to a plane (default z), a 2-D one to a line",
    )
    parser.add_argument(
        "--at",
        metavar="COORD",
        type=float,
        help="coordinate of the cut along --axis (the nearest node; default the middle)",
    )
    parser.add_argument(
        "--dpi", type=int, default=100, help="resolution; the picture is 6.4 x 4.8 inches"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")


def build_parser() -> argparse.ArgumentParser:
    """The ``kronpde`` argument parser."""
    from kronpde import __version__

    parser = argparse.ArgumentParser(
        prog="kronpde",
        description="Solve -div(k grad u) + c u = f on a box (1-3 D) from a TOML case file, "
        "through the Kronecker structure of the discrete operator.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"kronpde {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    commands = (
        ("solve", "solve a case and write the result", add_solve_arguments, run_solve),
        (
            "check",
            "validate a case (expressions, boundary set-up, output folder) without solving",
            add_check_arguments,
            run_check,
        ),
        (
            "converge",
            "solve a case with [exact] on refined grids and report the errors and observed orders",
            add_converge_arguments,
            run_converge,
        ),
        (
            "compare",
            "run every solver method on a case and compare iterations, times and solutions",
            add_compare_arguments,
            run_compare,
        ),
        ("plot", "draw a field of a result file to a picture", add_plot_arguments, run_plot),
    )
    for name, help_text, add_arguments, handler in commands:
        p = sub.add_parser(
            name,
            help=help_text,
            description=help_text[0].upper() + help_text[1:] + ".",
            epilog=_EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        add_arguments(p)
        p.set_defaults(handler=handler)
    return parser


# --------------------------------------------------------------------------- helpers


def _describe_grid(case: Case) -> list[str]:
    grid = case.grid
    cells = " x ".join(str(c) for c in case.cells)
    box = " x ".join(f"[{lo:g}, {hi:g}]" for lo, hi in zip(case.lower, case.upper, strict=True))
    faces = ", ".join(
        f"{'xyz'[i]}: {a.lower_bc.kind}/{a.upper_bc.kind}" for i, a in enumerate(grid.axes)
    )
    equation = "-div(k grad u) + c u = f" if case.problem.shift else "-div(k grad u) = f"
    return [
        f"grid       {case.dimension}-D, {cells} cells on {box}",
        f"unknowns   {grid.size:,}",
        f"faces      {faces}",
        f"equation   {equation}, k = {case.coefficient_text}, c = {case.problem.shift:g}",
    ]


def _output_path(case: Case, option: str | None) -> tuple[Path | None, str]:
    """The file to write and the key or option that named it."""
    from kronpde.io.case import check_extension

    if option is not None:
        path = Path(option)
        check_extension(path, "-o")
        return path, "-o"
    return case.output, "[output] file"


def _check_writable(case: Case, path: Path | None, key: str) -> None:
    from kronpde.io.vtk import OutputError, check_writable

    if path is None:
        return
    try:
        check_writable(path)
    except OutputError as exc:
        file = None if key == "-o" else str(case.path)
        raise CaseError(str(exc), file=file, key=key) from None


def _apply_overrides(case: Case, args: argparse.Namespace) -> tuple[str, float, int | None]:
    method, rtol, maxiter = case.method, case.rtol, case.maxiter
    if args.method is not None:
        methods = _methods()
        if args.method not in methods:
            import difflib

            close = difflib.get_close_matches(args.method, methods, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise _UsageError(
                "--method", f"must be one of {', '.join(methods)}; {hint}got {args.method!r}"
            )
        method = args.method
    if args.rtol is not None:
        if not (math.isfinite(args.rtol) and 0.0 < args.rtol < 1.0):
            raise _UsageError("--rtol", f"must be > 0 and < 1, got {args.rtol:g}")
        rtol = args.rtol
    if args.maxiter is not None:
        if args.maxiter < 1:
            raise _UsageError("--maxiter", f"must be a positive integer, got {args.maxiter}")
        maxiter = args.maxiter
    return method, rtol, maxiter


def _backend_options(args: argparse.Namespace, method: str) -> tuple[str, dict[str, Any] | None]:
    """The method and the options of ``--backend petsc`` (None: the serial backend)."""
    from kronpde import petsc

    if args.backend not in ("serial", "petsc"):
        raise _UsageError("--backend", f"must be serial or petsc, got {args.backend!r}")
    if args.backend == "serial":
        for name, value in (("--pc", args.pc), ("--petsc-options", args.petsc_options)):
            if value is not None:
                raise _UsageError(name, "applies to --backend petsc only")
        return method, None
    if not petsc.available():
        raise _UsageError("--backend petsc", petsc.INSTALL_HINT)
    if args.pc is not None and args.pc not in petsc.PRECONDITIONERS:
        raise _UsageError("--pc", f"must be gamg or hypre, got {args.pc!r}")
    if method not in petsc.METHODS or (args.pc is not None and args.method is None):
        if args.method is not None:  # asked for on the command line: refuse
            raise _UsageError(
                "--method",
                f"{method} runs on the serial backend only; --backend petsc runs "
                f"{', '.join(petsc.METHODS)}",
            )
        method = "auto"  # the case file's serial choice (or its cg, with --pc) gives way
    if args.pc is not None and method == "cg":
        raise _UsageError("--pc", "applies to amg-cg; --method cg uses Jacobi")
    options: dict[str, Any] = {"monitor": None if args.quiet else sys.stderr}
    if args.pc is not None:
        options["pc"] = args.pc
    if args.petsc_options is not None:
        try:
            petsc.parse_petsc_options(args.petsc_options)  # checked here, for the message
        except SolverError as exc:
            raise _UsageError("--petsc-options", str(exc)) from None
        options["petsc_options"] = args.petsc_options
    return method, options


class _Progress:
    """Solver callback: a progress line on ``stream`` at most every ``interval`` seconds."""

    def __init__(
        self,
        stream: TextIO | None,
        residual: Callable[[np.ndarray], float] | None = None,
        interval: float | None = None,
    ):
        self.stream = stream
        self.residual = residual
        self.interval = PROGRESS_INTERVAL if interval is None else interval
        self.iterations = 0
        self.start = self.last = time.perf_counter()

    def __call__(self, xk: np.ndarray) -> None:
        self.iterations += 1
        if self.stream is None:
            return
        now = time.perf_counter()
        if now - self.last < self.interval:
            return
        self.last = now
        line = f"  iteration {self.iterations:>7,}"
        if self.residual is not None:
            try:
                line += f"   relative residual {self.residual(xk):.3e}"
            except Exception:  # a progress line never stops a solve
                self.residual = None
        line += f"   {now - self.start:7.1f} s"
        print(line, file=self.stream, flush=True)


def _residual_function(problem: Any) -> Callable[[np.ndarray], float]:
    """``uk -> ||b - A uk|| / ||b||`` on the unknowns (``b`` projected for singular problems)."""
    cache: dict[str, Any] = {}

    def residual(uk: np.ndarray) -> float:
        if not cache:
            b, _ = problem.project_rhs(problem.rhs())
            cache["b"], cache["norm"] = b, float(np.linalg.norm(b))
            cache["A"] = problem.linear_operator()
        r = cache["b"] - cache["A"].matvec(np.asarray(uk, dtype=float).reshape(-1))
        norm = float(np.linalg.norm(r))
        return norm / cache["norm"] if cache["norm"] > 0 else norm

    return residual


def _json_value(v: Any) -> Any:
    """JSON-safe: numpy scalars to Python, non-finite floats to null."""
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if isinstance(v, (np.integer, int)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        v = float(v)
        return v if math.isfinite(v) else None
    if isinstance(v, (list, tuple)):
        return [_json_value(x) for x in v]
    return v


# --------------------------------------------------------------------------- commands


def run_check(args: argparse.Namespace) -> int:
    """``kronpde check``: validate everything, solve and write nothing."""
    from kronpde.io.case import load_case

    case = load_case(args.case)
    path, key = _output_path(case, args.output)
    _check_writable(case, path, key)
    lines = [f"{args.case}: valid", *_describe_grid(case)]
    solver = f"method {case.method}, rtol {case.rtol:g}"
    if case.maxiter is not None:
        solver += f", maxiter {case.maxiter}"
    lines.append(f"solver     {solver}")
    if path is None:
        lines.append("output     none (no [output] file; use -o to name one)")
    else:
        fields = list(case.fields) + (["u_exact", "error"] if case.exact is not None else [])
        lines.append(f"output     {path} ({', '.join(fields)}; the folder is writable)")
    if case.exact is not None:
        lines.append(f"exact      u = {case.exact.text}")
    print("\n".join(lines))
    return EXIT_OK


def run_solve(args: argparse.Namespace) -> int:
    """``kronpde solve``: validate, solve, report, write."""
    from kronpde.io.case import load_case
    from kronpde.io.vtk import write_result
    from kronpde.solvers.api import solve

    case = load_case(args.case)
    method, rtol, maxiter = _apply_overrides(case, args)
    method, backend_options = _backend_options(args, method)
    path, key = _output_path(case, args.output)
    _check_writable(case, path, key)  # before the solve, which may be long
    picture = _picture_path("--plot", args.plot)
    problem = case.problem
    out = sys.stdout
    quiet = args.quiet

    if backend_options is None:
        progress = _Progress(None if quiet else sys.stderr, residual=_residual_function(problem))
        solution = solve(problem, method, rtol=rtol, maxiter=maxiter, callback=progress)
    else:  # every rank solves its part; rank 0 receives u, reports and writes
        solution = solve(
            problem, method, rtol=rtol, maxiter=maxiter, backend="petsc", options=backend_options
        )
        if solution.u is None:
            return EXIT_OK if solution.report.converged else EXIT_NOT_CONVERGED
    report = solution.report
    u = np.asarray(solution.u, dtype=float)

    data = case.point_data(u)
    errors: dict[str, float] = {}
    if "error" in data:  # over all nodes of the output, Dirichlet nodes included
        err = data["error"]
        errors = {
            "error_max": float(np.max(np.abs(err))),
            "error_rms": float(np.sqrt(np.mean(err * err))),
        }

    written = None
    if report.converged and path is not None:
        written = write_result(path, case.grid.nodes, data)
    drawn = _draw_solution(case, u, picture) if report.converged and picture else None

    if not quiet:
        lines = [f"case       {args.case}", *_describe_grid(case)]
        how = report.method
        if report.requested == "auto":
            how += f" ({report.reason or 'chosen by auto'})"
        lines.append(f"method     {how}")
        if backend_options is not None:
            o = report.options
            lines.append(
                f"backend    petsc, {o['ranks']} rank(s): KSP {o['ksp_type']}, PC {o['pc_type']}"
            )
        status = "converged" if report.converged else "NOT converged"
        lines.append(
            f"result     {status}, {report.iterations} iteration(s), relative residual "
            f"{report.relative_residual:.3e}"
        )
        if problem.singular:
            lines.append(
                f"projected  {report.projected_norm:.3e}: relative size of the incompatible part "
                "of the data, removed (singular problem; u has zero mean)"
            )
        lines.append(
            f"time       setup {report.setup_seconds:.3f} s, solve {report.solve_seconds:.3f} s"
        )
        if errors:
            lines.append(
                f"error      max {errors['error_max']:.3e}, rms {errors['error_rms']:.3e} "
                "(u - [exact] u over all nodes)"
            )
        if written is not None:
            lines.append(f"output     {written} ({', '.join(data)})")
        elif path is None:
            lines.append("output     none (no [output] file and no -o)")
        if drawn is not None:
            lines.append(f"picture    {drawn}")
        print("\n".join(lines), file=out)

    if not report.converged:
        message = report.message or "the solver did not reach its tolerance"
        print(f"kronpde: {args.case}: {message.rstrip('.')}; nothing written", file=sys.stderr)

    if args.json:
        record = {
            "case": str(args.case),
            "dimension": case.dimension,
            "cells": list(case.cells),
            "unknowns": problem.size,
            "method": report.method,
            "requested": report.requested,
            "reason": report.reason,
            "converged": report.converged,
            "iterations": report.iterations,
            "relative_residual": report.relative_residual,
            "projected_norm": report.projected_norm,
            "setup_seconds": report.setup_seconds,
            "solve_seconds": report.solve_seconds,
            "output": None if written is None else str(written),
            **errors,
        }
        if backend_options is not None:
            record.update({k: report.options[k] for k in ("backend", "pc", "ranks")})
        record = {k: _json_value(v) for k, v in record.items()}
        print(json.dumps(record, allow_nan=False), file=out)
    out.flush()
    return EXIT_OK if report.converged else EXIT_NOT_CONVERGED


# --------------------------------------------------------------------------- verification


def _picture_path(option: str, value: str | None) -> Path | None:
    """Before any work: matplotlib is there and the picture ``value`` can be written."""
    if value is None:
        return None
    from kronpde.plotting import (
        PictureError,
        PlottingUnavailable,
        check_picture_path,
        require_matplotlib,
    )

    try:
        require_matplotlib()
        return check_picture_path(value)
    except (PlottingUnavailable, PictureError) as exc:
        raise _UsageError(option, str(exc)) from None


def _draw_solution(case: Case, u: np.ndarray, picture: Path) -> Path:
    from kronpde.plotting import save_field_picture

    return save_field_picture(picture, case.grid.nodes, u, name="u", title=case.path.name)


def run_converge(args: argparse.Namespace) -> int:
    """``kronpde converge``: the case on refined grids, errors against [exact], orders."""
    from kronpde import verify
    from kronpde.io.case import MAX_NODES, load_case

    case = load_case(args.case)
    method, rtol, maxiter = _apply_overrides(case, args)
    verify.require_exact(case)
    if args.levels < 2:
        raise _UsageError(
            "--levels", f"must be at least 2 (an order needs two grids), got {args.levels}"
        )
    finest = [c * 2 ** (args.levels - 1) for c in case.cells]
    if math.prod(c + 1 for c in finest) > MAX_NODES:
        raise _UsageError(
            "--levels", f"{args.levels} levels refine the grid to {finest} cells: too many nodes"
        )
    picture = _picture_path("--plot", args.plot)
    out = None if args.quiet else sys.stdout
    if out is not None:
        print(f"case       {args.case}", *_describe_grid(case), sep="\n", file=out)
        print(f"solver     method {method}, rtol {rtol:g}", file=out)
        print(*verify.convergence_header(), sep="\n", file=out, flush=True)
    rows: list[str] = []

    def show(level: verify.Level) -> None:
        rows.append(verify.convergence_row(len(rows), level))
        if out is not None:
            print(rows[-1], file=out, flush=True)

    study = verify.converge(
        case, args.levels, method=method, rtol=rtol, maxiter=maxiter, on_level=show
    )
    drawn = None
    if picture is not None and study.levels:
        from kronpde.plotting import save_convergence_picture

        h = [lv.h for lv in study.levels]
        errors = {k: [getattr(lv, f"error_{k}") for lv in study.levels] for k in ("max", "rms")}
        drawn = save_convergence_picture(
            picture, h, errors, title=f"{case.path.name}: grid convergence"
        )
    if out is not None:
        fit = ["-" if v is None else f"{v:.3f}" for v in (study.order_max, study.order_rms)]
        print(
            f"order      max {fit[0]}, rms {fit[1]} (least-squares slope over all levels)", file=out
        )
        print("error      u - [exact] u over all nodes", file=out)
        if drawn is not None:
            print(f"picture    {drawn}", file=out)
    if not study.converged:
        message = study.levels[-1].message.rstrip(".") or "the solver did not reach its tolerance"
        print(f"kronpde: {args.case}: level {len(rows) - 1}: {message}", file=sys.stderr)
    if args.json:
        record = {"case": str(args.case), "dimension": case.dimension, **study.to_dict()}
        record["plot"] = None if drawn is None else str(drawn)
        print(json.dumps(record, allow_nan=False))
    sys.stdout.flush()
    return EXIT_OK if study.converged else EXIT_NOT_CONVERGED


def run_compare(args: argparse.Namespace) -> int:
    """``kronpde compare``: every method on one case against the fastdiag reference."""
    from kronpde import verify
    from kronpde.io.case import load_case

    case = load_case(args.case)
    _, rtol, maxiter = _apply_overrides(case, args)
    picture = _picture_path("--plot", args.plot)
    comparison = verify.compare_methods(case, rtol=rtol, maxiter=maxiter)
    drawn = None
    if picture is not None:
        from kronpde.plotting import save_residual_picture

        histories = {r.method: r.report.residual_norms for r in comparison.runs if r.iterative}
        drawn = save_residual_picture(picture, histories, title=f"{case.path.name}: residuals")
    if not args.quiet:
        lines = [f"case       {args.case}", *_describe_grid(case)]
        lines += [f"solver     rtol {rtol:g} (iterative methods)", "", *comparison.table()]
        if drawn is not None:
            lines.append(f"picture    {drawn}")
        print("\n".join(lines))
    for run in comparison.runs:
        if run.report is not None and not run.report.converged:
            print(f"kronpde: {args.case}: {run.report.message.rstrip('.')}", file=sys.stderr)
    if args.json:
        record = {"case": str(args.case), "unknowns": case.problem.size, **comparison.to_dict()}
        record["plot"] = None if drawn is None else str(drawn)
        print(json.dumps(record, allow_nan=False))
    sys.stdout.flush()
    return EXIT_OK if comparison.converged else EXIT_NOT_CONVERGED


def run_plot(args: argparse.Namespace) -> int:
    """``kronpde plot``: draw one field of a result file."""
    from kronpde.io.result import read_result
    from kronpde.plotting import save_field_picture

    if args.dpi is not None and not 10 <= args.dpi <= 1000:
        raise _UsageError("--dpi", f"must be between 10 and 1000, got {args.dpi}")
    output = args.output if args.output is not None else str(Path(args.case).with_suffix(".png"))
    picture = _picture_path("-o", output)
    result = read_result(args.case)
    if args.field not in result.fields:
        raise _UsageError(
            "--field",
            f"{args.case} has the fields {', '.join(result.fields) or '(none)'}; "
            f"got {args.field!r}",
        )
    drawn = save_field_picture(
        picture,
        result.nodes,
        result.fields[args.field],
        name=args.field,
        axis=args.axis,
        at=args.at,
        title=Path(args.case).name,
        dpi=args.dpi,
    )
    if not args.quiet:
        print(f"picture    {drawn} ({args.field}, {result.dimension}-D, from {args.case})")
    return EXIT_OK


# --------------------------------------------------------------------------- entry


def _one_line(text: str) -> str:
    return " ".join(text.split("\n"))


def _launcher_rank() -> int:
    """The MPI rank the launcher (mpirun) gave this process; 0 outside MPI."""
    from kronpde.petsc import launcher_rank

    return launcher_rank()


def _error(message: str) -> None:
    if _launcher_rank() == 0:  # under mpirun every rank meets the same bad input: say it once
        print(f"kronpde: error: {_one_line(message)}", file=sys.stderr)


def _parse(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """``parser.parse_args``; on MPI ranks other than 0 its messages are not printed."""
    if _launcher_rank() == 0:
        return parser.parse_args(argv)
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the ``kronpde`` command and return its exit code.

    Parameters
    ----------
    argv : list of str, optional
        The arguments without the program name; ``sys.argv[1:]`` by default.

    Returns
    -------
    int
        0 solved (or valid, for ``check``); 1 not converged; 2 invalid input;
        3 an internal error (a bug).
    """
    parser = build_parser()
    try:
        args = _parse(parser, argv)
    except SystemExit as exc:  # --help, --version, or a usage error (argparse printed it)
        code = exc.code
        return code if isinstance(code, int) else (EXIT_OK if code is None else EXIT_INVALID)
    try:
        return args.handler(args)
    except _UsageError as exc:
        _error(str(exc))
    except MemoryError:
        _error(f"{args.case}: [grid] cells: not enough memory for a grid this large")
    except SolverError as exc:  # the method cannot run here (too large, bad set-up)
        key = "--method" if getattr(args, "method", None) else f"{args.case}: [solver] method"
        if getattr(args, "backend", "serial") == "petsc":
            key = f"{args.case}: --backend petsc"
        _error(f"{key}: {exc}")
    except KronpdeError as exc:  # CaseError, OutputError, GridError, ...
        message = str(exc)
        if not isinstance(exc, CaseError):
            message = f"{args.case}: {message}"
        _error(message)
    except KeyboardInterrupt:
        print("kronpde: interrupted; nothing written", file=sys.stderr)
        return 130
    except Exception as exc:  # one line instead of a traceback
        if os.environ.get("KRONPDE_DEBUG"):
            raise
        print(
            f"kronpde: internal error (a bug in kronpde, please report it; KRONPDE_DEBUG=1 "
            f"shows the traceback): {type(exc).__name__}: {_one_line(str(exc))}",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
    return EXIT_INVALID


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
