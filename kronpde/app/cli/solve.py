"""``kronpde solve CASE.toml``: read, check, solve, report, write.

:func:`run` reads the case and its options, then calls one function per step:
:func:`solve_case` (serial, or PETSc on one or several ranks), :func:`write_output` (the
result file and the picture), :func:`summary_lines` and :func:`json_record`.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kronpde.app.cli.backend import add_backend_arguments, backend_options, launcher_ranks
from kronpde.app.cli.common import (
    EXIT_NOT_CONVERGED,
    EXIT_OK,
    UsageError,
    add_case_argument,
    add_json_quiet,
    add_plot_option,
    add_solver_overrides,
    check_writable,
    describe_grid,
    json_value,
    output_path,
    picture_path,
    solver_settings,
)
from kronpde.app.cli.parallel import PARALLEL_FORMATS, piece_fields, write_parallel

if TYPE_CHECKING:
    from kronpde.io.case import Case
    from kronpde.problem.settings import SolverSettings

HELP = "solve a case and write the result"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``kronpde solve``."""
    add_case_argument(parser)
    add_solver_overrides(parser)
    parser.add_argument(
        "--estimate",
        action="store_true",
        help="estimate the discretisation error with a numeric rtol too (rtol auto and "
        "[exact] always do)",
    )
    add_json_quiet(parser, "print no summary and no progress (errors and --json still print)")
    add_plot_option(parser, "u (3-D: the middle z slice) after the solve")
    parser.add_argument(
        "--balance",
        action="store_true",
        help="also check the fluxes' balance sum q + c int u = int f (summary line, JSON "
        "flux_imbalance; costs f on every point and two operator applies)",
    )
    add_backend_arguments(parser)


@dataclass
class SolveRun:
    """What ``kronpde solve`` settled before the solve: the case, its settings, where to write.

    Attributes
    ----------
    args : argparse.Namespace
        The command line.
    case : Case
        The case read.
    settings : SolverSettings
        ``[solver]`` with the command line's overrides.
    method : str
        The method to run.
    petsc_options : dict or None
        The PETSc backend's options, or None for a serial solve.
    path : Path or None
        The output file, or None.
    picture : Path or None
        The ``--plot`` picture, or None.
    """

    args: argparse.Namespace
    case: Case
    settings: SolverSettings
    method: str
    petsc_options: dict[str, Any] | None
    path: Path | None
    picture: Path | None

    @property
    def pieces(self) -> bool:
        """Whether several ranks write pieces (a structured format); any other is gathered."""
        return self.path is None or self.path.suffix.lower() in PARALLEL_FORMATS


@dataclass
class Solved:
    """The solve's outcome on this rank.

    Attributes
    ----------
    solution : Any
        The solution (serial ``Solution`` or this rank's ``PetscSolution``).
    prepared : Any
        The PETSc solver, or None for a serial solve.
    fields : Any
        ``CaseFields`` (u, f, [exact]) of the whole grid or this rank's piece, or None.
    ranks : int
        The ranks that solved.
    balance : FluxBalance or None
        The net outward flux through each face (:func:`face_balance`), or None.
    """

    solution: Any
    prepared: Any
    fields: Any
    ranks: int
    balance: Any = None


@dataclass
class Written:
    """What :func:`write_output` wrote and measured.

    Attributes
    ----------
    written : Path or None
        The result file (or the pieces' index), or None.
    errors : dict
        ``error_max`` and ``error_rms`` (with ``[exact]``), else empty.
    names : list of str
        The fields written.
    drawn : Path or None
        The picture, or None.
    """

    written: Path | None
    errors: dict[str, float]
    names: list[str]
    drawn: Path | None


def run(args: argparse.Namespace) -> int:
    """Validate, solve, report, write; the exit code of ``case-format.md``."""
    from kronpde.app.cli.memory import load_fitting

    # under --backend petsc each rank evaluates the equation's data on its own part only,
    # and an error found on one rank's part is raised on every rank (Case.model_error);
    # a serial solve that cannot fit the memory available exits 2 before the data exist
    case = load_fitting(args.case, args.method, check=args.backend != "petsc")
    settings = solver_settings(case, args)
    if getattr(case.problem, "is_complex", False):  # a complex case: its own run
        from kronpde.app.cli.solve_complex import run_complex

        return run_complex(args, case, settings)
    method, petsc_options = backend_options(args, settings.method, case.problem)
    if petsc_options is not None and {"grad_u", "flux"} & set(case.fields):
        subject = "[output] fields"
        msg = "grad_u and flux are written by serial runs only, not with --backend petsc"
        raise UsageError(subject, msg)
    path, key = output_path(case, args.output)
    check_writable(case, path, key)  # before the solve, which may be long
    picture = picture_path("--plot", args.plot)
    plan = SolveRun(args, case, settings, method, petsc_options, path, picture)

    load_kernels_for(plan)  # before the solve's timer: loading is no solve time
    try:
        solved = solve_case(plan)
    finally:
        from kronpde.operators.kernels import end_numpy_only

        end_numpy_only()  # this process may run another case (tests, scripts)
    solved.balance = face_balance(plan, solved)
    report = solved.solution.report
    warnings = list(report.warnings)
    mine = getattr(solved.solution, "rank", 0) == 0  # once, from rank 0 of a PETSc run
    for w in warnings * mine:  # incompatible data of a singular problem: on stderr too, --quiet
        if "compatible" in w and "projected" in w or w.startswith("INCOMPATIBLE"):
            print(f"kronpde: {args.case}: warning: {w}", file=sys.stderr)
    code = EXIT_OK if report.converged else EXIT_NOT_CONVERGED
    written = write_output(plan, solved)
    if written is None:  # a rank other than 0: rank 0 reports
        return code

    out = sys.stdout
    if not args.quiet:
        print("\n".join(summary_lines(plan, solved, written, warnings)), file=out)
    if not report.converged:
        message = report.message or "the solver did not reach its tolerance"
        print(f"kronpde: {args.case}: {message.rstrip('.')}; nothing written", file=sys.stderr)
    if args.json:
        record = json_record(plan, solved, written, warnings)
        print(json.dumps(record, allow_nan=False), file=out)
    out.flush()
    return code


#: The compiled kernels an iterative serial solve uses, by the coefficient's kind.
RUN_KERNELS = {  # *_residual, variable_row_norm: the certificate (not compiled in the run)
    False: ("constant_apply", "dot", "new_direction", "update_xr", "constant_residual"),
    True: (
        "variable_apply",
        "dot",
        "new_direction",
        "update_xr",
        "update_xr_jacobi",
        "variable_residual",
        "variable_row_norm",
    ),
}


def load_kernels_for(plan: SolveRun) -> None:
    """Load the compiled kernels an iterative serial solve of this size uses, before it starts.

    From numba's cache when it holds them; a kernel it lacks (the first run
    after installing) is compiled in a separate process for later runs while
    this one runs on NumPy: at 64³ under load the NumPy path is about as fast,
    and compiling here would cost several seconds (``docs/kernels.md``).  Exact
    methods apply their operator a few times only and load nothing.
    """
    from kronpde.operators.kernels import MIN_COMPILED_SIZE, load_kernels
    from kronpde.solvers.registry import choose

    problem = plan.case.problem
    if plan.petsc_options is not None or problem.size < MIN_COMPILED_SIZE:
        return
    cls, _ = choose(problem, plan.method)
    if not cls.iterative or cls.refusal(problem) is not None:
        return
    variable = bool(getattr(problem, "variable_coefficient", False))
    load_kernels(RUN_KERNELS[variable] + cls.run_kernels, background=True)


def solve_case(plan: SolveRun) -> Solved:
    """Solve serially, or with PETSc on this rank's part.

    Parameters
    ----------
    plan : SolveRun
        The case and its settings.

    Returns
    -------
    Solved
        The solution, the PETSc solver (or None) and the fields the output needs.
    """
    from kronpde.app.fields import CaseFields
    from kronpde.solvers import solve
    from kronpde.solvers.result import ProgressLines

    case, settings = plan.case, plan.settings
    several = plan.petsc_options is not None and launcher_ranks() > 1
    # [exact] u and f, evaluated (and checked) before the solve; a PETSc run on several
    # ranks evaluates each rank's piece only (kronpde.app.cli.parallel)
    fields = None if several else CaseFields.of(case)
    monitor = ProgressLines(None if plan.args.quiet else sys.stderr)
    wanted = getattr(plan.args, "estimate", False) or case.exact is not None
    if plan.petsc_options is None:
        # the discretisation error is estimated with rtol auto, from [exact], or with
        # --estimate (then the summary can say when the algebraic error exceeds it)
        solution = solve(
            case.problem,
            plan.method,
            rtol=settings.rtol,
            maxiter=settings.maxiter,
            monitor=monitor,
            exact=fields.exact,
            estimate=True if wanted else None,
        )
        return Solved(solution, None, fields, 1)
    # every rank solves its part
    from kronpde.errors import DataError, GridError
    from kronpde.solvers import prepare

    gather = "none" if plan.pieces else "root"
    try:
        prepared = prepare(
            case.problem,
            plan.method,
            backend="petsc",
            options={**plan.petsc_options, "gather": gather},
        )
    except (DataError, GridError) as exc:  # the same error on every rank
        raise case.model_error(exc) from None
    ranks = prepared.ranks
    if ranks > 1 and plan.picture is not None and plan.path is None:
        subject = "--plot"
        msg = f"on {ranks} ranks draws the written result: give -o"
        raise UsageError(subject, msg)
    if ranks > 1:
        fields = piece_fields(case, prepared)
    # the same estimate as the serial run: [exact] on each rank's unknowns, else
    # Richardson against the grid with half the cells, solved on the same ranks
    exact = fields.exact if ranks == 1 else case.exact
    solution = prepared.solve(
        rtol=settings.rtol, maxiter=settings.maxiter, exact=exact, estimate=True if wanted else None
    )
    return Solved(solution, prepared, fields, ranks)


def face_balance(plan: SolveRun, solved: Solved) -> Any:
    """Return the net outward flux through each face of a serial second-order solve, or None.

    None for a fourth-order problem (:func:`kronpde.problem.fluxes.face_fluxes`
    refuses it: the summary says so).  A PETSc run computes them over its ranks
    (:func:`kronpde.solvers.petsc.fluxes.petsc_face_fluxes`, collective).
    The fluxes read the two outer layers of points (20-40 ms at 127³); their
    balance, with ``--balance``, needs ``f`` everywhere and two operator applies.
    """
    from kronpde.errors import DataError
    from kronpde.problem.fluxes import face_fluxes

    problem = plan.case.problem
    if problem.order != 2:
        return None
    if not problem.discretisation.symmetric:  # second/first: no -k du/dn
        return None
    solution = solved.solution
    u = solution.u if solution.u is not None else solution.x
    balance = getattr(plan.args, "balance", False)
    try:
        if plan.petsc_options is not None:  # every rank, from its own piece (box faces only)
            from kronpde.solvers.petsc.fluxes import petsc_face_fluxes

            if problem.grid.coordinate_system is not None:
                return None
            if problem.discretisation.domain_points() is not None:
                return None

            return petsc_face_fluxes(solved.prepared, solution, balance=balance)
        return face_fluxes(problem, u, balance=balance)
    except DataError:  # k not finite on a Dirichlet face (BLKTRI's t/s at s = 0): no flux there
        return None


def write_output(plan: SolveRun, solved: Solved) -> Written | None:
    """Write the result (when the solve converged) and draw the picture.

    Parameters
    ----------
    plan : SolveRun
        The case, the output file and the picture.
    solved : Solved
        The solve's outcome.

    Returns
    -------
    Written or None
        What was written; None on a rank other than 0, which reports nothing.
    """
    if solved.ranks > 1 and plan.pieces:  # pieces and an index; the field is never gathered
        return _write_pieces(plan, solved)
    if solved.ranks > 1 and solved.solution.rank != 0:  # gathered on rank 0
        return None
    return _write_whole(plan, solved)


def _write_pieces(plan: SolveRun, solved: Solved) -> Written | None:
    """Every rank writes its piece; rank 0 the index and the picture."""
    solution = solved.solution
    written, errors, names = write_parallel(
        plan.case, solved.prepared, solution, plan.path, solution.report.converged, solved.fields
    )
    if solution.rank != 0:
        return None
    drawn = None
    if plan.picture is not None and written is not None:
        from kronpde.app.pictures import save_field_picture
        from kronpde.io.result import read_result

        result = read_result(written)
        drawn = save_field_picture(
            plan.picture, result.nodes, result.fields["u"], name="u", title=plan.case.path.name
        )
    return Written(written, errors, names, drawn)


def _write_whole(plan: SolveRun, solved: Solved) -> Written:
    """Write the whole field as a serial run does (on rank 0 of a gathered PETSc run)."""
    import numpy as np

    from kronpde.app.fields import CaseFields, error_norms, output_geometry
    from kronpde.io.vtk import write_result

    case, solution = plan.case, solved.solution
    fields = solved.fields
    if solved.ranks > 1:  # gathered on rank 0, which writes as a serial run does
        fields = CaseFields.of(case)
        x = solution.x
    else:
        x = solution.local if plan.petsc_options is not None else solution.x
    if plan.petsc_options is None and solution.u is not None:
        u = solution.u  # the serial solve's field already: no second copy of the grid's size
    else:
        u = case.problem.to_nodes(np.asarray(x, dtype=float).reshape(-1))
    data = fields.point_data(u)
    names = list(data)
    errors = error_norms(data)  # over all points of the output, Dirichlet nodes included
    axes, as_cells = output_geometry(case.grid)  # cell data on a cell-centred grid
    converged = solution.report.converged
    written = None
    points = None  # a curvilinear grid's points at their Cartesian positions (.vts, meshio)
    if case.grid.coordinate_system is not None:
        points = case.grid.cartesian_points(nodes=as_cells)
    if converged and plan.path is not None:
        if as_cells:
            written = write_result(plan.path, axes, cell_data=data, points=points)
        else:
            written = write_result(plan.path, axes, data, points=points)
    drawn = None
    if converged and plan.picture is not None:
        from kronpde.app.pictures import save_field_picture

        if points is not None:  # a curvilinear grid: drawn in its true shape
            from kronpde.app.pictures import save_surface_picture

            drawn = save_surface_picture(plan.picture, points, u, name="u", title=case.path.name)
        else:
            drawn = save_field_picture(plan.picture, axes, u, name="u", title=case.path.name)
    return Written(written, errors, names, drawn)


def summary_lines(
    plan: SolveRun, solved: Solved, written: Written, warnings: list[str]
) -> list[str]:
    """Return the summary ``kronpde solve`` prints (unless ``--quiet``).

    Parameters
    ----------
    plan : SolveRun
        The case and its settings.
    solved : Solved
        The solve's outcome.
    written : Written
        What was written.
    warnings : list of str
        The solve's warnings.

    Returns
    -------
    list of str
        One line each.
    """
    from kronpde.app.fields import measured_over

    case, report = plan.case, solved.solution.report
    lines = [f"case       {plan.args.case}", *describe_grid(case)]
    how = report.method
    if report.requested == "auto":
        how += f" ({report.reason or 'chosen by auto'})"
    lines.append(f"method     {how}")
    if plan.petsc_options is not None:
        o = report.options
        how = f"KSP {o['ksp_type']}, PC {o['pc_type']}"
        if "layout" in o:  # the distributed exact solve
            how = f"exact fast solve, {o['layout']}"
        lines.append(f"backend    petsc, {o['ranks']} rank(s): {how}")
    status = "converged" if report.converged else "NOT converged"
    lines.append(
        f"result     {status}, {report.iterations} iteration(s), relative residual "
        f"{report.relative_residual:.3e}"
    )
    if case.problem.singular:
        lines.append(
            f"projected  {report.projected_norm:.3e}: relative size of the incompatible part "
            "of the data, removed (singular problem; u has zero mean)"
        )
    lines.append(f"accuracy   {_accuracy(report)}")
    curvilinear = plan.case.grid.coordinate_system is not None
    embedded = case.problem.discretisation.domain_points() is not None
    petsc = plan.petsc_options is not None
    lines.extend(_flux_lines(solved.balance, petsc, curvilinear, embedded, case.problem))
    lines.extend(f"warning    {w}" for w in warnings)
    lines.append(
        f"time       setup {report.setup_seconds:.3f} s, solve {report.solve_seconds:.3f} s"
    )
    errors = written.errors
    if errors:
        lines.append(
            f"error      max {errors['error_max']:.3e}, rms {errors['error_rms']:.3e} "
            f"(u - [exact] u over "
            f"{'the domain' + chr(39) + 's points' if embedded else measured_over(case.grid)})"
        )
    if written.written is not None:
        lines.append(f"output     {written.written} ({', '.join(written.names)})")
    elif plan.path is None:
        lines.append("output     none (no [output] file and no -o)")
    if written.drawn is not None:
        lines.append(f"picture    {written.drawn}")
    return lines


def _flux_lines(
    balance: Any,
    petsc: bool,
    curvilinear: bool = False,
    embedded: bool = False,
    problem: Any = None,
) -> list[str]:
    """Return the summary's ``fluxes`` lines: q per face and the balance, or why there are none."""
    if balance is None:
        why = "order 4 (fluxes follow the order-2 scheme)"
        if petsc and (curvilinear or embedded):  # their own faces: serial runs only
            why = "the PETSc backend on " + (
                "a curvilinear grid" if curvilinear else "an embedded boundary"
            )
        if not getattr(getattr(problem, "discretisation", None), "symmetric", True):
            why = "the non-divergence form (it has no fluxes -k du/dn)"
        return [f"fluxes     not computed for {why}"]
    faces = ", ".join(f"{name} {q:.4e}" for name, q in balance.fluxes.items())
    lines = [f"fluxes     {faces} (net outward, -k du/dn over each face)"]
    if balance.imbalance is not None:
        lines.append(
            f"balance    sum q + c int u - int f = {balance.imbalance:.3e} "
            f"(int f = {balance.source:.4e}; -weighted residual sum {-balance.residual:.3e})"
        )
    return lines


def _accuracy(report: Any) -> str:
    """Return the summary's accuracy: the certified bound and the discretisation error."""
    bound = report.algebraic_error_bound
    accuracy = (
        "algebraic error not bounded"
        if bound is None
        else f"algebraic error <= {bound:.3e} (certified, ||u - u_h||_W)"
    )
    guess = getattr(report, "algebraic_error_estimate", None)
    if bound is None and guess is not None:
        accuracy += f", ~ {guess:.3e} estimated (not certified)"
    if report.discretisation_error is not None:
        accuracy += (
            f"; discretisation error ~ {report.discretisation_error:.3e} "
            f"({report.discretisation_estimate})"
        )
    return accuracy


def json_record(
    plan: SolveRun, solved: Solved, written: Written, warnings: list[str]
) -> dict[str, Any]:
    """Return the ``--json`` record of ``kronpde solve`` (values made JSON-safe).

    Parameters
    ----------
    plan : SolveRun
        The case and its settings.
    solved : Solved
        The solve's outcome.
    written : Written
        What was written.
    warnings : list of str
        The solve's warnings.

    Returns
    -------
    dict
        The record, one key per reported value.
    """
    case, report = plan.case, solved.solution.report
    out = written.written
    record = {
        "case": str(plan.args.case),
        "dimension": case.dimension,
        "cells": list(case.cells),
        "centering": list(case.grid.centering),
        "unknowns": case.problem.domain_size,
        "method": report.method,
        "requested": report.requested,
        "reason": report.reason,
        "converged": report.converged,
        "iterations": report.iterations,
        "relative_residual": report.relative_residual,
        "projected_norm": report.projected_norm,
        "setup_seconds": report.setup_seconds,
        "solve_seconds": report.solve_seconds,
        "estimate_seconds": getattr(report, "estimate_seconds", 0.0),
        "output": None if out is None else str(out),
        **written.errors,
        "algebraic_error_bound": report.algebraic_error_bound,
        "algebraic_error_estimate": getattr(report, "algebraic_error_estimate", None),
        "eigenvalue_estimate": getattr(report, "eigenvalue_estimate", None),
        "warnings": list(warnings),
        "rtol": plan.settings.rtol,
        "discretisation_error": report.discretisation_error,
        "discretisation_estimate": report.discretisation_estimate,
    }
    if plan.petsc_options is not None:
        keys = ("backend", "pc", "ranks", "decomposition", "process_grid")
        record.update({k: report.options[k] for k in keys if k in report.options})
    record = {k: json_value(v) for k, v in record.items()}
    balance = solved.balance  # None where not computed (order 4, PETSc)
    record["fluxes"] = (
        None if balance is None else {k: json_value(v) for k, v in balance.fluxes.items()}
    )
    if getattr(plan.args, "balance", False):
        record["flux_imbalance"] = None if balance is None else json_value(balance.imbalance)
    system = case.grid.coordinate_system
    if system is not None:  # a curvilinear grid (docs/curvilinear.md)
        record["coordinates"] = system.name
    return record
