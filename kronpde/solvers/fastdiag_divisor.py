"""How a fast solve divides by its modes' eigenvalues: the Kronecker sum or a combination.

``KroneckerSum`` (``Σ_i λ_i + c``) and ``Combination`` (another combination of the
per-axis eigenvalues, e.g. the compact fourth-order scheme's) fill the full array of a
mode's values, or, for a large definite operator, give the pieces from which
:class:`~kronpde.solvers.fastdiag.FastDiagSolver` makes them block by block in each solve.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from kronpde.errors import SolverError
from kronpde.solvers.fastdiag_axes import TransformPlan
from kronpde.solvers.resonance import not_definite_message

__all__ = ["LAZY_MODES", "Combination", "KroneckerSum", "blocks", "end_shape"]


#: Modes from which a definite operator divides by its eigenvalues block by block instead of
#: keeping the full array ``1/(Λ + c)`` (``FastDiagSolver._divide_by_blocks``): one array
#: of the grid's size less to make (a one-off solve's page faults, 5-18 ms at 127³) and to
#: keep, for about 1 ms more per solve at 127³ (3.0 against 2.1 ms).
LAZY_MODES = 1 << 18

#: Modes per block of that division (one block of work, kept by the solver).
_BLOCK_MODES = 1 << 16


#: A least corner above this fraction of the largest proves every mode positive (the
#: modes' computed values differ from the exact ones by far less).
_CORNER_MARGIN = 1e-8


def end_shape(i: int, d: int) -> tuple[int, ...]:
    """Return the shape that broadcasts axis ``i``'s two ends against the others'."""
    shape = [1] * d
    shape[i] = 2
    return tuple(shape)


def blocks(shape: tuple[int, ...]) -> list[tuple[int, int]]:
    """Return the planes ``(p0, p1)`` of the blocks of :data:`_BLOCK_MODES` modes along axis 0."""
    n0, size = shape[0], max(1, _BLOCK_MODES // max(math.prod(shape[1:]), 1))
    return [(p0, min(p0 + size, n0)) for p0 in range(0, n0, size)]


class KroneckerSum:
    """``Σ_i λ_i + c``: monotone in every ``λ_i``, so its least value is the sum of the least."""

    def fill(self, plan: TransformPlan, shift: float, singular: bool, out: np.ndarray) -> float:
        """Write every mode's ``Σ_i λ_i + c`` into ``out``; return the least."""
        # sum over axes 1.. as a small array, then one broadcast write of the full array
        first, rest = self._pieces(plan, shift)
        np.add(first, rest, out=out)
        return self._lowest(plan, shift)

    def definite(self, plan: TransformPlan, shift: float) -> tuple | None:
        """Return :meth:`block`'s pieces where every eigenvalue is ``> 0``, else None."""
        return self._pieces(plan, shift) if self._lowest(plan, shift) > 0.0 else None

    @staticmethod
    def block(pieces: tuple, p0: int, p1: int, out: np.ndarray) -> None:
        """Write the eigenvalues of the planes ``p0:p1`` (as :meth:`fill` does) into ``out``."""
        first, rest = pieces
        np.add(first[p0:p1], rest, out=out)

    @staticmethod
    def _pieces(plan: TransformPlan, shift: float) -> tuple[np.ndarray, np.ndarray]:
        """``(λ_0 + c, Σ_{i>0} λ_i)``: what :meth:`fill` adds up, broadcast along axis 0."""
        rest = np.zeros(plan.spectral_shape[1:])
        for i in range(1, plan.ndim):
            rest = rest + plan.spectral_eigenvalues(i)[0]
        return plan.spectral_eigenvalues(0) + shift, rest

    @staticmethod
    def _lowest(plan: TransformPlan, shift: float) -> float:
        """Return the least eigenvalue ``Σ_i min λ_i + c``."""
        return sum(float(np.min(p.eig.eigenvalues)) for p in plan.plans) + shift

    def values(
        self, per_axis: list[np.ndarray], shift: float, shape: tuple[int, ...]
    ) -> np.ndarray:
        """Return the modes' values of the given per-axis eigenvalues, of ``shape``."""
        out = np.full(shape, shift)
        for lam in per_axis:
            out += lam
        return out


class Combination:
    """Another combination of the per-axis eigenvalues (``combine``): its minimum is searched."""

    def __init__(self, combination: Any):
        self.combination = combination

    def fill(self, plan: TransformPlan, shift: float, singular: bool, out: np.ndarray) -> float:
        """Write every mode's value into ``out`` (1 at a singular null mode); return the least.

        Raises
        ------
        SolverError
            Where ``c >= 0`` and some mode's value is negative (not definite).
        """
        per_axis = [plan.spectral_eigenvalues(i) for i in range(plan.ndim)]
        self.combination.combine(per_axis, shift, out=out)
        if singular:
            out[plan.null_index] = 1.0
        lowest = float(out.min())  # the combination is not monotone
        if lowest < 0.0 and shift >= 0.0:  # c < 0: negative modes are the Helmholtz sign
            msg = not_definite_message(shift, lowest)
            raise SolverError(msg)
        return lowest

    def definite(self, plan: TransformPlan, shift: float) -> tuple | None:
        """Return :meth:`block`'s pieces where every mode's value is ``> 0``, else None.

        The combination is multilinear in the ``λ_i`` (``c + Σ (1 - c a_i) λ_i -
        Σ (a_i + a_j) λ_i λ_j``), so over the box of the axes' eigenvalue ranges its
        least value is at a corner: a clearly positive least corner proves every mode
        positive.  Else the least value is searched block by block.
        """
        per_axis = [plan.spectral_eigenvalues(i) for i in range(plan.ndim)]
        pieces = (per_axis, shift)
        d = len(per_axis)
        ends = [
            np.array([lam.min(), lam.max()]).reshape(end_shape(i, d))
            for i, lam in enumerate(per_axis)
        ]
        corners = self.combination.combine(ends, shift)
        if float(corners.min()) > _CORNER_MARGIN * float(np.abs(corners).max()):
            return pieces
        for p0, p1 in blocks(plan.spectral_shape):
            values = np.empty((p1 - p0, *plan.spectral_shape[1:]))
            self.block(pieces, p0, p1, values)
            if not float(values.min()) > 0.0:
                return None
        return pieces

    def block(self, pieces: tuple, p0: int, p1: int, out: np.ndarray) -> None:
        """Write the values of the planes ``p0:p1`` (as :meth:`fill` does) into ``out``."""
        per_axis, shift = pieces
        self.combination.combine([per_axis[0][p0:p1], *per_axis[1:]], shift, out=out)

    def values(
        self, per_axis: list[np.ndarray], shift: float, shape: tuple[int, ...]
    ) -> np.ndarray:
        """Return the modes' values of the given per-axis eigenvalues, of ``shape``."""
        return np.broadcast_to(self.combination.combine(per_axis, shift), shape).copy()
