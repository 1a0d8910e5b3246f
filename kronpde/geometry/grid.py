"""Axes and grids: cells, bounds, spacing, nodes, unknown sets and the nodal scatter.

Axis ``i`` with ``m`` cells has spacing ``h = (upper - lower)/m`` and nodes
``lower + j*h, j = 0..m``; a *stretched* axis has any strictly increasing node
coordinates ``x_0 = lower < x_1 < ... < x_m = upper`` instead (the
``coordinates`` of :class:`Axis`; :func:`stretched_nodes` makes the named
stretchings).  An axis is centred one of two ways (``case-format.md``):

``centering="node"`` (vertex-centred, the default)
    The unknowns are the nodes ``j`` in ``unknown_slice``: a Dirichlet face's
    node is known, not an unknown; a Neumann or Robin face's node is an
    unknown; a periodic axis has unknowns ``j = 0..m-1`` (node ``m`` is node
    ``0``).
``centering="cell"`` (cell-centred, staggered)
    The nodes are the cell *faces*; the ``m`` unknowns sit at the cell centres
    ``(x_j + x_{j+1})/2`` (``lower + (j + 1/2) h`` on a uniform axis), every
    condition acts through a ghost value across its face, and a periodic
    axis' ``m`` cells wrap.

The *points* of an axis are where its field has values: the nodes of a
node-centred axis, the cell centres of a cell-centred one (:attr:`Axis.points`).
The field of a grid (a solution with its Dirichlet values, a source or a
coefficient given as an array) lives on the tensor product of the points,
shape :attr:`Grid.point_shape`; on a node-centred grid that is
:attr:`Grid.node_shape`.  The unknowns of the grid are the tensor product of
the per-axis sets, stored as a C-ordered array of shape :attr:`Grid.shape`
(axis 0 slowest).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np

from kronpde.errors import GridError
from kronpde.expr.expression import ExpressionError
from kronpde.geometry.axis import (
    AXIS_NAMES,
    CENTERINGS,
    MAX_BOUND,
    MAX_NODES,
    MIN_RELATIVE_SPACING,
    STRETCHINGS,
    Axis,
    axis_name,
    face_name,
    stretched_nodes,
)
from kronpde.geometry.boundary import (
    CONDITION_TYPES,
    Condition,
    Dirichlet,
    evaluate_data,
    in_dimension,
)

__all__ = [
    "AXIS_NAMES",
    "CENTERINGS",
    "MAX_BOUND",
    "MAX_NODES",
    "MIN_RELATIVE_SPACING",
    "STRETCHINGS",
    "Axis",
    "Grid",
    "axis_name",
    "face_name",
    "stretched_nodes",
]


class Grid:
    """A tensor grid of one or more axes.

    Parameters
    ----------
    axes : sequence of Axis
        The axes, in order ``x, y, z, ...``.  Axis 0 is the slowest index of
        the C-ordered unknown and nodal arrays.

    Examples
    --------
    >>> from kronpde import Grid, Neumann
    >>> g = Grid.box([4, 2], upper=[2.0, 1.0], boundary={"xmax": Neumann(0.0)})
    >>> g.shape, g.node_shape
    ((4, 1), (5, 3))
    """

    #: The curvilinear coordinate system (:mod:`kronpde.geometry.curvilinear`); None: Cartesian.
    coordinate_system = None

    def __init__(self, axes: Sequence[Axis]):
        axes = tuple(axes)
        if not axes:
            msg = "a grid needs at least one axis"
            raise GridError(msg, subject="axes")
        for a in axes:
            if not isinstance(a, Axis):
                msg = f"axes must be Axis objects, got {type(a).__name__}"
                raise GridError(msg, subject="axes")
        nodes = math.prod(a.cells + 1 for a in axes)
        if nodes > MAX_NODES:
            msg = (
                f"cells: {[a.cells for a in axes]} makes {nodes:.3g} nodes; at most "
                f"{MAX_NODES} (2**33) are supported"
            )
            raise GridError(msg, subject="cells")
        self.axes: tuple[Axis, ...] = tuple(self._bind(i, a, len(axes)) for i, a in enumerate(axes))
        self._faces: dict[tuple[int, int], np.ndarray] = {}  # face data, evaluated once

    @staticmethod
    def _bind(i: int, axis: Axis, dimension: int) -> Axis:
        """``axis`` with its faces' expressions checked for this grid's coordinates."""
        bcs = []
        for side, bc in enumerate((axis.lower_bc, axis.upper_bc)):
            try:
                bcs.append(in_dimension(bc, dimension))
            except ExpressionError as exc:
                face = face_name(i, side)
                msg = f"{face}: {exc}"
                raise ExpressionError(msg, subject=face, axis=i, detail=exc.detail) from None
        if bcs[0] is axis.lower_bc and bcs[1] is axis.upper_bc:
            return axis
        return replace(axis, lower_bc=bcs[0], upper_bc=bcs[1])

    @classmethod
    def box(
        cls,
        cells: Sequence[int],
        lower: Sequence[float] | None = None,
        upper: Sequence[float] | None = None,
        boundary: Mapping[str, Condition] | Condition | None = None,
        default: Condition | None = None,
        nodes: Sequence[Sequence[float] | np.ndarray | None] | None = None,
        centering: str | Sequence[str] = "node",
    ) -> Grid:
        """Build a grid from per-axis lists and named faces.

        Parameters
        ----------
        cells : sequence of int
            Intervals per axis; its length is the dimension.
        lower, upper : sequence of float, optional
            Bounds per axis (default 0 and 1).
        boundary : mapping of face name to condition, or one condition
            Faces ``xmin xmax ymin ymax zmin zmax`` (``x3min`` ... beyond 3-D).
        default : condition, optional
            Condition of every face not named (default homogeneous Dirichlet).
        nodes : sequence of (array_like or None), optional
            Per axis, the node coordinates of a stretched axis (``cells[i] + 1``
            strictly increasing numbers; they also fix ``lower[i]`` and
            ``upper[i]``, which must agree if given), or None for uniform nodes.
            On a cell-centred axis the nodes are the cell faces.
        centering : {"node", "cell"} or sequence of them
            Where the unknowns sit, for every axis or per axis (a MAC velocity
            component: ``["node", "cell"]``); default ``"node"``.

        Raises
        ------
        GridError
            On bad sizes, bounds, an unknown face name or a face of an axis the
            grid does not have, or node coordinates that do not fit.

        Examples
        --------
        >>> from kronpde import Grid
        >>> from kronpde.geometry.grid import stretched_nodes
        >>> g = Grid.box([8, 4], nodes=[stretched_nodes(8, 0.0, 1.0, "tanh", 2.0), None])
        >>> [a.uniform for a in g.axes]
        [False, True]
        >>> Grid.box([4, 2], centering=["node", "cell"]).point_shape
        (5, 2)
        """
        cells = _per_axis(cells, "cells", "Grid.box([16]) for 16 cells in 1-D")
        d = len(cells)
        centerings = _centerings(centering, d)
        nodes = [None] * d if nodes is None else _per_axis(nodes, "nodes")
        if len(nodes) != d:
            msg = f"nodes needs one entry per axis ({d}), got {len(nodes)}"
            raise GridError(msg, subject="nodes")
        coords: list[np.ndarray | None] = []
        for i, x in enumerate(nodes):
            if x is None:
                coords.append(None)
                continue
            x = np.asarray(x, dtype=float).reshape(-1)
            if x.size != cells[i] + 1:
                msg = (
                    f"has {x.size} coordinates, but cells = {cells[i]} on axis {axis_name(i)} "
                    f"needs cells + 1 = {cells[i] + 1}"
                )
                msg_0 = f"axis {axis_name(i)}: nodes {msg}"
                raise GridError(msg_0, subject="coordinates", axis=i, detail=msg)
            coords.append(x)
        explicit_lower, explicit_upper = lower is not None, upper is not None
        lower = [0.0] * d if lower is None else _per_axis(lower, "lower", "lower=[0.0]")
        upper = [1.0] * d if upper is None else _per_axis(upper, "upper", "upper=[1.0]")
        for name, values in (("lower", lower), ("upper", upper)):
            if len(values) != d:
                msg = f"{name} needs one entry per axis ({d}), got {len(values)}"
                raise GridError(msg, subject=name)
        boundary, default = _conditions(boundary, default, d)
        for i, x in enumerate(coords):
            if x is None:
                continue
            for name, given, end in (("lower", explicit_lower, 0), ("upper", explicit_upper, -1)):
                bounds = lower if end == 0 else upper
                if given and float(bounds[i]) != float(x[end]):
                    msg = (
                        f"{'starts' if end == 0 else 'ends'} at {float(x[end]):g} but {name} is "
                        f"{float(bounds[i]):g} on axis {axis_name(i)}; they must agree (or "
                        f"leave {name} out)"
                    )
                    msg_0 = f"axis {axis_name(i)}: nodes {msg}"
                    raise GridError(
                        msg_0,
                        subject="coordinates",
                        axis=i,
                        detail=msg,
                    )
                bounds[i] = float(x[end])
        axes = []
        for i in range(d):
            lo = boundary.get(face_name(i, 0), default)
            hi = boundary.get(face_name(i, 1), default)
            x = coords[i]
            try:
                axes.append(
                    Axis(
                        cells[i],
                        lower[i],
                        upper[i],
                        lo,
                        hi,
                        None if x is None else tuple(x),
                        centerings[i],
                    )
                )
            except GridError as exc:
                subject = {"lower_bc": face_name(i, 0), "upper_bc": face_name(i, 1)}.get(
                    exc.subject, exc.subject
                )
                msg_0 = f"axis {axis_name(i)}: {exc}"
                raise GridError(
                    msg_0,
                    subject=subject,
                    axis=i,
                    detail=f"axis {axis_name(i)}: {exc.detail}",
                ) from None
        return cls(axes)

    # -- sizes -----------------------------------------------------------------
    @property
    def dimension(self) -> int:
        """Number of axes."""
        return len(self.axes)

    def refined(self, factor: int) -> Grid:
        """Return the same grid with every interval of every axis split into ``factor`` parts.

        See :meth:`Axis.refined`; the boundary conditions are kept (data given as
        arrays over a face's nodes then no longer fit: use expressions or callables).
        """
        return Grid([a.refined(factor) for a in self.axes])

    def with_axes(self, axes: Sequence[Axis]) -> Grid:
        """Return a grid of the same kind (coordinates) on other axes."""
        return Grid(axes)

    @property
    def cells(self) -> tuple[int, ...]:
        """Cells per axis."""
        return tuple(a.cells for a in self.axes)

    @property
    def uniform(self) -> bool:
        """True when every axis is evenly spaced."""
        return all(a.uniform for a in self.axes)

    @property
    def spacing(self) -> tuple[float, ...]:
        """Spacing ``h`` per axis (the mean spacing of a stretched axis)."""
        return tuple(a.h for a in self.axes)

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the C-ordered array of unknowns."""
        return tuple(a.n_unknowns for a in self.axes)

    @property
    def size(self) -> int:
        """Number of unknowns."""
        return math.prod(self.shape)

    @property
    def node_shape(self) -> tuple[int, ...]:
        """Shape of the full nodal array, ``cells + 1`` per axis (faces on cell-centred axes)."""
        return tuple(a.cells + 1 for a in self.axes)

    @property
    def nodes(self) -> list[np.ndarray]:
        """Node coordinates per axis (1-D arrays of length ``cells + 1``)."""
        return [a.nodes for a in self.axes]

    def node_coordinates(self) -> list[np.ndarray]:
        """Sparse ``ij`` meshgrid of all nodes (arrays broadcastable to :attr:`node_shape`)."""
        return list(np.meshgrid(*self.nodes, indexing="ij", sparse=True))

    @property
    def centering(self) -> tuple[str, ...]:
        """``"node"`` or ``"cell"`` per axis."""
        return tuple(a.centering for a in self.axes)

    @property
    def cell_centred(self) -> bool:
        """True when every axis is cell-centred (the field is VTK cell data)."""
        return all(a.cell_centred for a in self.axes)

    @property
    def point_shape(self) -> tuple[int, ...]:
        """Shape of the grid's field: ``cells + 1`` per node-centred axis, ``cells`` per cell one.

        Equal to :attr:`node_shape` on a node-centred grid.
        """
        return tuple(a.points.size for a in self.axes)

    @property
    def points(self) -> list[np.ndarray]:
        """The field's coordinates per axis (:attr:`Axis.points`: nodes or cell centres)."""
        return [a.points for a in self.axes]

    def point_box(self, box: Sequence[slice] | None = None) -> tuple[slice, ...]:
        """Return ``box`` (a ``slice(first, stop)`` per axis of the field) checked, or all of it."""
        if box is None:
            return tuple(slice(0, n) for n in self.point_shape)
        box = tuple(box)
        if len(box) != self.dimension or not all(
            isinstance(s, slice) and 0 <= s.start < s.stop <= n and s.step in (None, 1)
            for s, n in zip(box, self.point_shape, strict=False)
        ):
            msg = (
                f"box: need {self.dimension} slices inside the field's shape {self.point_shape}, "
                f"got {box}"
            )
            raise GridError(msg, subject="box")
        return box

    def point_coordinates(self, box: Sequence[slice] | None = None) -> list[np.ndarray]:
        """Sparse ``ij`` meshgrid of the field's points, or of a box of them (``slice`` per axis).

        The arrays broadcast to :attr:`point_shape` (or the box's shape).
        """
        box = self.point_box(box)
        return list(
            np.meshgrid(
                *[x[s] for x, s in zip(self.points, box, strict=True)], indexing="ij", sparse=True
            )
        )

    def unknown_coordinates(self) -> list[np.ndarray]:
        """Sparse ``ij`` meshgrid of the unknowns' coordinates (broadcast to :attr:`shape`)."""
        return list(
            np.meshgrid(*[a.points[a.unknown_slice] for a in self.axes], indexing="ij", sparse=True)
        )

    @property
    def unknown_index(self) -> tuple[slice, ...]:
        """Index of the unknowns inside the field (the array of :attr:`point_shape`)."""
        return tuple(a.unknown_slice for a in self.axes)

    def weights(self) -> np.ndarray:
        """Trapezoid weights of the unknowns, shape :attr:`shape`.

        The Kronecker (outer) product of the per-axis weights: ``W = W_0 ⊗ W_1 ⊗ ...``
        (on a cell-centred axis its cell widths, :attr:`Axis.weights`).
        """
        w = np.ones(())
        for a in self.axes:
            w = np.multiply.outer(w, a.weights)
        return w

    @property
    def singular(self) -> bool:
        """True if every axis operator is singular (constant null space when ``c = 0``)."""
        return all(a.has_null_space for a in self.axes)

    # -- faces -----------------------------------------------------------------
    def face_coordinates(self, i: int, side: int) -> list[np.ndarray]:
        """Coordinates of all points of face ``(i, side)``, as sparse broadcastable arrays.

        The array for axis ``i`` holds the face's position, the others the
        points of their axes (nodes, or cell centres on cell-centred axes);
        the result broadcasts to :meth:`face_shape`.
        """
        coords = []
        for j, a in enumerate(self.axes):
            shape = [1] * self.dimension
            if j == i:
                c = np.array([a.nodes[-1] if side else a.nodes[0]])
            else:
                c = a.points
                shape[j] = c.size
            coords.append(c.reshape(shape))
        return coords

    def face_shape(self, i: int) -> tuple[int, ...]:
        """Shape of a face of axis ``i`` as an N-D array with length 1 along axis ``i``."""
        shape = list(self.point_shape)
        shape[i] = 1
        return tuple(shape)

    def face_data(self, i: int, side: int) -> np.ndarray:
        """Boundary data of face ``(i, side)`` on all its points, shape :meth:`face_shape`.

        Arrays given as data may have the face's own shape (the point shape
        without axis ``i``) or the N-D shape with length 1 along axis ``i``.
        The data are evaluated once per grid and kept (the result is read-only).

        Raises
        ------
        DataError
            If the data are not finite on every node of the face, or do not fit it
            (the error's subject is the face's name).
        """
        cached = self._faces.get((i, side))
        if cached is not None:
            return cached
        bc = self.axes[i].upper_bc if side else self.axes[i].lower_bc
        shape = self.face_shape(i)
        value = bc.value
        if not callable(value) and np.ndim(value) == self.dimension - 1 and self.dimension > 1:
            value = np.expand_dims(np.asarray(value, dtype=float), i)
        data = evaluate_data(value, self.face_coordinates(i, side), shape, face_name(i, side))
        data.flags.writeable = False
        self._faces[(i, side)] = data
        return data

    # -- unknowns <-> nodes -------------------------------------------------------
    def dirichlet_nodes(
        self, box: tuple[slice, ...] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Values and mask of the Dirichlet nodes over the field (or a box of it).

        Only the Dirichlet faces of node-centred axes have points of the field;
        a cell-centred axis' faces lie between its points.

        Parameters
        ----------
        box : tuple of slice, optional
            A box of the field's points (``slice(first, stop)`` per axis): only
            its values are computed (a rank of a distributed solve builds its own
            piece).

        Returns
        -------
        values : ndarray, shape :attr:`point_shape` (or the box's)
            The Dirichlet value on Dirichlet nodes; where several Dirichlet
            faces meet (edges, corners) the mean of their values; 0 elsewhere.
        mask : ndarray of bool, same shape
        """
        box = self.point_box(box)
        shape = tuple(s.stop - s.start for s in box)
        values = np.zeros(shape)
        mask = np.zeros(shape, dtype=bool)
        # per axis, 1 at the box's Dirichlet nodes: their sum is how many Dirichlet faces
        # meet at a node; only the faces' slabs are touched (never a pass over the box)
        marks, faces = [], []
        for i, a in enumerate(self.axes):
            mark = np.zeros(shape[i])
            for side, bc in ((0, a.lower_bc), (1, a.upper_bc)):
                node = a.cells if side else 0
                if (
                    not a.cell_centred
                    and isinstance(bc, Dirichlet)
                    and box[i].start <= node < box[i].stop
                ):
                    mark[node - box[i].start] = 1.0
                    faces.append((i, side, node - box[i].start))
            marks.append(mark)
        for i, side, at in faces:
            idx = [slice(None)] * self.dimension
            idx[i] = slice(at, at + 1)
            count = np.zeros([1 if j == i else n for j, n in enumerate(shape)])
            for j, mark in enumerate(marks):
                view = [1] * self.dimension
                view[j] = -1
                count = count + (mark[at : at + 1] if j == i else mark).reshape(view)
            face = [s if j != i else slice(None) for j, s in enumerate(box)]
            values[tuple(idx)] += self.face_data(i, side)[tuple(face)] / count
            mask[tuple(idx)] = True
        return values, mask

    def to_nodes(self, u: np.ndarray, dirichlet_values: np.ndarray | None = None) -> np.ndarray:
        """Scatter unknowns into the full field (the nodal field on a node-centred grid).

        Parameters
        ----------
        u : ndarray
            Unknowns, shape :attr:`shape` or flat of length :attr:`size`.
        dirichlet_values : ndarray, optional
            Array of Dirichlet values over the field (from :meth:`dirichlet_nodes`);
            when not given, computed for the slabs of points that are not unknowns only.

        Returns
        -------
        ndarray, shape :attr:`point_shape`
            Dirichlet nodes carry their values; on a periodic node-centred
            axis node ``m`` repeats node ``0``; along a cell-centred axis the
            field is the unknowns themselves.
        """
        u = np.asarray(u, dtype=float).reshape(self.shape)
        full = np.empty(self.point_shape)
        full[self.unknown_index] = u
        # the points that are not unknowns lie in slabs at the ends of some axis: only
        # those are written, from the Dirichlet values given or computed for the slab alone
        # (never an array of the field's size, whose every page a slab across the last axis
        # would touch)
        for i, s in enumerate(self.unknown_index):
            for part in (slice(0, s.start), slice(s.stop, self.point_shape[i])):
                if part.stop > part.start:
                    idx = [slice(None)] * self.dimension
                    idx[i] = part
                    if dirichlet_values is not None:
                        full[tuple(idx)] = dirichlet_values[tuple(idx)]
                    else:
                        box = tuple(
                            part if j == i else slice(0, n) for j, n in enumerate(self.point_shape)
                        )
                        full[tuple(idx)] = self.dirichlet_nodes(box)[0]
        return self.wrap_periodic(full)

    def wrap_periodic(self, full: np.ndarray) -> np.ndarray:
        """Copy node 0 of each periodic node-centred axis onto its last node (node m); return it."""
        for i, a in enumerate(self.axes):
            if a.periodic and not a.cell_centred:
                dst = [slice(None)] * self.dimension
                src = [slice(None)] * self.dimension
                dst[i], src[i] = -1, 0
                full[tuple(dst)] = full[tuple(src)]
        return full

    def from_nodes(self, field: np.ndarray) -> np.ndarray:
        """Return the unknowns' values of a field (shape :attr:`point_shape`), a copy."""
        field = np.asarray(field, dtype=float)
        if field.shape != self.point_shape:
            msg = f"expected an array of the point shape {self.point_shape}, got {field.shape}"
            raise GridError(msg, subject="field")
        return np.array(field[self.unknown_index])

    def __repr__(self) -> str:
        """Return a one-line summary."""
        parts = []
        for i, a in enumerate(self.axes):
            parts.append(
                f"{axis_name(i)}: {a.cells} {'cells' if a.uniform else 'stretched cells'} on "
                f"[{a.lower:g}, {a.upper:g}] ({a.lower_bc.kind}/{a.upper_bc.kind}"
                f"{', cell-centred' if a.cell_centred else ''})"
            )
        return f"Grid({'; '.join(parts)})"


def _conditions(
    boundary: object, default: object, d: int
) -> tuple[Mapping[str, Condition], Condition]:
    """Return ``Grid.box``'s faces and default, checked (a GridError naming the argument)."""
    if boundary is None:
        boundary = {}
    elif isinstance(boundary, CONDITION_TYPES):
        default, boundary = boundary, {}
    elif not isinstance(boundary, Mapping):
        msg = (
            "boundary must be a mapping of face name to condition (e.g. "
            f"{{'xmin': Neumann()}}) or one condition, got {type(boundary).__name__} "
            f"{boundary!r}"
        )
        raise GridError(msg, subject="boundary")
    default = Dirichlet() if default is None else default
    if not isinstance(default, CONDITION_TYPES):
        msg = (
            "default must be a condition (Dirichlet, Neumann, Robin or Periodic), got "
            f"{type(default).__name__} {default!r}"
        )
        raise GridError(msg, subject="default")
    names = {face_name(i, s) for i in range(d) for s in (0, 1)}
    for key in boundary:
        if key not in names:
            msg = f"face {key!r} does not exist in {d}-D; faces are {', '.join(sorted(names))}"
            raise GridError(msg, subject=key)
    return boundary, default


def _per_axis(value: object, name: str, example: str | None = None) -> list:
    """Return ``value`` (one entry per axis) as a list; else a GridError naming ``name``."""
    if isinstance(value, Sequence | np.ndarray) and not isinstance(value, str | bytes):
        return list(value)
    hint = f" (e.g. {example})" if example else ""
    got = f"{type(value).__name__} {value!r}"
    msg = f"{name} must be a sequence with one entry per axis{hint}, got {got}"
    raise GridError(msg, subject=name)


def _centerings(centering: str | Sequence[str], dimension: int) -> tuple[str, ...]:
    """``centering`` of :meth:`Grid.box` as one entry per axis (each checked by :class:`Axis`)."""
    if isinstance(centering, str):
        return (centering,) * dimension
    try:
        values = tuple(centering)
    except TypeError:
        msg = f'centering: must be "node", "cell" or a list of them, got {centering!r}'
        raise GridError(msg, subject="centering") from None
    if len(values) != dimension:
        msg = f"centering needs one entry per axis ({dimension}), got {len(values)}"
        raise GridError(msg, subject="centering")
    for v in values:
        if not isinstance(v, str) or v not in CENTERINGS:
            msg = f'centering: every entry must be "node" or "cell", got {v!r}'
            raise GridError(msg, subject="centering")
    return values
