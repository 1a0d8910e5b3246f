"""kronpde: Poisson-type problems on boxes, solved through Kronecker structure.

``-div(k grad u) + c u = f`` on a box in 1, 2 or 3 (or more) dimensions with
Dirichlet, Neumann, Robin or periodic faces, on uniform or stretched axes,
discretised with the vertex-centred second-order scheme of ``case-format.md``
(flux form, harmonic-mean ``k`` at interval mid-points for a variable ``k``).
"""

from kronpde.boundary import Dirichlet, Neumann, Periodic, Robin
from kronpde.errors import CaseError, GridError, KronpdeError, SolverError
from kronpde.grid import Axis, Grid, stretched_nodes
from kronpde.io.case import Case, load_case
from kronpde.operator import KronSumOperator, assemble
from kronpde.problem import Problem
from kronpde.solvers import (
    METHODS,
    DirectSolver,
    FastDiagPreconditioner,
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
    "FastDiagPreconditioner",
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
    "stretched_nodes",
]
__version__ = "0.1.0"
