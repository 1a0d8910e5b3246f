"""Tests of kronpde.io.vtk: .vti/.vtr, parallel pieces, .pvd series, read with the vtk package."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import tracemalloc
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from vtk_reference import grid_points, read_pvd, read_vtk

from kronpde import Dirichlet, Grid, Periodic
from kronpde.errors import GridError, KronpdeError
from kronpde.io import checks, vtk
from kronpde.io.pieces import index_path, piece_extent, piece_path, write_index, write_piece
from kronpde.io.result import read_result
from kronpde.io.series import TimeSeriesWriter
from kronpde.io.vtk import (
    FieldDataError,
    NotUniformError,
    OutputError,
    check_writable,
    write_result,
    write_structured,
)

CELLS = (4, 3, 2)  # different per axis, so a transposed layout cannot pass
EPS = np.finfo(float).eps


def _listing(folder):
    return sorted(p.name for p in pathlib.Path(folder).iterdir())


def _stretched(d, seed=0):
    """Non-uniform, strictly increasing nodes with CELLS[i] intervals on axis i."""
    rng = np.random.default_rng(seed)
    return [
        -0.5 + i + np.concatenate([[0.0], np.cumsum(rng.uniform(0.1, 1.0, CELLS[i]))])
        for i in range(d)
    ]


def _uniform(d):
    """kronpde's own uniform nodes (lower + j h, the last exactly upper)."""
    grid = Grid.box(list(CELLS[:d]), [-1.0, 0.0, 2.0][:d], [1.0, 0.3, 7.0][:d])
    return grid.nodes


def _fields(nodes, seed):
    rng = np.random.default_rng(seed)
    shape = tuple(len(x) for x in nodes)
    cells = tuple(n - 1 for n in shape)
    point = {
        "u": rng.standard_normal(shape),
        "f": rng.standard_normal(int(np.prod(shape))) * 1e-300,  # flat; tiny values survive
        "n": np.arange(int(np.prod(shape)), dtype=np.int32).reshape(shape),  # as float64
    }
    cell = {"k": rng.uniform(1.0, 2.0, cells), "id": np.arange(int(np.prod(cells))).reshape(cells)}
    return point, cell


def _check_against_vtk(path, nodes, point, cell, exact_coordinates=True):
    d = len(nodes)
    data = read_vtk(path)
    assert data.dimensions == tuple(len(x) for x in nodes) + (1,) * (3 - d)
    want = grid_points(nodes)
    if exact_coordinates:
        np.testing.assert_array_equal(data.points, want)
    else:  # ImageData: VTK's origin + i * spacing, within an ulp of the grid's nodes
        scale = max(np.max(np.abs(x)) for x in nodes)
        np.testing.assert_allclose(data.points, want, rtol=0, atol=2 * EPS * scale)
    for a, x in zip(data.axes(d), nodes, strict=True):
        np.testing.assert_allclose(a, x, rtol=0, atol=2 * EPS * np.max(np.abs(x)))
    assert set(data.point_data) == set(point)
    assert set(data.cell_data) == set(cell)
    shape = tuple(len(x) for x in nodes)
    for name, values in point.items():
        assert data.point_data[name].dtype == np.float64
        np.testing.assert_array_equal(data.nodal(name, d), np.reshape(values, shape))
    for name, values in cell.items():
        assert data.cell_data[name].dtype == np.float64
        np.testing.assert_array_equal(data.cellwise(name, d), values)
    return data


# ----------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("compression", [None, 1, 9])
@pytest.mark.parametrize("d", [1, 2, 3])
def test_vtr_stretched_round_trip(tmp_path, d, compression):
    nodes = _stretched(d, seed=d)
    point, cell = _fields(nodes, seed=10 + d)
    out = write_result(tmp_path / "r.vtr", nodes, point, cell, compression=compression)
    assert out == tmp_path / "r.vtr"
    assert _listing(tmp_path) == ["r.vtr"]
    _check_against_vtk(out, nodes, point, cell)


@pytest.mark.parametrize("ext", [".vti", ".vtr"])
@pytest.mark.parametrize("compression", [None, 1])
@pytest.mark.parametrize("d", [1, 2, 3])
def test_uniform_round_trip(tmp_path, d, ext, compression):
    nodes = _uniform(d)
    point, cell = _fields(nodes, seed=20 + d)
    out = write_result(tmp_path / f"r{ext}", nodes, point, cell, compression=compression)
    _check_against_vtk(out, nodes, point, cell, exact_coordinates=ext == ".vtr")


def test_vti_stores_origin_and_spacing(tmp_path):
    nodes = _uniform(3)
    out = write_result(tmp_path / "r.vti", nodes, {"u": np.zeros([len(x) for x in nodes])})
    head = out.read_bytes().split(b"<AppendedData")[0] + b"</VTKFile>"
    image = ET.fromstring(head).find("ImageData")
    assert image.get("WholeExtent") == "0 4 0 3 0 2"
    origin = [float(v) for v in image.get("Origin").split()]
    spacing = [float(v) for v in image.get("Spacing").split()]
    assert origin == [x[0] for x in nodes]
    assert spacing == [(x[-1] - x[0]) / (len(x) - 1) for x in nodes]


def test_periodic_node_repeats_node_zero(tmp_path):
    grid = Grid.box([6, 4], [0.0, 0.0], [1.0, 1.0], {"xmin": Periodic(), "xmax": Periodic()})
    u = grid.to_nodes(np.random.default_rng(3).standard_normal(grid.shape))
    assert np.array_equal(u[-1], u[0])  # the caller's convention, written as given
    for ext in (".vti", ".vtr"):
        data = read_vtk(write_result(tmp_path / f"p{ext}", grid.nodes, {"u": u}))
        np.testing.assert_array_equal(data.nodal("u", 2), u)


@pytest.mark.parametrize("ext", [".vti", ".vtr"])
def test_raw_layout_by_the_spec(tmp_path, ext):
    """Parse the file by hand: UInt64 byte counts, then x-fastest Float64, at the offsets."""
    nodes = _uniform(3)
    point, cell = _fields(nodes, seed=4)
    out = write_result(tmp_path / f"r{ext}", nodes, point, cell)
    raw = out.read_bytes()
    start = raw.index(b'<AppendedData encoding="raw">')
    data_at = raw.index(b"_", start) + 1
    root = ET.fromstring(raw[:start] + b"</VTKFile>")
    assert root.attrib == {
        "type": {".vti": "ImageData", ".vtr": "RectilinearGrid"}[ext],
        "version": "1.0",
        "byte_order": "LittleEndian",
        "header_type": "UInt64",
    }
    arrays = {a.get("Name"): a for a in root.iter("DataArray")}
    assert {a.get("type") for a in arrays.values()} == {"Float64"}
    assert {a.get("format") for a in arrays.values()} == {"appended"}
    total = 0
    for name, values in [*point.items(), *cell.items()]:
        at = data_at + int(arrays[name].get("offset"))
        nbytes = int(np.frombuffer(raw[at : at + 8], "<u8")[0])
        got = np.frombuffer(raw[at + 8 : at + 8 + nbytes], "<f8")
        shape = np.shape(values) if np.ndim(values) > 1 else tuple(len(x) for x in nodes)
        np.testing.assert_array_equal(got, np.reshape(values, shape).ravel(order="F"))
        total += nbytes
    overhead = len(raw) - total
    assert overhead < 3000  # no per-node coordinates, no connectivity: only the XML head
    assert raw.endswith(b"</AppendedData>\n</VTKFile>\n")


@pytest.mark.parametrize(
    "make",
    [
        lambda a: a,  # C order
        lambda a: np.asfortranarray(a),  # VTK's order already: written without a copy
        lambda a: a.astype(np.float32),
        lambda a: np.ascontiguousarray(a[:, ::-1, :])[:, ::-1, :],  # negative strides
        lambda a: a.astype(">f8"),  # big-endian
    ],
)
@pytest.mark.parametrize("slab", [5, 23, 200, 10**6])
@pytest.mark.parametrize("compression", [None, 1])
def test_slab_by_slab_transpose(tmp_path, monkeypatch, make, slab, compression):
    """Every slab shape (whole planes, rows, pieces of a row) and zlib block boundaries."""
    monkeypatch.setattr(vtk, "SLAB_ITEMS", slab)
    monkeypatch.setattr(vtk, "_BLOCK_BYTES", 8 * 13)  # blocks straddle slabs; 80 B: one exact
    nodes = [np.linspace(0, 1, 11), np.linspace(0, 2, 9), np.linspace(0, 3, 7)]
    rng = np.random.default_rng(slab)
    u = rng.standard_normal((11, 9, 7))
    c = rng.standard_normal((10, 8, 6))
    out = write_result(
        tmp_path / "r.vtr", nodes, {"u": make(u)}, {"c": make(c)}, compression=compression
    )
    data = read_vtk(out)
    np.testing.assert_array_equal(data.nodal("u", 3), make(u).astype(float))
    np.testing.assert_array_equal(data.cellwise("c", 3), make(c).astype(float))


def test_exact_multiple_of_the_zlib_block(tmp_path, monkeypatch):
    monkeypatch.setattr(vtk, "_BLOCK_BYTES", 8 * 10)  # 40 values: 4 full blocks, no partial one
    nodes = [np.linspace(0, 1, 8), np.linspace(0, 1, 5)]
    u = np.random.default_rng(1).standard_normal((8, 5))
    data = read_vtk(write_result(tmp_path / "r.vti", nodes, {"u": u}, compression=6))
    np.testing.assert_array_equal(data.nodal("u", 2), u)


def test_compression_shrinks_smooth_fields(tmp_path):
    x = np.linspace(0, 1, 41)
    u = np.sin(np.pi * x)[:, None, None] * np.cos(np.pi * x)[None, :, None] * x[None, None, :]
    raw = write_result(tmp_path / "raw.vti", [x, x, x], {"u": u})
    packed = write_result(tmp_path / "z.vti", [x, x, x], {"u": u}, compression=1)
    assert packed.stat().st_size < 0.8 * raw.stat().st_size
    assert b'compressor="vtkZLibDataCompressor"' in packed.read_bytes()[:1000]
    np.testing.assert_array_equal(read_vtk(packed).nodal("u", 3), u)


def test_writing_adds_one_slab_of_memory(tmp_path, monkeypatch):
    """tracemalloc sees numpy's buffers: the writer allocates a slab, not a copy of the arrays."""
    monkeypatch.setattr(vtk, "SLAB_ITEMS", 1 << 12)
    x = np.linspace(0, 1, 65)
    u = np.random.default_rng(0).standard_normal((65, 65, 65))
    fields = {"u": u, "u_exact": u + 1.0, "error": u - 2.0}
    tracemalloc.start()
    try:
        np.ascontiguousarray(u.T)  # the control: a whole transposed copy is seen
        _, control = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        for ext in (".vti", ".vtr"):
            write_result(tmp_path / f"r{ext}", [x, x, x], fields)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert control >= u.nbytes
    assert peak - before < 0.05 * 3 * u.nbytes


def test_callers_arrays_are_not_modified(tmp_path):
    u = np.arange(20, dtype=np.float32).reshape(5, 4)
    before = u.copy()
    write_result(tmp_path / "a.vti", [np.arange(5.0), np.arange(4.0)], {"u": u})
    np.testing.assert_array_equal(u, before)
    assert u.dtype == np.float32


def test_write_structured_names_only_structured_formats(tmp_path):
    with pytest.raises(OutputError, match="not a structured VTK format"):
        write_structured(tmp_path / "r.vtu", _uniform(1), {})
    out = write_structured(tmp_path / "r.dat", _uniform(1), {"u": np.ones(5)}, file_format="vtr")
    assert read_vtk(out.rename(tmp_path / "r.vtr")).point_data["u"].tolist() == [1.0] * 5


# ----------------------------------------------------------------------------- .vti needs uniform


def test_vti_on_a_stretched_grid_suggests_vtr(tmp_path):
    nodes = _stretched(2)
    with pytest.raises(NotUniformError, match=r"axis x .*stretched.*\.vtr") as info:
        write_result(tmp_path / "r.vti", nodes, {"u": np.zeros((5, 4))})
    assert isinstance(info.value, OutputError)
    assert isinstance(info.value, ValueError)
    assert _listing(tmp_path) == []
    with pytest.raises(NotUniformError, match="axis x"):
        check_writable(tmp_path / "r.vti", nodes=nodes)
    mixed = [np.linspace(0, 1, 5), nodes[1]]
    with pytest.raises(NotUniformError, match="axis y"):
        check_writable(tmp_path / "r.vti", nodes=mixed)
    for name in ("r.vtr", "r.vtu", "r.vtk", "r.xdmf"):  # every other format keeps coordinates
        assert check_writable(tmp_path / name, nodes=nodes) == tmp_path / name
    assert check_writable(tmp_path / "r.vti", nodes=_uniform(3)) == tmp_path / "r.vti"
    assert _listing(tmp_path) == []


def test_uniform_spacing():
    assert checks.uniform_spacing(np.linspace(-3.0, 7.0, 101)) == pytest.approx(0.1, rel=1e-15)
    for x in _uniform(3):  # kronpde's uniform nodes
        assert checks.uniform_spacing(x) is not None
    x = np.linspace(1e6, 1e6 + 1.0, 11)  # far from 0: tolerance relative to the magnitude
    assert checks.uniform_spacing(x) is not None
    x[5] += 1e-3
    assert checks.uniform_spacing(x) is None
    y = np.linspace(0.0, 1.0, 11)
    y[3] *= 1 + 1e-9  # visible in a picture at no zoom, but a stretched axis all the same
    assert checks.uniform_spacing(y) is None
    assert checks.uniform_spacing(np.array([0.0, 0.1, 0.3])) is None


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("point", "cell", "match"),
    [
        ({"u": np.zeros(7)}, None, "point data 'u' has shape"),
        ({"u": np.zeros((4, 5))}, None, "point data 'u' has shape"),
        ({"u": np.full((5, 4), np.nan)}, None, "'u' has 20 NaN"),
        ({"g": np.where(np.eye(5, 4) > 0, np.inf, 0.0)}, None, "'g' has 4 NaN or infinite"),
        ({"u": np.zeros((5, 4), complex)}, None, "'u' must be real"),
        ({"u": np.array([["a"] * 4] * 5)}, None, "'u' must be real"),
        ({"": np.zeros((5, 4))}, None, "name ''"),
        ({"my u": np.zeros((5, 4))}, None, "name 'my u'"),
        (None, {"k": np.zeros((5, 4))}, r"cell data 'k' has shape \(5, 4\); expected \(4, 3\)"),
        (None, {"k": np.full((4, 3), -np.inf)}, "cell data 'k' has 12 NaN"),
    ],
)
@pytest.mark.parametrize("ext", [".vti", ".vtr"])
def test_bad_fields_raise_and_write_nothing(tmp_path, point, cell, match, ext):
    target = tmp_path / f"out{ext}"
    target.write_bytes(b"previous result")
    with pytest.raises(FieldDataError, match=match) as info:
        write_result(target, [np.linspace(0, 1, 5), np.linspace(0, 1, 4)], point, cell)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, KronpdeError)
    assert target.read_bytes() == b"previous result"
    assert _listing(tmp_path) == [f"out{ext}"]


@pytest.mark.parametrize(
    "nodes",
    [
        [],
        [np.array([0.0, 1.0])] * 4,
        [np.array([0.0])],
        [np.array([0.0, 1.0, 1.0])],
        [np.array([0.0, np.nan])],
        [np.array([[0.0, 1.0]])],
        np.array([0.0, 1.0]),
    ],
)
def test_bad_nodes(tmp_path, nodes):
    with pytest.raises(GridError):
        write_result(tmp_path / "r.vtr", nodes, {})
    assert _listing(tmp_path) == []


@pytest.mark.parametrize("name", ["out.vtp", "out.h5", "out", "out.vtr.bak"])
def test_unsupported_extension(tmp_path, name):
    listed = r"use one of \.vti, \.vtr, \.vts, \.vtu, \.vtk, \.xdmf"
    with pytest.raises(OutputError, match=r"not supported; " + listed):
        write_result(tmp_path / name, _uniform(1), {})
    with pytest.raises(OutputError, match="not supported"):
        check_writable(tmp_path / name)
    assert _listing(tmp_path) == []


@pytest.mark.parametrize("ext", [".vti", ".vtu"])
@pytest.mark.parametrize("level", [0, 10, -1, 1.5, True, "zlib"])
def test_bad_compression_level(tmp_path, level, ext):
    with pytest.raises(OutputError, match="zlib level 1 to 9"):
        write_result(tmp_path / f"r{ext}", _uniform(1), {}, compression=level)
    assert _listing(tmp_path) == []


def test_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(vtk, "_write_raw", broken)
    target = tmp_path / "out.vtr"
    target.write_bytes(b"previous result")
    with pytest.raises(OutputError, match="No space left on device"):
        write_result(target, _uniform(2), {"u": np.zeros((5, 4))})
    assert target.read_bytes() == b"previous result"
    assert _listing(tmp_path) == ["out.vtr"]


# ----------------------------------------------------------------------------- parallel pieces


def _split(n, parts):
    """Owned node ranges [start, stop) of ``parts`` pieces of ``n`` nodes, as a DMDA splits."""
    edges = np.linspace(0, n, parts + 1).round().astype(int)
    return list(zip(edges[:-1], edges[1:], strict=True))


def _pieces(shape, splits):
    """Extents of the pieces of a grid split ``splits[i]`` ways along axis i, rank order."""
    ranges = [_split(n, p) for n, p in zip(shape, splits, strict=True)]
    extents = []
    for index in np.ndindex(*splits[::-1]):  # x fastest, PETSc's rank order
        own = [ranges[a][i] for a, i in enumerate(index[::-1])]
        extents.append(piece_extent([o[0] for o in own], [o[1] for o in own], shape))
    return extents


def _piece_arrays(fields, extent):
    box = tuple(slice(lo, hi + 1) for lo, hi in extent)
    cells = tuple(slice(lo, hi) for lo, hi in extent)
    point = {k: v[box] for k, v in fields[0].items()}
    cell = {k: v[cells] for k, v in fields[1].items()}
    return point, cell


@pytest.mark.parametrize(
    ("d", "splits"),
    [
        (1, (2,)),
        (1, (3,)),
        (2, (2, 1)),
        (2, (1, 3)),
        (3, (2, 1, 1)),
        (3, (1, 1, 3)),
        (3, (3, 2, 1)),
    ],
)
@pytest.mark.parametrize("ext", [".vti", ".vtr"])
def test_pieces_read_together_equal_the_serial_file(tmp_path, d, splits, ext):
    cells = (9, 7, 8)[:d]
    if ext == ".vti":
        nodes = Grid.box(list(cells), [0.0] * d, [1.0, 2.0, 0.5][:d]).nodes
    else:
        rng = np.random.default_rng(d)
        nodes = [np.cumsum(rng.uniform(0.1, 1.0, m + 1)) for m in cells]
    shape = tuple(m + 1 for m in cells)
    rng = np.random.default_rng(sum(splits))
    point = {"u": rng.standard_normal(shape), "error": rng.standard_normal(shape)}
    cell = {"k": rng.standard_normal(cells)}
    serial = read_vtk(write_result(tmp_path / f"serial{ext}", nodes, point, cell))

    path = tmp_path / f"out{ext}"
    extents = _pieces(shape, splits)
    assert len(extents) == int(np.prod(splits))
    for rank, extent in enumerate(extents):
        got = write_piece(path, nodes, extent, *_piece_arrays((point, cell), extent), rank=rank)
        assert got == tmp_path / "out" / f"out_{rank}{ext}"
    index = write_index(path, nodes, extents, list(point), list(cell))
    assert index == tmp_path / f"out.p{ext[1:]}"
    assert _listing(tmp_path) == sorted(["out", index.name, f"serial{ext}"])
    assert _listing(tmp_path / "out") == sorted(f"out_{r}{ext}" for r in range(len(extents)))

    together = read_vtk(index)  # vtkXMLPImageDataReader / vtkXMLPRectilinearGridReader
    assert together.dimensions == serial.dimensions
    np.testing.assert_array_equal(together.points, serial.points)
    for name in point:
        np.testing.assert_array_equal(together.point_data[name], serial.point_data[name])
    np.testing.assert_array_equal(together.cell_data["k"], serial.cell_data["k"])
    # and node by node against the input
    np.testing.assert_array_equal(together.nodal("u", d), point["u"])
    np.testing.assert_array_equal(together.cellwise("k", d), cell["k"])

    mine = read_result(index)  # kronpde's own reader of the index agrees
    np.testing.assert_array_equal(mine.fields["error"], point["error"])
    np.testing.assert_array_equal(mine.cell_fields["k"], cell["k"])


def test_piece_paths_and_extents():
    assert index_path("run/out.vtr") == pathlib.Path("run/out.pvtr")
    assert index_path("out.vti") == pathlib.Path("out.pvti")
    assert piece_path("run/out.vtr", 3) == pathlib.Path("run/out/out_3.vtr")
    assert piece_extent((0, 5), (5, 9), (9, 9)) == ((0, 5), (5, 8))  # shares node 5 on x
    with pytest.raises(OutputError):
        index_path("out.vtu")
    with pytest.raises(OutputError, match="rank"):
        piece_path("out.vtr", -1)
    with pytest.raises(GridError, match="does not lie"):
        piece_extent((0,), (10,), (9,))


def test_bad_pieces_and_indexes(tmp_path):
    nodes = [np.linspace(0, 1, 9), np.linspace(0, 1, 5)]
    path = tmp_path / "out.vtr"
    with pytest.raises(GridError, match="does not lie within"):
        write_piece(path, nodes, [(0, 9), (0, 4)], rank=0)
    with pytest.raises(GridError, match="spans no cells"):
        write_piece(path, nodes, [(8, 8), (0, 4)], rank=1)
    with pytest.raises(FieldDataError, match=r"expected \(4, 5\)"):
        write_piece(path, nodes, [(0, 3), (0, 4)], {"u": np.zeros((5, 5))}, rank=0)
    with pytest.raises(GridError, match="tile the grid"):  # a gap between the pieces
        write_index(path, nodes, [[(0, 3), (0, 4)], [(4, 7), (0, 4)]], ["u"])
    with pytest.raises(GridError, match="at least one piece"):
        write_index(path, nodes, [], ["u"])
    with pytest.raises(FieldDataError, match="name 'a b'"):
        write_index(path, nodes, [[(0, 8), (0, 4)]], ["a b"])
    with pytest.raises(NotUniformError):
        write_piece(tmp_path / "out.vti", [nodes[0] ** 2, nodes[1]], [(0, 8), (0, 4)], rank=0)
    assert _listing(tmp_path) == []


# ----------------------------------------------------------------------------- time series


@pytest.mark.parametrize("ext", [".vti", ".vtr"])
def test_time_series(tmp_path, ext):
    nodes = Grid.box([8, 6], [0.0, 0.0], [1.0, 1.0]).nodes
    x, y = np.meshgrid(*nodes, indexing="ij")
    series = TimeSeriesWriter(tmp_path / "run.pvd", ext)
    times = [0.0, 0.25, 1.5]
    for t in times:
        file = series.write(t, nodes, {"u": np.sin(x - t) * y}, {"c": np.full((8, 6), t)})
        assert file.parent == tmp_path / "run"
        listed = read_pvd(tmp_path / "run.pvd")  # complete after every step
        assert [s for s, _ in listed] == times[: len(listed)]
    assert _listing(tmp_path) == ["run", "run.pvd"]
    assert _listing(tmp_path / "run") == [f"run_00000{i}{ext}" for i in range(3)]
    steps = read_pvd(tmp_path / "run.pvd")
    assert [t for t, _ in steps] == times
    for t, file in steps:
        data = read_vtk(file)
        np.testing.assert_array_equal(data.nodal("u", 2), np.sin(x - t) * y)
        np.testing.assert_array_equal(data.cellwise("c", 2), np.full((8, 6), t))
    assert [(t, f.name) for t, f in series.steps] == [(t, f.name) for t, f in steps]


def test_time_series_survives_a_failed_step(tmp_path):
    nodes = [np.linspace(0, 1, 5)]
    series = TimeSeriesWriter(tmp_path / "run.pvd", ".vtr")
    series.write(0.0, nodes, {"u": np.zeros(5)})
    series.write(1.0, nodes, {"u": np.ones(5)})
    with pytest.raises(FieldDataError):
        series.write(2.0, nodes, {"u": np.full(5, np.nan)})  # a step that blows up
    with pytest.raises(FieldDataError, match="later than"):
        series.write(1.0, nodes, {"u": np.ones(5)})
    with pytest.raises(FieldDataError, match="finite"):
        series.write(float("inf"), nodes, {"u": np.ones(5)})
    steps = read_pvd(tmp_path / "run.pvd")
    assert [t for t, _ in steps] == [0.0, 1.0]
    np.testing.assert_array_equal(read_vtk(steps[1][1]).point_data["u"], np.ones(5))
    series.write(2.0, nodes, {"u": np.full(5, 2.0)})  # the series goes on
    assert [t for t, _ in read_pvd(tmp_path / "run.pvd")] == [0.0, 1.0, 2.0]


def test_time_series_of_parallel_files(tmp_path):
    nodes = [np.linspace(0, 1, 9), np.linspace(0, 1, 5)]
    u = np.random.default_rng(2).standard_normal((9, 5))
    series = TimeSeriesWriter(tmp_path / "run.pvd", ".vtr")
    extents = _pieces((9, 5), (2, 1))
    for step, t in enumerate([0.0, 0.5]):
        path = tmp_path / f"step{step}.vtr"
        for rank, extent in enumerate(extents):
            write_piece(
                path, nodes, extent, _piece_arrays(({"u": u + t}, {}), extent)[0], rank=rank
            )
        series.add(t, write_index(path, nodes, extents, ["u"]))
    steps = read_pvd(tmp_path / "run.pvd")
    assert [(t, f.name) for t, f in steps] == [(0.0, "step0.pvtr"), (0.5, "step1.pvtr")]
    np.testing.assert_array_equal(read_vtk(steps[1][1]).nodal("u", 2), u + 0.5)


def test_time_series_bad_set_up(tmp_path):
    with pytest.raises(OutputError, match=r"\.pvd"):
        TimeSeriesWriter(tmp_path / "run.xml")
    with pytest.raises(OutputError, match="not supported"):
        TimeSeriesWriter(tmp_path / "run.pvd", ".png")
    with pytest.raises(OutputError, match="not a structured VTK format"):
        TimeSeriesWriter(tmp_path / "run.pvd", ".vtu")
    with pytest.raises(OutputError, match="does not exist"):
        TimeSeriesWriter(tmp_path / "missing" / "run.pvd")
    assert _listing(tmp_path) == []


# ----------------------------------------------------------------------------- the module


def test_old_names_still_import():
    from kronpde.io.mesh import structured_mesh
    from kronpde.io.vtk import SUPPORTED_EXTENSIONS, check_writable, write_result  # noqa: F401

    assert vtk.structured_mesh is structured_mesh
    assert SUPPORTED_EXTENSIONS == (".vti", ".vtr", ".vts", ".vtu", ".vtk", ".xdmf")
    with pytest.raises(AttributeError):
        vtk.no_such_name  # noqa: B018


def test_structured_output_does_not_load_meshio(tmp_path):
    code = (
        "import sys, numpy as np\n"
        "from kronpde.io.vtk import write_result\n"
        "from kronpde.io.result import read_result\n"
        "x = np.linspace(0, 1, 5)\n"
        "write_result('r.vti', [x, x], {'u': np.add.outer(x, x)})\n"
        "read_result('r.vti')\n"
        "print('meshio' in sys.modules)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"


def test_docstring_examples_run():
    import doctest

    for module in (vtk, checks):
        result = doctest.testmod(module)
        assert result.failed == 0
    assert doctest.testmod(vtk).attempted > 0


def test_write_result_of_a_grid_with_dirichlet_and_periodic_faces(tmp_path):
    """The CLI's call: the grid's nodes (all nodes, boundary included) and nodal arrays."""
    grid = Grid.box(
        [6, 5, 4],
        [0.0, -1.0, 0.0],
        [1.0, 1.0, 2.0],
        {"zmin": Periodic(), "zmax": Periodic(), "xmin": Dirichlet(1.0)},
    )
    u = grid.to_nodes(np.random.default_rng(0).standard_normal(grid.shape))
    for ext in (".vti", ".vtr"):
        data = read_vtk(write_result(tmp_path / f"r{ext}", grid.nodes, {"u": u}))
        np.testing.assert_array_equal(data.nodal("u", 3), u)
        assert os.path.getsize(tmp_path / f"r{ext}") < u.nbytes + 3000
