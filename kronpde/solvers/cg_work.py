"""The vector work of a CG iteration: three strategies behind one interface.

:func:`kronpde.solvers.cg.cg` runs one loop; the vector work of each step comes from a
:class:`NumpyUpdates` (below the size threshold) or its compiled variants,
:class:`CompiledUpdates` and :class:`JacobiUpdates`, which :func:`choose_updates` picks
once per solve.  ``docs/cg.md`` gives the protocols an operator joins them by
(``apply_dot``, ``inverse_diagonal``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy.sparse.linalg import LinearOperator

from kronpde.operators.kernels import (
    axpy,
    dot,
    new_direction,
    update_xr,
    update_xr_jacobi,
    use_compiled,
)

__all__ = [
    "CompiledUpdates",
    "JacobiUpdates",
    "NumpyUpdates",
    "choose_updates",
    "matvec_into_of",
    "plain_axpy",
    "plain_dot",
    "project_rows",
]


def plain_dot(a: np.ndarray, b: np.ndarray) -> float:
    """Return ``a · b``, single-threaded (NumPy's ``einsum``)."""
    # einsum's own loop is single-threaded; np.dot calls OpenBLAS ddot, whose helper
    # threads stall for milliseconds per call when the (two) cores are busy elsewhere
    return float(np.einsum("i,i->", a, b))


def plain_axpy(alpha: float, x: np.ndarray, y: np.ndarray, scratch: np.ndarray) -> None:
    """In place, ``y += alpha * x``; ``scratch`` (distinct from x and y) is overwritten."""
    np.multiply(x, alpha, out=scratch)
    np.add(y, scratch, out=y)


def matvec_into_of(op: LinearOperator) -> Callable[[np.ndarray, np.ndarray], None]:
    """Return ``op``'s ``matvec_into``, or a copying fallback built on ``op.matvec``."""
    into = getattr(op, "matvec_into", None)
    if callable(into):
        return into

    def copy_into(x: np.ndarray, out: np.ndarray) -> None:
        np.copyto(out, op.matvec(x), casting="same_kind")

    return copy_into


def project_rows(v: np.ndarray, rows: list[np.ndarray], scratch: np.ndarray) -> None:
    """In place, v -= Q Q^T v for orthonormal rows q of Q^T (modified Gram-Schmidt)."""
    for q in rows:
        plain_axpy(-plain_dot(q, v), q, v, scratch)


class NumpyUpdates:
    """The vector work of a CG iteration on the NumPy path: the strategy the CG loop calls.

    It holds the work vectors (``r``, ``z``, ``p``, ``Ap``; ``z`` is ``r`` itself without
    ``M``) and offers the steps of an iteration: :meth:`product` (``A p`` and ``p · A p``),
    :meth:`update` (``x`` and ``r``), :meth:`precondition` (``z = M r`` and ``r · z``) and
    :meth:`direction` (the new ``p``). :class:`CompiledUpdates` and :class:`JacobiUpdates`
    run the same steps in the compiled kernels; :func:`_updates` picks one per solve.
    ``Ap`` doubles as scratch wherever ``A p`` is not live: before the first product, and
    from the update of ``r`` to the next product.
    """

    def __init__(
        self,
        A_op: LinearOperator,
        M_op: LinearOperator | None,
        b: np.ndarray,
        rows: list[np.ndarray],
    ):
        n = b.shape[0]
        self.A_into = matvec_into_of(A_op)
        self.M_into = None if M_op is None else matvec_into_of(M_op)
        self.b = b
        self.rows = rows
        self.r = np.empty(n)
        self.p = np.empty(n)
        self.Ap = np.empty(n)
        # z = M r in the preconditioner's own precision (a single-precision fast solve)
        z_dtype = getattr(M_op, "work_dtype", np.float64)
        self.z = self.r if self.M_into is None else np.empty(n, dtype=z_dtype)

    def dot(self, a: np.ndarray, b: np.ndarray) -> float:
        """Return ``a · b``."""
        return plain_dot(a, b)

    def project(self, v: np.ndarray) -> None:
        """Project ``v`` in place onto the complement of the null space (``Ap`` is scratch)."""
        project_rows(v, self.rows, self.Ap)

    def true_residual(self, x: np.ndarray) -> float:
        """Set ``r = b - A x``, projected, and return ``||r||``."""
        self.A_into(x, self.Ap)
        np.subtract(self.b, self.Ap, out=self.r)
        self.project(self.r)
        return math.sqrt(self.dot(self.r, self.r))

    def initial_residual(self, x: np.ndarray, has_x0: bool) -> float:
        """Set ``r = b - A x0`` (``b`` for a zero guess; ``x`` projected) and return ``||r||``."""
        if not has_x0:
            np.copyto(self.r, self.b)
            return math.sqrt(self.dot(self.r, self.r))
        self.project(x)
        return self.true_residual(x)

    def precondition(self) -> float:
        """Set ``z = M r``, projected (nothing without ``M``), and return ``r · z``."""
        if self.M_into is not None:
            self.M_into(self.r, self.z)
            self.project(self.z)
        return self.dot(self.r, self.z)

    def product(self) -> float:
        """Set ``Ap = A p`` and return ``p · A p``."""
        self.A_into(self.p, self.Ap)
        return self.dot(self.p, self.Ap)

    def update(self, x: np.ndarray, alpha: float) -> tuple[float, float | None]:
        """``x += alpha p``, ``r -= alpha A p``, both projected; return ``(r · r, None)``.

        The second value is ``r · z`` when the update computed ``z = M r`` too (Jacobi in
        the compiled kernels), else None.
        """
        r, Ap = self.r, self.Ap
        np.multiply(Ap, alpha, out=Ap)
        np.subtract(r, Ap, out=r)
        plain_axpy(alpha, self.p, x, Ap)
        self.project(x)
        self.project(r)
        return plain_dot(r, r), None

    def first_direction(self) -> None:
        """``p = z``."""
        np.copyto(self.p, self.z)

    def direction(self, beta: float) -> None:
        """``p = z + beta p``."""
        np.multiply(self.p, beta, out=self.p)
        np.add(self.p, self.z, out=self.p)


class CompiledUpdates(NumpyUpdates):
    """:class:`NumpyUpdates` in the compiled kernels: ``x``, ``r`` and ``r · r`` in one pass."""

    def __init__(self, A_op, M_op, b, rows):
        super().__init__(A_op, M_op, b, rows)
        self.apply_dot = getattr(A_op, "apply_dot", None)

    def dot(self, a: np.ndarray, b: np.ndarray) -> float:
        """Return ``a · b`` (compiled)."""
        return dot(a, b, compiled=True)

    def project(self, v: np.ndarray) -> None:
        """Project ``v`` in place onto the complement of the null space (no scratch)."""
        for q in self.rows:
            axpy(-dot(q, v, compiled=True), q, v, compiled=True)

    def product(self) -> float:
        """Set ``Ap = A p`` and return ``p · A p``, in one pass when ``A`` offers ``apply_dot``."""
        if self.apply_dot is not None:
            return float(self.apply_dot(self.p, self.Ap))
        return super().product()

    def update(self, x: np.ndarray, alpha: float) -> tuple[float, float | None]:
        """:meth:`NumpyUpdates.update` with :func:`~kronpde.operators.kernels.update_xr`."""
        rr = update_xr(x, self.r, self.p, self.Ap, alpha, compiled=True)
        if self.rows:
            self.project(x)
            self.project(self.r)
            rr = self.dot(self.r, self.r)
        return rr, None

    def direction(self, beta: float) -> None:
        """``p = z + beta p`` (compiled)."""
        new_direction(self.p, self.z, beta, compiled=True)


class JacobiUpdates(CompiledUpdates):
    """:class:`CompiledUpdates` whose update applies Jacobi ``z = r * inverse_diagonal`` too."""

    def __init__(self, A_op, M_op, b, rows, inverse_diagonal: np.ndarray):
        super().__init__(A_op, M_op, b, rows)
        self.inverse_diagonal = inverse_diagonal

    def update(self, x: np.ndarray, alpha: float) -> tuple[float, float | None]:
        """Update ``x``, ``r`` and ``z = M r``; return ``(r · r, r · z)``."""
        return update_xr_jacobi(
            x, self.r, self.z, self.p, self.Ap, self.inverse_diagonal, alpha, compiled=True
        )


def choose_updates(
    A_op: LinearOperator, M_op: LinearOperator | None, b: np.ndarray, rows: list[np.ndarray]
) -> NumpyUpdates:
    """Pick the vector work of a solve: NumPy below the size threshold, else compiled.

    Above it a Jacobi ``M`` (an ``inverse_diagonal`` of ``n`` entries, no null space) joins
    the update of ``x`` and ``r`` (:class:`JacobiUpdates`).
    """
    n = b.shape[0]
    if not use_compiled(n):
        return NumpyUpdates(A_op, M_op, b, rows)
    inv_diag = getattr(M_op, "inverse_diagonal", None) if not rows else None
    if inv_diag is not None:
        inv_diag = np.ascontiguousarray(inv_diag, dtype=np.float64).reshape(-1)
        if inv_diag.size == n:
            return JacobiUpdates(A_op, M_op, b, rows, inv_diag)
    return CompiledUpdates(A_op, M_op, b, rows)
