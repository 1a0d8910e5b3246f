"""The tridiagonal kernels join the loading and compile-notice machinery of the other kernels.

They are compiled for the argument types they are called with; the notice is told (one
sentence, as for the CG kernels) before one compiles, and numba's cache is probed for exactly
the key a call would use, so a second run stays silent.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import kronpde.operators.kernels as K
from kronpde.operators.kernels import _dispatch
from kronpde.operators.kernels.tridiagonal import ModeSystems, solve_modes

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def fresh_dispatch(monkeypatch):
    """Undo what the tests set in the dispatch module (notice, NumPy-only)."""
    monkeypatch.setattr(_dispatch, "_notice", None)
    monkeypatch.setattr(_dispatch, "_numpy_only", False)
    return _dispatch


def _systems(n: int = 6, modes: int = 5) -> tuple[np.ndarray, ModeSystems]:
    rng = np.random.default_rng(5)
    lower, upper = -np.ones(n), -np.ones(n)
    lower[0] = upper[-1] = 0.0
    lam = np.linspace(0.5, 3.0, modes)[None, :]
    s = ModeSystems(lower, np.full(n, 2.5), upper, np.zeros((1, 1)), lam, np.ones((1, n)))
    return rng.standard_normal((1, n, modes)), s


def test_compiling_a_tridiagonal_kernel_says_so_first(fresh_dispatch, monkeypatch):
    from kronpde.operators.kernels import _tridiagonal_compiled as tc

    said = []
    K.set_compile_notice(said.append)
    monkeypatch.setattr(tc, "in_cache", lambda name, args=None: False)
    real_loaded = tc.loaded
    monkeypatch.setattr(tc, "loaded", lambda name, args=None: None)  # as in a fresh process
    x, s = _systems()
    expect = x.copy()
    solve_modes(expect, s, compiled=False)  # LAPACK's banded solve
    solve_modes(x, s, compiled=True)
    assert said == ["compiling the numba kernel thomas (once per installation, a few seconds)"]
    assert np.max(np.abs(x - expect)) <= 1e-13 * np.max(np.abs(expect))
    monkeypatch.setattr(tc, "loaded", real_loaded)
    said.clear()
    solve_modes(x, s, compiled=True)  # loaded now: nothing to say
    assert said == []


def test_tridiagonal_kernels_are_known_names():
    assert set(_dispatch.TRIDIAGONAL_KERNELS) <= set(_dispatch._names(None))
    with pytest.raises(ValueError, match="thomas_lines"):  # the refusal lists them
        K.load_kernels(["nope"])


def test_cache_probe_finds_the_key_a_solve_uses(tmp_path):
    """A solve's lazily typed compile lands where the probe (and load_kernels) look for it."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path), PYTHONPATH=str(ROOT))

    def run(code: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        return done.stdout.strip()

    probe = "from kronpde.operators.kernels import cached_kernels as c; print(c(['thomas']))"
    assert run(probe) == "()"
    solve = (
        "import numpy as np; from kronpde.operators.kernels.tridiagonal import ModeSystems, "
        "solve_modes as s; n = 4; lo = -np.ones(n); up = -np.ones(n); lo[0] = up[-1] = 0; "
        "s(np.ones((3, n, 2)), ModeSystems(lo, np.full(n, 3.0), up, np.zeros((1, 3)), "
        "np.ones((1, 2)), np.ones((1, n))), True)"
    )
    run(solve)
    assert run(probe) == "('thomas',)"
