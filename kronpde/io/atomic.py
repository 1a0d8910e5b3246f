"""Write a file atomically: to a temporary file in the target's folder, then rename.

One mechanism for every file kronpde writes (results, pictures): on any
failure an existing file at the target is left as it was and the temporary is
removed; the result gets the permissions of the file it replaces, else those
``open`` would give a new file under the current umask.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import stat
import tempfile
from collections.abc import Callable

__all__ = ["new_file_mode", "replace_atomically"]


def new_file_mode(target: pathlib.Path) -> int:
    """Mode of the result: the replaced file's, else what ``open`` would create."""
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
    """
    try:
        fd, tmp = tempfile.mkstemp(
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
    try:
        os.close(fd)
        write(tmp)
        _fsync(tmp, os.O_RDONLY)
        os.chmod(tmp, new_file_mode(target))
        os.replace(tmp, target)
    except BaseException as exc:
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
