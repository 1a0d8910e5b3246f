"""Write fields on a box grid as structured VTK XML files, for ParaView, atomically.

The structured formats of a tensor grid need no per-node coordinates and no
connectivity: ``.vti`` (ImageData) stores an origin and a spacing per axis and
so needs uniform axes, ``.vtr`` (RectilinearGrid) one coordinate array per
axis and takes any.  Besides one file per grid this module writes

* the pieces of a grid split between processes (:func:`write_piece`, one per
  rank) and the ``.pvti``/``.pvtr`` index naming them (:func:`write_index`,
  rank 0), for ``-o out.vtr`` under MPI: ``out.pvtr`` and ``out/out_0.vtr``,
  ``out/out_1.vtr``, ... beside it;
* a time series: :class:`TimeSeriesWriter` adds one file per step and keeps
  the ParaView collection (``.pvd``) listing (time, file) up to date.

:func:`write_result` is the one entry point for a result file of any format:
the structured ones here, ``.vtu``/``.vtk``/``.xdmf`` through
:mod:`kronpde.io.mesh` (which loads meshio only then).

The file layout
---------------
VTK XML, ``version="1.0"``, little-endian, ``header_type="UInt64"`` (arrays
over 4 GiB work), every array Float64 in one raw ``<AppendedData>`` section
after the XML header: per array an 8-byte byte count, then the values.  VTK
stores x fastest while kronpde's arrays are C-ordered with axis 0 = x
slowest, so each array is written transposed, slab by slab through a buffer
of :data:`~kronpde.io.checks.SLAB_ITEMS` values: writing adds no copy of an
array, only that buffer.  With ``compression`` (a zlib level), each array is
VTK's ``vtkZLibDataCompressor`` layout instead (blocks of 1 MiB compressed
one by one, a header of their sizes written once they are known).  zlib runs
at 40-100 MB/s against the raw write's several hundred MB/s: at level 1 the
fields of a solution (``u``, ``u_exact``, ``error``) shrink to about half for
about ten times the time, so raw is the default (``scripts/bench_output.py``).

Every file goes to a temporary file in the target folder that is renamed onto
the target once complete (:func:`kronpde.io.atomic.replace_atomically`): a
failed or interrupted write leaves an existing file as it was and no
temporary behind.
"""

from __future__ import annotations

import math
import os
import pathlib
import zlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from xml.sax.saxutils import quoteattr

import numpy as np

from kronpde.errors import GridError
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

__all__ = [
    "PARALLEL_EXTENSIONS",
    "STRUCTURED_EXTENSIONS",
    "SUPPORTED_EXTENSIONS",
    "FieldDataError",
    "NotUniformError",
    "OutputError",
    "TimeSeriesWriter",
    "check_writable",
    "index_path",
    "piece_extent",
    "piece_path",
    "write_index",
    "write_piece",
    "write_result",
    "write_structured",
]

#: The index file of a parallel write, by the extension of its pieces.
PARALLEL_EXTENSIONS = {".vti": ".pvti", ".vtr": ".pvtr"}

_KIND = {".vti": "ImageData", ".vtr": "RectilinearGrid"}
_FLOAT = np.dtype("<f8")
_HEADER = np.dtype("<u8")
_BLOCK_BYTES = 1 << 20  # uncompressed size of one zlib block
_OFFSET_WIDTH = 20  # digits of a placeholder offset, patched once known (compressed data)

Extent = Sequence[tuple[int, int]]


def __getattr__(name: str) -> Any:
    # structured_mesh moved to kronpde.io.mesh; importing it from here still works,
    # without loading meshio for the structured formats.
    if name == "structured_mesh":
        from kronpde.io.mesh import structured_mesh

        return structured_mesh
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)


# --------------------------------------------------------------------------- arrays in VTK order


def _as_3d(a: np.ndarray) -> np.ndarray:
    """View a 1-, 2- or 3-D array as 3-D, missing trailing axes of length 1."""
    return a.reshape(a.shape + (1,) * (3 - a.ndim))


def _vtk_order(a: np.ndarray) -> Iterator[np.ndarray]:
    """Yield the values of the 3-D array ``a`` in VTK's order (x fastest), as float64.

    The chunks are C-contiguous little-endian float64 of at most
    :data:`SLAB_ITEMS` values, concatenated ``a.transpose(2, 1, 0).ravel()``;
    each is valid only until the next is asked for (one buffer is reused).
    """
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


def _write_raw(fh, a: np.ndarray) -> None:
    fh.write(np.array([a.size * _FLOAT.itemsize], _HEADER).tobytes())
    for chunk in _vtk_order(a):
        fh.write(memoryview(chunk).cast("B"))


def _write_compressed(fh, a: np.ndarray, level: int) -> None:
    """Write one array in vtkZLibDataCompressor's layout, the header once the sizes are known."""
    nbytes = a.size * _FLOAT.itemsize
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
    for section in sections:
        members = [
            (name, off) for (s, name, _), off in zip(arrays, offsets, strict=True) if s == section
        ]
        active = ""
        if members and section != "Coordinates":  # the field ParaView colours by at first
            active = f" Scalars={quoteattr(members[0][0])}"
        lines.append(f"      <{section}{active}>")
        for name, off in members:
            lines.append(
                f'        <DataArray type="Float64" Name={quoteattr(name)} format="appended" '
                f'offset="{off:0{width}d}"/>'
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
            at += _HEADER.itemsize + a.size * _FLOAT.itemsize
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
    points = check_arrays(point_data, shape, "point data")
    cells = check_arrays(cell_data, tuple(n - 1 for n in shape), "cell data")
    arrays = [("PointData", k, _as_3d(v)) for k, v in points.items()]
    arrays += [("CellData", k, _as_3d(v)) for k, v in cells.items()]
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
    if ext in MESH_EXTENSIONS:
        from kronpde.io.mesh import write_mesh  # loads meshio, needed only here

        return write_mesh(
            target,
            nodes,
            point_data,
            cell_data,
            file_format=file_format,
            compression=compression,
        )
    return write_structured(
        target, nodes, point_data, cell_data, file_format=file_format, compression=compression
    )


# --------------------------------------------------------------------------- parallel pieces


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
    ext = _structured_extension(target, None)
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
    ext = _structured_extension(target, None)
    if isinstance(rank, bool) or not isinstance(rank, int | np.integer) or rank < 0:
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
    ext = _structured_extension(target, None)
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
    geometry, arrays = _arrays(axes, box, point_data, cell_data, ext)
    piece.parent.mkdir(exist_ok=True)
    kind = _KIND[ext]
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
    ext = _structured_extension(target, None)
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
    kind = "P" + _KIND[ext]
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
    for section, names in sections:
        active = f" Scalars={quoteattr(names[0])}" if names and section != "PCoordinates" else ""
        lines.append(f"    <{section}{active}>")
        lines += [f'      <PDataArray type="Float64" Name={quoteattr(n)}/>' for n in names]
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


# --------------------------------------------------------------------------- time series


class TimeSeriesWriter:
    """Write one structured file per time step and keep a ParaView ``.pvd`` index of them.

    ``TimeSeriesWriter("run.pvd")`` writes the steps into the folder ``run/``
    beside it (created at the first step): ``run/run_000000.vti``,
    ``run/run_000001.vti``, ...  After each step the collection ``run.pvd``
    listing every (time, file) so far is replaced atomically, so a run that
    stops at any moment leaves a readable series of the steps written until
    then.  A new writer starts a new series: its first step replaces an
    existing ``run.pvd`` (older step files not listed are left alone).

    Parameters
    ----------
    path : str or path-like
        The collection file, ``.pvd``; its folder must exist.
    file_format : {".vti", ".vtr"}
        The format of the steps (``.vti`` needs uniform axes).
    compression : int, optional
        A zlib level 1 to 9 for the steps; None (default) writes raw data.

    Raises
    ------
    OutputError
        If ``path`` is not ``.pvd``, its folder is not writable, or the format
        is not ``.vti``/``.vtr``.

    Examples
    --------
    >>> import tempfile
    >>> x = np.linspace(0.0, 1.0, 9)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     series = TimeSeriesWriter(pathlib.Path(tmp) / "run.pvd")
    ...     for step in range(3):
    ...         _ = series.write(0.5 * step, [x], {"u": np.sin(x - step)})
    ...     [(t, f.name) for t, f in series.steps]
    [(0.0, 'run_000000.vti'), (0.5, 'run_000001.vti'), (1.0, 'run_000002.vti')]
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        file_format: str = ".vti",
        *,
        compression: int | None = None,
    ):
        self.path = pathlib.Path(path)
        if self.path.suffix.lower() != ".pvd":
            msg = f"cannot write {str(self.path)!r}: a time series' index is a .pvd file"
            raise OutputError(msg)
        check_folder(self.path)
        self.folder = self.path.parent / self.path.stem
        self.extension = _structured_extension(self.folder / "step", file_format)
        check_compression(compression)
        self.compression = compression
        self._steps: list[tuple[float, pathlib.Path]] = []

    @property
    def steps(self) -> list[tuple[float, pathlib.Path]]:
        """The (time, file) of every step written so far, in order."""
        return list(self._steps)

    def step_path(self, number: int) -> pathlib.Path:
        """Return the file of step ``number`` (counted from 0)."""
        return self.folder / f"{self.path.stem}_{number:06d}{self.extension}"

    def write(
        self,
        time: float,
        nodes: Sequence[np.ndarray],
        point_data: Mapping[str, np.ndarray] | None = None,
        cell_data: Mapping[str, np.ndarray] | None = None,
    ) -> pathlib.Path:
        """Write the step at ``time`` (see :func:`write_structured`) and update the index.

        Parameters
        ----------
        time : float
            Finite, later than the previous step's.
        nodes, point_data, cell_data
            As for :func:`write_structured`.

        Returns
        -------
        pathlib.Path
            The step's file.
        """
        time = self._check_time(time)
        self.folder.mkdir(exist_ok=True)
        file = write_structured(
            self.step_path(len(self._steps)),
            nodes,
            point_data,
            cell_data,
            compression=self.compression,
        )
        self.add(time, file)
        return file

    def add(self, time: float, file: str | os.PathLike[str]) -> pathlib.Path:
        """List an already written file (e.g. a parallel index) as the step at ``time``.

        Parameters
        ----------
        time : float
            Finite, later than the previous step's.
        file : str or path-like
            The step's file (any VTK format ParaView reads), normally beside
            or below the ``.pvd``.

        Returns
        -------
        pathlib.Path
            The ``.pvd`` file.
        """
        time = self._check_time(time)
        self._steps.append((time, pathlib.Path(file)))
        try:
            return replace_atomically(self.path, self._write_index, OutputError)
        except BaseException:
            self._steps.pop()
            raise

    def _check_time(self, time: float) -> float:
        try:
            t = float(time)
        except (TypeError, ValueError):
            t = math.nan
        if not math.isfinite(t) or isinstance(time, bool):
            msg = f"time must be a finite number, got {time!r}"
            raise FieldDataError(msg)
        if self._steps and not t > self._steps[-1][0]:
            msg = f"time {t!r} must be later than the previous step's, {self._steps[-1][0]!r}"
            raise FieldDataError(msg)
        return t

    def _write_index(self, tmp: str) -> None:
        lines = [
            '<?xml version="1.0"?>',
            '<VTKFile type="Collection" version="1.0" byte_order="LittleEndian">',
            "  <Collection>",
        ]
        for t, file in self._steps:
            ref = os.path.relpath(os.path.abspath(file), os.path.abspath(self.path.parent))
            ref = pathlib.Path(ref).as_posix()
            lines.append(f'    <DataSet timestep="{t!r}" group="" part="0" file={quoteattr(ref)}/>')
        lines += ["  </Collection>", "</VTKFile>", ""]
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write("\n".join(lines))
