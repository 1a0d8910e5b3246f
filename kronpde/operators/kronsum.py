"""The N-D operator of a Kronecker sum: the vec identity, CSR assembly, the matrix-free apply.

For 1-D operators ``T_0, ..., T_{d-1}`` (one per axis, see
:mod:`kronpde.operators.stencils`) the N-D operator on the C-ordered unknowns is the
Kronecker sum

    A = sum_i I ⊗ ... ⊗ T_i ⊗ ... ⊗ I  +  c I,

``T_0`` acting on the slowest axis (``np.kron`` ordering; note that
``scipy.sparse.kronsum(A, B)`` puts its *first* argument on the *last* axis).

This module holds what the solvers use (with :func:`kronpde.operators.matmul.matmul_axis`,
the vec identity along one axis, which fast diagonalization is built on):

* :func:`assemble`, the CSR matrix of a Kronecker sum of
  :class:`~kronpde.operators.stencils.AxisOperator` factors, written band by band
  (:func:`kronpde.operators.banded.csr_from_bands`);
* :func:`kron_weights`, the N-D trapezoid weights;
* :class:`KronSum` (alias :data:`KronSumOperator`), the one Kronecker-sum
  operator: tridiagonal-with-wrap factors take a cache-blocked banded apply,
  any other square factors (dense or sparse) :func:`matmul_axis`.

The seed chapter's toolkit (:mod:`kronpde.toolkit`) builds on these.  All arithmetic is float64
(complex128 where the data are complex).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.sparse.linalg import LinearOperator

from kronpde.operators.banded import PlaneBlocks, csr_from_bands
from kronpde.operators.kernels import (
    CompiledAfter,
    ConstantStencil,
    kernels_loaded,
    use_compiled,
)
from kronpde.operators.matmul import (
    as_float_array,
    check_factors,
    conjugate_transpose,
    matmul_axis,
    result_dtype,
    sparse_kron_all,
    split_batch,
)
from kronpde.operators.plane_apply import (
    absolute_set_up,
    axis_plan,
    block_into,
    residual_sums,
)
from kronpde.operators.stencils import AxisOperator

__all__ = ["RESIDUAL_APPLIES", "KronSum", "KronSumOperator", "assemble", "kron_weights"]

#: The applies a NumPy :meth:`KronSum.residual_sums` counts for towards the compiled path:
#: the four :class:`~kronpde.operators.kernels.CompiledAfter` allows an exact solve's residual
#: and bound, so that one operator's third exact solve in a process moves to the compiled
#: kernels (numba loaded once, then the faster threaded pass).
RESIDUAL_APPLIES = 4


def _bshape(d: int, i: int, n: int) -> tuple[int, ...]:
    """Return the shape that broadcasts a length-``n`` vector along axis ``i`` in ``d``-D."""
    shape = [1] * d
    shape[i] = n
    return tuple(shape)


# --------------------------------------------------------------------------- assembly


def assemble(ops: Sequence[AxisOperator], shift: float = 0.0) -> sp.csr_array:
    """Assemble the Kronecker sum ``sum_i I ⊗ … ⊗ T_i ⊗ … ⊗ I + shift*I`` as CSR.

    Parameters
    ----------
    ops : sequence of AxisOperator
        The 1-D operators, axis 0 (slowest) first.
    shift : float
        The multiple of the identity added (``c``).

    Returns
    -------
    scipy.sparse.csr_array
        Shape ``(N, N)`` with ``N = prod(n_i)``, canonical (sorted column
        indices, no duplicates, no explicit zeros), int32 indices where they fit.

    Notes
    -----
    A Kronecker sum of tridiagonal(-with-wrap) operators is a banded matrix
    with the offsets ``0``, ``±s_i`` and, on a periodic axis, ``±(n_i-1) s_i``
    (``s_i`` the stride of axis ``i``).  Each band is the 1-D operator's
    coefficient pattern along axis ``i`` broadcast over the other axes, so it
    is written with one broadcast add per axis, and the bands are converted to
    CSR once (:func:`kronpde.operators.banded.csr_from_bands`).

    Examples
    --------
    >>> from kronpde import Axis
    >>> from kronpde.operators.stencils import second_difference
    >>> a = assemble([second_difference(Axis(3)), second_difference(Axis(2))])
    >>> a.shape, a.nnz
    ((2, 2), 4)
    """
    ops = list(ops)
    d = len(ops)
    shape = tuple(op.n for op in ops)
    strides = [math.prod(shape[i + 1 :]) for i in range(d)]
    # (offset, index, values); DIA convention: A[r, c] is stored at column c
    terms: list[tuple[int, tuple[int | slice, ...], Any]] = [(0, (), shift)]
    for i, op in enumerate(ops):
        n, s = op.n, strides[i]
        terms.append((0, (), op.diag.reshape(_bshape(d, i, n))))
        low = np.zeros(n)  # row r -> column r - 1, stored at column r - 1
        low[:-1] = op.lower[1:]
        up = np.zeros(n)  # row r -> column r + 1, stored at column r + 1
        up[1:] = op.upper[:-1]
        terms.append((-s, (), low.reshape(_bshape(d, i, n))))
        terms.append((s, (), up.reshape(_bshape(d, i, n))))
        if op.periodic and n > 1:
            # n <= 2 folds a wrap offset onto an ordinary one: the terms add up
            wrap_low = np.zeros(n)  # row 0 -> column n - 1
            wrap_low[-1] = op.lower[0]
            wrap_up = np.zeros(n)  # row n - 1 -> column 0
            wrap_up[0] = op.upper[-1]
            terms.append(((n - 1) * s, (), wrap_low.reshape(_bshape(d, i, n))))
            terms.append((-(n - 1) * s, (), wrap_up.reshape(_bshape(d, i, n))))
    return csr_from_bands(shape, terms)


def kron_weights(ops: Sequence[AxisOperator]) -> np.ndarray:
    """Return the N-D trapezoid weights ``W = W_0 ⊗ W_1 ⊗ ...`` of the unknowns.

    Parameters
    ----------
    ops : sequence of AxisOperator
        The 1-D operators, axis 0 first; their ``weights`` are used.

    Returns
    -------
    numpy.ndarray, shape (n_0, n_1, ...)
        ``W[i_0, i_1, ...] = w_0[i_0] w_1[i_1] ...``.

    Examples
    --------
    >>> from kronpde import Axis, Neumann
    >>> from kronpde.operators.stencils import second_difference
    >>> kron_weights([second_difference(Axis(2, 0.0, 1.0, Neumann(), Neumann()))])
    array([0.25, 0.5 , 0.25])
    """
    w = np.ones(())
    for op in ops:
        w = np.multiply.outer(w, op.weights)
    return w


# --------------------------------------------------------------------------- the Kronecker sum


def _factor_eigenvalues(f: Any) -> NDArray[Any]:
    """Eigenvalues of one factor: real and ascending where it is symmetric (or similar to one)."""
    if isinstance(f, AxisOperator):
        # D T D^{-1} (D = W^{1/2}) has T's eigenvalues and is symmetric, up to the rounding
        # of the scaling, when W T is (the AxisOperator's documented property)
        s = f.symmetrized().todense()
        if np.abs(s - s.T).max(initial=0.0) <= 64 * np.finfo(float).eps * np.abs(s).max(
            initial=0.0
        ):
            return scipy.linalg.eigvalsh(0.5 * (s + s.T))
        return scipy.linalg.eigvals(f.todense())
    d = f.toarray() if sp.issparse(f) else f
    if np.array_equal(d, d.conj().T):
        return scipy.linalg.eigvalsh(d)
    return scipy.linalg.eigvals(d)


class KronSum(LinearOperator):
    """The Kronecker sum ``sum_k I ⊗ … ⊗ A_k ⊗ … ⊗ I + shift * I`` as an operator.

    ``A_k`` acts along axis ``k`` of a C-ordered array of shape
    ``(n_1, ..., n_N)`` (``np.kron`` ordering; note that
    ``scipy.sparse.kronsum(A, B)`` equals ``KronSum([B, A])``).  With ``A_k``
    the 1-D second-difference operators this is the N-D Laplacian.

    Two kinds of factors, one interface:

    * all factors :class:`~kronpde.operators.stencils.AxisOperator` (tridiagonal with
      wrap-around) and a real shift: the **banded** apply below, never
      forming a matrix;
    * anything else (square dense or sparse matrices, or a mix with
      AxisOperators, which are then used as sparse matrices): each factor is
      applied along its axis with :func:`matmul_axis` (the vec identity), one
      pass over the array per factor.

    Parameters
    ----------
    factors : sequence of AxisOperator, or of array_like or sparse, shapes (n_k, n_k)
        The 1-D operators, axis 0 (slowest) first.
    shift : float or complex, optional
        Multiple of the identity added (default 0).

    Attributes
    ----------
    factors : tuple
        The validated factors (matrices as float64/complex128).
    shift : float or complex
        The shift.
    dims : tuple of int
        ``(n_1, ..., n_N)``, the array shape the operator acts on.
    banded : bool
        Whether the banded apply is used.
    compiled : bool
        Whether ``matvec_into``/``apply_dot`` run the compiled stencil (banded,
        1-3 D, at least :data:`kronpde.operators.kernels.MIN_COMPILED_SIZE` unknowns).

    Raises
    ------
    ValueError
        If a factor is not square or there are none.
    TypeError
        If ``factors`` is a single matrix, or ``shift`` is not a number.

    Notes
    -----
    The banded apply does few passes over memory, each in cache:

    * the diagonal ``shift + sum_i diag_i`` is precomputed once (one array of
      the grid's size, a tenth of the CSR matrix in 3-D), or kept as a number
      when it is constant;
    * on the rows of an axis where both neighbour coefficients equal one
      constant ``a`` (all rows but a few next to the faces on a uniform axis)
      the term is ``a * (x[r-1] + x[r+1])``: one add and one scaled add; the
      remaining rows (Neumann/Robin rows, wrap-around) are done one slab each;
    * the work runs over blocks of planes along axis 0
      (:class:`kronpde.operators.banded.PlaneBlocks`), so a block receives all its
      terms while it is in cache.

    Besides ``matvec`` it offers ``matvec_into(x, out)``, the protocol of
    :mod:`kronpde.solvers.cg`, and ``apply_dot(x, out)`` (``out = A x`` and
    ``x · out``).  The work arrays are shared by every apply of one operator:
    do not apply one operator from two threads at once.

    Compiled above the threshold: a banded operator in 1-3 D with at least
    :data:`kronpde.operators.kernels.MIN_COMPILED_SIZE` unknowns runs ``matvec_into``
    and ``apply_dot`` through the compiled stencil
    (:class:`kronpde.operators.kernels.ConstantStencil`, one threaded pass, with the
    dot product in the same pass), chosen by size when the operator is
    built (:attr:`compiled`); smaller ones keep the NumPy apply below and
    never import numba.  A compiled operator makes its first few applies on
    NumPy unless the kernels are loaded already
    (:class:`~kronpde.operators.kernels.CompiledAfter`: an exact method's residual and
    bound never pay for loading numba).  The two agree to rounding (the compiled loop adds
    the terms of a row in another order).

    Examples
    --------
    >>> import numpy as np
    >>> from kronpde.operators.kronsum import KronSum
    >>> T = np.array([[2.0, -1.0], [-1.0, 2.0]])
    >>> L = KronSum([T, 3 * T], shift=1.0)
    >>> np.allclose(L.to_sparse().toarray(),
    ...             np.kron(T, np.eye(2)) + np.kron(np.eye(2), 3 * T) + np.eye(4))
    True
    >>> L.eigenvalues()
    array([[ 5., 11.],
           [ 7., 13.]])

    With the 1-D operators of a grid, the banded apply:

    >>> from kronpde import Axis
    >>> from kronpde.operators.stencils import second_difference
    >>> ops = [second_difference(Axis(4)), second_difference(Axis(3))]
    >>> A = KronSum(ops)
    >>> A.banded, A.shape
    (True, (6, 6))
    >>> x = np.arange(6.0)
    >>> bool(np.allclose(A @ x, A.tosparse() @ x))
    True
    """

    def __init__(self, factors: Sequence[Any], shift: float | complex = 0.0) -> None:
        self.factors = check_factors(factors, square=True, axis_operators=True)
        if not np.isscalar(shift) or np.asarray(shift).dtype.kind not in "biufc":
            msg = f"shift must be a real or complex number, got {shift!r}"
            raise TypeError(msg)
        real_shift = np.asarray(shift).dtype.kind != "c"
        self.shift: float | complex = float(shift) if real_shift else complex(shift)
        self.dims = tuple(f.n if isinstance(f, AxisOperator) else f.shape[0] for f in self.factors)
        self.banded = real_shift and all(isinstance(f, AxisOperator) for f in self.factors)
        n = math.prod(self.dims)
        self._transpose_cache: KronSum | None = None
        self._work: np.ndarray | None = None
        self._stencil: ConstantStencil | None = None
        self.compiled = self.banded and len(self.dims) <= 3 and use_compiled(n)
        self._plans: list | None = None  # the NumPy banded apply's set-up, made on first use
        self._absolute_plans: tuple | None = None  # |diag A| and the plans of |A|, likewise
        self._residual_work: np.ndarray | None = None  # r of the compiled residual_sums
        self._fused_work: np.ndarray | None = None  # residual_sums' block scratch
        if self.compiled:
            super().__init__(dtype=np.float64, shape=(n, n))
            self._stencil = ConstantStencil(self.factors, self.shift, compiled=True)
            self._take_compiled = CompiledAfter(n)  # NumPy for a few applies first: why there
        elif self.banded:
            super().__init__(dtype=np.float64, shape=(n, n))
        else:
            self._matrices = tuple(
                f.tosparse() if isinstance(f, AxisOperator) else f for f in self.factors
            )
            dtype = result_dtype(*(f.dtype for f in self._matrices), np.asarray(shift).dtype)
            super().__init__(dtype=dtype, shape=(n, n))

    @property
    def ops(self) -> tuple[Any, ...]:
        """The factors (the name :data:`KronSumOperator` used for its 1-D operators)."""
        return self.factors

    @property
    def grid_shape(self) -> tuple[int, ...]:
        """The array shape the operator acts on (same as :attr:`dims`)."""
        return self.dims

    # -- the banded apply -------------------------------------------------------------
    def _init_banded(self) -> None:
        d = len(self.factors)
        diags = [op.diag for op in self.factors]
        if all(np.all(v == v[0]) for v in diags):  # constant: no array (same sum, same order)
            first = self.shift
            for v in diags:
                first += v[0]
            self._diagonal = float(first)
        else:
            diagonal = np.full(self.dims, self.shift)
            for i, op in enumerate(self.factors):
                diagonal += op.diag.reshape(_bshape(d, i, op.n))
            first = diagonal.flat[0]
            self._diagonal = float(first) if np.all(diagonal == first) else diagonal
        self._blocks = PlaneBlocks(self.dims)
        self._plans = [axis_plan(op) for op in self.factors]

    def _banded_into(self, X: np.ndarray, Y: np.ndarray) -> None:
        """``Y = A X`` on grid-shaped float64 arrays, block of planes by block."""
        if self._plans is None:
            self._init_banded()
        for p0, p1, tb in self._blocks:
            block_into(X, Y[p0:p1], p0, p1, tb, self._diagonal, self._plans)

    # -- the general apply --------------------------------------------------------------
    @staticmethod
    def _axes_into(
        matrices: Sequence[Any], shift: float | complex, X: np.ndarray, Y: np.ndarray, tmp
    ) -> None:
        """``Y = sum_k (A_k along axis k) X + shift X`` with :func:`matmul_axis`."""
        if shift == 0:
            matmul_axis(matrices[0], X, 0, out=Y)
            rest = range(1, len(matrices))
        else:
            np.multiply(X, shift, out=Y)
            rest = range(len(matrices))
        for k in rest:
            matmul_axis(matrices[k], X, k, out=tmp)
            Y += tmp

    def _apply(self, matrices: Sequence[Any], shift: float | complex, x: Any) -> NDArray[Any]:
        x = as_float_array(x, "x")
        r, x = split_batch(x, self.shape[1], "x")
        extra = () if r is None else (r,)
        X = np.ascontiguousarray(x).reshape(self.dims + extra)
        dtype = result_dtype(self.dtype, x.dtype)
        Y = np.empty(X.shape, dtype=dtype)
        self._axes_into(matrices, shift, X, Y, np.empty(X.shape, dtype=dtype))
        return Y.reshape(x.shape)

    # -- the LinearOperator interface ----------------------------------------------------
    def residual_sums(
        self,
        x: np.ndarray,
        b: np.ndarray,
        r: np.ndarray | None,
        weights: Sequence[np.ndarray],
    ) -> np.ndarray | None:
        """Return the certificate's four sums of ``r = b - A x`` in one pass; None if not banded.

        ``Σ r²``, ``Σ w r²``, ``Σ w (|A||x|)²`` and ``Σ w b²`` with ``w`` the
        outer product of ``weights`` (one vector per axis).  Compiled
        (:meth:`kronpde.operators.kernels.ConstantStencil.residual_sums`, which
        writes ``r``) where this operator runs compiled and the kernels are
        loaded already; else one NumPy pass block of planes by block, with the
        residual of :meth:`matvec_into` to the bit and ``|A||x|`` the absolute
        coefficients applied to ``|x|`` (an exact solve in a fresh process stays
        on NumPy: loading numba would cost more than the pass saves).  A NumPy
        pass counts as :data:`RESIDUAL_APPLIES` applies towards the compiled
        path (:class:`~kronpde.operators.kernels.CompiledAfter`), the residual
        and bound of an exact solve it replaces.  ``r`` (scratch of ``n``
        entries, or None: one kept here) is left as it is on NumPy.
        """
        if not self.banded:
            return None
        if self._stencil is not None and (kernels_loaded() or self._take_compiled._left <= 0):
            if r is None:
                if self._residual_work is None:
                    self._residual_work = np.empty(self.shape[0])
                r = self._residual_work
            return self._stencil.residual_sums(x, b, r, weights)
        if self._stencil is not None:
            for _ in range(RESIDUAL_APPLIES):
                self._take_compiled()
        return self._numpy_residual_sums(x, b, weights)

    def _numpy_residual_sums(
        self, x: np.ndarray, b: np.ndarray, weights: Sequence[np.ndarray]
    ) -> np.ndarray:
        """:meth:`residual_sums` on NumPy (:func:`kronpde.operators.plane_apply.residual_sums`)."""
        if self._plans is None:
            self._init_banded()
        if self._absolute_plans is None:
            self._absolute_plans = absolute_set_up(self._diagonal, self._plans)
        X = np.ascontiguousarray(x, dtype=np.float64).reshape(self.dims)
        B = np.ascontiguousarray(b, dtype=np.float64).reshape(self.dims)
        if self._fused_work is None:
            self._fused_work = np.empty((2, *self._blocks.work.shape))
        plans, absolute, work = self._plans, self._absolute_plans, self._fused_work
        return residual_sums(X, B, weights, self._diagonal, plans, absolute, work)

    def matvec_into(self, x: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Compute ``out = A @ x`` without allocating (after the first call).

        Parameters
        ----------
        x : numpy.ndarray, shape (N,)
            C-contiguous; not modified.
        out : numpy.ndarray, shape (N,)
            C-contiguous, of the operator's dtype; must not alias ``x``.  Every
            entry is overwritten.

        Returns
        -------
        numpy.ndarray
            ``out``.
        """
        if self._stencil is not None and self._take_compiled():
            self._stencil.apply(x, out)
            return out
        X = x.reshape(self.dims)
        Y = out.reshape(self.dims)
        if self.banded:
            self._banded_into(X, Y)
        else:
            if self._work is None:
                self._work = np.empty(self.dims, dtype=self.dtype)
            self._axes_into(self._matrices, self.shift, X, Y, self._work)
        return out

    def apply_dot(self, x: np.ndarray, out: np.ndarray) -> float:
        """Compute ``out = A @ x`` and return ``x · out`` (CG's ``p · Ap``), real operators.

        One pass on the compiled path (:attr:`compiled`, after the first
        applies: :class:`~kronpde.operators.kernels.CompiledAfter`); else the NumPy
        apply and a dot product (``np.einsum``, single-threaded).

        Parameters
        ----------
        x, out : numpy.ndarray, shape (N,)
            As for :meth:`matvec_into`.

        Returns
        -------
        float
            ``x · (A x)``.
        """
        if self._stencil is None:
            self.matvec_into(x, out)
        elif self._take_compiled():
            return self._stencil.apply_dot(x, out)
        else:  # one of the first NumPy applies (not through matvec_into: it counts them)
            self._banded_into(x.reshape(self.dims), out.reshape(self.dims))
        return float(np.einsum("i,i->", x.reshape(-1), out.reshape(-1)))

    def _matvec(self, x: NDArray[Any]) -> NDArray[Any]:
        if not self.banded:
            return self._apply(self._matrices, self.shift, x)
        if np.iscomplexobj(x):  # a real operator: apply it to both parts
            return self._matvec(x.real) + 1j * self._matvec(x.imag)
        x = np.ascontiguousarray(x, dtype=float).reshape(-1)
        out = np.empty_like(x)
        return self.matvec_into(x, out)

    def _matmat(self, X: NDArray[Any]) -> NDArray[Any]:
        if not self.banded:
            return self._apply(self._matrices, self.shift, X)
        return super()._matmat(X)  # column by column through the banded apply

    def _rmatvec(self, x: NDArray[Any]) -> NDArray[Any]:
        if self.banded:  # real: the adjoint is the transpose
            return self.transpose_operator()._matvec(x)
        return self._apply([conjugate_transpose(f) for f in self._matrices], np.conj(self.shift), x)

    def _rmatmat(self, X: NDArray[Any]) -> NDArray[Any]:
        if self.banded:
            return self.transpose_operator()._matmat(X)
        return self._rmatvec(X)

    def transpose_operator(self) -> KronSum:
        """Return the transposed Kronecker sum (each factor transposed).

        Returns
        -------
        KronSum
            ``sum_k I ⊗ ... ⊗ A_k^T ⊗ ... ⊗ I + shift * I``, banded when this
            one is (built once, then reused).
        """
        if self._transpose_cache is None:
            if self.banded:
                factors = [op.transposed() for op in self.factors]
            else:
                factors = [f.T for f in self._matrices]
            self._transpose_cache = KronSum(factors, self.shift)
        return self._transpose_cache

    def _transpose(self) -> KronSum:
        return self.transpose_operator()

    def _adjoint(self) -> KronSum:
        if np.dtype(self.dtype).kind != "c":
            return self.transpose_operator()
        return KronSum([conjugate_transpose(f) for f in self._matrices], np.conj(self.shift).item())

    def to_sparse(self) -> sp.csr_array:
        """Assemble the Kronecker sum as a CSR array.

        With AxisOperator factors this is :func:`assemble` (bands, one DIA to
        CSR conversion: fit for large grids); otherwise
        ``sum_k kron(I_left, kron(A_k, I_right)) + shift * I`` with
        :func:`scipy.sparse.kron` (for checks on small sizes).

        Returns
        -------
        scipy.sparse.csr_array, shape ``self.shape``
        """
        if self.banded:
            return assemble(self.factors, self.shift)
        n = self.shape[0]
        total = self.shift * sp.eye_array(n, format="csr", dtype=self.dtype)
        for k, f in enumerate(self._matrices):
            left = math.prod(self.dims[:k])
            right = math.prod(self.dims[k + 1 :])
            term = sparse_kron_all([sp.eye_array(left), sp.csr_array(f), sp.eye_array(right)])
            total = total + term
        return sp.csr_array(total)

    def tosparse(self) -> sp.csr_array:
        """Assemble the Kronecker sum as a CSR array (the name scipy's ``LaplacianNd`` uses).

        Returns
        -------
        scipy.sparse.csr_array, shape ``self.shape``
            The same as :meth:`to_sparse`.
        """
        return self.to_sparse()

    def eigenvalues(self) -> NDArray[Any]:
        """Return all eigenvalues, by the eigenvalue-sum property.

        The eigenvalues of the Kronecker sum are all the sums
        ``λ^(1)_{i_1} + ... + λ^(N)_{i_N} + shift`` of factor eigenvalues; for
        diagonalisable factors the eigenvector of entry ``(i_1, ..., i_N)`` is
        ``v^(1)_{i_1} ⊗ ... ⊗ v^(N)_{i_N}``.  Hermitian factors use
        :func:`scipy.linalg.eigvalsh` (ascending, real), and so do
        AxisOperators whose symmetrised form ``D T D^{-1}`` is symmetric (to
        rounding), as the operators of :mod:`kronpde.operators.stencils` are; others
        :func:`scipy.linalg.eigvals` (complex, LAPACK order).  Factors are
        densified, so keep them small (``n_k`` up to a few thousand).

        Returns
        -------
        numpy.ndarray, shape (n_1, ..., n_N)
            ``E[i_1, ..., i_N]``; real when every factor's eigenvalues are
            computed as real and the shift is real, else complex.
        """
        N = len(self.factors)
        shift = np.asarray(self.shift)
        total: NDArray[Any] = shift.astype(result_dtype(shift.dtype))
        for k, f in enumerate(self.factors):
            lam = _factor_eigenvalues(f)
            total = total + lam.reshape(_bshape(N, k, lam.size))
        return np.broadcast_to(total, self.dims).copy()


#: The name the matrix-free Kronecker sum of AxisOperators had; the same class.
KronSumOperator = KronSum
