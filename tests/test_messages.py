"""Issue 24: every answer at the cost of its arithmetic, and no wrong word about it.

The accuracy warning's advice fits the solve (an exact method, rtol='auto', a
solve stopped by maxiter), incompatible singular data warn, a memory estimate
before any large allocation, an rtol below the rounding floor, new boundary
values of a prepared solver, and the estimate made (and timed) only when asked.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from kronpde import Dirichlet, Grid, Neumann, Periodic, Problem, prepare, solve
from kronpde.app import cli
from kronpde.solvers.plan import accuracy_notes, rounding_floor
from kronpde.solvers.report import PROJECTED_WARNING


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def last_json(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


def write(tmp_path: Path, text: str, name: str = "case.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def linear_problem() -> Problem:
    """Laplace with u = x on the faces: the discrete solution is exact (estimate ~ 0)."""
    return Problem(Grid.box([16, 16, 16], boundary=Dirichlet("x")), source=0.0)


# -- the accuracy warning's advice ---------------------------------------------------------
@pytest.mark.parametrize("rtol", ["auto", 1e-8])
def test_an_exact_method_with_an_exact_discrete_solution_is_not_told_to_lower_rtol(rtol):
    sol = solve(linear_problem(), "fastdiag", rtol=rtol, estimate=True)
    assert sol.report.discretisation_error < 1e-12
    # the bound is at the rounding floor: compared with it, nothing to warn about
    assert sol.report.warnings == ()


def test_cg_stopped_by_maxiter_is_told_to_raise_maxiter_not_to_lower_rtol():
    p = Problem(Grid.box([24, 24]), source="exp(3*x)*y + 1")
    sol = solve(p, "cg", rtol=1e-8, maxiter=5, estimate=True)
    assert not sol.report.converged
    (warning,) = sol.report.warnings
    assert "raise maxiter" in warning
    assert "lower rtol" not in warning


class _Estimate:
    kind = "richardson"
    description = "a test"


@pytest.mark.parametrize(
    ("auto", "exact", "converged", "advice", "never"),
    [
        (True, False, True, "rounding limit", "use rtol='auto'"),
        (False, True, True, "no rtol changes it", "lower rtol"),
        (False, False, False, "raise maxiter", "lower rtol"),
        (False, False, True, "lower rtol, or use rtol='auto'", "maxiter"),
    ],
)
def test_the_advice_never_says_what_is_already_so(auto, exact, converged, advice, never):
    _, warnings = accuracy_notes(
        1e-3,
        True,
        1e-5,
        _Estimate(),
        None,
        False,
        rounding=1e-12,
        auto=auto,
        exact=exact,
        converged=converged,
    )
    (warning,) = warnings
    assert advice in warning
    assert never not in warning


def test_a_bound_at_the_rounding_floor_gets_no_warning():
    _, warnings = accuracy_notes(
        4.4e-13, True, 4.9e-17, _Estimate(), None, False, rounding=4.0e-13, exact=True
    )
    assert warnings == []


# -- incompatible data of a singular problem -------------------------------------------------
def test_entirely_incompatible_neumann_data_warn_loudly():
    p = Problem(Grid.box([16, 16], boundary=Neumann()), source=1.0)
    sol = solve(p, "fastdiag")
    assert sol.report.projected_norm == pytest.approx(1.0)
    (warning,) = sol.report.warnings
    assert warning.startswith("INCOMPATIBLE DATA")
    assert "2-norm" in warning


def test_slightly_incompatible_data_warn_and_compatible_ones_do_not():
    grid = Grid.box([16, 16], boundary=Neumann())
    source = "cos(pi*x)*cos(pi*y) + 1e-4"
    sol = solve(Problem(grid, source=source), "fastdiag")
    assert PROJECTED_WARNING < sol.report.projected_norm < 0.5
    (warning,) = sol.report.warnings
    assert "not compatible" in warning
    assert "relative 2-norm" in warning
    clean = solve(Problem(grid, source="cos(pi*x)*cos(pi*y)"), "fastdiag")
    assert clean.report.projected_norm <= PROJECTED_WARNING
    assert clean.report.warnings == ()


INCOMPATIBLE = """
[grid]
cells = [16, 16]
[equation]
source = 1.0
[boundary]
default = { type = "neumann", value = 0.0 }
[solver]
method = "fastdiag"
"""


def test_incompatible_data_warn_in_the_summary_the_json_and_on_stderr(tmp_path, capsys):
    case = write(tmp_path, INCOMPATIBLE)
    code, out, err = run(capsys, "solve", case, "--json", "-o", tmp_path / "u.vti")
    assert code == 0  # the contract: the data are projected and reported
    assert "INCOMPATIBLE DATA" in err
    assert re.search(r"^warning    INCOMPATIBLE DATA", out, flags=re.M)
    assert any(w.startswith("INCOMPATIBLE DATA") for w in last_json(out)["warnings"])


# -- memory ------------------------------------------------------------------------------------
BIG = """
[grid]
cells = [1000, 1000, 1000]
[equation]
source = "sin(pi*x)"
[boundary]
default = { type = "dirichlet", value = 0.0 }
[solver]
method = "METHOD"
[output]
file = "big.vti"
"""


@pytest.mark.parametrize("command", ["check", "solve"])
@pytest.mark.parametrize("method", ["fastdiag", "cg", "fastdiag-cg", "amg-cg", "auto"])
def test_a_case_that_cannot_fit_exits_2_at_once_with_the_estimate(
    tmp_path, capsys, monkeypatch, command, method
):
    import kronpde.solvers.memory as memory

    monkeypatch.setattr(memory, "available_memory", lambda: 8 * 1024**3)
    case = write(tmp_path, BIG.replace("METHOD", method))
    code, out, err = run(capsys, command, case)
    assert code == 2
    assert "GiB" in err
    assert "8.0 GiB is available" in err
    assert "MemAvailable" in err
    assert not (tmp_path / "big.vti").exists()


def test_check_prints_the_memory_estimate(tmp_path, capsys):
    case = write(tmp_path, BIG.replace("METHOD", "cg").replace("1000, 1000, 1000", "8, 8"))
    code, out, err = run(capsys, "check", case)
    assert code == 0, err
    assert re.search(r"^memory     cg needs about [0-9.]+ KiB", out, flags=re.M)


# -- rtol below the rounding floor -----------------------------------------------------------
def test_an_rtol_below_the_rounding_floor_is_raised_to_it_and_says_why():
    p = Problem(Grid.box([16, 16]), source="exp(3*x)*y + 1")
    sol = solve(p, "cg", rtol=1e-20)
    floor = rounding_floor(p)
    assert any("below the rounding floor" in w and "raised" in w for w in sol.report.warnings)
    assert sol.report.converged  # at the floor, not at maxiter
    assert sol.report.iterations < p.size
    assert f"{floor:.3g}" in sol.report.warnings[0]


# -- new boundary data on a prepared solver --------------------------------------------------
def test_a_prepared_solver_returns_the_new_boundary_values():
    grid = Grid.box([12, 10])
    old = Problem(grid, source=1.0)
    new = Problem(Grid.box([12, 10], boundary=Dirichlet("1 + x*y")), source=1.0)
    s = prepare(old, "fastdiag")
    sol = s.solve(new.rhs(), dirichlet=new)
    np.testing.assert_allclose(sol.u, solve(new, "fastdiag").u, atol=1e-12)
    values = new.grid.dirichlet_nodes()[0]
    again = s.solve(new.rhs(), dirichlet=values)
    np.testing.assert_array_equal(again.u, sol.u)


# -- the estimate: only when asked, timed apart --------------------------------------------
DIRICHLET = """
[grid]
cells = [32, 32, 32]
[equation]
source = "3*pi**2*sin(pi*x)*sin(pi*y)*sin(pi*z)"
[boundary]
default = { type = "dirichlet", value = 0.0 }
[solver]
method = "fastdiag"
rtol = RTOL
"""


def test_the_estimate_is_made_only_when_asked_and_timed_apart(tmp_path, capsys):
    numeric = write(tmp_path, DIRICHLET.replace("RTOL", "1e-8"))
    code, out, err = run(capsys, "solve", numeric, "--json", "-q")
    assert code == 0, err
    record = last_json(out)
    assert record["discretisation_estimate"] is None
    assert record["estimate_seconds"] == 0.0
    code, out, _ = run(capsys, "solve", numeric, "--json", "-q", "--estimate")
    record = last_json(out)
    assert record["discretisation_estimate"] == "richardson"
    assert record["estimate_seconds"] > 0.0
    auto = write(tmp_path, DIRICHLET.replace("RTOL", '"auto"'), "auto.toml")
    code, out, _ = run(capsys, "solve", auto, "--json", "-q")
    record = last_json(out)
    assert record["discretisation_estimate"] == "richardson"
    assert record["estimate_seconds"] > 0.0
    exact = write(
        tmp_path,
        DIRICHLET.replace("RTOL", "1e-8") + '[exact]\nu = "sin(pi*x)*sin(pi*y)*sin(pi*z)"\n',
        "exact.toml",
    )
    code, out, _ = run(capsys, "solve", exact, "--json", "-q")
    assert last_json(out)["discretisation_estimate"] == "exact"


def test_the_variable_rows_are_built_once_per_grid(monkeypatch):
    import kronpde.operators.flux as flux

    built = []
    original = flux.VariableDiffusion.__init__

    def counting(self, grid, *args, **kwargs):
        built.append(grid.cells)
        original(self, grid, *args, **kwargs)

    monkeypatch.setattr(flux.VariableDiffusion, "__init__", counting)
    p = Problem(Grid.box([32, 32, 32]), source=1.0, coefficient="1 + 0.5*x*y*z")
    sol = solve(p, "fastdiag-cg", rtol="auto")
    assert sol.report.converged
    # the operator, the preconditioner's contrast and the right-hand side share one set of
    # rows; the Richardson estimate adds one per coarse grid
    assert sorted(built) == sorted(set(built))
    assert len(built) <= 3


# -- the certificate in one pass -------------------------------------------------------------
@pytest.mark.parametrize(
    "faces",
    [
        {},
        {"xmin": Neumann(), "ymax": Neumann(0.5)},
        {"ymin": Periodic(), "ymax": Periodic()},
    ],
    ids=["dirichlet", "neumann", "periodic"],
)
def test_the_fused_residual_gives_the_certificate_of_two_applies(faces):
    from kronpde.operators.kernels import ConstantStencil, compile_kernels

    compile_kernels(["constant_residual", "constant_apply"])
    p = Problem(Grid.box([364, 363], boundary=faces), source="exp(x)*y + 1", shift=1.0)
    assert p.size >= 1 << 17
    rng = np.random.default_rng(1)
    u = rng.standard_normal(p.size)
    b = p.rhs()
    one_pass = p.error_bound(u, b)
    stencil = ConstantStencil(p.axis_operators, p.shift, compiled=True)
    r = np.empty(p.size)
    sums = stencil.residual_sums(u, b, r, [a.weights for a in p.grid.axes])
    assembled = p.operator()
    np.testing.assert_allclose(r, b - assembled @ u, rtol=1e-12, atol=1e-9)
    w = p.unknown_weights
    absolute = abs(assembled) @ np.abs(u)
    expected = [r @ r, w @ (r * r), w @ (absolute * absolute), w @ (b * b)]
    np.testing.assert_allclose(sums, expected, rtol=1e-12)
    p.certifier.apply.residual_sums = lambda *_args: None  # the two applies of before
    two = p.error_bound(u, b)
    assert one_pass.bound == pytest.approx(two.bound, rel=1e-12)
    assert one_pass.rounding == pytest.approx(two.rounding, rel=1e-9)
