"""Read a result file written by kronpde back as a box grid and nodal fields.

The inverse of :func:`kronpde.io.vtk.write_result`: the points of a kronpde
result are every node of a tensor grid in C order (``structured_mesh``), so
the coordinate arrays of the axes and the nodal shape of each field can be
recovered from the points alone.  ``.vtu`` and ``.vtk`` are read with meshio;
``.xdmf`` files with inline XML data (the only kind kronpde writes) are read
here, because meshio's XDMF reader needs h5py even for those.
"""

from __future__ import annotations

import contextlib
import io
import os
import pathlib
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import numpy as np

from kronpde.errors import CaseError

__all__ = ["ResultError", "ResultFile", "read_result"]

_DIMENSION = {"line": 1, "quad": 2, "hexahedron": 3}


class ResultError(CaseError):
    """A result file that cannot be read, or is not a field on a kronpde box grid.

    Like :class:`~kronpde.errors.CaseError` (an input file the user gave), it
    carries the file, and its message starts with it.
    """


@dataclass(frozen=True, eq=False)
class ResultFile:
    """Nodal fields on a box grid, as read from a file.

    Attributes
    ----------
    path : pathlib.Path
        The file.
    nodes : tuple of ndarray
        One increasing coordinate array per axis (1 to 3 axes).
    fields : dict of str to ndarray
        Point data, each of shape ``tuple(len(x) for x in nodes)`` (C order).
    """

    path: pathlib.Path
    nodes: tuple[np.ndarray, ...]
    fields: dict[str, np.ndarray]

    @property
    def dimension(self) -> int:
        """Number of axes."""
        return len(self.nodes)


def _error(path: pathlib.Path, message: str) -> ResultError:
    return ResultError(message, file=str(path))


def _read_xdmf(path: pathlib.Path) -> tuple[np.ndarray, str, dict[str, np.ndarray]]:
    """Points, cell type and point data of an XDMF file with inline XML data items."""
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
    data = {}
    for attr in root.iter("Attribute"):
        name = attr.get("Name", "")
        data[name] = values(attr.find("DataItem"), f"point data {name!r}")
    return points, cell_type, data


def _read_meshio(path: pathlib.Path) -> tuple[np.ndarray, str, dict[str, np.ndarray]]:
    import meshio

    noise = io.StringIO()
    try:
        # meshio prints its own complaints and may call sys.exit for a file it cannot parse
        with contextlib.redirect_stdout(noise), contextlib.redirect_stderr(noise):
            mesh = meshio.read(path)
    except (Exception, SystemExit) as exc:
        detail = " ".join(noise.getvalue().replace("Error: ", "").split()) or str(exc)
        raise _error(path, f"cannot read it as a {path.suffix} file ({detail})") from None
    cell_type = mesh.cells[0].type if len(mesh.cells) == 1 else ""
    return np.asarray(mesh.points, dtype=float), cell_type, dict(mesh.point_data)


def read_result(path: str | os.PathLike[str]) -> ResultFile:
    """Read a ``.vtu``, ``.vtk`` or ``.xdmf`` result written by kronpde.

    Parameters
    ----------
    path : str or path-like
        The file.

    Returns
    -------
    ResultFile
        The axes' node coordinates and every point-data field in nodal shape.

    Raises
    ------
    ResultError
        If the file is missing or unreadable, has another extension, or its
        points and cells are not those of a kronpde box grid.

    Examples
    --------
    >>> import tempfile
    >>> from kronpde.io.vtk import write_result
    >>> x, y = np.linspace(0, 1, 5), np.linspace(0, 2, 3)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     out = write_result(pathlib.Path(tmp) / "r.vtu", [x, y], {"u": np.add.outer(x, y)})
    ...     result = read_result(out)
    >>> result.dimension, result.fields["u"].shape, float(result.fields["u"][4, 2])
    (2, (5, 3), 3.0)
    """
    from kronpde.io.vtk import SUPPORTED_EXTENSIONS

    target = pathlib.Path(path)
    ext = target.suffix.lower()
    if ext not in SUPPORTED_EXTENSIONS:
        raise _error(
            target,
            f"extension {target.suffix!r} is not a kronpde result; "
            f"use a {', '.join(SUPPORTED_EXTENSIONS)} file written by kronpde solve",
        )
    if not target.exists():
        raise _error(target, "no such file")
    if not target.is_file():
        raise _error(target, "not a file")
    if not os.access(target, os.R_OK):
        raise _error(target, "cannot read the file (permission denied)")
    points, cell_type, data = _read_xdmf(target) if ext == ".xdmf" else _read_meshio(target)

    d = _DIMENSION.get(cell_type)
    if d is None or points.ndim != 2 or points.shape[1] != 3 or len(points) < 2:
        raise _error(
            target,
            "not a kronpde result (expected one block of lines, quads or "
            "hexahedra on the nodes of a box grid)",
        )
    nodes = tuple(np.unique(points[:, i]) for i in range(d))
    shape = tuple(x.size for x in nodes)
    grid = np.stack(np.meshgrid(*nodes, indexing="ij"), axis=-1).reshape(-1, d)
    if (
        int(np.prod(shape)) != len(points)
        or min(shape) < 2
        or not np.array_equal(points[:, :d], grid)
        or np.any(points[:, d:] != 0.0)
    ):
        raise _error(
            target,
            "not a kronpde result: its points are not the nodes of a box grid in kronpde's order",
        )
    fields = {}
    for name, values in data.items():
        a = np.asarray(values, dtype=float)
        if a.size != len(points):
            raise _error(
                target, f"point data {name!r} has {a.size} values for {len(points)} points"
            )
        fields[name] = a.reshape(shape)
    return ResultFile(path=target, nodes=nodes, fields=fields)
