"""The interface every method implements, and the registry that ``prepare`` picks from.

A method is one class (a subclass of :class:`Method`):

* built from a :class:`~kronpde.Problem` and keyword options (``Method(problem,
  **options)``: the set-up, done once);
* ``solve(b, out=None, ...)`` returns an :class:`~kronpde.solvers.result.Outcome`
  (the unknowns and what the method knows of them);
* ``describe()`` is the sentence the report adds about how it ran;
* :meth:`Method.refusal` says, without preparing anything, whether it accepts a
  problem and why not (``kronpde check`` asks it);
* :attr:`Method.defaults` declares its options and their defaults.

The registry maps the names of :data:`METHODS` to the classes, which are
imported only when a method is used (so that importing the solvers loads
neither pyamg nor SuperLU's wrapper), and :func:`choose` resolves ``"auto"`` by
asking the methods of :data:`AUTO_PREFERENCE` in turn.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from kronpde.errors import OptionError
from kronpde.solvers.result import Outcome, check_option_keys

__all__ = ["AUTO_PREFERENCE", "METHODS", "Method", "choose", "method_class", "refusal"]

#: The accepted method names.
METHODS = ("auto", "cg", "amg-cg", "fastdiag-cg", "fastdiag", "direct")

#: Where each method's class lives (imported on first use).
_CLASSES = {
    "cg": ("kronpde.solvers.iterative", "JacobiCG"),
    "amg-cg": ("kronpde.solvers.amg", "AMGCG"),
    "fastdiag-cg": ("kronpde.solvers.fastdiag_pc", "FastDiagCG"),
    "fastdiag": ("kronpde.solvers.fastdiag", "FastDiag"),
    "direct": ("kronpde.solvers.direct", "Direct"),
}

#: What ``"auto"`` runs: the first of these that accepts the problem (the last accepts all).
AUTO_PREFERENCE = ("fastdiag", "fastdiag-cg", "amg-cg")


class Method:
    """Base class of the methods (the module docstring gives the interface).

    Attributes
    ----------
    name : str
        The method's name in :data:`METHODS`.
    iterative : bool
        True for the CG-based methods (they take ``x0``, tolerances, callbacks).
    defaults : dict
        The options and their defaults.
    auto_reason : str
        Why ``"auto"`` picks this method when it does.
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
    defaults: ClassVar[Mapping[str, Any]] = {}
    auto_reason: ClassVar[str] = ""

    options: dict[str, Any]
    backend: Any = None

    @classmethod
    def refusal(cls, problem: Any, options: Mapping[str, Any] | None = None) -> str | None:
        """Why this method cannot solve ``problem`` (None: it can); prepares nothing."""
        return None

    @classmethod
    def effective_options(cls, options: Mapping[str, Any] | None) -> dict[str, Any]:
        """Return the options with defaults filled in (an unknown name: :class:`OptionError`)."""
        options = dict(options or {})
        check_option_keys(cls.name, options, tuple(cls.defaults))
        return {**cls.defaults, **options}

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
    ) -> Outcome:
        """Solve ``A u = b`` for a ``b`` already projected onto the range of ``A``.

        ``target`` is the relative target ``max(rtol, atol/||b||)`` of the
        iterative methods; the exact ones ignore it and ``x0``, ``callback``
        and ``monitor``.
        """
        raise NotImplementedError

    def describe(self) -> str:
        """One sentence on how the method ran (the report appends it to its message)."""
        return ""


def method_class(name: str) -> type[Method]:
    """Return the class of method ``name`` (not ``"auto"``).

    Raises
    ------
    OptionError
        For a name that is not one of :data:`METHODS`.
    """
    if not isinstance(name, str) or name not in _CLASSES:
        msg = f"unknown method {name!r}; the methods are {', '.join(repr(m) for m in METHODS)}"
        raise OptionError(msg)
    module, cls = _CLASSES[name]
    return getattr(importlib.import_module(module), cls)


def choose(problem: Any, method: str) -> tuple[type[Method], str]:
    """Return the class to run for ``method`` on ``problem``, and why (``"requested"`` unless auto).

    Raises
    ------
    OptionError
        For an unknown name.
    """
    if method != "auto":
        return method_class(method), "requested"
    for name in AUTO_PREFERENCE[:-1]:
        cls = method_class(name)
        if cls.refusal(problem) is None:
            return cls, cls.auto_reason
    cls = method_class(AUTO_PREFERENCE[-1])  # the last one accepts every problem
    return cls, cls.auto_reason


def refusal(
    problem: Any, method: str = "auto", options: Mapping[str, Any] | None = None
) -> str | None:
    """Why ``method`` (``"auto"``: the method auto picks) cannot solve ``problem``; None if it can.

    Nothing is prepared: ``kronpde check`` uses this to say whether ``solve``
    would run.  Unknown names (of the method or an option) raise
    :class:`~kronpde.errors.OptionError`.

    Examples
    --------
    >>> from kronpde import Grid, Problem
    >>> p = Problem(Grid.box([8, 8]), source=1.0, coefficient="1 + x")
    >>> print(refusal(p, "fastdiag"))  # doctest: +ELLIPSIS
    fastdiag: the coefficient k varies in space, so the operator is not a Kronecker sum ...
    >>> refusal(p, "auto") is None
    True
    """
    cls, _ = choose(problem, method)
    cls.effective_options(options)
    return cls.refusal(problem, options)
