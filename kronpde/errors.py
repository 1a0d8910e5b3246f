"""Exception types of kronpde.

Every error kronpde raises on purpose derives from :class:`KronpdeError` and
also from the builtin exception a caller would naturally catch, so that
``except ValueError`` keeps working.  The class says what was wrong:

=====================  ==========================================================
class                  raised for
=====================  ==========================================================
:class:`GridError`     an impossible grid or boundary set-up (cells, bounds,
                       node coordinates, faces, a condition's type)
:class:`DataError`     unusable equation or boundary data (source, shift,
                       coefficient, a face's value: wrong type or shape, not
                       finite, not positive)
:class:`OptionError`   a bad solver argument: an unknown method, backend or
                       option, an option value out of range, a bad tolerance
:class:`SolverError`   a method that cannot run here (the problem is not of
                       its kind, its memory estimate is too large, a library
                       failed); a ``RuntimeError``
:class:`CaseError`     an invalid case file, with the file and the key
=====================  ==========================================================

:class:`GridError` and :class:`DataError` carry a ``subject``: the name of the
argument in the model's own words (``"cells"``, ``"lower"``, ``"nodes"``, a
face such as ``"xmin"``, ``"source"``, ``"shift"``, ``"coefficient"``) and,
where it matters, the ``axis``, and a ``detail``: the message without the
argument's name, so that the case reader can name the key of the file instead
without checking anything itself.
"""

from __future__ import annotations


class KronpdeError(Exception):
    """Base class of all errors raised by kronpde on purpose."""


class _SubjectError(KronpdeError):
    """An error about one named argument of the model (see the module docstring)."""

    def __init__(
        self,
        message: str = "",
        *,
        subject: str | None = None,
        axis: int | None = None,
        detail: str | None = None,
    ):
        super().__init__(message)
        self.subject = subject
        self.axis = axis
        if detail is None:  # "cells: must be ..." -> "must be ..."
            prefix = f"{subject}: "
            detail = message[len(prefix) :] if subject and message.startswith(prefix) else message
        #: The message without the name of the argument it is about (for the case reader,
        #: which names the key of the file instead).
        self.detail = detail


class GridError(_SubjectError, ValueError):
    """An impossible grid or boundary set-up (bad cells, bounds, faces, node coordinates)."""


class DataError(_SubjectError, ValueError):
    """Unusable equation or boundary data: source, shift, coefficient or a face's value."""


class ExpressionError(DataError):
    """An expression that is not allowed, cannot be parsed, or is not finite.

    A :class:`DataError`: where the model knows which argument the expression
    was given for, ``subject`` names it (:mod:`kronpde.expr.expression`).
    """


class OptionError(KronpdeError, ValueError):
    """A bad solver argument: unknown method, backend or option, or a value out of range."""


class SolverError(KronpdeError, RuntimeError):
    """A method cannot run here: not its kind of problem, too large, or a library failed."""


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
