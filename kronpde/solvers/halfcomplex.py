"""Real FFTs in FFTPACK's halfcomplex order: a periodic axis' real spectrum, in place.

The tridiagonal-axis solver (:mod:`kronpde.solvers.tridiagonal_axis`) needs a
real spectrum of the array's own shape on a periodic transformed axis: the
halfcomplex layout ``[y_0, Re y_1, Im y_1, Re y_2, Im y_2, ...]`` (FFTPACK's,
pocketfft's ``r2r_fftpack``), where position ``j`` holds frequency
``(j + 1) // 2``.  Both entries of a frequency share its eigenvalue
(``λ_k = λ_{n-k}``), so each mode's tridiagonal system is solved as a real one.
"""

from __future__ import annotations

import numpy as np
import scipy.fftpack

try:  # scipy's pocketfft binding: in place, threaded; scipy.fftpack's rfft otherwise
    from scipy.fft._pocketfft import pypocketfft as _pocketfft
except ImportError:  # pragma: no cover - older or newer scipy layouts
    _pocketfft = None

__all__ = ["fft_positions", "halfcomplex"]


def fft_positions(n: int) -> np.ndarray:
    """Return, per halfcomplex position ``j``, the column of the real Fourier basis it holds.

    The basis of :class:`~kronpde.operators.stencils.AxisEigenpairs` (FFT order:
    column ``k <= n/2`` the cosine of frequency ``k``, column ``n - k`` its sine)
    so that ``eigenvalues[fft_positions(n)]`` are the eigenvalues in halfcomplex order.
    """
    j = np.arange(n)
    k = (j + 1) // 2
    return np.where((j % 2 == 1) | (j == 0), k, n - k)


def halfcomplex(x: np.ndarray, axes: list[int], inverse: bool, workers: int) -> np.ndarray:
    """Transform ``x`` in place along ``axes``, unscaled (a round trip multiplies by ``Π n``).

    Parameters
    ----------
    x : ndarray
        C-contiguous float64; overwritten.
    axes : list of int
        The periodic axes.
    inverse : bool
        Halfcomplex to real (``e^{+2πijk/n}``) instead of real to halfcomplex.
    workers : int
        Threads.

    Returns
    -------
    ndarray
        ``x``.
    """
    if _pocketfft is not None:
        _pocketfft.r2r_fftpack(x, list(axes), not inverse, not inverse, 0, x, workers)
        return x
    for a in axes:  # the fallback (tests/test_tridiagonal_axis.py)
        if inverse:
            y = scipy.fftpack.irfft(x, axis=a, overwrite_x=True) * x.shape[a]
        else:
            y = scipy.fftpack.rfft(x, axis=a, overwrite_x=True)
        np.copyto(x, y)
    return x
