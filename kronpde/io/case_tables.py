"""Reading the tables of a case file: [grid], [boundary], [equation], [scheme], [solver], [output].

:class:`TableReader` adds to :class:`~kronpde.io.case_values.ValueReader` one method per
table (or part of one); :func:`kronpde.io.case.load_case` calls them in the file's order.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from kronpde._checks import is_count
from kronpde.errors import GridError
from kronpde.geometry.boundary import Condition, Dirichlet, Neumann, Periodic, Robin
from kronpde.geometry.grid import STRETCHINGS, face_name, stretched_nodes
from kronpde.io.case_values import (
    CONDITION_KEYS,
    FIELDS,
    TABLES,
    ValueReader,
    check_extension,
    kind_of,
    show_value,
    suggest,
)
from kronpde.problem.settings import AUTO, SolverSettings, check_maxiter, check_tolerance

__all__ = ["TableReader"]


class TableReader(ValueReader):
    """:class:`~kronpde.io.case_values.ValueReader` with a reader for every table."""

    # -- [equation] -------------------------------------------------------------------
    def coefficient(self, equation: Mapping[str, Any]) -> float | str | dict[str, float | str]:
        """``k`` as the model takes it: a number, an expression string, or one per axis.

        A table (``{ x = "1 + x", y = 2.0 }``) is anisotropic diffusion; the
        model checks its axis names (an axis the grid lacks names its key).
        """
        key = "[equation] coefficient"
        value = equation.get("coefficient", 1.0)
        if isinstance(value, Mapping):
            return {
                str(name): entry if isinstance(entry, str) else self.number(entry, f"{key}.{name}")
                for name, entry in value.items()
            }
        if isinstance(value, str):
            return value
        return self.number(value, key)

    def shift_value(self, equation: Mapping[str, Any], dimension: int) -> float | str:
        """``[equation] shift``: a number, or an expression (a sum of one-axis functions)."""
        value = equation.get("shift")
        if isinstance(value, str):
            expr = self.expression_text(value, "[equation] shift", dimension)
            if not expr.is_constant or expr.is_complex:
                # the model splits it (parsed in a curvilinear grid's names), or a complex constant
                return value if getattr(self, "system", None) is None else expr
        return self.scalar(equation, "equation", "shift", default=0.0)

    def separable_form(self, equation: Mapping[str, Any]) -> tuple[Any, Any]:
        """``second`` and ``first`` (the non-divergence form), tables of numbers and strings.

        ``second`` with ``coefficient`` names ``[equation] second``; the model
        checks the axis names and the entries.
        """
        out = []
        for name in ("second", "first"):
            key = f"[equation] {name}"
            value = equation.get(name)
            if value is not None and not isinstance(value, Mapping):
                raise self.error(key, "must be a table with one entry per axis, e.g. { x = 1.0 }")
            if value is not None:
                value = {
                    str(axis): (
                        entry if isinstance(entry, str) else self.number(entry, f"{key}.{axis}")
                    )
                    for axis, entry in value.items()
                }
            out.append(value)
        if out[0] is not None and "coefficient" in equation:
            key = "[equation] second"
            raise self.error(
                key,
                "coefficient and second both given: the non-divergence form "
                "-sum_i (a_i u_ii + b_i u_i) has no k (put k into second and first)",
            )
        return out[0], out[1]

    # -- [grid] -----------------------------------------------------------------------
    def read_cells(self, grid: Mapping[str, Any]) -> tuple[int, ...]:
        """``[grid] cells``: 1 to 3 positive integers, one per axis."""
        if "cells" not in grid:
            msg = (
                "missing: give the intervals per axis, e.g. cells = [32, 32] (its length is "
                "the dimension)"
            )
            subject = "[grid] cells"
            raise self.error(subject, msg)
        cells = grid["cells"]
        if not isinstance(cells, list):
            hint = f" (write cells = [{cells}] for 1-D)" if isinstance(cells, int) else ""
            msg = (
                f"must be an array of 1 to 3 positive integers, one per axis, got "
                f"{kind_of(cells)}{hint}"
            )
            subject = "[grid] cells"
            raise self.error(subject, msg)
        if not 1 <= len(cells) <= 3:
            msg = f"must have 1 to 3 entries (the dimension), got {len(cells)}: {show_value(cells)}"
            subject = "[grid] cells"
            raise self.error(subject, msg)
        if not all(is_count(c, 1) for c in cells):
            subject = "[grid] cells"
            raise self.error(subject, f"must be positive integers, got {show_value(cells)}")
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
                f"as in cells), got {kind_of(value)}"
            )
            raise self.error(key, msg)
        elif len(value) != dimension:
            msg = (
                f"must have {dimension} entries, one per axis as in cells, got "
                f"{len(value)}: {show_value(value)}"
            )
            raise self.error(key, msg)
        for v in value:
            if not isinstance(v, str) or v not in allowed:
                hint = suggest(v, allowed) if isinstance(v, str) else ""
                msg = f'must be "node" or "cell"; {hint}got {kind_of(v)}'
                raise self.error(key, msg)
        return tuple(value)

    def read_bounds(
        self, grid: Mapping[str, Any], dimension: int
    ) -> tuple[tuple[float, ...] | None, tuple[float, ...] | None]:
        """``[grid] lower`` and ``upper``: a number per axis each, or None where not given."""
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
                    f"got {kind_of(value)}"
                )
                raise self.error(full, msg)
            if len(value) != dimension:
                msg = (
                    f"must have {dimension} entries, one per axis as in cells, got "
                    f"{len(value)}: {show_value(value)}"
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
                f'or nodes.x = {{ stretch = "tanh", beta = 2.0 }}, got {kind_of(table)}'
            )
            subject = "[grid] nodes"
            raise self.error(subject, msg)
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
                    f'{{ stretch = "tanh", beta = 2.0 }}, got {kind_of(spec)}'
                )
                raise self.error(key, msg)
        return nodes

    def named_stretching(
        self, spec: Mapping[str, Any], key: str, cells: int, lower: float, upper: float
    ) -> np.ndarray:
        """``nodes.x = { stretch = ..., beta = ... }``: the nodes of a named stretching."""
        allowed = ("stretch", "beta")
        for name in spec:
            if name not in allowed:
                msg = f"unknown key; {suggest(name, allowed)}a stretching takes stretch, beta"
                subject = f"{key}.{name}"
                raise self.error(subject, msg)
        if "stretch" not in spec:
            msg = f"missing: give stretch = one of {', '.join(STRETCHINGS)}"
            subject = f"{key}.stretch"
            raise self.error(subject, msg)
        stretch = spec["stretch"]
        if not isinstance(stretch, str):
            msg = f"must be one of {', '.join(STRETCHINGS)}; got {kind_of(stretch)}"
            subject = f"{key}.stretch"
            raise self.error(subject, msg)
        beta = self.number(spec["beta"], f"{key}.beta") if "beta" in spec else 2.0
        try:
            return stretched_nodes(cells, lower, upper, stretch, beta)
        except GridError as exc:
            hint = suggest(stretch, STRETCHINGS) if exc.subject == "stretch" else ""
            subject = f"{key}.{exc.subject}"
            raise self.error(subject, hint + exc.detail) from None

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
            subject = "[boundary]"
            raise self.error(subject, msg)
        all_faces = [k for k in TABLES["boundary"][1:] if k != "embedded"]
        for key in boundary:
            if key in all_faces and key not in faces:
                msg = (
                    f"the grid is {dimension}-D (cells has {dimension} entries) and has no face "
                    f"{key}; its faces are {', '.join(faces)}"
                )
                subject = f"[boundary] {key}"
                raise self.error(subject, msg)
            if key not in all_faces and key not in ("default", "embedded"):
                msg = (
                    f"unknown face; {suggest(key, ['default', *faces])}the faces of this "
                    f"{dimension}-D grid are {', '.join(faces)}, plus default"
                )
                subject = f"[boundary] {key}"
                raise self.error(subject, msg)
        return self.face_conditions(boundary, faces, dimension)

    def face_conditions(
        self, boundary: dict, faces: list[str], dimension: int
    ) -> dict[str, Condition]:
        """Return each face's condition: its own entry, else ``default``; name the missing."""
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
            subject = "[boundary]"
            raise self.error(subject, msg)
        return conditions

    def condition(self, spec: Any, face: str, dimension: int) -> Condition:
        """Return the condition of one ``[boundary]`` entry (a face, or the default)."""
        key = f"[boundary] {face}"
        if not isinstance(spec, dict):
            msg = (
                f'must be a table such as {{ type = "dirichlet", value = 0 }}, got {kind_of(spec)}'
            )
            raise self.error(key, msg)
        if "type" not in spec:
            msg = 'missing: give type = "dirichlet", "neumann", "robin" or "periodic"'
            subject = f"{key}.type"
            raise self.error(subject, msg)
        kind = spec["type"]
        if not isinstance(kind, str) or kind not in CONDITION_KEYS:
            hint = suggest(kind, list(CONDITION_KEYS)) if isinstance(kind, str) else ""
            msg = (
                f'must be "dirichlet", "neumann", "robin" or "periodic"; {hint}got {kind_of(kind)}'
            )
            subject = f"{key}.type"
            raise self.error(subject, msg)
        allowed = CONDITION_KEYS[kind]
        for name in spec:
            if name not in allowed:
                msg = (
                    f"not a key of a {kind} condition; {suggest(name, allowed)}a {kind} face "
                    f"takes {', '.join(allowed)}"
                )
                subject = f"{key}.{name}"
                raise self.error(subject, msg)
        for name in allowed:
            if name not in spec:
                what = "a number" if name in ("alpha", "beta") else "a number or an expression"
                msg = f"missing: a {kind} condition needs {name} ({what})"
                subject = f"{key}.{name}"
                raise self.error(subject, msg)
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
            subject = f"{key}.{exc.subject}"
            raise self.error(subject, exc.detail) from None

    # -- [scheme] ---------------------------------------------------------------------
    def read_scheme(self, scheme: Any) -> int:
        """``[scheme] order``: the integer 2 (default) or 4 (checked further by the model)."""
        table = self.table({"scheme": scheme}, "scheme")
        order = table.get("order", 2)
        if not is_count(order) or order not in (2, 4):
            subject = "[scheme] order"
            msg = f"must be 2 or 4, got {kind_of(order)}"
            raise self.error(subject, msg)
        return order

    # -- [solver] ---------------------------------------------------------------------
    def read_solver(self, solver: Any) -> SolverSettings:
        """``[solver]``: method, rtol (a number or ``"auto"``) and maxiter."""
        table = self.table({"solver": solver}, "solver")
        method = table.get("method", "auto")
        if not isinstance(method, str):
            subject = "[solver] method"
            msg = f"must be a method name, got {kind_of(method)}"
            raise self.error(subject, msg)
        rtol: float | str = AUTO  # the default of case files: stop at the discretisation error
        if "rtol" in table:
            rtol = table["rtol"]
            if rtol != AUTO:
                if isinstance(rtol, str):
                    msg = f'must be a number > 0 and < 1, or "auto", got {show_value(rtol)}'
                    key = "[solver] rtol"
                    raise self.error(key, msg)
                rtol = self.number(rtol, "[solver] rtol", constant_expression=False)
                rtol = self.checked(check_tolerance, rtol, "[solver] rtol", below_one=True)
        maxiter = table.get("maxiter")
        if maxiter is not None:
            if not isinstance(maxiter, int):
                msg = f"must be a positive integer, got {kind_of(maxiter)}"
                subject = "[solver] maxiter"
                raise self.error(subject, msg)
            maxiter = self.checked(check_maxiter, maxiter, "[solver] maxiter", positive=True)
        return SolverSettings(method, rtol, maxiter)

    # -- [output] ---------------------------------------------------------------------
    def read_output(self, output: Any) -> tuple[Path | None, tuple[str, ...]]:
        """``[output]``: the file (relative to the case's folder) and the fields to write."""
        table = self.table({"output": output}, "output")
        path = None
        if "file" in table:
            file = table["file"]
            if not isinstance(file, str) or not file.strip():
                msg = f'must be a file name such as "result.vtu", got {kind_of(file)}'
                subject = "[output] file"
                raise self.error(subject, msg)
            path = self.path.parent / file
            check_extension(path, "[output] file", self.error)
        fields: tuple[str, ...] = ("u",)
        if "fields" in table:
            value = table["fields"]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                msg = (
                    f"must be an array of field names from {show_value(list(FIELDS))}, got "
                    f"{kind_of(value)}"
                )
                subject = "[output] fields"
                raise self.error(subject, msg)
            for v in value:
                if v not in FIELDS:
                    extra = (
                        " (u_exact and error are written automatically with [exact])"
                        if v in ("u_exact", "error")
                        else ""
                    )
                    msg = (
                        f"unknown field {show_value(v)}; {suggest(v, FIELDS)}the fields are "
                        f"{', '.join(FIELDS)}{extra}"
                    )
                    subject = "[output] fields"
                    raise self.error(subject, msg)
            fields = tuple(f for f in FIELDS if f == "u" or f in value)
        return path, fields
