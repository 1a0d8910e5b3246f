"""Benchmark of embedded boundaries: the disc at 1024² and the ball at 128³ (issue 26).

For each case (Dirichlet data on the embedded boundary, rtol 1e-8) it prints:

* ``auto`` and ``fastdiag-cg`` (with and without the band correction): set-up
  plus solve, iterations, time per iteration, and one box fast solve;
* the anchor, measured in the same process on the same matrix: pyamg's own
  smoothed aggregation (``smoothed_aggregation_solver`` with its defaults,
  ``solve(..., accel="cg")``, set-up plus solve) on the domain's symmetric
  matrix ``Â`` restricted to the domain's unknowns;
* the ratios to the anchor.

Also the effect of the small-θ floor (``theta_min``) on fastdiag-cg's iterations
without the correction, and the max-norm error against the exact solution.

Usage: ``python scripts/bench_embedded.py [--quick]`` (--quick: 256² and 48³).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pyamg

from kronpde import Dirichlet, Grid, Problem, prepare
from kronpde.problem.embedded import EmbeddedBoundary
from kronpde.solvers.fastdiag import FastDiagSolver

DISC = ("sqrt(x**2 + y**2) - 0.8", "exp(x)*sin(2*y) + x**2", "-(exp(x)*sin(2*y)*(1 - 4) + 2)")
BALL = ("sqrt(x**2 + y**2 + z**2) - 0.8", "1/sqrt((x - 1.5)**2 + y**2 + z**2)", "0.0")


def build(n: int, d: int, case: tuple[str, str, str], theta_min: float | None = None) -> Problem:
    level_set, exact, source = case
    g = Grid.box([n] * d, lower=[-1.0] * d, upper=[1.0] * d, boundary=Dirichlet(0.0))
    p = Problem(g, source=source, domain=level_set, embedded=Dirichlet(exact), check=False)
    if theta_min is not None:
        disc = p.discretisation
        assert isinstance(disc, EmbeddedBoundary)
        disc.theta_min = theta_min
    return p


def run(p: Problem, method: str, **options) -> tuple[float, int, object]:
    t0 = time.perf_counter()
    s = prepare(p, method, options=options or None)
    sol = s.solve(rtol=1e-8, check=False)
    return time.perf_counter() - t0, sol.report.iterations, sol


def anchor(p: Problem) -> tuple[float, int]:
    inside = p.discretisation.domain_unknowns()
    a = p.operator(symmetric=True)[inside][:, inside].tocsr()
    b = (p.symmetric_scale * p.rhs_values)[inside]
    iterations = []
    t0 = time.perf_counter()
    ml = pyamg.smoothed_aggregation_solver(a)
    ml.solve(b, tol=1e-8, accel="cg", residuals=iterations)
    return time.perf_counter() - t0, len(iterations) - 1


def box_solve_seconds(p: Problem) -> float:
    ops = p.discretisation.reference_structure().operators
    fd = FastDiagSolver(ops, p.shift, axes=p.grid.axes)
    r = np.random.default_rng(0).standard_normal(p.size)
    out = np.empty(p.size)
    fd.solve(r, out=out)
    t0 = time.perf_counter()
    for _ in range(3):
        fd.solve(r, out=out)
    return (time.perf_counter() - t0) / 3


def error(p: Problem, x: np.ndarray, exact: str) -> float:
    from kronpde.expr.expression import parse_expression

    ex = parse_expression(exact, dimension=p.grid.dimension)
    u = ex.evaluate(p.grid.unknown_coordinates()).reshape(-1)
    inside = p.discretisation.domain_unknowns()
    return float(np.max(np.abs(x - u)[inside]))


def table(name: str, n: int, d: int, case: tuple[str, str, str]) -> None:
    anchor(build(16, d, case))  # warm-up: pyamg's first call loads its extensions
    warm = 384 if d == 2 else 52  # above MIN_COMPILED_SIZE: kronpde's compiled kernels load
    for method in ("fastdiag-cg", "amg-cg"):
        run(build(warm, d, case), method)
    p = build(n, d, case)
    p.check()
    t_ref, it_ref = anchor(p)
    one = box_solve_seconds(p)
    print(f"\n### {name}: {n}^{d} grid, {int(p.discretisation.domain_unknowns().sum())} unknowns\n")
    print(f"pyamg SA (CG-accelerated, set-up + solve): {t_ref:.2f} s, {it_ref} iterations")
    print(f"one box fast solve: {one * 1e3:.1f} ms\n")
    print(
        "| method | set-up + solve (s) | ratio to pyamg | iterations | s/iteration / box solve "
        "| max error |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for label, method, options in (
        ("auto", "auto", {}),
        ("fastdiag-cg", "fastdiag-cg", {}),
        ("fastdiag-cg, no correction", "fastdiag-cg", {"correction": "none"}),
        ("amg-cg", "amg-cg", {}),
    ):
        q = build(n, d, case)
        t, it, sol = run(q, method, **options)
        per = sol.report.solve_seconds / max(it, 1) / one
        err = error(q, sol.x, case[1])
        print(
            f"| {label} ({sol.report.method}) | {t:.2f} | {t / t_ref:.2f} | {it} | {per:.2f} "
            f"| {err:.2e} |"
        )
    print("\nsmall-θ floor, fastdiag-cg without the correction:\n")
    print("| theta_min | iterations | max error |")
    print("| ---: | ---: | ---: |")
    for tm in (1e-12, 1e-3, 1e-2, 0.1):
        q = build(n, d, case, theta_min=tm)
        _, it, sol = run(q, "fastdiag-cg", correction="none")
        print(f"| {tm:g} | {it} | {error(q, sol.x, case[1]):.2e} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="256^2 and 48^3")
    args = parser.parse_args()
    n2, n3 = (256, 48) if args.quick else (1024, 128)
    table("disc, Dirichlet", n2, 2, DISC)
    table("ball, Dirichlet", n3, 3, BALL)


if __name__ == "__main__":
    main()
