"""Exception types of kronpde.

Every error kronpde raises on purpose derives from :class:`KronpdeError` and
also from the builtin exception a caller would naturally catch, so that
``except ValueError`` keeps working.
"""

from __future__ import annotations


class KronpdeError(Exception):
    """Base class of all errors raised by kronpde on purpose."""


class GridError(KronpdeError, ValueError):
    """An impossible grid or boundary set-up (bad cells, bounds, faces)."""


class SolverError(KronpdeError, RuntimeError):
    """A solver could not be set up or run (bad options, too large, library failure)."""


class CaseError(KronpdeError, ValueError):
    """An invalid case file; carries the file and the key it concerns.

    Parameters
    ----------
    message : str
        What is wrong and what is allowed.
    file : str, optional
        The case file's path as the user gave it.
    key : str, optional
        The offending key, e.g. ``"[grid] cells"``.
    """

    def __init__(self, message: str, *, file: str | None = None, key: str | None = None):
        self.file = file
        self.key = key
        self.detail = message
        prefix = ""
        if file:
            prefix += f"{file}: "
        if key:
            prefix += f"{key}: "
        super().__init__(prefix + message)
