"""Compiled, fused kernels of the hot path: the operators with ``x · A x``, and CG's vector work.

:class:`ConstantStencil` and :class:`VariableStencil` apply the Kronecker-sum and flux-form
operators (``apply_dot``: ``A p`` and ``p · A p`` in one pass); :func:`update_xr`,
:func:`update_xr_jacobi` and :func:`new_direction` are CG's vector updates; :func:`dot`,
:func:`axpy`, :func:`scale` and :func:`unscale` the rest. Every kernel has a NumPy path,
used below :data:`MIN_COMPILED_SIZE` unknowns (:func:`use_compiled`); importing this module
never imports numba. :func:`load_kernels` loads (or compiles, in this process or in the
background) the kernels a run needs before it is timed; :func:`set_compile_notice` is told
before anything compiles. Why three passes, when numba loads, and threads on a shared machine:
``docs/kernels.md``.
"""

from kronpde.operators.kernels._dispatch import (
    MIN_COMPILED_SIZE,
    MIN_EAGER_SIZE,
    NUMPY_APPLIES,
    CompiledAfter,
    cached_kernels,
    compile_kernels,
    end_numpy_only,
    kernels_loaded,
    load_kernels,
    set_compile_notice,
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
    "cached_kernels",
    "kernels_loaded",
    "load_kernels",
    "set_compile_notice",
    "ConstantStencil",
    "VariableStencil",
    "axpy",
    "compile_kernels",
    "end_numpy_only",
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
