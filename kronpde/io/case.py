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

Beyond the contract
-------------------
* Scalar parameters (``[grid] lower``/``upper`` entries, ``[equation] shift``
  and ``coefficient``, Robin ``alpha``/``beta``) also accept a *constant*
  expression such as ``"2*pi"``.
* ``[equation] source`` is required (``source = 0`` for Laplace's equation),
  and so is ``value`` of a Dirichlet, Neumann or Robin face.
* ``[output]`` and its ``file`` are optional: without them ``solve`` writes
  nothing (the command line's ``-o`` can still name a file).
* Bounds must lie within ``±1e100`` and the spacing must be at least ``1e-12``
  of the bounds' magnitude (else neighbouring nodes cannot be told apart); a
  grid has at most ``2**33`` nodes (the model's limits, :mod:`kronpde.geometry.grid`).
* ``[equation] coefficient`` may vary in space (an expression in the
  coordinates): it is evaluated at every node of the grid and must be finite
  and ``> 0`` on all of them.
* ``[grid] nodes`` stretches axes: ``nodes.x = [0.0, 0.1, 0.3, ...]`` gives the
  ``cells[0] + 1`` node coordinates of axis x (strictly increasing; they fix
  ``lower`` and ``upper``, which must agree if given), and
  ``nodes.y = { stretch = "tanh", beta = 2.0 }`` names a stretching of
  :func:`kronpde.geometry.grid.stretched_nodes` between ``lower`` and ``upper``.
  Axes not named stay uniform.
* ``[grid] centering`` (the contract's ``"node"``/``"cell"`` or one per axis)
  works with ``nodes``: on a cell-centred axis they are the cell faces.
* ``[scheme] order`` (the contract's optional table) is the integer 2 or 4
  (``Problem(..., order=...)``); order 4 needs a constant coefficient and
  uniform axes, which the model checks (its error names ``[scheme] order``).
"""

from __future__ import annotations

import difflib
import math
import os
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kronpde.errors import CaseError, DataError, GridError
from kronpde.expr.expression import Expression, ExpressionError, parse_expression
from kronpde.geometry.boundary import Condition, Dirichlet, Neumann, Periodic, Robin
from kronpde.geometry.grid import STRETCHINGS, Grid, axis_name, face_name, stretched_nodes
from kronpde.io.vtk import SUPPORTED_EXTENSIONS
from kronpde.problem.problem import Problem
from kronpde.problem.settings import AUTO, SolverSettings, check_maxiter, check_tolerance

__all__ = ["CONDITION_KEYS", "FIELDS", "TABLES", "Case", "check_extension", "load_case"]

#: The tables of a case file and the keys each one takes.
TABLES: dict[str, tuple[str, ...]] = {
    "grid": ("cells", "centering", "lower", "upper", "nodes"),
    "equation": ("source", "shift", "coefficient"),
    "boundary": ("default", "xmin", "xmax", "ymin", "ymax", "zmin", "zmax"),
    "scheme": ("order",),
    "solver": ("method", "rtol", "maxiter"),
    "output": ("file", "fields"),
    "exact": ("u",),
}

#: The keys of a face's table, per condition type.
CONDITION_KEYS: dict[str, tuple[str, ...]] = {
    "dirichlet": ("type", "value"),
    "neumann": ("type", "value"),
    "robin": ("type", "alpha", "beta", "value"),
    "periodic": ("type",),
}

#: Point-data fields that ``[output] fields`` may request (``u`` is always written).
FIELDS = ("u", "f")


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
        return _model_error(self.file or str(self.path), self.origins, exc)

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


def _show(value: Any, limit: int = 60) -> str:
    """Return a value the way TOML writes it, shortened."""

    def fmt(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if isinstance(v, float):
            if math.isnan(v):
                return "nan"
            if math.isinf(v):
                return "inf" if v > 0 else "-inf"
            return repr(v)
        if isinstance(v, list):
            return "[" + ", ".join(fmt(x) for x in v) + "]"
        if isinstance(v, dict):
            items = ", ".join(f"{k} = {fmt(x)}" for k, x in v.items())
            return "{ " + items + " }" if items else "{}"
        return str(v)

    text = fmt(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _kind(value: Any) -> str:
    """Say what a TOML value is, in words."""
    if isinstance(value, bool):
        return f"the boolean {_show(value)}"
    if isinstance(value, str):
        return f"the string {_show(value)}"
    if isinstance(value, (int, float)):
        return f"the number {_show(value)}"
    if isinstance(value, list):
        return f"the array {_show(value)}"
    if isinstance(value, dict):
        return f"the table {_show(value)}"
    return f"the {type(value).__name__} {_show(value)}"


def suggest(name: str, choices: Sequence[str]) -> str:
    """``"did you mean 'x'? "`` for the closest of ``choices``, or ``""``."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    if not close:
        close = [c for c in choices if c.lower() == name.lower()]
    return f"did you mean {close[0]!r}? " if close else ""


def _model_error(file: str, origins: Mapping[str, str], exc: GridError | DataError) -> CaseError:
    """Turn the model's error about one of its arguments into one about a key of the file."""
    subject, detail = exc.subject, exc.detail

    def error(key: str, message: str) -> CaseError:
        return CaseError(message, file=file, key=key)

    if subject in origins:  # a face
        origin = origins[subject]
        if isinstance(exc, DataError):  # its value
            where = f" (on face {subject})" if origin == "default" else ""
            return error(f"[boundary] {origin}.value", detail + where)
        if origin == "default":  # a half-periodic axis: name the face that is written
            other = subject[:-3] + ("max" if subject.endswith("min") else "min")
            origin = origins.get(other, origin)
        return error(f"[boundary] {origin}", detail)
    if subject == "coordinates":
        return error(f"[grid] nodes.{axis_name(exc.axis or 0)}", detail)
    if subject in ("cells", "lower", "upper", "centering"):
        return error(f"[grid] {subject}", detail)
    if subject in ("source", "shift", "coefficient"):
        return error(f"[equation] {subject}", detail)
    if subject == "order":
        return error("[scheme] order", detail)
    return error("[grid]", str(exc))


class _Reader:
    def __init__(self, path: str | os.PathLike[str], check: bool = True):
        self.file = os.fspath(path)
        self.path = Path(path)
        self.check = check
        self.origins: dict[str, str] = {}  # face -> the key its condition came from

    # -- errors ---------------------------------------------------------------------
    def error(self, key: str | None, message: str) -> CaseError:
        return CaseError(message, file=self.file, key=key)

    def model_error(self, exc: GridError | DataError) -> CaseError:
        """Turn the model's error about one of its arguments into one about a key of the file."""
        return _model_error(self.file, self.origins, exc)

    # -- the file -----------------------------------------------------------------
    def read(self) -> Case:
        data = self.parse_file()
        self.check_keys(data)
        grid_table = self.table(data, "grid")
        cells = self.read_cells(grid_table)
        dimension = len(cells)
        lower, upper = self.read_bounds(grid_table, dimension)
        nodes = self.read_nodes(grid_table, cells, lower, upper)
        centering = self.read_centering(grid_table, dimension)
        equation = self.table(data, "equation", required=True)
        source = self.data_value(equation, "source", "[equation] source", dimension)
        shift = self.scalar(equation, "equation", "shift", default=0.0)
        coefficient = self.coefficient(equation)
        boundary = self.read_boundary(data.get("boundary"), dimension)
        order = self.read_scheme(data.get("scheme"))
        solver = self.read_solver(data.get("solver"))
        output, fields = self.read_output(data.get("output"))
        exact = None
        if "exact" in data:
            table = self.table(data, "exact", required=True)
            exact = self.expression("[exact] u", table.get("u"), dimension)
        try:
            grid = Grid.box(
                list(cells),
                None if lower is None else list(lower),
                None if upper is None else list(upper),
                boundary,
                nodes=nodes,
                centering=centering,
            )
            problem = Problem(
                grid, source, shift=shift, coefficient=coefficient, order=order, check=self.check
            )
        except (GridError, DataError) as exc:
            raise self.model_error(exc) from None
        return Case(
            self.path, problem, solver, output, fields, exact, dict(self.origins), self.file
        )

    def parse_file(self) -> dict[str, Any]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            raise self.error(None, "no such file") from None
        except IsADirectoryError:
            raise self.error(None, "is a folder, not a case file") from None
        except OSError as exc:
            raise self.error(None, f"cannot read the file: {exc.strerror or exc}") from None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            msg = f"not a text file in UTF-8 (bad byte at position {exc.start})"
            raise self.error(None, msg) from None
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise self.error(None, f"not valid TOML: {exc}") from None
        except RecursionError:
            raise self.error(None, "not valid TOML: nested too deeply") from None

    def check_keys(self, data: Mapping[str, Any]) -> None:
        for name, value in data.items():
            if name in TABLES:
                if not isinstance(value, dict):
                    msg = (
                        f"must be a table, got {_kind(value)} (write [{name}] on a "
                        "line of its own, then its keys)"
                    )
                    msg_0 = f"[{name}]"
                    raise self.error(msg_0, msg)
                continue
            owners = [t for t, keys in TABLES.items() if name in keys]
            if owners:
                msg = (
                    f"a key outside any table; it belongs in [{owners[0]}] "
                    "(put it below that table's header)"
                )
                raise self.error(name, msg)
            hint = suggest(name, list(TABLES))
            what = "table" if isinstance(value, dict) else "key"
            msg = f"unknown {what}; {hint}the tables are " + ", ".join(f"[{t}]" for t in TABLES)
            raise self.error(f"[{name}]" if what == "table" else name, msg)
        if "grid" not in data:
            msg_0 = "[grid]"
            raise self.error(msg_0, "missing; a case needs at least `cells = [...]` in [grid]")

    def table(
        self, data: Mapping[str, Any], name: str, *, required: bool = False
    ) -> dict[str, Any]:
        """Return the table ``name`` with its keys checked against :data:`TABLES`."""
        if name not in data or data[name] is None:
            if required:
                hint = {"equation": " (it needs source = ...; source = 0 for Laplace's equation)"}
                msg = f"[{name}]"
                raise self.error(msg, "missing table" + hint.get(name, ""))
            return {}
        table = data[name]
        allowed = TABLES[name]
        for key in table:
            if key not in allowed:
                msg = f"unknown key; {suggest(key, allowed)}[{name}] takes " + ", ".join(allowed)
                msg_0 = f"[{name}] {key}"
                raise self.error(msg_0, msg)
        return table

    # -- values ---------------------------------------------------------------------
    def number(self, value: Any, key: str, *, constant_expression: bool = True) -> float:
        """Return a finite float from a TOML number (or a constant expression)."""
        if isinstance(value, bool):
            raise self.error(key, f"must be a number, got {_kind(value)}")
        if isinstance(value, int):
            try:
                return float(value)
            except OverflowError:
                raise self.error(key, f"must be finite, got {_show(value)}") from None
        if isinstance(value, float):
            if not math.isfinite(value):
                raise self.error(key, f"must be a finite number, got {_show(value)}")
            return value
        if constant_expression and isinstance(value, str):
            expr = self.expression_text(value, key, 3)
            if not expr.is_constant:
                used = ", ".join(sorted(expr.names_used))
                raise self.error(key, f"must be a constant, but {_show(value)} depends on {used}")
            return float(expr.value)
        allowed = "a number or a constant expression" if constant_expression else "a number"
        raise self.error(key, f"must be {allowed}, got {_kind(value)}")

    def scalar(self, table: Mapping[str, Any], name: str, key: str, *, default: float) -> float:
        if key not in table:
            return default
        return self.number(table[key], f"[{name}] {key}")

    def expression_text(self, text: Any, key: str, dimension: int) -> Expression:
        try:
            return parse_expression(text, dimension=dimension)
        except ExpressionError as exc:
            raise self.error(key, str(exc)) from None

    def expression(self, key: str, value: Any, dimension: int) -> Expression:
        """Return an expression value (a number or a string) under ``key``; it must be there."""
        if value is None:
            hint = " (use source = 0 for Laplace's equation)" if key.endswith("source") else ""
            raise self.error(key, f"missing: give a number or an expression{hint}")
        if not isinstance(value, (bool, int, float, str)):
            raise self.error(key, f"must be a number or an expression string, got {_kind(value)}")
        return self.expression_text(value, key, dimension)

    def data_value(
        self, table: Mapping[str, Any], name: str, key: str, dimension: int
    ) -> float | Expression:
        """``table[name]`` (file key ``key``) as data: a number, or the parsed expression."""
        expr = self.expression(key, table.get(name), dimension)
        return float(expr.value) if expr.is_constant else expr

    def coefficient(self, equation: Mapping[str, Any]) -> float | str:
        """``k`` as the model takes it: a number, or an expression string."""
        key = "[equation] coefficient"
        value = equation.get("coefficient", 1.0)
        if isinstance(value, str):
            return value
        return self.number(value, key)

    # -- [grid] -----------------------------------------------------------------------
    def read_cells(self, grid: Mapping[str, Any]) -> tuple[int, ...]:
        if "cells" not in grid:
            msg = (
                "missing: give the intervals per axis, e.g. cells = [32, 32] (its length is "
                "the dimension)"
            )
            msg_0 = "[grid] cells"
            raise self.error(msg_0, msg)
        cells = grid["cells"]
        if not isinstance(cells, list):
            hint = f" (write cells = [{cells}] for 1-D)" if isinstance(cells, int) else ""
            msg = (
                f"must be an array of 1 to 3 positive integers, one per axis, got "
                f"{_kind(cells)}{hint}"
            )
            msg_0 = "[grid] cells"
            raise self.error(msg_0, msg)
        if not 1 <= len(cells) <= 3:
            msg = f"must have 1 to 3 entries (the dimension), got {len(cells)}: {_show(cells)}"
            msg_0 = "[grid] cells"
            raise self.error(msg_0, msg)
        if any(isinstance(c, bool) or not isinstance(c, int) or c < 1 for c in cells):
            msg_0 = "[grid] cells"
            raise self.error(msg_0, f"must be positive integers, got {_show(cells)}")
        return tuple(cells)

    def read_centering(self, grid: Mapping[str, Any], dimension: int) -> tuple[str, ...]:
        """``[grid] centering``: ``"node"`` (default) or ``"cell"``, or one of them per axis."""
        key = "[grid] centering"
        value = grid.get("centering", "node")
        allowed = ("node", "cell")
        if isinstance(value, str):
            value = [value] * dimension
        elif not isinstance(value, list):
            msg = (
                f'must be "node" or "cell", or an array of {dimension} of them (one per axis '
                f"as in cells), got {_kind(value)}"
            )
            raise self.error(key, msg)
        elif len(value) != dimension:
            msg = (
                f"must have {dimension} entries, one per axis as in cells, got "
                f"{len(value)}: {_show(value)}"
            )
            raise self.error(key, msg)
        for v in value:
            if not isinstance(v, str) or v not in allowed:
                hint = suggest(v, allowed) if isinstance(v, str) else ""
                msg = f'must be "node" or "cell"; {hint}got {_kind(v)}'
                raise self.error(key, msg)
        return tuple(value)

    def read_bounds(
        self, grid: Mapping[str, Any], dimension: int
    ) -> tuple[tuple[float, ...] | None, tuple[float, ...] | None]:
        bounds = []
        for key in ("lower", "upper"):
            full = f"[grid] {key}"
            if key not in grid:
                bounds.append(None)
                continue
            value = grid[key]
            if not isinstance(value, list):
                msg = (
                    f"must be an array of {dimension} number(s), one per axis as in cells, "
                    f"got {_kind(value)}"
                )
                raise self.error(full, msg)
            if len(value) != dimension:
                msg = (
                    f"must have {dimension} entries, one per axis as in cells, got "
                    f"{len(value)}: {_show(value)}"
                )
                raise self.error(full, msg)
            bounds.append(tuple(self.number(v, full) for v in value))
        return bounds[0], bounds[1]

    def read_nodes(
        self,
        grid: Mapping[str, Any],
        cells: tuple[int, ...],
        lower: tuple[float, ...] | None,
        upper: tuple[float, ...] | None,
    ) -> list[np.ndarray | None]:
        """``[grid] nodes``: per axis the node coordinates (or None for uniform)."""
        dimension = len(cells)
        nodes: list[np.ndarray | None] = [None] * dimension
        if "nodes" not in grid:
            return nodes
        table = grid["nodes"]
        axes = "xyz"[:dimension]
        if not isinstance(table, dict):
            msg = (
                f"must be a table of axes ({', '.join(axes)}), e.g. nodes.x = [0, 0.1, 0.3, 1] "
                f'or nodes.x = {{ stretch = "tanh", beta = 2.0 }}, got {_kind(table)}'
            )
            msg_0 = "[grid] nodes"
            raise self.error(msg_0, msg)
        for name, spec in table.items():
            key = f"[grid] nodes.{name}"
            if name not in axes:
                msg = f"not an axis of this {dimension}-D grid; the axes are {', '.join(axes)}"
                raise self.error(key, msg)
            i = axes.index(name)
            if isinstance(spec, list):
                nodes[i] = np.array([self.number(v, key) for v in spec], dtype=float)
            elif isinstance(spec, dict):
                lo = 0.0 if lower is None else lower[i]
                hi = 1.0 if upper is None else upper[i]
                nodes[i] = self.named_stretching(spec, key, cells[i], lo, hi)
            else:
                msg = (
                    f"must be an array of {cells[i] + 1} coordinates or a table such as "
                    f'{{ stretch = "tanh", beta = 2.0 }}, got {_kind(spec)}'
                )
                raise self.error(key, msg)
        return nodes

    def named_stretching(
        self, spec: Mapping[str, Any], key: str, cells: int, lower: float, upper: float
    ) -> np.ndarray:
        allowed = ("stretch", "beta")
        for name in spec:
            if name not in allowed:
                msg = f"unknown key; {suggest(name, allowed)}a stretching takes stretch, beta"
                msg_0 = f"{key}.{name}"
                raise self.error(msg_0, msg)
        if "stretch" not in spec:
            msg = f"missing: give stretch = one of {', '.join(STRETCHINGS)}"
            msg_0 = f"{key}.stretch"
            raise self.error(msg_0, msg)
        stretch = spec["stretch"]
        if not isinstance(stretch, str):
            msg = f"must be one of {', '.join(STRETCHINGS)}; got {_kind(stretch)}"
            msg_0 = f"{key}.stretch"
            raise self.error(msg_0, msg)
        beta = self.number(spec["beta"], f"{key}.beta") if "beta" in spec else 2.0
        try:
            return stretched_nodes(cells, lower, upper, stretch, beta)
        except GridError as exc:
            hint = suggest(stretch, STRETCHINGS) if exc.subject == "stretch" else ""
            msg_0 = f"{key}.{exc.subject}"
            raise self.error(msg_0, hint + exc.detail) from None

    # -- [boundary] ---------------------------------------------------------------------
    def read_boundary(self, boundary: Any, dimension: int) -> dict[str, Condition]:
        """Every face of the grid -> its condition (and :attr:`origins`: the key it came from)."""
        faces = [face_name(i, s) for i in range(dimension) for s in (0, 1)]
        if boundary is None:
            msg = (
                "missing; every face needs a condition: name the faces "
                f"({', '.join(faces)}) or give a default, e.g. "
                'default = { type = "dirichlet", value = 0 }'
            )
            msg_0 = "[boundary]"
            raise self.error(msg_0, msg)
        all_faces = TABLES["boundary"][1:]
        for key in boundary:
            if key in all_faces and key not in faces:
                msg = (
                    f"the grid is {dimension}-D (cells has {dimension} entries) and has no face "
                    f"{key}; its faces are {', '.join(faces)}"
                )
                msg_0 = f"[boundary] {key}"
                raise self.error(msg_0, msg)
            if key not in all_faces and key != "default":
                msg = (
                    f"unknown face; {suggest(key, ['default', *faces])}the faces of this "
                    f"{dimension}-D grid are {', '.join(faces)}, plus default"
                )
                msg_0 = f"[boundary] {key}"
                raise self.error(msg_0, msg)
        default = None
        if "default" in boundary:
            default = self.condition(boundary["default"], "default", dimension)
        conditions: dict[str, Condition] = {}
        missing = []
        for face in faces:
            if face in boundary:
                conditions[face] = self.condition(boundary[face], face, dimension)
                self.origins[face] = face
            elif default is not None:
                conditions[face] = default
                self.origins[face] = "default"
            else:
                missing.append(face)
        if missing:
            msg = f"no condition for face(s) {', '.join(missing)}; name them or give a default"
            msg_0 = "[boundary]"
            raise self.error(msg_0, msg)
        return conditions

    def condition(self, spec: Any, face: str, dimension: int) -> Condition:
        key = f"[boundary] {face}"
        if not isinstance(spec, dict):
            msg = f'must be a table such as {{ type = "dirichlet", value = 0 }}, got {_kind(spec)}'
            raise self.error(key, msg)
        if "type" not in spec:
            msg = 'missing: give type = "dirichlet", "neumann", "robin" or "periodic"'
            msg_0 = f"{key}.type"
            raise self.error(msg_0, msg)
        kind = spec["type"]
        if not isinstance(kind, str) or kind not in CONDITION_KEYS:
            hint = suggest(kind, list(CONDITION_KEYS)) if isinstance(kind, str) else ""
            msg = f'must be "dirichlet", "neumann", "robin" or "periodic"; {hint}got {_kind(kind)}'
            msg_0 = f"{key}.type"
            raise self.error(msg_0, msg)
        allowed = CONDITION_KEYS[kind]
        for name in spec:
            if name not in allowed:
                msg = (
                    f"not a key of a {kind} condition; {suggest(name, allowed)}a {kind} face "
                    f"takes {', '.join(allowed)}"
                )
                msg_0 = f"{key}.{name}"
                raise self.error(msg_0, msg)
        for name in allowed:
            if name not in spec:
                what = "a number" if name in ("alpha", "beta") else "a number or an expression"
                msg = f"missing: a {kind} condition needs {name} ({what})"
                msg_0 = f"{key}.{name}"
                raise self.error(msg_0, msg)
        if kind == "periodic":
            return Periodic()
        value = self.data_value(spec, "value", f"{key}.value", dimension)
        try:
            if kind == "dirichlet":
                return Dirichlet(value)
            if kind == "neumann":
                return Neumann(value)
            alpha = self.number(spec["alpha"], f"{key}.alpha")
            beta = self.number(spec["beta"], f"{key}.beta")
            return Robin(alpha, beta, value)
        except GridError as exc:  # alpha, beta
            msg_0 = f"{key}.{exc.subject}"
            raise self.error(msg_0, exc.detail) from None

    # -- [scheme] ---------------------------------------------------------------------
    def read_scheme(self, scheme: Any) -> int:
        """``[scheme] order``: the integer 2 (default) or 4 (checked further by the model)."""
        table = self.table({"scheme": scheme}, "scheme")
        order = table.get("order", 2)
        if isinstance(order, bool) or not isinstance(order, int) or order not in (2, 4):
            msg = "[scheme] order"
            raise self.error(msg, f"must be 2 or 4, got {_kind(order)}")
        return order

    # -- [solver] ---------------------------------------------------------------------
    def read_solver(self, solver: Any) -> SolverSettings:
        table = self.table({"solver": solver}, "solver")
        method = table.get("method", "auto")
        if not isinstance(method, str):
            msg = "[solver] method"
            raise self.error(msg, f"must be a method name, got {_kind(method)}")
        rtol: float | str = AUTO  # the default of case files: stop at the discretisation error
        if "rtol" in table:
            rtol = table["rtol"]
            if rtol != AUTO:
                if isinstance(rtol, str):
                    msg = f'must be a number > 0 and < 1, or "auto", got {_show(rtol)}'
                    key = "[solver] rtol"
                    raise self.error(key, msg)
                rtol = self.number(rtol, "[solver] rtol", constant_expression=False)
                rtol = self.checked(check_tolerance, rtol, "[solver] rtol", below_one=True)
        maxiter = table.get("maxiter")
        if maxiter is not None:
            if not isinstance(maxiter, int):
                msg = f"must be a positive integer, got {_kind(maxiter)}"
                msg_0 = "[solver] maxiter"
                raise self.error(msg_0, msg)
            maxiter = self.checked(check_maxiter, maxiter, "[solver] maxiter", positive=True)
        return SolverSettings(method, rtol, maxiter)

    def checked(self, check: Callable[..., Any], value: Any, key: str, **kwargs: Any) -> Any:
        """``check(value, key, ...)`` of the settings module, its error as this key's."""
        try:
            return check(value, key, **kwargs)
        except ValueError as exc:
            raise self.error(key, str(exc).removeprefix(f"{key}: ")) from None

    # -- [output] ---------------------------------------------------------------------
    def read_output(self, output: Any) -> tuple[Path | None, tuple[str, ...]]:
        table = self.table({"output": output}, "output")
        path = None
        if "file" in table:
            file = table["file"]
            if not isinstance(file, str) or not file.strip():
                msg = f'must be a file name such as "result.vtu", got {_kind(file)}'
                msg_0 = "[output] file"
                raise self.error(msg_0, msg)
            path = self.path.parent / file
            check_extension(path, "[output] file", self.error)
        fields: tuple[str, ...] = ("u",)
        if "fields" in table:
            value = table["fields"]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                msg = (
                    f"must be an array of field names from {_show(list(FIELDS))}, got "
                    f"{_kind(value)}"
                )
                msg_0 = "[output] fields"
                raise self.error(msg_0, msg)
            for v in value:
                if v not in FIELDS:
                    extra = (
                        " (u_exact and error are written automatically with [exact])"
                        if v in ("u_exact", "error")
                        else ""
                    )
                    msg = (
                        f"unknown field {_show(v)}; {suggest(v, FIELDS)}the fields are "
                        f"{', '.join(FIELDS)}{extra}"
                    )
                    msg_0 = "[output] fields"
                    raise self.error(msg_0, msg)
            fields = tuple(f for f in FIELDS if f == "u" or f in value)
        return path, fields


def check_extension(
    path: Path, key: str, error: Callable[[str, str], CaseError] | None = None
) -> None:
    """Raise a :class:`CaseError` for ``key`` if ``path``'s extension cannot be written."""
    if path.suffix.lower() not in SUPPORTED_EXTENSIONS:
        got = f"the extension {path.suffix!r}" if path.suffix else "no extension"
        message = f"{str(path)!r} has {got}; use one of {', '.join(SUPPORTED_EXTENSIONS)}"
        raise error(key, message) if error else CaseError(message, key=key)
