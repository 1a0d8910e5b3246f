"""An estimate (never a certificate) of the smallest eigenvalue of a symmetric operator.

Where no lower bound on ``λ_min`` is proven (a Neumann embedded boundary, or
a Dirichlet one whose box bound is zero), the report gives this estimate of
the algebraic error instead, labelled as such (``docs/embedded-boundaries.md``).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as sla

__all__ = ["DIRECT_LIMIT", "estimate_smallest_eigenvalue"]

#: Up to this many unknowns (2-D) the estimate is ARPACK's shift-invert (a sparse LU);
#: above it, and in 3-D, LOBPCG preconditioned by smoothed-aggregation AMG.
DIRECT_LIMIT = 60_000


def estimate_smallest_eigenvalue(
    matrix: sp.csr_array, null: np.ndarray | None = None, *, dimension: int = 2
) -> float | None:
    """Return an estimate of ``λ_min`` of a symmetric positive (semi)definite matrix.

    Parameters
    ----------
    matrix : sparse array
        The symmetric matrix (``Â`` restricted to the unknowns that matter).
    null : ndarray, optional
        Its null vector (a singular matrix): the estimate is then of the
        smallest eigenvalue on the complement of it (``λ_2``).
    dimension : int
        The grid's dimension (3-D factors are costly: LOBPCG there).

    Returns
    -------
    float or None
        The estimate, None where none converged.
    """
    a = sp.csr_matrix(matrix)
    n = a.shape[0]
    if n == 0:
        return None
    scale = float(np.max(np.abs(a.diagonal())))
    if n <= 400:
        values = np.linalg.eigvalsh(a.toarray())
        return _pick(values, null is not None, scale)
    try:
        if n <= DIRECT_LIMIT and dimension < 3:
            shifted = sp.csc_matrix(a + (1e-8 * scale) * sp.identity(n, format="csr"))
            lu = sla.splu(shifted)
            inverse = sla.LinearOperator((n, n), matvec=lu.solve, dtype=np.float64)
            mu = sla.eigsh(inverse, k=3, which="LA", return_eigenvectors=False, tol=1e-6)
            values = 1.0 / np.asarray(mu) - 1e-8 * scale
            return _pick(np.sort(values), null is not None, scale)
        return _lobpcg(a, null)
    except (RuntimeError, sla.ArpackError, np.linalg.LinAlgError):  # pragma: no cover
        return None


def _pick(values: np.ndarray, singular: bool, scale: float) -> float | None:
    """Return the smallest value, past the null one of a singular matrix."""
    values = np.sort(np.asarray(values, dtype=float))
    if singular:
        values = values[values > 1e-9 * scale]
    return float(values[0]) if values.size else None


def _lobpcg(a: sp.csr_matrix, null: np.ndarray | None) -> float | None:
    """LOBPCG for the smallest eigenvalue, preconditioned by smoothed-aggregation AMG."""
    import pyamg

    n = a.shape[0]
    ml = pyamg.smoothed_aggregation_solver(a, max_coarse=500)
    m = ml.aspreconditioner(cycle="V")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, 2))
    y = None if null is None else np.asarray(null, dtype=float).reshape(n, 1)
    values = sla.lobpcg(a, x, M=m, Y=y, largest=False, tol=1e-6, maxiter=200)[0]
    return float(np.min(values))
