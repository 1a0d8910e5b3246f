"""Cell-centred (staggered) 1-D operators: the flux form, the ghost rules and the closed forms.

The finite-volume rows of a cell-centred axis (ghost values mirrored across its faces, the
cell widths as weights) and the eigenpairs of a uniform axis (DST/DCT of types II and IV).
The rows, the ghost rules and the closed forms: ``docs/cell-centred.md``.
"""

from __future__ import annotations

import numpy as np

from kronpde.geometry.boundary import Dirichlet, Neumann
from kronpde.geometry.grid import Axis

__all__ = [
    "CELL_CLOSED_FORMS",
    "cell_angles",
    "cell_face_k_rows",
    "cell_coefficients",
    "cell_face_k",
    "cell_pattern",
    "cell_rows",
    "cell_vectors",
    "cell_window",
]

#: The closed forms of a cell-centred, non-periodic axis, by the letters of its faces
#: (D: Dirichlet; N: Neumann, or Robin with alpha = 0).
CELL_CLOSED_FORMS = {("D", "D"): "dst2", ("N", "N"): "dct2", ("D", "N"): "dst4", ("N", "D"): "dct4"}


def cell_face_k(axis: Axis, k: np.ndarray) -> np.ndarray:
    """Return ``k`` on the interior faces of a cell-centred axis from its values at the centres.

    The harmonic mean of the two neighbours, weighted by the half-cell widths
    on a stretched axis, ``k_f = (w_a + w_b) / (w_a/k_a + w_b/k_b)``: the
    conductance of the two half-cells in series (exact for a ``k`` that is
    constant on each cell).  On a uniform axis it is the plain harmonic mean
    :func:`kronpde.operators.stencils.harmonic_mean` computes, ``k_a (2 k_b/(k_a + k_b))``
    (equal values give ``k_a`` bit for bit).

    Parameters
    ----------
    axis : Axis
        A cell-centred axis.
    k : ndarray, shape (..., cells)
        ``k > 0`` at the cell centres of every line (axis last).

    Returns
    -------
    ndarray, shape (..., cells + 1)
        ``k`` on every face ``0..m``.  Interior faces are filled; on a periodic
        axis faces ``0`` and ``m`` (one face) join cells ``m - 1`` and ``0``;
        on other axes the boundary faces hold the boundary cell's value (the
        caller replaces them with ``k`` at the face, see
        :func:`cell_coefficients`).
    """
    k = np.asarray(k, dtype=float)
    out = np.empty((*k.shape[:-1], axis.cells + 1))
    a, b = k[..., :-1], k[..., 1:]
    if axis.uniform:
        out[..., 1:-1] = a * (2.0 * b / (a + b))
    else:
        w = axis.spacings
        wa, wb = w[:-1], w[1:]
        out[..., 1:-1] = (wa + wb) / (wa / a + wb / b)
    if axis.periodic:
        a, b = k[..., -1], k[..., 0]
        if axis.uniform:
            out[..., 0] = a * (2.0 * b / (a + b))
        else:
            wa, wb = axis.spacings[-1], axis.spacings[0]
            out[..., 0] = (wa + wb) / (wa / a + wb / b)
        out[..., -1] = out[..., 0]
    else:
        out[..., 0] = k[..., 0]
        out[..., -1] = k[..., -1]
    return out


def cell_coefficients(
    axis: Axis, face_k: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rows of the cell-centred flux form of ``-(k u')'``, for many lines.

    The module docstring gives the rows.  The layout is that of
    :func:`kronpde.operators.stencils.diffusion_coefficients` (and of
    :class:`~kronpde.operators.stencils.AxisOperator`), including the folding of periodic
    axes with one or two cells.

    Parameters
    ----------
    axis : Axis
        A cell-centred axis (uniform or stretched) and its conditions.
    face_k : ndarray, shape (..., cells + 1), optional
        ``k > 0`` on every face of every line (leading axes: independent
        lines), boundary faces included: there it is ``k`` at the face itself.
        On a periodic axis face ``m`` is face ``0`` (entry ``m`` is not used).
        Default 1.

    Returns
    -------
    diag, lower, upper : ndarray, shape (..., cells)
        The coefficients of ``u_{j-1}``, ``u_j``, ``u_{j+1}`` in row ``j``.
    lift_lower, lift_upper : ndarray, shape (...)
        Factors of the lower / upper face's data ``g`` on the first / last
        row's right-hand side (0 for periodic axes).

    Examples
    --------
    >>> from kronpde import Axis, Neumann
    >>> axis = Axis(4, upper_bc=Neumann(), centering="cell")   # h = 1/4, Dirichlet below
    >>> d, lo, up, lift_lo, lift_hi = cell_coefficients(axis)
    >>> (d / 16).tolist(), (lo / 16).tolist(), float(lift_lo / 16), float(lift_hi / 4)
    ([3.0, 2.0, 2.0, 1.0], [0.0, -1.0, -1.0, -1.0], 2.0, 1.0)
    """
    m = axis.cells
    w = axis.spacings
    if face_k is None:
        face_k = np.ones(m + 1)
    face_k = np.asarray(face_k, dtype=float)
    lead = face_k.shape[:-1]
    # conductance k_f / d_f of the interior faces 1..m-1, then per row / w_j
    d = 0.5 * (w[:-1] + w[1:])
    g = face_k[..., 1:m] / d
    diag = np.zeros((*lead, m))
    lower = np.zeros((*lead, m))
    upper = np.zeros((*lead, m))
    left = g / w[1:]  # face j (between j-1 and j) in row j
    right = g / w[:-1]  # face j+1 in row j
    diag[..., 1:] += left
    diag[..., :-1] += right
    lower[..., 1:] = -left
    upper[..., :-1] = -right
    lift_lo = np.zeros(lead)
    lift_hi = np.zeros(lead)
    if axis.periodic:
        wrap = face_k[..., 0] / (0.5 * (w[-1] + w[0]))
        if m == 1:  # the only face joins the cell to itself: the row is identically zero
            return diag, lower, upper, lift_lo, lift_hi
        first, last = wrap / w[0], wrap / w[-1]
        diag[..., 0] += first
        diag[..., -1] += last
        if m == 2:  # both neighbours are the other cell: fold onto the in-range coupling
            upper[..., 0] -= first
            lower[..., 1] -= last
        else:
            lower[..., 0] = -first
            upper[..., -1] = -last
        return diag, lower, upper, lift_lo, lift_hi
    for side, bc in ((0, axis.lower_bc), (1, axis.upper_bc)):
        row = m - 1 if side else 0
        kf = face_k[..., m] if side else face_k[..., 0]
        h = w[row]  # the ghost centre is one boundary-cell width away
        if isinstance(bc, Dirichlet):
            factor = 2.0 * kf / (h * w[row])
            diag[..., row] += factor
            lift = factor
        elif isinstance(bc, Neumann):
            lift = kf / w[row]
        else:  # Robin: alpha (u_0 + u_g)/2 + beta (u_g - u_0)/h = g
            denominator = w[row] * (0.5 * bc.alpha * h + bc.beta)
            diag[..., row] += kf * (bc.alpha / denominator)
            lift = kf / denominator
        if side == 0:
            lift_lo = lift
        else:
            lift_hi = lift
    lower = lower + 0.0  # no negative zeros where a row has no such neighbour
    upper = upper + 0.0
    return diag, lower, upper, np.array(lift_lo, dtype=float), np.array(lift_hi, dtype=float)


# --------------------------------------------------------------------------- closed forms


def cell_pattern(kind: str, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coefficients ``(diag, lower, upper)`` of a cell-centred closed form with ``s = 1``.

    ``[-1, 2, -1]`` inside; the diagonal of a boundary cell is ``3`` next to a
    Dirichlet face and ``1`` next to a Neumann face (``2 ± 1`` per face, so a
    single cell has ``4``, ``2`` or ``0``).
    """
    faces = {"dst2": "DD", "dct2": "NN", "dst4": "DN", "dct4": "ND"}[kind]
    diag = np.full(n, 2.0)
    lower = np.full(n, -1.0)
    upper = np.full(n, -1.0)
    lower[0] = 0.0
    upper[-1] = 0.0
    diag[0] += 1.0 if faces[0] == "D" else -1.0
    diag[-1] += 1.0 if faces[1] == "D" else -1.0
    return diag, lower, upper


def cell_angles(kind: str, n: int) -> np.ndarray:
    """Return the angles ``θ_k`` of a cell-centred closed form: ``λ_k = 4 s sin²(θ_k / 2)``."""
    k = np.arange(n, dtype=float)
    if kind == "dst2":
        return np.pi * (k + 1.0) / n
    if kind == "dct2":
        return np.pi * k / n
    return np.pi * (2.0 * k + 1.0) / (2 * n)  # dst4, dct4


def cell_vectors(kind: str, n: int) -> np.ndarray:
    """Return the unnormalised eigenvectors of a cell-centred closed form as columns."""
    j = np.arange(n, dtype=float)[:, None] + 0.5
    theta = cell_angles(kind, n)[None, :]
    return np.sin(theta * j) if kind in ("dst2", "dst4") else np.cos(theta * j)


# --------------------------------------------------------------------------- rows of a box


def cell_window(axis: Axis, lo: int, hi: int) -> np.ndarray:
    """Return the cells beside rows ``lo - 1 .. hi`` of a cell-centred axis (wrapped or clipped).

    Position ``t`` holds cell ``lo - 1 + t``: on a periodic axis cell ``-1`` is
    cell ``m - 1`` and cell ``m`` is cell ``0``; elsewhere a position beyond
    the axis' ends repeats the end cell (whose value then stands for the
    boundary face's, as in :func:`cell_face_k`).

    Examples
    --------
    >>> from kronpde import Axis
    >>> cell_window(Axis(5, centering="cell"), 0, 2).tolist()
    [0, 0, 1, 2]
    """
    cells = np.arange(int(lo) - 1, int(hi) + 1)
    if axis.periodic:
        return cells % axis.cells
    return np.clip(cells, 0, axis.cells - 1)


def cell_face_k_rows(axis: Axis, k: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Return ``k`` on faces ``lo .. hi`` of a cell-centred axis from the cells beside them.

    :func:`cell_face_k` for the faces of rows ``lo <= j < hi`` only, bit for
    bit: a rank of a distributed solve needs the cells of its box and one
    layer around it (:func:`cell_window`).

    Parameters
    ----------
    axis : Axis
        A cell-centred axis.
    k : ndarray, shape (..., hi - lo + 2)
        ``k`` at the cells of :func:`cell_window` (axis last).
    lo, hi : int
        The rows, ``0 <= lo < hi <= cells``.

    Returns
    -------
    ndarray, shape (..., hi - lo + 1)
        ``k`` on faces ``lo .. hi``: interior faces (and the joined face ``0`` =
        ``m`` of a periodic axis) the harmonic mean of their two cells, a
        boundary face the boundary cell's value (the caller replaces it with
        ``k`` at the face).
    """
    k = np.asarray(k, dtype=float)
    m = axis.cells
    a, b = k[..., :-1], k[..., 1:]  # the cells left and right of faces lo .. hi
    if axis.uniform:
        out = a * (2.0 * b / (a + b))
    else:
        w = axis.spacings
        faces = np.arange(lo, hi + 1)
        wa, wb = w[(faces - 1) % m], w[faces % m]
        out = (wa + wb) / (wa / a + wb / b)
    if not axis.periodic:
        if lo == 0:
            out[..., 0] = k[..., 1]
        if hi == m:
            out[..., -1] = k[..., -2]
    return out


def cell_rows(
    axis: Axis, rows: tuple[int, int], face_k: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rows ``r0 <= j < r1`` of :func:`cell_coefficients`, from ``k`` on their faces only.

    The same arithmetic, row by row, as the whole axis (bit for bit), so that
    a rank of a distributed solve builds the rows of its box from ``k`` on
    the box's faces.

    Parameters
    ----------
    axis : Axis
        A cell-centred axis.
    rows : (int, int)
        ``(r0, r1)``, ``0 <= r0 < r1 <= cells``; a periodic axis of one or two
        cells needs all of them (``(0, cells)``: its rows fold).
    face_k : ndarray, shape (..., r1 - r0 + 1)
        ``k > 0`` on faces ``r0 .. r1`` of every line: boundary faces ``k`` at
        the face, the joined face of a periodic axis at either end.

    Returns
    -------
    diag, lower, upper : ndarray, shape (..., r1 - r0)
        As :func:`cell_coefficients`, for these rows.
    lift_lower, lift_upper : ndarray, shape (...)
        The factors of the lower / upper face's data on row 0 / row ``m - 1``;
        zeros when that row is not among the rows (and on periodic axes).

    Examples
    --------
    >>> from kronpde import Axis, Neumann
    >>> axis = Axis(4, upper_bc=Neumann(), centering="cell")
    >>> whole = cell_coefficients(axis, np.full(5, 2.0))
    >>> part = cell_rows(axis, (2, 4), np.full(3, 2.0))
    >>> all(np.array_equal(p, w[2:4]) for p, w in zip(part[:3], whole[:3]))
    True
    """
    m = axis.cells
    r0, r1 = (int(r) for r in rows)
    if not 0 <= r0 < r1 <= m:
        msg = f"cell_rows: rows ({r0}, {r1}) outside 0..{m}"
        raise ValueError(msg)
    face_k = np.asarray(face_k, dtype=float)
    if axis.periodic and m <= 2:
        if (r0, r1) != (0, m):
            msg = f"cell_rows: a periodic axis of {m} cell(s) needs all its rows"
            raise ValueError(msg)
        return cell_coefficients(axis, face_k)
    w = axis.spacings
    lead = face_k.shape[:-1]
    j = np.arange(r0, r1)
    wj = w[r0:r1]
    has_left, has_right = j >= 1, j <= m - 2
    # the centre-to-centre distance of the left and right faces (clamped where there is none)
    d_left = 0.5 * (w[np.maximum(j - 1, 0)] + wj)
    d_right = 0.5 * (wj + w[np.minimum(j + 1, m - 1)])
    left = np.where(has_left, face_k[..., :-1] / d_left / wj, 0.0)  # (k_f / d_f) / w_j
    right = np.where(has_right, face_k[..., 1:] / d_right / wj, 0.0)
    diag = left + right
    lower = -left
    upper = -right
    lift_lo = np.zeros(lead)
    lift_hi = np.zeros(lead)
    if axis.periodic:
        wrap = 0.5 * (w[-1] + w[0])
        if r0 == 0:
            first = face_k[..., 0] / wrap / w[0]
            diag[..., 0] += first
            lower[..., 0] = -first
        if r1 == m:
            last = face_k[..., -1] / wrap / w[-1]
            diag[..., -1] += last
            upper[..., -1] = -last
        return diag, lower + 0.0, upper + 0.0, lift_lo, lift_hi
    for side, bc in ((0, axis.lower_bc), (1, axis.upper_bc)):
        row = m - 1 if side else 0
        if not r0 <= row < r1:
            continue
        at = row - r0
        kf = face_k[..., -1] if side else face_k[..., 0]
        h = w[row]
        if isinstance(bc, Dirichlet):
            factor = 2.0 * kf / (h * w[row])
            diag[..., at] += factor
            lift = factor
        elif isinstance(bc, Neumann):
            lift = kf / w[row]
        else:  # Robin
            denominator = w[row] * (0.5 * bc.alpha * h + bc.beta)
            diag[..., at] += kf * (bc.alpha / denominator)
            lift = kf / denominator
        if side == 0:
            lift_lo = lift
        else:
            lift_hi = lift
    return (
        diag,
        lower + 0.0,
        upper + 0.0,
        np.array(lift_lo, dtype=float),
        np.array(lift_hi, dtype=float),
    )
