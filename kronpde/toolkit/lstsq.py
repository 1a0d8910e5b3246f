"""Kronecker-structured least squares: :func:`kron_lstsq`."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.linalg
import scipy.ndimage
from numpy.typing import ArrayLike, NDArray

from kronpde.operators.matmul import (
    as_float_array,
    as_matrix,
    result_dtype,
)

__all__ = ["kron_lstsq"]


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
    A = as_matrix(A, "A", allow_sparse=False)
    B = as_matrix(B, "B", allow_sparse=False)
    y = as_float_array(y, "y")
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
    dtype = result_dtype(A.dtype, B.dtype, y.dtype)
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
