"""The one entry point: :func:`prepare` and :func:`solve`, and the prepared solver they return.

:func:`solve` picks a method (:data:`~kronpde.solvers.registry.METHODS`, or
``"auto"``) and a backend, and returns a :class:`~kronpde.solvers.report.Solution`;
:class:`PreparedSolver` solves again for any right-hand side or shift.  The
methods, the symmetric system they work on and ``rtol="auto"``: ``docs/solvers.md``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from kronpde.errors import OptionError
from kronpde.problem.problem import Problem
from kronpde.problem.settings import AUTO, check_stopping
from kronpde.solvers.accuracy import exact_unknowns
from kronpde.solvers.arguments import check_vector, out_array, unknowns
from kronpde.solvers.method import Method
from kronpde.solvers.plan import SolvePlan, floor_warning, plan_solve, rounding_floor
from kronpde.solvers.registry import choose
from kronpde.solvers.report import Outcome, Solution, SolveReport, make_report
from kronpde.solvers.space import SerialSpace

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
        Wall time of the set-up (of the last one, after a :meth:`set_shift`
        that prepared the method again).
    prepared_again : bool
        Whether the last :meth:`set_shift` had to prepare the method again
        (``direct``, ``amg-cg``); False before any.

    Notes
    -----
    The hot path of a time-stepping loop: prepare once, then every step
    ``solve(b, out=u, check=False)`` (no nodal field, no residual or bound for
    the exact methods) and, when the step size changes, ``set_shift(1/dt)``.
    Operators of at least :data:`kronpde.operators.kernels.MIN_COMPILED_SIZE` unknowns
    run in the compiled kernels (:mod:`kronpde.operators.kernels`), smaller ones in NumPy.
    """

    def __init__(
        self,
        problem: Problem,
        solver: Method,
        requested: str,
        reason: str,
        setup_seconds: float,
        given_options: Mapping[str, Any] | None = None,
    ):
        self.problem = problem
        self.solver = solver
        self.method = solver.name
        self.requested = requested
        self.reason = reason
        self.options = solver.options
        self.backend = solver.backend
        self.setup_seconds = setup_seconds
        self.prepared_again = False
        self._unknowns = (problem.size, problem.grid.shape)
        self._given_options = dict(given_options or {})
        self._space = SerialSpace(problem)  # the accuracy policy's view, its estimates kept

    def __repr__(self) -> str:
        """Return a one-line summary."""
        return (
            f"PreparedSolver(method={self.method!r}, unknowns={self.problem.size}, "
            f"setup_seconds={self.setup_seconds:.3g})"
        )

    def set_shift(self, shift: float) -> bool:
        """Change the shift ``c`` of the problem, without a new set-up where the method allows it.

        ``fastdiag`` re-sums its eigenvalues (``1/(Λ + c)``, or the fourth-order
        combination ``μ(c)``: no new eigenpairs, no new transforms);
        ``fastdiag-cg`` changes the shift of its preconditioner's fast solve
        the same way and takes the operator of the shifted problem; ``cg``
        takes the shifted operator and its diagonal (its whole set-up).
        ``direct`` (the factors) and ``amg-cg`` (the hierarchy) depend on
        ``c`` throughout: they are prepared again, with the options first
        given, and :attr:`prepared_again` says so.  Everything derived from
        ``c`` follows: :attr:`problem` becomes ``problem.with_shift(shift)``
        (the data evaluated once are shared), so its certified smallest
        eigenvalue, its certifier and whether it is singular (``c = 0`` on
        pure Neumann/periodic boxes) are those of the new ``c``; the
        Richardson estimate of ``rtol="auto"`` is made again on first use.

        Parameters
        ----------
        shift : float
            The new ``c``, any finite real (the CG-type methods refuse an
            indefinite one: :mod:`kronpde.solvers.indefinite`).

        Returns
        -------
        bool
            True where the set-up was kept (only what depends on ``c`` was
            recomputed), False where the method was prepared again.

        Raises
        ------
        DataError
            For a shift that is not a finite number (nothing changes).
        SolverError
            Where the shifted operator cannot be solved by the method (e.g. a
            fourth-order operator that is no longer positive definite);
            nothing changes.

        Examples
        --------
        Backward Euler, ``(I/dt - Δ) u_new = u/dt``, with a step size that changes:

        >>> from kronpde import Grid, Problem
        >>> p = Problem(Grid.box([32, 32]), shift=100.0)
        >>> s = prepare(p, "fastdiag")
        >>> s.set_shift(50.0), s.problem.shift
        (True, 50.0)
        """
        problem = self.problem.with_shift(shift)
        t0 = time.perf_counter()
        kept = self.solver.set_shift(problem)
        if not kept:
            solver = type(self.solver)(problem, **self._given_options)
            self.setup_seconds = time.perf_counter() - t0
            self.solver = solver
            self.options = solver.options
            self.backend = solver.backend
        self.problem = problem
        self.prepared_again = not kept
        self._space = SerialSpace(problem)
        return kept

    def solve(
        self,
        b: np.ndarray | None = None,
        *,
        out: np.ndarray | None = None,
        check: bool = True,
        x0: np.ndarray | None = None,
        rtol: float | str = 1e-8,
        atol: float = 0.0,
        maxiter: int | None = None,
        callback: Callable[[np.ndarray], Any] | None = None,
        monitor: Callable[[int, float], Any] | None = None,
        exact: Any = None,
        estimate: bool | None = None,
        dirichlet: Any = None,
    ) -> Solution:
        """Solve ``A u = b`` with the prepared method.

        Parameters
        ----------
        b : ndarray, shape (n,) or ``grid.shape``, optional
            Right-hand side on the unknowns (default ``problem.rhs()``).
            Not modified.
        out : ndarray, shape (n,) or ``grid.shape``, optional
            A C-contiguous float64 array that receives the unknowns ``u``
            (it may be ``b`` itself, which is then read first).  The
            solution's ``x`` is then a flat view of it and ``u`` is None: no
            nodal field is built (``problem.to_nodes(out)`` builds it).
        check : bool, optional
            True (default): the report carries the residual and the certified
            algebraic error bound, and ``b`` is scanned for NaN/infinity.
            False, for a time-stepping loop: the exact methods (``fastdiag``,
            ``direct``) compute neither the residual nor the bound
            (``relative_residual`` NaN, ``algebraic_error_bound`` None,
            ``checked`` False, and the message says so) and do not scan
            ``b`` or ``u`` for NaN/infinity; ``fastdiag`` then also leaves the
            projection of a singular problem's data to its own dropping of the
            zero mode, unmeasured (``projected_norm`` NaN).  The iterative
            methods still compute the residual their stopping rule needs, but
            not the bound (except with ``rtol="auto"``, whose stopping rule is
            the bound).
        x0 : ndarray, shape (n,) or ``grid.shape``, optional
            Initial guess for ``u`` on the unknowns (iterative methods; the
            exact methods ignore it).
        rtol, atol : float, optional
            Target of the iterative methods on the *unsymmetrised* residual:
            stop when ``||b - A u||_2 <= max(rtol * ||b||_2, atol)``.
            ``rtol="auto"``: stop instead when the certified algebraic error
            is at most a tenth of the estimated discretisation error (see
            Notes; ``atol`` is then not used).
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
            progress lines, e.g. :class:`~kronpde.solvers.progress.ProgressLines`.
        exact : number, str, callable or ndarray, optional
            A known solution of the continuous problem (an expression string,
            a callable ``u(x, y, ...)``, or values on the nodes or the
            unknowns): the discretisation error is then estimated against it
            (``||u - u_exact||_W``) instead of by Richardson extrapolation.
        estimate : bool, optional
            Estimate the discretisation error: None (default) when
            ``rtol="auto"`` or ``exact`` is given; True always (a numeric
            ``rtol`` then gets a warning if the algebraic error bound exceeds
            the estimate); False never (not with ``rtol="auto"``).
        dirichlet : Problem or ndarray, optional
            New boundary data: the Dirichlet values the returned nodal field
            carries, where ``b`` lifts other data than the prepared problem's
            (``b = q.rhs()`` of a problem ``q`` on the same grid and operator
            whose faces' values changed): ``q`` itself, or an array of
            :attr:`Grid.point_shape` (``q.grid.dirichlet_nodes()[0]``).
            Default: the prepared problem's.

        Returns
        -------
        Solution
            Its report carries ``algebraic_error_bound``, ``warnings`` and,
            when an estimate was made, ``discretisation_error`` and
            ``discretisation_estimate``.

        Notes
        -----
        The stopping rule of ``cg``, ``amg-cg`` and ``fastdiag-cg`` is in
        :mod:`kronpde.solvers.rounds`: ``converged`` is True only when the true
        unsymmetrised residual meets the target.  For a singular problem ``b``
        is first projected (``problem.project_rhs``), the target and the
        reported residual refer to the projected ``b``, and the returned ``u``
        has zero trapezoid-weighted mean.

        ``rtol="auto"`` (:mod:`kronpde.solvers.accuracy`): the discretisation
        error is estimated from ``exact`` or, for the problem's own right-hand
        side, by Richardson extrapolation against the grid with half the cells
        per axis (solved once, to round-off, and kept); at each residual check
        the iteration stops when ``algebraic_error_bound <= 0.1 *
        discretisation_error`` (both in the ``W`` norm), or at the rounding
        limit of float64 (``converged`` stays True and ``warnings`` say so).
        Where no estimate can be made it falls back to ``rtol = 1e-10`` and
        says so in ``warnings``.

        A method that stops short (``maxiter`` reached, a breakdown) returns
        ``converged=False`` and says why in ``message``; it does not raise.

        The steps: the arguments are checked, ``b`` is projected, the plan of
        the solve is made (:func:`kronpde.solvers.plan.plan_solve`: the
        estimate, the goal or target, the warnings of a fallback; the PETSc
        backend makes the same), the method runs, the result is certified and
        worded, and the report and the solution are made.

        Raises
        ------
        OptionError
            For a right-hand side, ``out``, initial guess or exact solution of
            the wrong shape or (with ``check``) with NaN/infinity, or bad
            tolerances (a ``ValueError``).

        Examples
        --------
        A time step into a preallocated array, without the residual check:

        >>> import numpy as np
        >>> from kronpde import Grid, Problem
        >>> p = Problem(Grid.box([16, 16]), source=1.0, shift=10.0)
        >>> s = prepare(p, "fastdiag")
        >>> u = np.zeros(p.grid.shape)
        >>> sol = s.solve(p.rhs(), out=u, check=False)
        >>> sol.u is None, np.shares_memory(sol.x, u), sol.report.algebraic_error_bound
        (True, True, None)
        >>> bool(np.allclose(p.operator() @ sol.x, p.rhs()))
        True
        """
        p = self.problem
        rtol, atol, maxiter = check_stopping(rtol, atol, maxiter, estimate)
        # b may be overwritten where the method solves in place and nothing reads b after
        keep = check or rtol == AUTO or bool(estimate) or exact is not None
        b, given, x_out = self._arguments(b, out, check, keep)
        values = None if dirichlet is None else self._dirichlet_values(dirichlet)
        x0 = None if x0 is None else check_vector(x0, *self._unknowns, "x0")
        exact_x = None if exact is None else exact_unknowns(p, exact)
        t0 = time.perf_counter()
        lean = not self.solver.iterative and not check  # no residual, no bound, no scan of u
        b_proj, projected_norm = self._project(b, lean)
        nb = math.nan if lean else float(np.linalg.norm(b_proj))
        rtol, raised = self._rounding_floor(rtol)
        t_plan = time.perf_counter()
        plan = plan_solve(
            self._space,
            b_proj,
            rtol=rtol,
            atol=atol,
            nb=nb,
            estimate=estimate,
            exact=exact_x,
            own_rhs=lambda: not given or bool(np.array_equal(b, p.rhs_values.reshape(-1))),
            iterative=self.solver.iterative,
        )
        estimate_seconds = time.perf_counter() - t_plan if plan.estimator is not None else 0.0
        if raised:
            plan.warnings.insert(0, raised)
        outcome = self._run(b_proj, x_out, x0, plan, maxiter, callback, monitor, check)
        if projected_norm is None:
            projected_norm = 0.0 if outcome.projected_norm is None else outcome.projected_norm
        certificate = outcome.certificate
        if certificate is None and (check or rtol == AUTO):
            certificate = p.error_bound(outcome.x, b_proj)
        rel, converged, message = self._exact_residual(outcome, certificate, nb, lean)
        solve_seconds = time.perf_counter() - t0 - estimate_seconds
        t_est = time.perf_counter()
        u = None
        if x_out is None and plan.estimator is not None:  # the field once, for both
            u = p.to_nodes(outcome.x, values)
            self._space.nodal = (outcome.x, u)
            t_est = time.perf_counter()  # the field is the solution's, not the estimate's
        try:
            accuracy = plan.conclude(
                outcome.x,
                certificate,
                message,
                outcome.warnings,
                said=lean,
                exact=not self.solver.iterative,
                converged=converged,
            )
        finally:
            self._space.nodal = None
        if plan.estimator is not None:
            estimate_seconds += time.perf_counter() - t_est
        report = make_report(
            self,
            converged=converged,
            iterations=outcome.iterations,
            residual_norms=outcome.residual_norms,
            relative_residual=rel,
            solve_seconds=solve_seconds,
            projected_norm=projected_norm,
            estimate_seconds=estimate_seconds,
            **accuracy,
        )
        if u is None and x_out is None:
            u = p.to_nodes(outcome.x, values)
        return self._solution(outcome.x, x_out, report, u)

    def _dirichlet_values(self, dirichlet: Any) -> np.ndarray:
        """Return the Dirichlet values of the nodal field (``solve``'s ``dirichlet``)."""
        p = self.problem
        if dirichlet is None:
            return p.data.dirichlet_values
        if isinstance(dirichlet, Problem):
            if dirichlet.grid.point_shape != p.grid.point_shape:
                msg = (
                    f"dirichlet: a problem on a grid of point shape "
                    f"{dirichlet.grid.point_shape}, not this solver's {p.grid.point_shape}"
                )
                raise OptionError(msg)
            return dirichlet.data.dirichlet_values
        values = np.asarray(dirichlet, dtype=float)
        if values.shape != p.grid.point_shape:
            msg = (
                f"dirichlet: expected a Problem or an array of the point shape "
                f"{p.grid.point_shape}, got shape {values.shape}"
            )
            raise OptionError(msg)
        return values

    def _rounding_floor(self, rtol: float | str) -> tuple[float | str, str]:
        """Return ``rtol`` raised to the rounding floor of an iterative method, and why.

        A relative residual below :func:`~kronpde.solvers.plan.rounding_floor`
        cannot be shown by a residual computed in float64: an iterative method
        would run to ``maxiter`` chasing it.
        """
        if rtol == AUTO or not self.solver.iterative or rtol == 0.0 or rtol >= 1e-9:
            return rtol, ""
        floor = rounding_floor(self.problem)
        if rtol >= floor:
            return rtol, ""
        return floor, floor_warning(rtol, floor)

    def _arguments(
        self, b: np.ndarray | None, out: np.ndarray | None, check: bool, keep: bool = True
    ) -> tuple[np.ndarray, bool, np.ndarray | None]:
        """Return ``b`` checked (flat), whether it was given, and the flat ``out`` (or None).

        ``b`` is copied where ``out`` shares its memory, unless nothing reads ``b`` after
        the solve (not ``keep``) and the method solves in place (its ``in_place``).
        """
        n, shape = self._unknowns  # the grid's, read once (a property of its axes)
        if check is not True and check is not False:
            msg = f"check must be True or False, got {check!r}"
            raise OptionError(msg)
        given = b is not None
        if not given:
            b = self.problem.rhs_values.reshape(-1)
        elif check:
            b = check_vector(b, n, shape, "b")
        else:
            b = unknowns(b, n, shape, "b")
        x_out = None if out is None else out_array(out, n, shape)
        in_place = not keep and getattr(self.solver, "in_place", False)
        if x_out is not None and np.may_share_memory(x_out, b) and not in_place:
            b = b.copy()  # the methods read b after they start writing u
        return b, given, x_out

    def _project(self, b: np.ndarray, lean: bool) -> tuple[np.ndarray, float | None]:
        """Return ``b`` projected (singular problems) and the part removed (None: not yet)."""
        if lean and self.problem.singular and self.solver.projects:
            return b, None  # the method drops the null mode itself
        return self._space.project(b)

    def _run(
        self,
        b: np.ndarray,
        x_out: np.ndarray | None,
        x0: np.ndarray | None,
        plan: SolvePlan,
        maxiter: int | None,
        callback: Callable[[np.ndarray], Any] | None,
        monitor: Callable[[int, float], Any] | None,
        check: bool,
    ) -> Outcome:
        """Run the method to the plan's goal or target."""
        extra: dict[str, Any] = {} if plan.goal is None else {"goal": plan.goal}
        if not check:
            extra["check"] = False
        return self.solver.solve(
            b,
            out=x_out,
            x0=x0,
            target=plan.target,
            maxiter=maxiter,
            callback=callback,
            monitor=monitor,
            **extra,
        )

    def _exact_residual(
        self, outcome: Outcome, certificate: Any, nb: float, lean: bool
    ) -> tuple[float, bool, str]:
        """Return the relative residual, convergence and sentence (an exact method's own)."""
        rel, message, converged = outcome.relative_residual, outcome.message, outcome.converged
        if rel is not None and not lean:  # an iterative method: its own
            return rel, converged, message
        about = self.solver.describe()
        about = f" {about}" if about else ""
        if lean:  # an exact method, unchecked: no residual, no bound
            message = (
                f"{self.method}: exact solve; the residual, the error bound and the finiteness "
                "of u were not computed (check=False)." + about
            )
            return math.nan, converged, message
        # an exact method: the residual shows its rounding level
        rel = certificate.residual_norm / nb if nb > 0.0 else certificate.residual_norm
        converged = converged and math.isfinite(rel)
        message = (
            f"{self.method}: exact solve, relative residual ||b - A u||/||b|| = {rel:.3e}." + about
            if converged
            else f"{self.method}: the solution contains NaN or infinity."
        )
        return rel, converged, message

    def _solution(
        self,
        x: np.ndarray,
        x_out: np.ndarray | None,
        report: SolveReport,
        u: np.ndarray | None = None,
    ) -> Solution:
        """Return the :class:`Solution`: into ``out`` without a nodal field, or with one."""
        if x_out is not None:
            if x is not x_out:  # a method that returned its own array
                np.copyto(x_out, x)
            return Solution(u=None, x=x_out, report=report)
        return Solution(u=self.problem.to_nodes(x) if u is None else u, x=x, report=report)


def prepare(
    problem: Problem,
    method: str = "auto",
    *,
    options: Mapping[str, Any] | None = None,
    backend: str = "serial",
    comm: Any = None,
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
        * ``direct``: ``max_memory`` (bytes, None, or ``"auto"``, the
          default: half the memory the system reports as available),
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
    comm : mpi4py communicator, optional
        With more than one rank, ``"fastdiag"`` (or ``"auto"`` where it is
        exact) is the distributed exact solve
        (:class:`kronpde.solvers.pencil.prepared.DistributedFastDiag`: each
        rank's block in and out); with ``backend="petsc"`` it is the option ``comm``.

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
    if getattr(problem, "is_complex", False):  # a ComplexProblem: its own methods
        from kronpde.solvers.complex_solve import prepare_complex

        return prepare_complex(problem, method, backend=backend, comm=comm)
    if not isinstance(problem, Problem):
        msg = f"problem must be a kronpde.Problem, got {type(problem).__name__}"
        raise OptionError(msg)
    if options is not None and not isinstance(options, Mapping):
        msg = f"options must be a mapping (dict), got {type(options).__name__}"
        raise OptionError(msg)
    if comm is not None and backend == "petsc":
        options = {**dict(options or {}), "comm": comm}
    elif comm is not None:  # several ranks: the distributed exact solve (None on one rank)
        from kronpde.solvers.pencil.prepared import prepare_distributed

        distributed = prepare_distributed(problem, method, comm, options)
        if distributed is not None:
            return distributed
    if backend == "petsc":  # optional: petsc4py is imported there, only now
        from kronpde.solvers.petsc import prepare as prepare_petsc

        return prepare_petsc(problem, method, options=options)
    if backend != "serial":
        msg = f"unknown backend {backend!r}; the backends are {', '.join(map(repr, BACKENDS))}"
        raise OptionError(msg)
    cls, reason = choose(problem, method)
    t0 = time.perf_counter()
    solver = cls(problem, **dict(options or {}))
    return PreparedSolver(
        problem, solver, method, reason, time.perf_counter() - t0, given_options=options
    )


def solve(
    problem: Problem,
    method: str = "auto",
    *,
    rtol: float | str = 1e-8,
    atol: float = 0.0,
    maxiter: int | None = None,
    callback: Callable[[np.ndarray], Any] | None = None,
    monitor: Callable[[int, float], Any] | None = None,
    options: Mapping[str, Any] | None = None,
    backend: str = "serial",
    exact: Any = None,
    estimate: bool | None = None,
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
        :meth:`PreparedSolver.solve` for the stopping rule).  ``rtol="auto"``
        stops at a tenth of the estimated discretisation error instead.
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
    exact, estimate : optional
        A known solution to estimate the discretisation error against, and
        whether to estimate it (see :meth:`PreparedSolver.solve`).

    Returns
    -------
    Solution
        ``u`` (nodal field), ``x`` (unknowns), ``report`` (:class:`SolveReport`,
        with the certified ``algebraic_error_bound`` and ``warnings``).

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

    With ``rtol="auto"`` CG stops at a tenth of the discretisation error (here
    estimated by Richardson extrapolation against the 8 x 8 grid):

    >>> sol = solve(p, "cg", rtol="auto")
    >>> r = sol.report
    >>> r.discretisation_estimate, bool(r.algebraic_error_bound <= 0.1 * r.discretisation_error)
    ('richardson', True)
    """
    prepared = prepare(problem, method, options=options, backend=backend)
    extra: dict[str, Any] = {}  # only when given: the PETSc backend's solve has neither
    if exact is not None:
        extra["exact"] = exact
    if estimate is not None:
        extra["estimate"] = estimate
    return prepared.solve(
        None, rtol=rtol, atol=atol, maxiter=maxiter, callback=callback, monitor=monitor, **extra
    )
