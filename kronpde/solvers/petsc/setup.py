"""The set-up of a PETSc solve: the DMDA, each rank's rows, the null space, KSP and its options.

:class:`PetscSetUp` is the part of :class:`~kronpde.solvers.petsc.backend.PetscSolver`
that builds, once, what every solve uses: the DMDA of the unknowns
(:meth:`PetscSetUp._create_dmda`), the rank's rows of ``Â`` assembled as the
discretisation's class says in :data:`ASSEMBLY`, the vectors and the
null space of a singular problem, and KSP with its preconditioner and options.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from kronpde.errors import SolverError
from kronpde.problem.compact_scheme import CompactFourthOrder
from kronpde.problem.curvilinear import CurvilinearFlux
from kronpde.problem.data import box_index
from kronpde.problem.discretisation import Discretisation
from kronpde.problem.embedded import EmbeddedBoundary
from kronpde.problem.flux_form import FluxForm
from kronpde.problem.kronecker import KroneckerSum
from kronpde.problem.layered import LayeredFluxForm
from kronpde.problem.nondivergence import NonDivergenceSum
from kronpde.problem.product_k import ProductFluxForm
from kronpde.problem.separable import SeparableSum
from kronpde.solvers.petsc.assembly import (
    box_csr,
    box_shape,
    box_slices,
    compact_box_rows,
    rows_csr,
    stencil_csr,
)
from kronpde.solvers.petsc.curvilinear import curvilinear_arguments, curvilinear_rows
from kronpde.solvers.petsc.estimates import own_eigenvalue, rows_eigenvalue
from kronpde.solvers.petsc.multigrid import box_interpolation, kept_nodes, levels

if TYPE_CHECKING:
    from kronpde.problem.certify import EigenvalueBound
    from kronpde.problem.protocol import SolvableProblem

__all__ = [
    "ASSEMBLY",
    "Assembly",
    "PetscSetUp",
    "assembly_of",
    "coarse_ranges",
    "csr_matrix",
    "options_scope",
]


def _kronecker_rows(setup: PetscSetUp) -> tuple[Any, ...]:
    """Return the arguments of :func:`box_csr` before the box: the symmetrised 1-D stencils."""
    p = setup.problem
    setup.k_min = float(p.coefficient)
    return (p.symmetric_axis_operators, p.shift)


def _separable_rows(setup: PetscSetUp) -> tuple[Any, ...]:
    """Return :func:`box_csr`'s arguments for variable 1-D stencils (``k_i``, second/first)."""
    p = setup.problem
    setup.k_min = p.coefficient_range()[0]
    return (p.symmetric_axis_operators, p.shift)


def _compact_rows(setup: PetscSetUp) -> tuple[Any, ...]:
    """Return the arguments of :func:`stencil_csr` before the box: the compact rows."""
    p = setup.problem
    setup.k_min = float(p.coefficient)
    periodic = [axis.periodic for axis in p.grid.axes]
    rows = compact_box_rows(p.discretisation.scheme.symmetrized(), setup.lo, setup.hi)
    return (rows, p.grid.shape, periodic)


def _flux_rows(setup: PetscSetUp) -> tuple[Any, ...]:
    """Return the arguments of :func:`rows_csr` before the box: the flux form's rows."""
    p = setup.problem
    rows = p.variable_rows((setup.lo, setup.hi), merge=setup._merge, keep=False)
    setup.k_min = rows.k_min
    periodic = [axis.periodic for axis in p.grid.axes]
    return (rows.diagonal, rows.couplings, p.grid.shape, periodic)


def _star_rows(setup: PetscSetUp) -> tuple[Any, ...]:
    """Return the arguments of :func:`rows_csr`: the embedded boundary's rows (``star_rows``)."""
    p = setup.problem
    setup.k_min = p.coefficient_range()[0]
    diagonal, couplings = p.discretisation.star_rows((setup.lo, setup.hi))
    periodic = [axis.periodic for axis in p.grid.axes]
    return (diagonal, couplings, p.grid.shape, periodic)


@dataclass(frozen=True)
class Assembly:
    """How the PETSc backend builds the rows of one discretisation, and bounds its eigenvalue.

    Attributes
    ----------
    rows : callable
        Assembles a rank's rows (CSR, columns in the ghosted box), given what
        ``arguments`` makes and then ``lo, hi, ghosted lo, ghosted extent``.
    arguments : callable
        ``setup -> tuple``: the arguments of ``rows`` before the box (it sets
        ``setup.k_min``, the smallest ``k`` the rows read).
    eigenvalue : callable
        ``solver -> EigenvalueBound or None``: the certified bound on ``λ_min``.
    """

    rows: Callable[..., Any]
    arguments: Callable[[PetscSetUp], tuple[Any, ...]]
    eigenvalue: Callable[[Any], EigenvalueBound | None]


#: Per discretisation class: how its rows are assembled.  A new discretisation is one more
#: entry; a class not here (a subclass included: it may change the rows) is refused.
ASSEMBLY: dict[type[Discretisation], Assembly] = {
    KroneckerSum: Assembly(box_csr, _kronecker_rows, own_eigenvalue),
    CompactFourthOrder: Assembly(stencil_csr, _compact_rows, own_eigenvalue),
    FluxForm: Assembly(rows_csr, _flux_rows, rows_eigenvalue),
    LayeredFluxForm: Assembly(rows_csr, _flux_rows, rows_eigenvalue),  # the flux form's rows
    ProductFluxForm: Assembly(rows_csr, _flux_rows, rows_eigenvalue),  # the flux form's rows
    CurvilinearFlux: Assembly(curvilinear_rows, curvilinear_arguments, own_eigenvalue),
    SeparableSum: Assembly(box_csr, _separable_rows, own_eigenvalue),
    NonDivergenceSum: Assembly(box_csr, _separable_rows, own_eigenvalue),
    EmbeddedBoundary: Assembly(rows_csr, _star_rows, own_eigenvalue),
}


def assembly_of(problem: SolvableProblem) -> Assembly:
    """Return the :data:`ASSEMBLY` entry of a problem's discretisation.

    Raises
    ------
    SolverError
        For a discretisation the table does not know.
    """
    found = ASSEMBLY.get(type(problem.discretisation))
    if found is None:
        msg = (
            "petsc backend: the problem is neither a constant-coefficient Kronecker sum "
            "nor the variable-coefficient flux form; the petsc backend assembles its rows "
            "from the 1-D stencils or from kronpde.operators.flux's rows, "
            f"and handles those only (not the {problem.discretisation.name})"
        )
        raise SolverError(msg)
    return found


class PetscSetUp:
    """The set-up of :class:`~kronpde.solvers.petsc.backend.PetscSolver` (module docstring)."""

    problem: SolvableProblem
    pc_name: str
    gather: str
    petsc_options: list[tuple[str, str]]
    _PETSc: Any

    def _setup(self, comm: Any, monitor: Any, ownership: Any = None) -> None:
        """Build the DMDA, this rank's rows and ``b``, the vectors, null space and KSP."""
        t0 = time.perf_counter()
        PETSc = self._PETSc
        self.comm = PETSc.COMM_WORLD if comm is None else comm
        box = self.problem.discretisation.stencil == "box"  # e.g. the 9/19-point rows of order 4
        ghosted = self._create_dmda(ownership, compact=box)
        # The box's b first, then its rows: the data are evaluated on this rank's box
        # (and, for a variable k, the one layer of nodes around it) and checked over
        # every rank together, in the order of the serial check (source, k, faces), so
        # that bad data on one rank raise the serial error on all of them.
        self._b_local = self.problem.rhs(box=(self.lo, self.hi), merge=self._merge).reshape(-1)
        self.problem.check_faces()
        self._assemble(assembly_of(self.problem), *ghosted)
        self._vectors()
        self._null_space()
        self._create_ksp(monitor)
        self._certifier = None  # made on first use
        self.setup_seconds = time.perf_counter() - t0

    def _create_dmda(self, ownership: Any, *, compact: bool) -> tuple[list[int], list[int]]:
        """Create the DMDA of the unknowns; return the first index and extent of the ghosted box.

        PETSc's x axis is kronpde's last, so that the natural ordering is C
        order; an axis is periodic in the DMDA when it is in the grid and has
        at least 3 unknowns (with 1 or 2 the 1-D stencil folds the wrap in).
        The stencil is a star of width 1, a box for the compact scheme.
        """
        PETSc = self._PETSc
        grid = self.problem.grid
        periodic = [axis.periodic and axis.n_unknowns >= 3 for axis in grid.axes]
        boundary = [
            PETSc.DM.BoundaryType.PERIODIC if per else PETSc.DM.BoundaryType.NONE
            for per in periodic
        ]
        layout: dict[str, Any] = {}
        if ownership is not None:
            ranges = tuple(np.asarray(r, dtype=PETSc.IntType) for r in reversed(ownership))
            layout = {"proc_sizes": tuple(len(r) for r in ranges), "ownership_ranges": ranges}
        da = PETSc.DMDA().create(
            dim=grid.dimension,
            dof=1,
            sizes=tuple(reversed(grid.shape)),
            boundary_type=tuple(reversed(boundary)),
            stencil_type=PETSc.DMDA.StencilType.BOX if compact else PETSc.DMDA.StencilType.STAR,
            stencil_width=1,
            comm=self.comm,
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
        return [int(r[0]) for r in ghosted], [int(r[1]) - int(r[0]) for r in ghosted]

    def _assemble(self, assembly: Assembly, glo: list[int], gext: list[int]) -> None:
        """Assemble this rank's rows of ``Â`` (:data:`ASSEMBLY`), and what the bound needs of them.

        Columns are numbered in the ghosted box (on a periodic DMDA axis its
        ghost layer holds the images -1 and n, and a periodic axis with n <= 2
        has only in-range couplings, so nothing is wrapped here), then mapped
        to PETSc's numbering.  The certified bound needs the diagonal, and
        ``|Â|`` unless ``Â`` has a non-negative diagonal and non-positive
        couplings (then ``|Â| v = 2 diag v - Â v``).
        """
        PETSc = self._PETSc
        da = self._da
        self.assembly = assembly
        arguments = assembly.arguments(self)
        indptr, columns, values = assembly.rows(
            *arguments, self.lo, self.hi, glo, gext, wrap=False, index_dtype=PETSc.IntType
        )
        columns = da.getLGMap().apply(columns)
        A = csr_matrix(PETSc, da.getComm(), indptr, columns, values)
        A.setOption(PETSc.Mat.Option.SYMMETRIC, True)
        self._A = A
        starts = indptr[:-1]
        self._diagonal = np.array(values[starts]) if starts.size else np.zeros(0)
        others = np.ones(values.size, dtype=bool)
        others[starts] = False
        mine = bool(np.all(self._diagonal >= 0.0) and np.all(values[others] <= 0.0))
        self.z_matrix = self.allreduce(0.0 if mine else 1.0, "max") == 0.0
        self._abs_A = None
        if not self.z_matrix:
            self._abs_A = csr_matrix(PETSc, da.getComm(), indptr, columns, np.abs(values))

    def _vectors(self) -> None:
        """Make the weights ``W``, ``D = W^{1/2}`` of the box and the work vectors."""
        da = self._da
        w = self.problem.weights((self.lo, self.hi)).reshape(-1)
        self._w = self.weights = w
        self._D = self.scale = np.sqrt(w)
        self._bhat = da.createGlobalVec()
        self._y = da.createGlobalVec()
        self._r = da.createGlobalVec()
        self._work = da.createGlobalVec()
        self.weight_sum = self.reductions.sum(w)

    def _null_space(self) -> None:
        """Give a singular ``Â`` its null space ``D·1`` (also transpose and near null space)."""
        PETSc = self._PETSc
        self._null = None
        if not self.problem.singular:
            return
        floating = self.problem.discretisation.null_vector()  # the same on every rank
        if floating is not None:  # a floating domain inside the box: 1 on its unknowns
            g = self.problem.grid
            box = box_index(g, (self.lo, self.hi), unknowns=True)
            self.null = np.array(floating.reshape(g.shape)[box]).reshape(-1)
        da = self._da
        null = da.createGlobalVec()
        null.array[:] = self._D if self.null is None else self._D * self.null
        null.normalize()
        ns = PETSc.NullSpace().create(constant=False, vectors=[null], comm=da.getComm())
        self._A.setNullSpace(ns)
        self._A.setTransposeNullSpace(ns)
        self._A.setNearNullSpace(ns)
        self._null = ns

    def _create_ksp(self, monitor: Any) -> None:
        """Make KSPCG (unpreconditioned norm) with the preconditioner and the options."""
        PETSc = self._PETSc
        ksp = PETSc.KSP().create(comm=self._da.getComm())
        ksp.setOperators(self._A)
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
        elif self.pc_name == "fastdiag":  # the distributed fast solve of the reference problem
            from kronpde.solvers.petsc.fastpc import fast_preconditioner

            pc.setType(PETSc.PC.Type.PYTHON)
            pc.setPythonContext(fast_preconditioner(self))
            # the PC's python context holds MPI objects (the transposes): PETSc must let it
            # go while MPI is up, not at the interpreter's teardown (a crash there)
            atexit.register(ksp.destroy)
        else:
            pc.setType(self.pc_name)
        if self.pc_name != "mg":  # PCMG would coarsen the DMDA itself: mg has its own levels
            ksp.setDM(self._da)
            ksp.setDMActive(False)
        # kronpde's settings, then the caller's: in PETSc's (global) options database only
        # while this solver is set up and solves, so that no other solver sees them
        self._database = [*defaults, *self.petsc_options]
        self._monitor = self._as_monitor(monitor)
        self._callback = None
        self._iteration_offset = 0
        self._norm_bhat = 1.0
        with options_scope(PETSc, self._database):
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
            ranges = coarse_ranges(fine_da, fine, coarse)
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
                csr_matrix(PETSc, fine_da.getComm(), indptr, columns, values, n_local)
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


def csr_matrix(
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
def options_scope(PETSc, pairs: list[tuple[str, str]]):
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


def coarse_ranges(fine_da, fine, coarse) -> tuple[np.ndarray, ...] | None:
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
