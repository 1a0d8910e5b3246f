"""kronpde: Poisson-type problems on boxes, solved through Kronecker structure.

``-Δu + c u = f`` on a box in 1, 2 or 3 (or more) dimensions with Dirichlet,
Neumann, Robin or periodic faces, discretised with the vertex-centred
second-order finite-difference scheme of ``case-format.md``.
"""

from kronpde.boundary import Dirichlet, Neumann, Periodic, Robin
from kronpde.errors import CaseError, GridError, KronpdeError, SolverError
from kronpde.grid import Axis, Grid
from kronpde.io.case import Case, load_case
from kronpde.operator import KronSumOperator, assemble
from kronpde.problem import Problem
from kronpde.solvers import (
    METHODS,
    DirectSolver,
    FastDiagSolver,
    PreparedSolver,
    Solution,
    SolveReport,
    prepare,
    solve,
)
from kronpde.solvers.cg import cg
from kronpde.stencils import AxisOperator, second_difference

__all__ = [
    "METHODS",
    "Axis",
    "AxisOperator",
    "Case",
    "CaseError",
    "DirectSolver",
    "Dirichlet",
    "FastDiagSolver",
    "Grid",
    "GridError",
    "KronSumOperator",
    "KronpdeError",
    "Neumann",
    "Periodic",
    "PreparedSolver",
    "Problem",
    "Robin",
    "Solution",
    "SolveReport",
    "SolverError",
    "assemble",
    "cg",
    "load_case",
    "prepare",
    "second_difference",
    "solve",
]
__version__ = "0.1.0"
