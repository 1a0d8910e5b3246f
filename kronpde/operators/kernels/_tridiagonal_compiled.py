"""The numba loops of :mod:`kronpde.operators.kernels.tridiagonal` (imported when needed).

Importing this module imports numba.  Every kernel solves, in place, one
tridiagonal system per mode of ``x`` of shape ``(P, n, Q)`` (the tridiagonal
axis in the middle), mode ``(p, q)``'s diagonal being
``diag[z] + Σ_k (lp[k, p] + lq[k, q]) g[k, z]`` (row 0 replaced by ``fd[p, q]``,
``fu[p, q]`` where ``first``).  The mode ``(sp, sq)`` is skipped (the singular
constant mode, solved apart; ``sp = -1`` for none).  The derivation:
``docs/tridiagonal-axis.md``.
"""

from __future__ import annotations

import os
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numba  # noqa: E402
import numpy as np  # noqa: E402
from numba import prange  # noqa: E402

#: Modes per block: the Thomas factors of a block, ``n × BLOCK`` floats, are all that is stored.
BLOCK = 128

_OPTIONS = {"parallel": True, "cache": True, "fastmath": False, "error_model": "numpy"}


@numba.njit(cache=True, fastmath=False, error_model="numpy")
def _mode_diag(lsum, g, diag, z, j):  # pragma: no cover - compiled
    dd = diag[z]
    for k in range(g.shape[0]):
        dd += lsum[k, j] * g[k, z]
    return dd


@numba.njit(cache=True, fastmath=False, error_model="numpy")
def _block_sums(lp, lq, p, q0, w, lsum):  # pragma: no cover - compiled
    for k in range(lp.shape[0]):
        for j in range(w):
            lsum[k, j] = lp[k, p] + lq[k, q0 + j]


@numba.njit(**_OPTIONS)
def thomas(x, lower, diag, upper, lp, lq, g, first, fd, fu, sp, sq):  # pragma: no cover
    """Thomas' algorithm per mode, blocks of :data:`BLOCK` modes side by side (no pivoting).

    The factors ``c'`` of a block (``n × BLOCK``) are formed on the fly; the
    sweeps run along ``z`` with the block's modes in the inner, contiguous loop.
    """
    npl, n, nq = x.shape
    nk = g.shape[0]
    nb = (nq + BLOCK - 1) // BLOCK
    for job in prange(npl * nb):
        p = job // nb
        q0 = (job - p * nb) * BLOCK
        w = min(BLOCK, nq - q0)
        cp = np.empty((n, w))
        lsum = np.empty((nk, w))
        _block_sums(lp, lq, p, q0, w, lsum)
        xp = x[p]
        row = xp[0, q0 : q0 + w]
        c0 = cp[0]
        for j in range(w):
            if first:
                dd = fd[p, q0 + j]
                u0 = fu[p, q0 + j]
            else:
                dd = _mode_diag(lsum, g, diag, 0, j)
                u0 = upper[0]
            inv = 1.0 / dd
            c0[j] = u0 * inv
            row[j] *= inv
        for z in range(1, n):
            lz = lower[z]
            uz = upper[z]
            dz = diag[z]
            row = xp[z, q0 : q0 + w]
            prev = xp[z - 1, q0 : q0 + w]
            cz = cp[z]
            cprev = cp[z - 1]
            if nk == 1:
                gz = g[0, z]
                l0 = lsum[0]
                for j in range(w):
                    inv = 1.0 / (dz + l0[j] * gz - lz * cprev[j])
                    cz[j] = uz * inv
                    row[j] = (row[j] - lz * prev[j]) * inv
            else:
                for j in range(w):
                    inv = 1.0 / (_mode_diag(lsum, g, diag, z, j) - lz * cprev[j])
                    cz[j] = uz * inv
                    row[j] = (row[j] - lz * prev[j]) * inv
        for z in range(n - 2, -1, -1):
            row = xp[z, q0 : q0 + w]
            nxt = xp[z + 1, q0 : q0 + w]
            cz = cp[z]
            for j in range(w):
                row[j] -= cz[j] * nxt[j]
        if p == sp and sq >= q0 and sq < q0 + w:
            for z in range(n):
                xp[z, sq] = 0.0


#: Lines per block of :func:`thomas_lines`: a block (``LINES × n`` floats) is swept in
#: a buffer that stays in cache, the lines side by side.
LINES = 64


@numba.njit(**_OPTIONS)
def thomas_lines(x, lower, diag, upper, lp, lq, g, first, fd, fu, sp, sq):  # pragma: no cover
    """:func:`thomas` where the tridiagonal axis is the last (``Q = 1``): blocks of lines.

    A block of :data:`LINES` consecutive lines is one contiguous piece of ``x``.
    The forward sweep reads it into a buffer ``(n, LINES)`` (the lines side by
    side, independent recurrences in the inner loop), the backward sweep writes
    the solution back from it.
    """
    npl, n, _ = x.shape
    nk = g.shape[0]
    nb = (npl + LINES - 1) // LINES
    for job in prange(nb):
        p0 = job * LINES
        w = min(LINES, npl - p0)
        buf = np.empty((n, w))
        cp = np.empty((n, w))
        lam = np.empty((nk, w))
        for k in range(nk):
            for j in range(w):
                lam[k, j] = lp[k, p0 + j] + lq[k, 0]
        row = buf[0]
        c0 = cp[0]
        for j in range(w):
            if first:
                dd = fd[p0 + j, 0]
                u0 = fu[p0 + j, 0]
            else:
                dd = _mode_diag(lam, g, diag, 0, j)
                u0 = upper[0]
            inv = 1.0 / dd
            c0[j] = u0 * inv
            row[j] = x[p0 + j, 0, 0] * inv
        for z in range(1, n):
            lz = lower[z]
            uz = upper[z]
            dz = diag[z]
            row = buf[z]
            prev = buf[z - 1]
            cz = cp[z]
            cprev = cp[z - 1]
            if nk == 1:
                gz = g[0, z]
                l0 = lam[0]
                for j in range(w):
                    inv = 1.0 / (dz + l0[j] * gz - lz * cprev[j])
                    cz[j] = uz * inv
                    row[j] = (x[p0 + j, z, 0] - lz * prev[j]) * inv
            else:
                for j in range(w):
                    inv = 1.0 / (_mode_diag(lam, g, diag, z, j) - lz * cprev[j])
                    cz[j] = uz * inv
                    row[j] = (x[p0 + j, z, 0] - lz * prev[j]) * inv
        last = buf[n - 1]
        for j in range(w):
            x[p0 + j, n - 1, 0] = last[j]
        for z in range(n - 2, -1, -1):
            row = buf[z]
            nxt = buf[z + 1]
            cz = cp[z]
            for j in range(w):
                v = row[j] - cz[j] * nxt[j]
                row[j] = v
                x[p0 + j, z, 0] = v
        if sp >= p0 and sp < p0 + w:
            for z in range(n):
                x[sp, z, 0] = 0.0


@numba.njit(**_OPTIONS)
def cyclic_thomas(x, lower, diag, upper, lp, lq, g, first, fd, fu, sp, sq):  # pragma: no cover
    """Solve the cyclic systems: Thomas on ``B = A - u vᵀ``, two right-hand sides, Sherman-Morrison.

    ``u = (γ, 0, …, 0, α)``, ``v = (1, 0, …, 0, β/γ)`` with ``γ = -d_0``,
    ``α = upper[n-1]`` (row ``n-1``'s wrap), ``β = lower[0]`` (row 0's).
    """
    npl, n, nq = x.shape
    nb = (nq + BLOCK - 1) // BLOCK
    alpha = upper[n - 1]
    beta = lower[0]
    for job in prange(npl * nb):
        p = job // nb
        q0 = (job - p * nb) * BLOCK
        w = min(BLOCK, nq - q0)
        cp = np.empty((n, w))
        zz = np.empty((n, w))
        gam = np.empty(w)
        lsum = np.empty((g.shape[0], w))
        _block_sums(lp, lq, p, q0, w, lsum)
        xp = x[p]
        for z in range(n):
            lz = lower[z] if z > 0 else 0.0
            uz = upper[z] if z < n - 1 else 0.0
            row = xp[z]
            for j in range(w):
                q = q0 + j
                if z == 0 and first:
                    dd = fd[p, q]
                    u0 = fu[p, q]
                else:
                    dd = _mode_diag(lsum, g, diag, z, j)
                    u0 = uz
                r = row[q]
                s = 0.0
                if z == 0:
                    gam[j] = -dd
                    dd -= gam[j]
                    s = gam[j]
                if z == n - 1:
                    dd -= alpha * beta / gam[j]
                    s = alpha
                if z > 0:
                    dd -= lz * cp[z - 1, j]
                    r -= lz * xp[z - 1, q]
                    s -= lz * zz[z - 1, j]
                inv = 1.0 / dd
                cp[z, j] = u0 * inv
                row[q] = r * inv
                zz[z, j] = s * inv
        for z in range(n - 2, -1, -1):
            row = xp[z]
            nxt = xp[z + 1]
            for j in range(w):
                row[q0 + j] -= cp[z, j] * nxt[q0 + j]
                zz[z, j] -= cp[z, j] * zz[z + 1, j]
        for j in range(w):
            q = q0 + j
            fac = (xp[0, q] + beta / gam[j] * xp[n - 1, q]) / (
                1.0 + zz[0, j] + beta / gam[j] * zz[n - 1, j]
            )
            for z in range(n):
                xp[z, q] -= fac * zz[z, j]
        if p == sp and sq >= q0 and sq < q0 + w:
            for z in range(n):
                xp[z, sq] = 0.0


@numba.njit(cache=True, fastmath=False, error_model="numpy")
def _gtsv(d, du, dl, b, nrhs):  # pragma: no cover - compiled
    """LAPACK ``dgtsv``: Gaussian elimination with partial pivoting, in place (``b``: (n, 2)).

    ``dl[i] = A[i+1, i]``, ``d[i] = A[i, i]``, ``du[i] = A[i, i+1]``; ``dl`` is
    overwritten with the second superdiagonal of ``U``.
    """
    n = d.size
    for i in range(n - 1):
        if abs(d[i]) >= abs(dl[i]):
            fact = dl[i] / d[i]
            d[i + 1] -= fact * du[i]
            for c in range(nrhs):
                b[i + 1, c] -= fact * b[i, c]
            dl[i] = 0.0
        else:
            fact = d[i] / dl[i]
            d[i] = dl[i]
            temp = d[i + 1]
            d[i + 1] = du[i] - fact * temp
            if i < n - 2:
                dl[i] = du[i + 1]
                du[i + 1] = -fact * dl[i]
            else:
                dl[i] = 0.0
            du[i] = temp
            for c in range(nrhs):
                temp = b[i, c]
                b[i, c] = b[i + 1, c]
                b[i + 1, c] = temp - fact * b[i + 1, c]
    for c in range(nrhs):
        b[n - 1, c] /= d[n - 1]
        if n > 1:
            b[n - 2, c] = (b[n - 2, c] - du[n - 2] * b[n - 1, c]) / d[n - 2]
        for i in range(n - 3, -1, -1):
            b[i, c] = (b[i, c] - du[i] * b[i + 1, c] - dl[i] * b[i + 2, c]) / d[i]


@numba.njit(**_OPTIONS)
def pivoting(x, lower, diag, upper, lp, lq, g, first, fd, fu, sp, sq, cyclic):  # pragma: no cover
    """Per mode a pivoting solve (:func:`_gtsv`); ``cyclic``: Sherman-Morrison around it."""
    npl, n, nq = x.shape
    alpha = upper[n - 1]
    beta = lower[0]
    for job in prange(npl):
        p = job
        d = np.empty(n)
        du = np.empty(n)
        dl = np.empty(n)
        b = np.empty((n, 2))
        lsum = np.empty((g.shape[0], 1))
        for q in range(nq):
            if p == sp and q == sq:
                for z in range(n):
                    x[p, z, q] = 0.0
                continue
            _block_sums(lp, lq, p, q, 1, lsum)
            for z in range(n):
                d[z] = _mode_diag(lsum, g, diag, z, 0)
                du[z] = upper[z] if z < n - 1 else 0.0
                dl[z] = lower[z + 1] if z < n - 1 else 0.0
                b[z, 0] = x[p, z, q]
                b[z, 1] = 0.0
            if first:
                d[0] = fd[p, q]
                du[0] = fu[p, q] if n > 1 else 0.0
            gam = 0.0
            if cyclic:
                gam = -d[0]
                b[0, 1] = gam
                b[n - 1, 1] = alpha
                d[0] -= gam
                d[n - 1] -= alpha * beta / gam
            _gtsv(d, du, dl, b, 2 if cyclic else 1)
            fac = 0.0
            if cyclic:
                fac = (b[0, 0] + beta / gam * b[n - 1, 0]) / (
                    1.0 + b[0, 1] + beta / gam * b[n - 1, 1]
                )
            for z in range(n):
                x[p, z, q] = b[z, 0] - fac * b[z, 1]


# -- the kernels by name, for the loading and compile-notice machinery (_dispatch) --------
#: The kernels, by name.  Compiled lazily for the argument types they are called with
#: (numba's cache key: those types, the CPU and the bytecode); :func:`signature` names them.
KERNELS = {
    "thomas": thomas,
    "thomas_lines": thomas_lines,
    "cyclic_thomas": cyclic_thomas,
    "pivoting": pivoting,
}
#: The single-precision solves' names (a float32 ``x``; the same kernels, other types).
SINGLE = {f"{name}_single": kernel for name, kernel in KERNELS.items()}
KERNELS.update(SINGLE)

#: Seconds the first :func:`get` of each kernel took in this process (compile or cache load).
load_seconds: dict[str, float] = {}


def _example(name: str) -> tuple:
    """Arguments of the types :func:`kronpde.operators.kernels.tridiagonal.solve_modes` passes."""
    line, table = np.zeros(2), np.zeros((1, 1))
    x = np.zeros((1, 2, 1), dtype=np.float32 if name in SINGLE else np.float64)
    args = (x, line, line, line, table, table, np.zeros((1, 2)))
    args = (*args, False, table, table, -1, -1)
    return (*args, False) if name.startswith("pivoting") else args


def signature(name: str, args: tuple | None = None) -> tuple:
    """Return the numba argument types of a call of kernel ``name`` (default: the usual ones)."""
    kernel = KERNELS[name]
    return tuple(kernel.typeof_pyval(a) for a in (_example(name) if args is None else args))


def loaded(name: str, args: tuple | None = None):
    """Return kernel ``name`` if this process has compiled or loaded it for ``args``' types."""
    kernel = KERNELS[name]
    return kernel if signature(name, args) in kernel.overloads else None


def in_cache(name: str, args: tuple | None = None) -> bool:
    """Return whether numba's on-disk cache holds kernel ``name`` for ``args``' types.

    Reads the cache's index only; should numba's cache internals change, answers True.
    """
    if loaded(name, args) is not None:
        return True
    kernel = KERNELS[name]
    try:
        cache = kernel._cache
        key = cache._index_key(signature(name, args), kernel.targetctx.codegen())
        return key in cache._cache_file._load_index()
    except Exception:  # noqa: BLE001 - numba internals: assume cached
        return True


def get(name: str, args: tuple | None = None):
    """Return kernel ``name`` compiled (or loaded from the cache) for ``args``' types."""
    kernel = KERNELS[name]
    types = signature(name, args)
    if types not in kernel.overloads:
        t0 = time.perf_counter()
        kernel.compile(types)
        load_seconds.setdefault(name, time.perf_counter() - t0)
    return kernel
