"""PencilFastDiag: the exact fast solve of a Kronecker sum on P ranks, each holding a block.

The serial :class:`~kronpde.solvers.fastdiag.FastDiagSolver` transforms ``b``
along every axis with ``S_i^{-1}``, divides by the eigenvalue sums and
transforms back.  Here each rank holds a block of the grid
(:mod:`kronpde.solvers.pencil.layout`): in each layout of the chain it
transforms along the axes that are whole there (:mod:`~kronpde.solvers.pencil.local`),
a transpose moves the data to the next layout, the last divides by the
eigenvalues of the modes it holds (:mod:`~kronpde.solvers.pencil.spectrum`),
and the same way back.  No Krylov iteration, and no rank ever holds more than
its blocks: per rank the caller's ``b`` and ``u``, one buffer per further layout
(a second one in a layout with a GEMM axis), and ``scipy.fft``'s temporaries
on periodic axes.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from kronpde._checks import is_count, is_real
from kronpde.errors import SolverError
from kronpde.solvers.fastdiag import FastDiag
from kronpde.solvers.fastdiag_axes import plan_axis
from kronpde.solvers.pencil.layout import (
    Layout,
    build_layouts,
    ownership_ranges,
    process_grid,
)
from kronpde.solvers.pencil.local import AxisStep
from kronpde.solvers.pencil.spectrum import Spectrum

__all__ = ["PencilFastDiag"]


def _allreducer(comm: Any):
    """``allreduce(value, op)`` over ``comm`` (the value itself on one rank or without MPI)."""
    if comm is None or comm.Get_size() == 1:
        return lambda value, op: value

    from mpi4py import MPI

    return lambda value, op: comm.allreduce(value, op=getattr(MPI, op))


class PencilFastDiag:
    """Exact solver of ``A u = b`` on the ranks of ``comm``, each with a block (prepare once).

    Every problem the serial ``fastdiag`` solves: any faces, node- or
    cell-centred and stretched axes (``eigh`` through dense GEMMs), the
    fourth-order scheme, a singular pure-Neumann/periodic problem (the zero mode
    dropped).  Construction, :meth:`solve` and :meth:`set_shift` are collective.

    Parameters
    ----------
    problem : Problem
        The problem (its 1-D axis operators, axes, shift and scheme); the
        right-hand side is given to :meth:`solve`.
    comm : mpi4py.MPI.Comm, optional
        The ranks (default: one process, no MPI).
    workers : int
        Threads of ``scipy.fft`` per rank (default 1: the ranks fill the cores).
    kernels, force_eigh
        As for :class:`~kronpde.solvers.fastdiag.FastDiagSolver`.

    Attributes
    ----------
    shape : tuple of int
        The global grid of unknowns.
    dims : tuple of int
        The process grid of the first layout (:func:`~kronpde.solvers.pencil.layout.process_grid`).
    decomposition : str
        ``"serial"`` (one rank), ``"one rank"`` (a 1-D problem on several ranks:
        rank 0 solves it, the others hold empty blocks), ``"slab"`` or ``"pencil"``.
    local_slices : tuple of slice
        This rank's block of the global grid (``u_global[local_slices]``).
    local_shape : tuple of int
        Its shape: what :meth:`solve` takes and returns.
    axis_methods, axis_kernels : tuple of str
        Per axis, the serial solver's eigenpairs and kernel.
    singular : bool
        The zero mode is dropped (see :meth:`solve`).
    last_projected_norm : float
        After a singular solve, ``||b - P b||_2 / ||b||_2`` over all ranks (as serially).
    timings : dict
        Of the last solve: ``"solve"`` and ``"transpose"`` seconds on this rank.

    Raises
    ------
    SolverError
        If ``problem`` is not one fast diagonalization solves exactly (the
        serial refusal, naming ``fastdiag-cg``), or the ranks do not fit the grid.
    PencilUnavailableError
        If transposes are needed and mpi4py-fft is not installed.
    """

    def __init__(
        self,
        problem: Any,
        comm: Any = None,
        *,
        workers: int = 1,
        kernels: str = "auto",
        force_eigh: bool = False,
    ):
        t0 = time.perf_counter()
        obstacle = problem.discretisation.distributed_fast_obstacle()
        if obstacle is not None:
            reason = f"fastdiag: {obstacle}"
            raise SolverError(reason)
        structure = problem.discretisation.eigen_structure()
        FastDiag.check_choice("kernels", kernels)
        if not is_count(workers, 1):
            msg = f"fastdiag: workers must be a positive integer, got {workers!r}"
            raise ValueError(msg)
        self.comm = comm
        self.ranks = 1 if comm is None else comm.Get_size()
        self.rank = 0 if comm is None else comm.Get_rank()
        axes = problem.grid.axes
        self._plans = tuple(
            plan_axis(op, axes[i], force_eigh, kernels)
            for i, op in enumerate(structure.operators)
        )
        self.shape = tuple(p.eig.n for p in self._plans)
        self.size = math.prod(self.shape)
        self.ndim = len(self.shape)
        self.axis_methods = tuple(p.method for p in self._plans)
        self.axis_kernels = tuple(p.kernel for p in self._plans)
        self.workers = int(workers)
        self.dims = process_grid(self.shape, self.ranks)
        if self.ranks == 1:
            self.decomposition = "serial"
        elif self.ndim == 1:
            self.decomposition = "one rank"
        else:
            self.decomposition = "slab" if self.dims[1:] == (1,) * (self.ndim - 1) else "pencil"
        self._allreduce = _allreducer(comm)
        self._idle = self.decomposition == "one rank" and self.rank != 0
        if self._idle:
            empty = Layout((0,), (0,), (0,))
            self._layouts, self._transfers, self._subcomms = [empty], [], None
        else:
            self._layouts, self._transfers, self._subcomms = build_layouts(
                comm, self.shape, self.dims
            )
        self._steps = self._assign_steps(self.workers)
        self._buffers = [self._make_buffers(k) for k in range(len(self._layouts))]
        last = self._layouts[-1]
        self._spectrum = Spectrum(
            self._plans, structure.combination, last.start, last.shape, self._allreduce
        )
        self._null_row_sums = math.prod(self._forward_row_sum(p) for p in self._plans)
        self.last_projected_norm = 0.0
        self.timings = {"solve": 0.0, "transpose": 0.0}
        self.set_shift(problem.shift)
        self.setup_seconds = time.perf_counter() - t0

    # -- layout ---------------------------------------------------------------------------
    @property
    def local_slices(self) -> tuple[slice, ...]:
        """Return this rank's block of the global grid, first layout (``u[local_slices]``)."""
        return self._layouts[0].slices

    @property
    def local_shape(self) -> tuple[int, ...]:
        """Return the shape of this rank's block (of ``b`` and ``u``)."""
        return self._layouts[0].shape

    @property
    def local_size(self) -> int:
        """Return the number of unknowns in this rank's block."""
        return math.prod(self.local_shape)

    @property
    def transposes(self) -> int:
        """All-to-all transposes per solve (each way: twice this many calls)."""
        return len(self._transfers)

    def ownership_ranges(self) -> tuple[tuple[int, ...], ...]:
        """Per axis, the block sizes of the first layout (a DMDA's ``lz, ly, lx``, axis 0 first)."""
        if self.decomposition == "one rank":
            return ((self.shape[0],) + (0,) * (self.ranks - 1),)
        return ownership_ranges(self.shape, self.dims)

    def describe(self) -> str:
        """Say how the grid is laid out over the ranks."""
        grid = "x".join(map(str, self.shape))
        if self.decomposition == "serial":
            return f"Distributed fast diagonalization on 1 rank ({grid}, no transposes)."
        if self.decomposition == "one rank":
            return (
                f"A 1-D problem ({grid}) is solved on one rank: rank 0 holds it all, "
                f"the other {self.ranks - 1} hold nothing."
            )
        procs = "x".join(map(str, self.dims))
        return (
            f"Distributed fast diagonalization on {self.ranks} ranks: {self.decomposition}s "
            f"({procs} process grid over {grid}), {self.transposes} transpose(s) each way."
        )

    def _assign_steps(self, workers: int) -> list[list[AxisStep]]:
        """Per layout, the axes transformed there: those whole there, not done before."""
        done: set[int] = set()
        steps = []
        for layout in self._layouts:
            here = [] if self._idle else [a for a in layout.whole if a not in done]
            done.update(here)
            steps.append([AxisStep(self._plans[a], a, workers) for a in sorted(here)])
        return steps

    def _make_buffers(self, k: int) -> list[np.ndarray | None]:
        """Layout ``k``'s arrays: ``[main, spare]`` (layout 0's main is the caller's ``out``)."""
        shape = self._layouts[k].shape
        main = None if k == 0 else np.empty(shape)
        spare = np.empty(shape) if any(s.moves for s in self._steps[k]) else None
        return [main, spare]

    def _forward_row_sum(self, plan: Any) -> float:
        """Entry ``null_index`` of the unscaled forward transform of ones (one axis)."""
        ones = np.ones(plan.eig.n)
        out = np.empty_like(ones)
        AxisStep(plan, 0, 1).apply(ones, out, inverse=False)
        return float(out[plan.eig.null_index])

    # -- shift ----------------------------------------------------------------------------
    @property
    def shift(self) -> float:
        """``c``."""
        return self._spectrum.shift

    @property
    def singular(self) -> bool:
        """True when every axis has the constants in its kernel and ``c = 0``."""
        return self._spectrum.singular

    def set_shift(self, shift: float) -> None:
        """Change ``c`` (collective); the transforms and layouts stay.

        Raises
        ------
        ValueError
            If ``shift`` is not a finite number.
        SolverError
            If ``A`` would be singular beyond the constant null space (the
            solver keeps its previous shift).
        """
        if not is_real(shift):
            msg = f"fastdiag: shift must be a number, got {shift!r}"
            raise ValueError(msg)
        if not math.isfinite(float(shift)):
            msg = f"fastdiag: shift must be finite, got {shift}"
            raise ValueError(msg)
        self._spectrum.set_shift(float(shift))

    # -- solve ----------------------------------------------------------------------------
    def solve(
        self, b_local: np.ndarray, out: np.ndarray | None = None, *, record: bool = True
    ) -> np.ndarray:
        """Solve ``A u = b`` exactly, given and returning this rank's block (collective).

        Parameters
        ----------
        b_local : ndarray, shape :attr:`local_shape` (or flat)
            This rank's block of ``b`` (``b_global[local_slices]``); not modified.
        out : ndarray, optional
            C-contiguous float64 array of ``b_local``'s shape for the result.
        record : bool
            For a singular system, measure :attr:`last_projected_norm` (one
            reduction); False leaves it NaN.

        Returns
        -------
        ndarray, the shape of ``b_local``
            This rank's block of ``u``.  For a singular system the solution of
            ``A u = b - mean_w(b)`` with ``mean_w(u) = 0``, as serially.

        Raises
        ------
        ValueError
            If ``b_local`` or ``out`` has the wrong size, shape or layout.
        """
        t0 = time.perf_counter()
        shape = self.local_shape
        b_arr = np.asarray(b_local)
        size = math.prod(shape)
        if b_arr.size != size or b_arr.shape not in ((size,), shape):
            msg = (
                f"fastdiag: b_local must have shape {shape} on rank {self.rank}, got {b_arr.shape}"
            )
            raise ValueError(msg)
        src = np.ascontiguousarray(b_arr, dtype=np.float64).reshape(shape)
        if out is None:
            dst = np.empty(shape)
        else:
            if not isinstance(out, np.ndarray) or out.shape != b_arr.shape:
                msg = f"fastdiag: out must be an ndarray of shape {b_arr.shape}"
                raise ValueError(msg)
            if out.dtype != np.float64 or not out.flags.c_contiguous:
                msg = "fastdiag: out must be a C-contiguous float64 array"
                raise ValueError(msg)
            dst = out.reshape(shape)
            if np.may_share_memory(dst, src):
                src = src.copy()
        self.timings["transpose"] = 0.0
        if self._idle:
            self._record(src, None, record)
        else:
            self._run(src, dst, record)
        self.timings["solve"] = time.perf_counter() - t0
        return dst.reshape(b_arr.shape) if out is None else out

    def _run(self, src: np.ndarray, dst: np.ndarray, record: bool) -> None:
        """Forward through the layouts, divide, and back; the result lands in ``dst``."""
        bufs = self._buffers
        bufs[0][0] = dst
        cur = src
        last = len(self._layouts) - 1
        for k in range(last + 1):
            if k:
                cur = self._transpose(k - 1, cur, bufs[k][0], forward=True)
            cur = self._apply(k, cur, inverse=False)
        self._record(src, cur, record)
        self._spectrum.divide(cur)
        for k in range(last, -1, -1):
            cur = self._apply(k, cur, inverse=True)
            if k:
                gemms = sum(s.moves for s in self._steps[k - 1])
                target = bufs[k - 1][1] if k == 1 and gemms % 2 else bufs[k - 1][0]
                cur = self._transpose(k - 1, cur, target, forward=False)
        if cur is not dst:
            np.copyto(dst, cur)
        bufs[0][0] = None

    def _apply(self, k: int, cur: np.ndarray, *, inverse: bool) -> np.ndarray:
        """Layout ``k``'s transforms on ``cur``; return the array that holds the result."""
        main, spare = self._buffers[k]
        for step in reversed(self._steps[k]) if inverse else self._steps[k]:
            if step.moves:
                target = spare if cur is main else main
            else:
                target = cur if (cur is main or cur is spare) else main
            step.apply(cur, target, inverse=inverse)
            cur = target
        return cur

    def _transpose(self, k: int, cur: np.ndarray, target: np.ndarray, *, forward: bool):
        t0 = time.perf_counter()
        if forward:
            self._transfers[k].forward(cur, target)
        else:
            self._transfers[k].backward(cur, target)
        self.timings["transpose"] += time.perf_counter() - t0
        return target

    def _record(self, src: np.ndarray, spec: np.ndarray | None, record: bool) -> None:
        """Measure the removed part of a singular ``b`` (one reduction over the ranks)."""
        if not self.singular:
            self.last_projected_norm = 0.0
            return
        if not record:
            self.last_projected_norm = math.nan
            return
        null = self._spectrum.null_local
        coef = float(spec[null]) if spec is not None and null is not None else 0.0
        flat = src.reshape(-1)
        sums = np.array([float(np.einsum("i,i->", flat, flat)), coef])
        norm2, coef = self._allreduce(sums, "SUM")
        mean = coef / self._null_row_sums
        norm_b = math.sqrt(norm2)
        self.last_projected_norm = abs(mean) * math.sqrt(self.size) / norm_b if norm_b else 0.0

    def close(self) -> None:
        """Free the transposes' MPI datatypes and sub-communicators (collective)."""
        for t in self._transfers:
            t.destroy()
        self._transfers = []
        if self._subcomms is not None:
            self._subcomms.destroy()
            self._subcomms = None

    def __repr__(self) -> str:
        """Return a one-line summary."""
        return (
            f"PencilFastDiag(shape={self.shape}, ranks={self.ranks}, "
            f"decomposition={self.decomposition!r}, dims={self.dims}, "
            f"methods={self.axis_methods})"
        )
