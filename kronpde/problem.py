"""Problem: a grid with its equation data; builds the operator and right-hand side.

The problem is ``-div(k grad u) + c u = f`` on the grid's box with the grid's
boundary conditions, discretised as ``A u = b`` on the unknowns
(``case-format.md``, "Discretisation").  With a constant ``k``:

* ``A = sum_i I ⊗ ... ⊗ T_i ⊗ ... ⊗ I + c I`` with ``T_i`` from
  :func:`kronpde.stencils.second_difference`;
* ``b = f`` at the unknowns plus the boundary data lifted in: ``g/h²`` next to
  a Dirichlet face, ``2g/h`` on a Neumann face, ``2g/(beta h)`` on a Robin face.

``A`` is not symmetric when a Neumann/Robin face is present.  Two symmetric
forms exist, both from the trapezoid weights ``W = W_0 ⊗ W_1 ⊗ ...``:
``W A`` (row scaling) and ``Â = D A D^{-1}`` with ``D = W^{1/2}`` (similarity).
The solvers work on ``Â y = D b``, ``u = D^{-1} y``, because ``Â`` is again a
Kronecker sum (of the symmetrised 1-D operators).

With a variable ``k(x)`` (a callable or a nodal array) the operator is the flux
form ``W A = sum_i D_iᵀ K_i D_i + c W`` of :mod:`kronpde.variable` (harmonic
mean of the nodal ``k`` at the interval mid-points): symmetric in the same
weights, but no longer a Kronecker sum (:attr:`Problem.is_kronecker_sum` is
False), so fast diagonalization serves as a preconditioner (``fastdiag-cg``)
instead of a solver.
"""

from __future__ import annotations

import math
from functools import cached_property

import numpy as np
import scipy.sparse as sp

from kronpde.boundary import BoundaryData, evaluate_data
from kronpde.errors import GridError, SolverError
from kronpde.grid import Grid
from kronpde.operator import KronSumOperator, assemble
from kronpde.stencils import AxisOperator, second_difference
from kronpde.variable import VariableDiffusion, VariableOperator


class Problem:
    """The boundary-value problem ``-div(k grad u) + c u = f`` on a grid.

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
        self.grid = grid
        self.source = source
        self.shift = shift
        self._k_nodes = None
        if isinstance(coefficient, np.ndarray) and coefficient.ndim == 0:
            coefficient = coefficient.item()  # a 0-d array is a number
        if isinstance(coefficient, (bool, np.bool_)):
            raise GridError("coefficient: must be a number, a callable or an array, got a bool")
        if isinstance(coefficient, (int, float, np.integer, np.floating)):
            coefficient = float(coefficient)
            if not math.isfinite(coefficient) or coefficient <= 0.0:
                raise GridError(f"coefficient: must be finite and > 0, got {coefficient}")
        else:
            self._k_nodes = _nodal_coefficient(grid, coefficient)
        self.coefficient = coefficient

    # -- the coefficient ---------------------------------------------------------------
    @property
    def variable_coefficient(self) -> bool:
        """True when ``k`` was given as a callable or an array (evaluated at every node)."""
        return self._k_nodes is not None

    def coefficient_values(self) -> np.ndarray:
        """``k`` at every node, shape :attr:`Grid.node_shape` (a copy)."""
        if self._k_nodes is None:
            return np.full(self.grid.node_shape, self.coefficient)
        return self._k_nodes.copy()

    @cached_property
    def _variable(self) -> VariableDiffusion:
        return VariableDiffusion(self.grid, self._k_nodes, self.shift)

    def _require_kronecker(self, what: str) -> None:
        if self.variable_coefficient:
            msg = (
                f"{what}: the coefficient k varies in space, so the operator is not a "
                "Kronecker sum of 1-D operators"
            )
            raise SolverError(msg)

    # -- structure ---------------------------------------------------------------
    @cached_property
    def axis_operators(self) -> tuple[AxisOperator, ...]:
        """The 1-D operators ``k T_i`` (physical spacing, not symmetrised).

        Raises
        ------
        SolverError
            For a variable coefficient (no Kronecker-sum structure).
        """
        self._require_kronecker("axis_operators")
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
        """True for a constant coefficient: a Kronecker sum, so fast diagonalization applies."""
        return not self.variable_coefficient

    # -- operators -----------------------------------------------------------------
    def operator(self, symmetric: bool = False) -> sp.csr_array:
        """The assembled operator: ``A``, or ``Â = D A D^{-1}`` with ``symmetric=True``."""
        if self.variable_coefficient:
            return self._variable.operator(symmetric)
        ops = self.symmetric_axis_operators if symmetric else self.axis_operators
        return assemble(ops, self.shift)

    def linear_operator(self, symmetric: bool = False) -> KronSumOperator | VariableOperator:
        """The matrix-free operator: ``A``, or ``Â`` with ``symmetric=True``."""
        if self.variable_coefficient:
            return self._variable.linear_operator(symmetric)
        ops = self.symmetric_axis_operators if symmetric else self.axis_operators
        return KronSumOperator(ops, self.shift)

    def weighted_operator(self) -> sp.csr_array:
        """The row-scaled symmetric form ``W A`` (CSR)."""
        w = self.weights().reshape(-1)
        return sp.csr_array(sp.diags_array(w) @ self.operator())

    def diagonal(self) -> np.ndarray:
        """The diagonal of ``A`` (and of ``Â``), flat."""
        if self.variable_coefficient:
            return self._variable.diagonal.reshape(-1).copy()
        g = self.grid
        d = g.dimension
        diag = np.full(g.shape, self.shift)
        for i, op in enumerate(self.axis_operators):
            shape = [1] * d
            shape[i] = op.n
            diag += op.diag.reshape(shape)
        return diag.reshape(-1)

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
        if self.variable_coefficient:
            lifts = self._variable.lifts
        else:
            lifts = [op.lift for op in self.axis_operators]
        for i, lift in enumerate(lifts):
            for side in (0, 1):
                factor = lift[side]
                if np.all(factor == 0.0):
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


def _nodal_coefficient(grid: Grid, coefficient) -> np.ndarray:
    """A variable ``k`` at every node (shape ``grid.node_shape``), checked finite and > 0."""
    if not callable(coefficient):
        try:
            arr = np.asarray(coefficient, dtype=float)
        except (TypeError, ValueError) as exc:
            raise GridError(
                f"coefficient: must be a number, a callable or an array of the node shape "
                f"{grid.node_shape}, got {type(coefficient).__name__}"
            ) from exc
        if arr.shape != grid.node_shape:
            raise GridError(
                f"coefficient: an array coefficient needs the node shape {grid.node_shape}, "
                f"got {arr.shape}"
            )
        coefficient = arr
    k = evaluate_data(coefficient, grid.node_coordinates(), grid.node_shape, "coefficient")
    if not np.all(k > 0.0):
        where = np.unravel_index(int(np.argmin(k)), k.shape)
        at = ", ".join(f"{x[j]:.6g}" for x, j in zip(grid.nodes, where, strict=True))
        raise GridError(f"coefficient: must be > 0 at every node, but k = {k[where]:.6g} at ({at})")
    return k
