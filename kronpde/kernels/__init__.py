"""Compiled, fused kernels of the hot path: the operators with ``x · A x``, and CG's vector work.

Conjugate gradients spends an iteration on a matrix-vector product, two dot
products and three vector updates.  Done as separate NumPy calls that is
about nine passes over memory; the kernels here do it in three, each one
threaded loop compiled with numba:

* ``apply_dot``: ``Ap = A p`` and ``p · Ap`` in one pass, for the
  constant-coefficient Kronecker sum (:class:`ConstantStencil`: every
  boundary kind, 1-3 D, the kind being data of the one compiled loop) and the
  variable-coefficient flux-form operator ``Â`` (:class:`VariableStencil`);
* :func:`update_xr`: ``x += alpha p``, ``r -= alpha Ap`` and ``r · r``
  (:func:`update_xr_jacobi` also writes ``z = r * inv_diag`` and returns
  ``r · z``);
* :func:`new_direction`: ``p = z + beta p``;

plus :func:`dot`, :func:`axpy` and the symmetric scalings :func:`scale`
(``out = d x``) and :func:`unscale` (``out = y / d``).  :func:`cg_fused` is
the plain CG loop built from them (what one iteration costs; the package's
CG with residual replacement is :func:`kronpde.solvers.cg.cg`).

Compiled or NumPy.  Every kernel has a NumPy path, used for arrays of fewer
than :data:`MIN_COMPILED_SIZE` unknowns (:func:`use_compiled`): there the
import of numba and the loading of the compiled code would cost more than
they save.  The choice is by size (``compiled=None``, the default) or forced
with ``compiled=True``/``False``; it is never made by catching an error.
``import kronpde.kernels`` does not import numba; the first compiled call
does (see :mod:`kronpde.kernels._compiled`, which also states the numerical
conventions: elementwise results equal NumPy's bit for bit, dot products
agree to rounding).  Threads: numba's threading layer with
:func:`threads` threads (the machine's cores by default, :func:`set_threads`).
A parallel kernel waits for its slowest thread: where other processes keep
the cores busy, a second thread may wait milliseconds for a core, and with
OpenMP's default spin-waiting (numba's ``omp`` layer) the kernels then run
several times slower than on one thread; ``OMP_WAIT_POLICY=passive`` in the
environment, or ``set_threads(1)``, avoids that on a shared machine.

Arrays are float64 and C-contiguous.  Vectors may have any shape (they are
used flat); an operator's ``x`` and ``out`` have ``n`` entries (flat or the
grid's shape) and must not overlap.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.sparse.linalg import LinearOperator

from kronpde.operator import KronSumOperator
from kronpde.stencils import AxisOperator

__all__ = [
    "MIN_COMPILED_SIZE",
    "ConstantStencil",
    "FusedCGResult",
    "VariableStencil",
    "axpy",
    "cg_fused",
    "compile_kernels",
    "dot",
    "new_direction",
    "scale",
    "set_threads",
    "threading_layer",
    "threads",
    "unscale",
    "update_xr",
    "update_xr_jacobi",
    "use_compiled",
]

#: Unknowns from which the compiled kernels are used (below: NumPy).
#:
#: Measured with ``scripts/bench_kernels.py --threshold`` on this project's
#: shared 2-core machine (load average about 2.5): a process pays about 0.35 s
#: once to import numba and load the CG kernels from numba's cache, and one CG
#: solve (random right-hand side, ``rtol = 1e-8``) with the compiled loop saves
#: 0.02-0.1 s at 256² cells (65k unknowns), 0.1-0.4 s at 52³ and 363² cells
#: (about 2^17 unknowns) and 0.3-1.6 s at 64³ and 512² cells (2.5e5): from
#: 2^17 unknowns on, one solve pays the loading back, and a prepared solver
#: that solves again gains outright.  Every example case under ``cases/`` (at
#: most 4096 unknowns) stays on NumPy and never imports numba.
MIN_COMPILED_SIZE = 1 << 17


def use_compiled(size: int, compiled: bool | None = None) -> bool:
    """Return whether a kernel on ``size`` unknowns runs compiled.

    Parameters
    ----------
    size : int
        Number of unknowns (entries of the vectors).
    compiled : bool or None, optional
        ``True``/``False`` force the choice; ``None`` (default) chooses by
        size: compiled from :data:`MIN_COMPILED_SIZE` unknowns on.

    Returns
    -------
    bool
        True for the numba kernels, False for the NumPy path.
    """
    if compiled is None:
        return size >= MIN_COMPILED_SIZE
    return bool(compiled)


def _kernel(name: str):
    # the only place numba is imported, on the first compiled call
    from kronpde.kernels import _compiled

    return _compiled.get(name)


def compile_kernels(names: Sequence[str] | None = None) -> dict[str, float]:
    """Compile (or load from numba's cache) kernels now rather than on first use.

    Parameters
    ----------
    names : sequence of str, optional
        Kernel names (default: all of them).

    Returns
    -------
    dict
        Seconds each kernel's first load took in this process (0.0 for one
        already loaded before this call; compile time on a fresh
        installation, cache load time later).
    """
    from kronpde.kernels import _compiled

    names = _compiled.NAMES if names is None else tuple(names)
    unknown = [n for n in names if n not in _compiled.NAMES]
    if unknown:
        msg = f"unknown kernel(s) {unknown}; the kernels are {', '.join(_compiled.NAMES)}"
        raise ValueError(msg)
    before = set(_compiled.load_seconds)
    for name in names:
        _compiled.get(name)
    return {n: (0.0 if n in before else _compiled.load_seconds[n]) for n in names}


def threads() -> int:
    """Return the number of threads the compiled kernels use (``numba.get_num_threads()``)."""
    import numba

    return int(numba.get_num_threads())


def set_threads(count: int) -> None:
    """Set the number of threads of the compiled kernels (``numba.set_num_threads``)."""
    import numba

    numba.set_num_threads(int(count))


def threading_layer() -> str:
    """Return numba's threading layer (``"omp"``, ``"tbb"`` or ``"workqueue"``).

    The layer is chosen when the first parallel kernel runs, so this runs one.
    """
    import numba

    dot(np.zeros(1), np.zeros(1), compiled=True)
    return str(numba.threading_layer())


# -- argument checks ---------------------------------------------------------------------
def _vector(a, n: int | None, name: str, *, writable: bool = False) -> np.ndarray:
    """Return ``a`` as a flat float64 C-contiguous array, checked (outputs are never copied)."""
    if not (isinstance(a, np.ndarray) and a.dtype == np.float64 and a.flags.c_contiguous):
        if writable:
            msg = f"{name} must be a C-contiguous float64 array"
            raise ValueError(msg)
        if np.asarray(a).dtype.kind not in "fiub":
            msg = f"{name} must be a real array, got dtype {np.asarray(a).dtype}"
            raise TypeError(msg)
        a = np.ascontiguousarray(a, dtype=np.float64)
    if writable and not a.flags.writeable:
        msg = f"{name} must be writable"
        raise ValueError(msg)
    if n is not None and a.size != n:
        msg = f"{name} has {a.size} entries, expected {n}"
        raise ValueError(msg)
    return a.reshape(-1)


def _distinct(out: np.ndarray, *inputs: np.ndarray) -> None:
    for a in inputs:
        if np.may_share_memory(out, a):
            msg = "the output array must not overlap an input"
            raise ValueError(msg)


# -- operators ---------------------------------------------------------------------------
_TRIVIAL = AxisOperator(np.zeros(1), np.zeros(1), np.zeros(1), False, np.ones(1))


def _coefficients(op: AxisOperator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return tuple(
        np.ascontiguousarray(a, dtype=np.float64).copy() for a in (op.diag, op.lower, op.upper)
    )


class _Stencil(LinearOperator):
    """Shared plumbing: shapes, ``matvec_into``, ``apply``, ``apply_dot``."""

    grid_shape: tuple[int, ...]
    compiled: bool

    def _setup(self, grid_shape: tuple[int, ...], compiled: bool | None) -> None:
        self.grid_shape = tuple(int(s) for s in grid_shape)
        n = math.prod(self.grid_shape)
        super().__init__(dtype=np.float64, shape=(n, n))
        self._shape3 = (1,) * (3 - len(self.grid_shape)) + self.grid_shape
        self.compiled = use_compiled(n, compiled)

    def apply(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Compute ``out = A x`` in one pass.

        Parameters
        ----------
        x : ndarray
            ``n`` float64 entries (flat or the grid's shape).
        out : ndarray, optional
            C-contiguous float64 array of ``n`` entries, not overlapping
            ``x``; allocated (flat) when omitted.

        Returns
        -------
        ndarray
            ``out``.
        """
        n = self.shape[0]
        x = _vector(x, n, "x")
        if out is None:
            out = np.empty(n)
        flat = _vector(out, n, "out", writable=True)
        _distinct(flat, x)
        self._run(x.reshape(self._shape3), flat.reshape(self._shape3), False)
        return out

    def apply_dot(self, x: np.ndarray, out: np.ndarray) -> float:
        """Compute ``out = A x`` and return ``x · out`` from the same pass (CG's ``p · Ap``).

        Parameters
        ----------
        x : ndarray
            ``n`` float64 entries (flat or the grid's shape).
        out : ndarray
            C-contiguous float64 array of ``n`` entries, not overlapping ``x``.

        Returns
        -------
        float
            ``x · (A x)``, summed line by line (equal to NumPy's to rounding).
        """
        n = self.shape[0]
        x = _vector(x, n, "x")
        flat = _vector(out, n, "out", writable=True)
        _distinct(flat, x)
        return self._run(x.reshape(self._shape3), flat.reshape(self._shape3), True)

    def matvec_into(self, x: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Compute ``out = A x`` (the ``matvec_into`` protocol of :mod:`kronpde.solvers.cg`)."""
        return self.apply(x, out)

    def _matvec(self, x: np.ndarray) -> np.ndarray:
        return self.apply(np.ascontiguousarray(x, dtype=np.float64).reshape(-1))

    def _run(self, x3: np.ndarray, y3: np.ndarray, with_dot: bool) -> float:
        raise NotImplementedError


class ConstantStencil(_Stencil):
    """The Kronecker sum ``sum_i I ⊗ ... ⊗ T_i ⊗ ... ⊗ I + shift I``, compiled, with ``x · A x``.

    The same operator as :class:`kronpde.operator.KronSumOperator` (and
    :func:`kronpde.operator.assemble`): row ``(i, j, k)`` is
    ``(shift + sum_a diag_a[r_a]) x + sum_a (lower_a[r_a] x[r_a - 1] +
    upper_a[r_a] x[r_a + 1])``, indices wrapping on periodic axes.  Every
    boundary kind is data of the one compiled loop (the three coefficient
    arrays of each axis and its periodic flag), so Dirichlet, Neumann, Robin
    and periodic axes, in any mix and dimension 1-3, share one compiled
    specialisation.  CG uses it on the symmetrised operators
    (``[op.symmetrized() for op in ops]``), which have the same layout.

    Parameters
    ----------
    ops : sequence of AxisOperator
        One to three 1-D operators, axis 0 (slowest) first.
    shift : float, optional
        Multiple of the identity added (``c``).
    compiled : bool or None, optional
        Force the numba kernel (True) or the NumPy path (False,
        :class:`~kronpde.operator.KronSumOperator`); by default chosen by
        size (:func:`use_compiled`).

    Attributes
    ----------
    ops, shift, grid_shape, compiled
        As given (``compiled`` resolved to a bool).

    Examples
    --------
    >>> import numpy as np
    >>> from kronpde import Axis, Neumann
    >>> from kronpde.operator import assemble
    >>> from kronpde.stencils import second_difference
    >>> ops = [second_difference(Axis(4)), second_difference(Axis(3, 0, 1, Neumann(), Neumann()))]
    >>> A = ConstantStencil(ops, shift=0.5)
    >>> x = np.arange(12.0)
    >>> y = np.empty(12)
    >>> d = A.apply_dot(x, y)
    >>> bool(np.allclose(y, assemble(ops, 0.5) @ x)), bool(np.isclose(d, x @ y))
    (True, True)
    """

    def __init__(
        self, ops: Sequence[AxisOperator], shift: float = 0.0, *, compiled: bool | None = None
    ):
        ops = tuple(ops)
        if not 1 <= len(ops) <= 3:
            msg = f"ConstantStencil takes 1 to 3 axis operators, got {len(ops)}"
            raise ValueError(msg)
        self.ops = ops
        self._setup(tuple(op.n for op in ops), compiled)
        padded = (_TRIVIAL,) * (3 - len(ops)) + ops
        self._coefs = tuple(a for op in padded for a in _coefficients(op))
        self._periodic = tuple(bool(op.periodic) and op.n > 1 for op in padded)
        self._numpy: KronSumOperator | None = None
        self._transpose: ConstantStencil | None = None
        self.set_shift(shift)

    @classmethod
    def from_operator(cls, op: KronSumOperator, *, compiled: bool | None = None) -> ConstantStencil:
        """Return the stencil of a :class:`~kronpde.operator.KronSumOperator` (its ops, shift)."""
        return cls(op.ops, op.shift, compiled=compiled)

    def set_shift(self, shift: float) -> None:
        """Change ``shift`` (``c``); nothing else is recomputed on the compiled path."""
        self.shift = float(shift)
        if not self.compiled:
            self._numpy = KronSumOperator(self.ops, self.shift)
        self._transpose = None

    def _run(self, x3, y3, with_dot):
        if self.compiled:
            p0, p1, p2 = self._periodic
            kernel = _kernel("constant_apply")
            return float(kernel(x3, y3, *self._coefs, p0, p1, p2, self.shift, with_dot))
        self._numpy.matvec_into(x3.reshape(-1), y3.reshape(-1))
        return _einsum_dot(x3.reshape(-1), y3.reshape(-1)) if with_dot else 0.0

    def _rmatvec(self, x: np.ndarray) -> np.ndarray:
        if self._transpose is None:
            ops = KronSumOperator(self.ops, self.shift).transpose_operator().ops
            self._transpose = ConstantStencil(ops, self.shift, compiled=self.compiled)
        return self._transpose._matvec(x)


def _take(axis: int, index) -> tuple:
    full = [slice(None)] * 3
    full[axis] = index
    return tuple(full)


class VariableStencil(_Stencil):
    """The flux-form operator ``Â`` (diagonal plus per-axis couplings), compiled, with ``x · Â x``.

    ``(Â x)_r = (diagonal_r + delta) x_r + sum over the neighbours s of r of
    e_{rs} x_s``: along axis ``a`` the coupling between ``r`` and ``r + 1``
    is ``edges[a]`` at ``r``, and on a periodic axis with ``n_a >= 3`` the one
    between ``n_a - 1`` and ``0`` is ``wraps[a]`` (the layout of
    :class:`kronpde.variable.VariableDiffusion`, whose ``Â`` is
    ``VariableDiffusion.operator(symmetric=True)``).

    Parameters
    ----------
    diagonal : ndarray, shape ``grid_shape``
        The diagonal, including the shift ``shift``.
    edges : sequence of ndarray
        Per axis ``a``, shape ``grid_shape`` with ``n_a - 1`` along axis ``a``.
    wraps : sequence of (ndarray or None)
        Per axis, None or shape ``grid_shape`` with 1 along axis ``a``.
    shift : float, optional
        The shift contained in ``diagonal`` (the ``c`` of
        ``-div(k grad u) + c u``); :meth:`set_shift` changes it by adding
        the difference to the diagonal.
    compiled : bool or None, optional
        Force the numba kernel or the NumPy path; by default chosen by size.

    Examples
    --------
    >>> import numpy as np
    >>> from kronpde import Grid
    >>> from kronpde.variable import VariableDiffusion
    >>> g = Grid.box([4, 5])
    >>> x, y = g.node_coordinates()
    >>> data = VariableDiffusion(g, 1.0 + x * y, shift=0.3)
    >>> A = VariableStencil.from_diffusion(data)
    >>> v = np.linspace(0.0, 1.0, g.size)
    >>> bool(np.allclose(A.apply(v), data.operator(symmetric=True) @ v))
    True
    """

    def __init__(
        self,
        diagonal: np.ndarray,
        edges: Sequence[np.ndarray],
        wraps: Sequence[np.ndarray | None],
        *,
        shift: float = 0.0,
        compiled: bool | None = None,
    ):
        diagonal = np.asarray(diagonal, dtype=np.float64)
        d = diagonal.ndim
        if not 1 <= d <= 3 or len(edges) != d or len(wraps) != d:
            msg = (
                f"VariableStencil needs a 1-3 D diagonal and one edge and wrap array per axis; "
                f"got a {d}-D diagonal, {len(edges)} edge and {len(wraps)} wrap arrays"
            )
            raise ValueError(msg)
        shape = diagonal.shape
        self._setup(shape, compiled)
        pad = 3 - d
        shape3 = self._shape3
        self._diagonal = np.ascontiguousarray(diagonal).reshape(shape3)
        e3, w3 = [], []
        for a in range(3):
            want = list(shape3)
            want[a] = max(shape3[a] - 1, 0)
            if a < pad:
                e3.append(np.zeros(want))
                w3.append(None)
                continue
            e = np.ascontiguousarray(edges[a - pad], dtype=np.float64)
            if e.shape != tuple(want[pad:]):
                msg = f"edges[{a - pad}] has shape {e.shape}, expected {tuple(want[pad:])}"
                raise ValueError(msg)
            e3.append(e.reshape(want))
            w = wraps[a - pad]
            if w is not None:
                want[a] = 1
                w = np.ascontiguousarray(w, dtype=np.float64)
                if w.shape != tuple(want[pad:]) or shape3[a] < 3:
                    msg = (
                        f"wraps[{a - pad}] has shape {w.shape} on an axis of {shape3[a]} "
                        f"unknowns; expected {tuple(want[pad:])} and at least 3 unknowns"
                    )
                    raise ValueError(msg)
                w = w.reshape(want)
            w3.append(w)
        self._edges = tuple(e3)
        self._wraps = tuple(w3)
        dummy = np.zeros((1, 1, 1))
        self._wrap_args = tuple(dummy if w is None else w for w in w3)
        self._has = tuple(w is not None for w in w3)
        self._zero = np.zeros(shape3[2])
        self._base_shift = float(shift)
        self.set_shift(shift)

    @classmethod
    def from_diffusion(cls, data, *, compiled: bool | None = None) -> VariableStencil:
        """Return ``Â`` of a :class:`~kronpde.variable.VariableDiffusion` (its arrays, no copy)."""
        return cls(data.diagonal, data.edges, data.wraps, shift=data.shift, compiled=compiled)

    def set_shift(self, shift: float) -> None:
        """Change the shift to ``shift``: the diagonal becomes ``diagonal + (shift - shift0)``."""
        self.shift = float(shift)
        self._delta = self.shift - self._base_shift
        self._numpy_diagonal = None
        if not self.compiled:
            self._numpy_diagonal = (
                self._diagonal if self._delta == 0.0 else self._diagonal + self._delta
            )

    def _run(self, x3, y3, with_dot):
        if self.compiled:
            kernel = _kernel("variable_apply")
            return float(
                kernel(
                    x3,
                    y3,
                    self._diagonal,
                    *self._edges,
                    *self._wrap_args,
                    *self._has,
                    self._zero,
                    self._delta,
                    with_dot,
                )
            )
        np.multiply(x3, self._numpy_diagonal, out=y3)
        for a in range(3):
            e = self._edges[a]
            if e.shape[a] > 0:
                lo, hi = _take(a, slice(None, -1)), _take(a, slice(1, None))
                y3[lo] += e * x3[hi]
                y3[hi] += e * x3[lo]
            w = self._wraps[a]
            if w is not None:
                first, last = _take(a, slice(0, 1)), _take(a, slice(-1, None))
                y3[last] += w * x3[first]
                y3[first] += w * x3[last]
        return _einsum_dot(x3.reshape(-1), y3.reshape(-1)) if with_dot else 0.0

    def _rmatvec(self, x: np.ndarray) -> np.ndarray:
        return self._matvec(x)  # Â is symmetric


# -- vector kernels ----------------------------------------------------------------------
def _einsum_dot(a: np.ndarray, b: np.ndarray) -> float:
    # single-threaded on purpose, as in kronpde.solvers.cg (OpenBLAS ddot threads stall)
    return float(np.einsum("i,i->", a, b))


def dot(a: np.ndarray, b: np.ndarray, *, compiled: bool | None = None) -> float:
    """Return ``a · b`` (compiled: block-wise partial sums, equal to NumPy's to rounding)."""
    a = _vector(a, None, "a")
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
    """CG's new search direction in place: ``p = z + beta p``."""
    p = _vector(p, None, "p", writable=True)
    z = _vector(z, p.size, "z")
    _distinct(p, z)
    beta = float(beta)
    if use_compiled(p.size, compiled):
        _kernel("new_direction")(p, z, beta)
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


# -- the fused CG loop -------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class FusedCGResult:
    """Outcome of :func:`cg_fused`.

    Attributes
    ----------
    x : ndarray, shape (n,)
        The last iterate.
    converged : bool
        Whether the recurrence residual met the stopping rule.
    iterations : int
        Completed iterations (products with ``A`` along search directions).
    residual_norms : ndarray, shape (iterations + 1,)
        Recurrence residual norms ``||r_k||_2``, entry 0 the initial one.
    relative_residual : float
        True ``||b - A x||_2 / ||b||_2`` of the returned ``x``.
    status : str
        ``"converged"``, ``"maxiter"``, ``"breakdown"`` (``p·Ap <= 0``) or
        ``"nan"`` (a non-finite scalar).
    """

    x: np.ndarray
    converged: bool
    iterations: int
    residual_norms: np.ndarray
    relative_residual: float
    status: str


def cg_fused(
    A: ConstantStencil | VariableStencil,
    b: np.ndarray,
    x0: np.ndarray | None = None,
    *,
    rtol: float = 1e-8,
    atol: float = 0.0,
    maxiter: int | None = None,
    inv_diag: np.ndarray | None = None,
) -> FusedCGResult:
    """CG (or Jacobi-preconditioned CG) with three fused passes per iteration.

    Per iteration: ``Ap = A p`` with ``p·Ap`` (:meth:`ConstantStencil.apply_dot`),
    :func:`update_xr` (or :func:`update_xr_jacobi`) and :func:`new_direction`.
    Stopping rule, scipy's: ``||r_k||_2 <= max(rtol ||b||_2, atol)`` on the
    recurrence residual (Euclidean norm); the true residual is computed once,
    at the end.  No residual replacement, no null-space projection, no
    callback: this is the cost of the iteration itself (used by
    ``scripts/bench_kernels.py``); solvers use :func:`kronpde.solvers.cg.cg`.

    Parameters
    ----------
    A : ConstantStencil or VariableStencil
        Symmetric positive definite operator.
    b : ndarray, shape (n,)
        Right-hand side.
    x0 : ndarray, shape (n,), optional
        Initial guess (default zero).
    rtol, atol : float, optional
        Tolerances of the stopping rule.
    maxiter : int, optional
        Iterations allowed (default ``10 n``).
    inv_diag : ndarray, shape (n,), optional
        The inverse of ``diag(A)``: Jacobi preconditioning ``z = r * inv_diag``.

    Returns
    -------
    FusedCGResult
        ``x``, ``converged``, ``iterations``, ``residual_norms``,
        ``relative_residual``, ``status``.
    """
    n = A.shape[0]
    b = _vector(b, n, "b")
    compiled = A.compiled
    maxiter = 10 * n if maxiter is None else int(maxiter)
    x = np.zeros(n) if x0 is None else _vector(x0, n, "x0").copy()
    r = np.empty(n)
    Ap = np.empty(n)
    if x0 is None:
        r[:] = b
    else:
        A.apply(x, Ap)
        np.subtract(b, Ap, out=r)
    if inv_diag is None:
        z = r
    else:
        inv_diag = _vector(inv_diag, n, "inv_diag")
        z = np.empty(n)
        scale(r, inv_diag, z, compiled=compiled)
    rr = dot(r, r, compiled=compiled)
    rz = rr if inv_diag is None else dot(r, z, compiled=compiled)
    b_norm = math.sqrt(dot(b, b, compiled=compiled))
    tol = max(rtol * b_norm, atol)
    p = z.copy()
    norms = [math.sqrt(rr)]
    status = "converged" if norms[0] <= tol else ""
    iterations = 0
    while not status:
        if iterations >= maxiter:
            status = "maxiter"
            break
        pAp = A.apply_dot(p, Ap)
        if not math.isfinite(pAp):
            status = "nan"
            break
        if pAp <= 0.0:
            status = "breakdown"
            break
        alpha = rz / pAp
        if inv_diag is None:
            rr = update_xr(x, r, p, Ap, alpha, compiled=compiled)
            rz_new = rr
        else:
            rr, rz_new = update_xr_jacobi(x, r, z, p, Ap, inv_diag, alpha, compiled=compiled)
        iterations += 1
        norms.append(math.sqrt(rr))
        if not math.isfinite(rr):
            status = "nan"
        elif norms[-1] <= tol:
            status = "converged"
        else:
            new_direction(p, z, rz_new / rz, compiled=compiled)
            rz = rz_new
    A.apply(x, Ap)
    np.subtract(b, Ap, out=r)
    true = math.sqrt(dot(r, r, compiled=compiled))
    history = np.array(norms)
    history.flags.writeable = False
    return FusedCGResult(
        x=x,
        converged=status == "converged",
        iterations=iterations,
        residual_norms=history,
        relative_residual=true / b_norm if b_norm > 0 else true,
        status=status,
    )
