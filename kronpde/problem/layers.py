"""Layers of one axis: the flux form of a ``k`` of one coordinate as a tridiagonal-axis structure.

:func:`layer_structure` builds ``A = Σ_{i≠t} diag(k_t) ⊗ T_i + T_t^{(k)} + c I``
(:class:`~kronpde.problem.partial.PartialStructure`) from ``k`` on one line along
``t``: the exact operator of :class:`~kronpde.problem.layered.LayeredFluxForm`, and
``fastdiag-cg``'s layered reference of a variable ``k``
(:func:`layered_reference`: the geometric mean of ``k`` over each layer).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from kronpde.operators.cells import cell_face_k
from kronpde.operators.stencils import diffusion_operator, harmonic_mean, second_difference
from kronpde.problem.partial import PartialStructure

if TYPE_CHECKING:
    from kronpde.geometry.grid import Grid

__all__ = ["LAYER_SHARE", "layer_structure", "layered_reference"]


def layer_structure(
    grid: Grid, t: int, kline: np.ndarray, edges: np.ndarray | None = None, k_faces=None
) -> PartialStructure:
    """Return the flux form of ``k = kline`` along axis ``t`` (at its points) as a structure.

    ``edges``: ``k`` where the fluxes along ``t`` cross (default: the harmonic mean of the
    neighbours, or the cell faces' rule); ``k_faces``: a boundary face's own ``k`` by
    ``(t, side)`` on a cell-centred axis.
    """
    axis = grid.axes[t]
    if axis.cell_centred:
        edge = cell_face_k(axis, kline) if edges is None else edges
        faces = [float(edge[0]), float(edge[-1])]
        for side in (0, 1):
            face = (k_faces or {}).get((t, side))
            if face is not None:
                faces[side] = float(np.ravel(face)[0])
        op_t = diffusion_operator(axis, edge, (faces[0], faces[1]))
        k_unknowns = kline
    else:
        edge = harmonic_mean(kline[:-1], kline[1:]) if edges is None else edges
        op_t = diffusion_operator(axis, edge, (float(kline[0]), float(kline[-1])))
        k_unknowns = kline[axis.unknown_slice]
    ops = tuple(None if i == t else second_difference(a) for i, a in enumerate(grid.axes))
    coupling = tuple(None if i == t else k_unknowns.copy() for i in range(grid.dimension))
    return PartialStructure(
        axis=t,
        operators=ops,
        coupling=coupling,
        lower=op_t.lower.copy(),
        diag=op_t.diag.copy(),
        upper=op_t.upper.copy(),
        periodic=axis.periodic,
        t_weights=op_t.weights.copy(),
        rhs_weights=(None,) * grid.dimension,
        axes=tuple(grid.axes),
        note=f"Layered k: tridiagonal solves along axis {t}.",
    )


#: ``fastdiag-cg`` preconditions a variable ``k`` with a layered ``k_ref`` (the geometric
#: mean of ``k`` over each layer of one axis) where those layer means carry at least this
#: share of the variance of ``log k`` over the points; elsewhere one constant ``k_ref``.
LAYER_SHARE = 0.5


def layered_reference(
    grid: Grid, k_nodes: np.ndarray, log_k: np.ndarray | None = None
) -> PartialStructure | None:
    """Return ``fastdiag-cg``'s layered reference of a variable ``k`` (at the points), or None.

    The axis along which the layer means of ``log k`` vary most; None in 1-D, for a
    constant ``k`` or where that axis' layers explain less than :data:`LAYER_SHARE`.
    ``log_k``: ``log(k_nodes)`` where the caller has it.
    """
    d = grid.dimension
    logk = np.log(np.asarray(k_nodes, dtype=float)) if log_k is None else log_k
    total = float(np.var(logk))
    if d < 2 or not total > 0.0:
        return None
    shares = [float(np.var(logk.mean(axis=tuple(j for j in range(d) if j != i)))) for i in range(d)]
    t = int(np.argmax(shares))
    if shares[t] < LAYER_SHARE * total:
        return None
    kline = np.exp(logk.mean(axis=tuple(j for j in range(d) if j != t)))
    axis = grid.axes[t]
    if axis.periodic and not axis.cell_centred:
        kline[-1] = kline[0]
    found = layer_structure(grid, t, kline)
    share = shares[t] / total
    return replace(
        found,
        note=f"Preconditioner: the tridiagonal-axis solve of a layered k_ref along axis {t} "
        f"(the geometric mean of k over each layer; {share:.0%} of log k's variance).",
    )
