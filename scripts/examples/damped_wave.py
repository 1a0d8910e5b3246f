"""A damped membrane driven at one frequency: a complex shift
==========================================================

A membrane fixed on the edges of ``[0, 2] x [0, 1]`` with damping ``γ`` and
wave speed 1, driven by a small source ``F(x) cos(ωt)``, settles into the
time-harmonic response ``w(x, t) = Re(u(x) e^{-iωt})``.  Putting that into
``w_tt + γ w_t - Δw = F cos(ωt)`` gives

    -Δu + c u = F,      c = -ω² - iγω,      u = 0 on the edges,

kronpde's equation with a *complex* shift: the problem is complex
(:class:`kronpde.ComplexProblem`), and ``fastdiag`` solves it exactly by the
real transforms of the real and imaginary parts, divided by ``Λ + c``.  The
solver is prepared once and :meth:`set_shift` moves it to each damping (a
sweep reuses the set-up).  With little damping the response is a standing
wave of the nearest eigenmode; with more it is a wave running out from the
source and fading.

Run ``python scripts/examples/damped_wave.py [--cells 128 64] [--omega 14]
[--picture damped_wave.png]``; ``tests/test_examples_complex.py`` checks a solve
against a sparse LU of the five-point matrix assembled independently.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from kronpde import ComplexProblem, Dirichlet, Grid, prepare

SOURCE = "exp(-((x - 0.5)**2 + (y - 0.5)**2)/0.003)"
SIZE = (2.0, 1.0)


def shift(omega: float, damping: float) -> complex:
    """Return ``c = -ω² - iγω``, the shift of the time-harmonic damped wave."""
    return complex(-(omega**2), -damping * omega)


def responses(
    cells: tuple[int, int], omega: float, dampings: list[float]
) -> tuple[ComplexProblem, list[np.ndarray]]:
    """Solve the membrane at every damping with one prepared fast solver; return the fields."""
    grid = Grid.box(list(cells), upper=list(SIZE), boundary=Dirichlet(0.0))
    problem = ComplexProblem(grid, SOURCE, shift(omega, dampings[0]))
    solver = prepare(problem, "fastdiag")
    b = problem.rhs()
    fields = []
    for damping in dampings:
        solver.set_shift(shift(omega, damping))
        fields.append(solver.solve(b).u)
    return problem, fields


def picture(problem: ComplexProblem, fields: list[np.ndarray], dampings, path: str) -> None:
    """Draw Re u and |u| for each damping (matplotlib.pyplot); save it where ``path`` says.

    With an empty ``path`` the figure stays open (the documentation's gallery shows it).
    """
    import matplotlib.pyplot as plt  # noqa: PLC0415 - only to draw

    x, y = problem.grid.points
    fig, axes = plt.subplots(len(fields), 2, figsize=(10, 2.6 * len(fields)), squeeze=False)
    for row, (u, damping) in enumerate(zip(fields, dampings, strict=True)):
        for col, (values, name) in enumerate(((u.real, "Re u"), (np.abs(u), "|u|"))):
            ax = axes[row][col]
            top = float(np.max(np.abs(values))) or 1.0
            cmap = "RdBu_r" if col == 0 else "magma"
            low = -top if col == 0 else 0.0
            mesh = ax.pcolormesh(x, y, values.T, cmap=cmap, vmin=low, vmax=top, shading="auto")
            ax.set_aspect("equal")
            ax.set_title(f"{name}, damping γ = {damping:g}")
            fig.colorbar(mesh, ax=ax, shrink=0.8)
    fig.tight_layout()
    if path:
        fig.savefig(path, dpi=110)
        plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    """Solve, print the amplitude at a probe per damping, and draw."""
    parser = argparse.ArgumentParser(description="A damped membrane: a complex shift.")
    parser.add_argument("--cells", type=int, nargs=2, default=[128, 64])
    parser.add_argument("--omega", type=float, default=14.0)
    parser.add_argument("--damping", type=float, nargs="+", default=[0.2, 2.0, 8.0])
    parser.add_argument("--picture", default="", help="also save the picture to this file")
    args = parser.parse_args(argv)
    problem, fields = responses(tuple(args.cells), args.omega, args.damping)
    i, j = round(1.5 / SIZE[0] * args.cells[0]), round(0.5 / SIZE[1] * args.cells[1])
    for damping, u in zip(args.damping, fields, strict=True):
        print(f"damping {damping:5g}: |u| at (1.5, 0.5) = {abs(u[i, j]):.4e}")
    picture(problem, fields, args.damping, args.picture)
    if args.picture:
        print(f"picture: {args.picture}")
    return 0


if __name__ == "__main__":
    if status := main():
        sys.exit(status)
