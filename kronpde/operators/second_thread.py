"""The second thread of the NumPy passes that split their work into two halves.

NumPy releases the GIL inside its loops, so two threads that each run a half of
a pass over blocks of planes (or half of an axis' apply) use both cores of a
2-core machine, like the fast solve's two FFT workers.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

__all__ = ["THREADED_SIZE", "second_thread"]

#: Entries from which a pass splits its work between two threads.
THREADED_SIZE = 1 << 18

_POOL: tuple[int, ThreadPoolExecutor | None] | None = None


def second_thread() -> ThreadPoolExecutor | None:
    """Return this process' second thread (None on one core).

    Made again after a fork (a child has no thread of its parent's pool).
    """
    global _POOL
    pid = os.getpid()
    if _POOL is None or _POOL[0] != pid:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
        pool = ThreadPoolExecutor(1, thread_name_prefix="kronpde-apply") if cores >= 2 else None
        _POOL = (pid, pool)
    return _POOL[1]
