"""One axis' transform on a rank's local block, along an axis that is whole there.

Each :class:`AxisStep` applies one axis plan of the serial solver
(:mod:`kronpde.solvers.fastdiag`: its eigenpairs, its choice of kernel and its
round-trip factor, unscaled both ways) to an N-D block:

* ``"real"``: the DST/DCT of that axis with ``scipy.fft``, in place;
* ``"fft"``: a periodic axis, as a *real* transform: ``rfft`` packed in FFTW's
  half-complex order ``(Re X_0, ..., Re X_{n/2}, Im X_{(n-1)/2}, ..., Im X_1)``.
  Position ``p`` then holds a coefficient of frequency ``p`` or ``n - p``, whose
  eigenvalue ``λ_p = λ_{n-p}`` is entry ``p`` of the axis' eigenvalues in FFT
  order, so the spectrum stays real and of the grid's shape on every layout
  (the serial solver's complex half spectrum would not transpose as one array);
* ``"gemm"``: the dense ``S^{-1}`` / ``S`` (``eigh`` axes, and closed forms the
  serial solver applies as matrices) with :func:`~kronpde.operators.matmul.matmul_axis`,
  which needs a second buffer.
"""

from __future__ import annotations

import numpy as np
import scipy.fft

from kronpde.operators.matmul import matmul_axis
from kronpde.solvers.fastdiag_axes import REAL_TRANSFORMS, AxisPlan

__all__ = ["AxisStep"]


class AxisStep:
    """The forward (``S^{-1}``) and backward (``S``) transform of one axis on local blocks.

    Parameters
    ----------
    plan : AxisPlan
        The serial solver's plan of the axis (:func:`kronpde.solvers.fastdiag.plan_axis`).
    axis : int
        The axis of the N-D blocks it acts along (whole on this rank).
    workers : int
        Threads of ``scipy.fft``.
    """

    def __init__(self, plan: AxisPlan, axis: int, workers: int):
        self.plan = plan
        self.axis = axis
        self.workers = workers
        if plan.kernel == "gemm":
            self.kind = "gemm"
        elif plan.method == "fft":
            self.kind = "fft"
        else:
            self.kind = "real"

    @property
    def moves(self) -> bool:
        """True when the result must go to another array than the input (a GEMM)."""
        return self.kind == "gemm"

    def apply(self, src: np.ndarray, dst: np.ndarray, *, inverse: bool) -> None:
        """Write the transform of ``src`` along :attr:`axis` into ``dst`` (unscaled).

        ``dst`` has ``src``'s shape; it may be ``src`` itself unless :attr:`moves`.
        """
        if self.kind == "gemm":
            mat = self.plan.backward if inverse else self.plan.forward
            matmul_axis(mat, src, self.axis, out=dst)
        elif self.kind == "real":
            if dst is not src:
                np.copyto(dst, src)
            fwd, inv, typ = REAL_TRANSFORMS[self.plan.method]
            func = inv if inverse else fwd
            norm = "forward" if inverse else "backward"  # both unscaled
            y = func(
                dst, type=typ, axes=[self.axis], norm=norm, overwrite_x=True, workers=self.workers
            )
            if not np.shares_memory(y, dst):  # pragma: no cover - scipy works in place
                np.copyto(dst, y)
        elif inverse:
            self._unpack_irfft(src, dst)
        else:
            self._rfft_pack(src, dst)

    def _rfft_pack(self, src: np.ndarray, dst: np.ndarray) -> None:
        n = src.shape[self.axis]
        spec = scipy.fft.rfft(src, axis=self.axis, norm="backward", workers=self.workers)
        half, rest = n // 2 + 1, (n - 1) // 2
        out = np.moveaxis(dst, self.axis, -1)
        spec = np.moveaxis(spec, self.axis, -1)
        out[..., :half] = spec.real
        out[..., half:] = spec.imag[..., rest:0:-1]

    def _unpack_irfft(self, src: np.ndarray, dst: np.ndarray) -> None:
        n = src.shape[self.axis]
        half, rest = n // 2 + 1, (n - 1) // 2
        packed = np.moveaxis(src, self.axis, -1)
        spec = np.empty(packed.shape[:-1] + (half,), dtype=complex)
        spec.real = packed[..., :half]
        spec.imag[..., 0] = 0.0
        spec.imag[..., rest:0:-1] = packed[..., half:]
        if n % 2 == 0:
            spec.imag[..., -1] = 0.0
        r = scipy.fft.irfft(
            spec, n=n, axis=-1, norm="forward", overwrite_x=True, workers=self.workers
        )
        np.copyto(np.moveaxis(dst, self.axis, -1), r)
