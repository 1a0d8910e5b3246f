"""Algebraic multigrid (pyamg) as a preconditioner for kronpde's conjugate gradient.

:class:`AMGPreconditioner` builds a pyamg hierarchy once on the symmetric
operator ``Â = D A D^{-1}`` of a problem and applies one cycle per call
(:class:`MultigridCycle`, allocation-free); :class:`AMGCG` is the ``"amg-cg"``
method.  ``docs/preconditioners.md`` says what is tuned and why, and how a
singular problem's coarse levels are solved.
"""

from __future__ import annotations

import inspect
import time
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, ClassVar

import numpy as np
import pyamg
import scipy.sparse as sp
from pyamg.relaxation.smoothing import change_smoothers
from scipy.sparse.linalg import LinearOperator

from kronpde._checks import is_count, option_message
from kronpde.errors import OptionError, SolverError
from kronpde.problem.protocol import SolvableProblem
from kronpde.solvers.iterative import ConjugateGradient

try:  # private scipy kernel that accumulates y += A x for CSR; the public path allocates y
    from scipy.sparse._sparsetools import csr_matvec as _csr_matvec
except ImportError:  # pragma: no cover - depends on the scipy version
    _csr_matvec = None

__all__ = [
    "AMGCG",
    "AMG_KINDS",
    "AMG_PRECONDITIONERS",
    "CYCLES",
    "SINGULAR_COARSE_SOLVER",
    "AMGPreconditioner",
    "MultigridCycle",
]

#: Hierarchy kinds: name -> pyamg builder (short and long names).
AMG_KINDS = {
    "sa": pyamg.smoothed_aggregation_solver,
    "smoothed_aggregation": pyamg.smoothed_aggregation_solver,
    "rs": pyamg.ruge_stuben_solver,
    "ruge_stuben": pyamg.ruge_stuben_solver,
}

#: Cycles usable inside CG (AMLI is nonlinear and needs flexible GMRES); "auto" picks W or V.
CYCLES = ("auto", "V", "W", "F")

#: How the cycle is applied (option ``preconditioner``): kronpde's allocation-free
#: :class:`MultigridCycle`, or pyamg's ``ml.aspreconditioner``.
AMG_PRECONDITIONERS = ("kronpde", "pyamg")

#: ``cycle="auto"`` takes the W-cycle when every level has at least this many
#: times the unknowns of the next (its work is then at most 3x the finest level's).
W_CYCLE_MIN_COARSENING = 3.0

#: Coarse solver of singular problems (``docs/preconditioners.md``).
SINGULAR_COARSE_SOLVER = ("pinv", {"rtol": 1e-9})

#: The options this module reads itself; every other key goes to pyamg.
OWN_OPTIONS = ("kind", "cycle", "preconditioner", "seed")

#: kronpde's default prolongation smoother for smoothed aggregation (``docs/preconditioners.md``).
DEFAULT_SA_SMOOTH = [
    ("jacobi", {"omega": 4.0 / 3.0, "weighting": "local"}),
    ("jacobi", {"omega": 4.0 / 3.0}),
]

# keywords of the builders that kronpde sets itself
_RESERVED = ("A", "B", "BH", "kwargs")


def _accepted_keywords(builder) -> tuple[str, ...]:
    own = [
        name
        for name, par in inspect.signature(builder).parameters.items()
        if name not in _RESERVED and par.kind is not inspect.Parameter.VAR_KEYWORD
    ]
    multilevel = [
        name
        for name in inspect.signature(pyamg.MultilevelSolver.__init__).parameters
        if name not in ("self", "levels")
    ]
    return tuple(own + multilevel)


def _default(builder, name: str) -> Any:
    return inspect.signature(builder).parameters[name].default


@contextmanager
def _seeded_global_random(seed: int) -> Iterator[None]:
    """Run pyamg (which draws from ``numpy.random``) under a fixed seed, then restore."""
    # pyamg draws its Arnoldi start vectors from the legacy global generator
    state = np.random.get_state()  # noqa: NPY002
    np.random.seed(seed)  # noqa: NPY002
    try:
        yield
    finally:
        np.random.set_state(state)  # noqa: NPY002


def _strings_in(value: Any) -> Iterator[str]:
    """Every string inside a (nested) option value, dictionary keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for k, v in value.items():
            yield from _strings_in(k)
            yield from _strings_in(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _strings_in(v)


def _culprits(message: str, options: Mapping[str, Any]) -> list[str]:
    """Return the options a pyamg error message points at (by name or value)."""
    found = []
    for key, value in options.items():
        if key in message or any(len(s) > 1 and s in message for s in _strings_in(value)):
            found.append(key)
    return found


def _describe(options: Mapping[str, Any], keys) -> str:
    return ", ".join(f"{k}={options[k]!r}" for k in keys)


class MultigridCycle(LinearOperator):
    """One multigrid cycle (zero initial guess) on a pyamg hierarchy, as a LinearOperator.

    The arithmetic is that of pyamg's ``MultilevelSolver`` cycle: on each level
    the presmoother, the residual, restriction ``R``, the coarse correction
    (recursively, or the coarse solver on the last level), prolongation
    ``x += P x_c`` and the postsmoother; ``"W"`` visits the next level twice,
    ``"F"`` an F-cycle then a V-cycle.  With symmetric smoothing (e.g.
    symmetric Gauss-Seidel, or forward before and backward after) and a
    symmetric coarse solver it is a symmetric positive (semi)definite
    approximation of ``A^{-1}``.

    Parameters
    ----------
    ml : pyamg.MultilevelSolver
        The hierarchy; every level's ``A``, ``P`` and ``R`` must be CSR.
    cycle : {"V", "W", "F"}
        Cycle type.
    fine_operator : LinearOperator, optional
        The finest ``A`` in another form with ``matvec_into(x, out)`` (e.g.
        the matrix-free Kronecker sum), used for the finest residual.

    Notes
    -----
    ``matvec_into(b, out)`` writes the cycle's result into ``out`` and
    allocates nothing on the levels with CSR kernels (the coarse solver and
    non-Gauss-Seidel smoothers may allocate what they allocate in pyamg).
    """

    def __init__(self, ml, cycle: str = "V", fine_operator=None):
        n = ml.levels[0].A.shape[0]
        super().__init__(dtype=np.float64, shape=(n, n))
        self.ml = ml
        self.cycle = cycle
        self._coarse = ml.coarse_solver
        self._levels = []
        for i, lvl in enumerate(ml.levels):
            m = lvl.A.shape[0]
            entry = {
                "A": lvl.A,
                "x": np.zeros(m),
                "b": np.zeros(m),
                "r": np.zeros(m),
                "pre": getattr(lvl, "presmoother", None),
                "post": getattr(lvl, "postsmoother", None),
                "P": getattr(lvl, "P", None),
                "R": getattr(lvl, "R", None),
                "into": None,
            }
            if i == 0 and fine_operator is not None:
                entry["into"] = fine_operator.matvec_into
            self._levels.append(entry)
        self._last = len(self._levels) - 1

    @staticmethod
    def _spmv_add(M, x: np.ndarray, y: np.ndarray) -> None:
        """``y += M @ x`` for a CSR ``M``, in place."""
        if _csr_matvec is None:  # pragma: no cover - depends on the scipy version
            y += M @ x
            return
        _csr_matvec(M.shape[0], M.shape[1], M.indptr, M.indices, M.data, x, y)

    def _residual(self, level: dict, x: np.ndarray, b: np.ndarray) -> np.ndarray:
        r = level["r"]
        if level["into"] is not None:
            level["into"](x, r)
        else:
            r.fill(0.0)
            self._spmv_add(level["A"], x, r)
        np.subtract(b, r, out=r)
        return r

    def _visit(self, i: int, x: np.ndarray, b: np.ndarray, cycle: str) -> None:
        """Improve ``x`` for ``A_i x = b`` by one cycle of type ``cycle`` from level ``i``."""
        level = self._levels[i]
        A = level["A"]
        level["pre"](A, x, b)
        r = self._residual(level, x, b)
        nxt = self._levels[i + 1]
        bc, xc = nxt["b"], nxt["x"]
        bc.fill(0.0)
        self._spmv_add(level["R"], r, bc)
        xc.fill(0.0)
        if i + 1 == self._last:
            xc[:] = self._coarse(nxt["A"], bc)
        elif cycle == "V":
            self._visit(i + 1, xc, bc, "V")
        elif cycle == "W":
            self._visit(i + 1, xc, bc, "W")
            self._visit(i + 1, xc, bc, "W")
        else:  # "F"
            self._visit(i + 1, xc, bc, "F")
            self._visit(i + 1, xc, bc, "V")
        self._spmv_add(level["P"], xc, x)
        level["post"](A, x, b)

    def matvec_into(self, b: np.ndarray, out: np.ndarray) -> None:
        """Write one cycle applied to ``b`` (zero initial guess) into ``out``."""
        if self._last == 0:
            out[:] = self._coarse(self._levels[0]["A"], b)
            return
        out.fill(0.0)
        self._visit(0, out, b, self.cycle)

    def _matvec(self, b: np.ndarray) -> np.ndarray:
        b = np.ascontiguousarray(b, dtype=np.float64).reshape(-1)
        out = np.empty_like(b)
        self.matvec_into(b, out)
        return out

    def _rmatvec(self, b: np.ndarray) -> np.ndarray:  # symmetric by construction
        return self._matvec(b)


class _PyamgPreconditioner(LinearOperator):
    """``ml.aspreconditioner(cycle)`` with a ``matvec_into`` (copies pyamg's result)."""

    def __init__(self, ml, cycle: str):
        self.inner = ml.aspreconditioner(cycle=cycle)
        super().__init__(dtype=np.float64, shape=self.inner.shape)

    def matvec_into(self, b: np.ndarray, out: np.ndarray) -> None:
        """Write ``M b`` into ``out``."""
        out[:] = self.inner.matvec(b)

    def _matvec(self, b):
        return self.inner.matvec(b)

    def _rmatvec(self, b):
        return self.inner.matvec(b)


def _to_csr_levels(ml) -> bool:
    """Convert BSR 1x1 level matrices to CSR in place; True if anything changed.

    A hierarchy with genuine blocks (more than one near-null vector per node)
    is left alone, and the cycle then falls back to pyamg's own.
    """
    mats = [(lvl, name, getattr(lvl, name, None)) for lvl in ml.levels for name in ("A", "P", "R")]
    mats = [(lvl, name, M) for lvl, name, M in mats if sp.issparse(M) and M.format != "csr"]
    if any(M.format != "bsr" or M.blocksize != (1, 1) for _, _, M in mats):
        return False
    for lvl, name, M in mats:
        C = sp.csr_array(M)
        C.sum_duplicates()
        C.sort_indices()
        for attr in ("symmetry", "rho", "rho_D_inv", "rho_block_D_inv"):
            if hasattr(M, attr):
                setattr(C, attr, getattr(M, attr))
        setattr(lvl, name, C)
    return bool(mats)


def _all_csr(ml) -> bool:
    return all(
        getattr(lvl, name).format == "csr"
        for i, lvl in enumerate(ml.levels)
        for name in (("A", "P", "R") if i < len(ml.levels) - 1 else ("A",))
    )


class AMGPreconditioner:
    """A pyamg hierarchy on ``Â`` and the cycle that applies it.

    Build with :meth:`from_problem` (or :meth:`from_matrix`); use
    :attr:`operator` as the preconditioner ``M`` of
    :func:`kronpde.solvers.cg.cg` on ``Â y = D b``.

    Attributes
    ----------
    ml : pyamg.MultilevelSolver
        The hierarchy (levels in CSR).
    operator : LinearOperator
        ``M``: one cycle, with ``matvec_into``.
    kind : str
        ``"sa"`` or ``"rs"``.
    cycle : str
        ``"V"``, ``"W"`` or ``"F"``.
    options : dict
        The effective options: kronpde's own (``kind``, ``cycle``,
        ``preconditioner``, ``seed``) and the keywords given to pyamg.
    setup_seconds : float
        Wall time of the set-up.
    """

    def __init__(self, ml, operator, kind, cycle, options, setup_seconds):
        self.ml = ml
        self.operator = operator
        self.kind = kind
        self.cycle = cycle
        self.options = options
        self.setup_seconds = setup_seconds

    @property
    def levels(self) -> int:
        """Number of levels of the hierarchy."""
        return len(self.ml.levels)

    @property
    def operator_complexity(self) -> float:
        """Sum of the levels' nonzeros over the finest level's."""
        return float(self.ml.operator_complexity())

    @classmethod
    def from_problem(
        cls,
        problem: SolvableProblem,
        options: Mapping[str, Any] | None = None,
        *,
        fine_operator: Any = None,
    ) -> AMGPreconditioner:
        """Build the hierarchy on ``problem.operator(symmetric=True)``.

        Parameters
        ----------
        problem : Problem
            The problem; its symmetric operator ``Â`` is assembled here.
        options : mapping, optional
            ``kind`` (``"sa"`` default, or ``"rs"``), ``cycle`` (``"auto"``
            default: W when every level coarsens by 3x or more, else V; or
            ``"V"``, ``"W"``, ``"F"``), ``preconditioner`` (``"kronpde"``
            default, or ``"pyamg"`` for ``ml.aspreconditioner``), ``seed``
            (of the Arnoldi start vectors, default 0) and any keyword of the
            pyamg builder (``strength``, ``aggregate``, ``smooth``,
            ``presmoother``, ``postsmoother``, ``improve_candidates``,
            ``max_levels``, ``max_coarse``, ``CF``, ``interpolation``,
            ``coarse_solver``, ...), passed through unchanged.
        fine_operator : LinearOperator, optional
            ``Â`` with ``matvec_into`` for the finest residual (default: the
            problem's matrix-free symmetric operator).

        Raises
        ------
        OptionError
            An unknown option name, a value kronpde or pyamg rejects, a
            non-symmetric smoother pair, or a coarse solver that fails on the
            coarsest level; the message names the option.
        SolverError
            pyamg failed with its default options.
        """
        A = problem.operator(symmetric=True)
        # D·1 is the null vector of Â for singular problems and its near-null
        # vector otherwise (A·1 = c·1 away from Dirichlet and Robin faces)
        B = problem.symmetric_scale / np.linalg.norm(problem.symmetric_scale)
        if fine_operator is None:
            fine_operator = problem.linear_operator(symmetric=True)
        return cls.from_matrix(
            A, B, options, fine_operator=fine_operator, singular=problem.singular
        )

    @classmethod
    def from_matrix(
        cls,
        A: sp.csr_array,
        B: np.ndarray | None = None,
        options: Mapping[str, Any] | None = None,
        *,
        fine_operator=None,
        singular: bool = False,
    ) -> AMGPreconditioner:
        """Build the hierarchy on an SPD (or SPD semidefinite) CSR matrix ``A``.

        ``B`` (shape ``(n,)`` or ``(n, k)``) is the near-null space given to
        smoothed aggregation (ignored by Ruge-Stuben); with ``singular=True``
        it is ``A``'s null space and the default coarse solver becomes
        :data:`SINGULAR_COARSE_SOLVER`.  The other parameters and the errors
        are those of :meth:`from_problem`.
        """
        t0 = time.perf_counter()
        opts = dict(options or {})
        kind = opts.pop("kind", "sa")
        if not isinstance(kind, str) or kind.lower() not in AMG_KINDS:
            msg = option_message(AMGCG.name, "kind", kind, AMG_KINDS, "the hierarchy kinds")
            raise OptionError(msg)
        kind = {"smoothed_aggregation": "sa", "ruge_stuben": "rs"}.get(kind.lower(), kind.lower())
        builder = AMG_KINDS[kind]
        cycle = opts.pop("cycle", "auto")
        if not isinstance(cycle, str) or cycle.upper() not in {c.upper() for c in CYCLES}:
            note = "the cycles usable inside CG; AMLI needs flexible GMRES"
            msg = option_message(AMGCG.name, "cycle", cycle, CYCLES, note)
            raise OptionError(msg)
        cycle = "auto" if cycle.lower() == "auto" else cycle.upper()
        precond = opts.pop("preconditioner", "kronpde")
        note = "kronpde: the allocation-free cycle, pyamg: ml.aspreconditioner"
        AMGCG.check_choice("preconditioner", precond, note)
        seed = opts.pop("seed", 0)
        if not is_count(seed):
            msg = f"amg-cg: option seed={seed!r} must be an integer >= 0"
            raise OptionError(msg)

        accepted = _accepted_keywords(builder)
        unknown = [k for k in opts if k not in accepted]
        if unknown:
            msg = (
                f"amg-cg: unknown option{'s' if len(unknown) > 1 else ''} "
                f"{', '.join(repr(k) for k in unknown)} for pyamg.{builder.__name__}; "
                f"kronpde's options are {', '.join(OWN_OPTIONS)} and pyamg's are "
                f"{', '.join(accepted)}"
            )
            raise OptionError(msg)
        user_given = dict(opts)
        pyamg_kwargs = dict(opts)
        if singular:
            pyamg_kwargs.setdefault("coarse_solver", SINGULAR_COARSE_SOLVER)
        if kind == "sa":
            pyamg_kwargs.setdefault("smooth", DEFAULT_SA_SMOOTH)
            if B is not None:
                pyamg_kwargs["B"] = np.asarray(B, dtype=np.float64).reshape(A.shape[0], -1)

        try:
            with _seeded_global_random(int(seed)), warnings.catch_warnings():
                warnings.simplefilter("ignore", sp.SparseEfficiencyWarning)
                ml = builder(A, **pyamg_kwargs)
        except Exception as exc:  # pyamg raises ValueError, TypeError, KeyError, ...
            named = _culprits(str(exc), user_given) or list(user_given)
            where = (
                f"with option{'s' if len(named) > 1 else ''} {_describe(user_given, named)}"
                if named
                else "with its default options"
            )
            msg = f"amg-cg: pyamg.{builder.__name__} failed {where}: {type(exc).__name__}: {exc}"
            raise (OptionError if named else SolverError)(msg) from exc

        pre = pyamg_kwargs.get("presmoother", _default(builder, "presmoother"))
        post = pyamg_kwargs.get("postsmoother", _default(builder, "postsmoother"))
        if _to_csr_levels(ml):
            with _seeded_global_random(int(seed)):
                change_smoothers(ml, pre, post)
        if not ml.symmetric_smoothing:
            msg = (
                f"amg-cg: presmoother={pre!r} and postsmoother={post!r} do not make a "
                "symmetric cycle, which CG needs; use the same symmetric sweep for both, "
                "or 'forward' before and 'backward' after"
            )
            raise OptionError(msg)
        _check_coarse_solver(ml, pyamg_kwargs.get("coarse_solver", "pinv"), seed)
        if cycle == "auto":
            cycle = _auto_cycle(ml)

        if precond == "kronpde" and not _all_csr(ml):
            precond = "pyamg"  # block hierarchies: the CSR kernels do not apply
        if precond == "kronpde":
            operator = MultigridCycle(ml, cycle, fine_operator=fine_operator)
        else:
            operator = _PyamgPreconditioner(ml, cycle)
        effective = {"kind": kind, "cycle": cycle, "preconditioner": precond, "seed": int(seed)}
        effective.update({k: v for k, v in pyamg_kwargs.items() if k != "B"})
        return cls(ml, operator, kind, cycle, effective, time.perf_counter() - t0)


def _auto_cycle(ml) -> str:
    """W when every level coarsens by :data:`W_CYCLE_MIN_COARSENING` or more, else V.

    A W-cycle visits level ``k`` ``2^k`` times, so its work is bounded by a
    constant times the finest level's only when the levels shrink by more than
    2; with smoothed aggregation (about 9 in 2-D, 25 in 3-D) it costs about
    1.3x a V-cycle and halves the iterations (13 -> 6 on 1023² unknowns, and
    they stay at 6 on 2047²), while Ruge-Stuben coarsens by about 2 and keeps V.
    """
    sizes = [lvl.A.shape[0] for lvl in ml.levels]
    ratios = [a / b for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    return "W" if ratios and min(ratios) >= W_CYCLE_MIN_COARSENING else "V"


def _check_coarse_solver(ml, coarse_solver, seed) -> None:
    """Run the coarse solver once on a consistent right-hand side; raise if it fails.

    pyamg factorises the coarsest matrix lazily, at the first cycle; doing it
    here turns a failure (``splu`` of an exactly singular matrix, a LU with a
    zero pivot producing infinities) into a set-up error that names the option.
    """
    Ac = ml.levels[-1].A
    rng = np.random.default_rng(seed)
    bc = Ac @ rng.standard_normal(Ac.shape[0])  # in the range of Ac, also when singular
    problem = ""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # scipy's LinAlgWarning on a singular pivot
            xc = np.asarray(ml.coarse_solver(Ac, bc), dtype=np.float64)
    except Exception as exc:
        problem = f"{type(exc).__name__}: {exc}"
    else:
        nb = float(np.linalg.norm(bc))
        if not np.all(np.isfinite(xc)):
            problem = "it returned NaN or infinity"
        elif nb > 0 and not float(np.linalg.norm(Ac @ xc - bc)) < nb:
            problem = "it did not reduce the residual of a consistent right-hand side"
    if problem:
        singular = " (the coarsest matrix is singular: use 'pinv')" if _is_singular(Ac) else ""
        msg = (
            f"amg-cg: option coarse_solver={coarse_solver!r} failed on the coarsest level "
            f"({Ac.shape[0]} unknown{'s' if Ac.shape[0] != 1 else ''}){singular}: {problem}"
        )
        raise OptionError(msg)


def _is_singular(Ac) -> bool:
    if Ac.shape[0] > 2000:
        return False
    s = np.linalg.svd(Ac.toarray(), compute_uv=False)
    return bool(s[-1] <= 1e-10 * s[0]) if s.size else False


class AMGCG(ConjugateGradient):
    """``"amg-cg"``: CG preconditioned by one cycle of a pyamg hierarchy.

    The hierarchy and its cycle are an :class:`AMGPreconditioner`.

    Options: kronpde's own (:data:`OWN_OPTIONS`) and any keyword of the pyamg
    builder, checked by :meth:`AMGPreconditioner.from_matrix`.
    """

    name = "amg-cg"
    choices: ClassVar[dict[str, tuple[Any, ...]]] = {
        "kind": tuple(AMG_KINDS),  # in any case: "SA" is "sa"
        "cycle": CYCLES,  # in any case: "v" is "V"
        "preconditioner": AMG_PRECONDITIONERS,
    }
    auto_reason = "auto: the operator is not a Kronecker sum, so AMG-preconditioned CG"

    @classmethod
    def effective_options(cls, options: Mapping[str, Any] | None) -> dict[str, Any]:
        """Return the options as given: pyamg's builder checks them at set-up."""
        return dict(options or {})

    def __init__(self, problem: SolvableProblem, **options: Any):
        super().__init__(problem, **options)
        self.backend = AMGPreconditioner.from_problem(
            problem, self.options, fine_operator=self.A_hat
        )
        self.M = self.backend.operator
        self.options = dict(self.backend.options)

    def describe(self) -> str:
        """Describe the cycle and the hierarchy."""
        amg = self.backend
        kind = "smoothed aggregation" if amg.kind == "sa" else "Ruge-Stuben"
        return (
            f"Preconditioner: one {amg.cycle}-cycle of a {amg.levels}-level {kind} hierarchy "
            f"(operator complexity {amg.operator_complexity:.2f})."
        )
