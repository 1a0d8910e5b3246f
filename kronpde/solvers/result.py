"""What every solve shares: result types, argument checks, the rounds of CG, messages, progress.

Used by every serial method (:mod:`kronpde.solvers.driver`) and by the PETSc
backend (:mod:`kronpde.solvers.petsc.backend`), so that both check their
arguments, stop, report and print progress in one way.

The stopping rule of the iterative methods
------------------------------------------
CG runs on the symmetrised system ``Â y = D b`` (``Â = D A D^{-1}``,
``D = W^{1/2}``), whose residual is ``D (b - A u)``; the target refers to the
*unsymmetrised* residual, ``||b - A u||_2 <= max(rtol ||b||_2, atol)``.  The two
relative residuals differ by at most the spread of ``D`` (a factor
``2^(d/2)`` on uniform axes), so :func:`continue_rounds` runs CG with its own
test at ``t = target / ||b||``, then computes the true ``||b - A u||``; if that
misses the target, CG continues from its last iterate with ``t`` reduced by the
missing factor (times 1/2), at most :data:`MAX_ROUNDS` rounds, all within
``maxiter`` iterations in total.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

import numpy as np

from kronpde.errors import OptionError

__all__ = [
    "MAX_ROUNDS",
    "PROGRESS_INTERVAL",
    "Outcome",
    "ProgressLines",
    "Round",
    "Rounds",
    "Solution",
    "SolveReport",
    "check_option_keys",
    "check_vector",
    "continue_rounds",
    "iteration_message",
    "make_report",
]

#: Rounds of "continue CG with a tighter internal tolerance" (module docstring).
MAX_ROUNDS = 6

#: Seconds between two progress lines of :class:`ProgressLines`.
PROGRESS_INTERVAL = 1.0


@dataclass(frozen=True, eq=False)
class SolveReport:
    """How a solve went.

    Attributes
    ----------
    method : str
        The method that ran (never ``"auto"``).
    requested : str
        The method asked for (possibly ``"auto"``).
    reason : str
        Why this method ran (what ``"auto"`` looked at, or "requested").
    converged : bool
        Whether the tolerance was met (exact methods: whether the result is
        finite; the tolerance is not theirs to meet).
    iterations : int
        CG iterations over all rounds (0 for ``direct`` and ``fastdiag``).
    residual_norms : ndarray
        Iterative methods: ``||D b - Â y_k||_2 = ||D (b - A u_k)||_2``, the
        residual of the symmetrised system CG works on, entry 0 the initial
        one, one entry per iteration (rounds concatenated).  Empty for
        ``direct`` and ``fastdiag``.
    relative_residual : float
        The true ``||b - A u||_2 / ||b||_2`` of the unsymmetrised system for
        the returned ``u``; for a singular problem ``b`` is the projected
        right-hand side.
    setup_seconds : float
        Wall time of :func:`~kronpde.solvers.prepare` (assembly, hierarchy,
        factorisation, eigenpairs).
    solve_seconds : float
        Wall time of this solve.
    projected_norm : float
        ``||b - b_projected||_2 / ||b||_2``: how much of ``b`` a singular
        problem's projection removed (0 for nonsingular problems).
    message : str
        One or two sentences with the numbers.
    options : dict
        The effective options of the method (defaults filled in).
    """

    method: str
    requested: str
    reason: str
    converged: bool
    iterations: int
    residual_norms: np.ndarray
    relative_residual: float
    setup_seconds: float
    solve_seconds: float
    projected_norm: float
    message: str
    options: dict = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class Solution:
    """A solved problem.

    Attributes
    ----------
    u : ndarray, shape ``grid.point_shape``
        The nodal field, Dirichlet values included (``problem.to_nodes(x)``);
        along a cell-centred axis its points are the cell centres.
    x : ndarray, shape (n,)
        The unknowns.
    report : SolveReport
        How it was obtained.
    """

    u: np.ndarray
    x: np.ndarray
    report: SolveReport


@dataclass(frozen=True, eq=False)
class Outcome:
    """What a method's ``solve`` knows about its result (the driver makes the report of it).

    Attributes
    ----------
    x : ndarray, shape (n,)
        The unknowns.
    converged : bool
        Whether the method met its target (exact methods: the result is finite).
    iterations : int
        Iterations over all rounds (0 for the exact methods).
    residual_norms : sequence of float
        The residual history (empty for the exact methods).
    relative_residual : float or None
        ``||b - A u|| / ||b||`` if the method computed it (the iterative ones
        do); None leaves it to the driver.
    message : str or None
        The method's sentence; None lets the driver write the one of an exact solve.
    """

    x: np.ndarray
    converged: bool
    iterations: int = 0
    residual_norms: Sequence[float] = ()
    relative_residual: float | None = None
    message: str | None = None


def make_report(
    prepared: Any,
    *,
    converged: bool,
    iterations: int,
    residual_norms: Sequence[float],
    relative_residual: float,
    solve_seconds: float,
    projected_norm: float,
    message: str,
) -> SolveReport:
    """Make the :class:`SolveReport` of one solve by a prepared solver (serial or PETSc).

    ``prepared`` supplies ``method``, ``requested``, ``reason``,
    ``setup_seconds`` and ``options``; a singular problem's projection is
    appended to ``message``, and the residual history is frozen (read-only).
    """
    if projected_norm > 0.0:
        message += (
            f" The right-hand side was projected onto the range of A (singular problem); "
            f"the removed part has relative norm {projected_norm:.3e}."
        )
    norms = np.array(residual_norms, dtype=np.float64)
    norms.flags.writeable = False
    return SolveReport(
        method=prepared.method,
        requested=prepared.requested,
        reason=prepared.reason,
        converged=bool(converged),
        iterations=int(iterations),
        residual_norms=norms,
        relative_residual=float(relative_residual),
        setup_seconds=prepared.setup_seconds,
        solve_seconds=solve_seconds,
        projected_norm=float(projected_norm),
        message=message,
        options=dict(prepared.options),
    )


# --------------------------------------------------------------------------- argument checks


def check_vector(v: object, n: int, shape: tuple[int, ...], name: str) -> np.ndarray:
    """Return a real finite array of shape ``(n,)`` or ``shape`` as a fresh flat float64 array.

    Raises
    ------
    OptionError
        For another shape, a non-real dtype, or NaN/infinity (a ``ValueError``).
    """
    arr = np.asarray(v)
    if arr.dtype.kind not in "fiu" or not (arr.shape == (n,) or arr.shape == shape):
        msg = (
            f"{name} must be a real array of shape ({n},) or {shape}, got "
            f"{arr.dtype} of shape {arr.shape}"
        )
        raise OptionError(msg)
    arr = np.array(arr, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(arr)):
        msg = f"{name} contains NaN or infinity ({np.count_nonzero(~np.isfinite(arr))} entries)"
        raise OptionError(msg)
    return arr


def check_option_keys(method: str, options: Mapping[str, Any], allowed: Sequence[str]) -> None:
    """Raise an :class:`~kronpde.errors.OptionError` for an option ``method`` does not take."""
    unknown = [k for k in options if k not in allowed]
    if unknown:
        msg = (
            f"{method}: unknown option{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(repr(k) for k in unknown)}; the options of {method!r} are "
            f"{', '.join(allowed) if allowed else '(none)'}"
        )
        raise OptionError(msg)


# --------------------------------------------------------------------------- rounds of CG


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
    """Run CG until the true unsymmetrised residual meets ``target`` (the module docstring).

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


# --------------------------------------------------------------------------- progress


class ProgressLines:
    """A progress monitor: ``monitor(iteration, relative_residual)`` prints a line now and then.

    At most one line every ``interval`` seconds (default :data:`PROGRESS_INTERVAL`),
    ``iteration N   relative residual R   T s``; with ``stream=None`` it prints
    nothing.  The command line passes one as ``monitor`` to every iterative solve,
    serial or PETSc.

    Parameters
    ----------
    stream : text stream or None
        Where the lines go (the command line: standard error).
    interval : float, optional
        Seconds between lines (default :data:`PROGRESS_INTERVAL`).
    """

    def __init__(self, stream: TextIO | None, interval: float | None = None):
        self.stream = stream
        self.interval = PROGRESS_INTERVAL if interval is None else float(interval)
        self.start = self.last = time.perf_counter()

    def __call__(self, iteration: int, relative_residual: float) -> None:
        """Print a line if ``interval`` seconds have passed since the last one."""
        if self.stream is None:
            return
        now = time.perf_counter()
        if now - self.last < self.interval:
            return
        self.last = now
        shown = f"{relative_residual:.3e}" if math.isfinite(relative_residual) else "nan"
        print(
            f"  iteration {iteration:>7,}   relative residual {shown}   {now - self.start:7.1f} s",
            file=self.stream,
            flush=True,
        )
