"""The interface every method implements: :class:`Method`.

A method is one subclass, registered by name in :mod:`kronpde.solvers.registry`:

* ``Method(problem, **options)`` does the set-up, once;
* ``solve(b, out=None, ...)`` returns an :class:`~kronpde.solvers.report.Outcome`
  (the unknowns, and e.g. the certificate of the algebraic error if computed);
* ``describe()`` is the sentence the report adds about how it ran;
* ``set_shift(problem)`` takes another shift ``c`` without a new set-up where it
  can (True), or says that it cannot (False: the driver prepares it again);
* :meth:`Method.refusal` says, preparing nothing, whether it accepts a problem;
* :attr:`Method.defaults` declares its options and their defaults, and
  :attr:`Method.choices` the allowed values of those that take one of a few.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from kronpde.solvers.arguments import check_choice, check_option_keys
from kronpde.solvers.report import Outcome

if TYPE_CHECKING:
    from kronpde.problem.protocol import SolvableProblem

__all__ = ["Method"]


class Method:
    """Base class of the methods (the module docstring gives the interface).

    Attributes
    ----------
    name : str
        The method's name in :data:`kronpde.solvers.registry.METHODS`.
    iterative : bool
        True for the CG-based methods (they take ``x0``, tolerances, callbacks).
    projects : bool
        True for a method whose ``solve`` projects a singular problem's data
        itself (``fastdiag`` drops the zero mode) and reports the removed part
        in :attr:`Outcome.projected_norm <kronpde.solvers.report.Outcome>`:
        the driver then skips its own projection where it needs no projected
        ``b`` (``check=False``).
    defaults : dict
        The options and their defaults.
    choices : dict
        For each option that takes one of a few values, those values (a
        tuple); :meth:`check_choice` raises the one message for another value.
    auto_reason : str
        Why ``"auto"`` picks this method when it does.
    run_kernels : tuple of str
        Compiled kernels of its own that an iterative solve uses besides CG's
        (loaded before the timer by the command line: ``fastdiag-cg``'s batched
        tridiagonal solves).
    options : dict
        (On an instance) the effective options.
    backend : object or None
        (On an instance) the object doing the work: a
        :class:`~kronpde.solvers.fastdiag.FastDiagSolver`,
        :class:`~kronpde.solvers.direct.DirectSolver`, an AMG or fast-diagonalization
        preconditioner; None for plain ``cg``.
    """

    name: ClassVar[str] = ""
    iterative: ClassVar[bool] = False
    projects: ClassVar[bool] = False
    defaults: ClassVar[Mapping[str, Any]] = {}
    choices: ClassVar[Mapping[str, tuple[Any, ...]]] = {}
    auto_reason: ClassVar[str] = ""
    run_kernels: ClassVar[tuple[str, ...]] = ()

    options: dict[str, Any]
    backend: Any = None

    @classmethod
    def refusal(
        cls, problem: SolvableProblem, options: Mapping[str, Any] | None = None
    ) -> str | None:
        """Why this method cannot solve ``problem`` (None: it can); prepares nothing."""
        return None

    @classmethod
    def why(cls, problem: SolvableProblem) -> str:
        """Say why ``"auto"`` picks this method for ``problem`` (default :attr:`auto_reason`)."""
        return cls.auto_reason

    @classmethod
    def effective_options(cls, options: Mapping[str, Any] | None) -> dict[str, Any]:
        """Return the options with defaults filled in (an unknown name: :class:`OptionError`)."""
        options = dict(options or {})
        check_option_keys(cls.name, options, tuple(cls.defaults))
        return {**cls.defaults, **options}

    @classmethod
    def check_choice(cls, option: str, value: Any, note: str = "") -> None:
        """Raise an :class:`~kronpde.errors.OptionError` unless ``value`` is in :attr:`choices`.

        The message names the method, the option, its allowed values (and
        ``note`` on them) and the value given
        (:func:`kronpde._checks.option_message`).
        """
        check_choice(cls.name, option, value, cls.choices[option], note)

    def solve(
        self,
        b: np.ndarray,
        *,
        out: np.ndarray | None = None,
        x0: np.ndarray | None = None,
        target: float = 1e-8,
        maxiter: int | None = None,
        callback: Any = None,
        monitor: Any = None,
        goal: Any = None,
        check: bool = True,
    ) -> Outcome:
        """Solve ``A u = b`` for a ``b`` already projected onto the range of ``A``.

        ``target`` is the relative target ``max(rtol, atol/||b||)`` of the
        iterative methods; ``goal`` (a :class:`kronpde.solvers.estimate.Goal`,
        from ``rtol="auto"``) replaces it by the certified algebraic error
        against the estimated discretisation error.  The exact methods ignore
        both, and ``x0``, ``callback`` and ``monitor``.  ``out`` (flat, ``n``
        entries) receives the unknowns.  With ``check=False`` the exact
        methods skip the scan of the result for NaN/infinity, and the
        iterative ones the certified bound (they still compute the residual
        their stopping rule needs); a method that :attr:`projects` gets ``b``
        unprojected then.
        """
        raise NotImplementedError

    def set_shift(self, problem: SolvableProblem) -> bool:
        """Take ``problem``, this one's problem with another shift ``c``, without a new set-up.

        Returns True when the method now solves ``problem`` (only what
        depends on ``c`` was recomputed), False when it cannot change ``c``
        in place (the default): the driver then prepares it again.  A method
        that raises leaves itself as it was.
        """
        return False

    def describe(self) -> str:
        """One sentence on how the method ran (the report appends it to its message)."""
        return ""
