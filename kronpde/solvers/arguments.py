"""The argument checks every solve shares: vectors of unknowns, ``out=`` arrays, options."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from kronpde._checks import option_message
from kronpde.errors import OptionError

__all__ = ["check_choice", "check_option_keys", "check_vector", "out_array", "unknowns"]


def _shaped(v: object, n: int, shape: tuple[int, ...], name: str) -> np.ndarray:
    """Return ``v`` as an array, checked: real, of shape ``(n,)`` or ``shape``."""
    arr = np.asarray(v)
    if arr.dtype.kind not in "fiu" or not (arr.shape == (n,) or arr.shape == shape):
        msg = (
            f"{name} must be a real array of shape ({n},) or {shape}, got "
            f"{arr.dtype} of shape {arr.shape}"
        )
        raise OptionError(msg)
    return arr


def check_vector(v: object, n: int, shape: tuple[int, ...], name: str) -> np.ndarray:
    """Return a real finite array of shape ``(n,)`` or ``shape`` as a fresh flat float64 array.

    Raises
    ------
    OptionError
        For another shape, a non-real dtype, or NaN/infinity (a ``ValueError``).
    """
    arr = np.array(_shaped(v, n, shape, name), dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(arr)):
        msg = f"{name} contains NaN or infinity ({np.count_nonzero(~np.isfinite(arr))} entries)"
        raise OptionError(msg)
    return arr


def unknowns(v: object, n: int, shape: tuple[int, ...], name: str) -> np.ndarray:
    """Return ``v`` flat as float64 without a copy where it already is one (no NaN scan).

    Raises
    ------
    OptionError
        For another shape or a non-real dtype.
    """
    arr = _shaped(v, n, shape, name)
    return np.ascontiguousarray(arr, dtype=np.float64).reshape(-1)


def out_array(out: object, n: int, shape: tuple[int, ...]) -> np.ndarray:
    """Return a flat view of ``out``, checked: float64, C-contiguous, writable, n unknowns.

    Raises
    ------
    OptionError
        For anything else.
    """
    if not (
        isinstance(out, np.ndarray)
        and out.dtype == np.float64
        and out.flags.c_contiguous
        and out.flags.writeable
        and (out.shape == (n,) or out.shape == shape)
    ):
        got = (
            f"{out.dtype} of shape {out.shape}"
            if isinstance(out, np.ndarray)
            else type(out).__name__
        )
        msg = (
            f"out must be a writable C-contiguous float64 array of shape ({n},) or {shape}, "
            f"got {got}"
        )
        raise OptionError(msg)
    return out.reshape(-1)


def check_option_keys(method: str, options: Mapping[str, Any], allowed: Sequence[str]) -> None:
    """Raise an :class:`~kronpde.errors.OptionError` for an option ``method`` does not take."""
    unknown = [k for k in options if k not in allowed]
    if unknown:
        msg = (
            f"{method}: unknown option{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(repr(k) for k in unknown)}; the options of {method!r} are "
            f"{', '.join(allowed) if allowed else '(none)'}"
        )
        raise OptionError(msg)


def check_choice(
    owner: str, option: str, value: object, choices: Sequence[Any], note: str = ""
) -> None:
    """Raise an :class:`~kronpde.errors.OptionError` if ``value`` is not one of ``choices``.

    The message is :func:`kronpde._checks.option_message`'s (``note`` included).

    Examples
    --------
    >>> check_choice("cg", "jacobi", "auto", ("auto", True, False))
    >>> check_choice("cg", "jacobi", "yes", ("auto", True, False))
    Traceback (most recent call last):
        ...
    kronpde.errors.OptionError: cg: option jacobi must be one of auto, True, False; got jacobi='yes'
    """
    if value not in choices:
        msg = option_message(owner, option, value, choices, note)
        raise OptionError(msg)
