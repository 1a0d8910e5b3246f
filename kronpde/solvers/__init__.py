"""Solvers for ``A u = b``: fastdiag, CG (plain, AMG- or fastdiag-preconditioned), direct, PETSc.

:func:`solve` and :func:`prepare` (:mod:`kronpde.solvers.driver`) are the entry
points; :mod:`kronpde.solvers.method` holds the interface every method
implements and :mod:`kronpde.solvers.registry` the names (:data:`METHODS`) they
are picked by.  The report types are in :mod:`kronpde.solvers.report`, the
stopping rules in :mod:`kronpde.solvers.rounds` (run by
:mod:`kronpde.solvers.runner`), the progress lines in
:mod:`kronpde.solvers.progress`, and the accuracy policy of every backend in
:mod:`kronpde.solvers.plan`.  Our conjugate gradient is
``kronpde.solvers.cg.cg`` (also ``kronpde.cg``); it is not re-exported here,
where the name would hide the module ``kronpde.solvers.cg``.

Names are loaded on first use (module ``__getattr__``), so that importing the
solvers loads neither pyamg nor anything a method does not need.
"""

from __future__ import annotations

from kronpde._lazy import lazy_exports

#: name -> module that defines it
_EXPORTS = {
    "METHODS": "kronpde.solvers.registry",
    "Method": "kronpde.solvers.method",
    "refusal": "kronpde.solvers.registry",
    "PreparedSolver": "kronpde.solvers.driver",
    "prepare": "kronpde.solvers.driver",
    "solve": "kronpde.solvers.driver",
    "Solution": "kronpde.solvers.report",
    "SolveReport": "kronpde.solvers.report",
    "ProgressLines": "kronpde.solvers.progress",
    "CGResult": "kronpde.solvers.cg",
    "AMGPreconditioner": "kronpde.solvers.amg",
    "DirectSolver": "kronpde.solvers.direct",
    "FastDiagSolver": "kronpde.solvers.fastdiag",
    "FastDiagPreconditioner": "kronpde.solvers.fastdiag_pc",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports("kronpde.solvers", _EXPORTS, globals())
