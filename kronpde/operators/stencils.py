"""1-D operators of one axis: the second difference with each boundary condition.

All rows come from one flux-form builder, :func:`diffusion_coefficients` (stretched axes and
a coefficient ``k`` on the intervals included); :func:`second_difference` and
:func:`diffusion_operator` build node- or cell-centred axes. The rows of each condition and
why ``W T`` is symmetric: ``docs/second-difference.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from kronpde.geometry.boundary import Dirichlet, Neumann, Periodic, Robin
from kronpde.geometry.grid import Axis
from kronpde.operators.cells import CELL_CLOSED_FORMS, cell_angles, cell_coefficients, cell_pattern
from kronpde.operators.cells import cell_vectors as _cell_vectors


@dataclass(frozen=True, eq=False)
class AxisOperator:
    """A 1-D operator in tridiagonal-with-wrap form, acting on one axis' unknowns.

    Row ``r`` of the operator is
    ``lower[r] * u[r-1] + diag[r] * u[r] + upper[r] * u[r+1]`` where, on a
    periodic axis, ``u[-1]`` means ``u[n-1]`` and ``u[n]`` means ``u[0]``; on a
    non-periodic axis ``lower[0] = upper[n-1] = 0``.  For periodic axes with
    ``n <= 2`` coinciding neighbours are folded so that every non-zero
    coefficient has its own column (``n = 1``: all on the diagonal; ``n = 2``:
    row 0 on ``upper``, row 1 on ``lower``).

    Attributes
    ----------
    diag, lower, upper : ndarray, shape (n,)
        Coefficients.
    periodic : bool
        Whether rows wrap around.
    weights : ndarray, shape (n,)
        Trapezoid weights; ``diag(weights) @ T`` is symmetric.
    lift : tuple of float
        ``(lower, upper)`` factors that multiply the boundary data of each face
        into the right-hand side of the first / last row (0 for periodic).
    """

    diag: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    periodic: bool
    weights: np.ndarray
    lift: tuple[float, float] = (0.0, 0.0)

    @property
    def n(self) -> int:
        """Number of unknowns."""
        return self.diag.size

    def tosparse(self) -> sp.csr_array:
        """Return the operator as a CSR array of shape ``(n, n)``."""
        n = self.n
        r = np.arange(n)
        rows = np.concatenate([r, r, r])
        lower_cols = (r - 1) % n if self.periodic else np.maximum(r - 1, 0)
        upper_cols = (r + 1) % n if self.periodic else np.minimum(r + 1, n - 1)
        cols = np.concatenate([r, lower_cols, upper_cols])
        vals = np.concatenate([self.diag, self.lower, self.upper])
        a = sp.coo_array((vals, (rows, cols)), shape=(n, n)).tocsr()
        a.sum_duplicates()
        a.eliminate_zeros()
        return a

    def todense(self) -> np.ndarray:
        """Return the operator as a dense array of shape ``(n, n)``."""
        return self.tosparse().toarray()

    def symmetrized(self) -> AxisOperator:
        """``D T D^{-1}`` with ``D = diag(sqrt(weights))``: symmetric, same eigenvalues."""
        s = np.sqrt(self.weights)
        lower = self.lower * s / np.roll(s, 1)
        upper = self.upper * s / np.roll(s, -1)
        return AxisOperator(self.diag.copy(), lower, upper, self.periodic, self.weights, self.lift)

    def transposed(self) -> AxisOperator:
        """Return ``Tᵀ`` in the same tridiagonal-with-wrap form (weights and lift kept)."""
        # (Tᵀ)[r, r-1] = T[r-1, r] = upper[r-1]; (Tᵀ)[r, r+1] = T[r+1, r] = lower[r+1]
        lower = np.roll(self.upper, 1)
        upper = np.roll(self.lower, -1)
        if not self.periodic:
            lower[0] = 0.0
            upper[-1] = 0.0
        return AxisOperator(self.diag, lower, upper, self.periodic, self.weights, self.lift)

    def eigenpairs(self, axis: Axis | None = None, *, force_eigh: bool = False) -> AxisEigenpairs:
        """Return the eigenpairs ``T = S Λ S^{-1}``: a closed form where one applies, else ``eigh``.

        Parameters
        ----------
        axis : Axis, optional
            The axis the operator belongs to: its conditions name the closed
            form.  Without it the closed form is recognised from the rows.
            Either way it is used only if the coefficients equal the closed
            form's (to rounding; e.g. a stretched axis never does).
        force_eigh : bool
            Use ``eigh`` even where a closed form applies (checks, benchmarks).

        Raises
        ------
        ValueError
            If ``W T`` is not symmetric (no stable diagonalisation).

        Examples
        --------
        >>> from kronpde import Axis
        >>> e = second_difference(Axis(4)).eigenpairs()   # h = 1/4, Dirichlet at both ends
        >>> e.kind, e.eigenvalues.round(4).tolist()        # 64 sin^2(pi k / 8), k = 1, 2, 3
        ('dst1', [9.3726, 32.0, 54.6274])
        """
        found = None if force_eigh else _closed_form(self, axis)
        return found if found is not None else _eigh(self)

    def eigenvalues(self) -> np.ndarray:
        """Return the eigenvalues (transform order, see :class:`AxisEigenpairs`)."""
        return self.eigenpairs().eigenvalues.copy()

    def eigenvectors(self) -> np.ndarray:
        """Return the eigenvectors as ``W``-orthonormal columns (:meth:`AxisEigenpairs.vectors`)."""
        return self.eigenpairs().vectors()

    def scaled(self, factor: float) -> AxisOperator:
        """Return the operator times a number (same weights; the lifting times ``factor``)."""
        return AxisOperator(
            self.diag * factor,
            self.lower * factor,
            self.upper * factor,
            self.periodic,
            self.weights,
            (self.lift[0] * factor, self.lift[1] * factor),
        )


def second_difference(axis: Axis) -> AxisOperator:
    """Return the operator ``T`` approximating ``-d²/dx²`` on an axis' unknowns.

    Parameters
    ----------
    axis : Axis
        Cells, bounds (or stretched node coordinates) and boundary conditions.

    Returns
    -------
    AxisOperator
        ``T`` in tridiagonal-with-wrap form, with physical spacing ``h`` (the
        module docstring gives the rows; a stretched axis takes the
        flux form of :func:`diffusion_coefficients` with ``k = 1``; a
        cell-centred axis the rows of :func:`kronpde.operators.cells.cell_coefficients`).

    Examples
    --------
    >>> from kronpde import Axis, Neumann
    >>> t = second_difference(Axis(2, 0.0, 1.0, Neumann(), Neumann()))
    >>> t.todense()
    array([[ 8., -8.,  0.],
           [-4.,  8., -4.],
           [ 0., -8.,  8.]])
    """
    if axis.cell_centred:
        diag, lower, upper, lift_lo, lift_hi = cell_coefficients(axis)
    else:
        diag, lower, upper, lift_lo, lift_hi = diffusion_coefficients(axis)
    lift = (float(lift_lo), float(lift_hi))
    return AxisOperator(diag, lower, upper, axis.periodic, axis.weights.copy(), lift)


def diffusion_operator(
    axis: Axis, edge_k: np.ndarray, face_k: tuple[float, float] = (1.0, 1.0)
) -> AxisOperator:
    """Return the 1-D operator of ``-(k u')'`` with ``k`` given at the interval mid-points.

    Parameters
    ----------
    axis : Axis
        The axis (uniform or stretched) and its conditions.
    edge_k : ndarray, shape (cells,)
        ``k_{j+1/2} > 0`` on every interval ``[x_j, x_{j+1}]``.  On a
        cell-centred axis instead ``k`` on every cell face, shape
        ``(cells + 1,)`` (:func:`kronpde.operators.cells.cell_coefficients`).
    face_k : pair of float
        ``k`` at the lower and upper boundary node (the flux of a Neumann or
        Robin face is ``k du/dn``); on a cell-centred axis they replace the
        first and last entry of ``edge_k`` (``k`` at the boundary faces).

    Returns
    -------
    AxisOperator
        ``W T`` is symmetric with the trapezoid weights (the module docstring).
    """
    if axis.cell_centred:
        k = np.array(edge_k, dtype=float)
        if not axis.periodic:
            k[0], k[-1] = face_k
        diag, lower, upper, lift_lo, lift_hi = cell_coefficients(axis, k)
        lift = (float(lift_lo), float(lift_hi))
        return AxisOperator(diag, lower, upper, axis.periodic, axis.weights.copy(), lift)
    diag, lower, upper, lift_lo, lift_hi = diffusion_coefficients(axis, edge_k, face_k)
    lift = (float(lift_lo), float(lift_hi))
    return AxisOperator(diag, lower, upper, axis.periodic, axis.weights.copy(), lift)


def harmonic_mean(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Return the harmonic mean ``2 a b / (a + b)``, exactly ``a`` where ``a == b``.

    Parameters
    ----------
    a, b : ndarray
        Positive arrays of broadcastable shapes.

    Returns
    -------
    ndarray
        Computed as ``a * (2 b / (a + b))``, so that equal values give ``a``
        bit for bit.
    """
    return a * (2.0 * b / (a + b))


def diffusion_coefficients(
    axis: Axis,
    edge_k: np.ndarray | None = None,
    face_k: tuple[np.ndarray | float, np.ndarray | float] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rows of the flux-form operator of ``-(k u')'`` on the axis' unknowns, for many lines.

    Vertex-centred finite volumes: node ``j`` owns the dual cell of length
    ``w_j`` (the trapezoid weight, :attr:`Axis.weights`), interval ``e`` from
    node ``e`` to ``e + 1`` has length ``h_e`` (:attr:`Axis.spacings`) and
    carries the flux ``k_e (u_{e+1} - u_e) / h_e``.  Row ``j`` is

        ``(T u)_j = sum over the intervals e at node j of c_{j,e} (u_j - u_other)``,
        ``c_{j,e} = k_e / (h_e w_j)``,

    with the boundary rows of the module docstring: the known value of a
    Dirichlet neighbour goes to the right-hand side (factor ``c_{j,e}``); a
    Neumann/Robin boundary node has no outer interval, its face flux
    ``k_face du/dn`` becomes ``k_face g / w_j`` on the right-hand side
    (``/beta`` for Robin) and Robin adds ``k_face alpha / (beta w_j)`` to the
    diagonal.  On a uniform axis with ``k = 1`` this is exactly (bit for bit)
    the second difference with ghost-node reflection; on a smoothly stretched
    axis it is the standard non-uniform 3-point formula
    ``-2/(h_{j-1} + h_j) [(u_{j+1} - u_j)/h_j - (u_j - u_{j-1})/h_{j-1}]``,
    second order in the solution.  ``diag(w) T = D^T diag(k/h) D`` (+ Robin
    terms) with ``D`` the one-sided difference, so ``W T`` is symmetric.

    Parameters
    ----------
    axis : Axis
        The axis.
    edge_k : ndarray, shape (..., cells), optional
        ``k`` on every interval of every line (leading axes: independent
        lines, e.g. the other axes of an N-D grid).  Default 1.
    face_k : pair of ndarray, shape (...), optional
        ``k`` at the lower and upper boundary node of every line.  Default 1.

    Returns
    -------
    diag, lower, upper : ndarray, shape (..., n)
        :class:`AxisOperator`'s layout (``n`` the axis' unknowns), periodic
        axes with ``n <= 2`` folded the same way.
    lift_lower, lift_upper : ndarray, shape (...)
        Factors of the lower / upper face's data on the first / last row's
        right-hand side (0 for periodic axes).
    """
    m = axis.cells
    n = axis.n_unknowns
    start = axis.unknown_slice.start
    if edge_k is None:
        edge_k = np.ones(m)
    edge_k = np.asarray(edge_k, dtype=float)
    lead = edge_k.shape[:-1]
    # k of interval e sits at ext[..., e + 1]: the left interval of node j is ext[..., j],
    # the right one ext[..., j + 1] (slices, no gather); the padding is never used unweighted
    ext = np.empty((*lead, m + 2))
    ext[..., 1 : m + 1] = edge_k
    ext[..., 0] = edge_k[..., m - 1] if axis.periodic else 1.0
    ext[..., m + 1] = edge_k[..., 0] if axis.periodic else 1.0
    return diffusion_rows(
        axis,
        (0, n),
        ext[..., start : start + n],
        ext[..., start + 1 : start + n + 1],
        face_k,
    )


def diffusion_rows(
    axis: Axis,
    rows: tuple[int, int],
    left_k: np.ndarray,
    right_k: np.ndarray,
    face_k: tuple[np.ndarray | float, np.ndarray | float] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rows ``r0 <= r < r1`` of :func:`diffusion_coefficients`, from ``k`` beside those rows only.

    The same arithmetic, row by row, as the whole axis (bit for bit): a rank
    of a distributed solve builds the rows of its box of unknowns from ``k``
    on the box and one layer of nodes around it.

    Parameters
    ----------
    axis : Axis
        The axis.
    rows : (int, int)
        ``(r0, r1)``, ``0 <= r0 < r1 <= n`` (the axis' unknowns).
    left_k, right_k : ndarray, shape (..., r1 - r0)
        ``k`` on the interval left and right of each row (leading axes:
        independent lines).  Where a row has no such interval (the lower end
        of a non-periodic axis, the upper one) the value is not used, but it
        must be finite.
    face_k : pair of ndarray, shape (...), optional
        ``k`` at the lower and upper boundary node of every line (used only
        when row 0, or row ``n - 1``, is among the rows).  Default 1.

    Returns
    -------
    diag, lower, upper : ndarray, shape (..., r1 - r0)
        As :func:`diffusion_coefficients`, for these rows.  On a periodic
        axis with ``n = 2`` folding needs both intervals of a row, which
        ``left_k`` and ``right_k`` hold.
    lift_lower, lift_upper : ndarray, shape (...)
        The factors of the lower / upper face's data on row 0 / row
        ``n - 1``; zeros when that row is not among the rows.
    """
    m = axis.cells
    n = axis.n_unknowns
    start = axis.unknown_slice.start
    r0, r1 = (int(r) for r in rows)
    if not 0 <= r0 < r1 <= n:
        msg = f"diffusion_rows: rows ({r0}, {r1}) outside 0..{n}"
        raise ValueError(msg)
    h = axis.spacings
    w = axis.weights[r0:r1]
    left_k = np.asarray(left_k, dtype=float)
    right_k = np.asarray(right_k, dtype=float)
    lead = left_k.shape[:-1]
    if face_k is None:
        face_k = (1.0, 1.0)
    face_lo = np.broadcast_to(np.asarray(face_k[0], dtype=float), lead)
    face_hi = np.broadcast_to(np.asarray(face_k[1], dtype=float), lead)
    j = start + np.arange(r0, r1)  # node index of each row
    # the left interval of row j is j - 1 (m - 1 on a periodic axis), the right one is j
    has_left = (j >= 1) | axis.periodic
    has_right = j <= m - 1
    left_e = (j - 1) % m
    right_e = np.minimum(j, m - 1)
    factor_l = np.where(has_left, 1.0 / (h[left_e] * w), 0.0)  # 1 / (h_e w_j), 0 if none
    factor_r = np.where(has_right, 1.0 / (h[right_e] * w), 0.0)
    cl = left_k * factor_l
    cr = right_k * factor_r
    diag = cl + cr
    lower = -cl + 0.0  # + 0.0: no negative zeros where a row has no such neighbour
    upper = -cr + 0.0
    lift_lo = np.zeros(lead)
    lift_hi = np.zeros(lead)
    if axis.periodic:
        if n == 1:  # both neighbours are the node itself: the row is identically zero
            diag[...] = 0.0
            lower[...] = 0.0
            upper[...] = 0.0
        elif n == 2:  # both neighbours are the other node
            if r0 == 0:
                upper[..., 0] += lower[..., 0]
                lower[..., 0] = 0.0
            if r1 == 2:
                lower[..., -1] += upper[..., -1]
                upper[..., -1] = 0.0
        return diag, lower, upper, lift_lo, lift_hi
    for side, bc in ((0, axis.lower_bc), (1, axis.upper_bc)):
        row = n - 1 if side else 0
        if not r0 <= row < r1:
            continue
        at = row - r0
        coupling = upper if side else lower  # towards the face
        if isinstance(bc, Dirichlet):
            # the neighbour across the interval is the known face node
            factor = -coupling[..., at]
            coupling[..., at] = 0.0
            if side == 0:
                lift_lo = factor
            else:
                lift_hi = factor
            continue
        k_face = face_hi if side else face_lo
        if isinstance(bc, Neumann):
            lift = k_face * (1.0 / w[at])
        else:  # Robin
            diag[..., at] += k_face * (bc.alpha / (bc.beta * w[at]))
            lift = k_face * (1.0 / (bc.beta * w[at]))
        if side == 0:
            lift_lo = lift
        else:
            lift_hi = lift
    return diag, lower, upper, np.array(lift_lo, dtype=float), np.array(lift_hi, dtype=float)


# --------------------------------------------------------------------------- eigenpairs

#: The closed forms of a non-periodic axis, by the letters of its two faces (D: Dirichlet;
#: N: Neumann, or Robin with alpha = 0, the same row); a periodic axis is ``"fft"``.
#: Cell-centred axes: :data:`kronpde.operators.cells.CELL_CLOSED_FORMS`.
CLOSED_FORMS = {("D", "D"): "dst1", ("N", "N"): "dct1", ("D", "N"): "dst3", ("N", "D"): "dct3"}

#: The kinds whose eigenvalues include 0 with the constants as eigenvector.
_SINGULAR_KINDS = ("dct1", "dct2", "fft")

#: Relative tolerance of the closed-form coefficient check and the symmetry checks.
_MATCH_RTOL = 1e-12


def _face(bc: object) -> str | None:
    """Face letter: D, N (Neumann, or Robin with alpha = 0: the same row), None otherwise."""
    if isinstance(bc, Dirichlet):
        return "D"
    if isinstance(bc, Neumann) or (isinstance(bc, Robin) and bc.alpha == 0.0):
        return "N"
    return None


def _kind_from_axis(axis: Axis) -> str | None:
    if isinstance(axis.lower_bc, Periodic):
        return "fft"
    table = CELL_CLOSED_FORMS if axis.cell_centred else CLOSED_FORMS
    return table.get((_face(axis.lower_bc), _face(axis.upper_bc)))


def _kinds_from_operator(op: AxisOperator) -> tuple[str, ...]:
    """Guess the closed forms the boundary rows may have (each verified afterwards).

    The ratio of a boundary row's off-diagonal to its diagonal is ``-1/2``
    (node-centred Dirichlet neighbour), ``-1/3`` (cell-centred Dirichlet face)
    or ``-1`` (a Neumann face, either centring: the rows ``[2, -2]`` and
    ``[1, -1]``), so both readings are tried.
    """
    if op.periodic:
        return ("fft",)
    n = op.n
    if n == 1:
        return ("dst1",)
    if op.diag[0] == 0.0 or op.diag[-1] == 0.0:
        return ()
    kinds = []
    for dirichlet, table in ((-0.5, CLOSED_FORMS), (-1.0 / 3.0, CELL_CLOSED_FORMS)):
        faces = []
        for ratio in (op.upper[0] / op.diag[0], op.lower[-1] / op.diag[-1]):
            if math.isclose(ratio, dirichlet, rel_tol=_MATCH_RTOL):
                faces.append("D")
            elif math.isclose(ratio, -1.0, rel_tol=_MATCH_RTOL):
                faces.append("N")
        if len(faces) == 2:
            kinds.append(table[tuple(faces)])
    return tuple(kinds)


def _pattern(kind: str, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coefficients ``(diag, lower, upper)`` of the closed form with ``s = 1``.

    The layout is :class:`AxisOperator`'s, including the folding of periodic
    axes with ``n <= 2``.
    """
    if kind in CELL_CLOSED_FORMS.values():
        return cell_pattern(kind, n)
    diag = np.full(n, 2.0)
    lower = np.full(n, -1.0)
    upper = np.full(n, -1.0)
    if kind == "fft":
        if n == 1:
            diag[:] = lower[:] = upper[:] = 0.0
        elif n == 2:
            upper[:] = (-2.0, 0.0)
            lower[:] = (0.0, -2.0)
        return diag, lower, upper
    lower[0] = 0.0
    upper[-1] = 0.0
    if n > 1:
        if kind in ("dct1", "dct3"):  # Neumann at the lower face
            upper[0] = -2.0
        if kind in ("dct1", "dst3"):  # Neumann at the upper face
            lower[-1] = -2.0
    return diag, lower, upper


def _weights_symmetrize(op: AxisOperator) -> bool:
    """Return True if ``diag(weights) @ T`` is symmetric (to :data:`_MATCH_RTOL`)."""
    w = np.asarray(op.weights, dtype=float)
    if w.shape != (op.n,) or not np.all(np.isfinite(w)) or np.any(w <= 0.0):
        return False
    if op.periodic:
        left = w * op.upper  # (W T)[r, r+1]
        right = np.roll(w * op.lower, -1)  # (W T)[r+1, r]
    else:
        left = w[:-1] * op.upper[:-1]
        right = w[1:] * op.lower[1:]
    scale = float(np.max(np.abs(w * op.diag), initial=0.0))
    return bool(np.all(np.abs(left - right) <= _MATCH_RTOL * max(scale, np.finfo(float).tiny)))


def _closed_form_scale(kind: str, op: AxisOperator) -> float | None:
    """Return the factor ``s`` with ``op == s * pattern``, or None if the operator differs."""
    n = op.n
    if kind == "dct1" and n < 2:
        return None
    pattern = _pattern(kind, n)
    if pattern[0][0] == 0.0:  # fft or dct2 with n = 1: T = 0; s is immaterial (λ = 0)
        s = 1.0 / float(op.weights[0]) ** 2
    else:
        s = float(op.diag[0]) / pattern[0][0]
    if not (math.isfinite(s) and s > 0.0):
        return None
    tol = _MATCH_RTOL * 4.0 * s
    for have, want in zip((op.diag, op.lower, op.upper), pattern, strict=True):
        if not np.all(np.abs(np.asarray(have) - s * want) <= tol):
            return None
    if not _weights_symmetrize(op):
        return None
    return s


def _angles(kind: str, n: int) -> np.ndarray:
    if kind in CELL_CLOSED_FORMS.values():
        return cell_angles(kind, n)
    k = np.arange(n, dtype=float)
    if kind == "dst1":
        return np.pi * (k + 1.0) / (n + 1)
    if kind == "dct1":
        return np.pi * k / (n - 1)
    if kind in ("dst3", "dct3"):
        return np.pi * (2.0 * k + 1.0) / (2 * n)
    return 2.0 * np.pi * k / n  # fft


def _closed_form_vectors(kind: str, n: int) -> np.ndarray:
    """Unnormalised eigenvectors as columns, in transform order."""
    if kind in CELL_CLOSED_FORMS.values():
        return _cell_vectors(kind, n)
    j = np.arange(n, dtype=float)[:, None]
    k = np.arange(n, dtype=float)[None, :]
    if kind == "dst1":
        return np.sin(np.pi * (j + 1.0) * (k + 1.0) / (n + 1))
    if kind == "dct1":
        return np.cos(np.pi * j * k / (n - 1))
    if kind == "dst3":
        return np.sin(np.pi * (2.0 * k + 1.0) * (j + 1.0) / (2 * n))
    if kind == "dct3":
        return np.cos(np.pi * (2.0 * k + 1.0) * j / (2 * n))
    # fft: the real Fourier basis, column k shares λ_k = λ_{n-k}
    kk = np.minimum(k, n - k)
    return np.where(k <= n // 2, np.cos(2.0 * np.pi * j * kk / n), np.sin(2.0 * np.pi * j * kk / n))


def _has_constant_kernel(op: AxisOperator) -> bool:
    rowsum = op.tosparse() @ np.ones(op.n)
    scale = float(np.max(np.abs(op.diag), initial=0.0))
    return bool(np.all(np.abs(rowsum) <= _MATCH_RTOL * 4.0 * scale))


@dataclass(frozen=True, eq=False)
class AxisEigenpairs:
    """The eigenpairs of one 1-D operator, ``T = S Λ S^{-1}`` with ``S`` ``W``-orthonormal.

    Made by :meth:`AxisOperator.eigenpairs`.

    Attributes
    ----------
    kind : str
        ``"dst1"``, ``"dct1"``, ``"dst3"``, ``"dct3"``, ``"fft"`` (closed forms,
        applied with the sine, cosine or Fourier transform of that name), the
        cell-centred ``"dst2"``, ``"dct2"``, ``"dst4"``, ``"dct4"``
        (:mod:`kronpde.operators.cells`), or ``"eigh"`` (the symmetrised operator
        diagonalised by LAPACK).
    eigenvalues : ndarray, shape (n,)
        ``λ_k``, in transform order (ascending for the sine/cosine transforms and
        ``eigh``; FFT order ``θ_k = 2πk/n``, ``λ_k = λ_{n-k}``, on a periodic axis).
    weights : ndarray, shape (n,)
        The trapezoid weights ``W`` the eigenvectors are orthonormal in.
    singular : bool
        True when the constants are in the kernel (``λ[null_index] = 0``).
    null_index : int
        Index of the zero eigenvalue of a singular operator (0 otherwise).
    scale : float
        Closed forms: ``s`` with ``T = s`` times the pattern (``s = k/h²``); ``eigh``: nan.
    forward, backward : ndarray or None
        ``eigh``: ``S^{-1} = Q^T D`` and ``S = D^{-1} Q`` (``D = W^{1/2}``); None
        for the closed forms, which :meth:`vectors` computes on demand.
    """

    kind: str
    eigenvalues: np.ndarray
    weights: np.ndarray
    singular: bool
    null_index: int = 0
    scale: float = math.nan
    forward: np.ndarray | None = None
    backward: np.ndarray | None = None

    @property
    def n(self) -> int:
        """Number of unknowns."""
        return self.eigenvalues.size

    def vectors(self) -> np.ndarray:
        """``S``: the eigenvectors as columns, ``W``-orthonormal (``S.T @ diag(w) @ S = I``)."""
        s = self.backward.copy() if self.kind == "eigh" else _closed_form_vectors(self.kind, self.n)
        return s / np.sqrt(np.einsum("j,jk,jk->k", self.weights, s, s))


def _closed_form(op: AxisOperator, axis: Axis | None) -> AxisEigenpairs | None:
    """Return the closed-form eigenpairs, if the axis' conditions and the rows have one."""
    if axis is not None:
        kind = _kind_from_axis(axis)
        kinds = () if kind is None else (kind,)
    else:
        kinds = _kinds_from_operator(op)
    for kind in kinds:
        s = _closed_form_scale(kind, op)
        if s is None:
            continue
        lam = 4.0 * s * np.sin(0.5 * _angles(kind, op.n)) ** 2
        singular = kind in _SINGULAR_KINDS
        return AxisEigenpairs(kind, lam, np.array(op.weights, dtype=float), singular, 0, s)
    return None


def _eigh(op: AxisOperator) -> AxisEigenpairs:
    """Return the eigenpairs of the symmetrised ``D T D^{-1} = Q Λ Q^T`` (LAPACK's eigh)."""
    if not _weights_symmetrize(op):
        msg = (
            "the 1-D operator is not symmetric in the weighted inner product "
            "(diag(weights) @ T must be symmetric); cannot diagonalise it stably"
        )
        raise ValueError(msg)
    weights = np.array(op.weights, dtype=float)
    ts = op.symmetrized().todense()
    ts = 0.5 * (ts + ts.T)  # exact symmetry for eigh (differences are at rounding level)
    lam, q = scipy.linalg.eigh(ts)
    d = np.sqrt(weights)
    singular = _has_constant_kernel(op)
    null_index = 0
    if singular:
        null_index = int(np.argmin(np.abs(lam)))
        lam[null_index] = 0.0
        # the exact null vector D 1 / ||D 1||: its forward row is then exactly ∝ w
        v = d / np.linalg.norm(d)
        q[:, null_index] = v if v @ q[:, null_index] >= 0 else -v
    forward = np.ascontiguousarray(q.T * d[None, :])
    backward = np.ascontiguousarray(q / d[:, None])
    return AxisEigenpairs("eigh", lam, weights, singular, null_index, math.nan, forward, backward)


def closed_form(op: AxisOperator, axis: Axis | None = None) -> AxisEigenpairs | None:
    """Return the closed-form eigenpairs of ``op`` where they apply, else None (no ``eigh``).

    What :meth:`AxisOperator.eigenpairs` returns without ``force_eigh`` when it
    is not ``eigh`` (a solver choosing its axes asks this first, cheaply).
    """
    return _closed_form(op, axis)
