"""Preconditioned conjugate gradient with residual replacement.

:func:`cg` solves ``A x = b`` for a symmetric positive (semi)definite ``A``
and reports how it ended in a :class:`CGResult`; :func:`as_operator` is the one
place where a matrix, a ``LinearOperator`` or a callable becomes a
``LinearOperator`` (other solvers reuse it).  An operator may offer
``matvec_into(x, out)`` so that an iteration allocates no vector
(``docs/cg.md`` states the protocol); the vector work of an iteration is
:mod:`kronpde.solvers.cg_work`'s.
"""

from __future__ import annotations

import math
import operator
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator, aslinearoperator

from kronpde.problem.settings import check_maxiter, check_tolerance
from kronpde.solvers.cg_work import NumpyUpdates, choose_updates, plain_dot, project_rows

try:  # private scipy kernel that accumulates y += A x for CSR; the public path allocates y
    from scipy.sparse._sparsetools import csr_matvec as _csr_matvec
except ImportError:  # pragma: no cover - depends on the scipy version
    _csr_matvec = None

__all__ = ["CGResult", "as_operator", "cg"]


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
        ``matvec_into(x, out)`` method (``docs/cg.md``); a callable
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


@dataclass(frozen=True)
class _Stop:
    """When :func:`kronpde.solvers.cg.cg` stops, and how often it recomputes the true residual."""

    tol: float
    maxiter: int
    replace_every: int


@dataclass(frozen=True)
class _Observers:
    """The caller's ``callback(xk)`` and ``monitor(k, r_norm)``, run under its errstate."""

    callback: Callable[[np.ndarray], Any] | None
    monitor: Callable[[int, float], Any] | None
    errstate: dict

    def __call__(self, xk: np.ndarray, iteration: int, r_norm: float) -> None:
        """Call the callback and the monitor after ``iteration``."""
        if self.callback is None and self.monitor is None:
            return
        with np.errstate(**self.errstate):
            if self.callback is not None:
                self.callback(xk)
            if self.monitor is not None:
                self.monitor(iteration, r_norm)


@dataclass
class _Outcome:
    """How :func:`_iterate` ended; ``true_norm`` is the true residual norm of the final x."""

    status: str = ""
    message: str = ""
    iterations: int = 0
    history: list[float] = field(default_factory=list)
    true_norm: float = 0.0

    @property
    def converged(self) -> bool:
        """Whether the true residual met the stopping rule."""
        return self.status == "converged"


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
    ``A.matvec_into`` when available (``docs/cg.md``), so an
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
        project_rows(b, rows, np.empty(n))  # a second pass ("twice is enough"): full accuracy
    b_norm = math.sqrt(plain_dot(b, b))
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
        out = _iterate(
            choose_updates(A_op, M_op, b, rows),
            x,
            x0 is not None,
            _Stop(tol, maxiter, replace_every),
            _Observers(callback, monitor, caller_errstate),
        )
    rel = out.true_norm / b_norm
    message = out.message
    if out.converged:
        message = (
            f"Converged in {out.iterations} iterations: true residual ||b - A x|| = "
            f"{out.true_norm:.3e} <= {tol:.3e} = max(rtol*||b||, atol) "
            f"(relative residual {rel:.3e})."
        )
    elif out.status == "maxiter":
        message = (
            f"Not converged: reached maxiter = {maxiter} iterations with true relative "
            f"residual {rel:.3e}; the target was {tol / b_norm:.3e} relative."
        )
    return finish(x, out.converged, out.iterations, out.history, rel, out.status, message)


def _iterate(
    work: NumpyUpdates, x: np.ndarray, has_x0: bool, stop: _Stop, observe: _Observers
) -> _Outcome:
    """Run the PCG loop of :func:`cg` on validated data; ``x`` (the initial guess) is updated.

    The loop reads like scipy's ``cg``; ``work`` does the vector work (NumPy, or the
    compiled kernels above the size threshold: :mod:`kronpde.solvers.cg_work`).
    """
    xk = x.view()
    xk.flags.writeable = False
    r_norm = work.initial_residual(x, has_x0)
    out = _Outcome(history=[r_norm], true_norm=r_norm)
    rz = 0.0
    if not math.isfinite(r_norm):
        out.status, out.message = "nan", _nonfinite("||b - A x0||", r_norm, 0)
    elif r_norm <= stop.tol:
        out.status = "converged"
    else:
        rz = work.precondition()
        out.status, out.message = _check_rz(rz, 0)
        if not out.status:
            work.first_direction()

    while not out.status:
        if out.iterations >= stop.maxiter:
            out.status = "maxiter"
            break
        pAp = work.product()
        out.status, out.message = _check_pAp(work, pAp, out.iterations + 1)
        if out.status:
            break
        rr, rz_new = work.update(x, rz / pAp)  # rz_new: r · z when the update made z = M r
        out.iterations += 1
        r_norm = math.sqrt(rr)
        if math.isfinite(r_norm) and (
            r_norm <= stop.tol or out.iterations % stop.replace_every == 0
        ):
            r_norm = out.true_norm = work.true_residual(x)
            rr = r_norm * r_norm
            rz_new = None  # r was replaced: z must follow it
        out.history.append(r_norm)
        observe(xk, out.iterations, r_norm)
        if not math.isfinite(r_norm):
            out.status, out.message = "nan", _nonfinite("||r||", r_norm, out.iterations)
            break
        if r_norm <= stop.tol:
            out.status = "converged"
            break
        if work.M_into is None:
            rz_new = rr
        else:
            if rz_new is None:
                rz_new = work.precondition()
            out.status, out.message = _check_rz(rz_new, out.iterations)
            if out.status:
                break
        work.direction(rz_new / rz)
        rz = rz_new

    if not out.converged:  # report the true residual of the returned x
        out.true_norm = work.true_residual(x)
    return out


def _check_pAp(work: NumpyUpdates, pAp: float, iteration: int) -> tuple[str, str]:
    """``(status, message)`` when ``p · A p`` ends the iteration, else ``("", "")``."""
    if not math.isfinite(pAp):
        return "nan", _nonfinite("p^T A p", pAp, iteration)
    if pAp <= 0.0:
        message = (
            f"Breakdown at iteration {iteration}: p^T A p = {pAp:.6e} <= 0 "
            f"(with p^T p = {work.dot(work.p, work.p):.6e}), so A is not symmetric positive "
            "definite" + (" on the complement of null_space." if work.rows else ".")
        )
        return "breakdown: A not SPD", message
    return "", ""


def _check_rz(rz: float, iteration: int) -> tuple[str, str]:
    """``(status, message)`` when ``r · M r`` ends the iteration, else ``("", "")``."""
    if not math.isfinite(rz):
        return "nan", _nonfinite("r^T M r", rz, iteration)
    if rz <= 0.0:
        return "preconditioner not SPD", _not_spd_m(rz, iteration)
    return "", ""


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
