"""Partial fast diagonalisation: transforms on every axis but one, tridiagonal solves along it.

:class:`TridiagonalAxisSolver` solves ``A u = b`` for
``A = W⁻¹ [ Σ_{i≠t} G_i ⊗ T_i + T_t + C ]``
(:class:`~kronpde.problem.partial.PartialStructure`): it scales ``b`` by
``W``, transforms along every axis but ``t`` (the closed forms of
:mod:`kronpde.solvers.fastdiag_axes`, or dense ``eigh`` eigenvectors), solves
one tridiagonal system per mode along ``t``
(:func:`kronpde.operators.kernels.tridiagonal.solve_modes`) and transforms
back.  :class:`~kronpde.solvers.fastdiag.FastDiag` runs it for a discretisation
that gives a partial structure and no eigen structure.  Derivation and
usage: ``docs/tridiagonal-axis.md``.
"""

from __future__ import annotations

import math
import os
import time
from typing import Any

import numpy as np

from kronpde._checks import is_count, is_real
from kronpde.errors import SolverError
from kronpde.operators.kernels import MIN_COMPILED_SIZE
from kronpde.operators.kernels.tridiagonal import ModeSystems, solve_modes
from kronpde.operators.matmul import matmul_axis
from kronpde.operators.stencils import AxisOperator, closed_form
from kronpde.problem.partial import PartialStructure
from kronpde.solvers.fastdiag_axes import REAL_TRANSFORMS, AxisPlan, plan_axis
from kronpde.solvers.halfcomplex import fft_positions, halfcomplex
from kronpde.solvers.tridiagonal_modes import (
    all_dominant,
    null_rows,
    null_solve,
    null_system_singular,
)
from kronpde.solvers.tridiagonal_resonance import mode_resonance

__all__ = [
    "EIGH_TRIDIAGONAL_MIN_N",
    "TRIDIAGONAL_MIN_SIZE",
    "TridiagonalAxisSolver",
    "kronecker_partial",
    "kronecker_route",
]

#: From this many unknowns ``fastdiag`` solves a Kronecker sum (second order, ``c >= 0``, no
#: periodic axis) with a tridiagonal axis instead of transforming every axis: the compiled
#: Thomas solve (from :data:`~kronpde.operators.kernels.MIN_COMPILED_SIZE`, where the
#: kernels are used) replaces one axis' transforms and the stored ``1/Λ`` (the prepared
#: in-place solve then needs no array of the grid's size beyond ``b``).  Below it the
#: full fast diagonalisation stays (the NumPy path of the tridiagonal solve is slower).
TRIDIAGONAL_MIN_SIZE = MIN_COMPILED_SIZE
#: An axis with dense (``eigh``) eigenvectors, a stretched or Robin axis, becomes the
#: tridiagonal axis from this many points (its GEMMs cost ``2n`` flops per unknown per
#: direction, the compiled Thomas solve about 8 whatever ``n``).  Measured with
#: ``scripts/bench_tridiagonal.py --crossover`` (2-core shared machine, 2026-12-07, one
#: thread, a stretched axis of ``n`` points times a DST-I axis, 2^18 unknowns, minimum of
#: 3 interleaved rounds of 5): tridiagonal / full solve 0.94 at n = 3, 0.92 at 7 (within
#: the noise), 0.75 at 15, 0.42 at 63, 0.45 at 255, 0.27 at 511.  From 8 points on the
#: tridiagonal axis wins clearly; below, the two are alike and the dense path stays.
EIGH_TRIDIAGONAL_MIN_N = 8

#: Relative size of a row sum below which a system counts as having the constants in its kernel.


class TridiagonalAxisSolver:
    """Exact solver of ``A u = b`` for a :class:`PartialStructure` (prepare once, solve many).

    Parameters
    ----------
    structure : PartialStructure
        The operator (``docs/tridiagonal-axis.md``).
    shift : float
        ``c``: enters as the structure's :attr:`~PartialStructure.shift_weights` say.
    workers : int, optional
        Threads of ``scipy.fft`` (default ``os.cpu_count()``).
    force_eigh : bool
        Dense ``eigh`` eigenvectors on every transformed axis.
    kernels : {"auto", "transform", "gemm"}
        As for :class:`~kronpde.solvers.fastdiag.FastDiagSolver` (a periodic
        transformed axis' transform is the real FFT in halfcomplex order,
        :mod:`kronpde.solvers.halfcomplex`, or the real Fourier basis by GEMM).
    compiled : bool, optional
        Force the numba tridiagonal kernels (True) or the NumPy path (False);
        default by size.

    Attributes
    ----------
    shape : tuple of int
        The unknowns per axis.
    axis : int
        ``t``.
    axis_methods : tuple of str
        Per axis the eigenpairs used (:class:`FastDiagSolver`'s names), ``"tridiagonal"`` at ``t``.
    singular : bool
        The constant mode's system is singular (``c = 0``, pure Neumann or
        periodic): its data are projected (:attr:`last_projected_norm`) and
        ``ω · u = 0`` (``mean_w(u) = 0``).
    pivoting : bool
        Whether some system may not be diagonally dominant (pivoting solves).
    """

    def __init__(
        self,
        structure: PartialStructure,
        shift: float = 0.0,
        *,
        workers: int | None = None,
        force_eigh: bool = False,
        kernels: str = "auto",
        compiled: bool | None = None,
    ):
        t0 = time.perf_counter()
        if not isinstance(structure, PartialStructure):
            msg = f"tridiagonal axis: need a PartialStructure, got {type(structure).__name__}"
            raise TypeError(msg)
        if workers is None:
            workers = os.cpu_count() or 1
        if not is_count(workers, 1):
            msg = f"fastdiag: workers must be a positive integer, got {workers!r}"
            raise ValueError(msg)
        self.workers = int(workers)
        self.structure = s = structure
        self.axis = t = s.axis
        self.ndim = s.ndim
        self.force_eigh, self.kernels, self.compiled = force_eigh, kernels, compiled
        self.shape = tuple(
            len(s.diag) if i == t else op.n
            for i, op in enumerate(s.operators)  # type: ignore[union-attr]
        )
        self.size = math.prod(self.shape)
        self._pq = (math.prod(self.shape[:t]), self.shape[t], math.prod(self.shape[t + 1 :]))
        self._plans: list[AxisPlan | None] = [self._plan(i, 0.0) for i in range(self.ndim)]
        self._groups = self._coupling_groups()
        self.shift = math.nan
        self.last_projected_norm = 0.0
        self.warning: str | None = None
        self.condition = None
        self._set_shift(shift)
        self.setup_seconds = time.perf_counter() - t0

    # -- construction ----------------------------------------------------------------
    @classmethod
    def from_problem(cls, problem: Any, **options: Any) -> TridiagonalAxisSolver:
        """Prepare the solver of a problem whose discretisation gives ``partial_structure()``."""
        structure = problem.discretisation.partial_structure()
        if structure is None:  # a Kronecker sum: its slowest axis
            eigen = problem.discretisation.eigen_structure()
            if eigen is not None and eigen.combination is None:
                structure = kronecker_partial(eigen.operators, problem.grid.axes, 0)
        if structure is None:
            msg = "fastdiag: the problem has no tridiagonal-axis structure"
            raise ValueError(msg)
        if not structure.axes:
            structure = structure.with_axes(problem.grid.axes)
        return cls(structure, problem.shift, **options)

    def _axis_of(self, i: int) -> Any:
        axes = self.structure.axes
        return axes[i] if axes else None

    def _plan(self, i: int, shift: float) -> AxisPlan | None:
        s = self.structure
        op = s.operators[i]
        if op is None:
            return None
        axis = self._axis_of(i)
        if shift != 0.0 and s.shift_axis == i:
            w = np.ones(op.n) if s.shift_weights is None else s.shift_weights
            op = AxisOperator(
                op.diag + shift * w, op.lower, op.upper, op.periodic, op.weights, op.lift
            )
            axis = None
        return plan_axis(op, axis, self.force_eigh, self.kernels)

    def _positions(self, i: int) -> np.ndarray | None:
        """Axis ``i``'s modes in the spectrum's order where it is not the eigenpairs' order.

        A periodic axis by the real FFT holds them in halfcomplex order
        (:func:`~kronpde.solvers.halfcomplex.fft_positions`); None otherwise.
        """
        p = self._plans[i]
        if p is None or p.kernel != "transform" or p.method != "fft":
            return None
        return fft_positions(p.eig.n)

    def _eigenvalues(self, i: int) -> np.ndarray:
        """Axis ``i``'s eigenvalues in the spectrum's order."""
        lam = self._plans[i].eig.eigenvalues  # type: ignore[union-attr]
        pos = self._positions(i)
        return lam if pos is None else lam[pos]

    def _coupling_groups(self) -> list[tuple[np.ndarray, list[int]]]:
        """Group the other axes by equal coupling vectors ``G_i``."""
        s, n = self.structure, self.shape[self.axis]
        groups: list[tuple[np.ndarray, list[int]]] = []
        for i in range(self.ndim):
            if i == self.axis:
                continue
            g = np.ones(n) if s.coupling[i] is None else np.asarray(s.coupling[i], dtype=float)
            for gk, members in groups:
                if np.array_equal(gk, g):
                    members.append(i)
                    break
            else:
                groups.append((g, [i]))
        return groups or [(np.zeros(n), [])]

    @property
    def single_ready(self) -> bool:
        """Whether :meth:`solve` may write a float32 ``out`` (a single-precision solve).

        Where every other axis is a real transform (DST/DCT by scipy.fft, which keeps
        float32) and no shared point merges unknowns: the tensor is then transformed
        and solved in float32 (the tridiagonal kernels still compute in float64).
        """
        return self.structure.unknowns is None and all(
            p is None or (p.kernel == "transform" and p.method != "fft") for p in self._plans
        )

    @property
    def axis_methods(self) -> tuple[str, ...]:
        """Per axis the eigenpairs used, ``"tridiagonal"`` at ``t``."""
        return tuple("tridiagonal" if p is None else p.method for p in self._plans)

    # -- the shift -----------------------------------------------------------------------
    def set_shift(self, shift: float) -> None:
        """Change ``c`` (the mode systems' diagonal; a transformed axis' eigenpairs if it holds c).

        Raises
        ------
        ValueError
            If ``shift`` is not a finite number.
        """
        previous = self.shift
        try:
            self._set_shift(shift)
        except (ValueError, SolverError):
            self._set_shift(previous)
            raise

    def _set_shift(self, shift: float) -> None:
        if not is_real(shift) or not math.isfinite(float(shift)):
            msg = f"fastdiag: shift must be a finite number, got {shift!r}"
            raise ValueError(msg)
        shift = float(shift)
        s = self.structure
        if s.fixed_shift is not None and shift != s.fixed_shift:
            msg = (
                f"fastdiag: this operator's tridiagonal-axis form holds the shift c = "
                f"{s.fixed_shift:g} only (a product k: c would vary along both axes); "
                "use method 'direct' or 'fastdiag-cg'"
            )
            raise ValueError(msg)
        t = self.axis
        on_t = s.shift_axis is None or s.shift_axis == t
        if not on_t and (shift != self.shift):
            i = int(s.shift_axis)  # type: ignore[arg-type]
            self._plans[i] = self._plan(i, shift)
        self.shift = shift
        n = self.shape[t]
        sw = np.ones(n) if s.shift_weights is None else np.asarray(s.shift_weights, float)
        diag = np.array(s.diag, dtype=float) + (shift * sw if on_t else 0.0)
        lp, lq = self._eigenvalue_sums()
        g = np.ascontiguousarray(np.array([gk for gk, _ in self._groups]))
        first = self._first_row(shift * sw[0] if on_t else 0.0, lp, lq)
        null = self._null_mode()
        self.singular = (
            shift == 0.0
            and null is not None
            and null_system_singular(*self._null_rows(null), s.periodic)
        )
        cyclic = s.periodic and n >= 3
        self.condition, self.warning = self._resonance(
            diag, lp, lq, g, sw, shift, on_t, cyclic, first
        )
        dominant = all_dominant(self.structure, diag, lp, lq, g, first, cyclic)
        self.pivoting = not dominant
        self._systems = ModeSystems(
            np.ascontiguousarray(s.lower, dtype=float),
            diag,
            np.ascontiguousarray(s.upper, dtype=float),
            lp,
            lq,
            g,
            cyclic,
            first,
            null if self.singular else None,
            dominant,
        )
        self._roundtrip = math.prod(p.roundtrip for p in self._plans if p is not None)
        self._rhs_factor = self._first_row_rhs()

    def _resonance(self, diag, lp, lq, g, sw, shift, on_t, cyclic, first) -> tuple:  # noqa: ANN001
        """``(condition, warning)`` for ``c < 0`` (:mod:`~kronpde.solvers.tridiagonal_resonance`).

        Checked where ``c`` enters the mode systems as ``c R`` (``R`` the weights of
        ``t`` in ``W``) and every system is tridiagonal (not cyclic), a shared point's
        per-mode first row included; raises at an eigenvalue.
        """
        s = self.structure
        if shift >= 0.0 or not on_t or cyclic or getattr(s.unknowns, "solve_with", None):
            return None, None
        rw = s.rhs_weights[self.axis] if s.rhs_weights else None
        r = np.ones(sw.size) if rw is None else np.asarray(rw, dtype=float)
        if not np.allclose(sw, r, rtol=1e-12, atol=0.0):
            return None, None
        sums = (lp[:, :, None] + lq[:, None, :]).reshape(lp.shape[0], -1)
        rows = None if first is None else (*first, self._first_row_rhs())
        found = mode_resonance(s.lower, diag, s.upper, sums, g, r, shift, max(self.shape), rows)
        return (None, None) if found is None else found

    def _eigenvalue_sums(self) -> tuple[np.ndarray, np.ndarray]:
        t = self.axis
        lps, lqs = [], []
        for _, members in self._groups:
            before = np.zeros(self.shape[:t])
            after = np.zeros(self.shape[t + 1 :])
            for i in members:
                lam = self._eigenvalues(i)
                if i < t:
                    shape = [1] * t
                    shape[i] = lam.size
                    before = before + lam.reshape(shape)
                else:
                    shape = [1] * (self.ndim - t - 1)
                    shape[i - t - 1] = lam.size
                    after = after + lam.reshape(shape)
            lps.append(np.broadcast_to(before, self.shape[:t]).reshape(-1))
            lqs.append(np.broadcast_to(after, self.shape[t + 1 :]).reshape(-1))
        return np.ascontiguousarray(np.array(lps)), np.ascontiguousarray(np.array(lqs))

    def _modes(self, a: np.ndarray) -> np.ndarray:
        """Return a per-mode array (broadcasting with axis ``t`` of length 1) as ``(P, Q)``."""
        shape = list(self.shape)
        shape[self.axis] = 1
        npl, _, nq = self._pq
        a = np.broadcast_to(a, shape)
        for i in range(self.ndim):  # the FirstRow's FFT order to the halfcomplex one
            pos = self._positions(i)
            if pos is not None and i != self.axis:
                a = np.take(a, pos, axis=i)
        return np.ascontiguousarray(a.reshape(npl, nq), dtype=float)

    def _first_row(self, add: float, lp: np.ndarray, lq: np.ndarray) -> tuple | None:
        fr = self.structure.first_row
        if fr is None:
            return None
        diag = self._modes(fr.diag) + add
        if fr.couples is not None:  # the eigenvalue terms of row 0 at this shift
            terms = sum(
                (lp[k][:, None] + lq[k][None, :]) * gk[0] for k, (gk, _) in enumerate(self._groups)
            )
            diag = diag + np.where(self._modes(fr.couples) != 0.0, terms, 0.0)
        return diag, self._modes(fr.upper)

    def _first_row_rhs(self) -> np.ndarray | None:
        fr = self.structure.first_row
        return None if fr is None else self._modes(fr.rhs)

    def _null_mode(self) -> tuple[int, int] | None:
        """Return the constant mode's ``(p, q)`` where every transformed axis has one, else None."""
        t = self.axis
        idx = []
        for i, p in enumerate(self._plans):
            if p is None:
                continue
            if not p.eig.singular:
                return None
            pos = self._positions(i)
            null = p.eig.null_index
            idx.append(null if pos is None else int(np.flatnonzero(pos == null)[0]))
        before = idx[:t]
        after = idx[t:]
        pp = int(np.ravel_multi_index(before, self.shape[:t])) if before else 0
        qq = int(np.ravel_multi_index(after, self.shape[t + 1 :])) if after else 0
        return pp, qq

    def _null_rows(self, null: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(lower, diag, upper)`` of the constant mode's system (c = 0)."""
        fr = self.structure.first_row
        first = None if fr is None else (self._modes(fr.diag)[null], self._modes(fr.upper)[null])
        return null_rows(self.structure, first)

    # -- solve -------------------------------------------------------------------------
    def solve(
        self, b: np.ndarray, out: np.ndarray | None = None, *, record: bool = True
    ) -> np.ndarray:
        """Solve ``A u = b`` (exactly, up to rounding); ``out`` may be ``b`` itself.

        A float32 ``out`` (where :attr:`single_ready`) makes it a single-precision
        solve: ``b`` is rounded to float32 in the first pass and every later pass
        works on ``out``.  Where the structure's :attr:`~PartialStructure.unknowns` merge
        the copies of a shared point, ``b`` and ``out`` are the problem's unknowns: ``b``
        is expanded to the tensor, solved there and reduced (only the constant mode holds
        the point).
        """
        merged = self.structure.unknowns
        if merged is None:
            return self._tensor_solve(b, out, record=record)
        flat = np.asarray(b).reshape(-1)
        if hasattr(merged, "solve_with"):  # copies tied after the solve (a sphere's two poles)
            found = merged.solve_with(
                lambda bt: self._tensor_solve(bt, None, record=record), flat, self.shift
            )
        else:
            x = self._tensor_solve(merged.expand(flat).reshape(-1), None, record=record)  # type: ignore[attr-defined]
            found = merged.reduce(x)  # type: ignore[attr-defined]
        if out is None:
            return found.reshape(np.shape(b))
        out.reshape(-1)[...] = found
        return out

    def _tensor_solve(
        self, b: np.ndarray, out: np.ndarray | None = None, *, record: bool = True
    ) -> np.ndarray:
        """Solve ``A u = b`` on the tensor of the axes' unknowns (:meth:`solve`).

        Parameters
        ----------
        b : ndarray, shape (N,) or :attr:`shape`
            The right-hand side (not modified unless it is ``out``).
        out : ndarray, optional
            C-contiguous float64 array of ``b``'s shape for the solution, or float32
            where :attr:`single_ready` (a single-precision solve).
        record : bool
            For a singular system, record :attr:`last_projected_norm` (else NaN).

        Returns
        -------
        ndarray, same shape as ``b``
        """
        b_arr = np.asarray(b)
        if b_arr.size != self.size or b_arr.shape not in ((self.size,), self.shape):
            msg = f"fastdiag: b must have shape ({self.size},) or {self.shape}, got {b_arr.shape}"
            raise ValueError(msg)
        src = b_arr.reshape(self.shape)
        if out is None:
            out = np.empty(b_arr.shape)
        elif (
            not isinstance(out, np.ndarray)
            or out.shape != b_arr.shape
            or out.dtype not in (np.float64, np.float32)
            or (out.dtype == np.float32 and not self.single_ready)
            or not out.flags.c_contiguous
        ):
            msg = f"fastdiag: out must be a C-contiguous float64 array of shape {b_arr.shape}"
            raise ValueError(msg)
        dst = out.reshape(self.shape)
        norm_b = (
            math.sqrt(float(np.einsum("i,i->", src.reshape(-1), src.reshape(-1))))
            if (self.singular and record)
            else 0.0
        )
        scale: Any = 1.0 / self._roundtrip  # folded into the first weight: one pass less
        for i, w in enumerate(self.structure.rhs_weights):
            if w is not None:
                shape = [1] * self.ndim
                shape[i] = self.shape[i]
                if scale is None:
                    dst *= np.reshape(w, shape)
                else:
                    np.multiply(src, np.reshape(w, shape) * scale, out=dst)
                    scale = None
        if scale is not None:
            np.multiply(src, scale, out=dst)
        work = None
        cur, work = self._transform(dst, work, inverse=False)
        x3 = cur.reshape(self._pq)
        if self._rhs_factor is not None:
            x3[:, 0, :] *= self._rhs_factor
        null_line = None
        if self.singular:
            p, q = self._systems.skip  # type: ignore[misc]
            null_line = x3[p, :, q].copy()
        solve_modes(x3, self._systems, self.compiled)
        if null_line is not None:
            p, q = self._systems.skip  # type: ignore[misc]
            rows = self._null_rows(self._systems.skip)  # type: ignore[arg-type]
            x3[p, :, q], removed = null_solve(null_line, rows, self.structure)
            self.last_projected_norm = (
                abs(removed) * self._null_norm() / norm_b
                if record and norm_b
                else (math.nan if not record else 0.0)
            )
        else:
            self.last_projected_norm = 0.0
        cur, work = self._transform(cur, work, inverse=True)
        if cur is not dst:
            np.copyto(dst, cur)
        return out

    def _transform(
        self, x: np.ndarray, work: np.ndarray | None, inverse: bool
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Transform along every axis but ``t`` (unscaled); returns the array holding the result."""
        groups: dict[str, list[int]] = {}
        gemm, periodic = [], []
        for i, p in enumerate(self._plans):
            if p is None:
                continue
            if p.kernel == "gemm":
                gemm.append(i)
            elif p.method == "fft":
                periodic.append(i)
            else:
                groups.setdefault(p.method, []).append(i)
        if inverse:
            gemm.reverse()
        for method, axes in groups.items():
            fwd, inv, typ = REAL_TRANSFORMS[method]
            func = inv if inverse else fwd
            norm = "forward" if inverse else "backward"
            y = func(x, type=typ, axes=axes, norm=norm, overwrite_x=True, workers=self.workers)
            if not np.shares_memory(y, x):  # pragma: no cover - scipy works in place
                np.copyto(x, y)
        if periodic:
            halfcomplex(x, periodic, inverse, self.workers)
        for i in gemm:
            plan = self._plans[i]
            mat = plan.backward if inverse else plan.forward  # type: ignore[union-attr]
            if work is None:
                work = np.empty(self.shape)
            matmul_axis(mat, x, i, out=work)
            x, work = work, x
        return x, work

    def _null_norm(self) -> float:
        """Return ``||removed part of b||_2`` per unit of the removed spectral constant."""
        factor = self._roundtrip
        for p in self._plans:
            if p is None:
                continue
            e = np.zeros(p.eig.n)
            e[p.eig.null_index] = 1.0
            if p.kernel == "gemm":
                v = p.backward @ e  # type: ignore[operator]
            elif p.method == "fft":
                v = np.ones(p.eig.n)  # the unscaled inverse FFT of the constant mode
            else:
                _, inv, typ = REAL_TRANSFORMS[p.method]
                v = inv(e, type=typ, norm="forward")
            factor *= float(v[0])
        norm2 = 1.0
        for i in range(self.ndim):
            w = self.structure.rhs_weights[i] if self.structure.rhs_weights else None
            norm2 *= float(self.shape[i]) if w is None else float(np.sum(1.0 / np.square(w)))
        return abs(factor) * math.sqrt(norm2)

    def __repr__(self) -> str:
        """Return a one-line summary."""
        return (
            f"TridiagonalAxisSolver(shape={self.shape}, axis={self.axis}, "
            f"methods={self.axis_methods}, shift={self.shift:g}, singular={self.singular})"
        )


def kronecker_partial(
    ops: tuple[AxisOperator, ...], axes: tuple[Any, ...] | None, t: int
) -> PartialStructure:
    """Return the Kronecker sum ``Σ_i T_i`` as a :class:`PartialStructure` with axis ``t``.

    ``G_i = 1``, ``W = 1``, ``T_t`` the tridiagonal rows of ``ops[t]``.
    """
    op = ops[t]
    return PartialStructure(
        axis=t,
        operators=tuple(None if i == t else o for i, o in enumerate(ops)),
        coupling=(None,) * len(ops),
        lower=op.lower.copy(),
        diag=op.diag.copy(),
        upper=op.upper.copy(),
        periodic=op.periodic,
        t_weights=np.array(op.weights, dtype=float),
        rhs_weights=(None,) * len(ops),
        axes=tuple(axes) if axes is not None else (),
    )


def kronecker_route(
    ops: tuple[AxisOperator, ...],
    axes: tuple[Any, ...] | None,
    shift: float,
    combination: Any = None,
    *,
    force_eigh: bool = False,
    kernels: str = "auto",
) -> int | None:
    """Return the axis a Kronecker sum is best solved tridiagonally along, or None (transform all).

    A second-order sum (``combination`` None), ``c >= 0``, no periodic axis, at
    least two axes and :data:`TRIDIAGONAL_MIN_SIZE` unknowns: the largest axis
    whose eigenvectors are dense (``eigh``) with :data:`EIGH_TRIDIAGONAL_MIN_N`
    points or more, else axis 0 (the slowest: the Thomas sweeps run across
    contiguous modes).
    """
    if combination is not None or force_eigh or kernels != "auto" or shift < 0.0:
        return None
    if len(ops) < 2 or math.prod(op.n for op in ops) < TRIDIAGONAL_MIN_SIZE:
        return None
    if any(op.periodic for op in ops):
        return None
    dense = [
        i
        for i, op in enumerate(ops)
        if op.n >= EIGH_TRIDIAGONAL_MIN_N and closed_form(op, axes[i] if axes else None) is None
    ]
    if dense:
        return max(dense, key=lambda i: (ops[i].n, -i))
    return 0
