"""Case files: TOML in, a :class:`Case` (a :class:`~kronpde.Problem` plus settings) out.

The format is fixed by ``case-format.md``.  The reader checks the *file*:
unknown tables and keys (the message suggests the closest valid name), the
TOML types of the values (numbers where numbers are meant, booleans never
count as numbers, arrays of the right length), and then hands the values to
the model, which does its own validation: :class:`~kronpde.Grid` (cells,
bounds, node coordinates, periodic pairs, faces), the conditions, and
:class:`~kronpde.Problem` (source, shift, coefficient; every expression
evaluated once, where it is used).  A model error carries the argument it is
about (``subject``); the reader turns it into one :class:`~kronpde.errors.CaseError`
naming the file and the key, e.g.
``case.toml: [grid] cells: must be positive integers, got [0, 8]``.

What the reader does not do: it knows no solver (the command line checks
``[solver] method`` against :data:`kronpde.solvers.METHODS`), evaluates no
output field (``[exact] u`` and ``f`` on the nodes are evaluated by
:mod:`kronpde.app.fields` for the output), and writes nothing.

:func:`load_case` reads a file into a :class:`Case`; the checks of the file's values are
:mod:`kronpde.io.case_values`', the reading of each table :mod:`kronpde.io.case_tables`'.
What the reader accepts beyond the contract: ``docs/case-files.md``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from kronpde.errors import CaseError, DataError, GridError
from kronpde.expr.expression import Expression
from kronpde.geometry.grid import Grid
from kronpde.io.case_curvilinear import CurvilinearReader
from kronpde.io.case_geometry import read_embedded, read_geometry
from kronpde.io.case_values import (
    CONDITION_KEYS,
    FIELDS,
    TABLES,
    case_model_error,
    check_extension,
    suggest,
)
from kronpde.problem.complex_problem import make_problem
from kronpde.problem.problem import Problem
from kronpde.problem.settings import SolverSettings

__all__ = [
    "CONDITION_KEYS",
    "FIELDS",
    "TABLES",
    "Case",
    "check_extension",
    "load_case",
    "suggest",
]


@dataclass(frozen=True, eq=False)
class Case:
    """A case file read: the problem, how to solve it, where to write it.

    Attributes
    ----------
    path : Path
        The case file, as given.
    problem : Problem
        Grid, boundary conditions, source, shift and coefficient (checked:
        every expression was evaluated once where it is used).
    solver : SolverSettings
        ``[solver]``: method (not yet checked against the solvers' names),
        ``rtol``, ``maxiter``.
    output : Path or None
        ``[output] file`` resolved against the case file's folder; None when
        the file names none.
    fields : tuple of str
        Fields to write besides ``u_exact`` and ``error``: ``("u",)`` or ``("u", "f")``.
    exact : Expression or None
        ``[exact] u`` (parsed for the grid's dimension, not yet evaluated).
    origins : mapping
        Face name -> the key of ``[boundary]`` its condition came from (for
        :meth:`model_error`).
    """

    path: Path
    problem: Problem
    solver: SolverSettings
    output: Path | None
    fields: tuple[str, ...]
    exact: Expression | None
    origins: Mapping[str, str] = field(default_factory=dict, repr=False)
    file: str | None = field(default=None, repr=False)

    def model_error(self, exc: GridError | DataError) -> CaseError:
        """Return the model's error about one of its arguments as one about a key of the file.

        What :func:`load_case` raises for the same error: for data evaluated
        later than the reading (``load_case(..., check=False)``, where each
        rank of a distributed solve evaluates its own part).

        Parameters
        ----------
        exc : GridError or DataError
            The model's error (its ``subject`` names the argument).

        Returns
        -------
        CaseError
            Naming the file and the key, e.g. ``[equation] coefficient``.
        """
        return case_model_error(self.file or str(self.path), self.origins, exc)

    @property
    def grid(self) -> Grid:
        """The problem's grid."""
        return self.problem.grid

    @property
    def dimension(self) -> int:
        """1, 2 or 3."""
        return self.grid.dimension

    @property
    def cells(self) -> tuple[int, ...]:
        """``[grid] cells``."""
        return self.grid.cells

    @property
    def lower(self) -> tuple[float, ...]:
        """The lower bound of every axis."""
        return tuple(a.lower for a in self.grid.axes)

    @property
    def upper(self) -> tuple[float, ...]:
        """The upper bound of every axis."""
        return tuple(a.upper for a in self.grid.axes)

    @property
    def method(self) -> str:
        """``[solver] method`` (default ``"auto"``)."""
        return self.solver.method

    @property
    def rtol(self) -> float | str:
        """``[solver] rtol``: a number, or ``"auto"`` (the default)."""
        return self.solver.rtol

    @property
    def maxiter(self) -> int | None:
        """``[solver] maxiter`` (None: the solver's default)."""
        return self.solver.maxiter

    def refined(self, factor: int) -> Case:
        """Return the same case on the grid with ``factor`` times the cells per axis."""
        if factor == 1:
            return self
        return Case(
            self.path,
            self.problem.refined(factor),
            self.solver,
            self.output,
            self.fields,
            self.exact,
            self.origins,
            self.file,
        )


# --------------------------------------------------------------------------- reading


def load_case(path: str | os.PathLike[str], *, check: bool = True) -> Case:
    """Read a case file.

    Parameters
    ----------
    path : str or path-like
        The TOML file.  ``[output] file`` is resolved against its folder.
    check : bool, optional
        Evaluate every expression of the equation and the faces now (default);
        with False the problem evaluates them where they are used
        (``Problem(..., check=False)``: under ``--backend petsc`` each rank
        evaluates its own box), and :meth:`Case.model_error` names the key of
        an error found then.

    Returns
    -------
    Case

    Raises
    ------
    CaseError
        If the file cannot be read, is not TOML, or any table or key is
        missing, unknown, of the wrong type or out of range, an expression is
        not allowed or not finite on the nodes where it is used, or the grid
        and boundary conditions do not fit together.  The message names the
        file and the key.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> text = '''
    ... [grid]
    ... cells = [8, 8]
    ... [equation]
    ... source = "2*pi**2*sin(pi*x)*sin(pi*y)"
    ... [boundary]
    ... default = { type = "dirichlet", value = 0 }
    ... '''
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     file = pathlib.Path(tmp) / "case.toml"
    ...     _ = file.write_text(text)
    ...     case = load_case(file)
    >>> case.dimension, case.problem.size, case.method, case.output
    (2, 49, 'auto', None)
    """
    return _Reader(path, check).read()


class _Reader(CurvilinearReader):
    """The case reader: every table, then the model."""

    def read(self) -> Case:
        data = self.parse_file()
        self.check_keys(data)
        grid_table = self.table(data, "grid")
        cells = self.read_cells(grid_table)
        dimension = len(cells)
        self.read_coordinates(grid_table, dimension)  # None: Cartesian (curvilinear.md)
        lower, upper = self.read_bounds(grid_table, dimension)
        nodes = self.read_nodes(grid_table, cells, lower, upper)
        centering = self.read_centering(grid_table, dimension)
        equation = self.table(data, "equation", required=True)
        source = self.data_value(equation, "source", "[equation] source", dimension)
        shift = self.shift_value(equation, dimension)
        coefficient = self.coefficient(equation)
        second, first = self.separable_form(equation)
        boundary = self.read_boundary(data.get("boundary"), dimension)
        domain = read_geometry(self, data, dimension)
        embedded = read_embedded(self, data.get("boundary"), domain, dimension)
        order = self.read_scheme(data.get("scheme"))
        solver = self.read_solver(data.get("solver"))
        output, fields = self.read_output(data.get("output"))
        self.check_output(output)
        exact = None
        if "exact" in data:
            table = self.table(data, "exact", required=True)
            exact = self.expression("[exact] u", table.get("u"), dimension)
        try:
            grid = self.make_grid(cells, lower, upper, boundary, nodes, centering)
            problem = make_problem(  # a ComplexProblem where a datum is complex
                grid,
                source,
                shift=shift,
                coefficient=coefficient,
                order=order,
                check=self.check,
                domain=domain,
                embedded=embedded,
                second=second,
                first=first,
            )
        except (GridError, DataError) as exc:
            raise self.model_error(exc) from None
        return Case(
            self.path, problem, solver, output, fields, exact, dict(self.origins), self.file
        )
