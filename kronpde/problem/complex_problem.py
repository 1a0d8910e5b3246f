"""A complex problem: a complex shift, source or boundary value (issue 28 item 4).

The operator ``A + c I`` with ``c = c_r + i c_i`` is the real problem's
``A + c_r I`` plus ``i c_i I``; the right-hand side is linear in the source and
the boundary values, so ``b = b(Re data) + i b(Im data)``.  A
:class:`ComplexProblem` holds the two real problems (the same operator, shift
``c_r``) and puts them together; the complex methods are in
:mod:`kronpde.solvers.complex_solve`.  ``docs/separable-operators.md`` has the rest.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp

from kronpde.errors import DataError
from kronpde.expr.expression import Expression, as_expression
from kronpde.geometry.boundary import data_error
from kronpde.geometry.grid import Grid
from kronpde.problem.complex_data import is_complex_data
from kronpde.problem.problem import Problem

SHIFT, ORDER, DOMAIN = "shift", "order", "domain"  # the subjects of its errors

__all__ = ["ComplexProblem", "complex_shift", "is_complex_data", "make_problem", "split_value"]


def complex_shift(shift: object, dimension: int) -> complex:
    """Return a complex problem's shift as a complex number (a constant: number or expression)."""
    if isinstance(shift, (str, Expression)):
        try:
            shift = as_expression(shift, dimension=dimension).value
        except DataError as exc:
            msg = str(exc)
            raise data_error(SHIFT, msg) from None
        if shift is None:
            msg = "a complex problem's shift must be a constant (a number such as 1 - 0.5j)"
            raise data_error(SHIFT, msg)
    try:
        c = complex(shift)
    except (TypeError, ValueError):
        msg = f"must be a real or complex number, got {shift!r}"
        raise data_error(SHIFT, msg) from None
    if not np.isfinite(c):
        msg = f"must be finite, got {c!r}"
        raise data_error(SHIFT, msg)
    return c


def _real_expression(shift: object, dimension: int) -> bool:
    """Say whether ``shift`` is a real expression of the coordinates (not a constant)."""
    if not isinstance(shift, (str, Expression)):
        return False
    expr = as_expression(shift, dimension=dimension)
    return not expr.is_complex and not expr.is_constant


def _complex_shift_values(shift: object, grid: Grid) -> tuple[complex, np.ndarray | None]:
    """Return a constant shift and None, or a complex ``c(x)``'s mean and its values (flat)."""
    if isinstance(shift, (str, Expression)):
        expr = as_expression(shift, dimension=grid.dimension)
        if expr.is_complex and not expr.is_constant:
            try:
                values = expr.evaluate(grid.unknown_coordinates())
            except DataError as exc:
                raise data_error(SHIFT, exc.detail) from None
            values = np.broadcast_to(values, grid.shape).astype(complex).reshape(-1)
            return complex(np.mean(values)), values
    return complex_shift(shift, grid.dimension), None


def _part(f: Callable[..., Any], take: Callable[[Any], Any]) -> Callable[..., np.ndarray]:
    def part(*coords: Any) -> np.ndarray:
        return np.asarray(take(f(*coords)), dtype=float)

    return part


def split_value(value: object, dimension: int) -> tuple[object, object]:
    """Return the real and imaginary parts of a datum (number, expression, array, callable)."""
    if isinstance(value, (str, Expression)):
        value = as_expression(value, dimension=dimension)
        if not value.is_complex:
            return value, 0.0
        if value.value is not None:
            return value.value.real, value.value.imag
        expr = value
        return (
            _part(lambda *x: expr.evaluate(x), np.real),
            _part(lambda *x: expr.evaluate(x), np.imag),
        )
    if isinstance(value, (complex, np.complexfloating)):
        return float(value.real), float(value.imag)
    if isinstance(value, np.ndarray) and np.iscomplexobj(value):
        return np.ascontiguousarray(value.real), np.ascontiguousarray(value.imag)
    if callable(value):
        return _part(value, np.real), _part(value, np.imag)
    return value, 0.0


def _split_condition(bc: object, dimension: int) -> tuple[object, object]:
    if not hasattr(bc, "value"):  # periodic
        return bc, bc
    re, im = split_value(bc.value, dimension)
    return dataclasses.replace(bc, value=re), dataclasses.replace(bc, value=im)


def _split_grid(grid: Grid) -> tuple[Grid, Grid]:
    pairs = []
    for a in grid.axes:
        lo = _split_condition(a.lower_bc, grid.dimension)
        hi = _split_condition(a.upper_bc, grid.dimension)
        pairs.append(
            (
                dataclasses.replace(a, lower_bc=lo[0], upper_bc=hi[0]),
                dataclasses.replace(a, lower_bc=lo[1], upper_bc=hi[1]),
            )
        )
    return grid.with_axes([p[0] for p in pairs]), grid.with_axes([p[1] for p in pairs])


class ComplexProblem:
    """``-div(k grad u) + c u = f`` with a complex ``c``, ``f`` or boundary value.

    Parameters
    ----------
    grid : Grid
        Axes and boundary conditions (face values may be complex).
    source : number, str, callable or ndarray
        ``f``, possibly complex (``"sin(pi*x) + 2j"``, a complex array).
    shift : number or str
        ``c``: a real or complex constant (``1 - 0.5j``), a real expression
        (as :class:`~kronpde.Problem` takes it), or a complex expression
        ``c(x)`` (``"-25 - 4j*x**2"``: a damping layer), which joins the
        operator's diagonal (``direct`` and ``fastdiag-cg``, whose fast
        inverse takes the mean of ``c``).
    coefficient : optional
        ``k`` as for :class:`~kronpde.Problem` (real).
    **options
        ``order`` (2 only), ``check``, ``second``, ``first`` as for
        :class:`~kronpde.Problem`.

    Attributes
    ----------
    real, imag : Problem
        The real problems of the real and imaginary data, both with the shift
        ``Re c`` (so the same operator).
    shift : complex
    """

    is_complex = True

    def __init__(
        self,
        grid: Grid,
        source: object = 0.0,
        shift: object = 0.0,
        coefficient: object = 1.0,
        **options: Any,
    ):
        if options.get("order", 2) != 2:
            msg = "a complex problem is solved at order 2 only"
            raise data_error(ORDER, msg)
        if options.get("domain") is not None:
            msg = "a complex problem is solved on the whole box only"
            raise data_error(DOMAIN, msg)
        d = grid.dimension
        self.grid = grid
        self.shift_field: np.ndarray | None = None  # a complex c(x) at the unknowns (flat)
        real_shift: object = shift
        if _real_expression(shift, d):  # a real c(x): the real problems take it as it is
            self.shift = 0j
        else:
            self.shift, self.shift_field = _complex_shift_values(shift, grid)
            real_shift = 0.0 if self.shift_field is not None else self.shift.real
        grids = _split_grid(grid)
        parts = split_value(source, d)
        self.real = Problem(grids[0], parts[0], real_shift, coefficient, **options)
        self.imag = Problem(grids[1], parts[1], real_shift, coefficient, **options)
        if _real_expression(shift, d):
            self.shift = complex(self.real.shift)

    def __getattr__(self, name: str) -> Any:
        """Read what does not depend on the data's imaginary parts from :attr:`real`.

        The grid, the discretisation's structure, sizes and memory estimates;
        never the right-hand side or a solve (those are this class's own).
        """
        if name in ("real", "imag") or name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.real, name)

    def with_shift(self, shift: object) -> ComplexProblem:
        """Return the same problem with another (real or complex) constant shift."""
        c = complex_shift(shift, self.grid.dimension)
        new = object.__new__(ComplexProblem)
        new.grid, new.shift, new.shift_field = self.grid, c, None
        new.real = self.real.with_shift(c.real)
        new.imag = self.imag.with_shift(c.real)
        return new

    @property
    def size(self) -> int:
        """The number of unknowns."""
        return self.real.size

    @property
    def singular(self) -> bool:
        """True when ``c = 0`` and the real operator has a null space."""
        return self.shift.imag == 0.0 and self.real.singular

    def mass(self) -> np.ndarray:
        """Return the diagonal ``M`` by which the shift enters the operator (``A + c M``), flat."""
        one = self.real.with_shift(self.real.shift + 1.0).operator()
        return np.asarray((one - self.real.operator()).diagonal())

    def operator(self) -> sp.csr_array:
        """Return the complex matrix ``A + c M`` (unsymmetrised, as :meth:`Problem.operator`)."""
        a = self.real.operator().astype(complex)
        if self.shift_field is not None:  # the real problems are at c = 0: add c(x) M
            a = a + sp.diags_array(self.shift_field * self.mass()).tocsr()
        elif self.shift.imag:
            a = a + sp.diags_array(1j * self.shift.imag * self.mass()).tocsr()
        return sp.csr_array(a)

    def rhs(self) -> np.ndarray:
        """``b`` of the complex system, flat complex128."""
        return self.real.rhs().reshape(-1) + 1j * self.imag.rhs().reshape(-1)

    def to_nodes(self, x: np.ndarray) -> np.ndarray:
        """Return the complex field at every point (Dirichlet values included) of unknowns ``x``."""
        x = np.asarray(x)
        return self.real.to_nodes(np.ascontiguousarray(x.real)) + 1j * self.imag.to_nodes(
            np.ascontiguousarray(x.imag)
        )

    def relative_residual(self, x: np.ndarray, b: np.ndarray | None = None) -> float:
        """``||b - A x|| / ||b||`` of the complex system."""
        b = self.rhs() if b is None else np.asarray(b).reshape(-1)
        r = b - self.operator() @ np.asarray(x).reshape(-1)
        nb = float(np.linalg.norm(b))
        return float(np.linalg.norm(r)) / nb if nb > 0 else float(np.linalg.norm(r))

    def __repr__(self) -> str:
        """Return a one-line summary."""
        return f"ComplexProblem(cells={self.grid.cells}, shift={self.shift!r})"


def make_problem(grid: Grid, source: object, shift: object, coefficient: object, **kw: Any) -> Any:
    """Return a :class:`ComplexProblem` when any datum is complex, else a :class:`Problem`."""
    if is_complex_data(grid, source, shift):
        return ComplexProblem(grid, source, shift, coefficient, **kw)
    return Problem(grid, source, shift, coefficient, **kw)
