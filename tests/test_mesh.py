"""Tests of kronpde.io.mesh: mesh layout, write -> meshio (and vtk) read round trips."""

from __future__ import annotations

import sys
import types

import meshio
import numpy as np
import pytest
from vtk_reference import read_vtk

from kronpde.errors import GridError
from kronpde.io import mesh as mesh_module
from kronpde.io.mesh import structured_mesh, write_mesh
from kronpde.io.vtk import OutputError, write_result

FORMATS = [".vtu", ".vtk", ".xdmf"]
CELLS = (4, 3, 2)  # different per axis, so a transposed layout cannot pass
CELL_TYPE = {1: "line", 2: "quad", 3: "hexahedron"}


def _nodes(d, seed=0):
    """Non-uniform, strictly increasing nodes with CELLS[i] intervals on axis i."""
    rng = np.random.default_rng(seed)
    return [
        -0.5 + i + np.concatenate([[0.0], np.cumsum(rng.uniform(0.1, 1.0, CELLS[i]))])
        for i in range(d)
    ]


@pytest.fixture
def no_h5py(monkeypatch):
    """Let meshio's XDMF reader run without h5py: it imports h5py unconditionally,
    although XML-format data items never touch it."""
    if "h5py" not in sys.modules:
        try:
            import h5py  # noqa: F401
        except ImportError:
            monkeypatch.setitem(sys.modules, "h5py", types.ModuleType("h5py"))


def _listing(folder):
    return sorted(p.name for p in folder.iterdir())


def _check_cells_tile_grid(points, cells, nodes):
    """Each cell's nodes are exactly the 2^d corners of one grid box, every box once."""
    d = len(nodes)
    pts = points[cells][:, :, :d]  # (n_cells, 2^d, d)
    lo, hi = pts.min(axis=1), pts.max(axis=1)
    lower_index = []
    for a in range(d):
        i = np.searchsorted(nodes[a], lo[:, a])
        assert np.all(i < len(nodes[a]) - 1)
        np.testing.assert_array_equal(nodes[a][i], lo[:, a])
        np.testing.assert_array_equal(nodes[a][i + 1], hi[:, a])  # neighbouring nodes
        on_lo, on_hi = pts[:, :, a] == lo[:, None, a], pts[:, :, a] == hi[:, None, a]
        assert np.all(on_lo | on_hi)
        lower_index.append(i)
    code = sum((pts[:, :, a] == hi[:, None, a]).astype(int) << a for a in range(d))
    np.testing.assert_array_equal(np.sort(code, axis=1), np.tile(np.arange(2**d), (len(cells), 1)))
    boxes = np.ravel_multi_index(lower_index, [len(x) - 1 for x in nodes])
    assert len(np.unique(boxes)) == int(np.prod([len(x) - 1 for x in nodes]))
    return boxes


_EDGES = {
    1: [(0, 1)],
    2: [(0, 1), (1, 2), (2, 3), (3, 0)],
    3: [(0, 1), (1, 2), (2, 3), (3, 0), (4, 5), (5, 6), (6, 7), (7, 4)]
    + [(0, 4), (1, 5), (2, 6), (3, 7)],
}


def _check_vtk_edges(points, cells, d):
    """VTK's edges of a line/quad/hexahedron join box corners differing on one axis only."""
    p = points[cells]
    for a, b in _EDGES[d]:
        assert np.all(np.count_nonzero(p[:, a] != p[:, b], axis=1) == 1), (a, b)


def _signed_measure(points, cells, d):
    """Length, signed area (shoelace) or signed volume (corner determinant) per cell."""
    p = points[cells]
    if d == 1:
        return p[:, 1, 0] - p[:, 0, 0]
    if d == 2:
        x, y = p[:, :, 0], p[:, :, 1]
        return 0.5 * np.sum(x * np.roll(y, -1, axis=1) - np.roll(x, -1, axis=1) * y, axis=1)
    # VTK hexahedron: 1-0 along x, 3-0 along y, 4-0 along z for a positively oriented box
    edges = np.stack([p[:, 1] - p[:, 0], p[:, 3] - p[:, 0], p[:, 4] - p[:, 0]], axis=1)
    return np.linalg.det(edges)


def _expected_points(nodes):
    d = len(nodes)
    n = int(np.prod([len(x) for x in nodes]))
    expected = np.zeros((n, 3))
    expected[:, :d] = np.stack([g.ravel() for g in np.meshgrid(*nodes, indexing="ij")], axis=1)
    return expected


# ----------------------------------------------------------------------------- mesh layout


def test_structured_mesh_small_grids_by_hand():
    quads = structured_mesh([np.array([0.0, 1.0, 3.0]), np.array([0.0, 0.5])])
    # node (i, j) is point 2*i + j
    np.testing.assert_array_equal(quads.cells[0].data, [[0, 2, 3, 1], [2, 4, 5, 3]])
    np.testing.assert_array_equal(quads.points[3], [1.0, 0.5, 0.0])
    hexes = structured_mesh([np.array([0.0, 1.0])] * 3)
    # node (i, j, k) is point 4*i + 2*j + k
    np.testing.assert_array_equal(hexes.cells[0].data, [[0, 4, 6, 2, 1, 5, 7, 3]])
    lines = structured_mesh([np.array([0.0, 0.2, 1.0])])
    np.testing.assert_array_equal(lines.cells[0].data, [[0, 1], [1, 2]])
    np.testing.assert_array_equal(lines.points, [[0, 0, 0], [0.2, 0, 0], [1, 0, 0]])


@pytest.mark.parametrize("d", [1, 2, 3])
def test_structured_mesh_points_cells_orientation(d):
    nodes = _nodes(d)
    mesh = structured_mesh(nodes)
    shape = tuple(len(x) for x in nodes)
    np.testing.assert_array_equal(mesh.points, _expected_points(nodes))
    for idx in [(0,) * d, tuple(s - 1 for s in shape), (1, 2, 1)[:d]]:
        want = [nodes[a][idx[a]] for a in range(d)]
        np.testing.assert_array_equal(mesh.points[np.ravel_multi_index(idx, shape), :d], want)
    (block,) = mesh.cells
    assert block.type == CELL_TYPE[d]
    assert block.data.shape == (int(np.prod(CELLS[:d])), 2**d)
    boxes = _check_cells_tile_grid(mesh.points, block.data, nodes)
    np.testing.assert_array_equal(boxes, np.arange(len(boxes)))  # cells in C order of boxes
    _check_vtk_edges(mesh.points, block.data, d)
    assert np.all(_signed_measure(mesh.points, block.data, d) > 0)
    measure = np.abs(_signed_measure(mesh.points, block.data, d)).sum()
    np.testing.assert_allclose(measure, np.prod([x[-1] - x[0] for x in nodes]), rtol=1e-13)


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
def test_structured_mesh_rejects_bad_nodes(nodes):
    with pytest.raises(GridError):
        structured_mesh(nodes)


# ----------------------------------------------------------------------------- round trips


@pytest.mark.usefixtures("no_h5py")
@pytest.mark.parametrize("compression", [None, 1])
@pytest.mark.parametrize("ext", FORMATS)
@pytest.mark.parametrize("d", [1, 2, 3])
def test_round_trip(tmp_path, ext, d, compression):
    nodes = _nodes(d, seed=d)
    shape = tuple(len(x) for x in nodes)
    cells = tuple(n - 1 for n in shape)
    rng = np.random.default_rng(10 + d)
    u = rng.standard_normal(shape)  # nodal shape
    f = rng.standard_normal(int(np.prod(shape))) * 1e-300  # flat; tiny values must survive
    labels = np.arange(int(np.prod(shape)), dtype=np.int32).reshape(shape)  # converted to float64
    k = rng.uniform(1, 2, cells)
    out = write_result(
        tmp_path / f"r{ext}",
        nodes,
        {"u": u, "f": f, "n": labels},
        {"k": k},
        compression=compression,
    )
    assert out == tmp_path / f"r{ext}"
    assert _listing(tmp_path) == [f"r{ext}"]

    mesh = meshio.read(out)
    np.testing.assert_array_equal(mesh.points, _expected_points(nodes))
    assert set(mesh.point_data) == {"u", "f", "n"}
    for name, want in [("u", u.ravel()), ("f", f), ("n", np.arange(u.size, dtype=float))]:
        got = mesh.point_data[name]
        assert (got.dtype.kind, got.dtype.itemsize) == ("f", 8)  # legacy .vtk is big-endian
        np.testing.assert_array_equal(got.ravel(), want)
    assert [c.type for c in mesh.cells] == [CELL_TYPE[d]]
    block = mesh.cells[0].data
    assert block.shape == (int(np.prod(CELLS[:d])), 2**d)
    boxes = _check_cells_tile_grid(mesh.points, block, nodes)
    _check_vtk_edges(mesh.points, block, d)
    assert np.all(_signed_measure(mesh.points, block, d) > 0)
    # the cell data of each cell is that of its box
    np.testing.assert_array_equal(mesh.cell_data["k"][0], k.ravel()[boxes])


@pytest.mark.parametrize("compression", [None, 1])
@pytest.mark.parametrize("d", [2, 3])
def test_vtu_reads_in_vtk(tmp_path, d, compression):
    nodes = _nodes(d, seed=d)
    shape = tuple(len(x) for x in nodes)
    rng = np.random.default_rng(d)
    u, k = rng.standard_normal(shape), rng.standard_normal(tuple(n - 1 for n in shape))
    out = write_result(tmp_path / "r.vtu", nodes, {"u": u}, {"k": k}, compression=compression)
    data = read_vtk(out)
    np.testing.assert_array_equal(data.points, _expected_points(nodes))
    np.testing.assert_array_equal(data.point_data["u"], u.ravel())
    np.testing.assert_array_equal(data.cell_data["k"], k.ravel())
    head = out.read_bytes()[:400]
    assert b'header_type="UInt64"' in head
    assert (b"vtkZLibDataCompressor" in head) == (compression is not None)


@pytest.mark.usefixtures("no_h5py")
def test_xdmf_reads_like_meshios_own_xml_writer(tmp_path):
    nodes = _nodes(3, seed=5)
    u = np.random.default_rng(5).standard_normal(tuple(len(x) for x in nodes))
    ours = meshio.read(write_result(tmp_path / "ours.xdmf", nodes, {"u": u}))
    ref_mesh = structured_mesh(nodes)
    ref_mesh.point_data = {"u": u.ravel()}
    meshio.xdmf.write(tmp_path / "ref.xdmf", ref_mesh, data_format="XML")
    ref = meshio.read(tmp_path / "ref.xdmf")
    np.testing.assert_array_equal(ours.points, ref.points)
    np.testing.assert_array_equal(ours.cells[0].data, ref.cells[0].data)
    np.testing.assert_array_equal(ours.point_data["u"], ref.point_data["u"])
    text = (tmp_path / "ours.xdmf").read_text()
    assert 'Format="HDF"' not in text
    assert text.count('Format="XML"') == 3


def test_file_format_overrides_extension(tmp_path):
    out = write_result(tmp_path / "result.dat", _nodes(2), {}, file_format="vtu")
    assert _listing(tmp_path) == ["result.dat"]
    assert meshio.read(out, file_format="vtu").cells[0].type == "quad"


def test_write_mesh_names_only_mesh_formats(tmp_path):
    with pytest.raises(OutputError, match="write_mesh writes .vtu, .vtk, .xdmf"):
        write_mesh(tmp_path / "r.vti", _nodes(1), {})
    assert _listing(tmp_path) == []


def test_callers_arrays_are_not_modified(tmp_path):
    u = np.arange(20, dtype=np.float32).reshape(5, 4)
    before = u.copy()
    write_result(tmp_path / "a.vtu", _nodes(2), {"u": u})
    np.testing.assert_array_equal(u, before)
    assert u.dtype == np.float32


def _failing_writer(exc):
    def write(filename, *args, **kwargs):
        with open(filename, "w") as fh:  # leave a partial temporary behind
            fh.write("partial")
        raise exc

    return write


@pytest.mark.parametrize("ext", FORMATS)
def test_failed_write_keeps_existing_file_and_removes_temporary(tmp_path, monkeypatch, ext):
    exc = OSError(28, "No space left on device")
    monkeypatch.setattr(meshio.vtu, "write", _failing_writer(exc))
    monkeypatch.setattr(meshio.vtk, "write", _failing_writer(exc))
    monkeypatch.setattr(mesh_module, "_write_xdmf", _failing_writer(exc))
    target = tmp_path / f"out{ext}"
    target.write_bytes(b"previous result")
    with pytest.raises(OutputError, match="No space left on device") as info:
        write_result(target, _nodes(3), {"u": np.zeros((5, 4, 3))})
    assert info.value.__cause__ is exc
    assert target.read_bytes() == b"previous result"
    assert _listing(tmp_path) == [f"out{ext}"]
