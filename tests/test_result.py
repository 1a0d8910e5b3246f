"""Tests of kronpde.io.result: every format read back, and VTK files the vtk package wrote."""

from __future__ import annotations

import pathlib
import sys
import types

import numpy as np
import pytest
from vtkmodules.util.numpy_support import numpy_to_vtk
from vtkmodules.vtkCommonDataModel import vtkImageData, vtkRectilinearGrid
from vtkmodules.vtkIOParallelXML import vtkXMLPImageDataWriter, vtkXMLPRectilinearGridWriter
from vtkmodules.vtkIOXML import vtkXMLImageDataWriter, vtkXMLRectilinearGridWriter

from kronpde import Grid
from kronpde.io.pieces import write_index, write_piece
from kronpde.io.result import READABLE_EXTENSIONS, ResultError, read_result, read_series
from kronpde.io.series import TimeSeriesWriter
from kronpde.io.vtk import write_result

EPS = np.finfo(float).eps


@pytest.fixture(autouse=True)
def no_h5py(monkeypatch):
    """meshio imports h5py for any XDMF file; kronpde's own XDMF reader needs none."""
    if "h5py" not in sys.modules:
        try:
            import h5py  # noqa: F401
        except ImportError:
            monkeypatch.setitem(sys.modules, "h5py", types.ModuleType("h5py"))


def _grid(d, uniform, seed=0):
    cells = (5, 4, 3)[:d]
    if uniform:
        return Grid.box(list(cells), [-1.0, 0.0, 1.0][:d], [1.0, 0.7, 4.0][:d]).nodes
    rng = np.random.default_rng(seed)
    return [np.cumsum(rng.uniform(0.1, 1.0, m + 1)) - 2.0 for m in cells]


def _fields(nodes, seed):
    rng = np.random.default_rng(seed)
    shape = tuple(len(x) for x in nodes)
    point = {"u": rng.standard_normal(shape), "error": rng.standard_normal(shape) * 1e-12}
    cell = {"k": rng.uniform(1, 2, tuple(n - 1 for n in shape))}
    return point, cell


def _check(result, nodes, point, cell, exact=True):
    assert result.dimension == len(nodes)
    for got, want in zip(result.nodes, nodes, strict=True):
        if exact:
            np.testing.assert_array_equal(got, want)
        else:
            np.testing.assert_allclose(got, want, rtol=0, atol=2 * EPS * np.max(np.abs(want)))
    assert list(result.fields) == list(point)
    for name, values in point.items():
        assert result.fields[name].flags.c_contiguous
        np.testing.assert_array_equal(result.fields[name], values)
    assert list(result.cell_fields) == list(cell)
    for name, values in cell.items():
        np.testing.assert_array_equal(result.cell_fields[name], values)


@pytest.mark.parametrize("compression", [None, 1])
@pytest.mark.parametrize("ext", [".vti", ".vtr", ".vtu", ".vtk", ".xdmf"])
@pytest.mark.parametrize("d", [1, 2, 3])
def test_every_format_reads_back(tmp_path, d, ext, compression):
    uniform = ext == ".vti"
    for nodes in [_grid(d, True)] + ([] if uniform else [_grid(d, False, seed=d)]):
        point, cell = _fields(nodes, seed=d)
        path = write_result(tmp_path / f"r{ext}", nodes, point, cell, compression=compression)
        _check(read_result(path), nodes, point, cell, exact=ext != ".vti")


@pytest.mark.parametrize("ext", [".vti", ".vtr"])
def test_parallel_index_reads_back(tmp_path, ext):
    nodes = _grid(3, ext == ".vti", seed=4)
    point, cell = _fields(nodes, seed=4)
    extents = [[(0, 2), (0, 4), (0, 3)], [(2, 5), (0, 2), (0, 3)], [(2, 5), (2, 4), (0, 3)]]
    path = tmp_path / f"out{ext}"
    for rank, e in enumerate(extents):
        box = tuple(slice(lo, hi + 1) for lo, hi in e)
        cells = tuple(slice(lo, hi) for lo, hi in e)
        write_piece(
            path,
            nodes,
            e,
            {k: v[box] for k, v in point.items()},
            {k: v[cells] for k, v in cell.items()},
            rank=rank,
        )
    index = write_index(path, nodes, extents, list(point), list(cell))
    _check(read_result(index), nodes, point, cell, exact=ext != ".vti")

    (tmp_path / "out" / f"out_2{ext}").unlink()
    with pytest.raises(ResultError, match=f"piece 'out/out_2{ext}' does not exist"):
        read_result(index)


# ----------------------------------------------------------------------------- files vtk wrote


def _vtk_dataset(kind, nodes, point, cell):
    d = len(nodes)
    dims = [len(x) for x in nodes] + [1] * (3 - d)
    data = vtkImageData() if kind == "vti" else vtkRectilinearGrid()
    data.SetDimensions(*dims)
    if kind == "vti":
        data.SetOrigin(*[x[0] for x in nodes], *[0.0] * (3 - d))
        data.SetSpacing(*[(x[-1] - x[0]) / (len(x) - 1) for x in nodes], *[1.0] * (3 - d))
    else:
        axes = [*nodes, *[np.zeros(1)] * (3 - d)]
        data.SetXCoordinates(numpy_to_vtk(axes[0], deep=True))
        data.SetYCoordinates(numpy_to_vtk(axes[1], deep=True))
        data.SetZCoordinates(numpy_to_vtk(axes[2], deep=True))
    for target, fields in ((data.GetPointData(), point), (data.GetCellData(), cell)):
        for name, values in fields.items():
            array = numpy_to_vtk(np.ravel(values, order="F"), deep=True)
            array.SetName(name)
            target.AddArray(array)
    return data


_MODES = {
    "appended-base64-zlib": lambda w: None,  # vtk's default
    "appended-raw-zlib": lambda w: w.SetEncodeAppendedData(0),
    "appended-raw": lambda w: (w.SetEncodeAppendedData(0), w.SetCompressorTypeToNone()),
    "appended-base64": lambda w: w.SetCompressorTypeToNone(),
    "binary-zlib": lambda w: w.SetDataModeToBinary(),
    "binary": lambda w: (w.SetDataModeToBinary(), w.SetCompressorTypeToNone()),
    "ascii": lambda w: w.SetDataModeToAscii(),
    "uint32-headers": lambda w: w.SetHeaderTypeToUInt32(),
    "uint32-raw": lambda w: (w.SetHeaderTypeToUInt32(), w.SetEncodeAppendedData(0)),
    "lzma": lambda w: w.SetCompressorTypeToLZMA(),
    "small-blocks": lambda w: w.SetBlockSize(40),
}


@pytest.mark.parametrize("mode", list(_MODES))
@pytest.mark.parametrize("kind", ["vti", "vtr"])
@pytest.mark.parametrize("d", [2, 3])
def test_reads_what_the_vtk_package_wrote(tmp_path, kind, mode, d):
    nodes = _grid(d, True) if kind == "vti" else _grid(d, False, seed=d)
    point, cell = _fields(nodes, seed=7)
    writer = vtkXMLImageDataWriter() if kind == "vti" else vtkXMLRectilinearGridWriter()
    writer.SetInputData(_vtk_dataset(kind, nodes, point, cell))
    writer.SetFileName(str(tmp_path / f"v.{kind}"))
    _MODES[mode](writer)
    assert writer.Write() == 1
    _check(read_result(tmp_path / f"v.{kind}"), nodes, point, cell, exact=kind == "vtr")


@pytest.mark.parametrize("kind", ["vti", "vtr"])
def test_reads_pieces_the_vtk_package_wrote(tmp_path, kind):
    nodes = _grid(3, True) if kind == "vti" else _grid(3, False, seed=3)
    point, cell = _fields(nodes, seed=8)
    writer = vtkXMLPImageDataWriter() if kind == "vti" else vtkXMLPRectilinearGridWriter()
    writer.SetInputData(_vtk_dataset(kind, nodes, point, cell))
    writer.SetFileName(str(tmp_path / f"p.p{kind}"))
    writer.SetNumberOfPieces(3)
    writer.SetStartPiece(0)
    writer.SetEndPiece(2)
    assert writer.Write() == 1
    assert len(list(tmp_path.glob(f"p_*.{kind}"))) == 3
    result = read_result(tmp_path / f"p.p{kind}")
    _check(result, nodes, point, cell, exact=kind == "vtr")


# ----------------------------------------------------------------------------- bad files


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def test_bad_structured_files(tmp_path):
    nodes = _grid(2, True)
    good = write_result(tmp_path / "good.vti", nodes, {"u": np.ones((6, 5))}).read_bytes()
    cases = {
        "truncated.vti": (good[: len(good) - 100], "truncated"),
        "garbage.vti": (b"not xml at all", "not a valid VTK XML file"),
        "other.vti": (b"<svg/>", "not a VTK XML file"),
        "swapped.vtr": (good, "not a VTK RectilinearGrid file"),
        "lz4.vti": (
            good.replace(
                b'header_type="UInt64"', b'header_type="UInt64" compressor="vtkLZ4DataCompressor"'
            ),
            "vtkLZ4DataCompressor, which kronpde cannot read",
        ),
        "rotated.vti": (
            good.replace(b'Spacing="', b'Direction="0 1 0 1 0 0 0 0 1" Spacing="'),
            "rotated",
        ),
        "yz.vti": (good.replace(b'"0 5 0 4 0 0"', b'"0 0 0 5 0 4"'), "single node"),
        "count.vti": (good.replace(b'Extent="0 5 0 4', b'Extent="0 6 0 4'), "bytes for"),
    }
    for i, (name, (content, match)) in enumerate(cases.items()):
        path = _write(tmp_path, f"case{i}{pathlib.Path(name).suffix}", content)
        with pytest.raises(ResultError) as info:
            read_result(path)
        assert str(info.value).startswith(f"{path}: "), name
        assert match in info.value.detail, (name, info.value.detail)


def test_bad_parallel_indexes(tmp_path):
    nodes = [np.linspace(0, 1, 9)]
    path = tmp_path / "out.vtr"
    write_piece(path, nodes, [(0, 4)], {"u": np.zeros(5)}, rank=0)
    write_piece(path, nodes, [(4, 8)], {"u": np.zeros(5)}, rank=1)
    index = write_index(path, nodes, [[(0, 4)], [(4, 8)]], ["u"]).read_text()
    other = _write(tmp_path, "other.pvtr", index.replace('Extent="4 8', 'Extent="5 8'))
    with pytest.raises(
        ResultError, match=r"has the extent \[\(4, 8\), .*the index says \[\(5, 8\)"
    ):
        read_result(other)
    one = index.replace('Extent="4 8 0 0 0 0"', 'Extent="0 4 0 0 0 0"')  # piece 0 twice
    one = one.replace("out/out_1.vtr", "out/out_0.vtr")
    with pytest.raises(ResultError, match="do not cover"):
        read_result(_write(tmp_path, "one.pvtr", one))
    missing = _write(tmp_path, "v.pvtr", index.replace('Name="u"', 'Name="v"'))
    with pytest.raises(ResultError, match="has no point data 'v'"):
        read_result(missing)
    with pytest.raises(ResultError, match="not a VTK PRectilinearGrid index"):
        read_result(_write(tmp_path, "x.pvtr", index.replace("PRectilinearGrid", "PImageData")))
    write_piece(path, nodes, [(0, 3)], {"u": np.zeros(4)}, rank=0)  # a gap: cell 3 in none
    gap = _write(tmp_path, "gap.pvtr", index.replace('Extent="0 4', 'Extent="0 3'))
    with pytest.raises(ResultError, match="do not cover"):
        read_result(gap)


def test_unsupported_and_missing_files(tmp_path):
    with pytest.raises(ResultError, match=r"use a \.vti, \.vtr, \.pvti, \.pvtr, \.vtu"):
        read_result(tmp_path / "r.png")
    with pytest.raises(ResultError, match="no such file"):
        read_result(tmp_path / "r.vti")
    (tmp_path / "d.vtr").mkdir()
    with pytest.raises(ResultError, match="not a file"):
        read_result(tmp_path / "d.vtr")
    assert set(READABLE_EXTENSIONS) >= {".vti", ".vtr", ".pvti", ".pvtr", ".vtu", ".vtk", ".xdmf"}


# ----------------------------------------------------------------------------- series


def test_read_series(tmp_path):
    nodes = [np.linspace(0, 1, 6), np.linspace(0, 2, 4)]
    series = TimeSeriesWriter(tmp_path / "run.pvd", ".vti")
    for t in (0.0, 0.1, 0.3):
        series.write(t, nodes, {"u": np.full((6, 4), t)})
    steps = read_series(tmp_path / "run.pvd")
    assert [t for t, _ in steps] == [0.0, 0.1, 0.3]
    assert [f for _, f in steps] == [tmp_path / "run" / f"run_00000{i}.vti" for i in range(3)]
    for t, f in steps:
        np.testing.assert_array_equal(read_result(f).fields["u"], np.full((6, 4), t))
    with pytest.raises(ResultError, match="not a VTK Collection"):
        read_series(_write(tmp_path, "x.pvd", "<VTKFile type='ImageData'/>"))
    bad = "<VTKFile type='Collection'><Collection><DataSet timestep='nan' file='a'/>"
    with pytest.raises(ResultError, match="valid timestep"):
        read_series(_write(tmp_path, "y.pvd", bad + "</Collection></VTKFile>"))
    with pytest.raises(ResultError, match="no such file"):
        read_series(tmp_path / "missing.pvd")
    assert isinstance(steps[0][1], pathlib.Path)
