"""``k`` where the fluxes need it: an expression or a callable evaluated at the faces.

A flux between two neighbouring unknowns along axis ``i`` crosses the face
between them: the mid-point of the interval of a node-centred axis, the face
itself of a cell-centred one.  A coefficient known as a formula (an
expression, a Python callable) is evaluated there (as FISHPACK's POISTG and
HSTCYL do); values known at the points only (arrays) keep the harmonic mean of
the two neighbours.  ``docs/separable-operators.md`` gives the derivation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from kronpde.errors import DataError
from kronpde.expr.expression import Expression
from kronpde.geometry.boundary import DataSurvey, evaluate_data
from kronpde.geometry.grid import Axis, Grid

__all__ = [
    "box_flux_positions",
    "evaluated_at_faces",
    "fill_unread",
    "flux_coordinates",
    "flux_values",
]


def evaluated_at_faces(coefficient: object) -> bool:
    """Whether ``coefficient`` is a formula the fluxes evaluate at their faces.

    True for a (non-constant) expression and for a Python callable; False
    for numbers and for arrays (values at the points: harmonic means).
    """
    if isinstance(coefficient, Expression):
        return not coefficient.is_constant
    return callable(coefficient) and not isinstance(coefficient, np.ndarray)


def flux_coordinates(axis: Axis) -> np.ndarray:
    """Return where axis ``i``'s fluxes sit: interval mid-points, or the cell faces.

    ``cells`` mid-points on a node-centred axis (interval ``e`` between nodes
    ``e`` and ``e + 1``, node ``m`` of a periodic axis being node 0), the
    ``cells + 1`` faces (the nodes) of a cell-centred one.
    """
    x = np.asarray(axis.nodes, dtype=float)
    if axis.cell_centred:
        return x.copy()
    return 0.5 * (x[:-1] + x[1:])


def box_flux_positions(axis: Axis, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
    """Return the fluxes a box's rows ``lo..hi-1`` of one axis use, and which it owns.

    Node-centred: the intervals left of rows ``lo .. hi`` (``hi - lo + 1`` of
    them, the window of :class:`~kronpde.operators.flux.VariableBox`), wrapped
    on a periodic axis; an interval beyond a face is ``-1`` (never used).
    Cell-centred: faces ``lo .. hi`` (faces ``0 .. m`` for a periodic axis of
    one or two cells, whose folded rows use every face); face ``m`` of a
    periodic axis is face ``0``.  ``owned`` marks those this box checks: boxes
    that tile the unknowns own every flux once.
    """
    m = axis.cells
    if axis.cell_centred:
        faces = np.arange(0, m + 1) if axis.periodic and m <= 2 else np.arange(lo, hi + 1)
        owned = faces < hi
        if axis.periodic:
            faces = faces % m
            owned &= faces >= lo
        else:
            owned |= (faces == m) & (hi == m)
        return faces, owned
    start, n = axis.unknown_slice.start, axis.n_unknowns
    rows = np.arange(lo, hi + 1)  # the interval left of row r is start + r - 1
    edges = start + rows - 1
    owned = rows < hi
    if axis.periodic:
        edges = edges % m
    else:
        owned |= (rows == hi) & (hi == n)
        bad = (edges < 0) | (edges >= m)
        edges = np.where(bad, -1, edges)
        owned &= ~bad
    return edges, owned


def flux_values(
    coefficient: object,
    grid: Grid,
    i: int,
    others: Sequence[np.ndarray],
    positions: np.ndarray | None = None,
    owned: np.ndarray | None = None,
    merge: Callable[[DataSurvey], DataSurvey] | None = None,
    raise_for: Callable[..., None] | None = None,
    subject: str = "coefficient",
) -> np.ndarray:
    """Evaluate ``k`` at axis ``i``'s flux positions, checked finite and ``> 0``.

    Parameters
    ----------
    coefficient : Expression or callable
        ``k`` (:func:`evaluated_at_faces`).
    grid : Grid
        The grid.
    i : int
        The axis whose fluxes these are.
    others : sequence of ndarray
        Per axis, the point indices (into :attr:`Grid.points`) along the other
        axes (entry ``i`` ignored).
    positions : ndarray, optional
        The fluxes along axis ``i`` (indices into :func:`flux_coordinates`;
        ``-1``: none, given flux 0's value, never used).  Default: all.
    owned : ndarray of bool, optional
        The positions this part checks (default: all).
    merge : callable, optional
        Collective merge of the parts' surveys (a distributed solve).
    raise_for : callable
        ``raise_for(survey, coefficient, point)``: the data's check
        (:meth:`~kronpde.problem.data.ProblemData.raise_for_coefficient`).
    subject : str
        The coefficient's name in errors.

    Returns
    -------
    ndarray
        Shape: ``others`` along the other axes, ``positions`` along axis ``i``.
    """
    axis = grid.axes[i]
    where = flux_coordinates(axis)
    pos = np.arange(where.size) if positions is None else np.asarray(positions)
    real = pos >= 0
    index = [np.asarray(ix) for ix in others]
    index[i] = pos
    coords = [
        grid.points[b][ix] if b != i else where[np.where(real, pos, 0)]
        for b, ix in enumerate(index)
    ]
    shape = tuple(c.size for c in coords)
    grids = np.meshgrid(*coords, indexing="ij", sparse=True)
    values = None
    keep = np.ones(pos.size, dtype=bool) if owned is None else np.asarray(owned, dtype=bool)
    keep &= real
    try:
        values = evaluate_data(coefficient, grids, shape, subject, check=False)
        take = [slice(None)] * grid.dimension
        take[i] = np.flatnonzero(keep)
        mine = [ix if b != i else pos[keep] for b, ix in enumerate(index)]
        survey = DataSurvey.of(values[tuple(take)], mine)
    except DataError as exc:
        survey = DataSurvey.failed(exc)
    if merge is not None:
        survey = merge(survey)

    def point(at: tuple[int, ...]) -> list[float]:
        return [float(where[j]) if b == i else float(grid.points[b][j]) for b, j in enumerate(at)]

    if raise_for is not None:
        raise_for(survey, coefficient, point)
    return values


def fill_unread(k: np.ndarray, index: Sequence[np.ndarray], grid: Grid) -> np.ndarray:
    """Fill ``k`` where no flux reads it and it is not finite and > 0; return ``k`` (in place).

    A formula's fluxes read it at the faces (:attr:`ProblemData.k_edges`) and at the
    points that are unknowns (Neumann and Robin ghosts), never at a node that is
    not one (a node-centred Dirichlet face): there ``k = t/s`` may be infinite on
    ``s = 0`` (FISHPACK's BLKTRI).  Such points take the least value read, so that
    the checks, the bounds and the contrast see the values the operator uses.
    ``index`` holds per axis the points ``k`` holds.
    """
    read = np.ones((), dtype=bool)
    for ix, a in zip(index, grid.axes, strict=True):
        s = a.unknown_slice
        mask = (np.asarray(ix) >= s.start) & (np.asarray(ix) < s.stop)
        read = np.logical_and.outer(read, mask)
    with np.errstate(invalid="ignore"):
        bad = ~read & ~(np.isfinite(k) & (k > 0.0))
    if bad.any():
        good = k[read & ~bad]
        k[bad] = float(np.min(good)) if good.size else 1.0
    return k
