"""The distributed exact solve: fast diagonalization on slab or pencil decompositions.

:class:`PencilFastDiag` solves every problem the serial ``fastdiag`` solves on
the ranks of an MPI communicator, each rank holding a block of the grid: local
1-D transforms along the axes whole in the current layout, all-to-all
transposes between layouts (mpi4py-fft's :class:`~mpi4py_fft.pencil.Transfer`),
the diagonal solve on the eigenvalue sums, and back.  No Krylov iteration, and
no rank holds the whole grid.  :class:`PencilPreconditioner` makes it the
preconditioner of PETSc's CG (a ``python`` PC on a DMDA of the same blocks).

Optional: mpi4py and mpi4py-fft (``scripts/install-mpi4py-fft.sh``) are imported
only when a solver is built on more than one rank, never by ``import kronpde``.

Example, under ``mpirun -n 2``::

    from mpi4py import MPI
    solver = PencilFastDiag(problem, MPI.COMM_WORLD)
    u_local = solver.solve(b_global[solver.local_slices])
"""

from __future__ import annotations

from kronpde.solvers.pencil.layout import (
    INSTALL_HINT,
    PencilUnavailableError,
    ownership_ranges,
    process_grid,
)
from kronpde.solvers.pencil.pc import PencilPreconditioner
from kronpde.solvers.pencil.solver import PencilFastDiag

__all__ = [
    "INSTALL_HINT",
    "PencilFastDiag",
    "PencilPreconditioner",
    "PencilUnavailableError",
    "ownership_ranges",
    "process_grid",
]
