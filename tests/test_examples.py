"""The simulations under ``scripts/examples/``: they run, and they compute what they say.

Anchors: the discrete divergence written out here from the face values (not
the example's own function), a stream function's discrete curl (divergence-free
by telescoping), and the exact pressure of a manufactured field.
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
