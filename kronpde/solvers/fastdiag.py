"""Fast diagonalization: the exact solver of a Kronecker sum, axis by axis.

The N-D operator is the Kronecker sum

    A = sum_i I ⊗ ... ⊗ T_i ⊗ ... ⊗ I + c I,

so with ``T_i = S_i Λ_i S_i^{-1}`` it is diagonalised by ``S = S_0 ⊗ S_1 ⊗ ...``:
``A = S (Λ_0 ⊕ Λ_1 ⊕ ... + c) S^{-1}``.  A solve transforms ``b`` along every
axis with ``S_i^{-1}``, divides by the eigenvalue sums ``λ_{k_0} + λ_{k_1} + ...
+ c`` and transforms back with ``S_i``.

Per axis, one of these (:attr:`FastDiagSolver.axis_methods`):

========  ================================  ====================================
method    axis (operator of                 forward ``S^{-1}`` / back ``S``
          :func:`~kronpde.stencils.second_difference`, times any ``k > 0``)
========  ================================  ====================================
``dst1``  Dirichlet – Dirichlet              DST-I / DST-I, ``θ_k = π(k+1)/(n+1)``
``dct1``  Neumann – Neumann                  DCT-I / DCT-I, ``θ_k = π k/(n-1)``
``dst3``  Dirichlet – Neumann                DST-III / DST-II, ``θ_k = π(2k+1)/(2n)``
``dct3``  Neumann – Dirichlet                DCT-III / DCT-II, ``θ_k = π(2k+1)/(2n)``
``fft``   periodic                           rFFT / irFFT, ``θ_k = 2π k/n``
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

import numpy as np
import scipy.fft
import scipy.linalg

from kronpde.boundary import Dirichlet, Neumann, Periodic, Robin
from kronpde.errors import SolverError
from kronpde.grid import Axis
from kronpde.operator import matmul_axis
from kronpde.stencils import AxisOperator

__all__ = ["FastDiagSolver"]

#: Closed-form methods: (forward, inverse) scipy.fft functions, type, round-trip factor.
_REAL_TRANSFORMS = {
    "dst1": (scipy.fft.dstn, scipy.fft.idstn, 1),
    "dct1": (scipy.fft.dctn, scipy.fft.idctn, 1),
    "dst3": (scipy.fft.dstn, scipy.fft.idstn, 3),
    "dct3": (scipy.fft.dctn, scipy.fft.idctn, 3),
}
_KIND_OF_FACES = {("D", "D"): "dst1", ("N", "N"): "dct1", ("D", "N"): "dst3", ("N", "D"): "dct3"}

#: Relative tolerance of the closed-form coefficient check and the symmetry checks.
_MATCH_RTOL = 1e-12


# --------------------------------------------------------------------------- 1-D pieces


def _face(bc: object) -> str | None:
    """Face letter: D, N (Neumann, or Robin with alpha = 0: the same row), None otherwise."""
    if isinstance(bc, Dirichlet):
        return "D"
    if isinstance(bc, Neumann) or (isinstance(bc, Robin) and bc.alpha == 0.0):
        return "N"
    return None


def _kind_from_axis(axis: Axis) -> str | None:
    if isinstance(axis.lower_bc, Periodic):
        return "fft"
    return _KIND_OF_FACES.get((_face(axis.lower_bc), _face(axis.upper_bc)))


def _kind_from_operator(op: AxisOperator) -> str | None:
    """Guess the closed form from the boundary rows (verified afterwards)."""
    if op.periodic:
        return "fft"
    n = op.n
    if n == 1:
        return "dst1"
    if op.diag[0] == 0.0 or op.diag[-1] == 0.0:
        return None
    faces = []
    for ratio in (op.upper[0] / op.diag[0], op.lower[-1] / op.diag[-1]):
        if math.isclose(ratio, -0.5, rel_tol=_MATCH_RTOL):
            faces.append("D")
        elif math.isclose(ratio, -1.0, rel_tol=_MATCH_RTOL):
            faces.append("N")
        else:
            return None
    return _KIND_OF_FACES[tuple(faces)]


def _pattern(kind: str, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coefficients ``(diag, lower, upper)`` of the closed form with ``s = 1``.

    The layout is :class:`AxisOperator`'s, including the folding of periodic
    axes with ``n <= 2``.
    """
    diag = np.full(n, 2.0)
    lower = np.full(n, -1.0)
    upper = np.full(n, -1.0)
    if kind == "fft":
        if n == 1:
            diag[:] = lower[:] = upper[:] = 0.0
        elif n == 2:
            upper[:] = (-2.0, 0.0)
            lower[:] = (0.0, -2.0)
        return diag, lower, upper
    lower[0] = 0.0
    upper[-1] = 0.0
    if n > 1:
        if kind in ("dct1", "dct3"):  # Neumann at the lower face
            upper[0] = -2.0
        if kind in ("dct1", "dst3"):  # Neumann at the upper face
            lower[-1] = -2.0
    return diag, lower, upper


def _weights_symmetrize(op: AxisOperator) -> bool:
    """True if ``diag(weights) @ T`` is symmetric (to :data:`_MATCH_RTOL`)."""
    w = np.asarray(op.weights, dtype=float)
    if w.shape != (op.n,) or not np.all(np.isfinite(w)) or np.any(w <= 0.0):
        return False
    if op.periodic:
        left = w * op.upper  # (W T)[r, r+1]
        right = np.roll(w * op.lower, -1)  # (W T)[r+1, r]
    else:
        left = w[:-1] * op.upper[:-1]
        right = w[1:] * op.lower[1:]
    scale = float(np.max(np.abs(w * op.diag), initial=0.0))
    return bool(np.all(np.abs(left - right) <= _MATCH_RTOL * max(scale, np.finfo(float).tiny)))


def _closed_form_scale(kind: str, op: AxisOperator) -> float | None:
    """The factor ``s`` with ``op == s * pattern``, or None if the operator differs."""
    n = op.n
    if kind == "dct1" and n < 2:
        return None
    if kind == "fft" and n == 1:
        s = 1.0 / float(op.weights[0]) ** 2  # T = 0; s is immaterial (λ = 0)
    else:
        s = float(op.diag[0]) / 2.0
    if not (math.isfinite(s) and s > 0.0):
        return None
    tol = _MATCH_RTOL * 4.0 * s
    for have, want in zip((op.diag, op.lower, op.upper), _pattern(kind, n), strict=True):
        if not np.all(np.abs(np.asarray(have) - s * want) <= tol):
            return None
    if not _weights_symmetrize(op):
        return None
    return s


def _angles(kind: str, n: int) -> np.ndarray:
    k = np.arange(n, dtype=float)
    if kind == "dst1":
        return np.pi * (k + 1.0) / (n + 1)
    if kind == "dct1":
        return np.pi * k / (n - 1)
    if kind in ("dst3", "dct3"):
        return np.pi * (2.0 * k + 1.0) / (2 * n)
    return 2.0 * np.pi * k / n  # fft


def _closed_form_vectors(kind: str, n: int) -> np.ndarray:
    """Unnormalised eigenvectors as columns, in transform order."""
    j = np.arange(n, dtype=float)[:, None]
    k = np.arange(n, dtype=float)[None, :]
    if kind == "dst1":
        return np.sin(np.pi * (j + 1.0) * (k + 1.0) / (n + 1))
    if kind == "dct1":
        return np.cos(np.pi * j * k / (n - 1))
    if kind == "dst3":
        return np.sin(np.pi * (2.0 * k + 1.0) * (j + 1.0) / (2 * n))
    if kind == "dct3":
        return np.cos(np.pi * (2.0 * k + 1.0) * j / (2 * n))
    # fft: the real Fourier basis, column k shares λ_k = λ_{n-k}
    kk = np.minimum(k, n - k)
    return np.where(k <= n // 2, np.cos(2.0 * np.pi * j * kk / n), np.sin(2.0 * np.pi * j * kk / n))


#: Cost model of the two ways of applying a closed form along an axis, in ns per unknown
#: (fitted to timings on the 2-core development machine, scipy 1.17 / OpenBLAS 0.3.31, one
#: thread).  scipy.fft's real transforms run radix-2/3/4/5 passes plus one generic O(p)
#: pass per larger prime factor p of the internal FFT length, so an awkward length is many
#: times slower than its neighbours: DST-I with n = 256 transforms length 2(n+1) = 2·257
#: at about 40 ns per unknown, where a dense GEMM (2n flops per unknown) takes about 12.
_NS_PER_FFT_UNIT = 0.22
_NS_PER_FLOP = 0.025
#: The GEMM kernel replaces a transform only on axes this long, and only where the model
#: says it is at least twice as fast (call overheads dominate on short axes either way).
_GEMM_MIN_N = 32


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


def _transform_ns(kind: str, n: int) -> float:
    length = _fft_length(kind, n)
    units = math.log2(max(length, 2)) + sum(p for p in _prime_factors(length) if p > 5) / 3.0
    return _NS_PER_FFT_UNIT * units * length / n


def _prefer_gemm(kind: str, n: int) -> bool:
    """True where the model expects the dense GEMM to beat scipy.fft by 2x or more."""
    if n < _GEMM_MIN_N or max(_prime_factors(_fft_length(kind, n)), default=1) <= 5:
        return False
    return _NS_PER_FLOP * 2.0 * n <= 0.5 * _transform_ns(kind, n)


@dataclass(frozen=True, eq=False)
class _AxisPlan:
    """Everything one axis contributes to the solver."""

    method: str
    n: int
    eigenvalues: np.ndarray  # natural (transform) order, physical scale
    weights: np.ndarray
    singular: bool  # T has the constants in its kernel
    null_index: int  # index of the zero eigenvalue when singular
    roundtrip: float  # unscaled forward then inverse multiplies by this
    kernel: str = "transform"  # "transform" (scipy.fft) or "gemm" (dense matrices)
    forward: np.ndarray | None = None  # gemm: S^{-1} (eigh: Q^T D)
    backward: np.ndarray | None = None  # gemm: S (eigh: D^{-1} Q)
    scale: float = 1.0  # closed forms: s = k/h²


def _roundtrip_factor(kind: str, n: int) -> float:
    return {
        "dst1": 2.0 * (n + 1),
        "dct1": 2.0 * (n - 1),
        "dst3": 2.0 * n,
        "dct3": 2.0 * n,
        "fft": float(n),
    }[kind]


def _has_constant_kernel(op: AxisOperator) -> bool:
    rowsum = op.tosparse() @ np.ones(op.n)
    scale = float(np.max(np.abs(op.diag), initial=0.0))
    return bool(np.all(np.abs(rowsum) <= _MATCH_RTOL * 4.0 * scale))


def _plan_axis(op: AxisOperator, axis: Axis | None, force_eigh: bool, kernels: str) -> _AxisPlan:
    n = op.n
    weights = np.array(op.weights, dtype=float)
    kind = None
    if not force_eigh:
        kind = _kind_from_axis(axis) if axis is not None else _kind_from_operator(op)
    s = _closed_form_scale(kind, op) if kind is not None else None
    if s is None:
        return _plan_eigh(op, weights)
    lam = 4.0 * s * np.sin(0.5 * _angles(kind, n)) ** 2
    singular = kind in ("dct1", "fft")
    if kernels == "gemm" or (kernels == "auto" and _prefer_gemm(kind, n)):
        vectors = _closed_form_vectors(kind, n)
        vectors /= np.sqrt(np.einsum("j,jk,jk->k", weights, vectors, vectors))
        forward = np.ascontiguousarray(vectors.T * weights[None, :])  # S^{-1} = S^T W
        return _AxisPlan(kind, n, lam, weights, singular, 0, 1.0, "gemm", forward, vectors, scale=s)
    return _AxisPlan(kind, n, lam, weights, singular, 0, _roundtrip_factor(kind, n), scale=s)


def _plan_eigh(op: AxisOperator, weights: np.ndarray) -> _AxisPlan:
    if not _weights_symmetrize(op):
        msg = (
            "fastdiag: the 1-D operator is not symmetric in the weighted inner product "
            "(diag(weights) @ T must be symmetric); cannot diagonalise it stably"
        )
        raise SolverError(msg)
    ts = op.symmetrized().todense()
    ts = 0.5 * (ts + ts.T)  # exact symmetry for eigh (differences are at rounding level)
    lam, q = scipy.linalg.eigh(ts)
    d = np.sqrt(weights)
    singular = _has_constant_kernel(op)
    null_index = 0
    if singular:
        null_index = int(np.argmin(np.abs(lam)))
        lam[null_index] = 0.0
        # the exact null vector D 1 / ||D 1||: its forward row is then exactly ∝ w
        v = d / np.linalg.norm(d)
        q[:, null_index] = v if v @ q[:, null_index] >= 0 else -v
    forward = np.ascontiguousarray(q.T * d[None, :])
    backward = np.ascontiguousarray(q / d[:, None])
    return _AxisPlan(
        "eigh", op.n, lam, weights, singular, null_index, 1.0, "gemm", forward, backward
    )


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
    kernels : {"auto", "transform", "gemm"}
        How a closed form is applied: ``"transform"`` with ``scipy.fft``;
        ``"gemm"`` as dense matrices of its (closed-form) eigenvectors;
        ``"auto"`` (default) takes ``"gemm"`` only on axes of 32 or more points
        whose transform length has a prime factor above 5 and where a cost model
        expects the GEMM to be twice as fast (e.g. DST-I with ``n = 256``, which
        scipy.fft runs as a length-514 = 2·257 FFT).  Periodic axes applied by
        GEMM use the real Fourier basis.

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
        ``"dct3"``, ``"fft"`` (closed forms) or ``"eigh"``.
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
    ):
        t0 = time.perf_counter()
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
        self._null_index = tuple(p.null_index for p in plans)
        # (F_i 1) at the null mode: mean_w(b) = (F b)[null] / prod_i of these
        self._null_row_sums = math.prod(self._forward_row_sum(i) for i in range(self.ndim))

        k = len(self._gemm_axes)
        need1 = k >= 1 or (bool(self._fft_axes) and bool(self._real_groups))
        need2 = bool(self._fft_axes) and k >= 2
        self._work1 = np.empty(self.shape) if need1 else None
        self._work2 = np.empty(self.shape) if need2 else None
        self._inv = np.empty(self._spectral_shape)
        self.last_projected_norm = 0.0
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
        if getattr(problem, "variable_coefficient", False):
            msg = (
                "fastdiag: the coefficient k varies in space, so the operator is not a "
                "Kronecker sum and fast diagonalization cannot solve it exactly; use method "
                "'fastdiag-cg' (CG preconditioned by fast diagonalization), 'amg-cg', 'cg' "
                "or 'direct'"
            )
            raise SolverError(msg)
        return cls(
            problem.axis_operators,
            problem.shift,
            axes=problem.grid.axes,
            workers=workers,
            force_eigh=force_eigh,
            kernels=kernels,
        )

    def _forward_row_sum(self, i: int) -> float:
        """Entry ``null_index`` of the (unscaled) forward transform of a vector of ones."""
        p = self._plans[i]
        ones = np.ones(p.n)
        if p.forward is not None:
            return float(p.forward[p.null_index] @ ones)
        if p.method == "fft":
            return float(p.n)
        fwd, _, typ = _REAL_TRANSFORMS[p.method]
        return float(fwd(ones, type=typ, norm="backward")[p.null_index])

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
        self.singular = shift == 0.0 and all(p.singular for p in self._plans)
        inv = self._inv
        spectral = self._spectral_shape
        # sum over axes 1.. as a small array, then one broadcast write of the full array
        rest = np.zeros(spectral[1:])
        for i in range(1, self.ndim):
            rest = rest + self._spectral_eigs(i).reshape(self._bshape(i)[1:])
        first = self._spectral_eigs(0) + shift
        np.add(first.reshape(self._bshape(0)), rest, out=inv)
        lowest = sum(float(np.min(p.eigenvalues)) for p in self._plans) + shift
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
        return self._plans[i].eigenvalues[: self._spectral_shape[i]]

    # -- eigenpairs ------------------------------------------------------------------
    def eigenvalues(self) -> np.ndarray:
        """All eigenvalues ``λ_{k_0} + λ_{k_1} + ... + c`` of ``A``, shape :attr:`shape`.

        Entry ``(k_0, k_1, ...)`` belongs to :meth:`eigenvector` of the same
        index; per axis the order is :meth:`axis_eigenvalues`'.
        """
        out = np.full(self.shape, self.shift)
        for i, p in enumerate(self._plans):
            shape = [1] * self.ndim
            shape[i] = p.n
            out += p.eigenvalues.reshape(shape)
        return out

    def axis_eigenvalues(self, i: int) -> np.ndarray:
        """Eigenvalues of ``T_i`` (physical scale), shape ``(n_i,)``, in transform order.

        Ascending for the sine/cosine transforms and ``eigh``; FFT order
        (``θ_k = 2πk/n``, ``λ_k = λ_{n-k}``) on a periodic axis.
        """
        return self._plans[i].eigenvalues.copy()

    def axis_eigenvectors(self, i: int) -> np.ndarray:
        """``S_i``: the eigenvectors of ``T_i`` as columns, shape ``(n_i, n_i)``.

        Real, ``W``-orthonormal (``S_i.T @ diag(w_i) @ S_i = I``), column ``k``
        belonging to ``axis_eigenvalues(i)[k]``; on a periodic axis the real
        Fourier basis (``cos`` for ``k <= n/2``, ``sin`` above).
        """
        p = self._plans[i]
        if p.method == "eigh":
            s = p.backward.copy()
        else:
            s = _closed_form_vectors(p.method, p.n)
        norms = np.sqrt(np.einsum("j,jk,jk->k", p.weights, s, s))
        return s / norms

    def eigenvector(self, index: int | Sequence[int]) -> np.ndarray:
        """The eigenvector of ``A`` with multi-index ``(k_0, k_1, ...)``, shape :attr:`shape`.

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
    def solve(self, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Solve ``A u = b`` (exactly, up to rounding).

        Parameters
        ----------
        b : ndarray, shape (N,) or :attr:`shape`
            Right-hand side; not modified.
        out : ndarray, optional
            C-contiguous float64 array of ``b``'s shape to write the solution
            into (then nothing of size ``N`` is allocated, except by
            ``scipy.fft`` on periodic axes).

        Returns
        -------
        ndarray, same shape as ``b``
            ``u``.  For a singular system (:attr:`singular`) the solution of
            ``A u = b - mean_w(b)`` with ``mean_w(u) = 0`` (trapezoid weights);
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
        flat = src.reshape(-1)
        norm_b = math.sqrt(float(np.dot(flat, flat)))
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
        return (
            f"FastDiagSolver(shape={self.shape}, methods={self.axis_methods}, "
            f"shift={self.shift:g}, singular={self.singular})"
        )
