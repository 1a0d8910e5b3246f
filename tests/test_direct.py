"""Tests of kronpde.solvers.direct: the factorisation, singular problems, the memory guard."""

from __future__ import annotations

import doctest
import re

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

import kronpde.solvers.direct as direct_module
from kronpde import Dirichlet, Grid, Neumann, Periodic, Problem, Robin
from kronpde.errors import OptionError, SolverError
from kronpde.solvers import prepare
from kronpde.solvers.direct import (
    DEFAULT_MAX_MEMORY,
    DirectSolver,
    estimate_factor_bytes,
    estimate_fill,
)


@pytest.fixture(autouse=True)
def _raise_on_float_errors():
    with np.errstate(all="raise"):
        yield


@pytest.fixture(autouse=True)
def _machine_without_memory_report(monkeypatch):
    """No test depends on this machine's memory: by default it reports none (2 GiB limit)."""
    monkeypatch.setattr(direct_module, "available_memory", lambda: None)


def mixed(cells):
    faces = {"xmin": Robin(2.0, 1.0, 0.5), "xmax": Neumann(-0.3), "ymin": Dirichlet(1.0)}
    return Problem(Grid.box(cells, boundary=faces), source=lambda *x: np.cos(x[0]) * x[1])


def test_solves_like_spsolve_and_reuses_the_factors():
    problem = mixed([30, 20, 6])
    solver = DirectSolver.from_problem(problem)
    A = sp.csc_array(problem.operator())
    rng = np.random.default_rng(21)
    for _ in range(3):
        b = rng.standard_normal(problem.size)
        u = solver.solve(b)
        ref = spla.spsolve(A, b)
        assert np.max(np.abs(u - ref)) <= 1e-10 * np.max(np.abs(ref))
    out = np.empty(problem.size)
    assert solver.solve(b, out=out) is out
    assert solver.pinned is None
    assert solver.last_projected_norm == 0.0


@pytest.mark.parametrize(
    "faces",
    [
        Neumann(0.1),
        Periodic(),
        {"xmin": Periodic(), "xmax": Periodic(), "ymin": Neumann(), "ymax": Neumann(1.0)},
    ],
    ids=["neumann", "periodic", "periodic-neumann"],
)
def test_singular_problems_pin_one_unknown_and_return_zero_mean(faces):
    problem = Problem(Grid.box([24, 16], boundary=faces), source=lambda x, y: x + np.sin(y))
    assert problem.singular
    solver = DirectSolver.from_problem(problem)
    assert solver.pinned is not None
    b = problem.rhs()
    u = solver.solve(b)
    # independent anchor: least squares on the dense matrix gives the minimum-norm
    # solution; shift it to zero weighted mean with the weights from the grid
    A = problem.operator().toarray()
    w = problem.grid.weights().reshape(-1)
    b_proj = b - (w @ b) / w.sum()
    ref = np.linalg.lstsq(A, b_proj, rcond=None)[0]
    ref -= (w @ ref) / w.sum()
    assert np.max(np.abs(u - ref)) <= 1e-9 * np.max(np.abs(ref))
    assert abs(w @ u) <= 1e-12 * w.sum() * np.max(np.abs(u))
    assert solver.last_projected_norm == pytest.approx(
        abs(w @ b / w.sum()) * np.sqrt(b.size) / np.linalg.norm(b), rel=1e-12
    )


def test_refuses_an_oversized_3d_grid_without_assembling_or_factoring(monkeypatch):
    """The refusal comes from the estimate alone: nothing is assembled, nothing factored."""
    problem = Problem(Grid.box([96, 96, 96]), source=1.0)
    calls = []

    def forbidden(*args, **kwargs):
        calls.append(args)
        msg = "the operator must not be assembled or factored"
        raise AssertionError(msg)

    monkeypatch.setattr(Problem, "operator", forbidden)
    monkeypatch.setattr(direct_module, "splu", forbidden)
    with pytest.raises(SolverError) as info:
        prepare(problem, "direct")
    assert calls == []
    message = str(info.value)
    estimate_gib = estimate_factor_bytes(problem.grid.shape) / 1024**3
    assert f"{estimate_gib:.1f} GiB" in message
    assert "max_memory = 2.0 GiB" in message
    assert "fastdiag" in message
    assert estimate_gib > 20  # 95³ unknowns: tens of GiB


def test_max_memory_option():
    problem = mixed([16, 12])
    with pytest.raises(SolverError, match=r"would need about .* more than max_memory = 1000 B"):
        prepare(problem, "direct", options={"max_memory": 1000})
    big = Problem(Grid.box([64, 64, 64]))
    assert estimate_factor_bytes(big.grid.shape) > DEFAULT_MAX_MEMORY
    with pytest.raises(SolverError, match="max_memory"):
        DirectSolver.from_problem(big)
    # None disables the check (small grid, so it is cheap)
    solver = DirectSolver.from_problem(problem, max_memory=None)
    assert solver.fill > 0
    with pytest.raises(OptionError, match="max_memory must be"):
        DirectSolver.from_problem(problem, max_memory=-5)


@pytest.mark.parametrize(
    "cells",
    [[4000], [128, 128], [255, 40], [16, 16, 16], [24, 24, 24], [40, 24, 8]],
    ids=lambda c: "x".join(map(str, c)),
)
@pytest.mark.parametrize("order", [2, 4])
def test_fill_estimate_is_an_upper_bound_within_a_factor_three(cells, order):
    """SuperLU's own L.nnz + U.nnz against the model, second and fourth order (9/19 points)."""
    problem = Problem(Grid.box(cells), order=order)
    solver = DirectSolver.from_problem(problem)
    estimate = estimate_fill(problem.grid.shape, problem.discretisation.stencil)
    assert solver.fill <= estimate <= 3.0 * solver.fill
    assert solver.estimated_bytes == estimate_factor_bytes(
        problem.grid.shape, problem.discretisation.stencil
    )


def test_symmetric_ordering_fills_less_than_colamd():
    problem = Problem(Grid.box([20, 20, 20]))
    auto = DirectSolver.from_problem(problem)
    colamd = DirectSolver.from_problem(problem, permc_spec="COLAMD")
    assert auto.fill < 0.7 * colamd.fill
    b = np.random.default_rng(2).standard_normal(problem.size)
    np.testing.assert_allclose(auto.solve(b), colamd.solve(b), rtol=1e-9, atol=1e-12)


def test_bad_ordering_is_an_option_error():
    with pytest.raises(OptionError, match="permc_spec='METIS'"):
        DirectSolver.from_problem(mixed([8, 8]), permc_spec="METIS")


def test_docstring_examples():
    result = doctest.testmod(direct_module)
    assert result.attempted >= 4
    assert result.failed == 0


# --------------------------------------------------------------------------- the default limit

GIB = 1024**3


def test_default_limit_is_half_the_available_memory(monkeypatch):
    """max_memory="auto": half of what the machine reports (here made to report 8 GiB)."""
    monkeypatch.setattr(direct_module, "available_memory", lambda: 8 * GIB)
    fits = Problem(Grid.box([56, 56, 56]))  # about 2.8 GiB: above the old fixed 2 GiB
    too_big = Problem(Grid.box([64, 64, 64]))  # about 5.3 GiB (the 64³)
    assert 2 * GIB < estimate_factor_bytes(fits.grid.shape) < 4 * GIB
    assert estimate_factor_bytes(too_big.grid.shape) > 4 * GIB
    assert direct_module.Direct.refusal(fits) is None
    reason = direct_module.Direct.refusal(too_big)
    assert "max_memory = 4.0 GiB (half of the 8.0 GiB this machine reports available now)" in (
        reason
    )
    with pytest.raises(SolverError, match="half of the 8.0 GiB"):
        prepare(too_big, "direct")
    # an explicit max_memory wins either way
    assert direct_module.Direct.refusal(too_big, {"max_memory": 6 * GIB}) is None
    assert direct_module.Direct.refusal(too_big, {"max_memory": None}) is None
    small = mixed([8, 8])
    assert "the max_memory option" in direct_module.Direct.refusal(small, {"max_memory": 1000})
    limit, how = direct_module.memory_limit("auto")
    assert limit == 4 * GIB
    assert "8.0 GiB" in how


def test_the_effective_limit_is_reported_in_bytes(monkeypatch):
    monkeypatch.setattr(direct_module, "available_memory", lambda: 3 * GIB)
    problem = mixed([8, 6])
    assert prepare(problem, "direct").options["max_memory"] == 1.5 * GIB
    assert prepare(problem, "direct", options={"max_memory": 1e9}).options["max_memory"] == 1e9


def test_available_memory_reads_meminfo_then_sysconf(monkeypatch):
    import builtins
    import io

    real_open = builtins.open

    def fake_meminfo(path, *args, **kwargs):
        if str(path) == "/proc/meminfo":
            return io.StringIO("MemTotal:  1000 kB\nMemFree:  10 kB\nMemAvailable:  2048 kB\n")
        return real_open(path, *args, **kwargs)

    monkeypatch.undo()  # the real function, not the module's fixture stand-in
    monkeypatch.setattr(builtins, "open", fake_meminfo)
    assert direct_module.available_memory() == 2048 * 1024

    def no_meminfo(path, *args, **kwargs):
        if str(path) == "/proc/meminfo":
            raise FileNotFoundError(path)
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", no_meminfo)
    sizes = {"SC_AVPHYS_PAGES": 1000, "SC_PAGE_SIZE": 4096}
    monkeypatch.setattr(direct_module.os, "sysconf", lambda name: sizes[name], raising=False)
    assert direct_module.available_memory() == 4096 * 1000

    def unsupported(name):
        raise ValueError(name)

    monkeypatch.setattr(direct_module.os, "sysconf", unsupported, raising=False)
    assert direct_module.available_memory() is None
    limit, how = direct_module.memory_limit("auto")
    assert limit == DEFAULT_MAX_MEMORY
    assert "does not report" in how


def test_check_says_the_verdict_depends_on_the_machine(tmp_path, capsys, monkeypatch):
    from kronpde.app import cli

    monkeypatch.setattr(direct_module, "available_memory", lambda: 8 * GIB)
    case = tmp_path / "case.toml"
    case.write_text(
        "[grid]\ncells = [16, 16]\n[equation]\nsource = 1\n[boundary]\n"
        'default = { type = "dirichlet", value = 0 }\n[solver]\nmethod = "direct"\n'
    )
    assert cli.main(["check", str(case)]) == 0
    out = capsys.readouterr().out
    assert re.search(
        r"^direct     the factors need about .*; the limit is 4.0 GiB \(half of the 8.0 GiB "
        r"this machine reports available now\), so the verdict depends on this machine",
        out,
        flags=re.M,
    )
    big = tmp_path / "big.toml"
    big.write_text(case.read_text().replace("[16, 16]", "[64, 64, 64]"))
    assert cli.main(["check", str(big)]) == 2
    err = capsys.readouterr().err
    assert "half of the 8.0 GiB this machine reports available now" in err
