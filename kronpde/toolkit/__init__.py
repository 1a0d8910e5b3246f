"""The seed chapter's Kronecker toolkit: products, sums, block diagonals and matrix equations.

The toolkit kronpde grew from, with its own public namespace (``__all__``):

* :func:`vec`, :func:`unvec` and the vec identity :func:`kron_matvec`
  (``(A ⊗ B) vec(X) = vec(B X A^T)``), built on :func:`matmul_axis` (a matrix
  along one axis of an N-D array);
* Kronecker products and sums as matrix-free operators: :class:`KronProduct`,
  :class:`KronSum` (the same class the solvers use, from :mod:`kronpde.operators.kronsum`);
* block-diagonal matrices: :func:`block_diag_matvec`, :func:`block_diag_solve`,
  :class:`BlockDiagonalSolver`;
* Sylvester equations ``A X + X B = C`` by diagonalisation,
  :func:`solve_sylvester`, which warns (:class:`IllConditionedWarning`) where
  diagonalisation loses accuracy;
* Kronecker-structured least squares, :func:`kron_lstsq`;
* separable 2-D filtering ``H_row ⊗ H_col`` as two 1-D passes,
  :func:`separable_filter`.

Conventions
-----------
*Ordering.* ``A_1 ⊗ A_2 ⊗ ... ⊗ A_N`` is numpy's ``np.kron`` ordering: the
**first** factor acts on the **slowest** axis of a C-ordered N-D array.  So
with ``X`` of shape ``(n_1, ..., n_N)``, ``(A_1 ⊗ ... ⊗ A_N) X.ravel()`` is
``X`` with ``A_k`` applied along axis ``k`` (:func:`matmul_axis`), raveled
again in C order.  Beware that :func:`scipy.sparse.kronsum` uses the opposite
order (its first argument acts on the last axis).

*vec.* :func:`vec` and :func:`unvec` follow the textbook chapter: ``vec``
stacks the **columns** of a matrix (column-major, Fortran order), so that
``vec(A X B) = (B^T ⊗ A) vec(X)``.  Only the functions that say so use it
(:func:`kron_lstsq`, :func:`separable_filter`); everything else works on
C-ordered arrays and ``ravel()``.

All arithmetic is float64 (complex128 where the data are complex).  A singular
problem (a singular block, a singular Sylvester equation) raises
:class:`~kronpde.errors.SolverError`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.linalg
import scipy.ndimage
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray
from scipy.sparse.linalg import LinearOperator

from kronpde.errors import SolverError
from kronpde.operators.kronsum import KronSum
from kronpde.operators.matmul import (
    _as_float_array,
    _as_matrix,
    _check_factors,
    _ctrans,
    _result_dtype,
    _sparse_kron_all,
    _split_batch,
    matmul_axis,
)

__all__ = [
    "BlockDiagonalSolver",
    "IllConditionedWarning",
    "KronProduct",
    "KronSum",
    "block_diag_matvec",
    "block_diag_solve",
    "kron_lstsq",
    "kron_matvec",
    "matmul_axis",
    "separable_filter",
    "solve_sylvester",
    "unvec",
    "vec",
]


#: Eigenvector matrices with a 2-norm condition number above this make
#: :func:`solve_sylvester` warn (diagonalisation loses that many digits).
EIGVEC_COND_MAX = 1e10

_NDIMAGE_MODES = (
    "constant",
    "grid-constant",
    "reflect",
    "grid-mirror",
    "mirror",
    "nearest",
    "wrap",
    "grid-wrap",
)


class IllConditionedWarning(UserWarning):
    """A result was computed, but the method used is known to lose accuracy here."""


# --------------------------------------------------------------------------- vec


def vec(X: ArrayLike) -> NDArray[Any]:
    """Stack the columns of ``X`` into one vector (column-major, Fortran order).

    This is the chapter's ``vec``: ``vec(X) = X.T.flatten()`` for a matrix,
    and it satisfies ``vec(A X B) = (B^T ⊗ A) vec(X)``.  For N-D arrays the
    first index varies fastest (Fortran order).

    Parameters
    ----------
    X : array_like, shape (m, n) or any N-D shape
        The array to stack.

    Returns
    -------
    numpy.ndarray, shape (X.size,)
        A new float64 (or complex128) vector.

    Raises
    ------
    TypeError
        If ``X`` is not numeric.

    Examples
    --------
    >>> import numpy as np
    >>> from kronpde.toolkit import vec
    >>> vec(np.array([[1.0, 2.0], [3.0, 4.0]]))
    array([1., 3., 2., 4.])
    """
    return _as_float_array(X, "X").ravel(order="F")


def unvec(x: ArrayLike, shape: int | Sequence[int]) -> NDArray[Any]:
    """Invert :func:`vec`: refill an array of ``shape`` column by column.

    Parameters
    ----------
    x : array_like, shape (prod(shape),)
        A column-major stacked vector.
    shape : int or sequence of int
        The shape of the result, e.g. ``(m, n)``.

    Returns
    -------
    numpy.ndarray, shape ``shape``
        Fortran-ordered; a view of ``x`` where possible.

    Raises
    ------
    ValueError
        If ``x`` is not 1-D or its length does not match ``shape``.

    Examples
    --------
    >>> import numpy as np
    >>> from kronpde.toolkit import unvec, vec
    >>> X = np.arange(6.0).reshape(2, 3)
    >>> unvec(vec(X), (2, 3))
    array([[0., 1., 2.],
           [3., 4., 5.]])
    """
    x = _as_float_array(x, "x")
    shape = (int(shape),) if np.ndim(shape) == 0 else tuple(int(s) for s in shape)
    if x.ndim != 1 or x.size != math.prod(shape):
        msg = f"x of shape {x.shape} cannot be unvec'ed into shape {shape}"
        raise ValueError(msg)
    return x.reshape(shape, order="F")


# --------------------------------------------------------------------------- products


def _kron_apply(factors: tuple[Any, ...], x: NDArray[Any]) -> NDArray[Any]:
    ns = tuple(f.shape[1] for f in factors)
    ms = tuple(f.shape[0] for f in factors)
    r, x = _split_batch(x, math.prod(ns), "x")
    extra = () if r is None else (r,)
    X = x.reshape(ns + extra)
    # Apply shrinking factors first: later GEMMs then see smaller arrays.
    order = sorted(range(len(factors)), key=lambda k: ms[k] / max(ns[k], 1))
    for k in order:
        X = matmul_axis(factors[k], X, k)
    return X.reshape((math.prod(ms),) + extra)


def kron_matvec(factors: Sequence[Any], x: ArrayLike) -> NDArray[Any]:
    """Compute ``(A_1 ⊗ A_2 ⊗ ... ⊗ A_N) x`` without forming the product.

    Uses the vec identity ``(A ⊗ B) vec(X) = vec(B X A^T)`` in its C-ordered
    form: ``x`` is reshaped to ``(n_1, ..., n_N)`` (C order) and ``A_k`` is
    applied along axis ``k`` with :func:`matmul_axis`.  The ordering is
    ``np.kron``'s: ``kron_matvec([A, B], x) == np.kron(A, B) @ x``, the first
    factor acting on the slowest axis.  Cost ``O(N_total * sum_k m_k)``
    instead of ``O(N_total^2)``.

    Parameters
    ----------
    factors : sequence of array_like or sparse, shapes (m_k, n_k)
        The factors, possibly rectangular and sparse.
    x : array_like, shape (prod n_k,) or (prod n_k, r)
        One vector, or ``r`` vectors as columns.

    Returns
    -------
    numpy.ndarray, shape (prod m_k,) or (prod m_k, r)

    Raises
    ------
    ValueError
        If a factor is not 2-D, ``factors`` is empty, or ``x`` has the wrong
        length.
    TypeError
        If ``factors`` is a single matrix rather than a sequence.

    Examples
    --------
    >>> import numpy as np
    >>> from kronpde.toolkit import kron_matvec
    >>> rng = np.random.default_rng(0)
    >>> A, B = rng.random((2, 3)), rng.random((4, 4))
    >>> x = rng.random(12)
    >>> np.allclose(kron_matvec([A, B], x), np.kron(A, B) @ x)
    True
    """
    return _kron_apply(_check_factors(factors), _as_float_array(x, "x"))


class KronProduct(LinearOperator):
    """The Kronecker product ``A_1 ⊗ ... ⊗ A_N`` as a matrix-free operator.

    Ordering as ``np.kron`` (the first factor acts on the slowest C-order
    axis); see :func:`kron_matvec`.

    Parameters
    ----------
    factors : sequence of array_like or sparse, shapes (m_k, n_k)
        The factors, possibly rectangular.

    Attributes
    ----------
    factors : tuple
        The validated factors (float64/complex128).
    shape : tuple of int
        ``(prod m_k, prod n_k)``.

    Raises
    ------
    ValueError
        If a factor is not 2-D or there are none.

    Examples
    --------
    >>> import numpy as np
    >>> from kronpde.toolkit import KronProduct
    >>> A, B = np.array([[1.0, 2.0]]), np.eye(2)
    >>> K = KronProduct([A, B])
    >>> K.shape
    (2, 4)
    >>> K @ np.ones(4)
    array([3., 3.])
    >>> np.allclose(K.to_sparse().toarray(), np.kron(A, B))
    True
    """

    def __init__(self, factors: Sequence[Any]) -> None:
        self.factors = _check_factors(factors)
        shape = (
            math.prod(f.shape[0] for f in self.factors),
            math.prod(f.shape[1] for f in self.factors),
        )
        super().__init__(dtype=_result_dtype(*(f.dtype for f in self.factors)), shape=shape)

    def _matvec(self, x: NDArray[Any]) -> NDArray[Any]:
        return _kron_apply(self.factors, _as_float_array(x, "x"))

    def _matmat(self, X: NDArray[Any]) -> NDArray[Any]:
        return _kron_apply(self.factors, _as_float_array(X, "X"))

    def _rmatvec(self, x: NDArray[Any]) -> NDArray[Any]:
        return _kron_apply(tuple(_ctrans(f) for f in self.factors), _as_float_array(x, "x"))

    def _rmatmat(self, X: NDArray[Any]) -> NDArray[Any]:
        return self._rmatvec(X)

    def _adjoint(self) -> KronProduct:
        return KronProduct([_ctrans(f) for f in self.factors])

    def _transpose(self) -> KronProduct:
        return KronProduct([f.T for f in self.factors])

    def to_sparse(self) -> sp.csr_array:
        """Assemble the product as a CSR array (for checks on small sizes only).

        Returns
        -------
        scipy.sparse.csr_array, shape ``self.shape``
        """
        return _sparse_kron_all(self.factors)


# --------------------------------------------------------------------------- block diagonal


def _as_blocks(blocks: ArrayLike | Sequence[ArrayLike], *, square: bool) -> NDArray[Any]:
    if isinstance(blocks, (list, tuple)):
        mats = [_as_float_array(b, f"blocks[{i}]") for i, b in enumerate(blocks)]
        if not mats or any(m.ndim != 2 for m in mats) or len({m.shape for m in mats}) != 1:
            shapes = [m.shape for m in mats]
            msg = f"blocks must be a non-empty list of equal-size 2-D arrays, got shapes {shapes}"
            raise ValueError(msg)
        arr = np.stack(mats)
    else:
        arr = _as_float_array(blocks, "blocks")
        if arr.ndim not in (2, 3):
            msg = (
                "blocks must be a 3-D array (k, n, n), a list of (n, n) arrays, or one "
                f"(n, n) array for I ⊗ A; got shape {arr.shape}"
            )
            raise ValueError(msg)
    if square and arr.shape[-1] != arr.shape[-2]:
        msg = f"blocks must be square, got blocks of shape {arr.shape[-2:]}"
        raise ValueError(msg)
    return arr


def _block_layout(
    k: int | None, n: int, x: NDArray[Any], name: str
) -> tuple[int, int | None, NDArray[Any]]:
    """Split ``x`` of shape (k*n,) or (k*n, r) into (k, r, X), X of shape (k, n, r or 1).

    ``k=None`` (one repeated block) infers ``k`` from ``len(x)``.
    """
    if k is None:
        if x.ndim == 0 or n == 0 or x.shape[0] % n:
            msg = f"{name} of shape {x.shape} does not split into blocks of size {n}"
            raise ValueError(msg)
        k = x.shape[0] // n
    r, x = _split_batch(x, k * n, name)
    return k, r, np.ascontiguousarray(x).reshape(k, n, 1 if r is None else r)


def block_diag_matvec(blocks: ArrayLike | Sequence[ArrayLike], x: ArrayLike) -> NDArray[Any]:
    """Multiply by a block-diagonal matrix without forming it.

    Parameters
    ----------
    blocks : array_like, shape (k, p, n), list of k (p, n) arrays, or one (p, n) array
        The diagonal blocks ``D_i``.  A single 2-D array ``A`` stands for
        ``I_k ⊗ A`` with ``k`` inferred from ``len(x)``.
    x : array_like, shape (k*n,) or (k*n, r)
        Partitioned into ``k`` consecutive pieces of length ``n``.

    Returns
    -------
    numpy.ndarray, shape (k*p,) or (k*p, r)
        ``y_i = D_i x_i`` for each piece.

    Raises
    ------
    ValueError
        If the blocks have unequal shapes or ``x`` does not fit them.

    Examples
    --------
    >>> import numpy as np
    >>> from kronpde.toolkit import block_diag_matvec
    >>> D = [np.array([[2.0]]), np.array([[3.0]])]
    >>> block_diag_matvec(D, np.array([1.0, 1.0]))
    array([2., 3.])
    >>> A = np.array([[0.0, 1.0], [1.0, 0.0]])
    >>> block_diag_matvec(A, np.arange(4.0))  # I_2 ⊗ A
    array([1., 0., 3., 2.])
    """
    D = _as_blocks(blocks, square=False)
    x = _as_float_array(x, "x")
    k, r, X = _block_layout(D.shape[0] if D.ndim == 3 else None, D.shape[-1], x, "x")
    if D.ndim == 2 and r is None:
        Y = X[:, :, 0] @ D.T  # I_k ⊗ A on one vector: a single GEMM
    else:
        Y = np.matmul(D, X)  # batched, or A broadcast over the k pieces
    p = D.shape[-2]
    return Y.reshape(k * p) if r is None else Y.reshape(k * p, r)


def _singular_block_error(D: NDArray[Any], what: str) -> SolverError:
    idx = []
    if D.ndim == 2:
        D = D[None]
    for i, blk in enumerate(D):
        try:
            np.linalg.solve(blk, np.zeros(blk.shape[0], dtype=blk.dtype))
        except np.linalg.LinAlgError:
            idx.append(i)
    where = f"block(s) {idx[:10]}{' ...' if len(idx) > 10 else ''}" if idx else "a block"
    return SolverError(f"{what}: {where} of size {D.shape[-1]} is exactly singular")


def block_diag_solve(blocks: ArrayLike | Sequence[ArrayLike], b: ArrayLike) -> NDArray[Any]:
    """Solve a block-diagonal system ``D x = b`` block by block.

    A 3-D stack is solved with one batched :func:`numpy.linalg.solve` (LU per
    block inside LAPACK, no Python loop); a single 2-D block ``A``
    (``I_k ⊗ A``) is factored once for all ``k`` pieces.  To solve repeatedly
    with the same blocks use :class:`BlockDiagonalSolver`.

    Parameters
    ----------
    blocks : array_like, shape (k, n, n), list of k (n, n) arrays, or one (n, n) array
        The diagonal blocks; a single 2-D array means ``I_k ⊗ A``.
    b : array_like, shape (k*n,) or (k*n, r)
        Right-hand side(s).

    Returns
    -------
    numpy.ndarray, shape b.shape

    Raises
    ------
    ValueError
        If the blocks are not square and equal-sized, or ``b`` does not fit.
    SolverError
        If a block is exactly singular (the message names it).

    Examples
    --------
    >>> import numpy as np
    >>> from kronpde.toolkit import block_diag_solve
    >>> block_diag_solve([np.array([[2.0]]), np.array([[4.0]])], np.array([1.0, 1.0]))
    array([0.5 , 0.25])
    """
    D = _as_blocks(blocks, square=True)
    b = _as_float_array(b, "b")
    n = D.shape[-1]
    k, r, B = _block_layout(D.shape[0] if D.ndim == 3 else None, n, b, "b")
    try:
        if D.ndim == 3:
            X = np.linalg.solve(D, B)
        else:
            # (k, n, r) -> (n, k*r): all pieces are right-hand sides of one solve
            rhs = B.transpose(1, 0, 2).reshape(n, -1)
            X = np.linalg.solve(D, rhs).reshape(n, k, B.shape[2]).transpose(1, 0, 2)
    except np.linalg.LinAlgError:
        raise _singular_block_error(D, "block_diag_solve") from None
    return np.ascontiguousarray(X).reshape(b.shape)


class BlockDiagonalSolver:
    """Factor a block-diagonal matrix once, then solve for many right-hand sides.

    Each block gets an LU factorisation (:func:`scipy.linalg.lu_factor`); a
    single 2-D block ``A`` stands for ``I_k ⊗ A`` and is factored once for any
    ``k``.  Factoring a 3-D stack and solving with it loop over the blocks in
    Python (inside scipy), so many tiny blocks are cheaper through the batched
    :func:`block_diag_solve`.

    Parameters
    ----------
    blocks : array_like, shape (k, n, n), list of k (n, n) arrays, or one (n, n) array
        The diagonal blocks.

    Attributes
    ----------
    block_size : int
        ``n``.
    n_blocks : int or None
        ``k``; None for a single repeated block (``I_k ⊗ A``, any ``k``).

    Raises
    ------
    ValueError
        If the blocks are not square and equal-sized.
    SolverError
        If a block has an exactly zero pivot (singular).

    Examples
    --------
    >>> import numpy as np
    >>> from kronpde.toolkit import BlockDiagonalSolver
    >>> solver = BlockDiagonalSolver(np.array([[[2.0, 0.0], [0.0, 4.0]]]))
    >>> solver.solve(np.array([2.0, 2.0]))
    array([1. , 0.5])
    """

    def __init__(self, blocks: ArrayLike | Sequence[ArrayLike]) -> None:
        D = _as_blocks(blocks, square=True)
        if not np.all(np.isfinite(D)):
            msg = "blocks contain inf or NaN"
            raise ValueError(msg)
        self._repeated = D.ndim == 2
        self.block_size = D.shape[-1]
        self.n_blocks: int | None = None if self._repeated else D.shape[0]
        with warnings.catch_warnings():
            # lu_factor warns on a zero pivot; we raise instead, below.
            warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
            self._lu, self._piv = scipy.linalg.lu_factor(D, check_finite=False)
        diag = np.diagonal(self._lu, axis1=-2, axis2=-1)
        bad = np.flatnonzero(np.any(diag.reshape(-1, self.block_size) == 0, axis=1))
        if bad.size:
            which = "the repeated block" if self._repeated else f"block(s) {bad[:10].tolist()}"
            msg = f"BlockDiagonalSolver: {which} of size {self.block_size} is exactly singular"
            raise SolverError(msg)

    def solve(self, b: ArrayLike) -> NDArray[Any]:
        """Solve ``D x = b``.

        Parameters
        ----------
        b : array_like, shape (k*n,) or (k*n, r)
            Right-hand side(s).

        Returns
        -------
        numpy.ndarray, shape b.shape

        Raises
        ------
        ValueError
            If ``b`` does not fit the blocks.
        """
        b = _as_float_array(b, "b")
        n = self.block_size
        k, r, B = _block_layout(self.n_blocks, n, b, "b")
        if self._repeated:
            rhs = B.transpose(1, 0, 2).reshape(n, -1)
            X = scipy.linalg.lu_solve((self._lu, self._piv), rhs, check_finite=False)
            X = X.reshape(n, k, B.shape[2]).transpose(1, 0, 2)
        else:
            X = scipy.linalg.lu_solve((self._lu, self._piv), B, check_finite=False)
        return np.ascontiguousarray(X).reshape(b.shape)


# --------------------------------------------------------------------------- Sylvester


def _eig_decomposition(M: NDArray[Any]) -> tuple[NDArray[Any], NDArray[Any], bool]:
    """Eigenvalues, eigenvectors, and whether ``M`` is exactly Hermitian."""
    if np.array_equal(M, M.conj().T):
        lam, V = scipy.linalg.eigh(M)
        return lam, V, True
    lam, V = scipy.linalg.eig(M)
    return lam, V, False


def solve_sylvester(
    A: ArrayLike, B: ArrayLike, C: ArrayLike, *, rtol: float = 1e-12
) -> NDArray[Any]:
    """Solve the Sylvester equation ``A X + X B = C`` by diagonalisation.

    With ``A = V Λ V^{-1}`` and ``B = W M W^{-1}``, ``Y = V^{-1} X W`` solves
    ``Y_ij (λ_i + μ_j) = (V^{-1} C W)_ij`` and ``X = V Y W^{-1}``.  Exactly
    Hermitian ``A``/``B`` use :func:`scipy.linalg.eigh` (orthonormal
    eigenvectors, stable); others :func:`scipy.linalg.eig`.  Arithmetic is
    complex inside; the result is real when ``A``, ``B`` and ``C`` are real.
    Cost ``O(m^3 + n^3)``, and the eigendecompositions can be reused across
    right-hand sides by the caller's own code.

    Diagonalisation is accurate when the eigenvector matrices are well
    conditioned (always for symmetric ``A``/``B``) and no ``λ_i + μ_j`` is
    tiny; otherwise prefer :func:`scipy.linalg.solve_sylvester`
    (Bartels–Stewart, Schur forms, backward stable).

    Parameters
    ----------
    A : array_like, shape (m, m)
    B : array_like, shape (n, n)
    C : array_like, shape (m, n)
    rtol : float, optional
        Warn when ``min |λ_i + μ_j| < rtol * max |λ_i + μ_j|`` (default 1e-12).

    Returns
    -------
    numpy.ndarray, shape (m, n)
        ``X``; float64 for real data, else complex128.

    Raises
    ------
    SolverError
        If some ``λ_i(A) + μ_j(B)`` is exactly zero (the equation is singular);
        the message names the pair.
    ValueError
        If the shapes do not fit.

    Warns
    -----
    IllConditionedWarning
        If ``min |λ_i + μ_j|`` is below ``rtol`` times the largest, or an
        eigenvector matrix has condition number above ``EIGVEC_COND_MAX``
        (1e10), e.g. for a (nearly) defective matrix.

    Examples
    --------
    >>> import numpy as np
    >>> from kronpde.toolkit import solve_sylvester
    >>> A = np.array([[2.0, 1.0], [1.0, 3.0]])
    >>> B = np.array([[1.0, 0.0], [2.0, 4.0]])
    >>> C = np.ones((2, 2))
    >>> X = solve_sylvester(A, B, C)
    >>> np.allclose(A @ X + X @ B, C)
    True
    """
    A = _as_matrix(A, "A", allow_sparse=False, square=True)
    B = _as_matrix(B, "B", allow_sparse=False, square=True)
    C = _as_float_array(C, "C")
    m, n = A.shape[0], B.shape[0]
    if C.shape != (m, n):
        msg = f"C must have shape ({m}, {n}) for A {A.shape} and B {B.shape}, got {C.shape}"
        raise ValueError(msg)
    real = not any(np.iscomplexobj(M) for M in (A, B, C))
    if m == 0 or n == 0:
        return np.zeros((m, n), dtype=np.float64 if real else np.complex128)

    lam, V, A_herm = _eig_decomposition(A)
    mu, W, B_herm = _eig_decomposition(B)
    D = lam[:, None] + mu[None, :]
    absD = np.abs(D)
    if np.any(absD == 0):
        i, j = np.argwhere(absD == 0)[0]
        msg = (
            f"the Sylvester equation AX + XB = C is singular: eigenvalue λ_{i}(A) = "
            f"{lam[i].item()!r} and μ_{j}(B) = {mu[j].item()!r} sum to exactly "
            f"{D[i, j].item()!r}, so "
            "A and -B share an eigenvalue and X is not unique (or does not exist)"
        )
        raise SolverError(msg)
    smallest, largest = absD.min(), absD.max()
    if smallest < rtol * largest:
        i, j = np.unravel_index(np.argmin(absD), absD.shape)
        msg = (
            f"solve_sylvester: the equation is nearly singular: |λ_{i}(A) + μ_{j}(B)| = "
            f"{smallest:.3e} is {smallest / largest:.1e} times the largest ({largest:.3e}); "
            "the solution is very sensitive to the data. Consider "
            "scipy.linalg.solve_sylvester (Bartels–Stewart) for a backward-stable solve."
        )
        warnings.warn(msg, IllConditionedWarning, stacklevel=2)
    for name, herm, vecs in (("A", A_herm, V), ("B", B_herm, W)):
        if not herm:
            cond = np.linalg.cond(vecs)
            if not cond <= EIGVEC_COND_MAX:
                msg = (
                    f"solve_sylvester: the eigenvector matrix of {name} has condition "
                    f"number {cond:.2e} > {EIGVEC_COND_MAX:.0e} ({name} is nearly "
                    "defective); diagonalisation loses accuracy. Use "
                    "scipy.linalg.solve_sylvester (Bartels–Stewart) instead."
                )
                warnings.warn(msg, IllConditionedWarning, stacklevel=2)

    Ct = V.conj().T @ C if A_herm else np.linalg.solve(V, C)
    Y = (Ct @ W) / D
    X = V @ Y
    # X W^{-1}: with W unitary that is X W^H, else solve W^T X^T = (V Y)^T.
    X = X @ W.conj().T if B_herm else np.linalg.solve(W.T, X.T).T
    if real:
        return np.ascontiguousarray(X.real)
    return np.ascontiguousarray(X, dtype=np.complex128)


# --------------------------------------------------------------------------- least squares


def kron_lstsq(
    A: ArrayLike, B: ArrayLike, y: ArrayLike, *, rcond: float | None = None
) -> NDArray[Any]:
    """Minimum-norm least squares with a Kronecker-factored matrix.

    Solves ``min_X ||(B ⊗ A) vec(X) - y||_2`` with the chapter's column-major
    ``vec``.  Since ``(B ⊗ A) vec(X) = vec(A X B^T)`` and
    ``(B ⊗ A)^+ = B^+ ⊗ A^+``, the solution is ``X = A^+ Y (B^+)^T`` with
    ``Y = unvec(y)``, computed from the SVDs of ``A`` and ``B`` separately
    (``O(m_A n_A^2 + m_B n_B^2)`` instead of SVD of the big matrix).  The
    singular values of ``B ⊗ A`` are the products ``σ_i(A) σ_j(B)``; those at
    or below ``rcond * σ_max(A) σ_max(B)`` are treated as zero, exactly the
    rule of :func:`numpy.linalg.lstsq` on the dense matrix, so rank-deficient
    factors give the same minimum-norm solution.

    Parameters
    ----------
    A : array_like, shape (m_A, n_A)
    B : array_like, shape (m_B, n_B)
    y : array_like, shape (m_A * m_B,) or (m_A, m_B)
        Data, as ``vec(Y)`` or as the matrix ``Y`` itself.
    rcond : float, optional
        Relative cut-off for small singular values; default
        ``eps * max(m_A m_B, n_A n_B)`` as in numpy.

    Returns
    -------
    numpy.ndarray, shape (n_A, n_B)
        ``X``; ``vec(X)`` equals ``np.linalg.lstsq(np.kron(B, A), y)[0]``.

    Raises
    ------
    ValueError
        If ``A`` or ``B`` is not 2-D or ``y`` does not fit.

    Examples
    --------
    >>> import numpy as np
    >>> from kronpde.toolkit import kron_lstsq, vec
    >>> rng = np.random.default_rng(1)
    >>> A, B, y = rng.random((4, 2)), rng.random((3, 3)), rng.random(12)
    >>> X = kron_lstsq(A, B, y)
    >>> X.shape
    (2, 3)
    >>> np.allclose(vec(X), np.linalg.lstsq(np.kron(B, A), y)[0])
    True
    """
    A = _as_matrix(A, "A", allow_sparse=False)
    B = _as_matrix(B, "B", allow_sparse=False)
    y = _as_float_array(y, "y")
    (mA, nA), (mB, nB) = A.shape, B.shape
    if y.shape == (mA * mB,):
        Y = y.reshape((mA, mB), order="F")
    elif y.shape == (mA, mB):
        Y = y
    else:
        msg = (
            f"y must have shape ({mA * mB},) or ({mA}, {mB}) for A {A.shape}, "
            f"B {B.shape}; got {y.shape}"
        )
        raise ValueError(msg)
    dtype = _result_dtype(A.dtype, B.dtype, y.dtype)
    if min(mA, nA, mB, nB) == 0:
        return np.zeros((nA, nB), dtype=dtype)
    if rcond is None:
        rcond = np.finfo(np.float64).eps * max(mA * mB, nA * nB)
    UA, sA, VAh = scipy.linalg.svd(A, full_matrices=False)
    UB, sB, VBh = scipy.linalg.svd(B, full_matrices=False)
    S = np.outer(sA, sB)
    keep = S > rcond * sA[0] * sB[0]
    Sinv = np.zeros_like(S)
    np.divide(1.0, S, out=Sinv, where=keep)
    # X = V_A Σ_A^+ U_A^H Y conj(U_B) Σ_B^+ V_B^T, with the product cut-off.
    Z = (UA.conj().T @ Y @ UB.conj()) * Sinv
    X = VAh.conj().T @ Z @ VBh.conj()
    return np.ascontiguousarray(X, dtype=dtype)


# --------------------------------------------------------------------------- filtering


def _filter_along(
    x: NDArray[Any], h: Any, axis: int, mode: str, cval: float, name: str
) -> NDArray[Any]:
    if sp.issparse(h) or np.ndim(h) == 2:
        H = _as_matrix(h, name)
        if H.shape[1] != x.shape[axis]:
            msg = (
                f"{name} has {H.shape[1]} columns but the image has "
                f"{x.shape[axis]} along axis {axis}"
            )
            raise ValueError(msg)
        return matmul_axis(H, x, axis)
    w = _as_float_array(h, name)
    if w.ndim != 1 or w.size == 0:
        msg = f"{name} must be a non-empty 1-D kernel or a 2-D matrix, got shape {w.shape}"
        raise ValueError(msg)
    dtype = _result_dtype(x.dtype, w.dtype)
    return scipy.ndimage.correlate1d(x, w, axis=axis, output=dtype, mode=mode, cval=cval)


def separable_filter(
    image: ArrayLike,
    h_row: ArrayLike,
    h_col: ArrayLike,
    mode: str = "constant",
    cval: float = 0.0,
) -> NDArray[Any]:
    """Apply the separable 2-D filter ``H_row ⊗ H_col`` as two 1-D passes.

    Follows the chapter's definitions exactly: with its column-major ``vec``,
    the filtered image is ``unvec((H_row ⊗ H_col) vec(image))``, i.e.
    ``H_col @ image @ H_row.T``.  So ``h_row`` filters along each **row**
    (acts on axis 1, the column index) and ``h_col`` along each **column**
    (acts on axis 0).  The 2-D kernel is ``np.outer(h_col, h_row)``.

    A 1-D kernel ``h`` is the chapter's ``conv_matrix_1d(h, n)``: the
    operator ``H[i, i + k - len(h)//2] = h[k]``, a correlation (the kernel is
    not flipped; for symmetric kernels it equals convolution), applied with
    :func:`scipy.ndimage.correlate1d`.  ``mode="constant"`` with ``cval=0``
    (zero padding) is the chapter's matrix; the other ``scipy.ndimage``
    boundary modes are accepted too.  A 2-D ``h_row``/``h_col`` is used as the
    operator matrix itself (then ``mode`` does not apply to that pass).

    Parameters
    ----------
    image : array_like, shape (n_rows, n_cols)
        The image.
    h_row : array_like, shape (L,) or (p, n_cols)
        Kernel (or matrix) applied along each row.
    h_col : array_like, shape (L,) or (q, n_rows)
        Kernel (or matrix) applied along each column.
    mode : str, optional
        Boundary handling of 1-D kernels, one of ``'constant'`` (default, zero
        padding), ``'grid-constant'``, ``'reflect'``, ``'grid-mirror'``,
        ``'mirror'``, ``'nearest'``, ``'wrap'``, ``'grid-wrap'``.
    cval : float, optional
        Fill value for ``'constant'`` modes (default 0).

    Returns
    -------
    numpy.ndarray, shape (n_rows, n_cols), or (q, p) with matrices

    Raises
    ------
    ValueError
        If ``image`` is not 2-D, a kernel is empty or not 1-D/2-D, a matrix
        does not fit, or ``mode`` is unknown.

    Examples
    --------
    >>> import numpy as np
    >>> from kronpde.toolkit import separable_filter
    >>> image = np.zeros((3, 4))
    >>> image[1, 1] = 1.0
    >>> separable_filter(image, [1.0, 2.0, 3.0], [0.0, 1.0, 0.0])
    array([[0., 0., 0., 0.],
           [3., 2., 1., 0.],
           [0., 0., 0., 0.]])
    """
    x = _as_float_array(image, "image")
    if x.ndim != 2:
        msg = f"image must be 2-D, got shape {x.shape}"
        raise ValueError(msg)
    if mode not in _NDIMAGE_MODES:
        msg = f"mode must be one of {_NDIMAGE_MODES}, got {mode!r}"
        raise ValueError(msg)
    x = _filter_along(x, h_col, 0, mode, cval, "h_col")
    return _filter_along(x, h_row, 1, mode, cval, "h_row")
