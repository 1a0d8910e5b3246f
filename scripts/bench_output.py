"""Benchmark of writing result files: every format, against the run without output.

For 3-D grids of 64³, 128³ and 256³ cells, each case in a fresh subprocess
(so its peak memory is its own):

* the run without output (:func:`run_without_output`): the Poisson problem on
  the unit cube solved with fastdiag, then the CLI's field set ``u``,
  ``u_exact`` and ``error`` on every node (what ``kronpde solve`` computes,
  minus reading the case file); its time, and the process's peak resident
  memory (VmHWM) after it;
* writing each format with :func:`kronpde.io.vtk.write_result` (a warm-up
  run and write of a small grid first, then the median of ``--repeats``
  writes; a write slower than 10 s is timed once), the time including the
  fsync and rename of the atomic write; the peak memory with output (VmHWM
  after the writes) against the one without; and, as the disk's speed, a
  bare write of the arrays' bytes in C order with an fsync, in the same
  process;
* the file's size against the raw bytes of the arrays (3 float64 per node);
* the time the vtk package's reader takes to read the file back (median of
  repeats), and a check that it reads ``u`` back exactly.

Formats: ``.vti`` and ``.vtr`` raw (the default) and ``.vti`` with zlib level
1; ``.vtu`` uncompressed (the default now) and zlib-compressed (meshio's
level, the default before) up to 128³; ``.vtk``; ``.xdmf`` (text) up to
64³; and, for the choice of writer, pyevtk's ``imageToVTK``/``gridToVTK``
(the same formats; no fsync) up to 128³ when pyevtk is installed.  Writing
is single-threaded (numpy copies, zlib, the file system); the solve uses
scipy.fft's default workers and the BLAS as configured.

The issue's goals at 256³: ``.vti``/``.vtr`` add at most half the wall time
of the run without output, peak memory at most 1.5x, file at most 1.25x
the raw arrays.  The whole-command version (``kronpde solve`` of a case) can
be added as another ``run_*`` function beside :func:`run_write`.

Usage: ``python scripts/bench_output.py [--quick] [--sizes 64 128 256] [--repeats 3]``
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from kronpde import Grid, Problem, solve
from kronpde.io.vtk import write_result

#: name -> (extension, write_result keywords, largest cells per axis, writer)
FORMATS = {
    "bare write": (".raw", {}, None, "bare"),
    "vti": (".vti", {}, None, "kronpde"),
    "vtr": (".vtr", {}, None, "kronpde"),
    "vti zlib-1": (".vti", {"compression": 1}, None, "kronpde"),
    "vtu": (".vtu", {}, None, "kronpde"),
    "vtu zlib (before)": (".vtu", {"compression": 6}, 128, "kronpde"),
    "vtk": (".vtk", {}, None, "kronpde"),
    "xdmf": (".xdmf", {}, 64, "kronpde"),
    "pyevtk vti": (".vti", {}, 128, "pyevtk"),
    "pyevtk vtr": (".vtr", {}, 128, "pyevtk"),
}
SLOW_WRITE_S = 10.0


def peak_rss_mb() -> float:
    """Peak resident memory of this process (VmHWM), MB."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    import resource  # no procfs: ru_maxrss is in kB on Linux

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def exact_solution(x, y, z):
    """``u = sin(pi x) sin(pi y) sin(pi z)``: ``-Δu = 3 pi² u``, zero on the cube's faces."""
    return np.sin(np.pi * x) * np.sin(np.pi * y) * np.sin(np.pi * z)


def run_without_output(cells: int) -> tuple[list[np.ndarray], dict[str, np.ndarray]]:
    """The run without output: what ``kronpde solve`` of such a case computes, minus the case file.

    The Poisson problem on the unit cube with ``cells`` cells per axis,
    Dirichlet faces, solved with fastdiag; then the CLI's field set on every
    node: ``u``, ``u_exact`` and ``error = u - u_exact``.
    """
    grid = Grid.box([cells] * 3)
    problem = Problem(grid, source=lambda x, y, z: 3 * np.pi**2 * exact_solution(x, y, z))
    u = np.asarray(solve(problem, "fastdiag").u, dtype=float)
    u_exact = exact_solution(*grid.node_coordinates())
    return grid.nodes, {"u": u, "u_exact": u_exact, "error": u - u_exact}


def bare_write(path: Path, fields: dict[str, np.ndarray]) -> Path:
    """The disk's speed: the arrays' bytes as they are (C order), written and fsynced."""
    with open(path, "wb") as fh:
        for a in fields.values():
            fh.write(memoryview(np.ascontiguousarray(a)).cast("B"))
        fh.flush()
        os.fsync(fh.fileno())
    return path


def write_with(writer: str, path: Path, nodes, fields, options) -> Path:
    """Write ``fields`` to ``path`` with kronpde or, for comparison, pyevtk."""
    if writer == "kronpde":
        return write_result(path, nodes, fields, **options)
    if writer == "bare":
        return bare_write(path, fields)
    from pyevtk.hl import gridToVTK, imageToVTK

    stem = str(path.with_suffix(""))
    if path.suffix == ".vti":
        spacing = tuple(float(x[1] - x[0]) for x in nodes)
        origin = tuple(float(x[0]) for x in nodes)
        return Path(imageToVTK(stem, origin=origin, spacing=spacing, pointData=fields))
    return Path(gridToVTK(stem, *nodes, pointData=fields))


def vtk_read(path: Path):
    """Read ``path`` with the vtk package's reader for its format; the output dataset."""
    if path.suffix == ".vtk":
        from vtkmodules.vtkIOLegacy import vtkUnstructuredGridReader as Reader
    elif path.suffix == ".xdmf":
        from vtkmodules.vtkIOXdmf2 import vtkXdmfReader as Reader
    else:
        from vtkmodules import vtkIOXML

        Reader = getattr(
            vtkIOXML,
            {
                ".vti": "vtkXMLImageDataReader",
                ".vtr": "vtkXMLRectilinearGridReader",
                ".vtu": "vtkXMLUnstructuredGridReader",
            }[path.suffix],
        )
    reader = Reader()
    reader.SetFileName(str(path))
    reader.Update()
    return reader.GetOutputDataObject(0)


def check_read(dataset, fields: dict[str, np.ndarray], suffix: str) -> str:
    """Compare what vtk read with ``u``: "exact", a difference, or "-"."""
    from vtkmodules.util.numpy_support import vtk_to_numpy

    array = dataset.GetPointData().GetArray("u") if dataset is not None else None
    if array is None:
        return "vtk could not read it"
    got = vtk_to_numpy(array)
    u = fields["u"]
    want = u.ravel(order="F") if suffix in (".vti", ".vtr") else u.ravel()
    if got.shape != want.shape:
        return f"shape {got.shape}"
    diff = float(np.max(np.abs(got - want)))
    return "exact" if diff == 0.0 else f"max diff {diff:.1e}"


def run_write(name: str, cells: int, repeats: int, folder: Path) -> dict:
    """One case, in this process: build, warm up, write, read back; the figures as a dict."""
    ext, options, _, writer = FORMATS[name]
    run_without_output(8)  # warm-up: imports, first use of the code paths
    t0 = time.perf_counter()
    nodes, fields = run_without_output(cells)
    build_s = time.perf_counter() - t0
    rss_without = peak_rss_mb()

    small_nodes, small = run_without_output(8)
    write_with(writer, folder / f"warm{ext}", small_nodes, small, options)
    target = folder / f"out{ext}"
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        written = write_with(writer, target, nodes, fields, options)
        times.append(time.perf_counter() - t0)
        if times[-1] > SLOW_WRITE_S:
            break
    rss_with = peak_rss_mb()
    size = written.stat().st_size

    read_times = [math.nan]
    check = "-"
    if writer != "bare":
        vtk_read(folder / f"warm{ext}")  # warm-up of the reader
        read_times = []
        dataset = None
        for _ in range(repeats if times[-1] < SLOW_WRITE_S else 1):
            t0 = time.perf_counter()
            dataset = vtk_read(written)
            read_times.append(time.perf_counter() - t0)
        check = check_read(dataset, fields, ext)
    raw = sum(a.nbytes for a in fields.values())
    return {
        "format": name,
        "cells": cells,
        "build_s": build_s,
        "write_s": statistics.median(times),
        "writes": len(times),
        "rss_without_mb": rss_without,
        "rss_with_mb": rss_with,
        "file_mb": size / 1e6,
        "raw_mb": raw / 1e6,
        "read_s": statistics.median(read_times),
        "check": check,
    }


def measure(name: str, cells: int, repeats: int) -> dict:
    """Run one case in a fresh subprocess (its own peak memory); its figures or its failure."""
    folder = Path(tempfile.mkdtemp(prefix="bench_output_"))
    try:
        proc = subprocess.run(
            [sys.executable, __file__, "--case", name, str(cells), str(repeats), str(folder)],
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["?"])[-1]
        return {"format": name, "cells": cells, "error": f"failed ({proc.returncode}): {tail}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def row(r: dict) -> str:
    if "error" in r:
        return f"| {r['cells']}³ | {r['format']} | {r['error']} |" + " |" * 8
    return (
        f"| {r['cells']}³ | {r['format']} | {r['write_s']:.3f} ({r['writes']}) | "
        f"{r['build_s']:.3f} | {r['write_s'] / r['build_s']:.2f} | "
        f"{r['rss_with_mb']:.0f} / {r['rss_without_mb']:.0f} | "
        f"{r['rss_with_mb'] / r['rss_without_mb']:.2f} | {r['file_mb']:.1f} | "
        f"{r['file_mb'] / r['raw_mb']:.3f} | "
        f"{'-' if math.isnan(r['read_s']) else format(r['read_s'], '.3f')} | {r['check']} |"
    )


#: The case of the whole-command table: 3-D, mixed Dirichlet/Neumann, auto = fastdiag.
COMMAND_CASE = """\
[grid]
cells = [{n}, {n}, {n}]
[equation]
source = "2.25*pi**2*sin(pi*x)*sin(pi*y)*cos(pi*z/2)"
[boundary]
default = {{ type = "dirichlet", value = 0 }}
zmin = {{ type = "neumann", value = 0 }}
[exact]
u = "sin(pi*x)*sin(pi*y)*cos(pi*z/2)"
"""

#: Formats of the whole-command table (the unstructured ones up to 128³: minutes beyond).
COMMAND_FORMATS = {".vti": None, ".vtr": None, ".vtu": 128, ".vtk": 128}

_TIMER = (
    "import resource, subprocess, sys, time\n"
    "t = time.perf_counter()\n"
    "code = subprocess.run(sys.argv[1:]).returncode\n"
    "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, code)"
)


def run_command(cells: int, ext: str | None, folder: Path) -> dict:
    """Time ``kronpde solve`` of :data:`COMMAND_CASE` as a user runs it (s, peak MB, file MB)."""
    case = folder / f"case{cells}.toml"
    case.write_text(COMMAND_CASE.format(n=cells))
    argv = [sys.executable, "-m", "kronpde.app.cli", "solve", str(case), "-q"]
    out = None
    if ext is not None:
        out = folder / f"out{cells}{ext}"
        argv += ["-o", str(out)]
    proc = subprocess.run(
        [sys.executable, "-c", _TIMER, *argv], capture_output=True, text=True, check=True
    )
    seconds, kib, code = proc.stdout.split()
    if int(code) != 0:
        msg = f"kronpde solve failed: {proc.stderr}"
        raise RuntimeError(msg)
    size = out.stat().st_size / 1e6 if out is not None else 0.0
    if out is not None:
        out.unlink()
    return {"seconds": float(seconds), "peak_mb": int(kib) / 1024, "file_mb": size}


def command_table(sizes: list[int], folder: Path) -> None:
    """Print the whole-command table: each format against the run without output."""
    print(
        "\n| cells | format | whole run s | / no output | peak MB | / no output | file MB | "
        "file / raw |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for cells in sizes:
        base = run_command(cells, None, folder)
        raw = 3 * 8 * (cells + 1) ** 3 / 1e6  # u, u_exact, error on every node
        print(
            f"| {cells}³ | none | {base['seconds']:.2f} | 1.00 | {base['peak_mb']:.0f} | 1.00 "
            "| - | - |",
            flush=True,
        )
        for ext, largest in COMMAND_FORMATS.items():
            if largest is not None and cells > largest:
                continue
            r = run_command(cells, ext, folder)
            print(
                f"| {cells}³ | {ext} | {r['seconds']:.2f} | {r['seconds'] / base['seconds']:.2f} | "
                f"{r['peak_mb']:.0f} | {r['peak_mb'] / base['peak_mb']:.2f} | {r['file_mb']:.0f} | "
                f"{r['file_mb'] / raw:.3f} |",
                flush=True,
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="16³ and 32³, for a smoke run")
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 256])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--formats", nargs="+", choices=list(FORMATS), default=list(FORMATS))
    parser.add_argument(
        "--no-limits", action="store_true", help="every format at every size (slow formats too)"
    )
    parser.add_argument(
        "--command", action="store_true", help="only the whole-command table (kronpde solve)"
    )
    parser.add_argument("--case", nargs=4, help=argparse.SUPPRESS)  # the subprocess's job
    args = parser.parse_args(argv)
    if args.case:
        name, cells, repeats, folder = args.case
        print(json.dumps(run_write(name, int(cells), int(repeats), Path(folder))))
        return 0
    sizes = [16, 32] if args.quick else args.sizes
    repeats = 2 if args.quick else args.repeats
    if args.command:
        import tempfile

        print(f"cores {os.cpu_count()}; load average {os.getloadavg()[0]:.2f} at the start")
        with tempfile.TemporaryDirectory() as tmp:
            command_table(sizes, Path(tmp))
        print(f"\nload average {os.getloadavg()[0]:.2f} at the end")
        return 0
    try:
        import pyevtk  # noqa: F401

        formats = args.formats
    except ImportError:
        formats = [f for f in args.formats if FORMATS[f][3] != "pyevtk"]

    print(
        f"cores {os.cpu_count()}; load average {os.getloadavg()[0]:.2f} at the start; "
        "writing is single-threaded; times in s, median of the writes counted in brackets; "
        "memory: peak resident MB (VmHWM) with output / without (after building the fields)\n"
    )
    print(
        "| cells | format | write s (n) | run s | write/run | peak MB with / without | "
        "ratio | file MB | file/raw | vtk read s | vtk read of u |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for cells in sizes:
        for name in formats:
            largest = FORMATS[name][2]
            if largest is not None and cells > largest and not (args.quick or args.no_limits):
                continue
            print(row(measure(name, cells, repeats)), flush=True)
    print(f"\nload average {os.getloadavg()[0]:.2f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
