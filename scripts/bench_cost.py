"""Benchmark of issue 24: every answer at the cost of its arithmetic.

Prints, in one run, one Markdown row per acceptance ratio this benchmark
covers, each against its anchor measured in the same run:

* 127³ exact through the command line (``kronpde solve``, ``fastdiag``,
  ``rtol = 1e-8``, Dirichlet): ``setup_seconds + solve_seconds`` of the JSON
  against a bare ``dstn``/``idstn`` round trip (eigenvalues, transform,
  division, inverse transform) timed in a fresh process; and
  ``estimate_seconds`` with ``rtol = "auto"`` against the same anchor;
* the whole ``kronpde solve`` of that case writing ``.vti`` (127³ and 255³), wall
  time of the fresh process, against a bare script in a fresh process doing the
  same work: import numpy and scipy, evaluate the source on the grid, the round
  trip, write a raw-appended ``.vti`` atomically (temporary file, fsync, rename);
* warm in one process at 127³: ``solve(problem)`` and
  ``prepare(problem).solve(b)`` (default arguments) against the warm bare
  round trip; the prepared 256² Neumann step (``out=``, ``check=False``)
  against a warm ``dctn``/``idctn`` round trip;
* ``fastdiag-cg`` at 127³ through the command line (smooth ``k``):
  set-up plus solve against iterations x one warm fast solve;
* fourth order through the command line at 1024²: set-up plus solve against
  second order;
* ``cg`` through the command line at 63³: (set-up plus solve) per iteration
  against ``scipy.sparse.linalg.cg`` per iteration (warm, on the assembled
  symmetric operator).

Every figure is the median of ``--repeats`` runs (fresh processes for the
command-line rows).  kronpde and the bare round trips use the same
``--workers`` FFT threads (the command line's ``fastdiag`` uses
``os.cpu_count()``; run on a 2-core machine, or pass the core count); numba's
threads are its default (the core count), BLAS runs one thread.

Usage::

    python scripts/bench_cost.py              # every row, 5 repeats
    python scripts/bench_cost.py --repeats 3 --rows cli warm
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import scipy  # noqa: E402
import scipy.fft as sfft  # noqa: E402
import scipy.sparse.linalg as spla  # noqa: E402

SOURCE_3D = "3*pi**2*sin(pi*x)*sin(pi*y)*sin(pi*z)"
SMOOTH_K = "1 + 0.5*sin(pi*x)*cos(pi*y)*z"

CASE = """[grid]
cells = {cells}
[equation]
source = "{source}"
{extra}
[boundary]
default = {{ type = "dirichlet", value = 0.0 }}
[solver]
method = "{method}"
rtol = {rtol}
"""

BARE = r"""
import sys, time
import numpy as np, scipy.fft as F
n, workers = int(sys.argv[1]), int(sys.argv[2])
h = 1.0 / (n + 1)
rng = np.random.default_rng(0)
b = rng.standard_normal((n, n, n))
t0 = time.perf_counter()
k = np.arange(1, n + 1)
lam1 = (2.0 - 2.0 * np.cos(np.pi * k / (n + 1))) / h**2
lam = lam1[:, None, None] + lam1[None, :, None] + lam1[None, None, :]
u = F.idstn(F.dstn(b, type=1, workers=workers) / lam, type=1, workers=workers)
print(time.perf_counter() - t0)
"""


BARE_WHOLE = r"""
import os, sys, tempfile
import numpy as np, scipy.fft as F
n, workers, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
m = n + 1  # cells per axis; nodes 0..m
x = np.linspace(0.0, 1.0, m + 1)
s = np.sin(np.pi * x[1:-1])
f = 3 * np.pi**2 * s[:, None, None] * s[None, :, None] * s[None, None, :]
h = 1.0 / m
k = np.arange(1, n + 1)
lam1 = (2.0 - 2.0 * np.cos(np.pi * k / m)) / h**2
lam = lam1[:, None, None] + lam1[None, :, None] + lam1[None, None, :]
u = np.zeros((m + 1,) * 3)
u[1:-1, 1:-1, 1:-1] = F.idstn(F.dstn(f, type=1, workers=workers) / lam, type=1, workers=workers)
data = np.ascontiguousarray(u.transpose(2, 1, 0))  # VTK: x fastest
lines = [
    '<?xml version="1.0"?>',
    '<VTKFile type="ImageData" version="1.0" byte_order="LittleEndian" header_type="UInt64">',
    f'<ImageData WholeExtent="0 {m} 0 {m} 0 {m}" Origin="0 0 0" Spacing="{h} {h} {h}">',
    f'<Piece Extent="0 {m} 0 {m} 0 {m}"><PointData Scalars="u">',
    '<DataArray type="Float64" Name="u" format="appended" offset="0"/>',
    '</PointData></Piece></ImageData>',
    '<AppendedData encoding="raw">',
    '_',
]
head = chr(10).join(lines)
tail = chr(10) + '</AppendedData>' + chr(10) + '</VTKFile>' + chr(10)
folder = os.path.dirname(path)
fd, tmp = tempfile.mkstemp(dir=folder)
with os.fdopen(fd, "wb") as out:
    out.write(head.encode())
    out.write(np.uint64(data.nbytes).tobytes())
    out.write(memoryview(data).cast("B"))
    out.write(tail.encode())
    out.flush()
    os.fsync(out.fileno())
os.replace(tmp, path)
"""


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def kronpde_json(case: Path, *extra: str) -> dict:
    """Run ``kronpde solve CASE --json -q`` in a fresh process; return its JSON record."""
    out = subprocess.run(
        [sys.executable, "-m", "kronpde", "solve", str(case), "--json", "-q", *extra],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def write_case(folder: Path, name: str, **fields: str) -> Path:
    fields.setdefault("extra", "")
    fields.setdefault("rtol", "1e-8")
    fields.setdefault("method", "fastdiag")
    path = folder / f"{name}.toml"
    path.write_text(CASE.format(**fields))
    return path


def bare_fresh(n: int, workers: int, repeats: int) -> float:
    """The bare 3-D round trip (n³ unknowns) in a fresh process: median seconds."""
    times = []
    for _ in range(repeats):
        out = subprocess.run(
            [sys.executable, "-c", BARE, str(n), str(workers)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        times.append(float(out))
    return median(times)


def warm(fn, repeats: int) -> float:
    """Median seconds of ``fn()`` after three warm-up calls.

    A prepared exact solver of 2^17 unknowns or more moves to its tridiagonal route on
    its second solve (loading numba, about 0.4 s): that call is not a warm solve.
    """
    for _ in range(3):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return median(times)


def paired(ours, anchor, repeats: int) -> tuple[float, float]:
    """Median seconds of ``ours()`` and ``anchor()``, run alternately (the same load on both)."""
    ours()
    anchor()
    a, b = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        ours()
        a.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        anchor()
        b.append(time.perf_counter() - t0)
    return median(a), median(b)


def row(name: str, ours: float, anchor: float, target: float, unit: str = "s") -> None:
    ratio = ours / anchor
    met = "met" if ratio <= target else "**not met**"
    print(
        f"| {name} | {ours:.4f} {unit} | {anchor:.4f} {unit} | {ratio:.2f}x | "
        f"<= {target}x | {met} |",
        flush=True,
    )


def cli_rows(folder: Path, workers: int, repeats: int) -> None:
    """127³ exact through the command line; estimate_seconds of rtol auto."""
    cells = "[128, 128, 128]"
    exact = write_case(folder, "exact127", cells=cells, source=SOURCE_3D)
    auto = write_case(folder, "auto127", cells=cells, source=SOURCE_3D, rtol='"auto"')
    records, bare = [], []
    for _ in range(repeats):  # alternately, so that both see the same load
        records.append(kronpde_json(exact))
        bare.append(bare_fresh(127, workers, 1))
    anchor = median(bare)
    ours = median([r["setup_seconds"] + r["solve_seconds"] for r in records])
    row("127³ CLI fastdiag, setup + solve / bare fresh round trip", ours, anchor, 1.3)
    records = [kronpde_json(auto) for _ in range(repeats)]
    est = median([r["estimate_seconds"] for r in records])
    row("127³ CLI rtol auto, estimate_seconds / bare fresh round trip", est, anchor, 0.5)


def wall(command: list[str]) -> float:
    """Wall seconds of ``command`` in a fresh process (it must succeed)."""
    t0 = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - t0


def whole_rows(folder: Path, workers: int, repeats: int) -> None:
    """The whole ``kronpde solve`` writing ``.vti`` against the bare script, 127³ and 255³."""
    for n in (127, 255):
        case = write_case(
            folder, f"whole{n}", cells=f"[{n + 1}, {n + 1}, {n + 1}]", source=SOURCE_3D
        )
        ours = [sys.executable, "-m", "kronpde", "solve", str(case), "-q", "-o"]
        bare = [sys.executable, "-c", BARE_WHOLE, str(n), str(workers)]
        a, b = [], []
        for _ in range(repeats):  # alternately, so that both see the same load
            a.append(wall([*ours, str(folder / f"kronpde{n}.vti")]))
            b.append(wall([*bare, str(folder / f"bare{n}.vti")]))
        row(f"{n}³ whole `kronpde solve` with .vti / bare script", median(a), median(b), 1.5)


def warm_rows(workers: int, repeats: int) -> None:
    """Warm, one process: solve(problem), prepare(problem).solve(b), the prepared Neumann step."""
    from kronpde import Grid, Neumann, Problem, prepare, solve

    n = 127
    p = Problem(Grid.box([n + 1] * 3), source=SOURCE_3D)
    b3 = p.rhs_values.reshape(p.grid.shape).copy()
    h = 1.0 / (n + 1)
    k = np.arange(1, n + 1)
    lam1 = (2.0 - 2.0 * np.cos(np.pi * k / (n + 1))) / h**2
    lam = lam1[:, None, None] + lam1[None, :, None] + lam1[None, None, :]

    def bare():
        return sfft.idstn(sfft.dstn(b3, type=1, workers=workers) / lam, type=1, workers=workers)

    options = {"workers": workers}
    ours, anchor = paired(lambda: solve(p, "fastdiag", options=options), bare, repeats)
    row("127³ warm solve(problem) / bare round trip", ours, anchor, 1.3)
    s = prepare(p, "fastdiag", options=options)
    b = p.rhs()
    ours, anchor = paired(lambda: s.solve(b), bare, repeats)
    row("127³ warm prepare(problem).solve(b) / bare round trip", ours, anchor, 1.2)
    # the prepared 256² Neumann step (screened: c = 1/dt), out= and check=False
    m = 256
    q = Problem(Grid.box([m, m], boundary=Neumann()), source="cos(pi*x)", shift=100.0)
    sq = prepare(q, "fastdiag", options=options)
    bq = q.rhs().reshape(q.grid.shape).copy()
    u = np.empty_like(bq)
    j = np.arange(m + 1)
    lam1n = (2.0 - 2.0 * np.cos(np.pi * j / m)) * m**2
    lam2 = lam1n[:, None] + lam1n[None, :] + 100.0

    def bare2():
        return sfft.idctn(sfft.dctn(bq, type=1, workers=workers) / lam2, type=1, workers=workers)

    ours2, anchor2 = paired(lambda: sq.solve(bq, out=u, check=False), bare2, 5 * repeats)
    row(
        "256² Neumann prepared step (out=, check=False) / bare dctn round trip",
        ours2,
        anchor2,
        1.15,
    )


def fastdiag_cg_row(folder: Path, workers: int, repeats: int) -> None:
    """fastdiag-cg at 127³ (smooth k) through the command line / iterations x warm fast solve."""
    from kronpde import Grid, Problem, prepare

    case = write_case(
        folder,
        "fdcg127",
        cells="[128, 128, 128]",
        source=SOURCE_3D,
        extra=f'coefficient = "{SMOOTH_K}"',
        method="fastdiag-cg",
    )
    p = Problem(Grid.box([128] * 3), source=SOURCE_3D)
    s = prepare(p, "fastdiag", options={"workers": workers})
    b = p.rhs()
    out = np.empty(p.size)
    fast = lambda: s.solve(b, out=out, check=False)  # noqa: E731
    warm(fast, 1)  # past the route switch
    records, ones = [], []
    for _ in range(repeats):  # alternately, so that both see the same load
        records.append(kronpde_json(case))
        ones.append(warm(fast, 3))
    ours = median([r["setup_seconds"] + r["solve_seconds"] for r in records])
    its = int(records[-1]["iterations"])
    one = median(ones)
    row(f"127³ CLI fastdiag-cg ({its} it) / {its} x warm fast solve", ours, its * one, 1.5)


def fourth_order_row(folder: Path, repeats: int) -> None:
    """Fourth order through the command line at 1024² against second order."""
    source = "2*pi**2*sin(pi*x)*sin(pi*y)"
    cells = "[1024, 1024]"
    second = write_case(folder, "o2", cells=cells, source=source)
    fourth = write_case(folder, "o4", cells=cells, source=source, extra="[scheme]\norder = 4")
    keys = ("setup_seconds", "solve_seconds")
    a, b = [], []
    for _ in range(repeats):  # alternately, so that both see the same load
        a.append(sum(kronpde_json(second)[k] for k in keys))
        b.append(sum(kronpde_json(fourth)[k] for k in keys))
    row("1024² CLI order 4 / order 2 (setup + solve)", median(b), median(a), 1.3)


def cg_row(folder: Path, repeats: int) -> None:
    """CG through the command line at 63³: per iteration, against scipy's cg per iteration."""
    from kronpde import Grid, Problem

    case = write_case(folder, "cg63", cells="[64, 64, 64]", source="exp(3*x)*y*z + 1", method="cg")
    records = [kronpde_json(case) for _ in range(repeats)]
    per = median(
        [(r["setup_seconds"] + r["solve_seconds"]) / max(r["iterations"], 1) for r in records]
    )
    p = Problem(Grid.box([64] * 3), source="exp(3*x)*y*z + 1")
    a = p.operator(symmetric=True).tocsr()
    rhs = p.symmetric_scale * p.rhs()
    count = [0]

    def run():
        count[0] = 0

        def callback(_xk):
            count[0] += 1

        spla.cg(a, rhs, rtol=1e-8, atol=0.0, maxiter=10 * p.size, callback=callback)

    t = warm(run, repeats)
    row(
        f"63³ CLI cg per iteration ({records[-1]['iterations']} it) / scipy cg per iteration "
        f"({count[0]} it)",
        per,
        t / max(count[0], 1),
        0.5,
    )


ROWS = ("cli", "whole", "warm", "fastdiag-cg", "order4", "cg")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs per figure (median)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="FFT threads")
    parser.add_argument("--rows", nargs="+", choices=ROWS, default=list(ROWS))
    args = parser.parse_args(argv)
    import compileall

    import kronpde

    # an installed package has its .pyc files: bring a checkout's up to date, or every fresh
    # process below would compile the changed modules again (PYTHONDONTWRITEBYTECODE)
    compileall.compile_dir(Path(kronpde.__file__).parent, quiet=1)

    print(
        f"kronpde {kronpde.__version__}, numpy {np.__version__}, scipy {scipy.__version__}, "
        f"Python {platform.python_version()}, {os.cpu_count()} cores; load average "
        f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}"
    )
    print(
        f"threads: FFT workers {args.workers} (kronpde and the bare round trips), numba "
        f"{os.environ.get('NUMBA_NUM_THREADS', 'default (the core count)')}, BLAS "
        f"{os.environ.get('OPENBLAS_NUM_THREADS')}; medians of {args.repeats} runs"
    )
    print()
    print("| row | kronpde | anchor | ratio | target | |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if "cli" in args.rows:
            cli_rows(folder, args.workers, args.repeats)
        if "whole" in args.rows:
            whole_rows(folder, args.workers, args.repeats)
        if "warm" in args.rows:
            warm_rows(args.workers, args.repeats)
        if "fastdiag-cg" in args.rows:
            fastdiag_cg_row(folder, args.workers, args.repeats)
        if "order4" in args.rows:
            fourth_order_row(folder, args.repeats)
        if "cg" in args.rows:
            cg_row(folder, args.repeats)
    print()
    print(f"load average at the end {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
