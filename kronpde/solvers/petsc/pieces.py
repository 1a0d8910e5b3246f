"""A rank's piece of the solution, and the collectives the command line's writer calls.

:class:`PetscPieces` is the part of :class:`~kronpde.solvers.petsc.backend.PetscSolver`
that a parallel output uses (:mod:`kronpde.app.cli.parallel`): which points a
rank owns and holds, the field on them (one PETSc scatter, nothing global
gathered), and the reductions, gathers and barriers between the ranks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from kronpde.geometry.boundary import DataSurvey
from kronpde.solvers.petsc.fetch import PointFetch

if TYPE_CHECKING:
    from kronpde.problem.protocol import SolvableProblem
    from kronpde.solvers.petsc.solve import PetscSolution

__all__ = ["PetscPieces"]


class PetscPieces:
    """The pieces and collectives of :class:`~kronpde.solvers.petsc.backend.PetscSolver`."""

    problem: SolvableProblem
    reductions: Any
    lo: tuple[int, ...]
    hi: tuple[int, ...]
    _da: Any

    def _merge(self, survey: DataSurvey) -> DataSurvey:
        """Return every rank's data survey merged (collective; rank order)."""
        return DataSurvey.merged(self._da.getComm().tompi4py().allgather(survey))

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
        return self.reductions.allreduce(value, op)

    def gather_to_root(self, obj: Any) -> list[Any] | None:
        """Return every rank's ``obj`` on rank 0 (None on the others)."""
        return self._da.getComm().tompi4py().gather(obj, root=0)

    def barrier(self) -> None:
        """Wait for every rank."""
        self._da.getComm().tompi4py().Barrier()
