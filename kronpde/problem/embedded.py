"""A domain inside the box: the discretisation of an embedded boundary (``EmbeddedBoundary``).

The unknowns are the box problem's (:attr:`Grid.shape`); the points that are
not unknowns of the domain keep a row of their own, the box operator's diagonal
alone with ``b = 0`` (they never couple to the domain: ``u = 0`` there, and the
output blanks them).  A Dirichlet embedded boundary takes the symmetric
ghost-value rule of Gibou, Fedkiw, Cheng and Kang (2002); a Neumann one the
finite-volume rule of the cut control volumes (face apertures, volume
fractions); a mask with a Neumann condition closes the faces between inside
and outside points.  Derivations, orders and the bound: ``docs/embedded-boundaries.md``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator

from kronpde.expr.expression import ExpressionError
from kronpde.geometry.boundary import Dirichlet, Neumann, data_error, in_dimension
from kronpde.geometry.domain import Domain, DomainGeometry
from kronpde.operators.stencils import second_difference
from kronpde.problem.data import box_index
from kronpde.problem.discretisation import (
    ConstantCoefficient,
    EigenStructure,
    Shared,
    reference_operators,
)
from kronpde.problem.eigen_estimate import estimate_smallest_eigenvalue
from kronpde.problem.embedded_rows import THETA_MIN, dirichlet_rows, neumann_rows
from kronpde.problem.spectrum import Bound, kronecker_bound

if TYPE_CHECKING:
    from kronpde.problem.data import Box, Merge, ProblemData

try:  # y += A x without allocating (scipy's private CSR kernel)
    from scipy.sparse._sparsetools import csr_matvec as _csr_matvec
except ImportError:  # pragma: no cover - depends on the scipy version
    _csr_matvec = None

__all__ = ["THETA_MIN", "CsrOperator", "EmbeddedBoundary", "embedded_discretisation"]

#: The methods that accept an embedded boundary (what ``fastdiag``'s refusal names).
ACCEPTING = "'fastdiag-cg', 'amg-cg', 'cg' or 'direct'"


class CsrOperator(LinearOperator):
    """An assembled CSR matrix as a LinearOperator with ``matvec_into``."""

    def __init__(self, matrix: sp.csr_array):
        super().__init__(dtype=np.float64, shape=matrix.shape)
        self.matrix = sp.csr_array(matrix)
        self.matrix.sort_indices()

    def matvec_into(self, x: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Write ``A x`` into ``out`` and return it."""
        a = self.matrix
        if _csr_matvec is None:  # pragma: no cover - depends on the scipy version
            out[...] = a @ x
            return out
        out.fill(0.0)
        _csr_matvec(a.shape[0], a.shape[1], a.indptr, a.indices, a.data, x, out)
        return out

    def _matvec(self, x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=np.float64).reshape(-1)
        return self.matvec_into(x, np.empty(self.shape[0]))

    def _rmatvec(self, x: np.ndarray) -> np.ndarray:
        return self.matrix.T @ np.asarray(x).reshape(-1)


def embedded_discretisation(
    data: ProblemData, shift: float, order: int, domain: object, condition: object
) -> EmbeddedBoundary:
    """Check a domain and its embedded condition; return the discretisation.

    Raises
    ------
    DataError
        ``subject`` ``"domain"``: a domain that is no level set or mask, a mask
        of the wrong shape, a level set not finite somewhere or with no point
        inside; ``"embedded"``: a condition that is not Dirichlet or Neumann;
        ``"order"``, ``"coefficient"``, ``"shift"``, ``"grid"``: order 4, a
        variable ``k`` with a Neumann embedded boundary, a shift ``c(x)``, a
        periodic axis (not supported with an embedded boundary).
    """
    g = data.grid
    if not isinstance(domain, Domain):
        domain = Domain(domain, dimension=g.dimension)
    if condition is None:
        condition = Dirichlet(0.0)
    if not isinstance(condition, (Dirichlet, Neumann)):
        subject = "embedded"
        raise data_error(subject, f"must be a Dirichlet or Neumann condition, got {condition!r}")
    try:
        condition = in_dimension(condition, g.dimension)
    except ExpressionError as exc:
        subject = "embedded"
        raise data_error(subject, str(exc)) from None
    if isinstance(condition.value, np.ndarray) and condition.value.ndim > 0:
        subject = "embedded"
        raise data_error(subject, "an array has no values where the boundary crosses the grid")
    if order != 2:
        subject = "order"
        raise data_error(subject, "an embedded boundary is discretised at order 2 only")
    if data.variable_coefficient and isinstance(condition, Neumann):
        subject = "coefficient"
        raise data_error(
            subject,
            "a Neumann embedded boundary needs a constant coefficient k (a variable k "
            "is supported with a Dirichlet embedded boundary)",
        )
    if getattr(data, "shift_field", None) is not None:
        subject = "shift"
        raise data_error(subject, "an embedded boundary needs a constant shift c")
    if any(a.periodic for a in g.axes):
        subject = "grid"
        raise data_error(
            subject,
            "an embedded boundary on a periodic axis is not supported (no rows across the "
            "wrap); give that axis Dirichlet or Neumann faces",
        )
    geometry = DomainGeometry(g, domain)
    return EmbeddedBoundary(data, shift, geometry=geometry, condition=condition)


class EmbeddedBoundary(ConstantCoefficient):
    """``A`` of a domain inside the box with a Dirichlet or Neumann embedded boundary.

    Parameters
    ----------
    data : ProblemData
        The checked data (a constant ``k``).
    shift : float
        ``c``.
    shared : Shared, optional
        What other shifts made already.
    geometry : DomainGeometry
        The domain on the grid.
    condition : Dirichlet or Neumann
        The embedded boundary's condition (``du/dn`` along the normal out of the domain).
    theta_min : float
        :data:`THETA_MIN`.
    """

    name: ClassVar[str] = "embedded boundary"
    has_reference_structure: ClassVar[bool] = True

    def __init__(
        self,
        data: ProblemData,
        shift: float,
        shared: Shared | None = None,
        *,
        geometry: DomainGeometry,
        condition: Dirichlet | Neumann,
        theta_min: float = THETA_MIN,
    ):
        super().__init__(data, shift, shared)
        self.geometry = geometry
        self.condition = condition
        self.theta_min = float(theta_min)
        self._operators: dict[bool, sp.csr_array] = {}

    def with_shift(self, shift: float) -> EmbeddedBoundary:
        """Return the same scheme with shift ``c``, sharing the geometry and the rows."""
        return type(self)(
            self.data,
            shift,
            self.shared,
            geometry=self.geometry,
            condition=self.condition,
            theta_min=self.theta_min,
        )

    @property
    def coefficient(self) -> float:
        """``k``, or a variable ``k``'s weighted geometric mean (the box preconditioner's)."""
        return self.data.reference_coefficient()

    def box_diffusion(self) -> Any:
        """Return the box's flux form of a variable ``k`` at ``c = 0`` (its face values)."""
        from kronpde.problem.flux_form import FluxForm

        return self.shared.get("box_diffusion", lambda: FluxForm(self.data, 0.0).diffusion)

    @property
    def neumann(self) -> bool:
        """Whether the embedded condition is Neumann (the finite-volume rule)."""
        return isinstance(self.condition, Neumann)

    def refined_arguments(self) -> dict[str, Any]:
        """Return the domain and the embedded condition, for the refined grid."""
        return {"domain": self.geometry.domain.value, "embedded": self.condition}

    def check(self) -> None:
        """Build the rows (the crossings, the embedded data): bad data fail here."""
        self._parts  # noqa: B018

    # -- the rows ------------------------------------------------------------------------
    @property
    def _parts(self) -> dict[str, Any]:
        return self.shared.get("embedded", self._assemble)

    def _assemble(self) -> dict[str, Any]:
        make = neumann_rows if self.neumann else dirichlet_rows
        return make(self)

    def domain_unknowns(self) -> np.ndarray:
        """Return True at the domain's unknowns (flat, read-only): the others carry nothing."""
        return self._parts["unknowns"]

    def star_rows(self, box: Box) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
        """Return ``Â``'s rows of a box of unknowns: its diagonal and per axis the couplings.

        Taken from the assembled ``Â`` (every rank of a distributed solve
        builds the geometry of the whole grid, then keeps its box's rows).
        """
        g = self.grid
        a = self.operator(symmetric=True)
        index = np.arange(g.size).reshape(g.shape)[box_index(g, box, unknowns=True)]
        rows = index.reshape(-1)
        diagonal = a.diagonal()[rows].reshape(index.shape)
        strides = np.arange(g.size).reshape(g.shape).strides
        couplings = []
        for axis in range(g.dimension):
            step = strides[axis] // 8
            j = np.unravel_index(rows, g.shape)[axis]
            pair = []
            for sign in (-1, 1):
                ok = (j + sign >= 0) & (j + sign < g.shape[axis])
                values = np.zeros(rows.size)
                if np.any(ok):
                    values[ok] = np.asarray(a[rows[ok], rows[ok] + sign * step]).reshape(-1)
                pair.append(values.reshape(index.shape))
            couplings.append((pair[0], pair[1]))
        return diagonal, couplings

    def singular(self) -> bool:
        """Return whether a part of the domain touches Neumann boundaries only (``c = 0``)."""
        return self.null_vector() is not None

    def null_vector(self) -> np.ndarray | None:
        """Return 1 on the floating part of the domain (``A 1 = 0`` there), None if none.

        Raises
        ------
        DataError
            ``"embedded"``: several parts float (each leaves its own constant free).
        """
        if self.shift != 0.0:
            return None
        return self.shared.get("null_vector", self._null_vector)

    def _null_vector(self) -> np.ndarray | None:
        from scipy.sparse.csgraph import connected_components

        inside = self.domain_unknowns()
        idx = np.flatnonzero(inside)
        a = self.operator()[idx][:, idx]
        count, labels = connected_components(a, directed=False)
        rows = np.abs(a @ np.ones(idx.size))
        scale = np.abs(a.diagonal())
        anchored = np.zeros(count, dtype=bool)
        np.logical_or.at(anchored, labels, rows > 1e-10 * scale)
        floating = np.flatnonzero(~anchored)
        if floating.size == 0:
            return None
        if floating.size > 1:
            subject = "embedded"
            raise data_error(
                subject,
                f"{floating.size} parts of the domain touch Neumann boundaries only (c = 0), "
                "each leaving its own constant free; give c > 0 or a Dirichlet boundary",
            )
        null = np.zeros(self.grid.size)
        null[idx[labels == floating[0]]] = 1.0
        null.flags.writeable = False
        return null

    def face_fluxes(self, problem: Any, u: np.ndarray, balance: bool) -> Any:
        """Return the fluxes through the box faces and ``embedded`` (:mod:`~.fluxes_embedded`)."""
        from kronpde.problem.fluxes_embedded import embedded_fluxes

        return embedded_fluxes(self, self._parts, problem, u, balance)

    def domain_points(self) -> np.ndarray:
        """Return the points of the domain's unknowns and of the box's Dirichlet nodes in it."""
        g = self.grid
        points = np.array(self.geometry.inside)
        points[g.unknown_index] = self.domain_unknowns().reshape(g.shape)
        return points

    def reference_unknowns(self) -> np.ndarray | None:
        """Return the unknowns the box preconditioner acts on (:meth:`domain_unknowns`)."""
        return self.domain_unknowns()

    def reference_defect(self) -> np.ndarray | None:
        """Return the domain's rows where ``Â`` differs from the box's ``Â`` restricted.

        The rows with a neighbour outside the domain (a coupling dropped or
        scaled) or a diagonal other than the box's (a ghost rule, apertures,
        a volume fraction times ``c``).
        """
        if self.data.variable_coefficient:  # every row differs from k_ref's: no band
            return None
        g = self.grid
        inside = self.domain_unknowns().reshape(g.shape)
        box = self._box_diagonal()
        diag = self.diagonal()
        rows = np.abs(diag - box) > 1e-12 * np.abs(box)
        rows = rows.reshape(g.shape)
        for axis in range(g.dimension):
            n = g.shape[axis]
            lo = [slice(None)] * g.dimension
            hi = [slice(None)] * g.dimension
            lo[axis], hi[axis] = slice(0, n - 1), slice(1, n)
            lo, hi = tuple(lo), tuple(hi)
            rows[lo] |= ~inside[hi]
            rows[hi] |= ~inside[lo]
        return (inside & rows).reshape(-1)

    def _box_diagonal(self) -> np.ndarray:
        g = self.grid
        d = g.dimension
        if self.data.variable_coefficient:
            return (self.box_diffusion().diagonal + self.shift).reshape(-1)
        diag = np.full(g.shape, self.shift)
        for i, op in enumerate(self.axis_operators):
            shape = [1] * d
            shape[i] = op.n
            diag += op.diag.reshape(shape)
        return diag.reshape(-1)

    def diagonal(self) -> np.ndarray:
        """Return the diagonal of ``A``: the domain's rows, the box's diagonal elsewhere."""
        parts = self._parts
        inside = parts["unknowns"]
        out = self._box_diagonal()
        out[inside] = parts["diag"][inside] + self.shift * parts["shift_weight"][inside]
        return out

    def operator(self, symmetric: bool = False) -> sp.csr_array:
        """Return the assembled ``A`` (``Â = D A D^{-1}`` with ``symmetric=True``)."""
        if symmetric in self._operators:
            return self._operators[symmetric]
        parts = self._parts
        n = self.grid.size
        rows, cols, vals = parts["rows"], parts["cols"], parts["vals"]
        if symmetric:
            d = self.data.symmetric_scale
            vals = vals * d[rows] / d[cols]
        idx = np.arange(n)
        a = sp.coo_array(
            (
                np.concatenate([vals, self.diagonal()]),
                (np.concatenate([rows, idx]), np.concatenate([cols, idx])),
            ),
            shape=(n, n),
        ).tocsr()
        a.sum_duplicates()
        a.sort_indices()
        self._operators[symmetric] = a
        return a

    def linear_operator(self, symmetric: bool = False) -> CsrOperator:
        """Return ``A`` (or ``Â``) as a LinearOperator with ``matvec_into``."""
        return CsrOperator(self.operator(symmetric))

    def evaluate_rhs(self, box: Box | None, merge: Merge | None = None) -> np.ndarray:
        """``b``: ``f`` and the data of the faces and the embedded boundary; 0 outside."""
        b = np.array(self._parts["rhs"])
        if box is None:
            return b
        return np.array(b.reshape(self.grid.shape)[box_index(self.grid, box, unknowns=True)])

    # -- the structure ---------------------------------------------------------------------
    def fast_solve_obstacle(self) -> str:
        """Say that an embedded boundary is no Kronecker sum, and name the methods for it."""
        return (
            "the embedded boundary's operator is not a Kronecker sum, so fast "
            f"diagonalization cannot solve it exactly; use method {ACCEPTING}"
        )

    def reference_structure(self) -> EigenStructure:
        """Return the box's Kronecker sum: ``fastdiag-cg`` preconditions with its solve."""
        k = self.coefficient
        note = (
            "Preconditioner: the exact fast-diagonalization solve of the box, restricted to "
            "the domain's unknowns and extended by zero (docs/embedded-boundaries.md)."
        )
        return EigenStructure(reference_operators(self.grid, k), None, k, note)

    def preconditioner_reason(self) -> str:
        """Why ``auto`` picks the box-preconditioned CG."""
        return "auto: an embedded boundary; CG preconditioned by the box's exact fast solve"

    def couplings_nonpositive(self) -> bool:
        """Every coupling is a box coupling (times an aperture): ``<= 0``."""
        return bool(np.all(self._parts["vals"] <= 0.0))

    def smallest_eigenvalue(self, singular: bool) -> Bound | None:
        """Dirichlet: the box's bound with the untouched faces made Dirichlet; Neumann: none.

        The domain's ``Â`` is a principal submatrix of that box operator plus a
        non-negative diagonal, and the other rows are the box's diagonal alone.
        """
        if self.neumann or singular:
            return None
        g = self.grid
        inside = self.domain_unknowns().reshape(g.shape)
        axes = []
        for i, a in enumerate(g.axes):
            faces = []
            for side, bc in ((0, a.lower_bc), (1, a.upper_bc)):
                row = [slice(None)] * g.dimension
                row[i] = -1 if side else 0
                touched = bool(np.any(inside[tuple(row)]))
                faces.append(bc if touched else Dirichlet(0.0))
            axes.append(replace(a, lower_bc=faces[0], upper_bc=faces[1]))
        k = self.data.coefficient_range()[0]  # a variable k: A >= k_min A_1 (every flux's k)
        ops = tuple(second_difference(a).scaled(k) for a in axes)
        found = kronecker_bound(ops, self.shift, False)
        if found is None:
            return None
        lower, computed, how = found
        outside = ~self.domain_unknowns()
        if np.any(outside):
            floor = float(np.min(self._box_diagonal()[outside]))
            lower, computed = min(lower, floor), min(computed, floor)
        text = (
            f"{how}: the box operator with every box face the domain does not touch made "
            "Dirichlet bounds the domain's (a principal submatrix plus a non-negative diagonal)"
        )
        return lower, computed, text

    def band_estimate(self) -> int:
        """Return about how many rows the band correction factors, from the geometry alone.

        The domain's points with a neighbour outside, and their neighbours: no
        rows are assembled (``kronpde check``'s memory line).  A variable ``k``
        has no band.
        """
        if self.data.variable_coefficient:
            return 0
        g = self.grid
        inside = np.asarray(self.geometry.inside)
        cut = np.zeros_like(inside)
        for axis in range(g.dimension):
            a = np.moveaxis(inside, axis, 0)
            c = np.moveaxis(cut, axis, 0)
            c[:-1] |= a[:-1] & ~a[1:]
            c[1:] |= a[1:] & ~a[:-1]
        band = cut.copy()
        for axis in range(g.dimension):
            c = np.moveaxis(cut, axis, 0)
            b = np.moveaxis(band, axis, 0)
            b[:-1] |= c[1:]
            b[1:] |= c[:-1]
        return int(np.count_nonzero(band[g.unknown_index]))

    def eigenvalue_estimate(self, singular: bool) -> float | None:
        """Return an estimate (not certified) of ``λ_min(A)`` (``λ_2`` if singular).

        Of ``Â`` restricted to the domain's unknowns (the other rows carry
        nothing: ``b = 0`` and ``u = 0`` there); where :meth:`smallest_eigenvalue`
        proves no bound, the report gives the algebraic error this implies.
        """
        return self.shared.get(f"eigenvalue_estimate {self.shift!r}", self._estimate)

    def _estimate(self) -> float | None:
        idx = np.flatnonzero(self.domain_unknowns())
        a = self.operator(symmetric=True)[idx][:, idx]
        null = self.null_vector()
        if null is not None:
            null = (null * self.data.symmetric_scale)[idx]
        return estimate_smallest_eigenvalue(a, null, dimension=self.grid.dimension)
