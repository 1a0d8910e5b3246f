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
import os
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
    p = Problem(p.grid, p.source, coefficient="1 + x*y")
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


# =========================================================================== the integration

#: Driver run under ``mpirun -n 2``: every 2-D and 3-D case of cases/ that the serial fastdiag
#: solves, through the command line (in-process on every rank) serially on rank 0 and with
#: ``--backend petsc --method fastdiag`` on both; then ``prepare(..., comm=)`` without PETSc and
#: as the PETSc backend's option, each rank's block in and out.
CLI_DRIVER = textwrap.dedent(
    """
    import contextlib, io, json, sys
    from pathlib import Path
    import numpy as np
    from mpi4py import MPI
    sys.path.insert(0, {tests!r})
    from test_pencil import build
    from kronpde import Problem, prepare, solve
    from kronpde.app import cli
    from kronpde.io.case import load_case
    from kronpde.io.result import read_result

    out, folder = Path(sys.argv[1]), Path(sys.argv[2])
    comm = MPI.COMM_WORLD
    sys.excepthook = lambda *exc: (sys.__excepthook__(*exc), comm.Abort(1))  # no rank waits

    def run(*argv):
        text = io.StringIO()
        with contextlib.redirect_stdout(text):
            code = cli.main(["solve", *map(str, argv), "--json", "-q"])
        lines = text.getvalue().strip().splitlines()
        return code, (json.loads(lines[-1]) if lines else None)

    records = {{}}
    for case in sorted(folder.glob("*.toml")):
        problem = load_case(case, check=False).problem
        if problem.grid.dimension == 1 or problem.discretisation.fast_solve_obstacle():
            continue
        name = case.stem
        if comm.rank == 0:
            serial = run(case, "-o", f"{{name}}-serial.vti", "--method", "fastdiag")
        comm.Barrier()
        got = run(case, "-o", f"{{name}}-petsc.vti", "--backend", "petsc", "--method", "fastdiag")
        if comm.rank == 0:
            (code_s, rec_s), (code_p, rec_p) = serial, got
            got_s, got_p = read_result(rec_s["output"]), read_result(rec_p["output"])
            u_s = {{**got_s.fields, **got_s.cell_fields}}["u"]  # cell data on cell-centred grids
            u_p = {{**got_p.fields, **got_p.cell_fields}}["u"]
            records[name] = dict(
                codes=[code_s, code_p],
                serial=rec_s,
                petsc=rec_p,
                diff=float(np.abs(u_p - u_s).max() / np.abs(u_s).max()),
            )

    # fastdiag-cg on PETSc (a variable k): the serial iteration counts
    variable = folder / "variable2d.toml"
    if comm.rank == 0:
        serial = run(variable, "-o", "variable-serial.vti", "--method", "fastdiag-cg")
    comm.Barrier()
    got = run(variable, "-o", "variable-petsc.vti", "--backend", "petsc", "--method", "fastdiag-cg")
    q = build("3d-mixed")
    q = Problem(q.grid, q.source, coefficient="(1 + 0.5*sin(2*x)*cos(y))*(1 + 0.2*z)")
    fcg = [solve(q, "fastdiag-cg", rtol=1e-10)]
    fcg.append(solve(q, "fastdiag-cg", backend="petsc", rtol=1e-10))
    if comm.rank == 0:
        records["fastdiag-cg"] = dict(
            cli=[serial[0], got[0], serial[1]["iterations"], got[1]["iterations"]],
            cli_pc=got[1]["pc"],
            python=[fcg[0].report.iterations, fcg[1].report.iterations],
            python_diff=float(np.abs(fcg[1].u - fcg[0].u).max() / np.abs(fcg[0].u).max()),
        )

    # prepare(comm=): each rank's block in and out, out= and check=False, set_shift
    p = build("3d-mixed")
    shape = p.grid.shape
    b = np.random.default_rng(1).standard_normal(shape)
    ref = prepare(p, "fastdiag")
    api = {{}}
    for label, extra in (("mpi", {{}}), ("petsc", {{"backend": "petsc"}})):
        s = prepare(p, "fastdiag", comm=comm, **extra)
        box = s.box
        want = ref.solve(b.ravel()).x.reshape(shape)[box]
        sol = s.solve(b[box])
        into = np.empty(s.local_shape)
        lean = s.solve(b[box], out=into, check=False)
        s.set_shift(1.5)
        shifted = prepare(Problem(p.grid, p.source, 1.5, coefficient=p.coefficient), "fastdiag")
        want2 = shifted.solve(b.ravel()).x.reshape(shape)[box]
        again = s.solve(b[box])
        scale = float(np.abs(want).max())
        api[label] = dict(
            kind=type(s).__name__,
            iterations=sol.report.iterations,
            decomposition=sol.report.options["decomposition"],
            diff=comm.allreduce(float(np.abs(sol.local - want).max()), op=MPI.MAX) / scale,
            out_is_x=comm.allreduce(bool(np.shares_memory(lean.local, into)), op=MPI.LAND),
            lean_diff=comm.allreduce(float(np.abs(into - want).max()), op=MPI.MAX) / scale,
            lean_checked=lean.report.checked,
            shifted=comm.allreduce(float(np.abs(again.local - want2).max()), op=MPI.MAX) / scale,
            residual=sol.report.relative_residual,
        )
    records["api"] = api
    if comm.rank == 0:
        out.write_text(json.dumps(records))
    """
)


@pytest.mark.petsc
def test_cases_at_two_ranks_solve_exactly_as_serial_fastdiag(mpi_ready, tmp_path):
    """``mpirun -n 2 kronpde solve CASE --backend petsc --method fastdiag`` for every 2-D and
    3-D case of cases/ that fastdiag solves serially: iterations 0, the serial solution to
    1e-10 of max |u|, the slab decomposition in the JSON; ``fastdiag-cg`` with a variable k
    on PETSc (the distributed fast solve as a python PC) takes the serial iteration count
    within 2; ``prepare(..., comm=)`` (with and without PETSc) takes and returns each rank's
    block, with out=, check=False, set_shift."""
    from test_petsc import MPIRUN, mpirun

    assert MPIRUN is not None, "mpirun is not on PATH: run scripts/install-petsc.sh"
    driver = tmp_path / "driver.py"
    driver.write_text(CLI_DRIVER.format(tests=str(TESTS)))
    report = tmp_path / "report.json"
    cases = TESTS.parent / "cases"
    proc = mpirun(2, sys.executable, driver, report, cases, cwd=tmp_path, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    records = json.loads(report.read_text())
    api = records.pop("api")
    fcg = records.pop("fastdiag-cg")  # PETSc's CG preconditioned by the distributed fast solve
    codes, iterations = fcg["cli"][:2], fcg["cli"][2:]
    assert codes == [0, 0], fcg
    assert abs(iterations[1] - iterations[0]) <= 2, fcg
    assert fcg["cli_pc"] == "fastdiag", fcg
    assert abs(fcg["python"][1] - fcg["python"][0]) <= 2, fcg
    assert fcg["python_diff"] <= 1e-8, fcg
    assert len(records) >= 10, sorted(records)  # every 2-D and 3-D case but the variable k
    for name, rec in records.items():
        serial, petsc = rec["serial"], rec["petsc"]
        assert rec["codes"] == [0, 0], (name, rec)
        assert rec["diff"] <= 1e-10, (name, rec)
        assert (petsc["method"], petsc["iterations"], petsc["ranks"]) == ("fastdiag", 0, 2), name
        assert (petsc["decomposition"], petsc["process_grid"][0]) == ("slab", 2), name
        assert petsc["output"].endswith(".pvti"), name
        if serial.get("error_max") is not None:
            assert petsc["error_max"] == pytest.approx(serial["error_max"], rel=1e-8), name
        # the residual and the certified bound, matrix-free over the ranks: the serial ones
        # (the fourth-order scheme's rounding term is that of the PETSc rows, within 3x)
        assert petsc["relative_residual"] <= 1e-12, name
        ratio = petsc["algebraic_error_bound"] / serial["algebraic_error_bound"]
        assert ratio == pytest.approx(1.0, rel=0.05) or "order4" in name, (name, ratio)
        assert 1 / 3 <= ratio <= 3, (name, ratio)
    for label, rec in api.items():
        kind = {"mpi": "DistributedFastDiag", "petsc": "PetscFastDiag"}[label]
        assert (rec["kind"], rec["iterations"], rec["decomposition"]) == (kind, 0, "slab")
        assert rec["diff"] <= 1e-10, (label, rec)
        assert rec["lean_diff"] <= 1e-10, (label, rec)
        assert rec["shifted"] <= 1e-10, (label, rec)
        assert rec["out_is_x"], (label, rec)
        assert rec["lean_checked"] is False, (label, rec)
    assert api["petsc"]["residual"] <= 1e-12


BAD_EXACT = """
[grid]
cells = [12, 10]
[equation]
source = 1
coefficient = "{k}"
[boundary]
default = {{ type = "dirichlet", value = 0 }}
[output]
file = "out.vti"
"""


@pytest.mark.petsc
@pytest.mark.parametrize("what", ["variable k", "no mpi4py-fft"])
def test_bad_exact_solve_under_mpirun_exits_2_with_one_message(mpi_ready, tmp_path, what):
    """``--method fastdiag`` on a variable k names fastdiag-cg; without mpi4py-fft (an
    unimportable one first on the path) the message says how to install it; exit 2, one
    message, no traceback, nothing written."""
    from test_petsc import kronpde_command, mpirun

    case = tmp_path / "c.toml"
    case.write_text(BAD_EXACT.format(k="1 + x" if what == "variable k" else "2"))
    fake = tmp_path / "fake"
    (fake / "mpi4py_fft").mkdir(parents=True)
    (fake / "mpi4py_fft" / "__init__.py").write_text("raise ImportError('no mpi4py_fft here')\n")
    argv = ["solve", case.name, "--backend", "petsc", "--method", "fastdiag"]
    launcher = kronpde_command(*argv)
    if what == "no mpi4py-fft":
        path = os.pathsep.join([str(fake), str(TESTS.parent)])
        launcher = ["env", f"PYTHONPATH={path}", *launcher]
    before = sorted(q.name for q in tmp_path.iterdir())
    proc = mpirun(2, *launcher, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr[-3000:]
    ours = [line for line in proc.stderr.splitlines() if line.startswith("kronpde:")]
    assert len(ours) == 1, proc.stderr
    expected = "fastdiag-cg" if what == "variable k" else "install-mpi4py-fft.sh"
    assert expected in ours[0], ours
    assert "Traceback" not in proc.stderr
    assert sorted(q.name for q in tmp_path.iterdir()) == before


def test_backend_options_choose_the_exact_solve_and_refuse_without_mpi4py_fft(monkeypatch):
    """The command line's choice, without MPI: auto and fastdiag run the exact solve where it
    is exact; --pc means amg-cg; a missing mpi4py-fft on several ranks says how to install it."""
    import argparse
    import importlib.util

    from kronpde.app.cli.backend import backend_options
    from kronpde.app.cli.common import UsageError
    from kronpde.solvers import petsc

    monkeypatch.setattr(petsc, "available", lambda: True)
    p = build("2d-dirichlet")
    variable = Problem(p.grid, p.source, coefficient="1 + x*y")

    def args(method=None, pc=None):
        return argparse.Namespace(
            backend="petsc", pc=pc, petsc_options=None, method=method, quiet=True
        )

    assert backend_options(args(), "auto", p)[0] == "auto"
    assert petsc.choose_exact(p, "auto") == (True, petsc.options.AUTO_EXACT)
    assert petsc.choose_exact(p, "auto", pc_given=True)[0] is False
    assert petsc.choose_exact(variable, "auto")[0] is False
    assert backend_options(args(), "fastdiag", variable)[0] == "auto"  # the file's: gives way
    with pytest.raises(UsageError, match="fastdiag-cg"):
        backend_options(args("fastdiag"), "fastdiag", variable)
    with pytest.raises(UsageError, match="--pc"):
        backend_options(args("fastdiag", "gamg"), "fastdiag", p)
    monkeypatch.setenv("OMPI_COMM_WORLD_SIZE", "2")
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "mpi4py_fft" else real(name)
    )
    with pytest.raises(UsageError, match="install-mpi4py-fft.sh"):
        backend_options(args("fastdiag"), "fastdiag", p)
    assert backend_options(args(), "auto", variable)[0] == "auto"  # amg-cg: no transposes


def test_prepare_with_a_one_rank_communicator_is_the_serial_solver():
    class One:
        def Get_size(self):  # noqa: N802 - mpi4py's name
            return 1

    p = build("2d-dirichlet")
    assert type(prepare(p, "fastdiag", comm=One())).__name__ == "PreparedSolver"
