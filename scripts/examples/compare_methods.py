"""Compare the methods on one problem
====================================

Every serial method on the same 3-D problem with a Robin face: the exact ones
(``fastdiag``, ``direct``) and the iterative ones (``cg``, ``amg-cg``,
``fastdiag-cg``), each to ``rtol="auto"`` (stop at a tenth of the
discretisation error).  The table shows iterations, times, the certified
algebraic error bound and the distance from the fast solve; the picture the
residual histories.  ``kronpde compare CASE.toml`` does the same for a case file.
"""

import matplotlib.pyplot as plt
import numpy as np

from kronpde import METHODS, Grid, Problem, Robin, solve

grid = Grid.box([24, 24, 24], boundary={"zmax": Robin(1.0, 1.0, 0.0)})
problem = Problem(grid, source="3*pi**2*sin(pi*x)*sin(pi*y)*(1 + z)")
print("methods:", ", ".join(METHODS))

reference = solve(problem, "fastdiag").u
histories = {}
header = ("method", "iter", "setup s", "solve s", "bound", "|u - fastdiag|")
print("{:<12} {:>5} {:>8} {:>8} {:>10} {:>15}".format(*header))
for method in ("fastdiag", "direct", "cg", "amg-cg", "fastdiag-cg"):
    solution = solve(problem, method, rtol="auto")
    r = solution.report
    distance = float(np.abs(solution.u - reference).max())
    print(
        f"{method:<12} {r.iterations:>5} {r.setup_seconds:>8.4f} {r.solve_seconds:>8.4f} "
        f"{r.algebraic_error_bound:>10.2e} {distance:>15.2e}"
    )
    if len(r.residual_norms):
        histories[method] = np.asarray(r.residual_norms) / r.residual_norms[0]

# %%
# CG's residual falls slowly on a fine grid (its iterations grow with ``1/h``);
# multigrid and the fast-solve preconditioner need a handful.
fig, ax = plt.subplots(figsize=(6.0, 4.2))
for method, history in histories.items():
    ax.semilogy(history, label=method)
ax.set_xlabel("iteration")
ax.set_ylabel("residual / initial residual")
ax.set_title(f"residual histories, {grid.size:,} unknowns")
ax.legend()
fig.tight_layout()
