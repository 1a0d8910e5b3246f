"""Sparse direct solution: one SuperLU factorisation of ``Â``, reused for every right-hand side.

:class:`DirectSolver` factors ``Â = D A D^{-1}`` (a singular problem with one
unknown pinned); :func:`estimate_factor_bytes` predicts the factors' memory from
the grid alone so that a too large problem is refused before anything is
assembled (``max_memory``); :class:`Direct` is the ``"direct"`` method.
``docs/direct-solver.md`` gives the ordering, the pinning and the calibrated
memory model.
"""

from __future__ import annotations

import math
import os
import time
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator, onenormest, splu

from kronpde._checks import is_real
from kronpde.errors import OptionError, SolverError
from kronpde.problem.protocol import SolvableProblem
from kronpde.solvers.indefinite import certificate_note, may_be_indefinite
from kronpde.solvers.method import Method
from kronpde.solvers.resonance import condition_verdict
from kronpde.solvers.result import Outcome

__all__ = [
    "DEFAULT_MAX_MEMORY",
    "INDEFINITE_PIVOT",
    "MEMORY_FRACTION",
    "PERMC_SPECS",
    "Direct",
    "DirectSolver",
    "available_memory",
    "estimate_factor_bytes",
    "estimate_fill",
    "format_bytes",
    "memory_limit",
    "memory_refusal",
    "memory_verdict",
]

#: Limit on the estimated memory of the factors, in bytes, where the system does not report
#: its available memory.
DEFAULT_MAX_MEMORY = 2 * 1024**3

#: ``max_memory="auto"`` (the default) allows this fraction of the available memory.
MEMORY_FRACTION = 0.5


def available_memory() -> int | None:
    """Return the bytes of memory the system reports as available now, or None if it does not.

    Linux: ``MemAvailable`` of ``/proc/meminfo`` (free memory plus the caches
    it can reclaim); elsewhere ``os.sysconf("SC_AVPHYS_PAGES")`` times the
    page size where the system offers it (free pages only).
    """
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024  # the value is in kB
    except (OSError, ValueError, IndexError):
        pass
    try:
        pages, size = os.sysconf("SC_AVPHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):  # no sysconf, or not this name
        return None
    return int(pages) * int(size) if pages > 0 and size > 0 else None


def memory_limit(max_memory: float | str | None) -> tuple[float | None, str]:
    """Return the limit ``max_memory`` stands for, in bytes (None: no limit), and how it was set.

    ``"auto"``: :data:`MEMORY_FRACTION` of :func:`available_memory`, or
    :data:`DEFAULT_MAX_MEMORY` where the system reports nothing.

    Examples
    --------
    >>> memory_limit(1e9)
    (1000000000.0, 'the max_memory option')
    """
    if max_memory is None:
        return None, "no limit (max_memory=None)"
    if max_memory != "auto":
        return float(max_memory), "the max_memory option"
    available = available_memory()
    if available is None:
        return float(DEFAULT_MAX_MEMORY), (
            "the fixed default, as this system does not report its available memory"
        )
    return MEMORY_FRACTION * available, (
        f"half of the {format_bytes(available)} this machine reports available now"
    )


#: SuperLU's diagonal pivot threshold for a negative shift ``c`` (an operator that may be
#: indefinite): a diagonal pivot is kept while at least this fraction of its column's largest.
INDEFINITE_PIVOT = 0.1

#: The column orderings of :meth:`DirectSolver.from_problem`.
PERMC_SPECS = ("auto", "MMD_AT_PLUS_A", "MMD_ATA", "COLAMD", "NATURAL")

_BYTES_PER_ENTRY = 14.0
_BYTES_PER_UNKNOWN = 300.0

#: Factor on the estimated fill, per stencil (:attr:`Discretisation.stencil
#: <kronpde.problem.discretisation.Discretisation>`) and dimension: the 9- and 19-point
#: rows of the fourth-order scheme fill more than the star's (``docs/direct-solver.md``).
STENCIL_FILL = {"box": {1: 1.0, 2: 1.5, 3: 4.5}}

#: The box stencil's factors (the compact fourth-order scheme's operator).
COMPACT_FILL = STENCIL_FILL["box"]


def estimate_fill(shape: tuple[int, ...], stencil: str = "star") -> float:
    """Estimated ``L.nnz + U.nnz`` of the factors of a grid operator with unknowns ``shape``.

    Parameters
    ----------
    shape : tuple of int
        Unknowns per axis (``Grid.shape``); axes with one unknown are ignored.
    stencil : {"star", "box"}
        The rows of the operator (``problem.discretisation.stencil``): a box
        stencil multiplies by its :data:`STENCIL_FILL`.

    Returns
    -------
    float
        The model of ``docs/direct-solver.md`` (calibrated on SuperLU with the
        ``MMD_AT_PLUS_A`` ordering; it errs on the large side).

    Examples
    --------
    >>> f = estimate_fill((1023, 1023))
    >>> bool(7.0e7 < f < 9.0e7)
    True
    """
    dims = sorted((int(n) for n in shape if n > 1), reverse=True)
    n_total = float(math.prod(dims)) if dims else 1.0
    scale = STENCIL_FILL.get(stencil, {}).get(len(dims), 1.0)
    if len(dims) <= 1:
        return 4.0 * n_total
    if len(dims) == 2:
        return scale * min(4.0 * n_total * math.log2(n_total), 2.0 * n_total * (dims[1] + 2))
    b, c = dims[1], math.prod(dims[2:])
    s = math.sqrt(b * c * n_total ** (2.0 / 3.0))
    return scale * 1.3 * n_total * s**0.86


def estimate_factor_bytes(shape: tuple[int, ...], stencil: str = "star") -> float:
    """Estimated peak memory in bytes of factoring the operator on unknowns ``shape``.

    Examples
    --------
    >>> gib = estimate_factor_bytes((63, 63, 63)) / 1024**3
    >>> bool(4.0 < gib < 7.0)
    True
    """
    n_total = float(math.prod(shape))
    return _BYTES_PER_ENTRY * estimate_fill(shape, stencil) + _BYTES_PER_UNKNOWN * n_total


def format_bytes(n: float) -> str:
    """Return ``n`` bytes in GiB, MiB, KiB or B, one decimal."""
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
    condition : float or None
        With ``c < 0``: the estimate ``||Â||_1 ||Â^{-1}||_1`` of the condition
        number (``scipy.sparse.linalg.onenormest`` on the factors' solves),
        judged by :func:`~kronpde.solvers.resonance.condition_verdict`; None for
        ``c >= 0``.
    warning : str or None
        With ``c < 0`` and that estimate above
        :data:`~kronpde.solvers.resonance.WARN_CONDITION`: the sentence a
        solve's report carries; else None.

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

    def __init__(
        self, problem: SolvableProblem, lu, pinned, estimated_bytes: float, setup_seconds: float
    ):
        self.problem = problem
        self._lu = lu
        self.pinned = pinned
        self.estimated_bytes = estimated_bytes
        self.setup_seconds = setup_seconds
        self.fill = int(lu.L.nnz + lu.U.nnz)
        self._scale = problem.symmetric_scale
        self.last_projected_norm = 0.0
        self.condition: float | None = None
        self.warning: str | None = None

    @classmethod
    def from_problem(
        cls,
        problem: SolvableProblem,
        *,
        max_memory: float | str | None = "auto",
        permc_spec: str = "auto",
    ) -> DirectSolver:
        """Factor ``Â`` of ``problem`` once.

        Parameters
        ----------
        problem : Problem
            The problem.
        max_memory : float, "auto" or None, optional
            Refuse when the estimated memory of the factors (bytes) exceeds
            this; None disables the check.  Default ``"auto"``: half the
            memory the system reports as available (:func:`memory_limit`).
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
        estimate = estimate_factor_bytes(problem.grid.shape, problem.discretisation.stencil)

        A = sp.csc_array(problem.operator(symmetric=True))
        pinned = None
        if problem.singular:
            pinned = problem.size // 2
            A = _pin(A, pinned)
        if permc_spec == "auto" and not problem.discretisation.symmetric:
            # the non-divergence form: a non-symmetric Â, SuperLU's general ordering and pivoting
            kwargs = {"permc_spec": "COLAMD"}
        elif permc_spec == "auto":
            kwargs = {
                "permc_spec": "MMD_AT_PLUS_A",
                # c >= 0: Â is positive (semi-)definite, the diagonal pivots are safe; a
                # negative c may make it indefinite: threshold pivoting then
                "diag_pivot_thresh": INDEFINITE_PIVOT if may_be_indefinite(problem) else 0.0,
                "options": {"SymmetricMode": True},
            }
        else:
            kwargs = {"permc_spec": permc_spec}
        try:
            lu = splu(A, **kwargs)
        except (RuntimeError, MemoryError) as exc:
            msg = f"direct: SuperLU failed on {problem.size} unknowns: {exc}"
            if may_be_indefinite(problem) and "singular" in str(exc):
                msg += (
                    f" (with shift c = {problem.shift:g}, -c is an eigenvalue of the diffusion "
                    "operator: the problem has no unique solution; move c away from it)"
                )
            raise SolverError(msg) from exc
        verdict = _indefinite_verdict(problem, A, lu)  # c < 0: κ, and a SolverError if singular
        made = cls(problem, lu, pinned, estimate, time.perf_counter() - t0)
        made.condition, made.warning = verdict
        return made

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


def _indefinite_verdict(
    problem: SolvableProblem, A: sp.csc_array, lu: Any
) -> tuple[float | None, str | None]:
    """Return ``(κ_1, warning)`` of a factored ``Â`` with ``c < 0`` (``(None, None)`` else).

    ``κ_1 = ||Â||_1 ||Â^{-1}||_1``, the second factor estimated by Hager and
    Higham's method on the factors' solves (a few of each); a singular ``Â``
    raises the :class:`~kronpde.errors.SolverError` of
    :func:`~kronpde.solvers.resonance.condition_verdict`.
    """
    if not may_be_indefinite(problem):
        return None, None
    n = A.shape[0]
    inverse = LinearOperator(
        (n, n), matvec=lu.solve, rmatvec=lambda x: lu.solve(x, trans="T"), dtype=np.float64
    )
    with np.errstate(all="ignore"):  # an exactly resonant Â gives huge (or infinite) solves
        estimate = float(onenormest(inverse)) * float(abs(A).sum(axis=0).max())
    condition = estimate if math.isfinite(estimate) else math.inf
    how = "the 1-norm estimate ||Â||_1 ||Â^-1||_1 from the LU factors"
    longest = max(problem.grid.shape)
    return condition, condition_verdict(condition, problem.shift, longest, "direct", how)


def _check_options(max_memory: object, permc_spec: object) -> None:
    if (
        max_memory is not None
        and max_memory != "auto"
        and not (is_real(max_memory) and max_memory > 0)
    ):
        msg = (
            f"direct: option max_memory must be a number of bytes > 0, 'auto' or None, got "
            f"{max_memory!r}"
        )
        raise OptionError(msg)
    Direct.check_choice("permc_spec", permc_spec)


def memory_verdict(problem: SolvableProblem, max_memory: float | str | None = "auto") -> str:
    """Say how the factors' estimated memory compares with the limit (for ``kronpde check``).

    Examples
    --------
    >>> from kronpde import Grid, Problem
    >>> print(memory_verdict(Problem(Grid.box([32, 32])), 1e9))
    the factors need about 802.3 KiB; the limit is 953.7 MiB (the max_memory option)
    """
    estimate = estimate_factor_bytes(problem.grid.shape, problem.discretisation.stencil)
    limit, how = memory_limit(max_memory)
    if limit is None:
        return f"the factors need about {format_bytes(estimate)}; {how}"
    text = f"the factors need about {format_bytes(estimate)}; the limit is {format_bytes(limit)}"
    text += f" ({how})"
    if max_memory == "auto":
        text += ", so the verdict depends on this machine and its load"
    return text


def memory_refusal(problem: SolvableProblem, max_memory: float | str | None) -> str | None:
    """Why ``direct`` refuses ``problem`` under ``max_memory`` (None: the factors fit).

    ``max_memory`` as the option takes it (``"auto"``: :func:`memory_limit`).
    """
    shape = problem.grid.shape
    stencil = problem.discretisation.stencil
    estimate = estimate_factor_bytes(shape, stencil)
    limit, how = memory_limit(max_memory)
    if limit is None or estimate <= limit:
        return None
    return (
        f"direct: factoring the operator on {problem.size} unknowns "
        f"({' x '.join(map(str, shape))}) would need about {format_bytes(estimate)} "
        f"(estimated {estimate_fill(shape, stencil):.3g} factor entries), more than "
        f"max_memory = {format_bytes(limit)} ({how}); use method 'fastdiag' or "
        "'amg-cg', or raise options={'max_memory': ...}"
    )


class Direct(Method):
    """``"direct"``: one SuperLU factorisation of ``Â`` (:class:`DirectSolver`), exact to rounding.

    Options ``max_memory`` (bytes, ``"auto"``: half the available memory, or
    None) and ``permc_spec`` (:data:`PERMC_SPECS`).
    """

    name = "direct"
    defaults: ClassVar[dict[str, Any]] = {
        "max_memory": "auto",
        "permc_spec": "auto",
    }
    choices: ClassVar[dict[str, tuple[Any, ...]]] = {"permc_spec": PERMC_SPECS}

    @classmethod
    def refusal(cls, problem: SolvableProblem, options: Any = None) -> str | None:
        """Run the memory check of :meth:`DirectSolver.from_problem`, assembling nothing."""
        opts = cls.effective_options(options)
        _check_options(opts["max_memory"], opts["permc_spec"])
        return memory_refusal(problem, opts["max_memory"])

    def __init__(self, problem: SolvableProblem, **options: Any):
        self.options = self.effective_options(options)
        self.backend = DirectSolver.from_problem(problem, **self.options)
        self.options["max_memory"] = memory_limit(self.options["max_memory"])[0]  # the bytes
        self._indefinite = certificate_note(problem)  # c < 0: why no certified bound

    def solve(
        self, b: np.ndarray, *, out: np.ndarray | None = None, check: bool = True, **_: Any
    ) -> Outcome:
        """Solve ``A u = b`` with the factors (``b`` projected by the driver).

        With ``check``, ``u`` is scanned for NaN/infinity.  A new shift needs
        new factors: :meth:`set_shift` is the default (False, prepare again).
        """
        x = self.backend.solve(b, out=out, projected=True)
        notes = (self.backend.warning, self._indefinite if check else None)
        said = tuple(w for w in notes if w)
        return Outcome(x, bool(np.all(np.isfinite(x))) if check else True, warnings=said)

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
