"""Benchmark kronpde's prepared fast solve against FISHPACK 4.1, compiled here, on one thread.

FISHPACK (NCAR's public ``FishPack/fishpack4.1.tar.gz`` in the repository
NCAR/NCAR-Classic-Libraries-for-Geophysics) carries UCAR's notice, so the
project does not ship it: point ``FISHPACK_SRC`` at the unpacked ``src``
folder (the one holding ``hwscrt.f``).  The script compiles the solvers it
times and a small driver with
``gfortran -O3 -march=native -std=legacy -fdefault-real-8 -fdefault-double-8``
(double precision), runs each driver in a subprocess (the minimum over
repeats of the solver call alone, the right-hand side refilled outside the
timer), and times kronpde's prepared in-place solve
``prepare(problem).solve(b, out=b, check=False)`` of the same Dirichlet
problem (the same unknowns) on one thread in this process, interleaved.
Without ``FISHPACK_SRC`` the FISHPACK column is skipped with a message.

Rows: HWSCRT (2-D Cartesian) and HW3CRT (3-D Cartesian) against the
Cartesian boxes; HWSPLR (polar disc) and HWSCYL (axisymmetric cylinder)
against ``CurvilinearGrid.polar`` and ``.cylindrical`` (the tridiagonal axis
r).  HWSCYL's ``u = 0`` on both z faces leaves 1023 = 3 x 11 x 31 unknowns along z;
HWSCYLDN (``du/dz = 0`` on the upper face, NBDCND = 2) gives both solvers 1024, a power
of two (FISHPACK was no faster there: 172 ms against HWSCYL's 101 ms in one run).  The
goals of issue 25: kronpde at most 0.4x FISHPACK in 2-D and 0.7x in 3-D.

Usage::

    FISHPACK_SRC=/path/to/fishpack4.1/src python scripts/bench_fishpack.py
    python scripts/bench_fishpack.py --quick          # small sizes (smoke)
    python scripts/bench_fishpack.py --repeats 7 --rows hwscrt:1024 hw3crt:128
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_name] = "1"

import argparse  # noqa: E402
import hashlib  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

FLAGS = ["-O3", "-march=native", "-std=legacy", "-fdefault-real-8", "-fdefault-double-8"]
SOURCES = {
    "hwscrt": ["hwscrt.f", "genbun.f", "gnbnaux.f", "comf.f"],
    "hw3crt": ["hw3crt.f", "pois3d.f", "fftpack.f", "comf.f"],
    "hwsplr": ["hwsplr.f", "genbun.f", "gnbnaux.f", "comf.f"],
    "hwscyl": ["hwscyl.f", "genbun.f", "gnbnaux.f", "comf.f"],
    "hwscyldn": ["hwscyl.f", "genbun.f", "gnbnaux.f", "comf.f"],
}

DRIVER = """
      PROGRAM BENCH
      IMPLICIT NONE
      CHARACTER*16 KIND, ARG
      INTEGER N, NREP, IREP, I, J, K, IERR, LW
      REAL, ALLOCATABLE :: F(:,:), F3(:,:,:), W(:), X(:), Y(:), Z(:)
      REAL, ALLOCATABLE :: BZ(:)
      REAL BDA(1), BDB(1), BDC(1), BDD(1), PERTRB, PI, ERR, BEST, T
      INTEGER(8) C0, C1, RATE
      CALL GET_COMMAND_ARGUMENT(1, KIND)
      CALL GET_COMMAND_ARGUMENT(2, ARG)
      READ (ARG, *) N
      CALL GET_COMMAND_ARGUMENT(3, ARG)
      READ (ARG, *) NREP
      PI = 4.0*ATAN(1.0)
      BEST = HUGE(1.0)
      ERR = 0.0
      ALLOCATE (X(N+1), Y(N+1), Z(N+1), BZ(N+1))
      BZ = 0.0
      DO I = 1, N+1
         X(I) = REAL(I-1)/REAL(N)
      END DO
      IF (KIND .EQ. 'hw3crt') THEN
         LW = 30 + 8*N + 7*(N+1) + 1000
         ALLOCATE (F3(N+1,N+1,N+1), W(LW))
         DO IREP = 1, NREP
            DO K = 1, N+1
            DO J = 1, N+1
            DO I = 1, N+1
               F3(I,J,K) = -3.0*PI*PI*SIN(PI*X(I))*SIN(PI*X(J))*
     1              SIN(PI*X(K))
            END DO
            END DO
            END DO
            CALL SYSTEM_CLOCK(C0, RATE)
            CALL HW3CRT (0.0,1.0,N,1,BDA,BDB,0.0,1.0,N,1,BDA,BDB,
     1           0.0,1.0,N,1,BDA,BDB,0.0,N+1,N+1,F3,PERTRB,IERR,W)
            CALL SYSTEM_CLOCK(C1)
            T = REAL(C1-C0)/REAL(RATE)
            BEST = MIN(BEST, T)
         END DO
         DO K = 1, N+1
         DO J = 1, N+1
         DO I = 1, N+1
            ERR = MAX(ERR, ABS(F3(I,J,K)-SIN(PI*X(I))*SIN(PI*X(J))*
     1            SIN(PI*X(K))))
         END DO
         END DO
         END DO
      ELSE
         LW = 4*(N+1) + (13 + INT(LOG(REAL(N+1))/LOG(2.0)))*(N+1) + 1000
         ALLOCATE (F(N+1,N+1), W(LW))
         DO IREP = 1, NREP
            DO J = 1, N+1
            DO I = 1, N+1
               IF (KIND .EQ. 'hwscrt') THEN
                  F(I,J) = -2.0*PI*PI*SIN(PI*X(I))*SIN(PI*X(J))
               ELSE
                  F(I,J) = -4.0*SIN(PI*X(J))*(1.0 - X(I)*X(I)/4.0)
               END IF
            END DO
            END DO
            CALL SYSTEM_CLOCK(C0, RATE)
            IF (KIND .EQ. 'hwscrt') THEN
               CALL HWSCRT (0.0,1.0,N,1,BDA,BDB,0.0,1.0,N,1,BDC,BDD,0.0,
     1              F,N+1,PERTRB,IERR,W)
            ELSE IF (KIND .EQ. 'hwsplr') THEN
               DO I = 1, N+1
                  F(N+1,I) = 0.0
               END DO
               CALL HWSPLR (0.0,1.0,N,5,BDA,BDB,0.0,2.0*PI,N,0,BDC,BDD,
     1              0.0,F,N+1,PERTRB,IERR,W)
            ELSE IF (KIND .EQ. 'hwscyl') THEN
               DO I = 1, N+1
                  F(N+1,I) = 0.0
                  F(I,1) = 0.0
                  F(I,N+1) = 0.0
               END DO
               CALL HWSCYL (0.0,1.0,N,5,BDA,BDB,0.0,1.0,N,1,BDC,BDD,
     1              0.0,F,N+1,PERTRB,IERR,W)
            ELSE
               DO I = 1, N+1
                  F(N+1,I) = 0.0
                  F(I,1) = 0.0
               END DO
               CALL HWSCYL (0.0,1.0,N,5,BDA,BDB,0.0,1.0,N,2,BDC,BZ,
     1              0.0,F,N+1,PERTRB,IERR,W)
            END IF
            CALL SYSTEM_CLOCK(C1)
            T = REAL(C1-C0)/REAL(RATE)
            BEST = MIN(BEST, T)
         END DO
         IF (KIND .EQ. 'hwscrt') THEN
            DO J = 1, N+1
            DO I = 1, N+1
               ERR = MAX(ERR, ABS(F(I,J)-SIN(PI*X(I))*SIN(PI*X(J))))
            END DO
            END DO
         END IF
      END IF
      PRINT *, BEST, ERR, IERR
      END
"""


def build(src: Path, work: Path) -> Path:
    """Compile the four solvers and the driver; return the executable (cached by content)."""
    files = sorted({f for fs in SOURCES.values() for f in fs})
    digest = hashlib.sha256(DRIVER.encode() + " ".join(FLAGS).encode())
    for f in files:
        digest.update((src / f).read_bytes())
    exe = work / f"fishbench-{digest.hexdigest()[:12]}"
    if exe.exists():
        return exe
    (work / "driver.f").write_text(DRIVER)
    paths = [str(src / f) for f in files] + [str(work / "driver.f")]
    cmd = ["gfortran", *FLAGS, "-w", "-o", str(exe), *paths]
    subprocess.run(cmd, check=True, cwd=work)
    return exe


def fishpack_time(exe: Path, kind: str, n: int, repeats: int) -> tuple[float, float]:
    """The minimum seconds of one solver call over ``repeats``, and its max error."""
    out = subprocess.run(
        [str(exe), kind, str(n), str(repeats)], check=True, capture_output=True, text=True
    ).stdout.split()
    best, err, ierr = float(out[0]), float(out[1]), int(out[2])
    if ierr != 0:
        msg = f"FISHPACK {kind} n={n}: IERROR = {ierr}"
        raise RuntimeError(msg)
    return best, err


def kronpde_solver(kind: str, n: int):
    """The prepared solver and a right-hand side of the row's problem (None: no such grid)."""
    from kronpde import Grid, Problem, prepare

    if kind in ("hwscrt", "hw3crt"):
        d = 2 if kind == "hwscrt" else 3
        p = Problem(Grid.box([n] * d), source=1.0)
    else:  # the same problems as the Fortran driver: r = 0 unspecified, u = 0 on r = 1
        from kronpde import CurvilinearGrid, Dirichlet, Neumann, OnAxis, Periodic

        if kind == "hwsplr":  # theta periodic (NBDCND = 0)
            faces = {"rmin": OnAxis(), "rmax": Dirichlet(), "thetamin": Periodic(),
                     "thetamax": Periodic()}  # fmt: skip
            g = CurvilinearGrid.polar([n, n], [0.0, 0.0], [1.0, 2 * np.pi], faces)
        else:  # u = 0 on both z faces (NBDCND = 1), or du/dz = 0 on the upper (NBDCND = 2)
            upper = Neumann() if kind == "hwscyldn" else Dirichlet()
            faces = {"rmin": OnAxis(), "rmax": Dirichlet(), "zmin": Dirichlet(),
                     "zmax": upper}  # fmt: skip
            g = CurvilinearGrid.cylindrical([n, n], [0.0, 0.0], [1.0, 1.0], faces)
        p = Problem(g, source=1.0)
    solver = prepare(p, method="fastdiag", options={"workers": 1})
    rng = np.random.default_rng(0)
    return solver, rng.standard_normal(p.grid.shape)


def full_time(kind: str, n: int, b: np.ndarray, repeats: int) -> float:
    """The same box solve with every axis transformed (the route before the tridiagonal axis).

    NaN for the curvilinear rows: their operator has no full fast diagonalisation.
    """
    if kind not in ("hwscrt", "hw3crt"):
        return float("nan")
    from kronpde import Grid, Problem
    from kronpde.solvers.fastdiag import FastDiagSolver

    p = Problem(Grid.box([n] * b.ndim), source=1.0)
    solver = FastDiagSolver.from_problem(p, workers=1)
    return kronpde_time(_Plain(solver), b, repeats)


class _Plain:
    """``solve(x, out=x, check=False)`` of a bare FastDiagSolver."""

    def __init__(self, solver):
        self.solver = solver

    def solve(self, x, out, check):
        return self.solver.solve(x, out=out)


def kronpde_time(solver, b: np.ndarray, repeats: int) -> float:
    """The minimum seconds of an in-place prepared solve over ``repeats``."""
    x = b.copy()
    solver.solve(x, out=x, check=False)  # warm-up (loads the kernels)
    best = float("inf")
    for _ in range(repeats):
        np.copyto(x, b)
        t0 = time.perf_counter()
        solver.solve(x, out=x, check=False)
        best = min(best, time.perf_counter() - t0)
    return best


def main(argv: list[str] | None = None) -> int:
    """Print the table of times and ratios (markdown)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds per row (min)")
    ap.add_argument("--quick", action="store_true", help="small sizes only")
    ap.add_argument("--rows", nargs="*", help="kind:n, e.g. hwscrt:1024 hw3crt:128")
    args = ap.parse_args(argv)
    if args.rows:
        rows = [(r.split(":")[0], int(r.split(":")[1])) for r in args.rows]
    elif args.quick:
        rows = [("hwscrt", 128), ("hw3crt", 32), ("hwsplr", 128), ("hwscyl", 128)]
        rows.append(("hwscyldn", 128))
    else:
        rows = [
            ("hwscrt", 1024),
            ("hwscrt", 2048),
            ("hw3crt", 128),
            ("hw3crt", 256),
            ("hwsplr", 1024),
            ("hwscyl", 1024),
            ("hwscyldn", 1024),
        ]
    src = os.environ.get("FISHPACK_SRC")
    exe = None
    if not src:
        print("FISHPACK_SRC is not set: the FISHPACK column is skipped.", file=sys.stderr)
    elif shutil.which("gfortran") is None:
        print("gfortran not found (apt-get install gfortran): FISHPACK skipped.", file=sys.stderr)
    else:
        work = Path(tempfile.gettempdir()) / "kronpde-fishpack"
        work.mkdir(exist_ok=True)
        exe = build(Path(src), work)
    print(
        "| solver | intervals | unknowns | FISHPACK ms | kronpde ms | kronpde / FISHPACK "
        "| all axes transformed / FISHPACK | FISHPACK max error |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for kind, n in rows:
        solver, b = kronpde_solver(kind, n)
        fish, mine, full, err = float("inf"), float("inf"), float("inf"), float("nan")
        for _ in range(args.rounds):  # interleaved: load on the shared machine hits both
            if exe is not None:
                seconds, err = fishpack_time(exe, kind, n, args.repeats)
                fish = min(fish, seconds)
            if solver is not None:
                mine = min(mine, kronpde_time(solver, b, args.repeats))
                full = min(full, full_time(kind, n, b, args.repeats))
        unknowns = "-" if b is None else f"{b.size:,}"
        f_ms = f"{1e3 * fish:.1f}" if exe is not None else "skipped"
        k_ms = f"{1e3 * mine:.1f}" if solver is not None else "n/a (no curvilinear grid)"
        both = exe is not None and solver is not None
        ratio = f"{mine / fish:.2f}" if both else "-"
        ratio_full = f"{full / fish:.2f}" if both and np.isfinite(full) else "-"
        shown = f"{err:.2e}" if kind in ("hwscrt", "hw3crt") and exe is not None else "-"
        row = f"| {kind.upper()} | {n} | {unknowns} | {f_ms} | {k_ms} | {ratio} | {ratio_full}"
        print(f"{row} | {shown} |")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
