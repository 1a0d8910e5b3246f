"""Boundary condition types and the evaluation of boundary data.

A condition sits on one face of the box (one side of one axis).  Its data may
be a number, a callable of the coordinates, or an array over the face's nodes.

Conventions (see ``case-format.md``):

* ``Dirichlet(value)``: ``u = value``; the face's nodes are known, not unknowns.
* ``Neumann(value)``: ``du/dn = value`` with ``n`` the *outward* normal.
* ``Robin(alpha, beta, value)``: ``alpha*u + beta*du/dn = value`` (outward normal).
* ``Periodic()``: on both faces of an axis, or on neither.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from kronpde.errors import GridError

BoundaryData = float | Callable[..., np.ndarray] | np.ndarray


def _check_data(value: object, what: str) -> None:
    if callable(value):
        return
    if isinstance(value, bool):
        raise GridError(f"{what}: a boolean is not boundary data; give a number, callable or array")
    if isinstance(value, (int, float, np.integer, np.floating)):
        if not math.isfinite(float(value)):
            raise GridError(f"{what}: must be finite, got {value!r}")
        return
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise GridError(
            f"{what}: must be a number, a callable of the coordinates or an array, "
            f"got {type(value).__name__}"
        ) from exc
    if not np.all(np.isfinite(arr)):
        raise GridError(f"{what}: array contains non-finite values")


def _check_coefficient(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise GridError(f"Robin {name}: must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise GridError(f"Robin {name}: must be finite, got {value!r}")
    return value


@dataclass(frozen=True)
class Dirichlet:
    """Prescribed value ``u = value`` on the face."""

    value: BoundaryData = 0.0
    kind = "dirichlet"

    def __post_init__(self) -> None:
        _check_data(self.value, "Dirichlet value")


@dataclass(frozen=True)
class Neumann:
    """Prescribed outward normal derivative ``du/dn = value`` on the face."""

    value: BoundaryData = 0.0
    kind = "neumann"

    def __post_init__(self) -> None:
        _check_data(self.value, "Neumann value")


@dataclass(frozen=True)
class Robin:
    """Mixed condition ``alpha*u + beta*du/dn = value`` (outward normal).

    ``beta`` must be non-zero (``beta = 0`` is a Dirichlet condition: use
    :class:`Dirichlet`) and ``alpha/beta >= 0``, which keeps the operator
    symmetric positive (semi)definite: with ``alpha/beta < 0`` the face feeds
    energy in and the problem may have no solution.
    """

    alpha: float
    beta: float
    value: BoundaryData = 0.0
    kind = "robin"

    def __post_init__(self) -> None:
        alpha = _check_coefficient(self.alpha, "alpha")
        beta = _check_coefficient(self.beta, "beta")
        if beta == 0.0:
            raise GridError("Robin beta: must be non-zero (beta = 0 is a Dirichlet condition)")
        if alpha / beta < 0.0:
            raise GridError(
                f"Robin alpha, beta: alpha/beta must be >= 0 for a well-posed problem, "
                f"got alpha={alpha}, beta={beta}"
            )
        object.__setattr__(self, "alpha", alpha)
        object.__setattr__(self, "beta", beta)
        _check_data(self.value, "Robin value")


@dataclass(frozen=True)
class Periodic:
    """Periodic axis: node ``m`` is node ``0``.  Set on both faces of the axis."""

    kind = "periodic"


Condition = Dirichlet | Neumann | Robin | Periodic
CONDITION_TYPES = (Dirichlet, Neumann, Robin, Periodic)


def evaluate_data(
    value: BoundaryData, coords: Sequence[np.ndarray], shape: tuple[int, ...], what: str
) -> np.ndarray:
    """Evaluate boundary or source data on a set of nodes.

    Parameters
    ----------
    value : float, callable or array_like
        A number; a callable ``value(*coords)`` of the coordinate arrays; or an
        array broadcastable to ``shape``.
    coords : sequence of ndarray
        One coordinate array per axis, mutually broadcastable to ``shape``
        (e.g. from ``np.meshgrid(..., indexing="ij", sparse=True)``).
    shape : tuple of int
        Shape of the node set.
    what : str
        Name used in error messages.

    Returns
    -------
    ndarray
        Float64 array of ``shape`` (a fresh array, safe to modify).

    Raises
    ------
    GridError
        If the data have the wrong shape or are not finite.
    """
    if callable(value):
        try:
            # non-finite results are reported below, not as floating-point exceptions
            with np.errstate(all="ignore"):
                result = value(*coords)
        except Exception as exc:  # the user's function failed: say which data
            raise GridError(f"{what}: the callable raised {type(exc).__name__}: {exc}") from exc
    else:
        result = value
    try:
        arr = np.broadcast_to(np.asarray(result, dtype=float), shape)
    except (TypeError, ValueError) as exc:
        got = np.shape(result)
        raise GridError(f"{what}: expected an array of shape {shape}, got shape {got}") from exc
    if not np.all(np.isfinite(arr)):
        raise GridError(f"{what}: data are not finite on every node")
    return np.array(arr, dtype=float)
