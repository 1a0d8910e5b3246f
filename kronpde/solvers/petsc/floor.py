"""A numeric ``rtol`` below the rounding floor on the PETSc backend: accepted at the floor, said.

The serial floor (:func:`kronpde.solvers.plan.rounding_floor`) with the ranks'
maximum of ``|diag A|`` and the problem's eigenvalue bound.  The serial driver
raises such an ``rtol`` to the floor before it iterates; KSP's rounds stop at
the rounding limit (not at ``maxiter``) and often go below the floor (a bound,
pessimistic by up to 10x on the tests' grids), so the PETSc solve tries the
target first and, where it proves unreachable, accepts an iterate at or below
the floor as converged, with the serial warning (``docs/petsc.md``).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from kronpde.problem.spectrum import UNIT_ROUNDOFF
from kronpde.solvers.plan import floor_warning

__all__ = ["accept_floor", "raise_to_floor"]

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


def accept_floor(outcome: Any, floor: float, warning: str, warnings: list[str]) -> Any:
    """Return ``outcome`` converged if it missed its target but is at or below ``floor``.

    ``warning`` (:func:`raise_to_floor`'s) goes first into ``warnings`` (the
    plan's) then; an outcome that met its target, or is above the floor, is
    returned as it is.
    """
    rel = outcome.relative_residual
    if outcome.converged or rel is None or not rel <= floor:
        return outcome
    warnings.insert(0, warning)
    method = outcome.message.split(":", 1)[0] if outcome.message else "petsc backend"
    message = (
        f"{method}: converged at the rounding floor: relative residual {rel:.3e} "
        f"<= {floor:.3e}, below which float64 shows no residual."
    )
    return dataclasses.replace(outcome, converged=True, message=message)
