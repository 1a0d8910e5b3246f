"""Shared fixtures: a seeded generator, manufactured solutions, independent references."""

from __future__ import annotations

import itertools
import math
import tracemalloc
from dataclasses import dataclass

import numpy as np
import pytest
import scipy.sparse.linalg as sla

from kronpde import Dirichlet, Grid, Neumann, Periodic, Problem, Robin


@pytest.fixture(autouse=True)
def _raise_on_float_errors():
    """A silent NaN or overflow in kronpde's numerics fails the test."""
    with np.errstate(divide="raise", over="raise", invalid="raise", under="ignore"):
        yield


@pytest.fixture
def rng():
    return np.random.default_rng(20261125)


# -- manufactured solutions ------------------------------------------------------------
@dataclass(frozen=True)
class Manufactured:
    """``u = prod_i cos(w_i x_i + p_i)``: ``-Δu = (sum w_i²) u``, gradients in closed form.

    On a periodic axis of length L choose ``w_i = 2π k / L``.
    """

    omega: tuple[float, ...]
    phase: tuple[float, ...]

    def u(self, *x):
        out = 1.0
        for xi, w, p in zip(x, self.omega, self.phase, strict=False):
            out = out * np.cos(w * xi + p)
        return out

    def du(self, i, *x):
        out = 1.0
        for j, (xj, w, p) in enumerate(zip(x, self.omega, self.phase, strict=False)):
            out = out * (-w * np.sin(w * xj + p) if j == i else np.cos(w * xj + p))
        return out

    def f(self, shift=0.0, k=1.0):
        lam = sum(w * w for w in self.omega)
        return lambda *x: (k * lam + shift) * self.u(*x)

    def condition(self, kind, i, side, alpha=1.0, beta=0.5):
        """The boundary condition of face ``(i, side)`` this solution satisfies."""
        sign = 1.0 if side else -1.0  # outward normal
        if kind == "dirichlet":
            return Dirichlet(self.u)
        if kind == "neumann":
            return Neumann(lambda *x: sign * self.du(i, *x))
        if kind == "robin":
            return Robin(alpha, beta, lambda *x: alpha * self.u(*x) + beta * sign * self.du(i, *x))
        if kind == "periodic":
            return Periodic()
        raise ValueError(kind)


def manufactured(dim: int, kinds: list[tuple[str, str]], upper) -> Manufactured:
    """A solution fitting per-axis kinds: periodic axes get a period-fitting frequency."""
    omega, phase = [], []
    base = (1.3, 0.9, 1.1, 0.7)
    for i in range(dim):
        if kinds[i][0] == "periodic":
            omega.append(2 * math.pi / upper[i])
        else:
            omega.append(base[i])
        phase.append(0.3 + 0.2 * i)
    return Manufactured(tuple(omega), tuple(phase))


def peak_bytes(fn) -> int:
    """Return the peak bytes ``fn()`` allocates (numpy's buffers included), by tracemalloc."""
    tracemalloc.start()
    try:
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak


def build_problem(cells, kinds, upper=None, shift=0.0, k=1.0):
    """A Problem with a manufactured solution on per-axis ``(lower_kind, upper_kind)``."""
    dim = len(cells)
    upper = list(upper or [1.0 + 0.5 * i for i in range(dim)])
    sol = manufactured(dim, kinds, upper)
    boundary = {}
    names = "xyz"
    for i in range(dim):
        for side in (0, 1):
            boundary[names[i] + ("min", "max")[side]] = sol.condition(kinds[i][side], i, side)
    grid = Grid.box(cells, upper=upper, boundary=boundary)
    return Problem(grid, sol.f(shift, k), shift, coefficient=k), sol


def reference_solve(problem: Problem) -> np.ndarray:
    """Independent solve of ``A u = b`` with scipy's sparse direct solver.

    Singular problems: ``b`` is projected onto the range (``w · b = 0``, the
    left null vector of ``A`` is the weight vector), then unknown 0 is pinned
    to zero (equation 0 is redundant for compatible data), and the weighted
    mean is removed from the result.
    """
    a = problem.operator().tocsc()
    b = problem.rhs()
    # SuperLU with the minimum-degree ordering of A + A^T: on grids it fills about half as
    # much as the default COLAMD, and so is twice as fast (the solution is the same)
    order = "MMD_AT_PLUS_A"
    if not problem.singular:
        return sla.spsolve(a, b, permc_spec=order)
    w = problem.weights().reshape(-1)
    b = b - (w @ b) / w.sum()
    u = np.zeros_like(b)
    u[1:] = sla.spsolve(a[1:, 1:].tocsc(), b[1:], permc_spec=order)
    return u - (w @ u) / w.sum()


# -- an entrywise dense reference of the discretisation -------------------------------
def dense_reference(grid: Grid, source, shift: float = 0.0, k: float = 1.0):
    """Operator and right-hand side built node by node from case-format.md's rules.

    Written independently of kronpde.operators.stencils/operator: loops over unknown
    nodes and applies the 3-point rule per axis, with ghost-node reflection
    (``u_{-1} = u_1 + 2h (g - alpha u_0)/beta``, outward normal) on
    Neumann/Robin faces, wrap-around on periodic axes and known values next to
    Dirichlet faces.
    """
    axes = grid.axes
    per_axis = []
    for a in axes:
        lo = 1 if isinstance(a.lower_bc, Dirichlet) else 0
        hi = a.cells - 1 if isinstance(a.upper_bc, (Dirichlet, Periodic)) else a.cells
        per_axis.append(list(range(lo, hi + 1)))
    unknowns = list(itertools.product(*per_axis))
    index = {node: r for r, node in enumerate(unknowns)}
    n = len(unknowns)
    mat = np.zeros((n, n))
    rhs = np.zeros(n)

    def coords(node):
        return [np.array(a.lower + j * a.h) for a, j in zip(axes, node, strict=False)]

    def value(data, node):
        if callable(data):
            return float(data(*coords(node)))
        return float(data)

    for r, node in enumerate(unknowns):
        rhs[r] += value(source, node)
        mat[r, r] += shift
        for i, a in enumerate(axes):
            h2 = a.h * a.h
            j = node[i]
            mat[r, r] += 2.0 * k / h2
            for step, bc in ((-1, a.lower_bc), (+1, a.upper_bc)):
                nb = j + step
                target = list(node)
                if a.periodic:
                    target[i] = nb % a.cells
                    mat[r, index[tuple(target)]] -= k / h2
                    continue
                if 0 <= nb <= a.cells:
                    if (nb == 0 and isinstance(a.lower_bc, Dirichlet)) or (
                        nb == a.cells and isinstance(a.upper_bc, Dirichlet)
                    ):
                        face = a.lower_bc if nb == 0 else a.upper_bc
                        target[i] = nb
                        rhs[r] += k / h2 * value(face.value, tuple(target))
                    else:
                        target[i] = nb
                        mat[r, index[tuple(target)]] -= k / h2
                    continue
                # ghost node outside the box: reflect
                alpha = bc.alpha if isinstance(bc, Robin) else 0.0
                beta = bc.beta if isinstance(bc, Robin) else 1.0
                g = value(bc.value, node)
                target[i] = j - step
                # -k u_ghost / h² with u_ghost = u_inner + 2h (g - alpha u_j) / beta
                if 0 <= target[i] <= a.cells and tuple(target) in index:
                    mat[r, index[tuple(target)]] -= k / h2
                else:  # inner neighbour is a Dirichlet node
                    face = a.upper_bc if step < 0 else a.lower_bc
                    rhs[r] += k / h2 * value(face.value, tuple(target))
                mat[r, r] += 2.0 * k * alpha / (beta * a.h)
                rhs[r] += 2.0 * k * g / (beta * a.h)
    return mat, rhs


def observed_order(h, err) -> float:
    """Slope of ``log err`` against ``log h`` (least squares over all levels)."""
    return float(np.polyfit(np.log(h), np.log(err), 1)[0])
