"""The first run after installing: it says that kernels compile, and compiles elsewhere.

``kronpde solve`` loads the kernels an iterative solve needs before its timer starts; with an
empty numba cache it says on standard error that they compile in the background (not with
``--quiet``) and solves on NumPy meanwhile (issue 24, item 3).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import kronpde.operators.kernels as K
from kronpde.operators.kernels import _dispatch

ROOT = Path(__file__).resolve().parents[1]

#: 363² cells: 364² = 132496 unknowns with Neumann faces, above MIN_COMPILED_SIZE (2^17).
CASE = """\
[grid]
cells = [363, 363]
[equation]
source = "x*y"
shift = 1.0
[boundary]
default = { type = "neumann", value = 0.0 }
[solver]
method = "cg"
rtol = 1e-6
"""


def _env(cache: Path) -> dict[str, str]:
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache), PYTHONPATH=str(ROOT))
    env.pop("KRONPDE_DEBUG", None)
    return env


def _python(code: str, cache: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], env=_env(cache), capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_cache_probe_reads_numbas_own_cache(tmp_path):
    """A kernel is reported cached exactly when another process compiled it into the cache."""
    code = "from kronpde.operators.kernels import cached_kernels as c; print(c(['new_direction']))"
    assert _python(code, tmp_path) == "()"
    _python("import kronpde.operators.kernels as K; K.compile_kernels(['new_direction'])", tmp_path)
    assert _python(code, tmp_path) == "('new_direction',)"


@pytest.fixture
def fresh_dispatch(monkeypatch):
    """Undo what the tests set in the dispatch module (notice, NumPy-only)."""
    monkeypatch.setattr(_dispatch, "_notice", None)
    monkeypatch.setattr(_dispatch, "_numpy_only", False)
    return _dispatch


def test_background_compile_says_so_and_chooses_numpy(fresh_dispatch, monkeypatch):
    said, started = [], []
    monkeypatch.setattr(_dispatch, "cached_kernels", lambda names: ())
    monkeypatch.setattr(_dispatch, "_compile_elsewhere", started.append)
    K.set_compile_notice(said.append)
    assert K.use_compiled(1 << 20)
    assert K.load_kernels(["dot", "update_xr"], background=True) == {}
    assert started == [["dot", "update_xr"]]
    assert said == [
        "compiling 2 numba kernel(s) in the background for later runs (once per installation); "
        "this run uses NumPy"
    ]
    assert not K.use_compiled(1 << 20)  # the choice by size takes NumPy meanwhile
    assert K.use_compiled(10, compiled=True)  # a forced choice stays forced
    K.end_numpy_only()
    assert K.use_compiled(1 << 20)


def test_compiling_here_says_so_first(fresh_dispatch, monkeypatch):
    from kronpde.operators.kernels import _compiled

    said = []
    K.set_compile_notice(said.append)
    monkeypatch.setattr(_compiled, "_compiled", {})  # as in a process that loaded none
    monkeypatch.setattr(_compiled, "in_cache", lambda name: False)
    K.compile_kernels(["new_direction"])
    assert said == [
        "compiling the numba kernel new_direction (once per installation, a few seconds)"
    ]
    said.clear()
    K.compile_kernels(["new_direction"])  # loaded now: nothing to say
    assert said == []


def test_unknown_kernel_is_refused():
    with pytest.raises(ValueError, match="unknown kernel"):
        K.load_kernels(["nope"])


def _solve(tmp_path: Path, *options: str) -> subprocess.CompletedProcess:
    case = tmp_path / "big.toml"
    case.write_text(CASE)
    return subprocess.run(
        [sys.executable, "-m", "kronpde", "solve", str(case), "--json", *options],
        env=_env(tmp_path / "numba-cache"),
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.parametrize("quiet", [False, True])
def test_first_iterative_solve_says_it_compiles(tmp_path, quiet):
    """An empty numba cache: one line on standard error (none with --quiet), and a solve."""
    done = _solve(tmp_path, *(["--quiet"] if quiet else []))
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout.splitlines()[-1])
    assert record["method"] == "cg"
    assert record["converged"]
    lines = [line for line in done.stderr.splitlines() if "numba kernel" in line]
    if quiet:
        assert lines == []
    else:
        from kronpde.app.cli.solve import RUN_KERNELS

        assert lines == [
            f"kronpde: compiling {len(RUN_KERNELS[False])} numba kernel(s) in the background "
            "for later runs (once per installation); this run uses NumPy"
        ]


def test_the_command_restores_the_silence(tmp_path):
    """``main`` in-process sets the notice for its run only."""
    import contextlib
    import io

    from kronpde.app import cli

    case = tmp_path / "small.toml"
    case.write_text(CASE.replace("[363, 363]", "[4, 4]"))
    with contextlib.redirect_stdout(io.StringIO()):
        assert cli.main(["solve", str(case)]) == 0
    assert _dispatch._notice is None


@pytest.mark.parametrize(
    ("variable", "method"), [(False, "cg"), (True, "cg"), (True, "fastdiag-cg")]
)
def test_the_background_compile_covers_every_kernel_a_later_cg_run_uses(
    variable, method, fresh_dispatch, monkeypatch
):
    """A later run finds every kernel it uses in the cache (none compiled while it runs).

    Before ``constant_residual`` was in the list, the second run after installing compiled
    the certificate's kernel itself: five seconds, said on standard error.
    """
    from kronpde import Grid, Problem, solve
    from kronpde.app.cli.solve import RUN_KERNELS
    from kronpde.operators.kernels import _compiled, _dispatch, _tridiagonal_compiled
    from kronpde.solvers.registry import method_class

    used = []
    real = _compiled.loaded
    monkeypatch.setattr(_compiled, "loaded", lambda name: used.append(name) or real(name))
    tri = _tridiagonal_compiled.loaded

    def tri_loaded(name, args=None):
        used.append(name)
        return tri(name, args)

    monkeypatch.setattr(_tridiagonal_compiled, "loaded", tri_loaded)
    k = "1 + 0.5*sin(pi*y)" if variable else 1.0  # a layered k: fastdiag-cg's tridiagonal pc
    p = Problem(Grid.box([64, 64, 64]), source="x*y*z + 1", coefficient=k)
    assert p.size >= _dispatch.MIN_COMPILED_SIZE
    sol = solve(p, method, rtol=1e-6)
    assert sol.report.converged
    assert np.linalg.norm(p.operator() @ sol.x - p.rhs()) <= 1e-6 * np.linalg.norm(p.rhs())
    assert used, "the run used no compiled kernel"
    loaded = set(RUN_KERNELS[variable]) | set(method_class(method).run_kernels)
    assert set(used) <= loaded, sorted(set(used) - loaded)
