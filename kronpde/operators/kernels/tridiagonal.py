"""Batched tridiagonal solves along one axis: one system per mode, all modes at once.

:func:`solve_modes` solves, in place, the systems of
:class:`~kronpde.problem.partial.PartialStructure`'s modes: mode ``(p, q)`` of
``x`` reshaped to ``(P, n, Q)`` has the diagonal
``diag[z] + Σ_k (lp[k, p] + lq[k, q]) g[k, z]``.  The compiled kernels
(:mod:`._tridiagonal_compiled`, numba, loaded on first use) run Thomas'
algorithm in blocks of modes where every system is diagonally dominant and a
pivoting solve (LAPACK ``gtsv``'s) where one may not be, with the
Sherman-Morrison correction on a periodic axis; the NumPy path hands all
systems to one LAPACK banded solve (``scipy.linalg.solve_banded``: its
partial pivoting never crosses a line, whose couplings are zero).  Importing
this module never imports numba.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg

from kronpde.operators.kernels._dispatch import tridiagonal_kernel, use_compiled

__all__ = ["ModeSystems", "solve_modes"]

_EMPTY = np.zeros((1, 1))


@dataclass(frozen=True, eq=False)
class ModeSystems:
    """The tridiagonal systems of every mode along one axis (module docstring).

    Attributes
    ----------
    lower, diag, upper : ndarray, shape (n,)
        The common rows (the shift included in ``diag``).  On a ``cyclic``
        axis ``lower[0]`` multiplies ``x[n-1]`` and ``upper[n-1]`` ``x[0]``.
    lp, lq : ndarray, shapes (K, P) and (K, Q)
        The eigenvalue sums of the axes before and after the tridiagonal axis,
        per coupling class ``k``.
    g : ndarray, shape (K, n)
        The coupling vectors.
    cyclic : bool
        Cyclic systems (a periodic axis of 3 or more points).
    first : (ndarray, ndarray) or None
        Row 0's diagonal and upper entry per mode, shape (P, Q) each.
    skip : (int, int) or None
        A mode ``(p, q)`` left out (set to 0): the singular constant mode.
    dominant : bool
        Every system diagonally dominant: Thomas without pivoting is safe.
    """

    lower: np.ndarray
    diag: np.ndarray
    upper: np.ndarray
    lp: np.ndarray
    lq: np.ndarray
    g: np.ndarray
    cyclic: bool = False
    first: tuple[np.ndarray, np.ndarray] | None = None
    skip: tuple[int, int] | None = None
    dominant: bool = True


def solve_modes(x: np.ndarray, systems: ModeSystems, compiled: bool | None = None) -> None:
    """Solve every mode's system, overwriting ``x`` (shape ``(P, n, Q)``, C-contiguous).

    Parameters
    ----------
    x : ndarray
        The right-hand sides in, the solutions out.
    systems : ModeSystems
        The systems.
    compiled : bool, optional
        Force the numba kernels (True) or the NumPy path (False); default by
        size (:func:`~kronpde.operators.kernels.use_compiled`).
    """
    if compiled is None:
        compiled = use_compiled(x.size)
    if compiled:
        _solve_compiled(x, systems)
    else:
        _solve_numpy(x, systems)


def _solve_compiled(x: np.ndarray, s: ModeSystems) -> None:
    first = s.first is not None
    fd, fu = (np.ascontiguousarray(a) for a in s.first) if first else (_EMPTY, _EMPTY)
    sp, sq = s.skip if s.skip is not None else (-1, -1)
    args = (x, s.lower, s.diag, s.upper, s.lp, s.lq, s.g, first, fd, fu, sp, sq)
    if not s.dominant:
        name, args = "pivoting", (*args, s.cyclic)
    elif s.cyclic:
        name = "cyclic_thomas"
    elif x.shape[2] == 1:  # the last axis: blocks of lines
        name = "thomas_lines"
    else:
        name = "thomas"
    tridiagonal_kernel(name, args)(*args)  # says so first where it compiles


def _mode_diagonals(s: ModeSystems, npl: int, nq: int) -> np.ndarray:
    """Every mode's diagonal, shape ``(P, Q, n)``."""
    d = np.broadcast_to(s.diag, (npl, nq, s.diag.size)).copy()
    for k in range(s.g.shape[0]):
        lam = s.lp[k][:, None] + s.lq[k][None, :]
        d += lam[:, :, None] * s.g[k][None, None, :]
    return d


def _solve_numpy(x: np.ndarray, s: ModeSystems) -> None:
    npl, n, nq = x.shape
    d = _mode_diagonals(s, npl, nq)
    up = np.broadcast_to(s.upper, d.shape).copy()
    if s.first is not None:
        d[:, :, 0] = s.first[0]
        up[:, :, 0] = s.first[1]
    lo = np.broadcast_to(s.lower, d.shape).copy()
    rhs = np.ascontiguousarray(x.transpose(0, 2, 1))  # (P, Q, n): one line after another
    if s.skip is not None:
        p, q = s.skip
        d[p, q], up[p, q], lo[p, q], rhs[p, q] = 1.0, 0.0, 0.0, 0.0
    alpha, beta = s.upper[-1], s.lower[0]
    if s.cyclic:  # B = A - u vᵀ, u = (γ, 0, …, α), v = (1, 0, …, β/γ), γ = -d_0
        gam = -d[:, :, 0].copy()
        if s.skip is not None:
            gam[s.skip] = -1.0
        d[:, :, 0] -= gam
        d[:, :, -1] -= alpha * beta / gam
        zrhs = np.zeros_like(rhs)
        zrhs[:, :, 0] = gam
        zrhs[:, :, -1] = alpha
        if s.skip is not None:
            zrhs[s.skip] = 0.0
    ab = np.zeros((3, d.size))
    ab[1] = d.reshape(-1)
    upper = up.copy()
    upper[:, :, -1] = 0.0
    ab[0, 1:] = upper.reshape(-1)[:-1]  # ab[0, j] = A[j-1, j]
    lower = lo.copy()
    lower[:, :, 0] = 0.0
    ab[2, :-1] = lower.reshape(-1)[1:]  # ab[2, j] = A[j+1, j]
    b = rhs.reshape(-1, 1) if not s.cyclic else np.stack([rhs.reshape(-1), zrhs.reshape(-1)], 1)
    sol = scipy.linalg.solve_banded((1, 1), ab, b, overwrite_ab=True, check_finite=False)
    y = sol[:, 0].reshape(npl, nq, n)
    if s.cyclic:
        z = sol[:, 1].reshape(npl, nq, n)
        fac = (y[:, :, 0] + beta / gam * y[:, :, -1]) / (
            1.0 + z[:, :, 0] + beta / gam * z[:, :, -1]
        )
        y = y - fac[:, :, None] * z
    np.copyto(x, y.transpose(0, 2, 1))
