"""The unstructured formats: a box grid as a mesh of lines, quads or hexahedra.

``.vtu`` (VTK XML UnstructuredGrid) and ``.vtk`` (legacy VTK) go through
meshio; ``.xdmf`` is written here, in the layout meshio's XDMF writer uses
with ``data_format="XML"`` (all data inline), because meshio's XDMF writer and
reader import h5py even when no HDF5 file is involved.  These formats store
every point's coordinates and every cell's corners (13 numbers per node in
3-D), so they are several times larger and slower to write than the
structured formats of :mod:`kronpde.io.vtk`; they are here for tools that read
only unstructured meshes.

``.vtu`` is written uncompressed by default: meshio compresses with zlib at
its fixed default level, three to four times slower than the raw write (most
of the time goes to connectivity and coordinates), for a file about four
times smaller; ``compression=`` asks for it (``scripts/bench_output.py``).
Point indices are int32 below ``2**31`` points, which halves the
connectivity's bytes.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Mapping, Sequence

import meshio
import numpy as np

from kronpde.io.atomic import replace_atomically
from kronpde.io.checks import (
    MESH_EXTENSIONS,
    OutputError,
    check_arrays,
    check_compression,
    check_folder,
    check_nodes,
)
from kronpde.io.xmltext import quoteattr

__all__ = ["structured_mesh", "write_mesh"]

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

# Values of an XDMF data item formatted as text per batch (one per line).
_XDMF_BATCH = 1 << 18


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
        of ``(i, j, k)`` in the ``(m_0, m_1, ...)`` array of boxes; int32
        point indices below ``2**31`` points, else int64.

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
    axes = check_nodes(nodes)
    d = len(axes)
    shape = tuple(x.size for x in axes)
    n_points = int(np.prod(shape))

    points = np.zeros((*shape, 3))
    for i, x in enumerate(axes):  # broadcast each axis's coordinates over the others
        points[..., i] = x.reshape([-1 if a == i else 1 for a in range(d)])
    points = points.reshape(n_points, 3)

    # C-order strides of the nodal array; a corner offset o of the box whose
    # lower corner has flat index b is node b + o . strides.
    # 32-bit indices where they suffice: half the memory and bytes of the connectivity
    index = np.int32 if n_points <= np.iinfo(np.int32).max else np.int64
    strides = np.array([int(np.prod(shape[i + 1 :])) for i in range(d)], dtype=index)
    lower = np.arange(n_points, dtype=index).reshape(shape)[(slice(0, -1),) * d].ravel()
    cells = lower[:, None] + (_CORNERS[d].astype(index) @ strides)[None, :]
    return meshio.Mesh(points, [(_CELL_TYPES[d], cells)])


def _write_values(fh, values: np.ndarray, integer: bool) -> None:
    """Write ``values`` as text, one per line, in batches (exact: ``repr`` round-trips)."""
    flat = values.reshape(-1)
    fmt = str if integer else repr
    for start in range(0, flat.size, _XDMF_BATCH):
        fh.write("\n".join(map(fmt, flat[start : start + _XDMF_BATCH].tolist())))
        fh.write("\n")


def _write_xdmf(filename: str, mesh: meshio.Mesh) -> None:
    # The element layout of meshio's XdmfWriter(data_format="XML"), streamed to the file.
    block = mesh.cells[0]
    n_points = len(mesh.points)
    with open(filename, "w", encoding="utf-8") as fh:
        fh.write('<?xml version="1.0"?>\n<Xdmf Version="3.0"><Domain><Grid Name="Grid">')
        fh.write(
            '<Geometry GeometryType="XYZ"><DataItem DataType="Float" '
            f'Dimensions="{n_points} 3" Format="XML" Precision="8">\n'
        )
        _write_values(fh, mesh.points, integer=False)
        fh.write("</DataItem></Geometry>")
        fh.write(
            f'<Topology TopologyType="{_XDMF_TOPOLOGY[block.type]}" '
            f'NumberOfElements="{len(block.data)}" NodesPerElement="{block.data.shape[1]}">'
            '<DataItem DataType="Int" '
            f'Dimensions="{block.data.shape[0]} {block.data.shape[1]}" Format="XML" '
            'Precision="8">\n'
        )
        _write_values(fh, block.data, integer=True)
        fh.write("</DataItem></Topology>")
        centred = [("Node", n_points, mesh.point_data.items())]
        centred.append(("Cell", len(block.data), ((k, v[0]) for k, v in mesh.cell_data.items())))
        for center, size, items in centred:
            for name, values in items:
                fh.write(
                    f'<Attribute Name={quoteattr(name)} AttributeType="Scalar" '
                    f'Center="{center}"><DataItem DataType="Float" Dimensions="{size}" '
                    'Format="XML" Precision="8">\n'
                )
                _write_values(fh, values, integer=False)
                fh.write("</DataItem></Attribute>")
        fh.write("</Grid></Domain></Xdmf>\n")


def _write(filename: str, mesh: meshio.Mesh, ext: str, compression: int | None) -> None:
    if ext == ".vtu":
        # UInt64 block headers: with uncompressed data an array over 4 GiB needs them
        meshio.vtu.write(
            filename,
            mesh,
            binary=True,
            compression=None if compression is None else "zlib",
            header_type="UInt64",
        )
    elif ext == ".vtk":
        meshio.vtk.write(filename, mesh, binary=True)
    else:
        _write_xdmf(filename, mesh)


def write_mesh(
    path: str | os.PathLike[str],
    nodes: Sequence[np.ndarray],
    point_data: Mapping[str, np.ndarray] | None = None,
    cell_data: Mapping[str, np.ndarray] | None = None,
    *,
    file_format: str | None = None,
    compression: int | None = None,
    points: Sequence[np.ndarray] | None = None,
) -> pathlib.Path:
    """Write fields on a box grid as a ``.vtu``, ``.vtk`` or ``.xdmf`` mesh, atomically.

    ``.vtu`` is binary (uncompressed unless ``compression`` is given),
    ``.vtk`` legacy binary, ``.xdmf`` XDMF 3 with all data inline as XML text
    (no HDF5 file), all data float64.  The file is written to a temporary
    file in the target folder and then renamed onto ``path``; see
    :func:`kronpde.io.atomic.replace_atomically`.

    Parameters
    ----------
    path : str or path-like
        The output file; its folder must exist.
    nodes : sequence of 1-D arrays
        The grid: one strictly increasing coordinate array per axis (1 to 3);
        see :func:`structured_mesh` for the point and cell order.
    point_data : mapping of str to array, optional
        Nodal fields, each of the nodal shape ``(len(nodes[0]), ...)`` in C
        order or flat; real and finite.
    cell_data : mapping of str to array, optional
        Fields on the grid's cells, each of shape ``(len(nodes[0]) - 1, ...)``
        in C order or flat.
    file_format : str, optional
        ``"vtu"``, ``"vtk"`` or ``"xdmf"``; by default from the extension.
    compression : int, optional
        A zlib level 1 to 9: compresses a ``.vtu`` with zlib, at meshio's
        fixed default level whatever the value.  Ignored by the other formats.
    points : sequence of 3 arrays, optional
        The Cartesian ``x, y, z`` of every node of a curvilinear grid (the
        connectivity stays that of ``nodes``).

    Returns
    -------
    pathlib.Path
        ``path`` as a :class:`pathlib.Path`.

    Raises
    ------
    OutputError
        If the format is not one of these three, the folder is missing or not
        writable, or the write itself fails (the cause is chained).
    GridError
        If ``nodes`` is not a valid grid.
    FieldDataError
        If a field name is empty or has spaces, or an array is not real, has
        the wrong size, or holds NaN or infinity.
    """
    target = pathlib.Path(path)
    ext = "." + file_format.lower().lstrip(".") if file_format else target.suffix.lower()
    if ext not in MESH_EXTENSIONS:
        msg = f"cannot write {str(target)!r}: write_mesh writes {', '.join(MESH_EXTENSIONS)}"
        raise OutputError(msg)
    check_compression(compression)
    check_folder(target)
    axes = check_nodes(nodes)
    shape = tuple(x.size for x in axes)
    fields = check_arrays(point_data, shape, "point data")
    cells = check_arrays(cell_data, tuple(n - 1 for n in shape), "cell data")
    mesh = structured_mesh(axes)
    if points is not None:  # a curvilinear grid: its nodes at their Cartesian positions
        mesh.points = np.stack([np.asarray(p, dtype=float).reshape(-1) for p in points], axis=1)
    # float64 copies: meshio may convert in place, and the caller's arrays stay untouched
    mesh.point_data = {k: v.astype(np.float64).reshape(-1) for k, v in fields.items()}
    mesh.cell_data = {k: [v.astype(np.float64).reshape(-1)] for k, v in cells.items()}
    return replace_atomically(
        target, lambda tmp: _write(tmp, mesh, ext, compression), OutputError, suffix=ext
    )
