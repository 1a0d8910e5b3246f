"""``kronpde solve`` of a complex case (a complex shift, source or boundary value).

The solve is :class:`~kronpde.solvers.complex_solve.PreparedComplex`'s; the
output's ``u`` is the real part, beside ``u_imag`` and ``u_abs`` (and
``f_imag``, ``u_exact_imag`` where those are written); ``error`` is the
modulus ``|u - u_exact|``, so ``error_max`` is the largest modulus.  In the
JSON record the shift is ``{"real": .., "imag": ..}``; every other value is
real.  No algebraic error bound is certified for a complex operator.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import numpy as np

from kronpde.app.cli.common import (
    EXIT_NOT_CONVERGED,
    EXIT_OK,
    UsageError,
    check_writable,
    describe_grid,
    json_value,
    output_path,
    picture_path,
)
from kronpde.errors import CaseError, DataError

__all__ = ["complex_fields", "run_complex"]

#: Why the record has no certified bound.
NO_BOUND = "no algebraic error bound is certified for a complex operator"


def complex_fields(case: Any, u: np.ndarray) -> dict[str, np.ndarray]:
    """Return the fields to write: ``u`` (real part), ``u_imag``, ``u_abs``, then ``f``, exact."""
    data = {"u": np.ascontiguousarray(u.real), "u_imag": np.ascontiguousarray(u.imag)}
    data["u_abs"] = np.abs(u)
    problem = case.problem
    if "f" in case.fields:
        data["f"] = problem.real.source_nodes()
        data["f_imag"] = problem.imag.source_nodes()
    if case.exact is not None:
        try:
            exact = case.exact.evaluate(case.grid.point_coordinates())
        except DataError as exc:
            raise CaseError(exc.detail, file=str(case.path), key="[exact] u") from None
        exact = np.asarray(exact, dtype=complex)
        data["u_exact"] = np.ascontiguousarray(exact.real)
        data["u_exact_imag"] = np.ascontiguousarray(exact.imag)
        data["error"] = np.abs(u - exact)
    return data


def run_complex(args: argparse.Namespace, case: Any, settings: Any) -> int:
    """Solve, write and report a complex case; the exit code of ``case-format.md``."""
    from kronpde.app.fields import output_geometry
    from kronpde.io.vtk import write_result
    from kronpde.solvers.complex_solve import prepare_complex

    if getattr(args, "backend", "serial") != "serial":
        subject = "--backend"
        msg = (
            "the case is complex and the installed petsc4py is built with real scalars: "
            "solve it serially (fastdiag, direct, fastdiag-cg)"
        )
        raise UsageError(subject, msg)
    if set(case.fields) & {"grad_u", "flux", "level_set"}:
        subject = "[output] fields"
        raise UsageError(subject, "a complex case writes u, u_imag, u_abs, f and the exact fields")
    path, key = output_path(case, args.output)
    check_writable(case, path, key)
    picture = picture_path("--plot", args.plot)
    prepared = prepare_complex(case.problem, settings.method)
    rtol = settings.rtol if isinstance(settings.rtol, float) else 1e-10
    solution = prepared.solve(rtol=rtol, maxiter=settings.maxiter)
    report = solution.report
    data = complex_fields(case, solution.u)
    errors = {}
    if "error" in data:
        err = data["error"]
        errors = {"error_max": float(np.max(err)), "error_rms": float(np.sqrt(np.mean(err**2)))}
    axes, as_cells = output_geometry(case.grid)
    written = drawn = None
    if report["converged"] and path is not None:
        if as_cells:
            written = write_result(path, axes, cell_data=data)
        else:
            written = write_result(path, axes, data)
    if report["converged"] and picture is not None:
        from kronpde.app.pictures import save_field_picture

        drawn = save_field_picture(picture, axes, data["u"], name="u", title=case.path.name)
    lines = _summary(args, case, report, errors, written, list(data), drawn)
    if not args.quiet:
        print("\n".join(lines))
    if not report["converged"]:
        print(
            f"kronpde: {args.case}: the solver did not reach its tolerance; nothing written",
            file=sys.stderr,
        )
    if args.json:
        record = _record(args, case, report, errors, written, rtol)
        print(json.dumps(record, allow_nan=False))
    sys.stdout.flush()
    return EXIT_OK if report["converged"] else EXIT_NOT_CONVERGED


def _summary(args, case, report, errors, written, names, drawn) -> list[str]:
    lines = [f"case       {args.case}", *describe_grid(case)]
    lines.append(f"method     {report['method']} (complex)")
    lines.append(
        f"result     {'converged' if report['converged'] else 'NOT converged'}, "
        f"{report['iterations']} iteration(s), relative residual "
        f"{report['relative_residual']:.3e}"
    )
    lines.append(f"accuracy   {NO_BOUND}")
    lines.extend(f"warning    {w}" for w in report["warnings"])
    lines.append(
        f"time       setup {report['setup_seconds']:.3f} s, solve {report['solve_seconds']:.3f} s"
    )
    if errors:
        lines.append(
            f"error      max {errors['error_max']:.3e}, rms {errors['error_rms']:.3e} "
            "(modulus of u - [exact] u over all points)"
        )
    if written is not None:
        lines.append(f"output     {written} ({', '.join(names)})")
    if drawn is not None:
        lines.append(f"picture    {drawn}")
    return lines


def _record(args, case, report, errors, written, rtol) -> dict[str, Any]:
    c = case.problem.shift
    record = {
        "case": str(args.case),
        "dimension": case.dimension,
        "cells": list(case.cells),
        "centering": list(case.grid.centering),
        "unknowns": case.problem.size,
        "complex": True,
        "shift": {"real": c.real, "imag": c.imag},
        "method": report["method"],
        "requested": case.method if args.method is None else args.method,
        "converged": report["converged"],
        "iterations": report["iterations"],
        "relative_residual": report["relative_residual"],
        "setup_seconds": report["setup_seconds"],
        "solve_seconds": report["solve_seconds"],
        "output": None if written is None else str(written),
        **errors,
        "algebraic_error_bound": None,
        "warnings": [*report["warnings"], NO_BOUND],
        "rtol": rtol,
    }
    return {k: (v if isinstance(v, dict) else json_value(v)) for k, v in record.items()}
