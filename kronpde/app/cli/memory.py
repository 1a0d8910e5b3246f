"""The case read, its memory estimated before its data are evaluated, then checked.

``kronpde check`` and ``kronpde solve`` read a case through :func:`load_fitting`:
a grid whose solve cannot fit in the memory available (the estimate of
:mod:`kronpde.solvers.memory`) exits 2 with the estimate and the available
memory before minutes are spent evaluating its source and faces.
"""

from __future__ import annotations

from typing import Any

__all__ = ["load_fitting"]


def load_fitting(path: Any, method: str | None, *, check: bool = True) -> Any:
    """Return the case of ``path`` (:func:`kronpde.io.case.load_case`), refused if it cannot fit.

    Parameters
    ----------
    path : path-like
        The case file.
    method : str or None
        The method the command line asks for (None: the case's own).
    check : bool, optional
        Evaluate and check the data once the memory estimate passed (as
        ``load_case(path, check=True)`` does; False under ``--backend petsc``).

    Raises
    ------
    SolverError
        The solve would need more memory than is available (exit code 2).
    CaseError
        Bad data, naming the key (as :func:`~kronpde.io.case.load_case` does).
    """
    from kronpde.errors import DataError, GridError, OptionError, SolverError
    from kronpde.io.case import load_case
    from kronpde.solvers.memory import memory_refusal

    case = load_case(path, check=False)
    if check:  # a distributed solve spreads its memory over the ranks: not estimated here
        try:
            reason = memory_refusal(case.problem, method or case.method)
        except (OptionError, SolverError, DataError, GridError):
            reason = None  # an unknown method or bad data: reported where they are checked
        if reason is not None:
            raise SolverError(reason)
        try:
            case.problem.check()
        except (DataError, GridError) as exc:
            raise case.model_error(exc) from None
    return case
