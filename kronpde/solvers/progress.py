"""Progress lines of a long iterative solve (the command line prints them to standard error)."""

from __future__ import annotations

import math
import time
from typing import TextIO

__all__ = ["PROGRESS_INTERVAL", "ProgressLines"]

#: Seconds between two progress lines of :class:`ProgressLines`.
PROGRESS_INTERVAL = 1.0


class ProgressLines:
    """A progress monitor: ``monitor(iteration, relative_residual)`` prints a line now and then.

    At most one line every ``interval`` seconds (default :data:`PROGRESS_INTERVAL`),
    ``iteration N   relative residual R   T s``; with ``stream=None`` it prints
    nothing.  The command line passes one as ``monitor`` to every iterative solve,
    serial or PETSc.

    Parameters
    ----------
    stream : text stream or None
        Where the lines go (the command line: standard error).
    interval : float, optional
        Seconds between lines (default :data:`PROGRESS_INTERVAL`).
    """

    def __init__(self, stream: TextIO | None, interval: float | None = None):
        self.stream = stream
        self.interval = PROGRESS_INTERVAL if interval is None else float(interval)
        self.start = self.last = time.perf_counter()

    def __call__(self, iteration: int, relative_residual: float) -> None:
        """Print a line if ``interval`` seconds have passed since the last one."""
        if self.stream is None:
            return
        now = time.perf_counter()
        if now - self.last < self.interval:
            return
        self.last = now
        shown = f"{relative_residual:.3e}" if math.isfinite(relative_residual) else "nan"
        print(
            f"  iteration {iteration:>7,}   relative residual {shown}   {now - self.start:7.1f} s",
            file=self.stream,
            flush=True,
        )
