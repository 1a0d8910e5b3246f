"""Read VTK files with the vtk package (ParaView's own readers): the independent reference.

Not a test module: shared by test_vtk.py, test_mesh.py and test_result.py.
"""

from __future__ import annotations

import pathlib
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import numpy as np
from vtkmodules.util.numpy_support import vtk_to_numpy
from vtkmodules.vtkCommonCore import vtkCommand
from vtkmodules.vtkIOXML import (
    vtkXMLImageDataReader,
    vtkXMLPImageDataReader,
    vtkXMLPRectilinearGridReader,
    vtkXMLRectilinearGridReader,
    vtkXMLUnstructuredGridReader,
)

READERS = {
    ".vti": vtkXMLImageDataReader,
    ".vtr": vtkXMLRectilinearGridReader,
    ".pvti": vtkXMLPImageDataReader,
    ".pvtr": vtkXMLPRectilinearGridReader,
    ".vtu": vtkXMLUnstructuredGridReader,
}


@dataclass
class VTKData:
    """What the vtk package read: every point, and the arrays in VTK's (flat) order."""

    points: np.ndarray  # (n_points, 3), VTK's point order
    dimensions: tuple[int, int, int] | None  # structured grids only
    point_data: dict[str, np.ndarray]
    cell_data: dict[str, np.ndarray]

    def axes(self, d: int) -> list[np.ndarray]:
        """The node coordinates of each axis, read off VTK's points along the axes."""
        nx, ny, _ = self.dimensions
        stride = [1, nx, nx * ny]
        n = self.dimensions
        return [self.points[np.arange(n[i]) * stride[i], i] for i in range(d)]

    def nodal(self, name: str, d: int) -> np.ndarray:
        """Point array ``name`` in kronpde's C-ordered nodal shape (x slowest)."""
        return _c_order(self.point_data[name], self.dimensions, d)

    def cellwise(self, name: str, d: int) -> np.ndarray:
        """Cell array ``name`` in kronpde's C-ordered cell shape."""
        cells = tuple(max(m - 1, 1) for m in self.dimensions)
        return _c_order(self.cell_data[name], cells, d)


def _c_order(values: np.ndarray, dims: tuple[int, int, int], d: int) -> np.ndarray:
    return values.reshape(dims[::-1]).transpose(2, 1, 0).reshape(dims[:d])


def read_vtk(path: pathlib.Path) -> VTKData:
    """Read ``path`` with the vtk package's XML reader for its extension; fail on any VTK error."""
    reader = READERS[pathlib.Path(path).suffix]()
    errors: list[str] = []
    reader.AddObserver(vtkCommand.ErrorEvent, lambda obj, event: errors.append(event))
    reader.GetExecutive().AddObserver(vtkCommand.ErrorEvent, lambda o, e: errors.append(e))
    reader.SetFileName(str(path))
    reader.Update()
    assert not errors, f"vtk could not read {path}: {errors}"
    out = reader.GetOutput()
    n = out.GetNumberOfPoints()
    assert n > 0, f"vtk read no points from {path}"
    points = np.array([out.GetPoint(i) for i in range(n)])
    dims = tuple(out.GetDimensions()) if hasattr(out, "GetDimensions") else None

    def arrays(data) -> dict[str, np.ndarray]:
        return {
            data.GetArrayName(i): vtk_to_numpy(data.GetArray(i)).copy()
            for i in range(data.GetNumberOfArrays())
        }

    return VTKData(points, dims, arrays(out.GetPointData()), arrays(out.GetCellData()))


def grid_points(nodes: list[np.ndarray]) -> np.ndarray:
    """Every node of the tensor grid in VTK's order (x fastest), as 3-D points."""
    d = len(nodes)
    axes = list(nodes) + [np.zeros(1)] * (3 - d)
    z, y, x = np.meshgrid(axes[2], axes[1], axes[0], indexing="ij")
    return np.stack([x.ravel(), y.ravel(), z.ravel()], axis=1)


def read_pvd(path: pathlib.Path) -> list[tuple[float, pathlib.Path]]:
    """(timestep, file) of a .pvd collection, parsed with ElementTree (vtk's pip wheel has no
    vtkPVDReader)."""
    root = ET.parse(path).getroot()
    assert root.tag == "VTKFile"
    assert root.get("type") == "Collection"
    return [
        (float(ds.get("timestep")), pathlib.Path(path).parent / ds.get("file"))
        for ds in root.iterfind("Collection/DataSet")
    ]
