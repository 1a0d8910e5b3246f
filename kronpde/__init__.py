"""kronpde: Poisson-type problems on boxes, solved through Kronecker structure.

``-Δu + c u = f`` on a box in 1, 2 or 3 (or more) dimensions with Dirichlet,
Neumann, Robin or periodic faces, discretised with the vertex-centred
second-order finite-difference scheme of ``case-format.md``.
"""

from kronpde.boundary import Dirichlet, Neumann, Periodic, Robin
from kronpde.errors import CaseError, GridError, KronpdeError, SolverError
from kronpde.grid import Axis, Grid
from kronpde.operator import KronSumOperator, assemble
from kronpde.problem import Problem
from kronpde.stencils import AxisOperator, second_difference

__all__ = [
    "Axis",
    "AxisOperator",
    "CaseError",
    "Dirichlet",
    "Grid",
    "GridError",
    "KronSumOperator",
    "KronpdeError",
    "Neumann",
    "Periodic",
    "Problem",
    "Robin",
    "SolverError",
    "assemble",
    "second_difference",
]
__version__ = "0.1.0"
