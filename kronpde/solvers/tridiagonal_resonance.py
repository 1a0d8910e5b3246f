"""The resonance check of the tridiagonal-axis solve: how far ``c < 0`` is from the spectrum.

Mode ``m``'s system along ``t`` is ``J_m = T_t + Σ_k Λ_{k,m} G_k + c R`` (``R`` the
weights of ``t`` in ``W``, where ``c`` enters as ``c R``); ``A``'s eigenvalues are
those of ``R^{-1} J_m`` over the modes, real where ``lower[j+1] upper[j] > 0``
(a diagonal similarity makes ``R^{-1/2} J_m R^{-1/2}`` symmetric).  The cheap
bound: the twisted factorisation's ``γ_k = d⁺_k + d⁻_k - a_k`` (forward and backward
pivots, all modes at once) gives ``(J⁻¹)_{kk} = 1/γ_k``, so ``min_k |γ_k| >=``
``min |λ + c|`` of the mode; the modes with the smallest ``min |γ|`` then get their
eigenvalues exactly (``eigvalsh_tridiagonal``), and
:func:`~kronpde.solvers.resonance.resonance` judges them against a Gershgorin bound of
the largest ``|λ + c|``.  ``docs/tridiagonal-axis.md``.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from kronpde.solvers.resonance import resonance

__all__ = ["CANDIDATES", "mode_resonance"]

#: How many modes (those of the smallest twisted pivots) get their eigenvalues exactly.
CANDIDATES = 16


def mode_resonance(
    lower: np.ndarray,
    diag: np.ndarray,
    upper: np.ndarray,
    sums: np.ndarray,
    coupling: np.ndarray,
    weights: np.ndarray,
    shift: float,
    n: int,
    first: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> tuple[float, str | None] | None:
    """Return ``(condition, warning)`` of the mode systems (raises at an eigenvalue), or None.

    Parameters
    ----------
    lower, diag, upper : ndarray, shape (n_t,)
        ``T_t + C + c R`` (the shift included).
    sums : ndarray, shape (groups, modes)
        ``Λ_{k,m}``, each coupling group's eigenvalue sum per mode.
    coupling : ndarray, shape (groups, n_t)
        ``G_k``.
    weights : ndarray, shape (n_t,)
        ``R``.
    shift : float
        ``c`` (messages).
    n : int
        The longest axis' unknowns (the tolerance of
        :func:`~kronpde.solvers.resonance.resonance`).
    first : tuple of ndarray, optional
        A shared point's per-mode first row: its diagonal (the shift included),
        its coupling to row 1 and its right-hand side factor, each flat over the
        modes.  A mode whose row 0 is ``û_0 = 0`` (factor 0, no coupling) has no
        eigenvalue there: its row is left out (set to the largest ``|λ + c|``).

    Returns
    -------
    tuple or None
        None where the systems have no real spectrum to judge (a product
        ``lower[j+1] upper[j] <= 0``).

    Raises
    ------
    SolverError
        Where ``A`` is singular to working precision (``-c`` an eigenvalue).
    """
    nt = diag.size
    e2 = np.asarray(lower[1:], dtype=float) * np.asarray(upper[: nt - 1], dtype=float)
    if np.any(e2 <= 0.0):
        return None
    r = np.asarray(weights, dtype=float)
    e2 = np.array(np.broadcast_to(e2 / (r[1:] * r[:-1]), (sums.shape[1], nt - 1)))
    a = (np.asarray(diag, dtype=float) + sums.T @ coupling) / r  # (modes, n_t)
    free = None
    if first is not None:
        row, up, rhs = (np.asarray(v, dtype=float).reshape(-1) for v in first)
        free = (up == 0.0) & (rhs == 0.0)  # û_0 = 0: no eigenvalue of A
        a[:, 0] = row / r[0]
        if nt > 1:
            e2[:, 0] = float(lower[1]) * up / (r[0] * r[1])
            if np.any(e2[~free, 0] <= 0.0):
                return None
    off_all = np.sqrt(e2)
    spread = np.zeros_like(a)
    spread[:, :-1] += off_all
    spread[:, 1:] += off_all
    largest = float(np.max((np.abs(a) + spread)[:, 1:] if free is not None else np.abs(a) + spread))
    if free is not None:
        a[free, 0] = largest
        largest = max(largest, float(np.max(np.abs(a[:, 0]) + spread[:, 0])))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        forward = np.empty_like(a)
        backward = np.empty_like(a)
        forward[:, 0] = a[:, 0]
        for k in range(1, nt):
            forward[:, k] = a[:, k] - e2[:, k - 1] / forward[:, k - 1]
        backward[:, -1] = a[:, -1]
        for k in range(nt - 2, -1, -1):
            backward[:, k] = a[:, k] - e2[:, k] / backward[:, k + 1]
        gamma = np.abs(forward + backward - a)
    gamma = np.where(np.isfinite(gamma), gamma, 0.0)  # a zero pivot: a candidate
    estimate = gamma.min(axis=1)
    take = np.argsort(estimate, kind="stable")[:CANDIDATES]
    exact = [
        scipy.linalg.eigvalsh_tridiagonal(a[m], off_all[m]) if nt > 1 else a[m] for m in take
    ]  # Gershgorin's largest: >= every |λ + c|
    values = np.concatenate([*exact, [largest]])
    return resonance(values, shift, n)
