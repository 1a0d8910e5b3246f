"""Banded operators on C-ordered grid arrays: assembly from bands, and the blocked apply.

The N-D operators of kronpde (the Kronecker sum of :mod:`kronpde.operators.kronsum`,
the variable-coefficient operator of :mod:`kronpde.operators.flux`) couple each
unknown only to its neighbours along the axes, so in C order they are banded
matrices with the offsets ``0``, ``±s_i`` and, on a periodic axis,
``±(n_i - 1) s_i`` (``s_i`` the stride of axis ``i``).  Both are built and
applied with the two mechanisms of this module:

* :func:`csr_from_bands` writes the bands (each a grid-shaped array, filled by
  broadcasting slabs or 1-D patterns) and converts the DIA matrix to CSR once:
  no COO triplets, no per-term matrices, no sum of duplicates;
* :class:`PlaneBlocks` runs a matrix-free apply over blocks of consecutive
  planes along axis 0 of about :data:`BLOCK_BYTES`, with one block-sized work
  array, so that a block receives all its terms while it is in cache.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike

__all__ = ["BLOCK_BYTES", "PlaneBlocks", "axis_index", "csr_from_bands"]

#: Target size in bytes of one block of planes in the blocked matrix-free apply.
#: About the size of a core's share of the last-level cache: the block and its
#: work array stay there while every axis adds its terms.
BLOCK_BYTES = 1 << 20


def axis_index(ndim: int, axis: int, index: int | slice) -> tuple[int | slice, ...]:
    """Return the index tuple that takes ``index`` along ``axis`` and everything elsewhere.

    Parameters
    ----------
    ndim : int
        Number of dimensions of the indexed array.
    axis : int
        The axis that ``index`` applies to.
    index : int or slice
        What to take along ``axis``.

    Returns
    -------
    tuple
        ``(slice(None), ..., index, ..., slice(None))``.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.arange(6).reshape(2, 3)
    >>> a[axis_index(2, 1, slice(0, 1))]
    array([[0],
           [3]])
    """
    full: list[int | slice] = [slice(None)] * ndim
    full[axis] = index
    return tuple(full)


def csr_from_bands(
    shape: tuple[int, ...],
    terms: Iterable[tuple[int, tuple[int | slice, ...], ArrayLike]],
) -> sp.csr_array:
    """Assemble a banded operator on a C-ordered grid from additive band terms.

    The matrix has one band per distinct offset.  A band is stored the DIA
    way, as a grid-shaped array ``band`` whose entry at (the grid position of)
    column ``c`` is ``A[c - offset, c]``.  Each term ``(offset, index, values)``
    adds ``values`` (broadcast) to ``band[index]`` of its offset; terms with the
    same offset add up, so coinciding offsets (a periodic wrap on an axis of
    two nodes) need no special case.  The bands are written into one array and
    converted to CSR once by scipy's compiled DIA to CSR conversion, which also
    drops the zeros (e.g. the couplings across a Dirichlet face).  Peak memory
    is the final CSR plus the bands (about 0.7 of the CSR in 3-D).

    Parameters
    ----------
    shape : tuple of int
        The grid shape; the matrix is ``N x N`` with ``N = prod(shape)``.
    terms : iterable of (int, tuple, array_like)
        ``(offset, index, values)``: the column offset of the band, an index
        into the grid-shaped band (``()`` for all of it) and the values added
        there (anything that broadcasts to ``band[index]``).

    Returns
    -------
    scipy.sparse.csr_array
        Shape ``(N, N)``, canonical (sorted column indices, no duplicates, no
        explicit zeros), int32 indices where they fit.

    Examples
    --------
    >>> import numpy as np
    >>> two = np.full(3, 2.0)
    >>> a = csr_from_bands((3,), [(0, (), two), (1, (slice(1, None),), -1.0),
    ...                           (-1, (slice(None, -1),), -1.0)])
    >>> a.toarray()
    array([[ 2., -1.,  0.],
           [-1.,  2., -1.],
           [ 0., -1.,  2.]])
    """
    terms = list(terms)
    n_total = math.prod(shape)
    offsets = sorted({off for off, _, _ in terms} | {0})
    row_of = {off: k for k, off in enumerate(offsets)}
    data = np.zeros((len(offsets), n_total))
    for off, index, values in terms:
        band = data[row_of[off]].reshape(shape)
        band[index] += values
    a = sp.dia_array((data, np.array(offsets)), shape=(n_total, n_total)).tocsr()
    del data
    return a


class PlaneBlocks:
    """Blocks of consecutive planes along axis 0 of a grid array, with one work array.

    Iterating yields ``(p0, p1, work)`` for the planes ``p0 <= r < p1`` of each
    block in order, ``work`` a C-contiguous view of the work array with the
    block's shape.  A block holds ``max(1, BLOCK_BYTES // plane_bytes)`` planes
    (at most the whole grid), so that the block of ``x``, the block of ``y``
    and the work array stay in cache while every term is added.  The work
    array is reused by every iteration and every apply: one operator must not
    run two applies at the same time (threads).

    Parameters
    ----------
    grid_shape : tuple of int
        The shape of the C-ordered grid array, axis 0 first.
    dtype : numpy dtype, optional
        The work array's dtype (default float64).

    Attributes
    ----------
    size : int
        Planes per block (the last block may hold fewer).
    work : numpy.ndarray, shape (size, *grid_shape[1:])
        The work array.

    Examples
    --------
    >>> import numpy as np
    >>> blocks = PlaneBlocks((5, 3))
    >>> [(p0, p1, w.shape) for p0, p1, w in blocks]
    [(0, 5, (5, 3))]
    """

    def __init__(self, grid_shape: tuple[int, ...], dtype: np.dtype | type = np.float64):
        self.grid_shape = tuple(grid_shape)
        n0 = self.grid_shape[0]
        plane_bytes = math.prod(self.grid_shape[1:]) * np.dtype(dtype).itemsize
        self.size = max(1, min(n0, BLOCK_BYTES // max(plane_bytes, 1)))
        self.work = np.empty((self.size, *self.grid_shape[1:]), dtype=dtype)

    def __iter__(self) -> Iterator[tuple[int, int, np.ndarray]]:
        """Yield ``(p0, p1, work)`` for each block of planes."""
        n0 = self.grid_shape[0]
        for p0 in range(0, n0, self.size):
            p1 = min(p0 + self.size, n0)
            yield p0, p1, self.work[: p1 - p0]
