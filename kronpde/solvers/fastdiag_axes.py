"""How fast diagonalization applies its eigenvectors: per axis a transform or a GEMM.

:func:`plan_axis` chooses, per axis, the closed-form transform of ``scipy.fft``
or dense matrices (the measured crossover :data:`GEMM_PRIME_RATIO`; always for
``eigh``), and :class:`TransformPlan` runs the forward transforms, a division
in the spectral space and the inverse transforms over every axis, with the
fewest work arrays (:class:`~kronpde.solvers.fastdiag.FastDiagSolver` divides).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.fft

from kronpde.errors import SolverError
from kronpde.geometry.grid import Axis
from kronpde.operators.matmul import matmul_axis
from kronpde.operators.stencils import AxisEigenpairs, AxisOperator

__all__ = [
    "GEMM_MIN_N",
    "GEMM_PRIME_RATIO",
    "REAL_TRANSFORMS",
    "AxisPlan",
    "TransformPlan",
    "plan_axis",
]

#: Closed-form methods: (forward, inverse) scipy.fft functions, type, round-trip factor.
REAL_TRANSFORMS = {
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
class AxisPlan:
    """How one axis is applied: its eigenpairs and the kernel that applies them."""

    eig: AxisEigenpairs
    kernel: str = "transform"  # "transform" (scipy.fft) or "gemm" (dense matrices)
    forward: np.ndarray | None = None  # gemm: S^{-1}
    backward: np.ndarray | None = None  # gemm: S
    roundtrip: float = 1.0  # unscaled forward then inverse multiplies by this

    @property
    def method(self) -> str:
        """The eigenpairs' kind: a closed form's name or ``"eigh"``."""
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


def plan_axis(op: AxisOperator, axis: Axis | None, force_eigh: bool, kernels: str) -> AxisPlan:
    """Return how one axis is applied: its eigenpairs, by a transform or by dense matrices.

    Raises
    ------
    SolverError
        If ``W T`` is not symmetric (no eigenpairs).
    """
    try:
        eig = op.eigenpairs(axis, force_eigh=force_eigh)
    except ValueError as exc:  # W T not symmetric
        msg = f"fastdiag: {exc}"
        raise SolverError(msg) from None
    if eig.kind == "eigh":
        return AxisPlan(eig, "gemm", eig.forward, eig.backward)
    if kernels == "gemm" or (kernels == "auto" and _prefer_gemm(eig.kind, eig.n)):
        vectors = eig.vectors()
        forward = np.ascontiguousarray(vectors.T * eig.weights[None, :])  # S^{-1} = S^T W
        return AxisPlan(eig, "gemm", forward, vectors)
    return AxisPlan(eig, roundtrip=_roundtrip_factor(eig.kind, eig.n))


# --------------------------------------------------------------------------- the solver


#: ``divide(spectrum, source)``: scales the forward-transformed data in place (``source`` is
#: the untransformed right-hand side, for what the divider records of it).
Divide = Callable[[np.ndarray, np.ndarray], None]


class TransformPlan:
    """The transforms of every axis, their layout and work arrays: one solve's data path.

    Parameters
    ----------
    plans : sequence of AxisPlan
        Per axis, axis 0 first.
    workers : int
        Threads of ``scipy.fft``.

    Attributes
    ----------
    shape : tuple of int
        The unknowns per axis.
    spectral_shape : tuple of int
        The transformed array's shape (the last periodic axis holds ``n//2 + 1`` modes).
    null_index : tuple of int
        The position of the constants' mode in the spectral array.
    null_row_sums : float
        ``(F 1)`` at the null mode: ``mean_w(b) = (F b)[null] / null_row_sums``.
    """

    def __init__(self, plans: tuple[AxisPlan, ...], workers: int):
        self.plans = plans
        self.workers = workers
        self.shape = tuple(p.eig.n for p in plans)
        self.ndim = len(plans)
        self.gemm_axes = tuple(i for i, p in enumerate(plans) if p.kernel == "gemm")
        transform = [p.kernel == "transform" for p in plans]
        self.fft_axes = tuple(i for i, p in enumerate(plans) if transform[i] and p.method == "fft")
        groups: dict[str, list[int]] = {}
        for i, p in enumerate(plans):
            if transform[i] and p.method in REAL_TRANSFORMS:
                groups.setdefault(p.method, []).append(i)
        self.real_groups = tuple((m, tuple(ax)) for m, ax in groups.items())
        # layout of the spectral array: the last periodic axis holds n//2 + 1 modes
        spectral = list(self.shape)
        if self.fft_axes:
            last = self.fft_axes[-1]
            spectral[last] = self.shape[last] // 2 + 1
        self.spectral_shape = tuple(spectral)
        self.null_index = tuple(p.eig.null_index for p in plans)
        self.null_row_sums = math.prod(self._forward_row_sum(i) for i in range(self.ndim))
        self.roundtrip = math.prod(p.roundtrip for p in plans)
        k = len(self.gemm_axes)
        need1 = k >= 1 or (bool(self.fft_axes) and bool(self.real_groups))
        need2 = bool(self.fft_axes) and k >= 2
        self._work1 = np.empty(self.shape) if need1 else None
        self._work2 = np.empty(self.shape) if need2 else None

    def _forward_row_sum(self, i: int) -> float:
        """Entry ``null_index`` of the (unscaled) forward transform of a vector of ones."""
        p = self.plans[i]
        null = p.eig.null_index
        ones = np.ones(p.eig.n)
        if p.forward is not None:
            return float(p.forward[null] @ ones)
        if p.method == "fft":
            return float(p.eig.n)
        fwd, _, typ = REAL_TRANSFORMS[p.method]
        return float(fwd(ones, type=typ, norm="backward")[null])

    def spectral_eigenvalues(self, i: int) -> np.ndarray:
        """Axis ``i``'s eigenvalues in the spectral layout, shaped to broadcast along axis ``i``."""
        shape = [1] * self.ndim
        shape[i] = self.spectral_shape[i]
        return self.plans[i].eig.eigenvalues[: self.spectral_shape[i]].reshape(shape)

    def apply(self, src: np.ndarray, dst: np.ndarray | None, divide: Divide) -> np.ndarray:
        """Transform ``src`` forward, ``divide`` the spectrum, transform back into ``dst``.

        ``dst`` (or a new array when None) receives the result, which is returned.
        """
        if self.fft_axes:
            return self._solve_fft(src, dst, divide)
        return self._solve_real(src, dst, divide)

    def _forward_gemm(self, src: np.ndarray, dst: np.ndarray, other: np.ndarray) -> None:
        self._chain(src, [(i, self.plans[i].forward) for i in self.gemm_axes], dst, other)

    def _backward_gemm(self, src: np.ndarray, dst: np.ndarray, other: np.ndarray) -> None:
        self._chain(src, [(i, self.plans[i].backward) for i in self.gemm_axes], dst, other)

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
        for method, axes in self.real_groups:
            fwd, inv, typ = REAL_TRANSFORMS[method]
            func = inv if inverse else fwd
            norm = "forward" if inverse else "backward"  # both unscaled
            y = func(x, type=typ, axes=axes, norm=norm, overwrite_x=True, workers=self.workers)
            if not np.shares_memory(y, x):  # pragma: no cover - scipy always works in place
                np.copyto(x, y)

    def _solve_real(self, src: np.ndarray, dst: np.ndarray | None, divide: Divide) -> np.ndarray:
        if dst is None:
            dst = np.empty(self.shape)
        k = len(self.gemm_axes)
        if k == 0:
            t = dst
            np.copyto(t, src)
        else:
            t = dst if k % 2 == 0 else self._work1
            other = self._work1 if t is dst else dst
            self._forward_gemm(src, t, other)
        self._real_transforms(t, inverse=False)
        divide(t, src)
        self._real_transforms(t, inverse=True)
        if k:
            self._backward_gemm(t, dst, self._work1)
        return dst

    def _solve_fft(self, src: np.ndarray, dst: np.ndarray | None, divide: Divide) -> np.ndarray:
        k = len(self.gemm_axes)
        if k:
            t = self._work1
            self._forward_gemm(src, t, self._work2)
        elif self.real_groups:
            t = self._work1
            np.copyto(t, src)
        else:
            t = src  # rfftn does not overwrite its input
        self._real_transforms(t, inverse=False)
        axes = self.fft_axes
        spec = scipy.fft.rfftn(t, axes=axes, norm="backward", workers=self.workers)
        divide(spec, src)
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
