"""The tridiagonal-axis solver's checks of its mode systems and the solve of the constant mode.

Used by :class:`~kronpde.solvers.tridiagonal_axis.TridiagonalAxisSolver`: whether every
mode's system is diagonally dominant (Thomas, else the pivoting solve), whether the
constant mode's system is singular (pure Neumann/periodic with ``c = 0``), and that
mode's solve: the data projected with the weights (FISHPACK's PERTRB), one value
pinned, the weighted mean removed (``docs/tridiagonal-axis.md``).
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from kronpde.problem.partial import PartialStructure

__all__ = ["all_dominant", "null_rows", "null_solve", "null_system_singular"]

#: Relative size of the constant mode's row sums below which its system is singular.
NULL_RTOL = 1e-11


def null_rows(
    structure: PartialStructure, first: tuple[float, float] | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(lower, diag, upper)`` of the constant mode's system (``c = 0``).

    ``first`` is that mode's first row ``(diag, upper)`` where a shared point gives one.
    """
    diag = np.array(structure.diag, dtype=float)
    upper = np.array(structure.upper, dtype=float)
    if first is not None:
        diag[0], upper[0] = first
    return np.array(structure.lower, dtype=float), diag, upper


def null_system_singular(
    lower: np.ndarray, diag: np.ndarray, upper: np.ndarray, periodic: bool
) -> bool:
    """Return whether the rows sum to zero (to :data:`NULL_RTOL`): the constants are its null."""
    n = diag.size
    rows = diag.copy()
    if n > 1:
        rows[1:] += lower[1:]
        rows[:-1] += upper[:-1]
    if periodic and n >= 3:
        rows[0] += lower[0]
        rows[-1] += upper[-1]
    scale = float(np.max(np.abs(diag), initial=0.0))
    return bool(np.all(np.abs(rows) <= NULL_RTOL * 4.0 * scale))


def all_dominant(structure: PartialStructure, diag, lp, lq, g, first, cyclic) -> bool:  # noqa: ANN001
    """Return whether every mode's system is diagonally dominant with a positive diagonal.

    ``diag`` is the systems' common diagonal, ``lp``/``lq`` the eigenvalues of the
    transformed axes before and after ``t``, ``g`` their couplings along ``t``, ``first``
    the shared point's per-mode first row ``(diag, upper)`` or None.
    """
    least = diag.copy()
    for k in range(g.shape[0]):
        lo = float(lp[k].min()) + float(lq[k].min())
        hi = float(lp[k].max()) + float(lq[k].max())
        least += np.where(g[k] >= 0.0, lo, hi) * g[k]
    lower = np.abs(np.asarray(structure.lower, dtype=float))
    upper = np.abs(np.asarray(structure.upper, dtype=float))
    if not cyclic and lower.size:
        lower[0] = upper[-1] = 0.0
    off = lower + upper
    rows = slice(1, None) if first is not None else slice(None)
    ok = bool(np.all(least[rows] > 0.0) and np.all(least[rows] >= off[rows]))
    if first is not None:
        fd, fu = first
        ok = ok and bool(np.all(fd > 0.0) and np.all(fd >= np.abs(fu) + lower[0]))
    return ok


def null_solve(
    r: np.ndarray, rows: tuple[np.ndarray, np.ndarray, np.ndarray], structure: PartialStructure
) -> tuple[np.ndarray, float]:
    """Solve the constant mode: project ``r`` (left null ``ω``), pin ``u[n-1]``, gauge.

    Returns the solution of zero weighted mean and the mean removed from ``r``.
    """
    lower, diag, upper = rows
    y = np.array(structure.t_weights, dtype=float)
    fr = structure.first_row
    if fr is not None and fr.null_weight is not None:
        y[0] = fr.null_weight
    removed = float(y @ r) / float(y.sum())
    r = r - removed
    n = r.size
    u = np.zeros(n)
    if n > 1:
        m = n - 1
        ab = np.zeros((3, m))
        ab[1] = diag[:m]
        ab[0, 1:] = upper[: m - 1]
        ab[2, :-1] = lower[1:m]
        u[:m] = scipy.linalg.solve_banded((1, 1), ab, r[:m])
    u -= float(y @ u) / float(y.sum())
    return u, removed
