"""Kronecker products as matrix-free operators: :func:`kron_matvec`, :class:`KronProduct`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray
from scipy.sparse.linalg import LinearOperator

from kronpde.operators.matmul import (
    as_float_array,
    check_factors,
    conjugate_transpose,
    matmul_axis,
    result_dtype,
    sparse_kron_all,
    split_batch,
)

__all__ = ["KronProduct", "kron_matvec"]


def _kron_apply(factors: tuple[Any, ...], x: NDArray[Any]) -> NDArray[Any]:
    ns = tuple(f.shape[1] for f in factors)
    ms = tuple(f.shape[0] for f in factors)
    r, x = split_batch(x, math.prod(ns), "x")
    extra = () if r is None else (r,)
    X = x.reshape(ns + extra)
    # Apply shrinking factors first: later GEMMs then see smaller arrays.
    order = sorted(range(len(factors)), key=lambda k: ms[k] / max(ns[k], 1))
    for k in order:
        X = matmul_axis(factors[k], X, k)
    return X.reshape((math.prod(ms),) + extra)


def kron_matvec(factors: Sequence[Any], x: ArrayLike) -> NDArray[Any]:
    """Compute ``(A_1 ⊗ A_2 ⊗ … ⊗ A_N) x`` without forming the product.

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
    return _kron_apply(check_factors(factors), as_float_array(x, "x"))


class KronProduct(LinearOperator):
    """The Kronecker product ``A_1 ⊗ … ⊗ A_N`` as a matrix-free operator.

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
        self.factors = check_factors(factors)
        shape = (
            math.prod(f.shape[0] for f in self.factors),
            math.prod(f.shape[1] for f in self.factors),
        )
        super().__init__(dtype=result_dtype(*(f.dtype for f in self.factors)), shape=shape)

    def _matvec(self, x: NDArray[Any]) -> NDArray[Any]:
        return _kron_apply(self.factors, as_float_array(x, "x"))

    def _matmat(self, X: NDArray[Any]) -> NDArray[Any]:
        return _kron_apply(self.factors, as_float_array(X, "X"))

    def _rmatvec(self, x: NDArray[Any]) -> NDArray[Any]:
        return _kron_apply(
            tuple(conjugate_transpose(f) for f in self.factors), as_float_array(x, "x")
        )

    def _rmatmat(self, X: NDArray[Any]) -> NDArray[Any]:
        return self._rmatvec(X)

    def _adjoint(self) -> KronProduct:
        return KronProduct([conjugate_transpose(f) for f in self.factors])

    def _transpose(self) -> KronProduct:
        return KronProduct([f.T for f in self.factors])

    def to_sparse(self) -> sp.csr_array:
        """Assemble the product as a CSR array (for checks on small sizes only).

        Returns
        -------
        scipy.sparse.csr_array, shape ``self.shape``
        """
        return sparse_kron_all(self.factors)
