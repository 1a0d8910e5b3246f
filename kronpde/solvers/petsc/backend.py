"""PETSc backend: :class:`PetscSolver`, a DMDA over the unknowns, rows per rank, KSPCG.

The only kronpde module that imports petsc4py (when a solve is prepared).  The
solver is its set-up (:mod:`~kronpde.solvers.petsc.setup`), its solve
(:mod:`~kronpde.solvers.petsc.solve`) and the pieces of a parallel output
(:mod:`~kronpde.solvers.petsc.pieces`); the accuracy policy is the serial one
(:mod:`kronpde.solvers.plan`), fed with the sums over the ranks.  Layout,
assembly, system and stopping rule: ``docs/petsc.md``.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from kronpde.errors import OptionError, SolverError
from kronpde.problem.certify import gamma, residual_terms
from kronpde.solvers.arguments import check_choice, check_option_keys
from kronpde.solvers.indefinite import definite_refusal
from kronpde.solvers.petsc.estimates import (
    DistributedCertifier,
    Restriction,
    coarse_ownership,
)
from kronpde.solvers.petsc.options import (
    GATHERS,
    INSTALL_HINT,
    METHODS,
    PCS,
    PetscUnavailableError,
    default_pc,
    parse_petsc_options,
    refusal,
)
from kronpde.solvers.petsc.pieces import PetscPieces
from kronpde.solvers.petsc.setup import PetscSetUp, assembly_of
from kronpde.solvers.petsc.solve import PetscSolution, PetscSolve, RankReductions, petsc_message
from kronpde.solvers.registry import METHODS as SERIAL_METHODS
from kronpde.solvers.space import SolveSpace

if TYPE_CHECKING:
    from kronpde.problem.certify import Certificate, EigenvalueBound
    from kronpde.problem.protocol import SolvableProblem

__all__ = ["OPTIONS", "PetscSolution", "PetscSolver", "import_petsc"]

#: The options of the PETSc backend (see :class:`PetscSolver`).
OPTIONS = ("pc", "petsc_options", "comm", "gather", "monitor")

#: Preconditioners per method; the first is the default.


def import_petsc():
    """Import and initialise petsc4py; return its ``PETSc`` module.

    petsc4py is initialised without the command line (kronpde's own
    arguments are not PETSc options) unless the caller has initialised it
    already.  PETSc options are passed through ``options["petsc_options"]``.

    Raises
    ------
    PetscUnavailableError
        If petsc4py (or the PETSc/MPI libraries it links) cannot be loaded.
    """
    try:
        import petsc4py

        if "petsc4py.PETSc" not in sys.modules:
            petsc4py.init(["kronpde"])
        from petsc4py import PETSc
    except ImportError as exc:
        raise PetscUnavailableError(INSTALL_HINT + f" ({type(exc).__name__}: {exc})") from exc
    return PETSc


#: The iterative methods :class:`PetscSolver` runs (``"fastdiag"`` is :mod:`.exact`'s).
ITERATIVE = tuple(m for m in METHODS if m != "fastdiag")


def _choose(method: Any) -> tuple[str, str]:
    if not isinstance(method, str) or method not in ITERATIVE:
        if isinstance(method, str) and method in SERIAL_METHODS:
            msg = f"petsc backend: method {method!r} runs on the serial backend only"
        else:
            msg = f"petsc backend: unknown method {method!r}"
        msg += f"; the petsc backend runs {', '.join(repr(m) for m in METHODS)}"
        msg += " ('auto' means 'fastdiag' where it is exact, else 'amg-cg')"
        raise OptionError(msg)
    if method != "auto":
        return method, "requested"
    return "amg-cg", "auto: the petsc backend runs CG preconditioned by multigrid"


class PetscSolver(PetscSetUp, PetscSolve, PetscPieces, SolveSpace):
    """A problem set up on PETSc once; :meth:`solve` runs for any right-hand side.

    Made by :meth:`from_problem` (through ``kronpde.prepare(problem, method,
    backend="petsc", options=...)``).  Collective: every rank of the
    communicator makes the same calls with the same problem.

    Methods: ``"amg-cg"`` (``"auto"``): KSPCG preconditioned by one V-cycle
    of PETSc's GAMG (``pc="gamg"``), hypre's BoomerAMG (``pc="hypre"``) or
    kronpde's geometric multigrid on PETSc's PCMG (``pc="mg"``); the default
    is :func:`~kronpde.solvers.petsc.options.default_pc`; ``"cg"``: KSPCG with
    Jacobi (``pc="jacobi"``, default) or none (``pc="none"``).

    Notes
    -----
    The options (``options=`` of :func:`kronpde.prepare` / :func:`kronpde.solve`):

    pc : str
        The preconditioner (above).
    petsc_options : str, sequence of str or mapping
        PETSc options, e.g. ``"-ksp_monitor -pc_gamg_threshold 0.02"``; they
        go into PETSc's options database while this solver is set up and
        solves only (no other solver of the process sees them) and are applied
        after kronpde's settings, so they override them.
    comm : communicator
        A petsc4py or mpi4py communicator (default ``PETSc.COMM_WORLD``).
    gather : str
        Who receives the solution: ``"root"`` (rank 0, default), ``"all"``
        (every rank) or ``"none"`` (only ``local`` on each rank).
    monitor : text stream or callable
        A stream (rank 0 writes a progress line about once a second) or
        ``monitor(iteration, relative_residual)`` (every iteration, every
        rank); the residual is KSP's ``||D(b - A u)|| / ||D b||``.
    """

    def __init__(self) -> None:  # use from_problem
        self.problem = None
        self.richardson = None  # the Richardson estimate, made on first use

    @classmethod
    def from_problem(
        cls,
        problem: SolvableProblem,
        method: str = "auto",
        *,
        options: Mapping[str, Any] | None = None,
        ownership: tuple[np.ndarray, ...] | None = None,
    ) -> PetscSolver:
        """Build the DMDA, assemble this rank's rows, set up KSP and the preconditioner.

        Parameters
        ----------
        problem : Problem
            A problem in 1 to 3 dimensions: constant or variable ``k``, node- or
            cell-centred axes, order 2 or 4.
        method : str
            ``"auto"``, ``"amg-cg"`` or ``"cg"``.
        options : mapping, optional
            See the class docstring.
        ownership : tuple of ndarray, optional
            The unknowns each rank owns along every axis (kronpde's axis order),
            as PETSc's DMDA ownership ranges; default PETSc's split.  The
            Richardson estimate places a coarse grid's unknowns in the ranks
            that own the fine grid's nodes at the same place.

        Returns
        -------
        PetscSolver

        Raises
        ------
        PetscUnavailableError
            Without petsc4py.
        SolverError
            For another method, an unknown option or value, a problem of more
            than 3 dimensions, or a PETSc failure (with PETSc's message).
        """
        if options is not None and not isinstance(options, Mapping):
            msg = f"options must be a mapping (dict), got {type(options).__name__}"
            raise OptionError(msg)
        options = dict(options or {})
        check_option_keys("petsc backend", options, OPTIONS)
        chosen, reason = _choose(method)
        why = definite_refusal(problem, f"petsc backend: {chosen}")  # CG: SPD operators only
        if why is not None:
            raise OptionError(why)
        pcs = PCS[chosen]
        default = pcs[0]
        if chosen == "amg-cg":
            default = default_pc(problem.discretisation.eigen_structure() is None)
        pc = options.get("pc", default)
        check_choice(f"petsc backend: {chosen}", "pc", pc, pcs)
        gather = options.get("gather", "root")
        check_choice("petsc backend", "gather", gather, GATHERS)
        monitor = options.get("monitor")
        if monitor is not None and not (callable(monitor) or hasattr(monitor, "write")):
            msg = "petsc backend: monitor must be a text stream or a callable(iteration, residual)"
            raise OptionError(msg)
        petsc_options = parse_petsc_options(options.get("petsc_options"))
        refused = refusal(problem)
        if refused is not None:
            raise SolverError(refused)
        assembly_of(problem)  # refuses a discretisation without rows here, before PETSc
        if chosen == "fastdiag-cg":
            from kronpde.solvers.petsc.fastpc import reference_problem

            reference_problem(problem)  # refuses a problem without one, before PETSc
        PETSc = import_petsc()
        if chosen == "fastdiag-cg" and ownership is None:  # the DMDA on the pencils' blocks
            from kronpde.solvers.pencil import ownership_ranges, process_grid

            comm = options.get("comm") or PETSc.COMM_WORLD
            shape, size = problem.grid.shape, comm.Get_size()
            if size > 1 and len(shape) == 1:
                msg = "petsc backend: fastdiag-cg needs a 2-D or 3-D grid on several ranks"
                raise SolverError(msg)
            ownership = ownership_ranges(shape, process_grid(shape, size))
        self = cls()
        self.problem = problem
        self.method = chosen
        self.requested = method
        self.reason = reason
        self.pc_name = pc
        self.gather = gather
        self.petsc_options = petsc_options
        self._PETSc = PETSc
        self.reductions = RankReductions(self)
        try:
            self._setup(options.get("comm"), monitor, ownership)
        except PETSc.Error as exc:
            msg = f"petsc backend: PETSc failed during set-up: {petsc_message(exc)}"
            raise SolverError(msg) from exc
        return self

    # -- the accuracy policy's view (SolveSpace) ---------------------------------------
    @property
    def certifier(self) -> DistributedCertifier:
        """The certified bound of this solver's iterates (its eigenvalue bound made once)."""
        if self._certifier is None:
            self._certifier = DistributedCertifier(self, self.assembly.eigenvalue(self))
        return self._certifier

    def certify(self, x: np.ndarray, b: np.ndarray) -> Certificate:
        """Return the certificate of this rank's ``x`` (collective)."""
        return self.certifier.certify(x, b)

    def eigenvalue(self) -> EigenvalueBound | None:
        """Return the certified lower bound on ``λ_min(A)`` (collective, made once)."""
        return self.certifier.eigenvalue

    def goal_floor(self) -> float:
        """Return ``γ_K max |diag A|`` over the ranks (``K`` of the second-order rows)."""
        d = self.problem.grid.dimension
        local = float(np.max(np.abs(self._diagonal), initial=0.0))
        return gamma(residual_terms(d)) * self.allreduce(local, "max")

    def weighted_mean(self, values: np.ndarray) -> float:
        """Return the ``W``-weighted mean of every rank's ``values`` (collective)."""
        if self.null is not None:  # a floating domain: the mean over its unknowns
            w = self._w * self.null
            return self.reductions.sum(w * values) / self.reductions.sum(w)
        return self.reductions.sum(self._w * values) / self.weight_sum

    def own_rhs(self) -> np.ndarray:
        """Return a copy of this rank's block of the problem's own ``b``."""
        return self._b_local.copy()

    def coarse(self, problem: SolvableProblem) -> PetscSolver:
        """Return a PETSc solver of a coarse problem on this solver's ranks, placed under it."""
        options: dict[str, Any] = {"comm": self.comm, "gather": "none"}
        if self.method == "amg-cg":
            options["pc"] = self.pc_name
        ownership = coarse_ownership(self, problem.grid)
        return type(self).from_problem(problem, "amg-cg", options=options, ownership=ownership)

    def restriction(self, coarse: Any, resample: Sequence[Any]) -> Restriction:
        """Return the restriction of this solver's iterates to ``coarse``'s unknowns."""
        return Restriction(self, coarse, resample)

    def __repr__(self) -> str:
        """Return a one-line summary."""
        n = self.problem.size if self.problem is not None else 0
        return (
            f"PetscSolver(method={self.method!r}, pc={self.pc_name!r}, unknowns={n}, "
            f"ranks={self.ranks}, setup_seconds={self.setup_seconds:.3g})"
        )
