"""The flux form of a variable ``k(x)``: ``W A = Σ_i D_iᵀ K_i D_i + c W``.

The operator of :mod:`kronpde.operators.flux` (harmonic mean of the nodal
``k`` at the interval mid-points; on a cell-centred axis ``k`` at the boundary
faces too): symmetric in the weights, but not a Kronecker sum, so fast
diagonalization serves as a preconditioner (its constant-``k`` reference
operator) instead of a solver.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from kronpde.errors import SolverError
from kronpde.operators.flux import (
    CellVariableBox,
    VariableBox,
    VariableDiffusion,
    VariableOperator,
    box_nodes,
    box_points,
)
from kronpde.operators.stencils import second_difference
from kronpde.problem.data import box_index
from kronpde.problem.discretisation import (
    Discretisation,
    EigenStructure,
    lifted_rhs,
    reference_operators,
)
from kronpde.problem.spectrum import Bound, kronecker_bound, variable_bound

if TYPE_CHECKING:
    import scipy.sparse as sp

    from kronpde.operators.stencils import AxisOperator
    from kronpde.problem.data import Box, Merge
    from kronpde.problem.partial import PartialStructure

__all__ = ["FluxForm"]


class FluxForm(Discretisation):
    """The second-order flux form of a variable ``k`` (module docstring)."""

    name: ClassVar[str] = "flux form"
    has_reference_structure: ClassVar[bool] = True

    @cached_property
    def _box_rows(self) -> dict[tuple, VariableBox]:
        return {}  # the box of variable_rows (one kept)

    def check(self) -> None:
        """Evaluate ``k`` at every point and on the boundary faces the fluxes use."""
        self.data.k_nodes  # noqa: B018
        self.data.k_faces  # noqa: B018
        self.data.k_edges  # noqa: B018

    @cached_property
    def diffusion(self) -> VariableDiffusion:
        """The flux-form coefficients (edges and wraps shared by every shift)."""
        data = self.data
        def make() -> VariableDiffusion:
            made = VariableDiffusion(data.grid, *_with_shift(data.flux_inputs(), self.shift))
            field = getattr(data, "shift_field", None)  # a c(x): on the diagonal too
            if field is not None:
                made.diagonal = made.diagonal + field[data.grid.unknown_index]
            return made

        base = self.shared.get("diffusion", make)
        return base if base.shift == self.shift else base.with_shift(self.shift)

    @property
    def axis_operators(self) -> tuple[AxisOperator, ...]:
        """No 1-D operators: ``k`` varies.

        Raises
        ------
        SolverError
            Always.
        """
        msg = (
            "axis_operators: the coefficient k varies in space, so the operator is not a "
            "Kronecker sum of 1-D operators"
        )
        raise SolverError(msg)

    def operator(self, symmetric: bool = False) -> sp.csr_array:
        """Return the assembled ``A`` (``Â`` with ``symmetric=True``)."""
        return self.diffusion.operator(symmetric)

    def linear_operator(self, symmetric: bool = False) -> VariableOperator:
        """Return the matrix-free ``A`` (``Â`` with ``symmetric=True``)."""
        return self.diffusion.linear_operator(symmetric)

    def diagonal(self) -> np.ndarray:
        """Return the diagonal of ``A``, flat (a new array)."""
        return self.diffusion.diagonal.reshape(-1).copy()

    def evaluate_rhs(self, box: Box | None, merge: Merge | None = None) -> np.ndarray:
        """``f`` plus the face data lifted by the flux form's factors (the box's own rows)."""
        if box is None:
            return lifted_rhs(self.data, lambda: self.diffusion.lifts, None, merge)
        lo, hi = ([int(v) for v in b] for b in box)

        def lifts() -> tuple:
            return self.variable_rows((lo, hi), merge=merge).lifts

        return lifted_rhs(self.data, lifts, (lo, hi), merge, local=True)

    def variable_rows(
        self, box: Box, *, merge: Merge | None = None, keep: bool = True
    ) -> VariableBox:
        """Return the rows of ``Â`` of a box of unknowns, for a variable ``k``.

        ``k`` is evaluated (or read) on the box's nodes and the one layer of
        nodes around it only (:func:`kronpde.operators.flux.box_nodes`), and checked
        on the nodes the box owns (:meth:`coefficient_values`); the rows are
        those of :meth:`operator` (``symmetric=True``) bit for bit.  Kept for
        the box, so that the right-hand side of the box (:meth:`rhs`) and the
        assembly share one evaluation.

        Parameters
        ----------
        box : (lo, hi)
            The box of unknowns.
        merge : callable, optional
            As for :meth:`coefficient_values` (collective when ``k`` is evaluated).
        keep : bool, optional
            Keep the rows for later calls (default).  With False they are
            handed over and no longer kept (a distributed assembly, once the
            box's right-hand side has its lifting factors, puts them into its
            matrix and needs no second copy).

        Returns
        -------
        VariableBox
        """
        data = self.data
        grid = data.grid
        lo, hi = (tuple(int(v) for v in b) for b in box)
        box_index(grid, (lo, hi))  # checks the bounds
        key = (lo, hi)
        rows = self._box_rows.get(key)
        if rows is None and any(a.cell_centred for a in grid.axes):
            points, owned = box_points(grid, lo, hi)
            k, faces, edges = data.box_inputs(lo, hi, points, owned, merge)
            rows = CellVariableBox(grid, k, points, self.shift, lo, hi, faces, edges)
        if rows is None:
            nodes, owned = box_nodes(grid, lo, hi)
            k, _, edges = data.box_inputs(lo, hi, nodes, owned, merge)
            rows = VariableBox(grid, k, nodes, self.shift, lo, hi, edges)
        self._box_rows.clear()
        if keep:
            self._box_rows[key] = rows
        return rows

    def fast_solve_obstacle(self) -> str:
        """``k`` (or a shift ``c(x)``) varies: not a Kronecker sum."""
        what = "the coefficient k varies in space"
        if getattr(self.data, "shift_field", None) is not None:
            what = "the shift c(x) is not a sum of functions of one axis each (or k varies)"
        return (
            f"{what}, so the operator is not a Kronecker sum and "
            "fast diagonalization cannot solve it exactly; use method 'fastdiag-cg' (CG "
            "preconditioned by fast diagonalization), 'amg-cg', 'cg' or 'direct'"
        )

    def reference_structure(self) -> EigenStructure:
        """Return the Kronecker sum with ``k`` replaced by its weighted geometric mean."""
        k = self.data.reference_coefficient()
        return EigenStructure(reference_operators(self.grid, k), None, k)

    def layered_reference(self) -> PartialStructure | None:
        """Return ``fastdiag-cg``'s layered reference (``k_ref`` of one axis), or None.

        :func:`kronpde.problem.layers.layered_reference`: where the layer means of
        ``log k`` along one axis carry most of its variance.
        """
        from kronpde.problem.layers import layered_reference

        data = self.data
        k = data.k_nodes  # read only: not a copy
        if not data.variable_coefficient or k.shape != self.grid.point_shape:
            return None
        log_k = np.log(k)
        data.reference_from_log(log_k)  # k_ref from the same logarithms
        return layered_reference(self.grid, k, log_k)

    def unit_bound(self, singular: bool) -> Bound | None:
        """Return the bound of the grid's operator with ``k = 1``, ``c = 0`` (None: none found).

        What :func:`~kronpde.problem.spectrum.variable_bound` scales by
        ``k_min``, serially (:meth:`smallest_eigenvalue`) and over the ranks of
        a distributed solve alike.
        """
        return kronecker_bound([second_difference(a) for a in self.grid.axes], 0.0, singular)

    def smallest_eigenvalue(self, singular: bool) -> Bound | None:
        """``k_min λ_min(A_1) + c`` lowered for rounding (``docs/certificate.md``)."""
        if any(
            getattr(bc, "kind", None) == "robin" and bc.alpha * bc.beta < 0.0
            for a in self.grid.axes
            for bc in (a.lower_bc, a.upper_bc)
        ):
            return None  # k_face alpha/beta < 0 is not bounded below by k_min times it
        unit = self.unit_bound(singular)
        if unit is None:
            return None
        # every k the operator uses: the points' and, on a cell-centred axis, the boundary
        # faces' own (their fluxes take k at the face, which may be below every cell's)
        data = self.data
        k_min = data.coefficient_range()[0]  # every k the fluxes use, interior faces included
        a_hat = self.linear_operator(symmetric=True)
        scale = data.symmetric_scale
        null = scale / np.linalg.norm(scale) if singular else None
        field = getattr(data, "shift_field", None)  # c(x) >= its least value
        c_min = self.shift
        if field is not None:
            c_min += float(np.min(field[self.grid.unknown_index]))
        return variable_bound(
            unit, k_min, c_min, a_hat.matvec, None, null, self.grid.dimension,
            row_norm=a_hat.largest_row_sum(),
        )  # fmt: skip

    def couplings_nonpositive(self) -> bool:
        """Whether every flux coupling (edges and periodic wraps) is ``<= 0``."""
        data = self.diffusion
        parts = [*data.edges, *(w for w in data.wraps if w is not None)]
        return all(bool(np.all(e <= 0.0)) for e in parts)


def _with_shift(inputs: tuple, shift: float) -> tuple:
    """``(k, shift, face_k, edge_k)``: the arguments of :class:`VariableDiffusion`."""
    k, faces, edges = inputs
    return k, shift, faces, edges
