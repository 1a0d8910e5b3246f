"""Anisotropic diffusion ``-Σ_i ∂_i(k_i ∂_i u)``: one coefficient per axis.

:class:`AxisCoefficients` holds the entries (numbers, expressions, callables,
arrays), :class:`AnisotropicData` the problem's data with one
:class:`~kronpde.problem.data.ProblemData` per axis (axis ``i``'s fluxes read
``k_i`` only), and :func:`make_data` chooses between it and the isotropic data.
Where each ``k_i`` is a number or an expression of its own axis,
:class:`~kronpde.problem.separable.SeparableSum` is the exact Kronecker sum;
otherwise the flux form applies.  ``docs/separable-operators.md``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from kronpde._checks import is_real
from kronpde.expr.expression import Expression
from kronpde.geometry.axis import axis_name
from kronpde.geometry.boundary import BoundaryData, data_error
from kronpde.geometry.grid import Grid
from kronpde.problem.data import Merge, ProblemData, check_grid, check_shift
from kronpde.problem.nondivergence import NonDivergenceData
from kronpde.problem.shift_parts import split_shift

__all__ = [
    "AnisotropicData",
    "AxisCoefficients",
    "equation_data",
    "make_data",
    "per_axis_entries",
]


@dataclass(frozen=True)
class AxisCoefficients:
    """``k_i`` per axis (checked): numbers, expressions, callables or point arrays.

    Attributes
    ----------
    entries : tuple
        ``k_0, k_1, ...`` in axis order.
    names : tuple of str
        The axes' names (``x``, ``y``, ``z``).
    """

    entries: tuple
    names: tuple[str, ...]

    def __iter__(self):  # noqa: ANN204
        """Iterate over the entries in axis order."""
        return iter(self.entries)

    def __len__(self) -> int:
        """Return the number of axes."""
        return len(self.entries)

    @property
    def text(self) -> str:
        """The table as a case file writes it: ``{ x = "1 + x", y = 2 }``."""
        parts = []
        for name, k in zip(self.names, self.entries, strict=True):
            if isinstance(k, Expression):
                shown = f'"{k.text}"'
            elif isinstance(k, float):
                shown = f"{k:g}"
            else:
                shown = "array" if isinstance(k, np.ndarray) else "callable"
            parts.append(f"{name} = {shown}")
        return "{ " + ", ".join(parts) + " }"

    def __format__(self, spec: str) -> str:
        """Return :attr:`text` (whatever the format: a summary writes ``f"{k:g}"``)."""
        return self.text

    @property
    def separable(self) -> bool:
        """Whether each ``k_i`` is a number or an expression of axis ``i`` alone."""
        for name, k in zip(self.names, self.entries, strict=True):
            if isinstance(k, float):
                continue
            if not isinstance(k, Expression) or not k.names_used <= {name}:
                return False
        return True


def per_axis_entries(coefficient: object, grid: Grid) -> tuple | None:
    """Return the per-axis entries of ``coefficient`` in axis order, or None if it is isotropic.

    Per axis: a mapping from axis names (``{"x": ..., "y": ...}``), an
    :class:`AxisCoefficients`, or a list or tuple of one entry per axis (each
    a number, a string, an expression, a callable or an array).

    Raises
    ------
    DataError
        ``coefficient.<name>`` for a name that is not one of the grid's axes or
        an axis without an entry.
    """
    d = grid.dimension
    names = [axis_name(i) for i in range(d)]
    if isinstance(coefficient, AxisCoefficients):
        return tuple(coefficient.entries)
    if isinstance(coefficient, Mapping):
        for key in coefficient:
            if key not in names:
                subject = f"coefficient.{key}"
                raise data_error(
                    subject, f"the {d}-D grid has no axis {key!r} (its axes: {', '.join(names)})"
                )
        for name in names:
            if name not in coefficient:
                subject = f"coefficient.{name}"
                raise data_error(
                    subject,
                    f"missing: a per-axis coefficient gives every axis ({', '.join(names)})",
                )
        return tuple(coefficient[name] for name in names)
    if isinstance(coefficient, (list, tuple)) and len(coefficient) == d:
        simple = (str, Expression, np.ndarray)
        if all(is_real(k) or isinstance(k, simple) or callable(k) for k in coefficient):
            return tuple(coefficient)
    return None


class AnisotropicData(ProblemData):
    """:class:`ProblemData` with one ``k_i`` per axis: ``parts[i]`` holds axis ``i``'s.

    The values the flux form reads come per axis (:meth:`flux_inputs`,
    :meth:`box_inputs`); :attr:`k_nodes` is the geometric mean of the
    ``k_i`` (a preconditioner's scaling); :meth:`coefficient_range` spans every
    ``k_i`` where its fluxes use it.
    """

    def __init__(self, grid: Grid, source: BoundaryData, entries: Sequence, *, check: bool = True):
        self.grid = check_grid(grid)
        self.source = self._check_source(source)
        parts = []
        for i, entry in enumerate(entries):
            part = object.__new__(ProblemData)
            part.subject = f"coefficient.{axis_name(i)}"
            part.grid = self.grid
            part.source = 0.0
            part.coefficient = part._check_coefficient(entry, check)
            part._k_nodes = None
            part._k_faces = None
            parts.append(part)
        self.parts = tuple(parts)
        names = tuple(axis_name(i) for i in range(self.grid.dimension))
        self.coefficient = AxisCoefficients(tuple(p.coefficient for p in parts), names)
        self.axis_shift: tuple[np.ndarray, ...] | None = None  # c_i(x_i), a separable c(x)
        self._k_nodes = None
        self._k_faces = None

    @property
    def separable(self) -> bool:
        """Whether each ``k_i`` is a number or an expression of its own axis."""
        return self.coefficient.separable

    @property
    def k_nodes(self) -> np.ndarray:
        """The geometric mean of the ``k_i`` at every point (evaluated and checked once)."""
        if self._k_nodes is None:
            logs = [np.log(p.coefficient_values()) for p in self.parts]
            self._k_nodes = np.exp(sum(logs) / len(logs))
        return self._k_nodes

    @property
    def k_faces(self) -> dict[tuple[int, int], np.ndarray]:
        """``k_i`` on the boundary faces of the cell-centred axes ``i``."""
        if self._k_faces is None:
            self._k_faces = {
                key: v
                for i, p in enumerate(self.parts)
                for key, v in p.k_faces.items()
                if key[0] == i
            }
        return self._k_faces

    @property
    def k_edges(self) -> tuple[np.ndarray | None, ...]:
        """Per axis ``i``, ``k_i`` at the faces its fluxes cross (a formula's), else None."""
        return tuple(p.k_edges[i] for i, p in enumerate(self.parts))

    def coefficient_on(self, nodes, owned, merge) -> np.ndarray:  # noqa: ANN001
        """Return the geometric mean of the ``k_i`` on ``nodes`` (each checked as its entry)."""
        logs = [np.log(p.coefficient_on(nodes, owned, merge)) for p in self.parts]
        return np.exp(sum(logs) / len(logs))

    def flux_inputs(self) -> tuple[object, dict, tuple]:
        """Return ``(k per axis, face_k, edge_k)`` of the flux form's ``VariableDiffusion``."""
        k = tuple(p.coefficient_values() for p in self.parts)
        return k, self.k_faces, self.k_edges

    def box_inputs(
        self,
        lo: tuple[int, ...],
        hi: tuple[int, ...],
        points: tuple[np.ndarray, ...],
        owned: tuple[slice, ...],
        merge: Merge | None,
    ) -> tuple[object, dict, tuple]:
        """``(k per axis, face_k, edge_k)`` of one box's rows."""
        k, faces, edges = [], {}, []
        for i, p in enumerate(self.parts):
            ki, fi, ei = ProblemData.box_inputs(p, lo, hi, points, owned, merge)
            k.append(ki)
            faces.update({key: v for key, v in fi.items() if key[0] == i})
            edges.append(ei[i])
        return tuple(k), faces, tuple(edges)

    def coefficient_range(self) -> tuple[float, float]:
        """``(k_min, k_max)`` over every ``k_i`` where axis ``i``'s fluxes use it."""
        lows, highs = [], []
        for i, p in enumerate(self.parts):
            values = [p.coefficient_values()]
            values += [v for key, v in p.k_faces.items() if key[0] == i]
            if p.k_edges[i] is not None:
                values.append(p.k_edges[i])
            lows += [float(np.min(v)) for v in values]
            highs += [float(np.max(v)) for v in values]
        return min(lows), max(highs)

    def check_faces(self) -> None:
        """Evaluate the data of every face once."""
        ProblemData.check_faces(self)


def make_data(
    grid: Grid,
    source: BoundaryData,
    coefficient: object,
    *,
    check: bool = True,
    second: object = None,
    first: object = None,
    shift_parts: tuple[np.ndarray, ...] | None = None,
) -> ProblemData:
    """Return the data of a problem: isotropic, anisotropic or the non-divergence form's.

    :class:`AnisotropicData` for per-axis ``k``; ``second``/``first``:
    :class:`~kronpde.problem.nondivergence.NonDivergenceData`.  A per-axis
    coefficient whose entries are all the same number is isotropic.

    Raises
    ------
    DataError
        As :class:`ProblemData`; an entry's error names it (``coefficient.x``);
        ``second`` given with a coefficient other than 1 (``"second"``), or
        ``first`` without ``second`` (``"first"``).
    """
    grid = check_grid(grid)
    if second is not None or first is not None:
        if second is None:
            subject = "first"
            raise data_error(subject, "needs second (the coefficients of u'' per axis)")
        if not (is_real(coefficient) and float(coefficient) == 1.0):
            subject = "second"
            raise data_error(
                subject,
                "coefficient and second both given: the non-divergence form "
                "-sum_i (a_i u_ii + b_i u_i) has no k (put k into second and first)",
            )
        data = NonDivergenceData(grid, source, second, first, check=check)
        data.axis_shift = shift_parts
        return data
    entries = per_axis_entries(coefficient, grid)
    if shift_parts is not None:  # c_i(x_i) joins T_i where each k_i is of its own axis
        data = AnisotropicData(
            grid, source, entries or (coefficient,) * grid.dimension, check=check
        )
        if data.separable:
            data.axis_shift = shift_parts
            return data
        # not separable: the whole c(x) joins the flux form's diagonal
        data = make_data(grid, source, coefficient, check=check)
        field = np.zeros(grid.point_shape)
        for i, part in enumerate(shift_parts):
            shape = [1] * grid.dimension
            shape[i] = part.size
            field = field + np.asarray(part).reshape(shape)
        data.shift_field = field
        return data
    if entries is None:
        return ProblemData(grid, source, coefficient, check=check)
    if (
        all(is_real(k) and not isinstance(k, bool) for k in entries)
        and len({float(k) for k in entries}) == 1
    ):
        return ProblemData(grid, source, float(entries[0]), check=check)
    return AnisotropicData(grid, source, entries, check=check)


def equation_data(
    grid: Grid,
    source: BoundaryData,
    shift: object,
    coefficient: object,
    *,
    check: bool = True,
    second: object = None,
    first: object = None,
) -> tuple[ProblemData, float]:
    """Return a problem's data and its constant shift, as :class:`~kronpde.Problem` takes them.

    A shift expression ``c(x)`` is split (:func:`~kronpde.problem.shift_parts.split_shift`):
    a sum of functions of one axis each joins the 1-D operators (``axis_shift``), any
    other joins the flux form's diagonal (``shift_field``); the constant part is returned.
    """
    parts, field, text = None, None, None
    if isinstance(shift, (str, Expression)):  # c(x): separable parts, or values (flux form)
        text = shift.text if isinstance(shift, Expression) else str(shift)
        shift, parts, field = split_shift(shift, grid)
    shift = check_shift(shift)
    # per-axis k: anisotropic; second/first: the non-divergence form
    data = make_data(
        grid, source, coefficient, check=check, second=second, first=first, shift_parts=parts
    )
    if field is not None:  # any other c(x): the flux form's diagonal
        if getattr(data, "nondivergence", False):
            subject = "shift"
            raise data_error(
                subject, "the non-divergence form takes a sum of functions of one axis each"
            )
        data.shift_field = field
    if parts is not None or field is not None:
        data.shift_text = text
    return data, shift
