"""The vec identity along one axis, and the checks of the Kron layer's matrix arguments.

:func:`matmul_axis` applies a matrix along one axis of a C-ordered N-D array:
``(A_1 ⊗ ... ⊗ A_N) x`` is ``x`` reshaped with ``A_k`` applied along axis
``k`` in turn (the vec identity ``(A ⊗ B) vec(X) = vec(B X A^T)`` in its C-order
form).  Fast diagonalization (:mod:`kronpde.solvers.fastdiag`), the Kronecker
sum (:mod:`kronpde.operators.kronsum`) and the seed chapter's toolkit
(:mod:`kronpde.toolkit`) are built on it and share the argument checks here
(:func:`as_matrix`, :func:`check_factors` and their kin).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import reduce
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from kronpde._checks import is_count, is_real
from kronpde.operators.stencils import AxisOperator

__all__ = [
    "as_float_array",
    "as_matrix",
    "check_factors",
    "conjugate_transpose",
    "matmul_axis",
    "result_dtype",
    "sparse_kron_all",
    "split_batch",
]


# --------------------------------------------------------------------------- argument checks
# One set of checks for every matrix argument of the Kron layer: the Kronecker sum and the
# seed chapter's toolkit (kronpde.toolkit) use them too.


def as_float_array(a: ArrayLike, name: str) -> NDArray[Any]:
    """Return ``a`` as a float64 (or complex128) ndarray, copying only if needed.

    Parameters
    ----------
    a : array_like
        Numeric data (bool, integer, real or complex).
    name : str
        The argument's name, for the error message.

    Returns
    -------
    ndarray
        float64, or complex128 for complex data.

    Raises
    ------
    TypeError
        If ``a`` is not numeric.
    """
    arr = np.asarray(a)
    if arr.dtype.kind in "biuf":
        return arr.astype(np.float64, copy=False)
    if arr.dtype.kind == "c":
        return arr.astype(np.complex128, copy=False)
    msg = f"{name} must be a real or complex numeric array, got dtype {arr.dtype}"
    raise TypeError(msg)


def as_matrix(a: Any, name: str, *, allow_sparse: bool = True, square: bool = False) -> Any:
    """Return ``a`` checked as a 2-D dense or sparse matrix (float64 or complex128).

    Parameters
    ----------
    a : array_like or scipy sparse array/matrix
        The matrix.
    name : str
        The argument's name, for the error messages.
    allow_sparse : bool, optional
        Whether a sparse matrix is accepted (default True).
    square : bool, optional
        Whether the matrix must be square (default False).

    Returns
    -------
    ndarray or scipy sparse array/matrix
        ``a``, converted to float64/complex128 where needed.

    Raises
    ------
    TypeError
        If ``a`` is not numeric, or sparse where ``allow_sparse`` is False.
    ValueError
        If ``a`` is not 2-D, or not square where ``square`` is True.
    """
    if sp.issparse(a):
        if not allow_sparse:
            msg = f"{name} must be a dense array, got a sparse {type(a).__name__}"
            raise TypeError(msg)
        if a.dtype.kind in "biuf" and a.dtype != np.float64:
            a = a.astype(np.float64)
        elif a.dtype.kind == "c" and a.dtype != np.complex128:
            a = a.astype(np.complex128)
        elif a.dtype.kind not in "biufc":
            msg = f"{name} must have a numeric dtype, got {a.dtype}"
            raise TypeError(msg)
    else:
        a = as_float_array(a, name)
    if a.ndim != 2:
        msg = f"{name} must be a 2-D matrix, got an array of shape {a.shape}"
        raise ValueError(msg)
    if square and a.shape[0] != a.shape[1]:
        msg = f"{name} must be square, got shape {a.shape}"
        raise ValueError(msg)
    return a


def check_factors(
    factors: Sequence[Any], *, square: bool = False, axis_operators: bool = False
) -> tuple[Any, ...]:
    """Return the factors of a Kronecker product or sum, each checked by :func:`as_matrix`.

    Parameters
    ----------
    factors : sequence
        The matrices (a single matrix is refused).
    square : bool, optional
        Whether every factor must be square (default False).
    axis_operators : bool, optional
        Whether an :class:`~kronpde.operators.stencils.AxisOperator` passes through
        unchecked (default False).

    Returns
    -------
    tuple
        The checked factors.

    Raises
    ------
    TypeError
        If ``factors`` is a single matrix, or a factor is not numeric.
    ValueError
        If there is no factor, or a factor is not 2-D (or not square).
    """
    single = sp.issparse(factors) or isinstance(factors, AxisOperator)
    if single or (isinstance(factors, np.ndarray) and factors.ndim == 2):
        msg = "factors must be a sequence of matrices, e.g. [A, B], not a single matrix"
        raise TypeError(msg)
    out = tuple(
        f
        if axis_operators and isinstance(f, AxisOperator)
        else as_matrix(f, f"factors[{k}]", square=square)
        for k, f in enumerate(factors)
    )
    if not out:
        msg = "factors must contain at least one matrix"
        raise ValueError(msg)
    return out


def result_dtype(*dtypes: Any) -> np.dtype[Any]:
    """Return the dtype of a result computed from ``dtypes``: float64 at least.

    Parameters
    ----------
    *dtypes : dtype-like
        The operands' dtypes.

    Returns
    -------
    numpy.dtype
        ``np.result_type(np.float64, *dtypes)``.
    """
    return np.result_type(np.float64, *dtypes)


def conjugate_transpose(a: Any) -> Any:
    """Return the conjugate transpose of a dense or sparse matrix.

    Parameters
    ----------
    a : ndarray or scipy sparse array/matrix
        The matrix.

    Returns
    -------
    ndarray or scipy sparse array/matrix
        ``a.conj().T``.
    """
    return a.conj().T


def split_batch(x: NDArray[Any], n: int, name: str) -> tuple[int | None, NDArray[Any]]:
    """Return the batch size of ``x``, a vector ``(n,)`` or ``r`` vectors ``(n, r)``, and ``x``.

    Parameters
    ----------
    x : ndarray
        The vector or vectors.
    n : int
        Their length.
    name : str
        The argument's name, for the error message.

    Returns
    -------
    r : int or None
        The number of columns, or None for a single vector.
    x : ndarray
        ``x`` itself.

    Raises
    ------
    ValueError
        If ``x`` has another shape.
    """
    if x.ndim not in (1, 2) or x.shape[0] != n:
        msg = f"{name} must have shape ({n},) or ({n}, r), got {x.shape}"
        raise ValueError(msg)
    return (None if x.ndim == 1 else x.shape[1]), x


def sparse_kron_all(mats: Sequence[Any]) -> sp.csr_array:
    """Return ``mats[0] ⊗ mats[1] ⊗ ...`` as CSR, by :func:`scipy.sparse.kron`.

    Parameters
    ----------
    mats : sequence of matrices
        Dense or sparse factors, ``np.kron``'s order.

    Returns
    -------
    scipy.sparse.csr_array
        The product.
    """
    return reduce(lambda P, Q: sp.kron(P, Q, format="csr"), [sp.csr_array(m) for m in mats])


def _normalize_axis(axis: int, ndim: int) -> int:
    if not (is_real(axis) and is_count(abs(axis))):  # an integer of either sign
        msg = f"axis must be an integer, got {axis!r}"
        raise TypeError(msg)
    if not -ndim <= axis < ndim:
        msg = f"axis {axis} is out of range for an array with {ndim} dimension(s)"
        raise ValueError(msg)
    return int(axis) % ndim


# --------------------------------------------------------------------------- the vec identity


def matmul_axis(
    A: ArrayLike | sp.sparray | sp.spmatrix,
    X: ArrayLike,
    axis: int,
    out: NDArray[Any] | None = None,
) -> NDArray[Any]:
    """Apply a matrix along one axis of an N-D array.

    Computes ``Y[..., i, ...] = sum_j A[i, j] X[..., j, ...]`` with the free
    index in position ``axis``: the vec identity
    ``(I ⊗ A ⊗ I) vec(X) = vec(Y)`` in C order.  ``X`` is viewed as
    ``(a, n, b)`` (``a``, ``b`` the products of the sizes before and after
    ``axis``) and BLAS does the work:

    * ``a == 1`` (first axis): one GEMM ``A @ X.reshape(n, b)``;
    * ``b == 1`` (last axis): one GEMM ``X.reshape(a, n) @ A.T``;
    * otherwise: one batched ``np.matmul(A, X.reshape(a, n, b))``, i.e. ``a``
      GEMMs of ``(m, n) x (n, b)``.  This reads and writes each array once,
      where the alternative (transpose ``X`` into a copy, one large GEMM, copy
      the result back) moves the data twice more; it costs more than one
      GEMM of the same size, because BLAS is called ``a`` times on smaller
      matrices, and that overhead grows when BLAS threads compete with other
      work for the cores.  ``scripts/bench_kron.py`` measures it against the
      transpose-and-GEMM, ``np.tensordot`` and ``np.einsum`` on the machine at
      hand.

    Parameters
    ----------
    A : array_like or scipy sparse array/matrix, shape (m, n)
        The matrix.  A sparse ``A`` is applied with sparse ``@`` on reshaped
        views (the middle-axis case costs one transpose copy of ``X``).
    X : array_like, shape (..., n, ...)
        The array, ``X.shape[axis] == n``.  A non-C-contiguous ``X`` is copied.
    axis : int
        The axis of ``X`` to act on; negative values count from the end.
    out : numpy.ndarray, optional
        Preallocated result, shape ``X.shape`` with ``n`` replaced by ``m``,
        C-contiguous, of a dtype the result can be safely cast to.  It must
        **not** overlap ``X`` (BLAS cannot work in place); this is checked
        (``np.may_share_memory``) and raises.  With a dense ``A`` nothing else
        is allocated when dtypes agree.

    Returns
    -------
    numpy.ndarray, shape X.shape[:axis] + (m,) + X.shape[axis+1:]
        ``out`` if given, else a new C-ordered array.

    Raises
    ------
    ValueError
        If ``A`` is not 2-D, its column count differs from ``X.shape[axis]``,
        ``axis`` is out of range, or ``out`` has the wrong shape, layout or
        dtype, or overlaps ``X``.
    TypeError
        If ``A`` or ``X`` is not numeric.

    Examples
    --------
    >>> import numpy as np
    >>> from kronpde.operators.matmul import matmul_axis
    >>> X = np.arange(24.0).reshape(2, 3, 4)
    >>> A = np.array([[1.0, 0.0, -1.0]])
    >>> Y = matmul_axis(A, X, axis=1)
    >>> Y.shape
    (2, 1, 4)
    >>> np.allclose(Y, np.einsum("ij,ajb->aib", A, X))
    True
    """
    X = np.ascontiguousarray(as_float_array(X, "X"))
    if X.ndim == 0:
        msg = "X must have at least one dimension"
        raise ValueError(msg)
    ax = _normalize_axis(axis, X.ndim)
    A = as_matrix(A, "A")
    m, n = A.shape
    if X.shape[ax] != n:
        msg = f"A has {n} columns but X has {X.shape[ax]} entries along axis {ax} (shape {X.shape})"
        raise ValueError(msg)
    a = math.prod(X.shape[:ax])
    b = math.prod(X.shape[ax + 1 :])
    out_shape = X.shape[:ax] + (m,) + X.shape[ax + 1 :]
    dtype = result_dtype(A.dtype, X.dtype)
    if out is None:
        out = np.empty(out_shape, dtype=dtype)
    else:
        if not isinstance(out, np.ndarray):
            msg = f"out must be a numpy.ndarray, got {type(out).__name__}"
            raise TypeError(msg)
        if out.shape != out_shape:
            msg = f"out has shape {out.shape}, expected {out_shape}"
            raise ValueError(msg)
        if not out.flags.c_contiguous:
            msg = "out must be C-contiguous"
            raise ValueError(msg)
        if not np.can_cast(dtype, out.dtype, casting="safe"):
            msg = f"out has dtype {out.dtype}, but the result has dtype {dtype}"
            raise ValueError(msg)
        if np.may_share_memory(out, X):
            msg = "out must not overlap X (matmul_axis cannot work in place)"
            raise ValueError(msg)
    X3 = X.reshape(a, n, b)
    O3 = out.reshape(a, m, b)
    if sp.issparse(A):
        if a == 1:
            O3[0] = A @ X3[0]
        elif b == 1:
            O3[:, :, 0] = (A @ X3[:, :, 0].T).T
        else:
            Y = A @ X3.transpose(1, 0, 2).reshape(n, a * b)
            O3[...] = Y.reshape(m, a, b).transpose(1, 0, 2)
    elif a == 1:
        np.matmul(A, X3[0], out=O3[0])
    elif b == 1:
        np.matmul(X3[:, :, 0], A.T, out=O3[:, :, 0])
    else:
        np.matmul(A, X3, out=O3)
    return out
