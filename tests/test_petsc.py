"""The PETSc backend: per-box assembly (always), and mpirun runs at 1 and 2 ranks (``petsc``).

Tests marked ``petsc`` need petsc4py, mpi4py and ``mpirun`` (``scripts/install-petsc.sh``);
the default run deselects them (``addopts`` in ``pyproject.toml``) and ``.ci/run`` runs them
explicitly with ``python -m pytest -m petsc``.  Selected on a machine without PETSc they fail
(they never skip), so a CI in which they silently do not run cannot pass.

The other tests need no PETSc: the per-rank assembly (:mod:`kronpde.solvers.petsc.assembly`) against
the serial operator and right-hand side on boxes of every boundary kind, the option parser,
and the command line without petsc4py (exit 2 with the install hint).
"""

from __future__ import annotations

import itertools
import json
import math
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import tomllib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import build_problem

from kronpde import Axis, Dirichlet, Grid, Neumann, Periodic, Problem, Robin, solve
from kronpde.app import cli
from kronpde.app.cli.backend import launcher_rank
from kronpde.errors import DataError, OptionError, SolverError
from kronpde.geometry.boundary import DataSurvey
from kronpde.geometry.grid import stretched_nodes
from kronpde.operators.flux import box_nodes
from kronpde.problem.kronecker import KroneckerSum
from kronpde.solvers.petsc import (
    INSTALL_HINT,
    PetscUnavailableError,
    parse_petsc_options,
)
from kronpde.solvers.petsc.assembly import box_csr, compact_box_rows, rows_csr, stencil_csr
from kronpde.solvers.petsc.multigrid import (
    box_interpolation,
    coarse_axis,
    interpolation_1d,
    levels,
)
from kronpde.solvers.petsc.options import default_pc

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent

KINDS = ("dirichlet", "neumann", "robin", "periodic")

#: One problem per line: name, cells, per-axis (lower, upper) kinds, shift, coefficient.
PROBLEMS = [
    ("1d-dirichlet", [9], [("dirichlet", "dirichlet")], 0.0, 1.0),
    ("1d-robin-neumann", [9], [("robin", "neumann")], 0.0, 1.0),
    ("1d-periodic", [12], [("periodic", "periodic")], 0.0, 1.0),
    ("2d-pure-neumann", [10, 7], [("neumann", "neumann"), ("neumann", "neumann")], 0.0, 1.0),
    ("2d-robin", [10, 7], [("robin", "robin"), ("dirichlet", "robin")], 0.0, 1.0),
    ("2d-periodic-dirichlet", [10, 7], [("periodic", "periodic"), ("dirichlet", "neumann")], 0, 1),
    ("2d-periodic-n2", [2, 6], [("periodic", "periodic"), ("neumann", "dirichlet")], 0.0, 1.0),
    ("2d-screened-neumann", [8, 9], [("neumann", "neumann"), ("neumann", "neumann")], 2.5, 1.0),
    (
        "3d-mixed",
        [6, 7, 5],
        [("periodic", "periodic"), ("neumann", "robin"), ("dirichlet", "neumann")],
        0.0,
        2.0,
    ),
    (
        "3d-periodic-neumann",
        [6, 4, 5],
        [("periodic", "periodic"), ("periodic", "periodic"), ("neumann", "neumann")],
        0.0,
        1.0,
    ),
]


# =========================================================================== without PETSc


def _random_kinds(rng, dim):
    kinds = []
    for _ in range(dim):
        lower = str(rng.choice(KINDS))
        if lower == "periodic":
            kinds.append(("periodic", "periodic"))
        else:
            kinds.append((lower, str(rng.choice(KINDS[:3]))))
    return kinds


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_box_rows_are_the_rows_of_the_serial_operator(dim, rng):
    """Every box of rows equals those rows of ``problem.operator(symmetric=True)``."""
    for _ in range(12):
        kinds = _random_kinds(rng, dim)
        cells = [int(rng.integers(1, 7)) for _ in range(dim)]
        cells = [
            max(c, 2) if k == ("dirichlet", "dirichlet") else c
            for c, k in zip(cells, kinds, strict=True)
        ]
        p, _ = build_problem(cells, kinds, shift=float(rng.choice([0.0, 1.5])), k=1.3)
        shape = p.grid.shape
        a_hat = p.operator(symmetric=True).toarray()
        lo = [int(rng.integers(0, n)) for n in shape]
        hi = [int(rng.integers(low + 1, n + 1)) for low, n in zip(lo, shape, strict=True)]
        rows = np.arange(p.size).reshape(shape)[tuple(map(slice, lo, hi))].ravel()

        indptr, indices, data = box_csr(p.symmetric_axis_operators, p.shift, lo, hi)
        got = sp.csr_array((data, indices, indptr), shape=(rows.size, p.size)).toarray()
        np.testing.assert_allclose(got, a_hat[rows], rtol=1e-14, atol=0, err_msg=f"{kinds}")
        assert np.all(indices[indptr[:-1]] == rows)  # the diagonal comes first
        small = box_csr(p.symmetric_axis_operators, p.shift, lo, hi, index_dtype=np.int32)
        assert small[1].dtype == np.int32
        np.testing.assert_array_equal(small[1], indices)

        np.testing.assert_allclose(
            p.rhs(box=(lo, hi)).ravel(), p.rhs()[rows], rtol=1e-13, atol=1e-13
        )
        np.testing.assert_array_equal(p.weights((lo, hi)).ravel(), p.weights().reshape(-1)[rows])


def test_box_rows_of_a_periodic_box_have_every_neighbour():
    p, _ = build_problem([5, 3, 4], [("periodic", "periodic")] * 3, shift=0.5)
    indptr, indices, data = box_csr(p.symmetric_axis_operators, p.shift, [0] * 3, p.grid.shape)
    np.testing.assert_array_equal(np.diff(indptr), 7)
    got = sp.csr_array((data, indices, indptr), shape=(p.size, p.size)).toarray()
    np.testing.assert_allclose(got, p.operator(symmetric=True).toarray(), rtol=1e-14, atol=0)
    ops = p.symmetric_axis_operators
    with pytest.raises(ValueError, match="an index box of 200 entries does not fit int8"):
        box_csr(ops, p.shift, [0] * 3, [1] * 3, [0] * 3, [10, 5, 4], index_dtype=np.int8)


def test_box_rows_in_a_ghosted_box_keep_periodic_images():
    """Without wrapping, the neighbours across a periodic end are the ghost images -1 and n."""
    p, _ = build_problem([5, 4], [("periodic", "periodic"), ("dirichlet", "neumann")])
    shape = p.grid.shape  # (5, 4)
    base, extent = [-1, 0], [shape[0] + 2, shape[1]]
    indptr, indices, data = box_csr(
        p.symmetric_axis_operators, p.shift, [0, 0], list(shape), base, extent, wrap=False
    )
    ghost = np.arange(np.prod(extent)).reshape(extent)
    first_row = set(indices[indptr[0] : indptr[1]].tolist())
    assert ghost[0, 0] in first_row  # the image of row 4 below row 0
    assert ghost[1, 0] in first_row  # the row itself
    with pytest.raises(ValueError, match="leaves the index box"):
        box_csr(p.symmetric_axis_operators, p.shift, [0, 0], list(shape), wrap=False)


# -- a variable k, box by box -------------------------------------------------------------
VARIABLE_FACES = {
    "D": Dirichlet(0.3),
    "N": Neumann(-0.2),
    "R": Robin(1.5, 0.5, 0.1),
    "P": Periodic(),
}


def _random_variable_problem(rng, dim, *, check=True, coefficient=None, cells_too=False):
    """A grid of random kinds (periodic axes of 1 to 6 unknowns included), some axes stretched,
    with a random k at the points; with ``cells_too`` each axis node- or cell-centred."""
    boundary, nodes, cells, centring = {}, [], [], []
    for i in range(dim):
        lower = str(rng.choice(list("DNRP")))
        pair = "PP" if lower == "P" else lower + str(rng.choice(list("DNR")))
        centre = str(rng.choice(["node", "cell"])) if cells_too else "node"
        c = int(rng.integers(1, 7))
        c = max(c, 2) if pair == "DD" and centre == "node" else c
        cells.append(c)
        centring.append(centre)
        stretched = pair != "PP" and rng.random() < 0.4
        nodes.append(stretched_nodes(c, 0.0, 1.0, "tanh", 1.5) if stretched else None)
        for side in (0, 1):
            boundary["xyz"[i] + ("min", "max")[side]] = VARIABLE_FACES[pair[side]]
    grid = Grid.box(cells, boundary=boundary, nodes=nodes, centering=centring)
    k = np.exp(rng.uniform(-1.0, 1.0, grid.point_shape)) if coefficient is None else coefficient
    shift = float(rng.choice([0.0, 0.7]))
    return Problem(grid, lambda *x: np.cos(x[0]) + 1.0, shift, coefficient=k, check=check)


def _random_box(rng, shape):
    lo = [int(rng.integers(0, n)) for n in shape]
    hi = [int(rng.integers(low + 1, n + 1)) for low, n in zip(lo, shape, strict=True)]
    return lo, hi


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_variable_box_rows_are_the_rows_of_the_serial_operator_bit_for_bit(dim, rng):
    """The rows of a box from k on the box and one layer around it: those of the whole grid."""
    for _ in range(25):
        p = _random_variable_problem(rng, dim)
        late = Problem(p.grid, p.source, p.shift, coefficient=p.coefficient, check=False)
        shape = p.grid.shape
        lo, hi = _random_box(rng, shape)
        rows = np.arange(p.size).reshape(shape)[tuple(map(slice, lo, hi))].ravel()
        box = late.variable_rows((lo, hi))
        periodic = [a.periodic for a in p.grid.axes]
        indptr, indices, data = rows_csr(box.diagonal, box.couplings, shape, periodic, lo, hi)
        got = sp.csr_array((data, indices, indptr), shape=(rows.size, p.size))
        got.sum_duplicates()  # a periodic axis of 2 unknowns: both neighbours are one node
        want = p.operator(symmetric=True)[rows]
        assert abs(got - want).max() == 0.0, p.grid
        # and the box's right-hand side, its lifting factors from the box's rows
        np.testing.assert_array_equal(late.rhs(box=(lo, hi)).ravel(), p.rhs()[rows])


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_cell_centred_box_rows_are_the_rows_of_the_serial_operator_bit_for_bit(dim, rng):
    """Node- and cell-centred axes in any mix, k an array or a callable (then k at the boundary
    faces too): the rows and right-hand side of a box are those of the whole grid, bit for bit."""
    for trial in range(40):
        k = None if trial % 2 else (lambda *x: 1.5 + 0.5 * np.sin(3.0 * x[0]) + 0.0 * sum(x))
        p = _random_variable_problem(rng, dim, cells_too=True, coefficient=k)
        late = Problem(p.grid, p.source, p.shift, coefficient=p.coefficient, check=False)
        shape = p.grid.shape
        lo, hi = _random_box(rng, shape)
        rows = np.arange(p.size).reshape(shape)[tuple(map(slice, lo, hi))].ravel()
        box = late.variable_rows((lo, hi))
        periodic = [a.periodic for a in p.grid.axes]
        indptr, indices, data = rows_csr(box.diagonal, box.couplings, shape, periodic, lo, hi)
        got = sp.csr_array((data, indices, indptr), shape=(rows.size, p.size))
        got.sum_duplicates()
        assert abs(got - p.operator(symmetric=True)[rows]).max() == 0.0, p.grid
        np.testing.assert_array_equal(late.rhs(box=(lo, hi)).ravel(), p.rhs()[rows])
        # over boxes that tile the grid, the smallest k read is the smallest k of the operator:
        # at the points and, for a callable, at every face the fluxes cross (interior too)
        parts = [p.coefficient_values(), *p.data.k_faces.values()]
        parts += [e for e in p.data.k_edges if e is not None]
        smallest = min(float(np.min(f)) for f in parts)
        tiled = Problem(p.grid, p.source, p.shift, coefficient=p.coefficient, check=False)
        assert min(tiled.variable_rows(b).k_min for b in _tiles(shape, 2)) == smallest


def test_cell_face_k_of_a_box_is_evaluated_on_its_own_faces_and_checked_together():
    """k at a boundary face of a cell-centred axis, bad at one face point only: every box raises
    the serial message; a box evaluates the face at its own points only."""
    grid = Grid.box([8, 6], boundary={"xmax": Neumann(0.3)}, centering="cell")

    def k(x, y):  # negative only on the face x = 1 at y in the top cell
        return 1.0 + x * y - 3.0 * ((x == 1.0) & (y > 0.9)) + 0.0 * x

    with pytest.raises(DataError) as serial:
        Problem(grid, 1.0, coefficient=k)
    assert "must be > 0" in str(serial.value)

    def make():
        return Problem(grid, 1.0, coefficient=k, check=False)

    def action(problem, box, merge):
        problem.variable_rows(box, merge=merge)

    assert _as_ranks(make, action, grid.shape) == [str(serial.value)] * 4
    seen = []

    def recording(x, y):
        seen.append((np.ravel(x).copy(), np.ravel(y).copy()))
        return 1.0 + 0.0 * (x + y)

    p = Problem(grid, 1.0, coefficient=recording, check=False)
    p.variable_rows(((4, 3), (8, 6)))  # the upper right quarter: it reaches xmax and ymax
    faces = [(x, y) for x, y in seen if x.size == 1 or y.size == 1]
    assert faces  # the faces' own evaluations
    for x, y in faces:
        assert x.min() >= 0.5 - 1e-12, (x, y)
        assert y.min() >= 0.5 - 1e-12, (x, y)


def test_a_box_evaluates_k_on_its_nodes_and_one_layer_around_only(rng):
    """A callable k sees the box's nodes, one layer around them and the nodes the box owns; then,
    per axis, the mid-points of the intervals beside the box's rows (where the fluxes need k)."""
    for dim in (1, 2, 3):
        for _ in range(10):
            seen = []

            def k(*x, seen=seen):
                seen.append([np.asarray(c).reshape(-1).copy() for c in x])
                return 1.5 + np.sin(x[0]) * 0.5 + 0.0 * sum(x)

            p = _random_variable_problem(rng, dim, check=False, coefficient=k)
            lo, hi = _random_box(rng, p.grid.shape)
            p.variable_rows((lo, hi))
            p.rhs(box=(lo, hi))  # shares the evaluation
            assert len(seen) == 1 + dim  # the points, then each axis' fluxes
            for a, axis in enumerate(p.grid.axes):
                mids = seen[1 + a][a]  # interval e's mid-point: (x_e + x_{e+1}) / 2
                start, m, x = axis.unknown_slice.start, axis.cells, axis.nodes
                beside = np.arange(start + lo[a] - 1, start + hi[a])  # left of rows lo..hi
                beside = beside % m if axis.periodic else beside[(beside >= 0) & (beside < m)]
                beside = np.append(beside, 0)  # a position beyond a face reads interval 0
                allowed = 0.5 * (x[beside] + x[beside + 1])
                assert np.all(np.min(np.abs(mids[:, None] - allowed[None, :]), axis=1) < 1e-12)
            nodes, owned = box_nodes(p.grid, tuple(lo), tuple(hi))
            for a, (axis, coords) in enumerate(zip(p.grid.axes, seen[0], strict=True)):
                start, m = axis.unknown_slice.start, axis.cells
                beside = np.arange(start + lo[a] - 1, start + hi[a] + 1)  # one layer
                beside = beside % m if axis.periodic else beside[(beside >= 0) & (beside <= m)]
                mine = nodes[a][owned[a]]
                allowed = set(beside.tolist()) | set(mine.tolist())
                got = {int(np.searchsorted(axis.nodes, c)) for c in coords}
                assert got <= allowed, (a, got, allowed)
                assert len(coords) <= hi[a] - lo[a] + 3


def test_boxes_that_tile_the_grid_own_every_node_once(rng):
    for dim in (1, 2, 3):
        for _ in range(10):
            p = _random_variable_problem(rng, dim)
            shape = p.grid.shape
            cuts = [sorted({0, n, *rng.integers(1, n + 1, 2).tolist()}) for n in shape]
            count = np.zeros(p.grid.node_shape, dtype=int)
            for bounds in itertools.product(*[list(itertools.pairwise(c)) for c in cuts]):
                lo, hi = [b[0] for b in bounds], [b[1] for b in bounds]
                nodes, owned = box_nodes(p.grid, tuple(lo), tuple(hi))
                count[np.ix_(*[n[o] for n, o in zip(nodes, owned, strict=True)])] += 1
            np.testing.assert_array_equal(count, 1)


def _tiles(shape, parts):
    """Boxes (lo, hi) cutting every axis into ``parts`` pieces."""
    cuts = [np.linspace(0, n, min(parts, n) + 1).round().astype(int) for n in shape]
    for bounds in itertools.product(*[list(itertools.pairwise(c)) for c in cuts]):
        yield [int(b[0]) for b in bounds], [int(b[1]) for b in bounds]


def _as_ranks(make, action, shape, parts=2) -> list[str | None]:
    """Run ``action(problem, box, merge)`` for boxes tiling the grid, each box in a thread of
    its own as on an MPI rank, with a merge that is collective as on the ranks (every box waits
    for all); return each box's error message (None: no error).  A box that skips a merge the
    others make leaves them waiting: the barrier's timeout turns that into an error."""
    boxes = list(_tiles(shape, parts))
    barrier = threading.Barrier(len(boxes), timeout=20)
    slots: list[DataSurvey | None] = [None] * len(boxes)
    messages: list[str | None] = [None] * len(boxes)

    def rank(i):
        problem = make()

        def merge(survey):
            slots[i] = survey
            barrier.wait()
            merged = DataSurvey.merged(slots)
            barrier.wait()  # every box has read the surveys before the next merge
            return merged

        try:
            action(problem, boxes[i], merge)
        except DataError as exc:
            messages[i] = str(exc)
        except threading.BrokenBarrierError:
            messages[i] = "a box waited for the others in vain"

    threads = [threading.Thread(target=rank, args=(i,)) for i in range(len(boxes))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return messages


@pytest.mark.parametrize(
    ("coefficient", "source"),
    [
        ("1 - 2*exp(-1e4*((x - 0.875)**2 + (y - 0.75)**2))", "1"),  # < 0 at one node
        ("1 + 1/((x - 0.875)**2 + (y - 0.75)**2)", "1"),  # infinite at one node
        ("1/(x - 0.875) + 1/(y - 0.25)", "1"),  # on two lines: the first point and the count
        ("1 + x", "1/(x - 0.125)"),  # the source, on the unknowns
        ("x - 0.5", "1/(x - 0.125)"),  # both bad: the source first, as the serial check
    ],
)
def test_boxes_checked_together_raise_the_serial_error(coefficient, source):
    grid = Grid.box([8, 8], boundary={"xmax": Neumann(0.0), "ymin": Robin(1.0, 1.0, 0.0)})
    with pytest.raises(DataError) as serial:
        Problem(grid, source, coefficient=coefficient)

    def make():
        return Problem(grid, source, coefficient=coefficient, check=False)

    def action(problem, box, merge):
        problem.rhs(box=box, merge=merge)

    assert _as_ranks(make, action, grid.shape) == [str(serial.value)] * 4


def test_array_and_callable_coefficients_checked_by_parts():
    grid = Grid.box([6, 5])
    k = np.ones(grid.node_shape)
    k[5, 4] = -2.0  # one node
    with pytest.raises(DataError) as serial:
        Problem(grid, 1.0, coefficient=k)
    assert "k = -2 at (0.833333, 0.8)" in str(serial.value)

    def action(problem, box, merge):
        problem.variable_rows(box, merge=merge)

    def make():
        return Problem(grid, 1.0, coefficient=k, check=False)  # each part reads its own

    assert _as_ranks(make, action, grid.shape) == [str(serial.value)] * 4
    k[1, 1] = np.nan
    with pytest.raises(DataError, match="not finite on every node") as serial:
        Problem(grid, 1.0, coefficient=k)
    assert _as_ranks(make, action, grid.shape) == [str(serial.value)] * 4

    def far(x, y):  # fails on the parts that reach x > 0.9 only
        if np.max(x) > 0.9:
            msg = "outside the table"
            raise ValueError(msg)
        return 1.0 + x + y

    with pytest.raises(DataError, match="the callable raised ValueError") as serial:
        Problem(grid, 1.0, coefficient=far)

    def make_far():
        return Problem(grid, 1.0, coefficient=far, check=False)

    assert _as_ranks(make_far, action, grid.shape) == [str(serial.value)] * 4


def test_data_survey_travels_between_ranks_with_its_error():
    """mpi4py pickles what it gathers: the survey and the error inside it survive."""
    import pickle

    grid = Grid.box([4, 4])
    with pytest.raises(DataError) as info:
        Problem(grid, "1/(x - 0.5)")
    survey = pickle.loads(pickle.dumps(DataSurvey.failed(info.value)))
    assert type(survey.error) is type(info.value)
    assert str(survey.error) == str(info.value)
    assert (survey.error.subject, survey.error.detail) == ("source", info.value.detail)


# -- the geometric multigrid's coarse grids and interpolation (pc "mg") --------------------
def _interpolation_matrix(fine, coarse):
    """The 1-D interpolation of u (not of the symmetrised unknowns), as a dense matrix."""
    columns, values = interpolation_1d(fine, coarse)
    P = np.zeros((fine.n_unknowns, coarse.n_unknowns))
    np.add.at(P, (np.arange(fine.n_unknowns)[:, None], columns), values)
    return P / np.sqrt(fine.weights)[:, None] * np.sqrt(coarse.weights)[None, :]


@pytest.mark.parametrize("kinds", ["DD", "NN", "DN", "RD", "PP"])
@pytest.mark.parametrize("cells", [4, 5, 9, 12])
def test_coarse_grids_keep_every_other_node_and_interpolate_linear_functions(kinds, cells, rng):
    nodes = np.sort(np.r_[0.0, rng.uniform(0.0, 1.0, cells - 1), 1.0])
    nodes = np.linspace(0.0, 1.0, cells + 1) if kinds == "PP" else nodes
    fine = Axis.from_nodes(nodes, VARIABLE_FACES[kinds[0]], VARIABLE_FACES[kinds[1]])
    coarse = coarse_axis(fine)
    assert coarse.cells == (cells + 1) // 2
    assert set(coarse.nodes.tolist()) <= set(fine.nodes.tolist())
    assert (coarse.nodes[0], coarse.nodes[-1]) == (fine.nodes[0], fine.nodes[-1])
    P = _interpolation_matrix(fine, coarse)
    # P v is the piecewise-linear function through the coarse nodal values (0 on a Dirichlet
    # node, node m repeating node 0 on a periodic axis), at the fine unknowns' nodes
    v = rng.standard_normal(coarse.n_unknowns)
    full = np.zeros(coarse.cells + 1)
    full[coarse.unknown_slice] = v
    if coarse.periodic:
        full[-1] = v[0]
    expected = np.interp(fine.nodes[fine.unknown_slice], coarse.nodes, full)
    np.testing.assert_allclose(P @ v, expected, rtol=0, atol=1e-14 * np.abs(v).max())
    assert np.all(np.count_nonzero(P, axis=1) <= 2)


def test_fewer_than_four_cells_are_not_coarsened_and_levels_stop_at_the_coarse_size():
    axis = Axis(3, 0.0, 1.0)
    assert coarse_axis(axis) is axis
    grid = Grid.box([64, 12, 3])
    cells = [[a.cells for a in level] for level in levels(grid.axes, 40)]
    assert cells == [[64, 12, 3], [32, 6, 3], [16, 3, 3], [8, 3, 3]]
    assert math.prod(a.n_unknowns for a in levels(grid.axes, 40)[-1]) <= 40


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_box_interpolation_is_the_kronecker_product_of_the_axes(dim, rng):
    for _ in range(8):
        p = _random_variable_problem(rng, dim)
        axes = [
            Axis(a.cells + 6, 0.0, 1.0, a.lower_bc, a.upper_bc) if a.cells < 4 else a
            for a in p.grid.axes
        ]
        fine = tuple(axes)
        coarse = tuple(coarse_axis(a) for a in fine)
        whole = sp.csr_array(np.ones((1, 1)))
        for f, c in zip(fine, coarse, strict=True):
            columns, values = interpolation_1d(f, c)
            rows = np.repeat(np.arange(f.n_unknowns), 2)
            one = sp.csr_array((values.ravel(), (rows, columns.ravel())))
            one = sp.csr_array(one, shape=(f.n_unknowns, c.n_unknowns))
            whole = sp.csr_array(sp.kron(whole, one))
        shape = tuple(a.n_unknowns for a in fine)
        lo, hi = _random_box(rng, shape)
        rows = np.arange(math.prod(shape)).reshape(shape)[tuple(map(slice, lo, hi))].ravel()
        indptr, indices, data = box_interpolation(fine, coarse, lo, hi)
        got = sp.csr_array((data, indices, indptr), shape=(rows.size, whole.shape[1]))
        np.testing.assert_allclose(got.toarray(), whole[rows].toarray(), rtol=1e-14, atol=0)
        assert np.all(data != 0.0)


def test_galerkin_coarse_operator_keeps_symmetry_and_the_null_space():
    """P̂ᵀ Â P̂ of a pure Neumann variable-k problem: symmetric, with the coarse null vector
    D_c 1 that P̂ maps onto the fine one D_f 1 (linear interpolation keeps constants)."""
    grid = Grid.box([12, 9], boundary=Neumann(0.0))
    p = Problem(grid, 1.0, coefficient=lambda x, y: 1.0 + x * y)
    fine = grid.axes
    coarse = tuple(coarse_axis(a) for a in fine)
    indptr, indices, data = box_interpolation(fine, coarse, [0, 0], grid.shape)
    nc = math.prod(a.n_unknowns for a in coarse)
    P = sp.csr_array((data, indices, indptr), shape=(p.size, nc))
    A = p.operator(symmetric=True)
    coarse_A = (P.T @ A @ P).toarray()
    np.testing.assert_allclose(coarse_A, coarse_A.T, rtol=0, atol=1e-12 * abs(coarse_A).max())
    dc = np.sqrt(np.multiply.outer(coarse[0].weights, coarse[1].weights)).ravel()
    np.testing.assert_allclose(P @ dc, np.sqrt(grid.weights()).ravel(), rtol=1e-13)
    np.testing.assert_allclose(coarse_A @ dc, 0.0, atol=1e-10 * abs(coarse_A).max())
    assert np.linalg.eigvalsh(coarse_A)[1] > 0  # only that one null vector


@pytest.mark.parametrize("kinds", ["DD", "NN", "DN", "RD", "PP"])
@pytest.mark.parametrize("cells", [4, 5, 9, 12])
def test_cell_centred_coarse_grids_merge_cells_and_interpolate_between_centres(kinds, cells, rng):
    """A cell-centred axis keeps every other face; inside, P v is the line through the coarse
    centres; beyond the outer centres constants stay constant (Neumann, Robin), a Dirichlet face
    pulls the correction to zero at the face, and a periodic axis wraps."""
    faces = np.sort(np.r_[0.0, rng.uniform(0.0, 1.0, cells - 1), 1.0])
    faces = np.linspace(0.0, 1.0, cells + 1) if kinds == "PP" else faces
    lower, upper = VARIABLE_FACES[kinds[0]], VARIABLE_FACES[kinds[1]]
    fine = Axis.from_nodes(faces, lower, upper, centering="cell")
    coarse = coarse_axis(fine)
    assert coarse.cell_centred
    assert coarse.cells == (cells + 1) // 2
    assert set(coarse.nodes.tolist()) <= set(fine.nodes.tolist())
    P = _interpolation_matrix(fine, coarse)
    assert np.all(np.count_nonzero(P, axis=1) <= 2)
    v = rng.standard_normal(coarse.cells)
    x, xc = fine.centres, coarse.centres
    inside = (x >= xc[0]) & (x <= xc[-1])
    np.testing.assert_allclose((P @ v)[inside], np.interp(x[inside], xc, v), atol=1e-13)
    ones = P @ np.ones(coarse.cells)
    for side, bc in ((0, lower), (1, upper)):
        outer = ~inside & ((x < xc[0]) if side == 0 else (x > xc[-1]))
        face = faces[-1] if side else faces[0]
        end = -1 if side else 0
        if kinds == "PP":  # wraps: linear between the last and the first coarse centre
            np.testing.assert_allclose(ones[outer], 1.0, atol=1e-14)
        elif isinstance(bc, Dirichlet):
            want = (x[outer] - face) / (xc[end] - face)
            np.testing.assert_allclose(ones[outer], want, atol=1e-14)
        else:
            np.testing.assert_allclose(ones[outer], 1.0, atol=1e-14)


# -- the fourth-order scheme, box by box ------------------------------------------------------
def _fourth_faces(dim):
    """Faces with smooth data in the coordinates of a ``dim``-D grid."""
    names = "xyz"[:dim]
    return {
        "D": Dirichlet(f"sin({' + 2*'.join(names)})"),
        "N": Neumann(f"cos({' - '.join(names)})"),
        "R": Robin(1.5, 0.5, f"1 + {'*'.join(names)}"),
        "P": Periodic(),
    }


def _random_fourth_order_problem(rng, dim, source_kind):
    """Random faces (some data as arrays over the face), source and k, at order 4."""
    cells = [int(rng.integers(2, 13)) for _ in range(dim)]
    boundary = {}
    for i in range(dim):
        lower = str(rng.choice(list("DNRP")))
        pair = "PP" if lower == "P" else lower + str(rng.choice(list("DNR")))
        for side in (0, 1):
            face = _fourth_faces(dim)[pair[side]]
            if pair[side] != "P" and dim > 1 and rng.random() < 0.3:  # data: an array on the face
                shape = [c + 1 for j, c in enumerate(cells) if j != i]
                face = replace(face, value=rng.uniform(-1.0, 1.0, shape))
            boundary["xyz"[i] + ("min", "max")[side]] = face
    grid = Grid.box(cells, boundary=boundary)
    expr = {1: "exp(x)", 2: "exp(x)*cos(y)", 3: "exp(x)*cos(y + z)"}[dim]
    source = {
        "expression": expr,
        "callable": lambda *x: np.exp(x[0]) * np.cos(sum(x[1:])),
        "array": rng.uniform(-1.0, 1.0, grid.node_shape),
    }[source_kind]
    k = float(rng.choice([1.0, 2.5]))
    return Problem(grid, source, float(rng.choice([0.0, 0.7])), coefficient=k, order=4)


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_fourth_order_box_rows_are_the_rows_of_the_serial_operator(dim, rng):
    """The rows of a box of the compact operator, as products of the 1-D operators' row slices:
    the serial operator's rows (Robin terms included)."""
    for _ in range(25):
        p = _random_fourth_order_problem(rng, dim, "expression")
        shape = p.grid.shape
        lo, hi = _random_box(rng, shape)
        rows = np.arange(p.size).reshape(shape)[tuple(map(slice, lo, hi))].ravel()
        coefficients = compact_box_rows(p.scheme.symmetrized(), lo, hi)
        assert len(coefficients) <= 3**dim
        periodic = [a.periodic for a in p.grid.axes]
        indptr, indices, data = stencil_csr(coefficients, shape, periodic, lo, hi)
        assert np.all(indices[indptr[:-1]] == rows)  # the diagonal first
        got = sp.csr_array((data, indices.copy(), indptr), shape=(rows.size, p.size))
        got.sum_duplicates()  # a periodic axis of 2 unknowns: both neighbours are one
        want = p.operator(symmetric=True)[rows]
        scale = abs(want).max()
        assert abs(got - want).max() <= 1e-14 * scale, p.grid


@pytest.mark.parametrize("source_kind", ["expression", "callable", "array"])
@pytest.mark.parametrize("dim", [1, 2, 3])
def test_fourth_order_box_rhs_is_the_serial_rhs_from_the_box_and_three_layers(
    dim, source_kind, rng
):
    """M f, the lifted data and the Neumann/Robin corrections of a box, from the box's window
    (data as expressions, callables and arrays; faces' data as expressions and arrays)."""
    for _ in range(12):
        p = _random_fourth_order_problem(rng, dim, source_kind)
        shape = p.grid.shape
        lo, hi = _random_box(rng, shape)
        late = Problem(p.grid, p.source, p.shift, coefficient=p.coefficient, order=4, check=False)
        want = p.rhs().reshape(shape)[tuple(map(slice, lo, hi))]
        got = late.rhs(box=(lo, hi))
        scale = float(np.abs(p.rhs()).max())
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-13 * scale, err_msg=str(p.grid))


def test_fourth_order_box_rhs_evaluates_the_source_near_the_box_only():
    grid = Grid.box([40, 30], boundary={"xmin": Neumann("y"), "ymax": Robin(1.0, 2.0, "x")})
    seen = []

    def f(x, y):
        seen.append((np.ravel(x).copy(), np.ravel(y).copy()))
        return np.exp(x) * np.cos(y)

    p = Problem(grid, f, order=4, check=False)
    lo, hi = (0, 20), (12, 30)  # reaches the xmin and ymax faces
    b = p.rhs(box=(lo, hi))
    assert b.shape == (12, 10)
    h = 1.0 / 40, 1.0 / 30
    for x, y in seen:
        assert x.max() <= (11 + 3) * h[0] + 1e-12, x.max()
        assert y.min() >= (20 + 1 - 3) * h[1] - 1e-12, y.min()
    full = Problem(grid, f, order=4).rhs().reshape(grid.shape)[0:12, 20:30]
    np.testing.assert_allclose(b, full, rtol=0, atol=1e-13 * np.abs(full).max())


def test_fourth_order_boxes_checked_together_raise_the_serial_error():
    grid = Grid.box([8, 8], boundary={"xmax": Neumann(0.0)})
    source = "1/(x - 0.875) + 1/(y - 0.25)"
    with pytest.raises(DataError) as serial:
        Problem(grid, source, order=4)

    def make():
        return Problem(grid, source, order=4, check=False)

    def action(problem, box, merge):
        problem.rhs(box=box, merge=merge)

    assert _as_ranks(make, action, grid.shape) == [str(serial.value)] * 4


def test_refusal_takes_every_problem_of_one_to_three_dimensions():
    from kronpde.solvers.petsc.options import refusal

    assert refusal(Problem(Grid.box([4, 4], centering=["cell", "node"]), 1.0)) is None
    assert refusal(Problem(Grid.box([4, 4]), 1.0, order=4)) is None
    assert "4-D grid" in refusal(Problem(Grid.box([2, 2, 2, 2]), 1.0))


def test_petsc_options_parse():
    assert parse_petsc_options("-ksp_monitor -pc_gamg_threshold 0.02 -mat_shift -1e-3") == [
        ("ksp_monitor", ""),
        ("pc_gamg_threshold", "0.02"),
        ("mat_shift", "-1e-3"),
    ]
    assert parse_petsc_options(["-ksp_view", "-ksp_type", "pipecg"]) == [
        ("ksp_view", ""),
        ("ksp_type", "pipecg"),
    ]
    assert parse_petsc_options({"ksp_view": None, "-pc_type": "jacobi", "x": False}) == [
        ("ksp_view", ""),
        ("pc_type", "jacobi"),
        ("x", "false"),
    ]
    assert parse_petsc_options(None) == []
    for bad in ("ksp_monitor", "-ksp_monitor 'unclosed", "-"):
        with pytest.raises(OptionError, match="petsc_options"):
            parse_petsc_options(bad)


def test_docstring_examples():
    import doctest

    import kronpde.operators.flux
    import kronpde.solvers.petsc.assembly
    import kronpde.solvers.petsc.multigrid
    import kronpde.solvers.petsc.options

    modules = (
        kronpde.solvers.petsc.options,
        kronpde.solvers.petsc.assembly,
        kronpde.solvers.petsc.multigrid,
        kronpde.operators.flux,
    )
    for module in modules:
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.attempted > 0
        assert result.failed == 0, module.__name__


def test_launcher_rank_from_the_environment(monkeypatch):
    for name in ("OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "MV2_COMM_WORLD_RANK"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("SLURM_PROCID", raising=False)
    assert launcher_rank() == 0
    monkeypatch.setenv("PMI_RANK", "3")
    assert launcher_rank() == 3


@pytest.fixture
def without_petsc4py(monkeypatch):
    """petsc4py (and mpi4py) absent, as on a machine where they were never installed."""
    for name in ("petsc4py", "petsc4py.PETSc", "mpi4py", "mpi4py.MPI"):
        monkeypatch.setitem(sys.modules, name, None)


def test_cli_without_petsc4py_exits_2_with_the_install_hint(without_petsc4py, tmp_path, capsys):
    case = Path(shutil.copy(ROOT / "cases" / "poisson2d_dirichlet.toml", tmp_path / "c.toml"))
    code = cli.main(["solve", str(case), "--backend", "petsc", "-o", str(tmp_path / "u.vtu")])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("kronpde: error: --backend petsc: ")
    assert "scripts/install-petsc.sh" in err
    assert "petsc4py" in err
    assert sorted(os.listdir(tmp_path)) == ["c.toml"]


def test_solve_without_petsc4py_says_how_to_install(without_petsc4py):
    p, _ = build_problem([4, 4], [("dirichlet", "dirichlet")] * 2)
    with pytest.raises(PetscUnavailableError, match="install-petsc.sh") as info:
        solve(p, backend="petsc")
    assert isinstance(info.value, SolverError)
    assert isinstance(info.value, ImportError)
    assert INSTALL_HINT in str(info.value)


def test_backend_choice_is_checked_before_petsc_is_needed(without_petsc4py, capsys):
    p, _ = build_problem([4, 4], [("dirichlet", "dirichlet")] * 2)
    with pytest.raises(OptionError, match="unknown backend 'mpi'"):
        solve(p, backend="mpi")
    with pytest.raises(OptionError, match="runs on the serial backend only"):
        solve(p, "direct", backend="petsc")
    with pytest.raises(OptionError, match="unknown option 'foo'"):
        solve(p, backend="petsc", options={"foo": 1})
    with pytest.raises(OptionError, match="pc must be one of gamg, hypre, mg"):
        solve(p, backend="petsc", options={"pc": "ilu"})
    case = ROOT / "cases" / "poisson2d_dirichlet.toml"
    assert cli.main(["solve", str(case), "--pc", "hypre"]) == 2
    assert "--pc: applies to --backend petsc only" in capsys.readouterr().err


def test_a_problem_of_another_kind_is_refused(without_petsc4py):
    """The rows come from the 1-D stencils or the variable flux form: anything else is refused,
    before PETSc is needed."""
    p, _ = build_problem([4, 4], [("dirichlet", "dirichlet")] * 2)
    scheme = p.discretisation
    p.discretisation = _AnotherScheme(scheme.data, scheme.shift, scheme.shared)
    with pytest.raises(SolverError, match="neither a constant-coefficient Kronecker sum"):
        solve(p, backend="petsc")


class _AnotherScheme(KroneckerSum):
    """A discretisation the PETSc assembly table does not know (it may change the rows)."""

    name = "another scheme"


def test_every_discretisation_of_the_package_has_its_assembly():
    """The PETSc rows are a table keyed on the discretisation's class: a new discretisation
    class of kronpde needs its entry (here, before PETSc or a refusal tells a user)."""
    import inspect

    from kronpde.problem.discretisation import Discretisation
    from kronpde.solvers.petsc.setup import ASSEMBLY

    def concrete(cls):
        for sub in cls.__subclasses__():
            if sub.__module__.startswith("kronpde.") and not inspect.isabstract(sub):
                yield sub
            yield from concrete(sub)

    found = set(concrete(Discretisation))
    assert found == set(ASSEMBLY), found ^ set(ASSEMBLY)


# =========================================================================== with PETSc, mpirun

MPIRUN = shutil.which("mpirun") or shutil.which("mpiexec")

#: Driver run under mpirun: every problem of PROBLEMS through solve(..., backend="petsc"),
#: compared on every rank with the fast-diagonalization solution; rank 0 writes a JSON report.
DRIVER = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    from mpi4py import MPI
    sys.path.insert(0, {tests!r})
    from conftest import build_problem
    from test_petsc import PROBLEMS
    from kronpde import prepare, solve
    import kronpde.solvers.petsc.multigrid as multigrid
    multigrid.COARSE_UNKNOWNS = 16  # pc mg: coarse levels on these small grids too

    out, method, pc, rtol = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    comm = MPI.COMM_WORLD
    records = {{}}
    for name, cells, kinds, shift, k in PROBLEMS:
        p, _ = build_problem(cells, kinds, shift=shift, k=k)
        ref = solve(p, "fastdiag")
        sol = solve(p, method, backend="petsc", options={{"pc": pc}}, rtol=rtol)
        scale = max(1.0, float(np.abs(ref.u).max()))
        local = float(np.abs(sol.local - ref.x.reshape(p.grid.shape)[sol.box]).max(initial=0))
        record = dict(
            ranks=sol.ranks,
            local_diff=comm.allreduce(local, op=MPI.MAX) / scale,
            owned=comm.allreduce(sol.local.size),
            converged=sol.report.converged,
            iterations=sol.report.iterations,
            relative_residual=sol.report.relative_residual,
            singular=bool(p.singular),
            method=sol.report.method,
            pc_type=sol.report.options["pc_type"],
            others_none=comm.allreduce(sol.rank == 0 or sol.u is None, op=MPI.LAND),
            unknowns=p.size,
        )
        if sol.rank == 0:
            record["diff"] = float(np.abs(sol.u - ref.u).max()) / scale
            record["mean"] = float(p.weighted_mean(sol.x)) if p.singular else 0.0
        records[name] = record

    # prepare once, solve many: a given global b and x0, the callback on every rank
    p, _ = build_problem([9, 8], [("neumann", "robin"), ("periodic", "periodic")], shift=1.0)
    prepared = prepare(p, method, backend="petsc", options={{"pc": pc, "gather": "all"}})
    rng = np.random.default_rng(7)
    shapes = []
    for _ in range(2):
        b = rng.standard_normal(p.size)
        sol = prepared.solve(
            b, x0=np.ones(p.size), rtol=rtol, callback=lambda u: shapes.append(u.shape)
        )
        ref = prepare(p, "fastdiag").solve(b)
        records.setdefault("many", []).append(dict(
            diff=float(np.abs(sol.x - ref.x).max() / np.abs(ref.x).max()),
            converged=sol.report.converged,
            calls=comm.allreduce(len(shapes)),
            iterations=sol.report.iterations,
            shapes_ok=comm.allreduce(all(s == sol.local.shape for s in shapes), op=MPI.LAND),
        ))
        shapes.clear()
    # a solver's petsc_options are its own: the next solver of the process does not see them
    first = prepare(p, "amg-cg", backend="petsc", options={{"petsc_options": "-pc_type jacobi"}})
    second = prepare(p, "amg-cg", backend="petsc")
    records["isolated"] = [s.options["pc_type"] for s in (first, second)]
    if comm.rank == 0:
        with open(out, "w") as f:
            json.dump(records, f)
    """
)


def _mpi_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        OMPI_ALLOW_RUN_AS_ROOT="1",
        OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
        OMPI_MCA_rmaps_base_oversubscribe="1",
        # ranks waiting in MPI yield their core instead of spinning: on a machine busier than
        # its cores (CI, other jobs) a spinning rank can hold back the one doing the work
        OMPI_MCA_mpi_yield_when_idle="1",
        OMP_NUM_THREADS="1",
        KRONPDE_DEBUG="",
    )
    return env


def mpirun(ranks: int, *argv, cwd, quiet=False, timeout=180) -> subprocess.CompletedProcess:
    """``mpirun -n ranks argv...`` in ``cwd``, output captured as text."""
    assert MPIRUN is not None, "mpirun is not on PATH: run scripts/install-petsc.sh"
    command = [MPIRUN, *(["-q"] if quiet else []), "-n", str(ranks), *map(str, argv)]
    return subprocess.run(
        command,
        cwd=cwd,
        env=_mpi_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def kronpde_command(*argv):
    return [sys.executable, "-m", "kronpde", *argv]


@pytest.fixture(scope="module")
def petsc_ready():
    """PETSc must be there when these tests are selected: they fail, never skip."""
    try:
        import mpi4py  # noqa: F401
        import petsc4py  # noqa: F401
    except ImportError as exc:
        pytest.fail(f"the petsc tests need petsc4py and mpi4py ({exc}): {INSTALL_HINT}")
    assert MPIRUN is not None, "mpirun is not on PATH: run scripts/install-petsc.sh"


@pytest.mark.petsc
@pytest.mark.parametrize("ranks", [1, 2])
@pytest.mark.parametrize(
    ("method", "pc"),
    [("amg-cg", "gamg"), ("amg-cg", "hypre"), ("amg-cg", "mg"), ("cg", "jacobi")],
)
def test_every_boundary_kind_agrees_with_fastdiag(petsc_ready, tmp_path, ranks, method, pc):
    rtol = 1e-10
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER.format(tests=str(TESTS)))
    report = tmp_path / "report.json"
    proc = mpirun(ranks, sys.executable, driver, report, method, pc, rtol, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    records = json.loads(report.read_text())
    many = records.pop("many")
    assert records.pop("isolated") == ["jacobi", default_pc(False)]
    assert {name for name, *_ in PROBLEMS} == set(records)
    kinds_seen = set()
    for (name, _, kinds, *_), rec in zip(PROBLEMS, records.values(), strict=True):
        kinds_seen.update(itertools.chain(*kinds))
        assert rec["ranks"] == ranks, name
        assert rec["owned"] == rec["unknowns"], name  # the boxes cover the grid once
        assert rec["converged"], (name, rec)
        # mg on a grid of at most COARSE_UNKNOWNS unknowns is its coarsest level: a direct solve
        assert (rec["method"], rec["pc_type"]) in ((method, pc), (method, "redundant")), name
        assert rec["relative_residual"] <= rtol, (name, rec)
        # with rtol = 1e-10 on grids of condition number below 1e4
        assert rec["diff"] <= 1e-6, (name, rec)
        assert rec["local_diff"] <= 1e-6, (name, rec)
        assert rec["others_none"], name
        assert abs(rec["mean"]) <= 1e-12, (name, rec)
    assert kinds_seen == set(KINDS)
    assert any(rec["singular"] for rec in records.values())
    for rec in many:
        assert rec["converged"], rec
        assert rec["diff"] <= 1e-6, rec
        assert rec["calls"] == ranks * rec["iterations"] > 0, rec
        assert rec["shapes_ok"], rec


# -- cell-centred grids and the fourth-order scheme under mpirun ----------------------------
D_, N_, R_, P_ = "dirichlet", "neumann", "robin", "periodic"

#: Constant-k problems with cell-centred axes (tests/test_cells.py's build) or at order 4
#: (conftest's build_problem): name -> (how, cells, kinds, centring or order, shift, extra).
SCHEME_PROBLEMS = {
    "cell-2d-DN-RN-stretched": ("cell", [12, 10], "DN RN", "cell", 0.0, True),
    "cell-2d-pure-neumann": ("cell", [12, 10], "NN NN", "cell", 0.0, False),
    "cell-3d-DN-NN-PP-stretched": ("cell", [6, 5, 6], "DN NN PP", "cell", 0.0, True),
    "mac-2d-DD-NN": ("cell", [10, 8], "DD NN", ["node", "cell"], 0.0, False),
    "mac-3d-NR-DD-PP": ("cell", [6, 5, 4], "NR DD PP", ["cell", "node", "cell"], 0.5, False),
    "order4-1d-RN": ("order4", [12], "RN", 4, 0.0, 1.0),
    "order4-2d-DN-RD": ("order4", [12, 10], "DN RD", 4, 0.0, 1.0),
    "order4-2d-NN-PP": ("order4", [12, 10], "NN PP", 4, 0.0, 1.0),
    "order4-3d-PP-NR-DN": ("order4", [6, 7, 5], "PP NR DN", 4, 0.3, 2.0),
}

#: Convergence studies (the cells' cells, refined by 1, 2, 4): a MAC component and order 4.
SCHEME_ORDERS = {
    "mac-v": (("cell", [16, 16], "NR DD", ["cell", "node"], 0.0, False), (1.8, 2.3)),
    "order4-2d-DN-RD": (("order4", [8, 8], "DN RD", 4, 0.0, 1.0), (3.7, 4.3)),
}


def scheme_case(how, cells, kinds, centring, shift, extra, factor=1):
    """One of SCHEME_PROBLEMS (or a study's grid, ``factor`` times the cells): problem, sol."""
    names = {"D": D_, "N": N_, "R": R_, "P": P_}
    pairs = [(names[k[0]], names[k[1]]) for k in kinds.split()]
    cells = [c * factor for c in cells]
    if how == "cell":
        from test_cells import build

        return build(cells, pairs, centring, stretched=extra, shift=shift)
    p, sol = build_problem(cells, pairs, shift=shift, k=extra)
    return Problem(p.grid, p.source, shift, coefficient=extra, order=centring), sol


def point_error(problem, sol, u) -> float:
    """``max |u - u_exact|`` over the points (a singular problem: modulo the weighted mean)."""
    grid = problem.grid
    exact = np.broadcast_to(sol.u(*grid.point_coordinates()), grid.point_shape)
    if problem.singular:
        mean = np.sum(grid.weights() * grid.from_nodes(exact)) / grid.weights().sum()
        exact = exact - mean
    return float(np.max(np.abs(u - exact)))


#: Driver run under mpirun: every scheme problem with each preconditioner against the serial
#: solve, and the convergence studies; rank 0 writes a JSON report.
SCHEMES_DRIVER = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    from mpi4py import MPI
    sys.path.insert(0, {tests!r})
    from test_petsc import SCHEME_ORDERS, SCHEME_PROBLEMS, point_error, scheme_case
    from kronpde import solve
    import kronpde.solvers.petsc.multigrid as multigrid
    multigrid.COARSE_UNKNOWNS = 16  # pc mg: coarse levels on these small grids too

    out, pcs, rtol = sys.argv[1], sys.argv[2].split(","), float(sys.argv[3])
    comm = MPI.COMM_WORLD
    records = {{}}
    for name, spec in SCHEME_PROBLEMS.items():
        p, sol = scheme_case(*spec)
        ref = solve(p, rtol=1e-13)  # the serial solve (fastdiag, or fastdiag-cg for Robin)
        scale = float(np.abs(ref.x).max())
        record = records[name] = dict(serial=ref.report.method, singular=bool(p.singular))
        for pc in pcs:
            got = solve(p, backend="petsc", options={{"pc": pc}}, rtol=rtol)
            local = float(np.abs(got.local - ref.x.reshape(p.grid.shape)[got.box]).max())
            record[pc] = dict(
                diff=comm.allreduce(local, op=MPI.MAX) / scale,
                converged=got.report.converged,
                relative_residual=got.report.relative_residual,
                pc_type=got.report.options["pc_type"],
                bound=got.report.algebraic_error_bound,
                mean=float(p.weighted_mean(got.x)) if got.rank == 0 and p.singular else 0.0,
            )
    for name, (spec, _) in SCHEME_ORDERS.items():
        record = records["order-" + name] = dict(h=[], serial=[], **{{pc: [] for pc in pcs}})
        for factor in (1, 2, 4):
            p, sol = scheme_case(*spec, factor=factor)
            ref = solve(p, rtol=1e-13)
            record["h"].append(1.0 / factor)
            record["serial"].append(point_error(p, sol, ref.u))
            for pc in pcs:
                got = solve(p, backend="petsc", options={{"pc": pc}}, rtol=rtol)
                if got.rank == 0:
                    record[pc].append(point_error(p, sol, got.u))
    if comm.rank == 0:
        with open(out, "w") as f:
            json.dump(records, f)
    """
)


@pytest.mark.petsc
@pytest.mark.parametrize("ranks", [1, 2])
def test_cells_and_the_fourth_order_scheme_agree_with_the_serial_solve(
    petsc_ready, tmp_path, ranks
):
    """Cell-centred and mixed grids (a DMDA of cells) and the fourth-order scheme (a box-stencil
    DMDA, rows of the Kronecker polynomial) at rtol 1e-12, with each preconditioner: the
    serial solution to 1e-8 (relative, max norm), and the serial observed orders (2 and 4)."""
    from conftest import observed_order

    rtol = 1e-12
    driver = tmp_path / "driver.py"
    driver.write_text(SCHEMES_DRIVER.format(tests=str(TESTS)))
    report = tmp_path / "report.json"
    pcs = ["gamg", "hypre", "mg"]
    proc = mpirun(ranks, sys.executable, driver, report, ",".join(pcs), rtol, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    records = json.loads(report.read_text())
    for name in SCHEME_PROBLEMS:
        record = records[name]
        for pc in pcs:
            rec = record[pc]
            assert rec["converged"], (name, pc, rec)
            assert rec["relative_residual"] <= rtol, (name, pc, rec)
            assert rec["diff"] <= 1e-8, (name, pc, rec)
            assert rec["pc_type"] in (pc, "redundant"), (name, pc, rec)
            assert abs(rec["mean"]) <= 1e-12, (name, pc, rec)
            if not name.startswith("order4"):  # order 4: no eigenvalue bound yet (serially too)
                assert rec["bound"] is not None, (name, pc, rec)
                assert rec["bound"] <= 1e-8, (name, pc, rec)
    assert records["cell-2d-pure-neumann"]["singular"]
    assert records["order4-2d-NN-PP"]["singular"]
    assert records["order4-2d-DN-RD"]["serial"] == "fastdiag-cg"  # a Robin face at order 4
    for name, (_, (low, high)) in SCHEME_ORDERS.items():
        record = records["order-" + name]
        serial = observed_order(record["h"], record["serial"])
        assert low <= serial <= high, (name, record)
        for pc in pcs:
            order = observed_order(record["h"], record[pc])
            assert order == pytest.approx(serial, abs=1e-4), (name, pc, record)


# -- a variable k under mpirun ------------------------------------------------------------
#: The variable-k problems of the serial suite (tests/test_variable.py, tests/test_stretched.py)
#: with a manufactured solution, and the grids of their convergence studies.
VARIABLE_ORDERS = {
    "2d-DD-DD": (16, 32, 64),
    "2d-DN-RD": (16, 32, 64),
    "2d-NR-ND": (16, 32, 64),
    "2d-DR-PP": (16, 32, 64),
    "2d-NN-PP": (16, 32, 64),
    "2d-stretched-DR-ND": (16, 32, 64),
    "3d-DN-RD-DD": (8, 16, 32),
    "3d-stretched-DN-RD-DD": (8, 16, 32),
    # tests/test_cells.py's variable-k studies: cell-centred (k at the boundary faces) and a MAC
    # component (node-centred along x, cell-centred along y)
    "cell-stretched-NN-NN": (16, 32, 64),
    "mac-DN-RD": (16, 32, 64),
}

#: The serial suite's variable-k problems without an exact solution (agreement only).
VARIABLE_SINGLES = (
    "2d-mixed",
    "2d-pure-neumann",
    "2d-periodic-x",
    "3d-array-k",
    "3d-array-k-nn",
    *(f"cell-case-{i}" for i in range(8)),  # tests/test_cells.py's VARIABLE_CASES, more cells
    "cell-array-k",
)


def variable_case(name: str, m: int = 0):
    """One of the serial suite's variable-k problems, by name: ``(problem, solution or None)``."""
    from test_variable import (
        dk_issue,
        dk_periodic_y,
        k_issue,
        k_periodic_y,
        variable_problem,
    )

    if name.startswith(("cell-", "mac-")):
        return cell_variable_case(name, m)
    issue = (k_issue, dk_issue)
    periodic_y = (k_periodic_y, dk_periodic_y)
    two = {
        "2d-DD-DD": ([(D_, D_), (D_, D_)], issue, 0.5, None),
        "2d-DN-RD": ([(D_, N_), (R_, D_)], issue, 0.5, None),
        "2d-NR-ND": ([(N_, R_), (N_, D_)], issue, 0.5, None),
        "2d-DR-PP": ([(D_, R_), (P_, P_)], periodic_y, 0.0, None),
        "2d-NN-PP": ([(N_, N_), (P_, P_)], periodic_y, 1.0, None),
        "2d-stretched-DR-ND": ([(D_, R_), (N_, D_)], issue, 0.0, (1.5, 2.5)),
    }
    if name in two:
        kinds, (k, dk), shift, betas = two[name]
        nodes = None if betas is None else [stretched_nodes(m, 0.0, 1.0, "tanh", b) for b in betas]
        return variable_problem([m, m], kinds, k, dk, shift=shift, nodes=nodes)
    if name.startswith("3d-") and "array" not in name:
        nodes = None
        if "stretched" in name:
            nodes = [stretched_nodes(m, 0.0, 1.0, "tanh", 1.5), None, stretched_nodes(m)]
        kinds = [(D_, N_), (R_, D_), (D_, D_)]
        return variable_problem([m, m, m], kinds, k_issue, dk_issue, nodes=nodes)
    if name.startswith("2d-"):  # test_all_methods_agree_with_spsolve_on_variable_k
        boundary, shift = {
            "2d-mixed": (
                {"xmin": Dirichlet(1.0), "xmax": Robin(2.0, 1.0, -0.5), "ymin": Neumann(0.25)},
                0.0,
            ),
            "2d-pure-neumann": (Neumann(0.2), 0.0),
            "2d-periodic-x": ({"xmin": Periodic(), "xmax": Periodic(), "ymax": Neumann(0.0)}, 0.7),
        }[name]
        grid = Grid.box([20, 14], upper=[1.0, 0.8], boundary=boundary)
        return Problem(grid, lambda x, y: np.cos(3 * x) + y, shift, coefficient=k_periodic_y), None
    # test_assembly_matrix_free_and_symmetry_agree_in_3d: a nodal array k, read by parts
    kinds = ["RD", "DD", "NR"] if name == "3d-array-k" else ["NN", "NN", "NN"]
    faces = {"D": Dirichlet(0.3), "N": Neumann(-0.2), "R": Robin(1.5, 0.5, 0.1)}
    boundary = {
        "xyz"[i] + ("min", "max")[side]: faces[pair[side]]
        for i, pair in enumerate(kinds)
        for side in (0, 1)
    }
    grid = Grid.box([8, 10, 6], upper=[1.0, 1.3, 0.7], boundary=boundary)
    kn = np.exp(np.random.default_rng(5).uniform(-1.0, 1.0, grid.node_shape))
    return Problem(grid, 1.0, 0.2, coefficient=kn, check=False), None


def cell_variable_case(name: str, m: int = 0):
    """The serial suite's cell-centred variable-k problems (tests/test_cells.py)."""
    from test_cells import build, k_smooth, k_varying, variable_source  # noqa: F401

    if name in ("cell-stretched-NN-NN", "mac-DN-RD"):  # the studies, with an exact solution
        kinds, centring, stretched = {
            "cell-stretched-NN-NN": ([(N_, N_), (N_, N_)], "cell", True),
            "mac-DN-RD": ([(D_, N_), (R_, D_)], ["node", "cell"], False),
        }[name]
        base, sol = build([16, 16], kinds, centring, stretched=stretched)
        problem = Problem(base.grid, variable_source(sol), coefficient=k_varying)
        return problem.refined(m // 16), sol
    if name == "cell-array-k":  # k known at the centres only: the boundary cells' values serve
        grid = Grid.box(
            [9, 8], boundary={"xmin": Neumann(0.4), "ymax": Robin(1, 2, 0.1)}, centering="cell"
        )
        k = np.exp(np.random.default_rng(11).uniform(-1.0, 1.0, grid.point_shape))
        return Problem(grid, 1.0, 0.3, coefficient=k, check=False), None
    from test_cells import VARIABLE_CASES

    cells, kinds, centring, stretched = VARIABLE_CASES[int(name.rsplit("-", 1)[1])]
    cells = [(2 if len(cells) > 1 else 4) * c for c in cells]  # mg: coarse levels in 1-D too
    problem, _ = build(cells, kinds, centring, stretched=stretched, shift=0.2, k=k_smooth)
    return problem, None


def bad_variable_case(name: str, *, check: bool):
    """A variable k that is bad at one node near a corner (on one rank's box only), or fails
    where x > 0.9 only; the grid has Dirichlet faces and a Neumann and a Robin one."""
    grid = Grid.box([16, 12], boundary={"xmax": Neumann(0.0), "ymin": Robin(1.0, 1.0, 0.0)})
    corner = "((x - 0.875)**2 + (y - 0.75)**2)"  # node (14, 9)
    if name == "array":
        k = np.ones(grid.node_shape)
        k[14, 9] = -2.0
    elif name == "callable":

        def k(x, y):
            if np.max(x) > 0.9:
                msg = "no k beyond x = 0.9"
                raise ValueError(msg)
            return 1.0 + x * y

    elif name == "cell-face":  # cell-centred: k < 0 at one point of the face x = 1 only
        grid = Grid.box([16, 10], boundary=grid.axes[0].upper_bc, centering="cell")
        k = "1 + x*y - 3*exp(-1e4*((x - 1)**2 + (y - 0.75)**2))"
        return Problem(grid, 1.0, coefficient=k, check=check), None
    else:
        k = {"negative": f"1 - 2*exp(-1e4*{corner})", "infinite": f"1 + 1/{corner}"}[name]
    return Problem(grid, 1.0, coefficient=k, check=check), (14, 9)


BAD_VARIABLE = ("array", "callable", "negative", "infinite", "cell-face")

#: Driver run under mpirun: every variable-k problem through solve(..., backend="petsc") with
#: each preconditioner, against the serial solve on every rank; the bad inputs' errors on every
#: rank; rank 0 writes a JSON report.
VARIABLE_DRIVER = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    from mpi4py import MPI
    sys.path.insert(0, {tests!r})
    from test_petsc import (
        BAD_VARIABLE, VARIABLE_ORDERS, VARIABLE_SINGLES, bad_variable_case, variable_case
    )
    from test_petsc import point_error
    from kronpde import Problem, prepare, solve
    from kronpde.errors import DataError
    import kronpde.solvers.petsc.multigrid as multigrid
    multigrid.COARSE_UNKNOWNS = 16  # pc mg: coarse levels on these small grids too

    out, pcs, rtol = sys.argv[1], sys.argv[2].split(","), float(sys.argv[3])
    comm = MPI.COMM_WORLD
    records = {{}}
    cases = [(n, m) for n, ms in VARIABLE_ORDERS.items() for m in ms]
    cases += [(n, 0) for n in VARIABLE_SINGLES]
    for name, m in cases:
        p, exact = variable_case(name, m)
        ref = solve(p, rtol=rtol)  # the serial solve, on every rank
        scale = float(np.abs(ref.x).max())
        record = records.setdefault(name, dict(h=[], serial=[], serial_method=ref.report.method))
        if exact is not None:
            record["h"].append(1.0 / m)
            record["serial"].append(point_error(p, exact, ref.u))
        for pc in pcs:
            sol = solve(p, backend="petsc", options={{"pc": pc}}, rtol=rtol)
            local = float(np.abs(sol.local - ref.x.reshape(p.grid.shape)[sol.box]).max())
            rec = record.setdefault(pc, dict(diff=[], error=[], iterations=[], converged=[]))
            rec["diff"].append(comm.allreduce(local, op=MPI.MAX) / scale)
            rec["iterations"].append(sol.report.iterations)
            rec["converged"].append(bool(sol.report.converged))
            rec["relative_residual"] = sol.report.relative_residual
            rec["pc_type"] = sol.report.options["pc_type"]
            rec["levels"] = sol.report.options["levels"]
            rec["singular"] = bool(p.singular)
            if sol.rank == 0 and exact is not None:
                rec["error"].append(point_error(p, exact, sol.u))
            if sol.rank == 0 and p.singular:
                rec["mean"] = float(p.weighted_mean(sol.x))
    # bad data: the same error on every rank, whichever rank holds the bad node
    good = prepare(Problem(bad_variable_case("array", check=False)[0].grid, 1.0), "amg-cg",
                   backend="petsc")
    owned, _ = good.piece_box()
    for name in BAD_VARIABLE:
        problem, node = bad_variable_case(name, check=False)
        try:
            solve(problem, backend="petsc")
            message = None
        except DataError as exc:
            message = str(exc)
        holds = node is not None and all(s.start <= j < s.stop for s, j in zip(owned, node))
        records["bad-" + name] = dict(
            messages=comm.allgather(message), holders=comm.allreduce(int(holds))
        )
    records["ranks"] = comm.size
    if comm.rank == 0:
        with open(out, "w") as f:
            json.dump(records, f)
    """
)


@pytest.mark.petsc
@pytest.mark.parametrize("ranks", [1, 2])
def test_variable_k_agrees_with_the_serial_solve_and_keeps_its_order(petsc_ready, tmp_path, ranks):
    """Every variable-k problem of the serial suite at rtol 1e-12, with each preconditioner:
    the serial solution to 1e-8 (relative, max norm), the same observed order; bad data on one
    rank's box: the serial error on every rank."""
    from conftest import observed_order

    rtol = 1e-12
    driver = tmp_path / "driver.py"
    driver.write_text(VARIABLE_DRIVER.format(tests=str(TESTS)))
    report = tmp_path / "report.json"
    pcs = ["gamg", "hypre", "mg"]
    proc = mpirun(ranks, sys.executable, driver, report, ",".join(pcs), rtol, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    records = json.loads(report.read_text())
    assert records.pop("ranks") == ranks
    for name in [*VARIABLE_ORDERS, *VARIABLE_SINGLES]:
        record = records[name]
        assert record["serial_method"] == "fastdiag-cg", name
        for pc in pcs:
            rec = record[pc]
            assert all(rec["converged"]), (name, pc, rec)
            assert rec["relative_residual"] <= rtol, (name, pc, rec)
            assert max(rec["diff"]) <= 1e-8, (name, pc, rec)
            assert rec["pc_type"] == pc, (name, pc)
            assert pc != "mg" or rec["levels"] >= 2, (name, rec)
            if rec["singular"]:
                assert abs(rec["mean"]) <= 1e-12, (name, pc, rec)
            if name in VARIABLE_ORDERS:
                serial = observed_order(record["h"], record["serial"])
                order = observed_order(record["h"], rec["error"])
                assert 1.8 <= serial <= 2.3, (name, serial)
                assert order == pytest.approx(serial, abs=1e-6), (name, pc, record)
    assert records["2d-pure-neumann"]["mg"]["singular"]
    for name in BAD_VARIABLE:
        with pytest.raises(DataError) as serial:
            bad_variable_case(name, check=True)
        bad = records["bad-" + name]
        assert bad["messages"] == [str(serial.value)] * ranks, name
        if name not in ("callable", "cell-face"):
            assert bad["holders"] == 1, name  # the bad node lies in one rank's part only


# -- rtol = "auto" under mpirun ---------------------------------------------------------------
def auto_case(name: str):
    """Problems for rtol='auto': ``(problem, exact solution as a string, pass it as exact=)``."""
    issue = "exp(x*y) + sin(2*x)"  # the issue's u: -laplace(u) below
    f = "-(x**2 + y**2)*exp(x*y) + 4*sin(2*x)"
    dudx = "y*exp(x*y) + 2*cos(2*x)"
    if name == "2d-dirichlet":
        return Problem(Grid.box([64, 64], boundary=Dirichlet(issue)), f), issue, False
    if name == "2d-neumann":
        grid = Grid.box([64, 48], default=Dirichlet(issue), boundary={"xmax": Neumann(dudx)})
        return Problem(grid, f), issue, False
    if name == "2d-neumann-exact":
        return auto_case("2d-neumann")[0], issue, True
    if name == "2d-variable":  # k = 1 + x y: f = -div(k grad u)
        k = "1 + x*y"
        grad = f"y*({dudx}) + x*(x*exp(x*y))"  # grad k . grad u
        grid = Grid.box(
            [48, 48], default=Dirichlet(issue), boundary={"ymax": Neumann("x*exp(x*y)")}
        )
        return Problem(grid, f"({k})*({f}) - ({grad})", coefficient=k), issue, False
    if name == "3d-mixed":  # cases/poisson3d_mixed.toml's problem on 16^3
        exact = "cos(2*pi*x)*cos(y + 0.3)*exp(z/2)"
        grid = Grid.box(
            [16, 16, 16],
            boundary={
                "xmin": Periodic(),
                "xmax": Periodic(),
                "ymin": Neumann("cos(2*pi*x)*sin(y + 0.3)*exp(z/2)"),
                "ymax": Robin(1, 0.5, "cos(2*pi*x)*(cos(y + 0.3) - 0.5*sin(y + 0.3))*exp(z/2)"),
                "zmin": Dirichlet("cos(2*pi*x)*cos(y + 0.3)"),
                "zmax": Neumann("0.5*cos(2*pi*x)*cos(y + 0.3)*exp(z/2)"),
            },
        )
        source = "2*(4*pi**2 + 0.75)*cos(2*pi*x)*cos(y + 0.3)*exp(z/2)"
        return Problem(grid, source, coefficient=2.0), exact, False
    if name == "2d-cells-exact":  # cases/cells2d_pure_neumann.toml's problem (singular)
        faces = {"xmin": Neumann(-1.0), "xmax": Neumann(1.0)}
        grid = Grid.box([32, 32], boundary=faces, default=Neumann(0.0), centering="cell")
        source = "2*pi**2*cos(pi*x)*cos(pi*y)"
        return Problem(grid, source), "cos(pi*x)*cos(pi*y) + x - 0.5", True
    raise KeyError(name)


AUTO_CASES = (
    "2d-dirichlet",
    "2d-neumann",
    "2d-neumann-exact",
    "2d-variable",
    "3d-mixed",
    "2d-cells-exact",
)

#: Driver run under mpirun: rtol='auto' on PETSc against the serial auto runs (cg, and the
#: method auto picks), the report's accuracy fields; a numeric rtol's warning.
AUTO_DRIVER = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    from mpi4py import MPI
    sys.path.insert(0, {tests!r})
    from test_petsc import AUTO_CASES, auto_case
    from kronpde import solve
    from kronpde.geometry.boundary import check_data, evaluate_data

    out = sys.argv[1]
    comm = MPI.COMM_WORLD
    sys.excepthook = lambda *info: (sys.__excepthook__(*info), comm.Abort(1))  # no rank waits
    records = {{}}

    def error(p, u, exact):
        g = p.grid
        value = check_data(exact, "exact", dimension=g.dimension)
        e = evaluate_data(value, g.point_coordinates(), g.point_shape, "exact")
        if p.singular:
            e = e - np.sum(g.weights() * g.from_nodes(e)) / g.weights().sum()
        return float(np.max(np.abs(u - e)))

    for name in AUTO_CASES:
        p, exact, given = auto_case(name)
        extra = dict(exact=exact) if given else {{}}
        runs = dict(
            cg=solve(p, "cg", rtol="auto", **extra),
            auto=solve(p, rtol="auto", **extra),
            petsc=solve(p, "amg-cg", backend="petsc", rtol="auto", **extra),
        )
        if comm.rank == 0:
            records[name] = {{
                how: dict(
                    error=error(p, sol.u, exact),
                    bound=sol.report.algebraic_error_bound,
                    estimate=sol.report.discretisation_error,
                    kind=sol.report.discretisation_estimate,
                    converged=sol.report.converged,
                    iterations=sol.report.iterations,
                    warnings=list(sol.report.warnings),
                    message=sol.report.message,
                )
                for how, sol in runs.items()
            }}
    # a numeric rtol that leaves the algebraic error above the estimate: the serial warning
    p, _, _ = auto_case("2d-dirichlet")
    loose = solve(p, backend="petsc", options={{"pc": "mg"}}, rtol=1e-2, estimate=True)
    serial = solve(p, "cg", rtol=1e-2, estimate=True)
    if comm.rank == 0:
        records["loose"] = dict(
            petsc=list(loose.report.warnings), serial=list(serial.report.warnings)
        )
        with open(out, "w") as f:
            json.dump(records, f)
    """
)


@pytest.mark.petsc
def test_rtol_auto_on_two_ranks_reaches_the_serial_accuracy(petsc_ready, tmp_path):
    """rtol='auto' under mpirun -n 2: the certified bound and the estimate (Richardson with the
    coarse grid solved on the same ranks, or the exact solution) computed over the ranks; the
    max error equals the serial auto runs' to a few percent, the bound is at most a tenth of
    the estimate, the estimate is the serial one."""
    driver = tmp_path / "driver.py"
    driver.write_text(AUTO_DRIVER.format(tests=str(TESTS)))
    report = tmp_path / "report.json"
    proc = mpirun(2, sys.executable, driver, report, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    records = json.loads(report.read_text())
    for name in AUTO_CASES:
        petsc, cg, auto = (records[name][how] for how in ("petsc", "cg", "auto"))
        assert petsc["converged"], (name, petsc)
        assert petsc["kind"] == cg["kind"] == ("exact" if name.endswith("exact") else "richardson")
        assert petsc["error"] == pytest.approx(cg["error"], rel=0.03), (name, petsc, cg)
        assert petsc["error"] == pytest.approx(auto["error"], rel=0.03), (name, petsc, auto)
        assert petsc["bound"] <= 0.1 * petsc["estimate"], (name, petsc)
        assert petsc["estimate"] == pytest.approx(cg["estimate"], rel=0.01), (name, petsc, cg)
        assert petsc["warnings"] == [], (name, petsc)
        assert "(rtol='auto')" in petsc["message"], name
        assert petsc["iterations"] < cg["iterations"], name  # multigrid against plain CG
    loose = records["loose"]
    assert len(loose["petsc"]) == len(loose["serial"]) == 1
    for text in (loose["petsc"][0], loose["serial"][0]):
        assert "exceeds the estimated discretisation error" in text
        assert "(richardson)" in text


def read_vtk(path: Path) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Points (kronpde's C order) and point data of a .vti/.vtr or its parallel index, read by
    the vtk package's XML readers (the ones ParaView uses); for a file of cell data (a
    cell-centred grid) the cell centres and the cell data instead."""
    import vtk
    from vtk.util.numpy_support import vtk_to_numpy

    readers = {
        ".vti": vtk.vtkXMLImageDataReader,
        ".vtr": vtk.vtkXMLRectilinearGridReader,
        ".pvti": vtk.vtkXMLPImageDataReader,
        ".pvtr": vtk.vtkXMLPRectilinearGridReader,
    }
    reader = readers[path.suffix]()
    reader.SetFileName(str(path))
    reader.Update()
    data = reader.GetOutput()
    arrays = data.GetPointData()
    if arrays.GetNumberOfArrays():
        dims = [d for d in data.GetDimensions() if d > 1]
        order = np.arange(data.GetNumberOfPoints()).reshape(dims[::-1]).T.ravel()
        points = np.array([data.GetPoint(int(k)) for k in order])
    else:  # cell data: the cells in kronpde's C order, located by their centres
        arrays = data.GetCellData()
        dims = [d - 1 for d in data.GetDimensions() if d > 1]
        order = np.arange(data.GetNumberOfCells()).reshape(dims[::-1]).T.ravel()
        centre = vtk.vtkCellCenters()
        centre.SetInputData(data)
        centre.Update()
        points = np.array([centre.GetOutput().GetPoint(int(k)) for k in order])
    fields = {
        arrays.GetArrayName(i): vtk_to_numpy(arrays.GetArray(i))[order]
        for i in range(arrays.GetNumberOfArrays())
    }
    return points, fields


CLI_CASES = [
    ("poisson2d_dirichlet", ".vtr", True),  # with a tanh-stretched x axis
    ("cells2d_pure_neumann", ".vti", False),  # cell data, a singular problem
]


@pytest.mark.petsc
@pytest.mark.parametrize(("case", "ext", "stretched"), CLI_CASES)
def test_cli_one_and_two_ranks_write_the_serial_file(petsc_ready, tmp_path, case, ext, stretched):
    """``mpirun -n P kronpde solve CASE --backend petsc -o out.vtr``: at 1 rank one file, at 2
    ranks each writes its piece and rank 0 the index, and the pieces read together equal the
    serial file (every case of cases/ at 2 ranks: test_every_case_file_at_two_ranks_...)."""
    source = ROOT / "cases" / f"{case}.toml"
    text = source.read_text()
    if stretched:
        text = text.replace("[grid]\n", '[grid]\nnodes.x = { stretch = "tanh", beta = 1.5 }\n', 1)
    copy = tmp_path / source.name
    copy.write_text(text)
    data = tomllib.loads(text)
    file_method = data.get("solver", {}).get("method", "auto")
    variable = isinstance(data["equation"].get("coefficient"), str)
    serial = tmp_path / f"serial{ext}"
    reference_method = "fastdiag-cg" if variable else "fastdiag"
    proc = subprocess.run(
        kronpde_command(
            "solve", copy, "-o", serial, "--method", reference_method, "-q", "--rtol", "1e-10"
        ),
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    points, reference = read_vtk(serial)
    scale = max(1.0, float(np.abs(reference["u"]).max()))
    results = {}
    for ranks in (1, 2):
        out = tmp_path / f"ranks{ranks}{ext}"
        proc = mpirun(
            ranks,
            *kronpde_command(
                "solve", copy, "-o", out, "--backend", "petsc", "--json", "--rtol", "1e-10"
            ),
            cwd=tmp_path,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert proc.stdout.count('"ranks"') == 1  # only rank 0 prints
        assert proc.stdout.count("case       ") == 1
        record = json.loads(proc.stdout.strip().splitlines()[-1])
        assert record["ranks"] == ranks
        # the file's cg runs as cg (Jacobi); its other methods give way to auto: the
        # distributed exact solve where it is exact (a constant k), else amg-cg with the
        # default preconditioner of a variable k
        expected = ("cg", "jacobi") if file_method == "cg" else ("amg-cg", default_pc(variable))
        if file_method != "cg" and not variable:
            expected = ("fastdiag", None)
        assert record["backend"] == "petsc"
        assert (record["method"], record["pc"]) == expected
        assert record["converged"] is True
        assert record["relative_residual"] <= 1e-10
        assert record["algebraic_error_bound"] <= 1e-6 * scale
        index = out.with_suffix(".p" + ext[1:])
        if ranks == 1:
            assert record["output"] == str(out)
            results[ranks] = read_vtk(out)
        else:  # the pieces out/out_<rank> and the index, which the JSON names
            assert record["output"] == str(index)
            assert sorted(p.name for p in (tmp_path / out.stem).iterdir()) == [
                f"{out.stem}_0{ext}",
                f"{out.stem}_1{ext}",
            ]
            results[ranks] = read_vtk(index)
        # the errors, reduced over the ranks, are the serial file's (to the algebraic error)
        err = reference["error"]
        tol = 1e-6 * scale
        assert record["error_max"] == pytest.approx(np.abs(err).max(), rel=0, abs=tol)
        assert record["error_rms"] == pytest.approx(np.sqrt(np.mean(err**2)), rel=0, abs=tol)
    tol = 1e-6 * scale  # rtol 1e-8 (the cases' own rtol may be tighter)
    for ranks, (got_points, got) in results.items():
        np.testing.assert_allclose(got_points, points, rtol=0, atol=1e-12, err_msg=str(ranks))
        assert list(got) == list(reference)
        for name in got:
            np.testing.assert_allclose(got[name], reference[name], rtol=0, atol=tol, err_msg=name)


#: Driver run under mpirun: every case of cases/ through the command line (kronpde.app.cli.main,
#: in-process on every rank), serially on rank 0 and on PETSc on every rank, at --rtol 1e-12
#: and with the case's own settings; one case also to an unstructured .vtu (gathered on rank 0).
CASES_DRIVER = textwrap.dedent(
    """
    import contextlib, io, json, sys, tomllib
    from pathlib import Path
    from mpi4py import MPI
    from kronpde.app import cli

    out, folder = Path(sys.argv[1]), Path(sys.argv[2])
    comm = MPI.COMM_WORLD
    cases = sorted(folder.glob("*.toml"))

    def run(*argv):
        text = io.StringIO()
        with contextlib.redirect_stdout(text):
            code = cli.main(["solve", *map(str, argv), "--json", "-q"])
        lines = text.getvalue().strip().splitlines()
        return code, (json.loads(lines[-1]) if lines else None)

    records = {{}}
    for case in cases:
        name = case.stem
        ext = Path(tomllib.loads(case.read_text())["output"]["file"]).suffix
        record = records[name] = dict(ext=ext)
        for label, extra in (("tight", ["--rtol", "1e-12"]), ("own", [])):
            if comm.rank == 0:
                target = f"{{name}}-{{label}}-serial{{ext}}"
                record[label + "-serial"] = run(case, "-o", target, *extra)
            comm.Barrier()
            got = run(case, "-o", f"{{name}}-{{label}}-petsc{{ext}}", "--backend", "petsc", *extra)
            if comm.rank == 0:
                record[label + "-petsc"] = got
    # an unstructured format: gathered on rank 0, which writes it as a serial run does
    case = folder / "poisson3d_mixed.toml"
    if comm.rank == 0:
        records["vtu-serial"] = run(case, "-o", "gathered-serial.vtu", "--rtol", "1e-12")
    comm.Barrier()
    got = run(case, "-o", "gathered-petsc.vtu", "--backend", "petsc", "--rtol", "1e-12")
    if comm.rank == 0:
        records["vtu-petsc"] = got
        out.write_text(json.dumps(records))
    """
)


@pytest.mark.petsc
def test_every_case_file_at_two_ranks_equals_the_serial_run(petsc_ready, tmp_path):
    """``mpirun -n 2 kronpde solve CASE --backend petsc`` for every case of cases/ (new ones
    included, no new test needed): at --rtol 1e-12 the written fields (pieces read with vtk's
    readers, cell data on cell-centred grids) and the JSON's error figures equal the serial
    run's to 1e-8 relative; with the case's own settings (rtol 'auto' where it gives none) the
    max error equals the serial run's to a few percent.  A .vtu at 2 ranks (one file, gathered
    on rank 0) equals the serial one."""
    import meshio

    cases = sorted((ROOT / "cases").glob("*.toml"))
    assert len(cases) >= 14
    driver = tmp_path / "driver.py"
    driver.write_text(CASES_DRIVER.format())
    report = tmp_path / "report.json"
    proc = mpirun(2, sys.executable, driver, report, ROOT / "cases", cwd=tmp_path, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    records = json.loads(report.read_text())
    for case in cases:
        record = records[case.stem]
        ext = record["ext"]
        for label in ("tight", "own"):
            (code_s, serial), (code_p, petsc) = record[label + "-serial"], record[label + "-petsc"]
            assert code_s == code_p == 0, (case.stem, label)
            assert (petsc["ranks"], petsc["backend"]) == (2, "petsc")
            assert petsc["converged"], (case.stem, label, petsc)
            assert serial["converged"], (case.stem, label, serial)
            assert (petsc["algebraic_error_bound"] is None) == (
                serial["algebraic_error_bound"] is None
            ), case.stem
            index = Path(petsc["output"])
            assert index.suffix == ".p" + ext[1:]
            if label == "tight":
                points, reference = read_vtk(tmp_path / serial["output"])
                got_points, got = read_vtk(tmp_path / index)
                np.testing.assert_allclose(got_points, points, rtol=0, atol=1e-12)
                assert list(got) == list(reference), case.stem
                scale = float(np.abs(reference["u"]).max())
                for name in got:
                    np.testing.assert_allclose(
                        got[name], reference[name], rtol=0, atol=1e-8 * scale, err_msg=case.stem
                    )
                for key in ("error_max", "error_rms"):
                    if key in serial:
                        assert petsc[key] == pytest.approx(serial[key], rel=1e-8), case.stem
            elif "error_max" in serial:
                assert petsc["error_max"] == pytest.approx(serial["error_max"], rel=0.03), (
                    case.stem,
                    petsc,
                    serial,
                )
                if petsc["rtol"] == "auto" and petsc["algebraic_error_bound"] is not None:
                    bound, estimate = petsc["algebraic_error_bound"], petsc["discretisation_error"]
                    assert bound <= 0.1 * estimate, (case.stem, petsc)
    (code_s, serial), (code_p, petsc) = records["vtu-serial"], records["vtu-petsc"]
    assert code_s == code_p == 0
    assert (petsc["output"], petsc["ranks"]) == ("gathered-petsc.vtu", 2)
    want, got = meshio.read(tmp_path / serial["output"]), meshio.read(tmp_path / petsc["output"])
    np.testing.assert_array_equal(got.points, want.points)
    scale = float(np.abs(want.point_data["u"]).max())
    for name, values in want.point_data.items():
        np.testing.assert_allclose(got.point_data[name], values, rtol=0, atol=1e-8 * scale)
    assert not (tmp_path / "gathered-petsc").exists()  # no pieces


BAD_INPUTS = {
    "unknown key": (["solve", "bad.toml"], "bad.toml: [grid]"),
    "serial-only method": (["solve", "good.toml", "--method", "direct"], "--method"),
    "bad preconditioner": (["solve", "good.toml", "--pc", "ilu"], "--pc"),
    "bad PETSc options": (["solve", "good.toml", "--petsc-options", "ksp_monitor"], "--petsc"),
    "bad argument": (["solve", "good.toml", "--no-such-flag"], "unrecognized arguments"),
}


@pytest.mark.petsc
@pytest.mark.parametrize(
    ("what", "quiet"),
    [(what, False) for what in BAD_INPUTS] + [("unknown key", True), ("bad argument", True)],
    ids=[f"{what}-mpirun" for what in BAD_INPUTS] + ["unknown key-mpirun -q", "argument-mpirun -q"],
)
def test_bad_input_under_mpirun_exit_2_one_message_nothing_written(
    petsc_ready, tmp_path, what, quiet
):
    good = tmp_path / "good.toml"
    good.write_text(
        "[grid]\ncells = [8, 8]\n[equation]\nsource = 1\n[boundary]\ndefault = { type = "
        '"dirichlet", value = 0 }\n[output]\nfile = "out.vti"\n'
    )
    (tmp_path / "bad.toml").write_text(good.read_text().replace("[8, 8]", "[8, 8]\nsize = 3"))
    before = sorted(os.listdir(tmp_path))
    argv, expected = BAD_INPUTS[what]
    proc = mpirun(2, *kronpde_command(*argv, "--backend", "petsc"), cwd=tmp_path, quiet=quiet)
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    ours = [line for line in proc.stderr.splitlines() if line.startswith("kronpde:")]
    assert len(ours) == 1, proc.stderr
    assert expected in ours[0]
    assert "Traceback" not in proc.stderr
    assert proc.stdout.strip() == "" or "usage:" in proc.stderr
    if quiet:  # without mpirun's own notes, the message is all there is
        lines = proc.stderr.strip().splitlines()
        assert lines[-1] == ours[0], proc.stderr
        assert all(line.startswith(("kronpde", "usage")) for line in lines), proc.stderr
    assert sorted(os.listdir(tmp_path)) == before


BAD_CASE = """
[grid]
cells = [16, 12]
[equation]
source = 1
coefficient = "{k}"
[boundary]
default = {{ type = "dirichlet", value = 0 }}
xmax = {{ type = "neumann", value = 0 }}
ymin = {{ type = "robin", alpha = 1, beta = 1, value = 0 }}
[output]
file = "out.vti"
"""


@pytest.mark.petsc
@pytest.mark.parametrize("ranks", [1, 2])
@pytest.mark.parametrize("what", ["negative", "infinite"])
def test_cli_bad_k_on_one_ranks_box_exits_2_with_the_serial_message(
    petsc_ready, tmp_path, ranks, what
):
    """Each rank evaluates k on its own box: a k bad at one node only (on one rank's box) ends
    every rank with exit 2 and the serial run's one message, nothing written."""
    corner = "((x - 0.875)**2 + (y - 0.75)**2)"  # node (14, 9)
    k = {"negative": f"1 - 2*exp(-1e4*{corner})", "infinite": f"1 + 1/{corner}"}[what]
    case = tmp_path / "bad.toml"
    case.write_text(BAD_CASE.format(k=k))
    serial = subprocess.run(
        kronpde_command("solve", case.name),
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert serial.returncode == 2, serial.stderr
    expected = serial.stderr.strip()
    assert expected.startswith("kronpde: error: bad.toml: [equation] coefficient: ")
    assert {"negative": "must be > 0 at every node", "infinite": "not finite at x=0.875"}[
        what
    ] in expected
    proc = mpirun(ranks, *kronpde_command("solve", case.name, "--backend", "petsc"), cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    ours = [line for line in proc.stderr.splitlines() if line.startswith("kronpde:")]
    assert ours == [expected], proc.stderr
    assert "Traceback" not in proc.stderr
    assert sorted(q.name for q in tmp_path.iterdir()) == ["bad.toml"]


@pytest.mark.petsc
def test_cli_petsc_options_reach_petsc_and_maxiter_failure_writes_nothing(petsc_ready, tmp_path):
    copy = Path(shutil.copy(ROOT / "cases" / "poisson3d_mixed.toml", tmp_path / "c.toml"))
    out = tmp_path / "u.vtr"
    index = tmp_path / "u.pvtr"
    proc = mpirun(
        2,
        *kronpde_command(
            "solve", copy, "-o", out, "--backend", "petsc", "--pc", "hypre", "--json",
            "--petsc-options", "-ksp_converged_reason -pc_hypre_boomeramg_strong_threshold 0.5",
        ),
        cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("Linear solve converged due to CONVERGED_RTOL") >= 1
    assert json.loads(proc.stdout.strip().splitlines()[-1])["pc"] == "hypre"
    assert index.exists()

    shutil.rmtree(tmp_path / "u")
    index.unlink()
    proc = mpirun(
        2,
        *kronpde_command(
            "solve", copy, "-o", out, "--backend", "petsc", "--method", "amg-cg", "--maxiter", "2"
        ),
        cwd=tmp_path,
    )
    assert proc.returncode == 1, proc.stderr[-3000:]
    ours = [line for line in proc.stderr.splitlines() if line.startswith("kronpde:")]
    assert len(ours) == 1, proc.stderr
    assert "nothing written" in ours[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.toml"]
