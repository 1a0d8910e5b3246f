"""The checks every layer shares: real numbers, counts, one of these choices."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

__all__ = ["choices_message", "is_count", "is_real"]


def is_real(value: Any) -> bool:
    """Whether ``value`` is a real number (Python or NumPy), not a bool.

    >>> is_real(2), is_real(2.5), is_real(True), is_real("2"), is_real(1j)
    (True, True, False, False, False)
    """
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)


def is_count(value: Any, minimum: int = 0) -> bool:
    """Whether ``value`` is an integer (Python or NumPy), not a bool, and ``>= minimum``.

    >>> is_count(3, 1), is_count(0, 1), is_count(2.0), is_count(False)
    (True, False, False, False)
    """
    return (
        isinstance(value, int | np.integer)
        and not isinstance(value, bool)
        and value >= minimum
    )


def choices_message(subject: str, value: Any, choices: Iterable[Any], sep: str = ", ") -> str:
    """Return the one wording of "``subject`` must be one of these choices".

    >>> choices_message("stretch", "x", ["uniform", "tanh"])
    "stretch must be one of uniform, tanh; got 'x'"
    """
    return f"{subject} must be one of {sep.join(str(c) for c in choices)}; got {value!r}"

