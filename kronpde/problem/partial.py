"""The structure of a partial fast diagonalisation: transforms on all axes but one.

A discretisation whose operator has the form

``A = W⁻¹ [ Σ_{i≠t} G_i ⊗ T_i + T_t + C ]``

returns a :class:`PartialStructure` from ``partial_structure()``; the solver
(:mod:`kronpde.solvers.tridiagonal_axis`) transforms along every axis but ``t``
and solves one tridiagonal system per mode along ``t``.  The derivation:
``docs/tridiagonal-axis.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from kronpde.geometry.grid import Axis
    from kronpde.operators.stencils import AxisOperator

__all__ = ["FirstRow", "PartialStructure"]


@dataclass(frozen=True, eq=False)
class FirstRow:
    """Per-mode replacement of the first row of each mode's tridiagonal system (the hook).

    A node-centred origin (polar, cylindrical) or pole is one unknown shared by
    every line of the transformed axes: in mode space only the constant mode
    couples to it, so the first row along ``t`` depends on the mode.  Each
    array broadcasts against the grid's shape with axis ``t`` of length 1
    (the modes, in the transform order of the other axes: ascending for the
    sine/cosine transforms and ``eigh``, FFT order on a periodic axis).

    Attributes
    ----------
    diag : ndarray
        Row 0's diagonal per mode.  It *replaces* ``diag[0] + Σ_i λ_i G_i[0]``
        (the shift's ``c · shift_weights[0]`` is still added when ``t`` holds
        the shift).
    upper : ndarray
        Row 0's coupling to row 1 per mode (replaces ``upper[0]``).
    rhs : ndarray
        Factor on the transformed right-hand side's row 0 per mode (e.g. 1 for
        the constant mode, 0 where the shared point's row is ``û_0 = 0``).
    null_weight : float or None
        The constant mode's left null vector at row 0 (the shared point's
        volume) where the system is singular; None keeps ``t_weights[0]``.
    couples : ndarray of bool or None
        Modes whose row 0 also gets ``Σ_{i≠t} λ_i G_i[0]`` from the solver's
        current eigenvalues (a shared point coupled along an axis that holds the
        shift, e.g. the radius of a 3-D spherical grid: ``set_shift`` redoes its
        eigenpairs); ``diag`` then leaves those terms out.  None: none.
    """

    diag: np.ndarray
    upper: np.ndarray
    rhs: np.ndarray
    null_weight: float | None = None
    couples: np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class PartialStructure:
    """``A = W⁻¹ [ Σ_{i≠t} G_i ⊗ T_i + T_t + C ]`` in the grid's axis order.

    Row ``z`` of mode ``m = (m_i)_{i≠t}``'s tridiagonal system along ``t`` is

    ``lower[z] û[z-1] + (diag[z] + Σ_{i≠t} λ_i[m_i] G_i[z] + c s[z]) û[z] + upper[z] û[z+1]
    = (S⁻¹ W b)[m, z]``

    where ``λ_i`` are the eigenvalues of ``T_i`` (``T_i = S_i Λ_i S_i⁻¹``,
    ``S = ⊗_{i≠t} S_i``), ``c`` the problem's shift and ``s`` the
    :attr:`shift_weights` (when :attr:`shift_axis` is ``t``).  On a periodic
    ``t`` the system is cyclic (``lower[0]`` multiplies ``û[n-1]``,
    ``upper[n-1]`` multiplies ``û[0]``).

    Attributes
    ----------
    axis : int
        ``t``, the tridiagonal axis.
    operators : tuple of (AxisOperator or None)
        Per axis, ``T_i`` in the form the fast solver diagonalises (DST/DCT/FFT
        for uniform axes, ``eigh`` of the weighted-symmetric ``T_i = M_i⁻¹ S_i``
        otherwise); None at ``t``.
    coupling : tuple of (ndarray or None)
        Per axis, ``G_i`` as a length-``n_t`` vector (None: ones; None at ``t``).
    lower, diag, upper : ndarray, shape (n_t,)
        ``T_t + C`` (without the shift ``c``).  ``lower[0]`` and ``upper[-1]``
        are the wrap entries of a periodic ``t`` (0 otherwise).
    periodic : bool
        Whether ``t`` is periodic (cyclic systems).
    t_weights : ndarray, shape (n_t,)
        Positive ``ω`` with ``diag(ω) (T_t + C)`` symmetric: the constant
        mode's left null vector where it is singular (the projection of the
        data, FISHPACK's PERTRB, and the gauge ``ω · û = 0``).
    rhs_weights : tuple of (ndarray or None)
        ``W`` per axis (None: ones): ``b`` is multiplied by it before the
        transforms.
    axes : tuple of (Axis or None)
        The grid's axes (their faces name the closed forms), or Nones.
    shift_axis : int or None
        Where ``c`` enters: ``t`` (``c · diag(shift_weights)`` added to every
        mode's diagonal), another axis ``i`` (``T_i + c diag(shift_weights)``:
        its eigenpairs are redone on a new shift; valid only when ``G_i`` times
        that is ``c W``), or None (the default ``t``).
    shift_weights : ndarray or None
        The diagonal ``c`` multiplies (None: ones).
    first_row : FirstRow or None
        The per-mode first row (a shared point at ``z = 0``), or None.
    unknowns : object or None
        Where the problem's unknowns are not the tensor of the axes' (a
        curvilinear grid's shared axis or pole point, counted once): an object
        with ``expand(b)`` (the unknowns to the tensor, flat: a shared value on
        every line) and ``reduce(u)`` (back, one copy each), e.g.
        :class:`kronpde.geometry.curvilinear.CurvilinearGrid`; None: the same.
        With a ``solve_with(tensor_solve, b, shift)`` it solves itself from
        tensor solves (a sphere's second pole, tied after the solve).
    note : str
        What a fast solve's report adds ("" for none).
    fixed_shift : float or None
        The one shift ``c`` the structure holds (a product ``k`` whose shift
        would vary along both axes in the bracket: ``0``), or None for any.
    """

    axis: int
    operators: tuple[AxisOperator | None, ...]
    coupling: tuple[np.ndarray | None, ...]
    lower: np.ndarray
    diag: np.ndarray
    upper: np.ndarray
    periodic: bool
    t_weights: np.ndarray
    rhs_weights: tuple[np.ndarray | None, ...] = ()
    axes: tuple[Axis | None, ...] = ()
    shift_axis: int | None = None
    shift_weights: np.ndarray | None = None
    first_row: FirstRow | None = None
    unknowns: object | None = None
    note: str = ""
    fixed_shift: float | None = None

    def __post_init__(self) -> None:
        """Check the lengths (a discretisation's bug, so a ValueError)."""
        d = len(self.operators)
        if not 0 <= self.axis < d or self.operators[self.axis] is not None:
            msg = f"PartialStructure: axis {self.axis} must be the one None of operators"
            raise ValueError(msg)
        n = len(self.diag)
        for name in ("lower", "upper", "t_weights"):
            if len(getattr(self, name)) != n:
                msg = f"PartialStructure: {name} must have length {n}"
                raise ValueError(msg)
        if len(self.coupling) != d:
            msg = f"PartialStructure: coupling must have {d} entries"
            raise ValueError(msg)
        for g in self.coupling:
            if g is not None and len(g) != n:
                msg = f"PartialStructure: each coupling must have length {n}"
                raise ValueError(msg)

    @property
    def ndim(self) -> int:
        """The number of axes."""
        return len(self.operators)

    def with_axes(self, axes: tuple[Axis | None, ...]) -> PartialStructure:
        """Return the same structure naming the grid's axes."""
        return replace(self, axes=tuple(axes))
