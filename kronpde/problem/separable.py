"""The Kronecker sum of variable 1-D operators: ``A = Σ_i T_i(k_i) + c I``, exact for fastdiag.

Each ``k_i`` is a number or an expression of axis ``i`` alone
(:class:`~kronpde.problem.anisotropy.AxisCoefficients.separable`), so the flux
form's rows along axis ``i`` are the same on every line: the 1-D operator
``T_i`` of :func:`~kronpde.operators.stencils.diffusion_coefficients` (or the
cell-centred rows) with ``k_i`` at its faces.  ``W_i T_i`` is symmetric, so
``eigh`` diagonalises each axis and the fast solve is exact.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np

from kronpde.geometry.boundary import DataSurvey, evaluate_data
from kronpde.operators.cells import cell_coefficients
from kronpde.operators.stencils import AxisOperator, diffusion_coefficients, second_difference
from kronpde.problem.discretisation import EigenStructure
from kronpde.problem.face_k import flux_coordinates
from kronpde.problem.kronecker import KroneckerSum
from kronpde.problem.nondivergence import with_axis_shift

if TYPE_CHECKING:
    from kronpde.geometry.grid import Axis
    from kronpde.problem.anisotropy import AnisotropicData
    from kronpde.problem.data import ProblemData

__all__ = ["SeparableSum", "axis_operator"]


def _on_axis(part: ProblemData, i: int, where: np.ndarray) -> np.ndarray:
    """``k_i`` at positions ``where`` of axis ``i`` (an expression of that axis), checked."""
    g = part.grid
    shape = [1] * g.dimension
    shape[i] = where.size
    grids = [np.full([1] * g.dimension, g.axes[b].points[0]) for b in range(g.dimension)]
    grids[i] = where.reshape(shape)
    k = evaluate_data(part.coefficient, grids, tuple(shape), part.subject, check=False)
    index = [np.zeros(1, dtype=int)] * g.dimension
    index[i] = np.arange(where.size)

    def point(at: tuple[int, ...]) -> list[float]:
        return [float(where[j]) if b == i else float(g.axes[b].points[0]) for b, j in enumerate(at)]

    part.raise_for_coefficient(DataSurvey.of(k, index), part.coefficient, point)
    return k.reshape(-1)


def axis_operator(axis: Axis, part: ProblemData, i: int) -> AxisOperator:
    """Return ``T_i``: the flux-form rows of ``-(k_i u')'`` on axis ``i`` (``k_i`` of that axis)."""
    k = part.coefficient
    if isinstance(k, float):
        op = second_difference(axis)
        return op if k == 1.0 else op.scaled(k)
    faces = _on_axis(part, i, flux_coordinates(axis))
    if axis.cell_centred:
        if axis.periodic:
            faces[-1] = faces[0]
        diag, lower, upper, lift_lo, lift_hi = cell_coefficients(axis, faces)
    else:
        ends = _on_axis(part, i, np.array([axis.nodes[0], axis.nodes[-1]]))
        diag, lower, upper, lift_lo, lift_hi = diffusion_coefficients(
            axis, faces, (ends[0], ends[1])
        )
    lift = (float(lift_lo), float(lift_hi))
    return AxisOperator(diag, lower, upper, axis.periodic, axis.weights.copy(), lift)


class SeparableSum(KroneckerSum):
    """``A = Σ_i T_i(k_i) + c I``: per-axis ``k_i`` of their own axes (module docstring)."""

    name: ClassVar[str] = "separable Kronecker sum"
    fast_solve_reason: ClassVar[str | None] = (
        "auto: the operator is a Kronecker sum of variable 1-D operators (each axis' "
        "coefficient varies along that axis only), so fast diagonalization solves it exactly"
    )
    data: AnisotropicData

    @property
    def coefficient(self) -> float:
        """``k_ref``: the weighted geometric mean of the ``k_i`` (what reports call ``k``)."""
        return self.shared.get("k_ref", self.data.reference_coefficient)

    @property
    def axis_operators(self) -> tuple[AxisOperator, ...]:
        """The 1-D operators ``T_i(k_i)`` (physical spacing, not symmetrised), made once."""
        data = self.data
        return self.shared.get(
            "axis_operators",
            lambda: tuple(
                with_axis_shift(axis_operator(a, p, i), a, data.axis_shift, i)
                for i, (a, p) in enumerate(zip(data.grid.axes, data.parts, strict=True))
            ),
        )

    def check(self) -> None:
        """Evaluate the 1-D operators (every ``k_i`` where its fluxes use it)."""
        self.axis_operators  # noqa: B018

    def eigen_structure(self) -> EigenStructure:
        """Return ``A`` itself: the Kronecker sum of :attr:`axis_operators`."""
        return EigenStructure(self.axis_operators, None, self.coefficient)

    def reference_structure(self) -> EigenStructure:
        """Return ``A`` itself (the preconditioned solve is exact)."""
        return self.eigen_structure()
