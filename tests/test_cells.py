"""Cell-centred (staggered) axes: operators, closed forms, every method, orders, FISHPACK.

Anchors: the dense operator written unknown by unknown from the ghost rules
(:mod:`cell_reference`), scipy's sparse direct solve, LAPACK's ``eigh``,
manufactured solutions (grid convergence in the max norm) and the test problem
of FISHPACK's HSTCRT with the discretisation error its documentation reports.
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest
from cell_reference import staggered_reference
from conftest import manufactured, reference_solve

from kronpde import Axis, Dirichlet, Grid, Neumann, Periodic, Problem, load_case, solve
from kronpde.errors import GridError
from kronpde.solvers import prepare
from kronpde.solvers.fastdiag import FastDiagSolver

ROOT = Path(__file__).resolve().parents[1]
D, N, R, P = "dirichlet", "neumann", "robin", "periodic"
#: Every pair of face kinds an axis can have.
PAIRS = [(D, D), (N, N), (D, N), (N, D), (R, D), (D, R), (R, R), (N, R), (R, N), (P, P)]
NAME = {D: "D", N: "N", R: "R", P: "P"}
METHODS = ("fastdiag", "direct", "cg", "amg-cg", "fastdiag-cg", "auto")


def pair_id(kinds) -> str:
    return "-".join(NAME[a] + NAME[b] for a, b in kinds)


def jittered_faces(m: int, upper: float, seed: int) -> np.ndarray:
    """Faces of a stretched axis: uniform ones moved by up to a quarter cell (seeded)."""
    rng = np.random.default_rng(seed)
    x = np.linspace(0.0, upper, m + 1)
    x[1:-1] += rng.uniform(-0.25, 0.25, m - 1) * upper / m
    return x


def k_smooth(*x):
    """A smooth positive coefficient, periodic in every coordinate on the boxes used here."""
    out = 1.0
    for i, xi in enumerate(x):
        out = out + 0.3 * np.cos(2.0 * math.pi * xi / (1.0 + 0.5 * i) + 0.4 * i)
    return out + 0.0 * sum(x)


def build(cells, kinds, centering, *, stretched=False, shift=0.0, k=1.0, seed=7):
    """A problem with the manufactured solution's data on every face, and that solution."""
    d = len(cells)
    upper = [1.0 + 0.5 * i for i in range(d)]
    sol = manufactured(d, kinds, upper)
    boundary = {}
    for i in range(d):
        for side in (0, 1):
            boundary["xyz"[i] + ("min", "max")[side]] = sol.condition(kinds[i][side], i, side)
    centring = [centering] * d if isinstance(centering, str) else list(centering)
    nodes = [
        jittered_faces(cells[i], upper[i], seed + i) if stretched and c == "cell" else None
        for i, c in enumerate(centring)
    ]
    grid = Grid.box(cells, upper=upper, boundary=boundary, nodes=nodes, centering=centring)
    return Problem(grid, sol.f(shift, 1.0), shift, coefficient=k), sol


def relative(a, b) -> float:
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


# -- the grid --------------------------------------------------------------------------------
def test_cell_centred_axis_points_weights_unknowns():
    a = Axis(4, -1.0, 1.0, Dirichlet(), Neumann(), centering="cell")
    np.testing.assert_array_equal(a.nodes, [-1.0, -0.5, 0.0, 0.5, 1.0])
    np.testing.assert_array_equal(a.points, [-0.75, -0.25, 0.25, 0.75])  # lower + (j + 1/2) h
    assert a.n_unknowns == 4
    assert a.unknown_slice == slice(0, 4)
    np.testing.assert_array_equal(a.weights, [0.5] * 4)  # mid-point rule: the cell widths
    assert Axis(1, centering="cell").n_unknowns == 1  # one cell between two Dirichlet faces
    s = Axis.from_nodes([0.0, 0.1, 0.4, 1.0], Periodic(), Periodic(), centering="cell")
    np.testing.assert_allclose(s.points, [0.05, 0.25, 0.7], rtol=1e-15)
    np.testing.assert_allclose(s.weights, [0.1, 0.3, 0.6], rtol=1e-15)
    assert s.n_unknowns == 3  # periodic: m cells wrap
    assert s.refined(2).centering == "cell"
    with pytest.raises(GridError, match="centering"):
        Axis(4, centering="vertex")


def test_grid_centring_per_axis_and_the_field_of_a_mac_component():
    g = Grid.box([4, 3], boundary={"xmin": Dirichlet(1.0), "xmax": Dirichlet(2.0)},
                 centering=["node", "cell"])  # fmt: skip
    assert g.centering == ("node", "cell")
    assert g.shape == (3, 3)
    assert g.point_shape == (5, 3)
    assert g.node_shape == (5, 4)
    x, y = g.point_coordinates()
    np.testing.assert_allclose(y.ravel(), [1 / 6, 0.5, 5 / 6], rtol=1e-15)
    u = g.to_nodes(np.zeros(g.shape))  # the Dirichlet nodes of x at the cell centres of y
    np.testing.assert_array_equal(u[0], 1.0)
    np.testing.assert_array_equal(u[-1], 2.0)
    np.testing.assert_array_equal(g.from_nodes(u), 0.0)
    assert "cell-centred" in repr(g)
    for bad in ("edge", ["node"], ["node", 3]):
        with pytest.raises(GridError) as info:
            Grid.box([4, 3], centering=bad)
        assert info.value.subject == "centering"


# -- the operator against the ghost rules --------------------------------------------------
OPERATOR_CASES = (
    [([6], [p], "cell", st) for p in PAIRS for st in (False, True)]
    + [
        ([5, 4], [p, q], "cell", st)
        for p, q in zip(PAIRS, PAIRS[3:] + PAIRS[:3], strict=True)
        for st in (False, True)
    ]
    + [
        ([4, 3, 3], kinds, "cell", st)
        for kinds in ([(D, N), (R, R), (P, P)], [(N, N), (N, D), (R, N)])
        for st in (False, True)
    ]
    + [
        ([5, 4], kinds, centring, st)
        for kinds in ([(D, D), (N, N)], [(N, R), (D, N)], [(P, P), (R, D)])
        for centring in (["node", "cell"], ["cell", "node"])
        for st in (False, True)
    ]
)


def _case_id(case) -> str:
    cells, kinds, centring, stretched = case
    c = centring if isinstance(centring, str) else "-".join(centring)
    return f"{len(cells)}d-{pair_id(kinds)}-{c}-{'stretched' if stretched else 'uniform'}"


@pytest.mark.parametrize("case", OPERATOR_CASES, ids=[_case_id(c) for c in OPERATOR_CASES])
def test_operator_and_rhs_are_the_ghost_rules_and_fastdiag_is_exact(case):
    cells, kinds, centring, stretched = case
    shift = 0.0 if all(p in ((N, N), (P, P)) for p in kinds) else 0.7
    problem, sol = build(cells, kinds, centring, stretched=stretched, shift=shift)
    mat, rhs = staggered_reference(problem.grid, sol.f(shift, 1.0), shift)
    a = problem.operator().toarray()
    scale = np.max(np.abs(mat))
    np.testing.assert_allclose(a, mat, rtol=0, atol=1e-12 * scale)
    np.testing.assert_allclose(problem.rhs(), rhs, rtol=0, atol=1e-12 * np.max(np.abs(rhs)))
    # the symmetrised operator is symmetric, with the cell widths as weights
    s = problem.operator(symmetric=True).toarray()
    np.testing.assert_allclose(s, s.T, rtol=0, atol=1e-13 * scale)
    u = solve(problem, "fastdiag").x
    assert relative(u, reference_solve(problem)) <= 1e-10


VARIABLE_CASES = [
    ([6], [(R, N)], "cell", False),
    ([6], [(D, N)], "cell", True),
    ([5, 4], [(N, N), (D, R)], "cell", False),
    ([5, 4], [(N, N), (D, R)], "cell", True),
    ([5, 4], [(P, P), (N, N)], "cell", True),
    ([5, 4], [(D, N), (R, R)], ["node", "cell"], False),
    ([5, 4], [(N, R), (P, P)], ["cell", "node"], True),
    ([4, 3, 3], [(N, D), (R, N), (P, P)], "cell", True),
]


@pytest.mark.parametrize("case", VARIABLE_CASES, ids=[_case_id(c) for c in VARIABLE_CASES])
def test_variable_coefficient_operator_is_the_flux_rules(case):
    """A callable ``k`` at every face the fluxes cross, interior and boundary (case-format.md)."""
    cells, kinds, centring, stretched = case
    problem, sol = build(cells, kinds, centring, stretched=stretched, shift=0.2, k=k_smooth)
    assert problem.variable_coefficient
    mat, rhs = staggered_reference(problem.grid, sol.f(0.2, 1.0), 0.2, k=k_smooth)
    scale = np.max(np.abs(mat))
    np.testing.assert_allclose(problem.operator().toarray(), mat, rtol=0, atol=1e-12 * scale)
    np.testing.assert_allclose(problem.rhs(), rhs, rtol=0, atol=1e-12 * np.max(np.abs(rhs)))
    x = np.random.default_rng(3).standard_normal(problem.size)  # the matrix-free apply too
    np.testing.assert_allclose(
        problem.linear_operator() @ x, mat @ x, rtol=0, atol=1e-12 * scale * np.abs(x).sum()
    )
    s = problem.operator(symmetric=True).toarray()
    np.testing.assert_allclose(s, s.T, rtol=0, atol=1e-13 * scale)


def test_constant_coefficient_as_a_field_gives_the_kronecker_sum_times_k():
    problem, _ = build([6, 5], [(R, D), (N, N)], "cell", stretched=True, shift=0.3, k=2.5)
    as_field, _ = build(
        [6, 5], [(R, D), (N, N)], "cell", stretched=True, shift=0.3, k=lambda x, y: 2.5 + 0 * x
    )
    diff = abs(as_field.operator() - problem.operator()).max()
    assert diff <= 1e-12 * abs(problem.operator()).max()
    np.testing.assert_allclose(as_field.rhs(), problem.rhs(), rtol=1e-13, atol=0)


# -- every method ------------------------------------------------------------------------------
AGREE_CASES = [
    ([12, 10], [(D, N), (R, R)], "cell", False, 0.0),
    ([12, 10], [(N, N), (N, N)], "cell", True, 0.0),
    ([12, 10], [(P, P), (N, D)], "cell", False, 0.5),
    ([12, 10], [(D, D), (N, N)], ["node", "cell"], False, 0.0),
    ([12, 10], [(N, N), (P, P)], ["cell", "node"], True, 0.0),
    ([6, 5, 4], [(N, N), (N, N), (N, N)], "cell", False, 0.0),
]


@pytest.mark.parametrize(
    "case", AGREE_CASES, ids=[_case_id(c[:4]) + f"-c{c[4]:g}" for c in AGREE_CASES]
)
def test_every_method_agrees(case):
    cells, kinds, centring, stretched, shift = case
    problem, _ = build(cells, kinds, centring, stretched=stretched, shift=shift)
    ref = reference_solve(problem)
    for method in METHODS:
        solution = solve(problem, method, rtol=1e-12)
        assert solution.report.converged, method
        assert relative(solution.x, ref) <= 1e-8, method
        assert solution.u.shape == problem.grid.point_shape
    for k in (2.0, k_smooth):  # a variable k, through the methods that take one
        varied, _ = build(cells, kinds, centring, stretched=stretched, shift=shift, k=k)
        ref = reference_solve(varied)
        for method in ("direct", "cg", "amg-cg", "fastdiag-cg"):
            x = solve(varied, method, rtol=1e-12).x
            assert relative(x, ref) <= 1e-8, (method, k)


def test_singular_cell_problem_zero_mean_over_the_cells_and_projection_reported():
    problem, _ = build([8, 6], [(N, N), (P, P)], "cell", stretched=True)
    b = problem.rhs() + 0.25  # incompatible: the constant 1/4 is not in the range
    w = problem.grid.weights().reshape(-1)
    widths = [np.diff(a.nodes) for a in problem.grid.axes]  # cell volumes
    np.testing.assert_allclose(w, np.multiply.outer(*widths).ravel(), rtol=1e-15)
    removed = abs(w @ b / w.sum()) * math.sqrt(b.size) / np.linalg.norm(b)
    for method in ("fastdiag", "direct", "cg", "amg-cg"):
        solution = prepare(problem, method).solve(b, rtol=1e-12)
        assert abs(w @ solution.x) <= 1e-12 * np.abs(solution.x).max() * w.sum()
        assert solution.report.projected_norm == pytest.approx(removed, rel=1e-9)
        assert relative(solution.x, reference_solve_with(problem, b)) <= 1e-8


def reference_solve_with(problem, b):
    """scipy on ``A u = b - mean_w(b)`` with one unknown pinned, then the weighted mean removed."""
    import scipy.sparse.linalg as sla

    a = problem.operator().tocsc()
    w = problem.grid.weights().reshape(-1)
    b = b - (w @ b) / w.sum()
    u = np.zeros_like(b)
    u[1:] = sla.spsolve(a[1:, 1:].tocsc(), b[1:])
    return u - (w @ u) / w.sum()


# -- the closed forms ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("pair", "kind"),
    [((D, D), "dst2"), ((N, N), "dct2"), ((D, N), "dst4"), ((N, D), "dct4"), ((P, P), "fft")],
)
@pytest.mark.parametrize("n", [1, 2, 7, 16])
def test_closed_forms_diagonalise_the_cell_operators(pair, kind, n):
    bcs = {D: Dirichlet(), N: Neumann(), P: Periodic()}
    axis = Axis(n, 0.0, 2.0, bcs[pair[0]], bcs[pair[1]], centering="cell")
    problem = Problem(Grid([axis]))
    op = problem.axis_operators[0]
    eig = op.eigenpairs(axis)
    if n == 1 and kind == "fft":
        assert eig.eigenvalues.tolist() == [0.0]
        return
    assert eig.kind == kind
    t = op.todense()
    s = eig.vectors()
    np.testing.assert_allclose(t @ s, s * eig.eigenvalues, rtol=0, atol=1e-11 * np.abs(t).max())
    np.testing.assert_allclose(s.T @ (axis.weights[:, None] * s), np.eye(n), atol=1e-12)
    reference = op.eigenpairs(axis, force_eigh=True).eigenvalues
    np.testing.assert_allclose(np.sort(eig.eigenvalues), reference, rtol=0, atol=1e-11 * t.max())
    rows = op.eigenpairs()  # recognised from the rows alone, without the axis
    if n >= 3:  # (one or two cells have the same rows as other closed forms or eigh)
        assert rows.kind == kind
    np.testing.assert_allclose(np.sort(rows.eigenvalues), reference, rtol=0, atol=1e-11 * t.max())


@pytest.mark.parametrize("kernels", ["transform", "gemm"])
def test_fastdiag_kernels_on_every_cell_transform(kernels, rng):
    """Each axis its own transform (types II, IV, FFT) and the dense kernel give one answer."""
    for kinds in ([(D, D), (N, N), (D, N)], [(N, D), (P, P), (N, N)]):
        problem, _ = build([9, 8, 7], kinds, "cell")
        solver = FastDiagSolver.from_problem(problem, kernels=kernels)
        expected = {(D, D): "dst2", (N, N): "dct2", (D, N): "dst4", (N, D): "dct4", (P, P): "fft"}
        assert solver.axis_methods == tuple(expected[p] for p in kinds)
        plain = FastDiagSolver(problem.axis_operators, problem.shift)  # recognised from the rows
        assert plain.axis_methods == solver.axis_methods
        b = rng.standard_normal(problem.size)
        if problem.singular:
            b, _ = problem.project_rhs(b)
        u = solver.solve(b)
        assert relative(problem.operator() @ u, b) <= 1e-12
        np.testing.assert_allclose(plain.solve(b), u, rtol=0, atol=1e-12 * np.abs(u).max())


# -- grid convergence ---------------------------------------------------------------------------
def max_error(problem, sol, method="auto") -> tuple[float, float]:
    """``max |u - u_exact|`` over the points, and the largest spacing."""
    solution = solve(problem, method, rtol=1e-12)
    grid = problem.grid
    exact = sol.u(*grid.point_coordinates())
    if problem.singular:  # the solution of zero weighted mean: compare with exact's
        exact = exact - np.sum(grid.weights() * grid.from_nodes(exact)) / grid.weights().sum()
    h = max(float(np.max(np.diff(x))) for x in grid.nodes)
    return float(np.max(np.abs(solution.u - exact))), h


def k_varying(x, y):
    return 1.0 + 0.4 * np.sin(2.0 * x + 0.5) * np.cos(1.5 * y)


def variable_source(sol):
    """``f = -div(k grad u)`` of the manufactured ``u`` with :func:`k_varying`."""
    lam = sum(w * w for w in sol.omega)

    def f(x, y):
        kx = 0.8 * np.cos(2.0 * x + 0.5) * np.cos(1.5 * y)
        ky = -0.6 * np.sin(2.0 * x + 0.5) * np.sin(1.5 * y)
        return -(kx * sol.du(0, x, y) + ky * sol.du(1, x, y)) + k_varying(x, y) * lam * sol.u(x, y)

    return f


CONVERGENCE = [
    ("dirichlet", [(D, D), (D, D)], "cell", False, False),
    ("pure-neumann", [(N, N), (N, N)], "cell", False, False),
    ("robin-periodic", [(R, R), (P, P)], "cell", False, False),
    ("stretched-mixed-faces", [(D, N), (R, N)], "cell", True, False),
    ("mac-u", [(D, D), (N, N)], ["node", "cell"], False, False),
    ("mac-v-stretched", [(N, R), (D, D)], ["cell", "node"], True, False),
    ("variable-pure-neumann", [(N, N), (N, N)], "cell", True, True),
    ("variable-mac", [(D, N), (R, D)], ["node", "cell"], False, True),
]


@pytest.mark.parametrize("case", CONVERGENCE, ids=[c[0] for c in CONVERGENCE])
def test_second_order_in_the_max_norm(case):
    _, kinds, centring, stretched, variable = case
    problem, sol = build([16, 16], kinds, centring, stretched=stretched)
    if variable:
        problem = Problem(problem.grid, variable_source(sol), coefficient=k_varying)
    errors, hs = [], []
    for factor in (1, 2, 4, 8):  # 16² to 128² cells
        fine = problem.refined(factor)
        e, h = max_error(fine, sol, "direct" if variable else "fastdiag")
        errors.append(e)
        hs.append(h)
    order = float(np.polyfit(np.log(hs), np.log(errors), 1)[0])
    last = math.log(errors[-2] / errors[-1]) / math.log(hs[-2] / hs[-1])
    assert 1.8 <= order <= 2.3, errors
    assert 1.8 <= last <= 2.3, errors


def test_second_order_in_3d():
    problem, sol = build([8, 8, 8], [(D, N), (N, N), (P, P)], "cell", stretched=True)
    errors = [max_error(problem.refined(f), sol, "fastdiag")[0] for f in (1, 2, 4)]
    orders = [math.log2(errors[i] / errors[i + 1]) for i in range(2)]
    assert all(1.8 <= o <= 2.3 for o in orders), errors


def test_an_array_coefficient_takes_the_boundary_cells_value_first_order_for_neumann_data():
    """The claim of docs/theory.md: ``k`` at the face keeps second order, the cell's value not."""
    sol = manufactured(1, [(N, D)], [1.0])
    k = lambda x: 1.0 + x  # noqa: E731
    errors = {"expression": [], "array": []}
    for m in (32, 64, 128, 256):
        grid = Grid.box([m], boundary={"xmin": sol.condition(N, 0, 0), "xmax": Dirichlet(sol.u)},
                        centering="cell")  # fmt: skip
        f = lambda x: -(sol.du(0, x) + k(x) * -(sol.omega[0] ** 2) * sol.u(x))  # noqa: E731
        x = grid.points[0]
        for name, coefficient in (("expression", k), ("array", k(x))):
            u = solve(Problem(grid, f, coefficient=coefficient), "direct").u
            errors[name].append(np.max(np.abs(u - sol.u(x))))
    order = {name: math.log2(e[-2] / e[-1]) for name, e in errors.items()}
    assert 1.8 <= order["expression"] <= 2.3, errors
    assert 0.8 <= order["array"] <= 1.2, errors


def test_fishpack_hstcrt_test_problem_gives_its_reported_error():
    """FISHPACK's thstcrt.f: HSTCRT on [1, 3] x [-1, 1], M = 48, N = 53, LAMBDA = -2.

    ``u_xx + u_yy - 2 u = -2 (pi² + 1) sin(pi x) cos(pi y)``, ``u = 0`` at ``x = 1``
    (MBDCND = 2), ``du/dx = -pi cos(pi y)`` at ``x = 3``, periodic in ``y``
    (NBDCND = 0); exact ``u = sin(pi x) cos(pi y)``.  The test program prints
    "Discretization Error = 1.2600E-3" for 64-bit arithmetic (1.2586E-3 in 32
    bits): the max over the cell centres.
    """
    grid = Grid.box(
        [48, 53],
        lower=[1.0, -1.0],
        upper=[3.0, 1.0],
        boundary={
            "xmin": Dirichlet(0.0),
            "xmax": Neumann("-pi*cos(pi*y)"),  # outward normal +x: du/dn = du/dx
            "ymin": Periodic(),
            "ymax": Periodic(),
        },
        centering="cell",
    )
    problem = Problem(grid, "2*(pi**2 + 1)*sin(pi*x)*cos(pi*y)", shift=2.0)
    x, y = grid.point_coordinates()
    exact = np.sin(np.pi * x) * np.cos(np.pi * y)
    for method in ("fastdiag", "direct"):
        error = float(np.max(np.abs(solve(problem, method).u - exact)))
        assert abs(error - 1.2600e-3) <= 0.5e-7, error  # the 5 digits FISHPACK prints


# -- the case file and the command line ---------------------------------------------------------
def test_every_centring_of_a_small_case_file_is_read(tmp_path):
    text = """
[grid]
cells = [4, 3]
centering = {}
nodes.y = [0.0, 0.2, 0.5, 1.0]
[equation]
source = 1
[boundary]
default = {{ type = "neumann", value = 0 }}
xmin = {{ type = "dirichlet", value = 1 }}
"""
    for value, expected in (('"cell"', ("cell", "cell")), ('["node", "cell"]', ("node", "cell"))):
        path = tmp_path / "c.toml"
        path.write_text(text.format(value))
        grid = load_case(path).grid
        assert grid.centering == expected
        np.testing.assert_allclose(grid.axes[1].points, [0.1, 0.35, 0.75], rtol=1e-15)
    for value in ('"edge"', '["cell"]', "3", '["cell", 1]'):
        path.write_text(text.format(value))
        with pytest.raises(Exception, match=r"\[grid\] centering") as info:
            load_case(path)
        assert isinstance(info.value, ValueError)


def test_cli_bad_centring_and_petsc_exit_2(tmp_path, capsys):
    from kronpde.app.cli import main

    case = tmp_path / "c.toml"
    body = '[equation]\nsource = 1\n[boundary]\ndefault = { type = "dirichlet", value = 0 }\n'
    case.write_text('[grid]\ncells = [4, 4]\ncentering = "centre"\n' + body)
    assert main(["solve", str(case)]) == 2
    err = capsys.readouterr().err
    assert "[grid] centering" in err
    assert "Traceback" not in err
    case.write_text('[grid]\ncells = [4, 4]\ncentering = ["node", "cell"]\n' + body)
    code = main(["solve", str(case), "-o", str(tmp_path / "u.vtr")])
    assert code == 0
    capsys.readouterr()
    case.write_text('[grid]\ncells = [4, 1]\ncentering = ["node", "cell"]\n' + body)
    assert main(["solve", str(case), "-o", str(tmp_path / "v.vtr")]) == 2  # one point along y
    assert "at least 2 cells" in capsys.readouterr().err
    assert not (tmp_path / "v.vtr").exists()


def test_petsc_backend_takes_cells_and_without_petsc4py_says_how_to_install(monkeypatch):
    """Cell-centred grids run on PETSc (tests/test_petsc.py): without petsc4py the error
    names petsc4py and the install script, nothing about the centring."""
    import sys

    from kronpde.solvers.petsc import PetscUnavailableError

    for name in ("petsc4py", "petsc4py.PETSc", "mpi4py", "mpi4py.MPI"):
        monkeypatch.setitem(sys.modules, name, None)
    problem, _ = build([4, 4], [(D, D), (D, D)], "cell")
    with pytest.raises(PetscUnavailableError, match="install-petsc.sh"):
        prepare(problem, backend="petsc")


@pytest.mark.parametrize("dims", [1, 2, 3])
def test_points_of_every_face_are_used_by_the_face_data(dims):
    """Face data on a cell-centred grid are evaluated at the face, at the other axes' centres."""
    for combo in itertools.product(("node", "cell"), repeat=dims):
        g = Grid.box([3] * dims, boundary=Dirichlet(lambda *x: sum(x)), centering=list(combo))
        for i in range(dims):
            for side in (0, 1):
                coords = g.face_coordinates(i, side)
                expected = sum(np.broadcast_to(c, g.face_shape(i)) for c in coords)
                np.testing.assert_allclose(g.face_data(i, side), expected, rtol=1e-15)
                others = [np.ravel(c) for j, c in enumerate(coords) if j != i]
                for j, c in zip([j for j in range(dims) if j != i], others, strict=True):
                    np.testing.assert_array_equal(c, g.axes[j].points)


# -- output: cell data on the faces, point data at the points of a mixed centring -----------


def _cli(capsys, *argv):
    from kronpde.app.cli import main

    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("suffix", [".vti", ".vtr", ".vtu"])
def test_a_cell_centred_result_is_cell_data_on_the_faces(suffix, tmp_path, capsys):
    from vtk_reference import read_vtk

    from kronpde.io.result import read_result

    out = tmp_path / f"u{suffix}"
    case = ROOT / "cases" / "cells2d_pure_neumann.toml"
    code, stdout, err = _cli(capsys, "solve", case, "-o", out, "--json")
    assert code == 0, err
    assert "over all cell centres" in stdout
    record = json.loads(stdout.strip().splitlines()[-1])
    faces = np.linspace(0.0, 1.0, 33)
    centres = (np.arange(32) + 0.5) / 32
    x, y = np.meshgrid(centres, centres, indexing="ij")
    exact = np.cos(np.pi * x) * np.cos(np.pi * y) + x - 0.5
    vtk = read_vtk(out)  # ParaView's readers
    assert vtk.point_data == {}
    assert set(vtk.cell_data) == {"u", "f", "u_exact", "error"}
    assert vtk.points.shape[0] == 33 * 33  # the points are the cell faces
    got = {name: vtk.cellwise(name, 2) for name in vtk.cell_data} if vtk.dimensions else None
    result = read_result(out)
    np.testing.assert_allclose(result.nodes[0], faces, rtol=0, atol=1e-15)
    assert result.fields == {}
    cells = result.cell_fields
    if got is not None:
        for name in cells:
            np.testing.assert_array_equal(cells[name], got[name])
    np.testing.assert_allclose(cells["u_exact"], exact, rtol=0, atol=1e-14)
    np.testing.assert_allclose(cells["f"], 2 * np.pi**2 * np.cos(np.pi * x) * np.cos(np.pi * y))
    np.testing.assert_allclose(cells["error"], cells["u"] - exact, rtol=0, atol=1e-14)
    assert record["error_max"] == pytest.approx(np.max(np.abs(cells["u"] - exact)), rel=1e-12)
    rms = np.sqrt(np.mean((cells["u"] - exact) ** 2))
    assert record["error_rms"] == pytest.approx(rms, rel=1e-12)
    assert abs(np.mean(cells["u"])) <= 1e-13  # zero mean over the (equal) cells
    assert record["projected_norm"] <= 1e-12  # compatible data
    assert record["method"] == "fastdiag"


def test_a_mac_component_is_point_data_at_its_own_points(tmp_path, capsys):
    from vtk_reference import read_vtk

    case = tmp_path / "mac.toml"
    case.write_text(
        '[grid]\ncells = [8, 6]\nupper = [2.0, 1.0]\ncentering = ["node", "cell"]\n'
        '[equation]\nsource = "(pi**2/4 + pi**2)*sin(pi*x/2)*cos(pi*y)"\n'
        '[boundary]\nxmin = { type = "dirichlet", value = 0 }\n'
        'xmax = { type = "dirichlet", value = "cos(pi*y)" }\n'
        'default = { type = "neumann", value = 0 }\n'
        '[exact]\nu = "sin(pi*x/2)*cos(pi*y)"\n'
    )
    out = tmp_path / "mac.vtr"
    code, stdout, err = _cli(capsys, "solve", case, "-o", out)
    assert code == 0, err
    assert "centring node/cell per axis" in stdout
    vtk = read_vtk(out)
    assert vtk.cell_data == {}
    xs, ys = vtk.axes(2)
    np.testing.assert_allclose(xs, np.linspace(0.0, 2.0, 9), rtol=0, atol=1e-15)  # nodes
    np.testing.assert_allclose(ys, (np.arange(6) + 0.5) / 6, rtol=0, atol=1e-15)  # centres
    u = vtk.nodal("u", 2)
    np.testing.assert_array_equal(u[0], 0.0)  # the Dirichlet nodes of x, at the centres of y
    np.testing.assert_allclose(u[-1], np.cos(np.pi * ys), rtol=0, atol=1e-15)
    x, y = np.meshgrid(xs, ys, indexing="ij")
    np.testing.assert_allclose(vtk.nodal("u_exact", 2), np.sin(np.pi * x / 2) * np.cos(np.pi * y))


def test_plot_draws_cell_data(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "c.vtr"
    case = ROOT / "cases" / "cells3d_mixed.toml"
    code, _, err = _cli(capsys, "solve", case, "-o", out, "--plot", tmp_path / "solve.png")
    assert code == 0, err
    assert (tmp_path / "solve.png").stat().st_size > 1000
    code, stdout, err = _cli(
        capsys, "plot", out, "-o", tmp_path / "p.png", "--field", "error", "--axis", "y"
    )
    assert code == 0, err
    assert "error, 3-D" in stdout
    from kronpde.app.pictures import slice_field

    faces = [np.linspace(0, 1, 25), np.linspace(0, 1, 17), np.linspace(0, 2, 17)]
    values = np.arange(24 * 16 * 16, dtype=float).reshape(24, 16, 16)
    cut = slice_field(faces, values, "y", 0.3)  # the layer of cells whose centre is nearest
    assert cut.cells
    assert cut.where == "y = 0.28125"  # centre of cell 4, (4 + 1/2)/16
    np.testing.assert_array_equal(cut.values, values[:, 4, :])


def test_compare_and_converge_on_a_cell_centred_case(tmp_path, capsys):
    case = ROOT / "cases" / "cells3d_mixed.toml"
    code, stdout, err = _cli(capsys, "compare", case, "--json", "--rtol", "1e-10")
    assert code == 0, err
    record = json.loads(stdout.strip().splitlines()[-1])
    runs = {r["method"]: r for r in record["methods"]}
    assert record["reference"] == "fastdiag"
    assert set(runs) >= {"fastdiag", "direct", "cg", "amg-cg", "fastdiag-cg"}
    loaded = load_case(case)
    x, y, z = loaded.grid.point_coordinates()  # the exact solution at the cell centres
    exact = np.sin(np.pi * x) * (1 + y**2) * np.cos(np.pi * z)
    u = solve(loaded.problem, "direct").u
    expected = float(np.max(np.abs(u - exact)))
    for name, run in runs.items():
        assert run["converged"], name
        assert run["max_difference"] <= 1e-8, name
        assert run["error_max"] == pytest.approx(expected, rel=1e-6), name
    code, stdout, err = _cli(capsys, "converge", case, "--levels", "2", "--json")
    assert code == 0, err
    assert "over all cell centres" in stdout
    levels = json.loads(stdout.strip().splitlines()[-1])["levels"]
    assert levels[0]["error_max"] == pytest.approx(expected, rel=1e-9)
    assert 1.8 <= levels[1]["order_max"] <= 2.3
