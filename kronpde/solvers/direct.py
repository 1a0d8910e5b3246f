"""Sparse direct solution: one SuperLU factorisation of ``Â``, reused for every right-hand side.

:class:`DirectSolver` factors the symmetric operator ``Â = D A D^{-1}`` once
(``scipy.sparse.linalg.splu`` with the minimum-degree ordering of ``Â + Âᵀ``
and SuperLU's symmetric mode, which on these grids fills about half as much as
the default COLAMD ordering) and solves ``A u = b`` as ``u = D^{-1} Â^{-1} D b``.

Singular problems (pure Neumann/periodic, ``c = 0``): one unknown is pinned
(its row and column of ``Â`` replaced by the identity's, its right-hand side
set to zero), which leaves a nonsingular symmetric matrix; the solution of the
projected data (``b`` minus its trapezoid-weighted mean, see
:meth:`kronpde.Problem.project_rhs`) is then shifted to zero weighted mean.
Pinning keeps the sparsity (a bordered system would add a dense row and column).

Memory.  Before anything is assembled, :func:`estimate_factor_bytes` predicts
the size of the factors from the grid alone, and the solver refuses (a
:class:`~kronpde.errors.SolverError` naming the estimate) where it exceeds
``max_memory``.  The model was calibrated here on ``splu`` with this ordering
(``L.nnz + U.nnz`` and the growth of the resident set):

* 1-D: ``4 N`` entries (tridiagonal);
* 2-D: ``min(4 N log2 N, 2 N (b + 2))`` with ``b`` the shorter side (the fill
  was ``3.1`` to ``3.9 N log2 N`` from 255² to 1023² unknowns);
* 3-D with sides ``a >= b >= c``: ``1.3 N s^0.86`` where
  ``s = sqrt(b c N^(2/3))`` (for a cube ``s = n^2``; 0 to 8 % over the fill on
  cubes of 15³ to 47³ unknowns, 20 to 60 % over on flat or long boxes);
* bytes ``= 14 x entries + 300 x N`` (values, indices, supernode and work
  arrays; measured 11 to 17 bytes per entry).

The default ``max_memory`` of 2 GiB admits 1023² and 47³ unknowns and refuses
the 3-D grids beyond about 52³ cells, which would take gigabytes and minutes.
"""

from __future__ import annotations

import math
import time
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu

from kronpde.errors import OptionError, SolverError
from kronpde.solvers.method import Method
from kronpde.solvers.result import Outcome

__all__ = [
    "DEFAULT_MAX_MEMORY",
    "PERMC_SPECS",
    "Direct",
    "DirectSolver",
    "estimate_factor_bytes",
    "estimate_fill",
    "memory_refusal",
]

#: Default limit on the estimated memory of the factors, in bytes.
DEFAULT_MAX_MEMORY = 2 * 1024**3

#: The column orderings of :meth:`DirectSolver.from_problem`.
PERMC_SPECS = ("auto", "MMD_AT_PLUS_A", "MMD_ATA", "COLAMD", "NATURAL")

_BYTES_PER_ENTRY = 14.0
_BYTES_PER_UNKNOWN = 300.0


def estimate_fill(shape: tuple[int, ...]) -> float:
    """Estimated ``L.nnz + U.nnz`` of the factors of a grid operator with unknowns ``shape``.

    Parameters
    ----------
    shape : tuple of int
        Unknowns per axis (``Grid.shape``); axes with one unknown are ignored.

    Returns
    -------
    float
        The model of the module docstring (calibrated on SuperLU with the
        ``MMD_AT_PLUS_A`` ordering; it errs on the large side).

    Examples
    --------
    >>> f = estimate_fill((1023, 1023))
    >>> bool(7.0e7 < f < 9.0e7)
    True
    """
    dims = sorted((int(n) for n in shape if n > 1), reverse=True)
    n_total = float(math.prod(dims)) if dims else 1.0
    if len(dims) <= 1:
        return 4.0 * n_total
    if len(dims) == 2:
        return min(4.0 * n_total * math.log2(n_total), 2.0 * n_total * (dims[1] + 2))
    b, c = dims[1], math.prod(dims[2:])
    s = math.sqrt(b * c * n_total ** (2.0 / 3.0))
    return 1.3 * n_total * s**0.86


def estimate_factor_bytes(shape: tuple[int, ...]) -> float:
    """Estimated peak memory in bytes of factoring the operator on unknowns ``shape``.

    Examples
    --------
    >>> gib = estimate_factor_bytes((63, 63, 63)) / 1024**3
    >>> bool(4.0 < gib < 7.0)
    True
    """
    n_total = float(math.prod(shape))
    return _BYTES_PER_ENTRY * estimate_fill(shape) + _BYTES_PER_UNKNOWN * n_total


def _format_bytes(n: float) -> str:
    for unit, size in (("GiB", 1024.0**3), ("MiB", 1024.0**2), ("KiB", 1024.0)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n:.0f} B"


class DirectSolver:
    """A SuperLU factorisation of a problem's symmetric operator, reused for every solve.

    Build with :meth:`from_problem`; :meth:`solve` returns the exact (to
    rounding) solution of the unsymmetrised ``A u = b``.

    Attributes
    ----------
    setup_seconds : float
        Wall time of assembly and factorisation.
    fill : int
        ``L.nnz + U.nnz`` of the factors.
    estimated_bytes : float
        The memory estimate the size check used.
    pinned : int or None
        The pinned unknown of a singular problem, else None.
    last_projected_norm : float
        ``||b - b_projected|| / ||b||`` of the last solve (0 if not singular).

    Examples
    --------
    >>> import numpy as np
    >>> from kronpde import Grid, Neumann, Problem
    >>> p = Problem(Grid.box([16, 8], boundary=Neumann()), source=1.0)   # incompatible data
    >>> s = DirectSolver.from_problem(p)
    >>> u = s.solve(p.rhs())
    >>> abs(p.weighted_mean(u)) < 1e-12, s.last_projected_norm > 0.5
    (True, True)
    """

    def __init__(self, problem, lu, pinned, estimated_bytes, setup_seconds):
        self.problem = problem
        self._lu = lu
        self.pinned = pinned
        self.estimated_bytes = estimated_bytes
        self.setup_seconds = setup_seconds
        self.fill = int(lu.L.nnz + lu.U.nnz)
        self._scale = problem.symmetric_scale
        self.last_projected_norm = 0.0

    @classmethod
    def from_problem(
        cls,
        problem: Any,
        *,
        max_memory: float | None = DEFAULT_MAX_MEMORY,
        permc_spec: str = "auto",
    ) -> DirectSolver:
        """Factor ``Â`` of ``problem`` once.

        Parameters
        ----------
        problem : Problem
            The problem.
        max_memory : float or None, optional
            Refuse when the estimated memory of the factors (bytes) exceeds
            this; None disables the check.  Default 2 GiB.
        permc_spec : str, optional
            SuperLU column ordering: ``"auto"`` (``MMD_AT_PLUS_A`` with
            symmetric mode), or one of ``"MMD_AT_PLUS_A"``, ``"MMD_ATA"``,
            ``"COLAMD"``, ``"NATURAL"``.

        Raises
        ------
        OptionError
            For a bad option value.
        SolverError
            When the estimate exceeds ``max_memory`` (nothing is assembled or
            factored), or when SuperLU fails.
        """
        t0 = time.perf_counter()
        _check_options(max_memory, permc_spec)
        reason = memory_refusal(problem, max_memory)
        if reason is not None:
            raise SolverError(reason)
        estimate = estimate_factor_bytes(problem.grid.shape)

        A = sp.csc_array(problem.operator(symmetric=True))
        pinned = None
        if problem.singular:
            pinned = problem.size // 2
            A = _pin(A, pinned)
        if permc_spec == "auto":
            kwargs = {
                "permc_spec": "MMD_AT_PLUS_A",
                "diag_pivot_thresh": 0.0,
                "options": {"SymmetricMode": True},
            }
        else:
            kwargs = {"permc_spec": permc_spec}
        try:
            lu = splu(A, **kwargs)
        except (RuntimeError, MemoryError) as exc:
            msg = f"direct: SuperLU failed on {problem.size} unknowns: {exc}"
            raise SolverError(msg) from exc
        return cls(problem, lu, pinned, estimate, time.perf_counter() - t0)

    def solve(
        self, b: np.ndarray, out: np.ndarray | None = None, *, projected: bool = False
    ) -> np.ndarray:
        """Solve ``A u = b`` (unsymmetrised) with the stored factors.

        Parameters
        ----------
        b : ndarray, shape (n,)
            Right-hand side on the unknowns.  For a singular problem it is
            projected first (:attr:`last_projected_norm` records by how much).
        out : ndarray, shape (n,), optional
            Where to write ``u``.
        projected : bool, optional
            ``b`` is already in the range of ``A`` (the solve driver projected
            it): it is not projected again.

        Returns
        -------
        ndarray, shape (n,)
            ``u``; for a singular problem the solution with zero trapezoid mean.
        """
        p = self.problem
        b = np.asarray(b, dtype=np.float64).reshape(-1)
        if not projected:
            b, self.last_projected_norm = p.project_rhs(b)
        rhs = self._scale * b
        if self.pinned is not None:
            rhs[self.pinned] = 0.0
        y = self._lu.solve(rhs)
        if out is None:
            out = np.empty_like(y)
        np.divide(y, self._scale, out=out)
        p.remove_mean(out)
        return out


def _check_options(max_memory: object, permc_spec: object) -> None:
    if max_memory is not None and (
        isinstance(max_memory, bool)
        or not isinstance(max_memory, (int, float, np.integer, np.floating))
        or not max_memory > 0
    ):
        msg = f"direct: option max_memory must be a number of bytes > 0 or None, got {max_memory!r}"
        raise OptionError(msg)
    if permc_spec not in PERMC_SPECS:
        msg = f"direct: option permc_spec={permc_spec!r} is not one of {', '.join(PERMC_SPECS)}"
        raise OptionError(msg)


def memory_refusal(problem: Any, max_memory: float | None) -> str | None:
    """Why ``direct`` refuses ``problem`` under ``max_memory`` (None: the factors fit)."""
    shape = problem.grid.shape
    estimate = estimate_factor_bytes(shape)
    if max_memory is None or estimate <= max_memory:
        return None
    return (
        f"direct: factoring the operator on {problem.size} unknowns "
        f"({' x '.join(map(str, shape))}) would need about {_format_bytes(estimate)} "
        f"(estimated {estimate_fill(shape):.3g} factor entries), more than "
        f"max_memory = {_format_bytes(max_memory)}; use method 'fastdiag' or "
        "'amg-cg', or raise options={'max_memory': ...}"
    )


class Direct(Method):
    """``"direct"``: one SuperLU factorisation of ``Â`` (:class:`DirectSolver`), exact to rounding.

    Options ``max_memory`` (bytes or None) and ``permc_spec`` (:data:`PERMC_SPECS`).
    """

    name = "direct"
    defaults: ClassVar[dict[str, Any]] = {
        "max_memory": DEFAULT_MAX_MEMORY,
        "permc_spec": "auto",
    }

    @classmethod
    def refusal(cls, problem: Any, options: Any = None) -> str | None:
        """Run the memory check of :meth:`DirectSolver.from_problem`, assembling nothing."""
        opts = cls.effective_options(options)
        _check_options(opts["max_memory"], opts["permc_spec"])
        return memory_refusal(problem, opts["max_memory"])

    def __init__(self, problem: Any, **options: Any):
        self.options = self.effective_options(options)
        self.backend = DirectSolver.from_problem(problem, **self.options)

    def solve(self, b: np.ndarray, *, out: np.ndarray | None = None, **_: Any) -> Outcome:
        """Solve ``A u = b`` with the factors (``b`` projected by the driver)."""
        x = self.backend.solve(b, out=out, projected=True)
        return Outcome(x, bool(np.all(np.isfinite(x))))

    def describe(self) -> str:
        """Give the size of the factors."""
        return f"SuperLU factors with {self.backend.fill:,} entries."


def _pin(A: sp.csc_array, k: int) -> sp.csc_array:
    """Return ``A`` with row and column ``k`` replaced by those of the identity (symmetry kept)."""
    A = sp.csc_array(A, copy=True)
    n = A.shape[0]
    keep = np.ones(n)
    keep[k] = 0.0
    scale = sp.diags_array(keep, format="csc")
    A = scale @ A @ scale
    A = A + sp.csc_array(([1.0], ([k], [k])), shape=(n, n))
    A.eliminate_zeros()
    return sp.csc_array(A)
