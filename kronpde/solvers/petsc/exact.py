"""``fastdiag`` on the PETSc backend: the distributed exact solve, on a DMDA of its own blocks.

:class:`PetscFastDiag` is what ``prepare(problem, "fastdiag", backend="petsc")``
(and ``"auto"`` for a problem the fast solve solves exactly) returns: the
pencil solve of :class:`~kronpde.solvers.pencil.prepared.DistributedFastDiag`
plus a DMDA created with the solver's ownership ranges, so that the DMDA's
blocks *are* the solver's (no scatter), for what the PETSc path does around a
solve: the pieces of a parallel output, the reductions of the command line, a
gathered solution.  No matrix is assembled and no Krylov iteration runs.  A 1-D
problem is solved on rank 0 (the DMDA keeps PETSc's split: each rank's block
goes to rank 0 and back, one line of unknowns).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from kronpde.errors import OptionError, SolverError
from kronpde.solvers.arguments import check_choice, check_option_keys
from kronpde.solvers.pencil.prepared import OPTIONS as FAST_OPTIONS
from kronpde.solvers.pencil.prepared import DistributedFastDiag
from kronpde.solvers.petsc.estimates import local_exact
from kronpde.solvers.petsc.options import GATHERS, parse_petsc_options
from kronpde.solvers.petsc.pieces import PetscPieces
from kronpde.solvers.petsc.residual import GhostKroneckerSum, ghost_operator
from kronpde.solvers.petsc.setup import PetscSetUp, assembly_of
from kronpde.solvers.petsc.solve import PetscSolution, PetscSolve, RankReductions

__all__ = ["OPTIONS", "PetscFastDiag"]

#: The options of ``fastdiag`` on the PETSc backend.
OPTIONS = ("comm", "gather", "monitor", "petsc_options", *FAST_OPTIONS)


class PetscFastDiag(PetscSetUp, PetscSolve, PetscPieces):
    """The distributed exact solve on PETSc's ranks (collective; prepare once, solve often).

    Made by :meth:`from_problem`.  :meth:`solve` takes and returns this rank's
    block (``box``, ``local_shape``), as :class:`DistributedFastDiag` does, and
    gathers the solution as :class:`~kronpde.solvers.petsc.backend.PetscSolver`
    does (option ``gather``).

    Attributes
    ----------
    fast : DistributedFastDiag
        The pencil solve.
    decomposition : str
        ``"serial"``, ``"one rank"``, ``"slab"`` or ``"pencil"``.
    """

    method = "fastdiag"

    def __init__(self) -> None:  # use from_problem
        self.problem = None

    @classmethod
    def from_problem(
        cls,
        problem: Any,
        *,
        options: Mapping[str, Any] | None = None,
        requested: str = "fastdiag",
        reason: str = "requested",
    ) -> PetscFastDiag:
        """Build the pencil solve, its DMDA and this rank's block of ``b`` (collective).

        Raises
        ------
        SolverError
            If ``fastdiag`` cannot solve the problem exactly (naming
            ``fastdiag-cg``), the ranks do not fit the grid, or mpi4py-fft is
            missing (:class:`~kronpde.solvers.pencil.PencilUnavailableError`).
        OptionError
            For an unknown option or a bad value.
        """
        from kronpde.solvers.petsc.backend import import_petsc

        options = dict(options or {})
        check_option_keys("petsc backend: fastdiag", options, OPTIONS)
        gather = options.get("gather", "root")
        check_choice("petsc backend", "gather", gather, GATHERS)
        parse_petsc_options(options.get("petsc_options"))  # checked; no KSP to reach
        assembly_of(problem)  # the backend's discretisations only, refused before PETSc
        t0 = time.perf_counter()
        PETSc = import_petsc()
        self = cls()
        self._PETSc = PETSc
        self.problem = problem
        self.gather = gather
        self.requested, self.reason = requested, reason
        comm = options.get("comm")
        self.comm = PETSc.COMM_WORLD if comm is None else comm
        mpi = self.comm.tompi4py() if hasattr(self.comm, "tompi4py") else self.comm
        self._mpi = mpi
        fast_options = {k: options[k] for k in FAST_OPTIONS if k in options}
        self.fast = DistributedFastDiag(
            problem, mpi, requested=requested, reason=reason, **fast_options
        )
        self.decomposition = self.fast.decomposition
        self._one_rank = self.decomposition == "one rank"
        ownership = None if self._one_rank else self.fast.pencil.ownership_ranges()
        # a box stencil: the ghosted block holds the fourth-order rows' neighbours and a
        # piece's shared layer (edges and corners on pencils)
        self._create_dmda(ownership, compact=True)
        if not self._one_rank and self.box != self.fast.box:  # pragma: no cover - a bug
            msg = f"petsc backend: the DMDA's block {self.box} is not the solver's {self.fast.box}"
            raise SolverError(msg)
        self._work = self._da.createGlobalVec()
        self.reductions = RankReductions(self)
        self._operator = ghost_operator(self)  # the residual and the bound (None: order 4)
        self.fast.own_rhs()  # this rank's data, checked over the ranks, before any solve
        self.fast.options.update(
            backend="petsc", pc=None, ksp_type="none", pc_type="none", gather=gather
        )
        self.options = self.fast.options
        self.setup_seconds = self.fast.setup_seconds = time.perf_counter() - t0
        return self

    # -- a 1-D problem: the DMDA's blocks to rank 0 and back ---------------------------------
    def _to_solver(self, local: np.ndarray) -> np.ndarray:
        """Return this rank's DMDA block as the solver's block (rank 0 gets the whole line)."""
        if not self._one_rank:
            return local
        parts = self._mpi.gather(np.asarray(local, dtype=float).reshape(-1), root=0)
        return np.concatenate(parts) if self.rank == 0 else np.zeros(0)

    def _from_solver(self, block: np.ndarray) -> np.ndarray:
        """Return the solver's block as this rank's DMDA block (rank 0 sends each its part)."""
        if not self._one_rank:
            return block.reshape(-1)
        boxes = self._mpi.gather((self.lo[0], self.hi[0]), root=0)
        parts = [block[lo:hi] for lo, hi in boxes] if self.rank == 0 else None
        return np.asarray(self._mpi.scatter(parts, root=0), dtype=float)

    # -- shift and solve -------------------------------------------------------------------
    def set_shift(self, shift: float) -> bool:
        """Change ``c`` (collective; transforms and layouts kept), as ``DistributedFastDiag``."""
        kept = self.fast.set_shift(shift)
        self.problem = self.fast.problem
        return kept

    def own_rhs(self) -> np.ndarray:
        """Return a copy of this rank's block of the problem's own ``b`` (flat)."""
        if self._one_rank:
            return self._from_solver(self.fast.own_rhs().reshape(-1)).copy()
        return self.fast.own_rhs().reshape(-1).copy()

    def solve(
        self,
        b: np.ndarray | None = None,
        *,
        out: np.ndarray | None = None,
        check: bool = True,
        exact: Any = None,
        **stopping: Any,
    ) -> PetscSolution:
        """Solve ``A u = b`` exactly, given and returning this rank's block (collective).

        Parameters
        ----------
        b : ndarray, optional
            This rank's block (``local_shape`` or flat); default the problem's own.
        out : ndarray, optional
            C-contiguous float64 array of ``b``'s shape for this rank's ``u``
            (not with a 1-D problem on several ranks).
        check : bool
            As :meth:`DistributedFastDiag.solve`.
        exact : number, str, callable or ndarray, optional
            A known solution (an array: the global one, each rank reads its
            part): the report's ``discretisation_error`` is ``||u - u_exact||_W``.
        **stopping
            ``rtol``, ``atol``, ``maxiter`` (checked), ``x0``, ``callback``,
            ``monitor``, ``estimate`` (unused by an exact solve).

        Returns
        -------
        PetscSolution
            ``local`` this rank's block; ``x`` and ``u`` gathered as option
            ``gather`` says.
        """
        exact_local = None if exact is None else local_exact(self, exact)
        if self._one_rank:
            if out is not None:
                msg = "out= is not taken for a 1-D problem on several ranks (rank 0 solves it)"
                raise OptionError(msg)
            b = None if b is None else self._to_solver(np.asarray(b))
            exact_local = None if exact_local is None else self._to_solver(exact_local)
        b_mine = self.own_rhs() if b is None else np.asarray(b, dtype=float).reshape(-1)
        if self._one_rank and b is not None:
            b_mine = self._from_solver(b)  # this rank's DMDA block of the gathered b
        sol = self.fast.solve(b, out=out, check=check, exact=exact_local, **stopping)
        x_local = self._from_solver(sol.x) if self._one_rank else sol.x
        report = sol.report
        if check and report.converged and self._operator is not None:
            report = self._checked(report, x_local, b_mine)
        x = self._gather(x_local)
        return PetscSolution(
            u=None if x is None else self.problem.to_nodes(x),
            x=x,
            report=report,
            local=x_local.reshape(self.local_shape),
            box=self.box,
            rank=self.rank,
            ranks=self.ranks,
        )

    def field_piece(self, x_local: np.ndarray, box: tuple[slice, ...]) -> np.ndarray:
        """Return the field on a box of points: from one ghost update where it holds them.

        As :meth:`~kronpde.solvers.petsc.pieces.PetscPieces.field_piece` (one
        PETSc scatter from the natural ordering) elsewhere.
        """
        ghost = self._operator or GhostKroneckerSum(self)
        piece = ghost.piece(np.asarray(x_local).reshape(-1), box)
        reached = self.allreduce(0.0 if piece is None else 1.0, "sum") == self.ranks
        if reached:
            return piece
        return PetscPieces.field_piece(self, x_local, box)

    def _checked(self, report: Any, x: np.ndarray, b: np.ndarray) -> Any:
        """Return ``report`` with the residual and the certified bound of ``x`` (collective)."""
        if self.problem.singular:  # as serially: the residual of the projected b
            w = self.problem.weights((self.lo, self.hi)).reshape(-1)
            b = b - self.reductions.sum(w * b) / self.reductions.sum(w)
        cert = self._operator.certify(x, b)
        nb = self.reductions.norm(b)
        rel = cert.residual_norm / nb if nb > 0.0 else cert.residual_norm
        if not math.isfinite(rel):
            return report
        bound = "" if cert.bound is None else f", certified error bound {cert.bound:.3e}"
        message = report.message.replace(
            " The residual and the certified bound are not computed on the distributed path.",
            f" Relative residual ||b - A u||/||b|| = {rel:.3e}{bound} (matrix-free, over "
            "the ranks).",
        )
        return dataclasses.replace(
            report, relative_residual=rel, algebraic_error_bound=cert.bound, message=message
        )

    def close(self) -> None:
        """Free the transposes' MPI resources and the DMDA (collective)."""
        self.fast.close()
        self._work.destroy()
        self._da.destroy()

    def __repr__(self) -> str:
        """Return a one-line summary."""
        return (
            f"PetscFastDiag(unknowns={self.problem.size}, ranks={self.ranks}, "
            f"decomposition={self.decomposition!r}, setup_seconds={self.setup_seconds:.3g})"
        )
