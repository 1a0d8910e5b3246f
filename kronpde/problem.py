"""Problem: a grid with its equation data; builds the operator and right-hand side.

The problem is ``-div(k grad u) + c u = f`` (constant ``k``) on the grid's box
with the grid's boundary conditions, discretised as ``A u = b`` on the unknowns (``case-format.md``,
"Discretisation"):

* ``A = sum_i I ⊗ ... ⊗ T_i ⊗ ... ⊗ I + c I`` with ``T_i`` from
  :func:`kronpde.stencils.second_difference`;
* ``b = f`` at the unknowns plus the boundary data lifted in: ``g/h²`` next to
  a Dirichlet face, ``2g/h`` on a Neumann face, ``2g/(beta h)`` on a Robin face.

``A`` is not symmetric when a Neumann/Robin face is present.  Two symmetric
forms exist, both from the trapezoid weights ``W = W_0 ⊗ W_1 ⊗ ...``:
``W A`` (row scaling) and ``Â = D A D^{-1}`` with ``D = W^{1/2}`` (similarity).
The solvers work on ``Â y = D b``, ``u = D^{-1} y``, because ``Â`` is again a
Kronecker sum (of the symmetrised 1-D operators).
"""

from __future__ import annotations

import math
from functools import cached_property

import numpy as np
import scipy.sparse as sp

from kronpde.boundary import BoundaryData, evaluate_data
from kronpde.errors import GridError
from kronpde.grid import Grid
from kronpde.operator import KronSumOperator, assemble
from kronpde.stencils import AxisOperator, second_difference


class Problem:
    """The boundary-value problem ``-k Δu + c u = f`` on a grid (constant ``k``).

    Parameters
    ----------
    grid : Grid
        Axes, bounds and boundary conditions.
    source : float, callable or ndarray
        ``f``: a number, a callable ``f(x, y, ...)`` of broadcastable
        coordinate arrays, or an array of the grid's :attr:`~Grid.node_shape`.
    shift : float
        ``c >= 0``.
    coefficient : float
        A constant ``k > 0`` of ``-div(k grad u)``: every 1-D operator and its
        lifting factors are multiplied by ``k`` (the boundary conditions keep
        their meaning: ``du/dn = g`` stays a condition on ``du/dn``).  Variable
        ``k(x)`` is not a Kronecker sum and is not supported yet.

    Examples
    --------
    >>> import numpy as np
    >>> from kronpde import Grid, Problem
    >>> p = Problem(Grid.box([8, 8]), source=lambda x, y: 2 * np.pi**2 * np.sin(np.pi * x)
    ...             * np.sin(np.pi * y))
    >>> p.operator().shape
    (49, 49)
    """

    def __init__(
        self,
        grid: Grid,
        source: BoundaryData = 0.0,
        shift: float = 0.0,
        coefficient: float = 1.0,
    ):
        if not isinstance(grid, Grid):
            raise GridError(f"grid must be a Grid, got {type(grid).__name__}")
        if isinstance(shift, bool) or not isinstance(shift, (int, float, np.integer, np.floating)):
            raise GridError(f"shift: must be a number, got {shift!r}")
        shift = float(shift)
        if not math.isfinite(shift) or shift < 0.0:
            raise GridError(f"shift: must be finite and >= 0, got {shift}")
        if isinstance(coefficient, bool) or not isinstance(
            coefficient, (int, float, np.integer, np.floating)
        ):
            raise GridError(
                f"coefficient: must be a number (variable k(x) is not supported yet), "
                f"got {type(coefficient).__name__}"
            )
        coefficient = float(coefficient)
        if not math.isfinite(coefficient) or coefficient <= 0.0:
            raise GridError(f"coefficient: must be finite and > 0, got {coefficient}")
        self.grid = grid
        self.source = source
        self.shift = shift
        self.coefficient = coefficient

    # -- structure ---------------------------------------------------------------
    @cached_property
    def axis_operators(self) -> tuple[AxisOperator, ...]:
        """The 1-D operators ``k T_i`` (physical spacing, not symmetrised)."""
        ops = (second_difference(a) for a in self.grid.axes)
        if self.coefficient != 1.0:
            ops = (op.scaled(self.coefficient) for op in ops)
        return tuple(ops)

    @cached_property
    def symmetric_axis_operators(self) -> tuple[AxisOperator, ...]:
        """The symmetrised 1-D operators ``D_i T_i D_i^{-1}``."""
        return tuple(op.symmetrized() for op in self.axis_operators)

    @property
    def size(self) -> int:
        """Number of unknowns."""
        return self.grid.size

    @property
    def singular(self) -> bool:
        """True for a pure Neumann/periodic problem with ``c = 0`` (constant null space)."""
        return self.shift == 0.0 and self.grid.singular

    @property
    def is_kronecker_sum(self) -> bool:
        """True: a constant-coefficient Kronecker sum, so fast diagonalization applies."""
        return True

    # -- operators -----------------------------------------------------------------
    def operator(self, symmetric: bool = False) -> sp.csr_array:
        """The assembled operator: ``A``, or ``Â = D A D^{-1}`` with ``symmetric=True``."""
        ops = self.symmetric_axis_operators if symmetric else self.axis_operators
        return assemble(ops, self.shift)

    def linear_operator(self, symmetric: bool = False) -> KronSumOperator:
        """The matrix-free operator: ``A``, or ``Â`` with ``symmetric=True``."""
        ops = self.symmetric_axis_operators if symmetric else self.axis_operators
        return KronSumOperator(ops, self.shift)

    def weighted_operator(self) -> sp.csr_array:
        """The row-scaled symmetric form ``W A`` (CSR)."""
        w = self.weights().reshape(-1)
        return sp.csr_array(sp.diags_array(w) @ self.operator())

    def weights(self) -> np.ndarray:
        """Trapezoid weights of the unknowns (``W``), shape :attr:`Grid.shape`."""
        return self.grid.weights()

    @cached_property
    def symmetric_scale(self) -> np.ndarray:
        """``D = W^{1/2}`` as a flat array: ``Â = D A D^{-1}``, ``b̂ = D b``, ``u = y / D``."""
        return np.sqrt(self.weights().reshape(-1))

    # -- right-hand side --------------------------------------------------------------
    def source_values(self) -> np.ndarray:
        """``f`` at the unknowns, shape :attr:`Grid.shape`."""
        g = self.grid
        src = self.source
        if not callable(src) and np.ndim(src) > 0:
            src = np.asarray(src, dtype=float)
            if src.shape != g.node_shape:
                raise GridError(
                    f"source: an array source needs the node shape {g.node_shape}, got {src.shape}"
                )
            src = src[g.unknown_index]
            return evaluate_data(src, [], g.shape, "source")
        return evaluate_data(src, g.unknown_coordinates(), g.shape, "source")

    def rhs(self) -> np.ndarray:
        """Right-hand side ``b`` (flat, length :attr:`size`): ``f`` plus lifted boundary data."""
        g = self.grid
        d = g.dimension
        b = self.source_values()
        for i, op in enumerate(self.axis_operators):
            for side in (0, 1):
                factor = op.lift[side]
                if factor == 0.0:
                    continue
                data = g.face_data(i, side)  # shape: node shape with 1 along axis i
                take = list(g.unknown_index)
                take[i] = slice(None)
                rows = [slice(None)] * d
                rows[i] = slice(-1, None) if side else slice(0, 1)
                b[tuple(rows)] += factor * data[tuple(take)]
        return b.reshape(-1)

    # -- singular problems ----------------------------------------------------------
    def weighted_mean(self, v: np.ndarray) -> float:
        """Trapezoid-weighted mean ``(w · v) / (w · 1)`` of a vector on the unknowns."""
        w = self.weights().reshape(-1)
        return float(w @ np.asarray(v).reshape(-1) / w.sum())

    def project_rhs(self, b: np.ndarray) -> tuple[np.ndarray, float]:
        """Project ``b`` onto the range of ``A`` (singular problems only).

        The left null vector of ``A`` is ``w`` (``W A`` is symmetric and
        ``A 1 = 0``), so the range is ``{b : w · b = 0}``; the constant
        ``mean_w(b)`` is removed.

        Returns
        -------
        b_projected : ndarray
            ``b - mean_w(b)`` (a copy); ``b`` itself when not singular.
        projected_norm : float
            ``||b - b_projected||_2 / ||b||_2`` (0 when nothing was removed).
        """
        if not self.singular:
            return b, 0.0
        mean = self.weighted_mean(b)
        out = b - mean
        norm_b = float(np.linalg.norm(b))
        removed = abs(mean) * math.sqrt(b.size)
        return out, (removed / norm_b if norm_b > 0 else 0.0)

    def remove_mean(self, u: np.ndarray) -> np.ndarray:
        """``u`` minus its weighted mean for singular problems (in place), else ``u``."""
        if self.singular:
            u -= self.weighted_mean(u)
        return u

    # -- results ------------------------------------------------------------------------
    @cached_property
    def _dirichlet_values(self) -> np.ndarray:
        return self.grid.dirichlet_nodes()[0]

    def to_nodes(self, u: np.ndarray) -> np.ndarray:
        """The full nodal field (shape :attr:`Grid.node_shape`) of a solution on the unknowns."""
        return self.grid.to_nodes(u, self._dirichlet_values)

    def relative_residual(self, u: np.ndarray, b: np.ndarray | None = None) -> float:
        """``||b - A u||_2 / ||b||_2`` on the (unsymmetrised) system; ``||A u||`` if ``b = 0``."""
        if b is None:
            b = self.rhs()
        r = b - self.linear_operator().matvec(np.asarray(u, dtype=float).reshape(-1))
        nb = float(np.linalg.norm(b))
        return float(np.linalg.norm(r) / nb) if nb > 0 else float(np.linalg.norm(r))
