"""The non-divergence separable form ``-Σ_i (a_i u_{x_i x_i} + b_i u_{x_i}) + c u = f``.

Each ``a_i > 0`` and ``b_i`` (default 0) is a number or an expression of axis
``i`` alone (``[equation] second``/``first``); central differences on a
uniform node-centred axis, the ghost-node reflection at Neumann and Robin
faces (FISHPACK's GENBUN, POIS3D and SEPELI rows).  Each 1-D operator ``T_i``
is a non-symmetric tridiagonal; where every off-diagonal product
``T[j, j+1] T[j+1, j]`` is positive, a diagonal similarity ``W^{1/2} T W^{-1/2}``
makes it symmetric (Sturm-Liouville), and ``W`` (the operator's own weights,
not the grid's) lets ``eigh`` diagonalise it: the fast solve is exact.  The
similarity's condition number ``sqrt(max w / min w)`` (relative to the grid's
weights) bounds the eigenvectors'; above :data:`CONDITION_LIMIT` the fast
solve is refused (``direct`` solves it).  ``docs/separable-operators.md``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import ClassVar

import numpy as np

from kronpde._checks import is_real
from kronpde.expr.expression import Expression
from kronpde.geometry.axis import axis_name
from kronpde.geometry.boundary import (
    BoundaryData,
    DataSurvey,
    Dirichlet,
    Neumann,
    Robin,
    check_data,
    data_error,
    evaluate_data,
)
from kronpde.geometry.grid import Axis, Grid
from kronpde.operators.stencils import AxisOperator
from kronpde.problem.data import ProblemData, check_grid
from kronpde.problem.discretisation import EigenStructure
from kronpde.problem.kronecker import KroneckerSum
from kronpde.problem.partial import PartialStructure
from kronpde.problem.spectrum import Bound

__all__ = [
    "CONDITION_LIMIT",
    "NonDivergenceData",
    "NonDivergenceSum",
    "nondivergence_operator",
    "similarity_weights",
    "with_axis_shift",
]

#: The largest condition number of the eigenvectors the fast solve accepts: its relative
#: error is up to about ``condition * eps`` (1e6: about 2e-10), beyond it ``direct`` is named.
CONDITION_LIMIT = 1e6


def _entries(value: object, grid: Grid, key: str, default: float | None) -> tuple:
    """Per axis the checked entries of ``second``/``first``: numbers or own-axis expressions."""
    d = grid.dimension
    names = [axis_name(i) for i in range(d)]
    if not isinstance(value, Mapping):
        if isinstance(value, (list, tuple)) and len(value) == d:
            value = dict(zip(names, value, strict=True))
        else:
            raise data_error(key, f"must be a table with one entry per axis ({', '.join(names)})")
    for name in value:
        if name not in names:
            subject = f"{key}.{name}"
            raise data_error(
                subject, f"the {d}-D grid has no axis {name!r} (its axes: {', '.join(names)})"
            )
    out = []
    for name in names:
        subject = f"{key}.{name}"
        if name not in value:
            if default is None:
                raise data_error(subject, f"missing: {key} gives every axis ({', '.join(names)})")
            out.append(float(default))
            continue
        entry = value[name]
        if isinstance(entry, bool) or not (is_real(entry) or isinstance(entry, (str, Expression))):
            raise data_error(subject, f"must be a number or an expression, got {entry!r}")
        entry = check_data(entry, subject, dimension=d)
        if isinstance(entry, Expression):
            other = sorted(entry.names_used - {name})
            if other:
                raise data_error(
                    subject,
                    f"must be an expression of {name} alone (the separable form), "
                    f"but {entry.text!r} uses {', '.join(other)}",
                )
            if entry.is_constant:
                entry = float(entry.value)
        out.append(float(entry) if is_real(entry) else entry)
    return tuple(out)


def _on_nodes(entry: object, grid: Grid, i: int, subject: str) -> np.ndarray:
    """``entry`` at every node of axis ``i`` (finite, checked)."""
    x = np.asarray(grid.axes[i].nodes, dtype=float)
    if isinstance(entry, float):
        return np.full(x.size, entry)
    coords = [np.full([1] * grid.dimension, grid.axes[b].nodes[0]) for b in range(grid.dimension)]
    shape = [1] * grid.dimension
    shape[i] = x.size
    coords[i] = x.reshape(shape)
    values = evaluate_data(entry, coords, tuple(shape), subject, check=False).reshape(-1)
    survey = DataSurvey.of(values)
    survey.raise_error(entry, subject, lambda at: [float(x[at[0]])])
    return values


class NonDivergenceData(ProblemData):
    """:class:`ProblemData` of the non-divergence form: ``second`` (``a_i``), ``first`` (``b_i``).

    ``coefficient`` is 1 (no ``k``); :attr:`second` and :attr:`first` hold the
    checked entries and :attr:`a`, :attr:`b` their values on every axis' nodes.

    Raises
    ------
    DataError
        ``second.<axis>`` / ``first.<axis>``: an axis the grid lacks, an entry
        depending on another axis, ``a_i <= 0`` or not finite somewhere;
        ``second``: a stretched or cell-centred axis (central differences on
        uniform nodes only).
    """

    nondivergence: ClassVar[bool] = True

    def __init__(
        self, grid: Grid, source: BoundaryData, second: object, first: object, *, check: bool = True
    ):
        self.grid = check_grid(grid)
        self.source = self._check_source(source)
        self.coefficient = 1.0
        self.axis_shift: tuple[np.ndarray, ...] | None = None  # c_i(x_i), a separable c(x)
        self._k_nodes = None
        self._k_faces = None
        for i, axis in enumerate(self.grid.axes):
            if axis.cell_centred or not axis.uniform:
                subject = f"second.{axis_name(i)}"
                raise data_error(
                    subject,
                    "the non-divergence form takes uniform node-centred axes only "
                    "(central differences)",
                )
        self.second = _entries(second, self.grid, "second", None)
        self.first = _entries({} if first is None else first, self.grid, "first", 0.0)
        self.a = tuple(
            _on_nodes(e, self.grid, i, f"second.{axis_name(i)}") for i, e in enumerate(self.second)
        )
        self.b = tuple(
            _on_nodes(e, self.grid, i, f"first.{axis_name(i)}") for i, e in enumerate(self.first)
        )
        self._given = (second, first)
        for i, a in enumerate(self.a):
            if not np.all(a > 0.0):
                j = int(np.argmin(a))
                x = float(self.grid.axes[i].nodes[j])
                subject = f"second.{axis_name(i)}"
                raise data_error(subject, f"must be > 0 at every node, but a = {a[j]:.6g} at {x:g}")

    def arguments(self) -> dict:
        """Return the keyword arguments that make this form on another grid (a coarse one)."""
        second, first = self._given
        return {"second": second, "first": first}


def nondivergence_operator(axis: Axis, a: np.ndarray, b: np.ndarray) -> AxisOperator:
    """Return ``T`` of ``-(a u'' + b u')`` on an axis (central differences, ghost reflection).

    Parameters
    ----------
    axis : Axis
        A uniform node-centred axis and its faces.
    a, b : ndarray, shape (cells + 1,)
        The coefficients at every node.

    Returns
    -------
    AxisOperator
        Rows of the axis' unknowns; ``weights`` from :func:`similarity_weights`
        where they exist (else the grid's, and ``W T`` is not symmetric).
    """
    h = axis.h
    n, start = axis.n_unknowns, axis.unknown_slice.start
    j = np.arange(start, start + n)
    aj, bj = a[j], b[j]
    lower = -(aj / h**2 - bj / (2 * h))
    upper = -(aj / h**2 + bj / (2 * h))
    diag = 2 * aj / h**2
    lifts = [0.0, 0.0]
    if not axis.periodic:
        for side, bc in ((0, axis.lower_bc), (1, axis.upper_bc)):
            r = n - 1 if side else 0
            out = upper if side else lower  # the coupling to the node beyond the row
            inner = lower if side else upper
            if isinstance(bc, Dirichlet):
                lifts[side] = -float(out[r])
            elif isinstance(bc, (Neumann, Robin)):
                # ghost u_beyond = u_inner + 2 h du/dn; Robin: du/dn = (g - alpha u_r) / beta
                inner[r] += out[r]
                beta = bc.beta if isinstance(bc, Robin) else 1.0
                if isinstance(bc, Robin):
                    diag[r] -= out[r] * 2 * h * bc.alpha / beta
                lifts[side] = -float(out[r]) * 2 * h / beta
            out[r] = 0.0
    elif n < 3:
        msg = "the non-divergence form needs 3 or more unknowns on a periodic axis"
        raise ValueError(msg)
    op = AxisOperator(diag, lower, upper, axis.periodic, axis.weights.copy(), tuple(lifts))
    weights, _ = similarity_weights(op, axis)
    if weights is not None:
        op = AxisOperator(diag, lower, upper, axis.periodic, weights, tuple(lifts))
    return op


def similarity_weights(op: AxisOperator, axis: Axis) -> tuple[np.ndarray | None, str | None]:
    """Return ``W`` with ``W T`` symmetric (real spectrum), or None and why there is none.

    ``w_{j+1} = w_j T[j, j+1] / T[j+1, j]`` needs every product
    ``T[j, j+1] T[j+1, j] > 0`` (a cell Péclet number ``|b| h / a < 2``); on
    a periodic axis the ratios must also close the loop.  Refused (None) too
    where ``sqrt(max(w / w_grid) / min(w / w_grid))``, the condition number of
    the eigenvectors, exceeds :data:`CONDITION_LIMIT`.
    """
    up, low = op.upper[:-1], op.lower[1:]
    products = up * low
    if np.any(products <= 0.0):
        j = int(np.argmin(products))
        return None, (
            f"the 1-D operator along {axis_name_of(axis)} has a non-positive off-diagonal "
            f"product at node {j} (a cell Peclet number |b| h / a >= 2 there): its spectrum "
            "need not be real"
        )
    logs = np.concatenate([[0.0], np.cumsum(np.log(up / low))])
    if op.periodic:
        closing = logs[-1] + math.log(op.upper[-1] / op.lower[0])
        if abs(closing) > 1e-12 * max(1.0, float(np.max(np.abs(logs)))):
            return None, (
                "a first-derivative term on a periodic axis: no diagonal similarity makes the "
                "1-D operator symmetric"
            )
    grid_w = np.log(np.asarray(axis.weights, dtype=float))
    rel = logs - grid_w + grid_w[0]
    condition = math.exp(0.5 * float(np.max(rel) - np.min(rel)))
    if condition > CONDITION_LIMIT:
        return None, (
            f"the eigenvectors of a 1-D operator have condition number {condition:.3g} > "
            f"{CONDITION_LIMIT:g} (strongly varying coefficients)"
        )
    return np.exp(logs + grid_w[0]), None


def with_axis_shift(
    op: AxisOperator, axis: Axis, parts: tuple[np.ndarray, ...] | None, i: int
) -> AxisOperator:
    """Return ``T_i + diag(c_i)`` (``c_i`` at the axis' unknowns), or ``op`` without parts."""
    if parts is None:
        return op
    c = np.asarray(parts[i], dtype=float)[axis.unknown_slice]
    return AxisOperator(op.diag + c, op.lower, op.upper, op.periodic, op.weights, op.lift)


def axis_name_of(axis: Axis) -> str:
    """Return a name for an axis in messages (its bounds)."""
    return f"the axis [{axis.lower:g}, {axis.upper:g}]"


class NonDivergenceSum(KroneckerSum):
    """``A = Σ_i T_i + c I`` of the non-divergence form (module docstring)."""

    name: ClassVar[str] = "non-divergence separable form"
    symmetric: ClassVar[bool] = False
    fast_solve_reason: ClassVar[str | None] = (
        "auto: the operator is a Kronecker sum of 1-D operators that a diagonal similarity "
        "makes symmetric, so fast diagonalization solves it exactly"
    )
    data: NonDivergenceData

    @property
    def axis_operators(self) -> tuple[AxisOperator, ...]:
        """The non-symmetric 1-D operators (their weights the similarity's), made once."""
        data = self.data
        return self.shared.get(
            "axis_operators",
            lambda: tuple(
                with_axis_shift(nondivergence_operator(axis, a, b), axis, data.axis_shift, i)
                for i, (axis, a, b) in enumerate(zip(data.grid.axes, data.a, data.b, strict=True))
            ),
        )

    @property
    def symmetric_axis_operators(self) -> tuple[AxisOperator, ...]:
        """``D_i T_i D_i^{-1}`` with the grid's weights (not symmetric: the driver's ``Â``)."""

        def make() -> tuple[AxisOperator, ...]:
            out = []
            for axis, op in zip(self.grid.axes, self.axis_operators, strict=True):
                s = np.sqrt(axis.weights)
                out.append(
                    AxisOperator(
                        op.diag.copy(),
                        op.lower * s / np.roll(s, 1),
                        op.upper * s / np.roll(s, -1),
                        op.periodic,
                        axis.weights.copy(),
                        op.lift,
                    )
                )
            return tuple(out)

        return self.shared.get("grid_symmetric_axis_operators", make)

    def _reasons(self) -> tuple[tuple[str | None, float], ...]:
        """Per axis why its eigenvectors are refused (None: fine) and a rank of its advection."""
        out = []
        for axis, op in zip(self.grid.axes, self.axis_operators, strict=True):
            w, why = similarity_weights(op, axis)
            if w is None:
                out.append((why, math.inf))
                continue
            rel = w / np.asarray(axis.weights, dtype=float)
            out.append((None, math.sqrt(float(np.max(rel) / np.min(rel)))))
        return tuple(out)

    def _obstacle(self) -> tuple[str | None, int | None]:
        """``(why fastdiag refuses, None)`` or ``(None, t)``: t tridiagonal (None: none needed)."""
        reasons = self.shared.get("axis_reasons", self._reasons)
        if all(why is None for why, _ in reasons):
            return None, None
        t = max(range(len(reasons)), key=lambda i: reasons[i][1])  # the most advective
        for i, (why, _) in enumerate(reasons):
            if i != t and why is not None:
                return (
                    f"{why}, and another axis needs the tridiagonal solve already (fastdiag "
                    "solves one axis tridiagonally, the most advective, and diagonalises the "
                    "others through their eigenvectors)",
                    None,
                )
        if not any(
            isinstance(bc, (Dirichlet, Robin))
            for a in self.grid.axes
            for bc in (a.lower_bc, a.upper_bc)
        ):
            return (
                f"{reasons[t][0]}, and without a Dirichlet or Robin face the tridiagonal solve "
                "along it has no known null vector",
                None,
            )
        return None, t

    def fast_solve_obstacle(self) -> str | None:
        """Why neither eigenvectors nor a tridiagonal axis solve ``A`` stably (None: they do)."""
        why, _ = self.shared.get("obstacle", self._obstacle)
        if why is None:
            return None
        return f"{why}; use method 'direct' (sparse LU)"

    def eigen_structure(self) -> EigenStructure | None:
        """Return the Kronecker sum itself, where every similarity exists (else None)."""
        if any(why is not None for why, _ in self.shared.get("axis_reasons", self._reasons)):
            return None
        return EigenStructure(self.axis_operators, None, 1.0)

    def partial_structure(self) -> PartialStructure | None:
        """Return the most advective axis tridiagonal, the others by eigenvectors (or None).

        Where one axis' operator has no stable similarity (a cell Péclet number
        ``>= 2``, or eigenvectors conditioned beyond :data:`CONDITION_LIMIT`),
        its non-symmetric tridiagonal systems are solved per mode (a pivoting
        solve where they are not diagonally dominant) and the other axes'
        eigenvalues, real by their similarities, shift each mode's diagonal.
        """
        why, t = self.shared.get("obstacle", self._obstacle)
        if why is not None or t is None:
            return None
        ops = self.axis_operators
        op_t = ops[t]
        d = self.grid.dimension
        return PartialStructure(
            axis=t,
            operators=tuple(None if i == t else op for i, op in enumerate(ops)),
            coupling=(None,) * d,
            lower=np.array(op_t.lower, dtype=float),
            diag=np.array(op_t.diag, dtype=float),
            upper=np.array(op_t.upper, dtype=float),
            periodic=op_t.periodic,
            t_weights=np.array(self.grid.axes[t].weights, dtype=float),
            rhs_weights=(None,) * d,
            axes=(None,) * d,
            note=f"Non-divergence form: axis {axis_name(t)} (the most advective) tridiagonal.",
        )

    def reference_structure(self) -> EigenStructure | None:
        """None: CG-type methods do not take a non-symmetric operator."""
        return None

    def smallest_eigenvalue(self, singular: bool) -> Bound | None:
        """None: no certified bound for a non-symmetric operator."""
        return None

    def couplings_nonpositive(self) -> bool:
        """Whether every off-diagonal entry is ``<= 0``."""
        return super().couplings_nonpositive()

