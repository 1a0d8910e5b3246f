"""The compact fourth-order scheme (``order=4``): ``A`` is a polynomial in the 1-D operators.

``A = Σ_i T_i - Σ_{i<j} (a_i + a_j) T_i T_j + c M`` (``a_i = h_i²/(12k)``,
:mod:`kronpde.operators.compact`) plus the Robin faces' terms, for a constant
``k`` on uniform node-centred axes; ``b`` is ``M f`` plus the boundary data and
the Neumann/Robin faces' corrections of :mod:`kronpde.operators.compact_rhs`.
The same transforms as the Kronecker sum's diagonalise the polynomial; a Robin
face's term couples its unknowns, and then they diagonalise the separable part only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from functools import cached_property
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from kronpde.operators.compact import CompactOperator, CompactScheme, polynomial_apply
from kronpde.operators.compact_residual import compact_residual_sums, fusable
from kronpde.operators.compact_rhs import compact_rhs, compact_rhs_box
from kronpde.problem.data import box_index
from kronpde.problem.discretisation import (
    ConstantCoefficient,
    EigenStructure,
    reference_operators,
)
from kronpde.problem.spectrum import Bound, compact_bound, polynomial_terms

if TYPE_CHECKING:
    import scipy.sparse as sp

    from kronpde.geometry.grid import Grid
    from kronpde.problem.data import Box, Merge, ProblemData

__all__ = ["AbsoluteCompact", "CompactFourthOrder", "compact_obstacle"]


def compact_obstacle(data: ProblemData) -> str | None:
    """Why the fourth-order scheme does not apply to ``data`` (None: it does)."""
    if data.variable_coefficient:
        return (
            "needs a constant coefficient k, but k varies in space (the compact scheme "
            "is a polynomial in constant-coefficient 1-D operators)"
        )
    grid: Grid = data.grid
    for i, axis in enumerate(grid.axes):
        if not axis.uniform:
            return f"needs uniform axes, but axis {'xyz'[i]} is stretched"
        if axis.cell_centred:  # its ghost values differ: no compact closure yet
            return f"needs node-centred axes, but axis {'xyz'[i]} is cell-centred"
    return None


class CompactFourthOrder(ConstantCoefficient):
    """The compact fourth-order scheme of a constant ``k`` on uniform node-centred axes."""

    name: ClassVar[str] = "compact fourth-order scheme"
    has_reference_structure: ClassVar[bool] = True
    order: ClassVar[int] = 4
    stencil: ClassVar[str] = "box"
    rhs_depends_on_shift: ClassVar[bool] = True  # the faces' corrections contain c
    fast_solve_reason: ClassVar[str | None] = (
        "auto: the fourth-order compact operator is a polynomial in the same 1-D "
        "operators, so fast diagonalization solves it exactly"
    )

    @cached_property
    def scheme(self) -> CompactScheme:
        """The compact scheme (:class:`~kronpde.operators.compact.CompactScheme`), made once."""
        return CompactScheme.from_grid(self.grid, self.axis_operators, self.coefficient, self.shift)

    def operator(self, symmetric: bool = False) -> sp.csr_array:
        """Return the assembled ``A`` (``Â`` with ``symmetric=True``)."""
        return (self.scheme.symmetrized() if symmetric else self.scheme).operator()

    def linear_operator(self, symmetric: bool = False) -> CompactOperator:
        """Return the matrix-free ``A`` (``Â`` with ``symmetric=True``), the factored apply."""
        return (self.scheme.symmetrized() if symmetric else self.scheme).linear_operator()

    def diagonal(self) -> np.ndarray:
        """Return the diagonal of ``A``, flat."""
        return self.scheme.diagonal().reshape(-1)

    def evaluate_rhs(self, box: Box | None, merge: Merge | None = None) -> np.ndarray:
        """``M f`` plus the boundary data and the faces' corrections (a box and a few layers)."""
        g = self.grid
        k = self.coefficient
        if box is not None:
            box_index(g, box)  # checks the bounds
            return compact_rhs_box(g, self.scheme, k, self.data.source, *box, merge=merge)
        nodes = self.data.source_nodes()
        return compact_rhs(g, self.scheme, k, self.data.source, nodes).reshape(-1)

    def eigen_structure(self) -> EigenStructure:
        """Return the polynomial (its separable part where a Robin face couples unknowns)."""
        note = "Fourth-order compact scheme: divided by its eigenvalue combination."
        return EigenStructure(self.axis_operators, self.scheme, self.coefficient, note)

    def fast_solve_obstacle(self) -> str | None:
        """Say that a Robin face's correction couples its unknowns (None without one)."""
        if self.scheme.separable:
            return None
        return (
            "at order 4 a Robin face's correction couples the unknowns on the face, so the "
            "per-axis eigenvectors no longer diagonalise the operator; use method "
            "'fastdiag-cg' (CG preconditioned by the separable fourth-order fast solve), "
            "'amg-cg', 'cg' or 'direct'"
        )

    def reference_structure(self) -> EigenStructure:
        """Return the separable part, solved exactly by the transforms."""
        k = self.coefficient
        note = (
            "Preconditioner: the exact fast solve of the separable fourth-order operator "
            "(the Robin faces' coupling terms left out)."
        )
        return EigenStructure(reference_operators(self.grid, k), self.scheme, k, note)

    def preconditioner_reason(self) -> str:
        """Why ``auto`` picks the fast solve of the separable part as a preconditioner."""
        return (
            "auto: at order 4 a Robin face couples the unknowns on it, so fast "
            "diagonalization solves only the separable part; CG preconditioned by that "
            "exact fourth-order solve"
        )

    def residual_terms(self) -> int:
        """``K = 8 d + 16``: the polynomial applied by factors."""
        return polynomial_terms(self.grid.dimension)

    def smallest_eigenvalue(self, singular: bool) -> Bound | None:
        """Return the least corner of the eigenvalue combination (``docs/certificate.md``)."""
        return compact_bound(self.scheme, singular)

    def absolute_operator(self) -> AbsoluteCompact:
        """Return the polynomial in ``|T_i|`` with absolute coefficients (the apply's form)."""
        return AbsoluteCompact(self.scheme)


class AbsoluteCompact:
    """``|P|(|T|) x``: the compact polynomial with every coefficient and 1-D entry made absolute.

    The computed ``fl(A x)`` of :class:`kronpde.operators.compact.CompactOperator`
    (``c x + Σ_i T_i [(1 - c a_i) x - Σ_{j>i} (a_i + a_j) T_j x]`` plus the
    Robin planes) differs from ``A x`` by at most ``γ_K`` times this (every
    intermediate's error is bounded by the same expression in absolute values).
    """

    def __init__(self, scheme: CompactScheme):
        self.scheme = scheme
        self.ops = [
            replace(op, diag=np.abs(op.diag), lower=np.abs(op.lower), upper=np.abs(op.upper))
            for op in scheme.ops
        ]
        self._work: tuple[np.ndarray, ...] | None = None

    def residual_sums(
        self, x: np.ndarray, b: np.ndarray, r: np.ndarray | None, weights: Sequence[np.ndarray]
    ) -> np.ndarray | None:
        """Return the certificate's four sums of ``r = b - A x`` in one blocked pass, or None.

        :func:`kronpde.operators.compact_residual.compact_residual_sums`: ``A x``
        as the operator computes it, and ``Σ w (|P|(|T|)|x|)²`` bounded by the
        ``W``-norm of ``|P|(|T|)`` times ``Σ w x²`` (one polynomial apply, not
        two); None where it does not apply (a Robin face, a periodic axis 0,
        1-D).  ``r`` is not used.
        """
        s = self.scheme
        if not fusable(s):
            return None
        X = np.ascontiguousarray(x, dtype=np.float64).reshape(s.shape)
        B = np.ascontiguousarray(b, dtype=np.float64).reshape(s.shape)
        return compact_residual_sums(s, self.ops, X, B, weights)

    def apply(self, x: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Write ``|P|(|T|) x`` into ``out`` and return it."""
        s = self.scheme
        if self._work is None:
            self._work = tuple(np.empty(s.shape) for _ in range(max(len(self.ops) - 1, 0) + 3))
        polynomial_apply(
            s, self.ops, x.reshape(s.shape), out.reshape(s.shape), self._work, absolute=True
        )
        return out
