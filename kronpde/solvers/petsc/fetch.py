"""The field on a box of points, fetched from every rank's unknowns by one PETSc scatter.

The parallel output (each rank's piece of the field, the layer it shares with
its neighbours included) and the Richardson estimate of ``rtol="auto"`` (the
fine iterate at the coarse points) need values of unknowns that other ranks
own; :class:`PointFetch` gets them without gathering anything global.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["PointFetch"]


class PointFetch:
    """The field on a box of points from every rank's unknowns: one PETSc scatter, kept.

    Made once for a box (collective) and applied to many vectors (the Richardson
    estimate restricts every iterate to the coarse points).  Dirichlet nodes
    carry their values, a periodic node-centred axis' node ``m`` repeats node ``0``.

    Parameters
    ----------
    solver : PetscSolver
        The solver whose unknowns (and DMDA) to read.
    box : tuple of slice
        A ``slice(first, stop)`` per axis of the field's array (its points).
    """

    def __init__(self, solver: Any, box: tuple[slice, ...]):
        PETSc = solver._PETSc
        grid = solver.problem.grid
        self.solver = solver
        rows, self.where = [], []  # per axis: the unknown of each point, and which points
        for a, axis in enumerate(grid.axes):
            start, n = axis.unknown_slice.start, axis.n_unknowns
            j = np.arange(box[a].start, box[a].stop) - start
            if axis.periodic:
                j = j % n  # node m is node 0
            inside = (j >= 0) & (j < n)
            rows.append(j[inside])
            self.where.append(np.flatnonzero(inside))
        self.counts = [r.size for r in rows]
        index = np.ravel_multi_index(np.meshgrid(*rows, indexing="ij"), grid.shape).reshape(-1)
        self.template, _ = grid.dirichlet_nodes(box)
        self.natural = solver._da.createNaturalVec()
        self.wanted = PETSc.IS().createGeneral(index.astype(PETSc.IntType), comm=PETSc.COMM_SELF)
        self.values = PETSc.Vec().createSeq(index.size, comm=PETSc.COMM_SELF)
        self.scatter = PETSc.Scatter().create(self.natural, self.wanted, self.values, None)

    def __call__(self, x_local: np.ndarray) -> np.ndarray:
        """Return the field on the box for this rank's unknowns ``x_local`` (collective)."""
        PETSc = self.solver._PETSc
        work = self.solver._work
        work.array[:] = x_local
        self.solver._da.globalToNatural(work, self.natural)
        self.scatter.scatter(
            self.natural, self.values, addv=PETSc.InsertMode.INSERT, mode=PETSc.ScatterMode.FORWARD
        )
        piece = self.template.copy()
        piece[np.ix_(*self.where)] = np.asarray(self.values.array).reshape(self.counts)
        return piece

    def destroy(self) -> None:
        """Free the PETSc objects."""
        for obj in (self.scatter, self.values, self.wanted, self.natural):
            obj.destroy()
