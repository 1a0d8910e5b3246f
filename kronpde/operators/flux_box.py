"""The rows of the variable-coefficient operator for one box of unknowns.

A rank of a distributed solve builds its own rows of ``Â`` (those of
:class:`kronpde.operators.flux.VariableDiffusion`, bit for bit) from ``k`` on its box and
the one layer of nodes around it: :func:`box_nodes` and :func:`box_points` say which
nodes (or cells) those are, :class:`VariableBox` and :class:`CellVariableBox` compute the
rows. The discretisation: ``docs/flux-form.md``.
"""

from __future__ import annotations

import math

import numpy as np

from kronpde.geometry.grid import Axis, Grid
from kronpde.operators.cells import cell_face_k_rows, cell_rows, cell_window
from kronpde.operators.stencils import diffusion_coefficients, diffusion_rows, harmonic_mean

__all__ = ["CellVariableBox", "VariableBox", "box_nodes", "box_points"]


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
    edge_k : sequence of (ndarray or None), optional
        Per axis ``a``, ``k`` at the intervals left of rows ``lo_a .. hi_a``
        (:func:`kronpde.problem.face_k.box_flux_positions`; the box's unknowns
        along the other axes): a formula's values at the faces, used instead
        of the harmonic means (None: harmonic means).

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
        edge_k: tuple[np.ndarray | None, ...] | None = None,
    ) -> None:
        d = grid.dimension
        edges = tuple(edge_k) if edge_k is not None else (None,) * d
        self.lo, self.hi = tuple(lo), tuple(hi)
        shape = tuple(h - low for low, h in zip(lo, hi, strict=True))
        # k on the window of every axis: the box's nodes and the layer around them
        windows = [np.searchsorted(nodes[a], _window(grid, a, lo[a], hi[a])) for a in range(d)]
        kws = _per_axis(k, d, windows)
        diagonal = np.full(shape, float(shift))
        couplings, lifts = [], []
        for a, axis in enumerate(grid.axes):
            take = [slice(1, 1 + shape[b]) for b in range(d)]  # the box's unknowns ...
            take[a] = slice(None)  # ... and the whole window along axis a
            kl = np.ascontiguousarray(np.moveaxis(kws[a][tuple(take)], a, -1))
            iv = None if edges[a] is None else np.moveaxis(edges[a], a, -1)
            diag, below, above, lift_lo, lift_hi = self._axis(axis, kl, lo[a], hi[a], iv)
            diagonal += np.moveaxis(diag, -1, a)
            couplings.append((np.moveaxis(below, -1, a), np.moveaxis(above, -1, a)))
            lifts.append((np.expand_dims(lift_lo, a), np.expand_dims(lift_hi, a)))
        # of the points read, and of the faces' own values where given
        self.k_min = _smallest(k, edges)
        self.diagonal = diagonal
        self.couplings = tuple(couplings)
        self.lifts = tuple(lifts)

    @staticmethod
    def _axis(
        axis: Axis, kl: np.ndarray, lo: int, hi: int, iv: np.ndarray | None = None
    ) -> tuple[np.ndarray, ...]:
        """Return the diagonal, both couplings of ``Â`` and the lifts of rows ``lo..hi-1``."""
        n, m, start = axis.n_unknowns, axis.cells, axis.unknown_slice.start
        # interval t of the window is the one left of row lo + t (as in VariableDiffusion)
        if iv is None:
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
        edge_k: tuple[np.ndarray | None, ...] | None = None,
    ) -> None:
        d = grid.dimension
        face_k = dict(face_k or {})
        edges = tuple(edge_k) if edge_k is not None else (None,) * d
        self.lo, self.hi = tuple(lo), tuple(hi)
        shape = tuple(h - low for low, h in zip(lo, hi, strict=True))
        windows = [
            np.searchsorted(points[a], _point_window(grid, a, lo[a], hi[a])) for a in range(d)
        ]
        kws = _per_axis(k, d, windows)
        # the smallest k the box's rows use: its points and its boundary faces' k
        self.k_min = min([_smallest(k, edges), *(float(np.min(f)) for f in face_k.values())])
        diagonal = np.full(shape, float(shift))
        couplings, lifts = [], []
        for a, axis in enumerate(grid.axes):
            take = [slice(1, 1 + shape[b]) for b in range(d)]
            take[a] = slice(None)
            kl = np.ascontiguousarray(np.moveaxis(kws[a][tuple(take)], a, -1))
            iv = None if edges[a] is None else np.moveaxis(edges[a], a, -1)
            if axis.cell_centred:
                faces = (face_k.get((a, 0)), face_k.get((a, 1)))
                diag, below, above, lift_lo, lift_hi = self._cell_axis(
                    axis, kl, lo[a], hi[a], faces, a, iv
                )
            else:
                diag, below, above, lift_lo, lift_hi = self._axis(axis, kl, lo[a], hi[a], iv)
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
        given: np.ndarray | None = None,
    ) -> tuple[np.ndarray, ...]:
        """Return the diagonal, both couplings of ``Â`` and the lifts of cell rows ``lo..hi-1``.

        ``given``: ``k`` at faces ``lo .. hi`` (``0 .. m`` for a periodic axis
        of one or two cells), a formula's values, instead of harmonic means.
        """
        m = axis.cells
        s = np.sqrt(axis.weights)
        if axis.periodic and m <= 2:  # folded rows need the whole axis (its one or two cells)
            window = list(cell_window(axis, lo, hi))
            kl = kl[..., [window.index(c) for c in cell_window(axis, 0, m)]]
            fk = cell_face_k_rows(axis, kl, 0, m) if given is None else np.array(given)
            diag, _, upper, _, _ = cell_rows(axis, (0, m), fk)
            above = upper * (s / s[::-1])  # m = 2: Â[0, 1]; row 1 has no upper neighbour
            below = np.zeros_like(above)
            below[..., 1:] = above[..., :-1]
            zero = np.zeros(kl.shape[:-1])
            return diag[..., lo:hi], below[..., lo:hi], above[..., lo:hi], zero, zero
        fk = cell_face_k_rows(axis, kl, lo, hi) if given is None else np.array(given)
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


def _per_axis(k: object, d: int, windows: list[np.ndarray]) -> list[np.ndarray]:
    """Per axis, ``k`` (one array, or one per axis: anisotropic) on the box's windows."""
    if isinstance(k, tuple):
        return [np.asarray(ki, dtype=float)[np.ix_(*windows)] for ki in k]
    return [np.asarray(k, dtype=float)[np.ix_(*windows)]] * d


def _smallest(k: object, edges: tuple[np.ndarray | None, ...]) -> float:
    """Return the smallest ``k`` of the points read and of the faces' values given."""
    points = list(k) if isinstance(k, tuple) else [k]
    parts = [np.asarray(p) for p in points] + [e for e in edges if e is not None]
    return min((float(np.min(p)) for p in parts if np.size(p)), default=math.inf)
