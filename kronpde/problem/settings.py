"""Solver settings and their checks: one place for ``method``, ``rtol``, ``atol``, ``maxiter``.

``rtol`` is a number or :data:`AUTO` (``"auto"``: stop the iterative methods
when the certified algebraic error is a tenth of the estimated discretisation
error, see :mod:`kronpde.solvers.accuracy`).  ``"auto"`` is the default of case
files and the command line; the Python API keeps the numeric default ``1e-8``.

The case reader, the command line, the solvers and the PETSc backend all
validate these through the functions here, so every layer gives the same
message for the same mistake.  The method *name* is only stored here: which
names exist is the solvers' registry's business (:data:`kronpde.solvers.METHODS`),
checked by whoever hands the settings to a solver.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from kronpde._checks import is_count, is_real
from kronpde.errors import OptionError

__all__ = ["AUTO", "SolverSettings", "check_maxiter", "check_rtol", "check_tolerance"]

#: The value of ``rtol`` that asks for a stop at the level of the discretisation error.
AUTO = "auto"


def check_tolerance(value: object, name: str, *, below_one: bool = False) -> float:
    """Return a tolerance as a float, or an :class:`~kronpde.errors.OptionError`.

    Parameters
    ----------
    value : object
        The tolerance.
    name : str
        Its name in messages (``"rtol"``, ``"atol"``, ``"[solver] rtol"``, ``"--rtol"``).
    below_one : bool
        The stricter rule of case files and the command line, ``0 < value < 1``
        (a relative tolerance of 0 or 1 there is a mistake); otherwise any
        finite ``value >= 0`` (the Python API: ``rtol=0`` with a ``maxiter``
        runs a fixed number of iterations).

    Examples
    --------
    >>> check_tolerance(1e-8, "rtol")
    1e-08
    >>> check_tolerance(2.0, "--rtol", below_one=True)
    Traceback (most recent call last):
        ...
    kronpde.errors.OptionError: --rtol: must be > 0 and < 1, got 2
    """
    ok = is_real(value) and math.isfinite(value)
    if below_one:
        if not (ok and 0.0 < value < 1.0):
            shown = f"{value:g}" if ok else repr(value)
            msg = f"{name}: must be > 0 and < 1, got {shown}"
            raise OptionError(msg)
    elif not (ok and value >= 0.0):
        msg = f"{name} must be a finite number >= 0, got {value!r}"
        raise OptionError(msg)
    return float(value)


def check_rtol(value: object, name: str, *, below_one: bool = False) -> float | str:
    """Return ``rtol`` as a float, or :data:`AUTO`; else an :class:`~kronpde.errors.OptionError`.

    Parameters
    ----------
    value : object
        A number, or the string ``"auto"`` (a string holding a number, as the
        command line passes it, is read as that number).
    name : str
        Its name in messages.
    below_one : bool
        The rule of case files and the command line (:func:`check_tolerance`).

    Examples
    --------
    >>> check_rtol("auto", "rtol"), check_rtol("1e-6", "--rtol", below_one=True)
    ('auto', 1e-06)
    >>> check_rtol("small", "--rtol", below_one=True)
    Traceback (most recent call last):
        ...
    kronpde.errors.OptionError: --rtol: must be "auto" or a number > 0 and < 1, got 'small'
    """
    if isinstance(value, str):
        text = value.strip()
        if text == AUTO:
            return AUTO
        try:
            value = float(text)
        except ValueError:
            rule = "> 0 and < 1" if below_one else ">= 0"
            sep = ": " if below_one else " "
            msg = f'{name}{sep}must be "auto" or a number {rule}, got {text!r}'
            raise OptionError(msg) from None
    return check_tolerance(value, name, below_one=below_one)


def check_maxiter(value: object, name: str = "maxiter", *, positive: bool = False) -> int | None:
    """``maxiter`` as an int (None stays None), or an :class:`~kronpde.errors.OptionError`.

    ``positive`` is the rule of case files and the command line (``>= 1``);
    otherwise ``>= 0``.
    """
    if value is None:
        return None
    if not is_count(value, None):
        msg = f"{name}: must be an integer, got {value!r}"
        raise OptionError(msg)
    n = int(value)
    if n < (1 if positive else 0):
        msg = (
            f"{name}: must be a positive integer, got {n}"
            if positive
            else f"{name} must be >= 0, got {n}"
        )
        raise OptionError(msg)
    return n


def check_stopping(
    rtol: object, atol: object, maxiter: object, estimate: object
) -> tuple[float | str, float, int | None]:
    """Check the stopping arguments of a solve (``rtol``, ``atol``, ``maxiter``, ``estimate``).

    The checks of ``solve()`` on every backend.

    Returns
    -------
    tuple
        ``rtol`` (a float or ``"auto"``), ``atol`` and ``maxiter``, checked.

    Raises
    ------
    OptionError
        For a bad value, or ``rtol="auto"`` with ``estimate=False`` (the rule
        needs the estimate).
    """
    rtol = check_rtol(rtol, "rtol")
    atol = check_tolerance(atol, "atol")
    maxiter = check_maxiter(maxiter)
    if estimate not in (None, True, False):
        msg = f"estimate must be None, True or False, got {estimate!r}"
        raise OptionError(msg)
    if rtol == AUTO and estimate is False:
        msg = (
            "rtol='auto' compares with an estimate of the discretisation error, which "
            "estimate=False forbids"
        )
        raise OptionError(msg)
    return rtol, atol, maxiter


@dataclass(frozen=True)
class SolverSettings:
    """How a case asks to be solved.

    Attributes
    ----------
    method : str
        A method name (``"auto"`` by default); checked against
        :data:`kronpde.solvers.METHODS` by whoever runs it.
    rtol : float or str
        Relative residual target of the iterative methods, or ``"auto"`` (the
        default of case files: stop at a tenth of the discretisation error).
    maxiter : int or None
        Iteration limit (None: the solver's default).
    """

    method: str = "auto"
    rtol: float | str = AUTO
    maxiter: int | None = None
