"""Indefinite Helmholtz with a variable ``k``: fastdiag-minres against GMRES and SuperLU.

``-div(k grad u) + c u = 1 + x`` on the unit square, homogeneous Dirichlet,
``k = 1 + (C - 1)(1 + sin 2πx sin 2πy)/2`` (contrast ``C`` over the points),
``c`` midway between the 10th and 11th eigenvalues of the discrete operator
(scipy's shift-invert ``eigsh``).  Per grid and contrast:

* ``fastdiag-minres``: MINRES with the absolute-value fast inverse
  ``S |Λ0 + c|^-1 S^-1`` (kronpde), iterations and the true relative residual;
* GMRES (scipy, no restart) with the exact fast inverse ``(A_0)^{-1}`` of the
  same reference ``k0`` (the anchor of the issue: a preconditioner that is
  exact for constant ``k`` but not SPD), iterations and true residual;
* SuperLU (``scipy.sparse.linalg.spsolve``) time, and the other two as ratios.

Usage: ``python scripts/bench_helmholtz.py [--quick]`` (``--quick``: 64² only).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import scipy.sparse.linalg as sla

from kronpde import Grid, Problem
from kronpde.solvers import solve
from kronpde.solvers.fastdiag import FastDiagSolver
from kronpde.solvers.fastdiag_minres import absolute_preconditioner


def row(m: int, contrast: float) -> dict:
    g = Grid.box([m, m])
    k = f"1 + {(contrast - 1) / 2}*(1 + sin(2*pi*x)*sin(2*pi*y))"
    base = Problem(g, "1 + x", coefficient=k)
    a_hat = base.operator(symmetric=True).tocsc()
    lam = np.sort(sla.eigsh(a_hat, k=12, sigma=0.0, return_eigenvectors=False))
    c = -0.5 * (lam[9] + lam[10])
    p = base.with_shift(c)
    t = time.perf_counter()
    sol = solve(p, method="fastdiag-minres", rtol=1e-8)
    t_minres = time.perf_counter() - t
    # GMRES with the exact fast inverse of the same reference k0
    _, k0, _ = absolute_preconditioner(p)
    structure = p.discretisation.reference_structure()
    scale = k0 / structure.coefficient
    ops = [op.scaled(scale) for op in structure.operators]
    exact_inverse = FastDiagSolver(ops, c, axes=g.axes)
    d = p.symmetric_scale
    n = d.size
    m_op = sla.LinearOperator((n, n), matvec=lambda r: d * exact_inverse.solve(np.ravel(r) / d))
    b = p.rhs()
    count = [0]

    def tick(_):
        count[0] += 1

    t = time.perf_counter()
    y, _ = sla.gmres(
        p.linear_operator(symmetric=True),
        d * b,
        M=m_op,
        rtol=1e-8,
        restart=400,
        maxiter=400,
        callback=tick,
        callback_type="pr_norm",
    )
    t_gmres = time.perf_counter() - t
    u = y / d
    res_gmres = float(np.linalg.norm(b - p.linear_operator() @ u) / np.linalg.norm(b))
    t = time.perf_counter()
    ref = sla.spsolve(p.operator().tocsc(), b)
    t_lu = time.perf_counter() - t
    return {
        "m": m,
        "contrast": contrast,
        "c": c,
        "lam10": lam[9],
        "lam11": lam[10],
        "minres": sol.report.iterations,
        "minres_res": sol.report.relative_residual,
        "minres_err": float(np.max(np.abs(sol.x - ref)) / np.max(np.abs(ref))),
        "gmres": count[0],
        "gmres_res": res_gmres,
        "t_minres": t_minres / t_lu,
        "t_gmres": t_gmres / t_lu,
        "t_lu": t_lu,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    sizes = (64,) if args.quick else (64, 256)
    print(
        "| grid | contrast | c (between λ10, λ11) | MINRES its | true res | GMRES its | true res "
        "| MINRES / LU time | GMRES / LU time | LU s |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for m in sizes:
        for contrast in (3.0, 19.0):
            r = row(m, contrast)
            print(
                f"| {m}² | {contrast:g} | {r['c']:.2f} ({r['lam10']:.2f}, {r['lam11']:.2f}) "
                f"| {r['minres']} | {r['minres_res']:.2e} | {r['gmres']} | {r['gmres_res']:.2e} "
                f"| {r['t_minres']:.2f} | {r['t_gmres']:.2f} | {r['t_lu']:.2f} |"
            )


if __name__ == "__main__":
    main()
