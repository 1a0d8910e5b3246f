"""kronpde: Poisson-type problems on boxes, solved through Kronecker structure.

``-div(k grad u) + c u = f`` on a box in 1, 2 or 3 (or more) dimensions with
Dirichlet, Neumann, Robin or periodic faces, on uniform or stretched axes,
discretised with the vertex-centred second-order scheme of ``case-format.md``
(flux form, harmonic-mean ``k`` at interval mid-points for a variable ``k``), or
with ``order=4`` the compact fourth-order scheme (constant ``k``, uniform axes).

The model (grids, conditions, problems) is imported at once; the solvers, the
case files and the toolkit are imported when first used (module
``__getattr__``), so ``import kronpde`` loads neither pyamg, meshio,
matplotlib, petsc4py nor the file layer.
"""

from __future__ import annotations

from kronpde._lazy import lazy_exports
from kronpde._version import __version__ as __version__
from kronpde.errors import (
    CaseError,
    DataError,
    GridError,
    KronpdeError,
    OptionError,
    SolverError,
)
from kronpde.expr.expression import Expression, ExpressionError, parse_expression
from kronpde.geometry.boundary import Dirichlet, Neumann, OnAxis, Periodic, Pole, Robin
from kronpde.geometry.coordinates import coordinates
from kronpde.geometry.curvilinear import CurvilinearGrid
from kronpde.geometry.grid import Axis, Grid, stretched_nodes
from kronpde.operators.kronsum import KronSumOperator, assemble
from kronpde.operators.stencils import AxisOperator, second_difference
from kronpde.problem.problem import Problem

#: Names loaded on first use: name -> module that defines it.
_LAZY = {
    "METHODS": "kronpde.solvers.registry",
    "ComplexProblem": "kronpde.problem.complex_problem",
    "refusal": "kronpde.solvers.registry",
    "PreparedSolver": "kronpde.solvers.driver",
    "prepare": "kronpde.solvers.driver",
    "solve": "kronpde.solvers.driver",
    "Solution": "kronpde.solvers.report",
    "SolveReport": "kronpde.solvers.report",
    "DirectSolver": "kronpde.solvers.direct",
    "FastDiagSolver": "kronpde.solvers.fastdiag",
    "FastDiagPreconditioner": "kronpde.solvers.fastdiag_pc",
    "cg": "kronpde.solvers.cg",
    "Case": "kronpde.io.case",
    "load_case": "kronpde.io.case",
}

__all__ = [
    "METHODS",
    "Axis",
    "AxisOperator",
    "Case",
    "CaseError",
    "ComplexProblem",
    "CurvilinearGrid",
    "DataError",
    "DirectSolver",
    "Dirichlet",
    "Expression",
    "ExpressionError",
    "FastDiagPreconditioner",
    "FastDiagSolver",
    "Grid",
    "GridError",
    "KronSumOperator",
    "KronpdeError",
    "Neumann",
    "OnAxis",
    "OptionError",
    "Periodic",
    "Pole",
    "PreparedSolver",
    "Problem",
    "Robin",
    "Solution",
    "SolveReport",
    "SolverError",
    "assemble",
    "cg",
    "coordinates",
    "load_case",
    "parse_expression",
    "prepare",
    "refusal",
    "second_difference",
    "solve",
    "stretched_nodes",
]


__getattr__, __dir__ = lazy_exports("kronpde", _LAZY, globals())
