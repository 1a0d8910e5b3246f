"""The exact solve distributed over MPI ranks (a recorded run)
============================================================

``mpirun -n 2 python scripts/examples/mpi_distributed_fastdiag.py``: every
rank holds only its block of a 3-D grid, and ``prepare(problem, "fastdiag",
comm=MPI.COMM_WORLD)`` solves the whole problem exactly with local 1-D
transforms and all-to-all transposes between slab (or pencil) layouts; no rank
ever holds the whole grid.  The ranks compare their blocks with the exact
solution and reduce the error; rank 0 gathers the middle plane for a picture.

It needs MPI, mpi4py and mpi4py-fft (the ``scaling out`` page says how to
install them), so the documentation build does not run it: this is the output
of a recorded run on 2 ranks (the shared 2-core development machine,
2026-12-07, ``mpirun -n 2 python scripts/examples/mpi_distributed_fastdiag.py 96 --plot
FILE.png``)::

    2 ranks, slab decomposition, process grid [2, 1, 1], 95³ = 857,375 unknowns
    rank 0 holds (48, 95, 95), rank 1 holds (47, 95, 95)
    set-up 1.755 s, solve 0.731 s (no iteration: the discrete solution to rounding)
    max |u - u_exact| = 8.925e-05 over the ranks (the scheme's O(h²) error)

(The times are those of a machine busy with other work: see the performance
page for measured ones.)  The picture is the one ``--plot FILE.png`` drew in
that run:

.. image:: /recorded/mpi_distributed_fastdiag.png
   :alt: the middle plane z = 0.5 of u, gathered on rank 0
"""

# sphinx_gallery_thumbnail_path = "recorded/mpi_distributed_fastdiag.png"

import sys
import time

import numpy as np
from mpi4py import MPI

from kronpde import Grid, Problem, prepare

comm = MPI.COMM_WORLD
rank, ranks = comm.Get_rank(), comm.Get_size()
n = int(sys.argv[1]) if len(sys.argv) > 1 else 96

grid = Grid.box([n, n, n])  # u = 0 on the faces
source = "3*pi**2*sin(pi*x)*sin(pi*y)*sin(pi*z)"
problem = Problem(grid, source=source, check=False)  # each rank evaluates only its block

t0 = time.perf_counter()
solver = prepare(problem, "fastdiag", comm=comm)
setup = time.perf_counter() - t0
t0 = time.perf_counter()
solution = solver.solve()  # the problem's own right-hand side, this rank's block of it
solve = time.perf_counter() - t0

# this rank's unknowns: the interior nodes at solver.box in the array of grid.shape
points = [a.points[a.unknown_slice][s] for a, s in zip(grid.axes, solver.box, strict=True)]
x, y, z = np.meshgrid(*points, indexing="ij")
error = np.abs(solution.local - np.sin(np.pi * x) * np.sin(np.pi * y) * np.sin(np.pi * z)).max()
error = comm.allreduce(float(error), op=MPI.MAX)
shapes = comm.gather(solver.local_shape, root=0)
middle = grid.shape[2] // 2
planes = comm.gather((solver.box, solution.local[:, :, middle].copy()), root=0)
if rank == 0:
    print(
        f"{ranks} ranks, {solver.decomposition} decomposition, process grid "
        f"{solver.options['process_grid']}, {n - 1}³ = {grid.size:,} unknowns"
    )
    print(", ".join(f"rank {r} holds {s}" for r, s in enumerate(shapes)))
    print(
        f"set-up {setup:.3f} s, solve {solve:.3f} s (no iteration: the discrete solution to "
        "rounding)"
    )
    print(f"max |u - u_exact| = {error:.3e} over the ranks (the scheme's O(h²) error)")
    if "--plot" in sys.argv:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        plane = np.empty(grid.shape[:2])
        for box, block in planes:
            plane[box[0], box[1]] = block
        fig, ax = plt.subplots(figsize=(5.0, 4.2))
        xs, ys = (a.points[a.unknown_slice] for a in grid.axes[:2])
        image = ax.pcolormesh(xs, ys, plane.T, shading="auto")
        fig.colorbar(image, ax=ax)
        ax.set_title(f"u on z = 0.5, gathered from {ranks} ranks")
        ax.set_aspect("equal")
        fig.tight_layout()
        fig.savefig(sys.argv[sys.argv.index("--plot") + 1])
