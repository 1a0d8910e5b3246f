"""The residual and certified bound of the distributed exact solve, without a matrix.

The exact solve assembles nothing, so its report's residual ``b - A u`` and
the certified bound (:func:`kronpde.problem.certify.certificate`, the serial
formula with the ranks' sums) come from :class:`GhostKroneckerSum`: the
Kronecker sum ``A = Σ_a I ⊗ T_a ⊗ I + c I`` applied to a rank's block from the
DMDA's ghosted copy (one ghost update), row by row exactly as the assembled
rows of :func:`~kronpde.solvers.petsc.assembly.box_csr` would (``T_a``'s
``diag``, ``lower``, ``upper``; the periodic images in the ghost layer),
``|A| v`` with the coefficients' magnitudes; :class:`GhostStencil` does the
same for the fourth-order scheme (a polynomial in the ``T_a``, box rows), its
rows made by :func:`~kronpde.solvers.petsc.assembly.compact_box_rows` a few
planes at a time, so that no rank holds a matrix.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from kronpde.problem.certify import Certificate, Measure, certificate
from kronpde.problem.compact_scheme import CompactFourthOrder
from kronpde.problem.kronecker import KroneckerSum
from kronpde.solvers.petsc.assembly import compact_box_rows
from kronpde.solvers.petsc.estimates import rounding_terms

__all__ = ["GhostKroneckerSum", "GhostStencil", "ghost_operator"]

#: Rows of the fourth-order operator made at a time (a few planes of the block).
CHUNK = 1 << 16


def _along(values: np.ndarray, axis: int, d: int) -> np.ndarray:
    shape = [1] * d
    shape[axis] = values.size
    return values.reshape(shape)


def _indices(v: slice | np.ndarray) -> np.ndarray:
    return np.arange(v.start, v.stop) if isinstance(v, slice) else v


class GhostKroneckerSum:
    """``A v`` and ``|A| v`` on a rank's DMDA block, from one ghost update (collective).

    Parameters
    ----------
    solver : PetscFastDiag
        Its DMDA (a star stencil of width 1), box, problem and work vector.
    """

    def __init__(self, solver: Any):
        p = solver.problem
        self.solver = solver
        self.d = p.grid.dimension
        self.lo, self.hi = solver.lo, solver.hi
        self.shape = solver.local_shape
        da = solver._da
        ghost = list(reversed(da.getGhostRanges()))
        self.glo = [int(r[0]) for r in ghost]
        self.gshape = tuple(int(r[1]) - int(r[0]) for r in ghost)
        self._local = da.createLocalVec()
        self._ops = p.axis_operators
        self._shift = float(p.shift)
        d = self.d
        self._diag = [_along(op.diag[lo:hi], a, d) for a, (op, lo, hi) in self._axes()]
        self._lower = [_along(op.lower[lo:hi], a, d) for a, (op, lo, hi) in self._axes()]
        self._upper = [_along(op.upper[lo:hi], a, d) for a, (op, lo, hi) in self._axes()]

    def _axes(self):
        return enumerate(zip(self._ops, self.lo, self.hi, strict=True))

    def apply(self, v: np.ndarray, *, absolute: bool = False) -> np.ndarray:
        """Return this rank's part of ``A v`` (``|A| v``), ``v`` this rank's block (flat)."""
        s = self.solver
        s._work.array[:] = v
        s._da.globalToLocal(s._work, self._local)
        g = self._local.getArray(readonly=True).reshape(self.gshape)
        d = self.d
        own = tuple(
            slice(lo - gl, hi - gl) for lo, hi, gl in zip(self.lo, self.hi, self.glo, strict=True)
        )
        u = g[own]
        out = np.full(self.shape, self._shift)  # c + Σ_a diag_a, then times u (no temporaries)
        for diag in self._diag:
            out += diag
        if absolute:
            np.abs(out, out=out)
        out *= u
        tmp = np.empty(self.shape)
        for a in range(d):
            for coef, step in ((self._lower[a], -1), (self._upper[a], 1)):
                c = np.abs(coef) if absolute else coef
                # rows j whose neighbour j + step lies in the ghosted box (else c is 0 there)
                first = max(self.lo[a], self.glo[a] - step)
                last = min(self.hi[a], self.glo[a] + self.gshape[a] - step)
                rows = [slice(None)] * d
                rows[a] = slice(first - self.lo[a], last - self.lo[a])
                src = list(own)
                src[a] = slice(first + step - self.glo[a], last + step - self.glo[a])
                cut = [slice(None)] * d
                cut[a] = rows[a]
                part = tmp[tuple(rows)]
                np.multiply(c[tuple(cut)], g[tuple(src)], out=part)
                out[tuple(rows)] += part
        return out.reshape(-1)

    def piece(self, x: np.ndarray, box: tuple[slice, ...]) -> np.ndarray | None:
        """Return the field on a box of points from one ghost update (None: not all there).

        The box's unknowns must lie in the ghosted block (the DMDA's box stencil
        holds the neighbours' layer, edges and corners, and the periodic images);
        Dirichlet nodes carry their values, a periodic axis' node ``m`` repeats node 0.
        """
        s = self.solver
        grid = s.problem.grid
        s._work.array[:] = x  # the ghost update first: collective, also where this box fails
        s._da.globalToLocal(s._work, self._local)
        src, dst = [], []
        for a, axis in enumerate(grid.axes):
            start, n = axis.unknown_slice.start, axis.n_unknowns
            j = np.arange(box[a].start, box[a].stop) - start
            if axis.periodic:  # node m: its ghost image where the block has one, else node 0
                j = np.where((j >= n) & (j >= self.glo[a] + self.gshape[a]), j % n, j)
                inside = np.ones(j.size, dtype=bool)
            else:
                inside = (j >= 0) & (j < n)
            k = j[inside] - self.glo[a]
            if k.size and (k.min() < 0 or k.max() >= self.gshape[a]):
                return None
            where = np.flatnonzero(inside)
            contiguous = k.size and np.all(np.diff(k) == 1) and np.all(np.diff(where) == 1)
            src.append(slice(int(k[0]), int(k[-1]) + 1) if contiguous else k)
            dst.append(slice(int(where[0]), int(where[-1]) + 1) if contiguous else where)
        piece, _ = grid.dirichlet_nodes(box)
        g = self._local.getArray(readonly=True).reshape(self.gshape)
        if all(isinstance(v, slice) for v in src + dst):
            piece[tuple(dst)] = g[tuple(src)]
        else:
            piece[np.ix_(*map(_indices, dst))] = g[np.ix_(*map(_indices, src))]
        return piece

    def certify(self, u: np.ndarray, b: np.ndarray) -> Certificate:
        """Return the certificate of this rank's ``u`` against its (projected) ``b``."""
        s = self.solver
        p = s.problem
        w = p.weights((self.lo, self.hi)).reshape(-1)
        total = s.reductions.sum(w)
        scale = np.sqrt(w)
        singular = bool(p.singular)
        measure = Measure(
            weights=w,
            scale=scale,
            null=scale / math.sqrt(total) if singular else None,
            total=total,
            size=p.size,
            terms=rounding_terms(p),
            sums=s.reductions,
        )
        r = b - self.apply(u)
        return certificate(
            r,
            u,
            b,
            lambda x: self.apply(x, absolute=True),
            measure,
            p.smallest_eigenvalue(),
        )

    def destroy(self) -> None:
        """Free the ghosted vector."""
        self._local.destroy()


class GhostStencil(GhostKroneckerSum):
    """``A v`` and ``|A| v`` of the fourth-order scheme on a rank's block (box ghosts).

    The rows of the compact operator (``problem.discretisation.scheme``, not
    symmetrised: ``A`` itself) by stencil offset, made for a few planes of the
    block at a time, applied to the ghosted block padded with zeros where the
    grid ends (there the coefficients are zero).
    """

    def __init__(self, solver: Any):
        super().__init__(solver)
        self.scheme = solver.problem.discretisation.scheme

    def apply(self, v: np.ndarray, *, absolute: bool = False) -> np.ndarray:
        """Return this rank's part of ``A v`` (``|A| v``), ``v`` this rank's block (flat)."""
        s = self.solver
        s._work.array[:] = v
        s._da.globalToLocal(s._work, self._local)
        g = self._local.getArray(readonly=True).reshape(self.gshape)
        pad = np.zeros(tuple(n + 2 for n in self.shape))
        # the ghosted box inside the padded one (whose index 0 is lo - 1)
        inside = tuple(
            slice(gl - lo + 1, gl - lo + 1 + n)
            for gl, lo, n in zip(self.glo, self.lo, self.gshape, strict=True)
        )
        pad[inside] = g
        out = np.empty(self.shape)
        planes = max(1, CHUNK // max(1, math.prod(self.shape[1:])))
        for first in range(self.lo[0], self.hi[0], planes):
            last = min(first + planes, self.hi[0])
            rows = compact_box_rows(self.scheme, (first, *self.lo[1:]), (last, *self.hi[1:]))
            acc = out[first - self.lo[0] : last - self.lo[0]]
            acc[...] = 0.0
            for offset, coef in rows.items():
                start = first - self.lo[0] + 1 + offset[0]
                src = [slice(start, start + last - first)]
                tail = zip(offset[1:], self.shape[1:], strict=True)
                src += [slice(1 + o, 1 + o + n) for o, n in tail]
                acc += (np.abs(coef) if absolute else coef) * pad[tuple(src)]
        return out.reshape(-1)


def ghost_operator(solver: Any) -> GhostKroneckerSum | None:
    """Return the matrix-free operator of the problem (None for a discretisation without one).

    The Kronecker sum and the fourth-order scheme; the DMDA must have a box
    stencil for the latter.
    """
    kind = type(solver.problem.discretisation)
    if kind is KroneckerSum:
        return GhostKroneckerSum(solver)
    if kind is CompactFourthOrder:
        return GhostStencil(solver)
    return None
