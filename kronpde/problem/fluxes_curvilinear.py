"""Net outward fluxes through the faces of a curvilinear grid, from the scheme's own rows.

Every row of the flux form (:mod:`kronpde.problem.curvilinear`) is its control
volume's balance; a face's terms in it (``diag u - lift``,
:meth:`~kronpde.problem.curvilinear.CurvilinearFlux.boundary_terms`) are the
outflow through that face, in physical units (the face's true area), so that
``Σ q + c ∫ u = ∫ f`` holds to round-off for an exact solve.  A node-centred
Dirichlet face adds the half volumes of its nodes.  Derivation: ``docs/fluxes.md``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from kronpde.geometry.boundary import Dirichlet
from kronpde.problem.fluxes import FluxBalance

if TYPE_CHECKING:
    from kronpde.geometry.curvilinear import CurvilinearGrid
    from kronpde.problem.curvilinear import CurvilinearFlux

__all__ = ["curvilinear_fluxes", "move_corner_pieces", "physical_gradient", "point_volumes"]

#: Two-point Gauss-Legendre nodes on [0, 1] (exact for cubics: the half cells' ``∫ j``).
_GAUSS = (0.5 - 0.5 / math.sqrt(3.0), 0.5 + 0.5 / math.sqrt(3.0))


def _dirichlet_ends(grid: CurvilinearGrid, ax: int) -> tuple[bool, bool]:
    """Whether each end of axis ``ax`` is a node-centred Dirichlet face (a node, no unknown)."""
    a = grid.axes[ax]
    if a.cell_centred:
        return False, False
    return isinstance(a.lower_bc, Dirichlet), isinstance(a.upper_bc, Dirichlet)


def point_volumes(grid: CurvilinearGrid) -> list[np.ndarray]:
    """Return per axis the 1-D volume of every point of the field (``∫ j`` over its cell).

    The unknowns' masses (the scheme's control volumes, :attr:`AxisMetric.mass`), the
    half cell ``∫ j`` (two-point Gauss) at a node-centred Dirichlet node, 0 at the
    repeated node of a periodic axis.
    """
    out = []
    for ax, a in enumerate(grid.axes):
        mass = np.zeros(a.points.size)
        mass[a.unknown_slice] = grid.metrics[ax].mass
        j = grid.coordinate_system.j(ax)
        for side, is_node in enumerate(_dirichlet_ends(grid, ax)):
            if not is_node:
                continue
            end = -1 if side else 0
            x = float(a.points[end])
            h = 0.5 * float(a.spacings[end])
            lo = x - h if side else x
            mass[end] = 0.5 * h * sum(float(j(np.array(lo + t * h))) for t in _GAUSS)
        out.append(mass)
    return out


def _outer(parts: list[np.ndarray]) -> np.ndarray:
    out = np.ones(())
    for p in parts:
        out = np.multiply.outer(out, p)
    return out


def move_corner_pieces(
    fluxes: dict[str, float],
    terms: dict[tuple[int, int], np.ndarray],
    halves: dict[tuple[int, int], float],
    name: Any,
    keep: Any = None,
) -> None:
    """Give each face its outflow from the half cells of a node-centred Dirichlet face's nodes.

    A node of Dirichlet face ``(a, s)`` on another face ``F`` (one with terms: not a
    node-centred Dirichlet face, a periodic, axis or pole one) lets out through ``F``
    what its half cell there does; its row is no unknown's, so ``F``'s own terms miss
    it and ``(a, s)`` carries it.  Estimated as ``F``'s term at the unknown next to the
    node times the ratio of their widths along ``a`` (``halves``) and moved from
    ``(a, s)`` to ``F`` (in place): the sum is unchanged, each face's flux is its true
    area's to second order.  ``terms`` are on the unknowns (axes in the grid's order);
    ``keep(a, s)``, when given, masks the nodes that carry it (a domain's).
    """
    for (a, s), ratio in halves.items():
        for (b, t), term in terms.items():
            if b == a:
                continue
            slab = np.take(term, -1 if s else 0, axis=a)
            if keep is not None:
                slab = slab * keep(a, s)
            piece = ratio * math.fsum(slab.reshape(-1))
            fluxes[name(b, t)] += piece
            fluxes[name(a, s)] -= piece


def curvilinear_fluxes(
    disc: CurvilinearFlux, problem: Any, u: np.ndarray, balance: bool
) -> FluxBalance:
    """Return ``q = ∫ -k ∂u/∂n`` through each face of a curvilinear grid, and the balance.

    Parameters
    ----------
    disc : CurvilinearFlux
        The problem's discretisation.
    problem : Problem
        The problem (its ``rhs``, operator and weights give the residual).
    u : ndarray
        The solution on the unknowns, or the whole field (``grid.point_shape``).
    balance : bool
        Also compute ``∫ f``, ``c ∫ u`` and the weighted residual sum.

    Returns
    -------
    FluxBalance
        ``q`` per face (``rmin`` ...; 0 on periodic, axis and pole faces).
    """
    grid: CurvilinearGrid = disc.grid  # type: ignore[assignment]
    system = grid.coordinate_system
    d = grid.dimension
    u = np.asarray(u, dtype=float)
    if u.size == problem.size:
        unknowns = u.reshape(-1)
    else:
        unknowns = grid.from_nodes(u.reshape(grid.point_shape))
    tensor = grid.expand(unknowns)
    field = grid.to_nodes(unknowns, problem.data.dirichlet_values)
    ends = [_dirichlet_ends(grid, ax) for ax in range(d)]
    nodes = np.zeros(grid.point_shape, dtype=int)  # how many Dirichlet faces hold each node
    for ax in range(d):
        for side in (0, 1):
            if ends[ax][side]:
                index = [slice(None)] * d
                index[ax] = -1 if side else 0
                nodes[tuple(index)] += 1
    volume = _outer(point_volumes(grid))
    any_nodes = bool(np.any(nodes))
    f = problem.data.source_nodes() if (any_nodes or balance) else None
    c = disc.shift + np.zeros(grid.point_shape)
    field_c = getattr(disc.data, "shift_field", None)
    if field_c is not None:
        c = c + np.asarray(field_c, dtype=float)
    extra = None
    if any_nodes:  # a node's half volume: what it lets in, shared by its Dirichlet faces
        extra = np.where(nodes > 0, volume * (f - c * field) / np.maximum(nodes, 1), 0.0)
    fluxes = {}
    terms = {}
    for ax in range(d):
        for side in (0, 1):
            diag, lift = disc.boundary_terms(ax, side)
            term = diag * tensor - lift
            q = math.fsum(term.reshape(-1))
            if ends[ax][side]:
                index = [slice(None)] * d
                index[ax] = -1 if side else 0
                q += math.fsum(extra[tuple(index)].reshape(-1))
            elif np.any(diag) or np.any(lift):
                terms[(ax, side)] = term
            fluxes[system.face_name(ax, side)] = q
    halves = {}
    for ax, a in enumerate(grid.axes):
        for side in (0, 1):
            if ends[ax][side]:
                end = -1 if side else 0
                halves[(ax, side)] = 0.5 * float(a.spacings[end]) / grid.metrics[ax].width[end]
    move_corner_pieces(fluxes, terms, halves, system.face_name)
    if not balance:
        return FluxBalance(fluxes, None, None, None)
    weights = grid.tensor_weights()
    at = grid.unknown_index
    outside = nodes > 0
    source = float(np.sum(weights * f[at])) + float(np.sum(volume[outside] * f[outside]))
    absorbed = float(np.sum(weights * c[at] * tensor)) + float(
        np.sum(volume[outside] * c[outside] * field[outside])
    )
    r = problem.unknown_weights * (problem.rhs() - problem.linear_operator() @ unknowns)
    return FluxBalance(fluxes, source, absorbed, float(r.sum()))


def physical_gradient(grid: CurvilinearGrid, u: np.ndarray) -> np.ndarray:
    """Return ``grad u`` in Cartesian components on the points (shape ``u.shape + (3,)``).

    Second-order differences along each coordinate (:func:`numpy.gradient`,
    ``edge_order=2``), ``grad u = Σ_i (∂u/∂x_i) t_i / |t_i|²`` with ``t_i = ∂X/∂x_i``
    the coordinate's tangent (orthogonal coordinates); a term whose tangent
    vanishes (``θ`` on the axis, ``φ`` at a pole) is left out.
    """
    u = np.asarray(u, dtype=float)
    system = grid.coordinate_system
    points = [np.asarray(x, dtype=float) for x in grid.points]
    mesh = np.meshgrid(*points, indexing="ij")
    out = np.zeros((*u.shape, 3))
    for i, x in enumerate(points):
        if u.shape[i] < 2:
            continue
        du = np.gradient(u, x, axis=i, edge_order=2 if u.shape[i] > 2 else 1)
        step = 1e-6 * max(float(x[-1] - x[0]), 1.0)
        plus = [m + step if b == i else m for b, m in enumerate(mesh)]
        minus = [m - step if b == i else m for b, m in enumerate(mesh)]
        hi, lo = system.cartesian(plus), system.cartesian(minus)
        tangent = np.stack(
            [np.broadcast_to((p - m) / (2 * step), u.shape) for p, m in zip(hi, lo, strict=True)],
            axis=-1,
        )
        norm2 = np.sum(tangent**2, axis=-1)
        scale = np.where(norm2 > 1e-20, du / np.where(norm2 > 1e-20, norm2, 1.0), 0.0)
        out += scale[..., None] * tangent
    return out
