"""The checks every layer shares: real numbers, counts, one of these choices."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

__all__ = ["choices_message", "is_count", "is_real", "option_message"]


def is_real(value: Any) -> bool:
    """Whether ``value`` is a real number (Python or NumPy), not a bool.

    >>> is_real(2), is_real(2.5), is_real(True), is_real("2"), is_real(1j)
    (True, True, False, False, False)
    """
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)


def is_count(value: Any, minimum: int | None = 0) -> bool:
    """Whether ``value`` is an integer (Python or NumPy), not a bool, and ``>= minimum``.

    ``minimum=None`` asks only whether ``value`` is an integer.

    >>> is_count(3, 1), is_count(0, 1), is_count(2.0), is_count(False), is_count(-2, None)
    (True, False, False, False, True)
    """
    return (
        isinstance(value, int | np.integer)
        and not isinstance(value, bool)
        and (minimum is None or value >= minimum)
    )


def _listed(choices: Iterable[Any], sep: str = ", ") -> str:
    """Join the choices as the messages list them: ``str`` of each, ``sep`` between."""
    return sep.join(str(c) for c in choices)


def choices_message(subject: str, value: Any, choices: Iterable[Any], sep: str = ", ") -> str:
    """Return the one wording of "``subject`` must be one of these choices".

    >>> choices_message("stretch", "x", ["uniform", "tanh"])
    "stretch must be one of uniform, tanh; got 'x'"
    """
    return f"{subject} must be one of {_listed(choices, sep)}; got {value!r}"


def option_message(
    owner: str, option: str, value: Any, choices: Iterable[Any], note: str = ""
) -> str:
    """Return the one wording of "option ``option`` of ``owner`` must be one of these choices".

    Every method (and backend) says a bad option value this way: its name
    first, then the option, the allowed values, an optional ``note`` on them,
    and the value given as ``option=value``.

    Parameters
    ----------
    owner : str
        Who takes the option (a method name such as ``"amg-cg"``, or
        ``"petsc backend: amg-cg"``).
    option : str
        The option's name.
    value : object
        The value given.
    choices : iterable
        The allowed values.
    note : str, optional
        A few words on the choices (printed in parentheses after them).

    Examples
    --------
    >>> option_message("direct", "permc_spec", "METIS", ["auto", "COLAMD"])
    "direct: option permc_spec must be one of auto, COLAMD; got permc_spec='METIS'"
    >>> option_message("amg-cg", "cycle", "AMLI", ["V", "W"], "AMLI needs flexible GMRES")
    "amg-cg: option cycle must be one of V, W (AMLI needs flexible GMRES); got cycle='AMLI'"
    """
    about = f" ({note})" if note else ""
    listed = _listed(choices)
    return f"{owner}: option {option} must be one of {listed}{about}; got {option}={value!r}"


def sum_is_finite(values: np.ndarray) -> bool:
    """Whether the sum of ``values`` is finite: then every value is, proven in one pass.

    NaN or an infinity makes the sum NaN or infinite, and the sum of finite
    values is finite unless it overflows; so False means "scan them" (some
    value is not finite, or the sum overflowed), never "one is not finite".
    """
    with np.errstate(all="ignore"):
        return bool(np.isfinite(np.add.reduce(values, axis=None)))
