"""The grid with half the cells per axis, for the Richardson estimate of ``rtol="auto"``.

:func:`coarse_problem` makes the same problem on it (or says why it does not
exist, :class:`~kronpde.solvers.estimate.Unavailable`), with the per-axis
resampling of a fine field to its points (:class:`Resample`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from kronpde.errors import DataError, GridError
from kronpde.geometry.boundary import Dirichlet, Neumann, Robin
from kronpde.geometry.grid import Axis, axis_name, face_name
from kronpde.problem.problem import Problem
from kronpde.problem.shift_parts import shift_argument
from kronpde.solvers.estimate import Unavailable
from kronpde.solvers.indefinite import indefinite_bound

__all__ = ["Resample", "coarse_problem", "combine", "resample_axis", "restrict", "scheme_order"]


def scheme_order(problem: Problem) -> int:
    """Return the order ``p`` of the problem's scheme (:attr:`Problem.order`: 2 or 4)."""
    return int(problem.order)


def _coarse_axis(i: int, axis: Axis) -> Axis:
    name = axis_name(i)
    m = axis.cells
    if m < 2:
        msg = f"axis {name} has {m} cell, so no grid with half the cells exists"
        raise Unavailable(msg)
    if not axis.uniform and m % 2:
        msg = (
            f"the stretched axis {name} has an odd number of cells ({m}), so the grid with half "
            "the cells is not made of its nodes"
        )
        raise Unavailable(msg)
    try:
        if axis.uniform:
            return replace(axis, cells=m // 2)
        return replace(axis, cells=m // 2, coordinates=tuple(axis.nodes[::2].tolist()))
    except GridError as exc:
        msg = f"the grid with half the cells does not exist on axis {name}: {exc.detail}"
        raise Unavailable(msg) from None


def combine(x: np.ndarray, index: np.ndarray, weights: np.ndarray, axis: int) -> np.ndarray:
    """Return ``sum_k weights[:, k] x[index[:, k]]`` along ``axis`` (a Lagrange resampling)."""
    shape = [1] * x.ndim
    shape[axis] = index.shape[0]
    out = None
    for k in range(index.shape[1]):
        term = np.take(x, index[:, k], axis=axis) * weights[:, k].reshape(shape)
        out = term if out is None else out + term
    return out


def restrict(field: np.ndarray, resample: Sequence[Resample]) -> np.ndarray:
    """Return a fine field (one array axis per grid axis) at the coarse points."""
    take = tuple(
        slice(None, None, r.stride) if r.stride is not None else slice(None) for r in resample
    )
    if any(r.stride is not None for r in resample):  # every shared node in one strided copy
        field = np.ascontiguousarray(field[take])
    for axis, r in enumerate(resample):
        if r.stride is None:
            field = r.apply(field, axis)
    return field


@dataclass(frozen=True)
class Resample:
    """Values of a fine nodal line at coarse points: ``sum_k weights[:, k] x[index[:, k]]``."""

    index: np.ndarray  # (m_c + 1, q) fine node indices
    weights: np.ndarray  # (m_c + 1, q)
    stride: int | None  # 2 (or 1) when the coarse points are every stride-th fine node

    def apply(self, x: np.ndarray, axis: int) -> np.ndarray:
        """Return the nodal field ``x`` resampled along ``axis``."""
        if self.stride is not None:
            index = [slice(None)] * x.ndim
            index[axis] = slice(None, None, self.stride)
            return np.ascontiguousarray(x[tuple(index)])
        return combine(x, self.index, self.weights, axis)


def resample_axis(fine: Axis, coarse: Axis, order: int) -> Resample:
    """Interpolation of ``fine``'s field to ``coarse``'s points (Lagrange, degree p + 1).

    The points are the nodes of a node-centred axis and the cell centres of a
    cell-centred one.  Coarse nodes that are every other fine node (even cell
    counts) are taken as they are; coarse cell centres never coincide with fine
    ones (each lies between two), so a cell-centred axis is always interpolated.
    """
    xf, xc = fine.points, coarse.points
    m = fine.cells
    if (
        not fine.cell_centred
        and m == 2 * coarse.cells
        and (fine.uniform or np.array_equal(xf[::2], xc))
    ):
        return Resample(np.zeros((0, 0), int), np.zeros((0, 0)), 2)
    # the distinct points: a periodic node axis repeats node 0 as node m
    count = m if fine.periodic else xf.size
    q = min(order + 2, count)
    period = fine.upper - fine.lower
    index = np.empty((xc.size, q), dtype=int)
    weights = np.empty((xc.size, q))
    for j, x in enumerate(xc):
        k = int(np.clip(np.searchsorted(xf[:count], x, side="right") - 1, 0, max(count - 2, 0)))
        hit = next((h for h in (k, k + 1) if h < count and x == xf[h]), None)
        if hit is not None:  # a fine point: the identity
            index[j] = hit
            weights[j] = 0.0
            weights[j, 0] = 1.0
            continue
        start = k - (q // 2 - 1)
        if fine.periodic:
            idx = np.arange(start, start + q)
            pts = xf[idx % count] + period * np.floor_divide(idx, count)
            idx = idx % count
        else:
            start = int(np.clip(start, 0, count - q))
            idx = np.arange(start, start + q)
            pts = xf[idx]
        for a in range(q):
            others = np.delete(pts, a)
            weights[j, a] = float(np.prod((x - others) / (pts[a] - others)))
        index[j] = idx
    return Resample(index, weights, None)


def _coarse_data(value: object, selections: Sequence[Resample], axes: Sequence[int], what: str):
    """Return data for the coarse grid: anything but an array as it is, an array subsampled."""
    if not isinstance(value, np.ndarray) or value.ndim == 0:
        return value
    if any(selections[a].stride != 2 for a in axes):
        msg = (
            f"{what} is given as an array on the fine grid's points, and the coarse grid's "
            "points are not all among them (odd cell counts, or cell centres)"
        )
        raise Unavailable(msg)
    index = [slice(None)] * value.ndim
    offset = value.ndim - len(axes)
    for k in range(len(axes)):
        if value.shape[offset + k] > 1:
            index[offset + k] = slice(None, None, 2)
    return np.ascontiguousarray(value[tuple(index)])


def _coarse_condition(bc: Any, i: int, d: int, selections: Sequence[Resample], name: str):
    if not isinstance(bc, (Dirichlet, Neumann, Robin)):
        return bc
    value = bc.value
    if isinstance(value, np.ndarray) and value.ndim > 0:
        if value.ndim == d:  # the N-D face shape with length 1 along axis i
            value = np.squeeze(value, axis=i)
        others = [a for a in range(d) if a != i]
        return replace(bc, value=_coarse_data(value, selections, others, f"the data of {name}"))
    return bc


def coarse_problem(problem: Problem) -> tuple[Problem, list[Resample]]:
    """Return the same problem on the grid with half the cells per axis, and the resampling.

    Bounds, conditions, source, shift and coefficient are kept; data given as
    arrays on the nodes are taken at the coarse nodes (which must then be
    fine nodes).  The resampling takes a fine nodal field to the coarse nodes.

    Raises
    ------
    Unavailable
        Where the coarse grid does not exist (module docstring), or where a
        negative shift leaves the coarse problem not certified positive definite.
    """
    g = problem.grid
    d = g.dimension
    order = scheme_order(problem)
    axes = [_coarse_axis(i, a) for i, a in enumerate(g.axes)]
    resample = [resample_axis(f, c, order) for f, c in zip(g.axes, axes, strict=True)]
    bound = []
    for i, a in enumerate(axes):
        lo = _coarse_condition(a.lower_bc, i, d, resample, face_name(i, 0))
        hi = _coarse_condition(a.upper_bc, i, d, resample, face_name(i, 1))
        same = lo is a.lower_bc and hi is a.upper_bc
        bound.append(a if same else replace(a, lower_bc=lo, upper_bc=hi))
    every = list(range(d))
    source = _coarse_data(problem.source, resample, every, "the source")
    coefficient = _coarse_data(problem.coefficient, resample, every, "the coefficient")
    extra = dict(problem.discretisation.refined_arguments())  # a domain inside the box
    if "domain" in extra:
        extra["domain"] = _coarse_data(extra["domain"], resample, every, "the mask")
    try:
        more = getattr(problem.data, "arguments", dict)()  # second/first: the same form
        shift = shift_argument(problem)  # a c(x): its expression again
        coarse = Problem(
            g.with_axes(bound), source, shift, coefficient, order=order, **extra, **more
        )
    except (GridError, DataError) as exc:
        msg = f"the problem on the grid with half the cells cannot be built: {exc}"
        raise Unavailable(msg) from None
    found = indefinite_bound(coarse)  # c < 0: the coarse solve may be indefinite or resonant
    if found is not None:
        msg = (
            f"with shift c = {problem.shift:g} < 0 the problem on the grid with half the cells "
            f"is not certified positive definite (its bound on λ_min is {found[0]:.3g}): it may "
            "be indefinite or near a resonance, where its solution says nothing of this grid's "
            "error"
        )
        raise Unavailable(msg)
    return coarse, resample
