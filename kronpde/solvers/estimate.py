"""The types of ``rtol="auto"``: an error estimate, the goal it sets, and why there is none.

:class:`ErrorEstimate` (an estimate of the discretisation error of an iterate),
:class:`Goal` (what ``rtol="auto"`` asks of an iterative method),
:class:`Unavailable` (no estimate can be made, and why), and the constants of
the policy (:mod:`kronpde.solvers.plan`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = [
    "AUTO_FRACTION",
    "FALLBACK_RTOL",
    "ROUNDOFF_RTOL",
    "ErrorEstimate",
    "Goal",
    "Unavailable",
    "zero_estimate",
]

#: ``rtol="auto"`` stops when the certified algebraic error is at most this fraction of the
#: estimated discretisation error.
AUTO_FRACTION = 0.1

#: The relative residual target ``rtol="auto"`` falls back to where no estimate exists.
FALLBACK_RTOL = 1e-10

#: The relative residual the coarse Richardson solve of a variable ``k`` is first run to
#: (then on to the rounding level, see :meth:`~kronpde.solvers.space.SolveSpace.solve_to_roundoff`).
ROUNDOFF_RTOL = 1e-8


class Unavailable(Exception):  # noqa: N818 - a reason, not a failure of the caller
    """No discretisation-error estimate can be made here; the message says why."""


@dataclass(frozen=True, eq=False)
class ErrorEstimate:
    """An estimate of the discretisation error ``||u_h - u||_W`` of the current iterate.

    Attributes
    ----------
    kind : str
        ``"exact"`` or ``"richardson"``.
    description : str
        What it compares with (for the report).
    initial : float, callable or None
        A first guess before any iteration (module docstring), or None; a
        callable computes it when an iterative goal first asks
        (:meth:`first_guess`), so that an exact method never pays for it.
    measure : callable
        ``measure(x)`` for the unknowns ``x`` (flat): the estimate for ``x``.
    solution_norm : float
        ``||u||_W`` of the reference (``u_exact``, or the coarse solution):
        the size of the solution, which sets the rounding level of its residual.
    reference_bound : float or None
        Richardson: the certified algebraic error of the coarse solution.
    """

    kind: str
    description: str
    initial: float | Callable[[], float | None] | None
    measure: Callable[[np.ndarray], float]
    solution_norm: float
    reference_bound: float | None = None

    def __call__(self, x: np.ndarray) -> float:
        """Return the estimate for the unknowns ``x``."""
        return float(self.measure(x))

    def first_guess(self) -> float | None:
        """Return :attr:`initial`, computed now where it is a callable."""
        return self.initial() if callable(self.initial) else self.initial


@dataclass(frozen=True, eq=False)
class Goal:
    """What ``rtol="auto"`` asks of an iterative method (its ``goal`` argument).

    Stop when ``certificate.bound <= fraction * estimate(x)``.

    Attributes
    ----------
    estimate : ErrorEstimate
        The discretisation-error estimate.
    eigenvalue : float
        The ``λ`` of the bound (:meth:`kronpde.Problem.smallest_eigenvalue`).
    fraction : float
        :data:`AUTO_FRACTION`.
    floor : float
        The smallest symmetrised residual norm the first round asks CG for:
        about the rounding level of the residual, ``γ_K max(diag A)
        ||u||_W``, so that CG never chases a residual it cannot compute.
    """

    estimate: ErrorEstimate
    eigenvalue: float
    fraction: float = AUTO_FRACTION
    floor: float = 0.0


def zero_estimate(size: float) -> ErrorEstimate:
    """Return the estimate ``0`` of a solve to the rounding level (``size``: ``||u||_W``)."""
    return ErrorEstimate("round-off", "the rounding level", 0.0, lambda _x: 0.0, size)
