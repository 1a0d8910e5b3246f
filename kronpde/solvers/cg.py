"""Preconditioned conjugate gradient with residual replacement.

:func:`cg` solves ``A x = b`` for a symmetric positive (semi)definite ``A``
and reports how it ended in a :class:`CGResult`; :func:`as_operator` is the one
place where a matrix, a ``LinearOperator`` or a callable becomes a
``LinearOperator`` (other solvers reuse it).

The ``matvec_into`` protocol
----------------------------
An operator (``A`` or ``M``) may offer a method ``matvec_into(x, out)`` that
writes ``A @ x`` into the preallocated array ``out`` instead of returning a new
array. Both arguments are 1-D, C-contiguous float64 arrays of length ``n``;
they are never the same array; ``x`` must not be modified; every entry of
``out`` must be overwritten; the return value is ignored. :func:`cg` uses it
when present (kronpde's matrix-free operators provide it, and
:func:`as_operator` adds it to the wrappers it builds for CSR and dense
matrices), so that an iteration allocates no vector at all. Without it,
``A.matvec(x)`` is called and its result copied into ``out``.

Compiled kernels above the size threshold
-----------------------------------------
For ``n >= kronpde.operators.kernels.MIN_COMPILED_SIZE`` unknowns (chosen by size,
once per solve) the vector work of an iteration runs in the fused, threaded
kernels of :mod:`kronpde.operators.kernels`: ``x += alpha p``, ``r -= alpha A p`` and
``r · r`` in one pass (:func:`~kronpde.operators.kernels.update_xr`), the new direction
in another (:func:`~kronpde.operators.kernels.new_direction`).  Two more protocols let
an operator join in:

* ``A.apply_dot(x, out)`` writes ``A x`` into ``out`` like ``matvec_into``
  and returns ``x · out``: the product and ``p · A p`` in one pass (kronpde's
  Kronecker-sum and variable-coefficient operators offer it, compiled above
  the threshold);
* a preconditioner with an attribute ``inverse_diagonal`` (an array of ``n``
  entries) is Jacobi, ``M r = r * inverse_diagonal``: its application and
  ``r · z`` join the update (:func:`~kronpde.operators.kernels.update_xr_jacobi`),
  except with ``null_space`` (``z`` is projected there).

The iteration is the same: the elementwise results are those of the NumPy
expressions bit for bit, the dot products agree to rounding.  Smaller
systems run the NumPy statements (and never import numba).
"""

from __future__ import annotations

import math
import operator
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator, aslinearoperator

from kronpde.operators.kernels import (
    axpy,
    dot,
    new_direction,
    update_xr,
    update_xr_jacobi,
    use_compiled,
)
from kronpde.problem.settings import check_maxiter, check_tolerance

try:  # private scipy kernel that accumulates y += A x for CSR; the public path allocates y
    from scipy.sparse._sparsetools import csr_matvec as _csr_matvec
except ImportError:  # pragma: no cover - depends on the scipy version
    _csr_matvec = None

__all__ = ["CGResult", "as_operator", "cg"]


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    # einsum's own loop is single-threaded; np.dot calls OpenBLAS ddot, whose helper
    # threads stall for milliseconds per call when the (two) cores are busy elsewhere
    return float(np.einsum("i,i->", a, b))


def _axpy(alpha: float, x: np.ndarray, y: np.ndarray, scratch: np.ndarray) -> None:
    """In place, ``y += alpha * x``; ``scratch`` (distinct from x and y) is overwritten."""
    np.multiply(x, alpha, out=scratch)
    np.add(y, scratch, out=y)


_Operator = Any  # sparse matrix/array, ndarray, LinearOperator or callable v -> A v


@dataclass(frozen=True, eq=False)
class CGResult:
    """Outcome of :func:`cg`.

    Attributes
    ----------
    x : ndarray, shape (n,)
        The last iterate (orthogonal to ``null_space`` when one was given).
    converged : bool
        Whether the stopping rule was met by the *true* residual.
    iterations : int
        Number of completed iterations (matrix-vector products with ``A``
        along search directions; residual recomputations are not counted).
    residual_norms : ndarray, shape (iterations + 1,)
        ``||r_k||_2`` after iteration ``k``; entry 0 is the initial residual
        ``||b - A x0||_2``. Entries are recurrence residuals except where the
        true residual was recomputed (every ``replace_every`` iterations and
        whenever the recurrence claimed convergence), where the true one is
        stored.
    relative_residual : float
        Final true ``||b - A x||_2 / ||b||_2`` (``b`` after projection when
        ``null_space`` was given; 0.0 for ``b = 0``).
    status : str
        ``"converged"``, ``"maxiter"``, ``"breakdown: A not SPD"``, ``"nan"``
        (a NaN or infinity appeared) or ``"preconditioner not SPD"``.
    message : str
        One human sentence saying what happened, with the numbers.
    projected_norm : float
        2-norm of the component of ``b`` removed by the projection onto the
        orthogonal complement of ``null_space`` (0.0 without ``null_space``).
        Large compared with ``||b||`` means the singular system as given was
        incompatible and the least-squares-consistent part was solved.
    elapsed : float
        Wall-clock seconds spent in :func:`cg`.
    """

    x: np.ndarray
    converged: bool
    iterations: int
    residual_norms: np.ndarray
    relative_residual: float
    status: str
    message: str
    projected_norm: float = 0.0
    elapsed: float = 0.0


class _MatrixOperator(LinearOperator):
    """A float64 CSR or dense matrix as a LinearOperator with ``matvec_into``."""

    def __init__(self, matrix: np.ndarray | sp.csr_array | sp.csr_matrix):
        super().__init__(dtype=np.float64, shape=matrix.shape)
        self.matrix = matrix
        self._is_sparse = sp.issparse(matrix)

    def _matvec(self, x):
        return self.matrix @ x

    def _rmatvec(self, x):
        return self.matrix.T @ x

    def matvec_into(self, x: np.ndarray, out: np.ndarray) -> None:
        """Write ``matrix @ x`` into ``out`` without allocating."""
        if self._is_sparse:
            if _csr_matvec is None:  # pragma: no cover - depends on the scipy version
                np.copyto(out, self.matrix @ x)
                return
            m, k = self.matrix.shape
            out.fill(0.0)
            _csr_matvec(m, k, self.matrix.indptr, self.matrix.indices, self.matrix.data, x, out)
        else:
            np.dot(self.matrix, x, out=out)


def as_operator(obj: _Operator, n: int, name: str = "A") -> LinearOperator:
    """Normalise a matrix, a LinearOperator or a callable into an ``(n, n)`` LinearOperator.

    Parameters
    ----------
    obj : sparse matrix or array, ndarray, LinearOperator or callable
        A sparse matrix/array (converted once to float64 CSR), a dense 2-D
        array (converted to float64), a ``scipy.sparse.linalg.LinearOperator``
        (returned as it is), an object with ``shape`` and ``matvec`` (wrapped
        by ``scipy.sparse.linalg.aslinearoperator``) or a callable ``v -> A v``
        taking and returning arrays of shape ``(n,)``.
    n : int
        The required size: the result has shape ``(n, n)``.
    name : str, optional
        The argument's name, used in error messages (``"A"``, ``"M"``).

    Returns
    -------
    LinearOperator
        Shape ``(n, n)``. Wrappers built here for matrices have a
        ``matvec_into(x, out)`` method (see the module docstring); a callable
        or LinearOperator that has one keeps it.

    Raises
    ------
    ValueError
        If the shape is not ``(n, n)``.
    TypeError
        If ``obj`` is none of the accepted kinds or is complex.

    Examples
    --------
    >>> import numpy as np
    >>> from kronpde.solvers.cg import as_operator
    >>> op = as_operator(lambda v: 2.0 * v, 3, "A")
    >>> op.shape, op.matvec(np.ones(3)).tolist()
    ((3, 3), [2.0, 2.0, 2.0])
    """
    if isinstance(obj, LinearOperator):
        op = obj
    elif sp.issparse(obj):
        _check_real(obj.dtype, name)
        op = _MatrixOperator(obj.tocsr().astype(np.float64, copy=False))
    elif isinstance(obj, (np.ndarray, list, tuple)):
        arr = np.asarray(obj)
        _check_real(arr.dtype, name)
        if arr.ndim != 2:
            msg = f"{name} must be 2-D of shape ({n}, {n}); got an array of shape {arr.shape}"
            raise ValueError(msg)
        op = _MatrixOperator(np.ascontiguousarray(arr, dtype=np.float64))
    elif hasattr(obj, "shape") and hasattr(obj, "matvec"):
        op = aslinearoperator(obj)
    elif callable(obj):
        op = LinearOperator((n, n), matvec=obj, dtype=np.float64)
        into = getattr(obj, "matvec_into", None)
        if callable(into):
            op.matvec_into = into
    else:
        msg = (
            f"{name} must be a sparse matrix/array, a dense 2-D array, a LinearOperator "
            f"or a callable v -> {name} v; got {type(obj).__name__}"
        )
        raise TypeError(msg)
    if tuple(op.shape) != (n, n):
        msg = f"{name} has shape {tuple(op.shape)}, but b has length {n} so ({n}, {n}) is needed"
        raise ValueError(msg)
    if op.dtype is not None:
        _check_real(op.dtype, name)
    return op


def _check_real(dtype, name: str) -> None:
    if np.dtype(dtype).kind == "c":
        msg = f"{name} is complex ({np.dtype(dtype)}); cg works in real float64 only"
        raise TypeError(msg)


def _into(op: LinearOperator) -> Callable[[np.ndarray, np.ndarray], None]:
    """``op``'s ``matvec_into`` or a copying fallback built on ``op.matvec``."""
    into = getattr(op, "matvec_into", None)
    if callable(into):
        return into

    def copy_into(x: np.ndarray, out: np.ndarray) -> None:
        np.copyto(out, op.matvec(x), casting="same_kind")

    return copy_into


def _as_vector(v, n: int | None, name: str) -> np.ndarray:
    arr = np.asarray(v)
    _check_real(arr.dtype, name)
    if arr.ndim != 1 or (n is not None and arr.shape[0] != n) or arr.shape[0] == 0:
        want = f"({n},)" if n is not None else "(n,) with n >= 1"
        msg = f"{name} must be a 1-D array of shape {want}; got shape {arr.shape}"
        raise ValueError(msg)
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        msg = f"{name} contains NaN or infinity ({np.count_nonzero(~np.isfinite(arr))} entries)"
        raise ValueError(msg)
    return arr


def _orthonormal_rows(null_space, n: int) -> np.ndarray:
    """Orthonormal basis of span(null_space) as the rows of a (k, n) array."""
    V = np.asarray(null_space)
    _check_real(V.dtype, "null_space")
    if V.ndim == 1:
        V = V[:, np.newaxis]
    if V.ndim != 2 or V.shape[0] != n or V.shape[1] == 0:
        msg = (
            f"null_space must have shape ({n},) or ({n}, k) with k >= 1; got {np.shape(null_space)}"
        )
        raise ValueError(msg)
    V = np.asarray(V, dtype=np.float64)
    if not np.all(np.isfinite(V)):
        msg = "null_space contains NaN or infinity"
        raise ValueError(msg)
    Q, R = np.linalg.qr(V)
    d = np.abs(np.diag(R))
    if d.min() <= 1e-12 * max(d.max(), np.finfo(float).tiny):
        msg = f"null_space columns are linearly dependent or zero (|diag R| = {d.tolist()})"
        raise ValueError(msg)
    return np.ascontiguousarray(Q.T)


def _project(v: np.ndarray, rows: list[np.ndarray], scratch: np.ndarray) -> None:
    """In place, v -= Q Q^T v for orthonormal rows q of Q^T (modified Gram-Schmidt)."""
    for q in rows:
        _axpy(-_dot(q, v), q, v, scratch)


def _compiled_dot(a: np.ndarray, b: np.ndarray) -> float:
    return dot(a, b, compiled=True)


def _project_compiled(v: np.ndarray, rows: list[np.ndarray], scratch: np.ndarray) -> None:
    """:func:`_project` with the compiled kernels (``scratch`` unused)."""
    for q in rows:
        axpy(-dot(q, v, compiled=True), q, v, compiled=True)


def cg(
    A: _Operator,
    b: np.ndarray,
    x0: np.ndarray | None = None,
    *,
    rtol: float = 1e-8,
    atol: float = 0.0,
    maxiter: int | None = None,
    M: _Operator | None = None,
    callback: Callable[[np.ndarray], Any] | None = None,
    monitor: Callable[[int, float], Any] | None = None,
    null_space: np.ndarray | None = None,
    replace_every: int = 500,
) -> CGResult:
    r"""Solve ``A x = b`` by the preconditioned conjugate gradient method.

    ``A`` must be symmetric positive definite, or positive semidefinite with
    its null space given in ``null_space``; ``M`` (if given) is a symmetric
    positive definite approximation of ``A^{-1}``, applied as ``z = M r``.

    Algorithm (Hestenes-Stiefel PCG with residual replacement)::

        r0 = b - A x0,  z0 = M r0,  p0 = z0
        for k = 0, 1, ...:
            alpha = (r_k, z_k) / (p_k, A p_k)
            x_{k+1} = x_k + alpha p_k
            r_{k+1} = r_k - alpha A p_k                (recurrence residual)
            stop if the stopping rule holds (see below)
            z_{k+1} = M r_{k+1}
            beta = (r_{k+1}, z_{k+1}) / (r_k, z_k)
            p_{k+1} = z_{k+1} + beta p_k

    All inner products and norms are Euclidean. Work vectors (x, r, z, p,
    A p; z is r itself without ``M``) are allocated once; the updates are
    in-place numpy ufuncs (``out=``) and inner products use ``np.einsum``,
    all single-threaded on purpose (OpenBLAS's threaded level-1 routines stall
    badly when the cores are shared); ``A p`` is written through
    ``A.matvec_into`` when available (see the module docstring), so an
    iteration allocates nothing beyond what a plain ``matvec`` returns.

    **Stopping rule**: ``||r_k||_2 <= max(rtol * ||b||_2, atol)``. When the
    recurrence residual ``r_k`` satisfies it, the true residual ``b - A x_k``
    is computed; the solver stops only if the true residual satisfies it too,
    otherwise ``r_k`` is replaced by the true residual and the iteration goes
    on. The true residual also replaces ``r_k`` every ``replace_every``
    iterations, so the recurrence cannot drift far. (If the tolerance lies
    below what rounding allows, every later iteration costs a second product
    with ``A`` until ``maxiter``.)

    A method that stops short says so: an operator that is not SPD
    (``p^T A p <= 0``), a preconditioner that is not SPD (``r^T z <= 0``),
    or a NaN/infinity in any scalar or vector ends the iteration with
    ``converged=False`` and the reason in ``status`` and ``message``. Only
    invalid arguments raise: the loop, including the calls of ``A`` and
    ``M``, runs under ``np.errstate(all="ignore")`` (the callback under the
    caller's settings). Non-finite vector entries are detected through the
    inner products they contaminate, which avoids a full scan per step.

    Parameters
    ----------
    A : sparse matrix or array, ndarray, LinearOperator or callable
        The ``(n, n)`` operator; a callable maps ``v`` of shape ``(n,)`` to
        ``A v``. Normalised by :func:`as_operator`.
    b : ndarray, shape (n,)
        Right-hand side; must be finite.
    x0 : ndarray, shape (n,), optional
        Initial guess (default zeros); not modified.
    rtol, atol : float, optional
        Relative and absolute tolerances of the stopping rule, both ``>= 0``.
    maxiter : int, optional
        Maximum number of iterations; default ``10 * n``.
    M : sparse matrix or array, ndarray, LinearOperator or callable, optional
        Preconditioner approximating ``A^{-1}``, symmetric positive definite.
    callback : callable, optional
        ``callback(xk)`` is called after every iteration with the current
        iterate, as in scipy; it takes the iterate only. ``xk`` is a
        read-only view of the solver's work array: copy it to keep it.
        It is called exactly ``iterations`` times.
    monitor : callable, optional
        ``monitor(k, r_norm)`` after iteration ``k`` (1-based) with the
        residual norm of the history (``residual_norms[k]``): progress lines
        without a second product with ``A``.
    null_space : ndarray, shape (n,) or (n, k), optional
        Vector(s) spanning the null space of a singular SPD ``A`` (e.g.
        ``np.ones(n)`` for pure Neumann or periodic problems). ``b`` is
        projected onto their Euclidean orthogonal complement at the start
        (the removed norm is reported as ``projected_norm``), and ``x``,
        ``r`` and ``z`` are projected every iteration so roundoff in the null
        space cannot grow; the returned ``x`` is orthogonal to them.
    replace_every : int, optional
        Recompute the true residual every this many iterations (default 500).

    Returns
    -------
    CGResult
        ``x``, ``converged``, ``iterations``, ``residual_norms``,
        ``relative_residual`` (true), ``status``, ``message``,
        ``projected_norm``, ``elapsed``. If ``b`` (after projection) is zero,
        ``x = 0`` is returned at once, converged, with no iteration.

    Raises
    ------
    ValueError
        For mismatched shapes, non-finite ``b`` or ``x0``, negative or
        non-finite tolerances, ``maxiter < 0``, ``replace_every < 1``, or a
        rank-deficient ``null_space``.
    TypeError
        For an operator of an unsupported kind or complex data.

    Examples
    --------
    A 1-D Dirichlet Laplacian:

    >>> import numpy as np
    >>> import scipy.sparse as sp
    >>> from kronpde.solvers.cg import cg
    >>> n = 50
    >>> A = sp.diags_array([-1.0, 2.0, -1.0], offsets=[-1, 0, 1], shape=(n, n), format="csr")
    >>> res = cg(A, np.ones(n), rtol=1e-10)
    >>> res.converged, res.status
    (True, 'converged')
    >>> bool(res.relative_residual <= 1e-10)
    True
    >>> len(res.residual_norms) == res.iterations + 1
    True

    A singular periodic Laplacian, with the constants as its null space:

    >>> P = A.tolil()
    >>> P[0, n - 1] = P[n - 1, 0] = -1.0
    >>> b = np.cos(2 * np.pi * np.arange(n) / n) + 0.5   # mean 0.5: incompatible
    >>> res = cg(P.tocsr(), b, null_space=np.ones(n))
    >>> res.converged, bool(abs(res.x.mean()) < 1e-12)
    (True, True)
    >>> bool(np.isclose(res.projected_norm, 0.5 * np.sqrt(n)))
    True
    """
    t_start = time.perf_counter()
    b = _as_vector(b, None, "b")
    n = b.shape[0]
    A_op = as_operator(A, n, "A")
    M_op = None if M is None else as_operator(M, n, "M")
    x0 = None if x0 is None else _as_vector(x0, n, "x0")
    rtol = check_tolerance(rtol, "rtol")
    atol = check_tolerance(atol, "atol")
    maxiter = 10 * n if maxiter is None else check_maxiter(maxiter)
    replace_every = operator.index(replace_every)
    if replace_every < 1:
        msg = f"replace_every must be >= 1; got {replace_every}"
        raise ValueError(msg)

    rows: list[np.ndarray] = []
    projected_norm = 0.0
    if null_space is not None:
        Qt = _orthonormal_rows(null_space, n)
        rows = list(Qt)
        coeffs = Qt @ b
        projected_norm = float(np.linalg.norm(coeffs))
        b = b - Qt.T @ coeffs
        _project(b, rows, np.empty(n))  # a second pass ("twice is enough") for full accuracy
    b_norm = math.sqrt(_dot(b, b))
    removed = (
        f" A null-space component of norm {projected_norm:.3e} was removed from b."
        if projected_norm > rtol * (b_norm + projected_norm)
        else ""
    )

    def finish(x, converged, iterations, history, rel, status, message) -> CGResult:
        norms = np.array(history, dtype=np.float64)
        norms.flags.writeable = False
        return CGResult(
            x=x,
            converged=converged,
            iterations=iterations,
            residual_norms=norms,
            relative_residual=float(rel),
            status=status,
            message=message + removed,
            projected_norm=projected_norm,
            elapsed=time.perf_counter() - t_start,
        )

    if b_norm == 0.0:
        message = "b is zero, so x = 0 is the exact solution; no iteration was needed."
        return finish(np.zeros(n), True, 0, [0.0], 0.0, "converged", message)

    tol = max(rtol * b_norm, atol)

    x = np.zeros(n) if x0 is None else x0.copy()
    caller_errstate = np.geterr()
    # Non-finite values are detected by _iterate's checks and reported, so no
    # floating-point error may escape as an exception from the loop (the callback
    # runs under the caller's own settings).
    with np.errstate(all="ignore"):
        converged, iterations, history, true_norm, status, message = _iterate(
            A_op,
            M_op,
            b,
            x,
            x0 is not None,
            rows,
            tol,
            maxiter,
            replace_every,
            callback,
            monitor,
            caller_errstate,
        )
    rel = true_norm / b_norm
    if converged:
        message = (
            f"Converged in {iterations} iterations: true residual ||b - A x|| = "
            f"{true_norm:.3e} <= {tol:.3e} = max(rtol*||b||, atol) "
            f"(relative residual {rel:.3e})."
        )
    elif status == "maxiter":
        message = (
            f"Not converged: reached maxiter = {maxiter} iterations with true relative "
            f"residual {rel:.3e}; the target was {tol / b_norm:.3e} relative."
        )
    return finish(x, converged, iterations, history, rel, status, message)


def _iterate(
    A_op: LinearOperator,
    M_op: LinearOperator | None,
    b: np.ndarray,
    x: np.ndarray,
    has_x0: bool,
    rows: list[np.ndarray],
    tol: float,
    maxiter: int,
    replace_every: int,
    callback: Callable[[np.ndarray], Any] | None,
    monitor: Callable[[int, float], Any] | None,
    caller_errstate: dict,
) -> tuple[bool, int, list[float], float, str, str]:
    """Run the PCG loop of :func:`cg` on validated data; x (the initial guess) is updated.

    Returns ``(converged, iterations, history, true_norm, status, message)``, with
    ``true_norm`` the true residual norm of the final x.  Above the size threshold
    the iteration's vector work runs in the compiled kernels (module docstring).
    """
    n = b.shape[0]
    compiled = use_compiled(n)
    A_into = _into(A_op)
    M_into = None if M_op is None else _into(M_op)
    fused_dot = getattr(A_op, "apply_dot", None) if compiled else None
    inv_diag = getattr(M_op, "inverse_diagonal", None) if compiled and not rows else None
    if inv_diag is not None:
        inv_diag = np.ascontiguousarray(inv_diag, dtype=np.float64).reshape(-1)
        if inv_diag.size != n:
            inv_diag = None
    if compiled:
        dot_ = _compiled_dot
        project = _project_compiled
    else:
        dot_ = _dot
        project = _project
    r = np.empty(n)
    p = np.empty(n)
    Ap = np.empty(n)
    z = r if M_into is None else np.empty(n)
    xk = x.view()
    xk.flags.writeable = False

    def true_residual() -> float:
        """Set r = b - A x, projected (Ap is scratch), and return ||r||."""
        A_into(x, Ap)
        np.subtract(b, Ap, out=r)
        project(r, rows, Ap)
        return math.sqrt(dot_(r, r))

    # Ap doubles as scratch wherever A p is not live: before the first product, and
    # from the update of r to the next product.
    if not has_x0:
        np.copyto(r, b)
        r_norm = math.sqrt(dot_(r, r))
    else:
        project(x, rows, Ap)
        r_norm = true_residual()
    history = [r_norm]
    iterations = 0
    status = ""
    message = ""
    converged = False
    true_norm = r_norm  # the true residual norm when the solver stops converged

    if not math.isfinite(r_norm):
        status, message = "nan", _nonfinite("||b - A x0||", r_norm, 0)
    elif r_norm <= tol:
        converged, status = True, "converged"
    else:
        if M_into is not None:
            M_into(r, z)
            project(z, rows, Ap)
        rz = dot_(r, z)
        if not math.isfinite(rz):
            status, message = "nan", _nonfinite("r^T M r", rz, 0)
        elif rz <= 0.0:
            status, message = "preconditioner not SPD", _not_spd_m(rz, 0)
        else:
            np.copyto(p, z)

    while not status:
        if iterations >= maxiter:
            status = "maxiter"
            break
        if fused_dot is not None:
            pAp = float(fused_dot(p, Ap))
        else:
            A_into(p, Ap)
            pAp = dot_(p, Ap)
        if not math.isfinite(pAp):
            status, message = "nan", _nonfinite("p^T A p", pAp, iterations + 1)
            break
        if pAp <= 0.0:
            status = "breakdown: A not SPD"
            message = (
                f"Breakdown at iteration {iterations + 1}: p^T A p = {pAp:.6e} <= 0 "
                f"(with p^T p = {dot_(p, p):.6e}), so A is not symmetric positive "
                "definite" + (" on the complement of null_space." if rows else ".")
            )
            break
        alpha = rz / pAp
        fresh_z = False  # z = M r of the updated r already (the fused Jacobi update)
        if not compiled:
            np.multiply(Ap, alpha, out=Ap)
            np.subtract(r, Ap, out=r)
            _axpy(alpha, p, x, Ap)
            project(x, rows, Ap)
            project(r, rows, Ap)
            rr = _dot(r, r)
        elif inv_diag is not None:
            rr, rz_new = update_xr_jacobi(x, r, z, p, Ap, inv_diag, alpha, compiled=True)
            fresh_z = True
        else:
            rr = update_xr(x, r, p, Ap, alpha, compiled=True)
            if rows:
                project(x, rows, Ap)
                project(r, rows, Ap)
                rr = dot_(r, r)
        iterations += 1
        r_norm = math.sqrt(rr)
        if math.isfinite(r_norm) and (r_norm <= tol or iterations % replace_every == 0):
            r_norm = true_residual()
            true_norm = r_norm
            rr = r_norm * r_norm
            fresh_z = False  # r was replaced: z must follow it
        history.append(r_norm)
        if callback is not None or monitor is not None:
            with np.errstate(**caller_errstate):
                if callback is not None:
                    callback(xk)
                if monitor is not None:
                    monitor(iterations, r_norm)
        if not math.isfinite(r_norm):
            status, message = "nan", _nonfinite("||r||", r_norm, iterations)
            break
        if r_norm <= tol:
            converged, status = True, "converged"
            break
        if M_into is None:
            rz_new = rr
        else:
            if not fresh_z:
                M_into(r, z)
                project(z, rows, Ap)
                rz_new = dot_(r, z)
            if not math.isfinite(rz_new):
                status, message = "nan", _nonfinite("r^T M r", rz_new, iterations)
                break
            if rz_new <= 0.0:
                status, message = "preconditioner not SPD", _not_spd_m(rz_new, iterations)
                break
        beta = rz_new / rz
        rz = rz_new
        if compiled:
            new_direction(p, z, beta, compiled=True)
        else:
            np.multiply(p, beta, out=p)
            np.add(p, z, out=p)

    if not converged:  # report the true residual of the returned x
        true_norm = true_residual()
    return converged, iterations, history, true_norm, status, message


def _nonfinite(what: str, value: float, iteration: int) -> str:
    kind = "NaN" if math.isnan(value) else "infinity"
    return (
        f"A {kind} appeared in {what} = {value} at iteration {iteration}: the operator, "
        "the preconditioner or the data produced non-finite values."
    )


def _not_spd_m(rz: float, iteration: int) -> str:
    return (
        f"Preconditioner not SPD at iteration {iteration}: r^T M r = {rz:.6e} <= 0, "
        "so M is not symmetric positive definite."
    )
