"""A numeric ``rtol`` below the rounding floor, raised to it on the PETSc backend (with a warning).

The serial rule (:func:`kronpde.solvers.plan.rounding_floor`,
``PreparedSolver._rounding_floor``) with the ranks' maximum of ``|diag A|`` and
the problem's eigenvalue bound (the serial one): KSP would otherwise iterate to
``maxiter`` chasing a residual float64 cannot show.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from kronpde.problem.spectrum import UNIT_ROUNDOFF
from kronpde.solvers.plan import floor_warning

__all__ = ["raise_to_floor"]

#: Targets at or above this are never raised (the serial driver's threshold).
CHECKED_BELOW = 1e-9


def raise_to_floor(solver: Any, rtol: float | str) -> tuple[float | str, str]:
    """Return ``rtol`` raised to the rounding floor of ``solver``'s operator, and why (collective).

    Parameters
    ----------
    solver : PetscSolver
        An iterative PETSc solver (its problem and this rank's diagonal).
    rtol : float or "auto"
        The requested target.

    Returns
    -------
    rtol : float or "auto"
        Unchanged unless a number below the floor.
    warning : str
        The serial warning, or ``""``.
    """
    if isinstance(rtol, str) or rtol == 0.0 or rtol >= CHECKED_BELOW:
        return rtol, ""
    floor = math.sqrt(solver.problem.discretisation.residual_terms()) * UNIT_ROUNDOFF
    eigenvalue = solver.problem.smallest_eigenvalue()
    if eigenvalue is not None and eigenvalue.value > 0.0:
        diagonal = float(np.max(np.abs(solver._diagonal), initial=0.0))
        floor *= 1.0 + 2.0 * solver.allreduce(diagonal, "max") / eigenvalue.value
    if rtol >= floor:
        return rtol, ""
    return floor, floor_warning(rtol, floor)
