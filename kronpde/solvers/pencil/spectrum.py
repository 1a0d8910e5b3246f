"""The diagonal solve on one rank's block of the spectrum, computed block by block.

In the last layout a rank holds the modes ``k`` of its block; the solve divides
each by the operator's eigenvalue there: ``c + Σ_i λ_{k_i}`` (or the fourth-order
scheme's combination, ``scheme.combine``), times the round-trip scale of the
unscaled transforms, as the serial :class:`~kronpde.solvers.fastdiag.FastDiagSolver`
does.  No array of the block's size is stored: the eigenvalue sums are formed in
chunks of rows of the (whole) first axis, about :data:`CHUNK` modes at a time,
from the 1-D eigenvalues and one precomputed sum over the other axes.

A singular problem (every axis Neumann or periodic, ``c = 0``) drops the zero
mode, on the rank that holds it; the checks of the shift (a negative
eigenvalue of the scheme, a zero sum of a non-singular problem) are reductions
over the ranks.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from kronpde.errors import SolverError
from kronpde.solvers.fastdiag_axes import AxisPlan
from kronpde.solvers.resonance import not_definite_message

__all__ = ["CHUNK", "Spectrum"]

#: Modes per chunk of the division (small arrays, cache-sized).
CHUNK = 1 << 15


class Spectrum:
    """The eigenvalues of the modes of one block, and the division by them.

    Parameters
    ----------
    plans : sequence of AxisPlan
        The axis plans, axis 0 first.
    scheme : object or None
        The fourth-order combination (``combine(eigenvalues, shift)``), or None
        for the Kronecker sum.
    start, shape : sequence of int
        The block in the global grid; axis 0 must be whole (``start[0] = 0``).
    allreduce : callable
        ``allreduce(value, op)`` over the ranks, ``op`` one of ``"MIN"``,
        ``"LOR"``.
    """

    def __init__(
        self,
        plans: Sequence[AxisPlan],
        scheme: Any,
        start: Sequence[int],
        shape: Sequence[int],
        allreduce: Callable[[Any, str], Any],
    ):
        self.plans = tuple(plans)
        self.scheme = scheme
        self.shape = tuple(shape)
        self.ndim = len(self.shape)
        self._allreduce = allreduce
        self._eigs = []
        for i, (p, s, n) in enumerate(zip(self.plans, start, shape, strict=True)):
            b = [1] * self.ndim
            b[i] = n
            self._eigs.append(p.eig.eigenvalues[s : s + n].reshape(b))
        null = tuple(p.eig.null_index - s for p, s in zip(self.plans, start, strict=True))
        held = all(0 <= j < n for j, n in zip(null, shape, strict=True))
        #: Local index of the zero mode if this rank holds it, else None.
        self.null_local = null if held else None
        self.scale = 1.0 / math.prod(p.roundtrip for p in self.plans)
        self._rows = max(1, CHUNK // max(1, math.prod(self.shape[1:])))
        self.shift = math.nan
        self.singular = False

    def set_shift(self, shift: float) -> None:
        """Set ``c`` and check that the operator stays invertible (collective).

        Raises
        ------
        SolverError
            If the scheme's combination is negative somewhere, or an eigenvalue
            sum is zero and the problem is not one with the constants as its
            null space; nothing is changed then.
        """
        previous = (self.shift, self.singular, getattr(self, "_rest", None))
        self.shift = shift
        self.singular = shift == 0.0 and all(p.eig.singular for p in self.plans)
        if self.scheme is None:
            rest = np.full((1,) * self.ndim, shift)
            for lam in self._eigs[1:]:
                rest = rest + lam
            self._rest = rest
            lowest = sum(float(np.min(p.eig.eigenvalues)) for p in self.plans) + shift
        else:
            local = min((float(d.min()) for _, d in self._chunks()), default=math.inf)
            lowest = self._allreduce(local, "MIN")
            if lowest < 0.0:
                self.shift, self.singular, self._rest = previous
                msg = not_definite_message(shift, lowest)
                raise SolverError(msg)
        if not self.singular and lowest <= 0.0:
            zero = any(bool(np.any(d == 0.0)) for _, d in self._chunks())
            if self._allreduce(zero, "LOR"):
                self.shift, self.singular, self._rest = previous
                msg = (
                    f"fastdiag: A is singular with shift c = {shift} (an eigenvalue sum is 0) "
                    f"and not a constant-null-space problem"
                )
                raise SolverError(msg)

    def _chunks(self):
        """Yield ``(rows, eigenvalues)`` per chunk of axis-0 rows (the zero mode set to 1)."""
        for i0 in range(0, self.shape[0], self._rows):
            rows = slice(i0, min(i0 + self._rows, self.shape[0]))
            lam0 = self._eigs[0][rows]
            if self.scheme is None:
                den = lam0 + self._rest
            else:
                den = self.scheme.combine([lam0, *self._eigs[1:]], self.shift)
                den = np.array(np.broadcast_to(den, (lam0.shape[0],) + self.shape[1:]))
            if self.singular and self.null_local is not None:
                j = self.null_local[0] - i0
                if 0 <= j < den.shape[0]:
                    den[(j, *self.null_local[1:])] = 1.0
            yield rows, den

    def divide(self, t: np.ndarray) -> None:
        """Divide the block ``t`` (the forward transform of ``b``) by the eigenvalues, in place.

        The zero mode of a singular problem is set to 0.
        """
        for rows, den in self._chunks():
            np.divide(self.scale, den, out=den)
            t[rows] *= den
        if self.singular and self.null_local is not None:
            t[self.null_local] = 0.0
