"""A grid split between processes: one structured file per piece, and the index naming them.

For ``-o out.vtr`` under MPI each rank writes its piece (:func:`write_piece`)
and rank 0 the ``.pvtr``/``.pvti`` index (:func:`write_index`): ``out.pvtr``
and ``out/out_0.vtr``, ``out/out_1.vtr``, ... beside it.  The file layout is
:mod:`kronpde.io.vtk`'s; the field is never gathered: each piece holds its own
nodes plus the layer it shares with the next piece (:func:`piece_extent`).
"""

from __future__ import annotations

import math
import os
import pathlib
from collections.abc import Mapping, Sequence

import numpy as np

from kronpde._checks import is_count
from kronpde.errors import GridError
from kronpde.io.atomic import replace_atomically
from kronpde.io.checks import (
    FieldDataError,
    OutputError,
    check_arrays,
    check_compression,
    check_folder,
    check_nodes,
    check_uniform,
    uniform_spacing,
)
from kronpde.io.vtk import (
    _KIND,
    _arrays,
    _as_3d,
    _extent_text,
    _floats,
    _structured_extension,
    _write_file,
)
from kronpde.io.xmltext import quoteattr

__all__ = [
    "PARALLEL_EXTENSIONS",
    "index_path",
    "piece_extent",
    "piece_path",
    "write_index",
    "write_piece",
]

#: The index file of a parallel write, by the extension of its pieces.
PARALLEL_EXTENSIONS = {".vti": ".pvti", ".vtr": ".pvtr", ".vts": ".pvts"}


def _piece_extension(target: pathlib.Path) -> str:
    """Return the structured extension of a piece: ``.vti``, ``.vtr`` or ``.vts`` (curvilinear)."""
    if target.suffix.lower() == ".vts":
        return ".vts"
    return _structured_extension(target, None)

Extent = Sequence[tuple[int, int]]


def index_path(path: str | os.PathLike[str]) -> pathlib.Path:
    """Return the index file of a parallel write to ``path``: ``out.vtr`` -> ``out.pvtr``.

    Parameters
    ----------
    path : str or path-like
        The output file as the user named it, ``.vti`` or ``.vtr``.

    Returns
    -------
    pathlib.Path
        The ``.pvti``/``.pvtr`` beside it.
    """
    target = pathlib.Path(path)
    ext = _piece_extension(target)
    return target.with_suffix(PARALLEL_EXTENSIONS[ext])


def piece_path(path: str | os.PathLike[str], rank: int) -> pathlib.Path:
    """Return the file of rank ``rank``'s piece: ``out.vtr`` -> ``out/out_<rank>.vtr``.

    Parameters
    ----------
    path : str or path-like
        The output file as the user named it, ``.vti`` or ``.vtr``.
    rank : int
        The piece's number, 0 or more.

    Returns
    -------
    pathlib.Path
        The piece, in a folder named after the file, beside it.
    """
    target = pathlib.Path(path)
    ext = _piece_extension(target)
    if not is_count(rank):
        msg = f"rank must be an integer >= 0, got {rank!r}"
        raise OutputError(msg)
    stem = target.stem
    return target.parent / stem / f"{stem}_{int(rank)}{ext.lower()}"


def piece_extent(
    start: Sequence[int], stop: Sequence[int], node_shape: Sequence[int]
) -> tuple[tuple[int, int], ...]:
    """Return the node extent of a piece that owns nodes ``start <= i < stop`` per axis.

    The piece also holds the first layer of nodes past ``stop`` (owned by the
    next piece), so that neighbouring pieces share a layer of nodes and their
    cells together tile the grid: the extent is ``(start, min(stop,
    n - 1))`` per axis, inclusive, VTK's convention.

    Parameters
    ----------
    start, stop : sequence of int
        The owned node range per axis (``stop`` exclusive), e.g. a PETSc
        DMDA's ownership corners.
    node_shape : sequence of int
        Nodes per axis of the whole grid.

    Returns
    -------
    tuple of (int, int)
        ``(first, last)`` node index per axis.

    Notes
    -----
    A piece must span at least one cell on every axis (:func:`write_piece`
    refuses one that owns only the last layer of nodes of an axis).

    Examples
    --------
    >>> piece_extent((0, 4), (4, 9), (9, 9))
    ((0, 4), (4, 8))
    """
    if not len(start) == len(stop) == len(node_shape):
        msg = "start, stop and node_shape must have one entry per axis"
        raise GridError(msg)
    extent = []
    for lo, hi, n in zip(start, stop, node_shape, strict=True):
        if not 0 <= lo < hi <= n:
            msg = f"the owned range {lo}..{hi} does not lie within 0..{n}"
            raise GridError(msg)
        extent.append((int(lo), int(min(hi, n - 1))))
    return tuple(extent)


def _check_extent(extent: Extent, shape: tuple[int, ...], what: str) -> list[tuple[int, int]]:
    pairs = [tuple(p) for p in extent]
    if len(pairs) != len(shape) or any(len(p) != 2 for p in pairs):
        msg = f"{what} must give (first, last) node indices for each of the {len(shape)} axes"
        raise GridError(msg)
    out = []
    for (lo, hi), n in zip(pairs, shape, strict=True):
        if not 0 <= int(lo) <= int(hi) <= n - 1:
            msg = f"{what} {pairs} does not lie within the grid's nodes 0..{n - 1}"
            raise GridError(msg)
        out.append((int(lo), int(hi)))
    return out


def write_piece(
    path: str | os.PathLike[str],
    nodes: Sequence[np.ndarray],
    extent: Extent,
    point_data: Mapping[str, np.ndarray] | None = None,
    cell_data: Mapping[str, np.ndarray] | None = None,
    *,
    rank: int,
    compression: int | None = None,
    points: Sequence[np.ndarray] | None = None,
) -> pathlib.Path:
    """Write one process's piece of a grid split between processes, atomically.

    The piece goes to :func:`piece_path` ``(path, rank)``; the folder is
    created if missing.  Each rank calls this with its own piece, rank 0
    also :func:`write_index` (after every rank is done, if readers may look
    at once).  The field is never gathered: each piece holds the nodes of its
    ``extent`` (its own nodes plus the layer it shares with the next piece,
    see :func:`piece_extent`).

    Parameters
    ----------
    path : str or path-like
        The output file as the user named it, ``.vti`` or ``.vtr``.
    nodes : sequence of 1-D arrays
        The node coordinates of the whole grid, one array per axis.
    extent : sequence of (int, int)
        The piece's first and last node index per axis (inclusive).
    point_data : mapping of str to array, optional
        The piece's nodal fields, each of shape ``(last - first + 1, ...)``.
    cell_data : mapping of str to array, optional
        The piece's cell fields, each of shape ``(last - first, ...)``.
    rank : int
        The piece's number.
    compression : int, optional
        A zlib level 1 to 9; None (default) writes raw data.
    points : sequence of 3 arrays, optional
        ``.vts`` (a curvilinear grid): the Cartesian ``x, y, z`` of the whole
        grid's points (the piece takes its extent's).

    Returns
    -------
    pathlib.Path
        The piece file.

    Raises
    ------
    OutputError, NotUniformError, GridError, FieldDataError
        As :func:`write_structured`; GridError also for an extent outside the
        grid.
    """
    target = pathlib.Path(path)
    ext = _piece_extension(target)
    check_compression(compression)
    piece = piece_path(target, rank)
    check_folder(piece, create=True)
    axes = check_nodes(nodes)
    if ext == ".vti":
        check_uniform(target, axes)
    box = _check_extent(extent, tuple(x.size for x in axes), "extent")
    if any(lo == hi for lo, hi in box):
        # VTK would count the cells of such a piece as those of a lower-dimensional grid
        msg = f"the piece's extent {box} spans no cells along an axis; give it at least one"
        raise GridError(msg)
    if ext == ".vts":  # a curvilinear grid: the piece's points at their Cartesian positions
        geometry, arrays, kind = "", _point_arrays(points, box, point_data, cell_data), ""
        kind = "StructuredGrid"
    else:
        geometry, arrays = _arrays(axes, box, point_data, cell_data, ext)
        kind = _KIND[ext]
    piece.parent.mkdir(exist_ok=True)
    return replace_atomically(
        piece,
        lambda tmp: _write_file(tmp, kind, box, box, geometry, arrays, compression),
        OutputError,
        suffix=ext,
    )


def write_index(
    path: str | os.PathLike[str],
    nodes: Sequence[np.ndarray],
    extents: Sequence[Extent],
    point_names: Sequence[str] = (),
    cell_names: Sequence[str] = (),
) -> pathlib.Path:
    """Write the ``.pvti``/``.pvtr`` index of a grid written in pieces, atomically.

    Parameters
    ----------
    path : str or path-like
        The output file as the user named it, ``.vti`` or ``.vtr``; the index
        is :func:`index_path` ``(path)``, naming the pieces
        :func:`piece_path` ``(path, rank)`` for ``rank`` 0, 1, ...
    nodes : sequence of 1-D arrays
        The node coordinates of the whole grid.
    extents : sequence of extents
        Every piece's extent, in rank order, as given to :func:`write_piece`.
    point_names, cell_names : sequence of str
        The point- and cell-data fields every piece holds.

    Returns
    -------
    pathlib.Path
        The index file.

    Raises
    ------
    OutputError
        If the folder is not writable or the write fails.
    GridError
        If ``nodes`` is not a grid, an extent lies outside it, or the pieces'
        cells do not add up to the grid's.
    FieldDataError
        If a name is empty or has white space.
    """
    target = pathlib.Path(path)
    ext = _piece_extension(target)
    index = index_path(target)
    check_folder(index)
    axes = check_nodes(nodes)
    if ext == ".vti":
        check_uniform(target, axes)
    shape = tuple(x.size for x in axes)
    boxes = [_check_extent(e, shape, f"extents[{r}]") for r, e in enumerate(extents)]
    if not boxes:
        msg = "extents must name at least one piece"
        raise GridError(msg)
    cells = sum(math.prod(hi - lo for lo, hi in box) for box in boxes)
    if cells != math.prod(n - 1 for n in shape):
        msg = (
            f"the pieces hold {cells} cells but the grid has {math.prod(n - 1 for n in shape)}; "
            "pieces must tile the grid, sharing one layer of nodes (see piece_extent)"
        )
        raise GridError(msg)
    for what, names in (("point data", point_names), ("cell data", cell_names)):
        for name in names:
            if not isinstance(name, str) or not name or any(c.isspace() for c in name):
                msg = f"{what} name {name!r} is not allowed; use a non-empty string without spaces"
                raise FieldDataError(msg)
    kind = "P" + _KIND.get(ext, "StructuredGrid")
    whole = [(0, n - 1) for n in shape]
    geometry = ""
    if ext == ".vti":
        origin = [x[0] for x in axes] + [0.0] * (3 - len(axes))
        spacing = [uniform_spacing(x) for x in axes] + [1.0] * (3 - len(axes))
        geometry = f' Origin="{_floats(origin)}" Spacing="{_floats(spacing)}"'
    lines = [
        '<?xml version="1.0"?>',
        f'<VTKFile type="{kind}" version="1.0" byte_order="LittleEndian" header_type="UInt64">',
        f'  <{kind} WholeExtent="{_extent_text(whole)}" GhostLevel="0"{geometry}>',
    ]
    sections = [("PPointData", point_names), ("PCellData", cell_names)]
    if ext == ".vtr":
        sections.append(("PCoordinates", ("x", "y", "z")))
    if ext == ".vts":
        sections.append(("PPoints", ("Points",)))
    for section, names in sections:
        plain = section not in ("PCoordinates", "PPoints")
        active = f" Scalars={quoteattr(names[0])}" if names and plain else ""
        lines.append(f"    <{section}{active}>")
        three = ' NumberOfComponents="3"' if section == "PPoints" else ""
        lines += [f'      <PDataArray type="Float64" Name={quoteattr(n)}{three}/>' for n in names]
        lines.append(f"    </{section}>")
    for rank, box in enumerate(boxes):
        source = piece_path(target, rank).relative_to(index.parent).as_posix()
        lines.append(f'    <Piece Extent="{_extent_text(box)}" Source={quoteattr(source)}/>')
    lines += [f"  </{kind}>", "</VTKFile>", ""]
    text = "\n".join(lines)

    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)

    return replace_atomically(index, write, OutputError)


def _point_arrays(
    points: Sequence[np.ndarray] | None,
    box: Sequence[tuple[int, int]],
    point_data: Mapping[str, np.ndarray] | None,
    cell_data: Mapping[str, np.ndarray] | None,
) -> list[tuple[str, str, np.ndarray]]:
    """Return the arrays of a ``.vts`` piece: its fields and its slice of the points."""
    if points is None:
        msg = "a .vts piece needs the points of the grid (points=)"
        raise OutputError(msg)
    index = tuple(slice(lo, hi + 1) for lo, hi in box)
    xyz = np.stack([np.asarray(p, dtype=float)[index] for p in points], axis=-1)
    shape = xyz.shape[:-1]
    d = len(shape)
    fields = check_arrays(point_data, shape, "point data", vectors=True)
    cells = check_arrays(cell_data, tuple(n - 1 for n in shape), "cell data", vectors=True)
    arrays = [("PointData", k, _as_3d(v, d)) for k, v in fields.items()]
    arrays += [("CellData", k, _as_3d(v, d)) for k, v in cells.items()]
    arrays.append(("Points", "Points", _as_3d(xyz, d)))
    return arrays
