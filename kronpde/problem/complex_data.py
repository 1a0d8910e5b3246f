"""Whether a problem's data are complex (an imaginary literal, a complex number or array).

:class:`~kronpde.Problem` refuses complex data with :func:`complex_data_error`,
naming :class:`~kronpde.problem.complex_problem.ComplexProblem`, which takes them.
"""

from __future__ import annotations

import numpy as np

from kronpde.errors import DataError
from kronpde.expr.expression import Expression, as_expression
from kronpde.geometry.boundary import data_error
from kronpde.geometry.grid import Grid

__all__ = ["complex_data_error", "is_complex_data", "is_complex_value", "reject_complex"]


def is_complex_value(value: object, dimension: int) -> bool:
    """Say whether one datum is complex (a complex number, array, or expression with ``2j``)."""
    if isinstance(value, (complex, np.complexfloating)):
        return True
    if isinstance(value, str):
        try:
            value = as_expression(value, dimension=dimension)
        except DataError:
            return False  # the real problem's checks report it
    if isinstance(value, Expression):
        return value.is_complex
    if isinstance(value, np.ndarray):
        return np.iscomplexobj(value)
    return False


def is_complex_data(grid: Grid, source: object, shift: object) -> bool:
    """Say whether the shift, the source or a face's value is complex."""
    d = grid.dimension
    faces = [bc for a in grid.axes for bc in (a.lower_bc, a.upper_bc)]
    values = [source, shift] + [getattr(bc, "value", 0.0) for bc in faces]
    return any(is_complex_value(v, d) for v in values)


def complex_data_error(grid: Grid, source: object, shift: object) -> DataError:
    """Return the error of a real :class:`~kronpde.Problem` given complex data (its subject)."""
    d = grid.dimension
    subject = "shift" if is_complex_value(shift, d) else "source"
    if subject == "source" and not is_complex_value(source, d):
        subject = "boundary"
    msg = "is complex: a complex problem is a kronpde.ComplexProblem (same arguments)"
    return data_error(subject, msg)


def reject_complex(grid: Grid, source: object, shift: object) -> None:
    """Raise :func:`complex_data_error` where the data are complex (a real Problem's check)."""
    if is_complex_data(grid, source, shift):
        raise complex_data_error(grid, source, shift)
