"""Problem: a grid with its equation data; builds the operator and the right-hand side.

The problem is ``-div(k grad u) + c u = f`` on the grid's box with the grid's
boundary conditions, discretised as ``A u = b`` on the unknowns
(``case-format.md``, "Discretisation").  With a constant ``k``:

* ``A = sum_i I ⊗ ... ⊗ T_i ⊗ ... ⊗ I + c I`` with ``T_i`` from
  :func:`kronpde.operators.stencils.second_difference`;
* ``b = f`` at the unknowns plus the boundary data lifted in: ``g/h²`` next to
  a Dirichlet face, ``2g/h`` on a Neumann face, ``2g/(beta h)`` on a Robin face.

On a cell-centred axis (``centering="cell"``) ``T_i`` is the finite-volume
operator of :mod:`kronpde.operators.cells` and its faces lift their data through the
ghost rules (``2g/h²`` Dirichlet, ``g/h`` Neumann); the field, the source and
an array coefficient live on the grid's points (:attr:`Grid.point_shape`).

``A`` is not symmetric when a Neumann/Robin face is present.  Two symmetric
forms exist, both from the trapezoid weights ``W = W_0 ⊗ W_1 ⊗ ...`` (the
cell widths on cell-centred axes):
``W A`` (row scaling) and ``Â = D A D^{-1}`` with ``D = W^{1/2}`` (similarity).
The solvers work on ``Â y = D b``, ``u = D^{-1} y``, because ``Â`` is again a
Kronecker sum (of the symmetrised 1-D operators).

With ``order=4`` (constant ``k``, uniform axes) the operator is the compact
fourth-order scheme of :mod:`kronpde.operators.compact`, a polynomial in the same
``T_i`` (``Σ_i T_i - Σ_{i<j} (a_i + a_j) T_i T_j + c M``, ``a_i = h_i²/(12k)``),
and ``b`` is ``M f`` plus the boundary data and the Neumann/Robin faces'
corrections of :mod:`kronpde.operators.compact_rhs`; ``W A`` is symmetric again.

With a variable ``k(x)`` (an expression, a callable or a nodal array) the
operator is the flux form ``W A = sum_i D_iᵀ K_i D_i + c W`` of
:mod:`kronpde.operators.flux` (harmonic mean of the nodal ``k`` at the interval
mid-points): symmetric in the same weights, but no longer a Kronecker sum
(:attr:`Problem.is_kronecker_sum` is False), so fast diagonalization serves as a
preconditioner (``fastdiag-cg``) instead of a solver.

Data are checked when the problem is built: types, shapes and, for numbers
and arrays, finiteness at once; expressions and callables are evaluated once
(at construction with ``check=True``, the default; where first needed with
``check=False``) and kept, so that a bad value is reported before anything is
solved and nothing is evaluated twice.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import cached_property

import numpy as np
import scipy.sparse as sp

from kronpde.errors import DataError, GridError, SolverError
from kronpde.expr.expression import Expression
from kronpde.geometry.boundary import (
    BoundaryData,
    DataSurvey,
    check_data,
    data_error,
    evaluate_data,
)
from kronpde.geometry.grid import Grid
from kronpde.operators.compact import CompactOperator, CompactScheme
from kronpde.operators.compact_rhs import compact_rhs, compact_rhs_box
from kronpde.operators.flux import (
    CellVariableBox,
    VariableBox,
    VariableDiffusion,
    VariableOperator,
    box_nodes,
    box_points,
)
from kronpde.operators.kronsum import KronSumOperator, assemble
from kronpde.operators.stencils import AxisOperator, second_difference
from kronpde.problem.certify import Certificate, Certifier, EigenvalueBound, smallest_eigenvalue

#: A box of unknowns: per-axis bounds ``lo[a] <= j < hi[a]`` on the array of shape ``grid.shape``.
Box = tuple[Sequence[int], Sequence[int]]

#: The orders of the discretisation: second differences, the fourth-order compact scheme.
ORDERS = (2, 4)

#: Nodes: per axis a ``slice(first, stop)`` or increasing node indices (of the nodal array).
Nodes = Sequence[slice | np.ndarray]

#: Merges the :class:`~kronpde.geometry.boundary.DataSurvey` of every part of a distributed
#: evaluation (collective: every rank calls it once per piece of data, with its own part's).
Merge = Callable[[DataSurvey], DataSurvey]


def _number(value: object) -> bool:
    return not isinstance(value, (bool, np.bool_)) and isinstance(
        value, (int, float, np.integer, np.floating)
    )


class Problem:
    """The boundary-value problem ``-div(k grad u) + c u = f`` on a grid.

    Parameters
    ----------
    grid : Grid
        Axes, bounds and boundary conditions.
    source : float, str, callable or ndarray
        ``f``: a number, an expression string in the coordinates (the grammar of
        :mod:`kronpde.expr.expression`, as in case files), a callable ``f(x, y, ...)`` of
        broadcastable coordinate arrays, or an array of the grid's
        :attr:`~Grid.point_shape` (its :attr:`~Grid.node_shape` on a
        node-centred grid; the cell centres along cell-centred axes).
    shift : float
        ``c >= 0``.
    coefficient : float, str, callable or ndarray
        ``k > 0`` of ``-div(k grad u)``.  A number (or a constant expression)
        multiplies every 1-D operator and its lifting factors (the boundary
        conditions keep their meaning: ``du/dn = g`` stays a condition on
        ``du/dn``); an expression, a callable or a nodal array is a variable
        ``k(x)``, evaluated at every point of the field (every node, Dirichlet
        nodes included; the cell centres along a cell-centred axis, and the
        boundary faces of such an axis for their fluxes; an array gives no
        values on those faces, so they take the boundary cell's).
    order : {2, 4}, optional
        The order of the discretisation (``[scheme] order`` of a case file):
        2 (default), the second differences; 4, the compact fourth-order
        scheme (:mod:`kronpde.operators.compact`), for a constant coefficient on
        uniform node-centred axes with any faces.
    check : bool, optional
        Evaluate every expression and callable (source, faces, coefficient) now
        (default), so that bad data fail here; with False they are evaluated
        where first used (a distributed solve evaluates each rank's box only),
        and so are the values of an array coefficient (each rank reads its part).

    Raises
    ------
    DataError
        For unusable data: a source, shift or coefficient of the wrong type or
        shape, not finite, or a coefficient that is not ``> 0`` somewhere (with
        ``check=True`` also data that are not finite where they are evaluated).
        The error's ``subject`` names the argument (``"source"``, ``"shift"``,
        ``"coefficient"``, or the face); ``"order"`` for an order other than 2
        or 4, or order 4 where the fourth-order scheme does not apply (a
        variable coefficient, a stretched or cell-centred axis).

    Examples
    --------
    >>> from kronpde import Grid, Problem
    >>> p = Problem(Grid.box([8, 8]), source="2*pi**2*sin(pi*x)*sin(pi*y)")
    >>> p.operator().shape
    (49, 49)
    >>> Problem(Grid.box([8, 8]), source="sin(pi*z)")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    kronpde.errors.ExpressionError: source: name 'z' is not allowed in a 2-D case; ...
    """

    def __init__(
        self,
        grid: Grid,
        source: BoundaryData = 0.0,
        shift: float = 0.0,
        coefficient: float | str | object = 1.0,
        *,
        order: int = 2,
        check: bool = True,
    ):
        if not isinstance(grid, Grid):
            msg = f"grid must be a Grid, got {type(grid).__name__}"
            raise GridError(msg, subject="grid")
        if not _number(shift):
            msg_0 = "shift"
            raise data_error(msg_0, f"must be a number, got {shift!r}")
        shift = float(shift)
        if not math.isfinite(shift) or shift < 0.0:
            msg_0 = "shift"
            raise data_error(msg_0, f"must be finite and >= 0, got {shift}")
        self.grid = grid
        self.shift = shift
        self.source = self._check_source(source)
        self.coefficient = self._check_coefficient(coefficient, check)
        self.order = self._check_order(order)
        self._rows: dict[tuple, VariableBox] = {}  # the box of variable_rows (one kept)
        if check:
            self.check()

    # -- checking --------------------------------------------------------------------
    def _check_source(self, source: BoundaryData) -> BoundaryData:
        g = self.grid
        source = check_data(source, "source", dimension=g.dimension)
        if isinstance(source, Expression) and source.is_constant:
            return float(source.value)
        if isinstance(source, np.ndarray) and source.ndim > 0:
            if source.shape != g.point_shape:
                msg = "source"
                raise data_error(
                    msg,
                    f"an array source needs the {_shape_name(g)} {g.point_shape}, "
                    f"got {source.shape}",
                )
        elif isinstance(source, np.ndarray):
            return float(source)
        return source

    def _check_coefficient(self, coefficient: object, check: bool) -> float | object:
        g = self.grid
        if isinstance(coefficient, np.ndarray) and coefficient.ndim == 0:
            coefficient = coefficient.item()  # a 0-d array is a number
        if isinstance(coefficient, (bool, np.bool_)):
            msg = "coefficient"
            raise data_error(msg, "must be a number, a callable or an array, got a bool")
        if isinstance(coefficient, (str, Expression)):
            coefficient = check_data(coefficient, "coefficient", dimension=g.dimension)
            if coefficient.is_constant:
                coefficient = float(coefficient.value)
        if _number(coefficient):
            k = float(coefficient)
            if not math.isfinite(k) or k <= 0.0:
                msg = "coefficient"
                raise data_error(msg, f"must be finite and > 0, got {k:g}")
            return k
        if callable(coefficient):
            return coefficient
        try:
            arr = np.asarray(coefficient, dtype=float)
        except (TypeError, ValueError) as exc:
            msg = (
                f"must be a number, an expression, a callable or an array of the "
                f"{_shape_name(g)} {g.point_shape}, got {type(coefficient).__name__}"
            )
            msg_0 = "coefficient"
            raise data_error(msg_0, msg) from exc
        if arr.shape != g.point_shape:
            msg = (
                f"an array coefficient needs the {_shape_name(g)} {g.point_shape}, got {arr.shape}"
            )
            msg_0 = "coefficient"
            raise data_error(msg_0, msg)
        if check:  # else where it is read, each part of a distributed solve its own
            self._raise_for_coefficient(DataSurvey.of(arr), arr)
        return arr

    def _check_order(self, order: object) -> int:
        """Return the order if 2, or 4 where the fourth-order scheme applies (else a DataError)."""
        if isinstance(order, (bool, np.bool_)) or order not in ORDERS:
            msg = "order"
            raise data_error(msg, f"must be 2 or 4, got {order!r}")
        order = int(order)
        if order == 2:
            return order
        why = None
        if self.variable_coefficient:
            why = (
                "needs a constant coefficient k, but k varies in space (the compact scheme "
                "is a polynomial in constant-coefficient 1-D operators)"
            )
        for i, axis in enumerate(self.grid.axes):
            if why is not None:
                break
            if not axis.uniform:
                why = f"needs uniform axes, but axis {'xyz'[i]} is stretched"
            elif axis.cell_centred:  # its ghost values differ: no compact closure yet
                why = f"needs node-centred axes, but axis {'xyz'[i]} is cell-centred"
        if why is not None:
            msg = "order"
            raise data_error(msg, f"the fourth-order scheme (order = 4) {why}; use order 2")
        return order

    def _point(self, index: tuple[int, ...]) -> list[float]:
        """Return the coordinates of a point of the field (its index along every axis)."""
        return [float(x[j]) for x, j in zip(self.grid.points, index, strict=True)]

    def _raise_for_coefficient(
        self,
        survey: DataSurvey,
        coefficient: object = None,
        point: Callable[[tuple[int, ...]], list[float]] | None = None,
    ) -> None:
        """Raise the DataError of a ``k`` whose survey finds it not finite or not > 0 somewhere.

        The same message whether the survey covers every node at once or was
        merged from the parts of a distributed solve.  ``point(index)``: the
        coordinates of an entry of the surveyed array (default: the field's
        points, :meth:`_point`).
        """
        coefficient = self.coefficient if coefficient is None else coefficient
        point = self._point if point is None else point
        survey.raise_error(coefficient, "coefficient", point)
        if survey.lowest is not None and not survey.lowest[0] > 0.0:
            value, where = survey.lowest
            at = ", ".join(f"{c:.6g}" for c in point(where))
            what = f" = {coefficient.text}" if isinstance(coefficient, Expression) else ""
            msg = "coefficient"
            raise data_error(msg, f"must be > 0 at every node, but k{what} = {value:.6g} at ({at})")

    def check(self) -> Problem:
        """Evaluate every piece of data once (source, faces, coefficient); raise if one is bad.

        The values are kept for the solvers, so checking costs nothing extra.

        Returns
        -------
        Problem
            ``self``.

        Raises
        ------
        DataError
            The first piece of data that is not finite where it is used, does not
            fit, or (the coefficient) is not ``> 0``; its ``subject`` names it.
        """
        self.rhs_values  # noqa: B018 - evaluates the source and the faces used in b
        self.check_faces()  # the faces b does not use (Dirichlet values, too)
        if self.variable_coefficient:
            self._k_nodes  # noqa: B018
            self._k_faces  # noqa: B018
        return self

    def check_faces(self) -> None:
        """Evaluate the data of every face (once; the grid keeps them); raise if one is bad.

        Raises
        ------
        DataError
            The first face whose data are not finite on its nodes or do not fit.
        """
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

    @cached_property
    def _k_nodes(self) -> np.ndarray:
        return self._coefficient_on(None, None, None)

    @cached_property
    def _k_faces(self) -> dict[tuple[int, int], np.ndarray]:
        """``k`` on the boundary faces of the cell-centred axes (their fluxes use it).

        Empty for an array coefficient (known at the points only: the boundary
        cells' values serve instead, see :class:`~kronpde.operators.flux.VariableDiffusion`).
        """
        g = self.grid
        faces: dict[tuple[int, int], np.ndarray] = {}
        if isinstance(self.coefficient, np.ndarray):
            return faces
        for i, a in enumerate(g.axes):
            if not a.cell_centred or a.periodic:
                continue
            for side in (0, 1):
                coords = g.face_coordinates(i, side)
                k = evaluate_data(self.coefficient, coords, g.face_shape(i), "coefficient")

                def at(index: tuple[int, ...], coords: list[np.ndarray] = coords) -> list[float]:
                    return [
                        float(np.ravel(x)[min(j, np.size(x) - 1)])
                        for x, j in zip(coords, index, strict=True)
                    ]

                self._raise_for_coefficient(DataSurvey.of(k), point=at)
                faces[(i, side)] = k
        return faces

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
            return self._k_nodes.copy()
        return self._coefficient_on(nodes, owned, merge)

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
        return {key: value.copy() for key, value in self._k_faces.items()}

    def _coefficient_on(
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
            elif "_k_nodes" in self.__dict__:  # evaluated at every node already
                k = self._k_nodes[np.ix_(*index)]
            elif isinstance(self.coefficient, np.ndarray):
                k = np.array(self.coefficient[np.ix_(*index)], dtype=float)
            else:
                coords = np.meshgrid(
                    *[x[ix] for x, ix in zip(g.points, index, strict=True)],
                    indexing="ij",
                    sparse=True,
                )
                k = evaluate_data(self.coefficient, coords, shape, "coefficient", check=False)
            mine = tuple(owned) if owned is not None else (slice(None),) * g.dimension
            survey = DataSurvey.of(k[mine], [ix[o] for ix, o in zip(index, mine, strict=True)])
        except DataError as exc:
            survey = DataSurvey.failed(exc)
        if merge is not None:
            survey = merge(survey)
        self._raise_for_coefficient(survey)
        return k

    def variable_rows(
        self, box: Box, *, merge: Merge | None = None, keep: bool = True
    ) -> VariableBox:
        """Return the rows of ``Â`` of a box of unknowns, for a variable ``k``.

        ``k`` is evaluated (or read) on the box's nodes and the one layer of
        nodes around it only (:func:`kronpde.operators.flux.box_nodes`), and checked
        on the nodes the box owns (:meth:`coefficient_values`); the rows are
        those of :meth:`operator` (``symmetric=True``) bit for bit.  Kept for
        the box, so that the right-hand side of the box (:meth:`rhs`) and the
        assembly share one evaluation.

        Parameters
        ----------
        box : (lo, hi)
            The box of unknowns.
        merge : callable, optional
            As for :meth:`coefficient_values` (collective when ``k`` is evaluated).
        keep : bool, optional
            Keep the rows for later calls (default).  With False they are
            handed over and no longer kept (a distributed assembly, once the
            box's right-hand side has its lifting factors, puts them into its
            matrix and needs no second copy).

        Returns
        -------
        VariableBox
        """
        lo, hi = (tuple(int(v) for v in b) for b in box)
        _box_index(self.grid, (lo, hi))  # checks the bounds
        key = (lo, hi)
        rows = self._rows.get(key)
        if rows is None and any(a.cell_centred for a in self.grid.axes):
            points, owned = box_points(self.grid, lo, hi)
            k = self.coefficient_values(points, owned=owned, merge=merge)
            faces = self._box_face_k(lo, hi, points, owned, merge)
            rows = CellVariableBox(self.grid, k, points, self.shift, lo, hi, faces)
            self._rows = {key: rows}
        if rows is None:
            nodes, owned = box_nodes(self.grid, lo, hi)
            k = self.coefficient_values(nodes, owned=owned, merge=merge)
            rows = VariableBox(self.grid, k, nodes, self.shift, lo, hi)
            self._rows = {key: rows}
        if not keep:
            self._rows = {}
        return rows

    def _box_face_k(
        self,
        lo: tuple[int, ...],
        hi: tuple[int, ...],
        points: tuple[np.ndarray, ...],
        owned: tuple[slice, ...],
        merge: Merge | None,
    ) -> dict[tuple[int, int], np.ndarray]:
        """Return ``k`` on the boundary faces of the cell-centred axes a box reaches, checked.

        :attr:`_k_faces` for one box of unknowns (:meth:`variable_rows`): each face
        is evaluated at the points the box owns along the other axes and checked
        there (with ``merge`` over every box, every box taking part for every
        face, so that the message is the serial check's); the result holds the
        box's unknowns only (shape ``hi - lo`` with 1 along the face's axis).
        Empty for an array coefficient, as :attr:`_k_faces`.
        """
        g = self.grid
        d = g.dimension
        faces: dict[tuple[int, int], np.ndarray] = {}
        if isinstance(self.coefficient, np.ndarray):
            return faces
        cached = "_k_faces" in self.__dict__  # evaluated on every face already: read the box
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
                    k = self._k_faces[(i, side)][np.ix_(*mine)]
                elif reached:
                    try:
                        coords = [
                            np.ravel(x)[ix].reshape([ix.size if b == a else 1 for b in range(d)])
                            for a, (x, ix) in enumerate(zip(full, mine, strict=True))
                        ]
                        shape = tuple(ix.size for ix in mine)
                        k = evaluate_data(
                            self.coefficient, coords, shape, "coefficient", check=False
                        )
                        survey = DataSurvey.of(k, mine)
                    except DataError as exc:
                        survey = DataSurvey.failed(exc)
                if merge is not None:
                    survey = merge(survey)

                def at(index: tuple[int, ...], coords: list[np.ndarray] = full) -> list[float]:
                    return [
                        float(np.ravel(x)[min(j, np.size(x) - 1)])
                        for x, j in zip(coords, index, strict=True)
                    ]

                self._raise_for_coefficient(survey, point=at)
                if k is not None:
                    index = tuple(slice(0, 1) if a == i else take[a] for a in range(d))
                    faces[(i, side)] = np.array(k[index])
        return faces

    @cached_property
    def _variable(self) -> VariableDiffusion:
        return VariableDiffusion(self.grid, self._k_nodes, self.shift, face_k=self._k_faces)

    def _require_kronecker(self, what: str) -> None:
        if self.variable_coefficient:
            msg = (
                f"{what}: the coefficient k varies in space, so the operator is not a "
                "Kronecker sum of 1-D operators"
            )
            raise SolverError(msg)

    # -- structure ---------------------------------------------------------------
    @cached_property
    def axis_operators(self) -> tuple[AxisOperator, ...]:
        """The 1-D operators ``k T_i`` (physical spacing, not symmetrised).

        Raises
        ------
        SolverError
            For a variable coefficient (no Kronecker-sum structure).
        """
        self._require_kronecker("axis_operators")
        ops = (second_difference(a) for a in self.grid.axes)
        if self.coefficient != 1.0:
            ops = (op.scaled(self.coefficient) for op in ops)
        return tuple(ops)

    @cached_property
    def scheme(self) -> CompactScheme | None:
        """The compact fourth-order scheme (:mod:`~kronpde.operators.compact`), None at order 2.

        Its factors are :attr:`axis_operators`; :meth:`CompactScheme.combine`
        is the eigenvalue combination the fast solve divides by.
        """
        if self.order != 4:
            return None
        return CompactScheme.from_grid(
            self.grid, self.axis_operators, float(self.coefficient), self.shift
        )

    @cached_property
    def symmetric_axis_operators(self) -> tuple[AxisOperator, ...]:
        """The symmetrised 1-D operators ``D_i T_i D_i^{-1}``."""
        return tuple(op.symmetrized() for op in self.axis_operators)

    @property
    def size(self) -> int:
        """Number of unknowns."""
        return self.grid.size

    @property
    def singular(self) -> bool:
        """True for a pure Neumann/periodic problem with ``c = 0`` (constant null space)."""
        return self.shift == 0.0 and self.grid.singular

    @property
    def is_kronecker_sum(self) -> bool:
        """True for a constant coefficient: a Kronecker sum, so fast diagonalization applies.

        At order 4 the operator is a Kronecker *polynomial* in the same 1-D
        operators; the per-axis eigenvectors still diagonalise it unless a
        Robin face couples the unknowns on it (:attr:`fast_diagonalizable`).
        """
        return not self.variable_coefficient

    @property
    def fast_diagonalizable(self) -> bool:
        """True when the per-axis eigenvectors diagonalise the operator (fast solve exact).

        A constant coefficient, and at order 4 no Robin face with ``alpha != 0``
        (:attr:`kronpde.operators.compact.CompactScheme.separable`).
        """
        if self.variable_coefficient:
            return False
        return self.order == 2 or self.scheme.separable

    def refined(self, factor: int) -> Problem:
        """Return the same problem on the grid with ``factor`` times the cells per axis.

        The grid is :meth:`Grid.refined`; source, shift and coefficient are kept.

        Raises
        ------
        DataError
            If the source or the coefficient is an array (known on these nodes only).
        """
        for name, value in (("source", self.source), ("coefficient", self.coefficient)):
            if isinstance(value, np.ndarray):
                raise data_error(name, "an array is known on its grid's nodes only; cannot refine")
        grid = self.grid.refined(factor)
        return Problem(grid, self.source, self.shift, self.coefficient, order=self.order)

    def with_shift(self, shift: float) -> Problem:
        """Return the same problem with the shift ``c = shift``, sharing what does not depend on it.

        For a time-stepping code whose step size changes (``c = 1/dt``):
        nothing is evaluated again.  Shared (the same arrays, read-only by
        convention): the evaluated source and faces, the right-hand side at
        order 2 (it does not contain ``c``; at order 4 the faces' corrections
        do, and it is made again on first use), ``k`` at the nodes and faces,
        the 1-D operators, the weights' square roots and the Dirichlet
        values.  A variable ``k``'s flux-form coefficients are shared too,
        with the diagonal shifted by the difference of the shifts (a new
        array).  What depends on ``c`` is made anew where first used: the
        operators, the smallest eigenvalue and the certifier; whether the
        problem is singular follows ``c``.

        Parameters
        ----------
        shift : float
            ``c >= 0``.

        Returns
        -------
        Problem
            A new problem (this one is unchanged).

        Raises
        ------
        DataError
            If ``shift`` is not a finite number ``>= 0`` (``subject`` ``"shift"``).

        Examples
        --------
        >>> from kronpde import Grid, Neumann, Problem
        >>> p = Problem(Grid.box([8, 8], boundary=Neumann()), source="cos(pi*x)")
        >>> q = p.with_shift(2.0)
        >>> p.singular, q.singular, q.shift
        (True, False, 2.0)
        >>> q.rhs_values is p.rhs_values
        True
        """
        new = Problem(
            self.grid, self.source, shift, self.coefficient, order=self.order, check=False
        )
        shared = [
            "_k_nodes",
            "_k_faces",
            "axis_operators",
            "symmetric_axis_operators",
            "symmetric_scale",
            "unknown_weights",
            "_dirichlet_values",
        ]
        if self.order == 2:
            shared.append("rhs_values")
        for name in shared:
            if name in self.__dict__:
                new.__dict__[name] = self.__dict__[name]
        if "_variable" in self.__dict__:
            new.__dict__["_variable"] = self._variable.with_shift(new.shift)
        return new

    # -- operators -----------------------------------------------------------------
    def operator(self, symmetric: bool = False) -> sp.csr_array:
        """Return the assembled operator: ``A``, or ``Â = D A D^{-1}`` with ``symmetric=True``."""
        if self.variable_coefficient:
            return self._variable.operator(symmetric)
        if self.scheme is not None:
            return (self.scheme.symmetrized() if symmetric else self.scheme).operator()
        ops = self.symmetric_axis_operators if symmetric else self.axis_operators
        return assemble(ops, self.shift)

    def linear_operator(
        self, symmetric: bool = False
    ) -> KronSumOperator | VariableOperator | CompactOperator:
        """Return the matrix-free operator: ``A``, or ``Â`` with ``symmetric=True``."""
        if self.variable_coefficient:
            return self._variable.linear_operator(symmetric)
        if self.scheme is not None:
            return (self.scheme.symmetrized() if symmetric else self.scheme).linear_operator()
        ops = self.symmetric_axis_operators if symmetric else self.axis_operators
        return KronSumOperator(ops, self.shift)

    @cached_property
    def _apply(self) -> KronSumOperator | VariableOperator | CompactOperator:
        """The matrix-free ``A`` the residual is computed with (built once)."""
        return self.linear_operator(symmetric=False)

    def weighted_operator(self) -> sp.csr_array:
        """Return the row-scaled symmetric form ``W A`` (CSR)."""
        w = self.weights().reshape(-1)
        return sp.csr_array(sp.diags_array(w) @ self.operator())

    def diagonal(self) -> np.ndarray:
        """Return the diagonal of ``A`` (and of ``Â``), flat."""
        if self.variable_coefficient:
            return self._variable.diagonal.reshape(-1).copy()
        if self.scheme is not None:
            return self.scheme.diagonal().reshape(-1)
        g = self.grid
        d = g.dimension
        diag = np.full(g.shape, self.shift)
        for i, op in enumerate(self.axis_operators):
            shape = [1] * d
            shape[i] = op.n
            diag += op.diag.reshape(shape)
        return diag.reshape(-1)

    def weights(self, box: Box | None = None) -> np.ndarray:
        """Weights of the unknowns (``W``), shape :attr:`Grid.shape` (or the box's).

        Trapezoid weights on node-centred axes, cell widths on cell-centred ones.
        """
        if box is None:
            return self.grid.weights()
        lo, hi = box
        w = np.ones(())
        for a, axis in enumerate(self.grid.axes):
            w = np.multiply.outer(w, axis.weights[lo[a] : hi[a]])
        return w

    @cached_property
    def unknown_weights(self) -> np.ndarray:
        """``W`` as one flat, read-only array, made once.

        The weighted norms, means and the certified bound of a solve share it
        (each :meth:`weights` call makes a new array of the grid's size).
        """
        w = self.weights().reshape(-1)
        w.flags.writeable = False
        return w

    @cached_property
    def symmetric_scale(self) -> np.ndarray:
        """``D = W^{1/2}`` as a flat array: ``Â = D A D^{-1}``, ``b̂ = D b``, ``u = y / D``."""
        return np.sqrt(self.unknown_weights)

    # -- right-hand side --------------------------------------------------------------
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
        index = g.unknown_index if box is None else _box_index(g, box)
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
        survey.raise_error(src, "source", self._point)
        return values

    def source_nodes(self, box: tuple[slice, ...] | None = None) -> np.ndarray:
        """Return ``f`` at every point of the field, or at a box of them (e.g. to write it).

        The shape is :attr:`Grid.point_shape` (or the box's: a ``slice(first,
        stop)`` per axis); a new array.
        """
        g = self.grid
        box = g.point_box(box)
        shape = tuple(s.stop - s.start for s in box)
        if isinstance(self.source, np.ndarray):
            return evaluate_data(self.source[box], [], shape, "source")
        return evaluate_data(self.source, g.point_coordinates(box), shape, "source")

    @cached_property
    def rhs_values(self) -> np.ndarray:
        """``b`` on all unknowns (read-only, evaluated once; :meth:`rhs` gives copies)."""
        b = self._rhs(None)
        b.flags.writeable = False
        return b

    def rhs(self, box: Box | None = None, *, merge: Merge | None = None) -> np.ndarray:
        """Right-hand side ``b``: ``f`` plus the lifted boundary data.

        Parameters
        ----------
        box : (lo, hi), optional
            Per-axis bounds ``lo[a] <= j < hi[a]`` of a box of unknowns: ``b`` is
            evaluated on that box only (each rank of a distributed solve
            evaluates its own; a variable ``k`` on the box and the layer of
            nodes around it, :meth:`variable_rows`); shape ``hi - lo``.
        merge : callable, optional
            With ``box``: the boxes of a distributed solve check ``f`` (and a
            variable ``k``) together; see :meth:`coefficient_values`.

        Returns
        -------
        ndarray
            Flat, length :attr:`size`, without ``box`` (a copy of the values
            evaluated once); of the box's shape with it.

        Raises
        ------
        DataError
            For data that are not finite where ``b`` uses them, or a ``k`` not ``> 0``.
        """
        if box is None:
            return self.rhs_values.reshape(-1).copy()
        if "rhs_values" in self.__dict__:  # evaluated on every unknown already: read the box
            if merge is not None:
                merge(DataSurvey())  # every box calls it, as it would to check f
            b = self.rhs_values.reshape(self.grid.shape)
            return np.array(b[_box_index(self.grid, box, unknowns=True)])
        return self._rhs(box, merge)

    def _rhs(self, box: Box | None, merge: Merge | None = None) -> np.ndarray:
        g = self.grid
        d = g.dimension
        if self.scheme is not None:  # fourth order: the box and a few layers around it
            if box is not None:
                _box_index(g, box)  # checks the bounds
                k = float(self.coefficient)
                return compact_rhs_box(g, self.scheme, k, self.source, *box, merge=merge)
            return compact_rhs(
                g, self.scheme, float(self.coefficient), self.source, self.source_nodes()
            ).reshape(-1)
        b = self.source_values(box, merge=merge)
        lo = [0] * d if box is None else [int(v) for v in box[0]]
        hi = list(g.shape) if box is None else [int(v) for v in box[1]]
        local = False  # the lifting factors are the box's own (else the grid's, sliced)
        if not self.variable_coefficient:
            lifts = [op.lift for op in self.axis_operators]
        elif box is None:
            lifts = self._variable.lifts
        else:
            lifts, local = self.variable_rows((lo, hi), merge=merge).lifts, True
        for i, lift in enumerate(lifts):
            n = g.shape[i]
            for side in (0, 1):
                factor = lift[side]
                row = n - 1 if side else 0
                if np.all(factor == 0.0) or not lo[i] <= row < hi[i]:
                    continue
                data = g.face_data(i, side)  # shape: point shape with 1 along axis i
                take, where = [], []
                for a, axis in enumerate(g.axes):
                    start = axis.unknown_slice.start
                    take.append(slice(None) if a == i else slice(start + lo[a], start + hi[a]))
                    where.append(slice(None) if a == i else slice(lo[a], hi[a]))
                if np.ndim(factor) > 0 and not local:  # per-node factors: the box's part
                    factor = factor[tuple(where)]
                rows = [slice(None)] * d
                rows[i] = slice(row - lo[i], row - lo[i] + 1)
                b[tuple(rows)] += factor * data[tuple(take)]
        return b if box is not None else b.reshape(-1)

    # -- singular problems ----------------------------------------------------------
    def weighted_mean(self, v: np.ndarray) -> float:
        """Trapezoid-weighted mean ``(w · v) / (w · 1)`` of a vector on the unknowns."""
        w = self.unknown_weights
        return float(w @ np.asarray(v).reshape(-1) / w.sum())

    def project_rhs(self, b: np.ndarray) -> tuple[np.ndarray, float]:
        """Project ``b`` onto the range of ``A`` (singular problems only).

        The left null vector of ``A`` is ``w`` (``W A`` is symmetric and
        ``A 1 = 0``), so the range is ``{b : w · b = 0}``; the constant
        ``mean_w(b)`` is removed.

        Returns
        -------
        b_projected : ndarray
            ``b - mean_w(b)`` (a copy); ``b`` itself when not singular.
        projected_norm : float
            ``||b - b_projected||_2 / ||b||_2`` (0 when nothing was removed).
        """
        if not self.singular:
            return b, 0.0
        mean = self.weighted_mean(b)
        out = b - mean
        norm_b = float(np.linalg.norm(b))
        removed = abs(mean) * math.sqrt(b.size)
        return out, (removed / norm_b if norm_b > 0 else 0.0)

    def remove_mean(self, u: np.ndarray) -> np.ndarray:
        """``u`` minus its weighted mean for singular problems (in place), else ``u``."""
        if self.singular:
            u -= self.weighted_mean(u)
        return u

    # -- results ------------------------------------------------------------------------
    @cached_property
    def _dirichlet_values(self) -> np.ndarray:
        return self.grid.dirichlet_nodes()[0]

    def to_nodes(self, u: np.ndarray) -> np.ndarray:
        """Return the field (shape :attr:`Grid.point_shape`) of a solution on the unknowns."""
        return self.grid.to_nodes(u, self._dirichlet_values)

    def relative_residual(
        self, u: np.ndarray, b: np.ndarray | None = None, *, work: np.ndarray | None = None
    ) -> float:
        """``||b - A u||_2 / ||b||_2`` on the (unsymmetrised) system; ``||A u||`` if ``b = 0``.

        Parameters
        ----------
        u : ndarray, shape (n,) or ``grid.shape``
            The unknowns.
        b : ndarray, shape (n,), optional
            The right-hand side (default :meth:`rhs`).
        work : ndarray, shape (n,), optional
            Scratch for the residual (overwritten), so that nothing is allocated.
        """
        b = self.rhs_values.reshape(-1) if b is None else np.asarray(b).reshape(-1)
        r = np.empty_like(b) if work is None else work
        self._apply.matvec_into(np.ascontiguousarray(u, dtype=float).reshape(-1), r)
        np.subtract(b, r, out=r)
        nb = float(np.linalg.norm(b))
        nr = float(np.linalg.norm(r))
        return nr / nb if nb > 0 else nr

    # -- the certified algebraic error ---------------------------------------------------
    def smallest_eigenvalue(self) -> EigenvalueBound | None:
        """Return a certified lower bound on the smallest eigenvalue of ``A`` (computed once).

        For a singular problem the smallest non-zero one.  This is the one
        place the error bound takes ``λ_min`` from (:mod:`kronpde.problem.certify`
        derives it): a scheme whose spectrum is not the sum of the 1-D minima
        supplies its own here.

        Returns
        -------
        EigenvalueBound or None
            None where no positive bound is established (the bound is then
            not computed).
        """
        if "_eigenvalue_bound" not in self.__dict__:
            self.__dict__["_eigenvalue_bound"] = smallest_eigenvalue(self)
        return self.__dict__["_eigenvalue_bound"]

    @cached_property
    def certifier(self) -> Certifier:
        """The set-up of :meth:`error_bound` (eigenvalue bound, diagonal, weights), made once."""
        return Certifier(self, self._apply, self.smallest_eigenvalue())

    def error_bound(self, u: np.ndarray, b: np.ndarray | None = None) -> Certificate:
        """Return the residual of ``u`` and a certified bound on ``||u - u_h||_W``.

        ``u_h`` is the exact solution of ``A u_h = b``, ``||v||_W`` the discrete
        L² norm of the trapezoid weights; ``||u - u_h||_W <= ||b - A u||_W /
        λ_min`` plus rounding terms (:mod:`kronpde.problem.certify`).

        Parameters
        ----------
        u : ndarray, shape (n,) or ``grid.shape``
            The unknowns.
        b : ndarray, shape (n,), optional
            The right-hand side (default :meth:`rhs`; for a singular problem
            pass the projected one, :meth:`project_rhs`).

        Returns
        -------
        Certificate
            ``bound`` is None where :meth:`smallest_eigenvalue` is.

        Examples
        --------
        >>> from kronpde import Grid, Problem, solve
        >>> p = Problem(Grid.box([32, 32]), source="2*pi**2*sin(pi*x)*sin(pi*y)")
        >>> sol = solve(p, "cg", rtol=1e-6)
        >>> exact = solve(p, "fastdiag").x
        >>> cert = p.error_bound(sol.x)
        >>> w = p.weights().reshape(-1)
        >>> bool(np.sqrt(w @ (sol.x - exact) ** 2) <= cert.bound)
        True
        """
        if b is None:
            b, _ = self.project_rhs(self.rhs_values.reshape(-1))
        return self.certifier.certify(u, b)

    def __repr__(self) -> str:
        """Return a one-line summary."""
        k = self.coefficient
        k = (
            k.text
            if isinstance(k, Expression)
            else ("variable" if self.variable_coefficient else k)
        )
        order = f", order={self.order}" if self.order != 2 else ""
        return f"Problem({self.grid!r}, shift={self.shift:g}, k={k}{order})"


def _shape_name(grid: Grid) -> str:
    """How a message names the shape of the grid's field."""
    return "node shape" if grid.point_shape == grid.node_shape else "point shape"


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


def _box_index(grid: Grid, box: Box, *, unknowns: bool = False) -> tuple[slice, ...]:
    """Return the box of unknowns as an index into the field's array (or the unknowns')."""
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
