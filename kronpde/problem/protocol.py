"""What solvers and the certificate may ask of a problem: the :class:`SolvableProblem` protocol."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy as np
    import scipy.sparse as sp

    from kronpde.geometry.grid import Grid
    from kronpde.operators.flux import VariableBox
    from kronpde.problem.certify import Certificate, Certifier, EigenvalueBound
    from kronpde.problem.data import Box, Merge, Nodes
    from kronpde.problem.discretisation import Discretisation


class SolvableProblem(Protocol):
    """The interface of :class:`~kronpde.problem.problem.Problem` that the solvers use.

    The structure of ``A`` (which scheme, its Kronecker factors, its
    eigenvalue bound) is asked of :attr:`discretisation`, never of the problem's type.
    """

    @property
    def grid(self) -> Grid:
        """The grid of unknowns."""
        ...

    @property
    def size(self) -> int:
        """The number of unknowns."""
        ...

    @property
    def singular(self) -> bool:
        """Whether the operator has the constants as its null space."""
        ...

    @property
    def shift(self) -> float:
        """``c``."""
        ...

    @property
    def source(self) -> Any:
        """``f`` as checked (a number, an expression, a callable or an array)."""
        ...

    @property
    def coefficient(self) -> Any:
        """``k`` as checked (a number, an expression, a callable or an array)."""
        ...

    @property
    def order(self) -> int:
        """The order of accuracy (what an error estimate extrapolates with; not for dispatch)."""
        ...

    @property
    def discretisation(self) -> Discretisation:
        """The discretisation: operator, right-hand side, Kronecker structure, bounds."""
        ...

    @property
    def unknown_weights(self) -> np.ndarray:
        """``W`` as one flat, read-only array."""
        ...

    @property
    def symmetric_scale(self) -> np.ndarray:
        """``D = W^{1/2}``, flat."""
        ...

    @property
    def rhs_values(self) -> np.ndarray:
        """``b`` on every unknown, read-only."""
        ...

    @property
    def certifier(self) -> Certifier:
        """The set-up of :meth:`error_bound`."""
        ...

    def operator(self, symmetric: bool = False) -> sp.csr_array:
        """Return the assembled ``A`` (``Â`` with ``symmetric=True``)."""
        ...

    def linear_operator(self, symmetric: bool = False) -> Any:
        """Return the matrix-free ``A`` (``Â``), with ``matvec_into``."""
        ...

    def diagonal(self) -> np.ndarray:
        """Return the diagonal of ``A``, flat."""
        ...

    def weights(self, box: Box | None = None) -> np.ndarray:
        """Return ``W`` of the unknowns (or of a box), shape ``grid.shape``."""
        ...

    def rhs(self, box: Box | None = None, *, merge: Merge | None = None) -> np.ndarray:
        """Return ``b``: a flat copy, or a box's values."""
        ...

    def coefficient_values(
        self,
        nodes: Nodes | None = None,
        *,
        owned: Sequence[slice] | None = None,
        merge: Merge | None = None,
    ) -> np.ndarray:
        """Return ``k`` at the points of the field (or a box of them), checked."""
        ...

    def face_coefficient_values(self) -> dict[tuple[int, int], np.ndarray]:
        """Return ``k`` on the boundary faces of the cell-centred axes."""
        ...

    def coefficient_range(self) -> tuple[float, float]:
        """Return ``(k_min, k_max)`` over every ``k`` the fluxes use."""
        ...

    def project_rhs(self, b: np.ndarray) -> tuple[np.ndarray, float]:
        """Return ``b`` projected onto the range of ``A``, and the relative size removed."""
        ...

    def weighted_mean(self, v: np.ndarray) -> float:
        """Return the ``W``-mean of a vector on the unknowns."""
        ...

    def remove_mean(self, u: np.ndarray) -> np.ndarray:
        """Return ``u`` less its ``W``-mean for a singular problem (in place)."""
        ...

    def smallest_eigenvalue(self) -> EigenvalueBound | None:
        """Return the certified lower bound on ``λ_min(A)``."""
        ...

    def error_bound(self, u: np.ndarray, b: np.ndarray | None = None) -> Certificate:
        """Return the certificate of ``u``."""
        ...

    def source_nodes(self, box: tuple[slice, ...] | None = None) -> np.ndarray:
        """Return ``f`` at the points of the field (or a box of them)."""
        ...

    def check_faces(self) -> None:
        """Evaluate the data of every face; raise if one is bad."""
        ...

    def variable_rows(
        self, box: Box, *, merge: Merge | None = None, keep: bool = True
    ) -> VariableBox:
        """Return the flux-form rows of a box of unknowns (the flux form only)."""
        ...

    def to_nodes(self, u: np.ndarray) -> np.ndarray:
        """Return the field of a solution on the unknowns."""
        ...

    def relative_residual(
        self, u: np.ndarray, b: np.ndarray | None = None, *, work: np.ndarray | None = None
    ) -> float:
        """Return ``||b - A u|| / ||b||``."""
        ...

    def refined(self, factor: int) -> SolvableProblem:
        """Return the same problem on the grid refined ``factor`` times."""
        ...

    def with_shift(self, shift: float) -> SolvableProblem:
        """Return the same problem with shift ``c = shift``."""
        ...
