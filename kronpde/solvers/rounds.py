"""The rounds of CG: the stopping rules of the iterative methods, and their messages.

Used by every iterative method, serial (:mod:`kronpde.solvers.iterative`) or
PETSc (:mod:`kronpde.solvers.petsc.solve`), through the round runner of
:mod:`kronpde.solvers.runner`: :func:`continue_rounds` for a relative residual,
:func:`goal_rounds` for ``rtol="auto"``.  ``docs/stopping.md`` derives the rules.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from kronpde.solvers.report import Outcome

__all__ = [
    "MAX_GOAL_ROUNDS",
    "MAX_ROUNDS",
    "GoalRounds",
    "Round",
    "Rounds",
    "continue_rounds",
    "goal_message",
    "goal_outcome",
    "goal_rounds",
    "iteration_message",
    "rounds_outcome",
]

#: Rounds of "continue CG with a tighter internal tolerance" (``docs/stopping.md``).
MAX_ROUNDS = 6


@dataclass(frozen=True)
class Round:
    """One run of CG (or of KSP) with its own stopping test.

    Attributes
    ----------
    converged : bool
        The run met its own (symmetrised) test.
    iterations : int
        Iterations of the run.
    residual_norms : sequence of float
        Its residual history, entry 0 the initial residual.
    status : str
        ``"converged"``, ``"maxiter"`` or the reason it stopped short.
    detail : str
        A sentence on why it stopped short (empty otherwise).
    """

    converged: bool
    iterations: int
    residual_norms: Sequence[float]
    status: str
    detail: str = ""


@dataclass(frozen=True)
class Rounds:
    """The outcome of :func:`continue_rounds`."""

    converged: bool
    iterations: int
    residual_norms: list[float]
    relative_residual: float
    rounds: int
    last: Round


def continue_rounds(
    run: Callable[[float, int, bool], Round],
    true_relative_residual: Callable[[], float],
    *,
    target: float,
    maxiter: int,
) -> Rounds:
    """Run CG until the true unsymmetrised residual meets ``target`` (``docs/stopping.md``).

    Parameters
    ----------
    run : callable
        ``run(inner_rtol, iterations_left, warm)`` runs CG on the symmetrised
        system to its own relative tolerance ``inner_rtol`` from the last
        iterate (``warm`` True after the first round) and returns a :class:`Round`.
    true_relative_residual : callable
        ``||b - A u|| / ||b||`` of the current iterate.
    target : float
        The relative target ``max(rtol, atol / ||b||)``.
    maxiter : int
        Iterations allowed over all rounds.

    Returns
    -------
    Rounds
    """
    inner = target
    history: list[float] = []
    iterations = 0
    rounds = 0
    while True:
        rounds += 1
        last = run(inner, max(maxiter - iterations, 0), rounds > 1)
        iterations += last.iterations
        norms = list(last.residual_norms)
        history.extend(norms if not history else norms[1:])
        rel = true_relative_residual()
        if rel <= target:
            return Rounds(True, iterations, history, rel, rounds, last)
        if not last.converged or iterations >= maxiter or rounds >= MAX_ROUNDS:
            break
        # CG met its symmetrised test but the true residual is short of the target
        inner *= 0.5 * target / rel
        if inner < 1e-15:
            break
    return Rounds(False, iterations, history, rel, rounds, last)


#: Rounds of ``rtol="auto"`` (:func:`goal_rounds`).
MAX_GOAL_ROUNDS = 8

#: The first round of :func:`goal_rounds` asks for this fraction of the residual that would
#: just meet the goal, so that one round usually suffices.
FIRST_SLACK = 0.5

#: A later round of :func:`goal_rounds` may take at most this many iterations, or four times
#: the iterations so far if more: it only has to close a small gap, and at the rounding limit
#: CG would otherwise run to ``maxiter``.
LATE_ROUND_MIN = 100


@dataclass(frozen=True)
class GoalRounds:
    """The outcome of :func:`goal_rounds`.

    Attributes
    ----------
    status : str
        ``"met"`` (the bound is within the goal), ``"rounding"`` (the rounding
        limit of float64: the bound cannot come down further), ``"maxiter"``,
        ``"stopped"`` (CG broke down) or ``"rounds"`` (:data:`MAX_GOAL_ROUNDS`).
    iterations, residual_norms, rounds, last
        As in :class:`Rounds`.
    certificate : Certificate
        Of the last iterate.
    estimate : float
        The discretisation-error estimate of the last iterate.
    """

    status: str
    iterations: int
    residual_norms: list[float]
    rounds: int
    last: Round
    certificate: Any
    estimate: float

    @property
    def converged(self) -> bool:
        """The goal was met, or the rounding limit reached (the best float64 allows)."""
        return self.status in ("met", "rounding")


def goal_rounds(
    run: Callable[[float, int, bool], Round],
    certify: Callable[[], Any],
    estimate: Callable[[], float],
    *,
    goal: Any,
    maxiter: int,
) -> GoalRounds:
    """Run CG until the certified algebraic error is ``goal.fraction`` of the estimated one.

    Parameters
    ----------
    run : callable
        ``run(atol, iterations_left, warm)`` runs CG on the symmetrised system
        to ``||D b - Â y||_2 <= atol`` from the last iterate and returns a
        :class:`Round`.
    certify : callable
        The :class:`~kronpde.problem.certify.Certificate` of the current iterate.
    estimate : callable
        The discretisation-error estimate of the current iterate.
    goal : Goal
        :class:`kronpde.solvers.estimate.Goal`: the estimate, ``λ``, the
        fraction and the first round's floor.
    maxiter : int
        Iterations allowed over all rounds.

    Returns
    -------
    GoalRounds
    """
    lam = goal.eigenvalue
    frac = goal.fraction
    est = goal.estimate.first_guess()
    if est is None or not est > 0.0:
        est = estimate()
    history: list[float] = []
    iterations = 0
    rounds = 0
    cert = None
    previous = math.inf
    last = Round(False, 0, [], "maxiter")
    while True:
        want = frac * est
        if cert is None:
            atol = max(FIRST_SLACK * lam * want, goal.floor)
        else:
            room = lam * (want - cert.mean_term) - cert.rounding
            if room <= 0.5 * cert.rounding:  # what is left to gain is below the rounding
                status = "rounding"
                break
            atol = 0.5 * room
        rounds += 1
        left = max(maxiter - iterations, 0)
        cap = max(LATE_ROUND_MIN, 4 * iterations)
        capped = cert is not None and left > cap
        last = run(atol, cap if capped else left, rounds > 1)
        iterations += last.iterations
        norms = list(last.residual_norms)
        history.extend(norms if not history else norms[1:])
        cert = certify()
        est = estimate()
        if cert.bound is not None and cert.bound <= frac * est:
            status = "met"
            break
        if not last.converged:
            if last.status != "maxiter":
                status = "stopped"
            elif capped and iterations < maxiter:
                status = "rounding"
            else:
                status = "maxiter"
            break
        if iterations >= maxiter:
            status = "maxiter"
            break
        if rounds >= MAX_GOAL_ROUNDS:
            status = "rounds"
            break
        if cert.bound is not None and cert.bound > 0.9 * previous:
            status = "rounding"  # a round that no longer lowers the bound
            break
        previous = math.inf if cert.bound is None else cert.bound
    return GoalRounds(status, iterations, history, rounds, last, cert, est)


def goal_message(name: str, result: GoalRounds, goal: Any, maxiter: int, note: str) -> str:
    """Write the sentence of an ``rtol="auto"`` solve; ``note`` (the preconditioner) appended."""
    cert = result.certificate
    bound = math.nan if cert is None or cert.bound is None else cert.bound
    est = result.estimate
    frac = goal.fraction
    kind = goal.estimate.kind
    restarts = f" in {result.rounds} rounds" if result.rounds > 1 else ""
    if result.status == "met":
        text = (
            f"{name}: converged in {result.iterations} iterations{restarts} (rtol='auto'): the "
            f"certified algebraic error {bound:.3e} is at most {frac:g} of the estimated "
            f"discretisation error {est:.3e} ({kind})."
        )
    elif result.status == "rounding":
        text = (
            f"{name}: stopped at the rounding limit after {result.iterations} iterations"
            f"{restarts} (rtol='auto'): the certified algebraic error {bound:.3e} cannot be "
            f"brought below {frac:g} of the estimated discretisation error {est:.3e} ({kind}) "
            "in float64 on this grid."
        )
    elif result.status == "stopped":
        text = f"{name}: stopped short after {result.iterations} iterations: {result.last.detail}"
    elif result.status == "maxiter":
        text = (
            f"{name}: not converged; reached maxiter = {maxiter} iterations with a certified "
            f"algebraic error of {bound:.3e} (target {frac:g} of the estimated discretisation "
            f"error {est:.3e}, {kind})."
        )
    else:
        text = (
            f"{name}: not converged after {result.rounds} rounds and {result.iterations} "
            f"iterations: certified algebraic error {bound:.3e}, target {frac:g} of "
            f"{est:.3e} ({kind})."
        )
    return f"{text} {note}" if note else text


def goal_outcome(
    x: np.ndarray, found: GoalRounds, goal: Any, name: str, maxiter: int, note: str, nb: float
) -> Outcome:
    """Return the :class:`Outcome` of an ``rtol="auto"`` solve that :func:`goal_rounds` ended.

    Parameters
    ----------
    x : ndarray
        The unknowns of the last round.
    found : GoalRounds
        What :func:`goal_rounds` returned.
    goal : Goal
        The goal it ran to.
    name : str
        The method, for the message.
    maxiter : int
        The iteration limit, for the message.
    note : str
        Appended to the message (the preconditioner).
    nb : float
        ``||b||`` of the system solved (the relative residual's denominator).
    """
    cert = found.certificate
    warnings: tuple[str, ...] = ()
    if found.status == "rounding":
        warnings = (goal_message(name, found, goal, maxiter, ""),)
    return Outcome(
        x,
        found.converged,
        found.iterations,
        found.residual_norms,
        cert.residual_norm / nb,
        goal_message(name, found, goal, maxiter, note),
        cert,
        warnings,
    )


def rounds_outcome(
    x: np.ndarray,
    result: Rounds,
    name: str,
    target: float,
    maxiter: int,
    note: str,
    certificate: Any = None,
) -> Outcome:
    """Return the :class:`Outcome` of a solve to a residual target (:func:`continue_rounds`).

    ``certificate`` is that of the returned ``x`` where one was computed
    (None: the caller's driver computes it); the other arguments as
    :func:`goal_outcome` and :func:`iteration_message`.
    """
    return Outcome(
        x,
        result.converged,
        result.iterations,
        result.residual_norms,
        result.relative_residual,
        iteration_message(name, result, target, maxiter, note),
        certificate,
    )


def iteration_message(name: str, result: Rounds, target: float, maxiter: int, note: str) -> str:
    """Write the sentence of an iterative solve: converged, stopped short, maxiter, rounding.

    ``note`` (e.g. the preconditioner) is appended.
    """
    rel = result.relative_residual
    restarts = f" in {result.rounds} rounds (tolerance tightened)" if result.rounds > 1 else ""
    last = result.last
    if result.converged:
        text = (
            f"{name}: converged in {result.iterations} iterations{restarts}; relative residual "
            f"||b - A u||/||b|| = {rel:.3e} <= {target:.3e}."
        )
    elif not last.converged and last.status != "maxiter":
        text = f"{name}: stopped short after {result.iterations} iterations: {last.detail}"
    elif result.iterations >= maxiter or last.status == "maxiter":
        text = (
            f"{name}: not converged; reached maxiter = {maxiter} iterations with relative "
            f"residual ||b - A u||/||b|| = {rel:.3e} (target {target:.3e})."
        )
    else:
        text = (
            f"{name}: not converged; CG's symmetrised test was met{restarts} but the "
            f"true relative residual {rel:.3e} stays above the target "
            f"{target:.3e} (rounding limit)."
        )
    return f"{text} {note}" if note else text
