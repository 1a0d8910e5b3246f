"""The one entry point: :func:`solve` and :func:`prepare`, with their result types.

Every method solves ``A u = b`` for a :class:`~kronpde.Problem` (any mix of
Dirichlet, Neumann, Robin and periodic faces, any shift ``c >= 0``) and
returns a :class:`Solution`: the nodal field, the unknowns and a
:class:`SolveReport`.

Methods (:data:`METHODS`):

``"fastdiag"``
    Fast diagonalization (:class:`~kronpde.solvers.fastdiag.FastDiagSolver`):
    exact, per-axis eigenpairs, for Kronecker sums.
``"direct"``
    One sparse LU factorisation (:class:`~kronpde.solvers.direct.DirectSolver`),
    refused where the estimated memory exceeds ``max_memory``.
``"cg"``
    Conjugate gradients on the matrix-free symmetric operator, with a Jacobi
    preconditioner where the diagonal is not constant (Robin faces).
``"amg-cg"``
    Conjugate gradients preconditioned by one algebraic multigrid cycle
    (:class:`~kronpde.solvers.amg.AMGPreconditioner`, pyamg hierarchy).
``"fastdiag-cg"``
    Conjugate gradients preconditioned by the exact fast-diagonalization
    solve of a constant-coefficient operator
    (:class:`~kronpde.solvers.fastdiag_pc.FastDiagPreconditioner`): for a
    variable coefficient ``k(x)``, a condition number of at most
    ``k_max / k_min`` on every grid.
``"auto"``
    ``"fastdiag"`` when ``problem.is_kronecker_sum`` (constant coefficient),
    ``"fastdiag-cg"`` for a variable coefficient, else ``"amg-cg"``; the
    report says which and why.

The iterative methods work on the symmetric system ``Â y = D b`` with
``Â = D A D^{-1}`` (SPD, or SPD semidefinite with null vector ``D·1``) and
``u = y / D``; the exact ones return the solution of the unsymmetrised system
directly.  The tolerance always refers to the unsymmetrised system (see
:meth:`PreparedSolver.solve` for the stopping rule).
"""

from __future__ import annotations

import inspect
import math
import operator
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.sparse.linalg import LinearOperator

from kronpde.errors import SolverError
from kronpde.solvers.amg import AMGPreconditioner
from kronpde.solvers.cg import cg
from kronpde.solvers.direct import DEFAULT_MAX_MEMORY, DirectSolver
from kronpde.solvers.fastdiag_pc import FastDiagPreconditioner

__all__ = ["METHODS", "PreparedSolver", "Solution", "SolveReport", "prepare", "solve"]

#: The accepted method names.
METHODS = ("auto", "cg", "amg-cg", "fastdiag-cg", "fastdiag", "direct")

#: The methods that iterate (CG with or without a preconditioner).
ITERATIVE_METHODS = ("cg", "amg-cg", "fastdiag-cg")

#: Rounds of "continue CG with a tighter internal tolerance" (see PreparedSolver.solve).
MAX_ROUNDS = 6


@dataclass(frozen=True, eq=False)
class SolveReport:
    """How a solve went.

    Attributes
    ----------
    method : str
        The method that ran (never ``"auto"``).
    requested : str
        The method asked for (possibly ``"auto"``).
    reason : str
        Why this method ran (what ``"auto"`` looked at, or "requested").
    converged : bool
        Whether the tolerance was met (exact methods: whether the result is
        finite; the tolerance is not theirs to meet).
    iterations : int
        CG iterations over all rounds (0 for ``direct`` and ``fastdiag``).
    residual_norms : ndarray
        Iterative methods: ``||D b - Â y_k||_2 = ||D (b - A u_k)||_2``, the
        residual of the symmetrised system CG works on, entry 0 the initial
        one, one entry per iteration (rounds concatenated).  Empty for
        ``direct`` and ``fastdiag``.
    relative_residual : float
        The true ``||b - A u||_2 / ||b||_2`` of the unsymmetrised system for
        the returned ``u``; for a singular problem ``b`` is the projected
        right-hand side.
    setup_seconds : float
        Wall time of :func:`prepare` (assembly, hierarchy, factorisation, eigenpairs).
    solve_seconds : float
        Wall time of this solve.
    projected_norm : float
        ``||b - b_projected||_2 / ||b||_2``: how much of ``b`` a singular
        problem's projection removed (0 for nonsingular problems).
    message : str
        One or two sentences with the numbers.
    options : dict
        The effective options of the method (defaults filled in).
    """

    method: str
    requested: str
    reason: str
    converged: bool
    iterations: int
    residual_norms: np.ndarray
    relative_residual: float
    setup_seconds: float
    solve_seconds: float
    projected_norm: float
    message: str
    options: dict = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class Solution:
    """A solved problem.

    Attributes
    ----------
    u : ndarray, shape ``grid.node_shape``
        The nodal field, Dirichlet values included (``problem.to_nodes(x)``).
    x : ndarray, shape (n,)
        The unknowns.
    report : SolveReport
        How it was obtained.
    """

    u: np.ndarray
    x: np.ndarray
    report: SolveReport


class _Jacobi(LinearOperator):
    """Diagonal preconditioner ``z = r / diag(Â)`` with ``matvec_into``."""

    def __init__(self, diagonal: np.ndarray):
        self.inverse = 1.0 / diagonal
        super().__init__(dtype=np.float64, shape=(diagonal.size, diagonal.size))

    def matvec_into(self, x: np.ndarray, out: np.ndarray) -> None:
        """Write ``x / diag`` into ``out``."""
        np.multiply(x, self.inverse, out=out)

    def _matvec(self, x):
        return np.asarray(x).reshape(-1) * self.inverse

    def _rmatvec(self, x):
        return self._matvec(x)


def _check_keys(method: str, options: Mapping[str, Any], allowed) -> None:
    unknown = [k for k in options if k not in allowed]
    if unknown:
        msg = (
            f"{method}: unknown option{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(repr(k) for k in unknown)}; the options of {method!r} are "
            f"{', '.join(allowed) if allowed else '(none)'}"
        )
        raise SolverError(msg)


class PreparedSolver:
    """A method set up once for a problem; :meth:`solve` then runs for any right-hand side.

    Made by :func:`prepare`.  Attributes: ``problem``, ``method`` (never
    ``"auto"``), ``requested``, ``reason``, ``options`` (effective),
    ``setup_seconds``, and ``backend`` (the FastDiagSolver, DirectSolver or
    AMGPreconditioner; None for ``cg``).  Not thread-safe: the multigrid
    cycle keeps work vectors.
    """

    def __init__(self, problem, method: str, requested: str, reason: str, options: dict):
        t0 = time.perf_counter()
        self.problem = problem
        self.method = method
        self.requested = requested
        self.reason = reason
        self.backend = None
        self._M = None
        self._A_hat = None
        self._A = problem.linear_operator(symmetric=False)
        options = dict(options)
        if method == "fastdiag":
            self.backend, self.options = _prepare_fastdiag(problem, options)
        elif method == "direct":
            _check_keys("direct", options, ("max_memory", "permc_spec"))
            options.setdefault("max_memory", DEFAULT_MAX_MEMORY)
            options.setdefault("permc_spec", "auto")
            self.backend = DirectSolver.from_problem(problem, **options)
            self.options = options
        elif method == "cg":
            _check_keys("cg", options, ("jacobi",))
            jacobi = options.get("jacobi", "auto")
            if jacobi not in ("auto", True, False):
                msg = f"cg: option jacobi={jacobi!r} must be 'auto', True or False"
                raise SolverError(msg)
            self._A_hat = problem.linear_operator(symmetric=True)
            diagonal = problem.diagonal()  # of Â, equal to that of A
            constant = bool(np.ptp(diagonal) <= 1e-12 * np.max(np.abs(diagonal)))
            positive = bool(np.all(diagonal > 0))
            use = positive and (jacobi is True or (jacobi == "auto" and not constant))
            if jacobi is True and not positive:
                msg = "cg: option jacobi=True needs a positive diagonal, and this one has zeros"
                raise SolverError(msg)
            self._M = _Jacobi(diagonal) if use else None
            self.options = {"jacobi": use}
            self._jacobi_note = (
                "Jacobi preconditioner used (non-constant diagonal)."
                if use and not constant
                else "Jacobi preconditioner used (requested)."
                if use
                else "No preconditioner (the diagonal of Â is constant, so Jacobi would not help)."
                if constant
                else "No preconditioner (jacobi=False)."
            )
        elif method == "fastdiag-cg":
            _check_keys("fastdiag-cg", options, ("approximation", "workers", "kernels"))
            self._A_hat = problem.linear_operator(symmetric=True)
            self.backend = FastDiagPreconditioner.from_problem(problem, **options)
            self._M = self.backend
            self.options = dict(self.backend.options)
        else:  # amg-cg
            self._A_hat = problem.linear_operator(symmetric=True)
            self.backend = AMGPreconditioner.from_problem(
                problem, options, fine_operator=self._A_hat
            )
            self._M = self.backend.operator
            self.options = dict(self.backend.options)
        self.setup_seconds = time.perf_counter() - t0

    def __repr__(self) -> str:
        return (
            f"PreparedSolver(method={self.method!r}, unknowns={self.problem.size}, "
            f"setup_seconds={self.setup_seconds:.3g})"
        )

    # -- the solve -------------------------------------------------------------------
    def solve(
        self,
        b: np.ndarray | None = None,
        *,
        x0: np.ndarray | None = None,
        rtol: float = 1e-8,
        atol: float = 0.0,
        maxiter: int | None = None,
        callback: Callable[[np.ndarray], Any] | None = None,
    ) -> Solution:
        """Solve ``A u = b`` with the prepared method.

        Parameters
        ----------
        b : ndarray, shape (n,) or ``grid.shape``, optional
            Right-hand side on the unknowns (default ``problem.rhs()``,
            evaluated at each call).  Not modified.
        x0 : ndarray, shape (n,) or ``grid.shape``, optional
            Initial guess for ``u`` on the unknowns (iterative methods; the
            exact methods ignore it).
        rtol, atol : float, optional
            Target of the iterative methods on the *unsymmetrised* residual:
            stop when ``||b - A u||_2 <= max(rtol * ||b||_2, atol)``.
        maxiter : int, optional
            Total CG iterations allowed over all rounds (default ``10 n``).
        callback : callable, optional
            ``callback(uk)`` after every CG iteration, with the current
            approximation of ``u`` on the unknowns (flat, shape (n,); u-space,
            not the symmetrised ``y``).  It is a read-only view of a work
            array: copy it to keep it.  Never called by the exact methods.

        Returns
        -------
        Solution

        Notes
        -----
        Stopping rule of ``cg``, ``amg-cg`` and ``fastdiag-cg``.  CG runs on ``Â y = D b``
        whose residual is ``D (b - A u)``, so its own test
        (``||D(b - A u)|| <= t ||D b||``, starting with ``t = max(rtol,
        atol/||b||)``) does not bound the unsymmetrised residual exactly (the
        two relative residuals differ by at most the spread of ``D``, a
        factor ``2^(d/2)`` on uniform axes).  After CG stops converged, the true
        ``||b - A u||`` is computed; if it is above the target, CG continues
        from its last iterate with ``t`` reduced by the missing factor (times
        1/2), at most :data:`MAX_ROUNDS` rounds, all within ``maxiter``
        iterations in total.  ``converged`` is True only when the true
        unsymmetrised residual meets the target.  For a singular problem
        ``b`` is first projected (``problem.project_rhs``), the target and
        the reported residual refer to the projected ``b``, and the returned
        ``u`` has zero trapezoid-weighted mean (CG keeps ``y ⟂ D·1``).

        A method that stops short (``maxiter`` reached, a breakdown) returns
        ``converged=False`` and says why in ``message``; it does not raise.

        Raises
        ------
        ValueError
            For a right-hand side or initial guess of the wrong shape or with
            NaN/infinity, or negative tolerances.
        """
        p = self.problem
        n = p.size
        b = p.rhs() if b is None else _vector(b, n, p.grid.shape, "b")
        for name, value in (("rtol", rtol), ("atol", atol)):
            if not (
                isinstance(value, (int, float, np.integer, np.floating))
                and value >= 0
                and math.isfinite(value)
            ):
                msg = f"{name} must be a finite number >= 0, got {value!r}"
                raise ValueError(msg)
        if maxiter is not None:
            maxiter = operator.index(maxiter)
            if maxiter < 0:
                msg = f"maxiter must be >= 0, got {maxiter}"
                raise ValueError(msg)
        t0 = time.perf_counter()
        b_proj, projected_norm = p.project_rhs(b)
        if self.method in ("fastdiag", "direct"):
            x = self.backend.solve(b)
            projected_norm = float(getattr(self.backend, "last_projected_norm", projected_norm))
            rel = self._relative_residual(x, b_proj)
            converged = bool(np.isfinite(rel) and np.all(np.isfinite(x)))
            iterations, norms = 0, np.empty(0)
            message = (
                f"{self.method}: exact solve, relative residual ||b - A u||/||b|| = {rel:.3e}."
                if converged
                else f"{self.method}: the solution contains NaN or infinity."
            )
        else:
            x0 = None if x0 is None else _vector(x0, n, p.grid.shape, "x0")
            x, converged, iterations, norms, rel, message = self._iterate(
                b_proj, x0, rtol, atol, maxiter, callback
            )
        report = make_report(
            self,
            converged=converged,
            iterations=iterations,
            residual_norms=norms,
            relative_residual=rel,
            solve_seconds=time.perf_counter() - t0,
            projected_norm=projected_norm,
            message=message,
        )
        return Solution(u=p.to_nodes(x), x=x, report=report)

    def _relative_residual(self, x: np.ndarray, b: np.ndarray, work: np.ndarray | None = None):
        r = np.empty_like(b) if work is None else work
        self._A.matvec_into(x, r)
        np.subtract(b, r, out=r)
        nb = float(np.linalg.norm(b))
        nr = float(np.linalg.norm(r))
        return nr / nb if nb > 0 else nr

    def _iterate(self, b, x0, rtol, atol, maxiter, callback):
        """CG on ``Â y = D b`` with the unsymmetrised stopping rule (see :meth:`solve`)."""
        p = self.problem
        n = p.size
        D = p.symmetric_scale
        nb = float(np.linalg.norm(b))
        name = self.method
        if nb == 0.0:
            return np.zeros(n), True, 0, [0.0], 0.0, f"{name}: b is zero, so u = 0."
        target = max(rtol * nb, atol)
        maxiter = 10 * n if maxiter is None else maxiter
        null = D / np.linalg.norm(D) if p.singular else None
        rhs = D * b
        y = None if x0 is None else D * x0
        cb = None
        if callback is not None:
            u_work = np.empty(n)
            u_view = u_work.view()
            u_view.flags.writeable = False

            def cb(yk):
                np.divide(yk, D, out=u_work)
                callback(u_view)

        inner = target / nb
        history: list[float] = []
        iterations = 0
        rounds = 0
        work = np.empty(n)
        res = None
        x = np.zeros(n)
        rel = 1.0
        converged = False
        while True:
            rounds += 1
            res = cg(
                self._A_hat,
                rhs,
                y,
                rtol=inner,
                atol=0.0,
                maxiter=maxiter - iterations,
                M=self._M,
                callback=cb,
                null_space=null,
            )
            iterations += res.iterations
            norms = res.residual_norms
            history.extend(norms if not history else norms[1:])
            y = res.x
            np.divide(y, D, out=x)
            p.remove_mean(x)
            rel = self._relative_residual(x, b, work)
            if rel * nb <= target:
                converged = True
                break
            if not res.converged or iterations >= maxiter or rounds >= MAX_ROUNDS:
                break
            # CG met its symmetrised test but the true residual is short of the target
            inner *= 0.5 * target / (rel * nb)
            if inner < 1e-15:
                break
        restarts = f" in {rounds} rounds (tolerance tightened)" if rounds > 1 else ""
        if name == "cg":
            precond = f" {self._jacobi_note}"
        elif name == "fastdiag-cg":
            fd = self.backend
            precond = (
                f" Preconditioner: the exact fast-diagonalization solve with k replaced by "
                f"k_ref = {fd.reference_k:.6g} (weighted geometric mean"
                f"{', sqrt(k/k_ref) scaling' if fd.approximation == 'scaled' else ''}); "
                f"contrast k_max/k_min = {fd.contrast:.3g}."
            )
        else:
            amg = self.backend
            precond = (
                f" Preconditioner: one {amg.cycle}-cycle of a {amg.levels}-level "
                f"{'smoothed aggregation' if amg.kind == 'sa' else 'Ruge-Stuben'} hierarchy "
                f"(operator complexity {amg.operator_complexity:.2f})."
            )
        if converged:
            message = (
                f"{name}: converged in {iterations} iterations{restarts}; relative residual "
                f"||b - A u||/||b|| = {rel:.3e} <= {target / nb:.3e}.{precond}"
            )
        elif not res.converged and res.status != "maxiter":
            message = f"{name}: stopped short after {iterations} iterations: {res.message}{precond}"
        elif iterations >= maxiter or res.status == "maxiter":
            message = (
                f"{name}: not converged; reached maxiter = {maxiter} iterations with relative "
                f"residual ||b - A u||/||b|| = {rel:.3e} (target {target / nb:.3e}).{precond}"
            )
        else:
            message = (
                f"{name}: not converged; CG's symmetrised test was met{restarts} but the "
                f"true relative residual {rel:.3e} stays above the target "
                f"{target / nb:.3e} (rounding limit).{precond}"
            )
        return x, converged, iterations, history, rel, message


def make_report(
    prepared,
    *,
    converged: bool,
    iterations: int,
    residual_norms,
    relative_residual: float,
    solve_seconds: float,
    projected_norm: float,
    message: str,
) -> SolveReport:
    """The :class:`SolveReport` of one solve by a prepared solver (serial or PETSc).

    ``prepared`` supplies ``method``, ``requested``, ``reason``,
    ``setup_seconds`` and ``options``; a singular problem's projection is
    appended to ``message``, and the residual history is frozen (read-only).
    """
    if projected_norm > 0.0:
        message += (
            f" The right-hand side was projected onto the range of A (singular problem); "
            f"the removed part has relative norm {projected_norm:.3e}."
        )
    norms = np.array(residual_norms, dtype=np.float64)
    norms.flags.writeable = False
    return SolveReport(
        method=prepared.method,
        requested=prepared.requested,
        reason=prepared.reason,
        converged=bool(converged),
        iterations=int(iterations),
        residual_norms=norms,
        relative_residual=float(relative_residual),
        setup_seconds=prepared.setup_seconds,
        solve_seconds=solve_seconds,
        projected_norm=float(projected_norm),
        message=message,
        options=dict(prepared.options),
    )


def _vector(v, n: int, shape: tuple[int, ...], name: str) -> np.ndarray:
    arr = np.asarray(v)
    if arr.dtype.kind not in "fiu" or not (arr.shape == (n,) or arr.shape == shape):
        msg = (
            f"{name} must be a real array of shape ({n},) or {shape}, got "
            f"{arr.dtype} of shape {arr.shape}"
        )
        raise ValueError(msg)
    arr = np.array(arr, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(arr)):
        msg = f"{name} contains NaN or infinity ({np.count_nonzero(~np.isfinite(arr))} entries)"
        raise ValueError(msg)
    return arr


def _prepare_fastdiag(problem, options: dict):
    try:
        from kronpde.solvers.fastdiag import FastDiagSolver
    except ImportError as exc:  # pragma: no cover - the module is part of the package
        msg = f"fastdiag: kronpde.solvers.fastdiag is not available ({exc})"
        raise SolverError(msg) from exc
    params = inspect.signature(FastDiagSolver.from_problem).parameters
    allowed = tuple(k for k, par in params.items() if par.kind is inspect.Parameter.KEYWORD_ONLY)
    _check_keys("fastdiag", options, allowed)
    try:
        solver = FastDiagSolver.from_problem(problem, **options)
    except (ValueError, TypeError) as exc:  # a bad option value
        msg = str(exc) if str(exc).startswith("fastdiag") else f"fastdiag: {exc}"
        raise SolverError(msg) from exc
    effective = {k: params[k].default for k in allowed}
    effective.update(options)
    methods = getattr(solver, "axis_methods", None)
    if methods is not None:
        effective["axis_methods"] = tuple(methods)
    return solver, effective


def _choose(problem, method: Any) -> tuple[str, str]:
    if not isinstance(method, str) or method not in METHODS:
        msg = f"unknown method {method!r}; the methods are {', '.join(repr(m) for m in METHODS)}"
        raise SolverError(msg)
    if method != "auto":
        return method, "requested"
    if problem.is_kronecker_sum:
        return "fastdiag", (
            "auto: the operator is a constant-coefficient Kronecker sum "
            "(problem.is_kronecker_sum), so fast diagonalization solves it exactly"
        )
    if getattr(problem, "variable_coefficient", False):
        return "fastdiag-cg", (
            "auto: the coefficient k varies in space, so the operator is not a Kronecker sum; "
            "CG preconditioned by fast diagonalization of the constant-coefficient operator "
            "(condition number at most k_max/k_min)"
        )
    return "amg-cg", "auto: the operator is not a Kronecker sum, so AMG-preconditioned CG"


def prepare(
    problem,
    method: str = "auto",
    *,
    options: Mapping[str, Any] | None = None,
    backend: str = "serial",
) -> PreparedSolver:
    """Set up a method for ``problem`` once (operator, hierarchy, factors or eigenpairs).

    Parameters
    ----------
    problem : Problem
        The problem.
    method : str, optional
        One of :data:`METHODS` (default ``"auto"``).
    options : mapping, optional
        Options of the method that runs:

        * ``cg``: ``jacobi`` (``"auto"`` default: used when ``diag(Â)`` is not
          constant; True; False);
        * ``amg-cg``: ``kind`` (``"sa"``/``"rs"``), ``cycle``
          (``"V"``/``"W"``/``"F"``), ``preconditioner``
          (``"kronpde"``/``"pyamg"``), ``seed``, and any pyamg keyword (see
          :meth:`~kronpde.solvers.amg.AMGPreconditioner.from_problem`);
        * ``direct``: ``max_memory`` (bytes or None, default 2 GiB),
          ``permc_spec``;
        * ``fastdiag``: the keyword-only options of
          ``FastDiagSolver.from_problem`` (``workers``);
        * ``fastdiag-cg``: ``approximation`` (``"mean"`` default, or
          ``"scaled"``), ``workers``, ``kernels`` (see
          :class:`~kronpde.solvers.fastdiag_pc.FastDiagPreconditioner`).
    backend : str, optional
        ``"serial"`` (default) or ``"petsc"``: the same method on PETSc, on
        every rank of an MPI program (``"amg-cg"`` or ``"cg"``; options
        ``pc``, ``petsc_options``, ``comm``, ``gather``, ``monitor``; see
        :class:`kronpde.petsc.backend.PetscSolver`).  Needs petsc4py.

    Returns
    -------
    PreparedSolver
        Call ``.solve(b)`` as often as needed.

    Raises
    ------
    SolverError
        An unknown method or option, an option value the backend rejects,
        ``direct`` on a grid whose factors would not fit.

    Examples
    --------
    >>> import numpy as np
    >>> from kronpde import Grid, Problem
    >>> p = Problem(Grid.box([32, 32]), source=1.0)
    >>> s = prepare(p, "amg-cg")
    >>> sol = s.solve(p.rhs(), rtol=1e-10)
    >>> sol.report.method, sol.report.converged, sol.u.shape
    ('amg-cg', True, (33, 33))
    >>> bool(sol.report.relative_residual <= 1e-10)
    True
    """
    if options is not None and not isinstance(options, Mapping):
        msg = f"options must be a mapping (dict), got {type(options).__name__}"
        raise SolverError(msg)
    if backend == "petsc":  # optional: petsc4py is imported there, only now
        from kronpde.petsc import prepare as prepare_petsc

        return prepare_petsc(problem, method, options=options)
    if backend != "serial":
        msg = f"unknown backend {backend!r}; the backends are 'serial' and 'petsc'"
        raise SolverError(msg)
    chosen, reason = _choose(problem, method)
    return PreparedSolver(problem, chosen, method, reason, dict(options or {}))


def solve(
    problem,
    method: str = "auto",
    *,
    rtol: float = 1e-8,
    atol: float = 0.0,
    maxiter: int | None = None,
    callback: Callable[[np.ndarray], Any] | None = None,
    options: Mapping[str, Any] | None = None,
    backend: str = "serial",
) -> Solution:
    """Solve ``problem`` with one method: ``prepare(problem, method, options).solve(...)``.

    Parameters
    ----------
    problem : Problem
        The problem; its right-hand side is ``problem.rhs()``.
    method : str, optional
        One of :data:`METHODS`; ``"auto"`` picks ``"fastdiag"`` for Kronecker
        sums, ``"fastdiag-cg"`` for a variable coefficient, else ``"amg-cg"``.
    rtol, atol : float, optional
        Target ``||b - A u||_2 <= max(rtol ||b||_2, atol)`` on the
        unsymmetrised system (iterative methods; see
        :meth:`PreparedSolver.solve` for the stopping rule).
    maxiter : int, optional
        CG iterations allowed in total (default ``10 n``).
    callback : callable, optional
        ``callback(uk)`` after each CG iteration, ``uk`` the current unknowns
        in u-space (flat, read-only view).
    options : mapping, optional
        Method options (see :func:`prepare`).
    backend : str, optional
        ``"serial"`` (default) or ``"petsc"`` (see :func:`prepare`).

    Returns
    -------
    Solution
        ``u`` (nodal field), ``x`` (unknowns), ``report`` (:class:`SolveReport`).

    Examples
    --------
    >>> import numpy as np
    >>> from kronpde import Grid, Problem
    >>> p = Problem(Grid.box([16, 16]), source=lambda x, y: 2 * np.pi**2
    ...             * np.sin(np.pi * x) * np.sin(np.pi * y))
    >>> sol = solve(p, "cg", rtol=1e-10)
    >>> sol.report.method, sol.report.converged
    ('cg', True)
    >>> bool(abs(sol.u[8, 8] - 1.0) < 1e-2)
    True
    """
    prepared = prepare(problem, method, options=options, backend=backend)
    return prepared.solve(None, rtol=rtol, atol=atol, maxiter=maxiter, callback=callback)
