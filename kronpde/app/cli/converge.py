"""``kronpde converge CASE.toml``: the case on refined grids, errors against ``[exact]``, orders."""

from __future__ import annotations

import argparse
import json
import math
import sys

from kronpde.app.cli.common import (
    EXIT_NOT_CONVERGED,
    EXIT_OK,
    UsageError,
    add_json_quiet,
    add_plot_option,
    add_solver_overrides,
    describe_grid,
    describe_rtol,
    picture_path,
    solver_settings,
)

HELP = "solve a case with [exact] on refined grids and report the errors and observed orders"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``kronpde converge``."""
    parser.add_argument("case", metavar="CASE.toml", help="the case file")
    add_solver_overrides(parser)
    add_json_quiet(parser, "print no table (errors and --json still print)")
    parser.add_argument(
        "--levels",
        metavar="L",
        type=int,
        default=4,
        help="number of grids: the case's, then cells x 2, x 4, ... (default 4, at least 2)",
    )
    add_plot_option(
        parser, "max and RMS error against h (log-log, with an h^2 or, at order 4, h^4 line)"
    )


def run(args: argparse.Namespace) -> int:
    """Run the convergence study and print it."""
    import kronpde.app.studies as verify
    from kronpde.geometry.grid import MAX_NODES
    from kronpde.io.case import load_case

    case = load_case(args.case)
    settings = solver_settings(case, args)
    verify.require_exact(case)
    if args.levels < 2:
        subject = "--levels"
        msg = f"must be at least 2 (an order needs two grids), got {args.levels}"
        raise UsageError(subject, msg)
    finest = [c * 2 ** (args.levels - 1) for c in case.cells]
    if math.prod(c + 1 for c in finest) > MAX_NODES:
        subject = "--levels"
        msg = f"{args.levels} levels refine the grid to {finest} cells: too many nodes"
        raise UsageError(subject, msg)
    picture = picture_path("--plot", args.plot)
    out = None if args.quiet else sys.stdout
    if out is not None:
        print(f"case       {args.case}", *describe_grid(case), sep="\n", file=out)
        print(f"solver     method {settings.method}, rtol {describe_rtol(settings.rtol)}", file=out)
        print(*verify.convergence_header(), sep="\n", file=out, flush=True)
    rows: list[str] = []

    def show(level: verify.Level) -> None:
        rows.append(verify.convergence_row(len(rows), level))
        if out is not None:
            print(rows[-1], file=out, flush=True)

    study = verify.converge(
        case,
        args.levels,
        method=settings.method,
        rtol=settings.rtol,
        maxiter=settings.maxiter,
        on_level=show,
    )
    drawn = None
    if picture is not None and study.levels:
        from kronpde.app.pictures import save_convergence_picture

        h = [lv.h for lv in study.levels]
        errors = {k: [getattr(lv, f"error_{k}") for lv in study.levels] for k in ("max", "rms")}
        drawn = save_convergence_picture(
            picture,
            h,
            errors,
            title=f"{case.path.name}: grid convergence",
            order=case.problem.order,
        )
    if out is not None:
        fit = ["-" if v is None else f"{v:.3f}" for v in (study.order_max, study.order_rms)]
        print(
            f"order      max {fit[0]}, rms {fit[1]} (least-squares slope over all levels)", file=out
        )
        from kronpde.app.fields import measured_over

        print(f"error      u - [exact] u over {measured_over(case.grid)}", file=out)
        if drawn is not None:
            print(f"picture    {drawn}", file=out)
    if not study.converged:
        message = study.levels[-1].message.rstrip(".") or "the solver did not reach its tolerance"
        print(f"kronpde: {args.case}: level {len(rows) - 1}: {message}", file=sys.stderr)
    if args.json:
        record = {
            "case": str(args.case),
            "dimension": case.dimension,
            "scheme_order": case.problem.order,
            **study.to_dict(),
        }
        record["plot"] = None if drawn is None else str(drawn)
        print(json.dumps(record, allow_nan=False))
    sys.stdout.flush()
    return EXIT_OK if study.converged else EXIT_NOT_CONVERGED
