"""A frequency sweep of a 2-D acoustic cavity: the indefinite Helmholtz equation, exactly.
=======================================================================================

The pressure ``p`` in a rigid rectangular room ``[0, Lx] x [0, Ly]`` driven at
angular wavenumber ``κ`` by a small source ``f`` solves

    -Δp - κ² p = f,      ∂p/∂n = 0 on the walls,

kronpde's ``-div(k grad u) + c u = f`` with ``k = 1`` and the *negative*
shift ``c = -κ²``.  The response at a microphone peaks where ``κ²`` meets an
eigenvalue of the room, ``π² (m²/Lx² + n²/Ly²)`` (the discrete ones:
``(4/h²) sin²(mπh/(2Lx)) + ...``).  Fast diagonalization solves every
frequency exactly: the solver is prepared once (the transforms and the 1-D
eigenvalues), and :meth:`~kronpde.solvers.PreparedSolver.set_shift` re-sums
``1/(Λ - κ²)`` for each ``κ`` (no new set-up).  A frequency within a relative
1e-8 of an eigenvalue is reported (the solve warns with the condition number).

Run ``python scripts/examples/helmholtz_cavity.py [--cells 128 96] [--kmax 12]
[--samples 400] [--picture sweep.png]``; ``tests/test_examples.py`` runs a
short version and checks that the peaks sit on the discrete eigenvalues.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass

import numpy as np

from kronpde import Grid, Neumann, Problem
from kronpde.solvers import prepare

SOURCE = "exp(-((x - 0.3)**2 + (y - 0.2)**2)/0.002)"


@dataclass
class Sweep:
    """The response ``|p(microphone)|`` per wavenumber, and the discrete eigenvalues."""

    kappa: np.ndarray
    response: np.ndarray
    eigenvalues: np.ndarray
    reused: int


def discrete_eigenvalues(cells: tuple[int, int], size: tuple[float, float]) -> np.ndarray:
    """Return the discrete Neumann Laplacian's eigenvalues, sorted.

    ``Σ_i (4/h_i²) sin²(m_i π h_i / (2 L_i))``, ``m_i = 0 .. cells_i``.
    """
    per_axis = []
    for m, length in zip(cells, size, strict=True):
        h = length / m
        k = np.arange(m + 1)
        per_axis.append((4.0 / h**2) * np.sin(k * math.pi * h / (2 * length)) ** 2)
    return np.sort(np.add.outer(*per_axis).ravel())


def sweep(
    cells: tuple[int, int] = (64, 48),
    size: tuple[float, float] = (1.0, 0.75),
    kappas: np.ndarray | None = None,
    microphone: tuple[float, float] = (0.8, 0.6),
) -> Sweep:
    """Solve the cavity at every wavenumber of ``kappas`` with one prepared fast solver."""
    grid = Grid.box(list(cells), upper=list(size), boundary=Neumann())
    if kappas is None:
        kappas = np.linspace(0.5, 10.0, 200)
    problem = Problem(grid, SOURCE, shift=-(float(kappas[0]) ** 2))
    solver = prepare(problem, "fastdiag")
    i = round(microphone[0] / size[0] * cells[0])
    j = round(microphone[1] / size[1] * cells[1])
    response = np.empty(kappas.size)
    b = problem.rhs()
    reused = 0
    for n, kappa in enumerate(kappas):
        reused += bool(solver.set_shift(-(float(kappa) ** 2)))
        u = solver.solve(b, check=False).u
        response[n] = abs(float(u[i, j]))
    return Sweep(np.asarray(kappas), response, discrete_eigenvalues(cells, size), reused)


def peak_indices(response: np.ndarray) -> list[int]:
    """Return the indices of the local maxima of ``response``."""
    r = response
    return [n for n in range(1, r.size - 1) if r[n] > r[n - 1] and r[n] > r[n + 1]]


def picture(result: Sweep, path: str = "") -> None:
    """Draw the response against κ with the discrete eigenfrequencies (matplotlib)."""
    import matplotlib.pyplot as plt  # noqa: PLC0415

    fig, ax = plt.subplots(figsize=(8, 4))
    ax.semilogy(result.kappa, result.response, lw=1.2, label="|p| at the microphone")
    top = result.kappa.max()
    for lam in result.eigenvalues[(result.eigenvalues > 0) & (result.eigenvalues < top**2)]:
        ax.axvline(math.sqrt(lam), color="0.8", lw=0.8, zorder=0)
    ax.set_xlabel("wavenumber κ (shift c = -κ²)")
    ax.set_ylabel("response")
    ax.set_title("Rigid 2-D cavity: peaks at the discrete eigenfrequencies (grey)")
    ax.legend(loc="upper left")
    fig.tight_layout()
    if path:
        fig.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> int:
    """Run the example from the command line; return the exit status."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--cells", type=int, nargs=2, default=[128, 96])
    parser.add_argument("--kmax", type=float, default=12.0)
    parser.add_argument("--samples", type=int, default=400)
    parser.add_argument("--picture", default="", help="also save the picture to this file")
    args = parser.parse_args(argv)
    kappas = np.linspace(0.3, args.kmax, args.samples)
    result = sweep(tuple(args.cells), kappas=kappas)
    peaks = peak_indices(result.response)
    print(f"{kappas.size} frequencies, set-up kept {result.reused} times")
    frequencies = np.sqrt(result.eigenvalues)
    for n in peaks[:8]:
        nearest = float(frequencies[np.argmin(np.abs(frequencies - kappas[n]))])
        print(f"peak at κ = {kappas[n]:.3f}: the nearest eigenfrequency is {nearest:.3f}")
    picture(result, args.picture)
    if args.picture:
        print(f"picture: {args.picture}")
    return 0


if __name__ == "__main__":
    if status := main():
        sys.exit(status)
