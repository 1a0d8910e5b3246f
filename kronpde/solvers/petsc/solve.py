"""The solve of a PETSc solver: its arguments, the plan of the solve, the rounds of KSP.

:class:`PetscSolve` is the part of :class:`~kronpde.solvers.petsc.backend.PetscSolver`
that solves: each rank takes its block of ``b``, the plan of the solve comes
from :func:`kronpde.solvers.plan.plan_solve` (the serial driver's), KSP runs
the rounds of :class:`KspRounds` (a :class:`~kronpde.solvers.runner.RoundRunner`),
and the solution is gathered.  :class:`RankReductions` are the sums over the
ranks that the plan and the estimates ask for.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from kronpde.errors import OptionError, SolverError
from kronpde.problem.settings import check_stopping
from kronpde.solvers.estimate import ROUNDOFF_RTOL, Goal
from kronpde.solvers.petsc.estimates import local_exact
from kronpde.solvers.petsc.floor import accept_floor, raise_to_floor
from kronpde.solvers.petsc.setup import options_scope
from kronpde.solvers.plan import plan_solve
from kronpde.solvers.progress import ProgressLines
from kronpde.solvers.report import Outcome, Solution, make_report
from kronpde.solvers.rounds import Round
from kronpde.solvers.runner import RoundRunner
from kronpde.solvers.space import Reductions

if TYPE_CHECKING:
    from kronpde.problem.protocol import SolvableProblem

__all__ = ["KspRounds", "PetscSolution", "PetscSolve", "RankReductions", "petsc_message"]


def petsc_message(exc: Exception) -> str:
    """Return a PETSc error's message on one line."""
    return " ".join(str(exc).split())


def _reason_name(PETSc: Any, reason: int) -> str:
    for key, value in vars(PETSc.KSP.ConvergedReason).items():
        if value == reason and not key.startswith("_"):
            return f"{key} ({reason})"
    return str(reason)


@dataclass(frozen=True, eq=False)
class PetscSolution(Solution):
    """A :class:`~kronpde.solvers.report.Solution` from the PETSc backend, on one rank.

    ``u`` (nodal field) and ``x`` (unknowns) are the gathered global arrays on
    the ranks that receive them (``options["gather"]``: rank 0 by default,
    every rank with ``"all"``) and None elsewhere; ``report`` is the same on
    every rank.

    Attributes
    ----------
    local : ndarray
        This rank's block of the unknowns, shape ``grid.shape[box]``.
    box : tuple of slice
        Where ``local`` sits in the array of unknowns (shape ``grid.shape``).
    rank, ranks : int
        This rank and the size of the communicator.
    """

    local: np.ndarray | None = None
    box: tuple[slice, ...] = ()
    rank: int = 0
    ranks: int = 1


class RankReductions(Reductions):
    """Sums over the ranks of each rank's part (PETSc's vector sums and norms, MPI's allreduce).

    Parameters
    ----------
    solver : PetscSolver
        The set-up solver (its DMDA and a work vector).
    """

    def __init__(self, solver: Any):
        self.solver = solver

    def sum(self, values: np.ndarray) -> float:
        """Return the sum over all ranks of each rank's ``values`` (length: owned unknowns)."""
        work = self.solver._work
        work.array[:] = values
        return float(work.sum())

    def norm(self, values: np.ndarray) -> float:
        """Return the 2-norm over all ranks of each rank's ``values``."""
        work = self.solver._work
        work.array[:] = values
        return float(work.norm())

    def dot(self, a: np.ndarray, b: np.ndarray) -> float:
        """Return ``a · b`` over all ranks."""
        return self.allreduce(float(a @ b))

    def squares(self, values: np.ndarray, weights: np.ndarray | None = None) -> float:
        """Return ``Σ values²`` (``Σ weights values²``) over all ranks."""
        local = values @ values if weights is None else weights @ (values * values)
        return self.allreduce(float(local))

    def largest(self, values: np.ndarray) -> float:
        """Return the largest of every rank's ``values`` (``-inf`` for none at all)."""
        return self.allreduce(float(np.max(values, initial=-np.inf)), "max")

    def allreduce(self, value: float, op: str = "sum") -> float:
        """Return ``value`` summed (``op="sum"``) or maximised (``"max"``) over all ranks."""
        from mpi4py import MPI

        comm = self.solver._da.getComm().tompi4py()
        return float(comm.allreduce(value, op={"sum": MPI.SUM, "max": MPI.MAX}[op]))


class KspRounds(RoundRunner):
    """The rounds of KSP on ``Â y = D b`` (the solver's vectors), for :class:`RoundRunner`.

    Parameters
    ----------
    solver : PetscSolver
        The set-up solver, its ``D b`` in place.
    x, b, nb
        As :class:`~kronpde.solvers.runner.RoundRunner`.
    warm : bool
        Whether ``y`` holds an initial guess already.
    """

    def __init__(self, solver: Any, x: np.ndarray, b: np.ndarray, nb: float, warm: bool):
        ksp = solver._ksp
        note = f"KSP {ksp.getType()}, PC {ksp.getPC().getType()}, {solver.ranks} rank(s)."
        super().__init__(
            solver._D,
            solver.remove_mean,
            solver.certify,
            name=solver.method,
            x=x,
            b=b,
            nb=nb,
            note=note,
        )
        self.solver = solver
        self.warm = warm

    def run_round(self, rtol: float, atol: float, left: int, warm: bool) -> Round:
        """Run KSP from the current ``y`` (the monitors count on from :attr:`offset`)."""
        s = self.solver
        PETSc = s._PETSc
        ksp = s._ksp
        ksp.setInitialGuessNonzero(self.warm or warm)
        ksp.setTolerances(rtol=rtol, atol=atol, max_it=left)
        ksp.setConvergenceHistory(reset=True)
        s._iteration_offset = self.offset
        with options_scope(PETSc, s._database):  # the viewers of petsc_options
            ksp.solve(s._bhat, s._y)
        its = ksp.getIterationNumber()
        reason = ksp.getConvergedReason()
        status = (
            "converged"
            if reason > 0
            else "maxiter"
            if reason == PETSc.KSP.ConvergedReason.DIVERGED_MAX_IT
            else "diverged"
        )
        detail = f"KSP converged reason {_reason_name(PETSc, reason)}."
        return Round(reason > 0, its, list(ksp.getConvergenceHistory()), status, detail)

    def iterate(self) -> np.ndarray:
        """Return this rank's ``y``."""
        return self.solver._y.array


class PetscSolve:
    """The solve of :class:`~kronpde.solvers.petsc.backend.PetscSolver` (module docstring)."""

    problem: SolvableProblem
    method: str
    _PETSc: Any

    # -- the monitors and the arguments -----------------------------------------------------
    def _ksp_monitor(self, ksp, its: int, rnorm: float) -> None:
        if its == 0 or (self._callback is None and self._monitor is None):
            return
        iteration = self._iteration_offset + its
        if self._callback is not None:
            y = ksp.buildSolution()
            u = (np.asarray(y.array) / self._D).reshape(self.local_shape)
            u.flags.writeable = False
            self._callback(u)
        if self._monitor is not None:
            self._monitor(iteration, float(rnorm) / self._norm_bhat)

    def _local_vector(self, v, name: str) -> np.ndarray:
        """Return this rank's block of a global array of shape (n,) or ``grid.shape``."""
        p = self.problem
        n = p.size
        arr = np.asarray(v)
        if arr.dtype.kind not in "fiu" or not (arr.shape == (n,) or arr.shape == p.grid.shape):
            msg = (
                f"{name} must be a real array of shape ({n},) or {p.grid.shape} (the global "
                f"array, the same on every rank), got {arr.dtype} of shape {arr.shape}"
            )
            raise OptionError(msg)
        local = np.array(arr.reshape(p.grid.shape)[self.box], dtype=np.float64)
        bad = int(self.reductions.sum((~np.isfinite(local)).reshape(-1).astype(float)))
        if bad:
            msg = f"{name} contains NaN or infinity ({bad} entries)"
            raise OptionError(msg)
        return local

    def _as_monitor(self, monitor: Any) -> Callable[[int, float], Any] | None:
        """Return a ``monitor(iteration, relative)`` from a stream (rank 0 prints) or a callable."""
        if monitor is None or callable(monitor):
            return monitor
        return ProgressLines(monitor if self.rank == 0 else None)

    # -- the solve ---------------------------------------------------------------------
    def solve(
        self,
        b: np.ndarray | None = None,
        *,
        x0: np.ndarray | None = None,
        rtol: float | str = 1e-8,
        atol: float = 0.0,
        maxiter: int | None = None,
        callback: Callable[[np.ndarray], Any] | None = None,
        monitor: Any = None,
        exact: Any = None,
        estimate: bool | None = None,
    ) -> PetscSolution:
        """Solve ``A u = b`` (collective).

        Parameters
        ----------
        b : ndarray, shape (n,) or ``grid.shape``, optional
            The global right-hand side, the same on every rank (each rank
            takes its block).  Default: ``problem.rhs(box=...)`` evaluated on
            each rank's box only.
        x0 : ndarray, shape (n,) or ``grid.shape``, optional
            Global initial guess for ``u``.
        rtol, atol : float, optional
            Target ``||b - A u||_2 <= max(rtol ||b||_2, atol)`` on the
            unsymmetrised system (the rule of :mod:`kronpde.solvers.rounds`).
            ``rtol="auto"``: stop when the certified algebraic error is at most
            a tenth of the estimated discretisation error, as the serial methods
            (:meth:`kronpde.solvers.driver.PreparedSolver.solve`); the estimate
            and the bound are computed over the ranks
            (:mod:`kronpde.solvers.petsc.estimates`).
        maxiter : int, optional
            CG iterations allowed over all rounds (default ``10 n``).
        callback : callable, optional
            ``callback(u_local)`` after every iteration on every rank, with
            this rank's block of the current ``u`` (read-only, shape of the
            rank's box).
        monitor : text stream or callable, optional
            As the option ``monitor`` (which it replaces for this solve).
        exact : number, str, callable or ndarray, optional
            A known solution: the discretisation error is estimated against
            it, ``||u - u_exact||_W``; each rank evaluates it on its own
            unknowns (an array: the global array, each rank takes its part).
        estimate : bool, optional
            As for the serial solve: None (default) estimates with
            ``rtol="auto"`` or ``exact``; True always (Richardson: one PETSc
            solve of the grid with half the cells, on the same ranks); False never.

        Returns
        -------
        PetscSolution

        Raises
        ------
        OptionError
            For a right-hand side, initial guess or exact solution of the wrong
            shape or not finite, or bad tolerances (a ``ValueError``).
        SolverError
            If PETSc fails.
        """
        rtol, atol, maxiter = check_stopping(rtol, atol, maxiter, estimate)
        if monitor is not None:
            self._monitor = self._as_monitor(monitor)
        p = self.problem
        if b is None:
            b_local, own_rhs = self._b_local.copy(), True
        else:
            b_local = self._local_vector(b, "b").reshape(-1)
            same = bool(np.array_equal(b_local, self._b_local))
            own_rhs = self.allreduce(0.0 if same else 1.0, "max") == 0.0
        x0_local = None if x0 is None else self._local_vector(x0, "x0").reshape(-1)
        exact_local = None if exact is None else local_exact(self, exact)
        t0 = time.perf_counter()
        try:
            b_proj, projected = self.project(b_local)
            nb = self.reductions.norm(b_proj)
            floor, below = raise_to_floor(self, rtol)  # the serial floor, tried last (below)
            plan = plan_solve(
                self,
                b_proj,
                rtol=rtol,
                atol=atol,
                nb=nb,
                estimate=estimate,
                exact=exact_local,
                own_rhs=lambda: own_rhs,
                iterative=True,
            )
            outcome = self._iterate(b_proj, x0_local, plan.target, plan.goal, maxiter, callback)
            if below:
                outcome = accept_floor(outcome, floor, below, plan.warnings)
            certificate = outcome.certificate
            if certificate is None:
                certificate = self.certify(outcome.x, b_proj)
            fields = plan.conclude(outcome.x, certificate, outcome.message, outcome.warnings)
        except self._PETSc.Error as exc:
            msg = f"petsc backend: PETSc failed during the solve: {petsc_message(exc)}"
            raise SolverError(msg) from exc
        solve_seconds = time.perf_counter() - t0
        x_local = outcome.x
        x = self._gather(x_local)
        report = make_report(
            self,
            converged=outcome.converged,
            iterations=outcome.iterations,
            residual_norms=outcome.residual_norms,
            relative_residual=outcome.relative_residual,
            solve_seconds=solve_seconds,
            projected_norm=projected,
            **fields,
        )
        return PetscSolution(
            u=None if x is None else p.to_nodes(x),
            x=x,
            report=report,
            local=x_local.reshape(self.local_shape),
            box=self.box,
            rank=self.rank,
            ranks=self.ranks,
        )

    def _iterate(
        self,
        b: np.ndarray,
        x0: np.ndarray | None,
        target: float,
        goal: Goal | None,
        maxiter: int | None,
        callback: Callable[[np.ndarray], Any] | None,
    ) -> Outcome:
        """Run KSP on ``Â y = D b`` (``b`` projected): the rounds of a target, or of a goal."""
        D = self._D
        x = np.zeros_like(b)
        nb = self.reductions.norm(b)
        if nb == 0.0:
            return Outcome(x, True, 0, [0.0], 0.0, f"{self.method}: b is zero, so u = 0.")
        maxiter = 10 * self.problem.size if maxiter is None else maxiter
        self._bhat.array[:] = D * b
        self._norm_bhat = float(self._bhat.norm()) or 1.0
        if x0 is None:
            self._y.set(0.0)
        else:
            self._y.array[:] = D * x0
        self._callback = callback
        try:
            return KspRounds(self, x, b, nb, x0 is not None).solve(target, goal, maxiter)
        finally:
            self._callback = None

    def iterate_to(self, b: np.ndarray, x0: np.ndarray | None, goal: Goal | None) -> np.ndarray:
        """Solve ``A x = b`` (projected) by KSP to ``ROUNDOFF_RTOL``, or to ``goal``."""
        maxiter = 10 * self.problem.size
        return self._iterate(b, x0, ROUNDOFF_RTOL, goal, maxiter, None).x.copy()

    # -- the solution ---------------------------------------------------------------------
    def _natural(self, x_local: np.ndarray):
        """Return the unknowns in PETSc's natural ordering (kronpde's C order), distributed."""
        self._work.array[:] = x_local
        natural = self._da.createNaturalVec()
        self._da.globalToNatural(self._work, natural)
        return natural

    def _gather(self, x_local: np.ndarray) -> np.ndarray | None:
        """Return the global unknowns in C order on the receiving ranks (None elsewhere)."""
        if self.gather == "none":
            return None
        PETSc = self._PETSc
        natural = self._natural(x_local)
        if self.gather == "all":
            scatter, out = PETSc.Scatter.toAll(natural)
        else:
            scatter, out = PETSc.Scatter.toZero(natural)
        scatter.scatter(natural, out, addv=PETSc.InsertMode.INSERT, mode=PETSc.ScatterMode.FORWARD)
        x = np.array(out.array, dtype=np.float64) if out.getSize() and out.getLocalSize() else None
        scatter.destroy()
        out.destroy()
        natural.destroy()
        return x
