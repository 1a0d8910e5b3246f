"""The N-D operator of a Kronecker sum: CSR assembly, right-hand side, matrix-free apply.

For 1-D operators ``T_0, ..., T_{d-1}`` (one per axis, see
:mod:`kronpde.stencils`) the N-D operator on the C-ordered unknowns is the
Kronecker sum

    A = sum_i I ⊗ ... ⊗ T_i ⊗ ... ⊗ I  +  c I,

``T_0`` acting on the slowest axis (``np.kron`` ordering; note that
``scipy.sparse.kronsum(A, B)`` puts its *first* argument on the *last* axis).

Assembly writes the diagonals of the banded matrix with broadcasting and
converts them to CSR once (see :func:`assemble`): no COO triplets, no
per-term matrices, no sum of duplicates.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator

from kronpde.stencils import AxisOperator

#: Target size in bytes of one block of the cache-blocked matrix-free apply.
BLOCK_BYTES = 1 << 20


def _bshape(d: int, i: int, n: int) -> tuple[int, ...]:
    shape = [1] * d
    shape[i] = n
    return tuple(shape)


def assemble(ops: Sequence[AxisOperator], shift: float = 0.0) -> sp.csr_array:
    """Assemble the Kronecker sum ``sum_i I ⊗ ... ⊗ T_i ⊗ ... ⊗ I + shift*I`` as CSR.

    Parameters
    ----------
    ops : sequence of AxisOperator
        The 1-D operators, axis 0 (slowest) first.
    shift : float
        The multiple of the identity added (``c``).

    Returns
    -------
    scipy.sparse.csr_array
        Shape ``(N, N)`` with ``N = prod(n_i)``, canonical (sorted column
        indices, no duplicates, no explicit zeros), int32 indices where they fit.

    Notes
    -----
    A Kronecker sum of tridiagonal(-with-wrap) operators is a banded matrix
    with the offsets ``0``, ``±s_i`` and, on a periodic axis, ``±(n_i-1) s_i``
    (``s_i`` the stride of axis ``i``).  Each diagonal is the 1-D operator's
    coefficient pattern along axis ``i`` broadcast over the other axes, so it
    is written with one contiguous broadcast copy; scipy's compiled DIA to CSR
    conversion then drops the zeros (rows next to a Dirichlet face) once.  Peak
    memory is the final CSR plus the diagonals (about 0.7 of the CSR in 3-D).

    Examples
    --------
    >>> from kronpde import Axis
    >>> from kronpde.stencils import second_difference
    >>> a = assemble([second_difference(Axis(3)), second_difference(Axis(2))])
    >>> a.shape, a.nnz
    ((2, 2), 4)
    """
    ops = list(ops)
    d = len(ops)
    shape = tuple(op.n for op in ops)
    n_total = math.prod(shape)
    strides = [math.prod(shape[i + 1 :]) for i in range(d)]

    # offset -> 1-D pattern along one axis (DIA convention: the entry in column j)
    patterns: dict[int, list[tuple[int, np.ndarray]]] = {}
    for i, op in enumerate(ops):
        n, s = op.n, strides[i]
        low = np.zeros(n)  # row r -> column r - 1, stored at column r - 1
        low[:-1] = op.lower[1:]
        up = np.zeros(n)  # row r -> column r + 1, stored at column r + 1
        up[1:] = op.upper[:-1]
        patterns.setdefault(-s, []).append((i, low))
        patterns.setdefault(s, []).append((i, up))
        if op.periodic and n > 1:
            wrap_low = np.zeros(n)  # row 0 -> column n - 1
            wrap_low[-1] = op.lower[0]
            wrap_up = np.zeros(n)  # row n - 1 -> column 0
            wrap_up[0] = op.upper[-1]
            patterns.setdefault((n - 1) * s, []).append((i, wrap_low))
            patterns.setdefault(-(n - 1) * s, []).append((i, wrap_up))
    patterns.setdefault(0, [])
    offsets = sorted(patterns)
    data = np.empty((len(offsets), n_total))
    for k, off in enumerate(offsets):
        row = data[k].reshape(shape)
        if off == 0:
            row.fill(shift)
            for i, op in enumerate(ops):
                row += op.diag.reshape(_bshape(d, i, op.n))
        else:
            row.fill(0.0)
        # n_i <= 2 on a periodic axis folds a wrap offset onto an ordinary one
        for i, pattern in patterns[off]:
            row += pattern.reshape(_bshape(d, i, pattern.size))
    a = sp.dia_array((data, np.array(offsets)), shape=(n_total, n_total)).tocsr()
    del data
    return a


def kron_weights(ops: Sequence[AxisOperator]) -> np.ndarray:
    """The N-D trapezoid weights ``W = W_0 ⊗ W_1 ⊗ ...`` as an array of shape ``(n_0, ...)``."""
    w = np.ones(())
    for op in ops:
        w = np.multiply.outer(w, op.weights)
    return w


class KronSumOperator(LinearOperator):
    """Matrix-free Kronecker sum ``sum_i I ⊗ ... ⊗ T_i ⊗ ... ⊗ I + shift*I``.

    Each 1-D operator is applied along its axis of the C-ordered N-D array
    (the vec identity ``(A ⊗ B) vec(X) = vec(B X A^T)`` in general form) with
    numpy slicing, never forming the matrix.

    Parameters
    ----------
    ops : sequence of AxisOperator
        The 1-D operators, axis 0 first.
    shift : float
        Multiple of the identity added.

    Notes
    -----
    Speed comes from doing few passes over memory, each in cache:

    * the diagonal ``shift + sum_i diag_i`` is precomputed once (one array of
      the grid's size, a tenth of the CSR matrix in 3-D), or kept as a number
      when it is constant;
    * on the rows of an axis where both neighbour coefficients equal one
      constant ``a`` (all rows but a few next to the faces on a uniform axis)
      the term is ``a * (x[r-1] + x[r+1])``: one add and one scaled add; the
      remaining rows (Neumann/Robin rows, wrap-around) are done one slab each;
    * the work runs over blocks of planes along axis 0 of about
      :data:`BLOCK_BYTES`, so a block receives all its terms while it is in
      cache.

    Besides ``matvec`` it offers ``matvec_into(x, out)``, which writes into a
    preallocated ``out`` (used by :func:`kronpde.solvers.cg.cg`).
    """

    def __init__(self, ops: Sequence[AxisOperator], shift: float = 0.0):
        self.ops = tuple(ops)
        self.shift = float(shift)
        self.grid_shape = tuple(op.n for op in self.ops)
        n = math.prod(self.grid_shape)
        super().__init__(dtype=np.float64, shape=(n, n))
        d = len(self.ops)
        diagonal = np.full(self.grid_shape, self.shift)
        for i, op in enumerate(self.ops):
            diagonal += op.diag.reshape(_bshape(d, i, op.n))
        first = diagonal.flat[0]
        self._diagonal = float(first) if np.all(diagonal == first) else diagonal
        plane = math.prod(self.grid_shape[1:])
        self._block = max(1, min(self.grid_shape[0], BLOCK_BYTES // (8 * plane)))
        self._tmp = np.empty((self._block, *self.grid_shape[1:]))
        self._plans = [self._plan(op) for op in self.ops]

    @staticmethod
    def _plan(op: AxisOperator):
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

    def matvec_into(self, x: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Compute ``out = A @ x`` without allocating; ``out`` must not alias ``x``."""
        shape = self.grid_shape
        X = x.reshape(shape)
        Y = out.reshape(shape)
        n0 = shape[0]
        d = len(shape)
        diagonal = self._diagonal
        scalar_diagonal = isinstance(diagonal, float)
        for p0 in range(0, n0, self._block):
            p1 = min(p0 + self._block, n0)
            xb, yb, tb = X[p0:p1], Y[p0:p1], self._tmp[: p1 - p0]
            np.multiply(xb, diagonal if scalar_diagonal else diagonal[p0:p1], out=yb)
            for i in range(1, d):
                self._axis_terms(xb, yb, tb, i, self._plans[i])
            # axis 0: rows p0..p1-1 of the whole array, neighbours may lie outside the block
            a, lo, hi, special = self._plans[0]
            r0, r1 = max(p0, lo), min(p1, hi)
            if r0 < r1:
                t = tb[: r1 - r0]
                np.add(X[r0 - 1 : r1 - 1], X[r0 + 1 : r1 + 1], out=t)
                t *= a
                Y[r0:r1] += t
            for r, terms in special:
                if p0 <= r < p1:
                    for coef, src in terms:  # length-1 slices stay views in 1-D too
                        np.multiply(X[src : src + 1], coef, out=tb[:1])
                        Y[r : r + 1] += tb[:1]
        return out

    @staticmethod
    def _axis_terms(xb, yb, tb, i, plan) -> None:
        """Add the off-diagonal terms of axis ``i >= 1`` inside one block."""
        a, lo, hi, special = plan
        d = xb.ndim

        def at(index):
            full = [slice(None)] * d
            full[i] = index
            return tuple(full)

        if lo < hi:
            t = tb[at(slice(lo, hi))]
            np.add(xb[at(slice(lo - 1, hi - 1))], xb[at(slice(lo + 1, hi + 1))], out=t)
            t *= a
            yb[at(slice(lo, hi))] += t
        for r, terms in special:
            t = tb[at(slice(r, r + 1))]
            for coef, src in terms:
                np.multiply(xb[at(slice(src, src + 1))], coef, out=t)
                yb[at(slice(r, r + 1))] += t

    def _matvec(self, x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=float).reshape(-1)
        out = np.empty_like(x)
        return self.matvec_into(x, out)

    def _rmatvec(self, x: np.ndarray) -> np.ndarray:
        return self.transpose_operator()._matvec(x)

    def transpose_operator(self) -> KronSumOperator:
        """The transposed Kronecker sum (each 1-D operator transposed)."""
        ops = []
        for op in self.ops:
            # (T^T)[r, r-1] = T[r-1, r] = upper[r-1]; (T^T)[r, r+1] = T[r+1, r] = lower[r+1]
            lower = np.roll(op.upper, 1)
            upper = np.roll(op.lower, -1)
            if not op.periodic:
                lower[0] = 0.0
                upper[-1] = 0.0
            ops.append(AxisOperator(op.diag, lower, upper, op.periodic, op.weights, op.lift))
        return KronSumOperator(ops, self.shift)
