"""The variable-coefficient operator ``-div(k grad u) + c u``: data, assembly, matrix-free apply.

:class:`VariableDiffusion` computes the rows of the symmetrised operator once (vertex-centred
finite volumes, harmonic means of ``k`` on the intervals); the CSR assembly and the
matrix-free :class:`VariableOperator` are built from them, and :class:`VariableBox` computes
the same rows for one box of unknowns (:mod:`kronpde.operators.flux_box`, whose names, like
:func:`~kronpde.operators.stencils.harmonic_mean`, are importable from here too). The
discretisation: ``docs/flux-form.md``.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator

from kronpde.geometry.grid import Grid
from kronpde.operators.banded import PlaneBlocks, axis_index, csr_from_bands
from kronpde.operators.cells import (
    cell_coefficients,
    cell_face_k,
)
from kronpde.operators.flux_box import CellVariableBox, VariableBox, box_nodes, box_points
from kronpde.operators.kernels import CompiledAfter, VariableStencil, kernels_loaded, use_compiled
from kronpde.operators.stencils import diffusion_coefficients, harmonic_mean

__all__ = [
    "CellVariableBox",
    "VariableBox",
    "VariableDiffusion",
    "VariableOperator",
    "box_nodes",
    "box_points",
    "harmonic_mean",
]


class VariableDiffusion:
    """The discretised ``-div(k grad u) + c u`` of a grid with nodal ``k``.

    Parameters
    ----------
    grid : Grid
        Axes (uniform or stretched) and boundary conditions.
    k : ndarray, shape ``grid.point_shape``, or a tuple of them
        ``k`` at every point of the field (the nodes; the cell centres along
        cell-centred axes), finite and ``> 0`` (checked by the caller,
        :class:`kronpde.Problem`); a tuple: one per axis, ``k_i`` for the
        fluxes along axis ``i`` (anisotropic diffusion).
    shift : float
        ``c`` (any real).
    face_k : mapping of (axis, side) to ndarray, optional
        ``k`` on the boundary faces ``(i, side)`` of the non-periodic
        cell-centred axes, each of shape ``grid.face_shape(i)``; a face not
        given takes the value of its boundary cells.
    edge_k : sequence of (ndarray or None), optional
        Per axis ``i``, ``k`` at the faces its fluxes cross (a coefficient
        known as a formula, evaluated there): the grid's unknowns along the
        other axes and, along axis ``i``, every interval (node-centred,
        ``cells_i``) or every face (cell-centred, ``cells_i + 1``).  None (the
        default, or an axis' entry): the harmonic mean of the points' ``k``.

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
        edge_k: tuple[np.ndarray | None, ...] | None = None,
    ) -> None:
        self.grid = grid
        per_axis = isinstance(k, tuple)
        self.k_axes = tuple(
            np.asarray(k[i] if per_axis else k, dtype=float) for i in range(grid.dimension)
        )
        self.k = self.k_axes[0]
        self.shift = float(shift)
        self.face_k = dict(face_k or {})
        self.edge_values = tuple(edge_k) if edge_k is not None else (None,) * grid.dimension
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
        k = self.k_axes[i]
        kn = np.ascontiguousarray(np.moveaxis(k[tuple(index)], i, -1))
        if self.grid.axes[i].periodic and not self.grid.axes[i].cell_centred:
            if np.shares_memory(kn, k):
                kn = kn.copy()
            kn[..., -1] = kn[..., 0]  # node m is node 0
        return kn

    def _axis_k(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return the harmonic-mean ``k`` on axis ``i``'s intervals and ``k`` at its faces."""
        kn = self._lines(i)
        given = self.edge_values[i]
        if given is not None:  # k at the interval mid-points themselves
            return np.moveaxis(np.asarray(given, dtype=float), i, -1), kn[..., 0], kn[..., -1]
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
        given = self.edge_values[i]
        if given is not None:  # k at every face itself (face m of a periodic axis is face 0)
            k = np.array(np.moveaxis(np.asarray(given, dtype=float), i, -1))
            if axis.periodic:
                k[..., -1] = k[..., 0]
            return k
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
        self._residual: np.ndarray | None = None  # r of residual_sums, made on first use
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

    def residual_sums(
        self, x: np.ndarray, b: np.ndarray, r: np.ndarray | None, weights
    ) -> np.ndarray | None:
        """``r = b - op x`` and the certificate's four sums in one compiled pass, or None.

        :meth:`kronpde.operators.kernels.VariableStencil.residual_sums` with
        ``S = W^{1/2}`` for ``A`` (``S = I`` for ``Â``); None where this
        process has not loaded the compiled kernels (the caller takes the
        two-apply certificate: loading them would cost more than it saves).
        ``r`` None: a work array kept here.
        """
        if self._stencil is None or not kernels_loaded():
            return None
        if r is None:
            if self._residual is None:
                self._residual = np.empty(self.shape[0])
            r = self._residual
        scale = None if self.symmetric else self._scale
        return self._stencil.residual_sums(x, b, r, weights, scale)

    def largest_row_sum(self) -> float:
        """Return ``max_i Σ_j |Â_ij|`` as computed, from the coefficients alone.

        :meth:`kronpde.operators.kernels.VariableStencil.largest_row_sum`:
        compiled where this process has loaded the kernels, else on NumPy.
        """
        stencil = self._stencil
        if stencil is None or not kernels_loaded():
            stencil = VariableStencil.from_diffusion(self.data, compiled=False)
        return stencil.largest_row_sum()

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
