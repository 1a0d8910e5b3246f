"""Write nodal fields on a structured box grid for ParaView, atomically.

The writer knows a grid (one coordinate array per axis) and arrays, nothing of
solvers. Points are every node of the tensor grid in C order, as 3-D
coordinates; cells are lines, quads or hexahedra in VTK's ordering. ``.vtu``
and ``.vtk`` go through meshio; ``.xdmf`` is written here, in the layout
meshio's XDMF writer uses with ``data_format="XML"`` (all data inline), because
meshio's XDMF writer and reader import h5py even when no HDF5 file is involved.

Every write goes to a temporary file in the target folder that replaces the
target only once complete: a failed write leaves an existing file as it was and
leaves no temporary behind.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Mapping, Sequence
from xml.sax.saxutils import quoteattr

import meshio
import numpy as np

from kronpde.errors import GridError, KronpdeError
from kronpde.io.atomic import replace_atomically

__all__ = [
    "SUPPORTED_EXTENSIONS",
    "FieldDataError",
    "OutputError",
    "check_writable",
    "structured_mesh",
    "write_result",
]

SUPPORTED_EXTENSIONS = (".vtu", ".vtk", ".xdmf")

_CELL_TYPES = {1: "line", 2: "quad", 3: "hexahedron"}
_XDMF_TOPOLOGY = {"line": "Polyline", "quad": "Quadrilateral", "hexahedron": "Hexahedron"}

# Corner offsets (per axis) of one grid box, in VTK's node order: the quad
# counter-clockwise in the (x, y) plane; the hexahedron's bottom face
# counter-clockwise seen from +z, then the top face in the same order.
_CORNERS = {
    1: np.array([[0], [1]]),
    2: np.array([[0, 0], [1, 0], [1, 1], [0, 1]]),
    3: np.array(
        [[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 0, 1], [1, 0, 1], [1, 1, 1], [0, 1, 1]]
    ),
}


class OutputError(KronpdeError, OSError):
    """The result file cannot be written (folder, extension, or the write failed)."""


class FieldDataError(KronpdeError, ValueError):
    """A point-data array is unusable: bad name, wrong size, not real, or not finite."""


def _check_nodes(nodes: Sequence[np.ndarray]) -> list[np.ndarray]:
    if isinstance(nodes, np.ndarray) and nodes.ndim == 1:
        msg = (
            "nodes must be a sequence of 1 to 3 coordinate arrays, one per axis, "
            "not a single array; wrap it in a list for a 1-D grid"
        )
        raise GridError(msg)
    axes = list(nodes)
    if not 1 <= len(axes) <= 3:
        msg = f"nodes must hold 1, 2 or 3 coordinate arrays, got {len(axes)}"
        raise GridError(msg)
    out = []
    for i, x in enumerate(axes):
        x = np.asarray(x)
        if x.ndim != 1 or x.size < 2:
            msg = f"nodes[{i}] must be a 1-D array of at least 2 coordinates, got shape {x.shape}"
            raise GridError(msg)
        if not np.issubdtype(x.dtype, np.number) or np.iscomplexobj(x):
            msg = f"nodes[{i}] must be real numbers, got dtype {x.dtype}"
            raise GridError(msg)
        x = x.astype(np.float64)
        if not np.all(np.isfinite(x)):
            msg = f"nodes[{i}] contains NaN or infinite coordinates"
            raise GridError(msg)
        if not np.all(np.diff(x) > 0):
            msg = f"nodes[{i}] must be strictly increasing"
            raise GridError(msg)
        out.append(x)
    return out


def structured_mesh(nodes: Sequence[np.ndarray]) -> meshio.Mesh:
    """Build the mesh of a tensor-product box grid.

    Parameters
    ----------
    nodes : sequence of 1-D arrays
        One strictly increasing coordinate array per axis (1 to 3 axes); axis
        ``i`` has ``m_i + 1`` nodes and ``m_i`` intervals, spacing arbitrary.

    Returns
    -------
    meshio.Mesh
        ``points`` of shape ``(n_points, 3)``: node ``(i, j, k)`` is point
        ``np.ravel_multi_index((i, j, k), shape)`` with
        ``shape = (len(nodes[0]), len(nodes[1]), ...)``, missing coordinates 0.
        One cell block: ``"line"`` (1-D), ``"quad"`` (2-D, counter-clockwise)
        or ``"hexahedron"`` (3-D, VTK order, positive volume), ``m_0 m_1 ...``
        cells, the cell of lower corner ``(i, j, k)`` at the C-order position
        of ``(i, j, k)`` in the ``(m_0, m_1, ...)`` array of boxes.

    Raises
    ------
    GridError
        If ``nodes`` is not 1 to 3 finite, strictly increasing 1-D arrays of at
        least two entries.

    Examples
    --------
    >>> mesh = structured_mesh([np.array([0.0, 1.0, 3.0]), np.array([0.0, 0.5])])
    >>> mesh.points.shape, mesh.cells[0].type, mesh.cells[0].data.tolist()
    ((6, 3), 'quad', [[0, 2, 3, 1], [2, 4, 5, 3]])
    """
    axes = _check_nodes(nodes)
    d = len(axes)
    shape = tuple(x.size for x in axes)
    n_points = int(np.prod(shape))

    points = np.zeros((*shape, 3))
    for i, x in enumerate(axes):  # broadcast each axis's coordinates over the others
        points[..., i] = x.reshape([-1 if a == i else 1 for a in range(d)])
    points = points.reshape(n_points, 3)

    # C-order strides of the nodal array; a corner offset o of the box whose
    # lower corner has flat index b is node b + o . strides.
    strides = np.array([int(np.prod(shape[i + 1 :])) for i in range(d)], dtype=np.int64)
    lower = np.arange(n_points, dtype=np.int64).reshape(shape)[(slice(0, -1),) * d].ravel()
    cells = lower[:, None] + (_CORNERS[d] @ strides)[None, :]
    return meshio.Mesh(points, [(_CELL_TYPES[d], cells)])


def _extension(path: pathlib.Path, file_format: str | None) -> str:
    if file_format is not None:
        ext = "." + file_format.lower().lstrip(".")
        what = f"file_format {file_format!r}"
    else:
        ext = path.suffix.lower()
        what = f"extension {path.suffix!r}" if path.suffix else "no extension"
    if ext not in SUPPORTED_EXTENSIONS:
        msg = (
            f"cannot write {str(path)!r}: {what} is not supported; "
            f"use one of {', '.join(SUPPORTED_EXTENSIONS)}"
        )
        raise OutputError(msg)
    return ext


def _check_folder(path: pathlib.Path) -> None:
    folder = path.parent
    shown = str(folder)
    if not folder.exists():
        msg = f"cannot write {str(path)!r}: the folder {shown!r} does not exist"
        raise OutputError(msg)
    if not folder.is_dir():
        msg = f"cannot write {str(path)!r}: {shown!r} is not a folder"
        raise OutputError(msg)
    if not os.access(folder, os.W_OK | os.X_OK):
        msg = f"cannot write {str(path)!r}: the folder {shown!r} is not writable"
        raise OutputError(msg)
    if path.is_dir():
        msg = f"cannot write {str(path)!r}: it is a folder"
        raise OutputError(msg)


def check_writable(path: str | os.PathLike[str], *, file_format: str | None = None) -> pathlib.Path:
    """Check, before an expensive solve, that a result file could be written.

    Nothing is created or modified.

    Parameters
    ----------
    path : str or path-like
        The intended output file.
    file_format : str, optional
        ``"vtu"``, ``"vtk"`` or ``"xdmf"``; by default taken from the extension.

    Returns
    -------
    pathlib.Path
        ``path`` as a :class:`pathlib.Path`.

    Raises
    ------
    OutputError
        If the format is not supported, the folder does not exist, is not a
        folder or is not writable, or ``path`` is a folder.
    """
    target = pathlib.Path(path)
    _extension(target, file_format)
    _check_folder(target)
    return target


def _point_data(point_data: Mapping[str, np.ndarray], n_points: int, shape: tuple[int, ...]):
    out = {}
    for name, values in point_data.items():
        if not isinstance(name, str) or not name or any(c.isspace() for c in name):
            msg = f"point-data name {name!r} is not allowed; use a non-empty string without spaces"
            raise FieldDataError(msg)
        a = np.asarray(values)
        if not (np.issubdtype(a.dtype, np.number) or a.dtype == np.bool_) or np.iscomplexobj(a):
            msg = f"point data {name!r} must be real numbers, got dtype {a.dtype}"
            raise FieldDataError(msg)
        if a.shape != shape and a.shape != (n_points,):
            msg = (
                f"point data {name!r} has shape {a.shape}; expected the nodal shape {shape} "
                f"or ({n_points},)"
            )
            raise FieldDataError(msg)
        a = a.astype(np.float64).ravel()  # always a copy: the caller's array stays untouched
        if not np.all(np.isfinite(a)):
            bad = int(np.count_nonzero(~np.isfinite(a)))
            msg = f"point data {name!r} has {bad} NaN or infinite value(s)"
            raise FieldDataError(msg)
        out[name] = a
    return out


def _write_xdmf(filename: str, mesh: meshio.Mesh) -> None:
    # The element layout of meshio's XdmfWriter(data_format="XML"), streamed to
    # the file; "%.16e" round-trips float64 exactly.
    block = mesh.cells[0]
    n_points = len(mesh.points)
    with open(filename, "w", encoding="utf-8") as fh:
        fh.write('<?xml version="1.0"?>\n<Xdmf Version="3.0"><Domain><Grid Name="Grid">')
        fh.write(
            '<Geometry GeometryType="XYZ"><DataItem DataType="Float" '
            f'Dimensions="{n_points} 3" Format="XML" Precision="8">\n'
        )
        np.savetxt(fh, mesh.points, "%.16e")
        fh.write("</DataItem></Geometry>")
        fh.write(
            f'<Topology TopologyType="{_XDMF_TOPOLOGY[block.type]}" '
            f'NumberOfElements="{len(block.data)}" NodesPerElement="{block.data.shape[1]}">'
            '<DataItem DataType="Int" '
            f'Dimensions="{block.data.shape[0]} {block.data.shape[1]}" Format="XML" '
            'Precision="8">\n'
        )
        np.savetxt(fh, block.data, "%d")
        fh.write("</DataItem></Topology>")
        for name, values in mesh.point_data.items():
            fh.write(
                f'<Attribute Name={quoteattr(name)} AttributeType="Scalar" Center="Node">'
                f'<DataItem DataType="Float" Dimensions="{n_points}" Format="XML" '
                'Precision="8">\n'
            )
            np.savetxt(fh, values, "%.16e")
            fh.write("</DataItem></Attribute>")
        fh.write("</Grid></Domain></Xdmf>\n")


def _write(filename: str, mesh: meshio.Mesh, ext: str) -> None:
    if ext == ".vtu":
        meshio.vtu.write(filename, mesh, binary=True, compression="zlib")
    elif ext == ".vtk":
        meshio.vtk.write(filename, mesh, binary=True)
    else:
        _write_xdmf(filename, mesh)


def write_result(
    path: str | os.PathLike[str],
    nodes: Sequence[np.ndarray],
    point_data: Mapping[str, np.ndarray],
    *,
    file_format: str | None = None,
) -> pathlib.Path:
    """Write nodal fields on a box grid to a ``.vtu``, ``.vtk`` or ``.xdmf`` file.

    The file is written to a temporary file in the target folder and then moved
    onto ``path`` in one step (``os.replace``): on any failure an existing file
    at ``path`` is left as it was and the temporary is removed. The result gets
    the permissions of the file it replaces, else those ``open`` would give a
    new file under the current umask. ``.vtu`` is binary and zlib-compressed,
    ``.vtk`` legacy binary, ``.xdmf`` XDMF 3 with all data inline as XML text
    (no HDF5 file), all point data float64.

    Parameters
    ----------
    path : str or path-like
        The output file; its folder must exist.
    nodes : sequence of 1-D arrays
        The grid: one strictly increasing coordinate array per axis (1 to 3);
        see :func:`structured_mesh` for the point and cell order.
    point_data : mapping of str to array
        Nodal fields, each of the nodal shape ``(len(nodes[0]), ...)`` in C
        order or flat of length ``n_points``; real and finite.
    file_format : str, optional
        ``"vtu"``, ``"vtk"`` or ``"xdmf"``; by default from the extension.

    Returns
    -------
    pathlib.Path
        ``path`` as a :class:`pathlib.Path`.

    Raises
    ------
    OutputError
        If the format is not supported, the folder is missing or not writable,
        or the write itself fails (the cause is chained). ``KeyboardInterrupt``
        and other non-``Exception`` exceptions propagate unchanged, after the
        same clean-up.
    GridError
        If ``nodes`` is not a valid grid.
    FieldDataError
        If a field name is empty or has spaces, or an array is not real, has
        the wrong size, or holds NaN or infinity.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> x, y = np.linspace(0.0, 1.0, 5), np.array([0.0, 0.1, 0.4])
    >>> u = np.add.outer(x, y)                       # shape (5, 3)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     out = write_result(pathlib.Path(tmp) / "u.vtu", [x, y], {"u": u})
    ...     meshio.read(out).point_data["u"].shape
    (15,)
    """
    target = pathlib.Path(path)
    ext = _extension(target, file_format)
    _check_folder(target)
    axes = _check_nodes(nodes)
    mesh = structured_mesh(axes)
    shape = tuple(x.size for x in axes)
    mesh.point_data = _point_data(point_data, len(mesh.points), shape)

    return replace_atomically(target, lambda tmp: _write(tmp, mesh, ext), OutputError, suffix=ext)
