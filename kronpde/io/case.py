"""Case files: TOML in, a validated :class:`Case` (with its :class:`~kronpde.Problem`) out.

The format is fixed by ``case-format.md``.  :func:`load_case` reads one file
and checks every table and key of it before anything is solved:

* unknown tables and keys are errors (the message suggests the closest valid
  name), so a typo never passes silently;
* numbers must be finite; integers are accepted where floats are meant,
  booleans never count as numbers;
* expressions (strings) are checked by :func:`kronpde.io.expr.parse_expression`
  for the grid's dimension and evaluated at once on the nodes where they are
  used, so data that are not finite somewhere are reported here, with the key,
  and never halfway through a solve;
* every face ends up with a condition (named, or from ``default``), periodic
  faces come in pairs, and no face names an axis the grid does not have.

Every problem is reported as one :class:`~kronpde.errors.CaseError` whose
message names the file and the key, e.g.
``case.toml: [grid] cells: must be positive integers, got [0, 8]``.

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
  grid has at most ``2**33`` nodes.
* ``[equation] coefficient`` may vary in space (an expression in the
  coordinates): it is evaluated at every node of the grid and must be finite
  and ``> 0`` on all of them.
* ``[grid] nodes`` stretches axes: ``nodes.x = [0.0, 0.1, 0.3, ...]`` gives the
  ``cells[0] + 1`` node coordinates of axis x (strictly increasing; they fix
  ``lower`` and ``upper``, which must agree if given), and
  ``nodes.y = { stretch = "tanh", beta = 2.0 }`` names a stretching of
  :func:`kronpde.grid.stretched_nodes` between ``lower`` and ``upper``.
  Axes not named stay uniform.
"""

from __future__ import annotations

import difflib
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kronpde.boundary import Condition, Dirichlet, Neumann, Periodic, Robin
from kronpde.errors import CaseError, GridError
from kronpde.grid import STRETCHINGS, Grid, face_name, stretched_nodes
from kronpde.io.expr import Expression, ExpressionError, parse_expression
from kronpde.io.vtk import SUPPORTED_EXTENSIONS
from kronpde.problem import Problem

try:  # Python >= 3.11
    import tomllib
except ImportError:  # pragma: no cover - Python 3.10
    try:
        import tomli as tomllib  # the same parser, where installed
    except ImportError:
        tomllib = None

__all__ = ["CONDITION_KEYS", "FIELDS", "MAX_NODES", "TABLES", "Case", "ExpressionData", "load_case"]

#: The tables of a case file and the keys each one takes.
TABLES: dict[str, tuple[str, ...]] = {
    "grid": ("cells", "lower", "upper", "nodes"),
    "equation": ("source", "shift", "coefficient"),
    "boundary": ("default", "xmin", "xmax", "ymin", "ymax", "zmin", "zmax"),
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

#: Most nodes a case's grid may have.
MAX_NODES = 2**33

_MAX_BOUND = 1e100
_MIN_RELATIVE_SPACING = 1e-12


def _methods() -> tuple[str, ...]:
    """The solver methods, as the solver package names them (imported only when needed)."""
    from kronpde.solvers.api import METHODS

    return tuple(METHODS)


@dataclass(frozen=True)
class ExpressionData:
    """An expression as boundary or source data: ``data(x, y, ...)`` evaluates it.

    The callable form :class:`~kronpde.Problem` and the boundary conditions take.
    """

    expression: Expression

    def __call__(self, *coords: np.ndarray) -> np.ndarray:
        """Evaluate at broadcastable coordinate arrays (one per axis)."""
        return self.expression.evaluate(coords)

    def __repr__(self) -> str:
        return f"ExpressionData({self.expression.text!r})"


@dataclass(frozen=True, eq=False)
class Case:
    """A validated case file.

    Attributes
    ----------
    path : Path
        The case file, as given.
    problem : Problem
        Grid, boundary conditions, source, shift and coefficient.
    source : Expression
        ``f`` (a constant expression when the file gives a number).
    method : str
        ``[solver] method`` (default ``"auto"``).
    rtol : float
        ``[solver] rtol`` (default ``1e-8``).
    maxiter : int or None
        ``[solver] maxiter``; None leaves the solver's default.
    output : Path or None
        ``[output] file`` resolved against the case file's folder; None when
        the file names none.
    fields : tuple of str
        Point-data fields to write besides ``u_exact`` and ``error``: ``("u",)``
        or ``("u", "f")``.
    exact : Expression or None
        ``[exact] u``.
    dimension : int
        1, 2 or 3.
    cells, lower, upper : tuple
        ``[grid]`` as read (defaults filled in; ``lower``/``upper`` from
        ``[grid] nodes`` where an axis' coordinates are given).
    coefficient_text : str
        ``[equation] coefficient`` as written (``"1"`` by default).
    """

    path: Path
    problem: Problem
    source: Expression
    method: str
    rtol: float
    maxiter: int | None
    output: Path | None
    fields: tuple[str, ...]
    exact: Expression | None
    dimension: int
    cells: tuple[int, ...]
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    coefficient_text: str = "1"

    @property
    def grid(self) -> Grid:
        """The problem's grid."""
        return self.problem.grid

    def exact_values(self) -> np.ndarray | None:
        """``[exact] u`` on every node, shape ``grid.node_shape``; None without ``[exact]``."""
        if self.exact is None:
            return None
        return self.exact.evaluate(self.grid.node_coordinates())

    def point_data(self, u: np.ndarray) -> dict[str, np.ndarray]:
        """The fields to write for the nodal solution ``u`` (shape ``grid.node_shape``).

        ``u`` always; ``f`` when requested; ``u_exact`` and ``error = u - u_exact``
        with ``[exact]``.
        """
        u = np.asarray(u, dtype=float)
        data = {"u": u}
        if "f" in self.fields:
            data["f"] = self.source.evaluate(self.grid.node_coordinates())
        exact = self.exact_values()
        if exact is not None:
            data["u_exact"] = exact
            data["error"] = u - exact
        return data


# --------------------------------------------------------------------------- reading


def load_case(path: str | os.PathLike[str]) -> Case:
    """Read and validate a case file.

    Parameters
    ----------
    path : str or path-like
        The TOML file.  ``[output] file`` is resolved against its folder.

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
    return _Reader(path).read()


def _show(value: Any, limit: int = 60) -> str:
    """A value the way TOML writes it, shortened."""

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
    """What a TOML value is, in words."""
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


def _suggest(name: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    if not close:
        close = [c for c in choices if c.lower() == name.lower()]
    return f"did you mean {close[0]!r}? " if close else ""


class _Reader:
    def __init__(self, path: str | os.PathLike[str]):
        self.file = os.fspath(path)
        self.path = Path(path)

    # -- errors ---------------------------------------------------------------------
    def error(self, key: str | None, message: str) -> CaseError:
        return CaseError(message, file=self.file, key=key)

    # -- the file -----------------------------------------------------------------
    def read(self) -> Case:
        data = self.parse_file()
        self.check_keys(data)
        dimension, cells, lower, upper = self.read_grid(data["grid"])
        nodes, lower, upper = self.read_nodes(data["grid"], cells, lower, upper)
        equation = self.table(data, "equation", required=True)
        source = self.expression(equation, "equation", "source", dimension, required=True)
        shift = self.scalar(equation, "equation", "shift", default=0.0, minimum=0.0)
        coefficient = self.read_coefficient(equation, dimension)
        boundary = self.read_boundary(data.get("boundary"), dimension)
        grid = self.build_grid(cells, lower, upper, boundary, nodes)
        coefficient = self.check_coefficient(grid, coefficient)
        method, rtol, maxiter = self.read_solver(data.get("solver"))
        output, fields = self.read_output(data.get("output"))
        exact = None
        if "exact" in data:
            table = self.table(data, "exact", required=True)
            exact = self.expression(table, "exact", "u", dimension, required=True)

        self.check_data(grid, boundary, source, fields, exact)
        source_data: float | ExpressionData = (
            source.value if source.is_constant else ExpressionData(source)
        )
        try:
            problem = Problem(grid, source_data, shift=shift, coefficient=coefficient)
        except GridError as exc:  # pragma: no cover - every argument was checked above
            raise self.error("[equation]", str(exc)) from None
        return Case(
            path=self.path,
            problem=problem,
            source=source,
            method=method,
            rtol=rtol,
            maxiter=maxiter,
            output=output,
            fields=fields,
            exact=exact,
            dimension=dimension,
            cells=cells,
            lower=lower,
            upper=upper,
            coefficient_text=_coefficient_text(equation.get("coefficient", 1)),
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
            raise self.error(
                None, f"not a text file in UTF-8 (bad byte at position {exc.start})"
            ) from None
        if tomllib is None:  # pragma: no cover - Python 3.10 without tomli
            raise self.error(
                None, "reading case files needs Python 3.11 or newer (or the tomli package)"
            )
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
                    raise self.error(
                        f"[{name}]",
                        f"must be a table, got {_kind(value)} (write [{name}] on a "
                        "line of its own, then its keys)",
                    )
                continue
            owners = [t for t, keys in TABLES.items() if name in keys]
            if owners:
                raise self.error(
                    name,
                    f"a key outside any table; it belongs in [{owners[0]}] "
                    "(put it below that table's header)",
                )
            hint = _suggest(name, list(TABLES))
            what = "table" if isinstance(value, dict) else "key"
            raise self.error(
                f"[{name}]" if what == "table" else name,
                f"unknown {what}; {hint}the tables are " + ", ".join(f"[{t}]" for t in TABLES),
            )
        if "grid" not in data:
            raise self.error("[grid]", "missing; a case needs at least `cells = [...]` in [grid]")

    def table(
        self, data: Mapping[str, Any], name: str, *, required: bool = False
    ) -> dict[str, Any]:
        """The table ``name`` with its keys checked against :data:`TABLES`."""
        if name not in data:
            if required:
                hint = {"equation": " (it needs source = ...; source = 0 for Laplace's equation)"}
                raise self.error(f"[{name}]", "missing table" + hint.get(name, ""))
            return {}
        table = data[name]
        allowed = TABLES[name]
        for key in table:
            if key not in allowed:
                raise self.error(
                    f"[{name}] {key}",
                    f"unknown key; {_suggest(key, allowed)}[{name}] takes " + ", ".join(allowed),
                )
        return table

    # -- values ---------------------------------------------------------------------
    def number(self, value: Any, key: str, *, constant_expression: bool = True) -> float:
        """A finite float from a TOML number (or a constant expression)."""
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
            try:
                expr = parse_expression(value, dimension=3)
            except ExpressionError as exc:
                raise self.error(key, str(exc)) from None
            if not expr.is_constant:
                used = ", ".join(sorted(expr.names_used))
                raise self.error(key, f"must be a constant, but {_show(value)} depends on {used}")
            return float(expr.value)
        allowed = "a number or a constant expression" if constant_expression else "a number"
        raise self.error(key, f"must be {allowed}, got {_kind(value)}")

    def scalar(
        self,
        table: Mapping[str, Any],
        name: str,
        key: str,
        *,
        default: float,
        minimum: float | None = None,
        positive: bool = False,
    ) -> float:
        full = f"[{name}] {key}"
        if key not in table:
            return default
        value = self.number(table[key], full)
        if minimum is not None and value < minimum:
            raise self.error(full, f"must be >= {minimum:g}, got {value:g}")
        if positive and value <= 0.0:
            raise self.error(full, f"must be > 0, got {value:g}")
        return value

    def expression(
        self,
        table: Mapping[str, Any],
        name: str,
        key: str,
        dimension: int,
        *,
        required: bool = False,
        label: str | None = None,
    ) -> Expression:
        full = label or f"[{name}] {key}"
        if key not in table:
            if required:
                hint = " (use source = 0 for Laplace's equation)" if key == "source" else ""
                raise self.error(full, f"missing: give a number or an expression{hint}")
            raise AssertionError(key)  # pragma: no cover
        value = table[key]
        if isinstance(value, (list, dict)):
            raise self.error(full, f"must be a number or an expression string, got {_kind(value)}")
        if not isinstance(value, (bool, int, float, str)):
            raise self.error(full, f"must be a number or an expression string, got {_kind(value)}")
        try:
            return parse_expression(value, dimension=dimension)
        except ExpressionError as exc:
            raise self.error(full, str(exc)) from None

    # -- [grid] -----------------------------------------------------------------------
    def read_grid(
        self, grid: Mapping[str, Any]
    ) -> tuple[int, tuple[int, ...], tuple[float, ...], tuple[float, ...]]:
        self.table({"grid": grid}, "grid")
        if "cells" not in grid:
            raise self.error(
                "[grid] cells",
                "missing: give the intervals per axis, e.g. cells = [32, 32] (its length is "
                "the dimension)",
            )
        cells = grid["cells"]
        if not isinstance(cells, list):
            hint = f" (write cells = [{cells}] for 1-D)" if isinstance(cells, int) else ""
            raise self.error(
                "[grid] cells",
                f"must be an array of 1 to 3 positive integers, one per axis, got "
                f"{_kind(cells)}{hint}",
            )
        if not 1 <= len(cells) <= 3:
            raise self.error(
                "[grid] cells",
                f"must have 1 to 3 entries (the dimension), got {len(cells)}: {_show(cells)}",
            )
        if any(isinstance(c, bool) or not isinstance(c, int) or c < 1 for c in cells):
            raise self.error("[grid] cells", f"must be positive integers, got {_show(cells)}")
        dimension = len(cells)
        nodes = math.prod(c + 1 for c in cells)
        if nodes > MAX_NODES:
            raise self.error(
                "[grid] cells",
                f"{_show(cells)} makes {nodes:.3g} nodes; at most {MAX_NODES} (2**33) are "
                "supported",
            )
        bounds = {}
        for key, default in (("lower", 0.0), ("upper", 1.0)):
            full = f"[grid] {key}"
            if key not in grid:
                bounds[key] = (default,) * dimension
                continue
            value = grid[key]
            if not isinstance(value, list):
                raise self.error(
                    full,
                    f"must be an array of {dimension} number(s), one per axis as in cells, "
                    f"got {_kind(value)}",
                )
            if len(value) != dimension:
                raise self.error(
                    full,
                    f"must have {dimension} entries, one per axis as in cells, got "
                    f"{len(value)}: {_show(value)}",
                )
            numbers = tuple(self.number(v, full) for v in value)
            if any(abs(v) > _MAX_BOUND for v in numbers):
                raise self.error(full, f"entries must lie within ±1e100, got {_show(value)}")
            bounds[key] = numbers
        lower, upper = bounds["lower"], bounds["upper"]
        for i in range(dimension):
            axis = "xyz"[i]
            if not lower[i] < upper[i]:
                raise self.error(
                    "[grid] upper",
                    f"must be greater than lower on every axis; on axis {axis} lower = "
                    f"{lower[i]:g} and upper = {upper[i]:g}",
                )
            h = (upper[i] - lower[i]) / cells[i]
            scale = max(abs(lower[i]), abs(upper[i]))
            if h < 1e-100 or h < _MIN_RELATIVE_SPACING * scale:
                raise self.error(
                    "[grid] cells",
                    f"the spacing on axis {axis}, (upper - lower)/cells = {h:.3g}, is too small "
                    f"for bounds of magnitude {scale:.3g}; neighbouring nodes would not be "
                    "distinct",
                )
        return dimension, tuple(cells), lower, upper

    def read_nodes(
        self,
        grid: Mapping[str, Any],
        cells: tuple[int, ...],
        lower: tuple[float, ...],
        upper: tuple[float, ...],
    ) -> tuple[list[np.ndarray | None], tuple[float, ...], tuple[float, ...]]:
        """``[grid] nodes``: per axis coordinates (or None), and the bounds they imply."""
        dimension = len(cells)
        nodes: list[np.ndarray | None] = [None] * dimension
        if "nodes" not in grid:
            return nodes, lower, upper
        table = grid["nodes"]
        axes = "xyz"[:dimension]
        if not isinstance(table, dict):
            raise self.error(
                "[grid] nodes",
                f"must be a table of axes ({', '.join(axes)}), e.g. nodes.x = [0, 0.1, 0.3, 1] "
                f'or nodes.x = {{ stretch = "tanh", beta = 2.0 }}, got {_kind(table)}',
            )
        lower, upper = list(lower), list(upper)
        for name, spec in table.items():
            key = f"[grid] nodes.{name}"
            if name not in axes:
                raise self.error(
                    key, f"not an axis of this {dimension}-D grid; the axes are {', '.join(axes)}"
                )
            i = axes.index(name)
            if isinstance(spec, list):
                x = np.array([self.number(v, key) for v in spec], dtype=float)
                if x.size != cells[i] + 1:
                    raise self.error(
                        key,
                        f"has {x.size} coordinates, but cells = {cells[i]} on axis {name} "
                        f"needs cells + 1 = {cells[i] + 1}",
                    )
                if not np.all(np.diff(x) > 0.0):
                    raise self.error(key, "coordinates must be strictly increasing")
                if np.any(np.abs(x) > _MAX_BOUND):
                    raise self.error(key, "coordinates must lie within ±1e100")
                for bound, values, end in (("lower", lower, 0), ("upper", upper, -1)):
                    if bound in grid and values[i] != x[end]:
                        raise self.error(
                            key,
                            f"{'starts' if end == 0 else 'ends'} at {x[end]:g} but [grid] "
                            f"{bound} is {values[i]:g} on axis {name}; they must agree "
                            f"(or leave {bound} out)",
                        )
                    values[i] = float(x[end])
            elif isinstance(spec, dict):
                x = self.named_stretching(spec, key, cells[i], lower[i], upper[i])
            else:
                raise self.error(
                    key,
                    f"must be an array of {cells[i] + 1} coordinates or a table such as "
                    f'{{ stretch = "tanh", beta = 2.0 }}, got {_kind(spec)}',
                )
            h_min = float(np.min(np.diff(x)))
            scale = max(abs(x[0]), abs(x[-1]))
            if h_min < 1e-100 or h_min < _MIN_RELATIVE_SPACING * scale:
                raise self.error(
                    key,
                    f"the smallest spacing, {h_min:.3g}, is too small for bounds of magnitude "
                    f"{scale:.3g}; neighbouring nodes would not be distinct",
                )
            nodes[i] = x
        return nodes, tuple(lower), tuple(upper)

    def named_stretching(
        self, spec: Mapping[str, Any], key: str, cells: int, lower: float, upper: float
    ) -> np.ndarray:
        allowed = ("stretch", "beta")
        for name in spec:
            if name not in allowed:
                raise self.error(
                    f"{key}.{name}",
                    f"unknown key; {_suggest(name, allowed)}a stretching takes stretch, beta",
                )
        if "stretch" not in spec:
            raise self.error(
                f"{key}.stretch", f"missing: give stretch = one of {', '.join(STRETCHINGS)}"
            )
        stretch = spec["stretch"]
        if not isinstance(stretch, str) or stretch not in STRETCHINGS:
            hint = _suggest(stretch, STRETCHINGS) if isinstance(stretch, str) else ""
            raise self.error(
                f"{key}.stretch",
                f"must be one of {', '.join(STRETCHINGS)}; {hint}got {_kind(stretch)}",
            )
        beta = 2.0
        if "beta" in spec:
            beta = self.number(spec["beta"], f"{key}.beta")
            if not 0.0 < beta <= 10.0:
                raise self.error(f"{key}.beta", f"must be > 0 and <= 10, got {beta:g}")
        return stretched_nodes(cells, lower, upper, stretch, beta)

    # -- [equation] ---------------------------------------------------------------------
    def read_coefficient(
        self, equation: Mapping[str, Any], dimension: int
    ) -> float | ExpressionData:
        """``k``: a positive number, or a varying expression (checked on the nodes later)."""
        key = "[equation] coefficient"
        if "coefficient" not in equation:
            return 1.0
        value = equation["coefficient"]
        if isinstance(value, str):
            expr = self.expression(equation, "equation", "coefficient", dimension)
            if not expr.is_constant:
                return ExpressionData(expr)
            value = expr.value
        k = self.number(value, key)
        if k <= 0.0:
            raise self.error(key, f"must be > 0, got {k:g}")
        return k

    def check_coefficient(
        self, grid: Grid, coefficient: float | ExpressionData
    ) -> float | np.ndarray:
        """A varying ``k`` evaluated at every node: finite and > 0 there, else a CaseError."""
        if not isinstance(coefficient, ExpressionData):
            return coefficient
        key = "[equation] coefficient"
        try:
            values = coefficient.expression.evaluate(grid.node_coordinates())
        except ExpressionError as exc:
            raise self.error(key, f"{exc} (k is used at every node)") from None
        k = np.broadcast_to(np.asarray(values, dtype=float), grid.node_shape)
        if not np.all(k > 0.0):
            where = np.unravel_index(int(np.argmin(k)), k.shape)
            at = ", ".join(
                f"{'xyz'[i]} = {x[j]:.6g}"
                for i, (x, j) in enumerate(zip(grid.nodes, where, strict=True))
            )
            raise self.error(
                key,
                f"must be > 0 at every node (k is used at every node), but "
                f"{coefficient.expression.text} = {k[where]:.6g} at {at}",
            )
        return np.array(k)

    # -- [boundary] ---------------------------------------------------------------------
    def read_boundary(self, boundary: Any, dimension: int) -> dict[str, tuple[Condition, str]]:
        """Every face of the grid -> (condition, key it came from)."""
        faces = [face_name(i, s) for i in range(dimension) for s in (0, 1)]
        if boundary is None:
            raise self.error(
                "[boundary]",
                "missing; every face needs a condition: name the faces "
                f"({', '.join(faces)}) or give a default, e.g. "
                'default = { type = "dirichlet", value = 0 }',
            )
        all_faces = TABLES["boundary"][1:]
        for key in boundary:
            if key in all_faces and key not in faces:
                raise self.error(
                    f"[boundary] {key}",
                    f"the grid is {dimension}-D (cells has {dimension} entries) and has no face "
                    f"{key}; its faces are {', '.join(faces)}",
                )
            if key not in all_faces and key != "default":
                raise self.error(
                    f"[boundary] {key}",
                    f"unknown face; {_suggest(key, ['default', *faces])}the faces of this "
                    f"{dimension}-D grid are {', '.join(faces)}, plus default",
                )
        default = None
        if "default" in boundary:
            default = self.condition(boundary["default"], "default", dimension)
        conditions: dict[str, tuple[Condition, str]] = {}
        missing = []
        for face in faces:
            if face in boundary:
                conditions[face] = (self.condition(boundary[face], face, dimension), face)
            elif default is not None:
                conditions[face] = (default, "default")
            else:
                missing.append(face)
        if missing:
            raise self.error(
                "[boundary]",
                f"no condition for face(s) {', '.join(missing)}; name them or give a default",
            )
        for i in range(dimension):
            lo, hi = face_name(i, 0), face_name(i, 1)
            (c_lo, k_lo), (c_hi, k_hi) = conditions[lo], conditions[hi]
            if isinstance(c_lo, Periodic) != isinstance(c_hi, Periodic):
                per, other = (lo, hi) if isinstance(c_lo, Periodic) else (hi, lo)
                src = k_lo if per == lo else k_hi
                key = f"[boundary] {src}" if src != "default" else f"[boundary] {other}"
                raise self.error(
                    key,
                    f"{per} is periodic but {other} is {conditions[other][0].kind}; an axis is "
                    f"periodic on both faces ({lo} and {hi}) or on neither",
                )
        return conditions

    def condition(self, spec: Any, face: str, dimension: int) -> Condition:
        key = f"[boundary] {face}"
        if not isinstance(spec, dict):
            raise self.error(
                key,
                f'must be a table such as {{ type = "dirichlet", value = 0 }}, got {_kind(spec)}',
            )
        if "type" not in spec:
            raise self.error(
                f"{key}.type",
                'missing: give type = "dirichlet", "neumann", "robin" or "periodic"',
            )
        kind = spec["type"]
        if not isinstance(kind, str) or kind not in CONDITION_KEYS:
            hint = _suggest(kind, list(CONDITION_KEYS)) if isinstance(kind, str) else ""
            raise self.error(
                f"{key}.type",
                f'must be "dirichlet", "neumann", "robin" or "periodic"; {hint}got {_kind(kind)}',
            )
        allowed = CONDITION_KEYS[kind]
        for name in spec:
            if name not in allowed:
                raise self.error(
                    f"{key}.{name}",
                    f"not a key of a {kind} condition; {_suggest(name, allowed)}a {kind} face "
                    f"takes {', '.join(allowed)}",
                )
        for name in allowed:
            if name not in spec:
                what = "a number" if name in ("alpha", "beta") else "a number or an expression"
                raise self.error(
                    f"{key}.{name}", f"missing: a {kind} condition needs {name} ({what})"
                )
        if kind == "periodic":
            return Periodic()
        expr = self.expression(
            spec, "boundary", "value", dimension, required=True, label=f"{key}.value"
        )
        value: float | ExpressionData = expr.value if expr.is_constant else ExpressionData(expr)
        try:
            if kind == "dirichlet":
                return Dirichlet(value)
            if kind == "neumann":
                return Neumann(value)
            alpha = self.number(spec["alpha"], f"{key}.alpha")
            beta = self.number(spec["beta"], f"{key}.beta")
            if beta == 0.0:
                raise self.error(
                    f"{key}.beta",
                    "must be non-zero (beta = 0 makes alpha*u = value a Dirichlet condition; "
                    'use type = "dirichlet")',
                )
            if alpha / beta < 0.0:
                raise self.error(
                    f"{key}.alpha",
                    f"alpha and beta must not have opposite signs (alpha/beta >= 0 keeps the "
                    f"problem well posed), got alpha = {alpha:g}, beta = {beta:g}",
                )
            return Robin(alpha, beta, value)
        except GridError as exc:  # pragma: no cover - checked above
            raise self.error(key, str(exc)) from None

    def build_grid(
        self,
        cells: tuple[int, ...],
        lower: tuple[float, ...],
        upper: tuple[float, ...],
        boundary: Mapping[str, tuple[Condition, str]],
        nodes: Sequence[np.ndarray | None] | None = None,
    ) -> Grid:
        for i, m in enumerate(cells):
            lo, hi = face_name(i, 0), face_name(i, 1)
            if m < 2 and all(isinstance(boundary[f][0], Dirichlet) for f in (lo, hi)):
                raise self.error(
                    "[grid] cells",
                    f"axis {'xyz'[i]} has Dirichlet faces on both sides ({lo}, {hi}) and so "
                    f"needs at least 2 cells for one unknown, got {m}",
                )
        try:
            return Grid.box(
                list(cells),
                list(lower),
                list(upper),
                {f: c for f, (c, _) in boundary.items()},
                nodes=nodes,
            )
        except GridError as exc:  # pragma: no cover - every cause is checked above
            raise self.error("[grid]", str(exc)) from None

    # -- [solver] ---------------------------------------------------------------------
    def read_solver(self, solver: Any) -> tuple[str, float, int | None]:
        table = self.table({"solver": solver}, "solver") if solver is not None else {}
        method = table.get("method", "auto")
        methods = _methods()
        if not isinstance(method, str) or method not in methods:
            hint = _suggest(method, methods) if isinstance(method, str) else ""
            raise self.error(
                "[solver] method",
                f"must be one of {', '.join(methods)}; {hint}got {_kind(method)}",
            )
        rtol = 1e-8
        if "rtol" in table:
            rtol = self.number(table["rtol"], "[solver] rtol", constant_expression=False)
            if not 0.0 < rtol < 1.0:
                raise self.error("[solver] rtol", f"must be > 0 and < 1, got {rtol:g}")
        maxiter = None
        if "maxiter" in table:
            maxiter = table["maxiter"]
            if isinstance(maxiter, bool) or not isinstance(maxiter, int) or maxiter < 1:
                raise self.error(
                    "[solver] maxiter", f"must be a positive integer, got {_kind(maxiter)}"
                )
        return method, rtol, maxiter

    # -- [output] ---------------------------------------------------------------------
    def read_output(self, output: Any) -> tuple[Path | None, tuple[str, ...]]:
        table = self.table({"output": output}, "output") if output is not None else {}
        path = None
        if "file" in table:
            file = table["file"]
            if not isinstance(file, str) or not file.strip():
                raise self.error(
                    "[output] file",
                    f'must be a file name such as "result.vtu", got {_kind(file)}',
                )
            path = self.path.parent / file
            check_extension(path, "[output] file", self.error)
        fields: tuple[str, ...] = ("u",)
        if "fields" in table:
            value = table["fields"]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise self.error(
                    "[output] fields",
                    f"must be an array of field names from {_show(list(FIELDS))}, got "
                    f"{_kind(value)}",
                )
            for v in value:
                if v not in FIELDS:
                    extra = (
                        " (u_exact and error are written automatically with [exact])"
                        if v in ("u_exact", "error")
                        else ""
                    )
                    raise self.error(
                        "[output] fields",
                        f"unknown field {_show(v)}; {_suggest(v, FIELDS)}the fields are "
                        f"{', '.join(FIELDS)}{extra}",
                    )
            fields = tuple(f for f in FIELDS if f == "u" or f in value)
        return path, fields

    # -- evaluation -------------------------------------------------------------------
    def check_data(
        self,
        grid: Grid,
        boundary: Mapping[str, tuple[Condition, str]],
        source: Expression,
        fields: tuple[str, ...],
        exact: Expression | None,
    ) -> None:
        """Evaluate every expression where it is used, so non-finite data fail here."""
        for face, (cond, origin) in boundary.items():
            value = getattr(cond, "value", None)
            if not isinstance(value, ExpressionData):
                continue
            i = "xyz".index(face[0])
            side = int(face.endswith("max"))
            key = f"[boundary] {origin}.value"
            where = f" (on face {face})" if origin == "default" else ""
            _evaluate(value.expression, grid.face_coordinates(i, side), self.error, key, where)
        if "f" in fields:
            _evaluate(
                source,
                grid.node_coordinates(),
                self.error,
                "[equation] source",
                " (it is written as field f, so it must be finite on every node)",
            )
        else:
            _evaluate(source, grid.unknown_coordinates(), self.error, "[equation] source", "")
        if exact is not None:
            _evaluate(exact, grid.node_coordinates(), self.error, "[exact] u", "")


def _coefficient_text(value: Any) -> str:
    """``[equation] coefficient`` for the summary: the expression text, or the number."""
    if isinstance(value, str):
        return value.strip()
    return f"{value:g}" if isinstance(value, (int, float)) else str(value)


def _evaluate(
    expr: Expression,
    coords: Sequence[np.ndarray],
    error: Callable[[str, str], CaseError],
    key: str,
    where: str,
) -> None:
    if expr.is_constant:
        return
    try:
        expr.evaluate(coords)
    except ExpressionError as exc:
        raise error(key, f"{exc}{where}") from None


def check_extension(
    path: Path, key: str, error: Callable[[str, str], CaseError] | None = None
) -> None:
    """Raise a :class:`CaseError` for ``key`` if ``path``'s extension cannot be written."""
    if path.suffix.lower() not in SUPPORTED_EXTENSIONS:
        got = f"the extension {path.suffix!r}" if path.suffix else "no extension"
        message = f"{str(path)!r} has {got}; use one of {', '.join(SUPPORTED_EXTENSIONS)}"
        raise error(key, message) if error else CaseError(message, key=key)
