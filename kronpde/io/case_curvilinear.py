"""Reading ``[grid] coordinates``: curvilinear case files (``case-format.md``).

:class:`CurvilinearReader` adds to the table reader what a curvilinear grid
changes: the system and its ``radius``, expressions in the system's names
(``r``, ``theta``, ``z``, ``phi`` and the Cartesian ``x, y, z``), faces named
after the axes with the ``axis`` and ``pole`` types, the grid itself
(:class:`~kronpde.geometry.curvilinear.CurvilinearGrid`) and the refusal of
``.vti``/``.vtr`` output, which names ``.vts``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kronpde.errors import CaseError, ExpressionError
from kronpde.expr.expression import Expression
from kronpde.geometry.boundary import Condition, OnAxis, Pole
from kronpde.geometry.coordinates import SYSTEMS, Coordinates, coordinates
from kronpde.geometry.curvilinear import CurvilinearGrid
from kronpde.geometry.grid import Grid
from kronpde.io.case_tables import TableReader
from kronpde.io.case_values import kind_of, suggest

__all__ = ["CURVILINEAR_REFUSED", "CurvilinearReader", "refuse_extension"]

#: Output extensions a curvilinear grid cannot be written in (axis-aligned boxes only).
CURVILINEAR_REFUSED = (".vti", ".vtr", ".pvti", ".pvtr")


def refuse_extension(path: Path, title: str) -> str | None:
    """Return the message refusing ``path`` for a curvilinear grid, or None where it is fine."""
    ext = path.suffix.lower()
    if ext not in CURVILINEAR_REFUSED:
        return None
    return (
        f"{ext} holds axis-aligned boxes only; a grid in {title} coordinates is written as .vts "
        f"(VTK StructuredGrid, the points at their Cartesian positions) or .vtu/.vtk/.xdmf, "
        f"e.g. {path.with_suffix('.vts').name!r}"
    )


class CurvilinearReader(TableReader):
    """The table reader, aware of ``[grid] coordinates`` (module docstring)."""

    system: Coordinates | None = None

    def read_coordinates(self, grid: Mapping[str, Any], dimension: int) -> Coordinates | None:
        """``[grid] coordinates`` and ``radius``: the system, or None for Cartesian grids."""
        key = "[grid] coordinates"
        name = grid.get("coordinates", "cartesian")
        if not isinstance(name, str) or name not in SYSTEMS:
            hint = suggest(name, SYSTEMS) if isinstance(name, str) else ""
            msg = f"must be one of {', '.join(SYSTEMS)}; {hint}got {kind_of(name)}"
            raise self.error(key, msg)
        radius = 1.0
        if "radius" in grid:
            if name != "sphere":
                msg = f"only a sphere has a radius; this grid is {name}"
                subject = "[grid] radius"
                raise self.error(subject, msg)
            radius = self.number(grid["radius"], "[grid] radius")
            if not (math.isfinite(radius) and radius > 0.0):
                subject = "[grid] radius"
                raise self.error(subject, f"must be > 0, got {radius:g}")
        if name == "cartesian":
            return None
        try:
            self.system = coordinates(name, dimension, radius)
        except ValueError as exc:
            raise self.error(key, str(exc)) from None
        return self.system

    def expression_text(self, text: Any, key: str, dimension: int) -> Expression:
        """Parse an expression under ``key`` in the system's names (or Cartesian ones)."""
        if self.system is None:
            return super().expression_text(text, key, dimension)
        try:
            return self.system.expression(text)
        except ExpressionError as exc:
            raise self.error(key, exc.detail or str(exc)) from None

    def read_boundary(self, boundary: Any, dimension: int) -> dict[str, Condition]:
        """Return the faces of a curvilinear grid (named after its axes), else as for boxes."""
        if self.system is None:
            return super().read_boundary(boundary, dimension)
        faces = list(self.system.face_names)
        if boundary is None:
            msg = f"missing; every face needs a condition: name the faces ({', '.join(faces)})"
            subject = "[boundary]"
            raise self.error(subject, msg)
        for key in boundary:
            if key not in faces and key != "default":
                msg = (
                    f"unknown face; {suggest(key, ['default', *faces])}the faces of this grid "
                    f"in {self.system.title} coordinates are {', '.join(faces)}, plus default"
                )
                subject = f"[boundary] {key}"
                raise self.error(subject, msg)
        return self.face_conditions(boundary, faces, dimension)

    def condition(self, spec: Any, face: str, dimension: int) -> Condition:
        """Return a face's condition; ``axis`` and ``pole`` take no data."""
        kind = spec.get("type") if isinstance(spec, dict) else None
        if kind not in ("axis", "pole"):
            return super().condition(spec, face, dimension)
        key = f"[boundary] {face}"
        if self.system is None:
            msg = f'an {kind} face needs curvilinear coordinates (coordinates = "polar", ...)'
            subject = f"{key}.type"
            raise self.error(subject, msg)
        for name in spec:
            if name != "type":
                msg = f"not a key of an {kind} face, which takes type only (no data)"
                subject = f"{key}.{name}"
                raise self.error(subject, msg)
        return OnAxis() if kind == "axis" else Pole()

    def make_grid(
        self,
        cells: tuple[int, ...],
        lower: tuple[float, ...] | None,
        upper: tuple[float, ...] | None,
        boundary: dict[str, Condition],
        nodes: Any,
        centering: tuple[str, ...],
    ) -> Grid:
        """Return the grid of the file (:meth:`Grid.box`, or a curvilinear one)."""
        lo = None if lower is None else list(lower)
        hi = None if upper is None else list(upper)
        if self.system is None:
            return Grid.box(list(cells), lo, hi, boundary, nodes=nodes, centering=centering)
        return CurvilinearGrid.build(
            self.system, list(cells), lo, hi, boundary, centering=centering, nodes=nodes
        )

    def check_output(self, path: Path | None) -> None:
        """Refuse ``.vti``/``.vtr`` for a curvilinear grid, naming ``.vts``."""
        if path is None or self.system is None:
            return
        msg = refuse_extension(path, self.system.title)
        if msg is not None:
            subject = "[output] file"
            raise self.error(subject, msg)


def output_refusal(grid: Grid, path: Path) -> CaseError | None:
    """Return the error of writing ``grid`` to ``path`` where its format cannot hold it."""
    system = grid.coordinate_system
    if system is None:
        return None
    msg = refuse_extension(path, system.title)
    return None if msg is None else CaseError(msg, key="--output")
