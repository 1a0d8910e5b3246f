"""Embedded boundaries on the PETSc backend: two ranks agree with the serial solve."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from kronpde.app import cli
from kronpde.io.result import read_result

MPIRUN = shutil.which("mpirun")

CASES = {
    "disc": (
        'level_set = "sqrt(x**2 + y**2) - 0.8"',
        "-(exp(x)*sin(2*y)*(1 - 4) + 2)",
        '{ type = "dirichlet", value = "x" }',
        '{ type = "dirichlet", value = "exp(x)*sin(2*y) + x**2" }',
    ),
    "cylinder": (
        'level_set = "0.5 - sqrt(x**2 + y**2)"',
        "0",
        '{ type = "dirichlet", value = "x*(1 + 0.25/(x**2 + y**2))" }',
        '{ type = "neumann", value = 0 }',
    ),
    "variable_k": (  # the flux form's face values, restricted to the domain
        'level_set = "sqrt(x**2 + y**2) - 0.8"',
        "-(2*x + exp(x)*sin(2*y))*cos(x + 2*y)/2 - (exp(x)*sin(2*y) + 2)*(sin(x + 2*y)/2 + 1)"
        " + 4*(sin(x + 2*y)/2 + 1)*exp(x)*sin(2*y) - 2*exp(x)*cos(2*y)*cos(x + 2*y)"
        '"\ncoefficient = "1 + 0.5*sin(x + 2*y)',
        '{ type = "dirichlet", value = "x" }',
        '{ type = "dirichlet", value = "exp(x)*sin(2*y) + x**2" }',
    ),
    "floating": (  # Neumann everywhere, c = 0: singular on the domain's unknowns alone
        'level_set = "sqrt(x**2 + y**2) - 0.7"',
        "x - 0.4",
        '{ type = "neumann", value = 0 }',
        '{ type = "neumann", value = 0 }',
    ),
}

CASE = """
[grid]
cells = [40, 36]
lower = [-1.2, -1]
upper = [1.2, 1]
[geometry]
{geometry}
[equation]
source = "{source}"
[boundary]
default = {default}
embedded = {embedded}
[solver]
rtol = 1e-11
"""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        OMPI_ALLOW_RUN_AS_ROOT="1",
        OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
        OMPI_MCA_rmaps_base_oversubscribe="1",
        OMPI_MCA_mpi_yield_when_idle="1",
        OMP_NUM_THREADS="1",
    )
    return env


@pytest.mark.petsc
@pytest.mark.parametrize("method", ["auto", "fastdiag-cg"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_two_ranks_agree_with_serial(tmp_path, capsys, name, method):
    assert MPIRUN is not None, "mpirun is not on PATH: run scripts/install-petsc.sh"
    geometry, source, default, embedded = CASES[name]
    case = tmp_path / "case.toml"
    case.write_text(
        CASE.format(geometry=geometry, source=source, default=default, embedded=embedded)
    )
    assert cli.main(["solve", str(case), "-o", str(tmp_path / "serial.vti"), "-q"]) == 0
    capsys.readouterr()
    command = [MPIRUN, "-n", "2", sys.executable, "-m", "kronpde", "solve", str(case)]
    command += ["--backend", "petsc", "-o", str(tmp_path / "petsc.vti"), "--json", "-q"]
    command += ["--method", method]
    proc = subprocess.run(
        command, cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    record = json.loads(proc.stdout.strip().splitlines()[-1])
    assert record["ranks"] == 2
    assert method == "auto" or record["method"] == method
    assert record["converged"]
    serial = read_result(tmp_path / "serial.vti").fields
    petsc = read_result(tmp_path / "petsc.pvti").fields
    assert np.array_equal(serial["domain"], petsc["domain"])
    inside = serial["domain"] > 0
    assert record["unknowns"] < serial["u"].size
    assert np.all(np.isnan(petsc["u"][~inside]))
    scale = np.max(np.abs(serial["u"][inside]))
    assert np.max(np.abs(serial["u"][inside] - petsc["u"][inside])) <= 1e-8 * scale
    if name == "floating":  # both the domain's weighted mean zero: the same null vector
        assert record["projected_norm"] > 1e-3
        assert abs(np.mean(petsc["u"][inside])) <= 0.05 * scale
