"""The fourth-order compact ("Mehrstellen") scheme: a polynomial in the same 1-D factors.

For ``-k Δu + c u = f`` on a uniform node-centred grid, with ``T_i`` the 1-D operators of
:func:`kronpde.operators.stencils.second_difference` and ``a_i = h_i² / (12 k)``,
:class:`CompactScheme` is ``A = Σ_i T_i - Σ_{i<j} (a_i + a_j) T_i T_j + c M (+ R)``,
``M = I - Σ_i a_i T_i``, with its eigenvalue combination, Robin terms ``R`` and
symmetrised form. The derivation, the eigenvalue bound and the Robin terms:
``docs/compact-scheme.md``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator

from kronpde.geometry.boundary import Robin
from kronpde.operators.banded import axis_index, csr_from_bands
from kronpde.operators.second_thread import THREADED_SIZE, second_thread
from kronpde.operators.stencils import AxisOperator

__all__ = ["CompactOperator", "CompactScheme", "RobinCorrection", "apply_axis", "polynomial_apply"]


@dataclass(frozen=True)
class RobinCorrection:
    """The term ``γ (Π_n E_n) ⊗ (Σ_{t not in rows} T_t + c I)`` of a Robin face or edge.

    Attributes
    ----------
    rows : tuple of (int, int)
        ``(axis, row)`` of the face (one pair) or of the edge's two faces: the
        projections ``E_n`` onto that row among the axis' unknowns.
    gamma : float
        ``γ >= 0`` (module docstring).
    """

    rows: tuple[tuple[int, int], ...]
    gamma: float

    @property
    def axes(self) -> tuple[int, ...]:
        """The axes of the projections."""
        return tuple(ax for ax, _ in self.rows)


def _bshape(d: int, i: int, n: int) -> tuple[int, ...]:
    shape = [1] * d
    shape[i] = n
    return tuple(shape)


def apply_axis(
    op: AxisOperator, x: np.ndarray, axis: int, out: np.ndarray, work: np.ndarray
) -> np.ndarray:
    """Write ``(I ⊗ … ⊗ T ⊗ … ⊗ I) x`` (``T`` along ``axis``) into ``out``.

    Parameters
    ----------
    op : AxisOperator
        The 1-D operator, ``op.n == x.shape[axis]``.
    x : ndarray
        The array (any number of dimensions); not modified.
    axis : int
        The axis ``T`` acts along.
    out, work : ndarray
        Arrays of ``x``'s shape, distinct from ``x`` and from each other;
        ``out`` receives the result, ``work`` is overwritten.

    Returns
    -------
    ndarray
        ``out``.

    Examples
    --------
    >>> from kronpde import Axis
    >>> from kronpde.operators.stencils import second_difference
    >>> t = second_difference(Axis(4))
    >>> x = np.arange(6.0).reshape(3, 2)
    >>> y = apply_axis(t, x, 0, np.empty_like(x), np.empty_like(x))
    >>> bool(np.allclose(y, t.todense() @ x))
    True
    """
    d = x.ndim
    if d >= 2 and x.size >= THREADED_SIZE and x.shape[b := int(axis == 0)] >= 2:
        pool = second_thread()
        if pool is not None:  # two halves across another axis: the same arithmetic per entry
            half = x.shape[b] // 2
            one, two = axis_index(d, b, slice(0, half)), axis_index(d, b, slice(half, None))
            done = pool.submit(_apply_axis_whole, op, x[two], axis, out[two], work[two])
            _apply_axis_whole(op, x[one], axis, out[one], work[one])
            done.result()
            return out
    return _apply_axis_whole(op, x, axis, out, work)


def _apply_axis_whole(
    op: AxisOperator, x: np.ndarray, axis: int, out: np.ndarray, work: np.ndarray
) -> np.ndarray:
    """:func:`apply_axis` in the calling thread (``x``, ``out``, ``work`` may be views)."""
    d = x.ndim
    n = op.n
    np.multiply(x, op.diag.reshape(_bshape(d, axis, n)), out=out)
    if n == 1:
        return out
    lo, hi = axis_index(d, axis, slice(1, None)), axis_index(d, axis, slice(None, -1))
    # row r takes lower[r] x[r-1] (r >= 1) and upper[r] x[r+1] (r <= n-2)
    np.multiply(x[hi], op.lower[1:].reshape(_bshape(d, axis, n - 1)), out=work[lo])
    out[lo] += work[lo]
    np.multiply(x[lo], op.upper[:-1].reshape(_bshape(d, axis, n - 1)), out=work[hi])
    out[hi] += work[hi]
    if op.periodic and n > 2:  # the wrap-around couplings (n <= 2 is folded into the above)
        first, last = axis_index(d, axis, slice(0, 1)), axis_index(d, axis, slice(n - 1, n))
        np.multiply(x[last], op.lower[0], out=work[first])
        out[first] += work[first]
        np.multiply(x[first], op.upper[n - 1], out=work[last])
        out[last] += work[last]
    return out


def _add_product(out: np.ndarray, coef: float, vectors: list[np.ndarray]) -> None:
    """``out += ((coef * v_0) * v_1) * …`` (vectors broadcast along their axes), in that order.

    A product of two or more axes' vectors is formed a block of leading planes
    at a time, so that no temporary of ``out``'s size is made (the same values
    as forming it whole).
    """
    if len(vectors) < 2:
        part: Any = coef
        for v in vectors:
            part = part * v
        out += part
        return
    step = max(1, (1 << 16) // max(1, math.prod(out.shape[1:])))
    for lo in range(0, out.shape[0], step):
        block = slice(lo, lo + step)
        part = coef
        for v in vectors:
            part = part * (v[block] if v.shape[0] > 1 else v)
        out[block] += part


def _axis_bands(op: AxisOperator) -> dict[int, np.ndarray]:
    """Return the DIA bands of a 1-D operator: offset -> band by column (``A[c - o, c]``)."""
    n = op.n
    bands = {0: np.array(op.diag, dtype=float)}
    if n > 1:
        low = np.zeros(n)  # row r -> column r - 1
        low[:-1] = op.lower[1:]
        up = np.zeros(n)  # row r -> column r + 1
        up[1:] = op.upper[:-1]
        bands[-1] = low
        bands[1] = bands.get(1, 0.0) + up
        if op.periodic and n > 2:
            wrap_low = np.zeros(n)  # row 0 -> column n - 1
            wrap_low[-1] = op.lower[0]
            wrap_up = np.zeros(n)  # row n - 1 -> column 0
            wrap_up[0] = op.upper[-1]
            bands[n - 1] = bands.get(n - 1, 0.0) + wrap_low
            bands[-(n - 1)] = bands.get(-(n - 1), 0.0) + wrap_up
    return bands


class CompactScheme:
    """The fourth-order compact operator ``A`` of one grid (module docstring).

    Parameters
    ----------
    ops : sequence of AxisOperator
        ``T_i`` (``k`` times the second difference, boundary rows included),
        axis 0 first.
    a : sequence of float
        ``a_i = h_i² / (12 k)``.
    shift : float
        ``c`` (any real).
    robin : sequence of RobinCorrection, optional
        The Robin faces' terms ``R``.

    Attributes
    ----------
    ops, a, shift, robin
        As given (tuples).
    shape : tuple of int
        The unknowns per axis.
    separable : bool
        True without Robin terms: the per-axis eigenvectors diagonalise ``A``.

    Examples
    --------
    The 2-D stencil with ``k = 1`` and equal spacing is the classical
    ``(1/6h²)[-1 -4 -1; -4 20 -4; -1 -4 -1]``:

    >>> from kronpde import Axis, Periodic
    >>> from kronpde.operators.stencils import second_difference
    >>> ax = Axis(6, 0.0, 1.0, Periodic(), Periodic())
    >>> s = CompactScheme([second_difference(ax)] * 2, [1 / 432] * 2, 0.0)
    >>> row = s.operator().toarray()[0].reshape(6, 6) * 6 / 36
    >>> row[[5, 0, 1]][:, [5, 0, 1]].round(12).tolist()
    [[-1.0, -4.0, -1.0], [-4.0, 20.0, -4.0], [-1.0, -4.0, -1.0]]
    """

    def __init__(
        self,
        ops: Sequence[AxisOperator],
        a: Sequence[float],
        shift: float,
        robin: Sequence[RobinCorrection] = (),
    ):
        self.ops = tuple(ops)
        self.a = tuple(float(v) for v in a)
        if len(self.a) != len(self.ops):
            msg = f"compact scheme: {len(self.ops)} operators but {len(self.a)} coefficients"
            raise ValueError(msg)
        self.shift = float(shift)
        self.robin = tuple(r for r in robin if r.gamma != 0.0)
        self.shape = tuple(op.n for op in self.ops)

    @classmethod
    def from_grid(
        cls, grid: Any, ops: Sequence[AxisOperator], coefficient: float, shift: float
    ) -> CompactScheme:
        """Return the scheme of a uniform grid with the (``k``-scaled) 1-D operators ``ops``.

        Parameters
        ----------
        grid : Grid
            Uniform, node-centred axes and their conditions.
        ops : sequence of AxisOperator
            ``k T_i`` of every axis (:attr:`kronpde.Problem.axis_operators`).
        coefficient : float
            The constant ``k > 0``.
        shift : float
            ``c``.
        """
        a = [axis.h**2 / (12.0 * coefficient) for axis in grid.axes]
        faces = []  # (axis, row, h alpha / beta) of the Robin faces
        for i, axis in enumerate(grid.axes):
            for side, bc in ((0, axis.lower_bc), (1, axis.upper_bc)):
                if isinstance(bc, Robin) and bc.alpha != 0.0:
                    row = axis.n_unknowns - 1 if side else 0
                    faces.append((i, row, axis.h * bc.alpha / bc.beta))
        robin = [RobinCorrection(((i, row),), q / 3.0) for i, row, q in faces]
        for (i, ri, qi), (j, rj, qj) in itertools.combinations(faces, 2):
            if i != j:
                robin.append(RobinCorrection(((i, ri), (j, rj)), qi * qj / 9.0))
        return cls(ops, a, shift, robin)

    @property
    def separable(self) -> bool:
        """True when no Robin term couples a face's unknowns (``A`` is a polynomial in the T_i)."""
        return not self.robin

    @property
    def size(self) -> int:
        """Number of unknowns."""
        return math.prod(self.shape)

    def symmetrized(self) -> CompactScheme:
        """Return the same polynomial in ``D_i T_i D_i^{-1}``: the operator ``Â = D A D^{-1}``."""
        return CompactScheme([op.symmetrized() for op in self.ops], self.a, self.shift, self.robin)

    def without_robin(self) -> CompactScheme:
        """Return the separable part (``R`` dropped): what the fast solve inverts exactly."""
        return CompactScheme(self.ops, self.a, self.shift)

    # -- eigenvalues -----------------------------------------------------------------
    def combine(
        self,
        eigenvalues: Sequence[np.ndarray],
        shift: float | None = None,
        *,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """Return the eigenvalue combination ``μ`` of the separable part, for given ``λ_i``.

        Parameters
        ----------
        eigenvalues : sequence of ndarray
            ``λ_i`` of every axis, mutually broadcastable (e.g. axis ``i``'s
            values reshaped to ``(1, …, n_i, …, 1)``).
        shift : float, optional
            ``c`` (default: the scheme's).
        out : ndarray, optional
            Where to write the result (of the broadcast shape); nothing of
            that size is allocated then.

        Returns
        -------
        ndarray
            ``c + Σ_i (1 - c a_i) λ_i - Σ_{i<j} (a_i + a_j) λ_i λ_j``, the
            broadcast shape (``out`` if given).

        Examples
        --------
        With ``a = (0.1, 0.2)``, ``c = 1``, ``λ = (2, 3)``:
        ``1 + 0.9·2 + 0.8·3 - 0.3·2·3 = 3.4``.

        >>> from kronpde import Axis
        >>> from kronpde.operators.stencils import second_difference
        >>> t = second_difference(Axis(4))
        >>> s = CompactScheme([t, t], [0.1, 0.2], 1.0)
        >>> round(float(s.combine([np.array([2.0]), np.array([3.0])])[0]), 12)
        3.4
        """
        c = self.shift if shift is None else float(shift)
        lams = [np.asarray(v, dtype=float) for v in eigenvalues]
        shape = np.broadcast_shapes(*(v.shape for v in lams))
        total = np.empty(shape) if out is None else out
        total[...] = c
        for ai, lam in zip(self.a, lams, strict=True):
            total += (1.0 - c * ai) * lam
        for i, j in itertools.combinations(range(len(lams)), 2):
            total -= (self.a[i] + self.a[j]) * (lams[i] * lams[j])
        return total

    def axis_eigenvalues(self) -> list[np.ndarray]:
        """Return the eigenvalues of every ``T_i`` (closed form or ``eigh``, transform order)."""
        return [op.eigenpairs().eigenvalues for op in self.ops]

    def eigenvalues(self) -> np.ndarray:
        """Return all eigenvalues ``μ`` of the separable part, shape :attr:`shape`.

        Entry ``(k_0, k_1, …)`` belongs to the Kronecker product of the 1-D
        eigenvectors of those indices (each axis in its transform order).
        """
        d = len(self.ops)
        lams = [
            lam.reshape(_bshape(d, i, lam.size)) for i, lam in enumerate(self.axis_eigenvalues())
        ]
        return np.broadcast_to(self.combine(lams), self.shape).copy()

    def smallest_eigenvalue(self, *, singular: bool = False) -> float:
        """Return ``min μ`` over all the modes (of ``Â``, or a lower bound of it with Robin terms).

        Parameters
        ----------
        singular : bool
            Leave out the constant mode (every ``λ_i = 0``) of a singular
            problem: the result is then the smallest eigenvalue on the
            complement of the null space.

        Returns
        -------
        float
            The smallest eigenvalue of the separable part, computed over every
            mode (one ``(n_1, …)`` slab at a time), not from the 1-D minima.
            With Robin terms the operator is the separable part plus a
            positive semidefinite ``R``, so this is a lower bound of its
            smallest eigenvalue.

        Examples
        --------
        >>> from kronpde import Axis
        >>> from kronpde.operators.stencils import second_difference
        >>> t = second_difference(Axis(8))
        >>> s = CompactScheme([t, t], [1 / 768] * 2, 0.0)
        >>> bool(abs(s.smallest_eigenvalue() - s.eigenvalues().min()) < 1e-12)
        True
        """
        d = len(self.ops)
        lams = self.axis_eigenvalues()
        null = tuple(int(np.argmin(np.abs(lam))) for lam in lams) if singular else None
        rest = [lam.reshape(_bshape(d - 1, i, lam.size)) for i, lam in enumerate(lams[1:])]
        best = math.inf
        for k0, lam0 in enumerate(lams[0]):  # one slab of modes at a time: O(N / n_0) memory
            mu = np.array(self.combine([np.float64(lam0), *rest]), dtype=float, ndmin=1)
            if null is not None and k0 == null[0]:
                mu[null[1:] if d > 1 else (0,)] = math.inf
            best = min(best, float(mu.min()))
        return best

    # -- the operator ----------------------------------------------------------------------
    def terms(self) -> list[tuple[float, dict[int, Any]]]:
        """Return the operator as a sum of products of 1-D factors.

        Returns
        -------
        list of (float, dict)
            ``(coefficient, {axis: factor})`` per term of
            ``c + Σ_i (1 - c a_i) T_i - Σ_{i<j} (a_i + a_j) T_i T_j`` plus the
            Robin faces' terms; a factor is an axis operator, or
            ``("row", row)`` for a Robin face's single row.  The assembled
            operator, the matrix-free apply and the distributed box rows all
            sum these.
        """
        c = self.shift
        d = len(self.ops)
        terms: list[tuple[float, dict[int, Any]]] = [(c, {})]
        for i in range(d):
            terms.append((1.0 - c * self.a[i], {i: self.ops[i]}))
        for i, j in itertools.combinations(range(d), 2):
            terms.append((-(self.a[i] + self.a[j]), {i: self.ops[i], j: self.ops[j]}))
        for r in self.robin:
            rows = {ax: ("row", row) for ax, row in r.rows}
            terms.append((r.gamma * c, rows))
            for t in range(d):
                if t not in rows:
                    terms.append((r.gamma, {**rows, t: self.ops[t]}))
        return terms

    def products(
        self,
        entries: Callable[[int, AxisOperator], dict[int, np.ndarray]],
        projection: Callable[[int, int], np.ndarray],
    ) -> Iterator[tuple[tuple[int, ...], Any]]:
        """Expand :meth:`terms` into products of per-axis entries, by stencil offset.

        A product of 1-D factors along different axes couples ``j`` to ``j + o``
        with the product of the factors' entries at offsets ``o_i``; the caller
        says what an axis' entries are: ``entries(i, op)`` maps an offset along
        axis ``i`` to a 1-D array (the DIA bands of the whole axis for the
        assembled operator, a box's rows of ``lower``/``diag``/``upper`` for the
        PETSc backend's rows), and ``projection(i, row)`` gives the array of the
        projection onto one row.  An absent factor is the identity (offset 0).

        Yields
        ------
        offset : tuple of int
            The per-axis offsets ``(o_0, ...)`` of one product.
        values : ndarray
            ``coefficient x`` the product of the per-axis arrays, broadcast
            along their axes (the same offset may be yielded more than once:
            the caller adds).
        """
        d = len(self.ops)
        for coef, factors in self.terms():
            if coef == 0.0:
                continue
            per_axis = []
            for i in range(d):
                f = factors.get(i)
                if f is None:
                    per_axis.append([(0, None)])
                elif isinstance(f, tuple):  # ("row", r): the projection onto row r
                    per_axis.append([(0, projection(i, f[1]))])
                else:
                    per_axis.append(list(entries(i, f).items()))
            for combo in itertools.product(*per_axis):
                values: Any = coef
                for i, (_, band) in enumerate(combo):
                    if band is not None:
                        values = values * band.reshape(_bshape(d, i, band.size))
                yield tuple(o for o, _ in combo), values

    def operator(self) -> sp.csr_array:
        """Assemble ``A`` (of these factors) as CSR, band by band (:func:`csr_from_bands`).

        Returns
        -------
        scipy.sparse.csr_array
            Shape ``(N, N)``; 9 (2-D) or 19 (3-D) entries per interior row.
        """
        shape = self.shape
        strides = [math.prod(shape[i + 1 :]) for i in range(len(shape))]
        bands_of = [_axis_bands(op) for op in self.ops]

        def projection(i: int, row: int) -> np.ndarray:
            e = np.zeros(shape[i])
            e[row] = 1.0
            return e

        entries: list[tuple[int, tuple, Any]] = [
            (sum(o * s for o, s in zip(offset, strides, strict=True)), (), values)
            for offset, values in self.products(lambda i, _: bands_of[i], projection)
        ]
        return csr_from_bands(shape, entries)

    def diagonal(self) -> np.ndarray:
        """Return the diagonal of ``A`` (that of ``Â`` too), shape :attr:`shape`."""
        d = len(self.ops)
        diag = np.zeros(self.shape)
        for coef, factors in self.terms():
            vectors = []  # the factors' diagonals, broadcast along their axes
            for i, f in factors.items():
                if isinstance(f, tuple):
                    e = np.zeros(self.shape[i])
                    e[f[1]] = 1.0
                    vectors.append(e.reshape(_bshape(d, i, e.size)))
                else:
                    vectors.append(f.diag.reshape(_bshape(d, i, f.n)))
            _add_product(diag, coef, vectors)
        return diag

    def linear_operator(self) -> CompactOperator:
        """Return ``A`` (of these factors) as a matrix-free operator."""
        return CompactOperator(self)

    def __repr__(self) -> str:
        """Return a one-line summary."""
        return (
            f"CompactScheme(shape={self.shape}, a={tuple(f'{v:.3g}' for v in self.a)}, "
            f"shift={self.shift:g}, robin faces={len(self.robin)})"
        )


class CompactOperator(LinearOperator):
    """The matrix-free ``A`` of a :class:`CompactScheme`, with ``matvec_into``.

    The apply groups the polynomial by its first factor,

        A x = c x + Σ_i T_i [ (1 - c a_i) x - Σ_{j>i} (a_i + a_j) T_j x ],

    so it costs ``2 (d - 1)`` 1-D applies (:func:`apply_axis`; 2 in 2-D, 4 in
    3-D, against ``d`` for the second-order Kronecker sum) plus the Robin
    faces' tangential terms on their planes.  The work arrays are shared by
    every apply: do not apply one operator from two threads at once.

    Examples
    --------
    >>> from kronpde import Grid, Neumann, Problem
    >>> p = Problem(Grid.box([5, 4], boundary={"ymax": Neumann()}), order=4)
    >>> x = np.random.default_rng(0).random(p.size)
    >>> bool(np.allclose(p.linear_operator() @ x, p.operator() @ x, rtol=1e-13))
    True
    """

    def __init__(self, scheme: CompactScheme):
        self.scheme = scheme
        n = scheme.size
        super().__init__(dtype=np.float64, shape=(n, n))
        d = len(scheme.ops)
        self._t = [np.empty(scheme.shape) for _ in range(max(d - 1, 0))]
        self._z = np.empty(scheme.shape)
        self._tmp = np.empty(scheme.shape)
        self._work = np.empty(scheme.shape)
        self._transpose: CompactOperator | None = None

    def matvec_into(self, x: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Compute ``out = A @ x`` without allocating (``out`` must not alias ``x``).

        Parameters
        ----------
        x, out : ndarray, shape (N,)
            C-contiguous float64.

        Returns
        -------
        ndarray
            ``out``.
        """
        s = self.scheme
        buffers = (self._z, self._tmp, self._work, *self._t)
        polynomial_apply(s, s.ops, x.reshape(s.shape), out.reshape(s.shape), buffers)
        return out

    def _matvec(self, x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=np.float64).reshape(-1)
        out = np.empty_like(x)
        return self.matvec_into(x, out)

    def _rmatvec(self, x: np.ndarray) -> np.ndarray:
        # Aᵀ is the same polynomial in the T_iᵀ (E is diagonal): built once, on first use
        if self._transpose is None:
            s = self.scheme
            ops = [op.transposed() for op in s.ops]
            self._transpose = CompactOperator(CompactScheme(ops, s.a, s.shift, s.robin))
        return self._transpose._matvec(x)


def polynomial_apply(
    scheme: CompactScheme,
    ops: Sequence[AxisOperator],
    X: np.ndarray,
    Y: np.ndarray,
    buffers: Sequence[np.ndarray],
    *,
    absolute: bool = False,
) -> np.ndarray:
    """Write the compact polynomial of ``ops`` applied to ``X`` into ``Y`` (grid-shaped).

    Grouped as ``c x + Σ_i T_i [(1 - c a_i) x - Σ_{j>i} (a_i + a_j) T_j x]`` plus the
    Robin planes, each ``T_j x`` made once (``2 (d - 1)`` 1-D applies); with ``c = 0``
    the first term is written, not added to ``0 x``, and a factor 1 is no product.
    With ``absolute=True`` every coefficient is taken in absolute value (the
    certificate's ``|P|(|T|) x``, given the ``|T_i|`` as ``ops``): the same grouping,
    so the bound covers each intermediate of the apply.  ``buffers`` are ``z``,
    ``tmp``, ``work`` and ``d - 1`` arrays of the grid's shape.
    """
    mag = abs if absolute else (lambda v: v)
    a, c, d = scheme.a, scheme.shift, len(ops)
    z, tmp, work, *t = buffers
    for j in range(1, d):
        apply_axis(ops[j], X, j, t[j - 1], work)
    started = c != 0.0
    if started:
        np.multiply(X, mag(c), out=Y)
    for i in range(d):
        f = mag(1.0 - c * a[i])
        if i == d - 1 and d > 1:  # T_{d-1} x is known: add (1 - c a) of it
            term = t[i - 1]
            if f != 1.0:
                term = np.multiply(term, f, out=tmp)
            if started:
                Y += term
            else:
                np.copyto(Y, term)
            started = True
            continue
        src = X
        if f != 1.0:
            src = np.multiply(X, f, out=z)
        for j in range(i + 1, d):  # x - s y is x + (-s) y to the bit
            coupling = abs(a[i] + a[j]) if absolute else -(a[i] + a[j])
            np.multiply(t[j - 1], coupling, out=tmp)
            src = np.add(src, tmp, out=z)
        if started:
            Y += apply_axis(ops[i], src, i, tmp, work)
        else:
            apply_axis(ops[i], src, i, Y, work)
        started = True
    for r in scheme.robin:
        index: list[Any] = [slice(None)] * d
        for ax, row in r.rows:
            index[ax] = slice(row, row + 1)
        plane = np.ascontiguousarray(X[tuple(index)])
        acc = mag(c) * plane
        ptmp, pwork = np.empty_like(plane), np.empty_like(plane)
        for k in range(d):
            if k not in r.axes:
                acc += apply_axis(ops[k], plane, k, ptmp, pwork)
        Y[tuple(index)] += mag(r.gamma) * acc
    return Y
