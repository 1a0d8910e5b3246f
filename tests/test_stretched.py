"""Stretched (non-uniform) axes: nodes, weights, 1-D operators, fast diagonalization, case files.

Anchors: the textbook non-uniform 3-point formula written out here, the
trapezoid rule, scipy's ``spsolve`` and ``scipy.linalg.eigh(K, M)`` (the
generalized symmetric eigenproblem solved directly), manufactured solutions.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse.linalg as sla
from conftest import build_problem, observed_order, reference_solve
from test_variable import dk_issue, k_issue, max_error, variable_problem

from kronpde import Axis, Dirichlet, Grid, Neumann, Periodic, Problem, Robin, load_case
from kronpde.app.cli import main
from kronpde.errors import CaseError, GridError
from kronpde.geometry.grid import stretched_nodes
from kronpde.operators.stencils import second_difference
from kronpde.solvers import solve
from kronpde.solvers.fastdiag import FastDiagSolver

BCS = {"D": Dirichlet(0.4), "N": Neumann(-0.3), "R": Robin(2.0, 0.5, 0.1), "P": Periodic()}


def tanh_nodes(m, lower=0.0, upper=1.0, beta=2.0):
    """The tanh stretching written out independently of kronpde."""
    s = np.arange(m + 1) / m
    x = lower + (upper - lower) * 0.5 * (1.0 + np.tanh(beta * (2 * s - 1)) / math.tanh(beta))
    x[0], x[-1] = lower, upper
    return x


def random_nodes(m, rng, lower=0.0, upper=1.0):
    h = rng.uniform(0.5, 1.5, m)
    return lower + (upper - lower) * np.concatenate([[0.0], np.cumsum(h) / h.sum()])


# -- the grid ----------------------------------------------------------------------
def test_stretched_nodes_and_dual_cell_weights():
    x = stretched_nodes(8, -1.0, 2.0, "tanh", 2.0)
    np.testing.assert_allclose(x, tanh_nodes(8, -1.0, 2.0), rtol=0, atol=1e-15)
    h = np.diff(x)
    assert h[0] < h[1] < h[2] < h[3]
    assert h[3] == pytest.approx(h[4])
    a = Axis.from_nodes(x, Neumann(), Robin(1.0, 1.0))
    w = a.weights
    np.testing.assert_allclose(w[1:-1], 0.5 * (h[:-1] + h[1:]), rtol=1e-15)
    assert (w[0], w[-1]) == (pytest.approx(h[0] / 2), pytest.approx(h[-1] / 2))
    assert w.sum() == pytest.approx(3.0, rel=1e-14)  # trapezoid rule of 1 over [-1, 2]
    fine = Axis.from_nodes(stretched_nodes(64, -1.0, 2.0), Neumann(), Neumann())
    quadrature = fine.weights @ np.exp(fine.nodes)  # trapezoid rule, second order
    assert quadrature == pytest.approx(math.exp(2.0) - math.exp(-1.0), rel=1e-3)
    per = Axis.from_nodes(x, Periodic(), Periodic())
    assert per.weights[0] == pytest.approx(0.5 * (h[0] + h[-1]))
    assert per.weights.sum() == pytest.approx(3.0)
    np.testing.assert_array_equal(Axis(4, 0.0, 1.0).spacings, [0.25] * 4)


def test_bad_coordinates_are_rejected():
    with pytest.raises(GridError, match="strictly increasing"):
        Axis.from_nodes([0.0, 0.5, 0.4, 1.0])
    with pytest.raises(GridError, match="cells \\+ 1"):
        Axis(3, 0.0, 1.0, coordinates=(0.0, 0.5, 1.0))
    with pytest.raises(GridError, match="start at lower"):
        Axis(2, 0.0, 1.0, coordinates=(0.1, 0.5, 1.0))
    with pytest.raises(GridError, match="upper"):
        Grid.box([2], upper=[2.0], nodes=[[0.0, 0.5, 1.0]])
    with pytest.raises(GridError, match="beta"):
        stretched_nodes(4, stretch="tanh", beta=0.0)
    with pytest.raises(GridError, match="stretch"):
        stretched_nodes(4, stretch="sinh")


# -- 1-D operators -------------------------------------------------------------------
def test_interior_rows_are_the_non_uniform_three_point_formula(rng):
    x = random_nodes(7, rng)
    t = second_difference(Axis.from_nodes(x)).todense()
    h = np.diff(x)
    for r in range(1, 5):  # unknown r is node j = r + 1
        j = r + 1
        scale = 2.0 / (h[j - 1] + h[j])
        assert t[r, r - 1] == pytest.approx(-scale / h[j - 1], rel=1e-13)
        assert t[r, r + 1] == pytest.approx(-scale / h[j], rel=1e-13)
        assert t[r, r] == pytest.approx(scale * (1 / h[j - 1] + 1 / h[j]), rel=1e-13)


@pytest.mark.parametrize("kind", ["DD", "DN", "NR", "RR", "PP", "NN"])
def test_weights_symmetrize_the_stretched_operator(kind, rng):
    axis = Axis.from_nodes(random_nodes(9, rng), BCS[kind[0]], BCS[kind[1]])
    t = second_difference(axis).todense()
    wt = axis.weights[:, None] * t
    np.testing.assert_allclose(wt, wt.T, rtol=0, atol=1e-12 * np.max(np.abs(wt)))


# -- accuracy -----------------------------------------------------------------------
@pytest.mark.parametrize(
    "kinds",
    [
        [("dirichlet", "dirichlet")],
        [("neumann", "robin")],
        [("dirichlet", "neumann"), ("robin", "dirichlet")],
        [("neumann", "neumann"), ("periodic", "periodic")],
    ],
)
def test_second_order_on_tanh_stretched_axes(kinds):
    d = len(kinds)
    errors, hs = [], []
    for m in (16, 32, 64) if d == 2 else (32, 64, 128):
        cells = [m] * d
        upper = [1.0 + 0.5 * i for i in range(d)]
        nodes = [
            None if kinds[i][0] == "periodic" else tanh_nodes(m, 0.0, upper[i], 2.0)
            for i in range(d)
        ]
        p, sol = build_problem(cells, kinds, upper=upper, shift=0.5)
        grid = Grid.box(cells, upper=upper, boundary=_faces(p.grid), nodes=nodes)
        p = Problem(grid, p.source, p.shift)
        u = solve(p).u  # fastdiag, eigh path on the stretched axes
        exact = np.broadcast_to(sol.u(*grid.node_coordinates()), grid.node_shape)
        errors.append(float(np.max(np.abs(u - exact))))
        hs.append(1.0 / m)
    assert 1.8 <= observed_order(hs, errors) <= 2.3


def _faces(grid):
    out = {}
    for i, a in enumerate(grid.axes):
        out["xyz"[i] + "min"] = a.lower_bc
        out["xyz"[i] + "max"] = a.upper_bc
    return out


def test_second_order_with_variable_k_on_stretched_axes():
    kinds = [("dirichlet", "robin"), ("neumann", "dirichlet")]
    errors, hs = [], []
    for m in (16, 32, 64):
        nodes = [tanh_nodes(m, beta=1.5), tanh_nodes(m, beta=2.5)]
        p, sol = variable_problem([m, m], kinds, k_issue, dk_issue, nodes=nodes)
        s = solve(p, rtol=1e-12)
        assert s.report.method == "fastdiag-cg"
        assert s.report.converged
        errors.append(max_error(p, sol, s.u))
        hs.append(1.0 / m)
    assert 1.8 <= observed_order(hs, errors) <= 2.3


# -- fast diagonalization ----------------------------------------------------------------
@pytest.mark.parametrize("kinds", ["DD-NR", "NN-PP", "RD-DN", "PP-RR", "NN-NN"])
@pytest.mark.parametrize("d", [2, 3])
def test_stretched_fastdiag_equals_spsolve(kinds, d, rng):
    pairs = kinds.split("-") + ["DN"]
    cells = [9, 7, 6][:d]
    nodes = [random_nodes(cells[0], rng), tanh_nodes(cells[1], 0.0, 1.3), None][:d]
    boundary = {}
    for i in range(d):
        for side in (0, 1):
            boundary["xyz"[i] + ("min", "max")[side]] = BCS[pairs[i][side]]
    if pairs[1] == "PP":
        nodes[1] = None if d == 2 else random_nodes(cells[1], rng)
    grid = Grid.box(cells, boundary=boundary, nodes=nodes)
    p = Problem(grid, source=lambda *x: np.cos(2 * x[0]) + x[-1], shift=0.0 if d == 3 else 0.3)
    solver = FastDiagSolver.from_problem(p)
    assert solver.axis_methods[0] == "eigh"
    b = p.rhs()
    u = solver.solve(b)
    ref = reference_solve(p)
    np.testing.assert_allclose(u, ref, rtol=0, atol=1e-10 * max(1.0, np.max(np.abs(ref))))
    if not p.singular:
        np.testing.assert_allclose(u, sla.spsolve(p.operator().tocsc(), b), rtol=0, atol=1e-10)


def test_axis_eigenpairs_solve_the_generalized_symmetric_eigenproblem(rng):
    axis = Axis.from_nodes(random_nodes(12, rng), Robin(1.0, 0.5), Neumann())
    op = second_difference(axis)
    solver = FastDiagSolver([op], 0.0)
    K = axis.weights[:, None] * op.todense()  # W T, symmetric
    M = np.diag(axis.weights)
    expected = scipy.linalg.eigh(0.5 * (K + K.T), M, eigvals_only=True)
    np.testing.assert_allclose(solver.axis_eigenvalues(0), expected, rtol=1e-10)
    S = solver.axis_eigenvectors(0)
    np.testing.assert_allclose(S.T @ M @ S, np.eye(13), atol=1e-12)


# -- case files ---------------------------------------------------------------------------
CASE = """
[grid]
cells = [16, 12]
upper = [1.0, 1.5]
nodes.x = {{ stretch = "tanh", beta = 2.0 }}
{extra}
[equation]
source = "1"
{coefficient}
[boundary]
default = {{ type = "dirichlet", value = 0 }}
"""


def _case(tmp_path: Path, extra="", coefficient="") -> Path:
    path = tmp_path / "case.toml"
    path.write_text(CASE.format(extra=extra, coefficient=coefficient))
    return path


def test_case_file_nodes_and_variable_coefficient(tmp_path):
    ys = np.linspace(0.0, 1.5, 13) ** 1.2 / 1.5**0.2
    extra = "nodes.y = [" + ", ".join(repr(float(v)) for v in ys) + "]"
    case = load_case(_case(tmp_path, extra, 'coefficient = "1 + 0.5*sin(2*pi*x)*cos(pi*y)"'))
    np.testing.assert_allclose(case.grid.axes[0].nodes, tanh_nodes(16), atol=1e-15)
    np.testing.assert_allclose(case.grid.axes[1].nodes, ys, rtol=1e-15)
    assert case.problem.variable_coefficient
    assert case.problem.coefficient.text == "1 + 0.5*sin(2*pi*x)*cos(pi*y)"
    x, y = case.grid.node_coordinates()
    expected = 1 + 0.5 * np.sin(2 * np.pi * x) * np.cos(np.pi * y)
    np.testing.assert_allclose(case.problem.coefficient_values(), expected, rtol=1e-15)


def test_case_file_nodes_as_a_table_and_old_files_unchanged(tmp_path):
    text = CASE.format(extra="", coefficient="").replace(
        'nodes.x = { stretch = "tanh", beta = 2.0 }\n', ""
    )
    plain = load_case(_write(tmp_path, "plain.toml", text))
    assert all(a.uniform for a in plain.grid.axes)
    table = text.replace(
        "[equation]", '[grid.nodes]\ny = { stretch = "tanh", beta = 1.0 }\n\n[equation]'
    )
    case = load_case(_write(tmp_path, "table.toml", table))
    assert case.grid.axes[0].uniform
    np.testing.assert_allclose(case.grid.axes[1].nodes, tanh_nodes(12, 0.0, 1.5, 1.0), atol=1e-15)


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("extra", "coefficient", "key", "words"),
    [
        ("", 'coefficient = "x - 0.5"', "[equation] coefficient", "> 0 at every node"),
        # at interior nodes (a formula k is not read at a Dirichlet node: test_product_k.py)
        ("", 'coefficient = "1/(y - 0.75)"', "[equation] coefficient", "not finite"),
        ('nodes.y = { stretch = "tanh", beta = 20 }', "", "[grid] nodes.y.beta", "<= 10"),
        ('nodes.y = { stretch = "cosh" }', "", "[grid] nodes.y.stretch", "tanh"),
        ("nodes.y = { beta = 2 }", "", "[grid] nodes.y.stretch", "missing"),
        ("nodes.y = [0, 1, 1.5]", "", "[grid] nodes.y", "cells + 1 = 13"),
        (
            "nodes.y = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.4]",
            "",
            "[grid] nodes.y",
            "ends at 1.4",
        ),
        ("nodes.z = [0, 1]", "", "[grid] nodes.z", "not an axis"),
        ("nodes.y = 3", "", "[grid] nodes.y", "must be an array of 13"),
    ],
)
def test_case_file_mistakes_name_their_key(tmp_path, extra, coefficient, key, words):
    with pytest.raises(CaseError) as info:
        load_case(_case(tmp_path, extra, coefficient))
    assert info.value.key == key
    assert words in str(info.value)


def test_cli_exit_2_names_the_coefficient(tmp_path, capsys):
    path = _case(tmp_path, "", 'coefficient = "cos(2*pi*x)"')
    assert main(["solve", str(path)]) == 2
    err = capsys.readouterr().err
    assert "[equation] coefficient" in err
    assert "Traceback" not in err


def test_stretching_resolves_a_boundary_layer():
    # -u'' = f with u = exp(-x/0.05): clustering nodes at x = 0 beats uniform nodes
    eps = 0.05

    def u(x):
        return np.exp(-x / eps)

    errs = {}
    for name, nodes in (("uniform", None), ("tanh", tanh_nodes(32))):
        grid = Grid.box(
            [32], boundary={"xmin": Dirichlet(1.0), "xmax": Dirichlet(u(1.0))}, nodes=[nodes]
        )
        p = Problem(grid, lambda x: -u(x) / eps**2)
        errs[name] = float(np.max(np.abs(solve(p).u - u(grid.axes[0].nodes))))
    assert errs["tanh"] < errs["uniform"] / 3  # measured 6.5e-3 against 2.6e-2
