"""A shift c(x) on a curvilinear grid: the flux form's diagonal, and fastdiag where it is exact.

HWSCSP's second example (the shift ``λ/(r sin θ)²``) is in ``test_curvilinear.py``'s
FISHPACK table; here: the fast solve equals ``spsolve`` of the assembled matrix where
``c W`` joins the tridiagonal systems or a transformed axis, the refusal where it does
neither, and a shift that is not finite at an unknown.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse.linalg as sla

from kronpde import Problem
from kronpde.app.cli import main
from kronpde.errors import DataError, SolverError
from kronpde.geometry.boundary import Dirichlet, Neumann, OnAxis, Periodic
from kronpde.geometry.curvilinear import CurvilinearGrid
from kronpde.solvers import solve


def _ball() -> CurvilinearGrid:
    faces = {"rmin": Dirichlet(0.0), "rmax": Dirichlet(0.5),
             "thetamin": Dirichlet(0.0), "thetamax": Neumann(0.0)}  # fmt: skip
    return CurvilinearGrid.spherical([12, 10], [0.0, 0.0], [1.0, math.pi / 2], faces)


def _reference(problem: Problem) -> np.ndarray:
    return sla.spsolve(problem.operator().tocsc(), problem.rhs())


@pytest.mark.parametrize(
    "shift",
    [
        "3/(r*sin(theta))**2",  # c W = G_theta(r) s(theta): into T_theta
        "1 + r**2",  # c W along r alone: into the tridiagonal systems
        "-2 + 0.5*r",  # negative somewhere: still exact
    ],
)
def test_fastdiag_equals_spsolve_with_a_shift_expression(shift):
    grid = _ball()
    problem = Problem(grid, source=grid.expression("r*cos(theta)"), shift=shift)
    u = solve(problem, "fastdiag").u[grid.unknown_index].reshape(-1)
    ref = _reference(problem)
    assert np.max(np.abs(u - ref)) <= 1e-10 * np.max(np.abs(ref))


def test_shift_times_volume_is_on_the_diagonal():
    grid = _ball()
    plain = Problem(grid, source=1.0)
    shifted = Problem(grid, source=1.0, shift="r*cos(theta) + 2")
    diff = (shifted.operator() - plain.operator()).toarray()
    r, theta = grid.unknown_coordinates()
    expected = np.broadcast_to(r * np.cos(theta) + 2, grid.shape).reshape(-1)
    scale = np.abs(plain.operator()).max()  # A's entries: the difference is rounded on them
    np.testing.assert_allclose(np.diag(diff), expected, rtol=0.0, atol=1e-13 * scale)
    assert np.abs(diff - np.diag(np.diag(diff))).max() <= 1e-13 * scale


def test_a_shift_of_both_angles_refuses_fastdiag_and_direct_solves_it():
    grid = _ball()
    problem = Problem(grid, source=1.0, shift="1/(r*sin(theta))**2 + r*cos(theta)")
    with pytest.raises(SolverError, match="'direct'"):
        solve(problem, "fastdiag")
    u = solve(problem, "direct").u[grid.unknown_index].reshape(-1)
    np.testing.assert_allclose(u, _reference(problem), rtol=1e-12, atol=1e-14)


def test_a_shift_infinite_at_a_shared_axis_point_names_the_shift():
    faces = {"rmin": OnAxis(), "rmax": Dirichlet(0.0),
             "thetamin": Periodic(), "thetamax": Periodic()}  # fmt: skip
    grid = CurvilinearGrid.polar([8, 16], [0.0, 0.0], [1.0, 2 * math.pi], faces)
    with pytest.raises(DataError, match="shift"):
        Problem(grid, source=1.0, shift="1/r**2")


def test_case_file_with_a_curvilinear_shift_and_fastdiag(tmp_path, capsys):
    case = tmp_path / "c.toml"
    case.write_text(
        '[grid]\ncoordinates = "polar"\ncells = [16, 24]\nupper = [1.0, 6.283185307179586]\n'
        '[equation]\nsource = 0.0\nshift = "1 + r"\n'
        '[boundary]\nrmin = { type = "axis" }\nrmax = { type = "dirichlet", value = 1.0 }\n'
        'thetamin = { type = "periodic" }\nthetamax = { type = "periodic" }\n'
    )
    assert main(["solve", str(case), "--method", "fastdiag", "-o", str(tmp_path / "c.vts")]) == 0
    assert "fastdiag" in capsys.readouterr().out
