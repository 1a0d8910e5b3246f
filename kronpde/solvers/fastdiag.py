"""Fast diagonalization: the exact solver of a Kronecker sum, axis by axis.

The N-D operator is the Kronecker sum

    A = sum_i I ⊗ ... ⊗ T_i ⊗ ... ⊗ I + c I,

so with ``T_i = S_i Λ_i S_i^{-1}`` it is diagonalised by ``S = S_0 ⊗ S_1 ⊗ ...``:
``A = S (Λ_0 ⊕ Λ_1 ⊕ ... + c) S^{-1}``.  A solve transforms ``b`` along every
axis with ``S_i^{-1}``, divides by the eigenvalue sums ``λ_{k_0} + λ_{k_1} + ...
+ c`` and transforms back with ``S_i``.

Per axis, one of these (:attr:`FastDiagSolver.axis_methods`; the eigenpairs
themselves are the 1-D operator's, :meth:`kronpde.operators.stencils.AxisOperator.eigenpairs`):

========  ================================  ====================================
method    axis (operator of                 forward ``S^{-1}`` / back ``S``
          :func:`~kronpde.operators.stencils.second_difference`, times any ``k > 0``)
========  ================================  ====================================
``dst1``  Dirichlet – Dirichlet              DST-I / DST-I, ``θ_k = π(k+1)/(n+1)``
``dct1``  Neumann – Neumann                  DCT-I / DCT-I, ``θ_k = π k/(n-1)``
``dst3``  Dirichlet – Neumann                DST-III / DST-II, ``θ_k = π(2k+1)/(2n)``
``dct3``  Neumann – Dirichlet                DCT-III / DCT-II, ``θ_k = π(2k+1)/(2n)``
``fft``   periodic (either centring)         rFFT / irFFT, ``θ_k = 2π k/n``
``dst2``  cell-centred Dirichlet – Dirichlet DST-II / DST-III, ``θ_k = π(k+1)/n``
``dct2``  cell-centred Neumann – Neumann     DCT-II / DCT-III, ``θ_k = π k/n``
``dst4``  cell-centred Dirichlet – Neumann   DST-IV / DST-IV, ``θ_k = π(2k+1)/(2n)``
``dct4``  cell-centred Neumann – Dirichlet   DCT-IV / DCT-IV, ``θ_k = π(2k+1)/(2n)``
``eigh``  anything else (Robin faces, ...)   ``Q^T D`` / ``D^{-1} Q`` (dense GEMMs)
========  ================================  ====================================

with eigenvalues ``λ_k = s (2 - 2 cos θ_k) = 4 s sin²(θ_k/2)``, ``s = k/h²``
read from the operator.  The ghost-node Neumann rows ``[2, -2]/h²`` make ``T``
non-symmetric, but ``W T`` is symmetric with the trapezoid weights ``W``; the
eigenvectors are ``W``-orthogonal and the forward transforms are exactly
``S^T W`` up to a scaling of each mode: e.g. the DST-III weights ``(2, ..., 2,
1)`` are the trapezoid weights ``h (1, ..., 1, 1/2)`` of the Dirichlet–Neumann
axis.  ``eigh`` diagonalises the symmetrised operator ``D T D^{-1} = Q Λ Q^T``
(``D = W^{1/2}``), so ``S = D^{-1} Q`` and ``S^{-1} = Q^T D``.

A closed form is applied with ``scipy.fft`` (O(n log n) per line), except on
long axes whose transform length has a large prime factor (``kernels="auto"``,
see :class:`FastDiagSolver`), where a dense GEMM with the closed-form
eigenvectors is faster.  A closed-form method is used only when the operator's
coefficients equal the closed form's (``diag = 2s``, ``lower = upper = -s``, Neumann rows ``-2s``,
weights consistent): any other operator, e.g. that of a stretched axis, takes
the ``eigh`` path.  There the eigenpairs are those of the generalized
symmetric eigenproblem ``(W T) v = λ W v`` (``W T`` symmetric, ``W`` the
diagonal trapezoid weights), solved as the standard problem of
``D T D^{-1} = W^{-1/2} (W T) W^{-1/2}`` with ``v = W^{-1/2} q``: the same
pencil, reduced with the (diagonal, hence exact) Cholesky factor of ``W``.

The fourth-order compact scheme (``Problem(..., order=4)``, :mod:`kronpde.operators.compact`)
is a polynomial in the same ``T_i``, so the same transforms diagonalise it:
only the division changes, by the scheme's eigenvalue combination
``c + Σ_i (1 - c a_i) λ_i - Σ_{i<j} (a_i + a_j) λ_i λ_j`` instead of the sum
(``scheme=`` of :class:`FastDiagSolver`).  With a Robin face the scheme gains a
term that couples the face's unknowns (not a polynomial in the ``T_i``):
``fastdiag`` refuses it, and ``fastdiag-cg`` uses this solve of the separable
part as its preconditioner.

Singular problems (all axes Neumann/periodic, ``c = 0``): the zero mode is
dropped.  Its coefficient in the forward transform is ``mean_w(b)`` (the left
null vector of ``A`` is ``w``), so dropping it both projects the data onto the
range of ``A`` and returns the solution with zero weighted mean.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import scipy.fft

from kronpde.errors import OptionError, SolverError
from kronpde.geometry.grid import Axis
from kronpde.operators.matmul import matmul_axis
from kronpde.operators.stencils import AxisEigenpairs, AxisOperator
from kronpde.solvers.method import Method
from kronpde.solvers.result import Outcome

__all__ = ["FastDiag", "FastDiagSolver"]

#: Closed-form methods: (forward, inverse) scipy.fft functions, type, round-trip factor.
_REAL_TRANSFORMS = {
    "dst1": (scipy.fft.dstn, scipy.fft.idstn, 1),
    "dct1": (scipy.fft.dctn, scipy.fft.idctn, 1),
    "dst3": (scipy.fft.dstn, scipy.fft.idstn, 3),
    "dct3": (scipy.fft.dctn, scipy.fft.idctn, 3),
    "dst2": (scipy.fft.dstn, scipy.fft.idstn, 2),
    "dct2": (scipy.fft.dctn, scipy.fft.idctn, 2),
    "dst4": (scipy.fft.dstn, scipy.fft.idstn, 4),
    "dct4": (scipy.fft.dctn, scipy.fft.idctn, 4),
}
#: The GEMM kernel replaces a closed-form transform on an axis of ``n >= GEMM_MIN_N`` points
#: whose FFT length has a largest prime factor ``p > GEMM_PRIME_RATIO * n``: scipy.fft's real
#: transforms run radix-2/3/4/5 passes plus one generic O(p) pass per larger prime factor,
#: so such a length is many times slower than its neighbours, while a dense GEMM costs 2n
#: flops per unknown whatever n is.  Measured once (2-core development machine, scipy 1.17,
#: OpenBLAS, one thread, a DST-I along the last axis of an (m, n) array against the matmul
#: with an n x n matrix, n = 32 ... 512): the GEMM took 0.12-0.63 times the transform's time
#: wherever p > n/4 (e.g. n = 256, length 514 = 2 x 257), and 2-4 times it where p <= n/7
#: (n = 300, length 602 = 2 x 7 x 43; n = 511, 512).
GEMM_PRIME_RATIO = 0.25
#: Below this many points a transform's call overhead dominates either way.
GEMM_MIN_N = 32


def _fft_length(kind: str, n: int) -> int:
    """Length of the real FFT scipy.fft runs for one transform of ``n`` points."""
    return {"dst1": 2 * (n + 1), "dct1": 2 * (n - 1)}.get(kind, n)


def _prime_factors(m: int) -> list[int]:
    out, p = [], 2
    while p * p <= m:
        while m % p == 0:
            out.append(p)
            m //= p
        p += 1
    if m > 1:
        out.append(m)
    return out


def _prefer_gemm(kind: str, n: int) -> bool:
    """Return True where the measured crossover (:data:`GEMM_PRIME_RATIO`) favours GEMM."""
    if n < GEMM_MIN_N:
        return False
    return max(_prime_factors(_fft_length(kind, n)), default=1) > GEMM_PRIME_RATIO * n


@dataclass(frozen=True, eq=False)
class _AxisPlan:
    """How one axis is applied: its eigenpairs and the kernel that applies them."""

    eig: AxisEigenpairs
    kernel: str = "transform"  # "transform" (scipy.fft) or "gemm" (dense matrices)
    forward: np.ndarray | None = None  # gemm: S^{-1}
    backward: np.ndarray | None = None  # gemm: S
    roundtrip: float = 1.0  # unscaled forward then inverse multiplies by this

    @property
    def method(self) -> str:
        return self.eig.kind


def _roundtrip_factor(kind: str, n: int) -> float:
    return {
        "dst1": 2.0 * (n + 1),
        "dct1": 2.0 * (n - 1),
        "dst3": 2.0 * n,
        "dct3": 2.0 * n,
        "dst2": 2.0 * n,
        "dct2": 2.0 * n,
        "dst4": 2.0 * n,
        "dct4": 2.0 * n,
        "fft": float(n),
    }[kind]


def _plan_axis(op: AxisOperator, axis: Axis | None, force_eigh: bool, kernels: str) -> _AxisPlan:
    try:
        eig = op.eigenpairs(axis, force_eigh=force_eigh)
    except ValueError as exc:  # W T not symmetric
        msg = f"fastdiag: {exc}"
        raise SolverError(msg) from None
    if eig.kind == "eigh":
        return _AxisPlan(eig, "gemm", eig.forward, eig.backward)
    if kernels == "gemm" or (kernels == "auto" and _prefer_gemm(eig.kind, eig.n)):
        vectors = eig.vectors()
        forward = np.ascontiguousarray(vectors.T * eig.weights[None, :])  # S^{-1} = S^T W
        return _AxisPlan(eig, "gemm", forward, vectors)
    return _AxisPlan(eig, roundtrip=_roundtrip_factor(eig.kind, eig.n))


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
        :class:`kronpde.operators.compact.CompactScheme` of the same factors.  Default:
        the Kronecker sum ``Σ_i λ_i + c``.
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
    last_projected_norm : float
        After a solve of a singular system: ``||b - P b||_2 / ||b||_2`` with
        ``P b = b - mean_w(b)`` the part of ``b`` in the range of ``A``; 0.0
        otherwise.
    workers : int
        Threads of ``scipy.fft``.

    Raises
    ------
    ValueError
        If ``ops`` is empty, ``axes`` does not match it, or ``shift`` is not
        finite.
    SolverError
        If an operator cannot be diagonalised (not symmetric in the weighted
        inner product) or ``A`` is singular beyond the constant null space.

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
        if kernels not in ("auto", "transform", "gemm"):
            msg = f"fastdiag: kernels must be 'auto', 'transform' or 'gemm', got {kernels!r}"
            raise ValueError(msg)
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
        if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
            msg = f"fastdiag: workers must be a positive integer, got {workers!r}"
            raise ValueError(msg)
        self.workers = int(workers)
        self.ops = ops
        self._plans = tuple(
            _plan_axis(op, None if axes is None else axes[i], force_eigh, kernels)
            for i, op in enumerate(ops)
        )
        self.shape: tuple[int, ...] = tuple(op.n for op in ops)
        self.size: int = math.prod(self.shape)
        self.ndim = len(self.shape)
        self.axis_methods: tuple[str, ...] = tuple(p.method for p in self._plans)

        plans = self._plans
        self.axis_kernels: tuple[str, ...] = tuple(p.kernel for p in plans)
        self._gemm_axes = tuple(i for i, p in enumerate(plans) if p.kernel == "gemm")
        transform = [p.kernel == "transform" for p in plans]
        self._fft_axes = tuple(i for i, p in enumerate(plans) if transform[i] and p.method == "fft")
        groups: dict[str, list[int]] = {}
        for i, p in enumerate(plans):
            if transform[i] and p.method in _REAL_TRANSFORMS:
                groups.setdefault(p.method, []).append(i)
        self._real_groups = tuple((m, tuple(ax)) for m, ax in groups.items())
        # layout of the spectral array: the last periodic axis holds n//2 + 1 modes
        spectral = list(self.shape)
        if self._fft_axes:
            last = self._fft_axes[-1]
            spectral[last] = self.shape[last] // 2 + 1
        self._spectral_shape = tuple(spectral)
        self._null_index = tuple(p.eig.null_index for p in plans)
        # (F_i 1) at the null mode: mean_w(b) = (F b)[null] / prod_i of these
        self._null_row_sums = math.prod(self._forward_row_sum(i) for i in range(self.ndim))

        k = len(self._gemm_axes)
        need1 = k >= 1 or (bool(self._fft_axes) and bool(self._real_groups))
        need2 = bool(self._fft_axes) and k >= 2
        self._work1 = np.empty(self.shape) if need1 else None
        self._work2 = np.empty(self.shape) if need2 else None
        self._inv = np.empty(self._spectral_shape)
        self.last_projected_norm = 0.0
        self._record = True
        self._set_shift(shift)
        self.setup_seconds = time.perf_counter() - t0

    # -- construction --------------------------------------------------------------
    @classmethod
    def from_problem(
        cls,
        problem,
        *,
        workers: int | None = None,
        force_eigh: bool = False,
        kernels: str = "auto",
    ) -> FastDiagSolver:
        """Prepare the solver of a :class:`kronpde.Problem` (its operators, axes and shift).

        Raises
        ------
        SolverError
            For a variable coefficient ``k(x)``: the operator is not a
            Kronecker sum, so fast diagonalization cannot solve it (it can
            precondition it: method ``"fastdiag-cg"``).
        """
        reason = FastDiag.refusal(problem)
        if reason is not None:
            raise SolverError(reason)
        return cls(
            problem.axis_operators,
            problem.shift,
            axes=problem.grid.axes,
            workers=workers,
            force_eigh=force_eigh,
            kernels=kernels,
            scheme=getattr(problem, "scheme", None),
        )

    def _forward_row_sum(self, i: int) -> float:
        """Entry ``null_index`` of the (unscaled) forward transform of a vector of ones."""
        p = self._plans[i]
        null = p.eig.null_index
        ones = np.ones(p.eig.n)
        if p.forward is not None:
            return float(p.forward[null] @ ones)
        if p.method == "fft":
            return float(p.eig.n)
        fwd, _, typ = _REAL_TRANSFORMS[p.method]
        return float(fwd(ones, type=typ, norm="backward")[null])

    def set_shift(self, shift: float) -> None:
        """Change ``c``: recomputes only the ``1/(Λ + c)`` array, in place.

        Raises
        ------
        ValueError
            If ``shift`` is not a finite number.
        SolverError
            If ``A`` would be singular beyond the constant null space; the
            solver then keeps its previous shift.
        """
        previous = self.shift
        try:
            self._set_shift(shift)
        except SolverError:
            self._set_shift(previous)
            raise

    def _set_shift(self, shift: float) -> None:
        if isinstance(shift, bool) or not isinstance(shift, (int, float, np.integer, np.floating)):
            msg = f"fastdiag: shift must be a number, got {shift!r}"
            raise ValueError(msg)
        shift = float(shift)
        if not math.isfinite(shift):
            msg = f"fastdiag: shift must be finite, got {shift}"
            raise ValueError(msg)
        self.shift = shift
        self.singular = shift == 0.0 and all(p.eig.singular for p in self._plans)
        inv = self._inv
        spectral = self._spectral_shape
        if self.scheme is None:
            # sum over axes 1.. as a small array, then one broadcast write of the full array
            rest = np.zeros(spectral[1:])
            for i in range(1, self.ndim):
                rest = rest + self._spectral_eigs(i).reshape(self._bshape(i)[1:])
            first = self._spectral_eigs(0) + shift
            np.add(first.reshape(self._bshape(0)), rest, out=inv)
            lowest = sum(float(np.min(p.eig.eigenvalues)) for p in self._plans) + shift
        else:  # the scheme's combination, minimum over the modes (it is not monotone)
            per_axis = [self._spectral_eigs(i).reshape(self._bshape(i)) for i in range(self.ndim)]
            self.scheme.combine(per_axis, shift, out=inv)
            if self.singular:
                inv[self._null_index] = 1.0
            lowest = float(inv.min())
            if lowest < 0.0:
                msg = (
                    f"fastdiag: the operator is not positive definite with shift c = {shift}: "
                    f"its smallest eigenvalue is {lowest:.3g} (the fourth-order scheme needs "
                    "a_i lambda_i <= 1/3, which a Robin face with a large alpha h / beta can "
                    "break: refine the grid or use order 2)"
                )
                raise SolverError(msg)
        if self.singular:
            inv[self._null_index] = 1.0
        elif lowest <= 0.0 and np.any(inv == 0.0):
            msg = (
                f"fastdiag: A is singular with shift c = {shift} (an eigenvalue sum is 0) "
                f"and not a constant-null-space problem"
            )
            raise SolverError(msg)
        scale = 1.0 / math.prod(p.roundtrip for p in self._plans)
        np.divide(scale, inv, out=inv)
        if self.singular:
            inv[self._null_index] = 0.0

    def _bshape(self, i: int) -> tuple[int, ...]:
        shape = [1] * self.ndim
        shape[i] = self._spectral_shape[i]
        return tuple(shape)

    def _spectral_eigs(self, i: int) -> np.ndarray:
        return self._plans[i].eig.eigenvalues[: self._spectral_shape[i]]

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
        if self.scheme is not None:
            return np.broadcast_to(self.scheme.combine(per_axis, self.shift), self.shape).copy()
        out = np.full(self.shape, self.shift)
        for lam in per_axis:
            out += lam
        return out

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
        if self._fft_axes:
            result = self._solve_fft(src, dst)
        else:
            result = self._solve_real(src, dst)
        return out if out is not None else result.reshape(b_arr.shape)

    def _forward_gemm(self, src: np.ndarray, dst: np.ndarray, other: np.ndarray) -> None:
        self._chain(src, [(i, self._plans[i].forward) for i in self._gemm_axes], dst, other)

    def _backward_gemm(self, src: np.ndarray, dst: np.ndarray, other: np.ndarray) -> None:
        self._chain(src, [(i, self._plans[i].backward) for i in self._gemm_axes], dst, other)

    @staticmethod
    def _chain(src, steps, dst, other) -> None:
        """Apply dense matrices along axes in turn, ping-ponging so the last lands in ``dst``.

        Step ``j`` (1-based of ``k``) writes ``dst`` if ``k - j`` is even, else
        ``other``; ``src`` must differ from the first step's target.
        """
        k = len(steps)
        cur = src
        for j, (axis, mat) in enumerate(steps, start=1):
            target = dst if (k - j) % 2 == 0 else other
            matmul_axis(mat, cur, axis, out=target)
            cur = target

    def _real_transforms(self, x: np.ndarray, inverse: bool) -> None:
        """DST/DCT along their axes, in place, unscaled (the scale is folded into ``1/Λ``)."""
        for method, axes in self._real_groups:
            fwd, inv, typ = _REAL_TRANSFORMS[method]
            func = inv if inverse else fwd
            norm = "forward" if inverse else "backward"  # both unscaled
            y = func(x, type=typ, axes=axes, norm=norm, overwrite_x=True, workers=self.workers)
            if not np.shares_memory(y, x):  # pragma: no cover - scipy always works in place
                np.copyto(x, y)

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
        mean = coef / self._null_row_sums
        self.last_projected_norm = abs(mean) * math.sqrt(self.size) / norm_b if norm_b else 0.0

    def _solve_real(self, src: np.ndarray, dst: np.ndarray | None) -> np.ndarray:
        if dst is None:
            dst = np.empty(self.shape)
        k = len(self._gemm_axes)
        if k == 0:
            t = dst
            np.copyto(t, src)
        else:
            t = dst if k % 2 == 0 else self._work1
            other = self._work1 if t is dst else dst
            self._forward_gemm(src, t, other)
        self._real_transforms(t, inverse=False)
        self._record_projection(src, float(t[self._null_index]))
        np.multiply(t, self._inv, out=t)
        self._real_transforms(t, inverse=True)
        if k:
            self._backward_gemm(t, dst, self._work1)
        return dst

    def _solve_fft(self, src: np.ndarray, dst: np.ndarray | None) -> np.ndarray:
        k = len(self._gemm_axes)
        if k:
            t = self._work1
            self._forward_gemm(src, t, self._work2)
        elif self._real_groups:
            t = self._work1
            np.copyto(t, src)
        else:
            t = src  # rfftn does not overwrite its input
        self._real_transforms(t, inverse=False)
        axes = self._fft_axes
        spec = scipy.fft.rfftn(t, axes=axes, norm="backward", workers=self.workers)
        self._record_projection(src, float(spec[self._null_index].real))
        np.multiply(spec, self._inv, out=spec)  # complex *= real (faster than on (re, im) pairs)
        r = scipy.fft.irfftn(
            spec,
            s=[self.shape[a] for a in axes],
            axes=axes,
            norm="forward",
            overwrite_x=True,
            workers=self.workers,
        )
        del spec
        self._real_transforms(r, inverse=True)
        if k == 0:
            if dst is None:
                return r
            np.copyto(dst, r)
            return dst
        if dst is None:
            if k % 2 == 0:  # ends in r itself
                self._backward_gemm(r, r, self._work1)
                return r
            dst = np.empty(self.shape)
            self._backward_gemm(r, dst, r)
            return dst
        self._backward_gemm(r, dst, r if k % 2 else self._work1)
        return dst

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
    defaults: ClassVar[dict[str, Any]] = {"workers": None, "force_eigh": False, "kernels": "auto"}
    auto_reason = (
        "auto: the operator is a constant-coefficient Kronecker sum "
        "(problem.is_kronecker_sum), so fast diagonalization solves it exactly"
    )

    @classmethod
    def why(cls, problem: Any) -> str:
        """Say why ``auto`` picks fast diagonalization for ``problem``."""
        if getattr(problem, "order", 2) == 4:
            return (
                "auto: the fourth-order compact operator is a polynomial in the same 1-D "
                "operators, so fast diagonalization solves it exactly"
            )
        return cls.auto_reason

    @classmethod
    def refusal(cls, problem: Any, options: Any = None) -> str | None:
        """Refuse a variable coefficient (not a Kronecker sum), and Robin faces at order 4."""
        if not problem.is_kronecker_sum:
            return (
                "fastdiag: the coefficient k varies in space, so the operator is not a "
                "Kronecker sum and fast diagonalization cannot solve it exactly; use method "
                "'fastdiag-cg' (CG preconditioned by fast diagonalization), 'amg-cg', 'cg' "
                "or 'direct'"
            )
        if not getattr(problem, "fast_diagonalizable", True):
            return (
                "fastdiag: at order 4 a Robin face's correction couples the unknowns on the "
                "face, so the per-axis eigenvectors no longer diagonalise the operator; use "
                "method 'fastdiag-cg' (CG preconditioned by the separable fourth-order fast "
                "solve), 'amg-cg', 'cg' or 'direct'"
            )
        return None

    def __init__(self, problem: Any, **options: Any):
        self.options = self.effective_options(options)
        try:
            self.backend = FastDiagSolver.from_problem(problem, **self.options)
        except (ValueError, TypeError) as exc:  # a bad option value
            msg = str(exc) if str(exc).startswith("fastdiag") else f"fastdiag: {exc}"
            raise OptionError(msg) from exc
        self.options["workers"] = self.backend.workers
        self.options["axis_methods"] = self.backend.axis_methods

    def solve(
        self, b: np.ndarray, *, out: np.ndarray | None = None, check: bool = True, **_: Any
    ) -> Outcome:
        """Solve ``A u = b`` by the transforms (with ``check``, scan ``u`` for NaN/infinity).

        A singular problem's ``b`` may come unprojected: dropping the zero mode
        projects it (:attr:`projects`), and the removed part is reported
        (measured only with ``check``: NaN otherwise).
        """
        x = self.backend.solve(b, out=out, record=check)
        projected = self.backend.last_projected_norm if self.backend.singular else None
        finite = bool(np.all(np.isfinite(x))) if check else True
        return Outcome(x, finite, projected_norm=projected)

    def set_shift(self, problem: Any) -> bool:
        """Re-sum the eigenvalues for ``problem.shift`` (the eigenpairs and transforms stay)."""
        self.backend.set_shift(problem.shift)
        return True

    def describe(self) -> str:
        """Name the per-axis eigenpairs (and the fourth-order combination)."""
        about = f"Per-axis eigenpairs: {', '.join(self.backend.axis_methods)}."
        if self.backend.scheme is not None:
            about += " Fourth-order compact scheme: divided by its eigenvalue combination."
        return about
