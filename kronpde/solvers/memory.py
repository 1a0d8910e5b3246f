"""How much memory a solve needs, estimated from the grid alone, before anything large exists.

:func:`solve_bytes` counts the arrays of the grid's size a solve holds at its
peak (the problem's data, the method's work arrays, the certificate, the
nodal field and its output), :func:`memory_refusal` compares that with the
memory the system reports as available (``MemAvailable`` of
``/proc/meminfo``), so that ``kronpde check`` can print it and ``kronpde
solve`` can exit before it evaluates a grid that cannot fit.  ``direct``
adds its factors (:func:`kronpde.solvers.direct.estimate_factor_bytes`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from kronpde.solvers.direct import available_memory, estimate_factor_bytes, format_bytes
from kronpde.solvers.registry import choose

if TYPE_CHECKING:
    from kronpde.problem.protocol import SolvableProblem

__all__ = [
    "METHOD_ARRAYS",
    "PROBLEM_ARRAYS",
    "band_bytes",
    "memory_refusal",
    "memory_summary",
    "solve_bytes",
]

#: Arrays of float64 of the grid's points every solve holds: source, right-hand side, the
#: Dirichlet values, the nodal field, the weights and their square roots, a written field.
PROBLEM_ARRAYS = 8

#: Arrays of float64 of the grid's points each method adds at its peak (work arrays, the
#: certificate's two; ``amg-cg``: the hierarchy's matrices, about twice a 7-point CSR).
METHOD_ARRAYS = {
    "fastdiag": 4,
    "direct": 6,
    "cg": 8,
    "fastdiag-cg": 10,
    "amg-cg": 32,
}


def solve_bytes(problem: SolvableProblem, method: str = "auto") -> tuple[int, str]:
    """Return the estimated peak memory of solving ``problem`` with ``method``, and the method.

    Nothing is evaluated: the estimate reads the grid's size, whether the
    coefficient varies (its values and the flux form's rows: ``d + 2`` more
    arrays) and, for ``direct``, the factors' estimate.

    Examples
    --------
    >>> from kronpde import Grid, Problem
    >>> solve_bytes(Problem(Grid.box([127, 127])), "fastdiag")
    (1572864, 'fastdiag')
    """
    cls, _ = choose(problem, method)
    name = cls.name
    grid = problem.grid
    points = math.prod(grid.point_shape)
    arrays = PROBLEM_ARRAYS + METHOD_ARRAYS.get(name, METHOD_ARRAYS["amg-cg"])
    if problem.data.variable_coefficient:
        arrays += grid.dimension + 2
    total = 8 * arrays * points
    if name == "direct":
        total += int(estimate_factor_bytes(grid.shape, problem.discretisation.stencil))
    if name == "fastdiag-cg":
        total += band_bytes(problem)
    return int(total), name


def band_bytes(problem: SolvableProblem) -> int:
    """Return the estimated bytes of ``fastdiag-cg``'s band correction (0: none).

    A domain inside the box: the sparse LU of the ``m`` rows along the
    embedded boundary (:meth:`~kronpde.problem.discretisation.Discretisation.band_estimate`)
    holds about ``8 m`` entries in 2-D (the band is a ring) and ``(8 + 1.5 sqrt(m)) m``
    in 3-D (a shell; measured with ``MMD_AT_PLUS_A``: ``docs/embedded-boundaries.md``),
    12 bytes each, plus the band's rows of ``Â`` twice.
    """
    m = int(problem.discretisation.band_estimate())
    if m == 0:
        return 0
    d = problem.grid.dimension
    entries = 8.0 * m if d < 3 else (8.0 + 1.5 * math.sqrt(m)) * m
    return int(12.0 * entries + 24.0 * (2 * d + 2) * m)


def memory_summary(problem: SolvableProblem, method: str = "auto") -> str:
    """Return ``kronpde check``'s sentence: the estimate and the memory available."""
    need, name = solve_bytes(problem, method)
    available = available_memory()
    have = "not reported" if available is None else f"{format_bytes(available)} available"
    band = band_bytes(problem) if name == "fastdiag-cg" else 0
    if band:
        have = f"the band correction's LU {format_bytes(band)} included; {have}"
    return f"{name} needs about {format_bytes(need)} ({have})"


def memory_refusal(problem: SolvableProblem, method: str = "auto") -> str | None:
    """Why the solve cannot fit in the memory available now (None: it fits, or unknown).

    Examples
    --------
    >>> from kronpde import Grid, Problem
    >>> memory_refusal(Problem(Grid.box([8, 8]))) is None
    True
    """
    need, name = solve_bytes(problem, method)
    available = available_memory()
    if available is None or need <= available:
        return None
    return (
        f"{name} would need about {format_bytes(need)} for this grid "
        f"({math.prod(problem.grid.point_shape)} points), but only {format_bytes(available)} "
        "is available (MemAvailable of /proc/meminfo); use a coarser grid or a machine "
        "with more memory (--backend petsc spreads it over ranks)"
    )
