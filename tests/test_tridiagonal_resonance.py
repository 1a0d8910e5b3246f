"""A negative shift on a layered or curvilinear (tridiagonal-axis) problem: the resonance check.

At an eigenvalue of the discrete operator ``fastdiag`` refuses (exit 2 from the command
line), a relative 1e-6 from one it solves with a warning giving the condition number,
and far from the spectrum it equals ``spsolve``; the eigenvalues come from a dense
``eig`` of the assembled matrix, independent of the mode systems.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse.linalg as sla

from kronpde import Dirichlet, Grid, Neumann, Periodic, Problem
from kronpde.app.cli import main
from kronpde.errors import SolverError
from kronpde.geometry.boundary import OnAxis
from kronpde.geometry.curvilinear import CurvilinearGrid
from kronpde.solvers import prepare, solve


def _layered() -> Problem:
    faces = {"xmin": Dirichlet(0.0), "xmax": Dirichlet(0.0),
             "ymin": Neumann(0.0), "ymax": Dirichlet(0.0)}  # fmt: skip
    return Problem(Grid.box([14, 11], boundary=faces), source="1 + x", coefficient="1 + y**2")


def _annulus() -> Problem:
    faces = {"rmin": Dirichlet(0.0), "rmax": Dirichlet(0.0),
             "zmin": Dirichlet(0.0), "zmax": Neumann(0.0)}  # fmt: skip
    grid = CurvilinearGrid.cylindrical([10, 9], [0.5, 0.0], [1.5, 1.0], faces)
    return Problem(grid, source=1.0)


def _eigenvalues(problem: Problem) -> np.ndarray:
    return np.sort(scipy.linalg.eigvals(problem.operator().toarray()).real)


def _disc() -> Problem:
    faces = {"rmin": OnAxis(), "rmax": Dirichlet(0.0),
             "thetamin": Periodic(), "thetamax": Periodic()}  # fmt: skip
    grid = CurvilinearGrid.polar([9, 12], [0.0, 0.0], [1.0, 2 * math.pi], faces)
    return Problem(grid, source=1.0)  # the centre: one unknown, the per-mode first row


@pytest.mark.parametrize("make", [_layered, _annulus, _disc], ids=["layered", "annulus", "disc"])
def test_negative_shift_resonance_on_the_tridiagonal_axis(make):
    problem = make()
    assert problem.discretisation.partial_structure() is not None
    lam = _eigenvalues(problem)
    at = problem.with_shift(-float(lam[4]))
    with pytest.raises(SolverError, match="singular to working precision"):
        solve(at, "fastdiag")
    # a relative 1e-7 from the lowest: κ = max|λ + c| / min|λ + c| > 1e9 warns
    near = problem.with_shift(-float(lam[0]) * (1 + 1e-7))
    sol = solve(near, "fastdiag")
    warned = " ".join(sol.report.warnings)
    assert "nearly singular" in warned
    assert "condition number" in warned
    ref = sla.spsolve(near.operator().tocsc(), near.rhs())
    assert np.max(np.abs(sol.x - ref)) <= 1e-5 * np.max(np.abs(ref))
    k = next(j for j in range(4, lam.size - 1) if lam[j + 1] - lam[j] > 1e-3 * lam[j])
    between = problem.with_shift(-0.5 * float(lam[k] + lam[k + 1]))  # not at a double one
    sol = solve(between, "fastdiag")
    assert not any("singular" in w for w in sol.report.warnings)
    ref = sla.spsolve(between.operator().tocsc(), between.rhs())
    assert np.max(np.abs(sol.x - ref)) <= 1e-10 * np.max(np.abs(ref))


def test_prepared_set_shift_keeps_the_previous_shift_at_a_resonance():
    problem = _layered()
    lam = _eigenvalues(problem)
    prepared = prepare(problem.with_shift(-1.0), "fastdiag")
    backend = prepared.solver.backend
    with pytest.raises(SolverError, match="singular"):
        backend.set_shift(-float(lam[2]))
    assert backend.shift == -1.0


def test_a_layered_case_at_an_eigenvalue_exits_2(tmp_path, capsys):
    problem = _layered()
    lam = _eigenvalues(problem)
    case = tmp_path / "c.toml"
    case.write_text(
        f'[grid]\ncells = [14, 11]\n[equation]\nsource = "1 + x"\n'
        f'coefficient = "1 + y**2"\nshift = {-float(lam[0])!r}\n'
        '[boundary]\nxmin = { type = "dirichlet", value = 0.0 }\n'
        'xmax = { type = "dirichlet", value = 0.0 }\n'
        'ymin = { type = "neumann", value = 0.0 }\n'
        'ymax = { type = "dirichlet", value = 0.0 }\n'
    )
    code = main(["solve", str(case), "--method", "fastdiag", "-o", str(tmp_path / "c.vti")])
    assert code == 2
    assert "singular" in capsys.readouterr().err
