"""Product coefficients in 2-D: ``k_s = a(s) b(t)``, ``k_t = c(t) d(s)``, solved exactly.

FISHPACK's BLKTRI test writes ``(1/2s)(u_s/2s)_s + (1/2t)(u_t/2t)_t``; times
``4 s t`` it is the flux form with ``k_s = t/s`` and ``k_t = s/t``.  Where each
axis' coefficient, at the faces its fluxes cross, is a product of a function of
its own axis and one of the other, the flux form's operator is

``A = T_s[a] ⊗ diag(b) + diag(d) ⊗ T_t[c] = (diag(d) ⊗ I) [T̃_s ⊗ diag(b) + I ⊗ T_t[c]]``

with ``T̃_s = diag(1/d) T_s[a]`` weighted-symmetric in ``w_s d``: the
:class:`~kronpde.problem.partial.PartialStructure` of the tridiagonal-axis solver
(``G_s = b``, ``b`` multiplied by ``1/d`` along ``s``, the shift on ``s`` with
weights ``1/d``).  :class:`ProductFluxForm` is the flux form with that
structure, found from the flux form's own face values and checked against its
assembled operator (``docs/separable-operators.md``).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from kronpde.errors import DataError
from kronpde.expr.expression import Expression
from kronpde.geometry.boundary import evaluate_data
from kronpde.operators.stencils import AxisOperator, diffusion_operator
from kronpde.problem.data import ProblemData
from kronpde.problem.flux_form import FluxForm
from kronpde.problem.partial import PartialStructure

__all__ = ["ProductFluxForm", "may_be_product", "product_structure"]

#: Relative agreement of the factored face values and of the structure's operator.
PRODUCT_RTOL = 1e-12


def _factor(values: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Return ``(rows, cols)`` with ``values = outer(rows, cols)`` to rounding, or None."""
    if values.size == 0 or not np.all(np.isfinite(values)) or np.any(values <= 0.0):
        return None
    j0, f0 = np.unravel_index(int(np.argmax(values)), values.shape)
    cols = values[j0, :]
    rows = values[:, f0] / cols[f0]
    if np.max(np.abs(values - np.outer(rows, cols))) > PRODUCT_RTOL * float(np.max(values)):
        return None
    return rows, cols


def _entries(data: ProblemData) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """Per axis ``(edges, ends)``: ``k_i`` at its faces and at its end points, other axis first."""
    grid = data.grid
    k, _, edges = data.flux_inputs()
    out = []
    for i, axis in enumerate(grid.axes):
        ki = np.asarray(k[i] if isinstance(k, tuple) else k, dtype=float)
        index = list(grid.unknown_index)
        index[i] = slice(None)
        lines = np.moveaxis(ki[tuple(index)], i, -1)
        if edges[i] is None:  # a constant k_i: its value on every face
            e = np.broadcast_to(lines[..., :1], (*lines.shape[:-1], _faces(axis)))
        else:
            e = np.moveaxis(np.asarray(edges[i], dtype=float), i, -1)
        out.append((np.array(e), np.array(lines[..., [0, -1]])))
    return tuple(out)


def _faces(axis: object) -> int:
    return axis.cells + 1 if axis.cell_centred else axis.cells  # type: ignore[attr-defined]


def may_be_product(data: ProblemData) -> bool:
    """Whether ``data`` may have the product form (2-D, not periodic, ``k`` expressions; cheap)."""
    grid = data.grid
    if grid.dimension != 2 or any(a.periodic for a in grid.axes):
        return False
    if getattr(data, "axis_shift", None) is not None or getattr(data, "nondivergence", False):
        return False
    if getattr(data, "shift_field", None) is not None or not data.variable_coefficient:
        return False
    coefficient = data.coefficient
    formulas = getattr(coefficient, "entries", (coefficient,))
    if not all(isinstance(k, (float, Expression)) for k in formulas):
        return False  # a Python callable is evaluated where the fluxes read it, nowhere else
    return all(isinstance(k, float) or _sampled_product(k, grid) for k in formulas)


def _sampled_product(k: object, grid: object) -> bool:
    """Whether ``k`` is a product ``f(x) g(y)`` on a 3 x 3 sample inside the box (cheap)."""
    coords = [
        (a.lower + np.array([0.31, 0.57, 0.83]) * (a.upper - a.lower)).reshape(
            [3 if b == i else 1 for b in range(2)]
        )
        for i, a in enumerate(grid.axes)  # type: ignore[attr-defined]
    ]
    try:
        with np.errstate(all="ignore"):
            v = np.asarray(evaluate_data(k, coords, (3, 3), "coefficient", check=False), float)
    except Exception:  # noqa: BLE001 - a formula that fails here is checked where it is read
        return False
    if not np.all(np.isfinite(v)) or np.any(v <= 0.0):
        return False
    cross = np.outer(v[:, 0], v[0, :]) / v[0, 0]
    return bool(np.max(np.abs(v - cross)) <= 1e-10 * float(np.max(v)))


def product_structure(data: ProblemData) -> PartialStructure | None:
    """Return the product form's :class:`PartialStructure` (``t`` = y, else x), or None."""
    if not may_be_product(data):
        return None
    entries = _entries(data)
    for t in (1, 0):
        found = _structure(data, entries, t)
        if found is not None:
            return found
    return None


def _structure(data: ProblemData, entries: tuple, t: int) -> PartialStructure | None:
    grid = data.grid
    s = 1 - t
    axis_s, axis_t = grid.axes[s], grid.axes[t]
    fs = _factor(entries[s][0])  # k_s: rows along t, columns along s's faces
    ft = _factor(entries[t][0])  # k_t: rows along s, columns along t's faces
    if fs is None or ft is None:
        return None
    b, a = fs
    d, c = ft
    ends_s = entries[s][1] / b[:, None]  # a at s's end points (read by Neumann/Robin ends)
    ends_t = entries[t][1] / d[:, None]
    end_a = (float(ends_s[0, 0]), float(ends_s[0, 1]))
    end_c = (float(ends_t[0, 0]), float(ends_t[0, 1]))
    with np.errstate(invalid="ignore", divide="ignore"):
        op_s = diffusion_operator(axis_s, a, _finite(end_a))
        op_t = diffusion_operator(axis_t, c, _finite(end_c))
    shift_axis, shift_weights, fixed = s, 1.0 / d, None
    if _constant(b):  # G_s = b0: c / d is b0 (c / (d b0)) on s
        shift_weights = 1.0 / (d * b[0])
    elif _constant(d):  # c / d0 along t
        shift_axis, shift_weights = t, np.full(op_t.diag.size, 1.0 / d[0])
    else:  # c / d(s) is no G_s(t) times a function of s: c = 0 only
        fixed = 0.0
    tilde = AxisOperator(
        op_s.diag / d, op_s.lower / d, op_s.upper / d, False, op_s.weights * d, op_s.lift
    )
    ops = tuple(None if i == t else tilde for i in range(2))
    coupling = tuple(None if i == t else b.copy() for i in range(2))
    rhs = tuple(None if i == t else 1.0 / d for i in range(2))
    structure = PartialStructure(
        axis=t,
        operators=ops,
        coupling=coupling,
        lower=op_t.lower.copy(),
        diag=op_t.diag.copy(),
        upper=op_t.upper.copy(),
        periodic=False,
        t_weights=op_t.weights.copy(),
        rhs_weights=rhs,
        axes=(None, None),
        shift_axis=shift_axis,
        shift_weights=shift_weights,
        fixed_shift=fixed,
        note=f"Product k: eigh along axis {s}, tridiagonal solves along axis {t}.",
    )
    return structure if _agrees(data, structure, op_s, op_t, b, d) else None


def _constant(v: np.ndarray) -> bool:
    return bool(np.max(np.abs(v - v[0])) <= PRODUCT_RTOL * float(np.max(np.abs(v))))


def _finite(ends: tuple[float, float]) -> tuple[float, float]:
    """End values a Dirichlet end never reads (they may be infinite there): 1 instead."""
    return tuple(v if np.isfinite(v) and v > 0.0 else 1.0 for v in ends)  # type: ignore[return-value]


def _tridiagonal(op: AxisOperator) -> np.ndarray:
    n = op.diag.size
    m = np.diag(op.diag)
    m[np.arange(1, n), np.arange(n - 1)] = op.lower[1:]
    m[np.arange(n - 1), np.arange(1, n)] = op.upper[: n - 1]
    return m


def _agrees(data: ProblemData, structure: PartialStructure, op_s, op_t, b, d) -> bool:  # noqa: ANN001
    """Whether ``T_s[a] ⊗ diag(b) + diag(d) ⊗ T_t[c]`` is the flux form's ``A`` (no shift)."""
    from kronpde.operators.flux import VariableDiffusion

    grid = data.grid
    t = structure.axis
    k, faces, edges = data.flux_inputs()
    made = VariableDiffusion(grid, k, 0.0, faces, edges)
    x = np.random.default_rng(7).standard_normal(grid.shape)
    want = (made.operator() @ x.reshape(-1)).reshape(grid.shape)
    xs = np.moveaxis(x, t, -1)  # (s, t)
    got = (_tridiagonal(op_s) @ xs) * b[None, :] + d[:, None] * (xs @ _tridiagonal(op_t).T)
    got = np.moveaxis(got, -1, t)
    scale = float(np.max(np.abs(want)))
    return bool(np.max(np.abs(got - want)) <= 1e3 * PRODUCT_RTOL * scale)


class ProductFluxForm(FluxForm):
    """The flux form of a product ``k`` (module docstring): ``fastdiag`` solves it exactly."""

    fast_solve_reason: ClassVar[str | None] = (
        "auto: each axis' coefficient is a function of its own axis times one of the other, "
        "so eigenvectors along one axis and tridiagonal solves along the other solve it exactly"
    )

    def fast_solve_obstacle(self) -> str | None:
        """None where ``k`` is a product (the tridiagonal axis solves it), else why not."""
        if self.partial_structure() is not None:
            return None
        found = self._structure()
        if found is not None:  # it holds c = 0 only
            return (
                "the coefficient k is a product of one-axis functions, but with a shift "
                "c != 0 the operator is no tridiagonal-axis form (c would vary along both "
                "axes of it), so fast diagonalization cannot solve it exactly; use method "
                "'fastdiag-cg' (CG preconditioned by fast diagonalization), 'amg-cg', 'cg' or "
                "'direct'"
            )
        return super().fast_solve_obstacle()

    def _structure(self) -> PartialStructure | None:
        def make() -> PartialStructure | None:
            try:
                return product_structure(self.data)
            except DataError:  # k bad somewhere: the checks where k is read say so
                return None

        return self.shared.get("product_structure", make)

    def partial_structure(self) -> PartialStructure | None:
        """Return ``A`` as eigenvectors along ``s`` and tridiagonal systems along ``t``."""
        found = self._structure()
        if found is None or found.fixed_shift not in (None, self.shift):
            return None
        return found
