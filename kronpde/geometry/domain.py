"""A domain inside the box: a level set (negative inside) or a mask of the grid's points.

:class:`Domain` checks what the user gave (an expression, a callable or a
boolean array of :attr:`~kronpde.geometry.grid.Grid.point_shape`);
:class:`DomainGeometry` is that domain on one grid: the points inside, the
crossings of the embedded boundary along the grid lines (a fraction ``θ`` of
the spacing, found as the root of the level set to :data:`THETA_TOLERANCE`;
``θ = 1`` for a mask) and, for the finite-volume rule of a Neumann embedded
boundary, the volume fractions and face apertures of the control volumes
(``docs/embedded-boundaries.md``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from kronpde.expr.expression import Expression, ExpressionError
from kronpde.geometry.boundary import check_data, data_error, evaluate_data

if TYPE_CHECKING:
    from kronpde.geometry.grid import Grid

__all__ = ["THETA_TOLERANCE", "Domain", "DomainGeometry", "cut_fraction", "dual_coordinates"]

#: The crossings of a level set along a grid line are found to this fraction of the spacing.
THETA_TOLERANCE = 1e-12

#: Most steps of the bracketing root search (Illinois) per crossing.
MAX_ROOT_STEPS = 100


class Domain:
    """Where the domain lies in the box: a level set ``φ < 0`` or a boolean mask of the points.

    Parameters
    ----------
    value : str, Expression, callable or ndarray of bool
        A level-set expression (``"sqrt(x**2 + y**2) - 0.8"``: the domain is where
        it is negative), a callable ``φ(x, y, ...)`` of broadcastable coordinate
        arrays, or a boolean array of the grid's point shape (true: in the domain).
    dimension : int
        The grid's dimension (an expression's coordinates are checked against it).
    subject : str
        What errors name (``"domain"``; the case reader ``"level_set"`` or ``"mask"``).

    Raises
    ------
    DataError
        For a value of none of these kinds, or an expression that is not allowed.
    """

    def __init__(self, value: object, *, dimension: int, subject: str = "domain"):
        self.subject = subject
        self.dimension = dimension
        if isinstance(value, np.ndarray) and value.dtype == bool:
            self.kind = "mask"
            self.value: Any = value
        elif isinstance(value, (str, Expression)):
            self.kind = "level_set"
            self.value = check_data(value, subject, dimension=dimension)
        elif callable(value):
            self.kind = "level_set"
            self.value = value
        else:
            detail = (
                "must be a level-set expression, a callable or a boolean array of the "
                f"point shape, got {type(value).__name__}"
            )
            raise data_error(subject, detail)

    @property
    def is_mask(self) -> bool:
        """Whether the domain is a mask (crossings at ``θ = 1``, closed faces for Neumann)."""
        return self.kind == "mask"

    def level_set(self, coords: list[np.ndarray], shape: tuple[int, ...]) -> np.ndarray:
        """Evaluate ``φ`` at broadcastable coordinates (a new array); raise where it is not finite.

        Raises
        ------
        DataError
            Naming :attr:`subject`, where ``φ`` is NaN or infinite at some point.
        """
        if self.is_mask:  # pragma: no cover - callers ask masks nothing of the kind
            msg = "a mask has no level set"
            raise TypeError(msg)
        try:
            return evaluate_data(self.value, coords, shape, self.subject)
        except ExpressionError as exc:
            raise data_error(self.subject, str(exc).split(": ", 1)[-1]) from None

    def describe(self) -> str:
        """Return a short text: the expression, "a callable" or the mask's count."""
        if self.is_mask:
            return f"a mask with {int(np.count_nonzero(self.value))} points inside"
        if isinstance(self.value, Expression):
            return f"the level set {self.value.text}"
        if isinstance(self.value, (int, float)):
            return f"the level set {self.value:g}"
        return "a level-set callable"


def dual_coordinates(grid: Grid, axis: int) -> np.ndarray:
    """Return the ends of the control volumes of one axis' points: ``P + 1`` increasing coordinates.

    The control volume of point ``j`` is ``[d_j, d_{j+1}]``: the cell of a
    cell-centred axis; on a node-centred axis the half-way points between nodes
    (the box's bounds at the ends), as the trapezoid weights are.
    """
    a = grid.axes[axis]
    x = np.asarray(a.nodes, dtype=float)
    if a.cell_centred:
        return np.array(x, dtype=float)
    return np.concatenate([[x[0]], 0.5 * (x[:-1] + x[1:]), [x[-1]]])


def _kuhn_simplices(dim: int) -> list[list[tuple[int, ...]]]:
    """Return the ``dim!`` simplices of the unit cube along its main diagonal, as corner bits."""
    out = []
    for perm in itertools.permutations(range(dim)):
        v = [0] * dim
        verts = [tuple(v)]
        for k in perm:
            v[k] = 1
            verts.append(tuple(v))
        out.append(verts)
    return out


def cut_fraction(corners: np.ndarray) -> np.ndarray:
    """Fraction of boxes where a level set, linear on each Kuhn simplex, is negative.

    ``corners`` has shape ``(n, 2, ..., 2)`` (``q`` twos: a ``q``-D box per row,
    ``q = 0`` a point).  On each simplex the fraction of a linear ``φ`` below 0
    is the divided difference ``Σ_{φ_i < 0} φ_i^q / Π_{j ≠ i} (φ_i - φ_j)``
    (values made distinct by a jitter of ``1e-9`` of their scale); the box's is
    the mean over its ``q!`` simplices of equal volume.
    """
    q = corners.ndim - 1
    n = corners.shape[0]
    if q == 0:
        return (corners < 0.0).astype(float)
    flat = corners.reshape(n, -1)
    neg = flat < 0.0
    out = np.where(neg.all(axis=1), 1.0, 0.0)
    cut = np.flatnonzero(neg.any(axis=1) & ~neg.all(axis=1))
    if cut.size == 0:
        return out
    c = corners[cut]
    scale = np.max(np.abs(c.reshape(cut.size, -1)), axis=1)
    total = np.zeros(cut.size)
    simplices = _kuhn_simplices(q)
    for verts in simplices:
        vals = np.stack([c[(slice(None), *v)] for v in verts], axis=1)  # (k, q+1)
        vals = vals + 1e-9 * scale[:, None] * np.arange(q + 1)[None, :]
        vals = np.where(vals == 0.0, 1e-300, vals)  # exact zeros count as outside
        frac = np.zeros(cut.size)
        for i in range(q + 1):
            num = vals[:, i] ** q
            den = np.ones(cut.size)
            for j in range(q + 1):
                if j != i:
                    den = den * (vals[:, i] - vals[:, j])
            frac += np.where(vals[:, i] < 0.0, num / den, 0.0)
        total += np.clip(frac, 0.0, 1.0)
    out[cut] = total / len(simplices)
    return out


class DomainGeometry:
    """A :class:`Domain` on one grid: points inside, crossings, volume fractions, apertures.

    Parameters
    ----------
    grid : Grid
        The grid.
    domain : Domain
        The domain.

    Raises
    ------
    DataError
        Naming the domain's subject: a mask of the wrong shape, a level set that
        is not finite at a point of the grid, or one that leaves no point inside.
    """

    def __init__(self, grid: Grid, domain: Domain):
        self.grid = grid
        self.domain = domain
        if domain.is_mask and domain.value.shape != grid.point_shape:
            detail = (
                f"a mask needs the point shape {grid.point_shape} of the grid, "
                f"got {domain.value.shape}"
            )
            raise data_error(domain.subject, detail)
        if not np.any(self.inside):
            raise data_error(
                domain.subject, f"{domain.describe()} leaves no point of the grid in the domain"
            )

    # -- the points -------------------------------------------------------------------
    @cached_property
    def phi(self) -> np.ndarray | None:
        """``φ`` at every point of the field (None for a mask)."""
        if self.domain.is_mask:
            return None
        g = self.grid
        return self.domain.level_set(g.point_coordinates(), g.point_shape)

    @cached_property
    def inside(self) -> np.ndarray:
        """True at the points of the field in the domain (``φ < 0``, or the mask)."""
        if self.domain.is_mask:
            return np.array(self.domain.value, dtype=bool)
        return self.phi < 0.0

    def level_set_field(self) -> np.ndarray:
        """``φ`` on the points (a mask's: ``-1`` inside, ``+1`` outside), for the output."""
        if self.phi is None:
            return np.where(self.inside, -1.0, 1.0)
        return np.array(self.phi)

    # -- the crossings ----------------------------------------------------------------
    def crossings(self, axis: int) -> np.ndarray:
        """``θ`` of the pairs of neighbouring points along ``axis``, NaN where none.

        Shape: the point shape with one less along ``axis``: entry ``j`` is the
        pair ``(j, j + 1)``.  Where exactly one of the two is inside, ``θ`` in
        ``(0, 1]`` is the distance from the inside point to the boundary over
        their distance.
        """
        key = f"_theta{axis}"
        if key not in self.__dict__:
            self.__dict__[key] = self._crossings(axis)
        return self.__dict__[key]

    def _crossings(self, axis: int) -> np.ndarray:
        g = self.grid
        ins = self.inside
        n = g.point_shape[axis]
        lo = [slice(None)] * g.dimension
        hi = [slice(None)] * g.dimension
        lo[axis], hi[axis] = slice(0, n - 1), slice(1, n)
        a_in, b_in = ins[tuple(lo)], ins[tuple(hi)]
        theta = np.full(a_in.shape, np.nan)
        cross = a_in != b_in
        if not np.any(cross):
            return theta
        if self.domain.is_mask:
            theta[cross] = 1.0
            return theta
        idx = np.nonzero(cross)
        j = idx[axis]
        first = a_in[idx]  # the inside point is the pair's first (j), else its second
        x = g.points[axis]
        start = np.where(first, x[j], x[j + 1])
        step = np.where(first, x[j + 1] - x[j], x[j] - x[j + 1])
        coords = [g.points[b][idx[b]] for b in range(g.dimension)]
        phi = self.phi
        f_in = np.where(first, phi[tuple(lo)][idx], phi[tuple(hi)][idx])
        f_out = np.where(first, phi[tuple(hi)][idx], phi[tuple(lo)][idx])

        def at(t: np.ndarray, where: np.ndarray) -> np.ndarray:
            c = [v[where] for v in coords]
            c[axis] = start[where] + t * step[where]
            return self.domain.level_set(c, (int(where.size),))

        theta[cross] = illinois(at, f_in, f_out)
        return theta

    # -- the control volumes (the finite-volume rule) ------------------------------------
    @cached_property
    def dual_phi(self) -> np.ndarray:
        """``φ`` at the corners of the control volumes (shape: the point shape plus one)."""
        g = self.grid
        coords = np.meshgrid(
            *[dual_coordinates(g, a) for a in range(g.dimension)], indexing="ij", sparse=True
        )
        shape = tuple(n + 1 for n in g.point_shape)
        return self.domain.level_set(list(coords), shape)

    @cached_property
    def volume_fraction(self) -> np.ndarray:
        """The fraction of each point's control volume in the domain (the point shape)."""
        if self.domain.is_mask:
            return self.inside.astype(float)
        return _box_fractions(self.dual_phi, list(range(self.grid.dimension)))

    def aperture(self, axis: int) -> np.ndarray:
        """Return the fraction of each control-volume face normal to ``axis`` in the domain.

        Shape: the point shape with one more along ``axis``: entry ``j`` is the
        face between points ``j - 1`` and ``j`` (``0`` and ``P`` the box's faces).
        A mask's faces are open between two points inside and at the box's faces
        of a point inside, closed elsewhere (the staircase).
        """
        key = f"_aperture{axis}"
        if key in self.__dict__:
            return self.__dict__[key]
        g = self.grid
        if self.domain.is_mask:
            ins = self.inside
            pad = [(0, 0)] * g.dimension
            pad[axis] = (1, 1)
            padded = np.pad(ins, pad, mode="edge")
            n = padded.shape[axis]
            lo = [slice(None)] * g.dimension
            hi = [slice(None)] * g.dimension
            lo[axis], hi[axis] = slice(0, n - 1), slice(1, n)
            out = (padded[tuple(lo)] & padded[tuple(hi)]).astype(float)
        else:
            others = [b for b in range(g.dimension) if b != axis]
            out = _box_fractions(self.dual_phi, others)
        self.__dict__[key] = out
        return out


def _box_fractions(phi: np.ndarray, axes: list[int]) -> np.ndarray:
    """Fractions of the boxes spanned by ``axes`` (one cell of ``phi`` along each) below 0.

    Along the other axes the entries of ``phi`` are taken as they are (a face).
    """
    shape = [s - 1 if a in axes else s for a, s in enumerate(phi.shape)]
    corners = []
    for bits in itertools.product((0, 1), repeat=len(axes)):
        idx = [slice(None)] * phi.ndim
        for a, bit in zip(axes, bits, strict=True):
            idx[a] = slice(bit, bit + shape[a])
        corners.append(phi[tuple(idx)].reshape(-1))
    stacked = np.stack(corners, axis=1).reshape(-1, *([2] * len(axes)))
    return cut_fraction(stacked).reshape(shape)


def illinois(
    at: Callable[[np.ndarray, np.ndarray], np.ndarray],
    f_in: np.ndarray,
    f_out: np.ndarray,
    tol: float = THETA_TOLERANCE,
) -> np.ndarray:
    """Roots ``t`` in ``(0, 1]`` of brackets with ``f(0) < 0 <= f(1)`` (regula falsi, Illinois).

    ``at(t, where)`` evaluates ``f`` of the brackets ``where`` (indices) at
    ``t``.  Every bracket shrinks until its width or the last step is below
    ``tol`` (or ``f`` vanishes); the root returned is the last estimate, kept
    inside the bracket.
    """
    a = np.zeros(f_in.shape)
    b = np.ones(f_in.shape)
    fa, fb = np.array(f_in, dtype=float), np.array(f_out, dtype=float)
    t = np.where(fb == 0.0, 1.0, -1.0)  # -1: no estimate yet
    side = np.zeros(f_in.shape, dtype=np.int8)
    active = np.flatnonzero(fb != 0.0)
    for _ in range(MAX_ROOT_STEPS):
        if active.size == 0:
            break
        ta = a[active] - fa[active] * (b[active] - a[active]) / (fb[active] - fa[active])
        ta = np.clip(ta, a[active], b[active])
        ft = at(ta, active)
        moved = np.abs(ta - t[active])
        t[active] = ta
        left = ft < 0.0
        # Illinois: halve the value kept at the end that did not move twice running
        sa = side[active]
        fb_a, fa_a = fb[active], fa[active]
        fb_a = np.where(left & (sa == -1), 0.5 * fb_a, fb_a)
        fa_a = np.where(~left & (sa == 1), 0.5 * fa_a, fa_a)
        a[active] = np.where(left, ta, a[active])
        fa[active] = np.where(left, ft, fa_a)
        b[active] = np.where(left, b[active], ta)
        fb[active] = np.where(left, fb_a, ft)
        side[active] = np.where(left, -1, 1)
        done = (ft == 0.0) | (b[active] - a[active] <= tol) | (moved <= 0.1 * tol)
        active = active[~done]
    return np.clip(t, math.ulp(1.0), 1.0)
