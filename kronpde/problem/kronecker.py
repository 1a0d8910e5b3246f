"""The second-order scheme with a constant ``k``: ``A`` is a Kronecker sum of 1-D operators.

``A = Σ_i I ⊗ … ⊗ T_i ⊗ … ⊗ I + c I`` with ``T_i = k`` times the second
difference of :func:`kronpde.operators.stencils.second_difference` (the
finite-volume rows on a cell-centred axis), and ``b = f`` plus the face data
times the 1-D operators' lifting factors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np

from kronpde.operators.kronsum import KronSumOperator, assemble
from kronpde.problem.discretisation import (
    ConstantCoefficient,
    EigenStructure,
    lifted_rhs,
    reference_operators,
)
from kronpde.problem.spectrum import Bound, kronecker_bound

if TYPE_CHECKING:
    import scipy.sparse as sp

    from kronpde.problem.data import Box, Merge

__all__ = ["KroneckerSum"]


class KroneckerSum(ConstantCoefficient):
    """``A = Σ_i T_i + c I`` (constant ``k``, second order): the exact fast solve applies."""

    name: ClassVar[str] = "Kronecker sum"
    has_reference_structure: ClassVar[bool] = True

    def operator(self, symmetric: bool = False) -> sp.csr_array:
        """Return the assembled ``A`` (``Â`` with ``symmetric=True``)."""
        ops = self.symmetric_axis_operators if symmetric else self.axis_operators
        return assemble(ops, self.shift)

    def linear_operator(self, symmetric: bool = False) -> KronSumOperator:
        """Return the matrix-free ``A`` (``Â`` with ``symmetric=True``)."""
        ops = self.symmetric_axis_operators if symmetric else self.axis_operators
        return KronSumOperator(ops, self.shift)

    def diagonal(self) -> np.ndarray:
        """Return ``c + Σ_i diag(T_i)`` on every unknown, flat."""
        g = self.grid
        d = g.dimension
        diag = np.full(g.shape, self.shift)
        for i, op in enumerate(self.axis_operators):
            shape = [1] * d
            shape[i] = op.n
            diag += op.diag.reshape(shape)
        return diag.reshape(-1)

    def evaluate_rhs(self, box: Box | None, merge: Merge | None = None) -> np.ndarray:
        """``f`` plus the face data lifted by the 1-D operators' factors."""
        return lifted_rhs(self.data, lambda: [op.lift for op in self.axis_operators], box, merge)

    def eigen_structure(self) -> EigenStructure:
        """Return ``A`` itself: the Kronecker sum of :attr:`axis_operators`."""
        return EigenStructure(self.axis_operators, None, self.coefficient)

    def fast_solve_obstacle(self) -> None:
        """None: the per-axis eigenvectors diagonalise ``A``."""
        return None

    def reference_structure(self) -> EigenStructure:
        """Return ``A`` itself (the preconditioned solve is exact)."""
        k = self.coefficient
        return EigenStructure(reference_operators(self.grid, k), None, k)

    def smallest_eigenvalue(self, singular: bool) -> Bound | None:
        """Return the sum of the 1-D bounds (``min_i λ_2`` if singular)."""
        return kronecker_bound(self.axis_operators, self.shift, singular)

    def couplings_nonpositive(self) -> bool:
        """Whether every 1-D operator's off-diagonal entries are ``<= 0``."""
        return all(
            bool(np.all(op.lower <= 0.0) and np.all(op.upper <= 0.0)) for op in self.axis_operators
        )
