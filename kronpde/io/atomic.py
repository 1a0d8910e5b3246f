"""Write a file atomically: to a temporary file in the target's folder, then rename.

One mechanism for every file kronpde writes (results, pictures, index files):
on any failure an existing file at the target is left as it was and the
temporary is removed; the result gets the permissions of the file it replaces,
else those ``open`` would give a new file under the current umask.

A ``SIGTERM`` or ``SIGINT`` during the write removes the temporary too.  While
a write runs in the main thread, a handler for both signals is installed (and
the previous one restored afterwards) that makes the process react as it would
have without it, only after the clean-up:

* a signal whose previous disposition was the default action (``SIGTERM``
  normally) unwinds the write, removes the temporary, restores the default and
  raises the signal again, so the process ends killed by it (exit status 143
  for ``SIGTERM`` in a shell);
* a previous Python handler (``SIGINT``'s, which raises ``KeyboardInterrupt``,
  or an application's own) is called; whatever it raises propagates through
  the write after the clean-up, and if it returns the write carries on;
* an ignored signal stays ignored, and a handler not installed from Python
  (``signal.getsignal`` gives None) is left in place.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import signal
import stat
import tempfile
import threading
from collections.abc import Callable, Iterator
from types import FrameType

__all__ = ["new_file_mode", "replace_atomically", "try_create"]

#: The signals during which a write cleans up after itself.
_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def new_file_mode(target: pathlib.Path) -> int:
    """Return the mode of the result: the replaced file's, else what ``open`` would create."""
    with contextlib.suppress(OSError):
        return stat.S_IMODE(os.stat(target).st_mode)
    umask = None
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("Umask:"):
                umask = int(line.split()[1], 8)
    if umask is None:  # no procfs: read it the only portable way (not thread-safe)
        umask = os.umask(0o022)
        os.umask(umask)
    return 0o666 & ~umask


def _fsync(path: str | os.PathLike[str], flags: int) -> None:
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _Terminated(BaseException):
    """Raised by the handler for a signal whose previous action was the default one.

    A ``BaseException`` so that ``except Exception`` in a writer does not stop it.
    """

    def __init__(self, signum: int):
        super().__init__(f"signal {signum}")
        self.signum = signum


@contextlib.contextmanager
def _signals_unwind() -> Iterator[None]:
    """Make SIGTERM and SIGINT raise inside the block (see the module docstring)."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set (and only run) in the main thread
        return
    previous: dict[int, object] = {}

    def handler(signum: int, frame: FrameType | None) -> None:
        before = previous[signum]
        if callable(before):
            before(signum, frame)  # its exception, if any, unwinds the write
            return
        raise _Terminated(signum)

    try:
        for signum in _SIGNALS:
            before = signal.getsignal(signum)
            if before is None or before == signal.SIG_IGN:
                continue  # not ours to change: a C-level handler, or ignored
            previous[signum] = before
            signal.signal(signum, handler)
        yield
    except _Terminated as exc:
        for signum, before in previous.items():
            signal.signal(signum, before)
        previous.clear()
        signal.raise_signal(exc.signum)  # the default action: the process ends here
        raise SystemExit(128 + exc.signum) from None  # only if the signal is blocked
    finally:
        for signum, before in previous.items():
            signal.signal(signum, before)


@contextlib.contextmanager
def _signals_blocked() -> Iterator[None]:
    """Hold SIGTERM and SIGINT back (where POSIX allows) until the block ends."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    try:
        yield
    finally:
        # A signal that came meanwhile runs its (Python) handler inside this call.
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _temporary(target: pathlib.Path, suffix: str | None, error: type[Exception]) -> tuple[int, str]:
    """Create the empty temporary beside ``target``: its descriptor and path."""
    try:
        return tempfile.mkstemp(
            dir=target.parent,
            prefix=f".{target.name}.",
            suffix=target.suffix if suffix is None else suffix,
        )
    except OSError as exc:
        msg = (
            f"cannot write {str(target)!r}: no temporary file can be created in "
            f"{str(target.parent)!r} ({exc.strerror or exc})"
        )
        raise error(msg) from exc


def try_create(target: pathlib.Path, error: type[Exception], *, suffix: str | None = None) -> None:
    """Create and remove the temporary a write of ``target`` would create (a trial write).

    Raises ``error``, with the sentence the write itself would give, when the
    folder does not take a new file (a read-only mount, ``/proc``, a full quota):
    a check before a long solve then fails as the write after it would.
    """
    target = pathlib.Path(target)
    with _signals_blocked():  # no signal between creating the file and removing it
        fd, tmp = _temporary(target, suffix, error)
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def replace_atomically(
    target: pathlib.Path,
    write: Callable[[str], None],
    error: type[Exception],
    *,
    suffix: str | None = None,
) -> pathlib.Path:
    """Have ``write(tmp)`` write a temporary file next to ``target``, then rename it onto it.

    Parameters
    ----------
    target : pathlib.Path
        The file to create or replace.
    write : callable
        ``write(tmp_path)`` writes the whole content to ``tmp_path`` (a closed,
        empty file).
    error : exception class
        Raised, with one sentence naming ``target``, when the temporary cannot
        be created or ``write``, the sync or the rename fails.
    suffix : str, optional
        Suffix of the temporary (default ``target.suffix``; writers that pick
        the format by extension need it).

    Returns
    -------
    pathlib.Path
        ``target``.

    Notes
    -----
    A ``SIGTERM`` or ``SIGINT`` during the write removes the temporary and
    then has the effect it would have had (see the module docstring).
    ``KeyboardInterrupt`` and other exceptions that are not ``Exception``
    propagate unchanged after the clean-up.
    """
    target = pathlib.Path(target)
    with _signals_unwind():
        tmp = None
        try:
            with _signals_blocked():  # no signal between creating the file and knowing its name
                fd, tmp = _temporary(target, suffix, error)
                os.close(fd)
            write(tmp)
            _fsync(tmp, os.O_RDONLY)
            os.chmod(tmp, new_file_mode(target))
            os.replace(tmp, target)
            tmp = None
        except BaseException as exc:
            if tmp is None:  # nothing to remove: no temporary yet, or already renamed
                raise
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            if not isinstance(exc, Exception):
                raise
            msg = f"writing {str(target)!r} failed: {exc}"
            raise error(msg) from exc
    # The rename itself is durable only once the folder is synced; best effort.
    with contextlib.suppress(OSError):
        _fsync(target.parent, os.O_RDONLY)
    return target
