"""The registry of methods: their names, where their classes live, and what ``"auto"`` picks.

The classes are imported only when a method is used (so that importing the
solvers loads neither pyamg nor anything else a method needs), and
:func:`choose` resolves ``"auto"`` by asking the methods of
:data:`AUTO_PREFERENCE` in turn, through the interface of
:class:`~kronpde.solvers.method.Method`.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kronpde.errors import OptionError
from kronpde.solvers.indefinite import may_be_indefinite
from kronpde.solvers.method import Method

if TYPE_CHECKING:
    from kronpde.problem.protocol import SolvableProblem

__all__ = ["AUTO_PREFERENCE", "INDEFINITE_REASON", "METHODS", "choose", "method_class", "refusal"]

#: The accepted method names.
METHODS = ("auto", "cg", "amg-cg", "fastdiag-cg", "fastdiag", "direct", "fastdiag-minres")

#: Where each method's class lives (imported on first use).
_CLASSES = {
    "cg": ("kronpde.solvers.iterative", "JacobiCG"),
    "amg-cg": ("kronpde.solvers.amg", "AMGCG"),
    "fastdiag-cg": ("kronpde.solvers.fastdiag_pc", "FastDiagCG"),
    "fastdiag": ("kronpde.solvers.fastdiag", "FastDiag"),
    "direct": ("kronpde.solvers.direct", "Direct"),
    "fastdiag-minres": ("kronpde.solvers.fastdiag_minres", "FastDiagMINRES"),
}

#: What ``"auto"`` runs: the first of these that accepts the problem (the last accepts all
#: with ``c >= 0``; a negative ``c`` that leaves ``A`` indefinite goes to ``"direct"``).
AUTO_PREFERENCE = ("fastdiag", "fastdiag-cg", "amg-cg")

#: Why ``"auto"`` runs ``"direct"``: no exact fast solve, and a negative ``c`` CG cannot take.
INDEFINITE_REASON = (
    "auto: the operator is not a Kronecker sum (fast diagonalization is not exact) and the "
    "shift c < 0 leaves it not certified positive definite (CG needs that); the sparse "
    "direct solve (LU with pivoting) handles an indefinite operator"
)


#: Why ``"auto"`` runs ``"direct"``: a non-symmetric operator the fast solve cannot take.
NONSYMMETRIC_REASON = (
    "auto: the operator is not symmetric (the non-divergence form) and fast "
    "diagonalization cannot solve it stably; the sparse direct solve (LU) can"
)


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


def choose(problem: SolvableProblem, method: str) -> tuple[type[Method], str]:
    """Return the class to run for ``method`` on ``problem``, and why (``"requested"`` unless auto).

    Raises
    ------
    OptionError
        For an unknown name.
    """
    if method != "auto":
        return method_class(method), "requested"
    if getattr(problem, "is_complex", False):
        from kronpde.solvers.complex_solve import COMPLEX_AUTO_REASON, auto_method

        return method_class(auto_method(problem)), COMPLEX_AUTO_REASON
    for name in AUTO_PREFERENCE[:-1]:
        cls = method_class(name)
        if cls.refusal(problem) is None:
            return cls, cls.why(problem)
    cls = method_class(AUTO_PREFERENCE[-1])  # the last one accepts every SPD problem
    if cls.refusal(problem) is None:
        return cls, cls.why(problem)
    if may_be_indefinite(problem):
        return method_class("direct"), INDEFINITE_REASON  # a negative c CG cannot take
    return method_class("direct"), NONSYMMETRIC_REASON


def refusal(
    problem: SolvableProblem, method: str = "auto", options: Mapping[str, Any] | None = None
) -> str | None:
    """Why ``method`` (``"auto"``: the method auto picks) cannot solve ``problem``; None if it can.

    Nothing is prepared: ``kronpde check`` uses this to say whether ``solve``
    would run.  Unknown names (of the method or an option) raise
    :class:`~kronpde.errors.OptionError`.

    Examples
    --------
    >>> from kronpde import Grid, Problem
    >>> p = Problem(Grid.box([8, 8]), source=1.0, coefficient="1 + x*y")
    >>> print(refusal(p, "fastdiag"))  # doctest: +ELLIPSIS
    fastdiag: the coefficient k varies in space, so the operator is not a Kronecker sum ...
    >>> refusal(p, "auto") is None
    True
    """
    cls, _ = choose(problem, method)
    cls.effective_options(options)
    if getattr(problem, "is_complex", False):  # a ComplexProblem: fastdiag, direct, fastdiag-cg
        from kronpde.solvers.complex_solve import refusal as complex_refusal

        return complex_refusal(problem, cls.name)
    return cls.refusal(problem, options)
