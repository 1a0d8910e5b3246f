"""The partial fast diagonalisation of a curvilinear grid: transforms on all axes but one.

The flux form of :mod:`kronpde.problem.curvilinear` with a constant ``k`` is
``M = Σ_l (⊗_{i≠l} N_{l,i}) ⊗ K_l`` (``K_l`` the axis' weighted 1-D stiffness,
``N_{l,i}`` the cross widths) and ``W = ⊗ μ_i``.  With the tridiagonal axis
``t`` (``r`` for polar, cylindrical and axisymmetric spherical grids; ``θ`` for
the sphere and 3-D spherical grids, where ``r`` becomes an eigh axis) every
other factor is either the axis' own mass or a vector along ``t``, so

    M = (⊗_{i≠t} μ_i) [ Σ_{i≠t} G_i ⊗ T_i + K_t ],   T_i = μ_i⁻¹ K_i,

the :class:`~kronpde.problem.partial.PartialStructure` of the fast solver
(``docs/curvilinear.md``).  A node-centred axis point shared by the lines of
the transformed axes is the per-mode first row (only the constant mode has it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import scipy.linalg

from kronpde.geometry.boundary import Dirichlet, OnAxis, Periodic, Pole, Robin
from kronpde.operators.stencils import AxisOperator
from kronpde.problem.partial import FirstRow, PartialStructure

if TYPE_CHECKING:
    from kronpde.geometry.curvilinear import CurvilinearGrid

__all__ = ["CurvilinearPieces", "axis_stiffness", "curvilinear_pieces", "partial_structure"]


def axis_stiffness(grid: CurvilinearGrid, i: int) -> tuple[np.ndarray, ...] | None:
    """Return ``(lower, diag, upper)`` of axis ``i``'s ``K_i`` (``k = 1``), or None.

    The couplings ``a_i(face)/d`` and the faces' diagonal terms, as
    :func:`kronpde.problem.curvilinear.assemble` has them; None where a Robin
    face's term varies along another axis (not separable).
    """
    system = grid.coordinate_system
    a = grid.axes[i]
    m = grid.metrics[i]
    n = m.x.size
    own = system.a(i)
    c = own(m.faces) / m.distance
    lower, diag, upper = np.zeros(n), np.zeros(n), np.zeros(n)
    inner = c[: n - 1] if a.periodic else c
    diag[: n - 1] += inner[: n - 1]
    diag[1:] += inner[: n - 1]
    upper[: n - 1] = -inner[: n - 1]
    lower[1:] = -inner[: n - 1]
    if a.periodic and n > 1:
        wrap = c[-1]
        diag[0] += wrap
        diag[-1] += wrap
        lower[0] = -wrap
        upper[-1] = -wrap
    for side, bc in ((0, a.lower_bc), (1, a.upper_bc)):
        if isinstance(bc, Periodic | OnAxis | Pole):
            continue
        end = n - 1 if side else 0
        xf = float(a.nodes[-1] if side else a.nodes[0])
        h = float(a.spacings[-1] if side else a.spacings[0])
        if isinstance(bc, Dirichlet):
            if a.cell_centred:
                diag[end] += 2.0 * float(own(np.array(xf))) / h
            else:
                xb = float(m.x[end])
                diag[end] += float(own(np.array(0.5 * (xb + xf)))) / abs(xb - xf)
            continue
        if not isinstance(bc, Robin):
            continue
        scale = system.scale(i, [np.ones(1)] * grid.dimension)
        if system.kind(i) not in ("r", "z") and not (
            system.name == "sphere" and system.kind(i) == "colatitude"
        ):
            return None  # the face's length per unit varies along another axis
        s = float(np.asarray(scale).reshape(-1)[0]) if system.kind(i) == "colatitude" else 1.0
        if a.cell_centred:
            q = bc.alpha / 2 + bc.beta / (h * s)
            diag[end] += float(own(np.array(xf))) * bc.alpha / (h * q)
        else:
            step = h / 2 if side == 0 else -h / 2
            a_in, a_gh = float(own(np.array(xf + step))), float(own(np.array(xf - step)))
            f = 2 * a_in * a_gh / (a_in + a_gh) if a_gh > 0.0 else float(own(np.array(xf)))
            diag[end] += f * s * bc.alpha / bc.beta
    return lower, diag, upper


class CurvilinearPieces:
    """What :func:`curvilinear_pieces` finds: the tridiagonal axis and the other axes' factors.

    Attributes
    ----------
    axis : int
        ``t``.
    operators : list of (AxisOperator or None)
        ``T_i = μ_i⁻¹ K_i`` (weights the masses ``μ_i``, or ``w_r`` for the radius of a
        3-D spherical grid); None at ``t``.
    coupling : list of (ndarray or None)
        ``G_i`` along ``t``.
    stiffness : tuple of ndarray
        ``K_t`` as ``(lower, diag, upper)``.
    rhs_weights : list of (ndarray or None)
        The factors of ``W b`` left in the bracket (``μ_t``; ``r²`` and ``μ_θ`` for 3-D
        spherical grids).
    shift_axis : int
        Where ``c W`` enters the bracket: ``t``, or ``r`` of a 3-D spherical grid.
    shift_weights : ndarray
        What ``c`` multiplies there.
    shared : bool
        Whether ``t``'s first point is shared by the lines of the other axes.
    """

    def __init__(self, **values: object) -> None:
        self.__dict__.update(values)


def curvilinear_pieces(grid: CurvilinearGrid) -> CurvilinearPieces | None:
    """Return the separable pieces of the grid's flux form (``k = 1``), or None where none.

    None for a shared point the per-mode first row cannot hold (at ``t``'s upper end,
    or the centre of a 3-D ball, which needs a rank-one correction) and for a
    Robin face whose term is not separable.
    """
    system = grid.coordinate_system
    d = grid.dimension
    kinds = [system.kind(i) for i in range(d)]
    on_theta = system.name == "sphere" or (system.name == "spherical" and d == 3)
    t = kinds.index("colatitude") if on_theta else kinds.index("r")
    shares = grid.shared_points
    last = grid.tensor_shape[t] - 1
    south = [s for s in shares if s[0] == t and s[1] == last and s[1] != 0]
    if south and not _rotational(grid, t):
        return None
    if any(axis != t or (end != 0 and not south) for axis, end, _ in shares):
        return None  # a shared point off t's ends (the ball's centre), or not the sphere
    stiff = [axis_stiffness(grid, i) for i in range(d)]
    if any(s is None for s in stiff):
        return None
    metrics = grid.metrics
    mass = [m.mass for m in metrics]
    spherical3 = system.name == "spherical" and d == 3
    # the factor pulled out of the bracket per axis: its mass, but the widths of r in 3-D
    # spherical grids (whose r² then weights b and c along r)
    factor = [metrics[j].width if spherical3 and kinds[j] == "r" else mass[j] for j in range(d)]
    for i in range(d):  # every cross width is the pulled factor, but those of t's own
        for j in range(d):
            if j == i or (j == t and i != t):
                continue
            if not np.allclose(metrics[j].cross(i), factor[j], rtol=1e-13, atol=0.0):
                return None
    operators: list[AxisOperator | None] = [None] * d
    coupling: list[np.ndarray | None] = [None] * d
    rhs_weights: list[np.ndarray | None] = [None] * d
    for i in range(d):
        if i == t:
            rhs_weights[i] = mass[t]
            continue
        lower, diag, upper = stiff[i]
        w = factor[i]
        operators[i] = AxisOperator(diag / w, lower / w, upper / w, grid.axes[i].periodic, w)
        coupling[i] = metrics[t].cross(i)
        if spherical3 and kinds[i] == "r":
            rhs_weights[i] = mass[i] / w
    shift_axis, shift_weights = t, mass[t]
    if spherical3:
        r = kinds.index("r")
        shift_axis, shift_weights = r, mass[r] / factor[r]
    return CurvilinearPieces(
        axis=t, operators=operators, coupling=coupling, stiffness=stiff[t],
        rhs_weights=rhs_weights, shift_axis=shift_axis, shift_weights=shift_weights,
        shared=any(e == 0 for _, e, _ in shares), south=bool(south), mass=mass, factor=factor,
    )  # fmt: skip


def ascending_eigenvalues(op: AxisOperator) -> np.ndarray:
    """Return the eigenvalues of a weighted-symmetric 1-D operator, ascending (eigh's order)."""
    s = op.symmetrized()
    n = s.n
    if n == 1:
        return np.array([s.diag[0]])
    if s.periodic:
        return scipy.linalg.eigvalsh(s.todense())
    return scipy.linalg.eigvalsh_tridiagonal(s.diag, s.upper[: n - 1])


def unit_lower_bound(grid: CurvilinearGrid) -> tuple[float, float, str] | None:
    """Return a certified ``(lower, computed, how)`` for ``λ_min`` of the ``k = 1, c = 0`` operator.

    ``A = μ_t⁻¹ [Σ_{i≠t} G_i ⊗ T_i + K_t]`` with ``G_i >= 0``: every mode's
    tridiagonal problem is at least that of the smallest ``λ_i``, so ``λ_min(A)``
    is at least the smallest eigenvalue of ``μ_t⁻¹ (K_t + Σ λ̲_i G_i)``, each
    ``λ̲_i`` a certified lower bound of ``T_i`` (bisection with its margins,
    :func:`~kronpde.problem.spectrum.axis_spectrum`).  A shared point merges
    copies, a subspace of the tensor unknowns: its ``λ_min`` is no smaller.
    None for a 3-D spherical grid (``c`` and ``b`` weigh ``r`` too) or where
    there are no pieces.
    """
    from kronpde.problem.spectrum import axis_spectrum

    pieces = curvilinear_pieces(grid)
    if pieces is None or pieces.shift_axis != pieces.axis:
        return None
    t = pieces.axis
    lower, diag, upper = (np.array(v, dtype=float) for v in pieces.stiffness)
    for op, g in zip(pieces.operators, pieces.coupling, strict=True):
        if op is None:
            continue
        found = axis_spectrum(op)
        if found is None:
            return None
        diag = diag + max(found.lowest, 0.0) * g
    w = pieces.mass[t]
    op_t = AxisOperator(diag / w, lower / w, upper / w, grid.axes[t].periodic, w)
    found = axis_spectrum(op_t)
    if found is None:
        return None
    how = f"bisection of the tridiagonal axis {grid.coordinate_system.axes[t]} at the lowest modes"
    return found.lowest, found.computed[0], how


def absorb_shift_field(
    grid: CurvilinearGrid,
    pieces: CurvilinearPieces,
    ops: tuple[AxisOperator | None, ...],
    diag: np.ndarray,
    field: np.ndarray,
) -> tuple[tuple[AxisOperator | None, ...], np.ndarray] | None:
    """Put a shift ``c(x)`` into the pieces: ``(ops, diag)`` with it, or None where it cannot go.

    In the bracket ``c W`` is ``F = c W / ⊗_{i≠t} f_i`` (``f_i`` the factors pulled
    out).  An ``F`` that varies along ``t`` only joins ``C`` (the mode systems'
    diagonal); one that is ``G_i(t) s_i(x_i)`` for a transformed axis ``i`` (HWSCSP's
    ``λ/(r sin θ)²`` times ``r² sin θ``) joins ``T_i + diag(s_i)``, whose eigenpairs
    the solver computes.  A shared point's row takes the first kind only.
    """
    t = pieces.axis
    d = grid.dimension
    values = grid.tensor_weights() * np.asarray(field)[grid.unknown_index]
    for i in range(d):
        if i != t:
            values = values / _along_axis(np.asarray(pieces.factor[i], dtype=float), i, d)
    scale = float(np.max(np.abs(values)))
    if scale == 0.0:
        return ops, diag
    tol = 1e-12 * scale

    def line(v: np.ndarray, keep: int) -> np.ndarray | None:
        """``v`` as a function of axis ``keep`` alone, or None."""
        index = tuple(slice(None) if j == keep else slice(0, 1) for j in range(d))
        first = v[index]
        return first.reshape(-1) if np.max(np.abs(v - first)) <= tol else None

    along_t = line(values, t)
    if along_t is not None:
        return ops, diag + along_t
    if pieces.shared or pieces.south:
        return None
    for i in range(d):
        g = pieces.coupling[i]
        if i == t or g is None or np.any(np.asarray(g) <= 0.0):
            continue
        own = line(values / _along_axis(np.asarray(g, dtype=float), t, d), i)
        if own is not None:
            op = ops[i]
            changed = AxisOperator(op.diag + own, op.lower, op.upper, op.periodic, op.weights,
                                   op.lift)  # fmt: skip
            return tuple(changed if j == i else o for j, o in enumerate(ops)), diag
    return None


def partial_structure(
    grid: CurvilinearGrid, k: float, field: np.ndarray | None = None
) -> PartialStructure | None:
    """Return the flux form of a constant ``k`` as a :class:`PartialStructure`, or None.

    The pieces of :func:`curvilinear_pieces` times ``k``; a shared point at
    ``t``'s first row is the per-mode :class:`FirstRow`: the constant mode of the
    lines through it keeps the point's row (the flux balance of its whole volume,
    as the weighted sum of the copies' rows is), every other mode has
    ``û_0 = 0``.  The closed forms (DST/DCT/FFT) serve the azimuth and ``z`` axes,
    whose ``T_i`` are the Cartesian ones; the others take ``eigh``.
    """
    pieces = curvilinear_pieces(grid)
    if pieces is None:
        return None
    system = grid.coordinate_system
    t = pieces.axis
    d = grid.dimension
    lower, diag, upper = (k * np.asarray(v, dtype=float) for v in pieces.stiffness)
    ops = tuple(None if op is None else op.scaled(k) for op in pieces.operators)
    closed = tuple(
        grid.axes[i] if i != t and system.kind(i) in ("azimuth", "z") else None for i in range(d)
    )
    if field is not None:  # a shift c(x): into C, or into one T_i (then no closed form there)
        found = absorb_shift_field(grid, pieces, ops, diag, field)
        if found is None:
            return None
        changed = [i for i in range(d) if found[0][i] is not ops[i]]
        ops, diag = found
        closed = tuple(None if i in changed else a for i, a in enumerate(closed))
    first = None
    if pieces.shared:
        ((_, _, shared),) = [s for s in grid.shared_points if s[0] == t and s[1] == 0]
        shape = [n if i != t else 1 for i, n in enumerate(grid.tensor_shape)]
        constant = np.ones(shape, dtype=bool)
        row = np.full(shape, diag[0])
        for i in range(d):
            if i == t:
                continue
            view = [1] * d
            view[i] = grid.tensor_shape[i]
            if i in shared:
                constant = constant & (np.arange(grid.tensor_shape[i]) == 0).reshape(view)
        first = FirstRow(
            diag=np.where(constant, row, 1.0),
            upper=np.where(constant, upper[0], 0.0),
            rhs=np.where(constant, 1.0, 0.0),
            # the solver adds Σ λ_i G_i[0] (the shared axes' G_i[0] are 0) in its own mode
            # order and at its shift (3-D spherical: the radius holds the shift)
            couples=constant,
        )
    return PartialStructure(
        axis=t,
        operators=ops,
        coupling=tuple(pieces.coupling),
        lower=lower,
        diag=diag,
        upper=upper,
        periodic=grid.axes[t].periodic,
        t_weights=np.ones(diag.size),
        rhs_weights=tuple(pieces.rhs_weights),
        axes=closed,
        shift_axis=pieces.shift_axis,
        shift_weights=pieces.shift_weights,
        first_row=first,
        unknowns=SouthPole(grid, t) if pieces.south else (grid if pieces.shared else None),
        note=f"Tridiagonal axis {system.axes[t]} of the {system.title} grid.",
    )


def _rotational(grid: CurvilinearGrid, t: int) -> bool:
    """Whether a pole at ``t``'s upper end can be corrected: the sphere, ``φ`` uniform, periodic."""
    system = grid.coordinate_system
    if system.name != "sphere":
        return False  # a 3-D grid would couple every radius: a block per longitude mode
    phi = next(i for i in range(grid.dimension) if i != t)
    a = grid.axes[phi]
    return a.periodic and a.uniform


class SouthPole:
    """The unknowns of a sphere with a pole point at both ends, for the tridiagonal-axis solver.

    The north pole is the structure's per-mode first row; the south pole's
    copies are left free in the tensor the solver solves (their rows are the
    copies' shares of the pole's row), and tied afterwards: with ``r`` added
    to the copies' right-hand sides (``Σ r = 0``, so their sum is still the
    pole's equation) their values become equal.  The copies' response to ``r``
    is circulant along the uniform, periodic ``φ`` (the operator does not
    depend on ``φ``): one solve with a unit datum at one copy gives it
    (``G₀``, kept per shift), and ``r`` and its correction ``Σ_k r_k G₀(φ - φ_k)``
    are FFTs along ``φ`` (``docs/curvilinear.md``).
    """

    def __init__(self, grid: CurvilinearGrid, t: int):
        self.grid = grid
        self.t = t
        self.phi = next(i for i in range(grid.dimension) if i != t)
        self._impulse: dict[float, np.ndarray] = {}

    def expand(self, b: np.ndarray) -> np.ndarray:
        """Return the tensor of ``b`` (a shared value on every copy)."""
        return self.grid.expand(b)

    def reduce(self, u: np.ndarray) -> np.ndarray:
        """Return one copy of each shared point."""
        return self.grid.reduce(u)

    def solve_with(self, tensor_solve, b: np.ndarray, key: float) -> np.ndarray:  # noqa: ANN001
        """Solve with ``tensor_solve`` (the tensor system) and tie the south copies; flat."""
        shape = self.grid.tensor_shape
        south = [slice(None)] * len(shape)
        south[self.t] = shape[self.t] - 1
        south = tuple(south)
        impulse = self._impulse.get(key)
        if impulse is None:
            e = np.zeros(shape)
            e[south][0] = 1.0
            impulse = np.array(tensor_solve(e.reshape(-1))).reshape(shape)
            self._impulse = {key: impulse}
        u = np.array(tensor_solve(self.expand(b).reshape(-1))).reshape(shape)
        v_hat = np.fft.fft(u[south])
        c_hat = np.fft.fft(impulse[south])
        r_hat = np.zeros_like(v_hat)
        r_hat[1:] = -v_hat[1:] / c_hat[1:]
        spread = np.fft.ifft(np.fft.fft(impulse, axis=self.phi) * _along_axis(r_hat, self.phi,
                                                                               len(shape)),
                             axis=self.phi).real  # fmt: skip
        return self.reduce(u + spread)


def _along_axis(v: np.ndarray, axis: int, d: int) -> np.ndarray:
    shape = [1] * d
    shape[axis] = -1
    return v.reshape(shape)
