"""Where each rank's block of the grid lies: the process grid, its slab or pencil layouts.

A distributed solve passes the data through a chain of layouts.  In each one
some axes are *whole* on every rank (their process-grid extent is 1), so the
1-D transforms along them run locally; one all-to-all transpose
(:class:`mpi4py_fft.pencil.Transfer`, one ``Alltoallw`` of subarray datatypes
within a sub-communicator) moves the data to the next layout, until every axis
has been whole once.  Blocks are split as evenly as possible, the first
``n mod p`` ranks of an axis holding one more index (PETSc's DMDA default too).

* One rank, or a 1-D problem: one layout, everything whole (no transpose).
* *Slab* (``P`` at most the extents of the first two axes): process grid
  ``(P, 1, ..., 1)``; the first layout has every axis but the first whole, one
  transpose to ``(1, P, 1, ...)`` makes the first axis whole.  (Splitting the
  second axis rather than the last there sends contiguous runs of whole rows:
  measured 1.4 to 1.6 times faster at 255³ on 2 ranks.)
* *Pencil* (3-D, more ranks): process grid ``(p0, p1, 1)``, ``p0 p1 = P`` as
  square as the extents allow; layouts ``(p0, p1, 1)``, ``(p0, 1, p1)``,
  ``(1, p0, p1)``: the last, middle and first axis whole in turn, two transposes.

Traffic: a transpose within a sub-communicator of ``q`` ranks sends the part
of a rank's block that the others own, ``8 (N/P) (q - 1)/q`` bytes per rank
(``N`` unknowns, float64), and a solve runs each transpose there and back:
``16 (N/P) (P - 1)/P`` bytes per rank and solve on slabs (``q = P``),
``16 (N/P) ((p0 - 1)/p0 + (p1 - 1)/p1)`` on pencils, about twice a slab's.

The first layout is the one the caller's blocks are in.  Its process grid is
laid out in rank order with the last axis fastest (an MPI Cartesian
communicator without reordering): with kronpde's axis 0 as PETSc's ``z``, that
is the order of a DMDA's ranks, so a DMDA with ``lz, ly, lx`` from
:func:`ownership_ranges` owns the same blocks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from kronpde.errors import SolverError

__all__ = [
    "INSTALL_HINT",
    "Layout",
    "PencilUnavailableError",
    "block",
    "build_layouts",
    "ownership_ranges",
    "process_grid",
]

INSTALL_HINT = (
    "the distributed fast solve needs mpi4py-fft (its pencil transposes), which is not "
    "installed in this Python environment; install it with `bash scripts/install-mpi4py-fft.sh` "
    "from the kronpde repository (after scripts/install-petsc.sh, which installs mpi4py): pip "
    "builds mpi4py-fft 2.0.6 against FFTW (Debian's libfftw3-dev) in about 40 s"
)


class PencilUnavailableError(SolverError, ImportError):
    """mpi4py-fft (or mpi4py) cannot be imported; the message says how to install it."""


def block(n: int, parts: int, index: int) -> tuple[int, int]:
    """Return ``(size, start)`` of block ``index`` of ``n`` indices split into ``parts``.

    The first ``n mod parts`` blocks hold one index more (mpi4py-fft's and
    PETSc's split).

    Examples
    --------
    >>> [block(10, 3, i) for i in range(3)]
    [(4, 0), (3, 4), (3, 7)]
    """
    q, r = divmod(n, parts)
    return q + (1 if index < r else 0), index * q + min(index, r)


def process_grid(shape: Sequence[int], ranks: int) -> tuple[int, ...]:
    """Return the process grid of the first layout for ``ranks`` ranks on a grid of ``shape``.

    ``(1, ..., 1)`` for one rank or a 1-D grid (one rank solves a 1-D problem
    alone); ``(P, 1, ..., 1)`` (slabs) where ``P`` is at most the extents of the
    first two axes; for 3-D grids beyond that ``(p0, p1, 1)`` (pencils)
    with ``p0 <= min(n0, n1)``, ``p1 <= min(n1, n2)``, the squarest such pair.

    Raises
    ------
    SolverError
        If no slab or pencil layout of ``ranks`` ranks fits the grid (every rank
        must hold at least one index of every split axis).

    Examples
    --------
    >>> process_grid((64, 64, 64), 2), process_grid((16, 64, 16), 24)
    ((2, 1, 1), (6, 4, 1))
    """
    shape = tuple(int(n) for n in shape)
    d = len(shape)
    if ranks == 1 or d == 1:
        return (1,) * d
    if ranks <= min(shape[0], shape[1]):
        return (ranks,) + (1,) * (d - 1)
    if d == 3:
        n0, n1, n2 = shape
        pairs = [
            (p0, ranks // p0)
            for p0 in range(1, ranks + 1)
            if ranks % p0 == 0 and p0 <= min(n0, n1) and ranks // p0 <= min(n1, n2)
        ]
        if pairs:
            p0, p1 = min(pairs, key=lambda p: (max(p) / min(p), -p[0]))
            return (p0, p1, 1)
    msg = (
        f"fastdiag: {ranks} ranks do not fit a grid of {'x'.join(map(str, shape))} unknowns "
        "in slabs or pencils (each rank needs at least one index of every axis it splits); "
        "use fewer ranks or a finer grid"
    )
    raise SolverError(msg)


def ownership_ranges(shape: Sequence[int], dims: Sequence[int]) -> tuple[tuple[int, ...], ...]:
    """Per axis, the block sizes along it of the first layout (a DMDA's ``lz, ly, lx``).

    Examples
    --------
    >>> ownership_ranges((10, 7, 5), (3, 2, 1))
    ((4, 3, 3), (4, 3), (5,))
    """
    return tuple(
        tuple(block(n, p, i)[0] for i in range(p)) for n, p in zip(shape, dims, strict=True)
    )


@dataclass(frozen=True)
class Layout:
    """One rank's block in one layout: its shape and start in the global grid, its whole axes."""

    shape: tuple[int, ...]
    start: tuple[int, ...]
    whole: tuple[int, ...]

    @property
    def slices(self) -> tuple[slice, ...]:
        """The block's index ranges in the global grid (``global_array[slices]``)."""
        return tuple(slice(s, s + n) for s, n in zip(self.start, self.shape, strict=True))


def _import_pencil() -> Any:
    try:
        from mpi4py_fft import pencil
    except ImportError as exc:
        msg = f"{INSTALL_HINT} ({exc})"
        raise PencilUnavailableError(msg) from None
    return pencil


def build_layouts(comm: Any, shape: Sequence[int], dims: Sequence[int]) -> tuple[list, list, Any]:
    """Build the chain of layouts of ``dims`` on ``comm`` (collective).

    Returns
    -------
    layouts : list of Layout
        This rank's block in each layout, first to last.
    transfers : list
        ``transfers[k]`` moves layout ``k`` to ``k + 1``
        (:class:`mpi4py_fft.pencil.Transfer`: ``forward(a, b)``, ``backward(b, a)``).
    subcomms : object or None
        The sub-communicators to free when done (None without transposes).

    Raises
    ------
    PencilUnavailableError
        If the layout needs transposes and mpi4py-fft cannot be imported.
    """
    shape = tuple(int(n) for n in shape)
    d = len(shape)
    if math.prod(dims) == 1:
        return [Layout(shape, (0,) * d, tuple(range(d)))], [], None
    pencil_module = _import_pencil()
    subcomms = pencil_module.Subcomm(comm, list(dims), reorder=False)
    slab = all(p == 1 for p in dims[1:])
    # a slab's one transpose goes to (1, P, 1, ...): the Pencil "aligned" with axis 1
    pencil = pencil_module.Pencil(subcomms, shape, 1 if slab else d - 1)

    def layout(p: Any) -> Layout:
        whole = tuple(i for i, c in enumerate(p.subcomm) if c.Get_size() == 1)
        return Layout(tuple(p.subshape), tuple(p.substart), whole)

    layouts, transfers = [layout(pencil)], []
    done = set(layouts[0].whole)
    while len(done) < d:
        nxt = pencil.pencil(max(set(range(d)) - done))
        transfers.append(pencil.transfer(nxt, np.float64))
        pencil = nxt
        layouts.append(layout(pencil))
        done.update(layouts[-1].whole)
    return layouts, transfers, subcomms
