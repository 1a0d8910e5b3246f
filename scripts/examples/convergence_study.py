"""A convergence study: second and fourth order
==============================================

The same problem on grids with 2, 4, 8, ... times the cells, solved with the
second-order scheme and the compact fourth-order one (``order=4``), against the
exact solution ``u = e^{xy} + sin 2x`` with a Neumann face at ``x = 1``.  The
observed orders are the slopes between levels; ``kronpde converge CASE.toml``
does the same for a case file.
"""

import matplotlib.pyplot as plt
import numpy as np

from kronpde import Dirichlet, Grid, Neumann, Problem, solve

exact = "exp(x*y) + sin(2*x)"
source = "-(x**2 + y**2)*exp(x*y) + 4*sin(2*x)"  # -Δu
flux = "y*exp(x*y) + 2*cos(2*x)"  # du/dn on x = 1 (n = +x)

errors: dict[int, list[float]] = {2: [], 4: []}
sizes = [8, 16, 32, 64]
for order in (2, 4):
    for n in sizes:
        grid = Grid.box([n, n], boundary={"xmax": Neumann(flux)}, default=Dirichlet(exact))
        problem = Problem(grid, source=source, order=order)
        u = solve(problem).u
        x, y = grid.point_coordinates()
        errors[order].append(float(np.abs(u - (np.exp(x * y) + np.sin(2 * x))).max()))
    e = errors[order]
    orders = [np.log2(a / b) for a, b in zip(e, e[1:], strict=False)]
    print(f"order {order}: max errors", " ".join(f"{v:.2e}" for v in e))
    print("          observed orders", " ".join(f"{v:.2f}" for v in orders))

# %%
h = 1.0 / np.array(sizes)
fig, ax = plt.subplots(figsize=(6.0, 4.2))
for order, marker in ((2, "o"), (4, "s")):
    ax.loglog(h, errors[order], marker + "-", label=f"order {order}")
    ax.loglog(h, errors[order][0] * (h / h[0]) ** order, "k:", lw=0.8)
ax.set_xlabel("h")
ax.set_ylabel("max |u - u_exact|")
ax.set_title("grid convergence (dotted: h² and h⁴)")
ax.legend()
fig.tight_layout()
