"""The damped-wave example (issue 28 item 7): its fields against an independent sparse LU."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as sla

EXAMPLES = Path(__file__).resolve().parents[1] / "scripts" / "examples"


def load(name: str):
    path = EXAMPLES / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"examples_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


wave = load("damped_wave")


def five_point(cells, size, c):
    """The complex matrix -lap_h + c I on the interior nodes, assembled here from scratch."""
    blocks = []
    for m, length in zip(cells, size, strict=True):
        h = length / m
        n = m - 1
        blocks.append(sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(n, n)) / h**2)
    ex, ey = (sp.identity(b.shape[0]) for b in blocks)
    a = sp.kron(blocks[0], ey) + sp.kron(ex, blocks[1])
    return (a + c * sp.identity(a.shape[0])).tocsc()


def test_damped_wave_against_an_independent_lu(tmp_path):
    cells, omega, dampings = (48, 24), 14.0, [0.2, 8.0]
    problem, fields = wave.responses(cells, omega, dampings)
    x = np.linspace(0, wave.SIZE[0], cells[0] + 1)[1:-1, None]
    y = np.linspace(0, wave.SIZE[1], cells[1] + 1)[None, 1:-1]
    f = np.exp(-((x - 0.5) ** 2 + (y - 0.5) ** 2) / 0.003).ravel()
    for damping, u in zip(dampings, fields, strict=True):
        ref = sla.spsolve(five_point(cells, wave.SIZE, wave.shift(omega, damping)), f)
        got = u[1:-1, 1:-1].ravel()
        assert np.max(np.abs(got - ref)) <= 1e-10 * np.max(np.abs(ref)), damping
    # damping takes energy out: the far field falls with gamma
    far = [abs(u[40, 12]) for u in fields]
    assert far[1] < 0.1 * far[0]
    wave.picture(problem, fields, dampings, str(tmp_path / "wave.png"))
    assert (tmp_path / "wave.png").stat().st_size > 1000
