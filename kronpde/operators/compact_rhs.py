"""The right-hand side of the fourth-order compact scheme: ``M f``, the boundary data, corrections.

:func:`compact_rhs` builds it on the whole grid, term by term; :func:`compact_rhs_box` on
one box of rows (a rank of a distributed solve). The formula, the ghost reflections, the
fourth-order face and edge corrections and how data are differentiated:
``docs/compact-scheme.md``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from kronpde.errors import DataError
from kronpde.expr.expression import Expression
from kronpde.geometry.boundary import DataSurvey, Dirichlet, Robin, data_error, evaluate_data
from kronpde.geometry.grid import Axis, Grid, face_name
from kronpde.operators.banded import axis_index
from kronpde.operators.compact import CompactScheme, apply_axis
from kronpde.operators.flux_box import box_nodes
from kronpde.operators.kronsum import KronSum
from kronpde.operators.stencils import second_difference

__all__ = ["HALO", "compact_rhs", "compact_rhs_box"]


@dataclass(frozen=True)
class _Face:
    """One face of a non-periodic axis, as the compact right-hand side sees it."""

    axis: int
    side: int
    dirichlet: bool
    row: int  # its row among the axis' unknowns
    node: int  # its node index (0 or cells)
    kappa: float  # k/h² (Dirichlet neighbour) or 2k/h (slot)
    beta: float  # 1 for Neumann
    ratio: float  # alpha/beta; 0 for Neumann

    @property
    def sign(self) -> float:
        """The outward normal's direction along the axis."""
        return 1.0 if self.side else -1.0


def _faces(grid: Grid, k: float) -> list[_Face]:
    out = []
    for i, axis in enumerate(grid.axes):
        if axis.periodic:
            continue
        h = axis.h
        for side, bc in ((0, axis.lower_bc), (1, axis.upper_bc)):
            row = axis.n_unknowns - 1 if side else 0
            node = axis.cells if side else 0
            if isinstance(bc, Dirichlet):
                out.append(_Face(i, side, True, row, node, k / h**2, 1.0, 0.0))
            else:
                beta = bc.beta if isinstance(bc, Robin) else 1.0
                ratio = bc.alpha / bc.beta if isinstance(bc, Robin) else 0.0
                out.append(_Face(i, side, False, row, node, 2.0 * k / h, beta, ratio))
    return out


def _at(grid: Grid, arr: np.ndarray, fixed: dict[int, int]) -> np.ndarray:
    """Index a nodal (or face, or edge) array at the unknowns, with some axes fixed.

    Axes of length 1 (the normal axes of a face or edge array) are kept; axes
    in ``fixed`` take that node; the others their unknowns.
    """
    index = []
    for ax, axis in enumerate(grid.axes):
        if arr.shape[ax] == 1:
            index.append(slice(0, 1))
        elif ax in fixed:
            index.append(slice(fixed[ax], fixed[ax] + 1))
        else:
            index.append(axis.unknown_slice)
    return arr[tuple(index)]


def _rows(d: int, where: dict[int, int]) -> tuple:
    """Index of the unknowns' rows ``where`` (axis -> row) of a grid-shaped array."""
    index: list[Any] = [slice(None)] * d
    for ax, r in where.items():
        index[ax] = slice(r, r + 1)
    return tuple(index)


def _coordinates(grid: Grid, fixed: dict[int, int]) -> tuple[list[np.ndarray], tuple[int, ...]]:
    """Sparse coordinates of the nodes with the axes of ``fixed`` at those nodes, and the shape."""
    d = grid.dimension
    coords, shape = [], []
    for ax, axis in enumerate(grid.axes):
        c = axis.nodes[[fixed[ax]]] if ax in fixed else axis.nodes
        coords.append(c.reshape([c.size if a == ax else 1 for a in range(d)]))
        shape.append(c.size)
    return coords, tuple(shape)


def _evaluate(expr: Expression, grid: Grid, fixed: dict[int, int], what: str, need: str):
    coords, shape = _coordinates(grid, fixed)
    try:
        return evaluate_data(expr, coords, shape, what)
    except DataError as exc:
        msg = f"the fourth-order scheme needs {need}, but {exc.detail}"
        raise data_error(what, msg) from None


# --------------------------------------------------------------------------- differences


def _one_sided_weights(order: int, points: int) -> np.ndarray:
    """Weights of the ``order``-th derivative along the outward normal at a face node.

    The nodes are ``0, 1, 2, ...`` steps *inside* (``ξ_j = -j`` in units of
    ``h``): ``Σ_j w_j v_j ≈ h^order ∂_n^order v``, exact for polynomials of
    degree ``< points`` (accuracy ``points - order``).
    """
    xi = -np.arange(points, dtype=float)
    vander = np.vander(xi, points, increasing=True).T  # row q: ξ_j^q
    rhs = np.zeros(points)
    rhs[order] = math.factorial(order)
    return np.linalg.solve(vander, rhs)


def _normal_derivative(v: np.ndarray, axis: int, side: int, h: float, order: int, accuracy: int):
    """``∂_n^order v`` at one end of ``axis`` (outward normal), one-sided, length 1 along it."""
    n = v.shape[axis]
    points = min(order + accuracy, n)
    if points <= order:  # too few nodes for this derivative: it cannot be seen
        return np.zeros_like(v[axis_index(v.ndim, axis, slice(0, 1))])
    w = _one_sided_weights(order, points)
    out = 0.0
    for j, wj in enumerate(w):
        node = n - 1 - j if side else j
        out = out + wj * v[axis_index(v.ndim, axis, slice(node, node + 1))]
    return out / h**order


def _second(v: np.ndarray, axis: int, h: float, periodic: bool) -> np.ndarray:
    """``d² v / dx²`` at every node of ``axis``: central, one-sided second order at the ends.

    On a periodic axis the last node repeats the first and the differences wrap.
    """
    n = v.shape[axis]
    d = v.ndim
    out = np.zeros_like(v)
    if periodic:
        core = v[axis_index(d, axis, slice(0, n - 1))]
        lap = (np.roll(core, 1, axis) - 2.0 * core + np.roll(core, -1, axis)) / h**2
        out[axis_index(d, axis, slice(0, n - 1))] = lap
        out[axis_index(d, axis, slice(n - 1, n))] = lap[axis_index(d, axis, slice(0, 1))]
        return out
    if n < 3:
        return out  # two nodes carry no curvature
    inner = axis_index(d, axis, slice(1, n - 1))
    out[inner] = (
        v[axis_index(d, axis, slice(0, n - 2))]
        - 2.0 * v[inner]
        + v[axis_index(d, axis, slice(2, n))]
    ) / h**2
    # the ends: the second normal derivative is the second derivative (the sign squares away)
    out[axis_index(d, axis, slice(0, 1))] = _normal_derivative(v, axis, 0, h, 2, 2)
    out[axis_index(d, axis, slice(n - 1, n))] = _normal_derivative(v, axis, 1, h, 2, 2)
    return out


# --------------------------------------------------------------------------- derivatives of data


class _Data:
    """One piece of data (the source, or a face's value) and its derivatives at nodes.

    ``nodal`` holds its values on the nodes (the face array of a face's data,
    with length 1 along the face's axis).  :meth:`derivative` differentiates an
    expression symbolically, and everything else by differences of the nodal
    values (:func:`_normal_derivative`, :func:`_second`).
    """

    def __init__(self, grid: Grid, value: Any, nodal: np.ndarray, what: str, label: str):
        self.grid = grid
        self.value = value
        self.nodal = nodal
        self.what = what  # the subject of an error
        self.label = label  # the data in words

    @property
    def constant(self) -> bool:
        v = self.value
        return isinstance(v, (int, float)) or (isinstance(v, Expression) and v.is_constant)

    def derivative(
        self,
        ends: dict[int, tuple[int, int]],
        *,
        normal: dict[int, int] | None = None,
        along: int | None = None,
        accuracy: int = 2,
    ) -> np.ndarray:
        """Return ``Π ∂_n^p`` (and ``∂²`` along one more axis) at the nodes with ``ends`` fixed.

        Parameters
        ----------
        ends : dict
            ``axis -> (side, node)``: the axes held at a face (length 1 in the result).
        normal : dict, optional
            ``axis -> p``: the outward normal derivative of order ``p`` across
            that end (an axis of ``ends``).
        along : int, optional
            An axis not in ``ends`` to take the second derivative along.
        accuracy : int
            Order of accuracy of the differences (arrays and callables).

        Returns
        -------
        ndarray
            Over all nodes of the other axes; length 1 along the axes of ``ends``.
        """
        normal = normal or {}
        grid = self.grid
        shape = [1 if ax in ends else n for ax, n in enumerate(grid.node_shape)]
        if not normal and along is None:
            return _at_ends(self.nodal, ends).copy()
        if self.constant:
            return np.zeros(shape)
        if isinstance(self.value, Expression):
            expr = self.value
            sign = 1.0
            for ax, p in normal.items():
                for _ in range(p):
                    expr = expr.derivative(ax)
                sign *= (1.0 if ends[ax][0] else -1.0) ** p
            if along is not None:
                expr = expr.derivative(along).derivative(along)
            need = self._need(normal, along)
            return sign * _evaluate(
                expr, grid, {ax: e[1] for ax, e in ends.items()}, self.what, need
            )
        v = self.nodal
        if along is not None:
            axis = grid.axes[along]
            v = _second(v, along, axis.h, axis.periodic)
        for ax, (side, _) in ends.items():
            if v.shape[ax] == 1:
                continue  # the face's own axis
            p = normal.get(ax, 0)
            if p:
                v = _normal_derivative(v, ax, side, grid.axes[ax].h, p, accuracy)
            else:
                node = grid.axes[ax].cells if side else 0
                v = v[axis_index(v.ndim, ax, slice(node, node + 1))]
        return np.asarray(v, dtype=float)

    def _need(self, normal: dict[int, int], along: int | None) -> str:
        parts = [
            f"d{'' if p == 1 else p}/dn_{'xyz'[ax]}{'' if p == 1 else p}"
            for ax, p in normal.items()
        ]
        if along is not None:
            parts.append(f"d2/d{'xyz'[along]}2")
        names = ", ".join(f"n_{'xyz'[ax]}" for ax in normal)
        outward = f" ({names}: the outward normal)" if normal else ""
        return f"the derivative {' '.join(parts)} of {self.label}{outward}"


def _at_ends(arr: np.ndarray, ends: dict[int, tuple[int, int]]) -> np.ndarray:
    index: list[Any] = [slice(None)] * arr.ndim
    for ax, (_, node) in ends.items():
        if arr.shape[ax] != 1:
            index[ax] = slice(node, node + 1)
    return arr[tuple(index)]


# --------------------------------------------------------------------------- the right-hand side


def compact_rhs(
    grid: Grid,
    scheme: CompactScheme,
    coefficient: float,
    source: Any,
    source_nodes: np.ndarray,
) -> np.ndarray:
    """Return ``b`` of the fourth-order scheme on the unknowns (``docs/compact-scheme.md``).

    The steps, one term of the formula each: ``M f`` on the unknowns; every face's lift
    and ``f``'s own boundary data; the cross terms ``T_i ℓ_j`` and the corner values
    ``C_ij``; the fourth-order correction ``q`` of the Neumann and Robin faces; the terms
    ``e`` of their edges.

    Parameters
    ----------
    grid : Grid
        Uniform, node-centred axes and their conditions.
    scheme : CompactScheme
        The operator's factors ``T_i``, coefficients ``a_i`` and shift ``c``.
    coefficient : float
        The constant ``k``.
    source : number, Expression, callable or ndarray
        ``f`` as given (an expression is differentiated symbolically).
    source_nodes : ndarray, shape ``grid.node_shape``
        ``f`` at every node.

    Returns
    -------
    ndarray, shape ``grid.shape``
        A new array.

    Raises
    ------
    DataError
        If a derivative the scheme needs is not finite somewhere on a face;
        the ``subject`` names the source or the face.
    """
    rhs = _CompactRhs(grid, scheme, coefficient, source, source_nodes)
    rhs.add_lifts()
    rhs.add_cross_terms()
    rhs.add_face_corrections()
    rhs.add_edge_terms()
    return rhs.b


class _CompactRhs:
    """The right-hand side :func:`compact_rhs` builds, term by term, in ``b``.

    It starts as ``M f`` on the unknowns; each ``add_`` method adds one term of the
    formula, in the order :func:`compact_rhs` calls them (later terms reuse the lifts,
    ``∂_n f`` and ``Δ_t g`` of earlier ones).
    """

    def __init__(
        self,
        grid: Grid,
        scheme: CompactScheme,
        coefficient: float,
        source: Any,
        source_nodes: np.ndarray,
    ):
        self.grid = grid
        self.d = grid.dimension
        self.k = coefficient
        self.c = scheme.shift
        self.a = scheme.a
        self.ops = scheme.ops
        self.faces = _faces(grid, coefficient)
        self.source_nodes = source_nodes
        self.f_data = _Data(grid, source, source_nodes, "source", "the source")
        self.data = {
            (f.axis, f.side): _Data(
                grid,
                _face_value(grid, f),
                grid.face_data(f.axis, f.side),
                face_name(f.axis, f.side),
                f"face {face_name(f.axis, f.side)}'s data",
            )
            for f in self.faces
        }
        self.lift: dict[tuple[int, int], np.ndarray] = {}  # the second-order lift of a face
        self.dnf: dict[tuple[int, int], np.ndarray] = {}  # ∂_n f on a Neumann/Robin face
        self.laplacian: dict[tuple[int, int], np.ndarray] = {}  # Δ_t g on a Neumann/Robin face
        f_u = np.array(source_nodes[grid.unknown_index], dtype=float)  # a copy: b is built in it
        # M f = f - Σ_i a_i T_i f on the unknowns, by the blocked Kronecker-sum apply (one pass)
        ops = [op.scaled(ai) for op, ai in zip(self.ops, self.a, strict=True)]
        mf = KronSum(ops).matvec(f_u.reshape(-1))
        np.subtract(f_u, mf.reshape(grid.shape), out=f_u)
        self.b = f_u

    def unknowns(self, arr: np.ndarray, *fs: _Face) -> np.ndarray:
        """Index ``arr`` at the unknowns, on the nodes of the faces ``fs``."""
        return _at(self.grid, arr, {f.axis: f.node for f in fs})

    def rows(self, where: dict[int, int]) -> tuple:
        """Index of the rows ``where`` (axis -> row) of ``b``."""
        return _rows(self.d, where)

    def add_lifts(self) -> None:
        """Add ``Σ_i a_i ℓ^f_i + Σ_i (1 - c a_i) ℓ_i``: each face's lift, and f's own data."""
        a, c = self.a, self.c
        for face in self.faces:
            i = face.axis
            key = (i, face.side)
            ell = face.kappa * self.unknowns(self.data[key].nodal, face) / face.beta
            self.lift[key] = ell
            f_face = self.unknowns(self.source_nodes, face)
            if not face.dirichlet:  # the slot of f: ∂_n f + (α/β) f
                self.dnf[key] = self.f_data.derivative(_ends(face), normal={i: 1})
                f_face = self.unknowns(self.dnf[key], face) + face.ratio * f_face
            self.b[self.rows({i: face.row})] += a[i] * face.kappa * f_face + (1.0 - c * a[i]) * ell

    def add_cross_terms(self) -> None:
        """Subtract ``Σ_{i<j} (a_i + a_j)(T_i ℓ_j + T_j ℓ_i - C_ij)``."""
        grid, faces, b = self.grid, self.faces, self.b
        dirichlet_values = None  # the nodal Dirichlet values, where two Dirichlet faces meet
        for i, j in itertools.combinations(range(self.d), 2):
            weight = self.a[i] + self.a[j]
            for face in faces:
                if face.axis not in (i, j):
                    continue
                other = j if face.axis == i else i
                ell = self.lift[(face.axis, face.side)]
                t_ell = apply_axis(
                    self.ops[other], ell, other, np.empty_like(ell), np.empty_like(ell)
                )
                b[self.rows({face.axis: face.row})] -= weight * t_ell
            for fi, fj in itertools.product(_of_axis(faces, i), _of_axis(faces, j)):
                if not (fi.dirichlet or fj.dirichlet):  # two slots: the edge terms
                    continue
                if fi.dirichlet and fj.dirichlet and dirichlet_values is None:
                    dirichlet_values = grid.dirichlet_nodes()[0]
                corner = _corner_value(grid, fi, fj, dirichlet_values)
                b[self.rows({i: fi.row, j: fj.row})] += weight * fi.kappa * fj.kappa * corner

    def add_face_corrections(self) -> None:
        """Add ``q``, the fourth-order correction of every Neumann and Robin face."""
        grid, d, b = self.grid, self.d, self.b
        for face in self.faces:
            if face.dirichlet:
                continue
            n = face.axis
            key = (n, face.side)
            lap = 0.0
            for t in range(d):
                if t != n:
                    lap = lap + self.data[key].derivative(_ends(face), along=t)
            self.laplacian[key] = (
                np.broadcast_to(lap, grid.face_shape(n)) if d > 1 else np.zeros((1,))
            )
            q = self._face_data_term(face, lambda arr, face=face: self.unknowns(arr, face))
            scale = grid.axes[n].h / 3.0
            b[self.rows({n: face.row})] += scale * q
            if face.ratio:  # the lifts of the tangential T_t in the Robin term (α/β)(Σ_t T_t + c) u
                for other in self.faces:
                    if other.axis != n:
                        part = self.lift[(other.axis, other.side)][self.rows({n: face.row})]
                        where = {n: face.row, other.axis: other.row}
                        b[self.rows(where)] += scale * face.ratio * part

    def _face_data_term(self, face: _Face, at: Any) -> np.ndarray:
        """``(c g - k Δ_t g)/β - ∂_n f`` of a Neumann/Robin face, indexed by ``at``."""
        key = (face.axis, face.side)
        g = at(self.data[key].nodal)
        return (self.c * g - self.k * at(self.laplacian[key])) / face.beta - at(self.dnf[key])

    def add_edge_terms(self) -> None:
        """Add ``e`` on the edges of two Neumann/Robin faces.

        The mixed slot ``σ_2 σ_1 u`` of the corner ghost, and for a Robin face the
        first-order ``T_t`` of its term on the row next to face ``t``: the missing
        ``(h_n h_t / 9) (α_n/β_n) k ∂_t³u``.
        """
        slots = [f for f in self.faces if not f.dirichlet]
        for f1, f2 in itertools.combinations(slots, 2):
            if f1.axis != f2.axis:
                self._add_edge(f1, f2)

    def _add_edge(self, f1: _Face, f2: _Face) -> None:
        """Add ``e`` on the edge of the Neumann/Robin faces ``f1`` and ``f2``."""
        grid, b = self.grid, self.b
        e = _ends(f1, f2)
        rows = self.rows({f1.axis: f1.row, f2.axis: f2.row})
        edge = {f1.axis: f1.node, f2.axis: f2.node}

        def on_edge(arr: np.ndarray) -> np.ndarray:
            return _at(grid, arr, edge)

        weight = (self.a[f1.axis] + self.a[f2.axis]) * f1.kappa * f2.kappa
        extra = weight * _mixed_slot(f1, f2, self.data, on_edge, e)
        r1, r2 = f1.ratio, f2.ratio
        if r1 or r2:
            # k ∂_n³ u from the data on each face, at the edge
            dd = {f.axis: self._face_data_term(f, on_edge) for f in (f1, f2)}
            scale = grid.axes[f1.axis].h * grid.axes[f2.axis].h / 9.0
            part = r1 * dd[f2.axis] + r2 * dd[f1.axis]
            if r1 and r2:  # the unknowns' part: (α_1 α_2 / β_1 β_2)(-c u - f + k Σ_t ∂_t² u)
                part = part - r1 * r2 * on_edge(self.f_data.derivative(e))
                for other in self.faces:  # the lifts of the T_t along the edge, on their rows
                    if other.axis not in (f1.axis, f2.axis):
                        where = {f1.axis: f1.row, f2.axis: f2.row, other.axis: other.row}
                        ell = self.lift[(other.axis, other.side)][rows]
                        b[self.rows(where)] += scale * r1 * r2 * ell
            extra = extra + scale * part
        b[rows] += extra


def _ends(*fs: _Face) -> dict[int, tuple[int, int]]:
    """Return the faces' ``axis -> (side, node)``: where a derivative of data is taken."""
    return {f.axis: (f.side, f.node) for f in fs}


def _face_value(grid: Grid, face: _Face) -> Any:
    axis = grid.axes[face.axis]
    return (axis.upper_bc if face.side else axis.lower_bc).value


def _of_axis(faces: Sequence[_Face], axis: int) -> list[_Face]:
    return [f for f in faces if f.axis == axis]


def _corner_value(
    grid: Grid, fi: _Face, fj: _Face, dirichlet_values: np.ndarray | None
) -> np.ndarray:
    """``B_ij`` next to a Dirichlet face: a Dirichlet node's value or the other face's slot."""
    i, j = fi.axis, fj.axis
    fixed = {i: fi.node, j: fj.node}
    if fi.dirichlet and fj.dirichlet:
        return _at(grid, dirichlet_values, fixed)
    if fi.dirichlet:  # fj's slot at fi's Dirichlet node
        return _at(grid, grid.face_data(j, fj.side), fixed) / fj.beta
    return _at(grid, grid.face_data(i, fi.side), fixed) / fi.beta


def _mixed_slot(f1: _Face, f2: _Face, data, on_edge, e) -> np.ndarray:
    """``σ_2 σ_1 u`` on the edge of two Neumann/Robin faces, to third order, from their data.

    ``σ_2 σ_1 u = σ_2 G_1 = σ_1 G_2`` (``G = g/β``, ``σ = ∂_n + α/β``); the
    mean of the two is returned, each derivative symbolic (expressions) or a
    one-sided difference of third order.
    """
    total = 0.0
    for fa, fb in ((f1, f2), (f2, f1)):
        da = data[(fa.axis, fa.side)]
        ga = on_edge(da.derivative(e)) / fa.beta
        dga = on_edge(da.derivative(e, normal={fb.axis: 1}, accuracy=3)) / fa.beta
        total = total + dga + fb.ratio * ga
    return 0.5 * total


# --------------------------------------------------------------------------- one box of rows

#: Layers of nodes around a box that :func:`compact_rhs_box` evaluates: the stencil's one,
#: and the one-sided differences of array and callable data across a face (four nodes from
#: the face inwards), so that every row of the box sees the nodes the whole grid's would.
HALO = 3


def _window_axis(axis: Axis, first: int, last: int) -> tuple[Axis, int]:
    """Return the axis of nodes ``first .. last`` (a cut end Dirichlet) and the first's index."""
    if axis.periodic:  # the window cannot wrap: the whole axis
        return axis, 0
    lo = max(0, first - HALO)
    hi = min(axis.cells, last + HALO)
    if (lo, hi) == (0, axis.cells):
        return axis, 0
    lower_bc = axis.lower_bc if lo == 0 else Dirichlet(0.0)
    upper_bc = axis.upper_bc if hi == axis.cells else Dirichlet(0.0)
    x = axis.nodes
    return Axis(hi - lo, float(x[lo]), float(x[hi]), lower_bc, upper_bc), lo


def _window_value(value: Any, i: int, d: int, take: Sequence[slice]) -> Any:
    """Return face data of axis ``i`` for the window: an array sliced along the other axes."""
    if not isinstance(value, np.ndarray) or value.ndim == 0:
        return value
    index = [s for a, s in enumerate(take) if a != i]
    if value.ndim == d:  # the N-D face shape, length 1 along axis i
        index.insert(i, slice(None))
    return np.ascontiguousarray(value[tuple(index)])


def compact_rhs_box(
    grid: Grid,
    scheme: CompactScheme,
    coefficient: float,
    source: Any,
    lo: Sequence[int],
    hi: Sequence[int],
    *,
    merge: Any = None,
) -> np.ndarray:
    """Return ``b`` of the fourth-order scheme on a box of unknowns, from data near the box only.

    :func:`compact_rhs` on the *window* of the box: its nodes and :data:`HALO`
    layers around them (the whole axis along a periodic axis, whose window
    cannot wrap), a grid whose faces are the grid's where the window reaches
    them and homogeneous Dirichlet faces where it is cut.  The rows of ``b``
    are local (a row uses the data of its stencil's nodes, and the one-sided
    differences of array or callable data reach four nodes from a face
    inwards), so the box's rows of the window's ``b`` are those of the whole
    grid's, up to the rounding of the window's node coordinates; the rows
    next to a cut end are not the grid's, and are left out.

    Parameters
    ----------
    grid : Grid
        Uniform, node-centred axes and their conditions.
    scheme : CompactScheme
        The whole grid's scheme (its ``a_i`` and ``c``).
    coefficient : float
        The constant ``k``.
    source : number, Expression, callable or ndarray
        ``f`` as given (an array: the grid's nodal array).
    lo, hi : sequence of int
        The box of unknowns.
    merge : callable, optional
        ``merge(survey)``: the boxes of a distributed solve check ``f`` on the
        nodes they own (:func:`kronpde.operators.flux_box.box_nodes`) together, then
        the rest of the data, as :meth:`kronpde.Problem.source_values` does.

    Returns
    -------
    ndarray, shape ``hi - lo``

    Raises
    ------
    DataError
        If ``f`` is not finite at some node (of any box, with ``merge``), or a
        derivative the scheme needs is not finite where the window uses it.
    """
    d = grid.dimension
    lo = tuple(int(v) for v in lo)
    hi = tuple(int(v) for v in hi)
    axes, starts = [], []
    for a, axis in enumerate(grid.axes):
        start = axis.unknown_slice.start
        window, first = _window_axis(axis, start + lo[a], start + hi[a] - 1)
        axes.append(window)
        starts.append(first)
    take = [slice(s, s + w.cells + 1) for s, w in zip(starts, axes, strict=True)]
    # f on the window's nodes, at the grid's own coordinates; checked on the nodes the box owns
    nodes, owned = box_nodes(grid, lo, hi)
    values = None
    try:
        if isinstance(source, np.ndarray) and source.ndim > 0:
            values = np.array(source[tuple(take)], dtype=float)
        else:
            coords = np.meshgrid(
                *[x[t] for x, t in zip(grid.nodes, take, strict=True)], indexing="ij", sparse=True
            )
            shape = tuple(t.stop - t.start for t in take)
            values = evaluate_data(source, coords, shape, "source", check=False)
        mine = tuple(
            slice(int(n[o][0]) - t.start, int(n[o][-1]) + 1 - t.start)
            for n, o, t in zip(nodes, owned, take, strict=True)
        )
        index = [np.arange(s.start, s.stop) + t.start for s, t in zip(mine, take, strict=True)]
        survey = DataSurvey.of(values[mine], index)
    except DataError as exc:
        survey = DataSurvey.failed(exc)
    if merge is not None:
        survey = merge(survey)

    def point(index: tuple[int, ...]) -> list[float]:
        return [float(x[j]) for x, j in zip(grid.nodes, index, strict=True)]

    survey.raise_error(source, "source", point)
    b, failure = None, None
    try:
        bound = []
        for i, axis in enumerate(axes):
            conditions = []
            for bc in (axis.lower_bc, axis.upper_bc):
                if hasattr(bc, "value") and isinstance(bc.value, np.ndarray):
                    bc = replace(bc, value=_window_value(bc.value, i, d, take))
                conditions.append(bc)
            bound.append(replace(axis, lower_bc=conditions[0], upper_bc=conditions[1]))
        window = Grid(bound)
        ops = [second_difference(axis) for axis in window.axes]
        if coefficient != 1.0:
            ops = [op.scaled(coefficient) for op in ops]
        local = CompactScheme(ops, scheme.a, scheme.shift)
        whole = compact_rhs(window, local, coefficient, source, values)
        rows = tuple(
            slice(
                grid.axes[a].unknown_slice.start + lo[a] - starts[a] - axis.unknown_slice.start,
                grid.axes[a].unknown_slice.start + hi[a] - starts[a] - axis.unknown_slice.start,
            )
            for a, axis in enumerate(window.axes)
        )
        b = np.array(whole[rows])
    except DataError as exc:
        failure = exc
    if merge is not None:
        merged = merge(DataSurvey() if failure is None else DataSurvey.failed(failure))
        failure = merged.error
    if failure is not None:
        raise failure
    return b
