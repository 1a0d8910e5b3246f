"""What the methods do with a negative shift ``c`` (the Helmholtz equation of either sign).

``-div(k grad u) + c u = f`` with ``c < 0`` is indefinite once ``c`` is below
``-λ_min`` of the diffusion operator, and singular where ``-c`` is one of its
eigenvalues.  The exact methods solve it (``fastdiag`` checks its distance to
the spectrum, ``direct`` factors it with pivoting); the CG-type methods need a
positive definite operator and accept ``c < 0`` only where the certified lower
bound on ``λ_min(A)`` (``k_min λ_min + c``,
:meth:`~kronpde.problem.discretisation.Discretisation.smallest_eigenvalue`)
is positive.  Here: that test (:func:`definite_refusal`), the method that
works instead (:func:`working_method`), and the sentences the reports and
the PETSc backend's refusal use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from kronpde.problem.protocol import SolvableProblem

__all__ = [
    "certificate_note",
    "definite_refusal",
    "feeds_energy",
    "indefinite_bound",
    "may_be_indefinite",
    "petsc_refusal",
    "working_method",
]


def feeds_energy(grid: object) -> bool:
    """Whether a Robin face of ``grid`` has ``alpha/beta < 0`` (it may make ``A`` indefinite)."""
    for axis in getattr(grid, "axes", ()):
        for bc in (axis.lower_bc, axis.upper_bc):
            if getattr(bc, "kind", None) == "robin" and bc.alpha * bc.beta < 0.0:
                return True
    return False


def may_be_indefinite(problem: SolvableProblem) -> bool:
    """Whether ``A`` may be indefinite: ``c < 0``, or a Robin face that feeds energy in.

    A separable ``c(x)`` (its parts in the 1-D operators) counts by its least value.
    """
    data = getattr(problem, "data", None)
    parts = getattr(data, "axis_shift", None)
    least = float(problem.shift) + sum(float(min(p)) for p in parts or ())
    field = getattr(data, "shift_field", None)
    if field is not None:
        least += float(np.min(field))
    return least < 0.0 or feeds_energy(problem.grid)


def working_method(problem: SolvableProblem) -> str:
    """Return the method that solves ``problem`` at any real shift: ``fastdiag`` or ``direct``.

    ``fastdiag`` where the per-axis eigenvectors diagonalise the operator (a
    constant ``k``), else ``direct``.
    """
    return "fastdiag" if problem.discretisation.fast_solve_obstacle() is None else "direct"


def indefinite_bound(problem: SolvableProblem) -> tuple[float, float, str] | None:
    """Return the certified ``(lower, computed, how)`` bound on ``λ_min(A)`` when it is not > 0.

    None where the shift is ``>= 0`` (the operator is positive semi-definite,
    nothing to check) or where the bound is positive.  A problem whose bound
    cannot be computed at all gives ``(nan, nan, why)``.
    """
    if not may_be_indefinite(problem):
        return None
    if problem.smallest_eigenvalue() is not None:  # certified > 0 (cached on the problem)
        return None
    found = problem.discretisation.smallest_eigenvalue(bool(problem.singular))
    if found is None:
        return float("nan"), float("nan"), "no certified eigenvalue bound is known for it"
    return found


def definite_refusal(problem: SolvableProblem, method: str) -> str | None:
    """Why a CG-type ``method`` refuses ``problem`` (None: the operator is certified definite).

    CG needs a positive definite operator.  With ``c >= 0`` it is (positive
    semi-definite for a singular problem, which CG handles); with ``c < 0``
    only where the certified lower bound ``k_min λ_min + c`` on ``λ_min(A)`` is
    positive.  Otherwise the message gives the bound and names the method that
    solves an indefinite operator (:func:`working_method`).

    Examples
    --------
    >>> from kronpde import Grid, Problem
    >>> p = Problem(Grid.box([16, 16]), source=1.0, shift=-50.0)   # 2 π² ≈ 19.7 < 50
    >>> print(definite_refusal(p, "cg"))  # doctest: +ELLIPSIS
    cg: with shift c = -50 the operator is not certified positive definite ... 'fastdiag'...
    >>> definite_refusal(p.with_shift(-10.0), "cg") is None
    True
    """
    if not problem.discretisation.symmetric:  # second/first: not symmetric
        return (
            f"{method}: the {problem.discretisation.name} (first-derivative terms, or a "
            "coefficient of u'' that varies) is not symmetric, and CG needs a symmetric "
            "positive definite operator; use method 'fastdiag' (exact where the 1-D operators "
            "have real spectra) or 'direct'"
        )
    found = indefinite_bound(problem)
    if found is None:
        return None
    lower, computed, how = found
    other = working_method(problem)
    why = (
        "an exact solve for any shift that is not an eigenvalue"
        if other == "fastdiag"
        else "a sparse LU factorisation, which handles an indefinite operator"
    )
    text = getattr(getattr(problem, "data", None), "shift_text", None)
    c = f"c = {problem.shift:g}" if text is None else f"c(x) = {text}"
    if text is not None and problem.shift:
        c += f" + {problem.shift:g}"
    return (
        f"{method}: with shift {c} the operator is not certified positive "
        f"definite (the certified lower bound on its smallest eigenvalue, {how}, is "
        f"{lower:.6g}; as computed {computed:.6g}), and CG needs a positive definite one; "
        f"use method '{other}' ({why})"
    )


def certificate_note(problem: SolvableProblem) -> str | None:
    """Why an exact solve of ``problem`` carries no certified error bound (None: it may).

    The bound ``||r||_W / λ_min`` divides by a positive lower bound on
    ``λ_min(A)``; with ``c < 0`` below ``-λ_min`` that eigenvalue is negative
    and the formula is meaningless, so no bound is given rather than a false one.
    """
    if not problem.discretisation.symmetric:
        return (
            f"No certified error bound: the {problem.discretisation.name} is not symmetric, "
            "and the bound ||b - A u||_W / λ_min needs a symmetric positive definite A; the "
            "relative residual is the check of this solve."
        )
    found = indefinite_bound(problem)
    if found is None:
        return None
    lower = found[0]
    if problem.shift >= 0.0:  # a Robin face that feeds energy in, or a separable c(x) < 0
        return (
            "No certified error bound: a Robin face with alpha/beta < 0 or a shift c(x) < 0 "
            f"somewhere may make A indefinite (the certified lower bound on its smallest "
            f"eigenvalue is {lower:.3g}), and the bound ||b - A u||_W / λ_min holds only for a "
            "positive definite A; the relative residual is the check of this solve."
        )
    return (
        f"No certified error bound: with shift c = {problem.shift:g} the certified lower "
        f"bound on the smallest eigenvalue of A is {lower:.3g}, not positive (A may be "
        "indefinite), and the bound ||b - A u||_W / λ_min holds only for a positive "
        "definite A; the relative residual is the check of this solve."
    )


def petsc_refusal(problem: SolvableProblem) -> str | None:
    """Why the PETSc backend refuses ``problem``'s shift (None: ``c >= 0``, it accepts).

    Its Krylov methods are CG and its exact solve the positive pencil
    decomposition: a negative ``c`` runs on the serial backend.
    """
    shift = float(getattr(problem, "shift", 0.0))
    if getattr(getattr(problem, "data", None), "shift_field", None) is not None:
        return (
            "petsc backend: a shift c(x) that is not a sum of functions of one axis each is "
            "solved on the serial backend only (--backend serial)"
        )
    if shift >= 0.0 and not feeds_energy(getattr(problem, "grid", None)):
        return None
    other = working_method(problem) if hasattr(problem, "discretisation") else "direct"
    return (
        f"petsc backend: the shift c = {shift:g} < 0 (Helmholtz of the indefinite sign) is "
        f"solved on the serial backend only (--backend serial, method '{other}'); the PETSc "
        "backend's CG and its distributed fast solve need c >= 0"
    )
