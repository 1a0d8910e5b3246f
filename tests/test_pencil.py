"""The distributed exact solve (kronpde.solvers.pencil) against the serial ``fastdiag``.

The layouts and the one-process solve (no MPI) run everywhere; the runs under
``mpirun`` at 1, 2, 3 and 4 ranks (slabs, an uneven split, pencils, a 1-D
problem on one rank) are marked ``petsc``: they need mpi4py and mpi4py-fft
(``scripts/install-petsc.sh``, then ``scripts/install-mpi4py-fft.sh``) and run in
CI's MPI step.  The serial solve is the independent reference: every problem
of every face kind, cell-centred, stretched and fourth-order, in 2-D and 3-D,
agrees with it to 1e-10 of ``max |u|``.
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from conftest import build_problem

from kronpde import Grid, Problem, prepare, solve
from kronpde.errors import SolverError
from kronpde.geometry.axis import stretched_nodes
from kronpde.solvers.pencil import (
    PencilFastDiag,
    PencilUnavailableError,
    ownership_ranges,
    process_grid,
)
from kronpde.solvers.pencil.layout import block, build_layouts

TESTS = Path(__file__).resolve().parent
D, N, R, P = "dirichlet", "neumann", "robin", "periodic"

#: name -> (how, cells, per-axis kinds, shift, extra): "box" conftest's build_problem (extra:
#: k), "order4" the same at order 4, "cell" test_cells' cell-centred build (extra: stretched),
#: "stretched" node-centred tanh-stretched axes (extra: the kinds' source), all of them with
#: the manufactured data.
PROBLEMS = {
    "1d-robin-neumann": ("box", [9], [(R, N)], 0.0, 1.0),
    "2d-dirichlet": ("box", [10, 7], [(D, D), (D, D)], 0.0, 1.0),
    "2d-pure-neumann": ("box", [10, 7], [(N, N), (N, N)], 0.0, 1.0),
    "2d-robin": ("box", [10, 7], [(R, R), (D, R)], 0.0, 1.0),
    "2d-periodic-dirichlet": ("box", [10, 7], [(P, P), (D, N)], 0.0, 1.0),
    "2d-pure-periodic": ("box", [8, 9], [(P, P), (P, P)], 0.0, 1.0),
    "2d-screened-neumann": ("box", [8, 9], [(N, N), (N, N)], 2.5, 1.0),
    "2d-cell-stretched": ("cell", [12, 10], [(D, N), (R, N)], 0.0, True),
    "2d-cell-pure-neumann": ("cell", [12, 10], [(N, N), (N, N)], 0.0, False),
    "2d-stretched": ("stretched", [11, 9], [(D, N), (N, R)], 0.0, None),
    "2d-order4": ("order4", [12, 10], [(D, N), (N, D)], 0.0, 1.0),
    "2d-order4-periodic": ("order4", [12, 10], [(N, N), (P, P)], 0.0, 1.0),
    "3d-mixed": ("box", [6, 7, 5], [(P, P), (N, R), (D, N)], 0.0, 2.0),
    "3d-pure-neumann": ("box", [5, 6, 4], [(N, N), (N, N), (N, N)], 0.0, 1.0),
    "3d-periodic-neumann": ("box", [6, 4, 5], [(P, P), (P, P), (N, N)], 0.0, 1.0),
    "3d-pencil": ("box", [4, 8, 3], [(D, D), (N, N), (P, P)], 0.0, 1.0),
    "3d-pencil-robin": ("box", [2, 7, 3], [(R, N), (D, R), (P, P)], 0.5, 1.5),
    "3d-cell-stretched": ("cell", [6, 5, 6], [(D, N), (N, N), (P, P)], 0.0, True),
    "3d-order4": ("order4", [6, 7, 5], [(P, P), (N, N), (D, N)], 0.3, 2.0),
}

#: Problems whose solver is given a new shift (set_shift) after its first solves.
SHIFTS = {"2d-screened-neumann": 0.0, "3d-mixed": 1.5, "3d-pencil-robin": 0.0}


def build(name: str) -> Problem:
    """The problem ``name`` of :data:`PROBLEMS`."""
    how, cells, kinds, shift, extra = PROBLEMS[name]
    if how == "cell":
        from test_cells import build as build_cells

        return build_cells(cells, kinds, "cell", stretched=extra, shift=shift)[0]
    if how == "stretched":
        p, _ = build_problem(cells, kinds, shift=shift)
        axes = p.grid.axes
        nodes = [stretched_nodes(c, a.lower, a.upper) for c, a in zip(cells, axes, strict=True)]
        faces = {}
        for i, a in enumerate(axes):
            faces["xyz"[i] + "min"], faces["xyz"[i] + "max"] = a.lower_bc, a.upper_bc
        grid = Grid.box(cells, upper=[a.upper for a in axes], boundary=faces, nodes=nodes)
        return Problem(grid, p.source, shift)
    p, _ = build_problem(cells, kinds, shift=shift, k=extra)
    if how == "order4":
        return Problem(p.grid, p.source, shift, coefficient=extra, order=4)
    return p


# =========================================================================== without MPI


def test_blocks_split_as_petsc_and_mpi4py_fft_do():
    assert [block(10, 3, i) for i in range(3)] == [(4, 0), (3, 4), (3, 7)]
    assert [block(5, 5, i) for i in range(5)] == [(1, i) for i in range(5)]
    assert ownership_ranges((11, 8, 5), (2, 3, 1)) == ((6, 5), (3, 3, 2), (5,))


def test_process_grid_slabs_then_pencils():
    assert process_grid((9,), 4) == (1,)  # a 1-D problem: one rank
    assert process_grid((8, 8, 8), 1) == (1, 1, 1)
    assert process_grid((8, 8, 5), 8) == (8, 1, 1)  # slab: only the first two axes split
    assert process_grid((8, 5, 8), 8) == (4, 2, 1)
    assert process_grid((3, 9, 3), 4) == (2, 2, 1)  # pencils: 4 > 3
    assert process_grid((16, 64, 16), 32) in ((4, 8, 1), (8, 4, 1))
    with pytest.raises(SolverError, match="do not fit"):
        process_grid((3, 4), 4)  # 2-D: slabs only
    with pytest.raises(SolverError, match="do not fit"):
        process_grid((2, 2, 2), 5)


@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_one_process_agrees_with_serial_fastdiag(name):
    """Without MPI (one process, one layout) every problem gives the serial solution."""
    p = build(name)
    ref = solve(p, "fastdiag")
    s = PencilFastDiag(p)
    assert (s.decomposition, s.transposes, s.local_shape) == ("serial", 0, s.shape)
    assert s.local_slices == tuple(slice(0, n) for n in s.shape)
    u = s.solve(p.rhs())
    scale = np.abs(ref.x).max()
    assert np.abs(u - ref.x).max() <= 1e-10 * scale
    if p.singular:
        assert s.last_projected_norm == pytest.approx(ref.report.projected_norm, rel=1e-8)


def test_out_shift_and_kernels_as_serially():
    p = build("3d-mixed")
    s = PencilFastDiag(p, kernels="gemm")
    assert s.axis_kernels == ("gemm",) * 3
    rng = np.random.default_rng(3)
    b = rng.standard_normal(s.shape)
    out = np.empty_like(b)
    assert s.solve(b, out=out) is out
    serial = prepare(p, "fastdiag", options={"kernels": "gemm"})
    np.testing.assert_allclose(out.ravel(), serial.solve(b.ravel()).x, rtol=0, atol=1e-12)
    s.set_shift(4.0)
    shifted = Problem(p.grid, p.source, 4.0, coefficient=2.0)
    np.testing.assert_allclose(
        s.solve(b).ravel(), prepare(shifted, "fastdiag").solve(b.ravel()).x, rtol=0, atol=1e-12
    )
    with pytest.raises(ValueError, match="b_local must have shape"):
        s.solve(b[:-1])
    with pytest.raises(ValueError, match="finite"):
        s.set_shift(float("inf"))


def test_refuses_what_fastdiag_cannot_solve_and_says_how_to_install():
    p, _ = build_problem([6, 5], [(D, D), (N, D)])
    p = Problem(p.grid, p.source, coefficient="1 + x")
    with pytest.raises(SolverError, match="fastdiag-cg"):
        PencilFastDiag(p)


def test_a_missing_mpi4py_fft_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "mpi4py_fft", None)
    with pytest.raises(PencilUnavailableError, match="install-mpi4py-fft.sh"):
        build_layouts(object(), (4, 4), (2, 1))


# =========================================================================== under mpirun

#: Driver run under mpirun: every problem of PROBLEMS against the serial solve on every rank;
#: rank 0 writes a JSON report.
DRIVER = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    from mpi4py import MPI
    from petsc4py import PETSc
    sys.path.insert(0, {tests!r})
    from test_pencil import PROBLEMS, SHIFTS, build
    from kronpde import Problem, prepare, solve
    from kronpde.solvers.pencil import PencilFastDiag, PencilPreconditioner

    comm = MPI.COMM_WORLD
    records = {{}}
    rng = np.random.default_rng(5)
    for name in PROBLEMS:
        p = build(name)
        ref = solve(p, "fastdiag")
        s = PencilFastDiag(p, comm)
        shape = s.shape
        u = s.solve(p.rhs().reshape(shape)[s.local_slices])
        scale = float(np.abs(ref.x).max())
        diff = float(np.abs(u - ref.x.reshape(shape)[s.local_slices]).max(initial=0.0))
        # a second solve of the same solver: a random b into out=
        b = rng.standard_normal(shape)
        out = np.empty(s.local_shape)
        s.solve(b[s.local_slices], out=out)
        again = prepare(p, "fastdiag").solve(b.ravel()).x.reshape(shape)[s.local_slices]
        max_again = comm.allreduce(float(np.abs(again).max(initial=0.0)), op=MPI.MAX)
        diff2 = float(np.abs(out - again).max(initial=0.0)) / max_again
        cover = comm.gather((s.local_slices, s.rank), root=0)
        record = dict(
            decomposition=s.decomposition,
            dims=list(s.dims),
            transposes=s.transposes,
            diff=comm.allreduce(diff, op=MPI.MAX) / scale,
            diff_random=comm.allreduce(diff2, op=MPI.MAX),
            singular=bool(s.singular),
            projected=s.last_projected_norm,
            describe=s.describe(),
        )
        if p.singular:
            s.solve(p.rhs().reshape(shape)[s.local_slices])
            record["projected"] = s.last_projected_norm
            record["projected_serial"] = ref.report.projected_norm
        if s.decomposition != "one rank":  # a DMDA of the solver's ownership: the same blocks
            ranges = [np.asarray(r, dtype=PETSc.IntType) for r in s.ownership_ranges()[::-1]]
            da = PETSc.DMDA().create(
                dim=len(shape), dof=1, sizes=shape[::-1], proc_sizes=[len(r) for r in ranges],
                ownership_ranges=ranges, stencil_width=1, comm=PETSc.COMM_WORLD,
            )
            owned = tuple(slice(int(lo), int(hi)) for lo, hi in da.getRanges()[::-1])
            record["dmda_match"] = comm.allreduce(owned == s.local_slices, op=MPI.LAND)
            # as PETSc's preconditioner (KSP preonly: one application) on the DMDA's vectors
            x, y = da.createGlobalVec(), da.createGlobalVec()
            x.getArray()[:] = b[s.local_slices].ravel()
            mat = da.createMatrix()
            mat.assemble()
            ksp = PETSc.KSP().create(comm=PETSc.COMM_WORLD)
            ksp.setOperators(mat)
            ksp.setType("preonly")
            ksp.getPC().setType("python")
            ksp.getPC().setPythonContext(PencilPreconditioner(s))
            ksp.solve(x, y)
            d = np.abs(y.getArray(readonly=True).reshape(s.local_shape) - again).max(initial=0)
            record["diff_pc"] = comm.allreduce(float(d), op=MPI.MAX) / max_again
            for obj in (ksp, mat, x, y, da):
                obj.destroy()
        if name in SHIFTS:  # a new shift: the eigenvalues again, the layouts kept
            q = build(name)
            q = Problem(q.grid, q.source, SHIFTS[name], coefficient=q.coefficient)
            s.set_shift(SHIFTS[name])
            u = s.solve(b[s.local_slices])
            again = prepare(q, "fastdiag").solve(b.ravel()).x.reshape(shape)[s.local_slices]
            d = float(np.abs(u - again).max(initial=0.0)) / float(np.abs(again).max(initial=1))
            record["diff_shifted"] = comm.allreduce(d, op=MPI.MAX)
            record["singular_shifted"] = bool(s.singular)
        if comm.rank == 0:
            count = np.zeros(shape, dtype=int)
            for slices, _ in cover:
                count[slices] += 1
            record["covered_once"] = bool(np.all(count == 1))
        records[name] = record
        s.close()
    if comm.rank == 0:
        with open(sys.argv[1], "w") as f:
            json.dump(records, f)
    """
)


@pytest.fixture(scope="module")
def mpi_ready():
    """mpi4py and mpi4py-fft must be there when these tests are selected: fail, never skip."""
    try:
        import mpi4py  # noqa: F401
        import mpi4py_fft  # noqa: F401
    except ImportError as exc:
        pytest.fail(f"the distributed fast solve needs mpi4py and mpi4py-fft ({exc})")


@pytest.mark.petsc
@pytest.mark.parametrize("ranks", [1, 2, 3, 4])
def test_every_problem_agrees_with_serial_fastdiag_under_mpirun(mpi_ready, tmp_path, ranks):
    from test_petsc import MPIRUN, mpirun

    assert MPIRUN is not None, "mpirun is not on PATH: run scripts/install-petsc.sh"
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER.format(tests=str(TESTS)))
    report = tmp_path / "report.json"
    proc = mpirun(ranks, sys.executable, driver, report, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    records = json.loads(report.read_text())
    assert set(records) == set(PROBLEMS)
    for name, rec in records.items():
        assert rec["diff"] <= 1e-10, (name, rec)
        assert rec["diff_random"] <= 1e-10, (name, rec)
        assert rec["covered_once"], (name, rec)
        assert rec.get("dmda_match", True), (name, rec)
        assert rec.get("diff_pc", 0.0) <= 1e-10, (name, rec)
        if name in SHIFTS:
            assert rec["diff_shifted"] <= 1e-10, (name, rec)
        if rec["singular"]:
            assert rec["projected"] == pytest.approx(rec["projected_serial"], rel=1e-8), name
    expected = {1: "serial", 2: "slab", 3: "slab", 4: "slab"}[ranks]
    one_d = records.pop("1d-robin-neumann")
    assert one_d["decomposition"] == ("serial" if ranks == 1 else "one rank")
    if ranks > 1:
        assert "solved on one rank" in one_d["describe"], one_d
    assert records["2d-screened-neumann"]["singular_shifted"]  # c = 0: pure Neumann
    assert sum("dmda_match" in rec for rec in records.values()) == len(records)
    # 3 x 9 x 3 and 3 x 7 x 3 unknowns: 4 ranks do not fit slabs
    for pencil in (records.pop("3d-pencil"), records.pop("3d-pencil-robin")):
        if ranks == 4:
            layout = (pencil["decomposition"], pencil["dims"], pencil["transposes"])
            assert layout == ("pencil", [2, 2, 1], 2), pencil
        else:
            assert pencil["decomposition"] == expected, pencil
    for name, rec in records.items():
        assert rec["decomposition"] == expected, (name, rec)
        assert rec["transposes"] == (0 if ranks == 1 else 1), (name, rec)
