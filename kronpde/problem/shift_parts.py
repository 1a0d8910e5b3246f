"""A shift ``c(x)``: a sum of functions of one axis each, ``c_0(x_0) + c_1(x_1) + ...``, or not.

A separable ``c`` belongs to the 1-D operators (``T_i + diag(c_i)``), so the
operator stays a Kronecker sum and the fast solve exact; any other ``c(x)``
joins the flux form's diagonal (iterative methods and ``direct``).  :func:`split_shift`
finds the parts from the values on the grid's points (checked to rounding:
``c(x) = Σ_i c(x_i, p_{-i}) - (d - 1) c(p)``, ``p`` the first point).
``docs/separable-operators.md``.
"""

from __future__ import annotations

import numpy as np

from kronpde.expr.expression import Expression
from kronpde.geometry.boundary import DataSurvey, check_data, evaluate_data
from kronpde.geometry.grid import Grid

__all__ = ["shift_argument", "shift_values", "split_shift"]


def split_shift(
    shift: object, grid: Grid
) -> tuple[float, tuple[np.ndarray, ...] | None, np.ndarray | None]:
    """Return the shift's constant, its separable parts, or its values.

    ``(c, None, None)`` for a constant shift, ``(0, parts, None)`` for a
    separable ``c(x)``, ``(0, None, values)`` for any other.
    ``parts[i]`` holds ``c_i`` at every point of axis ``i`` (``c_0`` carries
    the constant); ``values`` holds ``c`` at every point of the field.

    Raises
    ------
    DataError
        ``"shift"``: not finite somewhere.
    """
    subject = "shift"
    curvilinear = getattr(grid, "coordinate_system", None) is not None
    if curvilinear and isinstance(shift, str):  # in the grid's names (r, theta, ...)
        shift = grid.expression(shift)
    c = check_data(shift, subject, dimension=grid.dimension)
    if not isinstance(c, Expression):
        return c, None, None
    if c.is_constant:
        return float(c.value), None, None
    if curvilinear:  # the flux form's diagonal, c at the unknowns only
        return 0.0, None, _unknown_values(c, grid)
    coords = grid.point_coordinates()
    values = evaluate_data(c, coords, grid.point_shape, subject, check=False)
    DataSurvey.of(values).raise_error(
        c, subject, lambda at: [float(x[j]) for x, j in zip(grid.points, at, strict=True)]
    )
    d = grid.dimension
    first = values[(0,) * d]
    parts = []
    for i in range(d):
        index = [0] * d
        index[i] = slice(None)
        line = np.array(values[tuple(index)], dtype=float)
        parts.append(line if i == 0 else line - first)
    total = np.zeros(grid.point_shape)
    for i, part in enumerate(parts):
        shape = [1] * d
        shape[i] = part.size
        total = total + part.reshape(shape)
    scale = float(np.max(np.abs(values)))
    if np.max(np.abs(total - values)) > 1e-12 * max(scale, 1.0) * d:
        return 0.0, None, np.asarray(values, dtype=float)
    return 0.0, tuple(parts), None


def _unknown_values(c: Expression, grid: Grid) -> np.ndarray:
    """``c`` at the unknowns of a curvilinear grid (0 elsewhere: ``1/r²`` is not read at r = 0)."""
    subject = "shift"
    coords = grid.unknown_coordinates()
    values = evaluate_data(c, coords, grid.tensor_shape, subject, check=False)
    DataSurvey.of(values).raise_error(
        c,
        subject,
        lambda at: [
            float(a.points[a.unknown_slice][j]) for a, j in zip(grid.axes, at, strict=True)
        ],
    )
    field = np.zeros(grid.point_shape)
    field[grid.unknown_index] = values
    return field


def shift_values(data: object, shift: float, grid: Grid) -> np.ndarray | float:
    """Return ``c`` at the unknowns (shape ``grid.shape``), or the number ``shift`` if constant."""
    parts = getattr(data, "axis_shift", None)
    field = getattr(data, "shift_field", None)
    if parts is None and field is None:
        return shift
    if field is not None:
        return shift + np.asarray(field)[grid.unknown_index]
    total = np.full(grid.shape, float(shift))
    for i, (axis, part) in enumerate(zip(grid.axes, parts, strict=True)):
        shape = [1] * grid.dimension
        shape[i] = axis.n_unknowns
        total = total + np.asarray(part)[axis.unknown_slice].reshape(shape)
    return total


def shift_argument(problem: object) -> object:
    """Return the ``shift`` that makes ``problem``'s ``c`` on another grid (number or text)."""
    text = getattr(getattr(problem, "data", None), "shift_text", None)
    shift = float(problem.shift)
    if text is None:
        return shift
    return text if shift == 0.0 else f"({text}) + ({shift!r})"
