"""fastdiag-cg's reference on a curvilinear grid: a ``k`` of the tridiagonal coordinate.

A variable ``k`` on a curvilinear grid has no tridiagonal-axis form, but the
flux form of a ``k_ref(t)`` that varies along the tridiagonal axis ``t`` alone
has one (``Σ_{i≠t} (k_ref G_i) ⊗ T_i + K_t^{(k_ref)}``: a layered medium in
these coordinates).  :func:`layered_reference` takes ``k_ref(t)`` as the
control-volume geometric mean of ``k`` over each surface of constant ``t``
(one line per radius on a disc, per colatitude on the sphere) and builds that
structure from the constant-``k`` pieces of
:mod:`kronpde.problem.curvilinear_partial`: where ``k`` varies mostly along
``t`` the preconditioned CG needs far fewer iterations than with one constant
``k_ref`` (``docs/curvilinear.md``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from kronpde.problem.partial import PartialStructure

if TYPE_CHECKING:
    from kronpde.geometry.curvilinear import CurvilinearGrid

__all__ = ["layered_reference", "line_means"]


def line_means(grid: CurvilinearGrid, k: np.ndarray, t: int) -> np.ndarray:
    """Return the volume-weighted geometric mean of ``k`` (the unknowns') per index along ``t``."""
    tensor = grid.expand(np.asarray(k, dtype=float))
    w = grid.tensor_weights()
    others = tuple(i for i in range(grid.dimension) if i != t)
    return np.exp(np.sum(w * np.log(tensor), axis=others) / np.sum(w, axis=others))


def layered_reference(
    base: PartialStructure | None, grid: CurvilinearGrid, k: np.ndarray
) -> tuple[PartialStructure, np.ndarray] | None:
    """Return the structure of ``k_ref(t)``'s flux form and ``k_ref`` per index along ``t``.

    Parameters
    ----------
    base : PartialStructure or None
        The grid's structure for ``k = 1`` (None: no form, so None).
    grid : CurvilinearGrid
        The grid.
    k : ndarray
        ``k`` at the unknowns (shared points once), positive.

    Returns
    -------
    (PartialStructure, ndarray) or None
        None where ``base`` is None or the shift does not sit on ``t`` (a 3-D
        spherical grid, whose radius holds it: ``k(θ)`` would scale ``c`` too).

    Notes
    -----
    The couplings ``G_i`` take ``k_ref(z)``; the faces between ``z`` and
    ``z + 1`` along ``t`` take the geometric mean of the two values (any
    positive face value keeps the operator symmetric positive in the volumes'
    inner product, which is all a preconditioner needs); the boundary terms at
    ``t``'s ends take the end's value; a shared point's first row takes its face's.
    """
    if base is None or (base.shift_axis is not None and base.shift_axis != base.axis):
        return None
    t = base.axis
    line = line_means(grid, k, t)
    n = line.size
    face = np.sqrt(line * np.roll(line, -1))  # face z: between z and z + 1 (wrap at n - 1)
    lower, diag, upper = (np.asarray(v, dtype=float) for v in (base.lower, base.diag, base.upper))
    ends = diag + lower + upper  # what the faces' rows add (0 inside, by the row sums)
    new_upper = upper * face
    new_lower = lower * np.roll(face, 1)
    new_diag = -(new_lower + new_upper) + ends * line
    coupling = tuple(None if g is None else np.asarray(g) * line for g in base.coupling)
    first = base.first_row
    if first is not None:
        scale = face[0] if n > 1 else line[0]
        first = replace(
            first,
            diag=np.where(np.asarray(first.rhs) != 0.0, np.asarray(first.diag) * scale, first.diag),
            upper=np.asarray(first.upper) * scale,
        )
    found = replace(
        base, lower=new_lower, diag=new_diag, upper=new_upper, coupling=coupling, first_row=first
    )
    return found, line
