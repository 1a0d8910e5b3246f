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
(``out = d x``) and :func:`unscale` (``out = y / d``).  The package's one CG
loop, built on them, is :func:`kronpde.solvers.cg.cg`.

Compiled or NumPy.  Every kernel has a NumPy path, used for arrays of fewer
than :data:`MIN_COMPILED_SIZE` unknowns (:func:`use_compiled`): there the
import of numba and the loading of the compiled code would cost more than
they save.  The choice is by size (``compiled=None``, the default) or forced
with ``compiled=True``/``False``; it is never made by catching an error.
``import kronpde.operators.kernels`` does not import numba; the first compiled call
does (see :mod:`kronpde.operators.kernels._compiled`, which also states the numerical
conventions: elementwise results equal NumPy's bit for bit, dot products
agree to rounding).  Threads: numba's threading layer with
:func:`threads` threads (the machine's cores by default, :func:`set_threads`).
A parallel kernel waits for its slowest thread: where other processes keep
the cores busy, a second thread may wait milliseconds for a core, and with
OpenMP's default spin-waiting (numba's ``omp`` layer) the kernels then run
several times slower than on one thread.  So the first compiled call sets
``OMP_WAIT_POLICY=PASSIVE`` before numba starts, unless the environment sets
it already (:mod:`kronpde.operators.kernels._compiled`); ``set_threads(1)`` is the other
remedy on a shared machine.

The package's operators use these kernels themselves:
:class:`kronpde.operators.kronsum.KronSumOperator` and
:class:`kronpde.operators.flux.VariableOperator` built with at least
:data:`MIN_COMPILED_SIZE` unknowns apply through :class:`ConstantStencil` /
:class:`VariableStencil`, and :func:`kronpde.solvers.cg.cg` runs its vector
work in :func:`update_xr`, :func:`update_xr_jacobi` and :func:`new_direction`
at those sizes.

Arrays are float64 and C-contiguous.  Vectors may have any shape (they are
used flat); an operator's ``x`` and ``out`` have ``n`` entries (flat or the
grid's shape) and must not overlap.
"""

from kronpde.operators.kernels._dispatch import (
    MIN_COMPILED_SIZE,
    MIN_EAGER_SIZE,
    NUMPY_APPLIES,
    CompiledAfter,
    compile_kernels,
    kernels_loaded,
    set_threads,
    threading_layer,
    threads,
    use_compiled,
)
from kronpde.operators.kernels.operators import ConstantStencil, VariableStencil
from kronpde.operators.kernels.vectors import (
    axpy,
    dot,
    new_direction,
    scale,
    unscale,
    update_xr,
    update_xr_jacobi,
)

__all__ = [
    "MIN_COMPILED_SIZE",
    "MIN_EAGER_SIZE",
    "NUMPY_APPLIES",
    "CompiledAfter",
    "kernels_loaded",
    "ConstantStencil",
    "VariableStencil",
    "axpy",
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
