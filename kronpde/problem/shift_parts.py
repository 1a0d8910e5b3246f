"""A shift ``c(x)`` that is a sum of functions of one axis each: ``c = c_0(x_0) + c_1(x_1) + ...``.

Such a ``c`` belongs to the 1-D operators (``T_i + diag(c_i)``), so the
operator stays a Kronecker sum and the fast solve exact.  :func:`split_shift`
finds the parts from the values on the grid's points (checked to rounding:
``c(x) = Σ_i c(x_i, p_{-i}) - (d - 1) c(p)``, ``p`` the first point).
``docs/separable-operators.md``.
"""

from __future__ import annotations

import numpy as np

from kronpde.expr.expression import Expression
from kronpde.geometry.boundary import DataSurvey, check_data, data_error, evaluate_data
from kronpde.geometry.grid import Grid

__all__ = ["split_shift"]


def split_shift(shift: object, grid: Grid) -> tuple[float, tuple[np.ndarray, ...] | None]:
    """Return ``(c, None)`` for a constant shift, or ``(0, parts)`` for a separable ``c(x)``.

    ``parts[i]`` holds ``c_i`` at every point of axis ``i`` (``c_0`` carries
    the constant).

    Raises
    ------
    DataError
        ``"shift"``: not finite somewhere, or not a sum of functions of one axis each.
    """
    subject = "shift"
    c = check_data(shift, subject, dimension=grid.dimension)
    if not isinstance(c, Expression):
        return c, None
    if c.is_constant:
        return float(c.value), None
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
        raise data_error(
            subject,
            f"{c.text!r} is not a sum of functions of one axis each (e.g. \"x + y**2\"); "
            "such a shift keeps the operator separable (other shifts are not supported yet)",
        )
    return 0.0, tuple(parts)
