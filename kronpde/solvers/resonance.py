"""How far a shift ``c`` is from the spectrum: the exact fast solve's check of ``c < 0``.

The fast solve divides by the eigenvalues ``λ + c`` of every mode.  With
``c < 0`` one of them may be zero (``-c`` an eigenvalue of the diffusion
operator: the problem is singular, a resonance) or nearly so.
:func:`resonance` decides from the smallest and largest ``|λ + c|``:

* singular to working precision when ``min |λ + c| <= n eps max |λ + c|``
  (``n`` the longest axis' unknowns, ``eps = 2**-52``): the eigenvalues are
  computed to a few ``eps max |λ|`` (``n eps`` covers the dense ``eigh`` path's
  backward error), so such a ``λ + c`` cannot be told from zero;
* nearly singular when the condition number ``κ = max |λ + c| / min |λ + c|``
  exceeds :data:`WARN_CONDITION`: the solve may then lose more than half of
  the 16 digits (its relative error is up to about ``κ eps``), and a warning
  gives ``κ``.

:func:`condition_verdict` judges a condition number estimated otherwise (the
``direct`` method's, from its LU factors) by the same two thresholds.
"""

from __future__ import annotations

import math

import numpy as np

from kronpde.errors import SolverError

__all__ = ["EPS", "WARN_CONDITION", "condition_verdict", "not_definite_message", "resonance"]

#: The machine epsilon of float64, ``2**-52``.
EPS = float(np.finfo(np.float64).eps)

#: Above this condition number ``max|λ + c| / min|λ + c|`` a solve with ``c < 0`` warns.
WARN_CONDITION = 1e8


def resonance(values: np.ndarray, shift: float, n: int) -> tuple[float, str | None]:
    """Return the condition number of ``A`` from its eigenvalues, and a warning if it is large.

    Parameters
    ----------
    values : ndarray
        ``λ + c`` of every mode (each distinct one at least once), not divided yet.
    shift : float
        ``c`` (for the messages).
    n : int
        The longest axis' unknowns (the tolerance ``n eps``).

    Returns
    -------
    condition : float
        ``κ = max |λ + c| / min |λ + c|``.
    warning : str or None
        The sentence of a solve with ``κ > WARN_CONDITION`` (None below).

    Raises
    ------
    SolverError
        Where ``min |λ + c| <= n eps max |λ + c|``: ``A`` is singular to
        working precision (``-c`` is an eigenvalue).

    Examples
    --------
    >>> lam = np.array([1.0, 4.0, 9.0])
    >>> resonance(lam - 2.0, -2.0, 3)
    (7.0, None)
    >>> resonance(lam - 4.0, -4.0, 3)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    kronpde.errors.SolverError: fastdiag: A is singular to working precision with shift c = -4...
    """
    magnitude = np.abs(values)
    smallest = float(magnitude.min())
    largest = float(magnitude.max())
    where = np.unravel_index(int(np.argmin(magnitude)), magnitude.shape)
    nearest = float(values[where]) - shift  # the eigenvalue of the diffusion operator
    tolerance = n * EPS * largest
    if not smallest > tolerance:
        msg = (
            f"fastdiag: A is singular to working precision with shift c = {shift:.17g}: "
            f"-c is an eigenvalue of the diffusion operator ({nearest:.17g}); the smallest "
            f"|λ + c| over the modes is {smallest:.3g}, not above n eps max|λ + c| = "
            f"{n} * {EPS:.3g} * {largest:.3g} = {tolerance:.3g}; move c away from it "
            "(the problem has no unique solution there)"
        )
        raise SolverError(msg)
    condition = largest / smallest
    if condition <= WARN_CONDITION:
        return condition, None
    return condition, (
        f"A is nearly singular with shift c = {shift:.10g}: -c is within {smallest:.3g} "
        f"of the eigenvalue {nearest:.10g} of the diffusion operator, and the condition "
        f"number max|λ + c| / min|λ + c| is {condition:.4e} (above {WARN_CONDITION:.0e}): "
        f"the solution may have lost about {math.log10(condition):.1f} of its 16 digits to "
        "rounding and is very sensitive to c and the data."
    )


def condition_verdict(
    condition: float, shift: float, n: int, method: str, how: str
) -> str | None:
    """Judge an estimated condition number ``κ`` as :func:`resonance` judges the exact one.

    ``κ >= 1 / (n eps)`` is singular to working precision (a
    :class:`~kronpde.errors.SolverError`), ``κ > WARN_CONDITION`` returns the
    warning's sentence, a smaller ``κ`` None.  ``how`` says what ``κ`` is (e.g.
    "the 1-norm estimate from the LU factors").

    Examples
    --------
    >>> condition_verdict(1e3, -5.0, 32, "direct", "an estimate") is None
    True
    """
    limit = 1.0 / (n * EPS)
    if not condition < limit:
        msg = (
            f"{method}: A is singular to working precision with shift c = {shift:.17g}: "
            f"its condition number ({how}) is {condition:.3g}, at least 1/(n eps) = "
            f"{limit:.3g} (-c is an eigenvalue of the diffusion operator, to rounding); "
            "move c away from it (the problem has no unique solution there)"
        )
        raise SolverError(msg)
    if condition <= WARN_CONDITION:
        return None
    return (
        f"A is nearly singular with shift c = {shift:.10g}: its condition number ({how}) "
        f"is {condition:.4e} (above {WARN_CONDITION:.0e}): the solution may have lost about "
        f"{math.log10(condition):.1f} of its 16 digits to rounding and is very sensitive to "
        "c and the data."
    )


def not_definite_message(shift: float, lowest: float) -> str:
    """Return the error of a fourth-order combination that is not positive definite (``c >= 0``).

    The serial fast solve and the distributed one both raise it.
    """
    return (
        f"fastdiag: the operator is not positive definite with shift c = {shift}: "
        f"its smallest eigenvalue is {lowest:.3g} (the fourth-order scheme needs "
        "a_i lambda_i <= 1/3, which a Robin face with a large alpha h / beta can "
        "break: refine the grid or use order 2)"
    )
