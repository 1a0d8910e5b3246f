"""The variable-coefficient operator ``-div(k grad u) + c u``: data, assembly, matrix-free apply.

:class:`VariableDiffusion` computes the rows of the symmetrised operator once (vertex-centred
finite volumes, harmonic means of ``k`` on the intervals); the CSR assembly and the
matrix-free :class:`VariableOperator` are built from them, and :class:`VariableBox` computes
the same rows for one box of unknowns. The discretisation: ``docs/flux-form.md``.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator

from kronpde.geometry.grid import Axis, Grid
from kronpde.operators.banded import PlaneBlocks, axis_index, csr_from_bands
from kronpde.operators.cells import (
    cell_coefficients,
    cell_face_k,
    cell_face_k_rows,
    cell_rows,
    cell_window,
)
from kronpde.operators.kernels import CompiledAfter, VariableStencil, use_compiled
from kronpde.operators.stencils import diffusion_coefficients, diffusion_rows

__all__ = [
    "CellVariableBox",
    "VariableBox",
    "VariableDiffusion",
    "VariableOperator",
    "box_nodes",
    "box_points",
    "harmonic_mean",
]


def harmonic_mean(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Return the harmonic mean ``2 a b / (a + b)``, exactly ``a`` where ``a == b``.

    Parameters
    ----------
    a, b : ndarray
        Positive arrays of broadcastable shapes.

    Returns
    -------
    ndarray
        Computed as ``a * (2 b / (a + b))``, so that equal values give ``a``
        bit for bit.
    """
    return a * (2.0 * b / (a + b))


class VariableDiffusion:
    """The discretised ``-div(k grad u) + c u`` of a grid with nodal ``k``.

    Parameters
    ----------
    grid : Grid
        Axes (uniform or stretched) and boundary conditions.
    k : ndarray, shape ``grid.point_shape``
        ``k`` at every point of the field (the nodes; the cell centres along
        cell-centred axes), finite and ``> 0`` (checked by the caller,
        :class:`kronpde.Problem`).
    shift : float
        ``c >= 0``.
    face_k : mapping of (axis, side) to ndarray, optional
        ``k`` on the boundary faces ``(i, side)`` of the non-periodic
        cell-centred axes, each of shape ``grid.face_shape(i)``; a face not
        given takes the value of its boundary cells.

    Attributes
    ----------
    diagonal : ndarray, shape ``grid.shape``
        The diagonal of ``A`` (equal to that of ``Â``).
    edges : tuple of ndarray
        Per axis ``i``, the couplings of ``Â`` between unknowns ``r`` and
        ``r + 1`` along axis ``i`` (shape ``grid.shape`` with ``n_i - 1``
        entries along axis ``i``; negative).
    wraps : tuple of (ndarray or None)
        Per periodic axis with ``n_i >= 3``, the coupling of ``Â`` between
        unknowns ``n_i - 1`` and ``0`` (length 1 along axis ``i``).
    lifts : tuple of (ndarray, ndarray)
        Per axis, the factors of the lower / upper face's data on the
        right-hand side of the first / last row (shape ``grid.shape`` with 1
        along axis ``i``; zeros for periodic axes).

    Examples
    --------
    >>> import numpy as np
    >>> from kronpde import Grid
    >>> g = Grid.box([4, 3])
    >>> x, y = g.node_coordinates()
    >>> v = VariableDiffusion(g, 1.0 + x + 0 * y)
    >>> a = v.operator(symmetric=True)
    >>> a.shape, bool(abs(a - a.T).max() < 1e-12)
    ((6, 6), True)

    A constant ``k`` gives ``k`` times the Kronecker sum of the 1-D operators:

    >>> from kronpde.operators.kronsum import assemble
    >>> from kronpde.operators.stencils import second_difference
    >>> const = VariableDiffusion(g, np.full(g.node_shape, 2.0))
    >>> ref = 2.0 * assemble([second_difference(axis) for axis in g.axes])
    >>> bool(abs(const.operator() - ref).max() < 1e-12)
    True
    """

    def __init__(
        self,
        grid: Grid,
        k: np.ndarray,
        shift: float = 0.0,
        face_k: dict[tuple[int, int], np.ndarray] | None = None,
    ) -> None:
        self.grid = grid
        self.k = np.asarray(k, dtype=float)
        self.shift = float(shift)
        self.face_k = dict(face_k or {})
        diagonal = np.full(grid.shape, self.shift)
        edges, wraps, lifts = [], [], []
        for i, axis in enumerate(grid.axes):
            if axis.cell_centred:
                diag, lower, upper, lift_lo, lift_hi = cell_coefficients(axis, self.edge_k(i))
            else:
                edge_k, face_lo, face_hi = self._axis_k(i)
                diag, lower, upper, lift_lo, lift_hi = diffusion_coefficients(
                    axis, edge_k, (face_lo, face_hi)
                )
            del lower
            s = np.sqrt(axis.weights)
            n = axis.n_unknowns
            diagonal += np.moveaxis(diag, -1, i)
            # Â = W^{1/2} A W^{-1/2}: the (r, r+1) entry is upper[r] s_r / s_{r+1}
            pair = upper[..., : n - 1] * (s[: n - 1] / s[1:])
            edges.append(np.ascontiguousarray(np.moveaxis(pair, -1, i)))
            wrap = None
            if axis.periodic and n >= 3:
                w = upper[..., n - 1 :] * (s[n - 1] / s[0])
                wrap = np.ascontiguousarray(np.moveaxis(w, -1, i))
            wraps.append(wrap)
            lifts.append((np.expand_dims(lift_lo, i), np.expand_dims(lift_hi, i)))
        self.diagonal = diagonal
        self.edges = tuple(edges)
        self.wraps = tuple(wraps)
        self.lifts = tuple(lifts)

    def with_shift(self, shift: float) -> VariableDiffusion:
        """Return the same coefficients with shift ``shift``: only the diagonal is new.

        ``diagonal + (shift - self.shift)``; ``k``, the edges, the wraps and
        the lifts are shared (the same arrays).
        """
        new = object.__new__(VariableDiffusion)
        new.__dict__.update(self.__dict__)
        new.shift = float(shift)
        new.diagonal = self.diagonal + (new.shift - self.shift)
        return new

    # -- k at the staggered points -----------------------------------------------------
    def _lines(self, i: int) -> np.ndarray:
        """Return ``k`` on axis ``i``'s lines through the unknowns, shape (..., points_i).

        ``points_i`` is ``cells_i + 1`` nodes, or ``cells_i`` centres on a
        cell-centred axis.
        """
        index = list(self.grid.unknown_index)
        index[i] = slice(None)
        kn = np.ascontiguousarray(np.moveaxis(self.k[tuple(index)], i, -1))
        if self.grid.axes[i].periodic and not self.grid.axes[i].cell_centred:
            if np.shares_memory(kn, self.k):
                kn = kn.copy()
            kn[..., -1] = kn[..., 0]  # node m is node 0
        return kn

    def _axis_k(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return the harmonic-mean ``k`` on axis ``i``'s intervals and ``k`` at its faces."""
        kn = self._lines(i)
        return harmonic_mean(kn[..., :-1], kn[..., 1:]), kn[..., 0], kn[..., -1]

    def _face_lines(self, i: int, side: int) -> np.ndarray | None:
        """Return ``face_k[(i, side)]`` on the lines through the unknowns, shape (...)."""
        face = self.face_k.get((i, side))
        if face is None:
            return None
        index = list(self.grid.unknown_index)
        index[i] = slice(None)
        return np.moveaxis(np.asarray(face, dtype=float)[tuple(index)], i, -1)[..., 0]

    def edge_k(self, i: int) -> np.ndarray:
        """Return ``k_{j+1/2}`` on every interval of axis ``i`` (every face of a cell-centred one).

        Parameters
        ----------
        i : int
            The axis.

        Returns
        -------
        ndarray, shape (..., cells_i), or (..., cells_i + 1) on a cell-centred axis
            Axis ``i`` last, the other axes over their unknowns.  On a
            cell-centred axis entry ``f`` is face ``f``: interior faces the
            harmonic mean of their cells (:func:`kronpde.operators.cells.cell_face_k`),
            boundary faces ``face_k`` (else the boundary cell's ``k``).
        """
        axis = self.grid.axes[i]
        if not axis.cell_centred:
            return self._axis_k(i)[0]
        k = cell_face_k(axis, self._lines(i))
        if not axis.periodic:
            for side, end in ((0, 0), (1, -1)):
                face = self._face_lines(i, side)
                if face is not None:
                    k[..., end] = face
        return k

    # -- assembly ----------------------------------------------------------------------
    def operator(self, symmetric: bool = False) -> sp.csr_array:
        """Return ``A`` or, with ``symmetric=True``, ``Â`` as CSR, from the row coefficients.

        Parameters
        ----------
        symmetric : bool, optional
            Return ``Â = W^{1/2} A W^{-1/2}`` instead of ``A``.

        Returns
        -------
        scipy.sparse.csr_array
            Shape ``(N, N)``, canonical (sorted indices, no explicit zeros).

        Notes
        -----
        Written as the banded (DIA) matrix of :attr:`diagonal`, :attr:`edges`
        and :attr:`wraps` (offsets ``0``, ``±s_i`` and ``±(n_i - 1) s_i``,
        ``s_i`` the stride of axis ``i``) and converted to CSR once
        (:func:`kronpde.operators.banded.csr_from_bands`), rather than summed from sparse
        Kronecker products ``D_iᵀ K_i D_i`` (a reference built that way checks
        it in the tests).
        """
        g = self.grid
        d = g.dimension
        shape = g.shape
        strides = [math.prod(shape[i + 1 :]) for i in range(d)]
        # (offset, index, values); DIA convention: A[r, c] is stored at column c
        terms: list[tuple[int, tuple, np.ndarray]] = [(0, (), self.diagonal)]
        for i, (E, wrap) in enumerate(zip(self.edges, self.wraps, strict=True)):
            if E.shape[i] > 0:
                # the (r, r+1) pair: A[r, r+1] at column r+1, A[r+1, r] at column r
                terms.append((strides[i], axis_index(d, i, slice(1, None)), E))
                terms.append((-strides[i], axis_index(d, i, slice(None, -1)), E))
            if wrap is not None:
                n = shape[i]
                terms.append(((n - 1) * strides[i], axis_index(d, i, slice(-1, None)), wrap))
                terms.append((-(n - 1) * strides[i], axis_index(d, i, slice(0, 1)), wrap))
        a = csr_from_bands(shape, terms)
        if not symmetric:  # A = W^{-1/2} Â W^{1/2}
            s = np.sqrt(g.weights().reshape(-1))
            a = sp.csr_array(sp.diags_array(1.0 / s) @ a @ sp.diags_array(s))
        a.sum_duplicates()
        a.eliminate_zeros()
        return a

    def linear_operator(self, symmetric: bool = False) -> VariableOperator:
        """Return the matrix-free ``A``, or ``Â`` with ``symmetric=True``.

        Parameters
        ----------
        symmetric : bool, optional
            Return ``Â`` instead of ``A``.

        Returns
        -------
        VariableOperator
        """
        return VariableOperator(self, symmetric=symmetric)


def _window(grid: Grid, a: int, lo: int, hi: int) -> np.ndarray:
    """Return the nodes beside rows ``lo - 1 .. hi`` of axis ``a`` (wrapped; clipped at the ends).

    Position ``t`` holds the node left of row ``lo + t`` (``t = hi - lo + 1``:
    the node right of the last row).  On a periodic axis node ``-1`` is node
    ``m - 1`` and node ``m`` is node ``0``; elsewhere a position beyond the
    axis' ends repeats the end node (its value is never used unweighted).
    """
    axis = grid.axes[a]
    nodes = np.arange(axis.unknown_slice.start + lo - 1, axis.unknown_slice.start + hi + 1)
    if axis.periodic:
        return nodes % axis.cells
    return np.clip(nodes, 0, axis.cells)


def box_nodes(
    grid: Grid, lo: tuple[int, ...], hi: tuple[int, ...]
) -> tuple[tuple[np.ndarray, ...], tuple[slice, ...]]:
    """Return the nodes whose ``k`` the rows of a box of unknowns use, and those it owns.

    Parameters
    ----------
    grid : Grid
        The grid.
    lo, hi : tuple of int
        The box of unknowns, ``lo[a] <= j_a < hi[a]``.

    Returns
    -------
    nodes : tuple of ndarray
        Per axis, the increasing node indices: the nodes of the box's unknowns,
        one more on each side (the periodic image across the end of a
        periodic axis, a Dirichlet node, nothing beyond a face) and the owned ones.
    owned : tuple of slice
        Per axis, the positions in ``nodes`` of the nodes the box *owns*: those
        of its unknowns, and, where the box reaches a face, the Dirichlet node
        or the periodic image node ``m`` beyond them.  The owned nodes of boxes
        that tile the unknowns tile the nodes (the pieces of
        :meth:`kronpde.solvers.petsc.backend.PetscSolver.piece_box`), so that
        a check of ``k`` over the boxes checks every node once.

    Examples
    --------
    >>> from kronpde import Grid, Periodic
    >>> g = Grid.box([4, 6], boundary={"xmin": Periodic(), "xmax": Periodic()})
    >>> nodes, owned = box_nodes(g, (0, 2), (2, 5))  # unknowns x 0..1, y 2..4 (nodes 3..5)
    >>> [n.tolist() for n in nodes], owned
    ([[0, 1, 2, 3], [2, 3, 4, 5, 6]], (slice(0, 2, None), slice(1, 5, None)))
    """
    nodes, owned = [], []
    for a, axis in enumerate(grid.axes):
        start, n, m = axis.unknown_slice.start, axis.n_unknowns, axis.cells
        first = 0 if lo[a] == 0 else lo[a] + start
        stop = m + 1 if hi[a] == n else hi[a] + start
        index = np.union1d(_window(grid, a, lo[a], hi[a]), np.arange(first, stop))
        at = int(np.searchsorted(index, first))
        nodes.append(index)
        owned.append(slice(at, at + stop - first))
    return tuple(nodes), tuple(owned)


class VariableBox:
    """The rows of ``Â`` of a box of unknowns, from ``k`` on the box and the nodes around it.

    The rows of :meth:`VariableDiffusion.operator` (``symmetric=True``) and its
    lifting factors for the unknowns ``lo <= j < hi`` only, bit for bit: the
    same harmonic means and the rows of
    :func:`~kronpde.operators.stencils.diffusion_rows`, the same symmetrisation.  A
    coupling across the box's side needs the neighbour row's coefficient
    towards this one, which comes from the interval between them (in the one
    layer of nodes around the box), so that both rows hold the same value and
    the distributed ``Â`` is exactly symmetric.

    Parameters
    ----------
    grid : Grid
        The grid.
    k : ndarray
        ``k`` at the nodes ``nodes`` (their outer product), finite and ``> 0``.
    nodes : tuple of ndarray
        :func:`box_nodes` of the box.
    shift : float
        ``c``.
    lo, hi : tuple of int
        The box.

    Attributes
    ----------
    diagonal : ndarray, shape ``hi - lo``
        The diagonal of ``Â`` (and ``A``).
    couplings : tuple of (ndarray, ndarray)
        Per axis, the entries of ``Â`` towards ``j_a - 1`` and ``j_a + 1``
        (shape ``hi - lo``; across the end of a periodic axis with 3 or more
        unknowns: its periodic neighbour; 0 where there is no neighbour).
    lifts : tuple of (ndarray, ndarray)
        Per axis, the factors of the lower / upper face's data on the box's
        first / last row (shape ``hi - lo`` with 1 along the axis; zeros when
        the box does not reach the face).
    k_min : float
        The smallest ``k`` at the nodes read (the box's own and the layer
        around it): over boxes that tile the grid, the smallest nodal ``k``
        (the eigenvalue bound of :mod:`kronpde.problem.certify` needs it).
    """

    def __init__(
        self,
        grid: Grid,
        k: np.ndarray,
        nodes: tuple[np.ndarray, ...],
        shift: float,
        lo: tuple[int, ...],
        hi: tuple[int, ...],
    ) -> None:
        d = grid.dimension
        self.lo, self.hi = tuple(lo), tuple(hi)
        shape = tuple(h - low for low, h in zip(lo, hi, strict=True))
        # k on the window of every axis: the box's nodes and the layer around them
        windows = [np.searchsorted(nodes[a], _window(grid, a, lo[a], hi[a])) for a in range(d)]
        kw = np.asarray(k, dtype=float)[np.ix_(*windows)]
        diagonal = np.full(shape, float(shift))
        couplings, lifts = [], []
        for a, axis in enumerate(grid.axes):
            take = [slice(1, 1 + shape[b]) for b in range(d)]  # the box's unknowns ...
            take[a] = slice(None)  # ... and the whole window along axis a
            kl = np.ascontiguousarray(np.moveaxis(kw[tuple(take)], a, -1))
            diag, below, above, lift_lo, lift_hi = self._axis(axis, kl, lo[a], hi[a])
            diagonal += np.moveaxis(diag, -1, a)
            couplings.append((np.moveaxis(below, -1, a), np.moveaxis(above, -1, a)))
            lifts.append((np.expand_dims(lift_lo, a), np.expand_dims(lift_hi, a)))
        self.k_min = float(np.min(k)) if np.size(k) else math.inf  # of the points read
        self.diagonal = diagonal
        self.couplings = tuple(couplings)
        self.lifts = tuple(lifts)

    @staticmethod
    def _axis(axis: Axis, kl: np.ndarray, lo: int, hi: int) -> tuple[np.ndarray, ...]:
        """Return the diagonal, both couplings of ``Â`` and the lifts of rows ``lo..hi-1``."""
        n, m, start = axis.n_unknowns, axis.cells, axis.unknown_slice.start
        # interval t of the window is the one left of row lo + t (as in VariableDiffusion)
        iv = harmonic_mean(kl[..., :-1], kl[..., 1:])
        s = np.sqrt(axis.weights)
        rows = np.arange(lo, hi)
        lift_lo = lift_hi = np.zeros(kl.shape[:-1])
        if axis.periodic and n <= 2:  # folded rows need both intervals: the whole axis
            edge = iv[..., [(e + 1 - lo) % m for e in range(m)]]
            diag, _, upper, _, _ = diffusion_coefficients(axis, edge)
            above = upper[..., lo:hi] * (s[rows] / s[(rows + 1) % n])
            prev = (rows - 1) % n
            below = upper[..., prev] * (s[prev] / s[rows])
            return diag[..., lo:hi], below, above, lift_lo, lift_hi
        first, last = 1 - start - lo, m - start - lo + 1  # window positions of nodes 0 and m
        face = (kl[..., first] if lo == 0 else 1.0, kl[..., last] if hi == n else 1.0)
        diag, _, upper, lift_lo, lift_hi = diffusion_rows(
            axis, (lo, hi), iv[..., :-1], iv[..., 1:], face
        )
        # Â[r, r + 1] = A[r, r + 1] s_r / s_{r+1}; across the end of a periodic axis, the wrap
        above = upper * (s[rows] / s[(rows + 1) % n])
        below = np.zeros_like(above)
        below[..., 1:] = above[..., :-1]  # Â[r, r - 1] = Â[r - 1, r]
        prev = lo - 1 if lo >= 1 else (n - 1 if axis.periodic else None)
        if prev is not None:  # the row before the box, towards the box: its right interval
            _, _, up, _, _ = diffusion_rows(axis, (prev, prev + 1), iv[..., :1], iv[..., :1])
            below[..., 0] = up[..., 0] * (s[prev] / s[lo])
        return diag, below, above, lift_lo, lift_hi


def _point_window(grid: Grid, a: int, lo: int, hi: int) -> np.ndarray:
    """Return the points beside rows ``lo - 1 .. hi`` of axis ``a``: nodes, or cells."""
    axis = grid.axes[a]
    if axis.cell_centred:
        return cell_window(axis, lo, hi)
    return _window(grid, a, lo, hi)


def box_points(
    grid: Grid, lo: tuple[int, ...], hi: tuple[int, ...]
) -> tuple[tuple[np.ndarray, ...], tuple[slice, ...]]:
    """Return the points whose ``k`` the rows of a box use, and those it owns, on any centring.

    :func:`box_nodes` along node-centred axes; along a cell-centred axis the
    points are the cells of the box and one more on each side (wrapped on a
    periodic axis, none beyond a face), and the box owns its own cells.  The
    owned points of boxes that tile the unknowns tile the field's points.

    Parameters
    ----------
    grid : Grid
        The grid.
    lo, hi : tuple of int
        The box of unknowns, ``lo[a] <= j_a < hi[a]``.

    Returns
    -------
    points : tuple of ndarray
        Per axis, the increasing point indices (into :attr:`Grid.points`).
    owned : tuple of slice
        Per axis, the positions in ``points`` of the points the box owns.

    Examples
    --------
    >>> from kronpde import Grid
    >>> g = Grid.box([4, 6], centering=["node", "cell"])
    >>> points, owned = box_points(g, (0, 2), (2, 6))
    >>> [p.tolist() for p in points], owned
    ([[0, 1, 2, 3], [1, 2, 3, 4, 5]], (slice(0, 3, None), slice(1, 5, None)))
    """
    nodes, node_owned = box_nodes(grid, lo, hi)
    points, owned = list(nodes), list(node_owned)
    for a, axis in enumerate(grid.axes):
        if not axis.cell_centred:
            continue
        index = np.union1d(cell_window(axis, lo[a], hi[a]), np.arange(lo[a], hi[a]))
        at = int(np.searchsorted(index, lo[a]))
        points[a] = index
        owned[a] = slice(at, at + hi[a] - lo[a])
    return tuple(points), tuple(owned)


class CellVariableBox(VariableBox):
    """:class:`VariableBox` on a grid with cell-centred axes (any mix with node-centred ones).

    The rows of :meth:`VariableDiffusion.operator` (``symmetric=True``) and
    its lifting factors for the unknowns ``lo <= j < hi`` only, bit for bit,
    from ``k`` at the points of :func:`box_points` and, on the boundary faces
    of the non-periodic cell-centred axes that the box reaches, ``k`` at the
    face (:func:`~kronpde.operators.cells.cell_face_k_rows`,
    :func:`~kronpde.operators.cells.cell_rows`).

    Parameters
    ----------
    grid : Grid
        The grid.
    k : ndarray
        ``k`` at the points ``points`` (their outer product), finite and ``> 0``.
    points : tuple of ndarray
        :func:`box_points` of the box.
    shift : float
        ``c``.
    lo, hi : tuple of int
        The box.
    face_k : mapping of (axis, side) to ndarray, optional
        ``k`` on a boundary face of a cell-centred axis at the box's unknowns
        (shape ``hi - lo`` with 1 along the axis); a face not given takes its
        boundary cells' values (as :class:`VariableDiffusion` does).

    Attributes
    ----------
    diagonal, couplings, lifts
        As :class:`VariableBox`.
    k_min : float
        The smallest ``k`` read: at the points and on the boundary faces given.
    """

    def __init__(
        self,
        grid: Grid,
        k: np.ndarray,
        points: tuple[np.ndarray, ...],
        shift: float,
        lo: tuple[int, ...],
        hi: tuple[int, ...],
        face_k: dict[tuple[int, int], np.ndarray] | None = None,
    ) -> None:
        d = grid.dimension
        face_k = dict(face_k or {})
        self.lo, self.hi = tuple(lo), tuple(hi)
        shape = tuple(h - low for low, h in zip(lo, hi, strict=True))
        windows = [
            np.searchsorted(points[a], _point_window(grid, a, lo[a], hi[a])) for a in range(d)
        ]
        kw = np.asarray(k, dtype=float)[np.ix_(*windows)]
        # the smallest k the box's rows use: its points and its boundary faces' k
        self.k_min = min([float(np.min(k)), *(float(np.min(f)) for f in face_k.values())])
        diagonal = np.full(shape, float(shift))
        couplings, lifts = [], []
        for a, axis in enumerate(grid.axes):
            take = [slice(1, 1 + shape[b]) for b in range(d)]
            take[a] = slice(None)
            kl = np.ascontiguousarray(np.moveaxis(kw[tuple(take)], a, -1))
            if axis.cell_centred:
                faces = (face_k.get((a, 0)), face_k.get((a, 1)))
                diag, below, above, lift_lo, lift_hi = self._cell_axis(
                    axis, kl, lo[a], hi[a], faces, a
                )
            else:
                diag, below, above, lift_lo, lift_hi = self._axis(axis, kl, lo[a], hi[a])
            diagonal += np.moveaxis(diag, -1, a)
            couplings.append((np.moveaxis(below, -1, a), np.moveaxis(above, -1, a)))
            lifts.append((np.expand_dims(lift_lo, a), np.expand_dims(lift_hi, a)))
        self.diagonal = diagonal
        self.couplings = tuple(couplings)
        self.lifts = tuple(lifts)

    @staticmethod
    def _cell_axis(
        axis: Axis,
        kl: np.ndarray,
        lo: int,
        hi: int,
        faces: tuple[np.ndarray | None, np.ndarray | None],
        a: int,
    ) -> tuple[np.ndarray, ...]:
        """Return the diagonal, both couplings of ``Â`` and the lifts of cell rows ``lo..hi-1``."""
        m = axis.cells
        s = np.sqrt(axis.weights)
        if axis.periodic and m <= 2:  # folded rows need the whole axis (its one or two cells)
            window = list(cell_window(axis, lo, hi))
            kl = kl[..., [window.index(c) for c in cell_window(axis, 0, m)]]
            fk = cell_face_k_rows(axis, kl, 0, m)
            diag, _, upper, _, _ = cell_rows(axis, (0, m), fk)
            above = upper * (s / s[::-1])  # m = 2: Â[0, 1]; row 1 has no upper neighbour
            below = np.zeros_like(above)
            below[..., 1:] = above[..., :-1]
            zero = np.zeros(kl.shape[:-1])
            return diag[..., lo:hi], below[..., lo:hi], above[..., lo:hi], zero, zero
        fk = cell_face_k_rows(axis, kl, lo, hi)
        if not axis.periodic:  # k at the boundary faces themselves, where given
            for side, end, reached in ((0, 0, lo == 0), (1, -1, hi == m)):
                face = faces[side]
                if face is not None and reached:
                    fk[..., end] = np.moveaxis(np.asarray(face, dtype=float), a, -1)[..., 0]
        diag, lower, upper, lift_lo, lift_hi = cell_rows(axis, (lo, hi), fk)
        del lower
        rows = np.arange(lo, hi)
        n = m
        above = upper * (s[rows] / s[(rows + 1) % n])
        below = np.zeros_like(above)
        below[..., 1:] = above[..., :-1]  # Â[r, r - 1] = Â[r - 1, r]
        prev = lo - 1 if lo >= 1 else (n - 1 if axis.periodic else None)
        if prev is not None:  # the row before the box, towards the box: its right face
            _, _, up, _, _ = cell_rows(
                axis, (prev, prev + 1), np.stack([fk[..., 0], fk[..., 0]], axis=-1)
            )
            below[..., 0] = up[..., 0] * (s[prev] / s[lo])
        return diag, below, above, lift_lo, lift_hi


class VariableOperator(LinearOperator):
    """Matrix-free ``Â`` (or ``A = W^{-1/2} Â W^{1/2}``) of a :class:`VariableDiffusion`.

    ``Â x`` is the diagonal times ``x`` plus, per axis, the couplings of
    neighbouring unknowns (array slices along that axis, no matrix).  Offers
    ``matvec_into(x, out)`` (see :mod:`kronpde.solvers.cg`) and
    ``apply_dot(x, out)`` (``out = op x`` and ``x · out``).

    With at least :data:`kronpde.operators.kernels.MIN_COMPILED_SIZE` unknowns (1-3 D)
    ``Â`` is applied by the compiled stencil
    (:class:`kronpde.operators.kernels.VariableStencil`, on the same arrays, no copy;
    ``apply_dot`` of ``Â`` in the same pass), chosen by size when the
    operator is built (:attr:`compiled`); smaller grids keep the NumPy slices
    and never import numba.  A compiled operator makes its first few applies
    on NumPy unless the kernels are loaded already
    (:class:`~kronpde.operators.kernels.CompiledAfter`).  The two agree to rounding.

    Attributes
    ----------
    data : VariableDiffusion
        The coefficients.
    symmetric : bool
        ``Â`` (True) or ``A``.
    compiled : bool
        Whether the compiled stencil applies ``Â``.
    """

    def __init__(self, data: VariableDiffusion, symmetric: bool = True) -> None:
        self.data = data
        self.symmetric = symmetric
        self.grid_shape = data.grid.shape
        n = math.prod(self.grid_shape)
        super().__init__(dtype=np.float64, shape=(n, n))
        self.compiled = len(self.grid_shape) <= 3 and use_compiled(n)
        self._stencil = (
            VariableStencil.from_diffusion(data, compiled=True) if self.compiled else None
        )
        self._blocks: PlaneBlocks | None = None  # the NumPy apply's blocks, made on first use
        # NumPy for a few applies first, unless the kernels are loaded (CompiledAfter: why)
        self._take_compiled = CompiledAfter(n) if self.compiled else None
        if not symmetric:
            self._scale = np.sqrt(data.grid.weights())
            self._x = np.empty(self.grid_shape)

    def _apply_symmetric(self, X: np.ndarray, Y: np.ndarray) -> None:
        """Compute ``Y = Â X`` in blocks of planes along axis 0 (:class:`~.banded.PlaneBlocks`).

        A block receives its diagonal term, the couplings along the other axes
        (inside the block) and those along axis 0 (reading ``X`` one plane
        beyond the block, writing only the block's own rows) while it is in cache.
        """
        if self._blocks is None:
            self._blocks = PlaneBlocks(self.grid_shape)
        data = self.data
        d = X.ndim
        n0 = X.shape[0]
        E0, wrap0 = data.edges[0], data.wraps[0]
        for p0, p1, tb in self._blocks:
            xb, yb = X[p0:p1], Y[p0:p1]
            np.multiply(xb, data.diagonal[p0:p1], out=yb)
            for i in range(1, d):
                E, wrap = data.edges[i][p0:p1], data.wraps[i]
                if E.shape[i] > 0:
                    lo, hi = axis_index(d, i, slice(None, -1)), axis_index(d, i, slice(1, None))
                    t = tb[lo]
                    np.multiply(E, xb[hi], out=t)
                    yb[lo] += t
                    np.multiply(E, xb[lo], out=t)
                    yb[hi] += t
                if wrap is not None:
                    first, last = axis_index(d, i, slice(0, 1)), axis_index(d, i, slice(-1, None))
                    t = tb[first]
                    np.multiply(wrap[p0:p1], xb[first], out=t)
                    yb[last] += t
                    np.multiply(wrap[p0:p1], xb[last], out=t)
                    yb[first] += t
            r1 = min(p1, n0 - 1)  # rows r < n0 - 1 couple to r + 1 through E0[r]
            if p0 < r1:
                t = tb[: r1 - p0]
                np.multiply(E0[p0:r1], X[p0 + 1 : r1 + 1], out=t)
                Y[p0:r1] += t
            r0 = max(p0, 1)  # rows r >= 1 couple to r - 1 through E0[r - 1]
            if r0 < p1:
                t = tb[: p1 - r0]
                np.multiply(E0[r0 - 1 : p1 - 1], X[r0 - 1 : p1 - 1], out=t)
                Y[r0:p1] += t
            if wrap0 is not None:
                if p0 == 0:
                    np.multiply(wrap0, X[n0 - 1 :], out=tb[:1])
                    Y[:1] += tb[:1]
                if p1 == n0:
                    np.multiply(wrap0, X[:1], out=tb[:1])
                    Y[n0 - 1 :] += tb[:1]

    def matvec_into(self, x: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Compute ``out = op @ x`` without allocating (the protocol of :mod:`kronpde.solvers.cg`).

        Parameters
        ----------
        x : ndarray, shape (N,)
            C-contiguous float64; not modified.
        out : ndarray, shape (N,)
            C-contiguous float64, must not alias ``x``; every entry is overwritten.

        Returns
        -------
        ndarray
            ``out``.
        """
        X = x.reshape(self.grid_shape)
        Y = out.reshape(self.grid_shape)
        if self.symmetric:
            self._hat(X, Y)
        else:  # A x = W^{-1/2} Â (W^{1/2} x)
            np.multiply(X, self._scale, out=self._x)
            self._hat(self._x, Y)
            Y /= self._scale
        return out

    def apply_dot(self, x: np.ndarray, out: np.ndarray) -> float:
        """Compute ``out = op @ x`` and return ``x · out`` (CG's ``p · Ap``).

        One pass for a compiled ``Â``; else :meth:`matvec_into` and a dot
        product (``np.einsum``, single-threaded).

        Parameters
        ----------
        x, out : ndarray, shape (N,)
            As for :meth:`matvec_into`.

        Returns
        -------
        float
            ``x · (op x)``.
        """
        if self.symmetric and self._stencil is not None:
            if self._take_compiled():
                return self._stencil.apply_dot(x, out)
            self._apply_symmetric(x.reshape(self.grid_shape), out.reshape(self.grid_shape))
        else:
            self.matvec_into(x, out)
        return float(np.einsum("i,i->", x.reshape(-1), out.reshape(-1)))

    def _hat(self, X: np.ndarray, Y: np.ndarray) -> None:
        """``Y = Â X``: the compiled stencil above the threshold, else the blocked slices."""
        if self._stencil is not None and self._take_compiled():
            self._stencil.apply(X, Y)
        else:
            self._apply_symmetric(X, Y)

    def _matvec(self, x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=float).reshape(-1)
        out = np.empty_like(x)
        return self.matvec_into(x, out)

    def _rmatvec(self, x: np.ndarray) -> np.ndarray:
        if self.symmetric:
            return self._matvec(x)
        # Aᵀ = W^{1/2} Â W^{-1/2}
        X = np.ascontiguousarray(x, dtype=float).reshape(self.grid_shape) / self._scale
        Y = np.empty(self.grid_shape)
        self._hat(X, Y)  # uses only the block-sized work array
        return (Y * self._scale).reshape(-1)
