"""Read a result file back as a box grid and its point and cell fields.

The inverse of :func:`kronpde.io.vtk.write_result`, for every format it writes
and the parallel index files:

* ``.vti``/``.vtr`` (VTK XML ImageData/RectilinearGrid) and their parallel
  indexes ``.pvti``/``.pvtr`` are parsed here: the XML head, then each array
  from the appended section (raw or base64, zlib- or lzma-compressed) or
  inline (base64 or ASCII), so files ParaView or the vtk package wrote read
  too.  A parallel index's pieces are read one by one into the whole grid.
* ``.vtu`` and ``.vtk`` are read with meshio; their points must be every node
  of a tensor grid in C order (``structured_mesh``), from which the axes'
  coordinates and the fields' shapes are recovered.  ``.xdmf`` files with
  inline XML data (the only kind kronpde writes) are read here, because
  meshio's XDMF reader needs h5py even for those.

:func:`read_series` lists the (time, file) steps of a ParaView ``.pvd``
collection, such as :class:`kronpde.io.series.TimeSeriesWriter` writes.
"""

from __future__ import annotations

import base64
import contextlib
import io
import lzma
import math
import os
import pathlib
import xml.etree.ElementTree as ET
import zlib
from dataclasses import dataclass, field

import numpy as np

from kronpde.errors import CaseError

__all__ = ["READABLE_EXTENSIONS", "ResultError", "ResultFile", "read_result", "read_series"]

#: Every extension :func:`read_result` reads.
READABLE_EXTENSIONS = (".vti", ".vtr", ".pvti", ".pvtr", ".vtu", ".vtk", ".xdmf")

_DIMENSION = {"line": 1, "quad": 2, "hexahedron": 3}
_KINDS = {
    ".vti": "ImageData",
    ".vtr": "RectilinearGrid",
    ".pvti": "PImageData",
    ".pvtr": "PRectilinearGrid",
}
_TYPES = {
    "Int8": "i1",
    "UInt8": "u1",
    "Int16": "i2",
    "UInt16": "u2",
    "Int32": "i4",
    "UInt32": "u4",
    "Int64": "i8",
    "UInt64": "u8",
    "Float32": "f4",
    "Float64": "f8",
}
_DECOMPRESS = {"vtkZLibDataCompressor": zlib.decompress, "vtkLZMADataCompressor": lzma.decompress}
_HEAD_READ = 1 << 16  # bytes read at a time while looking for the appended data


class ResultError(CaseError):
    """A result file that cannot be read, or is not a field on a kronpde box grid.

    Like :class:`~kronpde.errors.CaseError` (an input file the user gave), it
    carries the file, and its message starts with it.
    """


@dataclass(frozen=True, eq=False)
class ResultFile:
    """Fields on a box grid, as read from a file.

    Attributes
    ----------
    path : pathlib.Path
        The file.
    nodes : tuple of ndarray
        One increasing coordinate array per axis (1 to 3 axes).
    fields : dict of str to ndarray
        Point data, each of shape ``tuple(len(x) for x in nodes)`` (C order).
    cell_fields : dict of str to ndarray
        Cell data, each of shape ``tuple(len(x) - 1 for x in nodes)``.
    """

    path: pathlib.Path
    nodes: tuple[np.ndarray, ...]
    fields: dict[str, np.ndarray]
    cell_fields: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def dimension(self) -> int:
        """Number of axes."""
        return len(self.nodes)


def _error(path: pathlib.Path, message: str) -> ResultError:
    return ResultError(message, file=str(path))


# --------------------------------------------------------------------------- VTK XML


def _b64_chars(nbytes: int) -> int:
    """Characters of the base64 encoding of ``nbytes`` bytes."""
    return 4 * -(-nbytes // 3)


class _VTKFile:
    """The XML head of a VTK XML file and a way to read each of its arrays."""

    def __init__(self, path: pathlib.Path):
        self.path = path
        self.appended_at: int | None = None  # file position just after the "_"
        try:
            self.root = self._parse()
        except OSError as exc:
            raise _error(path, f"cannot read the file ({exc.strerror or exc})") from None
        except ET.ParseError as exc:
            raise _error(path, f"not a valid VTK XML file: {exc}") from None
        if self.root.tag != "VTKFile":
            raise _error(path, "not a VTK XML file (no VTKFile element)")
        order = self.root.get("byte_order", "LittleEndian")
        self.order = "<" if order == "LittleEndian" else ">"
        header = self.root.get("header_type", "UInt32")
        if header not in ("UInt32", "UInt64"):
            raise _error(path, f"unknown header_type {header!r}")
        self.header = np.dtype(self.order + _TYPES[header])
        compressor = self.root.get("compressor")
        if compressor is not None and compressor not in _DECOMPRESS:
            raise _error(
                path,
                f"compressed with {compressor}, which kronpde cannot read "
                f"(it reads {', '.join(_DECOMPRESS)} and uncompressed data)",
            )
        self.decompress = _DECOMPRESS.get(compressor) if compressor else None
        appended = self.root.find("AppendedData")
        self.encoding = appended.get("encoding", "raw") if appended is not None else None

    def _parse(self) -> ET.Element:
        """Parse the XML head; the binary appended data is left in the file."""
        tag = b"<AppendedData"
        head = bytearray()
        at = close = mark = -1
        with open(self.path, "rb") as fh:
            while mark < 0:
                more = fh.read(_HEAD_READ)
                searched = max(0, len(head) - len(tag))  # only new bytes, in linear time
                head += more
                if at < 0:
                    at = head.find(tag, searched)
                if at >= 0 and close < 0:
                    close = head.find(b">", at)
                if close >= 0:
                    mark = head.find(b"_", close)
                if not more:
                    break
        if at < 0:
            return ET.fromstring(bytes(head))  # inline data only: the whole file is XML
        if mark < 0:
            msg = "the appended data does not start with '_'"
            raise ET.ParseError(msg)
        self.appended_at = mark + 1
        return ET.fromstring(bytes(head[: close + 1]) + b"</AppendedData></VTKFile>")

    def _read(self, offset: int, nbytes: int) -> bytes:
        with open(self.path, "rb") as fh:
            fh.seek(offset)
            data = fh.read(nbytes)
        if len(data) != nbytes:
            raise _error(self.path, "the file ends inside its appended data (truncated?)")
        return data

    def array(self, element: ET.Element, count: int) -> np.ndarray:
        """Return the ``count`` values of a DataArray (times its components), flat, as float64."""
        name = element.get("Name", "")
        kind = element.get("type", "")
        if kind not in _TYPES:
            raise _error(self.path, f"array {name!r} has the unsupported type {kind!r}")
        dtype = np.dtype(self.order + _TYPES[kind])
        count *= int(element.get("NumberOfComponents", "1"))
        fmt = element.get("format", "")
        try:
            if fmt == "appended":
                values = self._appended(element, dtype, count)
            elif fmt == "binary":
                values = self._decode("".join((element.text or "").split()).encode(), dtype)
            elif fmt == "ascii":
                values = np.array((element.text or "").split(), dtype=dtype)
            else:
                raise _error(self.path, f"array {name!r} has the unknown format {fmt!r}")
        except (ValueError, zlib.error, lzma.LZMAError, IndexError) as exc:
            raise _error(self.path, f"array {name!r} cannot be decoded ({exc})") from None
        if values.size != count:
            raise _error(
                self.path, f"array {name!r} holds {values.size} values where {count} are expected"
            )
        return values.astype(np.float64, copy=False)

    def _appended(self, element: ET.Element, dtype: np.dtype, count: int) -> np.ndarray:
        if self.appended_at is None:
            raise _error(self.path, "an array refers to appended data, but there is none")
        start = self.appended_at + int(element.get("offset", "0"))
        h = self.header.itemsize
        if self.encoding == "raw":
            if self.decompress is None:
                (nbytes,) = np.frombuffer(self._read(start, h), self.header)
                if nbytes != count * dtype.itemsize:
                    msg = f"{nbytes} bytes for {count} values"
                    raise ValueError(msg)
                if start + h + int(nbytes) > self.path.stat().st_size:
                    raise _error(self.path, "the file ends inside its appended data (truncated?)")
                return np.fromfile(self.path, dtype, count, offset=start + h)
            head = np.frombuffer(self._read(start, 3 * h), self.header)
            n_blocks = int(head[0])
            sizes = np.frombuffer(self._read(start + 3 * h, n_blocks * h), self.header)
            data = self._read(start + (3 + n_blocks) * h, int(sizes.sum()))
            return self._blocks(head, sizes, data, dtype)
        if self.encoding != "base64":
            msg = f"unknown AppendedData encoding {self.encoding!r}"
            raise ValueError(msg)
        if self.decompress is None:
            first = base64.b64decode(self._read(start, _b64_chars(h)))[:h]
            (nbytes,) = np.frombuffer(first, self.header)
            text = self._read(start, _b64_chars(h + int(nbytes)))
        else:
            first = base64.b64decode(self._read(start, _b64_chars(3 * h)))[: 3 * h]
            n_blocks = int(np.frombuffer(first, self.header)[0])
            head_chars = _b64_chars((3 + n_blocks) * h)
            head = np.frombuffer(base64.b64decode(self._read(start, head_chars)), self.header)
            text = self._read(start, head_chars + _b64_chars(int(head[3:].sum())))
        return self._decode(text, dtype)

    def _decode(self, text: bytes, dtype: np.dtype) -> np.ndarray:
        """Decode inline (or appended) base64 data: uncompressed, one stream; else two."""
        h = self.header.itemsize
        if self.decompress is None:
            raw = base64.b64decode(text)
            (nbytes,) = np.frombuffer(raw[:h], self.header)
            return np.frombuffer(raw[h : h + int(nbytes)], dtype)
        first = np.frombuffer(base64.b64decode(text[: _b64_chars(3 * h)])[: 3 * h], self.header)
        n_blocks = int(first[0])
        head_chars = _b64_chars((3 + n_blocks) * h)
        head = np.frombuffer(base64.b64decode(text[:head_chars]), self.header)
        data = base64.b64decode(text[head_chars:])
        return self._blocks(head[:3], head[3:], data, dtype)

    def _blocks(
        self, head: np.ndarray, sizes: np.ndarray, data: bytes, dtype: np.dtype
    ) -> np.ndarray:
        n_blocks, block, last = (int(v) for v in head[:3])
        if len(sizes) != n_blocks:
            msg = f"{len(sizes)} block sizes for {n_blocks} blocks"
            raise ValueError(msg)
        total = (n_blocks - 1) * block + (last or block) if n_blocks else 0
        out = np.empty(total, np.uint8)
        at = end = 0
        for b, size in enumerate(sizes.tolist()):
            chunk = self.decompress(data[at : at + size])
            want = last if b == n_blocks - 1 and last else block
            if len(chunk) != want:
                msg = f"block {b} holds {len(chunk)} bytes, not {want}"
                raise ValueError(msg)
            out[end : end + want] = np.frombuffer(chunk, np.uint8)
            at += size
            end += want
        return out.view(dtype)


def _ints(text: str | None, n: int, what: str, path: pathlib.Path) -> list[int]:
    try:
        values = [int(v) for v in (text or "").split()]
    except ValueError:
        values = []
    if len(values) != n:
        raise _error(path, f"{what} must be {n} integers, got {text!r}")
    return values


def _floats(text: str | None, n: int, what: str, path: pathlib.Path) -> list[float]:
    try:
        values = [float(v) for v in (text or "").split()]
    except ValueError:
        values = []
    if len(values) != n or not all(math.isfinite(v) for v in values):
        raise _error(path, f"{what} must be {n} finite numbers, got {text!r}")
    return values


@dataclass
class _Block:
    """One structured dataset (a file or a piece): its extent, coordinates and fields."""

    extent: list[tuple[int, int]]  # three (first, last)
    coords: list[np.ndarray]  # three, the nodes of the extent
    points: dict[str, np.ndarray]  # shape (nx, ny, nz)
    cells: dict[str, np.ndarray]  # shape (max(nx - 1, 1), ...)


def _pairs(values: list[int]) -> list[tuple[int, int]]:
    return [(values[2 * i], values[2 * i + 1]) for i in range(3)]


def _read_block(path: pathlib.Path, kind: str) -> _Block:
    """Read a serial ``.vti``/``.vtr`` (one piece) into three-axis arrays."""
    vtk = _VTKFile(path)
    if vtk.root.get("type") != kind:
        raise _error(path, f"not a VTK {kind} file (type {vtk.root.get('type')!r})")
    grid = vtk.root.find(kind)
    pieces = grid.findall("Piece") if grid is not None else []
    if len(pieces) != 1:
        raise _error(path, f"a {kind} file with {len(pieces)} pieces; kronpde reads one")
    (piece,) = pieces
    whole = grid.get("WholeExtent")
    extent = _pairs(_ints(piece.get("Extent", whole), 6, "Extent", path))
    if any(hi < lo for lo, hi in extent):
        raise _error(path, f"the extent {extent} is empty")
    n = [hi - lo + 1 for lo, hi in extent]
    if kind == "ImageData":
        origin = _floats(grid.get("Origin", "0 0 0"), 3, "Origin", path)
        spacing = _floats(grid.get("Spacing", "1 1 1"), 3, "Spacing", path)
        direction = grid.get("Direction")
        if direction is not None:
            d = _floats(direction, 9, "Direction", path)
            if d != [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]:
                raise _error(path, "its axes are rotated (Direction); kronpde grids are not")
        # VTK's own formula for the points
        coords = [
            origin[i] + spacing[i] * np.arange(extent[i][0], extent[i][1] + 1, dtype=float)
            for i in range(3)
        ]
    else:
        arrays = piece.findall("Coordinates/DataArray")
        if len(arrays) != 3:
            raise _error(path, "a RectilinearGrid needs three Coordinates arrays")
        coords = [vtk.array(a, n[i]) for i, a in enumerate(arrays)]
    cell_shape = [max(m - 1, 1) for m in n]

    def fields(section: str, shape: list[int]) -> dict[str, np.ndarray]:
        out = {}
        for element in piece.findall(f"{section}/DataArray"):
            values = vtk.array(element, math.prod(shape))
            components = int(element.get("NumberOfComponents", "1"))
            values = values.reshape(shape[::-1] + ([components] if components > 1 else []))
            axes = (2, 1, 0, 3)[: values.ndim]
            out[element.get("Name", "")] = values.transpose(axes)
        return out

    return _Block(extent, coords, fields("PointData", n), fields("CellData", cell_shape))


def _read_parallel(path: pathlib.Path, kind: str) -> _Block:
    """Read a ``.pvti``/``.pvtr`` index and every piece it names into one block."""
    try:
        root = ET.parse(path).getroot()
    except OSError as exc:
        raise _error(path, f"cannot read the file ({exc.strerror or exc})") from None
    except ET.ParseError as exc:
        raise _error(path, f"not a valid VTK XML file: {exc}") from None
    grid = root.find("P" + kind)
    if root.tag != "VTKFile" or root.get("type") != "P" + kind or grid is None:
        raise _error(path, f"not a VTK P{kind} index")
    whole = _pairs(_ints(grid.get("WholeExtent"), 6, "WholeExtent", path))
    n = [hi - lo + 1 for lo, hi in whole]
    names = {
        s: [a.get("Name", "") for a in grid.findall(f"{s}/PDataArray")]
        for s in ("PPointData", "PCellData")
    }
    pieces = grid.findall("Piece")
    if not pieces:
        raise _error(path, "an index without pieces")
    cell_shape = [max(m - 1, 1) for m in n]
    coords = [np.full(m, np.nan) for m in n]
    points = {k: np.empty(n) for k in names["PPointData"]}
    cells = {k: np.empty(cell_shape) for k in names["PCellData"]}
    covered = np.zeros(cell_shape, dtype=bool)
    for element in pieces:
        source = element.get("Source")
        if not source:
            raise _error(path, "a piece without a Source file")
        file = path.parent / source
        if not file.is_file():
            raise _error(path, f"its piece {source!r} does not exist")
        block = _read_block(file, kind)
        stated = _pairs(_ints(element.get("Extent"), 6, "a piece's Extent", path))
        if stated != block.extent:
            raise _error(
                path,
                f"the piece {source!r} has the extent {block.extent}, the index says {stated}",
            )
        if any(lo < w[0] or hi > w[1] for (lo, hi), w in zip(block.extent, whole, strict=True)):
            raise _error(path, f"the piece {source!r} lies outside the whole extent")
        offsets = [(lo - w[0], hi - w[0]) for (lo, hi), w in zip(block.extent, whole, strict=True)]
        if any(lo == hi for (lo, hi), m in zip(offsets, n, strict=True) if m > 1):
            raise _error(path, f"the piece {source!r} spans no cells along an axis")
        box = tuple(slice(lo, hi + 1) for lo, hi in offsets)
        # cells lo..hi-1 of an axis; a single-node axis (below 3-D) has one cell, VTK's way
        cell_box = tuple(
            slice(lo, hi) if m > 1 else slice(0, 1) for (lo, hi), m in zip(offsets, n, strict=True)
        )
        for i in range(3):
            coords[i][box[i]] = block.coords[i]
        for what, target, got, where in (
            ("point", points, block.points, box),
            ("cell", cells, block.cells, cell_box),
        ):
            for name, values in target.items():
                if name not in got:
                    raise _error(path, f"the piece {source!r} has no {what} data {name!r}")
                values[where] = got[name]
        covered[cell_box] = True
    if not covered.all() or np.isnan(np.concatenate(coords)).any():
        raise _error(path, "its pieces do not cover the whole extent")
    return _Block(whole, coords, points, cells)


def _structured(path: pathlib.Path, ext: str) -> ResultFile:
    kind = _KINDS[ext].removeprefix("P")
    block = _read_parallel(path, kind) if ext.startswith(".p") else _read_block(path, kind)
    n = [c.size for c in block.coords]
    d = 3 if n[2] > 1 else 2 if n[1] > 1 else 1
    if min(n[:d]) < 2:
        raise _error(
            path,
            "not a kronpde result: an axis with a single node below one with several "
            f"(nodes per axis {n})",
        )
    nodes = tuple(np.array(c) for c in block.coords[:d])
    if not all(np.all(np.diff(x) > 0) for x in nodes):
        raise _error(path, "not a kronpde result: its coordinates are not increasing")
    shape = tuple(n[:d])
    fields = {
        k: np.ascontiguousarray(v.reshape(shape + v.shape[3:])) for k, v in block.points.items()
    }
    cell_shape = tuple(m - 1 for m in shape)
    cell_fields = {
        k: np.ascontiguousarray(v.reshape(cell_shape + v.shape[3:])) for k, v in block.cells.items()
    }
    return ResultFile(path=path, nodes=nodes, fields=fields, cell_fields=cell_fields)


# --------------------------------------------------------------------------- meshio formats


def _read_xdmf(path: pathlib.Path):
    """Points, cells, cell type, point and cell data of an XDMF file with inline XML data."""
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise _error(path, f"not a valid XDMF (XML) file: {exc}") from None
    types = {"Polyline": "line", "Quadrilateral": "quad", "Hexahedron": "hexahedron"}

    def values(item: ET.Element | None, what: str) -> np.ndarray:
        if item is None or item.get("Format", "XML") != "XML":
            raise _error(
                path,
                f"the {what} is not stored inline as XML; kronpde reads only the "
                "XDMF files it writes (open others with meshio and h5py)",
            )
        try:
            return np.array((item.text or "").split(), dtype=float)
        except ValueError:
            raise _error(path, f"the {what} holds something that is not a number") from None

    geometry = root.find(".//Geometry/DataItem")
    topology = root.find(".//Topology")
    if geometry is None or topology is None:
        raise _error(path, "an XDMF file without Geometry or Topology")
    points = values(geometry, "geometry")
    if points.size % 3:
        raise _error(path, "the geometry is not a list of 3-D points")
    points = points.reshape(-1, 3)
    cell_type = types.get(topology.get("TopologyType", ""), "")
    per_cell = int(topology.get("NodesPerElement", "0") or 0)
    cells = values(topology.find("DataItem"), "topology").astype(np.int64)
    cells = cells.reshape(-1, per_cell) if per_cell and cells.size % per_cell == 0 else None
    data: dict[str, np.ndarray] = {}
    cell_data: dict[str, np.ndarray] = {}
    for attr in root.iter("Attribute"):
        name = attr.get("Name", "")
        target = cell_data if attr.get("Center", "Node") == "Cell" else data
        target[name] = values(attr.find("DataItem"), f"data {name!r}")
    return points, cells, cell_type, data, cell_data


def _read_meshio(path: pathlib.Path):
    import meshio

    noise = io.StringIO()
    try:
        # meshio prints its own complaints and may call sys.exit for a file it cannot parse
        with contextlib.redirect_stdout(noise), contextlib.redirect_stderr(noise):
            mesh = meshio.read(path)
    except (Exception, SystemExit) as exc:
        detail = " ".join(noise.getvalue().replace("Error: ", "").split()) or str(exc)
        raise _error(path, f"cannot read it as a {path.suffix} file ({detail})") from None
    one = len(mesh.cells) == 1
    cell_type = mesh.cells[0].type if one else ""
    cells = mesh.cells[0].data if one else None
    cell_data = {k: v[0] for k, v in mesh.cell_data.items() if one and len(v) == 1}
    return np.asarray(mesh.points, dtype=float), cells, cell_type, dict(mesh.point_data), cell_data


def _unstructured(path: pathlib.Path, ext: str) -> ResultFile:
    read = _read_xdmf if ext == ".xdmf" else _read_meshio
    points, cells, cell_type, data, cell_data = read(path)
    d = _DIMENSION.get(cell_type)
    if d is None or points.ndim != 2 or points.shape[1] != 3 or len(points) < 2:
        raise _error(
            path,
            "not a kronpde result (expected one block of lines, quads or "
            "hexahedra on the nodes of a box grid)",
        )
    nodes = tuple(np.unique(points[:, i]) for i in range(d))
    shape = tuple(x.size for x in nodes)
    grid = np.stack(np.meshgrid(*nodes, indexing="ij"), axis=-1).reshape(-1, d)
    if (
        math.prod(shape) != len(points)
        or min(shape) < 2
        or not np.array_equal(points[:, :d], grid)
        or np.any(points[:, d:] != 0.0)
    ):
        raise _error(
            path,
            "not a kronpde result: its points are not the nodes of a box grid in kronpde's order",
        )
    fields = {}
    for name, values in data.items():
        a = np.asarray(values, dtype=float)
        if a.size != len(points):
            raise _error(path, f"point data {name!r} has {a.size} values for {len(points)} points")
        fields[name] = a.reshape(shape)
    cell_fields = {}
    if cell_data:
        from kronpde.io.mesh import structured_mesh

        if cells is None or not np.array_equal(cells, structured_mesh(nodes).cells[0].data):
            raise _error(
                path, "not a kronpde result: its cells are not the boxes of the grid in order"
            )
        cell_shape = tuple(m - 1 for m in shape)
        for name, values in cell_data.items():
            a = np.asarray(values, dtype=float)
            if a.size != math.prod(cell_shape):
                raise _error(path, f"cell data {name!r} has {a.size} values for {len(cells)} cells")
            cell_fields[name] = a.reshape(cell_shape)
    return ResultFile(path=path, nodes=nodes, fields=fields, cell_fields=cell_fields)


# --------------------------------------------------------------------------- the entry points


def _check_file(target: pathlib.Path) -> None:
    if not target.exists():
        raise _error(target, "no such file")
    if not target.is_file():
        raise _error(target, "not a file")
    if not os.access(target, os.R_OK):
        raise _error(target, "cannot read the file (permission denied)")


def read_result(path: str | os.PathLike[str]) -> ResultFile:
    """Read a result file of any format kronpde writes, parallel indexes included.

    Parameters
    ----------
    path : str or path-like
        A ``.vti``, ``.vtr``, ``.pvti``, ``.pvtr``, ``.vtu``, ``.vtk`` or
        ``.xdmf`` file.

    Returns
    -------
    ResultFile
        The axes' node coordinates and every point- and cell-data field in
        the grid's shape.  For ``.vti`` the coordinates are VTK's
        ``origin + i * spacing``.

    Raises
    ------
    ResultError
        If the file is missing or unreadable, has another extension, or is
        not a field on a box grid (for the unstructured formats: its points
        and cells are not those of a kronpde box grid); for a parallel index
        also if a piece is missing or the pieces do not cover the grid.

    Examples
    --------
    >>> import tempfile
    >>> from kronpde.io.vtk import write_result
    >>> x, y = np.linspace(0, 1, 5), np.linspace(0, 2, 3)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     out = write_result(pathlib.Path(tmp) / "r.vtr", [x, y], {"u": np.add.outer(x, y)})
    ...     result = read_result(out)
    >>> result.dimension, result.fields["u"].shape, float(result.fields["u"][4, 2])
    (2, (5, 3), 3.0)
    """
    target = pathlib.Path(path)
    ext = target.suffix.lower()
    if ext not in READABLE_EXTENSIONS:
        raise _error(
            target,
            f"extension {target.suffix!r} is not a kronpde result; "
            f"use a {', '.join(READABLE_EXTENSIONS)} file written by kronpde solve",
        )
    _check_file(target)
    if ext in _KINDS:
        return _structured(target, ext)
    return _unstructured(target, ext)


def read_series(path: str | os.PathLike[str]) -> list[tuple[float, pathlib.Path]]:
    """List the steps of a ParaView ``.pvd`` collection: (time, file) in the file's order.

    Parameters
    ----------
    path : str or path-like
        The ``.pvd`` file.

    Returns
    -------
    list of (float, pathlib.Path)
        Each step's time and file (resolved against the collection's folder);
        read a step with :func:`read_result`.

    Raises
    ------
    ResultError
        If the file is missing, not a VTK Collection, or a step has no valid
        time or file name.
    """
    target = pathlib.Path(path)
    _check_file(target)
    try:
        root = ET.parse(target).getroot()
    except ET.ParseError as exc:
        raise _error(target, f"not a valid .pvd (XML) file: {exc}") from None
    if root.tag != "VTKFile" or root.get("type") != "Collection":
        raise _error(target, "not a VTK Collection (.pvd) file")
    steps = []
    for item in root.iterfind("Collection/DataSet"):
        file = item.get("file")
        try:
            time = float(item.get("timestep", "0"))
        except ValueError:
            time = math.nan
        if not file or not math.isfinite(time):
            raise _error(target, f"a DataSet without a valid timestep and file: {item.attrib}")
        steps.append((time, target.parent / file))
    return steps
