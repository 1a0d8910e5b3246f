"""Fast diagonalization: the exact solver of a Kronecker sum (or polynomial), axis by axis.

``A = Σ_i I ⊗ … ⊗ T_i ⊗ … ⊗ I + c I`` is diagonalised by the 1-D eigenvectors
``S = S_0 ⊗ S_1 ⊗ …``: a solve transforms ``b`` along every axis with
``S_i^{-1}``, divides by the eigenvalue sums (or another combination of the
per-axis eigenvalues, e.g. the compact fourth-order scheme's) and transforms
back.  :class:`FastDiagSolver` is the solver, :class:`FastDiag` the
``"fastdiag"`` method; the per-axis transforms are in
:mod:`kronpde.solvers.fastdiag_axes`.  ``docs/fast-diagonalization.md`` has the
table of closed forms and the derivation.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from kronpde._checks import is_count, is_real
from kronpde.errors import OptionError, SolverError
from kronpde.geometry.grid import Axis
from kronpde.operators.stencils import AxisOperator
from kronpde.problem.protocol import SolvableProblem
from kronpde.solvers.fastdiag_axes import TransformPlan, plan_axis
from kronpde.solvers.fastdiag_divisor import LAZY_MODES, Combination, KroneckerSum, blocks
from kronpde.solvers.indefinite import certificate_note
from kronpde.solvers.method import Method
from kronpde.solvers.resonance import resonance
from kronpde.solvers.result import Outcome
from kronpde.solvers.tridiagonal_axis import (
    TridiagonalAxisSolver,
    kronecker_partial,
    kronecker_route,
)

__all__ = ["KERNELS", "FastDiag", "FastDiagSolver"]

#: The values of option ``kernels``: how the axes transform (:class:`FastDiagSolver`).
KERNELS = ("auto", "transform", "gemm")

# --------------------------------------------------------------------------- the solver


class FastDiagSolver:
    """Exact solver of ``A u = b`` for a Kronecker sum of 1-D operators (prepare once, solve many).

    Parameters
    ----------
    ops : sequence of AxisOperator
        The 1-D operators ``T_i``, axis 0 (slowest) first, as
        :attr:`kronpde.Problem.axis_operators` gives them.
    shift : float
        ``c`` in ``A = sum_i I ⊗ ... ⊗ T_i ⊗ ... ⊗ I + c I``.
    axes : sequence of Axis, optional
        The grid's axes: the boundary conditions name the closed form to use.
        Without them the closed form is recognised from the operator's rows.
        Either way it is used only if the coefficients match it exactly (up to
        rounding), else the axis falls back to ``eigh``.
    workers : int, optional
        Threads of ``scipy.fft`` (default ``os.cpu_count()``).  The GEMM
        kernels use the BLAS threads (``OPENBLAS_NUM_THREADS``).
    force_eigh : bool
        Use the dense ``eigh`` path on every axis (benchmarks, checks).
    scheme : object, optional
        The eigenvalue combination: an object with ``combine(eigenvalues,
        shift)`` returning the operator's eigenvalue of each mode from the
        per-axis ``λ_i`` (broadcastable arrays), e.g. a
        :class:`kronpde.operators.compact.CompactScheme` of the same factors
        (:attr:`EigenStructure.combination <kronpde.problem.discretisation.EigenStructure>`).
        Default: the Kronecker sum ``Σ_i λ_i + c``.
    kernels : {"auto", "transform", "gemm"}
        How a closed form is applied: ``"transform"`` with ``scipy.fft``;
        ``"gemm"`` as dense matrices of its (closed-form) eigenvectors;
        ``"auto"`` (default) takes ``"gemm"`` only on axes of
        :data:`GEMM_MIN_N` or more points whose transform length has a prime
        factor above :data:`GEMM_PRIME_RATIO` times ``n`` (the measured
        crossover; e.g. DST-I with ``n = 256``, which scipy.fft runs as a
        length-514 = 2·257 FFT).  Periodic axes applied by GEMM use the real
        Fourier basis.

    Attributes
    ----------
    shape : tuple of int
        ``(n_0, n_1, ...)``.
    size : int
        ``N = prod(shape)``.
    shift : float
        ``c``.
    singular : bool
        True when every axis has the constants in its kernel and ``c = 0``:
        the zero mode is dropped (see :meth:`solve`).
    axis_methods : tuple of str
        Per axis, the eigenpairs used: ``"dst1"``, ``"dct1"``, ``"dst3"``,
        ``"dct3"``, ``"fft"``, the cell-centred ``"dst2"``, ``"dct2"``,
        ``"dst4"``, ``"dct4"`` (closed forms) or ``"eigh"``.
    axis_kernels : tuple of str
        Per axis, how they are applied: ``"transform"`` (``scipy.fft``) or
        ``"gemm"`` (dense matrices; always for ``eigh``).
    setup_seconds : float
        Wall time of the constructor (eigenpairs, ``1/(Λ + c)``, work arrays).
    condition : float or None
        With ``c < 0``: ``max|λ + c| / min|λ + c|`` over the modes
        (:func:`~kronpde.solvers.resonance.resonance`); None for ``c >= 0``.
    warning : str or None
        With ``c < 0`` and a condition number above
        :data:`~kronpde.solvers.resonance.WARN_CONDITION`: the sentence that
        says so (a solve's report carries it); else None.
    last_projected_norm : float
        After a solve of a singular system: ``||b - P b||_2 / ||b||_2`` with
        ``P b = b - mean_w(b)`` the part of ``b`` in the range of ``A``; 0.0
        otherwise.
    workers : int
        Threads of ``scipy.fft``.

    Raises
    ------
    ValueError
        If ``ops`` is empty, ``axes`` does not match it, ``workers`` is not a
        positive integer, or ``shift`` is not finite; for another ``kernels``
        an :class:`~kronpde.errors.OptionError` (a ``ValueError``).
    SolverError
        If an operator cannot be diagonalised (not symmetric in the weighted
        inner product) or ``A`` is singular beyond the constant null space
        (with ``c < 0``: ``-c`` an eigenvalue to working precision,
        :func:`~kronpde.solvers.resonance.resonance`).

    Notes
    -----
    Memory: the precomputed ``1/(Λ + c)`` array (``N`` floats, half-spectrum
    layout on periodic axes) and, only when needed, one or two work arrays of
    ``N`` floats: one when an axis uses a GEMM kernel or when periodic axes
    are mixed with other fast transforms, a second with two or more GEMM axes
    and a periodic transform axis.  ``solve`` allocates its result unless ``out`` is
    given; on periodic axes ``scipy.fft.rfftn``/``irfftn`` allocate their
    outputs (a complex half spectrum and a real array: ``2N`` floats per
    solve), since scipy's real FFTs take no output buffer.

    Examples
    --------
    >>> import numpy as np
    >>> from kronpde import Grid, Neumann, Problem
    >>> p = Problem(Grid.box([16, 8], boundary={"xmax": Neumann(0.0)}), source=1.0)
    >>> s = FastDiagSolver.from_problem(p)
    >>> s.axis_methods
    ('dst3', 'dst1')
    >>> u = s.solve(p.rhs())
    >>> bool(np.allclose(p.operator() @ u, p.rhs(), rtol=1e-12))
    True
    """

    def __init__(
        self,
        ops: Sequence[AxisOperator],
        shift: float = 0.0,
        *,
        axes: Sequence[Axis] | None = None,
        workers: int | None = None,
        force_eigh: bool = False,
        kernels: str = "auto",
        scheme: Any = None,
    ):
        t0 = time.perf_counter()
        self.scheme = scheme
        FastDiag.check_choice("kernels", kernels)  # an OptionError, a ValueError
        ops = tuple(ops)
        if not ops:
            msg = "fastdiag: ops must contain at least one AxisOperator"
            raise ValueError(msg)
        for i, op in enumerate(ops):
            if not isinstance(op, AxisOperator):
                msg = f"fastdiag: ops[{i}] must be an AxisOperator, got {type(op).__name__}"
                raise TypeError(msg)
        if axes is not None:
            axes = tuple(axes)
            if len(axes) != len(ops):
                msg = f"fastdiag: {len(ops)} operators but {len(axes)} axes"
                raise ValueError(msg)
            for i, (a, op) in enumerate(zip(axes, ops, strict=True)):
                if not isinstance(a, Axis) or a.n_unknowns != op.n:
                    msg = f"fastdiag: axes[{i}] does not match ops[{i}] (n = {op.n})"
                    raise ValueError(msg)
        if workers is None:
            workers = os.cpu_count() or 1
        if not is_count(workers, 1):
            msg = f"fastdiag: workers must be a positive integer, got {workers!r}"
            raise ValueError(msg)
        self.workers = int(workers)
        self.ops = ops
        self._plans = tuple(
            plan_axis(op, None if axes is None else axes[i], force_eigh, kernels)
            for i, op in enumerate(ops)
        )
        self.shape: tuple[int, ...] = tuple(op.n for op in ops)
        self.size: int = math.prod(self.shape)
        self.ndim = len(self.shape)
        self.axis_methods: tuple[str, ...] = tuple(p.method for p in self._plans)
        self.axis_kernels: tuple[str, ...] = tuple(p.kernel for p in self._plans)
        self._transforms = TransformPlan(self._plans, self.workers)
        # the solver's own argument: None means the plain sum of the eigenvalues
        self._rule = KroneckerSum() if scheme is None else Combination(scheme)
        # 1/(Λ + c) per mode, or its pieces (a large definite sum: divided by blocks)
        self._inv: np.ndarray | None = None
        self._lazy: tuple | None = None  # the rule's pieces (KroneckerSum.block, Combination.block)
        self._block: np.ndarray | None = None
        self.last_projected_norm = 0.0
        self._record = True
        self._set_shift(shift)
        self.setup_seconds = time.perf_counter() - t0

    # -- construction --------------------------------------------------------------
    @classmethod
    def from_problem(
        cls,
        problem: SolvableProblem,
        *,
        workers: int | None = None,
        force_eigh: bool = False,
        kernels: str = "auto",
    ) -> FastDiagSolver:
        """Prepare the solver of a :class:`kronpde.Problem` (its eigen structure and shift).

        Raises
        ------
        SolverError
            Where the per-axis eigenvectors do not diagonalise the operator
            (a variable coefficient ``k(x)``, a Robin face at order 4): fast
            diagonalization cannot solve it (it can precondition it: method
            ``"fastdiag-cg"``).
        """
        reason = FastDiag.refusal(problem)
        if reason is not None:
            raise SolverError(reason)
        structure = problem.discretisation.eigen_structure()
        return cls(
            structure.operators,
            problem.shift,
            axes=problem.grid.axes,
            workers=workers,
            force_eigh=force_eigh,
            kernels=kernels,
            scheme=structure.combination,
        )

    def set_shift(self, shift: float) -> None:
        """Change ``c``: recomputes only the ``1/(Λ + c)`` array, in place.

        Raises
        ------
        ValueError
            If ``shift`` is not a finite number.
        SolverError
            If ``A`` would be singular beyond the constant null space (a
            negative ``c`` at an eigenvalue, to working precision); the solver
            then keeps its previous shift.
        """
        previous = self.shift
        try:
            self._set_shift(shift)
        except SolverError:
            self._set_shift(previous)
            raise

    def _set_shift(self, shift: float) -> None:
        if not is_real(shift):
            msg = f"fastdiag: shift must be a number, got {shift!r}"
            raise ValueError(msg)
        shift = float(shift)
        if not math.isfinite(shift):
            msg = f"fastdiag: shift must be finite, got {shift}"
            raise ValueError(msg)
        self.shift = shift
        self.singular = shift == 0.0 and all(p.eig.singular for p in self._plans)
        self.condition, self.warning = None, None
        self._lazy = None
        if not self.singular and math.prod(self._transforms.spectral_shape) >= LAZY_MODES:
            # a large definite operator: 1/(Λ + c) from its pieces, block by block per solve
            self._lazy = self._rule.definite(self._transforms, shift)
        if self._lazy is None:
            self._fill_inv()
        else:
            self._inv = None

    def _fill_inv(self) -> None:
        """Make the full array ``1/(Λ + c)`` (scaled by the transforms' round trip)."""
        if self._inv is None:
            self._inv = np.empty(self._transforms.spectral_shape)
        inv, shift = self._inv, self.shift
        null = self._transforms.null_index
        lowest = self._rule.fill(self._transforms, shift, self.singular, inv)
        if self.singular:
            inv[null] = 1.0
        elif shift < 0.0 or lowest <= 0.0:  # c < 0: how far from the spectrum (raises if on it)
            self.condition, self.warning = resonance(inv, shift, max(self.shape))
        np.divide(1.0 / self._transforms.roundtrip, inv, out=inv)
        if self.singular:
            inv[null] = 0.0

    def mode_eigenvalues(self) -> np.ndarray:
        """Return ``Λ`` at ``c = 0`` per mode, in :meth:`set_divisor`'s layout (a copy)."""
        out = np.empty(self._transforms.spectral_shape)
        self._rule.fill(self._transforms, 0.0, False, out)
        return out

    def set_divisor(self, values: np.ndarray, shift: float) -> None:
        """Divide each mode by ``values`` (:meth:`mode_eigenvalues`' layout) instead of ``Λ + c``.

        ``values = |Λ + c|`` (floored) makes the solve the absolute-value
        inverse ``S |Λ + c|^{-1} S^{-1}``, symmetric positive definite in the
        weighted inner product: MINRES's preconditioner of an indefinite
        operator (:mod:`kronpde.solvers.fastdiag_minres`).  ``shift`` is
        recorded as :attr:`shift`; no resonance check is made.
        """
        values = np.asarray(values, dtype=float)
        shape = self._transforms.spectral_shape
        if values.shape != shape or not np.all(values > 0.0):
            msg = "fastdiag: set_divisor needs positive values, one per mode"
            raise ValueError(msg)
        self.shift = float(shift)
        self.singular = False
        self.condition, self.warning = None, None
        self._lazy = None
        if self._inv is None:
            self._inv = np.empty(shape)
        np.divide(1.0 / self._transforms.roundtrip, values, out=self._inv)

    # -- eigenpairs ------------------------------------------------------------------
    def eigenvalues(self) -> np.ndarray:
        """All eigenvalues ``λ_{k_0} + λ_{k_1} + ... + c`` of ``A``, shape :attr:`shape`.

        With a ``scheme``, its combination of the ``λ_i`` instead of the sum.
        Entry ``(k_0, k_1, ...)`` belongs to :meth:`eigenvector` of the same
        index; per axis the order is :meth:`axis_eigenvalues`'.
        """
        per_axis = []
        for i, p in enumerate(self._plans):
            shape = [1] * self.ndim
            shape[i] = p.eig.n
            per_axis.append(p.eig.eigenvalues.reshape(shape))
        return self._rule.values(per_axis, self.shift, self.shape)

    def axis_eigenvalues(self, i: int) -> np.ndarray:
        """Eigenvalues of ``T_i`` (physical scale), shape ``(n_i,)``, in transform order.

        Ascending for the sine/cosine transforms and ``eigh``; FFT order
        (``θ_k = 2πk/n``, ``λ_k = λ_{n-k}``) on a periodic axis.
        """
        return self._plans[i].eig.eigenvalues.copy()

    def axis_eigenvectors(self, i: int) -> np.ndarray:
        """``S_i``: the eigenvectors of ``T_i`` as columns, shape ``(n_i, n_i)``.

        Real, ``W``-orthonormal (``S_i.T @ diag(w_i) @ S_i = I``), column ``k``
        belonging to ``axis_eigenvalues(i)[k]``; on a periodic axis the real
        Fourier basis (``cos`` for ``k <= n/2``, ``sin`` above).
        """
        return self._plans[i].eig.vectors()

    def eigenvector(self, index: int | Sequence[int]) -> np.ndarray:
        """Return the eigenvector of ``A`` of multi-index ``(k_0, k_1, ...)``, shape :attr:`shape`.

        The outer (Kronecker) product of the 1-D eigenvectors; its eigenvalue
        is ``eigenvalues()[index]``.
        """
        index = (index,) if np.ndim(index) == 0 else tuple(index)
        if len(index) != self.ndim:
            msg = f"eigenvector: need {self.ndim} indices, got {index!r}"
            raise ValueError(msg)
        out = np.ones(())
        for i, k in enumerate(index):
            n = self.shape[i]
            if not -n <= int(k) < n:
                msg = f"eigenvector: index {k} out of range for axis {i} with {n} modes"
                raise IndexError(msg)
            out = np.multiply.outer(out, self.axis_eigenvectors(i)[:, int(k)])
        return out

    # -- solve -------------------------------------------------------------------------

    def solve(
        self, b: np.ndarray, out: np.ndarray | None = None, *, record: bool = True
    ) -> np.ndarray:
        """Solve ``A u = b`` (exactly, up to rounding).

        Parameters
        ----------
        b : ndarray, shape (N,) or :attr:`shape`
            Right-hand side; not modified.
        out : ndarray, optional
            C-contiguous float64 array of ``b``'s shape to write the solution
            into (then nothing of size ``N`` is allocated, except by
            ``scipy.fft`` on periodic axes).
        record : bool, optional
            For a singular system, measure :attr:`last_projected_norm` (one
            pass over ``b`` for its norm); False leaves it NaN.

        Returns
        -------
        ndarray, same shape as ``b``
            ``u``.  For a singular system (:attr:`singular`) the solution of
            ``A u = b - mean_w(b)`` with ``mean_w(u) = 0`` (the operators' weights:
            trapezoid weights, cell widths on cell-centred axes);
            :attr:`last_projected_norm` records the relative size of the
            removed part ``||mean_w(b) 1||_2 / ||b||_2``.

        Raises
        ------
        ValueError
            If ``b`` or ``out`` has the wrong size, shape or layout.
        """
        b_arr = np.asarray(b)
        if b_arr.size != self.size or b_arr.shape not in ((self.size,), self.shape):
            msg = f"fastdiag: b must have shape ({self.size},) or {self.shape}, got {b_arr.shape}"
            raise ValueError(msg)
        src = np.ascontiguousarray(b_arr, dtype=np.float64).reshape(self.shape)
        if out is not None:
            if not isinstance(out, np.ndarray) or out.shape != b_arr.shape:
                msg = f"fastdiag: out must be an ndarray of shape {b_arr.shape}"
                raise ValueError(msg)
            if out.dtype != np.float64 or not out.flags.c_contiguous:
                msg = "fastdiag: out must be a C-contiguous float64 array"
                raise ValueError(msg)
            dst = out.reshape(self.shape)
            if np.may_share_memory(dst, src):
                src = src.copy()
        else:
            dst = None
        self._record = record
        result = self._transforms.apply(src, dst, self._divide)
        return out if out is not None else result.reshape(b_arr.shape)

    def _divide(self, spectrum: np.ndarray, src: np.ndarray) -> None:
        """Record the projection of a singular ``b``, then divide by the eigenvalues."""
        self._record_projection(src, float(spectrum[self._transforms.null_index].real))
        if self._lazy is not None:
            self._divide_by_blocks(spectrum, self._lazy)
            return
        np.multiply(spectrum, self._inv, out=spectrum)  # complex *= real: faster than pairs

    def _divide_by_blocks(self, spectrum: np.ndarray, pieces: tuple) -> None:
        """Multiply by ``1/(Λ + c)`` made block by block along axis 0, each block in cache.

        The same operations per mode as :meth:`_fill_inv` and the multiply, so the same
        bits, without the full array (:data:`LAZY_MODES`).
        """
        planes = blocks(self._transforms.spectral_shape)
        if self._block is None:
            p0, p1 = planes[0]
            self._block = np.empty((p1 - p0, *self._transforms.spectral_shape[1:]))
        scale = 1.0 / self._transforms.roundtrip
        for p0, p1 in planes:
            t = self._block[: p1 - p0]
            self._rule.block(pieces, p0, p1, t)
            np.divide(scale, t, out=t)
            np.multiply(spectrum[p0:p1], t, out=spectrum[p0:p1])

    def _record_projection(self, src: np.ndarray, coef: float) -> None:
        if not self.singular:
            self.last_projected_norm = 0.0
            return
        if not self._record:
            self.last_projected_norm = math.nan
            return
        flat = src.reshape(-1)
        # einsum, not np.dot: a BLAS call would wake its thread pool, whose spinning threads
        # then compete with the transforms on a busy machine (measured: +15-35 % per solve)
        norm_b = math.sqrt(float(np.einsum("i,i->", flat, flat)))
        mean = coef / self._transforms.null_row_sums
        self.last_projected_norm = abs(mean) * math.sqrt(self.size) / norm_b if norm_b else 0.0

    def __repr__(self) -> str:
        """Return a one-line summary."""
        return (
            f"FastDiagSolver(shape={self.shape}, methods={self.axis_methods}, "
            f"shift={self.shift:g}, singular={self.singular})"
        )


class FastDiag(Method):
    """``"fastdiag"``: the exact solve of a Kronecker sum by :class:`FastDiagSolver`.

    Options ``workers``, ``force_eigh`` and ``kernels`` of :class:`FastDiagSolver`.
    """

    name = "fastdiag"
    projects = True
    in_place = True  # solve(b, out=b) is safe: each backend reads b before overwriting it
    defaults: ClassVar[dict[str, Any]] = {"workers": None, "force_eigh": False, "kernels": "auto"}
    choices: ClassVar[dict[str, tuple[Any, ...]]] = {"kernels": KERNELS}
    auto_reason = (
        "auto: the operator is a constant-coefficient Kronecker sum, so fast "
        "diagonalization solves it exactly"
    )

    @classmethod
    def why(cls, problem: SolvableProblem) -> str:
        """Say why ``auto`` picks fast diagonalization for ``problem``."""
        return problem.discretisation.fast_solve_reason or cls.auto_reason

    @classmethod
    def refusal(cls, problem: SolvableProblem, options: Any = None) -> str | None:
        """Refuse where the per-axis eigenvectors do not diagonalise the operator (it says why)."""
        obstacle = problem.discretisation.fast_solve_obstacle()
        return None if obstacle is None else f"fastdiag: {obstacle}"

    def __init__(self, problem: SolvableProblem, **options: Any):
        self.options = self.effective_options(options)
        self._solved = False
        disc = problem.discretisation
        eigen = disc.eigen_structure()
        partial = disc.partial_structure() if eigen is None else None
        self._later: tuple[Any, float] | None = None  # the tridiagonal route, from solve 2 on
        if eigen is not None and FastDiag.refusal(problem) is None:
            partial = self._kronecker_partial(problem, eigen)
            if partial is not None and "numba" not in sys.modules:
                self._later, partial = (partial.with_axes(problem.grid.axes), problem.shift), None
        try:
            if partial is not None:  # transforms on all axes but one, tridiagonal along it
                if not partial.axes:
                    partial = partial.with_axes(problem.grid.axes)
                self.backend = TridiagonalAxisSolver(partial, problem.shift, **self.options)
            else:
                self.backend = FastDiagSolver.from_problem(problem, **self.options)
        except (ValueError, TypeError) as exc:  # a bad option value
            msg = str(exc) if str(exc).startswith("fastdiag") else f"fastdiag: {exc}"
            raise OptionError(msg) from exc
        self._said_options()
        self.note = (eigen if eigen is not None else partial).note  # what the report adds
        self._indefinite = certificate_note(problem)  # c < 0: why no certified bound

    def _said_options(self) -> None:
        self.options["workers"] = self.backend.workers
        self.options["axis_methods"] = self.backend.axis_methods

    def _take_tridiagonal_route(self) -> None:
        """Move a Kronecker sum to the tridiagonal route (:func:`kronecker_route`).

        Its batched tridiagonal solves are compiled: importing numba and loading
        them costs 0.3-0.5 s once per process, more than the route saves in one
        solve (measured at 127³: 36 ms against 54 ms for every axis transformed).
        So a process without numba solves its first time by the transforms and
        takes the route from the second solve on (a prepared solver's time steps).
        """
        partial, shift = self._later
        self._later = None
        options = {k: self.options[k] for k in self.defaults}
        self.backend = TridiagonalAxisSolver(partial, shift, **options)
        self._said_options()

    def _kronecker_partial(self, problem: SolvableProblem, eigen: Any) -> Any:
        """Return the Kronecker sum with a tridiagonal axis where that is faster (else None)."""
        o = self.options
        t = kronecker_route(
            eigen.operators,
            problem.grid.axes,
            problem.shift,
            eigen.combination,
            force_eigh=o["force_eigh"],
            kernels=o["kernels"],
        )
        return None if t is None else kronecker_partial(eigen.operators, problem.grid.axes, t)

    def solve(
        self, b: np.ndarray, *, out: np.ndarray | None = None, check: bool = True, **_: Any
    ) -> Outcome:
        """Solve ``A u = b`` by the transforms.

        A singular problem's ``b`` may come unprojected: dropping the zero mode
        projects it (:attr:`projects`), and the removed part is reported
        (measured only with ``check``: NaN otherwise).  ``u`` is not scanned
        for NaN/infinity here: with ``check`` the driver's certificate finds
        them (a non-finite ``u`` has a non-finite residual) in the pass it
        makes anyway.
        """
        if self._later is not None and (self._solved or "numba" in sys.modules):
            self._take_tridiagonal_route()
        self._solved = True
        x = self.backend.solve(b, out=out, record=check)
        projected = self.backend.last_projected_norm if self.backend.singular else None
        said = (self.backend.warning, self._indefinite if check else None)
        return Outcome(x, True, projected_norm=projected, warnings=tuple(w for w in said if w))

    def set_shift(self, problem: SolvableProblem) -> bool:
        """Re-sum the eigenvalues for ``problem.shift`` (the eigenpairs and transforms stay)."""
        if isinstance(self.backend, TridiagonalAxisSolver) and problem.shift < 0.0:
            if problem.discretisation.eigen_structure() is not None:
                return False  # prepared again: the full solve, with its resonance check
        if self._later is not None:  # the route is for c >= 0 only
            self._later = (self._later[0], problem.shift) if problem.shift >= 0.0 else None
        self.backend.set_shift(problem.shift)
        self._indefinite = certificate_note(problem)
        return True

    def describe(self) -> str:
        """Name the per-axis eigenpairs (and the fourth-order combination)."""
        about = f"Per-axis eigenpairs: {', '.join(self.backend.axis_methods)}."
        return f"{about} {self.note}" if self.note else about
