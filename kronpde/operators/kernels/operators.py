"""The compiled operators: the constant-coefficient Kronecker sum and the flux-form ``Â``.

Both are scipy LinearOperators that offer ``apply(x, out)``,
``apply_dot(x, out)`` (``out = A x`` and ``x · out`` in one pass) and the
``matvec_into`` protocol of :mod:`kronpde.solvers.cg`.  The compiled or NumPy
path is chosen once, at construction (:func:`~kronpde.operators.kernels.use_compiled`).

This module imports neither :mod:`kronpde.operators.kronsum` nor :mod:`kronpde.operators.flux`
(it reads their operators' arrays): those route their own ``matvec_into``
through the stencils here above the size threshold, so the dependency runs
from them to the kernels only.  The NumPy path of :class:`ConstantStencil` is
therefore a plain one of its own (a reference for the tests, not the fast
NumPy apply, which is :class:`kronpde.operators.kronsum.KronSum`'s).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.sparse.linalg import LinearOperator

from kronpde.operators.kernels._dispatch import (
    _distinct,
    _einsum_dot,
    _kernel,
    _vector,
    use_compiled,
)
from kronpde.operators.stencils import AxisOperator

__all__ = ["ConstantStencil", "VariableStencil"]


_TRIVIAL = AxisOperator(np.zeros(1), np.zeros(1), np.zeros(1), False, np.ones(1))


def _coefficients(op: AxisOperator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return tuple(
        np.ascontiguousarray(a, dtype=np.float64).copy() for a in (op.diag, op.lower, op.upper)
    )


class _Stencil(LinearOperator):
    """Shared plumbing: shapes, ``matvec_into``, ``apply``, ``apply_dot``."""

    grid_shape: tuple[int, ...]
    compiled: bool

    def _setup(self, grid_shape: tuple[int, ...], compiled: bool | None) -> None:
        self.grid_shape = tuple(int(s) for s in grid_shape)
        n = math.prod(self.grid_shape)
        super().__init__(dtype=np.float64, shape=(n, n))
        self._shape3 = (1,) * (3 - len(self.grid_shape)) + self.grid_shape
        self.compiled = use_compiled(n, compiled)

    def apply(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Compute ``out = A x`` in one pass.

        Parameters
        ----------
        x : ndarray
            ``n`` float64 entries (flat or the grid's shape).
        out : ndarray, optional
            C-contiguous float64 array of ``n`` entries, not overlapping
            ``x``; allocated (flat) when omitted.

        Returns
        -------
        ndarray
            ``out``.
        """
        n = self.shape[0]
        x = _vector(x, n, "x")
        if out is None:
            out = np.empty(n)
        flat = _vector(out, n, "out", writable=True)
        _distinct(flat, x)
        self._run(x.reshape(self._shape3), flat.reshape(self._shape3), False)
        return out

    def apply_dot(self, x: np.ndarray, out: np.ndarray) -> float:
        """Compute ``out = A x`` and return ``x · out`` from the same pass (CG's ``p · Ap``).

        Parameters
        ----------
        x : ndarray
            ``n`` float64 entries (flat or the grid's shape).
        out : ndarray
            C-contiguous float64 array of ``n`` entries, not overlapping ``x``.

        Returns
        -------
        float
            ``x · (A x)``, summed line by line (equal to NumPy's to rounding).
        """
        n = self.shape[0]
        x = _vector(x, n, "x")
        flat = _vector(out, n, "out", writable=True)
        _distinct(flat, x)
        return self._run(x.reshape(self._shape3), flat.reshape(self._shape3), True)

    def matvec_into(self, x: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Compute ``out = A x`` (the ``matvec_into`` protocol of :mod:`kronpde.solvers.cg`)."""
        return self.apply(x, out)

    def _matvec(self, x: np.ndarray) -> np.ndarray:
        return self.apply(np.ascontiguousarray(x, dtype=np.float64).reshape(-1))

    def _run(self, x3: np.ndarray, y3: np.ndarray, with_dot: bool) -> float:
        raise NotImplementedError

    def _residual_arguments(self, x, b, r, weights) -> tuple:
        """``x``, ``b``, ``r`` as 3-D grids (checked) and three axis weight vectors."""
        n = self.shape[0]
        x3 = _vector(x, n, "x").reshape(self._shape3)
        b3 = _vector(b, n, "b").reshape(self._shape3)
        r3 = _vector(r, n, "r", writable=True).reshape(self._shape3)
        _distinct(r3.reshape(-1), x3.reshape(-1))
        ones = (np.ones(1),) * (3 - len(weights))
        w = tuple(np.ascontiguousarray(v, dtype=np.float64) for v in (*ones, *weights))
        return x3, b3, r3, w


class ConstantStencil(_Stencil):
    """The Kronecker sum ``sum_i I ⊗ ... ⊗ T_i ⊗ ... ⊗ I + shift I``, compiled, with ``x · A x``.

    The same operator as :class:`kronpde.operators.kronsum.KronSumOperator` (and
    :func:`kronpde.operators.kronsum.assemble`): row ``(i, j, k)`` is
    ``(shift + sum_a diag_a[r_a]) x + sum_a (lower_a[r_a] x[r_a - 1] +
    upper_a[r_a] x[r_a + 1])``, indices wrapping on periodic axes.  Every
    boundary kind is data of the one compiled loop (the three coefficient
    arrays of each axis and its periodic flag), so Dirichlet, Neumann, Robin
    and periodic axes, in any mix and dimension 1-3, share one compiled
    specialisation.  CG uses it on the symmetrised operators
    (``[op.symmetrized() for op in ops]``), which have the same layout.

    Parameters
    ----------
    ops : sequence of AxisOperator
        One to three 1-D operators, axis 0 (slowest) first.
    shift : float, optional
        Multiple of the identity added (``c``).
    compiled : bool or None, optional
        Force the numba kernel (True) or the NumPy path (False: the same
        sum, the neighbours gathered with ``np.take``, a reference rather
        than a fast path); by default chosen by size (:func:`use_compiled`).

    Attributes
    ----------
    ops, shift, grid_shape, compiled
        As given (``compiled`` resolved to a bool).

    Examples
    --------
    >>> import numpy as np
    >>> from kronpde import Axis, Neumann
    >>> from kronpde.operators.kronsum import assemble
    >>> from kronpde.operators.stencils import second_difference
    >>> ops = [second_difference(Axis(4)), second_difference(Axis(3, 0, 1, Neumann(), Neumann()))]
    >>> A = ConstantStencil(ops, shift=0.5)
    >>> x = np.arange(12.0)
    >>> y = np.empty(12)
    >>> d = A.apply_dot(x, y)
    >>> bool(np.allclose(y, assemble(ops, 0.5) @ x)), bool(np.isclose(d, x @ y))
    (True, True)
    """

    def __init__(
        self, ops: Sequence[AxisOperator], shift: float = 0.0, *, compiled: bool | None = None
    ):
        ops = tuple(ops)
        if not 1 <= len(ops) <= 3:
            msg = f"ConstantStencil takes 1 to 3 axis operators, got {len(ops)}"
            raise ValueError(msg)
        self.ops = ops
        self._setup(tuple(op.n for op in ops), compiled)
        padded = (_TRIVIAL,) * (3 - len(ops)) + ops
        self._coefs = tuple(a for op in padded for a in _coefficients(op))
        self._periodic = tuple(bool(op.periodic) and op.n > 1 for op in padded)
        self._diagonal3: np.ndarray | None = None  # the NumPy path's diagonal, made on first use
        self._transpose: ConstantStencil | None = None
        self.set_shift(shift)

    @classmethod
    def from_operator(cls, op, *, compiled: bool | None = None) -> ConstantStencil:
        """Return the stencil of a :class:`~kronpde.operators.kronsum.KronSumOperator`."""
        return cls(op.ops, op.shift, compiled=compiled)

    def set_shift(self, shift: float) -> None:
        """Change ``shift`` (``c``); nothing else is recomputed on the compiled path."""
        self.shift = float(shift)
        self._diagonal3 = None
        self._transpose = None

    def _run(self, x3, y3, with_dot):
        if self.compiled:
            p0, p1, p2 = self._periodic
            kernel = _kernel("constant_apply")
            return float(kernel(x3, y3, *self._coefs, p0, p1, p2, self.shift, with_dot))
        self._numpy_apply(x3, y3)
        return _einsum_dot(x3.reshape(-1), y3.reshape(-1)) if with_dot else 0.0

    def residual_sums(
        self, x: np.ndarray, b: np.ndarray, r: np.ndarray, weights: Sequence[np.ndarray]
    ) -> np.ndarray:
        """Write ``r = b - A x`` and return the certificate's four sums, in one compiled pass.

        Parameters
        ----------
        x, b : ndarray
            ``n`` float64 entries each (C-contiguous).
        r : ndarray
            C-contiguous float64 array of ``n`` entries, overwritten.
        weights : sequence of ndarray
            One weight vector per axis (the trapezoid weights ``W`` are their
            outer product).

        Returns
        -------
        ndarray, shape (4,)
            ``Σ r²``, ``Σ w r²``, ``Σ w (|A||x|)²`` and ``Σ w b²``.
        """
        x3, b3, r3, w = self._residual_arguments(x, b, r, weights)
        sums = np.zeros(4)
        p0, p1, p2 = self._periodic
        kernel = _kernel("constant_residual")
        kernel(x3, b3, r3, *self._coefs, p0, p1, p2, self.shift, *w, sums)
        return sums

    def _numpy_apply(self, x3: np.ndarray, y3: np.ndarray) -> None:
        """``y = A x`` as the compiled loop defines it, one axis at a time (reference path)."""
        if self._diagonal3 is None:
            diagonal = np.full(self._shape3, self.shift)
            for a in range(3):
                diagonal += self._coefs[3 * a].reshape(_along(a, self._shape3[a]))
            self._diagonal3 = diagonal
        np.multiply(x3, self._diagonal3, out=y3)
        for a in range(3):
            _, lower, upper = self._coefs[3 * a : 3 * a + 3]
            if not (np.any(lower) or np.any(upper)):
                continue
            n = self._shape3[a]
            r = np.arange(n)
            # off a periodic axis the missing neighbour is the entry itself (times a zero)
            below = (r - 1) % n if self._periodic[a] else np.maximum(r - 1, 0)
            above = (r + 1) % n if self._periodic[a] else np.minimum(r + 1, n - 1)
            shape = _along(a, n)
            y3 += lower.reshape(shape) * np.take(x3, below, axis=a)
            y3 += upper.reshape(shape) * np.take(x3, above, axis=a)

    def _rmatvec(self, x: np.ndarray) -> np.ndarray:
        if self._transpose is None:
            ops = [op.transposed() for op in self.ops]
            self._transpose = ConstantStencil(ops, self.shift, compiled=self.compiled)
        return self._transpose._matvec(x)


def _along(axis: int, n: int) -> tuple[int, int, int]:
    """Return the 3-D shape that broadcasts a length-``n`` vector along ``axis``."""
    shape = [1, 1, 1]
    shape[axis] = n
    return tuple(shape)


def _take(axis: int, index) -> tuple:
    full = [slice(None)] * 3
    full[axis] = index
    return tuple(full)


class VariableStencil(_Stencil):
    """The flux-form operator ``Â`` (diagonal plus per-axis couplings), compiled, with ``x · Â x``.

    ``(Â x)_r = (diagonal_r + delta) x_r + sum over the neighbours s of r of
    e_{rs} x_s``: along axis ``a`` the coupling between ``r`` and ``r + 1``
    is ``edges[a]`` at ``r``, and on a periodic axis with ``n_a >= 3`` the one
    between ``n_a - 1`` and ``0`` is ``wraps[a]`` (the layout of
    :class:`kronpde.operators.flux.VariableDiffusion`, whose ``Â`` is
    ``VariableDiffusion.operator(symmetric=True)``).

    Parameters
    ----------
    diagonal : ndarray, shape ``grid_shape``
        The diagonal, including the shift ``shift``.
    edges : sequence of ndarray
        Per axis ``a``, shape ``grid_shape`` with ``n_a - 1`` along axis ``a``.
    wraps : sequence of (ndarray or None)
        Per axis, None or shape ``grid_shape`` with 1 along axis ``a``.
    shift : float, optional
        The shift contained in ``diagonal`` (the ``c`` of
        ``-div(k grad u) + c u``); :meth:`set_shift` changes it by adding
        the difference to the diagonal.
    compiled : bool or None, optional
        Force the numba kernel or the NumPy path; by default chosen by size.

    Examples
    --------
    >>> import numpy as np
    >>> from kronpde import Grid
    >>> from kronpde.operators.flux import VariableDiffusion
    >>> g = Grid.box([4, 5])
    >>> x, y = g.node_coordinates()
    >>> data = VariableDiffusion(g, 1.0 + x * y, shift=0.3)
    >>> A = VariableStencil.from_diffusion(data)
    >>> v = np.linspace(0.0, 1.0, g.size)
    >>> bool(np.allclose(A.apply(v), data.operator(symmetric=True) @ v))
    True
    """

    def __init__(
        self,
        diagonal: np.ndarray,
        edges: Sequence[np.ndarray],
        wraps: Sequence[np.ndarray | None],
        *,
        shift: float = 0.0,
        compiled: bool | None = None,
    ):
        diagonal = np.asarray(diagonal, dtype=np.float64)
        d = diagonal.ndim
        if not 1 <= d <= 3 or len(edges) != d or len(wraps) != d:
            msg = (
                f"VariableStencil needs a 1-3 D diagonal and one edge and wrap array per axis; "
                f"got a {d}-D diagonal, {len(edges)} edge and {len(wraps)} wrap arrays"
            )
            raise ValueError(msg)
        shape = diagonal.shape
        self._setup(shape, compiled)
        pad = 3 - d
        shape3 = self._shape3
        self._diagonal = np.ascontiguousarray(diagonal).reshape(shape3)
        e3, w3 = [], []
        for a in range(3):
            want = list(shape3)
            want[a] = max(shape3[a] - 1, 0)
            if a < pad:
                e3.append(np.zeros(want))
                w3.append(None)
                continue
            e = np.ascontiguousarray(edges[a - pad], dtype=np.float64)
            if e.shape != tuple(want[pad:]):
                msg = f"edges[{a - pad}] has shape {e.shape}, expected {tuple(want[pad:])}"
                raise ValueError(msg)
            e3.append(e.reshape(want))
            w = wraps[a - pad]
            if w is not None:
                want[a] = 1
                w = np.ascontiguousarray(w, dtype=np.float64)
                if w.shape != tuple(want[pad:]) or shape3[a] < 3:
                    msg = (
                        f"wraps[{a - pad}] has shape {w.shape} on an axis of {shape3[a]} "
                        f"unknowns; expected {tuple(want[pad:])} and at least 3 unknowns"
                    )
                    raise ValueError(msg)
                w = w.reshape(want)
            w3.append(w)
        self._edges = tuple(e3)
        self._wraps = tuple(w3)
        dummy = np.zeros((1, 1, 1))
        self._wrap_args = tuple(dummy if w is None else w for w in w3)
        self._has = tuple(w is not None for w in w3)
        self._zero = np.zeros(shape3[2])
        self._base_shift = float(shift)
        self.set_shift(shift)

    @classmethod
    def from_diffusion(cls, data, *, compiled: bool | None = None) -> VariableStencil:
        """Return ``Â`` of a :class:`~kronpde.operators.flux.VariableDiffusion` (no copy)."""
        return cls(data.diagonal, data.edges, data.wraps, shift=data.shift, compiled=compiled)

    def set_shift(self, shift: float) -> None:
        """Change the shift to ``shift``: the diagonal becomes ``diagonal + (shift - shift0)``."""
        self.shift = float(shift)
        self._delta = self.shift - self._base_shift
        self._numpy_diagonal = None
        if not self.compiled:
            self._numpy_diagonal = (
                self._diagonal if self._delta == 0.0 else self._diagonal + self._delta
            )

    def _run(self, x3, y3, with_dot):
        if self.compiled:
            kernel = _kernel("variable_apply")
            return float(
                kernel(
                    x3,
                    y3,
                    self._diagonal,
                    *self._edges,
                    *self._wrap_args,
                    *self._has,
                    self._zero,
                    self._delta,
                    with_dot,
                )
            )
        np.multiply(x3, self._numpy_diagonal, out=y3)
        for a in range(3):
            e = self._edges[a]
            if e.shape[a] > 0:
                lo, hi = _take(a, slice(None, -1)), _take(a, slice(1, None))
                y3[lo] += e * x3[hi]
                y3[hi] += e * x3[lo]
            w = self._wraps[a]
            if w is not None:
                first, last = _take(a, slice(0, 1)), _take(a, slice(-1, None))
                y3[last] += w * x3[first]
                y3[first] += w * x3[last]
        return _einsum_dot(x3.reshape(-1), y3.reshape(-1)) if with_dot else 0.0

    def residual_sums(
        self,
        x: np.ndarray,
        b: np.ndarray,
        r: np.ndarray,
        weights: Sequence[np.ndarray],
        scale: np.ndarray | None = None,
    ) -> np.ndarray:
        """Write ``r = b - A x`` and return the certificate's four sums, in one compiled pass.

        ``A = S^{-1} Â S`` with ``S`` the diagonal ``scale`` (``W^{1/2}``: the
        unsymmetrised flux form), or ``Â`` itself without one.

        Parameters
        ----------
        x, b : ndarray
            ``n`` float64 entries each.
        r : ndarray
            C-contiguous float64 array of ``n`` entries, overwritten.
        weights : sequence of ndarray
            One weight vector per axis (``W`` is their outer product).
        scale : ndarray, optional
            ``n`` positive entries of ``S``.

        Returns
        -------
        ndarray, shape (4,)
            ``Σ r²``, ``Σ w r²``, ``Σ w (|A||x|)²`` and ``Σ w b²``.
        """
        x3, b3, r3, w = self._residual_arguments(x, b, r, weights)
        s3 = np.ones(self._shape3) if scale is None else _vector(scale, self.shape[0], "scale")
        sums = np.zeros(4)
        _kernel("variable_residual")(
            x3,
            b3,
            r3,
            self._diagonal,
            *self._edges,
            *self._wrap_args,
            *self._has,
            self._zero,
            self._delta,
            s3.reshape(self._shape3),
            *w,
            sums,
        )
        return sums

    def largest_row_sum(self) -> float:
        """Return ``max_i Σ_j |Â_ij|`` as computed (one pass over the coefficients).

        Compiled on the compiled path, else the same sums by NumPy slices.
        """
        if self.compiled:
            kernel = _kernel("variable_row_norm")
            args = (*self._edges, *self._wrap_args, *self._has, self._zero, self._delta)
            return float(kernel(self._diagonal, *args))
        rows = np.abs(self._diagonal + self._delta)
        for a in range(3):
            e = np.abs(self._edges[a])
            if e.shape[a] > 0:
                rows[_take(a, slice(None, -1))] += e
                rows[_take(a, slice(1, None))] += e
            w = self._wraps[a]
            if w is not None:
                rows[_take(a, slice(0, 1))] += np.abs(w)
                rows[_take(a, slice(-1, None))] += np.abs(w)
        return float(np.max(rows)) if rows.size else 0.0

    def _rmatvec(self, x: np.ndarray) -> np.ndarray:
        return self._matvec(x)  # Â is symmetric
