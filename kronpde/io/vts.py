"""Read VTK XML StructuredGrid files (``.vts``): a curvilinear grid's result.

:func:`~kronpde.io.vtk.write_vts` writes them (the points at their Cartesian
positions, the layout of every kronpde VTK file); :func:`read_vts` reads one
back, raw or zlib, for ``kronpde plot`` and the tests.
"""

from __future__ import annotations

import os
import pathlib

import numpy as np

from kronpde.io.vtk import write_vts

__all__ = ["read_vts", "write_vts"]


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


def read_pvts(
    path: str | os.PathLike[str],
) -> tuple[tuple[np.ndarray, ...], dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Read a ``.pvts`` index and its ``.vts`` pieces into whole arrays (as :func:`read_vts`)."""
    import re

    index = pathlib.Path(path)
    text = index.read_text()
    whole = [int(v) for v in re.search(r'WholeExtent="([^"]*)"', text).group(1).split()]
    dims = [whole[2 * i + 1] - whole[2 * i] + 1 for i in range(3)]
    d = 3
    while d > 1 and dims[d - 1] == 1:
        d -= 1
    shape = tuple(dims[:d])
    points: list[np.ndarray] = [np.zeros(shape) for _ in range(3)]
    fields: dict[str, np.ndarray] = {}
    cells: dict[str, np.ndarray] = {}
    for extent, source in re.findall(r'<Piece Extent="([^"]*)" Source="([^"]*)"', text):
        e = [int(v) for v in extent.split()]
        box = tuple(slice(e[2 * i], e[2 * i + 1] + 1) for i in range(d))
        cell_box = tuple(slice(e[2 * i], e[2 * i + 1]) for i in range(d))
        xyz, f, c = read_vts(index.parent / source)
        for whole_p, p in zip(points, xyz, strict=True):
            whole_p[box] = p
        for name, v in f.items():
            fields.setdefault(name, np.zeros(shape + v.shape[d:]))[box] = v
        for name, v in c.items():
            size = tuple(n - 1 for n in shape) + v.shape[d:]
            cells.setdefault(name, np.zeros(size))[cell_box] = v
    return (points[0], points[1], points[2]), fields, cells
