"""The plain CG loop built from the fused kernels: what one iteration costs.

A benchmark's loop, not the package's: ``scripts/bench_kernels.py`` times it beside
:func:`kronpde.solvers.cg.cg` (the one CG of the package, with residual replacement,
null spaces and the same kernels above the size threshold).  Import it with ``scripts/``
on ``sys.path`` (a script in ``scripts/`` has it there).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from kronpde.operators.kernels import (
    ConstantStencil,
    VariableStencil,
    dot,
    new_direction,
    scale,
    update_xr,
    update_xr_jacobi,
)

__all__ = ["FusedCGResult", "cg_fused"]


@dataclass(frozen=True, eq=False)
class FusedCGResult:
    """Outcome of :func:`cg_fused`.

    Attributes
    ----------
    x : ndarray, shape (n,)
        The last iterate.
    converged : bool
        Whether the recurrence residual met the stopping rule.
    iterations : int
        Completed iterations (products with ``A`` along search directions).
    residual_norms : ndarray, shape (iterations + 1,)
        Recurrence residual norms ``||r_k||_2``, entry 0 the initial one.
    relative_residual : float
        True ``||b - A x||_2 / ||b||_2`` of the returned ``x``.
    status : str
        ``"converged"``, ``"maxiter"``, ``"breakdown"`` (``p·Ap <= 0``) or
        ``"nan"`` (a non-finite scalar).
    """

    x: np.ndarray
    converged: bool
    iterations: int
    residual_norms: np.ndarray
    relative_residual: float
    status: str


def cg_fused(
    A: ConstantStencil | VariableStencil,
    b: np.ndarray,
    x0: np.ndarray | None = None,
    *,
    rtol: float = 1e-8,
    atol: float = 0.0,
    maxiter: int | None = None,
    inv_diag: np.ndarray | None = None,
) -> FusedCGResult:
    """CG (or Jacobi-preconditioned CG) with three fused passes per iteration.

    Per iteration: ``Ap = A p`` with ``p·Ap`` (:meth:`ConstantStencil.apply_dot`),
    :func:`update_xr` (or :func:`update_xr_jacobi`) and :func:`new_direction`.
    Stopping rule, scipy's: ``||r_k||_2 <= max(rtol ||b||_2, atol)`` on the
    recurrence residual (Euclidean norm); the true residual is computed once,
    at the end.  No residual replacement, no null-space projection, no
    callback: this is the cost of the iteration itself (used by
    ``scripts/bench_kernels.py``); the package uses :func:`kronpde.solvers.cg.cg`.

    Parameters
    ----------
    A : ConstantStencil or VariableStencil
        Symmetric positive definite operator.
    b : ndarray, shape (n,)
        Right-hand side.
    x0 : ndarray, shape (n,), optional
        Initial guess (default zero).
    rtol, atol : float, optional
        Tolerances of the stopping rule.
    maxiter : int, optional
        Iterations allowed (default ``10 n``).
    inv_diag : ndarray, shape (n,), optional
        The inverse of ``diag(A)``: Jacobi preconditioning ``z = r * inv_diag``.

    Returns
    -------
    FusedCGResult
        ``x``, ``converged``, ``iterations``, ``residual_norms``,
        ``relative_residual``, ``status``.
    """
    n = A.shape[0]
    b = _vector(b, n, "b")
    compiled = A.compiled
    maxiter = 10 * n if maxiter is None else int(maxiter)
    x = np.zeros(n) if x0 is None else _vector(x0, n, "x0").copy()
    r = np.empty(n)
    Ap = np.empty(n)
    if x0 is None:
        r[:] = b
    else:
        A.apply(x, Ap)
        np.subtract(b, Ap, out=r)
    if inv_diag is None:
        z = r
    else:
        inv_diag = _vector(inv_diag, n, "inv_diag")
        z = np.empty(n)
        scale(r, inv_diag, z, compiled=compiled)
    rr = dot(r, r, compiled=compiled)
    rz = rr if inv_diag is None else dot(r, z, compiled=compiled)
    b_norm = math.sqrt(dot(b, b, compiled=compiled))
    tol = max(rtol * b_norm, atol)
    p = z.copy()
    norms = [math.sqrt(rr)]
    status = "converged" if norms[0] <= tol else ""
    iterations = 0
    while not status:
        if iterations >= maxiter:
            status = "maxiter"
            break
        pAp = A.apply_dot(p, Ap)
        if not math.isfinite(pAp):
            status = "nan"
            break
        if pAp <= 0.0:
            status = "breakdown"
            break
        alpha = rz / pAp
        if inv_diag is None:
            rr = update_xr(x, r, p, Ap, alpha, compiled=compiled)
            rz_new = rr
        else:
            rr, rz_new = update_xr_jacobi(x, r, z, p, Ap, inv_diag, alpha, compiled=compiled)
        iterations += 1
        norms.append(math.sqrt(rr))
        if not math.isfinite(rr):
            status = "nan"
        elif norms[-1] <= tol:
            status = "converged"
        else:
            new_direction(p, z, rz_new / rz, compiled=compiled)
            rz = rz_new
    A.apply(x, Ap)
    np.subtract(b, Ap, out=r)
    true = math.sqrt(dot(r, r, compiled=compiled))
    history = np.array(norms)
    history.flags.writeable = False
    return FusedCGResult(
        x=x,
        converged=status == "converged",
        iterations=iterations,
        residual_norms=history,
        relative_residual=true / b_norm if b_norm > 0 else true,
        status=status,
    )


def _vector(a, n: int, name: str) -> np.ndarray:
    """Return ``a`` as a flat float64 C-contiguous array of ``n`` entries."""
    if np.asarray(a).dtype.kind not in "fiub":
        msg = f"{name} must be a real array, got dtype {np.asarray(a).dtype}"
        raise TypeError(msg)
    a = np.ascontiguousarray(a, dtype=np.float64)
    if a.size != n:
        msg = f"{name} has {a.size} entries, expected {n}"
        raise ValueError(msg)
    return a.reshape(-1)
