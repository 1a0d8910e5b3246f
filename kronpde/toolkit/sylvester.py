"""Sylvester equations ``A X + X B = C`` by diagonalisation, warning where it loses accuracy."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import scipy.linalg
import scipy.ndimage
from numpy.typing import ArrayLike, NDArray

from kronpde.errors import SolverError
from kronpde.operators.matmul import (
    as_float_array,
    as_matrix,
)

__all__ = ["EIGVEC_COND_MAX", "IllConditionedWarning", "solve_sylvester"]


#: Eigenvector matrices with a 2-norm condition number above this make
#: :func:`solve_sylvester` warn (diagonalisation loses that many digits).
EIGVEC_COND_MAX = 1e10


class IllConditionedWarning(UserWarning):
    """A result was computed, but the method used is known to lose accuracy here."""


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
    A = as_matrix(A, "A", allow_sparse=False, square=True)
    B = as_matrix(B, "B", allow_sparse=False, square=True)
    C = as_float_array(C, "C")
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
