"""Solvers for ``A u = b``: fastdiag, CG (plain, AMG or fastdiag-preconditioned), direct.

:func:`solve` and :func:`prepare` (in :mod:`kronpde.solvers.api`) are the entry
points; the backends are importable for direct use.  Our conjugate gradient is
``kronpde.solvers.cg.cg`` (also ``kronpde.cg``); it is not re-exported here, where the
name would hide the module ``kronpde.solvers.cg``.
"""

from kronpde.solvers.amg import AMGPreconditioner
from kronpde.solvers.api import METHODS, PreparedSolver, Solution, SolveReport, prepare, solve
from kronpde.solvers.cg import CGResult
from kronpde.solvers.direct import DirectSolver
from kronpde.solvers.fastdiag import FastDiagSolver
from kronpde.solvers.fastdiag_pc import FastDiagPreconditioner

__all__ = [
    "METHODS",
    "AMGPreconditioner",
    "CGResult",
    "DirectSolver",
    "FastDiagPreconditioner",
    "FastDiagSolver",
    "PreparedSolver",
    "Solution",
    "SolveReport",
    "prepare",
    "solve",
]
