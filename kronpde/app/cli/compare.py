"""``kronpde compare CASE.toml``: every method on one case against the fastdiag reference."""

from __future__ import annotations

import argparse
import json
import sys

from kronpde.app.cli.common import (
    EXIT_NOT_CONVERGED,
    EXIT_OK,
    add_json_quiet,
    add_plot_option,
    add_solver_overrides,
    describe_grid,
    describe_rtol,
    picture_path,
    solver_settings,
)

HELP = "run every solver method on a case and compare iterations, times and solutions"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``kronpde compare``."""
    parser.add_argument("case", metavar="CASE.toml", help="the case file")
    add_solver_overrides(parser, method=False)
    add_json_quiet(parser, "print no table (errors and --json still print)")
    add_plot_option(parser, "the residual histories of the iterative methods")


def run(args: argparse.Namespace) -> int:
    """Run every method and print the comparison."""
    import kronpde.app.studies as verify
    from kronpde.io.case import load_case

    case = load_case(args.case)
    settings = solver_settings(case, args)
    picture = picture_path("--plot", args.plot)
    comparison = verify.compare_methods(case, rtol=settings.rtol, maxiter=settings.maxiter)
    drawn = None
    if picture is not None:
        from kronpde.app.pictures import save_residual_picture

        histories = {r.method: r.report.residual_norms for r in comparison.runs if r.iterative}
        drawn = save_residual_picture(picture, histories, title=f"{case.path.name}: residuals")
    if not args.quiet:
        lines = [f"case       {args.case}", *describe_grid(case)]
        rtol = describe_rtol(settings.rtol)
        lines += [f"solver     rtol {rtol} (iterative methods)", "", *comparison.table()]
        if drawn is not None:
            lines.append(f"picture    {drawn}")
        print("\n".join(lines))
    for run_ in comparison.runs:
        if run_.report is not None and not run_.report.converged:
            print(f"kronpde: {args.case}: {run_.report.message.rstrip('.')}", file=sys.stderr)
    if args.json:
        record = {"case": str(args.case), "unknowns": case.problem.size, **comparison.to_dict()}
        record["plot"] = None if drawn is None else str(drawn)
        print(json.dumps(record, allow_nan=False))
    sys.stdout.flush()
    return EXIT_OK if comparison.converged else EXIT_NOT_CONVERGED
