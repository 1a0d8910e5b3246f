"""The interface of a discretisation: what solvers and the certificate ask of a problem's ``A``.

A :class:`Discretisation` turns a problem's data (:class:`~kronpde.problem.data.ProblemData`)
and its shift ``c`` into ``A u = b``: the operator (assembled and matrix-free,
plain and symmetrised), its diagonal, the right-hand side with the boundary
data lifted in, the Kronecker structure a fast solve uses where there is one,
and what the certified error bound needs.  Each scheme is one subclass
(:mod:`~kronpde.problem.kronecker`, :mod:`~kronpde.problem.compact_scheme`,
:mod:`~kronpde.problem.flux_form`); :func:`kronpde.problem.schemes.discretise`
picks one when the problem is built.  A new scheme is a new subclass: solvers
ask it for capabilities, never which class it is.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import numpy as np

from kronpde.errors import SolverError
from kronpde.geometry.boundary import DataSurvey
from kronpde.operators.stencils import second_difference
from kronpde.problem.data import Box, Merge, ProblemData, box_index
from kronpde.problem.spectrum import Bound, stencil_terms

if TYPE_CHECKING:
    import scipy.sparse as sp

    from kronpde.geometry.grid import Grid
    from kronpde.operators.flux import VariableBox
    from kronpde.operators.stencils import AxisOperator
    from kronpde.problem.partial import PartialStructure

__all__ = [
    "AbsoluteOperator",
    "ConstantCoefficient",
    "Discretisation",
    "EigenStructure",
    "Shared",
    "lifted_rhs",
    "reference_operators",
]


class AbsoluteOperator(Protocol):
    """``|A| x`` as the certificate bounds the rounding of a computed ``A x`` with it."""

    def apply(self, x: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Write ``|A| x`` into ``out`` (``x`` may be overwritten) and return it."""
        ...


@dataclass(frozen=True)
class EigenStructure:
    """An operator the per-axis eigenvectors diagonalise: what a fast solve needs.

    Attributes
    ----------
    operators : tuple of AxisOperator
        The 1-D operators ``T_i``, axis 0 first (not symmetrised).
    combination : object or None
        How the per-axis eigenvalues combine into the operator's: an object
        with ``combine(eigenvalues, shift, out=None)`` (e.g. a
        :class:`~kronpde.operators.compact.CompactScheme`), or None for the
        Kronecker sum ``Σ_i λ_i + c``.
    coefficient : float
        The constant ``k`` of the operators (``k_ref`` of an approximation).
    note : str
        What a fast solve's report adds about it ("" for a plain sum).
    """

    operators: tuple[AxisOperator, ...]
    combination: Any
    coefficient: float
    note: str = ""


class Shared:
    """Values made once and shared by the discretisations of every shift (:meth:`with_shift`).

    Whatever does not depend on ``c`` is kept here (by a key of its maker's
    choice), so that a problem made by :meth:`kronpde.Problem.with_shift`
    reuses it without a list of names to copy.
    """

    def __init__(self) -> None:
        self._values: dict[str, Any] = {}

    def get(self, key: str, make: Callable[[], Any]) -> Any:
        """Return the value kept under ``key``, made by ``make()`` the first time."""
        if key not in self._values:
            self._values[key] = make()
        return self._values[key]

    def known(self, key: str) -> bool:
        """Whether ``key`` has been made already."""
        return key in self._values


class Discretisation(ABC):
    """The discrete system ``A u = b`` of a problem's data with shift ``c`` (module docstring).

    Parameters
    ----------
    data : ProblemData
        The checked data (shared by every shift).
    shift : float
        ``c``, any finite real (checked).
    shared : Shared, optional
        What the discretisations of other shifts of the same data made already.

    Attributes
    ----------
    name : str
        What messages call it ("the flux form").
    order : int
        The order of accuracy (``[scheme] order`` of a case file).
    stencil : str
        ``"star"`` (rows of ``2 d + 1`` entries) or ``"box"`` (``3^d``): what a
        distributed assembly and the direct solver's fill model need.
    fast_solve_reason : str or None
        Why ``auto`` picks the exact fast solve for this scheme, where that
        says more than the method's own reason.
    rhs_depends_on_shift : bool
        Whether ``b`` contains ``c`` (else it is shared by every shift).
    has_reference_structure : bool
        Whether :meth:`reference_structure` gives an operator (known without
        evaluating anything, for a method's refusal).
    symmetric : bool
        Whether ``W A`` is symmetric (False for the non-divergence form: no
        fluxes ``-k du/dn``, no CG-type method, no MINRES).
    """

    name: ClassVar[str] = "discretisation"
    order: ClassVar[int] = 2
    stencil: ClassVar[str] = "star"
    fast_solve_reason: ClassVar[str | None] = None
    rhs_depends_on_shift: ClassVar[bool] = False
    has_reference_structure: ClassVar[bool] = False
    symmetric: ClassVar[bool] = True

    def __init__(self, data: ProblemData, shift: float, shared: Shared | None = None):
        self.data = data
        self.shift = shift
        self.shared = Shared() if shared is None else shared

    @property
    def grid(self) -> Grid:
        """The grid."""
        return self.data.grid

    def with_shift(self, shift: float) -> Discretisation:
        """Return the same scheme with shift ``c = shift``, sharing what does not depend on it."""
        return type(self)(self.data, shift, self.shared)

    def check(self) -> None:  # noqa: B027 - a hook: most schemes read nothing beyond b
        """Evaluate what the operator reads of the data beyond ``b`` (default: nothing)."""

    def refined_arguments(self) -> dict[str, Any]:
        """Return what :meth:`kronpde.Problem.refined` passes on besides the data (default none)."""
        return {}

    def domain_unknowns(self) -> np.ndarray | None:
        """Return True at the unknowns that carry the solution (flat); None: all do."""
        return None

    def singular(self) -> bool:
        """Return whether ``A`` is singular (its null vector :meth:`null_vector`)."""
        return self.shift == 0.0 and self.grid.singular

    def null_vector(self) -> np.ndarray | None:
        """Return the null vector of a singular ``A`` (flat), None for the constants."""
        return None

    def domain_points(self) -> np.ndarray | None:
        """Return True at the points of the field that carry the solution; None: all do."""
        return None

    def face_fluxes(self, problem: Any, u: np.ndarray, balance: bool) -> Any:
        """Return the fluxes of a scheme whose boundary has its own rule, or None.

        None: the box's faces, by :func:`kronpde.problem.fluxes.face_fluxes`' rule;
        curvilinear grids and embedded boundaries return their ``FluxBalance``.
        """
        return None

    def reference_unknowns(self) -> np.ndarray | None:
        """Return the unknowns the reference solve of ``fastdiag-cg`` acts on (None: all).

        At the others ``A`` is its diagonal alone, and so is the preconditioner.
        """
        return None

    def reference_defect(self) -> np.ndarray | None:
        """Return the rows where ``Â`` differs from the reference operator restricted.

        None where :meth:`reference_unknowns` is None.
        """
        return None

    # -- the operator --------------------------------------------------------------------
    @abstractmethod
    def operator(self, symmetric: bool = False) -> sp.csr_array:
        """Return the assembled ``A``, or ``Â = D A D^{-1}`` with ``symmetric=True``."""

    @abstractmethod
    def linear_operator(self, symmetric: bool = False) -> Any:
        """Return the matrix-free ``A`` (or ``Â``): a LinearOperator with ``matvec_into``."""

    @abstractmethod
    def diagonal(self) -> np.ndarray:
        """Return the diagonal of ``A`` (and of ``Â``), flat (a new array)."""

    @cached_property
    def apply(self) -> Any:
        """The matrix-free ``A`` the residual is computed with (built once)."""
        return self.linear_operator(symmetric=False)

    # -- the right-hand side ---------------------------------------------------------
    @abstractmethod
    def evaluate_rhs(self, box: Box | None, merge: Merge | None = None) -> np.ndarray:
        """Evaluate ``b`` on every unknown (flat) or on a box (the box's shape)."""

    def _rhs_holder(self) -> dict[str, np.ndarray]:
        if self.rhs_depends_on_shift:
            return self._own_rhs
        return self.shared.get("rhs", dict)

    @cached_property
    def _own_rhs(self) -> dict[str, np.ndarray]:
        return {}

    @property
    def rhs_values(self) -> np.ndarray:
        """``b`` on all unknowns (read-only, evaluated once)."""
        holder = self._rhs_holder()
        if "b" not in holder:
            b = self.evaluate_rhs(None)
            b.flags.writeable = False
            holder["b"] = b
        return holder["b"]

    def rhs(self, box: Box | None = None, *, merge: Merge | None = None) -> np.ndarray:
        """Right-hand side ``b``: ``f`` plus the lifted boundary data.

        Parameters
        ----------
        box : (lo, hi), optional
            Per-axis bounds ``lo[a] <= j < hi[a]`` of a box of unknowns: ``b`` is
            evaluated on that box only (each rank of a distributed solve
            evaluates its own; a variable ``k`` on the box and the layer of
            nodes around it, :meth:`variable_rows`); shape ``hi - lo``.
        merge : callable, optional
            With ``box``: the boxes of a distributed solve check ``f`` (and a
            variable ``k``) together; see :meth:`coefficient_values`.

        Returns
        -------
        ndarray
            Flat, length :attr:`size`, without ``box`` (a copy of the values
            evaluated once); of the box's shape with it.

        Raises
        ------
        DataError
            For data that are not finite where ``b`` uses them, or a ``k`` not ``> 0``.
        """
        if box is None:
            return self.rhs_values.reshape(-1).copy()
        holder = self._rhs_holder()
        if "b" in holder:  # evaluated on every unknown already: read the box
            if merge is not None:
                merge(DataSurvey())  # every box calls it, as it would to check f
            b = holder["b"].reshape(self.grid.shape)
            return np.array(b[box_index(self.grid, box, unknowns=True)])
        return self.evaluate_rhs(box, merge)

    def variable_rows(
        self, box: Box, *, merge: Merge | None = None, keep: bool = True
    ) -> VariableBox:
        """Return the flux-form rows of a box of unknowns (only the flux form has them).

        Raises
        ------
        SolverError
            For a scheme that is not the flux form.
        """
        msg = f"variable_rows: the {self.name} has no flux-form rows"
        raise SolverError(msg)

    # -- the Kronecker structure -------------------------------------------------------
    @property
    def axis_operators(self) -> tuple[AxisOperator, ...]:
        """The 1-D operators ``k T_i`` (only where ``A`` is built from them).

        Raises
        ------
        SolverError
            Where the operator is not a Kronecker sum of 1-D operators.
        """
        msg = f"axis_operators: the {self.name} is not a Kronecker sum of 1-D operators"
        raise SolverError(msg)

    @property
    def symmetric_axis_operators(self) -> tuple[AxisOperator, ...]:
        """The symmetrised 1-D operators ``D_i T_i D_i^{-1}``."""
        return self.shared.get(
            "symmetric_axis_operators",
            lambda: tuple(op.symmetrized() for op in self.axis_operators),
        )

    @property
    def scheme(self) -> Any:
        """The compact fourth-order scheme where ``A`` is one, else None."""
        return None

    def eigen_structure(self) -> EigenStructure | None:
        """Return the structure the per-axis eigenvectors diagonalise: ``A`` or its separable part.

        None where there is none (then :meth:`fast_solve_obstacle` says why).
        """
        return None

    def partial_structure(self) -> PartialStructure | None:
        """Return ``A`` as transforms on all axes but one and tridiagonal systems along it.

        None where ``A`` has no such form (:mod:`kronpde.problem.partial`);
        ``fastdiag`` solves a problem that gives one and no :meth:`eigen_structure`.
        """
        return None

    def fast_solve_obstacle(self) -> str | None:
        """Why the per-axis eigenvectors do not diagonalise ``A``, and what to use instead.

        None where they do (an exact fast solve: :meth:`eigen_structure` is ``A``'s).
        """
        return (
            f"the {self.name} is not a function of 1-D operators, so fast diagonalization "
            "cannot solve it exactly; use method 'amg-cg', 'cg' or 'direct'"
        )

    def distributed_fast_obstacle(self) -> str | None:
        """Why the distributed exact solves (pencils, PETSc) cannot solve ``A``, or None.

        :meth:`fast_solve_obstacle`, and where only :meth:`partial_structure`
        makes the fast solve exact (a tridiagonal axis), that it runs on one
        process only.
        """
        obstacle = self.fast_solve_obstacle()
        if obstacle is None and self.eigen_structure() is None:
            return (
                f"the {self.name}'s exact fast solve (tridiagonal systems along one axis) "
                "runs on one process only; on several use method 'fastdiag-cg' or 'amg-cg'"
            )
        return obstacle

    def reference_structure(self) -> EigenStructure | None:
        """Return a fast-diagonalisable operator close to ``A`` (a preconditioner), or None."""
        return None

    def preconditioner_reason(self) -> str | None:
        """Why ``auto`` picks the preconditioned fast solve, where that says more (or None)."""
        return None

    # -- the certificate ---------------------------------------------------------------
    def residual_terms(self) -> int:
        """``K``, the rounded operations per entry of a computed ``b - A u`` (:meth:`apply`)."""
        return stencil_terms(self.grid.dimension)

    @abstractmethod
    def smallest_eigenvalue(self, singular: bool) -> Bound | None:
        """Return ``(lower, computed, how)`` for ``λ_min(A)`` (``λ_2`` if singular), or None."""

    def band_estimate(self) -> int:
        """Return the rows ``fastdiag-cg``'s band correction factors (0: none), estimated."""
        return 0

    def eigenvalue_estimate(self, singular: bool) -> float | None:
        """Return an estimate (not certified) of ``λ_min(A)`` where no bound is proven, or None."""
        return None

    def absolute_operator(self) -> AbsoluteOperator | None:
        """Return ``|A|`` in the form of :meth:`apply`, where that is not ``A`` assembled."""
        return None

    @property
    def stencil_points(self) -> int:
        """The most entries of a row of the assembled ``A``: ``2 d + 1`` (star) or ``3^d`` (box)."""
        d = self.grid.dimension
        return {"star": 2 * d + 1, "box": 3**d}[self.stencil]

    def couplings_nonpositive(self) -> bool:
        """Whether every off-diagonal entry of ``A`` is ``<= 0`` (``|A| = 2 diag(A) - A``)."""
        return False


class ConstantCoefficient(Discretisation):
    """A discretisation of a constant ``k`` built of the 1-D operators ``k T_i`` (shared)."""

    @property
    def coefficient(self) -> float:
        """The constant ``k``."""
        return float(self.data.coefficient)

    @property
    def axis_operators(self) -> tuple[AxisOperator, ...]:
        """The 1-D operators ``k T_i`` (physical spacing, not symmetrised), made once."""
        return self.shared.get(
            "axis_operators", lambda: reference_operators(self.grid, self.coefficient)
        )


def reference_operators(grid: Grid, k: float) -> tuple[AxisOperator, ...]:
    """Return ``k`` times the second differences of the grid's axes (a Kronecker sum's ``T_i``)."""
    ops = tuple(second_difference(a) for a in grid.axes)
    return ops if k == 1.0 else tuple(op.scaled(k) for op in ops)


def lifted_rhs(
    data: ProblemData,
    lifts: Callable[[], Sequence[tuple[Any, Any]]],
    box: Box | None,
    merge: Merge | None,
    *,
    local: bool = False,
) -> np.ndarray:
    """Return ``f`` at the unknowns plus the face data times the lifting factors ``lifts()``.

    ``lifts()[i] = (lower, upper)``: per face a number or per-node factors (the
    grid's, sliced to the box; with ``local`` the box's own), asked for once
    ``f`` is evaluated (and checked).  Flat without a box, the box's shape with one.
    """
    g = data.grid
    d = g.dimension
    b = data.source_values(box, merge=merge)
    lo = [0] * d if box is None else [int(v) for v in box[0]]
    hi = list(g.shape) if box is None else [int(v) for v in box[1]]
    for i, lift in enumerate(lifts()):
        n = g.shape[i]
        for side in (0, 1):
            factor = lift[side]
            row = n - 1 if side else 0
            if np.all(factor == 0.0) or not lo[i] <= row < hi[i]:
                continue
            face = g.face_data(i, side)  # shape: point shape with 1 along axis i
            take, where = [], []
            for a, axis in enumerate(g.axes):
                start = axis.unknown_slice.start
                take.append(slice(None) if a == i else slice(start + lo[a], start + hi[a]))
                where.append(slice(None) if a == i else slice(lo[a], hi[a]))
            if np.ndim(factor) > 0 and not local:  # per-node factors: the box's part
                factor = factor[tuple(where)]
            rows = [slice(None)] * d
            rows[i] = slice(row - lo[i], row - lo[i] + 1)
            b[tuple(rows)] += factor * face[tuple(take)]
    return b if box is not None else b.reshape(-1)
