"""The rows of an embedded boundary: the Dirichlet ghost rule and the cut-cell finite volumes.

Each builder returns the parts :class:`~kronpde.problem.embedded.EmbeddedBoundary`
assembles: the domain's unknowns, the couplings, the diagonal without ``c``,
what ``c`` is multiplied by (1, or a volume fraction) and ``b``.  Vectorised
over the grid, one axis at a time, from the box's 1-D operators ``k T_i``
(so every box face condition holds where the domain reaches it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from kronpde.expr.expression import ExpressionError
from kronpde.geometry.boundary import data_error, evaluate_data

if TYPE_CHECKING:
    from kronpde.problem.embedded import EmbeddedBoundary

__all__ = ["THETA_MIN", "dirichlet_rows", "evaluate_condition", "neumann_rows"]

#: The smallest ``θ`` the Dirichlet rule divides by: a smaller one is raised to it in the
#: diagonal and in ``b`` alike (the boundary moves by less than ``THETA_MIN h``).
THETA_MIN = 1e-3


def evaluate_condition(condition: Any, coords: list[np.ndarray], size: int) -> np.ndarray:
    """Return the embedded condition's value at points (flat coordinates), checked finite."""
    subject = "embedded"
    try:
        return evaluate_data(condition.value, coords, (size,), subject)
    except ExpressionError as exc:
        raise data_error(subject, str(exc).split(": ", 1)[-1]) from None


class _Rows:
    """Work arrays of one assembly: couplings, diagonal, ``b`` and the coordinates."""

    def __init__(self, disc: EmbeddedBoundary, unknowns: np.ndarray):
        g = disc.grid
        self.disc = disc
        self.grid = g
        self.shape = g.shape
        self.d = g.dimension
        self.lin = np.arange(g.size).reshape(g.shape)
        self.unknowns = unknowns  # shape g.shape
        self.diag = np.zeros(g.shape)
        self.rhs = np.zeros(g.shape)
        self.rows: list[np.ndarray] = []
        self.cols: list[np.ndarray] = []
        self.vals: list[np.ndarray] = []
        self.starts = [a.unknown_slice.start for a in g.axes]

    def along(self, v: np.ndarray, axis: int) -> np.ndarray:
        shape = [1] * self.d
        shape[axis] = -1
        return np.asarray(v).reshape(shape)

    def pair_slices(self, axis: int) -> tuple[tuple, tuple]:
        n = self.shape[axis]
        lo = [slice(None)] * self.d
        hi = [slice(None)] * self.d
        lo[axis], hi[axis] = slice(0, n - 1), slice(1, n)
        return tuple(lo), tuple(hi)

    def points_index(self, axis: int, along: slice | int) -> tuple:
        """Index into a point-shaped array: ``along`` on ``axis``, the unknowns elsewhere."""
        idx = [a.unknown_slice for a in self.grid.axes]
        idx[axis] = along
        return tuple(idx)

    def couple(self, r: np.ndarray, c: np.ndarray, v: np.ndarray) -> None:
        self.rows.append(r)
        self.cols.append(c)
        self.vals.append(v)

    def coordinates(self, flat: np.ndarray) -> list[np.ndarray]:
        """Coordinates of unknowns (flat indices)."""
        idx = np.unravel_index(flat, self.shape)
        return [self.grid.points[b][idx[b] + self.starts[b]].astype(float) for b in range(self.d)]

    def parts(self, shift_weight: np.ndarray) -> dict[str, Any]:
        unknowns = self.unknowns.reshape(-1)
        rhs = np.where(unknowns, self.rhs.reshape(-1), 0.0)
        rows = np.concatenate(self.rows) if self.rows else np.zeros(0, dtype=np.int64)
        unknowns.flags.writeable = False
        rhs.flags.writeable = False
        return {
            "unknowns": unknowns,
            "rows": rows,
            "cols": np.concatenate(self.cols) if self.cols else np.zeros(0, dtype=np.int64),
            "vals": np.concatenate(self.vals) if self.vals else np.zeros(0),
            "diag": self.diag.reshape(-1),
            "shift_weight": np.asarray(shift_weight, dtype=float).reshape(-1),
            "rhs": rhs,
        }

    def face_data(self, axis: int, side: int) -> np.ndarray:
        """Return the box face's data on its slab of unknowns (1 along ``axis``)."""
        face = self.grid.face_data(axis, side)
        idx = [a.unknown_slice for a in self.grid.axes]
        idx[axis] = slice(None)
        return face[tuple(idx)]


def _theta(rows: _Rows, theta: np.ndarray) -> np.ndarray:
    return np.maximum(theta, rows.disc.theta_min)


def dirichlet_rows(disc: EmbeddedBoundary) -> dict[str, Any]:
    """Build the symmetric ghost-value rule (Gibou, Fedkiw, Cheng and Kang 2002).

    A coupling ``t`` of an inside point to an outside neighbour, the boundary
    at ``θ`` of the way, becomes ``-t (1 - θ)/θ`` on the diagonal and
    ``-t g/θ`` in ``b`` (the linear extrapolation of ``u`` through ``g``).
    """
    geo = disc.geometry
    g = disc.grid
    inside_pts = geo.inside
    unknowns = inside_pts[g.unknown_index]
    rows = _Rows(disc, unknowns)
    rows.rhs += disc.data.source_values()
    for axis, (diag, up, dn, lifts) in enumerate(box_terms(disc, rows)):
        n = rows.shape[axis]
        s = rows.starts[axis]
        rows.diag += diag
        theta_pts = geo.crossings(axis)
        if n > 1:
            lo, hi = rows.pair_slices(axis)
            p, q = unknowns[lo], unknowns[hi]
            both = p & q
            rows.couple(rows.lin[lo][both], rows.lin[hi][both], up[both])
            rows.couple(rows.lin[hi][both], rows.lin[lo][both], dn[both])
            theta = theta_pts[rows.points_index(axis, slice(s, s + n - 1))]
            for mine, other, t, sign in ((p, q, up, 1), (q, p, dn, -1)):
                cut = mine & ~other
                if not np.any(cut):
                    continue
                at = rows.lin[lo][cut] if sign == 1 else rows.lin[hi][cut]
                _ghost(rows, axis, at, t[cut], theta[cut], sign)
        for side in (0, 1):
            _box_face(rows, axis, side, lifts[side], theta_pts, inside_pts)
    return rows.parts(np.ones(g.size))


def box_terms(disc: EmbeddedBoundary, rows: _Rows) -> list[tuple]:
    """Return per axis the box's ``A`` terms: diagonal, couplings up and down, face lifts.

    A constant ``k``: the 1-D operators ``k T_i``; a variable one: the flux
    form's face values (:class:`~kronpde.operators.flux.VariableDiffusion`,
    ``c = 0``), its symmetric couplings ``Â`` turned into ``A``'s.
    """
    g = rows.grid
    out = []
    if not disc.data.variable_coefficient:
        for axis, op in enumerate(disc.axis_operators):
            n = rows.shape[axis]
            pair = list(rows.shape)
            pair[axis] = max(n - 1, 0)
            up = np.broadcast_to(rows.along(op.upper[:-1], axis), pair)
            dn = np.broadcast_to(rows.along(op.lower[1:], axis), pair)
            out.append((rows.along(op.diag, axis), up, dn, op.lift))
        return out
    diffusion = disc.box_diffusion()
    d = disc.data.symmetric_scale.reshape(g.shape)
    for axis in range(g.dimension):
        lo, hi = rows.pair_slices(axis)
        edge = diffusion.edges[axis]
        diag = diffusion.diagonal if axis == 0 else 0.0
        out.append((diag, edge * d[hi] / d[lo], edge * d[lo] / d[hi], diffusion.lifts[axis]))
    return out


def _ghost(
    rows: _Rows, axis: int, at: np.ndarray, t: np.ndarray, theta: np.ndarray, sign: int
) -> None:
    """Apply the ghost rule at unknowns ``at`` whose neighbour ``sign`` along ``axis`` is out."""
    disc = rows.disc
    coords = rows.coordinates(at)
    idx = np.unravel_index(at, rows.shape)
    j = idx[axis] + rows.starts[axis]
    x = rows.grid.points[axis]
    coords[axis] = x[j] + theta * (x[j + sign] - x[j])
    value = evaluate_condition(disc.condition, coords, at.size)
    th = _theta(rows, theta)
    np.add.at(rows.diag.reshape(-1), at, -t * (1.0 - th) / th)
    np.add.at(rows.rhs.reshape(-1), at, -t * value / th)


def _box_face(
    rows: _Rows,
    axis: int,
    side: int,
    lift: Any,
    theta_pts: np.ndarray,
    inside_pts: np.ndarray,
) -> None:
    """Add the box face's lifting, or the ghost rule where its Dirichlet node is outside."""
    if np.all(np.asarray(lift) == 0.0):
        return
    n = rows.shape[axis]
    s = rows.starts[axis]
    j = n - 1 if side else 0
    slab = [slice(None)] * rows.d
    slab[axis] = slice(j, j + 1)
    slab = tuple(slab)
    mine = rows.unknowns[slab]
    if not np.any(mine):
        return
    point = s + j + (1 if side else -1)  # the neighbour across the face, if it is a point
    keep = mine
    if 0 <= point < rows.grid.point_shape[axis]:
        nb_in = inside_pts[rows.points_index(axis, slice(point, point + 1))]
        keep = mine & nb_in
        cut = mine & ~nb_in
        if np.any(cut):
            pair = s + j if side else s + j - 1
            theta = theta_pts[rows.points_index(axis, slice(pair, pair + 1))][cut]
            at = rows.lin[slab][cut]
            t = -np.broadcast_to(lift, cut.shape)[cut]
            _ghost(rows, axis, at, t, theta, 1 if side else -1)
    data = rows.face_data(axis, side)
    rows.rhs[slab] += np.where(keep, lift * data, 0.0)


def neumann_rows(disc: EmbeddedBoundary) -> dict[str, Any]:
    """Build the finite-volume rule of the cut control volumes (couplings times apertures).

    Every point whose control volume meets the domain is an unknown; ``f`` and
    ``c`` are multiplied by its volume fraction, the box faces' terms by their
    apertures, and the flux ``k g`` through the embedded boundary enters ``b``.
    """
    geo = disc.geometry
    g = disc.grid
    vf = geo.volume_fraction[g.unknown_index]
    apertures = [geo.aperture(a) for a in range(g.dimension)]
    touched = vf > 0.0
    for axis in range(g.dimension):
        s = g.axes[axis].unknown_slice.start
        n = g.shape[axis]
        ap = apertures[axis]
        lo_face = ap[_Rows.points_index_static(g, axis, slice(s, s + n))]
        hi_face = ap[_Rows.points_index_static(g, axis, slice(s + 1, s + n + 1))]
        touched |= (lo_face > 0.0) | (hi_face > 0.0)
    if geo.domain.is_mask:
        touched = geo.inside[g.unknown_index]
    rows = _Rows(disc, touched)
    rows.rhs += disc.data.source_values() * vf
    weights = g.weights()
    normal = np.zeros((g.dimension, *g.shape))
    for axis, op in enumerate(disc.axis_operators):
        n = rows.shape[axis]
        s = rows.starts[axis]
        ap = apertures[axis]
        alpha = ap[rows.points_index(axis, slice(s, s + n + 1))]  # faces s .. s + n
        lo_a = alpha.take(range(0, n), axis=axis)
        hi_a = alpha.take(range(1, n + 1), axis=axis)
        area = weights / rows.along(g.axes[axis].weights, axis)
        normal[axis] = (hi_a - lo_a) * area
        if n > 1:
            lo, hi = rows.pair_slices(axis)
            a_pair = hi_a.take(range(0, n - 1), axis=axis)
            p, q = touched[lo], touched[hi]
            both = p & q & (a_pair > 0.0)
            up = a_pair * rows.along(op.upper[:-1], axis)
            dn = a_pair * rows.along(op.lower[1:], axis)
            rows.couple(rows.lin[lo][both], rows.lin[hi][both], up[both])
            rows.couple(rows.lin[hi][both], rows.lin[lo][both], dn[both])
            rows.diag[lo] -= np.where(both, up, 0.0)
            rows.diag[hi] -= np.where(both, dn, 0.0)
        for side in (0, 1):
            j = n - 1 if side else 0
            slab = [slice(None)] * rows.d
            slab[axis] = slice(j, j + 1)
            slab = tuple(slab)
            if n == 1:
                rest = 0.5 * op.diag[0]
            else:
                rest = op.diag[j] + (op.lower[j] if side else op.upper[j])
            face_a = (hi_a if side else lo_a)[slab]
            rows.diag[slab] += face_a * rest
            if op.lift[side] != 0.0:
                rows.rhs[slab] += face_a * op.lift[side] * rows.face_data(axis, side)
    _neumann_flux(rows, normal, weights)
    return rows.parts(vf)


def _neumann_flux(rows: _Rows, normal: np.ndarray, weights: np.ndarray) -> None:
    """Add ``k g |Γ_p| / W_p`` of the embedded boundary's piece in each control volume."""
    disc = rows.disc
    geo = disc.geometry
    k = disc.coefficient
    if geo.domain.is_mask:
        _mask_flux(rows, weights)
        return
    area = np.sqrt(np.sum(normal**2, axis=0))
    at = np.flatnonzero((area.reshape(-1) > 0.0) & rows.unknowns.reshape(-1))
    if at.size == 0:
        return
    value = disc.condition.value
    if isinstance(value, (int, float)) and value == 0.0:
        return
    coords = rows.coordinates(at)
    phi = geo.domain.level_set(coords, (at.size,))
    grad = []
    for b in range(rows.d):
        h = 1e-6 * (rows.grid.axes[b].upper - rows.grid.axes[b].lower)
        plus = [c.copy() for c in coords]
        minus = [c.copy() for c in coords]
        plus[b] += h
        minus[b] -= h
        grad.append(
            (geo.domain.level_set(plus, (at.size,)) - geo.domain.level_set(minus, (at.size,)))
            / (2 * h)
        )
    norm2 = np.maximum(sum(gr**2 for gr in grad), 1e-300)
    foot = [c - phi * gr / norm2 for c, gr in zip(coords, grad, strict=True)]
    gval = evaluate_condition(disc.condition, foot, at.size)
    flat = rows.rhs.reshape(-1)
    flat[at] += k * gval * area.reshape(-1)[at] / weights.reshape(-1)[at]


def _mask_flux(rows: _Rows, weights: np.ndarray) -> None:
    """Add a mask's flux through every closed face between an inside and an outside point."""
    disc = rows.disc
    geo = disc.geometry
    k = disc.coefficient
    flat = rows.rhs.reshape(-1)
    for axis in range(rows.d):
        theta = geo.crossings(axis)
        n = rows.shape[axis]
        s = rows.starts[axis]
        x = rows.grid.points[axis]
        area = (weights / rows.along(rows.grid.axes[axis].weights, axis)).reshape(-1)
        for sign in (1, -1):
            # pair index of the unknown j and its neighbour j + sign: j + s (sign 1), j + s - 1
            j = np.arange(n)
            pair = j + s if sign == 1 else j + s - 1
            ok = (pair >= 0) & (pair < theta.shape[axis])
            cut = np.zeros(rows.shape, dtype=bool)
            idx = rows.points_index(axis, pair[ok])
            sub = ~np.isnan(theta[idx])
            view = [slice(None)] * rows.d
            view[axis] = np.flatnonzero(ok)
            cut[tuple(view)] = sub
            cut &= rows.unknowns
            at = np.flatnonzero(cut.reshape(-1))
            if at.size == 0:
                continue
            coords = rows.coordinates(at)
            jj = np.unravel_index(at, rows.shape)[axis] + s
            coords[axis] = 0.5 * (x[jj] + x[jj + sign])
            gval = evaluate_condition(disc.condition, coords, at.size)
            flat[at] += k * gval * area[at] / weights.reshape(-1)[at]


def _points_index_static(grid: Any, axis: int, along: slice) -> tuple:
    idx = [a.unknown_slice for a in grid.axes]
    idx[axis] = along
    return tuple(idx)


_Rows.points_index_static = staticmethod(_points_index_static)  # type: ignore[attr-defined]
