"""The certificate's residual pass of the compact scheme, block of planes by block.

:func:`compact_residual_sums` computes ``r = b - A x`` of the fourth-order compact
operator (:func:`kronpde.operators.compact.polynomial_apply`, the same operations
per entry, so the same bits) over blocks of planes along axis 0 with one plane of
halo on each side, and the certificate's four sums of
:func:`kronpde.operators.plane_apply.residual_sums`.  The third,
``Σ w (|P|(|T|)|x|)²``, is bounded by ``ρ² Σ w x²`` with ``ρ`` (:func:`absolute_norm`)
an upper bound on the ``W``-norm of ``|P|(|T|)``: one polynomial apply instead
of two, on blocks that stay in the cache, and no array of the grid's size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from kronpde.operators.compact import CompactScheme, polynomial_apply
from kronpde.operators.plane_apply import block_squares
from kronpde.operators.second_thread import THREADED_SIZE, second_thread
from kronpde.operators.stencils import AxisOperator

__all__ = ["absolute_norm", "compact_residual_sums", "fusable"]

#: Bytes of a block of planes: its seven work arrays stay in a core's cache (measured at
#: 1024², 64 KiB to 1 MiB: 256 KiB fastest).
BLOCK_BYTES = 1 << 18


def _rows(op: AxisOperator, lo: int, hi: int) -> AxisOperator:
    """Rows ``lo <= r < hi`` of a non-periodic axis' operator (its couplings inside them)."""
    lower, upper = op.lower[lo:hi].copy(), op.upper[lo:hi].copy()
    lower[0] = upper[-1] = 0.0  # the halo rows' outer neighbours are not in the block
    return replace(op, diag=op.diag[lo:hi], lower=lower, upper=upper, weights=op.weights[lo:hi])


def fusable(scheme: CompactScheme) -> bool:
    """Whether :func:`compact_residual_sums` applies: 2-D or 3-D, no Robin face, axis 0 bounded."""
    return 2 <= len(scheme.ops) <= 3 and not scheme.robin and not scheme.ops[0].periodic


def _axis_norm(op: AxisOperator, w: np.ndarray) -> float:
    """Return an upper bound on ``||W^{1/2} |T| W^{-1/2}||_2`` of one axis (``W = diag w``).

    ``sqrt(||M||_1 ||M||_∞)`` of the scaled non-negative ``M``, raised by a relative
    ``1e-12`` for the rounding of its sums (a few operations per entry).
    """
    m = abs(op.tosparse()).tocoo()
    scale = np.sqrt(np.asarray(w, dtype=float))
    values = m.data * scale[m.row] / scale[m.col]
    rows = np.bincount(m.row, values, minlength=op.n).max()
    cols = np.bincount(m.col, values, minlength=op.n).max()
    return float(np.sqrt(rows * cols)) * (1.0 + 1e-12)


def absolute_norm(
    scheme: CompactScheme, absolute_ops: Sequence[AxisOperator], weights: Sequence[np.ndarray]
) -> float:
    """Return an upper bound ``ρ`` on ``||W^{1/2} |P|(|T|) W^{-1/2}||_2`` (no Robin terms).

    ``|P|(|T|) = |c| + Σ_i |T_i| (|1 - c a_i| + Σ_{j>i} |a_i + a_j| |T_j|)``, each
    ``|T_i|`` along its own axis: in the ``W`` norm (``W`` the outer product of
    the axes' weights) its norm is at most ``|c| + Σ_i τ_i (|1 - c a_i| + Σ_{j>i}
    |a_i + a_j| τ_j)`` with ``τ_i`` the axes' own (:func:`_axis_norm`), raised for
    the rounding of this sum.  For a smooth ``x`` the bound ``ρ ||x||_W`` is close
    to ``|| |P|(|T|) |x| ||_W`` itself (``|T_i|`` then acts as ``τ_i``).
    """
    a, c = scheme.a, abs(scheme.shift)
    tau = [_axis_norm(op, w) for op, w in zip(absolute_ops, weights, strict=True)]
    rho = c
    for i, t in enumerate(tau):
        inner = abs(1.0 - scheme.shift * a[i])
        for j in range(i + 1, len(tau)):
            inner += abs(a[i] + a[j]) * tau[j]
        rho += t * inner
    return rho * (1.0 + 1e-12)


def compact_residual_sums(
    scheme: CompactScheme,
    absolute_ops: Sequence[AxisOperator],
    X: np.ndarray,
    B: np.ndarray,
    weights: Sequence[np.ndarray],
) -> np.ndarray:
    """Return ``Σ r²``, ``Σ w r²``, a bound on ``Σ w (|P|(|T|)|x|)²`` and ``Σ w b²``.

    ``r = b - A x`` as the operator computes it; the third is ``ρ² Σ w x²``
    (:func:`absolute_norm`), at least ``Σ w (|P|(|T|)|x|)²``.

    Parameters
    ----------
    scheme : CompactScheme
        The operator (:func:`fusable`).
    absolute_ops : sequence of AxisOperator
        ``|T_i|``, every entry in absolute value.
    X, B : ndarray
        ``x`` and ``b``, grid-shaped, C-contiguous float64.
    weights : sequence of ndarray
        One weight vector per axis (``W`` is their outer product).

    Returns
    -------
    ndarray, shape (4,)
    """
    n0 = X.shape[0]
    size = max(1, min(n0, BLOCK_BYTES // max(X[0].nbytes, 1)))
    rest = np.ones(1)
    for v in weights[1:]:
        rest = np.multiply.outer(rest, np.asarray(v, dtype=np.float64))
    w0, rest = np.asarray(weights[0], dtype=np.float64), rest.reshape(-1)
    uniform = bool(np.all(w0 == w0[0]) and np.all(rest == rest[0]))
    task = _Pass(scheme, X, B, None if uniform else (w0, rest), size)
    pool = second_thread() if X.size >= THREADED_SIZE and n0 >= 2 * size else None
    if pool is None:
        total = task.sums(0, n0)
    else:
        half = (n0 // size // 2) * size  # two halves of whole blocks, one per thread
        other = pool.submit(task.sums, half, n0)
        total = task.sums(0, half) + other.result()
    if uniform:  # the weight once, as plane_apply.residual_sums does
        total[1:] *= float(w0[0] * rest[0])
    # Σ w (|P|(|T|)|x|)² <= ρ² Σ w x², the computed sum raised for its own rounding
    rho = absolute_norm(scheme, absolute_ops, weights)
    xx = total[2] * (1.0 + 4.0 * X.size * np.finfo(float).eps)
    return np.array([total[0], total[1], rho * rho * xx, total[3]])


class _Pass:
    """One residual pass: ``Σ r²``, ``Σ w r²``, ``Σ w x²``, ``Σ w b²`` over blocks of planes."""

    def __init__(self, scheme, X, B, weights, size):  # noqa: ANN001
        self.scheme, self.X, self.B, self.size = scheme, X, B, size
        self.weights = weights  # (w0, rest), or None: uniform, the weight applied after

    def sums(self, q0: int, q1: int) -> np.ndarray:
        """Return the four sums over the planes ``q0 <= p < q1`` (own work arrays)."""
        X, B, scheme, size = self.X, self.B, self.scheme, self.size
        n0, d = X.shape[0], len(scheme.ops)
        span = min(n0, size + 2)
        buffers = [np.empty((span, *X.shape[1:])) for _ in range(3 + max(d - 1, 0))]
        y = np.empty((span, *X.shape[1:]))
        total = np.zeros(4)
        for p0 in range(q0, q1, size):
            p1 = min(p0 + size, q1)
            lo, hi = max(p0 - 1, 0), min(p1 + 1, n0)
            m = hi - lo
            part = tuple(b[:m] for b in buffers)
            ops = [_rows(scheme.ops[0], lo, hi), *scheme.ops[1:]]
            polynomial_apply(scheme, ops, X[lo:hi], y[:m], part)
            keep = slice(p0 - lo, p1 - lo)
            r = np.subtract(B[p0:p1], y[keep], out=y[keep])
            rr = block_squares(r.reshape(-1))
            if self.weights is None:
                total += [
                    rr,
                    rr,
                    block_squares(X[p0:p1].reshape(-1)),
                    block_squares(B[p0:p1].reshape(-1)),
                ]
            else:
                w, rest = self.weights[0][p0:p1], self.weights[1]
                sq = part[0][: p1 - p0]  # free once the apply is done
                total += [rr, *(_weighted(v, w, rest, sq) for v in (r, X[p0:p1], B[p0:p1]))]
        return total


def _weighted(v: np.ndarray, w: np.ndarray, rest: np.ndarray, sq: np.ndarray) -> float:
    """``Σ w v²`` over a block (``W`` the outer product of ``w`` and ``rest``), ``sq`` scratch."""
    np.multiply(v, v, out=sq)
    per_plane = np.einsum("ij,j->i", sq.reshape(sq.shape[0], -1), rest)
    return float(np.einsum("i,i->", w, per_plane))
