"""The embedded-boundary examples under ``scripts/examples/`` compute what they say.

Anchors: the exact potential of the flow past a cylinder, the discrete divergence
written out here from the face values, the discrete Poisson equation of image
editing written out here with its boundary values, and the isolated sphere's
capacitance (the box's is larger and falls towards it as the box grows).
"""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def load(name: str):
    path = ROOT / "scripts" / "examples" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"examples_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_potential_flow_converges_to_the_exact_potential(tmp_path):
    flow = load("potential_flow")
    rms = []
    for n in (32, 64):
        problem, u = flow.flow(n)
        rms.append(flow.errors(problem, u)[1])
    assert math.log2(rms[0] / rms[1]) > 1.7, rms
    flow.picture(problem, u, str(tmp_path / "flow.png"))
    assert (tmp_path / "flow.png").stat().st_size > 1000


def test_obstacle_projection_leaves_round_off_divergence():
    ex = load("obstacle_projection")
    grid, fluid, problem = ex.setup(40, 20)
    h = grid.spacing
    ou, ov = ex.open_faces(fluid)
    solver = ex.prepare(problem, "fastdiag-cg")
    rng = np.random.default_rng(3)
    u_star = np.where(ou, rng.standard_normal(ou.shape), 0.0)
    v_star = np.where(ov, rng.standard_normal(ov.shape), 0.0)
    u, v, _, _ = ex.project(problem, solver, u_star, v_star, h, ou, ov)
    assert np.all(u[~ou] == 0.0)
    assert np.all(v[~ov] == 0.0)
    div = np.empty(fluid.shape)
    for i in range(fluid.shape[0]):
        for j in range(fluid.shape[1]):
            div[i, j] = (u[i + 1, j] - u[i, j]) / h[0] + (v[i, j + 1] - v[i, j]) / h[1]
    before = np.abs(ex.divergence(u_star, v_star, h)[fluid]).max()
    assert np.abs(div[fluid]).max() <= 1e-10 * before


def test_seamless_cloning_solves_the_discrete_poisson_equation():
    ex = load("seamless_cloning")
    rng = np.random.default_rng(5)
    target = rng.random((30, 26, 3))
    source = rng.random((30, 26, 3))
    i, j = np.meshgrid(np.arange(30), np.arange(26), indexing="ij")
    mask = ((i - 14) / 8.0) ** 2 + ((j - 12) / 7.0) ** 2 < 1.0
    result, _ = ex.clone(target, source, mask, (2, -3), clip=False)
    for c in range(3):
        f = result[:, :, c]
        g = np.roll(source[:, :, c], (-2, 3), axis=(0, 1))
        for a, b in zip(*np.nonzero(mask), strict=True):
            lap_f = 4 * f[a, b] - f[a + 1, b] - f[a - 1, b] - f[a, b + 1] - f[a, b - 1]
            lap_g = 4 * g[a, b] - g[a + 1, b] - g[a - 1, b] - g[a, b + 1] - g[a, b - 1]
            assert abs(lap_f - lap_g) <= 1e-6
        assert np.array_equal(f[~mask], target[:, :, c][~mask])


def test_the_sphere_capacitance_falls_towards_the_isolated_sphere():
    ex = load("sphere_capacitance")
    isolated = 4 * math.pi * ex.R
    small, *_ = ex.capacitance(0.5, 4)
    large, *_ = ex.capacitance(1.0, 4)
    assert isolated < large < small
