"""Net outward flux through each face of the box, consistent with the discretisation.

:func:`face_fluxes` returns ``q = ∫ -k ∂u/∂n`` over every face (``n`` the outward normal,
physical units) of a second-order solution, computed from the control volumes of the
scheme itself so that ``Σ q + c ∫ u = ∫ f`` holds to round-off for an exact solve; for an
approximate one the imbalance is the weighted residual sum ``-Σ w (b - A u)``.  How, and
how edges and corners are shared between faces: ``docs/fluxes.md``.  The problem is read
through its public methods only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from kronpde.errors import SolverError
from kronpde.geometry.axis import face_name
from kronpde.geometry.boundary import Dirichlet, Neumann, Periodic, Robin
from kronpde.geometry.grid import Grid

__all__ = ["FluxBalance", "face_fluxes"]


@dataclass(frozen=True)
class FluxBalance:
    """The net outward fluxes of a solution and the balance they satisfy.

    Attributes
    ----------
    fluxes : dict of str to float
        ``q`` per face name (``xmin`` ...), every face of the box; 0 on periodic faces.
    source : float
        ``∫ f`` over the box (the scheme's quadrature: trapezoid weights on
        node-centred axes, the midpoint rule on cell-centred ones).
    absorbed : float
        ``c ∫ u`` over the box, the same quadrature.
    residual : float
        ``Σ w (b - A u)`` over the unknowns: zero (to round-off) for an exact
        solve; the part of the data a singular problem projected away included.
    """

    fluxes: dict[str, float]
    source: float
    absorbed: float
    residual: float

    @property
    def total(self) -> float:
        """``Σ q`` over the faces."""
        return math.fsum(self.fluxes.values())

    @property
    def imbalance(self) -> float:
        """``Σ q + c ∫ u - ∫ f``; equals ``-residual`` to round-off."""
        return self.total + self.absorbed - self.source


def face_fluxes(problem: Any, u: np.ndarray) -> FluxBalance:
    """Return the net outward flux ``q = ∫ -k ∂u/∂n`` through each face of the box.

    Every point of the field has a control volume of the scheme (its dual cell
    on a node-centred axis, its cell on a cell-centred one).  Over the volume,
    ``outflow + c ∫ u = ∫ f``; the outflow through the volume's interior faces
    is what the scheme with zero-flux faces computes, so the rest of the
    balance is the outflow through the box's faces: the discrete flux of the
    scheme (Dirichlet faces included, through the half volumes of their
    nodes).  On Neumann and Robin faces it equals the flux the condition
    prescribes, the residual of the solve excepted.  A point on an edge or a
    corner shares its outflow between its faces (``docs/fluxes.md``).

    Parameters
    ----------
    problem : Problem
        A second-order problem (``order = 2``).
    u : ndarray
        The solution: on the unknowns (``problem.size`` values) or the whole field
        (``grid.point_shape``, Dirichlet values included).

    Returns
    -------
    FluxBalance
        ``q`` per face, and ``∫ f``, ``c ∫ u`` and the weighted residual sum.

    Raises
    ------
    SolverError
        For a fourth-order problem (its compact scheme has no control volumes
        whose fluxes it balances: solve with ``order = 2`` for fluxes), or a
        complex solution.
    """
    if getattr(problem, "order", 2) != 2:
        msg = (
            "fluxes follow the control volumes of the second-order scheme; the fourth-order "
            "compact scheme has none: solve with order = 2 to compute fluxes"
        )
        raise SolverError(msg)
    u = np.asarray(u)
    if np.iscomplexobj(u):
        msg = "fluxes of a complex solution are not computed"
        raise SolverError(msg)
    grid: Grid = problem.grid
    if u.size == problem.size:
        unknowns = u.astype(float).reshape(-1)
        field = problem.to_nodes(unknowns)
    else:
        field = np.asarray(u, dtype=float).reshape(grid.point_shape)
        unknowns = np.ascontiguousarray(field[grid.unknown_index]).reshape(-1)
    closed = zero_flux_problem(problem)
    inside = closed.grid.unknown_index  # every point but the repeated periodic ones
    v = np.ascontiguousarray(field[inside]).reshape(-1)
    w = closed.unknown_weights
    f = closed.rhs()  # f on every point (no data on zero-flux faces)
    # outflow of each control volume through the box's faces: W (f - c u - L u), zero-flux L
    outflow = (w * (f - closed.linear_operator() @ v)).reshape(closed.grid.shape)
    # on the unknowns, take the residual out: what is left is the flux the data prescribe
    r = problem.unknown_weights * (problem.rhs() - problem.linear_operator() @ unknowns)
    outflow[grid.unknown_index] -= r.reshape(grid.shape)
    prescribed = {
        (i, side): _prescribed(problem, field, closed.grid, i, side)
        for i, a in enumerate(grid.axes)
        if not a.periodic
        for side in (0, 1)
    }
    fluxes = _share(outflow, closed.grid, prescribed)
    # pairwise sums (NumPy's): relative error about eps log2(n), far below the balance's 1e-10
    source = float(w @ f)
    absorbed = problem.shift * float(w @ v)
    return FluxBalance(fluxes, source, absorbed, float(r.sum()))


def zero_flux_problem(problem: Any) -> Any:
    """Return ``problem`` with every face that is not periodic made a zero-flux face.

    Its unknowns are every point of the field but the repeated periodic ones; its
    operator has the same interior fluxes, and none through the box.
    """
    axes = []
    for axis in problem.grid.axes:
        if not isinstance(axis.lower_bc, Periodic):
            axis = replace(axis, lower_bc=Neumann(), upper_bc=Neumann())
        axes.append(axis)
    return type(problem)(
        Grid(axes),
        source=problem.source,
        shift=problem.shift,
        coefficient=problem.coefficient,
        check=False,
    )


def _prescribed(
    problem: Any, field: np.ndarray, closed: Grid, i: int, side: int
) -> np.ndarray | None:
    """Return the flux density ``-k du/dn`` a Neumann or Robin face prescribes (None: Dirichlet).

    On the face's points of the zero-flux problem (``closed``): the slab of its
    unknowns normal to axis ``i``.
    """
    grid = problem.grid
    axis = grid.axes[i]
    bc = axis.upper_bc if side else axis.lower_bc
    if isinstance(bc, Dirichlet) or not isinstance(bc, (Neumann, Robin)):
        return None
    index = list(closed.unknown_index)
    index[i] = 0 if side == 0 else -1
    data_index = list(index)
    data_index[i] = 0
    g = np.asarray(grid.face_data(i, side))[tuple(data_index)]
    if not problem.variable_coefficient:
        k = float(problem.coefficient)
    else:
        k = problem.face_coefficient_values().get((i, side))
        k = problem.coefficient_values()[tuple(index)] if k is None else k[tuple(data_index)]
    if isinstance(bc, Neumann):
        return -k * g
    u0 = field[tuple(index)]
    if axis.cell_centred:  # the ghost rule: alpha (u0 + ug)/2 + beta (ug - u0)/h = g
        h = axis.spacings[0 if side == 0 else -1]
        ug = (g - bc.alpha * u0 / 2 + bc.beta * u0 / h) / (bc.alpha / 2 + bc.beta / h)
        return -k * (ug - u0) / h
    return -k * (g - bc.alpha * u0) / bc.beta


def _share(
    outflow: np.ndarray, grid: Grid, prescribed: dict[tuple[int, int], np.ndarray | None]
) -> dict[str, float]:
    """Sum the control volumes' outflow per face; an edge or corner point shares its own.

    A point on several faces gives each face its estimate (a Neumann or Robin
    face: the flux its condition prescribes on the point's area of it; a
    Dirichlet face: its flux density at the nearest point on that face alone,
    times that area), and the rest of its outflow to its Dirichlet faces (all
    its faces, if none is Dirichlet) in proportion to the areas: the faces' sum
    stays the point's outflow, and each face's share is second-order accurate.
    """
    d = grid.dimension
    weights = [np.asarray(a.weights, dtype=float) for a in grid.axes]
    open_axes = [i for i, a in enumerate(grid.axes) if not a.periodic]
    faces = [(i, s) for i in open_axes for s in (0, 1)]

    def slab(i: int, s: int) -> tuple:
        index = [slice(None)] * d
        index[i] = 0 if s == 0 else -1
        return tuple(index)

    def area(i: int) -> np.ndarray:
        """Return a point's area on a face normal to axis ``i`` (the other axes' weights)."""
        out = np.ones(())
        for b in range(d):
            if b != i:
                out = np.multiply.outer(out, weights[b])
        return out

    count = np.zeros(grid.shape)
    dirichlet = np.zeros(grid.shape)
    areas = np.zeros(grid.shape)
    dirichlet_areas = np.zeros(grid.shape)
    estimates = np.zeros(grid.shape)
    parts = {}
    for i, s in faces:
        a = area(i)
        q = outflow[slab(i, s)]
        given = prescribed[(i, s)]
        count[slab(i, s)] += 1
        areas[slab(i, s)] += a
        if given is not None:
            estimate = given * a
            parts[(i, s)] = (q, a, estimate, False)
            estimates[slab(i, s)] += estimate
            continue
        dirichlet[slab(i, s)] += 1
        dirichlet_areas[slab(i, s)] += a
        density = q / a
        for b in open_axes:  # at the face's own edges: the density one point further in
            if b == i or grid.shape[b] < 3:
                continue
            bb = b if b < i else b - 1  # the axis in the slab
            lo = [slice(None)] * (d - 1)
            hi = [slice(None)] * (d - 1)
            lo[bb], hi[bb] = 0, -1
            near_lo = list(lo)
            near_hi = list(hi)
            near_lo[bb], near_hi[bb] = 1, -2
            density[tuple(lo)] = density[tuple(near_lo)]
            density[tuple(hi)] = density[tuple(near_hi)]
        estimate = density * a
        parts[(i, s)] = (q, a, estimate, True)
        estimates[slab(i, s)] += estimate
    fluxes = {face_name(i, s): 0.0 for i in range(d) for s in (0, 1)}
    for (i, s), (q, a, estimate, is_dirichlet) in parts.items():
        box = slab(i, s)
        shared = count[box] > 1
        some = dirichlet[box] > 0  # the rest goes to the Dirichlet faces only, if any
        takes = np.where(some, 1.0 if is_dirichlet else 0.0, 1.0)
        among = np.where(some, dirichlet_areas[box], areas[box])
        rest = (q - estimates[box]) * takes * a / np.where(shared, among, 1.0)
        mine = np.where(shared, estimate + rest, q)
        fluxes[face_name(i, s)] = float(np.sum(mine))
    return fluxes
