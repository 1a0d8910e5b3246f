"""The round runner: one iterative solve, run in the rounds of :mod:`kronpde.solvers.rounds`.

A :class:`RoundRunner` holds what the rounds share (the iterate, the
iterations so far, the last certificate) and runs either stopping rule:
:meth:`RoundRunner.to_target` (a residual target, :func:`continue_rounds`) or
:meth:`RoundRunner.to_goal` (``rtol="auto"``, :func:`goal_rounds`).  A backend
subclasses it with one round of its CG (:meth:`RoundRunner.run_round`) and its
symmetrised iterate ``y`` (:meth:`RoundRunner.iterate`): the serial methods in
:mod:`kronpde.solvers.iterative`, KSP in :mod:`kronpde.solvers.petsc.solve`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from kronpde.solvers.rounds import (
    Round,
    continue_rounds,
    goal_outcome,
    goal_rounds,
    rounds_outcome,
)

if TYPE_CHECKING:
    from kronpde.solvers.estimate import Goal
    from kronpde.solvers.report import Outcome

__all__ = ["RoundRunner"]


class RoundRunner:
    """The state of one iterative solve of ``Â y = D b``, ``u = y / D``, over its rounds.

    Parameters
    ----------
    scale : ndarray
        ``D`` (this rank's, flat).
    remove_mean : callable
        ``remove_mean(x)`` removes a singular problem's weighted mean in place.
    certify : callable
        ``certify(x, b)``: the :class:`~kronpde.problem.certify.Certificate` of ``x``.
    name : str
        The method, for the messages.
    x : ndarray
        Receives the unknowns ``u`` of the current iterate (this rank's, flat).
    b : ndarray
        The right-hand side solved for (projected if singular).
    nb : float
        ``||b||_2`` (over every rank).
    note : str
        Appended to the message (the preconditioner).

    Attributes
    ----------
    offset : int
        Iterations of the finished rounds (a monitor counts on from there).
    certificate : Certificate or None
        Of the last certified iterate.
    """

    def __init__(
        self,
        scale: np.ndarray,
        remove_mean: Callable[[np.ndarray], Any],
        certify: Callable[[np.ndarray, np.ndarray], Any],
        *,
        name: str,
        x: np.ndarray,
        b: np.ndarray,
        nb: float,
        note: str,
    ):
        self.scale = scale
        self._remove_mean = remove_mean
        self._certify = certify
        self.name = name
        self.x = x
        self.b = b
        self.nb = nb
        self.note = note
        self.offset = 0
        self.certificate: Any = None

    # -- what a backend supplies ----------------------------------------------------------
    def run_round(self, rtol: float, atol: float, left: int, warm: bool) -> Round:
        """Run CG from the current iterate to ``||D b - Â y|| <= max(rtol ||D b||, atol)``."""
        raise NotImplementedError

    def iterate(self) -> np.ndarray:
        """Return the current symmetrised iterate ``y`` (this rank's, flat)."""
        raise NotImplementedError

    # -- the rounds -------------------------------------------------------------------------
    def round(self, rtol: float, left: int, warm: bool, atol: float = 0.0) -> Round:
        """Run one round (:meth:`run_round`) and count its iterations."""
        found = self.run_round(rtol, atol, left, warm)
        self.offset += found.iterations
        return found

    def update(self) -> np.ndarray:
        """Write the current iterate's ``u`` into :attr:`x` (mean removed if singular)."""
        np.divide(self.iterate(), self.scale, out=self.x)
        self._remove_mean(self.x)
        return self.x

    def certify(self) -> Any:
        """Return the certificate of the current iterate (its true residual, the bound)."""
        self.certificate = self._certify(self.update(), self.b)
        return self.certificate

    def relative_residual(self) -> float:
        """Return ``||b - A u|| / ||b||`` of the current iterate (certifying it)."""
        return self.certify().residual_norm / self.nb

    def to_target(self, target: float, maxiter: int) -> Outcome:
        """Run rounds until the true residual meets ``target`` (:func:`continue_rounds`)."""
        result = continue_rounds(self.round, self.relative_residual, target=target, maxiter=maxiter)
        return rounds_outcome(
            self.x, result, self.name, target, maxiter, self.note, self.certificate
        )

    def to_goal(self, goal: Goal, maxiter: int) -> Outcome:
        """Run rounds until the certified bound meets ``goal`` (:func:`goal_rounds`)."""
        found = goal_rounds(
            lambda atol, left, warm: self.round(0.0, left, warm, atol),
            self.certify,
            lambda: goal.estimate(self.x),
            goal=goal,
            maxiter=maxiter,
        )
        return goal_outcome(self.x, found, goal, self.name, maxiter, self.note, self.nb)

    def solve(self, target: float, goal: Goal | None, maxiter: int) -> Outcome:
        """Run to ``goal`` when there is one, else to ``target``."""
        if goal is not None:
            return self.to_goal(goal, maxiter)
        return self.to_target(target, maxiter)
