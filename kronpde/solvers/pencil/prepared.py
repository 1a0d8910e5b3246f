"""The distributed exact solve as a prepared solver: each rank's block in, its block out.

:class:`DistributedFastDiag` is what ``prepare(problem, "fastdiag", comm=comm)``
returns on a communicator of several ranks (and what the PETSc backend's
``fastdiag`` wraps): a :class:`~kronpde.solvers.pencil.PencilFastDiag` with the
prepared solver's ``solve(b, out=, check=)`` and ``set_shift``, and a
:class:`~kronpde.solvers.report.SolveReport` of iterations 0.  Each rank
evaluates its own block of the problem's right-hand side only
(``problem.rhs(box)``, the ranks' data checks merged), and a simulation keeps
its data distributed between steps: ``b`` and ``u`` are this rank's blocks.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from kronpde.errors import OptionError
from kronpde.geometry.boundary import DataSurvey
from kronpde.problem.settings import check_stopping
from kronpde.solvers.pencil.solver import PencilFastDiag
from kronpde.solvers.report import Solution, make_report

__all__ = ["OPTIONS", "DistributedFastDiag", "DistributedSolution", "prepare_distributed"]

#: The options of the distributed exact solve (those of the serial ``fastdiag``).
OPTIONS = ("workers", "kernels", "force_eigh")


@dataclass(frozen=True, eq=False)
class DistributedSolution(Solution):
    """A :class:`~kronpde.solvers.report.Solution` of one rank: ``x`` is its block (flat).

    ``u`` is None (no rank builds the nodal field of the grid); ``local`` is
    ``x`` in the block's shape and ``box`` where it lies in ``grid.shape``.
    """

    local: np.ndarray | None = None
    box: tuple[slice, ...] = ()
    rank: int = 0
    ranks: int = 1


class DistributedFastDiag:
    """``fastdiag`` on the ranks of ``comm``, each with its block (collective; prepare once).

    Parameters
    ----------
    problem : Problem
        A problem ``fastdiag`` solves exactly (built with ``check=False`` on
        large grids, so that no rank evaluates the whole grid's data).
    comm : mpi4py.MPI.Comm
        The ranks.
    requested, reason : str
        The method asked for and why this one ran (for the report).
    workers, kernels, force_eigh
        As for :class:`~kronpde.solvers.pencil.PencilFastDiag`.

    Attributes
    ----------
    pencil : PencilFastDiag
        The distributed solve.
    box : tuple of slice
        This rank's block in ``grid.shape`` (``pencil.local_slices``).
    local_shape : tuple of int
        Its shape.
    decomposition : str
        ``"serial"``, ``"one rank"`` (a 1-D problem), ``"slab"`` or ``"pencil"``.
    options : dict
        ``ranks``, ``decomposition``, ``process_grid``, ``transposes`` and the
        fast solve's options.

    Raises
    ------
    SolverError
        If ``fastdiag`` cannot solve the problem exactly (the message names
        ``fastdiag-cg``), or the ranks do not fit the grid.
    PencilUnavailableError
        If mpi4py-fft is missing (the message says how to install it).
    """

    method = "fastdiag"
    iterative = False

    def __init__(
        self,
        problem: Any,
        comm: Any,
        *,
        requested: str = "fastdiag",
        reason: str = "requested",
        **options: Any,
    ):
        t0 = time.perf_counter()
        unknown = sorted(set(options) - set(OPTIONS))
        if unknown:
            msg = (
                f"fastdiag on several ranks: unknown option(s) {', '.join(map(repr, unknown))}; "
                f"it takes {', '.join(map(repr, OPTIONS))}"
            )
            raise OptionError(msg)
        self.problem = problem
        self.comm = comm
        self.requested = requested
        self.reason = reason
        if "workers" not in options:  # one rank: every core; several: the ranks fill them
            size = 1 if comm is None else comm.Get_size()
            options["workers"] = (os.cpu_count() or 1) if size == 1 else 1
        self.pencil = PencilFastDiag(problem, comm, **options)
        self.rank, self.ranks = self.pencil.rank, self.pencil.ranks
        self.box = self.pencil.local_slices
        self.local_shape = self.pencil.local_shape
        self.decomposition = self.pencil.decomposition
        self.options = {
            "ranks": self.ranks,
            "layout": self._layout(),
            "decomposition": self.decomposition,
            "process_grid": list(self.pencil.dims),
            "transposes": self.pencil.transposes,
            "workers": self.pencil.workers,
            "kernels": list(self.pencil.axis_kernels),
        }
        self._b_own: np.ndarray | None = None
        self.setup_seconds = time.perf_counter() - t0

    def _layout(self) -> str:
        """Say in a few words how the grid lies on the ranks (the summary's line)."""
        grid, n = "x".join(map(str, self.pencil.dims)), self.pencil.transposes
        return {
            "serial": "one rank, no transposes",
            "one rank": "a 1-D problem, solved on one rank (rank 0)",
            "slab": f"slabs, {grid} process grid, {n} transpose each way",
            "pencil": f"pencils, {grid} process grid, {n} transposes each way",
        }[self.decomposition]

    # -- the ranks -------------------------------------------------------------------------
    def allreduce(self, value: float, op: str = "sum") -> float:
        """Return ``value`` summed (``"sum"``) or maximised (``"max"``) over the ranks."""
        if self.comm is None or self.ranks == 1:
            return float(value)
        from mpi4py import MPI

        return float(self.comm.allreduce(value, op={"sum": MPI.SUM, "max": MPI.MAX}[op]))

    def _merge(self, survey: DataSurvey) -> DataSurvey:
        """Return every rank's data survey merged (collective)."""
        if self.comm is None or self.ranks == 1:
            return survey
        return DataSurvey.merged(self.comm.allgather(survey))

    def own_rhs(self) -> np.ndarray:
        """Return this rank's block of the problem's ``b`` (evaluated once, on the block only).

        Raises
        ------
        DataError
            On every rank, if the data are bad on some rank's block.
        """
        if self._b_own is None:
            lo = tuple(s.start for s in self.box)
            hi = tuple(s.stop for s in self.box)
            if 0 in self.local_shape:  # a rank that holds nothing (a 1-D problem's others)
                self.problem.rhs(box=self._rank0_box(), merge=self._merge)
                self._b_own = np.zeros(self.local_shape)
            else:
                self._b_own = self.problem.rhs(box=(lo, hi), merge=self._merge)
            self.problem.check_faces()
        return self._b_own

    def _rank0_box(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """Return a box of one unknown (a rank that holds nothing still joins the checks)."""
        d = len(self.local_shape)
        return (0,) * d, (1,) * d

    # -- shift and solve ---------------------------------------------------------------------
    def set_shift(self, shift: float) -> bool:
        """Change ``c`` (collective): the eigenvalue sums again, transforms and layouts kept.

        Returns
        -------
        bool
            True: the set-up was kept (as the serial ``fastdiag``).

        Raises
        ------
        DataError
            For a shift that is not a finite number ``>= 0``.
        SolverError
            If the shifted operator cannot be solved (nothing changes).
        """
        problem = self.problem.with_shift(shift)
        self.pencil.set_shift(float(problem.shift))
        self.problem = problem
        return True

    def solve(
        self,
        b: np.ndarray | None = None,
        *,
        out: np.ndarray | None = None,
        check: bool = True,
        rtol: float | str = 1e-8,
        atol: float = 0.0,
        maxiter: int | None = None,
        exact: np.ndarray | None = None,
        **ignored: Any,
    ) -> DistributedSolution:
        """Solve ``A u = b`` exactly, given and returning this rank's block (collective).

        Parameters
        ----------
        b : ndarray, shape :attr:`local_shape` or flat, optional
            This rank's block of ``b`` (default: the problem's own, evaluated
            on the block).  Not modified.
        out : ndarray, optional
            C-contiguous float64 array of ``b``'s shape for this rank's ``u``.
        check : bool
            True: ``b`` and ``u`` are checked for NaN/infinity over the ranks
            and a singular problem's removed part is measured; False (a
            time-stepping loop): neither.
        rtol, atol, maxiter
            Checked as serially; an exact solve needs none of them.
        exact : ndarray, optional
            The exact solution at this rank's unknowns: the report's
            ``discretisation_error`` is ``||u - u_exact||_W`` over the ranks.
        **ignored
            ``x0``, ``callback``, ``monitor``, ``estimate``: what an exact
            solve does not use (accepted as serially).

        Returns
        -------
        DistributedSolution
            ``x`` this rank's block (a flat view of ``out`` when given), ``u``
            None; a report of iterations 0 whose ``relative_residual`` is NaN
            and ``algebraic_error_bound`` None (not computed on several ranks).

        Raises
        ------
        OptionError
            For a ``b`` of another shape, or (``check``) one with NaN/infinity.
        """
        if check is not True and check is not False:
            msg = f"check must be True or False, got {check!r}"
            raise OptionError(msg)
        check_stopping(rtol, atol, maxiter, ignored.get("estimate"))
        t0 = time.perf_counter()
        src = self.own_rhs() if b is None else self._block(b, "b")
        if check and b is not None:
            bad = self.allreduce(float(np.count_nonzero(~np.isfinite(src))))
            if bad:
                msg = f"b contains NaN or infinity ({int(bad)} entries)"
                raise OptionError(msg)
        given = np.asarray(b if b is not None else src)
        dst = None if out is None else self._out(out, given.shape)
        x = self.pencil.solve(src.reshape(self.local_shape), out=dst, record=check)
        flat = x.reshape(-1)
        converged = True
        if check:
            converged = not self.allreduce(float(np.count_nonzero(~np.isfinite(flat))), "max")
        projected = self.pencil.last_projected_norm
        error = None
        if exact is not None and converged:
            error = self._exact_error(flat, np.asarray(exact, dtype=float).reshape(-1))
        report = make_report(
            self,
            converged=converged,
            iterations=0,
            residual_norms=[],
            relative_residual=math.nan,
            solve_seconds=time.perf_counter() - t0,
            projected_norm=projected,
            message=self._message(converged),
            discretisation_error=error,
            discretisation_estimate=None if error is None else "exact",
            checked=check,
        )
        return DistributedSolution(
            u=None,
            x=flat,
            report=report,
            local=x.reshape(self.local_shape),
            box=self.box,
            rank=self.rank,
            ranks=self.ranks,
        )

    def _message(self, converged: bool) -> str:
        if not converged:
            return "fastdiag: the solution contains NaN or infinity."
        return (
            f"fastdiag: exact solve, no iteration. {self.pencil.describe()} The residual and "
            "the certified bound are not computed on the distributed path."
        )

    def _exact_error(self, x: np.ndarray, exact: np.ndarray) -> float:
        """``||x - u_exact||_W`` over the ranks (modulo constants for a singular problem)."""
        lo = tuple(s.start for s in self.box)
        hi = tuple(s.stop for s in self.box)
        w = self.problem.weights((lo, hi)).reshape(-1) if x.size else np.zeros(0)
        d = x - exact
        if self.pencil.singular:
            d -= self.allreduce(float(w @ d)) / self.allreduce(float(w.sum()))
        return math.sqrt(max(self.allreduce(float(np.einsum("i,i,i->", w, d, d))), 0.0))

    def _block(self, b: Any, name: str) -> np.ndarray:
        arr = np.asarray(b)
        size = math.prod(self.local_shape)
        if arr.dtype.kind not in "fiu" or arr.shape not in ((size,), self.local_shape):
            msg = (
                f"{name} must be this rank's block, a real array of shape {self.local_shape} "
                f"or ({size},) on rank {self.rank}, got {arr.dtype} of shape {arr.shape}"
            )
            raise OptionError(msg)
        return np.asarray(arr, dtype=np.float64)

    def _out(self, out: Any, shape: tuple[int, ...]) -> np.ndarray:
        if (
            not isinstance(out, np.ndarray)
            or out.shape != shape
            or out.dtype != np.float64
            or not out.flags.c_contiguous
        ):
            msg = f"out must be a C-contiguous float64 array of shape {shape} (this rank's block)"
            raise OptionError(msg)
        return out.reshape(self.local_shape)

    def describe(self) -> str:
        """Say how the grid is laid out over the ranks."""
        return self.pencil.describe()

    def close(self) -> None:
        """Free the transposes' MPI resources (collective)."""
        self.pencil.close()

    def __repr__(self) -> str:
        """Return a one-line summary."""
        return (
            f"DistributedFastDiag(unknowns={self.problem.size}, ranks={self.ranks}, "
            f"decomposition={self.decomposition!r}, setup_seconds={self.setup_seconds:.3g})"
        )


def prepare_distributed(
    problem: Any, method: str, comm: Any, options: Any = None
) -> DistributedFastDiag | None:
    """``prepare(problem, method, comm=comm)``: the distributed exact solve (None on one rank).

    Parameters
    ----------
    problem : Problem
        The problem.
    method : str
        ``"fastdiag"``, or ``"auto"`` for a problem it solves exactly.
    comm : mpi4py.MPI.Comm
        The ranks (an object with ``Get_size``; a petsc4py communicator is
        converted with ``tompi4py``).
    options : mapping, optional
        ``workers``, ``kernels``, ``force_eigh``.

    Returns
    -------
    DistributedFastDiag or None
        None for a communicator of one rank (the serial solver then runs).

    Raises
    ------
    OptionError
        For another method (the iterative ones run on several ranks with
        ``backend="petsc"``) or an unknown option.
    SolverError
        If ``fastdiag`` cannot solve the problem exactly, or mpi4py-fft is missing.
    """
    if hasattr(comm, "tompi4py"):
        comm = comm.tompi4py()
    if not hasattr(comm, "Get_size"):
        msg = f"comm must be an mpi4py (or petsc4py) communicator, got {type(comm).__name__}"
        raise OptionError(msg)
    if comm.Get_size() == 1:
        return None
    obstacle = problem.discretisation.distributed_fast_obstacle()
    if method not in ("fastdiag", "auto") or (method == "auto" and obstacle is not None):
        msg = (
            f"prepare(..., comm=) on {comm.Get_size()} ranks runs 'fastdiag' (the distributed "
            f"exact solve), not {method!r} here; the iterative methods run on several ranks "
            "with backend='petsc'"
        )
        raise OptionError(msg)
    reason = "requested" if method == "fastdiag" else "auto: the distributed exact solve"
    return DistributedFastDiag(
        problem, comm, requested=method, reason=reason, **dict(options or {})
    )
