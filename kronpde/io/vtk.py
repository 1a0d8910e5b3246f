"""Write fields on a box grid as structured VTK XML files, for ParaView, atomically.

The structured formats of a tensor grid need no per-node coordinates and no
connectivity: ``.vti`` (ImageData) stores an origin and a spacing per axis and
so needs uniform axes, ``.vtr`` (RectilinearGrid) one coordinate array per
axis and takes any.  The pieces of a grid split between processes and their ``.pvti``/``.pvtr``
index are written by :mod:`kronpde.io.pieces`, a time series with its
ParaView collection (``.pvd``) by :mod:`kronpde.io.series`, both in this
module's file layout.

:func:`write_result` is the one entry point for a result file of any format:
the structured ones here, ``.vtu``/``.vtk``/``.xdmf`` through
:mod:`kronpde.io.mesh` (which loads meshio only then).

Every file is VTK XML with one raw (or zlib-compressed) appended section, written slab by
slab through a bounded buffer and renamed onto the target once complete; the layout and
why raw is the default: ``docs/output-files.md``.
"""

from __future__ import annotations

import os
import pathlib
import zlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from kronpde.io.atomic import replace_atomically
from kronpde.io.checks import (
    MESH_EXTENSIONS,
    SLAB_ITEMS,
    STRUCTURED_EXTENSIONS,
    SUPPORTED_EXTENSIONS,
    FieldDataError,
    NotUniformError,
    OutputError,
    check_arrays,
    check_compression,
    check_folder,
    check_nodes,
    check_uniform,
    check_writable,
    output_extension,
    uniform_spacing,
)
from kronpde.io.xmltext import quoteattr

__all__ = [
    "STRUCTURED_EXTENSIONS",
    "SUPPORTED_EXTENSIONS",
    "FieldDataError",
    "NotUniformError",
    "OutputError",
    "check_writable",
    "write_result",
    "write_structured",
    "write_vts",
]

_KIND = {".vti": "ImageData", ".vtr": "RectilinearGrid"}

#: A box of nodes: ``(first, last)`` per axis, inclusive (VTK's extent).
Extent = Sequence[tuple[int, int]]
_FLOAT = np.dtype("<f8")
_HEADER = np.dtype("<u8")
_BLOCK_BYTES = 1 << 20  # uncompressed size of one zlib block
_OFFSET_WIDTH = 20  # digits of a placeholder offset, patched once known (compressed data)


def __getattr__(name: str) -> Any:
    # structured_mesh moved to kronpde.io.mesh; importing it from here still works,
    # without loading meshio for the structured formats.
    if name == "structured_mesh":
        from kronpde.io.mesh import structured_mesh

        return structured_mesh
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)


# --------------------------------------------------------------------------- arrays in VTK order


def _as_3d(a: np.ndarray, d: int | None = None) -> np.ndarray:
    """View a 1-, 2- or 3-D array as 3-D, missing trailing axes of length 1.

    With ``d``, ``a`` may be a vector field of shape ``grid + (3,)`` (``d`` grid
    axes): it becomes ``(nx, ny, nz, 3)``.
    """
    if d is not None and a.ndim == d + 1:
        return a.reshape(a.shape[:-1] + (1,) * (3 - d) + (3,))
    return a.reshape(a.shape + (1,) * (3 - a.ndim))


def _vtk_order(a: np.ndarray) -> Iterator[np.ndarray]:
    """Yield the values of the 3-D array ``a`` in VTK's order (x fastest), as float64.

    The chunks are C-contiguous little-endian float64 of at most
    :data:`SLAB_ITEMS` values, concatenated ``a.transpose(2, 1, 0).ravel()``;
    each is valid only until the next is asked for (one buffer is reused).
    """
    if a.dtype == np.uint8:  # ghost flags: one byte a point, small enough to write at once
        yield np.ascontiguousarray(a.transpose(2, 1, 0)).reshape(-1)
        return
    if a.ndim == 4:  # a vector field: the components of a point together, x fastest
        for k in range(a.shape[2]):
            yield np.ascontiguousarray(a[:, :, k, :].transpose(1, 0, 2), dtype=_FLOAT).reshape(-1)
        return
    nx, ny, nz = a.shape
    vtk_view = a.transpose(2, 1, 0)  # its C order is VTK's order
    if vtk_view.flags.c_contiguous and a.dtype == _FLOAT:  # 1-D or Fortran-ordered: no copy
        flat = vtk_view.reshape(-1)
        for start in range(0, flat.size, SLAB_ITEMS):
            yield flat[start : start + SLAB_ITEMS]
        return
    if nx * ny <= SLAB_ITEMS:  # whole (x, y) planes, several at a time
        planes = min(nz, SLAB_ITEMS // (nx * ny))
        buf = np.empty((planes, ny, nx), _FLOAT)
        for k in range(0, nz, planes):
            out = buf[: min(planes, nz - k)]
            for j in range(ny):  # row by row: a 2-D transpose small enough for the cache
                out[:, j, :] = a[:, j, k : k + len(out)].T
            yield out
    elif nx <= SLAB_ITEMS:  # rows of x, several at a time
        rows = min(ny, SLAB_ITEMS // nx)
        buf = np.empty((rows, nx), _FLOAT)
        for k in range(nz):
            for j in range(0, ny, rows):
                out = buf[: min(rows, ny - j)]
                out[...] = a[:, j : j + len(out), k].T
                yield out
    else:  # a row longer than a slab
        buf = np.empty(SLAB_ITEMS, _FLOAT)
        for k in range(nz):
            for j in range(ny):
                for i in range(0, nx, SLAB_ITEMS):
                    out = buf[: min(SLAB_ITEMS, nx - i)]
                    out[...] = a[i : i + len(out), j, k]
                    yield out


def _itemsize(a: np.ndarray) -> int:
    """Bytes per value written: 1 for UInt8 ghost flags, else 8 (Float64)."""
    return 1 if a.dtype == np.uint8 else _FLOAT.itemsize


def _write_raw(fh, a: np.ndarray) -> None:
    fh.write(np.array([a.size * _itemsize(a)], _HEADER).tobytes())
    for chunk in _vtk_order(a):
        fh.write(memoryview(chunk).cast("B"))


def _write_compressed(fh, a: np.ndarray, level: int) -> None:
    """Write one array in vtkZLibDataCompressor's layout, the header once the sizes are known."""
    nbytes = a.size * _itemsize(a)
    n_blocks = -(-nbytes // _BLOCK_BYTES)
    header_at = fh.tell()
    fh.write(bytes(_HEADER.itemsize * (3 + n_blocks)))
    sizes: list[int] = []
    pending = bytearray()

    def put(block: memoryview | bytearray) -> None:
        packed = zlib.compress(block, level)
        fh.write(packed)
        sizes.append(len(packed))

    for chunk in _vtk_order(a):
        data = memoryview(chunk).cast("B")
        at = 0
        if pending:
            at = min(_BLOCK_BYTES - len(pending), len(data))
            pending += data[:at]
            if len(pending) == _BLOCK_BYTES:
                put(pending)
                pending = bytearray()
        while len(data) - at >= _BLOCK_BYTES:
            put(data[at : at + _BLOCK_BYTES])
            at += _BLOCK_BYTES
        pending += data[at:]
    if pending:
        put(pending)
    end = fh.tell()
    # VTK's convention: the last block's size, 0 when it is a full block
    header = [n_blocks, _BLOCK_BYTES, nbytes % _BLOCK_BYTES, *sizes]
    fh.seek(header_at)
    fh.write(np.array(header, _HEADER).tobytes())
    fh.seek(end)


# --------------------------------------------------------------------------- the XML


def _extent_text(extent: Sequence[tuple[int, int]]) -> str:
    padded = list(extent) + [(0, 0)] * (3 - len(extent))
    return " ".join(f"{lo} {hi}" for lo, hi in padded)


def _floats(values: Sequence[float]) -> str:
    return " ".join(repr(float(v)) for v in values)


def _head(
    kind: str,
    whole: Extent,
    piece: Extent,
    geometry: str,
    arrays: Sequence[tuple[str, str, np.ndarray]],
    offsets: Sequence[int],
    compressed: bool,
) -> str:
    """Return the XML up to and including the ``_`` that starts the appended data."""
    width = _OFFSET_WIDTH if compressed else 0
    compressor = ' compressor="vtkZLibDataCompressor"' if compressed else ""
    lines = [
        '<?xml version="1.0"?>',
        f'<VTKFile type="{kind}" version="1.0" byte_order="LittleEndian" '
        f'header_type="UInt64"{compressor}>',
        f'  <{kind} WholeExtent="{_extent_text(whole)}"{geometry}>',
        f'    <Piece Extent="{_extent_text(piece)}">',
    ]
    sections = ["PointData", "CellData"] + (["Coordinates"] if kind == "RectilinearGrid" else [])
    sections += ["Points"] if kind == "StructuredGrid" else []  # io.vts
    for section in sections:
        members = [
            (name, off, a.ndim == 4, "UInt8" if a.dtype == np.uint8 else "Float64")
            for (s, name, a), off in zip(arrays, offsets, strict=True)
            if s == section
        ]
        active = ""  # the field ParaView colours by at first
        if members and section not in ("Coordinates", "Points"):
            active = f" Scalars={quoteattr(members[0][0])}"
        lines.append(f"      <{section}{active}>")
        for name, off, vector, kind8 in members:
            components = ' NumberOfComponents="3"' if vector else ""
            lines.append(
                f'        <DataArray type="{kind8}" Name={quoteattr(name)}{components} '
                f'format="appended" offset="{off:0{width}d}"/>'
            )
        lines.append(f"      </{section}>")
    lines += [
        "    </Piece>",
        f"  </{kind}>",
        '  <AppendedData encoding="raw">',
        "   _",
    ]
    return "\n".join(lines)


def _write_file(
    filename: str,
    kind: str,
    whole: Extent,
    piece: Extent,
    geometry: str,
    arrays: Sequence[tuple[str, str, np.ndarray]],
    compression: int | None,
) -> None:
    """Write one VTK XML file: the XML head, then every array appended."""
    compressed = compression is not None
    offsets = [0] * len(arrays)
    if not compressed:  # the offsets are known in advance
        at = 0
        for i, (_, _, a) in enumerate(arrays):
            offsets[i] = at
            at += _HEADER.itemsize + a.size * _itemsize(a)
    with open(filename, "wb") as fh:
        head = _head(kind, whole, piece, geometry, arrays, offsets, compressed).encode()
        fh.write(head)
        start = fh.tell()
        for i, (_, _, a) in enumerate(arrays):
            at = fh.tell() - start
            if compressed:
                offsets[i] = at
            elif at != offsets[i]:  # pragma: no cover - the head would point elsewhere
                msg = f"array {i} starts at {at}, not at the offset {offsets[i]} written"
                raise RuntimeError(msg)
            if compressed:
                _write_compressed(fh, a, compression)
            else:
                _write_raw(fh, a)
        fh.write(b"\n  </AppendedData>\n</VTKFile>\n")
        if compressed:  # the same head, now with the offsets (same width)
            fh.seek(0)
            fh.write(_head(kind, whole, piece, geometry, arrays, offsets, compressed).encode())


# --------------------------------------------------------------------------- one dataset


def _structured_extension(target: pathlib.Path, file_format: str | None) -> str:
    ext = output_extension(target, file_format)
    if ext not in STRUCTURED_EXTENSIONS:
        msg = (
            f"cannot write {str(target)!r}: {ext} is not a structured VTK format; "
            f"use {' or '.join(STRUCTURED_EXTENSIONS)} (or write_result for any format)"
        )
        raise OutputError(msg)
    return ext


def _arrays(
    axes: list[np.ndarray],
    extent: Extent,
    point_data: Mapping[str, np.ndarray] | None,
    cell_data: Mapping[str, np.ndarray] | None,
    ext: str,
) -> tuple[str, list[tuple[str, str, np.ndarray]]]:
    """Return the ImageData geometry attributes and the (section, name, 3-D array) to append."""
    shape = tuple(hi - lo + 1 for lo, hi in extent)
    d = len(shape)
    points = check_arrays(point_data, shape, "point data", vectors=True)
    cells = check_arrays(cell_data, tuple(n - 1 for n in shape), "cell data", vectors=True)
    arrays = [("PointData", k, _as_3d(v, d)) for k, v in points.items()]
    arrays += [("CellData", k, _as_3d(v, d)) for k, v in cells.items()]
    if ext == ".vti":
        origin = [x[0] for x in axes] + [0.0] * (3 - len(axes))
        spacing = [uniform_spacing(x) for x in axes] + [1.0] * (3 - len(axes))
        return f' Origin="{_floats(origin)}" Spacing="{_floats(spacing)}"', arrays
    for i, name in enumerate("xyz"):
        if i < len(axes):
            lo, hi = extent[i]
            coords = axes[i][lo : hi + 1]
        else:
            coords = np.zeros(1)
        arrays.append(("Coordinates", name, _as_3d(coords)))
    return "", arrays


def write_structured(
    path: str | os.PathLike[str],
    nodes: Sequence[np.ndarray],
    point_data: Mapping[str, np.ndarray] | None = None,
    cell_data: Mapping[str, np.ndarray] | None = None,
    *,
    file_format: str | None = None,
    compression: int | None = None,
) -> pathlib.Path:
    """Write fields on a box grid as a ``.vti`` or ``.vtr`` file, atomically.

    Parameters
    ----------
    path : str or path-like
        The output file; its folder must exist.
    nodes : sequence of 1-D arrays
        The grid: one strictly increasing coordinate array per axis (1 to 3).
        ``.vti`` needs every axis uniform (see
        :func:`~kronpde.io.checks.uniform_spacing`); its points are then
        ``origin + i * spacing``, VTK's formula.
    point_data : mapping of str to array, optional
        Nodal fields, each of the nodal shape ``(len(nodes[0]), ...)`` in C
        order or flat; real and finite; written as Float64 (periodic node
        ``m`` is whatever the caller puts there, by convention node 0's value).
    cell_data : mapping of str to array, optional
        Fields on the cells between the nodes (the points are the cell faces),
        each of shape ``(len(nodes[0]) - 1, ...)`` in C order or flat.
    file_format : str, optional
        ``"vti"`` or ``"vtr"``; by default from the extension.
    compression : int, optional
        A zlib level, 1 (fastest) to 9; None (default) writes raw data.

    Returns
    -------
    pathlib.Path
        ``path`` as a :class:`pathlib.Path`.

    Raises
    ------
    OutputError
        If the format is not ``.vti``/``.vtr``, the folder is missing or not
        writable, ``compression`` is not a level, or the write itself fails
        (the cause is chained).
    NotUniformError
        If the file is ``.vti`` and an axis is stretched (the message
        suggests ``.vtr``).
    GridError
        If ``nodes`` is not a valid grid.
    FieldDataError
        If a field name is empty or has spaces, or an array is not real, has
        the wrong shape, or holds NaN or infinity.

    Examples
    --------
    >>> import tempfile
    >>> x, y = np.linspace(0.0, 1.0, 5), np.array([0.0, 0.1, 0.4])
    >>> u = np.add.outer(x, y)                       # shape (5, 3)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     out = write_structured(pathlib.Path(tmp) / "u.vtr", [x, y], {"u": u})
    ...     out.name
    'u.vtr'
    """
    target = pathlib.Path(path)
    ext = _structured_extension(target, file_format)
    check_compression(compression)
    check_folder(target)
    axes = check_nodes(nodes)
    if ext == ".vti":
        check_uniform(target, axes)
    extent = [(0, x.size - 1) for x in axes]
    geometry, arrays = _arrays(axes, extent, point_data, cell_data, ext)
    kind = _KIND[ext]
    return replace_atomically(
        target,
        lambda tmp: _write_file(tmp, kind, extent, extent, geometry, arrays, compression),
        OutputError,
        suffix=ext,
    )


def write_result(
    path: str | os.PathLike[str],
    nodes: Sequence[np.ndarray],
    point_data: Mapping[str, np.ndarray] | None = None,
    cell_data: Mapping[str, np.ndarray] | None = None,
    *,
    file_format: str | None = None,
    compression: int | None = None,
    points: Sequence[np.ndarray] | None = None,
) -> pathlib.Path:
    """Write fields on a box grid to a result file, the format chosen by the extension.

    ``.vti`` and ``.vtr`` are written by :func:`write_structured`, ``.vtu``,
    ``.vtk`` and ``.xdmf`` by :func:`kronpde.io.mesh.write_mesh`; the
    parameters, errors and atomic writing are theirs.  Call
    :func:`check_writable` before a long computation to find a bad target
    (``.vti`` on a stretched grid included) while nothing has been spent.

    Parameters
    ----------
    path : str or path-like
        The output file; its folder must exist.
    nodes : sequence of 1-D arrays
        The grid: one strictly increasing coordinate array per axis (1 to 3).
    point_data : mapping of str to array, optional
        Nodal fields of the nodal shape (or flat), real and finite.
    cell_data : mapping of str to array, optional
        Cell fields, one less per axis than the nodal shape (or flat).
    file_format : str, optional
        ``"vti"``, ``"vtr"``, ``"vtu"``, ``"vtk"`` or ``"xdmf"``; by default
        from the extension.
    compression : int, optional
        A zlib level 1 to 9 for ``.vti``/``.vtr`` (None: raw); any level
        compresses a ``.vtu`` at meshio's fixed level; ignored otherwise.
    points : sequence of 3 arrays, optional
        The Cartesian ``x, y, z`` of every point of a curvilinear grid: ``.vts``
        and the meshio formats place the points there (``.vti``/``.vtr`` are
        refused); a ``.vts`` of a box takes them from ``nodes``.

    Returns
    -------
    pathlib.Path
        ``path`` as a :class:`pathlib.Path`.

    Raises
    ------
    OutputError
        If the format is not supported, the folder is missing or not
        writable, or the write fails; :class:`NotUniformError` (also a
        ``ValueError``) for ``.vti`` on a stretched grid.
    GridError
        If ``nodes`` is not a valid grid.
    FieldDataError
        If a field name or array is unusable.

    Examples
    --------
    >>> import tempfile
    >>> x, y = np.linspace(0.0, 1.0, 5), np.linspace(0.0, 2.0, 3)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     out = write_result(pathlib.Path(tmp) / "u.vti", [x, y], {"u": np.add.outer(x, y)})
    ...     out.suffix
    '.vti'
    """
    target = pathlib.Path(path)
    ext = output_extension(target, file_format)
    check_compression(compression)
    if ext == ".vts":  # a structured grid of points: curvilinear grids (kronpde.io.vts)
        if points is None:
            points = _box_points(check_nodes(nodes))
        return write_vts(target, points, point_data, cell_data, compression=compression)
    if points is not None and ext in STRUCTURED_EXTENSIONS:
        msg = (
            f"cannot write {str(target)!r}: {ext} holds axis-aligned boxes only; write a "
            "curvilinear grid as .vts"
        )
        raise OutputError(msg)
    if ext in MESH_EXTENSIONS:
        from kronpde.io.mesh import write_mesh  # loads meshio, needed only here

        return write_mesh(
            target,
            nodes,
            point_data,
            cell_data,
            file_format=file_format,
            compression=compression,
            points=points,
        )
    return write_structured(
        target, nodes, point_data, cell_data, file_format=file_format, compression=compression
    )


def _box_points(axes: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the ``x, y, z`` of every node of a box (``.vts`` of a Cartesian grid)."""
    grids = np.meshgrid(*axes, indexing="ij")
    zero = np.zeros(grids[0].shape)
    full = [*grids, zero, zero][:3]
    return full[0], full[1], full[2]


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
