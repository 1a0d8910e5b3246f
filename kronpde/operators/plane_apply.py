"""The banded apply of a Kronecker sum block of planes by block, and its one-pass residual.

:class:`kronpde.operators.kronsum.KronSum` applies tridiagonal-with-wrap factors
plane block by plane block (:func:`block_into`, each axis split by
:func:`axis_plan` into a constant middle and special rows); :func:`residual_sums`
computes ``r = b - A x`` with that apply, to the bit, and the certificate's four
sums (``Σ r²``, ``Σ w r²``, ``Σ w (|A||x|)²``, ``Σ w b²``) in the same pass,
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from kronpde.operators.banded import axis_index
from kronpde.operators.second_thread import THREADED_SIZE, second_thread
from kronpde.operators.stencils import AxisOperator

__all__ = [
    "absolute_set_up",
    "block_squares",
    "axis_plan",
    "block_into",
    "residual_sums",
]


def axis_plan(op: AxisOperator) -> tuple[float, int, int, list[tuple[int, tuple]]]:
    """Split an axis' rows into a constant-coefficient middle and special rows.

    Returns ``(a, lo, hi, special)``: rows ``lo <= r < hi`` have
    ``lower[r] == upper[r] == a`` and both neighbours inside the axis;
    ``special`` lists the other rows as ``(r, ((coef, source_row), ...))``.
    """
    n = op.n
    if n < 3:
        a, lo, hi = 0.0, 0, 0
    else:
        a = op.lower[n // 2]
        same = (op.lower == a) & (op.upper == a)
        same[0] = same[-1] = False
        lo = n // 2
        while lo > 1 and same[lo - 1]:
            lo -= 1
        hi = n // 2 + 1 if same[n // 2] else n // 2
        while hi < n - 1 and same[hi]:
            hi += 1
        if hi <= lo or not same[n // 2]:
            a, lo, hi = 0.0, 0, 0
    special = []
    for r in [*range(0, lo), *range(hi, n)]:
        terms = []
        if op.lower[r] != 0.0:
            terms.append((float(op.lower[r]), (r - 1) % n))
        if op.upper[r] != 0.0:
            terms.append((float(op.upper[r]), (r + 1) % n))
        special.append((r, tuple(terms)))
    return a, lo, hi, special


def _plain(plan, n: int) -> bool:
    """Whether an axis plan is the plain Dirichlet one: ``a`` on every coupling inside."""
    a, lo, hi, special = plan
    return (
        lo == 1
        and hi == n - 1
        and len(special) == 2
        and special[0] == (0, ((a, 1),))
        and special[1] == (n - 1, ((a, n - 2),))
    )


def _add_plain_axis_terms(xb: np.ndarray, yb: np.ndarray, tb: np.ndarray, i: int, a) -> None:
    """:func:`_add_axis_terms` of a plain axis ``i >= 1`` by contiguous slices of the block.

    The neighbours ``s`` apart in the flattened block (``s`` the axis' stride)
    are summed in one contiguous pass; the rows at the axis' two ends, where
    that sum reaches into the next line, then take their one neighbour.  The
    same operations per entry as the strided apply, so the same bits.
    """
    d = xb.ndim
    n = xb.shape[i]
    s = math.prod(xb.shape[i + 1 :])
    xf, tf = xb.reshape(-1), tb.reshape(-1)
    k = xf.size
    np.add(xf[: k - 2 * s], xf[2 * s :], out=tf[s : k - s])
    np.copyto(tb[axis_index(d, i, 0)], xb[axis_index(d, i, 1)])
    np.copyto(tb[axis_index(d, i, n - 1)], xb[axis_index(d, i, n - 2)])
    tf *= a
    yb += tb


def _add_axis_terms(xb: np.ndarray, yb: np.ndarray, tb: np.ndarray, i: int, plan) -> None:
    """Add the off-diagonal terms of axis ``i >= 1`` inside one block of planes."""
    a, lo, hi, special = plan
    d = xb.ndim
    if _plain(plan, xb.shape[i]):
        _add_plain_axis_terms(xb, yb, tb, i, a)
        return
    if lo < hi:
        t = tb[axis_index(d, i, slice(lo, hi))]
        np.add(
            xb[axis_index(d, i, slice(lo - 1, hi - 1))],
            xb[axis_index(d, i, slice(lo + 1, hi + 1))],
            out=t,
        )
        t *= a
        yb[axis_index(d, i, slice(lo, hi))] += t
    for r, terms in special:
        t = tb[axis_index(d, i, slice(r, r + 1))]
        for coef, src in terms:
            np.multiply(xb[axis_index(d, i, slice(src, src + 1))], coef, out=t)
            yb[axis_index(d, i, slice(r, r + 1))] += t


def block_into(
    X: np.ndarray, yb: np.ndarray, p0: int, p1: int, tb: np.ndarray, diagonal: Any, plans: list
) -> None:
    """``yb = (A X)[p0:p1]``: one block of planes of the banded apply.

    ``diagonal`` is a float or an array of the grid's shape, ``plans`` one
    :func:`axis_plan` per axis, ``tb`` a work array of the block's shape.
    """
    d = X.ndim
    xb = X[p0:p1]
    np.multiply(xb, diagonal if isinstance(diagonal, float) else diagonal[p0:p1], out=yb)
    for i in range(1, d):
        _add_axis_terms(xb, yb, tb, i, plans[i])
    # axis 0: rows p0..p1-1 of the whole array, neighbours may lie outside the block
    a, lo, hi, special = plans[0]
    r0, r1 = max(p0, lo), min(p1, hi)
    if r0 < r1:
        t = tb[: r1 - r0]
        np.add(X[r0 - 1 : r1 - 1], X[r0 + 1 : r1 + 1], out=t)
        t *= a
        yb[r0 - p0 : r1 - p0] += t
    for r, terms in special:
        if p0 <= r < p1:
            for coef, src in terms:  # length-1 slices stay views in 1-D too
                np.multiply(X[src : src + 1], coef, out=tb[:1])
                yb[r - p0 : r - p0 + 1] += tb[:1]


def block_squares(flat: np.ndarray) -> float:
    """Return ``Σ v²`` of a block by einsum, not BLAS.

    A BLAS dot wakes its thread pool; on a busy machine its spinning threads
    wait for a core and a block's dot then takes milliseconds instead of tens
    of microseconds (measured at 1024²: 8 ms per block under load).
    """
    return float(np.einsum("i,i->", flat, flat))


def _absolute_plan(plan: tuple) -> tuple:
    """Return an :func:`axis_plan` of ``|T|``: every coefficient's absolute value."""
    a, lo, hi, special = plan
    terms = [(r, tuple((abs(c), src) for c, src in t)) for r, t in special]
    return abs(a), lo, hi, terms


def absolute_set_up(diagonal: Any, plans: list) -> tuple[Any, list, bool]:
    """Return ``|diag A|``, the plans of ``|A|`` and whether ``A`` is a Z-matrix."""
    z = isinstance(diagonal, float) and diagonal >= 0.0
    for a, _, _, special in plans:
        z = z and a <= 0.0 and all(c <= 0.0 for _, t in special for c, _ in t)
    absolute = abs(diagonal) if isinstance(diagonal, float) else np.abs(diagonal)
    return absolute, [_absolute_plan(plan) for plan in plans], z


@dataclass
class _ResidualPass:
    """One NumPy residual pass: what :meth:`sums` reads (see ``_numpy_residual_sums``)."""

    X: np.ndarray
    B: np.ndarray
    absx: np.ndarray | None
    twice: Any
    sign: float
    diagonal: Any
    plans: list
    absolute: tuple
    w0: np.ndarray
    rest: np.ndarray
    uniform: bool

    def _weighted(self, sq: np.ndarray, p0: int, p1: int) -> float:
        """Return ``Σ w sq`` over the planes ``p0 <= i < p1`` (``sq`` their block)."""
        return float(np.einsum("i,ij,j->", self.w0[p0:p1], sq.reshape(p1 - p0, -1), self.rest))

    def _square_sum(self, v: np.ndarray, tb: np.ndarray, p0: int, p1: int) -> float:
        """Return ``Σ v²`` (uniform weights: the weight applied once at the end) or ``Σ w v²``."""
        if self.uniform:
            flat = v.reshape(-1)
            return block_squares(flat)
        np.multiply(v, v, out=tb)
        return self._weighted(tb, p0, p1)

    def sums(self, q0: int, q1: int, size: int, work: np.ndarray) -> np.ndarray:
        """Return the four sums over the planes ``q0 <= i < q1``, blocks of ``size`` planes."""
        X, B = self.X, self.B
        rr = wrr = waa = wbb = 0.0
        for p0 in range(q0, q1, size):
            p1 = min(p0 + size, q1)
            yb, tb = work[0, : p1 - p0], work[1, : p1 - p0]
            block_into(X, yb, p0, p1, tb, self.diagonal, self.plans)  # A x
            if self.absx is None:  # |A||x| = max(2 D |x| - A |x|, 0), |x| = ±x, A |x| = ±A x
                np.multiply(X[p0:p1], self.twice, out=tb)  # 2 d |x|: (2 d) |x| to the bit
                (np.subtract if self.sign > 0.0 else np.add)(tb, yb, out=tb)
                np.maximum(tb, 0.0, out=tb)
                waa += self._square_sum(tb, tb, p0, p1)
            np.subtract(B[p0:p1], yb, out=yb)  # r, as fl(b - fl(A x)) of matvec_into
            flat = yb.reshape(-1)
            squares = block_squares(flat)
            rr += squares
            wrr += squares if self.uniform else self._square_sum(yb, tb, p0, p1)
            if self.absx is not None:
                absolute_diagonal, absolute_plans, _ = self.absolute
                block_into(self.absx, yb, p0, p1, tb, absolute_diagonal, absolute_plans)
                waa += self._square_sum(yb, tb, p0, p1)
            wbb += self._square_sum(B[p0:p1], tb, p0, p1)
        return np.array([rr, wrr, waa, wbb])


def residual_sums(
    X: np.ndarray,
    B: np.ndarray,
    weights: Sequence[np.ndarray],
    diagonal: Any,
    plans: list,
    absolute: tuple,
    work: np.ndarray,
) -> np.ndarray:
    """Return ``Σ r²``, ``Σ w r²``, ``Σ w (|A||x|)²`` and ``Σ w b²`` of ``r = b - A x``, one pass.

    ``r`` is :func:`block_into`'s ``A x`` subtracted from ``b``, as
    ``matvec_into`` computes it, to the bit.  ``|A||x|`` is ``max(2 D |x| - A
    |x|, 0)`` with ``A |x| = ±A x`` (the ``A x`` of the residual) where ``A``
    is a Z-matrix with a constant diagonal and ``x`` has one sign (the
    certifier's formula for a Z-matrix, to the bit); else the absolute
    coefficients applied to ``|x|``.  From :data:`THREADED_SIZE` entries the
    planes are split into two halves of whole blocks, one per thread (numpy
    releases the GIL in its loops): 27 -> 17 ms at 127³ on 2 quiet cores (slower
    when the other core is busy, like the fast solve's second FFT worker).

    Parameters
    ----------
    X, B : ndarray
        ``x`` and ``b``, grid-shaped, C-contiguous float64.
    weights : sequence of ndarray
        One weight vector per axis (``W`` is their outer product).
    diagonal, plans : float or ndarray, list
        The apply's diagonal and :func:`axis_plan` per axis.
    absolute : tuple
        :func:`absolute_set_up` of them.
    work : ndarray, shape (2, block planes, ...)
        Two block-sized work arrays.
    """
    z_matrix = absolute[2]
    sign = 0.0
    if z_matrix:
        sign = 1.0 if X.min() >= 0.0 else (-1.0 if X.max() <= 0.0 else 0.0)
    w0 = np.asarray(weights[0], dtype=np.float64)
    rest = np.ones(1)
    for v in weights[1:]:
        rest = np.multiply.outer(rest, np.asarray(v, dtype=np.float64))
    rest = rest.reshape(-1)
    uniform = bool(np.all(w0 == w0[0]) and np.all(rest == rest[0]))
    task = _ResidualPass(
        X=X,
        B=B,
        absx=None if sign else np.abs(X),
        twice=2.0 * sign * diagonal if sign else 0.0,
        sign=sign,
        diagonal=diagonal,
        plans=plans,
        absolute=absolute,
        w0=w0,
        rest=rest,
        uniform=uniform,
    )
    n0, size = X.shape[0], work.shape[1]
    pool = second_thread() if X.size >= THREADED_SIZE and n0 >= 2 * size else None
    if pool is None:
        total = task.sums(0, n0, size, work)
    else:  # two halves of whole blocks, the second in the other thread with its own work
        half = (n0 // size // 2) * size
        other = pool.submit(task.sums, half, n0, size, np.empty_like(work))
        total = task.sums(0, half, size, work) + other.result()
    if uniform:
        total[1:] *= float(w0[0] * rest[0])
    return total
