"""The first iterative solve after installing against a later one (issue 24, item 3).

Runs ``kronpde solve`` on a 64³ ``cg`` case (``source = 1``, Dirichlet faces) in fresh
processes with an empty numba cache (``NUMBA_CACHE_DIR`` pointed at a new temporary
folder), then, once the background compilation has filled the cache, again; prints
``solve_seconds`` and the wall time of each and the differences (acceptance: the first at
most 1.5 s more than a later one).

    PYTHONPATH=$PWD python scripts/bench_first_run.py [--cells 64] [--later 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CASE = """\
[grid]
cells = [{m}, {m}, {m}]
[equation]
source = "1"
[boundary]
default = {{ type = "dirichlet", value = 0.0 }}
[solver]
method = "cg"
rtol = 1e-8
"""

PROBE = (
    "from kronpde.operators.kernels import cached_kernels; "
    "from kronpde.app.cli.solve import RUN_KERNELS; "
    "print(len(RUN_KERNELS[False]) - len(cached_kernels(RUN_KERNELS[False])))"
)


def run(case: Path, env: dict[str, str]) -> tuple[float, float, str]:
    """Solve once in a fresh process: (solve_seconds, wall seconds, standard error)."""
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "kronpde", "solve", str(case), "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - t0
    record = json.loads(done.stdout.splitlines()[-1])
    return record["solve_seconds"], wall, done.stderr.strip()


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=64)
    parser.add_argument("--later", type=int, default=2, help="later runs to measure")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        case = Path(tmp) / "cg.toml"
        case.write_text(CASE.format(m=args.cells))
        env = dict(os.environ, NUMBA_CACHE_DIR=str(Path(tmp) / "numba-cache"))
        first = run(case, env)
        print(f"first  solve {first[0]:.3f} s, wall {first[1]:.2f} s; stderr: {first[2]!r}")
        t0 = time.perf_counter()  # wait for the background compilation to fill the cache
        while time.perf_counter() - t0 < 300:
            probe = subprocess.run(
                [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True
            )
            if probe.stdout.strip() == "0":  # every kernel the run loads
                break
            time.sleep(1.0)
        print(f"cache filled {time.perf_counter() - t0:.1f} s after the first run ended")
        later = [run(case, env) for _ in range(args.later)]
        for solve, wall, err in later:
            print(f"later  solve {solve:.3f} s, wall {wall:.2f} s; stderr: {err!r}")
        best = min(later)
        print(
            f"first - later: solve {first[0] - best[0]:+.3f} s, "
            f"wall {first[1] - min(w for _, w, _ in later):+.2f} s (acceptance: at most 1.5 s)"
        )


if __name__ == "__main__":
    main()
