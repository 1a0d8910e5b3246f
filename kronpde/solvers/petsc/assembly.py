"""The rows of one box of unknowns, from the 1-D stencils or the variable-coefficient rows.

Pure numpy, no PETSc: every MPI rank calls these functions for the box of
unknowns it owns (``lo[a] <= j < hi[a]``), with the coefficients the serial
operators use, and gets its rows in CSR form with columns numbered in an index
box of its choice (the whole grid, or its ghosted box).  ``docs/petsc.md``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from kronpde.operators.stencils import AxisOperator

__all__ = [
    "box_csr",
    "box_shape",
    "box_slices",
    "compact_box_rows",
    "rows_csr",
    "stencil_csr",
]


def box_shape(lo: Sequence[int], hi: Sequence[int]) -> tuple[int, ...]:
    """Shape ``hi - lo`` of a box of unknowns."""
    return tuple(int(h) - int(low) for low, h in zip(lo, hi, strict=True))


def box_slices(lo: Sequence[int], hi: Sequence[int]) -> tuple[slice, ...]:
    """Return the box as an index into the array of unknowns (shape ``grid.shape``)."""
    return tuple(slice(int(low), int(h)) for low, h in zip(lo, hi, strict=True))


def _along(values: np.ndarray, axis: int, d: int) -> np.ndarray:
    """Return a 1-D array shaped to broadcast along ``axis`` of a ``d``-D array."""
    shape = [1] * d
    shape[axis] = values.size
    return values.reshape(shape)


def box_csr(
    ops: Sequence[AxisOperator],
    shift: float,
    lo: Sequence[int],
    hi: Sequence[int],
    base: Sequence[int] | None = None,
    extent: Sequence[int] | None = None,
    *,
    wrap: bool = True,
    index_dtype: np.dtype | type = np.int64,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the rows of a box of unknowns of the Kronecker sum, in CSR form.

    Parameters
    ----------
    ops : sequence of AxisOperator
        The 1-D operators, axis 0 (slowest) first (e.g.
        ``problem.symmetric_axis_operators``).
    shift : float
        ``c``, added to the diagonal.
    lo, hi : sequence of int
        The box of rows: ``lo[a] <= j_a < hi[a]``.  Rows come in C order of
        the box.
    base, extent : sequence of int, optional
        The index box that numbers the columns: column ``(k_0, ...)`` is
        ``sum_a (k_a - base[a]) * stride_a`` with C-order strides of
        ``extent``.  Default: the whole grid (``base = 0``,
        ``extent = (op.n for op in ops)``), i.e. the natural C-order index.
    wrap : bool
        Whether a neighbour across the end of a periodic axis is wrapped to
        ``k mod n`` (True: natural numbering) or kept as ``-1`` / ``n``, the
        ghost images a periodic DMDA keeps in its ghosted box (False).
    index_dtype : dtype
        Integer type of the column numbers (PETSc's ``IntType`` for PETSc;
        it must hold ``prod(extent)``).

    Returns
    -------
    indptr : ndarray of int64, shape (m + 1,)
        ``m = prod(hi - lo)`` rows.
    indices : ndarray of ``index_dtype``, shape (nnz,)
        Column numbers in the index box, diagonal first in every row, then
        axis by axis the lower and upper neighbour.
    data : ndarray of float64, shape (nnz,)
        The coefficients.  Zero off-diagonal coefficients (a non-periodic end,
        a folded periodic axis with ``n <= 2``) are left out; the diagonal is
        always present.

    Raises
    ------
    ValueError
        If a non-zero coupling reaches outside the index box (the index box
        does not cover the box's neighbours), or the column numbers do not
        fit ``index_dtype``.

    Examples
    --------
    >>> from kronpde import Axis
    >>> from kronpde.operators.stencils import second_difference
    >>> ops = [second_difference(Axis(4))]  # 3 unknowns, Dirichlet at both ends
    >>> indptr, indices, data = box_csr(ops, 0.0, [1], [3])  # rows 1 and 2
    >>> indptr.tolist(), indices.tolist(), data.tolist()
    ([0, 3, 5], [1, 0, 2, 2, 1], [32.0, -16.0, -16.0, 32.0, -16.0])
    """
    ops = list(ops)
    d = len(ops)
    lo = [int(v) for v in lo]
    hi = [int(v) for v in hi]
    if not (len(lo) == len(hi) == d):
        msg = f"box_csr: lo and hi need {d} entries each"
        raise ValueError(msg)
    diag = np.full((1,) * d, float(shift))
    for a, op in enumerate(ops):
        diag = diag + _along(op.diag[lo[a] : hi[a]], a, d)
    couplings = [
        (_along(op.lower[lo[a] : hi[a]], a, d), _along(op.upper[lo[a] : hi[a]], a, d))
        for a, op in enumerate(ops)
    ]
    return rows_csr(
        diag,
        couplings,
        [op.n for op in ops],
        [op.periodic for op in ops],
        lo,
        hi,
        base,
        extent,
        wrap=wrap,
        index_dtype=index_dtype,
    )


def rows_csr(
    diagonal: np.ndarray,
    couplings: Sequence[tuple[np.ndarray, np.ndarray]],
    n: Sequence[int],
    periodic: Sequence[bool],
    lo: Sequence[int],
    hi: Sequence[int],
    base: Sequence[int] | None = None,
    extent: Sequence[int] | None = None,
    *,
    wrap: bool = True,
    index_dtype: np.dtype | type = np.int64,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return rows of a star stencil in CSR form, from their coefficients on the box.

    :func:`box_csr` for any coefficients: those of a Kronecker sum
    (broadcast from the 1-D stencils) or of the variable-coefficient flux form
    (:class:`kronpde.operators.flux.VariableBox`).

    Parameters
    ----------
    diagonal : ndarray
        The diagonal of the box's rows (broadcastable to its shape ``hi - lo``).
    couplings : sequence of (ndarray, ndarray)
        Per axis ``a``, the coefficients towards ``j_a - 1`` and ``j_a + 1``
        (broadcastable to the box's shape).
    n : sequence of int
        The grid's unknowns per axis.
    periodic : sequence of bool
        Whether each axis wraps.
    lo, hi, base, extent, wrap, index_dtype
        As for :func:`box_csr`.

    Returns
    -------
    indptr, indices, data : ndarray
        As for :func:`box_csr`.

    Raises
    ------
    ValueError
        As for :func:`box_csr`.
    """
    d = len(n)
    if len(couplings) != d:
        msg = f"box_csr: the couplings need {d} entries, one per axis, got {len(couplings)}"
        raise ValueError(msg)
    # the star stencil's offsets, in the order of the rows' entries: the diagonal, then
    # per axis the neighbours at -1 and +1
    coefficients: dict[tuple[int, ...], Any] = {(0,) * d: diagonal}
    for a, pair in enumerate(couplings):
        for step, coef in zip((-1, 1), pair, strict=True):
            offset = [0] * d
            offset[a] = step
            coefficients[tuple(offset)] = coef
    return stencil_csr(
        coefficients, n, periodic, lo, hi, base, extent, wrap=wrap, index_dtype=index_dtype
    )


def compact_box_rows(
    scheme: Any, lo: Sequence[int], hi: Sequence[int]
) -> dict[tuple[int, ...], np.ndarray]:
    """Return the rows of a box of the fourth-order compact operator, by stencil offset.

    The compact operator (:class:`kronpde.operators.compact.CompactScheme`) is a polynomial
    in the 1-D operators: ``c + Σ_i (1 - c a_i) T_i - Σ_{i<j} (a_i + a_j) T_i T_j``
    plus the Robin faces' terms ``γ E_n (Σ_t T_t + c)`` (``E_n`` the projection
    onto a face's row).  A row of a product of 1-D factors along different
    axes is the product of their rows, so the coefficient of row
    ``(j_0, ...)`` towards ``(j_0 + o_0, ...)`` (``o_a`` in ``-1, 0, 1``) is a
    sum over the terms of products of the factors' entries ``T_a[j_a, j_a + o_a]``
    (``lower``, ``diag``, ``upper`` of the :class:`~kronpde.operators.stencils.AxisOperator`,
    row by row), of the identity (``o_a = 0``), or of ``E`` (``o_a = 0`` on
    the face's row).  Nothing outside the box's rows of the 1-D operators is used.

    Parameters
    ----------
    scheme : CompactScheme
        The scheme whose operator to take (``problem.scheme.symmetrized()`` for ``Â``).
    lo, hi : sequence of int
        The box of rows.

    Returns
    -------
    dict of tuple to ndarray
        Offset ``(o_0, ...)`` to the coefficients of the box's rows (shape
        ``hi - lo``), the diagonal ``(0, ...)`` first; a periodic axis with more
        than two unknowns wraps (the offset names the neighbour across the end).

    Examples
    --------
    The interior row of the 2-D scheme (``k = 1``, equal spacing) is
    ``(1/6h²)[-1 -4 -1; -4 20 -4; -1 -4 -1]``:

    >>> from kronpde import Grid, Problem
    >>> p = Problem(Grid.box([6, 6]), 1.0, order=4)
    >>> rows = compact_box_rows(p.scheme, [2, 2], [3, 3])
    >>> [round(float(rows[o][0, 0]) * 6 / 36, 12) for o in [(0, 0), (0, 1), (1, 1)]]
    [20.0, -4.0, -1.0]
    """
    d = len(scheme.ops)
    lo = [int(v) for v in lo]
    hi = [int(v) for v in hi]
    shape = box_shape(lo, hi)
    rows = [np.arange(lo[a], hi[a]) for a in range(d)]
    out: dict[tuple[int, ...], np.ndarray] = {(0,) * d: np.zeros(shape)}

    def entries(a: int, factor: AxisOperator) -> dict[int, np.ndarray]:
        box = slice(lo[a], hi[a])
        return {-1: factor.lower[box], 0: factor.diag[box], 1: factor.upper[box]}

    def projection(a: int, row: int) -> np.ndarray:
        return (rows[a] == row).astype(float)

    for offset, value in scheme.products(entries, projection):
        if offset not in out:
            out[offset] = np.zeros(shape)
        out[offset] += value
    return out


def stencil_csr(
    coefficients: Mapping[tuple[int, ...], np.ndarray],
    n: Sequence[int],
    periodic: Sequence[bool],
    lo: Sequence[int],
    hi: Sequence[int],
    base: Sequence[int] | None = None,
    extent: Sequence[int] | None = None,
    *,
    wrap: bool = True,
    index_dtype: np.dtype | type = np.int64,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return rows of a box stencil (offsets in ``-1, 0, 1`` per axis) in CSR form.

    :func:`rows_csr` for any offsets: the 9-point (2-D) and 19-point (3-D)
    rows of the fourth-order scheme (:func:`compact_box_rows`).

    Parameters
    ----------
    coefficients : mapping of tuple to ndarray
        Offset ``(o_0, ...)`` to the coefficients of the box's rows towards
        ``(j_0 + o_0, ...)`` (broadcastable to the box's shape); it must hold
        the diagonal ``(0, ...)``.
    n, periodic, lo, hi, base, extent, wrap, index_dtype
        As for :func:`rows_csr`.

    Returns
    -------
    indptr, indices, data : ndarray
        As for :func:`box_csr`: the diagonal first in every row, zero
        off-diagonal coefficients left out.

    Raises
    ------
    ValueError
        If a non-zero coupling reaches outside the index box, or the column
        numbers do not fit ``index_dtype``.
    """
    d = len(n)
    n = [int(v) for v in n]
    lo = [int(v) for v in lo]
    hi = [int(v) for v in hi]
    base = [0] * d if base is None else [int(v) for v in base]
    extent = list(n) if extent is None else [int(v) for v in extent]
    if not (len(lo) == len(hi) == len(base) == len(extent) == d):
        msg = f"box_csr: lo, hi, base and extent need {d} entries each"
        raise ValueError(msg)
    index_dtype = np.dtype(index_dtype)
    if math.prod(extent) > np.iinfo(index_dtype).max:
        msg = f"box_csr: an index box of {math.prod(extent)} entries does not fit {index_dtype}"
        raise ValueError(msg)
    centre = (0,) * d
    offsets = [centre, *(o for o in coefficients if o != centre)]
    shape = box_shape(lo, hi)
    m = math.prod(shape)
    strides = [math.prod(extent[a + 1 :]) for a in range(d)]
    ncol = len(offsets)
    values = np.empty((m, ncol))
    columns = np.empty((m, ncol), dtype=index_dtype)
    entry_values = values.reshape(*shape, ncol)
    entry_columns = columns.reshape(*shape, ncol)
    for e, offset in enumerate(offsets):
        c = np.broadcast_to(coefficients[offset], shape)
        column = np.zeros((1,) * d, dtype=index_dtype)
        for a in range(d):
            target = np.arange(lo[a], hi[a]) + offset[a]
            if wrap and periodic[a]:
                target %= n[a]
            within = (target >= base[a]) & (target < base[a] + extent[a])
            if np.any((c != 0.0) & ~_along(within, a, d)):
                msg = (
                    f"box_csr: axis {a}: a coupling of the box [{lo[a]}, {hi[a]}) towards "
                    f"offset {offset} leaves the index box [{base[a]}, {base[a] + extent[a]})"
                )
                raise ValueError(msg)
            # outside the index box the coefficient is 0: any column number does there
            position = np.where(within, target - base[a], 0) * strides[a]
            column = column + _along(position.astype(index_dtype), a, d)
        entry_values[..., e] = c
        entry_columns[..., e] = column
    keep = values != 0.0
    keep[:, 0] = True
    indptr = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(np.count_nonzero(keep, axis=1), out=indptr[1:])
    return indptr, columns[keep], values[keep]
