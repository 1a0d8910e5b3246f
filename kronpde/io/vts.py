"""Write fields on a curvilinear grid as VTK XML StructuredGrid (``.vts``), atomically.

The points are the grid's nodes (or its cell centres along cell-centred axes of
a mixed grid) at their Cartesian positions, so a polar grid shows as a disc; the
layout (one appended section, raw or zlib, streamed slab by slab) is that of
:mod:`kronpde.io.vtk`, whose writer this module calls with the extra
``<Points>`` array.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Mapping, Sequence

import numpy as np

from kronpde.io.atomic import replace_atomically
from kronpde.io.checks import OutputError, check_arrays, check_compression, check_folder
from kronpde.io.vtk import _as_3d, _write_file

__all__ = ["write_vts"]


def write_vts(
    path: str | os.PathLike[str],
    points: Sequence[np.ndarray],
    point_data: Mapping[str, np.ndarray] | None = None,
    cell_data: Mapping[str, np.ndarray] | None = None,
    *,
    compression: int | None = None,
) -> pathlib.Path:
    """Write fields on a structured grid of Cartesian points as a ``.vts`` file.

    Parameters
    ----------
    path : str or path-like
        The output file; its folder must exist.
    points : sequence of 3 arrays
        ``x, y, z`` of every point, each of the grid's point shape (1-3 axes).
    point_data, cell_data : mapping of str to array, optional
        Fields on the points, and on the cells between them (one less per axis).
    compression : int, optional
        A zlib level 1-9 (None: raw).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    OutputError
        If the folder is missing or the write fails.
    FieldDataError
        If a field is unusable.
    """
    target = pathlib.Path(path)
    check_compression(compression)
    check_folder(target)
    x, y, z = (np.asarray(p, dtype=float) for p in points)
    shape = x.shape
    if y.shape != shape or z.shape != shape:
        msg = f"the point coordinates must share one shape, got {x.shape}, {y.shape}, {z.shape}"
        raise OutputError(msg)
    d = len(shape)
    extent = [(0, n - 1) for n in shape]
    fields = check_arrays(point_data, shape, "point data", vectors=True)
    cells = check_arrays(cell_data, tuple(n - 1 for n in shape), "cell data", vectors=True)
    arrays = [("PointData", k, _as_3d(v, d)) for k, v in fields.items()]
    arrays += [("CellData", k, _as_3d(v, d)) for k, v in cells.items()]
    arrays.append(("Points", "Points", _as_3d(np.stack([x, y, z], axis=-1), d)))
    return replace_atomically(
        target,
        lambda tmp: _write_file(tmp, "StructuredGrid", extent, extent, "", arrays, compression),
        OutputError,
        suffix=".vts",
    )


def read_vts(
    path: str | os.PathLike[str],
) -> tuple[tuple[np.ndarray, ...], dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Read a ``.vts`` written by :func:`write_vts` (raw or zlib appended data).

    Returns
    -------
    points : (x, y, z)
        The Cartesian coordinates of the points, each of the grid's point shape.
    fields, cell_fields : dict of str to ndarray
        The point and cell data, in the grid's (C-order) shapes.
    """
    import re
    import zlib

    raw = pathlib.Path(path).read_bytes()
    start = raw.index(b"<AppendedData")
    start = raw.index(b"_", start) + 1
    head = raw[:start].decode()
    compressed = "vtkZLibDataCompressor" in head
    extent = [int(v) for v in re.search(r'WholeExtent="([^"]*)"', head).group(1).split()]
    dims = [extent[2 * i + 1] - extent[2 * i] + 1 for i in range(3)]
    d = 3
    while d > 1 and dims[d - 1] == 1:
        d -= 1
    found = {}
    section = None
    for line in head.splitlines():
        tag = re.match(r"\s*<(PointData|CellData|Points)\b", line)
        if tag:
            section = tag.group(1)
        m = re.search(r'Name="([^"]*)".*?offset="(\d+)"', line)
        if m and section is not None:
            found[(section, m.group(1))] = ("NumberOfComponents" in line, int(m.group(2)))

    def array(offset: int) -> np.ndarray:
        at = start + offset
        if not compressed:
            n = int(np.frombuffer(raw, "<u8", 1, at)[0])
            return np.frombuffer(raw, "<f8", n // 8, at + 8)
        blocks, _, _ = (int(v) for v in np.frombuffer(raw, "<u8", 3, at))
        sizes = np.frombuffer(raw, "<u8", blocks, at + 24)
        pos = at + 24 + 8 * blocks
        parts = []
        for s in sizes:
            parts.append(zlib.decompress(raw[pos : pos + int(s)]))
            pos += int(s)
        return np.frombuffer(b"".join(parts), "<f8")

    def shaped(values: np.ndarray, vector: bool, cells: bool) -> np.ndarray:
        n = [max(k - 1, 1) if cells else k for k in dims]
        if vector:
            return values.reshape(n[2], n[1], n[0], 3).transpose(2, 1, 0, 3).reshape((*n[:d], 3))
        return values.reshape(n[2], n[1], n[0]).transpose(2, 1, 0).reshape(n[:d])

    points = shaped(array(found[("Points", "Points")][1]), True, False)
    fields, cell_fields = {}, {}
    for (section, name), (vector, offset) in found.items():
        if section == "PointData":
            fields[name] = shaped(array(offset), vector, False)
        elif section == "CellData":
            cell_fields[name] = shaped(array(offset), vector, True)
    return (points[..., 0], points[..., 1], points[..., 2]), fields, cell_fields
