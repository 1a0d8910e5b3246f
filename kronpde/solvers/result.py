"""The names a solve's result is made of, where older code imports them from.

They live by job: the report types in :mod:`kronpde.solvers.report`, the
argument checks in :mod:`kronpde.solvers.arguments`, the rounds of CG and their
messages in :mod:`kronpde.solvers.rounds`, the progress lines in
:mod:`kronpde.solvers.progress`.
"""

from __future__ import annotations

from kronpde.solvers.arguments import check_option_keys, check_vector
from kronpde.solvers.progress import PROGRESS_INTERVAL, ProgressLines
from kronpde.solvers.report import Outcome, Solution, SolveReport, make_report
from kronpde.solvers.rounds import (
    MAX_GOAL_ROUNDS,
    MAX_ROUNDS,
    GoalRounds,
    Round,
    Rounds,
    continue_rounds,
    goal_message,
    goal_outcome,
    goal_rounds,
    iteration_message,
    rounds_outcome,
)

__all__ = [
    "MAX_GOAL_ROUNDS",
    "MAX_ROUNDS",
    "PROGRESS_INTERVAL",
    "GoalRounds",
    "Outcome",
    "ProgressLines",
    "Round",
    "Rounds",
    "Solution",
    "SolveReport",
    "check_option_keys",
    "check_vector",
    "continue_rounds",
    "goal_message",
    "goal_outcome",
    "goal_rounds",
    "iteration_message",
    "make_report",
    "rounds_outcome",
]
