"""Prepared time stepping: set up once, solve every step
======================================================

The heat equation ``u_t = Δu`` on the unit square, ``u = 0`` on the faces, from a
hot square in the middle, by backward Euler: every step solves
``(c I - Δ_h) u_new = c u`` with ``c = 1/dt``.  :func:`kronpde.prepare` makes
the fast solver once (eigenpairs and transforms); each step is then one
``solve(b, out=u, check=False)`` that writes the unknowns in place, and
``set_shift`` changes ``c`` when the step grows without a new set-up.
"""

import time

import matplotlib.pyplot as plt
import numpy as np

from kronpde import Grid, Problem, prepare

grid = Grid.box([128, 128])
dt = 2e-4
solver = prepare(Problem(grid, shift=1.0 / dt), "fastdiag")

x, y = grid.point_coordinates()  # the nodes; the unknowns are the interior ones
inside = grid.axes[0].unknown_slice, grid.axes[1].unknown_slice
hot = ((np.abs(x - 0.5) < 0.2) & (np.abs(y - 0.5) < 0.2)).astype(float)
u = np.ascontiguousarray(hot[inside])  # shape grid.shape
b = np.empty_like(u)

snapshots = {0.0: solver.problem.to_nodes(u)}
t, start = 0.0, time.perf_counter()
for step in range(1, 101):
    if step == 21:  # the sharp start is over: a four times larger step, the same set-up
        dt *= 4.0
        print("set_shift kept the set-up:", solver.set_shift(1.0 / dt))
    np.multiply(u, 1.0 / dt, out=b)
    solver.solve(b, out=u, check=False)
    t += dt
    if step in (5, 20, 100):
        snapshots[t] = solver.problem.to_nodes(u)
seconds = time.perf_counter() - start
print(f"100 steps on {grid.size:,} unknowns: {1e3 * seconds / 100:.2f} ms per step")
print(f"heat left at t = {t:.3f}: {u.sum() / hot[inside].sum():.3f} of the initial")

# %%
fig, axes = plt.subplots(1, len(snapshots), figsize=(12.0, 3.2))
for ax, (when, field) in zip(axes, snapshots.items(), strict=True):
    ax.pcolormesh(*grid.points, field.T, shading="auto", vmin=0.0, vmax=1.0)
    ax.set_title(f"t = {when:.4f}")
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
fig.tight_layout()
