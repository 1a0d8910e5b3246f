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
from kronpde.problem.shift_parts import shift_argument, shift_values

__all__ = [
    "FluxBalance",
    "box_faces",
    "face_fluxes",
    "face_layers",
    "layer_fluxes",
    "volume_sums",
    "zero_flux_problem",
]


@dataclass(frozen=True)
class FluxBalance:
    """The net outward fluxes of a solution and the balance they satisfy.

    Attributes
    ----------
    fluxes : dict of str to float
        ``q`` per face name (``xmin`` ...; ``rmin`` ... of a curvilinear grid), every
        face of the box; 0 on periodic, axis and pole faces; ``embedded`` through the
        embedded boundary of a domain inside the box.
    source : float or None
        ``∫ f`` over the box (the scheme's quadrature: trapezoid weights on
        node-centred axes, the midpoint rule on cell-centred ones).
    absorbed : float or None
        ``c ∫ u`` over the box, the same quadrature.
    residual : float or None
        ``Σ w (b - A u)`` over the unknowns: zero (to round-off) for an exact
        solve; the part of the data a singular problem projected away included.
    """

    fluxes: dict[str, float]
    source: float | None
    absorbed: float | None
    residual: float | None

    @property
    def total(self) -> float:
        """``Σ q`` over the faces."""
        return math.fsum(self.fluxes.values())

    @property
    def imbalance(self) -> float | None:
        """``Σ q + c ∫ u - ∫ f``; equals ``-residual`` to round-off (None: not computed)."""
        if self.source is None or self.absorbed is None:
            return None
        return self.total + self.absorbed - self.source


def face_fluxes(problem: Any, u: np.ndarray, *, balance: bool = True) -> FluxBalance:
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
    balance : bool, optional
        Also compute ``∫ f``, ``c ∫ u`` and the weighted residual sum (default):
        an evaluation of ``f`` on every point and two operator applies.  The
        fluxes alone need the two outer layers of points only.

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
    own = problem.discretisation.face_fluxes(problem, u, balance)
    if own is not None:  # a curvilinear grid, an embedded boundary: their own faces
        return own
    grid: Grid = problem.grid
    if u.size == problem.size:
        unknowns = u.astype(float).reshape(-1)
        field = problem.to_nodes(unknowns)
    else:
        field = np.asarray(u, dtype=float).reshape(grid.point_shape)
        unknowns = np.ascontiguousarray(field[grid.unknown_index]).reshape(-1)
    fluxes = layer_fluxes(problem, {f: field[face_layers(grid, *f)] for f in box_faces(grid)})
    if not balance:
        return FluxBalance(fluxes, None, None, None)
    closed = zero_flux_problem(problem)
    v = np.ascontiguousarray(field[closed.grid.unknown_index]).reshape(-1)
    r = problem.unknown_weights * (problem.rhs() - problem.linear_operator() @ unknowns)
    source, absorbed = volume_sums(closed, v)
    return FluxBalance(fluxes, source, absorbed, float(r.sum()))


def volume_sums(
    closed: Any, v: np.ndarray, box: tuple[tuple[int, ...], tuple[int, ...]] | None = None
) -> tuple[float, float]:
    """Return ``∫ f`` and ``c ∫ u`` over the unknowns of :func:`zero_flux_problem` (or a box).

    Parameters
    ----------
    closed : Problem
        The zero-flux problem: its unknowns are every point but the repeated
        periodic ones, its weights the scheme's quadrature.
    v : ndarray
        ``u`` at those unknowns (flat; on the box with ``box``).
    box : tuple (lo, hi), optional
        A box of them, ``lo[a] <= j < hi[a]`` (a rank's part of a distributed
        solve, whose sums are then added over the ranks).

    Returns
    -------
    source, absorbed : float
    """
    if box is None:
        w = closed.unknown_weights
        f = closed.rhs()
    else:
        w = closed.weights(box).reshape(-1)
        f = closed.rhs(box=box).reshape(-1)
    # pairwise sums (NumPy's): relative error about eps log2(n), far below the balance's 1e-10
    source = float(w @ f)  # f on every point (no data on zero-flux faces)
    c = shift_values(closed.data, closed.shift, closed.grid)  # c(x) at its unknowns
    if np.ndim(c) and box is not None:
        c = c[tuple(slice(low, high) for low, high in zip(*box, strict=True))]
    absorbed = float(w @ (np.reshape(c, -1) * v)) if np.ndim(c) else c * float(w @ v)
    return source, absorbed


def box_faces(grid: Grid) -> list[tuple[int, int]]:
    """Return the faces ``(axis, side)`` of ``grid`` that are not periodic."""
    return [(i, side) for i, a in enumerate(grid.axes) if not a.periodic for side in (0, 1)]


def face_layers(grid: Grid, i: int, side: int) -> tuple[slice, ...]:
    """Return the box of points of face ``(i, side)``'s two outer layers (``slice`` per axis).

    All that :func:`layer_fluxes` reads of the field at that face (one layer if
    axis ``i`` has one point).
    """
    n = grid.point_shape[i]
    layers = min(2, n)
    box = [slice(0, m) for m in grid.point_shape]
    box[i] = slice(0, layers) if side == 0 else slice(n - layers, n)
    return tuple(box)


def layer_fluxes(problem: Any, layers: dict[tuple[int, int], np.ndarray]) -> dict[str, float]:
    """Return ``q`` per face from the field on each face's two outer layers.

    Parameters
    ----------
    problem : Problem
        A second-order problem.
    layers : dict
        Per face ``(axis, side)`` of :func:`box_faces`, the field (Dirichlet
        values included) on the box :func:`face_layers`.

    Returns
    -------
    dict of str to float
        ``q`` per face name, every face of the box (0 on periodic faces).
    """
    zero = _zero_flux_grid(problem.grid)
    faces = box_faces(problem.grid)
    outflow = {f: _face_outflow(problem, layers[f], zero, *f) for f in faces}
    prescribed = {f: _prescribed(problem, layers[f], zero, *f) for f in faces}
    return _share(outflow, zero, prescribed)


def _zero_flux_grid(grid: Grid) -> Grid:
    """Return ``grid`` with every face that is not periodic a zero-flux (Neumann) face."""
    return Grid(
        [a if a.periodic else replace(a, lower_bc=Neumann(), upper_bc=Neumann()) for a in grid.axes]
    )


def _thin_axis(axis: Any, take: slice, lower_bc: Any, upper_bc: Any) -> Any:
    """Return the part of ``axis`` whose points are ``take``, with these faces (same spacings)."""
    cell = axis.cell_centred
    nodes = axis.nodes[take.start : take.stop + (1 if cell else 0)]
    coordinates = None if axis.coordinates is None else tuple(float(x) for x in nodes)
    cells = nodes.size - 1
    return replace(
        axis,
        cells=cells,
        lower=float(nodes[0]),
        upper=float(nodes[-1]),
        lower_bc=lower_bc,
        upper_bc=upper_bc,
        coordinates=coordinates,
    )


def _face_outflow(problem: Any, field: np.ndarray, zero: Grid, i: int, side: int) -> np.ndarray:
    """Return the outflow through face ``(i, side)`` of each of its points' control volumes.

    ``field`` is the field on the face's two outer layers (:func:`face_layers`).

    On the slab of the zero-flux grid's unknowns at the face: ``W (f - c u - L u)`` of the
    zero-flux scheme, less the solve's weighted residual at the points that are unknowns.
    A row at the face needs the two outer layers of points only, so both are computed on
    problems of those two layers (the rows at the face are the whole grid's, the spacings,
    ``k`` and the transverse faces being the same).
    """
    grid = problem.grid
    axis = grid.axes[i]
    n = grid.point_shape[i]
    layers = min(2, n)
    take = slice(0, layers) if side == 0 else slice(n - layers, n)
    whole = layers == n
    outer = 0 if side == 0 else -1

    def thin_problem(axes: list[Any]) -> Any:
        data = {}
        for name in ("source", "coefficient"):
            value = getattr(problem, name)
            if isinstance(value, np.ndarray) and value.ndim == grid.dimension:
                index = [slice(None)] * grid.dimension
                index[i] = take
                value = value[tuple(index)]
            data[name] = value
        return type(problem)(Grid(axes), shift=shift_argument(problem), check=False, **data)

    def rows(p: Any) -> np.ndarray:
        """``W (b - A u)`` of ``p`` on its unknowns, at the outer layer."""
        index = tuple(a.unknown_slice for a in p.grid.axes)  # field: the two layers only
        x = np.ascontiguousarray(field[index]).reshape(-1)
        r = (p.unknown_weights * (p.rhs() - p.linear_operator() @ x)).reshape(p.grid.shape)
        return np.array(np.take(r, outer, axis=i))  # an array also in 1-D (0-d there)

    zaxes = list(zero.axes)
    zaxes[i] = _thin_axis(axis, take, Neumann(), Neumann())
    outflow = rows(thin_problem(zaxes))  # f - c u - L u: the residual of a zero-flux problem
    bc = axis.upper_bc if side else axis.lower_bc
    if isinstance(bc, Dirichlet) and not axis.cell_centred:  # its nodes are no unknowns
        return outflow  # no residual to take out (a cell-centred face's cells are unknowns)
    inner = (axis.lower_bc if side else axis.upper_bc) if whole else Neumann()
    oaxes = list(grid.axes)
    oaxes[i] = _thin_axis(axis, take, *((bc, inner) if side == 0 else (inner, bc)))
    residual = rows(thin_problem(oaxes))
    where = tuple(a.unknown_slice for b, a in enumerate(grid.axes) if b != i)
    outflow[where] -= residual
    return outflow


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
        shift=shift_argument(problem),
        coefficient=problem.coefficient,
        check=False,
    )


def _prescribed(
    problem: Any, field: np.ndarray, closed: Grid, i: int, side: int
) -> np.ndarray | None:
    """Return the flux density ``-k du/dn`` a Neumann or Robin face prescribes (None: Dirichlet).

    On the face's points of the zero-flux problem (``closed``): the slab of its
    unknowns normal to axis ``i``; ``field`` on the face's two outer layers.
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
    parts = getattr(getattr(problem, "data", None), "parts", None)
    owner = problem if parts is None else parts[i]  # anisotropic: axis i's fluxes read k_i
    if not owner.variable_coefficient:
        k = float(owner.coefficient)
    else:
        k = owner.face_coefficient_values().get((i, side))
        k = owner.coefficient_values()[tuple(index)] if k is None else k[tuple(data_index)]
    if isinstance(bc, Neumann):
        return -k * g
    u0 = field[tuple(index)]
    if axis.cell_centred:  # the ghost rule: alpha (u0 + ug)/2 + beta (ug - u0)/h = g
        h = axis.spacings[0 if side == 0 else -1]
        ug = (g - bc.alpha * u0 / 2 + bc.beta * u0 / h) / (bc.alpha / 2 + bc.beta / h)
        return -k * (ug - u0) / h
    return -k * (g - bc.alpha * u0) / bc.beta


def _share(
    outflow: dict[tuple[int, int], np.ndarray],
    grid: Grid,
    prescribed: dict[tuple[int, int], np.ndarray | None],
) -> dict[str, float]:
    """Sum the control volumes' outflow per face; an edge or corner point shares its own.

    ``outflow`` holds each face's slab (the outflow of the control volumes of its
    points; a point on several faces appears in each).  Such a point gives each
    face its estimate (a Neumann or Robin face: the flux its condition
    prescribes on the point's area of it; a Dirichlet face: its flux density at
    the nearest point on that face alone, times that area), and the rest of its
    outflow to its Dirichlet faces (all its faces, if none is Dirichlet) in
    proportion to the areas: the faces' sum stays the point's outflow, and each
    face's share is second-order accurate.
    """
    d = grid.dimension
    weights = [np.asarray(a.weights, dtype=float) for a in grid.axes]
    faces = list(outflow)

    def area(i: int) -> np.ndarray:
        """Return a point's area on a face normal to axis ``i`` (the other axes' weights)."""
        out = np.ones(())
        for b in range(d):
            if b != i:
                out = np.multiply.outer(out, weights[b])
        return out

    own = {}  # per face: area, estimate, Dirichlet or not
    for i, s in faces:
        a = area(i)
        given = prescribed[(i, s)]
        if given is not None:
            own[(i, s)] = (a, given * a, False)
            continue
        density = outflow[(i, s)] / a
        for b, _ in faces[::2]:  # at the face's own edges: the density one point further in
            if b == i or grid.shape[b] < 3:
                continue
            at = b - (b > i)  # the axis in the slab
            for end, near in ((0, 1), (-1, -2)):
                density[_at(d - 1, at, end)] = density[_at(d - 1, at, near)]
        own[(i, s)] = (a, density * a, True)
    fluxes = {face_name(i, s): 0.0 for i in range(d) for s in (0, 1)}
    for i, s in faces:
        a, estimate, is_dirichlet = own[(i, s)]
        q = outflow[(i, s)]
        # what every face of each point of this slab has there: count, areas, estimates
        totals = [np.ones(q.shape), np.zeros(q.shape), a + 0.0 * q, np.zeros(q.shape), 0.0 * q]
        for b, t in faces:
            if (b, t) == (i, s) or (b == i and grid.shape[i] > 1):
                continue
            a_b, est_b, dir_b = own[(b, t)]
            a_b = np.broadcast_to(a_b, outflow[(b, t)].shape)
            if b == i:  # one cell across: the two faces share every point
                where: tuple = (slice(None),) * (d - 1)
            else:  # the edge where the faces meet, in either slab
                where = _at(d - 1, b - (b > i), 0 if t == 0 else -1)
                across = i - (i > b)
                a_b = np.take(a_b, 0 if s == 0 else -1, axis=across)
                est_b = np.take(est_b, 0 if s == 0 else -1, axis=across)
            for k, value in enumerate((1.0, float(dir_b), a_b, a_b * dir_b, est_b)):
                totals[k][where] += value
        count, dirichlet, areas, dirichlet_areas, others = totals
        if is_dirichlet:
            dirichlet = dirichlet + 1
            dirichlet_areas = dirichlet_areas + a
        estimates = estimate + others
        shared = count > 1
        some = dirichlet > 0  # the rest goes to the Dirichlet faces only, if any
        takes = np.where(some, 1.0 if is_dirichlet else 0.0, 1.0)
        among = np.where(some, dirichlet_areas, areas)
        rest = (q - estimates) * takes * a / np.where(shared, among, 1.0)
        fluxes[face_name(i, s)] = float(np.sum(np.where(shared, estimate + rest, q)))
    return fluxes


def _at(ndim: int, axis: int, index: int) -> tuple:
    """Return the index of position ``index`` along ``axis`` of an ``ndim``-D array."""
    out: list = [slice(None)] * ndim
    out[axis] = index
    return tuple(out)
