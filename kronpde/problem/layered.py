"""Layered media: the flux form of a ``k`` that varies along one axis only, solved exactly.

Where ``k`` is an expression of one coordinate alone (stratified soil, ocean,
atmosphere), the flux form's operator is
``A = Σ_{i≠t} diag(k_t) ⊗ T_i + T_t^{(k)} + c I``: the other axes' fluxes
take ``k`` at their own row (the harmonic mean of equal values is the value,
bit for bit; along ``t`` a formula ``k`` is taken where the fluxes cross, as
the flux form does), so the per-axis eigenvectors of the other axes diagonalise it
mode by mode and a tridiagonal system along ``t`` remains
(:class:`~kronpde.problem.partial.PartialStructure`).  :class:`LayeredFluxForm`
is :class:`~kronpde.problem.flux_form.FluxForm` with that structure; the
derivation is in ``docs/tridiagonal-axis.md``.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from kronpde.expr.expression import Expression
from kronpde.expr.grammar import COORDINATES
from kronpde.problem.data import ProblemData
from kronpde.problem.flux_form import FluxForm
from kronpde.problem.layers import layer_structure
from kronpde.problem.partial import PartialStructure

__all__ = ["LayeredFluxForm", "layered_axis"]


def layered_axis(data: ProblemData) -> int | None:
    """Return the axis along which alone ``k`` varies (an expression of its coordinate), or None.

    The grid must have at least two axes (in 1-D every ``k`` is layered, and
    the Thomas solve of the flux form is the tridiagonal axis with no
    transformed axis at all: also returned, axis 0).
    """
    k = data.coefficient
    if not isinstance(k, Expression):
        return None
    names = set(k.names_used)
    if len(names) != 1:
        return None
    (name,) = names
    axis = COORDINATES.index(name)
    return axis if axis < data.grid.dimension else None


class LayeredFluxForm(FluxForm):
    """The flux form of a ``k(x_t)`` (module docstring): ``fastdiag`` solves it exactly."""

    name: ClassVar[str] = "flux form"
    fast_solve_reason: ClassVar[str | None] = (
        "auto: the coefficient k varies along one axis only (layered), so fast "
        "diagonalization on the other axes and tridiagonal solves along it solve it exactly"
    )

    @property
    def layer_axis(self) -> int:
        """``t``: the axis ``k`` varies along."""
        t = layered_axis(self.data)
        if t is None:  # pragma: no cover - schemes.discretise chose this class by it
            msg = "LayeredFluxForm: k is not layered"
            raise ValueError(msg)
        return t

    def fast_solve_obstacle(self) -> None:
        """None: the tridiagonal axis solves the operator exactly."""
        return None

    def partial_structure(self) -> PartialStructure:
        """Return ``A`` as transforms on the other axes and tridiagonal systems along ``t``."""
        return self.shared.get("partial_structure", self._make_structure)

    def _k_line(self) -> np.ndarray:
        """``k`` at the points of axis ``t`` (the flux form's own values, one line of them)."""
        grid = self.grid
        t = self.layer_axis
        index = [0] * grid.dimension
        index[t] = slice(None)
        k = np.array(self.data.k_nodes[tuple(index)], dtype=float)
        axis = grid.axes[t]
        if axis.periodic and not axis.cell_centred:
            k[-1] = k[0]  # node m is node 0
        return k

    def _make_structure(self) -> PartialStructure:
        t = self.layer_axis
        given = self.data.k_edges[t]  # a formula: k where the fluxes along t cross
        line = None if given is None else np.array(given[(0,) * t + (slice(None),)], dtype=float)
        if line is not None:
            line = line.reshape(line.shape[0], -1)[:, 0]
        return layer_structure(self.grid, t, self._k_line(), line, self.data.k_faces)
