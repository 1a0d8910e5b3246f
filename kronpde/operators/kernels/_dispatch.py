"""Size-based choice between the compiled kernels and NumPy; argument checks; threads.

The one place that imports :mod:`kronpde.operators.kernels._compiled` (and so numba),
on the first compiled call.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Sequence

import numpy as np

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


#: Applies an operator built for the compiled path makes on its NumPy path first, unless
#: the kernels are loaded already (:class:`CompiledAfter`).
NUMPY_APPLIES = 8

#: Unknowns from which an operator takes the compiled path from its first apply: a NumPy
#: apply of 2^24 unknowns (256³) takes about 0.15 s here, so a few of them cost what
#: loading the kernels does.
MIN_EAGER_SIZE = 1 << 24


#: Called with one sentence before this process compiles a kernel that numba's cache lacks,
#: or starts compiling them in the background (None: silent).  The command line sets it
#: (:func:`set_compile_notice`) to print on standard error unless ``--quiet``; this layer
#: never imports the application.
_notice: Callable[[str], None] | None = None

#: True while another process compiles the kernels this run needs (:func:`load_kernels`
#: with ``background=True``): the choice by size (:func:`use_compiled`) then takes NumPy.
_numpy_only = False


#: The batched tridiagonal kernels (:mod:`._tridiagonal_compiled`), compiled for the
#: argument types they are called with; the others live in :mod:`._compiled`.
TRIDIAGONAL_KERNELS = ("thomas", "thomas_lines", "cyclic_thomas", "pivoting")
TRIDIAGONAL_KERNELS += tuple(f"{name}_single" for name in TRIDIAGONAL_KERNELS)  # float32 x


def _module(name: str):
    """Return the module that holds kernel ``name`` (imports numba)."""
    if name in TRIDIAGONAL_KERNELS:
        from kronpde.operators.kernels import _tridiagonal_compiled as module
    else:
        from kronpde.operators.kernels import _compiled as module
    return module


def set_compile_notice(callback: Callable[[str], None] | None) -> None:
    """Set the function told (one sentence) before kernels are compiled; None: silent.

    Parameters
    ----------
    callback : callable or None
        Called with a sentence such as ``"compiling the numba kernel dot ..."``
        when a kernel is not in numba's cache and must be compiled (a few
        seconds each, once per installation).
    """
    global _notice
    _notice = callback


def cached_kernels(names: Sequence[str]) -> tuple[str, ...]:
    """Return those of ``names`` that numba's cache holds for this source (imports numba).

    Nothing is compiled or loaded: the cache's index is read.  Should numba's
    cache layout change, every kernel is reported cached (the old behaviour:
    compiled on first use).
    """
    return tuple(n for n in _names(names) if _module(n).in_cache(n))


def load_kernels(names: Sequence[str], *, background: bool = False) -> dict[str, float]:
    """Load kernels now, before any timer starts; compile the missing ones here or elsewhere.

    The kernels numba's cache holds are loaded (a tenth of a second each).  Any
    it lacks must be compiled (several seconds each, once per installation):
    in this process (after the notice of :func:`set_compile_notice`), or, with
    ``background=True``, in a separate process that fills the cache for later
    runs while this process chooses NumPy wherever it would have chosen the
    kernels by size (:func:`use_compiled`; forced ``compiled=True`` calls still
    compile).  ``docs/kernels.md`` has the measurements behind the choice.

    Parameters
    ----------
    names : sequence of str
        Kernel names.
    background : bool
        Compile missing kernels in a separate process instead of this one.

    Returns
    -------
    dict
        Seconds each kernel took to load here (absent: left to the background).
    """
    global _numpy_only
    names = _names(names)
    missing = [n for n in names if n not in cached_kernels(names)]
    if background and missing:
        _numpy_only = True
        _compile_elsewhere(missing)
        if _notice is not None:
            _notice(
                f"compiling {len(missing)} numba kernel(s) in the background for later runs "
                "(once per installation); this run uses NumPy"
            )
        return {}
    return compile_kernels(names)


def end_numpy_only() -> None:
    """Let the choice by size take the kernels again (after load_kernels put a run on NumPy).

    A process that runs several cases (tests, scripts) then loads, for the next one, what
    the cache holds by then.
    """
    global _numpy_only
    _numpy_only = False


def _compile_elsewhere(names: list[str]) -> None:
    """Start a detached process that compiles ``names`` into numba's cache."""
    code = f"from kronpde.operators.kernels import compile_kernels; compile_kernels({names!r})"
    subprocess.Popen(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env=os.environ.copy(),
    )


def kernels_loaded() -> bool:
    """Return whether this process has imported the compiled kernels (and so numba)."""
    return "kronpde.operators.kernels._compiled" in sys.modules


class CompiledAfter:
    """When an operator built for the compiled path (by size) starts to use it.

    Importing numba and loading the first kernel from numba's cache costs about
    half a second once per process.  An iterative method applies its operator
    hundreds of times and repays that; an exact method applies it a few times
    only (its residual and certified bound: four applies, 6 ms on NumPy at
    64³), which never would.  So the operator stays on NumPy for its first
    :data:`NUMPY_APPLIES` applies and moves to the compiled stencil from then
    on, or at once when the process has loaded the kernels already (CG loads
    its vector kernels on its first iteration, so its operator moves there on
    its second apply) or the grid has :data:`MIN_EAGER_SIZE` unknowns.  The two
    paths agree to rounding.

    Parameters
    ----------
    size : int
        The operator's unknowns.
    """

    def __init__(self, size: int) -> None:
        self._left = 0 if size >= MIN_EAGER_SIZE else NUMPY_APPLIES

    def __call__(self) -> bool:
        """Return True when this apply runs compiled (counting the NumPy ones)."""
        if self._left <= 0 or kernels_loaded():
            self._left = 0
            return True
        self._left -= 1
        return False


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
        return size >= MIN_COMPILED_SIZE and not _numpy_only
    return bool(compiled)


def _kernel(name: str):
    # the only place numba is imported, on the first compiled call
    module = _module(name)
    kernel = module.loaded(name)
    if kernel is None:
        _tell(module, name)
        kernel = module.get(name)
    return kernel


def tridiagonal_kernel(name: str, args: tuple):
    """Return tridiagonal kernel ``name`` ready for ``args`` (saying so first if it compiles)."""
    from kronpde.operators.kernels import _tridiagonal_compiled as module

    kernel = module.loaded(name, args)
    if kernel is None:
        _tell(module, name, args)
        kernel = module.get(name, args)
    return kernel


def _tell(module, name: str, *args: tuple) -> None:
    """Tell the notice's callback that kernel ``name`` is about to be compiled, if it is."""
    if _notice is not None and not module.in_cache(name, *args):
        _notice(f"compiling the numba kernel {name} (once per installation, a few seconds)")


def _names(names: Sequence[str] | None) -> tuple[str, ...]:
    """Return ``names`` (default: every kernel) checked against the kernels there are."""
    from kronpde.operators.kernels import _compiled

    known = _compiled.NAMES + TRIDIAGONAL_KERNELS
    names = known if names is None else tuple(names)
    unknown = [n for n in names if n not in known]
    if unknown:
        msg = f"unknown kernel(s) {unknown}; the kernels are {', '.join(known)}"
        raise ValueError(msg)
    return names


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
    names = _names(names)
    before = {n for n in names if n in _module(n).load_seconds}
    for name in names:
        _kernel(name)
    return {n: (0.0 if n in before else _module(n).load_seconds.get(n, 0.0)) for n in names}


def _numba():
    # through _compiled, which sets OMP_WAIT_POLICY before numba starts OpenMP
    from kronpde.operators.kernels import _compiled

    return _compiled.numba


def threads() -> int:
    """Return the number of threads the compiled kernels use (``numba.get_num_threads()``)."""
    return int(_numba().get_num_threads())


def set_threads(count: int) -> None:
    """Set the number of threads of the compiled kernels (``numba.set_num_threads``).

    The thread count of the calling thread, as numba keeps it; at most
    ``NUMBA_NUM_THREADS`` (the machine's cores by default).
    """
    _numba().set_num_threads(int(count))


def threading_layer() -> str:
    """Return numba's threading layer (``"omp"``, ``"tbb"`` or ``"workqueue"``).

    The layer is chosen when the first parallel kernel runs, so this runs one.
    """
    _kernel("dot")(np.zeros(1), np.zeros(1))
    return str(_numba().threading_layer())


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


def _einsum_dot(a: np.ndarray, b: np.ndarray) -> float:
    # single-threaded on purpose, as in kronpde.solvers.cg (OpenBLAS ddot threads stall)
    return float(np.einsum("i,i->", a, b))
