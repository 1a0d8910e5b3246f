"""The PETSc rows of a curvilinear grid: each rank's rows of the assembled ``Â``.

A curvilinear grid without a shared axis or pole point (its ``r`` and pole
axes cell-centred, or no axis at all) is a box of unknowns like a Cartesian
one: the DMDA splits it and each rank takes its box's rows of the flux form's
``Â`` (:mod:`kronpde.problem.curvilinear`), columns renumbered in the ghosted
box.  A node-centred axis or pole point is one unknown shared by every line
through it, which is no row of a DMDA: the backend refuses it and names the
cell-centred axis that avoids it (``docs/curvilinear.md``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from kronpde.errors import SolverError
from kronpde.problem.curvilinear import shared_point_refusal

__all__ = ["curvilinear_arguments", "curvilinear_rows"]


def curvilinear_arguments(setup: Any) -> tuple[Any, ...]:
    """Return the arguments of :func:`curvilinear_rows` before the box (or refuse the grid).

    Raises
    ------
    SolverError
        For a node-centred axis or pole point (shared by every line through it).
    """
    p = setup.problem
    grid = p.grid
    if len(grid.shape) != grid.dimension:
        msg = f"petsc backend: {shared_point_refusal(grid)}"
        raise SolverError(msg)
    setup.k_min = 1.0  # the bound is the problem's own (own_eigenvalue)
    periodic = [a.periodic for a in grid.axes]
    return (p.operator(symmetric=True), grid.shape, periodic)


def curvilinear_rows(
    matrix: sp.csr_array,
    shape: Sequence[int],
    periodic: Sequence[bool],
    lo: Sequence[int],
    hi: Sequence[int],
    base: Sequence[int],
    extent: Sequence[int],
    *,
    wrap: bool = False,
    index_dtype: Any = np.int64,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the box's rows of ``matrix`` (C order of the box), the diagonal first.

    Columns are numbered in the ghosted box ``base, extent`` (C order); a
    periodic wrap lands on the ghost image (``-1`` or ``n``), as the DMDA has it.
    """
    d = len(shape)
    grids = np.meshgrid(*[np.arange(a, b) for a, b in zip(lo, hi, strict=True)], indexing="ij")
    rows = np.ravel_multi_index(tuple(g.reshape(-1) for g in grids), tuple(shape))
    sub = sp.csr_array(matrix[rows])
    sub.sort_indices()
    counts = np.diff(sub.indptr)
    row_of = np.repeat(np.arange(rows.size), counts)
    cols = np.unravel_index(sub.indices, tuple(shape))
    here = np.unravel_index(rows[row_of], tuple(shape))
    column = np.zeros(sub.indices.size, dtype=np.int64)
    strides = [math.prod(extent[a + 1 :]) for a in range(d)]
    for a in range(d):
        offset = cols[a] - here[a]
        if periodic[a] and not wrap:
            n = shape[a]
            offset = np.where(offset > 1, offset - n, np.where(offset < -1, offset + n, offset))
        position = here[a] + offset - base[a]
        if np.any((position < 0) | (position >= extent[a])):
            msg = f"curvilinear_rows: axis {a}: a coupling leaves the ghosted box"
            raise ValueError(msg)
        column += position * strides[a]
    diagonal = sub.indices == rows[row_of]
    order = np.lexsort((~diagonal, row_of))  # per row: the diagonal first
    return (
        sub.indptr.astype(np.int64),
        column[order].astype(index_dtype),
        np.asarray(sub.data)[order],
    )
