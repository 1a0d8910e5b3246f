"""The vocabulary of case files and the checks of their values.

:data:`TABLES`, :data:`CONDITION_KEYS` and :data:`FIELDS` name what a case file may hold;
:class:`ValueReader` reads the file and checks its keys and values (numbers, constant
expressions, data expressions), and turns every error into a
:class:`~kronpde.errors.CaseError` naming the file and the key
(:func:`case_model_error` for the model's own errors).
"""

from __future__ import annotations

import difflib
import math
import os
import tomllib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from kronpde.errors import CaseError, DataError, GridError
from kronpde.expr.expression import Expression, ExpressionError, parse_expression
from kronpde.geometry.grid import axis_name
from kronpde.io.vtk import SUPPORTED_EXTENSIONS

__all__ = [
    "CONDITION_KEYS",
    "FIELDS",
    "TABLES",
    "ValueReader",
    "case_model_error",
    "check_extension",
    "kind_of",
    "show_value",
    "suggest",
]

#: The tables of a case file and the keys each one takes.
TABLES: dict[str, tuple[str, ...]] = {
    "grid": ("cells", "centering", "lower", "upper", "nodes", "coordinates", "radius"),
    "equation": ("source", "shift", "coefficient", "second", "first"),
    "boundary": ("default", "xmin", "xmax", "ymin", "ymax", "zmin", "zmax", "rmin", "rmax")
    + ("thetamin", "thetamax", "phimin", "phimax", "embedded"),
    "scheme": ("order",),
    "solver": ("method", "rtol", "maxiter"),
    "output": ("file", "fields"),
    "exact": ("u",),
    "geometry": ("level_set", "mask"),
}

#: The keys of a face's table, per condition type.
CONDITION_KEYS: dict[str, tuple[str, ...]] = {
    "dirichlet": ("type", "value"),
    "neumann": ("type", "value"),
    "robin": ("type", "alpha", "beta", "value"),
    "periodic": ("type",),
    "axis": ("type",),
    "pole": ("type",),
}

#: Point-data fields that ``[output] fields`` may request (``u`` is always written).
FIELDS = ("u", "f", "grad_u", "flux", "level_set")


def show_value(value: Any, limit: int = 60) -> str:
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


def kind_of(value: Any) -> str:
    """Say what a TOML value is, in words."""
    if isinstance(value, bool):
        return f"the boolean {show_value(value)}"
    if isinstance(value, str):
        return f"the string {show_value(value)}"
    if isinstance(value, (int, float)):
        return f"the number {show_value(value)}"
    if isinstance(value, list):
        return f"the array {show_value(value)}"
    if isinstance(value, dict):
        return f"the table {show_value(value)}"
    return f"the {type(value).__name__} {show_value(value)}"


def suggest(name: str, choices: Sequence[str], *, quote: bool = True) -> str:
    """``"did you mean 'x'? "`` for the closest of ``choices``, or ``""``.

    With ``quote=False`` the choice is shown bare (``did you mean --method?``: a
    command-line option is written without quotes).
    """
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    if not close:
        close = [c for c in choices if c.lower() == name.lower()]
    if not close:
        return ""
    return f"did you mean {close[0]!r}? " if quote else f"did you mean {close[0]}? "


def case_model_error(
    file: str, origins: Mapping[str, str], exc: GridError | DataError
) -> CaseError:
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
    if subject in ("source", "shift", "coefficient", "second", "first") or subject.startswith(
        ("coefficient.", "second.", "first.")
    ):
        return error(f"[equation] {subject}", detail)
    if subject == "order":
        return error("[scheme] order", detail)
    if subject in ("level_set", "mask"):
        return error(f"[geometry] {subject}", detail)
    if subject == "embedded":
        return error("[boundary] embedded", detail)
    return error("[grid]", str(exc))


def check_extension(
    path: Path, key: str, error: Callable[[str, str], CaseError] | None = None
) -> None:
    """Raise a :class:`CaseError` for ``key`` if ``path``'s extension cannot be written."""
    if path.suffix.lower() not in SUPPORTED_EXTENSIONS:
        got = f"the extension {path.suffix!r}" if path.suffix else "no extension"
        message = f"{str(path)!r} has {got}; use one of {', '.join(SUPPORTED_EXTENSIONS)}"
        raise error(key, message) if error else CaseError(message, key=key)


class ValueReader:
    """Reads a case file and checks its keys and values; every error names the file and key.

    Parameters
    ----------
    path : str or PathLike
        The case file.
    check : bool, optional
        Whether the model checks the equation's data everywhere (default True).
    """

    def __init__(self, path: str | os.PathLike[str], check: bool = True):
        self.file = os.fspath(path)
        self.path = Path(path)
        self.check = check
        self.origins: dict[str, str] = {}  # face -> the key its condition came from

    # -- errors ---------------------------------------------------------------------
    def error(self, key: str | None, message: str) -> CaseError:
        """Return the :class:`~kronpde.errors.CaseError` of ``key`` (None: the whole file)."""
        return CaseError(message, file=self.file, key=key)

    def model_error(self, exc: GridError | DataError) -> CaseError:
        """Turn the model's error about one of its arguments into one about a key of the file."""
        return case_model_error(self.file, self.origins, exc)

    # -- the file -----------------------------------------------------------------
    def parse_file(self) -> dict[str, Any]:
        """Return the file's TOML as a dict."""
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
        """Check the top level: known tables only, each a table, and [grid] present."""
        for name, value in data.items():
            if name in TABLES:
                if not isinstance(value, dict):
                    msg = (
                        f"must be a table, got {kind_of(value)} (write [{name}] on a "
                        "line of its own, then its keys)"
                    )
                    subject = f"[{name}]"
                    raise self.error(subject, msg)
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
            subject = "[grid]"
            raise self.error(subject, "missing; a case needs at least `cells = [...]` in [grid]")

    def table(
        self, data: Mapping[str, Any], name: str, *, required: bool = False
    ) -> dict[str, Any]:
        """Return the table ``name`` with its keys checked against :data:`TABLES`."""
        if name not in data or data[name] is None:
            if required:
                hint = {"equation": " (it needs source = ...; source = 0 for Laplace's equation)"}
                subject = f"[{name}]"
                msg = "missing table" + hint.get(name, "")
                raise self.error(subject, msg)
            return {}
        table = data[name]
        allowed = TABLES[name]
        for key in table:
            if key not in allowed:
                msg = f"unknown key; {suggest(key, allowed)}[{name}] takes " + ", ".join(allowed)
                subject = f"[{name}] {key}"
                raise self.error(subject, msg)
        return table

    # -- values ---------------------------------------------------------------------
    def number(self, value: Any, key: str, *, constant_expression: bool = True) -> float:
        """Return a finite float from a TOML number (or a constant expression)."""
        if isinstance(value, bool):
            raise self.error(key, f"must be a number, got {kind_of(value)}")
        if isinstance(value, int):
            try:
                return float(value)
            except OverflowError:
                raise self.error(key, f"must be finite, got {show_value(value)}") from None
        if isinstance(value, float):
            if not math.isfinite(value):
                raise self.error(key, f"must be a finite number, got {show_value(value)}")
            return value
        if constant_expression and isinstance(value, str):
            expr = self.expression_text(value, key, 3)
            if not expr.is_constant:
                used = ", ".join(sorted(expr.names_used))
                raise self.error(
                    key, f"must be a constant, but {show_value(value)} depends on {used}"
                )
            return float(expr.value)
        allowed = "a number or a constant expression" if constant_expression else "a number"
        raise self.error(key, f"must be {allowed}, got {kind_of(value)}")

    def scalar(self, table: Mapping[str, Any], name: str, key: str, *, default: float) -> float:
        """``[name] key`` as a number (or a constant expression); ``default`` when absent."""
        if key not in table:
            return default
        return self.number(table[key], f"[{name}] {key}")

    def expression_text(self, text: Any, key: str, dimension: int) -> Expression:
        """Parse an expression under ``key``, its error as this key's."""
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
            raise self.error(key, f"must be a number or an expression string, got {kind_of(value)}")
        return self.expression_text(value, key, dimension)

    def data_value(
        self, table: Mapping[str, Any], name: str, key: str, dimension: int
    ) -> float | Expression:
        """``table[name]`` (file key ``key``) as data: a number, or the parsed expression."""
        expr = self.expression(key, table.get(name), dimension)
        return float(expr.value) if expr.is_constant else expr

    def checked(self, check: Callable[..., Any], value: Any, key: str, **kwargs: Any) -> Any:
        """``check(value, key, ...)`` of the settings module, its error as this key's.

        The settings module shows values as Python writes them; a boolean is
        shown as the case file writes it (``the boolean true``, not ``True``).
        """
        try:
            return check(value, key, **kwargs)
        except ValueError as exc:
            message = str(exc).removeprefix(f"{key}: ")
            if isinstance(value, bool) and message.endswith(f"got {value!r}"):
                message = message.removesuffix(repr(value)) + kind_of(value)
            raise self.error(key, message) from None
