"""FISHPACK parity: the general separable drivers' test problems as case files (complex too).

Each file in ``tests/fishpack/`` writes one of FISHPACK 4.1's test drivers
(``tgenbun.f`` ...) as a kronpde case; the drivers print their discretisation
error (max over the unknowns of ``|u - u_exact|``) in comments, the numbers
below.  kronpde's error with the same metric must match to four significant
digits (here: a relative 1e-4), with ``fastdiag`` and ``direct`` (POISTG's
isotropic ``k = cos x`` is a layered medium: ``fastdiag`` is the tridiagonal-axis
solver's exact solve along x; ``fastdiag-cg`` too).  SEPELI and SEPX4 (second
order) print a relative error; their ``u_x + u`` on ``x = 0`` is a Robin face
with ``alpha = 1, beta = -1`` and their ``-(x + y) u`` a separable shift.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from kronpde import load_case, solve
from kronpde.app import cli

HERE = Path(__file__).parent / "fishpack"

#: (case file, FISHPACK's printed discretisation error, the methods).
DRIVERS = [
    ("genbun.toml", 9.64063e-03, ("fastdiag", "direct")),
    ("pois3d.toml", 2.93277e-02, ("fastdiag", "direct")),
    ("poistg.toml", 5.64171e-04, ("fastdiag", "direct", "fastdiag-cg")),
    # k_s = t/s, k_t = s/t: infinite on s = 0 and t = 0, Dirichlet nodes no flux reads; a
    # product k, so fastdiag is exact.  FISHPACK 4.1 compiled in 64-bit prints 1.6477856426722e-05
    # (the CDC 7600's 1.64478E-05 in its comment is 32-bit rounding)
    ("blktri.toml", 1.6477856426722e-05, ("fastdiag", "direct")),
    # the complex drivers: error_max is the largest modulus |u - u_exact| (CBLKTRI: the
    # Laplacian in r = s^2, q = t^2 on stretched nodes, its file says why); FISHPACK 4.1's
    # 64-bit output/darwin.dp
    ("cmgnbn.toml", 9.16200e-03, ("fastdiag", "direct")),
    ("cblktri.toml", 1.6457e-05, ("fastdiag", "direct", "fastdiag-cg")),
]


@pytest.mark.parametrize(("name", "printed", "methods"), DRIVERS, ids=[d[0] for d in DRIVERS])
def test_fishpack_driver_error_to_four_digits(name, printed, methods, tmp_path, capsys):
    for method in methods:
        out = tmp_path / f"{method}.vtr"  # .vtr: BLKTRI's axes are stretched
        code = cli.main(
            [
                "solve",
                str(HERE / name),
                "--method",
                method,
                "--rtol",
                "1e-12",
                "--json",
                "-o",
                str(out),
            ]
        )
        stdout, _ = capsys.readouterr()
        assert code == 0
        record = json.loads(stdout.strip().splitlines()[-1])
        assert record["method"] == method
        # error_max is over every output node: Dirichlet nodes have error 0, periodic node m
        # repeats node 0, so it is FISHPACK's max over the unknowns
        assert abs(record["error_max"] / printed - 1.0) < 1e-4, (name, method, record["error_max"])


#: SEPELI and SEPX4 print a relative error, max |u - ue| / |ue| over every node.
RELATIVE = [
    ("sepeli.toml", 9.78910e-05),
    ("sepx4.toml", 1.5985e-04),
]


@pytest.mark.parametrize(("name", "printed"), RELATIVE, ids=[d[0] for d in RELATIVE])
def test_fishpack_relative_error_to_four_digits(name, printed):
    case = load_case(HERE / name)
    grid = case.problem.grid
    exact = np.broadcast_to(case.exact(*grid.point_coordinates()), grid.point_shape)
    for method in ("fastdiag", "direct"):
        u = solve(case.problem, method=method).u
        error = float(np.max(np.abs(u - exact) / np.abs(exact)))
        assert abs(error / printed - 1.0) < 1e-4, (name, method, error)


@pytest.mark.petsc
def test_genbun_on_the_distributed_exact_solve_and_cg_refused(tmp_path):
    """Two ranks: the pencil fast solve gives FISHPACK's number; PETSc's CG refuses the form."""
    import os
    import shutil
    import subprocess
    import sys

    env = dict(os.environ)
    env.update(
        OMPI_ALLOW_RUN_AS_ROOT="1",
        OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
        OMPI_MCA_rmaps_base_oversubscribe="1",
        OMPI_MCA_mpi_yield_when_idle="1",
        OMP_NUM_THREADS="1",
    )
    mpirun = shutil.which("mpirun") or shutil.which("mpiexec")
    assert mpirun is not None

    def run(method: str) -> subprocess.CompletedProcess:
        command = [mpirun, "-n", "2", sys.executable, "-m", "kronpde", "solve"]
        command += [str(HERE / "genbun.toml"), "--backend", "petsc", "--method", method]
        command += ["--json", "-o", str(tmp_path / "g.vti")]
        return subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=240, check=False
        )

    done = run("fastdiag")
    assert done.returncode == 0, done.stderr[-2000:]
    record = json.loads(done.stdout.strip().splitlines()[-1])
    assert abs(record["error_max"] / 9.64063e-03 - 1.0) < 1e-4
    refused = run("cg")
    assert refused.returncode == 2
    assert "not symmetric" in refused.stderr
    assert "'direct'" in refused.stderr
