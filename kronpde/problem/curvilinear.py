"""The flux form on a curvilinear grid: ``W A = P^T M P``, symmetric in the control volumes.

On a :class:`~kronpde.geometry.curvilinear.CurvilinearGrid` the operator
``-(1/J) Σ_l ∂_l (k C_l ∂_l u) + c u`` is discretised on the grid's own cells:
the weighted matrix ``M`` couples neighbouring unknowns through the flux factor
``C_l`` at the face between them (times the control widths of the other
axes), the weights ``W`` are the control volumes, and node-centred Neumann and
Robin faces take FISHPACK's ghost reflection, so that FISHPACK's polar,
cylindrical and spherical drivers are reproduced.  ``M`` is assembled on the
tensor of the axes' unknowns and reduced by ``P`` (the copies of a shared axis
or pole point): ``M_red = P^T M P``.  Derivation: ``docs/curvilinear.md``.
"""

from __future__ import annotations

import math
from dataclasses import replace
from functools import cached_property
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator

from kronpde.errors import DataError, SolverError
from kronpde.geometry.boundary import (
    Dirichlet,
    Neumann,
    OnAxis,
    Periodic,
    Pole,
    Robin,
    data_error,
    evaluate_data,
)
from kronpde.problem.discretisation import Discretisation
from kronpde.problem.spectrum import UNIT_ROUNDOFF, VARIABLE_MARGIN, Bound

if TYPE_CHECKING:
    from kronpde.geometry.curvilinear import CurvilinearGrid
    from kronpde.problem.data import Box, Merge, ProblemData
    from kronpde.problem.partial import PartialStructure

__all__ = ["CurvilinearFlux", "CurvilinearSystem", "assemble"]


class CurvilinearSystem:
    """``M`` (no shift), ``W`` and the lifted boundary data of a curvilinear grid (reduced)."""

    def __init__(self, matrix: sp.csr_array, weights: np.ndarray, lift: np.ndarray):
        self.matrix = matrix
        self.weights = weights
        self.lift = lift


def _along(v: np.ndarray, axis: int, d: int) -> np.ndarray:
    shape = [1] * d
    shape[axis] = -1
    return np.asarray(v, dtype=float).reshape(shape)


def _coefficient(data: ProblemData, coords: list[np.ndarray], shape: tuple[int, ...]):
    """``k`` at the given points (a number where it is constant)."""
    k = data.coefficient
    if isinstance(k, float | int):
        return float(k)
    if isinstance(k, np.ndarray):
        subject = "coefficient"
        msg = (
            "an array coefficient is not supported on a curvilinear grid (its fluxes need k at "
            "the faces); give an expression or a callable"
        )
        raise data_error(subject, msg)
    values = evaluate_data(k, coords, shape, "coefficient")
    if not np.all(values > 0.0):
        subject = "coefficient"
        raise data_error(subject, f"must be > 0 everywhere, got {float(np.min(values)):g}")
    return values


def assemble(data: ProblemData) -> CurvilinearSystem:
    """Assemble ``M``, ``W`` and the lifting of the face data (``docs/curvilinear.md``)."""
    grid: CurvilinearGrid = data.grid  # type: ignore[assignment]
    system = grid.coordinate_system
    d = grid.dimension
    ts = grid.tensor_shape
    total = math.prod(ts)
    flat = np.arange(total).reshape(ts)
    metrics = grid.metrics
    xs = [_along(m.x, i, d) for i, m in enumerate(metrics)]
    diag = np.zeros(total)
    lift = np.zeros(ts)
    rows, cols, vals = [], [], []
    for ax in range(d):
        m = metrics[ax]
        n = ts[ax]
        nf = m.faces.size
        if nf == 0:
            continue
        nu = np.ones(())
        for i in range(d):
            if i != ax:
                nu = nu * _along(metrics[i].cross(ax), i, d)
        own = system.a(ax)
        coef = _along(own(m.faces) / m.distance, ax, d) * nu
        coords = [_along(m.faces, ax, d) if i == ax else xs[i] for i in range(d)]
        shape = tuple(nf if i == ax else ts[i] for i in range(d))
        coef = np.broadcast_to(coef * _coefficient(data, coords, shape), shape)
        lo = np.take(flat, np.arange(nf), axis=ax).reshape(-1)
        hi = np.take(flat, (np.arange(nf) + 1) % n, axis=ax).reshape(-1)
        c = coef.reshape(-1)
        rows += [lo, hi]
        cols += [hi, lo]
        vals += [-c, -c]
        diag += np.bincount(lo, c, total) + np.bincount(hi, c, total)
        for side in (0, 1):
            _face_terms(data, ax, side, nu, xs, diag.reshape(ts), lift)
    rows.append(np.arange(total))
    cols.append(np.arange(total))
    vals.append(diag)
    tensor = sp.csr_array(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(total, total)
    )
    p = grid.gather
    matrix = sp.csr_array(p.T @ tensor @ p)
    matrix.sum_duplicates()
    matrix.eliminate_zeros()
    weights = p.T @ grid.tensor_weights().reshape(-1)
    return CurvilinearSystem(matrix, weights, p.T @ lift.reshape(-1))


def _face_terms(
    data: ProblemData,
    ax: int,
    side: int,
    nu: np.ndarray,
    xs: list[np.ndarray],
    diag: np.ndarray,
    lift: np.ndarray,
) -> None:
    """Add face ``(ax, side)``'s terms to the diagonal and the lifting (in place)."""
    grid: CurvilinearGrid = data.grid  # type: ignore[assignment]
    a = grid.axes[ax]
    bc = a.upper_bc if side else a.lower_bc
    if isinstance(bc, Periodic | OnAxis | Pole):
        return
    system = grid.coordinate_system
    d = grid.dimension
    own = system.a(ax)
    ts = grid.tensor_shape
    end = ts[ax] - 1 if side else 0
    xf = float(a.nodes[-1] if side else a.nodes[0])
    coords = [np.array(xf).reshape([1] * d) if i == ax else xs[i] for i in range(d)]
    shape = tuple(1 if i == ax else ts[i] for i in range(d))
    k = _coefficient(data, coords, shape)
    at = [slice(None)] * d
    at[ax] = slice(end, end + 1)
    at = tuple(at)
    others = list(grid.unknown_index)
    others[ax] = slice(None)
    if isinstance(bc, Dirichlet) and not a.cell_centred:
        xb = float(a.points[a.unknown_slice][end])
        face = 0.5 * (xf + xb)
        coords[ax] = np.array(face).reshape([1] * d)
        coef = float(own(np.array(face))) / abs(xb - xf) * nu * _coefficient(data, coords, shape)
        node = [*grid.unknown_index]
        node[ax] = slice(a.cells, a.cells + 1) if side else slice(0, 1)
        diag[at] += coef
        lift[at] += coef * dvals_at(grid, node)
        return
    g = grid.face_data(ax, side)[tuple(others)]
    h = float(a.spacings[-1] if side else a.spacings[0])
    scale = system.scale(ax, coords)
    if isinstance(bc, Dirichlet):  # cell-centred: the ghost 2 g - u_0
        coef = 2.0 * float(own(np.array(xf))) / h * nu * k
        diag[at] += coef
        lift[at] += coef * g
        return
    if a.cell_centred:
        flux = float(own(np.array(xf))) * nu * k
        if isinstance(bc, Robin):
            q = bc.alpha / 2 + bc.beta / (h * scale)
            diag[at] += flux * bc.alpha / (h * q)
            lift[at] += flux * g / (h * q)
        else:
            lift[at] += flux * scale * g
        return
    step = h / 2 if side == 0 else -h / 2
    a_in, a_gh = float(own(np.array(xf + step))), float(own(np.array(xf - step)))
    factor = 2 * a_in * a_gh / (a_in + a_gh) if a_gh > 0.0 else float(own(np.array(xf)))
    flux = factor * nu * k * scale
    if isinstance(bc, Robin):
        diag[at] += flux * bc.alpha / bc.beta
        lift[at] += flux * g / bc.beta
    elif isinstance(bc, Neumann):
        lift[at] += flux * g


def dvals_at(grid: CurvilinearGrid, node: list[slice]) -> np.ndarray:
    """Return the Dirichlet values of the field at a slab of nodes."""
    return grid.dirichlet_nodes()[0][tuple(node)]


class _Matrix(LinearOperator):
    """A CSR matrix as a LinearOperator with ``matvec_into``."""

    def __init__(self, matrix: sp.csr_array):
        super().__init__(dtype=np.float64, shape=matrix.shape)
        self.matrix = matrix

    def _matvec(self, x: np.ndarray) -> np.ndarray:
        return self.matrix @ np.asarray(x).reshape(-1)

    def _rmatvec(self, x: np.ndarray) -> np.ndarray:
        return self.matrix.T @ np.asarray(x).reshape(-1)

    def matvec_into(self, x: np.ndarray, out: np.ndarray) -> None:
        """Write ``matrix @ x`` into ``out``."""
        np.copyto(out, self.matrix @ x)


class CurvilinearFlux(Discretisation):
    """The second-order flux form on a curvilinear grid (module docstring)."""

    name: ClassVar[str] = "curvilinear flux form"
    fast_solve_reason: ClassVar[str | None] = (
        "auto: the curvilinear flux form of a constant k is solved exactly by transforms on "
        "all axes but one and tridiagonal systems along it"
    )

    def check(self) -> None:
        """Evaluate ``k`` where the fluxes use it (assembling ``M``)."""
        self.system  # noqa: B018

    @property
    def system(self) -> CurvilinearSystem:
        """``M``, ``W`` and the lifting, shared by every shift."""
        return self.shared.get("curvilinear", lambda: assemble(self.data))

    @cached_property
    def _weighted(self) -> sp.csr_array:
        s = self.system
        m = s.matrix + sp.diags_array(self.shift * s.weights) if self.shift else s.matrix
        field = self.weighted_shift_field()
        if field is not None:  # a shift c(x): c times the control volumes on the diagonal
            m = m + sp.diags_array(field)
        return sp.csr_array(m)

    def boundary_terms(self, ax: int, side: int) -> tuple[np.ndarray, np.ndarray]:
        """Return face ``(ax, side)``'s own terms of ``M``: its diagonal and lifting (tensor shape).

        The scheme's outflow through the face is ``diag u - lift`` (``docs/fluxes.md``);
        zero on periodic, axis and pole faces.
        """
        grid: CurvilinearGrid = self.grid  # type: ignore[assignment]
        d = grid.dimension
        diag, lift = np.zeros(grid.tensor_shape), np.zeros(grid.tensor_shape)
        if grid.metrics[ax].faces.size == 0:  # one unknown: no fluxes along ax (assemble's)
            return diag, lift
        xs = [_along(m.x, i, d) for i, m in enumerate(grid.metrics)]
        nu = np.ones(())
        for i in range(d):
            if i != ax:
                nu = nu * _along(grid.metrics[i].cross(ax), i, d)
        _face_terms(self.data, ax, side, nu, xs, diag, lift)
        return diag, lift

    def face_fluxes(self, problem: object, u: np.ndarray, balance: bool) -> object:
        """Return the net outward flux through each face (:mod:`~.fluxes_curvilinear`)."""
        from kronpde.problem.fluxes_curvilinear import curvilinear_fluxes

        return curvilinear_fluxes(self, problem, u, balance)

    def weighted_shift_field(self) -> np.ndarray | None:
        """``c(x) W`` of a shift expression at the unknowns (reduced), or None."""
        field = getattr(self.data, "shift_field", None)
        if field is None:
            return None
        grid: CurvilinearGrid = self.grid  # type: ignore[assignment]
        c = np.asarray(field)[grid.unknown_index].reshape(-1)
        return grid.gather.T @ (grid.tensor_weights().reshape(-1) * c)

    def weighted_operator(self) -> sp.csr_array:
        """``W A`` (symmetric)."""
        return self._weighted

    def operator(self, symmetric: bool = False) -> sp.csr_array:
        """Return ``A = W^{-1} M`` (``Â = W^{-1/2} M W^{-1/2}`` with ``symmetric=True``)."""
        w = self.system.weights
        if symmetric:
            s = sp.diags_array(1.0 / np.sqrt(w))
            return sp.csr_array(s @ self._weighted @ s)
        return sp.csr_array(sp.diags_array(1.0 / w) @ self._weighted)

    def linear_operator(self, symmetric: bool = False) -> _Matrix:
        """Return the assembled ``A`` (or ``Â``) as a LinearOperator with ``matvec_into``."""
        return _Matrix(self.operator(symmetric))

    def diagonal(self) -> np.ndarray:
        """Return the diagonal of ``A`` (and of ``Â``), a new array."""
        return self._weighted.diagonal() / self.system.weights

    def evaluate_rhs(self, box: Box | None, merge: Merge | None = None) -> np.ndarray:
        """``b = f + W^{-1} lift``, ``f`` integrated over each control volume (flat)."""
        grid: CurvilinearGrid = self.grid  # type: ignore[assignment]
        if box is not None:  # a rank's box: the whole b, sliced (a grid without shared points)
            if len(grid.shape) != grid.dimension:
                raise SolverError(shared_point_refusal(grid))
            index = tuple(slice(int(a), int(b)) for a, b in zip(*box, strict=True))
            return self.evaluate_rhs(None).reshape(grid.shape)[index].copy()
        f = self.data.source_nodes()[grid.unknown_index].reshape(-1)
        wf = grid.gather.T @ (grid.tensor_weights().reshape(-1) * f)
        s = self.system
        return (wf + s.lift) / s.weights

    def partial_structure(self) -> PartialStructure | None:
        """Return ``A`` as transforms on all axes but one, tridiagonal along it (constant ``k``).

        :func:`kronpde.problem.curvilinear_partial.partial_structure`; None for a
        variable ``k`` and where the grid has no such form (a shared point at the
        upper end of the tridiagonal axis, the centre of a 3-D ball, a Robin face
        whose term varies along another axis).
        """
        return self.shared.get("partial_structure", self._make_partial)

    def _make_partial(self) -> PartialStructure | None:
        from kronpde.problem.curvilinear_partial import partial_structure

        if self.data.variable_coefficient:
            return None
        return partial_structure(
            self.grid,  # type: ignore[arg-type]
            float(self.data.coefficient),  # type: ignore[arg-type]
            getattr(self.data, "shift_field", None),
        )

    @property
    def has_reference_structure(self) -> bool:  # type: ignore[override]
        """Whether the grid has the tridiagonal-axis form ``fastdiag-cg`` preconditions with."""
        from kronpde.problem.curvilinear_partial import curvilinear_pieces

        return self.shared.get(
            "has_pieces",
            lambda: curvilinear_pieces(self.grid) is not None,  # type: ignore[arg-type]
        )

    def reference_structure(self) -> PartialStructure | None:
        """Return the tridiagonal-axis form of ``k_ref``'s flux form (``fastdiag-cg``'s), or None.

        ``k_ref``: for a variable ``k``, the control-volume geometric mean of ``k`` on each
        surface of constant ``t`` (the tridiagonal coordinate:
        :func:`~kronpde.problem.curvilinear_reference.layered_reference`); where the shift
        sits on another axis (3-D spherical), one weighted geometric mean of ``k``.
        """
        from kronpde.problem.curvilinear_partial import partial_structure
        from kronpde.problem.curvilinear_reference import layered_reference

        if self.data.variable_coefficient:
            k = self.grid.from_nodes(self.data.coefficient_values())
            layered = layered_reference(partial_structure(self.grid, 1.0), self.grid, k)
            if layered is not None:
                found, line = layered
                name = self.grid.coordinate_system.axes[found.axis]
                return replace(
                    found,
                    note=f"Preconditioner: the tridiagonal-axis solve with k_ref({name}) in "
                    f"[{line.min():.6g}, {line.max():.6g}] (the geometric mean of k over "
                    f"each surface of constant {name}).",
                )
        k_ref = self.data.reference_coefficient()
        found = partial_structure(self.grid, k_ref)  # type: ignore[arg-type]
        if found is None:
            return None
        return replace(
            found,
            note=f"Preconditioner: the tridiagonal-axis solve with k_ref = "
            f"{k_ref:.6g} (the control-volume geometric mean of k).",
        )

    def preconditioner_reason(self) -> str | None:
        """Why ``auto`` picks ``fastdiag-cg`` for a variable ``k``."""
        return (
            "auto: k varies on a curvilinear grid; CG preconditioned by the exact "
            "tridiagonal-axis solve of the grid's flux form with a constant k_ref"
        )

    def fast_solve_obstacle(self) -> str | None:
        """None where the tridiagonal axis solves it exactly, else why not."""
        if self.partial_structure() is not None:
            return None
        field = getattr(self.data, "shift_field", None)
        if field is not None and not self.data.variable_coefficient:
            from kronpde.problem.curvilinear_partial import partial_structure

            if partial_structure(self.grid, 1.0) is not None:  # type: ignore[arg-type]
                return (
                    "the shift c(x) of this curvilinear grid, times the control volumes, "
                    "varies neither along the tridiagonal axis alone nor as its coupling times "
                    "a function of one other axis, so fast diagonalization cannot solve it "
                    "exactly; use method 'direct', 'cg' or 'amg-cg'"
                )
        why = "its coefficient k varies" if self.data.variable_coefficient else "this grid"
        return (
            f"the operator of a curvilinear grid ({why}) has no tridiagonal-axis form (a "
            "pole point at both ends, the centre of a 3-D ball, a Robin face along the "
            "angles or a variable k), so fast diagonalization cannot solve it exactly; use "
            "method 'direct', 'cg' or 'amg-cg'"
        )

    def smallest_eigenvalue(self, singular: bool) -> Bound | None:
        """Return ``k_min λ̲_1 + c`` lowered for rounding (``docs/curvilinear.md``), or None.

        ``λ̲_1`` bounds the ``k = 1, c = 0`` operator from below through its
        tridiagonal axis (:func:`~kronpde.problem.curvilinear_partial.unit_lower_bound`);
        ``M`` is linear in the face values of ``k``, so ``k_min`` scales it.  Without
        that bound, ``c`` alone where ``c > 0`` (``M - c W`` is semidefinite).
        """
        if singular:
            return None
        from kronpde.problem.curvilinear_partial import unit_lower_bound

        unit = unit_lower_bound(self.grid)  # type: ignore[arg-type]
        k_min = self._k_min()
        lower = computed = self.shift + self._least_shift_field()
        how = "the shift c (the curvilinear flux form is semidefinite at c = 0)"
        if unit is not None and unit[0] > 0.0:
            lower += k_min * unit[0]
            computed += k_min * unit[1]
            how = f"k_min λ_min(A_1) + c, {unit[2]}"
        a_hat = self.operator(symmetric=True)
        norm = float(abs(a_hat).sum(axis=1).max())
        lower -= VARIABLE_MARGIN * UNIT_ROUNDOFF * norm
        if lower <= 0.0:
            return None
        return lower, computed, how

    def _least_shift_field(self) -> float:
        """Return the least value of a shift expression at the unknowns (0 without one)."""
        field = getattr(self.data, "shift_field", None)
        if field is None:
            return 0.0
        return float(np.min(np.asarray(field)[self.grid.unknown_index]))

    def _k_min(self) -> float:
        """Return the smallest ``k`` the fluxes read (at every face the assembly evaluates)."""
        k = self.data.coefficient
        if isinstance(k, float | int):
            return float(k)
        grid: CurvilinearGrid = self.grid  # type: ignore[assignment]
        d = grid.dimension
        xs = [_along(m.x, i, d) for i, m in enumerate(grid.metrics)]
        found = math.inf
        for ax, m in enumerate(grid.metrics):
            others = [xs[i] for i in range(d)]
            for where in (m.faces, grid.axes[ax].nodes):
                others[ax] = _along(where, ax, d)
                shape = tuple(where.size if i == ax else grid.tensor_shape[i] for i in range(d))
                found = min(found, float(np.min(_coefficient(self.data, others, shape))))
        return found

    def couplings_nonpositive(self) -> bool:
        """Every coupling is ``-k C_l (...) <= 0``."""
        return True


def shared_point_refusal(grid: CurvilinearGrid) -> str:
    """Return why a grid with a shared axis or pole point has no boxes (a distributed solve)."""
    system = grid.coordinate_system
    axes = sorted({system.axes[i] for i, _, _ in grid.shared_points})
    return (
        "a node-centred axis or pole point is one unknown shared by every line through it, "
        "which is no row of a box of a distributed grid (PETSc's DMDA); make "
        f'{" and ".join(axes)} cell-centred (centering = "cell" on that axis: its face at the '
        "axis or pole then has no area and no point), or solve serially"
    )


def refuse_order(order: int) -> DataError:
    """Return the error of ``order = 4`` on a curvilinear grid."""
    subject = "order"
    return data_error(subject, f"a curvilinear grid has the second-order scheme only, got {order}")
