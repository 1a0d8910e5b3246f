"""``kronpde check CASE.toml``: everything ``solve`` checks, without solving or writing."""

from __future__ import annotations

import argparse

from kronpde.app.cli.common import (
    EXIT_OK,
    add_case_argument,
    check_method,
    check_writable,
    describe_grid,
    describe_rtol,
    output_path,
)

HELP = "validate a case (expressions, boundary set-up, method, output folder) without solving"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``kronpde check``."""
    add_case_argument(parser)


def run(args: argparse.Namespace) -> int:
    """Validate everything, solve and write nothing.

    The method is asked whether it accepts the problem (``fastdiag`` refuses a
    variable coefficient, ``direct`` a grid whose factors would not fit the
    memory it may use): a refusal exits 2 naming ``[solver] method``, as
    ``solve`` would.  ``direct``'s default limit is half the memory this
    machine reports as available, so its verdict depends on the machine: the
    summary says so.
    """
    from kronpde.app.cli.memory import load_fitting
    from kronpde.app.fields import CaseFields
    from kronpde.errors import SolverError
    from kronpde.solvers import refusal
    from kronpde.solvers.memory import memory_summary

    case = load_fitting(args.case, None)
    check_method(case.method, "[solver] method", case)
    path, key = output_path(case, args.output)
    check_writable(case, path, key)
    fields = CaseFields.of(case)
    reason = refusal(case.problem, case.method)
    if reason is not None:
        raise SolverError(reason)
    lines = [f"{args.case}: valid", *describe_grid(case)]
    solver = f"method {case.method}, rtol {describe_rtol(case.rtol)}"
    if case.maxiter is not None:
        solver += f", maxiter {case.maxiter}"
    lines.append(f"solver     {solver}")
    lines.append(f"memory     {memory_summary(case.problem, case.method)}")
    if path is None:
        lines.append("output     none (no [output] file; use -o to name one)")
    else:
        names = list(case.fields) + (["u_exact", "error"] if fields.exact is not None else [])
        lines.append(f"output     {path} ({', '.join(names)}; the folder is writable)")
    if case.method == "direct":  # its memory limit is a share of what this machine has free
        from kronpde.solvers.direct import memory_verdict

        lines.append(f"direct     {memory_verdict(case.problem)}")
    if case.exact is not None:
        lines.append(f"exact      u = {case.exact.text}")
    print("\n".join(lines))
    return EXIT_OK
