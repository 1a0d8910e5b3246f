"""The numba-compiled loops behind :mod:`~kronpde.operators.kernels` (imported when needed).

Importing this module imports numba; each kernel (one explicit signature) is compiled or
loaded from numba's cache on its first :func:`get`. It sets ``OMP_WAIT_POLICY=PASSIVE``
before numba starts unless the environment sets it. The conventions (bit-for-bit
elementwise results, deterministic reductions, threads): ``docs/kernels.md``.
"""

from __future__ import annotations

import os
import time

# before numba (and OpenMP through it) starts: idle threads sleep instead of spinning
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numba  # noqa: E402
import numpy as np  # noqa: E402
from numba import prange, types  # noqa: E402

#: Entries per block of the vector kernels' reductions (64 KiB of float64 per array).
BLOCK = 8192

_f8 = types.float64
_b1 = types.boolean
_v = types.Array(_f8, 1, "C")  # written
_vr = types.Array(_f8, 1, "C", readonly=True)  # only read
_vs = types.Array(types.float32, 1, "C", readonly=True)  # a single-precision z, only read
_g = types.Array(_f8, 3, "C")
_gr = types.Array(_f8, 3, "C", readonly=True)

_OPTIONS = {"parallel": True, "cache": True, "fastmath": False}


@numba.njit(cache=True, fastmath=False)
def _dot_range(a, b, lo, hi):  # pragma: no cover - compiled
    """``sum a[k] b[k]`` for ``lo <= k < hi`` with four interleaved partial sums."""
    s0 = 0.0
    s1 = 0.0
    s2 = 0.0
    s3 = 0.0
    k = lo
    while k + 4 <= hi:
        s0 += a[k] * b[k]
        s1 += a[k + 1] * b[k + 1]
        s2 += a[k + 2] * b[k + 2]
        s3 += a[k + 3] * b[k + 3]
        k += 4
    while k < hi:
        s0 += a[k] * b[k]
        k += 1
    return (s0 + s1) + (s2 + s3)


@numba.njit(cache=True, fastmath=False)
def _sum(part):  # pragma: no cover - compiled
    total = 0.0
    for q in range(part.size):
        total += part[q]
    return total


@numba.njit(cache=True, fastmath=False)
def _sum_terms(res, aa, b, w, rr, wrr, waa, wbb):  # pragma: no cover - compiled
    """Add one row's ``r²``, ``w r²``, ``w (|A||x|)²`` and ``w b²`` to a line's sums."""
    return rr + res * res, wrr + w * (res * res), waa + w * (aa * aa), wbb + w * (b * b)


@numba.njit(cache=True, fastmath=False)
def _keep_sums(parts, line, rr, wrr, waa, wbb):  # pragma: no cover - compiled
    """Keep one line's four certificate sums (a residual kernel's partial sums)."""
    parts[0, line] = rr
    parts[1, line] = wrr
    parts[2, line] = waa
    parts[3, line] = wbb


@numba.njit(cache=True, fastmath=False)
def _add_sums(parts, sums):  # pragma: no cover - compiled
    """``sums[q] = Σ parts[q]``, each in line order (deterministic)."""
    for q in range(4):
        sums[q] = _sum(parts[q])


# -- stencils ----------------------------------------------------------------------------
def _constant_apply(
    x, y, d0, l0, u0, d1, l1, u1, d2, l2, u2, per0, per1, per2, shift, with_dot
):  # pragma: no cover - compiled
    """``y = A x`` for the Kronecker sum of three tridiagonal-with-wrap axis operators.

    Row ``(i, j, k)`` is ``(shift + d0[i] + d1[j] + d2[k]) x[i,j,k]`` plus, per
    axis, ``lower[r] x[r-1] + upper[r] x[r+1]`` with the indices wrapping on a
    periodic axis.  Off a periodic axis ``lower[0] = upper[n-1] = 0`` and the
    missing neighbour is replaced by the entry itself (times that zero), which
    keeps the inner loop free of branches (an infinite ``x`` there gives NaN
    where the CSR product gives infinity; CG stops on either).  Returns
    ``x · y`` when ``with_dot`` (else 0).
    """
    n0, n1, n2 = x.shape
    lines = n0 * n1
    part = np.zeros(lines)
    for line in prange(lines):
        i = line // n1
        j = line - i * n1
        im = i - 1 if i > 0 else (n0 - 1 if per0 else i)
        ip = i + 1 if i < n0 - 1 else (0 if per0 else i)
        jm = j - 1 if j > 0 else (n1 - 1 if per1 else j)
        jp = j + 1 if j < n1 - 1 else (0 if per1 else j)
        a0l = l0[i]
        a0u = u0[i]
        a1l = l1[j]
        a1u = u1[j]
        dd = (shift + d0[i]) + d1[j]
        xc = x[i, j]
        x0m = x[im, j]
        x0p = x[ip, j]
        x1m = x[i, jm]
        x1p = x[i, jp]
        yc = y[i, j]
        for k in range(1, n2 - 1):
            yc[k] = (
                (dd + d2[k]) * xc[k]
                + l2[k] * xc[k - 1]
                + u2[k] * xc[k + 1]
                + a1l * x1m[k]
                + a1u * x1p[k]
                + a0l * x0m[k]
                + a0u * x0p[k]
            )
        # the two ends of the line (one entry when n2 == 1)
        for end in range(1 if n2 == 1 else 2):
            k = end * (n2 - 1)
            km = k - 1 if k > 0 else (n2 - 1 if per2 else k)
            kp = k + 1 if k < n2 - 1 else (0 if per2 else k)
            yc[k] = (
                (dd + d2[k]) * xc[k]
                + l2[k] * xc[km]
                + u2[k] * xc[kp]
                + a1l * x1m[k]
                + a1u * x1p[k]
                + a0l * x0m[k]
                + a0u * x0p[k]
            )
        if with_dot:
            part[line] = _dot_range(xc, yc, 0, n2)
    return _sum(part)


def _constant_residual(
    x, b, r, d0, l0, u0, d1, l1, u1, d2, l2, u2, per0, per1, per2, shift, w0, w1, w2, sums
):  # pragma: no cover - compiled
    """``r = b - A x`` of :func:`_constant_apply`'s operator, and the certificate's sums.

    One pass: ``sums`` receives ``[Σ r², Σ w r², Σ w (|A||x|)², Σ w b²]`` with
    ``w = w0[i] w1[j] w2[k]`` (the trapezoid weights) and ``(|A||x|)`` the
    absolute row sums ``Σ_j |a_ij| |x_j|`` (:mod:`kronpde.problem.certify`).
    """
    n0, n1, n2 = x.shape
    lines = n0 * n1
    parts = np.zeros((4, lines))
    for line in prange(lines):
        i = line // n1
        j = line - i * n1
        im = i - 1 if i > 0 else (n0 - 1 if per0 else i)
        ip = i + 1 if i < n0 - 1 else (0 if per0 else i)
        jm = j - 1 if j > 0 else (n1 - 1 if per1 else j)
        jp = j + 1 if j < n1 - 1 else (0 if per1 else j)
        a0l = l0[i]
        a0u = u0[i]
        a1l = l1[j]
        a1u = u1[j]
        dd = (shift + d0[i]) + d1[j]
        wl = w0[i] * w1[j]
        xc = x[i, j]
        x0m = x[im, j]
        x0p = x[ip, j]
        x1m = x[i, jm]
        x1p = x[i, jp]
        bc = b[i, j]
        rc = r[i, j]
        rr = 0.0
        wrr = 0.0
        waa = 0.0
        wbb = 0.0
        for k in range(n2):
            km = k - 1 if k > 0 else (n2 - 1 if per2 else k)
            kp = k + 1 if k < n2 - 1 else (0 if per2 else k)
            diag = dd + d2[k]
            ax = (
                diag * xc[k]
                + l2[k] * xc[km]
                + u2[k] * xc[kp]
                + a1l * x1m[k]
                + a1u * x1p[k]
                + a0l * x0m[k]
                + a0u * x0p[k]
            )
            aa = (
                abs(diag) * abs(xc[k])
                + abs(l2[k]) * abs(xc[km])
                + abs(u2[k]) * abs(xc[kp])
                + abs(a1l) * abs(x1m[k])
                + abs(a1u) * abs(x1p[k])
                + abs(a0l) * abs(x0m[k])
                + abs(a0u) * abs(x0p[k])
            )
            res = bc[k] - ax
            rc[k] = res
            rr, wrr, waa, wbb = _sum_terms(res, aa, bc[k], wl * w2[k], rr, wrr, waa, wbb)
        _keep_sums(parts, line, rr, wrr, waa, wbb)
    _add_sums(parts, sums)


@numba.njit(cache=True, fastmath=False)
def _neighbour_lines(x, e0, e1, w0, w1, has0, has1, zero, i, j):  # pragma: no cover - compiled
    """Return the couplings and neighbour lines of line ``(i, j)`` along axes 0 and 1.

    ``(c0m, s0m, c0p, s0p, c1m, s1m, c1p, s1p)``: for each side of each axis the
    coupling line and the neighbouring line of ``x`` (wrapped on a periodic axis);
    a missing neighbour is the line ``zero`` times the line itself.
    """
    n0, n1 = x.shape[0], x.shape[1]
    xc = x[i, j]
    if j >= 1:
        c1m = e1[i, j - 1]
        s1m = x[i, j - 1]
    elif has1:
        c1m = w1[i, 0]
        s1m = x[i, n1 - 1]
    else:
        c1m = zero
        s1m = xc
    if j <= n1 - 2:
        c1p = e1[i, j]
        s1p = x[i, j + 1]
    elif has1:
        c1p = w1[i, 0]
        s1p = x[i, 0]
    else:
        c1p = zero
        s1p = xc
    if i >= 1:
        c0m = e0[i - 1, j]
        s0m = x[i - 1, j]
    elif has0:
        c0m = w0[0, j]
        s0m = x[n0 - 1, j]
    else:
        c0m = zero
        s0m = xc
    if i <= n0 - 2:
        c0p = e0[i, j]
        s0p = x[i + 1, j]
    elif has0:
        c0p = w0[0, j]
        s0p = x[0, j]
    else:
        c0p = zero
        s0p = xc
    return c0m, s0m, c0p, s0p, c1m, s1m, c1p, s1p


def _variable_apply(
    x, y, diag, e0, e1, e2, w0, w1, w2, has0, has1, has2, zero, delta, with_dot
):  # pragma: no cover - compiled
    """``y = Â x`` for the flux-form operator: diagonal plus per-axis edge couplings.

    ``e_a`` holds the coupling between ``r`` and ``r + 1`` along axis ``a``
    (``n_a - 1`` entries along it); ``w_a`` (one entry along axis ``a``,
    used when ``has_a``) the wrap coupling between ``n_a - 1`` and ``0``.  The
    diagonal is ``diag + delta``.  The four neighbour lines of axes 0 and 1
    are chosen once per line (a missing one is the line ``zero`` times the
    line itself), so the inner loop is one branch-free expression.  Returns
    ``x · y`` when ``with_dot`` (else 0).
    """
    n0, n1, n2 = x.shape
    lines = n0 * n1
    part = np.zeros(lines)
    for line in prange(lines):
        i = line // n1
        j = line - i * n1
        xc = x[i, j]
        yc = y[i, j]
        dg = diag[i, j]
        c0m, s0m, c0p, s0p, c1m, s1m, c1p, s1p = _neighbour_lines(
            x, e0, e1, w0, w1, has0, has1, zero, i, j
        )
        ec = e2[i, j]
        for k in range(1, n2 - 1):
            yc[k] = (
                (dg[k] + delta) * xc[k]
                + ec[k - 1] * xc[k - 1]
                + ec[k] * xc[k + 1]
                + c1m[k] * s1m[k]
                + c1p[k] * s1p[k]
                + c0m[k] * s0m[k]
                + c0p[k] * s0p[k]
            )
        for end in range(1 if n2 == 1 else 2):
            k = end * (n2 - 1)
            v = (dg[k] + delta) * xc[k]
            if k >= 1:
                v += ec[k - 1] * xc[k - 1]
            if k <= n2 - 2:
                v += ec[k] * xc[k + 1]
            if has2:  # n2 >= 3 here, so k is one end only
                if k == 0:
                    v += w2[i, j, 0] * xc[n2 - 1]
                else:
                    v += w2[i, j, 0] * xc[0]
            yc[k] = v + c1m[k] * s1m[k] + c1p[k] * s1p[k] + c0m[k] * s0m[k] + c0p[k] * s0p[k]
        if with_dot:
            part[line] = _dot_range(xc, yc, 0, n2)
    return _sum(part)


@numba.njit(cache=True, fastmath=False)
def _term(c, u, ax, aa):  # pragma: no cover - compiled
    """Add a coupling ``c`` times ``u`` to a row's ``ax`` and ``|c| |u|`` to its ``aa``."""
    return ax + c * u, aa + abs(c) * abs(u)


def _variable_residual(
    x, b, r, diag, e0, e1, e2, w0, w1, w2, has0, has1, has2, zero, delta, s, v0, v1, v2, sums
):  # pragma: no cover - compiled
    """``r = b - A x`` with ``A = S^{-1} Â S`` (``Â`` of :func:`_variable_apply`), and the sums.

    ``S`` is the diagonal ``s`` (``W^{1/2}``, or ones for ``Â`` itself); row
    ``i`` of ``A x`` is ``(Σ_j Â_ij (s_j x_j)) / s_i``.  One pass:
    ``sums`` receives ``[Σ r², Σ w r², Σ w (|A||x|)², Σ w b²]`` with
    ``w = v0[i] v1[j] v2[k]`` and ``|A||x|`` the absolute row sums
    ``(Σ_j |Â_ij| |s_j x_j|) / s_i`` (:mod:`kronpde.problem.certify`).
    """
    n0, n1, n2 = x.shape
    lines = n0 * n1
    parts = np.zeros((4, lines))
    for line in prange(lines):
        i = line // n1
        j = line - i * n1
        c0m, x0m, c0p, x0p, c1m, x1m, c1p, x1p = _neighbour_lines(
            x, e0, e1, w0, w1, has0, has1, zero, i, j
        )
        _, t0m, _, t0p, _, t1m, _, t1p = _neighbour_lines(s, e0, e1, w0, w1, has0, has1, zero, i, j)
        xc = x[i, j]
        sc = s[i, j]
        ec = e2[i, j]
        dg = diag[i, j]
        bc = b[i, j]
        rc = r[i, j]
        wrap = w2[i, j, 0] if has2 else 0.0
        wl = v0[i] * v1[j]
        rr = 0.0
        wrr = 0.0
        waa = 0.0
        wbb = 0.0
        for k in range(n2):
            ax, aa = _term(dg[k] + delta, sc[k] * xc[k], 0.0, 0.0)
            if k >= 1:
                ax, aa = _term(ec[k - 1], sc[k - 1] * xc[k - 1], ax, aa)
            elif has2:  # n2 >= 3 here
                ax, aa = _term(wrap, sc[n2 - 1] * xc[n2 - 1], ax, aa)
            if k <= n2 - 2:
                ax, aa = _term(ec[k], sc[k + 1] * xc[k + 1], ax, aa)
            elif has2:
                ax, aa = _term(wrap, sc[0] * xc[0], ax, aa)
            ax, aa = _term(c1m[k], t1m[k] * x1m[k], ax, aa)
            ax, aa = _term(c1p[k], t1p[k] * x1p[k], ax, aa)
            ax, aa = _term(c0m[k], t0m[k] * x0m[k], ax, aa)
            ax, aa = _term(c0p[k], t0p[k] * x0p[k], ax, aa)
            res = bc[k] - ax / sc[k]
            rc[k] = res
            rr, wrr, waa, wbb = _sum_terms(res, aa / sc[k], bc[k], wl * v2[k], rr, wrr, waa, wbb)
        _keep_sums(parts, line, rr, wrr, waa, wbb)
    _add_sums(parts, sums)


def _variable_row_norm(
    diag, e0, e1, e2, w0, w1, w2, has0, has1, has2, zero, delta
):  # pragma: no cover - compiled
    """``max_i Σ_j |Â_ij|``: the largest absolute row sum of :func:`_variable_apply`'s ``Â``."""
    n0, n1, n2 = diag.shape
    lines = n0 * n1
    part = np.zeros(lines)
    for line in prange(lines):
        i = line // n1
        j = line - i * n1
        c0m, _, c0p, _, c1m, _, c1p, _ = _neighbour_lines(
            diag, e0, e1, w0, w1, has0, has1, zero, i, j
        )
        ec = e2[i, j]
        dg = diag[i, j]
        wrap = abs(w2[i, j, 0]) if has2 else 0.0
        top = 0.0
        for k in range(n2):
            a = abs(dg[k] + delta)
            if k >= 1:
                a += abs(ec[k - 1])
            elif has2:
                a += wrap
            if k <= n2 - 2:
                a += abs(ec[k])
            elif has2:
                a += wrap
            a += abs(c1m[k]) + abs(c1p[k]) + abs(c0m[k]) + abs(c0p[k])
            top = max(top, a)
        part[line] = top
    return np.max(part) if lines > 0 else 0.0


# -- vector kernels ----------------------------------------------------------------------
def _update_xr(x, r, p, ap, alpha):  # pragma: no cover - compiled
    """``x += alpha p``; ``r -= alpha ap``; return ``r · r``."""
    n = x.size
    blocks = (n + BLOCK - 1) // BLOCK
    part = np.zeros(blocks)
    for b in prange(blocks):
        lo = b * BLOCK
        hi = min(lo + BLOCK, n)
        for k in range(lo, hi):
            x[k] = x[k] + alpha * p[k]
            r[k] = r[k] - alpha * ap[k]
        part[b] = _dot_range(r, r, lo, hi)
    return _sum(part)


def _update_xr_jacobi(x, r, z, p, ap, inv_diag, alpha, out):  # pragma: no cover - compiled
    """``x += alpha p``; ``r -= alpha ap``; ``z = r inv_diag``; ``out = (r · r, r · z)``."""
    n = x.size
    blocks = (n + BLOCK - 1) // BLOCK
    part_rr = np.zeros(blocks)
    part_rz = np.zeros(blocks)
    for b in prange(blocks):
        lo = b * BLOCK
        hi = min(lo + BLOCK, n)
        for k in range(lo, hi):
            x[k] = x[k] + alpha * p[k]
            r[k] = r[k] - alpha * ap[k]
            z[k] = r[k] * inv_diag[k]
        part_rr[b] = _dot_range(r, r, lo, hi)
        part_rz[b] = _dot_range(r, z, lo, hi)
    out[0] = _sum(part_rr)
    out[1] = _sum(part_rz)


def _new_direction(p, z, beta):  # pragma: no cover - compiled
    """``p = z + beta p``."""
    for k in prange(p.size):
        p[k] = z[k] + beta * p[k]


def _dot(a, b):  # pragma: no cover - compiled
    n = a.size
    blocks = (n + BLOCK - 1) // BLOCK
    part = np.zeros(blocks)
    for q in prange(blocks):
        lo = q * BLOCK
        part[q] = _dot_range(a, b, lo, min(lo + BLOCK, n))
    return _sum(part)


def _axpy(alpha, x, y):  # pragma: no cover - compiled
    """``y += alpha x``."""
    for k in prange(y.size):
        y[k] = y[k] + alpha * x[k]


def _multiply(x, d, out):  # pragma: no cover - compiled
    """``out = d x`` (symmetric scaling, Jacobi step)."""
    for k in prange(x.size):
        out[k] = x[k] * d[k]


def _divide(x, d, out):  # pragma: no cover - compiled
    """``out = x / d`` (undo a symmetric scaling)."""
    for k in prange(x.size):
        out[k] = x[k] / d[k]


_SPECS = {
    "constant_apply": (
        _constant_apply,
        _f8(_gr, _g, *([_vr] * 9), _b1, _b1, _b1, _f8, _b1),
    ),
    "constant_residual": (
        _constant_residual,
        types.void(_gr, _gr, _g, *([_vr] * 9), _b1, _b1, _b1, _f8, _vr, _vr, _vr, _v),
    ),
    "variable_apply": (
        _variable_apply,
        _f8(_gr, _g, _gr, _gr, _gr, _gr, _gr, _gr, _gr, _b1, _b1, _b1, _vr, _f8, _b1),
    ),
    "variable_residual": (
        _variable_residual,
        types.void(*([_gr] * 2), _g, *([_gr] * 7), _b1, _b1, _b1, _vr, _f8, _gr, _vr, _vr, _vr, _v),
    ),
    "variable_row_norm": (
        _variable_row_norm,
        _f8(*([_gr] * 7), _b1, _b1, _b1, _vr, _f8),
    ),
    "update_xr": (_update_xr, _f8(_v, _v, _vr, _vr, _f8)),
    "update_xr_jacobi": (_update_xr_jacobi, types.void(_v, _v, _v, _vr, _vr, _vr, _f8, _v)),
    "new_direction": (_new_direction, types.void(_v, _vr, _f8)),
    "dot": (_dot, _f8(_vr, _vr)),
    # a single-precision preconditioner's z (the products and sums in float64)
    "new_direction_single": (_new_direction, types.void(_v, _vs, _f8)),
    "dot_single": (_dot, _f8(_vr, _vs)),
    "axpy": (_axpy, types.void(_f8, _vr, _v)),
    "multiply": (_multiply, types.void(_vr, _vr, _v)),
    "divide": (_divide, types.void(_vr, _vr, _v)),
}

#: The kernels, by name.
NAMES = tuple(_SPECS)

_compiled: dict = {}

#: Seconds the first :func:`get` of each kernel took in this process (compile or cache load).
load_seconds: dict[str, float] = {}


def loaded(name: str):
    """Return kernel ``name`` if this process has it already, else None."""
    return _compiled.get(name)


def in_cache(name: str) -> bool:
    """Return whether numba's on-disk cache holds kernel ``name`` for this source.

    Reads the cache's index only (numba's own key: signature, CPU and the
    function's bytecode).  Should numba's cache internals change, answers True
    (the kernel is then compiled or loaded on first use, as before).
    """
    if name in _compiled:
        return True
    func, signature = _SPECS[name]
    try:
        dispatcher = numba.njit(**_OPTIONS)(func)  # lazy: compiles nothing
        cache = dispatcher._cache
        key = cache._index_key(signature, dispatcher.targetctx.codegen())
        return key in cache._cache_file._load_index()
    except Exception:  # noqa: BLE001 - numba internals: assume cached
        return True


def get(name: str):
    """Return the compiled kernel ``name`` (compiled, or loaded from cache, on first use)."""
    kernel = _compiled.get(name)
    if kernel is None:
        func, signature = _SPECS[name]
        t0 = time.perf_counter()
        kernel = numba.njit(signature, **_OPTIONS)(func)
        load_seconds[name] = time.perf_counter() - t0
        _compiled[name] = kernel
    return kernel
