"""CG's vector work, compiled above the size threshold: fused updates, dot, scalings.

Elementwise results are bit for bit those of the NumPy expressions they
replace; dot products agree with NumPy's to rounding.
"""

from __future__ import annotations

import numpy as np

from kronpde.operators.kernels._dispatch import (
    _distinct,
    _einsum_dot,
    _kernel,
    _vector,
    use_compiled,
)

__all__ = [
    "axpy",
    "dot",
    "new_direction",
    "scale",
    "unscale",
    "update_xr",
    "update_xr_jacobi",
]


def _single(a) -> bool:
    """Whether ``a`` is a C-contiguous float32 array (a single-precision ``z``, used as is)."""
    return isinstance(a, np.ndarray) and a.dtype == np.float32 and a.flags.c_contiguous


def dot(a: np.ndarray, b: np.ndarray, *, compiled: bool | None = None) -> float:
    """Return ``a · b`` (compiled: block-wise partial sums, equal to NumPy's to rounding).

    ``b`` may be a C-contiguous float32 array (a single-precision preconditioner's
    ``z``): its entries are widened to float64 in the products, without a copy.
    """
    a = _vector(a, None, "a")
    if _single(b):
        b = b.reshape(-1)
        if b.size != a.size:
            msg = f"b has {b.size} entries, expected {a.size}"
            raise ValueError(msg)
        if use_compiled(a.size, compiled):
            return float(_kernel("dot_single")(a, b))
        return _einsum_dot(a, b)
    b = _vector(b, a.size, "b")
    if use_compiled(a.size, compiled):
        return float(_kernel("dot")(a, b))
    return _einsum_dot(a, b)


def axpy(alpha: float, x: np.ndarray, y: np.ndarray, *, compiled: bool | None = None) -> None:
    """In place, ``y += alpha * x``."""
    y = _vector(y, None, "y", writable=True)
    x = _vector(x, y.size, "x")
    _distinct(y, x)
    if use_compiled(y.size, compiled):
        _kernel("axpy")(float(alpha), x, y)
    else:
        y += alpha * x


def update_xr(
    x: np.ndarray,
    r: np.ndarray,
    p: np.ndarray,
    Ap: np.ndarray,
    alpha: float,
    *,
    compiled: bool | None = None,
) -> float:
    """CG's update in one pass: ``x += alpha p``, ``r -= alpha Ap``; return ``r · r``.

    Parameters
    ----------
    x, r : ndarray
        Iterate and residual, updated in place (C-contiguous float64).
    p, Ap : ndarray
        Search direction and ``A p`` (same size, read only).
    alpha : float
        Step length.
    compiled : bool or None, optional
        Force the kernel choice (default: by size).

    Returns
    -------
    float
        ``r · r`` of the updated residual.
    """
    x = _vector(x, None, "x", writable=True)
    n = x.size
    r = _vector(r, n, "r", writable=True)
    p = _vector(p, n, "p")
    Ap = _vector(Ap, n, "Ap")
    _distinct(x, r, p, Ap)
    _distinct(r, p, Ap)
    alpha = float(alpha)
    if use_compiled(n, compiled):
        return float(_kernel("update_xr")(x, r, p, Ap, alpha))
    x += alpha * p
    r -= alpha * Ap
    return _einsum_dot(r, r)


def update_xr_jacobi(
    x: np.ndarray,
    r: np.ndarray,
    z: np.ndarray,
    p: np.ndarray,
    Ap: np.ndarray,
    inv_diag: np.ndarray,
    alpha: float,
    *,
    compiled: bool | None = None,
) -> tuple[float, float]:
    """Jacobi-preconditioned CG's update in one pass: :func:`update_xr` and ``z = r * inv_diag``.

    Parameters
    ----------
    x, r, z : ndarray
        Iterate, residual and preconditioned residual, written in place.
    p, Ap, inv_diag : ndarray
        Search direction, ``A p`` and the inverse of the diagonal (read only).
    alpha : float
        Step length.
    compiled : bool or None, optional
        Force the kernel choice (default: by size).

    Returns
    -------
    tuple of float
        ``(r · r, r · z)`` of the updated residual.
    """
    x = _vector(x, None, "x", writable=True)
    n = x.size
    r = _vector(r, n, "r", writable=True)
    z = _vector(z, n, "z", writable=True)
    p = _vector(p, n, "p")
    Ap = _vector(Ap, n, "Ap")
    inv_diag = _vector(inv_diag, n, "inv_diag")
    _distinct(x, r, z, p, Ap, inv_diag)
    _distinct(r, z, p, Ap, inv_diag)
    _distinct(z, p, Ap, inv_diag)
    alpha = float(alpha)
    if use_compiled(n, compiled):
        out = np.empty(2)
        _kernel("update_xr_jacobi")(x, r, z, p, Ap, inv_diag, alpha, out)
        return float(out[0]), float(out[1])
    x += alpha * p
    r -= alpha * Ap
    np.multiply(r, inv_diag, out=z)
    return _einsum_dot(r, r), _einsum_dot(r, z)


def new_direction(
    p: np.ndarray, z: np.ndarray, beta: float, *, compiled: bool | None = None
) -> None:
    """CG's new search direction in place: ``p = z + beta p`` (``z`` float64 or float32)."""
    p = _vector(p, None, "p", writable=True)
    single = _single(z)
    z = z.reshape(-1) if single else _vector(z, p.size, "z")
    if z.size != p.size:
        msg = f"z has {z.size} entries, expected {p.size}"
        raise ValueError(msg)
    _distinct(p, z)
    beta = float(beta)
    if use_compiled(p.size, compiled):
        _kernel("new_direction_single" if single else "new_direction")(p, z, beta)
    else:
        p *= beta
        p += z


def scale(
    x: np.ndarray, d: np.ndarray, out: np.ndarray, *, compiled: bool | None = None
) -> np.ndarray:
    """Return ``out = d * x`` (a symmetric scaling ``y = D x``, or a Jacobi step)."""
    out_flat = _vector(out, None, "out", writable=True)
    x = _vector(x, out_flat.size, "x")
    d = _vector(d, out_flat.size, "d")
    _distinct(out_flat, d)  # out may be x itself (elementwise), never d
    if use_compiled(out_flat.size, compiled):
        _kernel("multiply")(x, d, out_flat)
    else:
        np.multiply(x, d, out=out_flat)
    return out


def unscale(
    y: np.ndarray, d: np.ndarray, out: np.ndarray, *, compiled: bool | None = None
) -> np.ndarray:
    """Return ``out = y / d`` (back from the symmetrised unknowns, ``u = y / D``)."""
    out_flat = _vector(out, None, "out", writable=True)
    y = _vector(y, out_flat.size, "y")
    d = _vector(d, out_flat.size, "d")
    _distinct(out_flat, d)
    if use_compiled(out_flat.size, compiled):
        _kernel("divide")(y, d, out_flat)
    else:
        np.divide(y, d, out=out_flat)
    return out
