"""PETSc backend: a DMDA over the unknowns, rows assembled per rank, KSPCG with AMG.

The only kronpde module that imports petsc4py (when a solve is prepared).

Layout.  The unknowns (``grid.shape``, C order, axis 0 slowest: nodes, or
cells along cell-centred axes) are a DMDA of the same sizes with PETSc's x
axis being kronpde's *last* axis, so that the DMDA's natural ordering (x
fastest) is kronpde's C order.  An axis is periodic in the DMDA when it is
periodic in the grid and has at least 3 unknowns (with 1 or 2 the 1-D stencil
already folds the wrap into in-range couplings, see
:class:`~kronpde.operators.stencils.AxisOperator`).  The stencil is a star of width 1
for the second-order scheme and a box of width 1 (9 or 19 points) for the
fourth-order one.

Assembly.  Each rank asks the DMDA for the box of unknowns it owns and its
ghosted box, and builds the rows of the box: from the symmetrised 1-D
stencils ``problem.symmetric_axis_operators`` with
:func:`kronpde.solvers.petsc.assembly.box_csr`, from the variable-coefficient
flux form (:meth:`kronpde.Problem.variable_rows`, ``k`` on the box and one
layer around it) with :func:`~kronpde.solvers.petsc.assembly.rows_csr`, or,
at order 4, from the rows of the compact scheme's Kronecker polynomial
(:func:`~kronpde.solvers.petsc.assembly.compact_box_rows`) with
:func:`~kronpde.solvers.petsc.assembly.stencil_csr`; columns numbered in the
ghosted box (whose ghost layer holds the periodic images), mapped to PETSc's
global numbering with the DMDA's local-to-global map.  The right-hand side of
the box comes from :meth:`kronpde.Problem.rhs` with ``box=`` (source and
boundary lifting of the box only; at order 4 ``M f`` and the face corrections
from the box and three layers around it, :func:`kronpde.operators.compact_rhs.compact_rhs_box`).
No rank builds or holds anything global except the gathered solution.

System.  As in the serial iterative methods, CG runs on ``Â y = D b`` with
``Â = D A D^{-1}`` (symmetric), ``D = W^{1/2}`` the square root of the
trapezoid weights, and ``u = y / D``.  For a singular problem (pure
Neumann/periodic, ``c = 0``) ``A 1 = 0`` gives ``Â (D 1) = 0``: the null space
of ``Â`` is spanned by ``D·1`` (not the constant vector), and since ``Â`` is
symmetric it is also the null space of ``Âᵀ``.  ``b`` is first projected onto
the range of ``A`` (its trapezoid-weighted mean removed, exactly as
``problem.project_rhs`` does), so ``D b ⟂ D·1``; ``D·1`` is set as null space,
transpose null space and near null space (for GAMG's aggregates) of ``Â``;
the returned ``u`` has zero weighted mean.

Stopping rule.  KSP uses the unpreconditioned norm, ``||D b - Â y|| =
||D (b - A u)||``, relative to ``||D b||``; afterwards the true unsymmetrised
``||b - A u|| / ||b||`` is computed and, if it misses the target, CG continues
from its iterate with a tightened tolerance (at most
:data:`kronpde.solvers.result.MAX_ROUNDS` rounds): the rule of the serial
methods, run by the same :func:`kronpde.solvers.result.continue_rounds`.
With ``rtol="auto"`` KSP runs to an absolute tolerance on the same norm, and
the certified bound and the discretisation-error estimate, both computed over
the ranks (:mod:`kronpde.solvers.petsc.estimates`), decide as in
:func:`kronpde.solvers.result.goal_rounds`.  Every report carries the
certified ``algebraic_error_bound``.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from kronpde.errors import OptionError, SolverError
from kronpde.geometry.boundary import DataSurvey
from kronpde.problem.settings import AUTO, check_stopping
from kronpde.solvers.accuracy import (
    FALLBACK_RTOL,
    ErrorEstimate,
    Goal,
    Unavailable,
    accuracy_notes,
    choose_estimate,
)
from kronpde.solvers.petsc.assembly import (
    box_csr,
    box_shape,
    box_slices,
    compact_box_rows,
    rows_csr,
    stencil_csr,
)
from kronpde.solvers.petsc.estimates import (
    DistributedCertifier,
    eigenvalue_bound,
    exact_estimate,
    goal_floor,
    local_exact,
    richardson_estimate,
)
from kronpde.solvers.petsc.fetch import PointFetch
from kronpde.solvers.petsc.multigrid import box_interpolation, kept_nodes, levels
from kronpde.solvers.petsc.options import (
    INSTALL_HINT,
    METHODS,
    PRECONDITIONERS,
    PetscUnavailableError,
    default_pc,
    parse_petsc_options,
    refusal,
)
from kronpde.solvers.registry import METHODS as SERIAL_METHODS
from kronpde.solvers.result import (
    Outcome,
    ProgressLines,
    Round,
    Solution,
    check_option_keys,
    continue_rounds,
    goal_outcome,
    goal_rounds,
    make_report,
    rounds_outcome,
)

__all__ = ["OPTIONS", "PetscSolution", "PetscSolver", "import_petsc"]

#: The options of the PETSc backend (see :class:`PetscSolver`).
OPTIONS = ("pc", "petsc_options", "comm", "gather", "monitor")

#: Preconditioners per method; the first is the default.
_PCS = {"amg-cg": PRECONDITIONERS, "cg": ("jacobi", "none")}


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


@dataclass(frozen=True, eq=False)
class PetscSolution(Solution):
    """A :class:`~kronpde.solvers.result.Solution` from the PETSc backend, on one rank.

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


def _choose(method: Any) -> tuple[str, str]:
    if not isinstance(method, str) or method not in METHODS:
        if isinstance(method, str) and method in SERIAL_METHODS:
            msg = f"petsc backend: method {method!r} runs on the serial backend only"
        else:
            msg = f"petsc backend: unknown method {method!r}"
        msg += f"; the petsc backend runs {', '.join(repr(m) for m in METHODS)}"
        msg += " ('auto' means 'amg-cg')"
        raise OptionError(msg)
    if method != "auto":
        return method, "requested"
    return "amg-cg", "auto: the petsc backend runs CG preconditioned by multigrid"


class PetscSolver:
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

    @classmethod
    def from_problem(
        cls,
        problem,
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
        pcs = _PCS[chosen]
        default = pcs[0]
        if chosen == "amg-cg":
            default = default_pc(bool(getattr(problem, "variable_coefficient", False)))
        pc = options.get("pc", default)
        if pc not in pcs:
            msg = f"petsc backend: {chosen}: pc must be one of {', '.join(pcs)}, got {pc!r}"
            raise OptionError(msg)
        gather = options.get("gather", "root")
        if gather not in ("root", "all", "none"):
            msg = f"petsc backend: gather must be 'root', 'all' or 'none', got {gather!r}"
            raise OptionError(msg)
        monitor = options.get("monitor")
        if monitor is not None and not (callable(monitor) or hasattr(monitor, "write")):
            msg = "petsc backend: monitor must be a text stream or a callable(iteration, residual)"
            raise OptionError(msg)
        petsc_options = parse_petsc_options(options.get("petsc_options"))
        refused = refusal(problem)
        if refused is not None:
            raise SolverError(refused)
        if not (
            getattr(problem, "is_kronecker_sum", False)
            or getattr(problem, "variable_coefficient", False)
        ):
            msg = (
                "petsc backend: the problem is neither a constant-coefficient Kronecker sum "
                "nor the variable-coefficient flux form; the petsc backend assembles its rows "
                "from the 1-D stencils or from kronpde.operators.flux's rows, "
                "and handles those only"
            )
            raise SolverError(msg)
        PETSc = import_petsc()
        self = cls()
        self.problem = problem
        self.method = chosen
        self.requested = method
        self.reason = reason
        self.pc_name = pc
        self.gather = gather
        self.petsc_options = petsc_options
        self._PETSc = PETSc
        self._richardson: ErrorEstimate | Unavailable | None = None  # made on first use
        try:
            self._setup(options.get("comm"), monitor, ownership)
        except PETSc.Error as exc:
            msg = f"petsc backend: PETSc failed during set-up: {_petsc_message(exc)}"
            raise SolverError(msg) from exc
        return self

    # -- set-up ---------------------------------------------------------------------------
    def _setup(self, comm, monitor, ownership=None) -> None:
        PETSc = self._PETSc
        t0 = time.perf_counter()
        p = self.problem
        grid = p.grid
        d = grid.dimension
        comm = PETSc.COMM_WORLD if comm is None else comm
        self.comm = comm
        periodic = [axis.periodic and axis.n_unknowns >= 3 for axis in grid.axes]
        boundary = [
            PETSc.DM.BoundaryType.PERIODIC if per else PETSc.DM.BoundaryType.NONE
            for per in periodic
        ]
        layout: dict[str, Any] = {}
        if ownership is not None:
            ranges = tuple(np.asarray(r, dtype=PETSc.IntType) for r in reversed(ownership))
            layout = {"proc_sizes": tuple(len(r) for r in ranges), "ownership_ranges": ranges}
        compact = p.scheme is not None  # the 9- or 19-point rows of the fourth-order scheme
        da = PETSc.DMDA().create(
            dim=d,
            dof=1,
            sizes=tuple(reversed(grid.shape)),
            boundary_type=tuple(reversed(boundary)),
            stencil_type=PETSc.DMDA.StencilType.BOX if compact else PETSc.DMDA.StencilType.STAR,
            stencil_width=1,
            comm=comm,
            **layout,
        )
        self._da = da
        self.rank = da.getComm().getRank()
        self.ranks = da.getComm().getSize()
        owned = list(reversed(da.getRanges()))
        ghosted = list(reversed(da.getGhostRanges()))
        self.lo = tuple(int(r[0]) for r in owned)
        self.hi = tuple(int(r[1]) for r in owned)
        self.box = box_slices(self.lo, self.hi)
        self.local_shape = box_shape(self.lo, self.hi)
        glo = [int(r[0]) for r in ghosted]
        gext = [int(r[1]) - int(r[0]) for r in ghosted]

        # The box's b first, then its rows: the data are evaluated on this rank's box
        # (and, for a variable k, the one layer of nodes around it) and checked over
        # every rank together, in the order of the serial check (source, k, faces), so
        # that bad data on one rank raise the serial error on all of them.
        box = (self.lo, self.hi)
        self._b_local = p.rhs(box=box, merge=self._merge).reshape(-1)
        p.check_faces()
        # Columns in the ghosted box: on a periodic DMDA axis its ghost layer holds the
        # images -1 and n, and a periodic axis with n <= 2 has only in-range couplings,
        # so nothing is wrapped here.
        if p.variable_coefficient:
            rows = p.variable_rows(box, merge=self._merge, keep=False)
            indptr, columns, values = rows_csr(
                rows.diagonal,
                rows.couplings,
                grid.shape,
                [axis.periodic for axis in grid.axes],
                self.lo,
                self.hi,
                glo,
                gext,
                wrap=False,
                index_dtype=PETSc.IntType,
            )
        elif compact:
            indptr, columns, values = stencil_csr(
                compact_box_rows(p.scheme.symmetrized(), self.lo, self.hi),
                grid.shape,
                [axis.periodic for axis in grid.axes],
                self.lo,
                self.hi,
                glo,
                gext,
                wrap=False,
                index_dtype=PETSc.IntType,
            )
        else:
            indptr, columns, values = box_csr(
                p.symmetric_axis_operators,
                p.shift,
                self.lo,
                self.hi,
                glo,
                gext,
                wrap=False,
                index_dtype=PETSc.IntType,
            )
        self.k_min = rows.k_min if p.variable_coefficient else float(p.coefficient)
        columns = da.getLGMap().apply(columns)
        A = _csr_matrix(PETSc, da.getComm(), indptr, columns, values)
        A.setOption(PETSc.Mat.Option.SYMMETRIC, True)
        self._A = A
        # what the certified bound needs of the rows: the diagonal, and |Â| unless Â has a
        # non-negative diagonal and non-positive couplings (then |Â| v = 2 diag v - Â v)
        starts = indptr[:-1]
        self._diagonal = np.array(values[starts]) if starts.size else np.zeros(0)
        others = np.ones(values.size, dtype=bool)
        others[starts] = False
        mine = bool(np.all(self._diagonal >= 0.0) and np.all(values[others] <= 0.0))
        self.z_matrix = self.allreduce(0.0 if mine else 1.0, "max") == 0.0
        self._abs_A = None
        if not self.z_matrix:
            self._abs_A = _csr_matrix(PETSc, da.getComm(), indptr, columns, np.abs(values))
        del indptr, columns, values, others

        w = p.weights((self.lo, self.hi)).reshape(-1)
        self._w = w
        self._D = np.sqrt(w)
        self._bhat = da.createGlobalVec()
        self._y = da.createGlobalVec()
        self._r = da.createGlobalVec()
        self._work = da.createGlobalVec()
        self._weight_sum = self._sum(w)
        self._null = None
        if p.singular:
            null = da.createGlobalVec()
            null.array[:] = self._D
            null.normalize()
            ns = PETSc.NullSpace().create(constant=False, vectors=[null], comm=da.getComm())
            A.setNullSpace(ns)
            A.setTransposeNullSpace(ns)
            A.setNearNullSpace(ns)
            self._null = ns

        ksp = PETSc.KSP().create(comm=da.getComm())
        ksp.setOperators(A)
        ksp.setType(PETSc.KSP.Type.CG)
        ksp.setNormType(PETSc.KSP.NormType.UNPRECONDITIONED)
        pc = ksp.getPC()
        self.levels = 1
        defaults: list[tuple[str, str]] = []
        if self.pc_name == "hypre":
            if not PETSc.Sys.hasExternalPackage("hypre"):
                msg = "petsc backend: pc 'hypre' needs a PETSc built with hypre; use pc 'gamg'"
                raise SolverError(msg)
            pc.setType(PETSc.PC.Type.HYPRE)
            pc.setHYPREType("boomeramg")
        elif self.pc_name == "mg":
            defaults = self._multigrid(pc)
        else:
            pc.setType(self.pc_name)
        if self.pc_name != "mg":  # PCMG would coarsen the DMDA itself: mg has its own levels
            ksp.setDM(da)
            ksp.setDMActive(False)
        # kronpde's settings, then the caller's: in PETSc's (global) options database only
        # while this solver is set up and solves, so that no other solver sees them
        self._database = [*defaults, *self.petsc_options]
        self._monitor = self._as_monitor(monitor)
        self._callback = None
        self._iteration_offset = 0
        self._norm_bhat = 1.0
        with _options_scope(PETSc, self._database):
            ksp.setFromOptions()
            # always there (a no-op without monitor and callback): cancelling it later would
            # also cancel the monitors of --petsc-options
            ksp.setMonitor(self._ksp_monitor)
            ksp.setUp()
        self._ksp = ksp
        self.options = {
            "backend": "petsc",
            "pc": self.pc_name,
            "ksp_type": ksp.getType(),
            "pc_type": ksp.getPC().getType(),
            "ranks": self.ranks,
            "levels": self.levels if self.pc_name == "mg" else None,
            "gather": self.gather,
            "petsc_options": [f"-{n} {v}".strip() for n, v in self.petsc_options],
        }
        self._certifier: DistributedCertifier | None = None  # made on first use
        self.setup_seconds = time.perf_counter() - t0

    def _multigrid(self, pc) -> list[tuple[str, str]]:
        """Make ``pc`` PETSc's PCMG on the grid's own coarse grids (:mod:`.multigrid`).

        Each level is a DMDA of the coarse grid's unknowns whose ranks own the coarse
        unknowns lying in their fine boxes (so that the interpolation is mostly local);
        each rank assembles the rows of the interpolation of its fine box.  Levels stop
        where a rank would own no coarse unknown along an axis.  The coarse operators are
        Galerkin's; the smoother is Chebyshev with Jacobi (2 sweeps), the coarsest level
        is solved directly on every rank (a pseudo-inverse for a singular problem).

        Returns
        -------
        list of (str, str)
            The PETSc options of these settings.
        """
        PETSc = self._PETSc
        p = self.problem
        fine_da, fine_box = self._da, (self.lo, self.hi)
        axes = levels(p.grid.axes)
        interpolations = []
        for fine, coarse in itertools.pairwise(axes):
            ranges = _coarse_ranges(fine_da, fine, coarse)
            if ranges is None:
                break
            ranges = tuple(r.astype(PETSc.IntType) for r in ranges)
            sizes = [a.n_unknowns for a in coarse]
            periodic = [a.periodic and a.n_unknowns >= 3 for a in coarse]
            coarse_da = PETSc.DMDA().create(
                dim=len(sizes),
                dof=1,
                sizes=tuple(reversed(sizes)),
                boundary_type=tuple(
                    PETSc.DM.BoundaryType.PERIODIC if per else PETSc.DM.BoundaryType.NONE
                    for per in reversed(periodic)
                ),
                stencil_type=PETSc.DMDA.StencilType.STAR,
                stencil_width=1,
                proc_sizes=tuple(len(r) for r in ranges),
                ownership_ranges=ranges,
                comm=fine_da.getComm(),
            )
            indptr, natural, values = box_interpolation(fine, coarse, *fine_box)
            columns = coarse_da.getAO().app2petsc(natural.astype(PETSc.IntType))
            (c_lo, c_hi) = zip(*reversed(coarse_da.getRanges()), strict=True)
            n_local = math.prod(h - low for low, h in zip(c_lo, c_hi, strict=True))
            interpolations.append(
                _csr_matrix(PETSc, fine_da.getComm(), indptr, columns, values, n_local)
            )
            fine_da, fine_box = coarse_da, (c_lo, c_hi)
        self.levels = len(interpolations) + 1
        direct = "svd" if p.singular else "lu"
        if self.levels == 1:  # a grid this small is solved directly (on every rank)
            pc.setType(PETSc.PC.Type.REDUNDANT)
            return [("redundant_pc_type", direct)]
        pc.setType(PETSc.PC.Type.MG)
        pc.setMGLevels(self.levels)
        for level, P in enumerate(reversed(interpolations), start=1):  # 0 is the coarsest
            pc.setMGInterpolation(level, P)
        defaults = {
            "pc_mg_galerkin": "both",
            "mg_levels_ksp_type": "chebyshev",
            "mg_levels_pc_type": "jacobi",
            "mg_coarse_ksp_type": "preonly",
            "mg_coarse_pc_type": "redundant",
            "mg_coarse_redundant_pc_type": direct,
        }
        return list(defaults.items())  # the caller's petsc_options come after

    # -- helpers --------------------------------------------------------------------------
    def _merge(self, survey: DataSurvey) -> DataSurvey:
        """Return every rank's data survey merged (collective; rank order)."""
        return DataSurvey.merged(self._da.getComm().tompi4py().allgather(survey))

    def _sum(self, values: np.ndarray) -> float:
        """Sum over all ranks of each rank's local ``values`` (length = owned unknowns)."""
        self._work.array[:] = values
        return float(self._work.sum())

    def _norm(self, values: np.ndarray) -> float:
        """2-norm over all ranks of each rank's local ``values``."""
        self._work.array[:] = values
        return float(self._work.norm())

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
        bad = int(self._sum((~np.isfinite(local)).reshape(-1).astype(float)))
        if bad:
            msg = f"{name} contains NaN or infinity ({bad} entries)"
            raise OptionError(msg)
        return local

    def _as_monitor(self, monitor: Any) -> Callable[[int, float], Any] | None:
        """Return a ``monitor(iteration, relative)`` from a stream (rank 0 prints) or a callable."""
        if monitor is None or callable(monitor):
            return monitor
        return ProgressLines(monitor if self.rank == 0 else None)

    # -- the solve ------------------------------------------------------------------------
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
            unsymmetrised system (the rule of :mod:`kronpde.solvers.result`).
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
            outcome, projected, extra = self._solve_local(
                b_local, x0_local, rtol, atol, maxiter, callback, exact_local, own_rhs, estimate
            )
        except self._PETSc.Error as exc:
            msg = f"petsc backend: PETSc failed during the solve: {_petsc_message(exc)}"
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
            message=outcome.message,
            **extra,
        )
        local = x_local.reshape(self.local_shape)
        return PetscSolution(
            u=None if x is None else p.to_nodes(x),
            x=x,
            report=report,
            local=local,
            box=self.box,
            rank=self.rank,
            ranks=self.ranks,
        )

    @property
    def certifier(self) -> DistributedCertifier:
        """The certified bound of this solver's iterates (its eigenvalue bound made once)."""
        if self._certifier is None:
            self._certifier = DistributedCertifier(self, eigenvalue_bound(self))
        return self._certifier

    def _project(self, b: np.ndarray) -> tuple[np.ndarray, float]:
        """Return ``b`` projected onto the range of ``A`` and the relative norm removed.

        :meth:`kronpde.Problem.project_rhs` over the ranks: a singular problem's
        weighted mean is removed; other problems keep ``b``.
        """
        if not self.problem.singular:
            return b, 0.0
        norm_b = self._norm(b)
        mean = self._sum(self._w * b) / self._weight_sum
        removed = abs(mean) * math.sqrt(self.problem.size)
        return b - mean, (removed / norm_b if norm_b > 0 else 0.0)

    def _solve_local(
        self,
        b_local: np.ndarray,
        x0_local: np.ndarray | None,
        rtol: float | str,
        atol: float,
        maxiter: int | None,
        callback: Callable[[np.ndarray], Any] | None,
        exact_local: np.ndarray | None = None,
        own_rhs: bool = True,
        estimate: bool | None = None,
        goal: Goal | None = None,
    ) -> tuple[Outcome, float, dict[str, Any]]:
        """Solve for this rank's block of ``b``: the serial driver's rules, over the ranks.

        Returns the :class:`~kronpde.solvers.result.Outcome` (with this rank's
        block of ``x``), the projected norm, and the report's accuracy fields
        (``algebraic_error_bound``, ``warnings``, ``discretisation_error``,
        ``discretisation_estimate``).  ``goal``: a given goal (the coarse
        solves of the Richardson estimate run to the rounding level with one).
        """
        b_proj, projected = self._project(b_local)
        nb = self._norm(b_proj)
        auto = rtol == AUTO
        warnings: list[str] = []
        estimator, why = None, ""
        wanted = estimate is True or (estimate is None and (auto or exact_local is not None))
        if goal is None and wanted:
            estimator, why = self._estimator(b_proj, exact_local, own_rhs)
            if estimator is None and not auto:
                warnings.append(f"No discretisation-error estimate: {why}.")
        if goal is None and auto:
            goal = self._goal(estimator)
            if goal is None:
                if estimator is not None:
                    why = "no certified lower bound on the smallest eigenvalue of A"
                warnings.append(
                    f"rtol='auto' fell back to rtol = {FALLBACK_RTOL:g}: no discretisation-error "
                    f"estimate could be made ({why})."
                )
        if auto or goal is not None:
            target = FALLBACK_RTOL
        else:
            target = max(rtol, atol / nb) if nb > 0.0 else rtol
        outcome = self._iterate(b_proj, x0_local, target, maxiter, callback, goal, nb)
        x = outcome.x
        certificate = outcome.certificate
        if certificate is None:
            certificate = self.certifier.certify(x, b_proj)
        message = outcome.message
        warnings.extend(outcome.warnings)
        bound = certificate.bound
        if bound is not None and not math.isfinite(bound):
            bound = None
        error = None if estimator is None else estimator(x)
        text, notes = accuracy_notes(bound, True, error, estimator, goal, bool(outcome.warnings))
        message += text
        warnings.extend(notes)
        outcome = Outcome(
            x,
            outcome.converged,
            outcome.iterations,
            outcome.residual_norms,
            outcome.relative_residual,
            message,
            certificate,
            outcome.warnings,
        )
        extra = {
            "algebraic_error_bound": bound,
            "warnings": warnings,
            "discretisation_error": error,
            "discretisation_estimate": None if estimator is None else estimator.kind,
        }
        return outcome, projected, extra

    def _goal(self, estimator: ErrorEstimate | None) -> Goal | None:
        """Return what ``rtol="auto"`` asks of CG (None: it cannot ask), as the serial driver."""
        eigenvalue = self.certifier.eigenvalue
        if estimator is None or eigenvalue is None:
            return None
        floor = goal_floor(self) * estimator.solution_norm
        return Goal(estimator, eigenvalue.value, floor=floor)

    def _estimator(
        self, b: np.ndarray, exact: np.ndarray | None, own_rhs: bool
    ) -> tuple[ErrorEstimate | None, str]:
        """Return the discretisation-error estimate of this solve, or None and why not."""
        estimate, reason, self._richardson = choose_estimate(
            None if exact is None else lambda: exact_estimate(self, exact, b),
            own_rhs,
            lambda: richardson_estimate(self),
            self._richardson,
        )
        return estimate, reason

    def _iterate(self, b, x0, target, maxiter, callback, goal, nb) -> Outcome:
        """Run KSP on ``Â y = D b`` (``b`` projected): the rounds of a target, or of a goal."""
        PETSc = self._PETSc
        p = self.problem
        D = self._D
        n = p.size
        name = self.method
        x = np.zeros_like(b)
        if nb == 0.0:
            return Outcome(x, True, 0, [0.0], 0.0, f"{name}: b is zero, so u = 0.")
        maxiter = 10 * n if maxiter is None else maxiter
        ksp = self._ksp
        bhat, y = self._bhat, self._y
        bhat.array[:] = D * b
        self._norm_bhat = float(bhat.norm()) or 1.0
        if x0 is None:
            y.set(0.0)
        else:
            y.array[:] = D * x0
        self._callback = callback
        offset = [0]
        state: dict[str, Any] = {}

        def run(inner: float, left: int, warm: bool, absolute: float = 0.0) -> Round:
            ksp.setInitialGuessNonzero(x0 is not None or warm)
            ksp.setTolerances(rtol=inner, atol=absolute, max_it=left)
            ksp.setConvergenceHistory(reset=True)
            self._iteration_offset = offset[0]
            with _options_scope(PETSc, self._database):  # the viewers of petsc_options
                ksp.solve(bhat, y)
            its = ksp.getIterationNumber()
            offset[0] += its
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

        def certify():
            """Return the certificate of the current iterate (its true residual, the bound)."""
            np.divide(y.array, D, out=x)
            if p.singular:
                x[:] -= self._sum(self._w * x) / self._weight_sum
            state["certificate"] = self.certifier.certify(x, b)
            return state["certificate"]

        note = f"KSP {ksp.getType()}, PC {ksp.getPC().getType()}, {self.ranks} rank(s)."
        try:
            if goal is not None:
                found = goal_rounds(
                    lambda atol, left, warm: run(0.0, left, warm, atol),
                    certify,
                    lambda: goal.estimate(x),
                    goal=goal,
                    maxiter=maxiter,
                )
                return goal_outcome(x, found, goal, name, maxiter, note, nb)
            result = continue_rounds(
                run, lambda: certify().residual_norm / nb, target=target, maxiter=maxiter
            )
        finally:
            self._callback = None
        return rounds_outcome(x, result, name, target, maxiter, note, state.get("certificate"))

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

    # -- a rank's piece of the field (parallel output) ---------------------------------
    def piece_box(self) -> tuple[tuple[slice, ...], tuple[slice, ...]]:
        """Return this rank's points for a piece of a parallel output: owned, and held.

        The points are the field's (:attr:`kronpde.Grid.points`: nodes, or cell
        centres along cell-centred axes).  A rank *owns* the points of its
        unknowns, with the Dirichlet nodes and the periodic image node ``m``
        beyond them when its box reaches a face of a node-centred axis, and
        *holds* also the first layer of points past its owned ones (owned by
        the next rank), so that neighbouring pieces share a layer and their
        cells tile the grid of the points (:func:`kronpde.io.pieces.piece_extent`).
        On a grid cell-centred along every axis the output is cell data on the
        grid of the faces, and a rank holds the cells it owns
        (:meth:`cell_piece_extent`).

        Returns
        -------
        owned, held : tuple of slice
            A ``slice(first, stop)`` per axis of the field's array.
        """
        owned, held = [], []
        for a, axis in enumerate(self.problem.grid.axes):
            start, n, last = axis.unknown_slice.start, axis.n_unknowns, axis.points.size - 1
            first = 0 if self.lo[a] == 0 else self.lo[a] + start
            stop = last + 1 if self.hi[a] == n else self.hi[a] + start
            owned.append(slice(first, stop))
            held.append(slice(first, min(stop, last) + 1))
        return tuple(owned), tuple(held)

    def cell_piece_extent(self) -> tuple[tuple[int, int], ...]:
        """Return the faces ``(first, last)`` per axis around this rank's cells (cell data).

        For a grid cell-centred along every axis: the piece of cells
        ``lo <= j < hi`` spans faces ``lo .. hi`` (neighbouring pieces share a
        layer of faces, their cells tile the grid).
        """
        return tuple((int(low), int(h)) for low, h in zip(self.lo, self.hi, strict=True))

    def field_piece(self, x_local: np.ndarray, box: tuple[slice, ...]) -> np.ndarray:
        """Return the field (Dirichlet values included) on a box of points (collective).

        Each rank receives the values of the unknowns of its box of points
        that other ranks own by one PETSc scatter from the natural ordering;
        nothing global is gathered.

        Parameters
        ----------
        x_local : ndarray
            This rank's unknowns.
        box : tuple of slice
            A ``slice(first, stop)`` per axis of the field's array.

        Returns
        -------
        ndarray
            The field on the box: Dirichlet nodes carry their values, a
            periodic node-centred axis' node ``m`` repeats node ``0``.
        """
        fetch = PointFetch(self, box)
        try:
            return fetch(x_local)
        finally:
            fetch.destroy()

    def nodal_piece(self, solution: PetscSolution) -> np.ndarray:
        """Return this rank's piece of the field ``u`` on the held points of :meth:`piece_box`.

        Collective (:meth:`field_piece`): edges and corners included, nothing
        global gathered.
        """
        _, held = self.piece_box()
        return self.field_piece(solution.local.reshape(-1), held)

    def allreduce(self, value: float, op: str = "sum") -> float:
        """Return ``value`` summed (``op="sum"``) or maximised (``"max"``) over all ranks."""
        from mpi4py import MPI

        comm = self._da.getComm().tompi4py()
        return float(comm.allreduce(value, op={"sum": MPI.SUM, "max": MPI.MAX}[op]))

    def gather_to_root(self, obj: Any) -> list[Any] | None:
        """Return every rank's ``obj`` on rank 0 (None on the others)."""
        return self._da.getComm().tompi4py().gather(obj, root=0)

    def barrier(self) -> None:
        """Wait for every rank."""
        self._da.getComm().tompi4py().Barrier()

    def __repr__(self) -> str:
        """Return a one-line summary."""
        n = self.problem.size if self.problem is not None else 0
        return (
            f"PetscSolver(method={self.method!r}, pc={self.pc_name!r}, unknowns={n}, "
            f"ranks={self.ranks}, setup_seconds={self.setup_seconds:.3g})"
        )


def _csr_matrix(
    PETSc,
    comm,
    indptr: np.ndarray,
    columns: np.ndarray,
    values: np.ndarray,
    n_local: int | None = None,
):
    """Return the assembled MPI AIJ matrix of this rank's rows (columns in PETSc's numbering).

    Preallocated from the rows themselves (how many columns each row has on
    this rank and elsewhere) rather than by the DMDA's ``createMatrix``, which
    inserts the stencil's full pattern first and costs more than the assembly.
    ``n_local``: the columns this rank owns (default: as many as its rows).
    """
    m = indptr.size - 1
    n = m if n_local is None else int(n_local)
    start = comm.tompi4py().exscan(n) or 0
    mine = (columns >= start) & (columns < start + n)
    index = np.dtype(PETSc.IntType)
    diagonal_block = np.add.reduceat(mine, indptr[:-1], dtype=index) if m else mine.astype(index)
    counts = np.diff(indptr).astype(index)
    A = PETSc.Mat().create(comm=comm)
    A.setSizes(((m, PETSc.DECIDE), (n, PETSc.DECIDE)))
    A.setType(PETSc.Mat.Type.AIJ)
    A.setPreallocationNNZ((diagonal_block, counts - diagonal_block))
    A.setValuesCSR(
        indptr.astype(PETSc.IntType, copy=False), columns, values, addv=PETSc.InsertMode.INSERT
    )
    A.assemble()
    return A


@contextlib.contextmanager
def _options_scope(PETSc, pairs: list[tuple[str, str]]):
    """Put ``pairs`` into PETSc's options database for the ``with`` block, then restore it."""
    database = PETSc.Options()
    saved = {
        name: (database.getString(name, "") if database.hasName(name) else None)
        for name, _ in pairs
    }
    try:
        for name, value in pairs:
            database.setValue(name, value)
        yield
    finally:
        for name, old in saved.items():
            if old is None:
                database.delValue(name)
            else:
                database.setValue(name, old)


def _coarse_ranges(fine_da, fine, coarse) -> tuple[np.ndarray, ...] | None:
    """Return the coarse DMDA's ownership ranges, in PETSc's axis order.

    Each rank owns the coarse unknowns whose node lies in its fine box; None if
    a rank would own none along some axis.
    """
    ranges = []
    for q, counts in enumerate(fine_da.getOwnershipRanges()):
        a = len(fine) - 1 - q  # PETSc's x is kronpde's last axis
        f, c = fine[a], coarse[a]
        nodes = np.arange(c.n_unknowns) + c.unknown_slice.start
        if c is not f:
            nodes = kept_nodes(f.cells)[nodes]
        owner = np.searchsorted(np.cumsum(counts), nodes - f.unknown_slice.start, side="right")
        owned = np.bincount(owner, minlength=len(counts))
        if owned.size != len(counts) or np.any(owned == 0):
            return None
        ranges.append(owned)
    return tuple(ranges)


def _reason_name(PETSc, reason: int) -> str:
    for key, value in vars(PETSc.KSP.ConvergedReason).items():
        if value == reason and not key.startswith("_"):
            return f"{key} ({reason})"
    return str(reason)


def _petsc_message(exc: Exception) -> str:
    return " ".join(str(exc).split())
