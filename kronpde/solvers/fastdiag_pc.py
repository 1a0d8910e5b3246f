"""Fast diagonalization as a preconditioner: the ``fastdiag-cg`` method.

:class:`FastDiagPreconditioner` applies the exact fast solve of a
constant-coefficient operator (``k`` replaced by its weighted geometric mean
``k_ref``, option ``approximation`` ``"mean"`` or ``"scaled"``) to CG on a
variable ``k``, or that of the separable part of the fourth-order scheme with a
Robin face; :class:`FastDiagCG` is the method.  ``docs/preconditioners.md``
derives the bound ``k_max / k_min`` on the condition number.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from scipy.sparse.linalg import LinearOperator

from kronpde.errors import OptionError, SolverError
from kronpde.problem.partial import PartialStructure
from kronpde.problem.protocol import SolvableProblem
from kronpde.solvers.fastdiag import KERNELS, FastDiagSolver
from kronpde.solvers.iterative import ConjugateGradient
from kronpde.solvers.tridiagonal_axis import TridiagonalAxisSolver

if TYPE_CHECKING:
    from kronpde.problem.discretisation import EigenStructure

__all__ = [
    "APPROXIMATIONS",
    "CORRECTIONS",
    "PRECISIONS",
    "FastDiagCG",
    "FastDiagPreconditioner",
    "reference_coefficient",
]

#: The constant-coefficient approximations of :class:`FastDiagPreconditioner`.
APPROXIMATIONS = ("mean", "scaled")

#: The corrections of a restricted fast solve (a domain inside the box): ``BandCorrection``.
CORRECTIONS = ("band", "none")

#: The precisions of the preconditioner's fast solve (``"auto"``: :func:`_single_precision`).
PRECISIONS = ("auto", "single", "double")


def reference_coefficient(problem: SolvableProblem) -> float:
    """``k_ref``: the constant ``k`` itself, or the weighted geometric mean of a variable ``k``.

    ``exp(sum_j w_j log k_j / sum_j w_j)`` over the unknowns ``j`` with the
    trapezoid weights ``w``: the ``k`` of the discretisation's reference
    structure (:meth:`~kronpde.problem.discretisation.Discretisation.reference_structure`).

    Raises
    ------
    SolverError
        Where the discretisation has no fast-diagonalisable reference operator.
    """
    return _reference(problem).coefficient


def _reference(problem: SolvableProblem) -> EigenStructure:
    structure = problem.discretisation.reference_structure()
    if structure is None:
        msg = FastDiagCG.refusal(problem)
        raise SolverError(msg)
    return structure


def _layered(problem: SolvableProblem, approximation: str) -> Any:
    """Return the layered reference (a ``k_ref`` of one axis) where it exists, else None.

    Only for ``"mean"`` (the scaled form divides by one ``k_ref``), a second-order
    flux form on the whole box (no embedded boundary): the discretisations with a
    ``layered_reference``.  It is asked first: it takes ``log k`` once for
    itself and ``k_ref`` (:meth:`~kronpde.problem.data.ProblemData.reference_from_log`).
    """
    disc = problem.discretisation
    layered = getattr(disc, "layered_reference", None)
    if layered is None or approximation != "mean" or disc.reference_unknowns() is not None:
        return None
    return layered()


def _single_precision(pc: FastDiagPreconditioner, problem: SolvableProblem, precision: str) -> bool:
    """Whether the preconditioner's fast solve runs in float32 (option ``precision``).

    Available where the reference solve is a tridiagonal-axis solve by real transforms
    (:attr:`~kronpde.solvers.tridiagonal_axis.TridiagonalAxisSolver.single_ready`) on
    the whole box of a nonsingular operator; ``"auto"`` takes it there from
    :data:`~kronpde.operators.kernels.MIN_COMPILED_SIZE` unknowns on.

    Raises
    ------
    OptionError
        For ``"single"`` where it is not available.
    """
    if precision == "double":
        return False
    solver = pc.solver
    ready = (
        isinstance(solver, TridiagonalAxisSolver)
        and solver.single_ready
        and pc._keep is None
        and not problem.singular
    )
    if precision == "single":
        if not ready:
            msg = (
                "fastdiag-cg: precision='single' needs a reference solved by real transforms "
                "and tridiagonal solves (a layered k_ref) on the whole box of a nonsingular "
                "operator; this problem's is not, so use precision='double' or 'auto'"
            )
            raise OptionError(msg)
        return True
    from kronpde.operators.kernels import use_compiled

    return ready and use_compiled(problem.size)  # the size of the compiled kernels


class FastDiagPreconditioner(LinearOperator):
    """``M ≈ Â^{-1}`` from the exact fast-diagonalization solve of a constant-coefficient operator.

    Build with :meth:`from_problem`; pass as ``M`` to
    :func:`kronpde.solvers.cg.cg` on ``Â y = D b``.  Offers ``matvec_into``.

    Attributes
    ----------
    solver : FastDiagSolver
        The prepared solver of ``A_0 = k_ref sum_i T_i + c I`` (unsymmetrised).
    reference_k : float
        ``k_ref``.
    approximation : str
        ``"mean"`` or ``"scaled"`` (``docs/preconditioners.md``).
    contrast : float
        ``k_max / k_min`` over every ``k`` the fluxes use (the nodes, and the
        boundary faces of cell-centred axes): the bound on the condition
        number of the preconditioned operator with ``"mean"``.
    setup_seconds : float
        Wall time of :meth:`from_problem`.
    options : dict
        The effective options.
    work_dtype : numpy dtype
        ``float32`` for a single-precision fast solve (CG then keeps ``z = M r`` in
        float32), else ``float64``.
    """

    def __init__(self, solver, d, s, reference_k, approximation, contrast, setup_seconds, options):
        self.note = ""  # what the reference operator is, where it is not k_ref's Kronecker sum
        n = d.size  # the unknowns (a curvilinear shared point once; the solver may be larger)
        super().__init__(dtype=np.float64, shape=(n, n))
        self.solver = solver
        self.reference_k = reference_k
        self.approximation = approximation
        self.contrast = contrast
        self.setup_seconds = setup_seconds
        self.options = options
        # M r = S^{-1} Â_0^{-1} S^{-1} r with Â_0^{-1} = D A_0^{-1} D^{-1} (S = I for "mean");
        # where D S is constant (uniform Dirichlet/periodic axes, "mean") the scalings cancel
        # (s None: S = I, and D S = D; no array made where the scalings cancel)
        ds = d if s is None else d * s
        self._scaled = bool(np.ptp(ds) > 0.0)
        self._in = self._out = self._work = None
        self._keep = self._rest = self._masked = self._band = None
        self.note_band = ""
        self.work_dtype: Any = np.float64
        self.precision_request = "double"  # the option asked for (from_problem sets it)
        self._target: np.ndarray | None = None  # the solve's output where out's dtype differs
        if self._scaled:
            self._in = 1.0 / ds
            self._out = d if s is None else d / s
            self._work = np.empty(n)

    @classmethod
    def from_problem(
        cls,
        problem: SolvableProblem,
        *,
        approximation: str = "mean",
        workers: int | None = None,
        kernels: str = "auto",
        correction: str = "band",
        precision: str = "auto",
    ) -> FastDiagPreconditioner:
        """Prepare the preconditioner of ``problem`` (any coefficient, uniform or stretched axes).

        Parameters
        ----------
        problem : Problem
            The problem.
        approximation : {"mean", "scaled"}
            The constant-coefficient approximation (``docs/preconditioners.md``).
        workers, kernels
            Passed to :class:`~kronpde.solvers.fastdiag.FastDiagSolver`.
        correction : {"band", "none"}
            On a domain inside the box: the band correction of the restricted
            solve (:meth:`restrict`), or none.
        precision : {"auto", "single", "double"}
            The fast solve's arithmetic: ``"single"`` transforms and solves in
            float32 (half the memory traffic; CG, its residuals and the
            certificate stay in float64, so only the iterations may change);
            ``"auto"`` takes it where it is available, from
            :data:`~kronpde.operators.kernels.MIN_COMPILED_SIZE` unknowns on
            (``docs/preconditioners.md``).

        Raises
        ------
        OptionError
            For an unknown approximation or a bad solver option.

        Examples
        --------
        >>> import numpy as np
        >>> from kronpde import Grid, Problem
        >>> p = Problem(Grid.box([32, 32]), source=1.0, coefficient=lambda x, y: 1 + x * y)
        >>> m = FastDiagPreconditioner.from_problem(p)
        >>> round(m.contrast, 6), m.solver.axis_methods
        (2.0, ('dst1', 'dst1'))
        >>> from kronpde.solvers.cg import cg
        >>> res = cg(p.linear_operator(symmetric=True), np.ones(p.size), M=m, rtol=1e-8)
        >>> res.converged, res.iterations <= 12
        (True, True)
        """
        t0 = time.perf_counter()
        FastDiagCG.check_choice("approximation", approximation)
        FastDiagCG.check_choice("correction", correction)
        FastDiagCG.check_choice("precision", precision)
        structure = _layered(problem, approximation)
        if structure is None:
            structure = _reference(problem)  # at order 4: the separable compact operator
        try:
            if isinstance(structure, PartialStructure):  # k_ref's tridiagonal-axis solve
                k_ref = problem.data.reference_coefficient()
                solver = TridiagonalAxisSolver(
                    structure, problem.shift, workers=workers, kernels=kernels
                )
            else:
                k_ref = structure.coefficient
                solver = FastDiagSolver(
                    structure.operators,
                    problem.shift,
                    axes=problem.grid.axes,
                    workers=workers,
                    kernels=kernels,
                    scheme=structure.combination,
                )
        except (ValueError, TypeError) as exc:
            msg = f"fastdiag-cg: {exc}"
            raise OptionError(msg) from exc
        d = problem.symmetric_scale  # D = W^{1/2}
        # every k the operator's fluxes use: the points' and the faces' (boundary faces, and
        # the interior ones of a formula evaluated there: a face's k may lie outside the points')
        k_min, k_max = problem.coefficient_range()
        contrast = k_max / k_min
        s = None  # S = I for "mean"
        if approximation != "mean":
            k = problem.grid.from_nodes(problem.coefficient_values()).reshape(-1)
            s = np.sqrt(k / k_ref)
        options = {"approximation": approximation, "workers": solver.workers, "kernels": kernels}
        options["correction"] = correction
        options["axis_methods"] = solver.axis_methods
        made = cls(solver, d, s, k_ref, approximation, contrast, time.perf_counter() - t0, options)
        made.note = structure.note
        made.restrict(problem, correction)
        made.precision_request = precision
        made.choose_precision(problem)
        made.setup_seconds = time.perf_counter() - t0
        return made

    def choose_precision(self, problem: SolvableProblem, *, strict: bool = True) -> None:
        """Set :attr:`work_dtype` for ``problem`` from the option ``precision`` asked for.

        ``strict=False`` (after a new shift): where ``"single"`` is not available
        (the shift made the operator singular) float64 instead of an error.

        Raises
        ------
        OptionError
            For ``precision="single"`` where it is not available, if ``strict``.
        """
        try:
            single = _single_precision(self, problem, self.precision_request)
        except OptionError:
            if strict:
                raise
            single = False
        self.work_dtype = np.float32 if single else np.float64
        self.options["precision"] = "single" if single else "double"

    def restrict(self, problem: SolvableProblem, correction: str = "band") -> None:
        """Act on the reference solve's unknowns only, with the band correction where asked.

        Where the discretisation's operator is the reference operator
        restricted to a subset of its unknowns plus their own diagonal rows (an
        embedded boundary, ``reference_unknowns()``): restrict by zero, solve,
        extend by zero, ``1/diag`` on the other rows; ``correction="band"``
        adds the exact solve on the band of rows where the operators differ
        (:class:`~kronpde.solvers.band.BandCorrection`).
        """
        disc = problem.discretisation
        unknowns = disc.reference_unknowns()
        if unknowns is None or bool(np.all(unknowns)):
            return
        self._keep = np.asarray(unknowns, dtype=float)
        self._rest = np.where(unknowns, 0.0, 1.0 / problem.diagonal())
        self._masked = np.empty(self.shape[0])
        self._band = None
        rows = disc.reference_defect()
        if correction == "band" and rows is not None and np.any(rows):
            from kronpde.solvers.band import BandCorrection

            self._band = BandCorrection(problem.operator(symmetric=True), rows)
            self.note_band = (
                f" Band correction: an exact solve on {self._band.size} rows along the "
                "embedded boundary."
            )

    def matvec_into(self, r: np.ndarray, out: np.ndarray) -> None:
        """Write ``M r = S^{-1} D A_0^{-1} D^{-1} S^{-1} r`` into ``out`` (``S = I`` for "mean")."""
        if self._keep is None:
            self._apply(r, out)
        elif self._band is None:
            self._restricted(r, out)
        else:
            self._band.apply(r, out, self._restricted)

    def _restricted(self, r: np.ndarray, out: np.ndarray) -> None:
        """Apply the fast solve restricted to the reference unknowns, ``1/diag`` elsewhere."""
        np.multiply(r, self._keep, out=self._masked)
        self._apply(self._masked, out)
        out *= self._keep
        np.multiply(r, self._rest, out=self._masked)  # 1/diag on the other rows
        out += self._masked

    def _apply(self, r: np.ndarray, out: np.ndarray) -> None:
        """Apply the fast solve in :attr:`work_dtype` (a float32 ``out`` is written directly)."""
        target = out
        if out.dtype != self.work_dtype:
            if self._target is None or self._target.dtype != self.work_dtype:
                self._target = np.empty(out.shape, dtype=self.work_dtype)
            target = self._target
        if not self._scaled:
            self.solver.solve(r, out=target)
        else:
            np.multiply(r, self._in, out=self._work)
            self.solver.solve(self._work, out=target)
            target *= self._out
        if target is not out:
            np.copyto(out, target)

    def _matvec(self, r: np.ndarray) -> np.ndarray:
        r = np.ascontiguousarray(r, dtype=np.float64).reshape(-1)
        out = np.empty_like(r)
        self.matvec_into(r, out)
        return out

    def _rmatvec(self, r: np.ndarray) -> np.ndarray:  # symmetric
        return self._matvec(r)


class FastDiagCG(ConjugateGradient):
    """``"fastdiag-cg"``: CG preconditioned by :class:`FastDiagPreconditioner`.

    Options ``approximation`` (``"mean"`` or ``"scaled"``), ``workers``, ``kernels``,
    ``correction`` and ``precision`` (:meth:`FastDiagPreconditioner.from_problem`).
    """

    name = "fastdiag-cg"
    # a layered or curvilinear reference's solves, in float64 and float32 (precision "auto")
    run_kernels = (
        "thomas",
        "thomas_lines",
        "thomas_single",
        "thomas_lines_single",
        "dot_single",
        "new_direction_single",
    )
    defaults: ClassVar[dict[str, Any]] = {
        "approximation": "mean",
        "workers": None,
        "kernels": "auto",
        "correction": "band",
        "precision": "auto",
    }
    choices: ClassVar[dict[str, tuple[Any, ...]]] = {
        "approximation": APPROXIMATIONS,
        "kernels": KERNELS,
        "correction": CORRECTIONS,
        "precision": PRECISIONS,
    }
    auto_reason = (
        "auto: the coefficient k varies in space, so the operator is not a Kronecker sum; "
        "CG preconditioned by fast diagonalization of the constant-coefficient operator "
        "(condition number at most k_max/k_min)"
    )

    @classmethod
    def why(cls, problem: SolvableProblem) -> str:
        """Say why ``auto`` picks this method for ``problem``."""
        return problem.discretisation.preconditioner_reason() or cls.auto_reason

    @classmethod
    def refusal(cls, problem: SolvableProblem, options: Any = None) -> str | None:
        """Refuse a discretisation without a fast-diagonalisable reference operator.

        And, as every CG-type method, an operator not certified positive
        definite (a negative ``c``: :func:`~kronpde.solvers.indefinite.definite_refusal`).
        """
        if problem.discretisation.has_reference_structure:
            return super().refusal(problem, options)
        return (
            "fastdiag-cg: the operator is not a Kronecker sum with a constant or variable "
            "coefficient k, so no fast-diagonalization solve approximates it"
        )

    def __init__(self, problem: SolvableProblem, **options: Any):
        super().__init__(problem, **options)
        self.backend = FastDiagPreconditioner.from_problem(problem, **self.options)
        self.M = self.backend
        self.options = dict(self.backend.options)

    def set_shift(self, problem: SolvableProblem) -> bool:
        """Change the shift of the preconditioner's fast solve and take the shifted operator.

        The preconditioner's ``A_0 = k_ref sum_i T_i + c I`` keeps its
        eigenpairs and transforms (only ``1/(Λ + c)`` is recomputed); ``k_ref``,
        the scalings and the contrast do not depend on ``c``.
        """
        self.accept(problem)  # a negative c must keep A positive definite
        operator = problem.linear_operator(symmetric=True)
        self.backend.solver.set_shift(problem.shift)  # raises before anything changed
        self.backend.restrict(problem, self.options["correction"])
        self.backend.choose_precision(problem, strict=False)  # a singular operator: float64
        self.options["precision"] = self.backend.options["precision"]
        self.problem = problem
        self.A_hat = operator
        return True

    def describe(self) -> str:
        """Describe the constant-coefficient approximation and the contrast."""
        fd = self.backend
        if fd.note:
            return fd.note + fd.note_band
        scaled = ", sqrt(k/k_ref) scaling" if fd.approximation == "scaled" else ""
        return (
            f"Preconditioner: the exact fast-diagonalization solve with k replaced by "
            f"k_ref = {fd.reference_k:.6g} (weighted geometric mean{scaled}); "
            f"contrast k_max/k_min = {fd.contrast:.3g}."
        )
