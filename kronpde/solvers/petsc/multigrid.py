"""Geometric multigrid on the grid's own nodes: the coarse grids and the interpolation, per box.

Pure numpy, no PETSc: :mod:`kronpde.solvers.petsc.setup` builds PETSc's ``PCMG``
(``pc="mg"``) from these pieces, each rank the rows of the interpolation of the
box of fine unknowns it owns.  The coarsening and the interpolation:
``docs/petsc.md``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np

from kronpde.geometry.boundary import Dirichlet
from kronpde.geometry.grid import Axis

__all__ = [
    "COARSE_UNKNOWNS",
    "MIN_CELLS",
    "box_interpolation",
    "coarse_axis",
    "interpolation_1d",
    "kept_nodes",
    "levels",
]

#: An axis with fewer cells is not coarsened.
MIN_CELLS = 4

#: Levels are added until the coarsest grid has at most this many unknowns (its solve is direct).
COARSE_UNKNOWNS = 1000


def kept_nodes(m: int) -> np.ndarray:
    """Return the fine nodes a coarse axis keeps: every other one, and the last."""
    return np.unique(np.r_[np.arange(0, m + 1, 2), m])


def coarse_axis(axis: Axis) -> Axis:
    """Return the axis with every other node (and the last), the same faces.

    Parameters
    ----------
    axis : Axis
        The fine axis.

    Returns
    -------
    Axis
        ``ceil(cells / 2)`` cells; the fine axis itself if it has fewer than
        :data:`MIN_CELLS` cells.

    Examples
    --------
    >>> from kronpde import Axis
    >>> coarse_axis(Axis(5, 0.0, 1.0)).nodes.tolist()
    [0.0, 0.4, 0.8, 1.0]
    """
    if axis.cells < MIN_CELLS:
        return axis
    nodes = axis.nodes[kept_nodes(axis.cells)]
    return Axis(
        nodes.size - 1,
        axis.lower,
        axis.upper,
        axis.lower_bc,
        axis.upper_bc,
        tuple(nodes),
        axis.centering,
    )


def levels(axes: Sequence[Axis], coarse_unknowns: int | None = None) -> list[tuple[Axis, ...]]:
    """Return the axes of every level, the finest (``axes``) first.

    Parameters
    ----------
    axes : sequence of Axis
        The fine grid's axes.
    coarse_unknowns : int, optional
        Stop once a level has at most this many unknowns (default
        :data:`COARSE_UNKNOWNS`, read when called).

    Returns
    -------
    list of tuple of Axis
        At least one level (the fine one).

    Examples
    --------
    >>> from kronpde import Grid
    >>> [[a.cells for a in level] for level in levels(Grid.box([32, 12]).axes, 50)]
    [[32, 12], [16, 6], [8, 3]]
    """
    limit = COARSE_UNKNOWNS if coarse_unknowns is None else coarse_unknowns
    out = [tuple(axes)]
    while math.prod(a.n_unknowns for a in out[-1]) > limit:
        coarse = tuple(coarse_axis(a) for a in out[-1])
        if all(c is f for c, f in zip(coarse, out[-1], strict=True)):
            break
        out.append(coarse)
    return out


def interpolation_1d(fine: Axis, coarse: Axis) -> tuple[np.ndarray, np.ndarray]:
    """Return the interpolation of ``Â`` from a coarse axis to the fine one, two entries a row.

    Parameters
    ----------
    fine, coarse : Axis
        The fine axis and its :func:`coarse_axis`.

    Returns
    -------
    columns : ndarray of int, shape (n_fine, 2)
        The coarse unknowns left and right of each fine unknown.
    values : ndarray, shape (n_fine, 2)
        ``P̂ = D_f P D_c^{-1}`` there: the linear weights scaled by the square
        roots of the trapezoid weights (0, with column 0, towards a Dirichlet node).

    Examples
    --------
    Nodes 1 to 4 of 5 cells (Dirichlet faces) from the coarse nodes 0, 2, 4, 5
    (the coarse unknowns 0 and 1 are nodes 2 and 4); the weights of ``u``:

    >>> import numpy as np
    >>> from kronpde import Axis
    >>> fine = Axis(5, 0.0, 1.0)
    >>> coarse = coarse_axis(fine)
    >>> columns, values = interpolation_1d(fine, coarse)
    >>> weights = values * np.sqrt(coarse.weights)[columns] / np.sqrt(fine.weights)[:, None]
    >>> columns.tolist(), weights.round(3).tolist()
    ([[0, 0], [0, 0], [0, 1], [1, 0]], [[0.0, 0.5], [1.0, 0.0], [0.5, 0.5], [1.0, 0.0]])
    """
    if coarse is fine:
        n = fine.n_unknowns
        columns = np.stack([np.arange(n), np.zeros(n, dtype=int)], axis=1)
        return columns, np.stack([np.ones(n), np.zeros(n)], axis=1)
    if fine.cell_centred:
        columns, weights = _cell_weights(fine, coarse)
        scale = np.sqrt(fine.weights)[:, None] / np.sqrt(coarse.weights)[columns]
        return columns, weights * scale
    m, mc = fine.cells, coarse.cells
    kept = kept_nodes(m)
    j = fine.unknown_slice.start + np.arange(fine.n_unknowns)  # fine node of each unknown
    left = np.minimum(np.searchsorted(kept, j, side="right") - 1, mc - 1)  # coarse interval
    x = fine.nodes
    right_weight = (x[j] - x[kept[left]]) / (x[kept[left + 1]] - x[kept[left]])
    weights = np.stack([1.0 - right_weight, right_weight], axis=1)
    nodes = np.stack([left, left + 1], axis=1)  # coarse nodes
    if coarse.periodic:
        nodes %= mc  # node mc is node 0
    columns = nodes - coarse.unknown_slice.start
    valid = (columns >= 0) & (columns < coarse.n_unknowns) & (weights != 0.0)
    columns = np.where(valid, columns, 0)
    scale = np.sqrt(fine.weights)[:, None] / np.sqrt(coarse.weights)[columns]
    return columns, np.where(valid, weights * scale, 0.0)


def _cell_weights(fine: Axis, coarse: Axis) -> tuple[np.ndarray, np.ndarray]:
    """Return the linear interpolation of ``u`` between cell centres, two entries a row.

    Each fine cell lies in one coarse cell (the coarse faces are fine faces); its
    value is interpolated linearly between that coarse cell's centre and the
    next coarse centre on its side.  Beyond the outermost coarse centres a
    periodic axis wraps, a Dirichlet face interpolates towards the zero
    correction on the face itself, and a Neumann or Robin face extrapolates
    the boundary cell's value as a constant (so constants stay constants).
    """
    m, mc = fine.cells, coarse.cells
    kept = kept_nodes(m)
    centres, coarse_centres = fine.centres, coarse.centres
    j = np.arange(m)
    parent = np.minimum(np.searchsorted(kept, j, side="right") - 1, mc - 1)
    x = centres[j]
    here = coarse_centres[parent]
    step = np.where(x < here, -1, 1)
    other = parent + step
    columns = np.stack([parent, other], axis=1)
    weights = np.zeros((m, 2))
    period = fine.upper - fine.lower
    inside = (other >= 0) & (other < mc)
    if fine.periodic:
        wrapped = other % mc
        there = coarse_centres[wrapped] + period * np.floor_divide(other, mc)
        columns[:, 1] = wrapped
        inside[:] = True
    else:
        there = coarse_centres[np.clip(other, 0, mc - 1)]
    far = np.where(x == here, 0.0, (x - here) / np.where(inside, there - here, 1.0))
    weights[:, 0] = np.where(inside, 1.0 - far, 1.0)
    weights[:, 1] = np.where(inside, far, 0.0)
    if not fine.periodic:  # the outer half of each boundary coarse cell
        for side, bc, face in ((0, fine.lower_bc, fine.lower), (1, fine.upper_bc, fine.upper)):
            rows = np.flatnonzero(~inside & (step == (1 if side else -1)))
            if isinstance(bc, Dirichlet) and rows.size:
                weights[rows, 0] = (x[rows] - face) / (here[rows] - face)
    columns[:, 1] = np.where(weights[:, 1] != 0.0, columns[:, 1], 0)
    columns = np.clip(columns, 0, mc - 1)
    return columns, weights


def box_interpolation(
    fine: Sequence[Axis], coarse: Sequence[Axis], lo: Sequence[int], hi: Sequence[int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the rows of the N-D interpolation ``P̂`` of a box of fine unknowns, in CSR form.

    Parameters
    ----------
    fine, coarse : sequence of Axis
        The axes of a level and of the next coarser one (:func:`levels`).
    lo, hi : sequence of int
        The box of fine unknowns (rows in C order of the box).

    Returns
    -------
    indptr : ndarray of int64
    indices : ndarray of int64
        The coarse unknowns in natural (C) order of the coarse grid.
    data : ndarray
        The weights, zeros left out.
    """
    d = len(fine)
    parts = []
    for a in range(d):
        columns, values = interpolation_1d(fine[a], coarse[a])
        parts.append((columns[lo[a] : hi[a]], values[lo[a] : hi[a]]))
    shape = tuple(int(h) - int(low) for low, h in zip(lo, hi, strict=True))
    strides = [math.prod(c.n_unknowns for c in coarse[a + 1 :]) for a in range(d)]
    # the 2^d entries of a row: one product over the axes of (left or right) per entry,
    # each computed over the whole box (long inner loops) and written to its column
    m = math.prod(shape)
    columns = np.empty((m, 2**d), dtype=np.int64)
    values = np.empty((m, 2**d))
    for entry, sides in enumerate(itertools.product((0, 1), repeat=d)):
        column = np.zeros((1,) * d, dtype=np.int64)
        value = np.ones((1,) * d)
        for a, ((col, val), side) in enumerate(zip(parts, sides, strict=True)):
            where = [1] * d
            where[a] = shape[a]
            column = column + (col[:, side] * strides[a]).reshape(where)
            value = value * val[:, side].reshape(where)
        columns[:, entry] = column.reshape(-1)
        values[:, entry] = value.reshape(-1)
    keep = values != 0.0
    indptr = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(np.count_nonzero(keep, axis=1), out=indptr[1:])
    return indptr, columns[keep], values[keep]
