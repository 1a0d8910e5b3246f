"""Net outward fluxes of a domain inside the box: its box faces and its embedded boundary.

Each row of :mod:`kronpde.problem.embedded_rows` is its control volume's
balance; its terms on a box face (the box's ``rest u - lift g``, times the
aperture or where the box's neighbour is kept) are the outflow through that
face, and the rest of the row's boundary terms (the ghost rule, the cut cells'
``-k g |Γ|``) the outflow through the embedded boundary ``embedded``.  ``∫_Ω``
takes the volume fractions on every point, so the source between the scheme's
control volumes and the boundary also crosses ``embedded``, and
``Σ q + c ∫_Ω u = ∫_Ω f`` holds to round-off for an exact solve
(``docs/fluxes.md``).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from kronpde.geometry.axis import face_name
from kronpde.geometry.boundary import Dirichlet, Neumann
from kronpde.problem.embedded_rows import evaluate_condition
from kronpde.problem.fluxes import FluxBalance
from kronpde.problem.fluxes_curvilinear import move_corner_pieces

if TYPE_CHECKING:
    from kronpde.geometry.grid import Grid
    from kronpde.problem.embedded import EmbeddedBoundary

__all__ = ["EMBEDDED", "domain_gradient", "embedded_fluxes"]

#: The name of the embedded boundary's flux (the key of its condition in ``[boundary]``).
EMBEDDED = "embedded"


def _point_weights(grid: Grid) -> np.ndarray:
    """Return the control volume of every point: the unknowns' weights, half cells at nodes."""
    parts = []
    for a in grid.axes:
        w = np.zeros(a.points.size)
        w[a.unknown_slice] = a.weights
        if not a.cell_centred:
            for side, bc in enumerate((a.lower_bc, a.upper_bc)):
                if isinstance(bc, Dirichlet):
                    end = -1 if side else 0
                    w[end] = 0.5 * float(a.spacings[end])
        parts.append(w)
    out = np.ones(())
    for w in parts:
        out = np.multiply.outer(out, w)
    return out


def _alpha(bc: Any) -> float:
    """``α`` of ``α u + β du/dn = g``: 1 for Dirichlet, 0 for Neumann."""
    if isinstance(bc, Dirichlet):
        return 1.0
    if isinstance(bc, Neumann):
        return 0.0
    return float(bc.alpha)


def _slab(d: int, axis: int, j: int) -> tuple:
    index: list = [slice(None)] * d
    index[axis] = slice(j, j + 1)
    return tuple(index)


def _box_face(
    disc: EmbeddedBoundary, axis: int, side: int, u: np.ndarray, mine: np.ndarray
) -> np.ndarray:
    """Return ``W (rest u - lift g)`` of box face ``(axis, side)`` at its slab (box shape).

    ``mine``: the slab's rows that carry the face's term (an aperture for the cut
    cells); 0 elsewhere.
    """
    g = disc.grid
    d = g.dimension
    a = g.axes[axis]
    n = g.shape[axis]
    j = n - 1 if side else 0
    slab = _slab(d, axis, j)
    bc = a.upper_bc if side else a.lower_bc
    if disc.data.variable_coefficient:
        lift = np.asarray(disc.box_diffusion().lifts[axis][side], dtype=float)
        rest = _alpha(bc) * lift
    else:
        op = disc.axis_operators[axis]
        rest = 0.5 * op.diag[0] if n == 1 else op.diag[j] + (op.lower[j] if side else op.upper[j])
        lift = float(op.lift[side])
    out = np.zeros(g.shape)
    index = [b.unknown_slice for b in g.axes]
    index[axis] = slice(None)
    data = g.face_data(axis, side)[tuple(index)]
    weights = g.weights()[slab]
    out[slab] = weights * mine * (rest * u[slab] - lift * data)
    return out


def _carriers(disc: EmbeddedBoundary, axis: int, side: int, inside: np.ndarray) -> np.ndarray:
    """Return what multiplies the box face's term in each row of its slab (box shape slab)."""
    g = disc.grid
    d = g.dimension
    n = g.shape[axis]
    s = g.axes[axis].unknown_slice.start
    j = n - 1 if side else 0
    slab = _slab(d, axis, j)
    mine = inside.reshape(g.shape)[slab].astype(float)
    geo = disc.geometry
    index = [b.unknown_slice for b in g.axes]
    if disc.neumann:  # the cut cells: the face's aperture
        index[axis] = slice(s + j + side, s + j + side + 1)
        return mine * geo.aperture(axis)[tuple(index)]
    point = s + j + (1 if side else -1)  # a box Dirichlet node: kept where it is inside
    if 0 <= point < g.point_shape[axis]:
        index[axis] = slice(point, point + 1)
        mine = mine * geo.inside[tuple(index)]
    return mine


def embedded_fluxes(
    disc: EmbeddedBoundary, parts: dict[str, Any], problem: Any, u: np.ndarray, balance: bool
) -> FluxBalance:
    """Return ``q`` through each box face and through the embedded boundary, and the balance.

    Parameters
    ----------
    disc : EmbeddedBoundary
        The problem's discretisation.
    parts : dict
        Its assembled rows (:mod:`kronpde.problem.embedded_rows`).
    problem : Problem
        The problem (its ``rhs``, operator and weights give the residual).
    u : ndarray
        The solution on the unknowns, or the whole field (NaN outside the domain).
    balance : bool
        Also report ``∫_Ω f``, ``c ∫_Ω u`` and the weighted residual sum.

    Returns
    -------
    FluxBalance
        ``q`` per box face (``xmin`` ...) and ``embedded``; ``∫_Ω`` with the volume
        fractions of the points' control volumes.
    """
    g = disc.grid
    d = g.dimension
    geo = disc.geometry
    inside = np.asarray(parts["unknowns"], dtype=bool)
    u = np.asarray(u, dtype=float)
    if u.size != problem.size:
        u = u.reshape(g.point_shape)[g.unknown_index]
    uu = np.where(inside, np.nan_to_num(u.reshape(-1)), 0.0)
    w = g.weights().reshape(-1)
    f_unknowns = np.asarray(disc.data.source_values(), dtype=float).reshape(-1)
    vf_unknowns = geo.volume_fraction[g.unknown_index].reshape(-1)
    f_rows = f_unknowns * (vf_unknowns if disc.neumann else 1.0)
    rowsum = parts["diag"] + np.bincount(parts["rows"], parts["vals"], g.size)
    outflow = np.where(inside, w * (rowsum * uu - (parts["rhs"] - f_rows)), 0.0)
    fluxes: dict[str, float] = {}
    total_box = np.zeros(g.size)
    terms = {}
    for axis in range(d):
        for side in (0, 1):
            mine = _carriers(disc, axis, side, inside)
            term = _box_face(disc, axis, side, uu.reshape(g.shape), mine)
            total_box += term.reshape(-1)
            fluxes[face_name(axis, side)] = math.fsum(term.reshape(-1))
            bc = g.axes[axis].upper_bc if side else g.axes[axis].lower_bc
            if g.axes[axis].cell_centred or not isinstance(bc, Dirichlet):
                terms[(axis, side)] = term
    # every point's share of ∫_Ω: the unknowns' u, the box's Dirichlet values at its
    # nodes, the embedded Dirichlet value at the other points whose volume meets Ω
    vf = geo.volume_fraction
    volume = _point_weights(g) * vf
    is_unknown = np.zeros(g.point_shape, dtype=bool)
    is_unknown[g.unknown_index] = True
    f = np.zeros(g.point_shape)
    f[g.unknown_index] = f_unknowns.reshape(g.shape)
    nodes_in = ~is_unknown & (vf > 0.0)  # box Dirichlet nodes whose half cells meet Ω
    if np.any(nodes_in):
        f[nodes_in] = np.asarray(disc.data.source_nodes(), dtype=float)[nodes_in]
    f = np.where(vf > 0.0, f, 0.0)  # nothing is taken of f where Ω is not
    field = np.array(problem.data.dirichlet_values, dtype=float)
    field[g.unknown_index] = uu.reshape(g.shape)
    domain = np.zeros(g.point_shape, dtype=bool)
    domain[g.unknown_index] = inside.reshape(g.shape)
    box_node = ~is_unknown & (vf > 0.0) & (geo.inside | disc.neumann)
    other = (vf > 0.0) & ~domain & ~box_node
    if np.any(other):  # outside the scheme's unknowns: u = the embedded Dirichlet value
        coords = [x[np.nonzero(other)[b]] for b, x in enumerate(g.points)]
        field[other] = evaluate_condition(disc.condition, coords, int(np.count_nonzero(other)))
    c = float(disc.shift)
    lets_in = volume * (f - c * field)
    nodes = np.zeros(g.point_shape, dtype=int)  # the Dirichlet faces each box node is on
    for axis, a in enumerate(g.axes):
        for side, bc in enumerate((a.lower_bc, a.upper_bc)):
            if isinstance(bc, Dirichlet) and not a.cell_centred:
                nodes[_slab(d, axis, a.points.size - 1 if side else 0)] += 1
    share = np.where(box_node, lets_in / np.maximum(nodes, 1), 0.0)
    for axis, a in enumerate(g.axes):
        for side, bc in enumerate((a.lower_bc, a.upper_bc)):
            if isinstance(bc, Dirichlet) and not a.cell_centred:
                at = _slab(d, axis, a.points.size - 1 if side else 0)
                fluxes[face_name(axis, side)] += math.fsum(share[at].reshape(-1))
    halves = {}
    for axis, a in enumerate(g.axes):
        for side, bc in enumerate((a.lower_bc, a.upper_bc)):
            if isinstance(bc, Dirichlet) and not a.cell_centred:
                end = -1 if side else 0
                halves[(axis, side)] = 0.5 * float(a.spacings[end]) / float(a.weights[end])

    def keep(axis: int, side: int) -> np.ndarray:
        index = [b.unknown_slice for b in g.axes]
        index[axis] = -1 if side else 0
        return box_node[tuple(index)]

    move_corner_pieces(fluxes, terms, halves, face_name, keep)
    sw = np.asarray(parts["shift_weight"], dtype=float)
    scheme = np.where(inside, w * (f_rows - c * sw * uu), 0.0)
    fluxes[EMBEDDED] = (
        math.fsum(outflow - total_box)
        + math.fsum(lets_in.reshape(-1))
        - math.fsum(scheme)
        - math.fsum(np.where(box_node, lets_in, 0.0).reshape(-1))  # given to the box faces
    )
    if not balance:
        return FluxBalance(fluxes, None, None, None)
    source = math.fsum((volume * f).reshape(-1))
    absorbed = c * math.fsum((volume * field).reshape(-1))
    r = problem.unknown_weights * (problem.rhs() - problem.linear_operator() @ uu)
    return FluxBalance(fluxes, source, absorbed, float(r.sum()))


def domain_gradient(u: np.ndarray, points: list[np.ndarray], domain: np.ndarray) -> np.ndarray:
    """Return ``grad u`` on the domain's points, NaN outside (shape ``u.shape + (3,)``).

    Central differences where both neighbours are in the domain, one-sided ones
    where one is, 0 along an axis where neither is.
    """
    out = np.zeros((*u.shape, 3))
    v = np.where(domain, u, 0.0)
    for i, x in enumerate(points):
        n = u.shape[i]
        if n < 2:
            continue
        xs = np.asarray(x, dtype=float)
        shape = [1] * u.ndim
        shape[i] = n - 1
        h = np.diff(xs).reshape(shape)
        fwd_ok = np.zeros(u.shape, dtype=bool)
        back_ok = np.zeros(u.shape, dtype=bool)
        fwd = np.zeros(u.shape)
        back = np.zeros(u.shape)
        lo = [slice(None)] * u.ndim
        hi = [slice(None)] * u.ndim
        lo[i], hi[i] = slice(0, n - 1), slice(1, n)
        lo, hi = tuple(lo), tuple(hi)
        pair = domain[lo] & domain[hi]
        slope = (v[hi] - v[lo]) / h
        fwd[lo] = slope
        fwd_ok[lo] = pair
        back[hi] = slope
        back_ok[hi] = pair
        hf = np.zeros(u.shape)
        hb = np.zeros(u.shape)
        hf[lo] = h
        hb[hi] = h
        both = fwd_ok & back_ok
        central = np.where(both, (hb * fwd + hf * back) / np.where(both, hf + hb, 1.0), 0.0)
        one = np.where(fwd_ok, fwd, np.where(back_ok, back, 0.0))
        out[..., i] = np.where(both, central, one)
    out[~domain] = np.nan
    return out
