"""The data of a problem, checked and evaluated once: :class:`ProblemData`.

The grid, the source ``f`` and the coefficient ``k`` (checked at construction),
their values where the discretisations read them (evaluated on first use and
kept), the weights of the unknowns and the boxes a distributed solve
evaluates.  Nothing here depends on the shift ``c``, so problems that differ
only in ``c`` (:meth:`kronpde.Problem.with_shift`) share one object.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import cached_property

import numpy as np

from kronpde._checks import is_real
from kronpde.errors import DataError, GridError
from kronpde.expr.expression import Expression
from kronpde.geometry.boundary import (
    BoundaryData,
    DataSurvey,
    check_data,
    data_error,
    evaluate_data,
)
from kronpde.geometry.grid import Grid
from kronpde.problem.face_k import (
    box_flux_positions,
    evaluated_at_faces,
    fill_unread,
    flux_values,
)

__all__ = [
    "Box",
    "Merge",
    "Nodes",
    "ProblemData",
    "box_index",
    "check_grid",
    "check_shift",
    "shape_name",
]

#: A box of unknowns: per-axis bounds ``lo[a] <= j < hi[a]`` on the array of shape ``grid.shape``.
Box = tuple[Sequence[int], Sequence[int]]

#: Nodes: per axis a ``slice(first, stop)`` or increasing node indices (of the nodal array).
Nodes = Sequence[slice | np.ndarray]

#: Merges the :class:`~kronpde.geometry.boundary.DataSurvey` of every part of a distributed
#: evaluation (collective: every rank calls it once per piece of data, with its own part's).
Merge = Callable[[DataSurvey], DataSurvey]

#: Where an entry of a surveyed array lies: its index to coordinates.
Point = Callable[[tuple[int, ...]], list[float]]


def check_grid(grid: object) -> Grid:
    """Return ``grid`` if it is a :class:`Grid`, else raise the :class:`GridError` of ``"grid"``."""
    if not isinstance(grid, Grid):
        msg = f"grid must be a Grid, got {type(grid).__name__}"
        raise GridError(msg, subject="grid")
    return grid


def check_shift(shift: object) -> float:
    """Return the shift ``c`` as a float, or raise the :class:`DataError` of subject ``"shift"``."""
    subject = "shift"
    if isinstance(shift, (complex, np.complexfloating)):
        msg = f"{shift!r} is complex: a complex problem is a kronpde.ComplexProblem"
        raise data_error(subject, msg)
    if not is_real(shift):
        raise data_error(subject, f"must be a number, got {shift!r}")
    shift = float(shift)
    if not math.isfinite(shift):  # either sign: c < 0 is the indefinite Helmholtz equation
        raise data_error(subject, f"must be finite, got {shift}")
    return shift


class ProblemData:
    """The checked source and coefficient of a problem on its grid, evaluated once where read.

    Parameters
    ----------
    grid : Grid
        The grid.
    source, coefficient
        As for :class:`kronpde.Problem`.
    check : bool
        Check the values of an array coefficient now (else where they are read).

    Raises
    ------
    GridError
        If ``grid`` is not a :class:`Grid`.
    DataError
        For a source or coefficient of the wrong type or shape, or a
        coefficient that is not finite and ``> 0`` (numbers; arrays with ``check``).
    """

    #: The name of ``k`` in errors (one axis' entry of an anisotropic ``k``: ``coefficient.x``).
    subject: str = "coefficient"

    def __init__(
        self, grid: Grid, source: BoundaryData, coefficient: object, *, check: bool = True
    ):
        self.grid = check_grid(grid)
        self.source = self._check_source(source)
        self.coefficient = self._check_coefficient(coefficient, check)
        self._k_nodes: np.ndarray | None = None
        self._k_faces: dict[tuple[int, int], np.ndarray] | None = None

    # -- checking --------------------------------------------------------------------
    def _check_source(self, source: BoundaryData) -> BoundaryData:
        g = self.grid
        source = check_data(source, "source", dimension=g.dimension)
        if isinstance(source, Expression) and source.is_constant:
            return float(source.value)
        if isinstance(source, np.ndarray) and source.ndim > 0:
            if source.shape != g.point_shape:
                subject = "source"
                raise data_error(
                    subject,
                    f"an array source needs the {shape_name(g)} {g.point_shape}, "
                    f"got {source.shape}",
                )
        elif isinstance(source, np.ndarray):
            return float(source)
        return source

    def _check_coefficient(self, coefficient: object, check: bool) -> float | object:
        g = self.grid
        subject = self.subject
        if isinstance(coefficient, np.ndarray) and coefficient.ndim == 0:
            coefficient = coefficient.item()  # a 0-d array is a number
        if isinstance(coefficient, (bool, np.bool_)):
            raise data_error(subject, "must be a number, a callable or an array, got a bool")
        if isinstance(coefficient, (str, Expression)):
            coefficient = check_data(coefficient, subject, dimension=g.dimension)
            if coefficient.is_constant:
                coefficient = float(coefficient.value)
        if is_real(coefficient):
            k = float(coefficient)
            if not math.isfinite(k) or k <= 0.0:
                raise data_error(subject, f"must be finite and > 0, got {k:g}")
            return k
        if callable(coefficient):
            return coefficient
        try:
            arr = np.asarray(coefficient, dtype=float)
        except (TypeError, ValueError) as exc:
            detail = (
                f"must be a number, an expression, a callable or an array of the "
                f"{shape_name(g)} {g.point_shape}, got {type(coefficient).__name__}"
            )
            raise data_error(subject, detail) from exc
        if arr.shape != g.point_shape:
            detail = (
                f"an array coefficient needs the {shape_name(g)} {g.point_shape}, got {arr.shape}"
            )
            raise data_error(subject, detail)
        if check:  # else where it is read, each part of a distributed solve its own
            self.raise_for_coefficient(DataSurvey.of(arr), arr)
        return arr

    def point(self, index: tuple[int, ...]) -> list[float]:
        """Return the coordinates of a point of the field (its index along every axis)."""
        return [float(x[j]) for x, j in zip(self.grid.points, index, strict=True)]

    def raise_for_coefficient(
        self, survey: DataSurvey, coefficient: object = None, point: Point | None = None
    ) -> None:
        """Raise the DataError of a ``k`` whose survey finds it not finite or not > 0 somewhere.

        The same message whether the survey covers every node at once or was
        merged from the parts of a distributed solve.  ``point(index)``: the
        coordinates of an entry of the surveyed array (default: the field's
        points, :meth:`point`).
        """
        coefficient = self.coefficient if coefficient is None else coefficient
        point = self.point if point is None else point
        survey.raise_error(coefficient, self.subject, point)
        if survey.lowest is not None and not survey.lowest[0] > 0.0:
            value, where = survey.lowest
            at = ", ".join(f"{c:.6g}" for c in point(where))
            what = f" = {coefficient.text}" if isinstance(coefficient, Expression) else ""
            subject = self.subject
            raise data_error(
                subject, f"must be > 0 at every node, but k{what} = {value:.6g} at ({at})"
            )

    def check_faces(self) -> None:
        """Evaluate the data of every face (once; the grid keeps them); raise if one is bad."""
        g = self.grid
        for i, a in enumerate(g.axes):
            for side, bc in ((0, a.lower_bc), (1, a.upper_bc)):
                if hasattr(bc, "value"):
                    g.face_data(i, side)

    # -- the coefficient ---------------------------------------------------------------
    @property
    def variable_coefficient(self) -> bool:
        """True when ``k`` varies in space (an expression, a callable or an array)."""
        return not isinstance(self.coefficient, float)

    @property
    def k_nodes(self) -> np.ndarray:
        """``k`` at every point of the field, evaluated (and checked) once; shared, not a copy."""
        if self._k_nodes is None:
            self._k_nodes = self.coefficient_on(None, None, None)
        return self._k_nodes

    @property
    def k_faces(self) -> dict[tuple[int, int], np.ndarray]:
        """``k`` on the boundary faces of the cell-centred axes (their fluxes use it), once.

        Empty for an array coefficient (known at the points only: the boundary
        cells' values serve instead, see :class:`~kronpde.operators.flux.VariableDiffusion`).
        """
        if self._k_faces is None:
            self._k_faces = self._evaluate_faces()
        return self._k_faces

    def _evaluate_faces(self) -> dict[tuple[int, int], np.ndarray]:
        g = self.grid
        faces: dict[tuple[int, int], np.ndarray] = {}
        if isinstance(self.coefficient, np.ndarray):
            return faces
        for i, a in enumerate(g.axes):
            if not a.cell_centred or a.periodic:
                continue
            for side in (0, 1):
                coords = g.face_coordinates(i, side)
                k = evaluate_data(self.coefficient, coords, g.face_shape(i), self.subject)
                self.raise_for_coefficient(DataSurvey.of(k), point=_face_point(coords))
                faces[(i, side)] = k
        return faces

    @cached_property
    def k_edges(self) -> tuple[np.ndarray | None, ...]:
        """Per axis, ``k`` at the faces its fluxes cross (None: harmonic means of the points).

        For a formula (:func:`~kronpde.problem.face_k.evaluated_at_faces`): axis
        ``i``'s array has the grid's unknowns along the other axes and every
        interval (node-centred) or face (cell-centred) along axis ``i``,
        evaluated once and checked finite and ``> 0``.
        """
        g = self.grid
        if not self.variable_coefficient or not evaluated_at_faces(self.coefficient):
            return (None,) * g.dimension
        others = [np.arange(a.unknown_slice.start, a.unknown_slice.stop) for a in g.axes]
        return tuple(
            flux_values(
                self.coefficient, g, i, others, raise_for=self.raise_for_coefficient,
                subject=self.subject,
            )
            for i in range(g.dimension)
        )

    def box_edge_k(
        self, lo: tuple[int, ...], hi: tuple[int, ...], merge: Merge | None = None
    ) -> tuple[np.ndarray | None, ...]:
        """:attr:`k_edges` for the rows of one box of unknowns (the fluxes its rows use).

        Axis ``a``'s array has the box's unknowns along the other axes and the
        positions of :func:`~kronpde.problem.face_k.box_flux_positions` along
        ``a``; each box checks the fluxes it owns (collectively with ``merge``).
        """
        g = self.grid
        if not self.variable_coefficient or not evaluated_at_faces(self.coefficient):
            return (None,) * g.dimension
        others = [
            np.arange(a.unknown_slice.start + lo[b], a.unknown_slice.start + hi[b])
            for b, a in enumerate(g.axes)
        ]
        out = []
        for i, axis in enumerate(g.axes):
            positions, owned = box_flux_positions(axis, lo[i], hi[i])
            out.append(
                flux_values(
                    self.coefficient,
                    g,
                    i,
                    others,
                    positions,
                    owned,
                    merge,
                    self.raise_for_coefficient,
                    subject=self.subject,
                )
            )
        return tuple(out)

    def flux_inputs(self) -> tuple[object, dict, tuple]:
        """``(k, face_k, edge_k)`` of :class:`~kronpde.operators.flux.VariableDiffusion`."""
        return self.k_nodes, self.k_faces, self.k_edges

    def box_inputs(
        self,
        lo: tuple[int, ...],
        hi: tuple[int, ...],
        points: tuple[np.ndarray, ...],
        owned: tuple[slice, ...],
        merge: Merge | None,
    ) -> tuple[object, dict, tuple]:
        """Return ``(k, face_k, edge_k)`` of one box's rows (its ``VariableBox``)."""
        k = self.coefficient_values(points, owned=owned, merge=merge)
        faces = self.box_face_k(lo, hi, points, owned, merge)
        return k, faces, self.box_edge_k(lo, hi, merge)

    @cached_property
    def _k_range(self) -> tuple[float, float]:
        if not self.variable_coefficient:
            return float(self.coefficient), float(self.coefficient)
        parts = [self.k_nodes, *self.k_faces.values(), *(e for e in self.k_edges if e is not None)]
        return min(float(np.min(p)) for p in parts), max(float(np.max(p)) for p in parts)

    def coefficient_range(self) -> tuple[float, float]:
        """Return ``(k_min, k_max)`` over every ``k`` the fluxes use (points, every face), once."""
        return self._k_range

    @cached_property
    def _reference_coefficient(self) -> float:
        if not self.variable_coefficient:
            return float(self.coefficient)
        k = self.grid.from_nodes(self.k_nodes)  # the unknowns' (shared points once), a copy
        return _mean_exp(self.unknown_weights, np.log(k, out=k))

    def reference_coefficient(self) -> float:
        """``k_ref``: ``k``, or ``exp(Σ_j w_j log k_j / Σ_j w_j)`` over the unknowns, once."""
        return self._reference_coefficient

    def reference_from_log(self, log_k: np.ndarray) -> float:
        """Return (and keep) :meth:`reference_coefficient` from ``log k`` at the points."""
        if "_reference_coefficient" not in self.__dict__:  # log, then select: the same bits
            logs = self.grid.from_nodes(log_k)
            self.__dict__["_reference_coefficient"] = _mean_exp(self.unknown_weights, logs)
        return self._reference_coefficient

    def coefficient_values(
        self,
        nodes: Nodes | None = None,
        *,
        owned: Sequence[slice] | None = None,
        merge: Merge | None = None,
    ) -> np.ndarray:
        """Return ``k`` at every point of the field, or at a box of nodes (a new array), checked.

        Parameters
        ----------
        nodes : sequence of slice or ndarray, optional
            Per axis the nodes: a ``slice(first, stop)`` or increasing node
            indices (a rank of a distributed solve takes its box and the one
            layer of nodes around it, :func:`kronpde.operators.flux.box_nodes`).
            Only these are evaluated (an array coefficient: read).
        owned : sequence of slice, optional
            Per axis, the positions in ``nodes`` of the nodes this part checks
            (default: all).  The owned nodes of the parts tile the grid's nodes.
        merge : callable, optional
            ``merge(survey)``: the :class:`~kronpde.geometry.boundary.DataSurvey` of
            every part merged (collective: every part calls it once, also when
            its own values are fine, so that bad data found by one rank stop
            every rank).

        Returns
        -------
        ndarray
            Shape :attr:`Grid.point_shape`, or the box's (``nodes`` is for
            node-centred grids, those the distributed backend takes).

        Raises
        ------
        DataError
            If ``k`` is not finite or not ``> 0`` at some (owned) node, of any
            part with ``merge``: the same message as a check of every node.
        """
        if nodes is None and merge is None:
            if not self.variable_coefficient:
                return np.full(self.grid.point_shape, self.coefficient)
            return self.k_nodes.copy()
        return self.coefficient_on(nodes, owned, merge)

    def face_coefficient_values(self) -> dict[tuple[int, int], np.ndarray]:
        """Return ``k`` on the boundary faces of the cell-centred axes (new arrays), checked.

        A boundary face's flux uses ``k`` at the face itself, so these are
        coefficients of the operator as much as the points' values are.

        Returns
        -------
        dict of (axis, side) to ndarray
            ``side`` 0 for the lower face, 1 for the upper; each array has
            shape ``grid.face_shape(axis)``.  Empty for a node-centred
            grid, a constant ``k`` and an array ``k`` (known at the points
            only: the boundary cells' values serve instead).
        """
        if not self.variable_coefficient:
            return {}
        return {key: value.copy() for key, value in self.k_faces.items()}

    def coefficient_on(
        self, nodes: Nodes | None, owned: Sequence[slice] | None, merge: Merge | None
    ) -> np.ndarray:
        """Evaluate (or read) ``k`` on ``nodes``, survey the owned ones, merge, raise if bad."""
        g = self.grid
        index = [
            np.arange(n) if s is None else _node_indices(s, n)
            for s, n in zip(nodes or [None] * g.dimension, g.point_shape, strict=True)
        ]
        shape = tuple(ix.size for ix in index)
        k = None
        try:
            if not self.variable_coefficient:
                k = np.full(shape, self.coefficient)
            elif self._k_nodes is not None:  # evaluated at every node already
                k = self._k_nodes[np.ix_(*index)]
            elif isinstance(self.coefficient, np.ndarray):
                k = np.array(self.coefficient[np.ix_(*index)], dtype=float)
            else:
                coords = np.meshgrid(
                    *[x[ix] for x, ix in zip(g.points, index, strict=True)],
                    indexing="ij",
                    sparse=True,
                )
                k = evaluate_data(self.coefficient, coords, shape, self.subject, check=False)
                if evaluated_at_faces(self.coefficient):  # not read at a Dirichlet node
                    k = fill_unread(np.array(k, dtype=float), index, g)
            mine = tuple(owned) if owned is not None else (slice(None),) * g.dimension
            survey = DataSurvey.of(k[mine], [ix[o] for ix, o in zip(index, mine, strict=True)])
        except DataError as exc:
            survey = DataSurvey.failed(exc)
        if merge is not None:
            survey = merge(survey)
        self.raise_for_coefficient(survey)
        return k

    def box_face_k(
        self,
        lo: tuple[int, ...],
        hi: tuple[int, ...],
        points: tuple[np.ndarray, ...],
        owned: tuple[slice, ...],
        merge: Merge | None,
    ) -> dict[tuple[int, int], np.ndarray]:
        """Return ``k`` on the boundary faces of the cell-centred axes a box reaches, checked.

        :attr:`k_faces` for one box of unknowns (:meth:`kronpde.Problem.variable_rows`):
        each face is evaluated at the points the box owns along the other axes
        and checked there (with ``merge`` over every box, every box taking part
        for every face, so that the message is the serial check's); the result
        holds the box's unknowns only (shape ``hi - lo`` with 1 along the
        face's axis).  Empty for an array coefficient, as :attr:`k_faces`.
        """
        g = self.grid
        d = g.dimension
        faces: dict[tuple[int, int], np.ndarray] = {}
        if isinstance(self.coefficient, np.ndarray):
            return faces
        cached = self._k_faces is not None  # evaluated on every face already: read the box
        # the box's unknowns along the other axes, as positions among the owned points
        first = [int(points[a][owned[a]][0]) for a in range(d)]
        take = [
            slice(
                ax.unknown_slice.start + lo[a] - first[a], ax.unknown_slice.start + hi[a] - first[a]
            )
            for a, ax in enumerate(g.axes)
        ]
        for i, axis in enumerate(g.axes):
            if not axis.cell_centred or axis.periodic:
                continue
            for side in (0, 1):
                reached = hi[i] == axis.cells if side else lo[i] == 0
                full = g.face_coordinates(i, side)
                mine = [np.arange(1) if a == i else points[a][owned[a]] for a in range(d)]
                k, survey = None, DataSurvey()
                if reached and cached:
                    k = self.k_faces[(i, side)][np.ix_(*mine)]
                elif reached:
                    try:
                        coords = [
                            np.ravel(x)[ix].reshape([ix.size if b == a else 1 for b in range(d)])
                            for a, (x, ix) in enumerate(zip(full, mine, strict=True))
                        ]
                        shape = tuple(ix.size for ix in mine)
                        k = evaluate_data(
                            self.coefficient, coords, shape, self.subject, check=False
                        )
                        survey = DataSurvey.of(k, mine)
                    except DataError as exc:
                        survey = DataSurvey.failed(exc)
                if merge is not None:
                    survey = merge(survey)
                self.raise_for_coefficient(survey, point=_face_point(full))
                if k is not None:
                    index = tuple(slice(0, 1) if a == i else take[a] for a in range(d))
                    faces[(i, side)] = np.array(k[index])
        return faces

    # -- the source ----------------------------------------------------------------------
    def source_values(self, box: Box | None = None, *, merge: Merge | None = None) -> np.ndarray:
        """``f`` at the unknowns, shape :attr:`Grid.shape` (or the box's); a new array.

        Parameters
        ----------
        box : (lo, hi), optional
            A box of unknowns: only its values are evaluated.
        merge : callable, optional
            As for :meth:`coefficient_values`: the boxes of a distributed solve
            (which tile the unknowns) check ``f`` together.

        Raises
        ------
        DataError
            If ``f`` is not finite at some unknown (of any box, with ``merge``).
        """
        g = self.grid
        index = g.unknown_index if box is None else box_index(g, box)
        shape = tuple(s.stop - s.start for s in index)
        src = self.source
        values = None
        try:
            if isinstance(src, np.ndarray):
                values = evaluate_data(src[index], [], shape, "source", check=False)
            else:
                coords = np.meshgrid(
                    *[x[s] for x, s in zip(g.points, index, strict=True)],
                    indexing="ij",
                    sparse=True,
                )
                values = evaluate_data(src, coords, shape, "source", check=False)
            survey = DataSurvey.of(values, [np.arange(s.start, s.stop) for s in index])
        except DataError as exc:
            survey = DataSurvey.failed(exc)
        if merge is not None:
            survey = merge(survey)
        survey.raise_error(src, "source", self.point)
        return values

    def source_nodes(self, box: tuple[slice, ...] | None = None) -> np.ndarray:
        """Return ``f`` at every point of the field, or at a box of them (a new array)."""
        g = self.grid
        box = g.point_box(box)
        shape = tuple(s.stop - s.start for s in box)
        if isinstance(self.source, np.ndarray):
            return evaluate_data(self.source[box], [], shape, "source")
        return evaluate_data(self.source, g.point_coordinates(box), shape, "source")

    # -- weights and boundary values -------------------------------------------------
    def weights(self, box: Box | None = None) -> np.ndarray:
        """Weights of the unknowns (``W``), shape :attr:`Grid.shape` (or the box's)."""
        if box is None:
            return self.grid.weights()
        if self.grid.coordinate_system is not None:  # the control volumes (curvilinear.md)
            return self.grid.box_weights(box)
        lo, hi = box
        w = np.ones(())
        for a, axis in enumerate(self.grid.axes):
            w = np.multiply.outer(w, axis.weights[lo[a] : hi[a]])
        return w

    @cached_property
    def unknown_weights(self) -> np.ndarray:
        """``W`` as one flat, read-only array, made once."""
        w = self.weights().reshape(-1)
        w.flags.writeable = False
        return w

    @cached_property
    def symmetric_scale(self) -> np.ndarray:
        """``D = W^{1/2}`` as a flat array: ``Â = D A D^{-1}``, ``b̂ = D b``, ``u = y / D``."""
        return np.sqrt(self.unknown_weights)

    @cached_property
    def dirichlet_values(self) -> np.ndarray:
        """The field's values on the Dirichlet nodes (:meth:`Grid.dirichlet_nodes`), once."""
        return self.grid.dirichlet_nodes()[0]


def shape_name(grid: Grid) -> str:
    """How a message names the shape of the grid's field."""
    return "node shape" if grid.point_shape == grid.node_shape else "point shape"


def _face_point(coords: list[np.ndarray]) -> Point:
    """Return the coordinates of an entry of a face's array (its ``coords``, broadcast)."""

    def at(index: tuple[int, ...]) -> list[float]:
        return [
            float(np.ravel(x)[min(j, np.size(x) - 1)]) for x, j in zip(coords, index, strict=True)
        ]

    return at


def _node_indices(nodes: slice | np.ndarray, n: int) -> np.ndarray:
    """Return one axis' node indices of a ``slice`` or an index array, checked increasing."""
    if isinstance(nodes, slice):
        index = np.arange(n)[nodes]
    else:
        index = np.asarray(nodes)
    if (
        index.ndim != 1
        or index.dtype.kind not in "iu"
        or np.any(index < 0)
        or np.any(index >= n)
        or np.any(np.diff(index) <= 0)
    ):
        msg = f"nodes: need increasing node indices in 0..{n - 1} per axis, got {nodes!r}"
        raise GridError(msg, subject="nodes")
    return index


def box_index(grid: Grid, box: Box, *, unknowns: bool = False) -> tuple[slice, ...]:
    """Return the box of unknowns as an index into the field's array (or the unknowns').

    Raises
    ------
    DataError
        If the box does not fit the grid (``subject`` ``"box"``).
    """
    lo, hi = box
    if len(lo) != grid.dimension or len(hi) != grid.dimension:
        msg = f"box: lo and hi need {grid.dimension} entries each"
        raise DataError(msg, subject="box")
    out = []
    for a, axis in enumerate(grid.axes):
        start = axis.unknown_slice.start
        if not 0 <= int(lo[a]) <= int(hi[a]) <= axis.n_unknowns:
            msg = f"box: axis {a} bounds [{lo[a]}, {hi[a]}) outside 0..{axis.n_unknowns}"
            raise DataError(msg, subject="box")
        offset = 0 if unknowns else start
        out.append(slice(offset + int(lo[a]), offset + int(hi[a])))
    return tuple(out)


def _mean_exp(weights: np.ndarray, log_k: np.ndarray) -> float:
    """``exp(Σ w log k / Σ w)``: the weighted geometric mean of ``k``."""
    w = weights.reshape(log_k.shape)
    return float(math.exp(float(np.sum(w * log_k) / np.sum(w))))
