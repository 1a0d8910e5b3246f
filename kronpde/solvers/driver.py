"""The one entry point: :func:`prepare` and :func:`solve`, and the prepared solver they return.

Every method solves ``A u = b`` for a :class:`~kronpde.Problem` (any mix of
Dirichlet, Neumann, Robin and periodic faces, any shift ``c >= 0``) and
returns a :class:`~kronpde.solvers.result.Solution`: the nodal field, the
unknowns and a :class:`~kronpde.solvers.result.SolveReport`.

Methods (:data:`~kronpde.solvers.registry.METHODS`, each one class with the
interface of :mod:`kronpde.solvers.method`):

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
    The first of ``"fastdiag"``, ``"fastdiag-cg"``, ``"amg-cg"`` that accepts
    the problem; the report says which and why.

The iterative methods work on the symmetric system ``Â y = D b`` with
``Â = D A D^{-1}`` (SPD, or SPD semidefinite with null vector ``D·1``) and
``u = y / D``; the exact ones return the solution of the unsymmetrised system
directly.  The tolerance always refers to the unsymmetrised system (the
stopping rule is in :mod:`kronpde.solvers.result`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from kronpde.errors import OptionError
from kronpde.problem import Problem
from kronpde.settings import check_maxiter, check_tolerance
from kronpde.solvers.method import Method
from kronpde.solvers.registry import choose
from kronpde.solvers.result import Solution, check_vector, make_report

__all__ = ["BACKENDS", "PreparedSolver", "prepare", "solve"]

#: Where a method runs: ``"serial"`` (this process) or ``"petsc"`` (every rank of an MPI job).
BACKENDS = ("serial", "petsc")


class PreparedSolver:
    """A method set up once for a problem; :meth:`solve` then runs for any right-hand side.

    Made by :func:`prepare`.  Not thread-safe: the methods keep work arrays.

    Attributes
    ----------
    problem : Problem
        The problem.
    solver : Method
        The prepared method.
    method : str
        Its name (never ``"auto"``).
    requested, reason : str
        The method asked for, and why this one ran.
    options : dict
        The method's effective options.
    backend : object or None
        What does the work (``solver.backend``: a FastDiagSolver, DirectSolver,
        AMG or fast-diagonalization preconditioner; None for ``cg``).
    setup_seconds : float
        Wall time of the set-up.
    """

    def __init__(
        self, problem: Problem, solver: Method, requested: str, reason: str, setup_seconds: float
    ):
        self.problem = problem
        self.solver = solver
        self.method = solver.name
        self.requested = requested
        self.reason = reason
        self.options = solver.options
        self.backend = solver.backend
        self.setup_seconds = setup_seconds

    def __repr__(self) -> str:
        """Return a one-line summary."""
        return (
            f"PreparedSolver(method={self.method!r}, unknowns={self.problem.size}, "
            f"setup_seconds={self.setup_seconds:.3g})"
        )

    def solve(
        self,
        b: np.ndarray | None = None,
        *,
        x0: np.ndarray | None = None,
        rtol: float = 1e-8,
        atol: float = 0.0,
        maxiter: int | None = None,
        callback: Callable[[np.ndarray], Any] | None = None,
        monitor: Callable[[int, float], Any] | None = None,
    ) -> Solution:
        """Solve ``A u = b`` with the prepared method.

        Parameters
        ----------
        b : ndarray, shape (n,) or ``grid.shape``, optional
            Right-hand side on the unknowns (default ``problem.rhs()``).
            Not modified.
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
        monitor : callable, optional
            ``monitor(iteration, relative_residual)`` after every CG iteration,
            with CG's own ``||D(b - A u_k)|| / ||D b||`` (no extra work): for
            progress lines, e.g. :class:`~kronpde.solvers.result.ProgressLines`.

        Returns
        -------
        Solution

        Notes
        -----
        The stopping rule of ``cg``, ``amg-cg`` and ``fastdiag-cg`` is in
        :mod:`kronpde.solvers.result`: ``converged`` is True only when the true
        unsymmetrised residual meets the target.  For a singular problem ``b``
        is first projected (``problem.project_rhs``), the target and the
        reported residual refer to the projected ``b``, and the returned ``u``
        has zero trapezoid-weighted mean.

        A method that stops short (``maxiter`` reached, a breakdown) returns
        ``converged=False`` and says why in ``message``; it does not raise.

        Raises
        ------
        OptionError
            For a right-hand side or initial guess of the wrong shape or with
            NaN/infinity, or bad tolerances (a ``ValueError``).
        """
        p = self.problem
        n = p.size
        b = p.rhs_values.reshape(-1) if b is None else check_vector(b, n, p.grid.shape, "b")
        rtol = check_tolerance(rtol, "rtol")
        atol = check_tolerance(atol, "atol")
        maxiter = check_maxiter(maxiter)
        x0 = None if x0 is None else check_vector(x0, n, p.grid.shape, "x0")
        t0 = time.perf_counter()
        b_proj, projected_norm = p.project_rhs(b)
        nb = float(np.linalg.norm(b_proj))
        target = max(rtol, atol / nb) if nb > 0.0 else rtol
        outcome = self.solver.solve(
            b_proj, x0=x0, target=target, maxiter=maxiter, callback=callback, monitor=monitor
        )
        x = outcome.x
        rel, message, converged = outcome.relative_residual, outcome.message, outcome.converged
        if rel is None:  # an exact method: the residual shows its rounding level
            rel = p.relative_residual(x, b_proj)
            converged = converged and math.isfinite(rel)
            about = self.solver.describe()
            message = (
                f"{self.method}: exact solve, relative residual ||b - A u||/||b|| = {rel:.3e}."
                + (f" {about}" if about else "")
                if converged
                else f"{self.method}: the solution contains NaN or infinity."
            )
        report = make_report(
            self,
            converged=converged,
            iterations=outcome.iterations,
            residual_norms=outcome.residual_norms,
            relative_residual=rel,
            solve_seconds=time.perf_counter() - t0,
            projected_norm=projected_norm,
            message=message,
        )
        return Solution(u=p.to_nodes(x), x=x, report=report)


def prepare(
    problem: Problem,
    method: str = "auto",
    *,
    options: Mapping[str, Any] | None = None,
    backend: str = "serial",
) -> Any:
    """Set up a method for ``problem`` once (operator, hierarchy, factors or eigenpairs).

    Parameters
    ----------
    problem : Problem
        The problem.
    method : str, optional
        One of :data:`~kronpde.solvers.registry.METHODS` (default ``"auto"``).
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
        * ``fastdiag``: ``workers``, ``force_eigh``, ``kernels`` (see
          :class:`~kronpde.solvers.fastdiag.FastDiagSolver`);
        * ``fastdiag-cg``: ``approximation`` (``"mean"`` default, or
          ``"scaled"``), ``workers``, ``kernels`` (see
          :class:`~kronpde.solvers.fastdiag_pc.FastDiagPreconditioner`).
    backend : str, optional
        ``"serial"`` (default) or ``"petsc"``: the same method on PETSc, on
        every rank of an MPI program (``"amg-cg"`` or ``"cg"``; options
        ``pc``, ``petsc_options``, ``comm``, ``gather``, ``monitor``; see
        :class:`kronpde.solvers.petsc.backend.PetscSolver`).  Needs petsc4py.

    Returns
    -------
    PreparedSolver
        Call ``.solve(b)`` as often as needed (the PETSc backend returns its
        own prepared solver with the same ``solve``).

    Raises
    ------
    OptionError
        An unknown method, backend or option, or an option value kronpde rejects.
    SolverError
        A method that cannot solve this problem (``fastdiag`` with a variable
        ``k``, ``direct`` on a grid whose factors would not fit), or a library
        failure.

    Examples
    --------
    >>> from kronpde import Grid, Problem
    >>> p = Problem(Grid.box([32, 32]), source=1.0)
    >>> s = prepare(p, "amg-cg")
    >>> sol = s.solve(p.rhs(), rtol=1e-10)
    >>> sol.report.method, sol.report.converged, sol.u.shape
    ('amg-cg', True, (33, 33))
    >>> bool(sol.report.relative_residual <= 1e-10)
    True
    """
    if not isinstance(problem, Problem):
        msg = f"problem must be a kronpde.Problem, got {type(problem).__name__}"
        raise OptionError(msg)
    if options is not None and not isinstance(options, Mapping):
        msg = f"options must be a mapping (dict), got {type(options).__name__}"
        raise OptionError(msg)
    if backend == "petsc":  # optional: petsc4py is imported there, only now
        from kronpde.solvers.petsc import prepare as prepare_petsc

        return prepare_petsc(problem, method, options=options)
    if backend != "serial":
        msg = f"unknown backend {backend!r}; the backends are {', '.join(map(repr, BACKENDS))}"
        raise OptionError(msg)
    cls, reason = choose(problem, method)
    t0 = time.perf_counter()
    solver = cls(problem, **dict(options or {}))
    return PreparedSolver(problem, solver, method, reason, time.perf_counter() - t0)


def solve(
    problem: Problem,
    method: str = "auto",
    *,
    rtol: float = 1e-8,
    atol: float = 0.0,
    maxiter: int | None = None,
    callback: Callable[[np.ndarray], Any] | None = None,
    monitor: Callable[[int, float], Any] | None = None,
    options: Mapping[str, Any] | None = None,
    backend: str = "serial",
) -> Solution:
    """Solve ``problem`` with one method: ``prepare(problem, method, options).solve(...)``.

    Parameters
    ----------
    problem : Problem
        The problem; its right-hand side is ``problem.rhs()``.
    method : str, optional
        One of :data:`~kronpde.solvers.registry.METHODS`; ``"auto"`` picks
        ``"fastdiag"`` for Kronecker sums, ``"fastdiag-cg"`` for a variable
        coefficient.
    rtol, atol : float, optional
        Target ``||b - A u||_2 <= max(rtol ||b||_2, atol)`` on the
        unsymmetrised system (iterative methods; see
        :meth:`PreparedSolver.solve` for the stopping rule).
    maxiter : int, optional
        CG iterations allowed in total (default ``10 n``).
    callback : callable, optional
        ``callback(uk)`` after each CG iteration, ``uk`` the current unknowns
        in u-space (flat, read-only view).
    monitor : callable, optional
        ``monitor(iteration, relative_residual)`` after each CG iteration.
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
    >>> p = Problem(Grid.box([16, 16]), source="2*pi**2*sin(pi*x)*sin(pi*y)")
    >>> sol = solve(p, "cg", rtol=1e-10)
    >>> sol.report.method, sol.report.converged
    ('cg', True)
    >>> bool(abs(sol.u[8, 8] - 1.0) < 1e-2)
    True
    """
    prepared = prepare(problem, method, options=options, backend=backend)
    return prepared.solve(
        None, rtol=rtol, atol=atol, maxiter=maxiter, callback=callback, monitor=monitor
    )
