"""The simulations under ``scripts/examples/``: they run, and they compute what they say.

Anchors: the discrete divergence written out here from the face values (not
the example's own function), a stream function's discrete curl (divergence-free
by telescoping), and the exact pressure of a manufactured field; for the heat
equation the closed-form decay of a Fourier mode (discrete and continuous),
for variable diffusion the same march solved by ``spsolve``.
"""

from __future__ import annotations

import importlib.util
import io
import math
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def load(name: str):
    """Import ``scripts/examples/<name>.py`` (registered in sys.modules, as dataclasses need)."""
    path = ROOT / "scripts" / "examples" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"examples_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


mac = load("mac_projection")


def divergence(u, v, hx, hy, periodic_x):
    """Net outflow per area of every cell, summed face by face."""
    nx, ny = v.shape[0], u.shape[1]
    out = np.empty((nx, ny))
    for i in range(nx):
        for j in range(ny):
            east = u[(i + 1) % nx, j] if periodic_x else u[i + 1, j]
            out[i, j] = (east - u[i, j]) / hx + (v[i, j + 1] - v[i, j]) / hy
    return out


@pytest.mark.parametrize("periodic_x", [False, True])
def test_projection_leaves_round_off_divergence(periodic_x, rng):
    grid = mac.MacGrid((24, 18), (2.0, 1.5), periodic_x)
    hx, hy = grid.h
    projection = mac.Projection(grid)
    for _ in range(3):  # prepared once, used every step
        us = rng.standard_normal(grid.u_shape)
        vs = rng.standard_normal(grid.v_shape)
        if not periodic_x:
            us[0] = us[-1] = 0.0  # no flow through the walls
        vs[:, 0] = vs[:, -1] = 0.0
        before = divergence(us, vs, hx, hy, periodic_x)
        u, v, phi = projection.project(us, vs)
        after = divergence(u, v, hx, hy, periodic_x)
        assert np.max(np.abs(after)) <= 1e-12 * np.max(np.abs(before))
        assert np.max(np.abs(after)) * min(hx, hy) <= 1e-12 * np.abs(us).max()
        if not periodic_x:
            np.testing.assert_array_equal(u[[0, -1]], 0.0)  # walls stay impermeable
        np.testing.assert_array_equal(v[:, [0, -1]], 0.0)
        assert abs(phi.sum()) <= 1e-12 * np.abs(phi).sum()  # zero mean over the cells
        # the removed part is a gradient: projecting again changes nothing
        u2, v2, _ = projection.project(u, v)
        np.testing.assert_allclose(u2, u, rtol=0, atol=1e-12 * np.abs(u).max())
        np.testing.assert_allclose(v2, v, rtol=0, atol=1e-12 * np.abs(v).max())


@pytest.mark.parametrize("periodic_x", [False, True])
def test_a_divergence_free_field_is_left_unchanged(periodic_x):
    grid = mac.MacGrid((32, 20), (2.0, 1.0), periodic_x)
    nx, ny = grid.cells
    x = grid.faces(0)[: nx if periodic_x else nx + 1]
    y = grid.faces(1)
    psi = np.sin(math.pi * x[:, None] / 2.0) ** 2 * np.sin(math.pi * y[None, :]) ** 2
    psi *= 1.0 + 0.5 * np.cos(math.pi * x[:, None])  # periodic in x with period 2
    u, v = grid.curl(psi)
    assert np.abs(u).max() > 0.5
    hx, hy = grid.h
    assert np.max(np.abs(divergence(u, v, hx, hy, periodic_x))) <= 1e-12 * np.abs(u).max() / hx
    pu, pv, phi = mac.Projection(grid).project(u, v)
    np.testing.assert_allclose(pu, u, rtol=0, atol=1e-12 * np.abs(u).max())
    np.testing.assert_allclose(pv, v, rtol=0, atol=1e-12 * np.abs(v).max())
    assert np.abs(phi).max() <= 1e-12 * np.abs(u).max() * max(grid.size)


def test_the_pressure_of_a_gradient_field_is_its_potential():
    """``u* = grad(q)`` with zero normal flux on the walls: the projection removes all of it."""
    grid = mac.MacGrid((40, 30), (1.0, 1.0))
    xc, yc = grid.centres(0)[:, None], grid.centres(1)[None, :]
    q = np.cos(math.pi * xc) * np.cos(2 * math.pi * yc)  # zero normal derivative on the walls
    q = q - q.mean()
    us, vs = grid.gradient(q)
    u, v, phi = mac.Projection(grid).project(us, vs)
    np.testing.assert_allclose(phi, q, rtol=0, atol=1e-12)  # the discrete potential exactly
    assert np.abs(u).max() <= 1e-12
    assert np.abs(v).max() <= 1e-12


def test_the_example_runs_and_reports_round_off(capsys):
    out = io.StringIO()
    worst = mac.run(mac.MacGrid((32, 24), (2.0, 1.5)), steps=4, dt=0.05, out=out)
    assert worst <= 1e-12
    rows = [line for line in out.getvalue().splitlines() if line.startswith("| ") and "e-" in line]
    assert len(rows) == 4
    for row in rows:
        before, after = (float(c) for c in row.split("|")[2:4])
        assert before > 1e-3  # the force is not divergence-free
        assert after <= 1e-12
    assert mac.main(["--cells", "16", "12", "--steps", "2", "--periodic-x"]) == 0
    assert "worst relative divergence" in capsys.readouterr().out


# -- heat3d: backward Euler on the lowest Fourier mode ---------------------------------------
heat = load("heat3d")


def test_heat3d_decays_by_the_discrete_factor_and_the_continuous_rate(tmp_path):
    from kronpde.io.result import read_result, read_series

    cells, steps, dt = 12, 60, 1e-3
    run = heat.run(cells, steps, dt, start=6, every=20, output=tmp_path / "run.pvd", out=None)
    lam_h = 3 * (4 * cells**2) * math.sin(math.pi / (2 * cells)) ** 2  # closed form, h = 1/cells
    taken = [dt / 4] * 6 + [dt] * (steps - 6)
    factors = np.cumprod([1.0 / (1.0 + s * lam_h) for s in taken])
    # the mode is an eigenvector of -Δ_h: the computed amplitudes are these to rounding
    np.testing.assert_allclose(run.amplitudes, factors, rtol=1e-12, atol=0)
    # against exp(-3π² t): the leading spatial (λ t (πh)²/12) and temporal (λ² Σ dt²/2)
    # terms of backward Euler's error; the next terms are O(h²) and O(λ dt) smaller (here
    # under 3 %), so the log-error must equal their sum within 10 %
    lam, h, t = 3 * math.pi**2, 1.0 / cells, sum(taken)
    assert run.times[-1] == pytest.approx(t, rel=1e-14)
    estimate = lam * t * (math.pi * h) ** 2 / 12 + lam**2 * sum(s * s for s in taken) / 2
    log_error = math.log(run.amplitudes[-1]) + lam * t
    assert abs(log_error - estimate) <= 0.1 * estimate
    # the time series: the initial field and every 20 steps, each the mode times its factor
    series = read_series(tmp_path / "run.pvd")
    assert [round(time, 12) for time, _ in series] == [
        0.0,
        *(round(x, 12) for x in np.cumsum(taken)[[19, 39, 59]]),
    ]
    last = read_result(series[-1][1])
    x = last.nodes
    field = np.sin(np.pi * x[0])[:, None, None] * np.sin(np.pi * x[1])[None, :, None]
    field = field * np.sin(np.pi * x[2])[None, None, :]
    np.testing.assert_allclose(last.fields["u"], factors[-1] * field, rtol=0, atol=1e-13)


# -- variable_diffusion: fastdiag-cg against spsolve ------------------------------------------
diffusion = load("variable_diffusion")


@pytest.mark.parametrize("cells", [(20, 16), (10, 9, 8)], ids=["2d", "3d"])
def test_variable_diffusion_marches_like_direct_solves(cells):
    import scipy.sparse as sp
    import scipy.sparse.linalg as sla

    from kronpde import Problem

    steps, dt, start, rtol = 8, 4e-3, 3, 1e-10
    run = diffusion.run(cells, steps, dt, start=start, contrast=10.0, rtol=rtol, out=None)
    assert run.steps == [dt / 4] * start + [dt] * (steps - start)
    assert run.problem.shift == pytest.approx(1.0 / dt)
    # the same march with the assembled matrix of every step size, solved directly
    grid = run.problem.grid
    k = diffusion.coefficient(10.0)
    u = diffusion.blob(grid).reshape(-1)
    biggest = np.linalg.norm(u)
    matrices = {}
    for s in run.steps:
        if s not in matrices:
            matrices[s] = sp.csc_array(Problem(grid, shift=1.0 / s, coefficient=k).operator())
        u = sla.spsolve(matrices[s], u / s)
        biggest = max(biggest, np.linalg.norm(u))
    # each step's algebraic error is at most rtol ||u_n|| and none is amplified (docstring)
    assert np.linalg.norm(run.u.reshape(-1) - u) <= steps * rtol * biggest
    assert np.linalg.norm(u) < 0.9 * np.linalg.norm(diffusion.blob(grid))  # it did diffuse
    assert max(run.iterations) <= 40  # condition number at most the contrast


@pytest.mark.parametrize(
    ("name", "argv", "words"),
    [
        ("heat3d", ["--cells", "4", "--steps", "1", "--output", "{missing}/run.pvd"], "folder"),
        ("heat3d", ["--cells", "0"], "cells"),
        ("variable_diffusion", ["--cells", "0"], "cells"),
        ("mac_projection", ["--cells", "0", "4"], "cells"),
    ],
)
def test_the_examples_answer_bad_arguments_with_a_message_and_exit_2(
    name, argv, words, tmp_path, capsys
):
    module = load(name)
    argv = [a.replace("{missing}", str(tmp_path / "missing")) for a in argv]
    assert module.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{name}: error: ")
    assert words in err
    assert "Traceback" not in err
    assert not (tmp_path / "missing").exists()


cavity = load("helmholtz_cavity")


def test_cavity_sweep_peaks_sit_on_the_discrete_eigenfrequencies(tmp_path):
    """The five highest peaks lie within one sample of an eigenfrequency; a solve is spsolve's."""
    import scipy.sparse.linalg as sla

    from kronpde import Grid, Neumann, Problem

    kappas = np.linspace(0.3, 9.0, 160)
    result = cavity.sweep((32, 24), kappas=kappas)
    assert result.reused == kappas.size  # set_shift kept the set-up every time
    step = kappas[1] - kappas[0]
    peaks = sorted(cavity.peak_indices(result.response), key=lambda n: -result.response[n])[:5]
    frequencies = np.sqrt(result.eigenvalues)
    for n in peaks:
        assert np.min(np.abs(frequencies - kappas[n])) <= step, kappas[n]
    # one frequency against scipy's sparse LU of the same (indefinite) matrix
    grid = Grid.box([32, 24], upper=[1.0, 0.75], boundary=Neumann())
    p = Problem(grid, cavity.SOURCE, shift=-(kappas[40] ** 2))
    u = sla.spsolve(p.operator().tocsc(), p.rhs())
    got = p.to_nodes(u)[round(0.8 * 32), round(0.6 / 0.75 * 24)]
    assert abs(abs(got) - result.response[40]) <= 1e-10 * abs(got)
    cavity.picture(result, str(tmp_path / "sweep.png"))
    assert (tmp_path / "sweep.png").stat().st_size > 1000


# -- mpi_distributed_fastdiag: shown from a recorded run by the docs, run here under mpirun -------
@pytest.mark.petsc
def test_the_mpi_example_gives_the_serial_error_on_two_ranks(tmp_path):
    """Its reduced max error equals serial fastdiag's on the same grid (to rounding)."""
    import re

    from test_petsc import mpirun

    from kronpde import Grid, Problem, solve

    script = ROOT / "scripts" / "examples" / "mpi_distributed_fastdiag.py"
    proc = mpirun(2, sys.executable, script, 16, "--plot", tmp_path / "u.png", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "2 ranks, slab decomposition" in proc.stdout
    reported = float(re.search(r"max \|u - u_exact\| = (\S+)", proc.stdout)[1])
    grid = Grid.box([16, 16, 16])
    u = solve(Problem(grid, source="3*pi**2*sin(pi*x)*sin(pi*y)*sin(pi*z)"), "fastdiag").u
    x, y, z = grid.point_coordinates()
    serial = float(np.abs(u - np.sin(np.pi * x) * np.sin(np.pi * y) * np.sin(np.pi * z)).max())
    assert reported == pytest.approx(serial, rel=1e-3)  # 4 digits printed
    assert (tmp_path / "u.png").stat().st_size > 0
