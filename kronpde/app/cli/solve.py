"""``kronpde solve CASE.toml``: read, check, solve, report, write."""

from __future__ import annotations

import argparse
import json
import sys

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

HELP = "solve a case and write the result"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``kronpde solve``."""
    add_case_argument(parser)
    add_solver_overrides(parser)
    add_json_quiet(parser, "print no summary and no progress (errors and --json still print)")
    add_plot_option(parser, "u (3-D: the middle z slice) after the solve")
    add_backend_arguments(parser)


def run(args: argparse.Namespace) -> int:
    """Validate, solve, report, write; the exit code of ``case-format.md``."""
    import numpy as np

    from kronpde.app.fields import CaseFields, error_norms, measured_over, output_geometry
    from kronpde.io.case import load_case
    from kronpde.io.vtk import write_result
    from kronpde.solvers import solve
    from kronpde.solvers.result import ProgressLines

    # under --backend petsc each rank evaluates the equation's data on its own part only,
    # and an error found on one rank's part is raised on every rank (Case.model_error)
    case = load_case(args.case, check=args.backend != "petsc")
    settings = solver_settings(case, args)
    method, petsc_options = backend_options(args, settings.method, case.problem)
    path, key = output_path(case, args.output)
    check_writable(case, path, key)  # before the solve, which may be long
    picture = picture_path("--plot", args.plot)
    # pieces on several ranks need a structured format; any other is gathered on rank 0
    pieces = path is None or path.suffix.lower() in PARALLEL_FORMATS
    several = petsc_options is not None and launcher_ranks() > 1
    # [exact] u and f, evaluated (and checked) before the solve; a PETSc run on several
    # ranks evaluates each rank's piece only (kronpde.app.cli.parallel)
    fields = None if several else CaseFields.of(case)
    problem = case.problem
    quiet = args.quiet

    monitor = ProgressLines(None if quiet else sys.stderr)
    ranks = 1
    if petsc_options is None:
        # estimate=True: the discretisation error is estimated (from [exact], else by
        # Richardson) with a numeric rtol too, so that the summary can say when the
        # algebraic error exceeds it
        solution = solve(
            problem,
            method,
            rtol=settings.rtol,
            maxiter=settings.maxiter,
            monitor=monitor,
            exact=fields.exact,
            estimate=True,
        )
    else:  # every rank solves its part
        from kronpde.errors import DataError, GridError
        from kronpde.solvers import prepare

        gather = "none" if pieces else "root"
        try:
            prepared = prepare(
                problem, method, backend="petsc", options={**petsc_options, "gather": gather}
            )
        except (DataError, GridError) as exc:  # the same error on every rank
            raise case.model_error(exc) from None
        ranks = prepared.ranks
        if ranks > 1 and picture is not None and path is None:
            msg = "--plot"
            raise UsageError(msg, f"on {ranks} ranks draws the written result: give -o")
        if ranks > 1:
            fields = piece_fields(case, prepared)
        # the same estimate as the serial run: [exact] on each rank's unknowns, else
        # Richardson against the grid with half the cells, solved on the same ranks
        exact = fields.exact if ranks == 1 else case.exact
        solution = prepared.solve(
            rtol=settings.rtol, maxiter=settings.maxiter, exact=exact, estimate=True
        )
    report = solution.report
    warnings = list(report.warnings)
    if ranks > 1 and pieces:  # pieces and an index; the field is never gathered
        written, errors, names = write_parallel(
            case, prepared, solution, path, report.converged, fields
        )
        if solution.rank != 0:
            return EXIT_OK if report.converged else EXIT_NOT_CONVERGED
        drawn = None
        if picture is not None and written is not None:
            from kronpde.app.pictures import save_field_picture
            from kronpde.io.result import read_result

            result = read_result(written)
            drawn = save_field_picture(
                picture, result.nodes, result.fields["u"], name="u", title=case.path.name
            )
    else:
        if ranks > 1:  # gathered on rank 0, which writes as a serial run does
            if solution.rank != 0:
                return EXIT_OK if report.converged else EXIT_NOT_CONVERGED
            fields = CaseFields.of(case)
            x = solution.x
        else:
            x = solution.local if petsc_options is not None else solution.x
        if petsc_options is None and solution.u is not None:
            u = solution.u  # the serial solve's field already: no second copy of the grid's size
        else:
            u = problem.to_nodes(np.asarray(x, dtype=float).reshape(-1))
        data = fields.point_data(u)
        names = list(data)
        errors = error_norms(data)  # over all points of the output, Dirichlet nodes included
        axes, as_cells = output_geometry(case.grid)  # cell data on a cell-centred grid
        written = None
        if report.converged and path is not None:
            if as_cells:
                written = write_result(path, axes, cell_data=data)
            else:
                written = write_result(path, axes, data)
        drawn = None
        if report.converged and picture is not None:
            from kronpde.app.pictures import save_field_picture

            drawn = save_field_picture(picture, axes, u, name="u", title=case.path.name)

    out = sys.stdout
    if not quiet:
        lines = [f"case       {args.case}", *describe_grid(case)]
        how = report.method
        if report.requested == "auto":
            how += f" ({report.reason or 'chosen by auto'})"
        lines.append(f"method     {how}")
        if petsc_options is not None:
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
        bound = report.algebraic_error_bound
        accuracy = (
            "algebraic error not bounded"
            if bound is None
            else f"algebraic error <= {bound:.3e} (certified, ||u - u_h||_W)"
        )
        if report.discretisation_error is not None:
            accuracy += (
                f"; discretisation error ~ {report.discretisation_error:.3e} "
                f"({report.discretisation_estimate})"
            )
        lines.append(f"accuracy   {accuracy}")
        lines.extend(f"warning    {w}" for w in warnings)
        lines.append(
            f"time       setup {report.setup_seconds:.3f} s, solve {report.solve_seconds:.3f} s"
        )
        if errors:
            lines.append(
                f"error      max {errors['error_max']:.3e}, rms {errors['error_rms']:.3e} "
                f"(u - [exact] u over {measured_over(case.grid)})"
            )
        if written is not None:
            lines.append(f"output     {written} ({', '.join(names)})")
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
            "centering": list(case.grid.centering),
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
            "algebraic_error_bound": report.algebraic_error_bound,
            "warnings": list(warnings),
            "rtol": settings.rtol,
            "discretisation_error": report.discretisation_error,
            "discretisation_estimate": report.discretisation_estimate,
        }
        if petsc_options is not None:
            record.update({k: report.options[k] for k in ("backend", "pc", "ranks")})
        record = {k: json_value(v) for k, v in record.items()}
        print(json.dumps(record, allow_nan=False), file=out)
    out.flush()
    return EXIT_OK if report.converged else EXIT_NOT_CONVERGED
