"""One axis of a box: cells, bounds, stretched nodes, centring, its two faces and unknowns.

Axis ``i`` with ``m`` cells has spacing ``h = (upper - lower)/m`` and nodes
``lower + j*h, j = 0..m``; a *stretched* axis has any strictly increasing node
coordinates ``x_0 = lower < x_1 < ... < x_m = upper`` instead (the
``coordinates`` of :class:`Axis`; :func:`stretched_nodes` makes the named
stretchings).  How an axis is centred, and what its *points* are, is said in
:mod:`kronpde.geometry.grid`, which builds grids of axes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np

from kronpde._checks import is_count, is_real
from kronpde.errors import GridError
from kronpde.geometry.boundary import (
    CONDITION_TYPES,
    Condition,
    Dirichlet,
    Neumann,
    Periodic,
    Robin,
)

AXIS_NAMES = ("x", "y", "z")

#: Named stretchings of :func:`stretched_nodes`.
STRETCHINGS = ("uniform", "tanh")

#: Where an axis' unknowns sit: at the nodes (vertex-centred) or at the cell centres.
CENTERINGS = ("node", "cell")

#: Bounds (and node coordinates) must lie within ``±MAX_BOUND`` (1e100).
MAX_BOUND = 1e100
#: The smallest spacing allowed, relative to the bounds' magnitude: below it neighbouring
#: nodes cannot be told apart in float64.
MIN_RELATIVE_SPACING = 1e-12
#: Most nodes a grid may have (a guard against a grid that could never be held in memory).
MAX_NODES = 2**33


def stretched_nodes(
    cells: int, lower: float = 0.0, upper: float = 1.0, stretch: str = "tanh", beta: float = 2.0
) -> np.ndarray:
    """Node coordinates of a named stretching, shape ``(cells + 1,)``.

    Parameters
    ----------
    cells : int
        Intervals ``m >= 1``.
    lower, upper : float
        End points (exactly the first and last node).
    stretch : {"tanh", "uniform"}
        ``"tanh"``: ``x_j = lower + (upper - lower) (1 + tanh(beta (2 s_j - 1)) / tanh(beta)) / 2``
        with ``s_j = j/m``, a smooth map that clusters the nodes towards both
        ends (boundary layers); the ratio of the largest to the smallest
        spacing is about ``cosh(beta)**2``.  ``"uniform"``: ``lower + j h``.
    beta : float
        Strength of the ``tanh`` stretching, ``0 < beta <= 10`` (ignored by
        ``"uniform"``).

    Returns
    -------
    ndarray
        Strictly increasing coordinates.

    Raises
    ------
    GridError
        For an unknown stretching or a ``beta`` out of range.

    Examples
    --------
    >>> x = stretched_nodes(4, 0.0, 1.0, "tanh", beta=2.0)
    >>> float(x[0]), float(x[-1]), bool(x[1] - x[0] < x[2] - x[1])
    (0.0, 1.0, True)
    """
    if stretch not in STRETCHINGS:
        msg = f"stretch: must be one of {', '.join(STRETCHINGS)}, got {stretch!r}"
        raise GridError(msg, subject="stretch")
    s = np.arange(cells + 1, dtype=float) / cells
    if stretch == "uniform":
        x = lower + (upper - lower) * s
    else:
        if not is_real(beta):
            msg = f"beta: must be a number, got {beta!r}"
            raise GridError(msg, subject="beta")
        if not (0.0 < float(beta) <= 10.0):
            msg = f"beta: must be > 0 and <= 10, got {beta!r}"
            raise GridError(msg, subject="beta")
        t = np.tanh(float(beta) * (2.0 * s - 1.0)) / math.tanh(float(beta))
        x = lower + (upper - lower) * 0.5 * (1.0 + t)
    x[0], x[-1] = lower, upper
    return x


def axis_name(i: int) -> str:
    """Name of axis ``i``: ``x``, ``y``, ``z``, then ``x3``, ``x4``, ..."""
    return AXIS_NAMES[i] if i < len(AXIS_NAMES) else f"x{i}"


def face_name(i: int, side: int) -> str:
    """Name of a face: ``xmin`` for (0, 0), ``xmax`` for (0, 1), ``ymin`` ..."""
    return axis_name(i) + ("min", "max")[side]


@dataclass(frozen=True)
class Axis:
    """One axis of the box with its two boundary conditions.

    Parameters
    ----------
    cells : int
        Number of intervals ``m >= 1``.
    lower, upper : float
        Bounds, ``lower < upper``.
    lower_bc, upper_bc : Dirichlet, Neumann, Robin or Periodic
        Condition on the ``min`` and ``max`` face.  Periodic on both or neither.
    coordinates : sequence of float, optional
        Node coordinates of a stretched (non-uniform) axis: ``cells + 1``
        strictly increasing numbers from ``lower`` to ``upper`` (stored as a
        tuple).  None (default): the uniform nodes ``lower + j h``.  See
        :meth:`from_nodes` and :func:`stretched_nodes`.  On a cell-centred
        axis these are the cell faces.
    centering : {"node", "cell"}
        ``"node"`` (default): the unknowns are nodes; ``"cell"``: the
        unknowns are the ``cells`` cell centres (the module docstring).

    Examples
    --------
    >>> a = Axis(4, centering="cell")
    >>> a.n_unknowns, a.points.tolist(), a.weights.tolist()
    (4, [0.125, 0.375, 0.625, 0.875], [0.25, 0.25, 0.25, 0.25])
    """

    cells: int
    lower: float = 0.0
    upper: float = 1.0
    lower_bc: Condition = Dirichlet()
    upper_bc: Condition = Dirichlet()
    coordinates: tuple[float, ...] | None = None
    centering: str = "node"

    def __post_init__(self) -> None:
        """Check the arguments (see the class docstring)."""
        if not isinstance(self.centering, str) or self.centering not in CENTERINGS:
            msg = f'centering: must be "node" or "cell", got {self.centering!r}'
            raise GridError(msg, subject="centering")
        cells = self.cells
        if not is_count(cells, 1):
            msg = f"cells: must be a positive integer, got {cells!r}"
            raise GridError(msg, subject="cells")
        object.__setattr__(self, "cells", int(cells))
        for name in ("lower", "upper"):
            v = getattr(self, name)
            if not is_real(v):
                msg = f"{name}: must be a number, got {v!r}"
                raise GridError(msg, subject=name)
            if not math.isfinite(float(v)):
                msg = f"{name}: must be finite, got {v!r}"
                raise GridError(msg, subject=name)
            if abs(float(v)) > MAX_BOUND:
                msg = f"{name}: must lie within ±1e100, got {float(v):g}"
                raise GridError(msg, subject=name)
            object.__setattr__(self, name, float(v))
        if not self.lower < self.upper:
            msg = (
                f"upper: must be greater than lower (lower < upper), got lower = {self.lower:g} "
                f"and upper = {self.upper:g}"
            )
            raise GridError(msg, subject="upper")
        for name in ("lower_bc", "upper_bc"):
            if not isinstance(getattr(self, name), CONDITION_TYPES):
                msg = (
                    f"{name}: must be Dirichlet, Neumann, Robin or Periodic, "
                    f"got {getattr(self, name)!r}"
                )
                raise GridError(msg, subject=name)
        lo_p = isinstance(self.lower_bc, Periodic)
        hi_p = isinstance(self.upper_bc, Periodic)
        if lo_p != hi_p:
            msg = (
                f"an axis is periodic on both faces or on neither, but its lower face is "
                f"{self.lower_bc.kind} and its upper face {self.upper_bc.kind}"
            )
            raise GridError(msg, subject="lower_bc" if lo_p else "upper_bc")
        if self.n_unknowns < 1:
            msg = (
                f"cells: an axis with Dirichlet faces on both sides needs at least 2 cells for "
                f"one unknown, got {self.cells}"
            )
            raise GridError(msg, subject="cells")
        if self.coordinates is not None:
            self._check_coordinates()
        else:
            self._check_spacing(self.h, "cells")

    def _check_spacing(self, h: float, subject: str) -> None:
        """Refuse a spacing below :data:`MIN_RELATIVE_SPACING` of the bounds' magnitude."""
        scale = max(abs(self.lower), abs(self.upper))
        if h < 1e-100 or h < MIN_RELATIVE_SPACING * scale:
            what = (
                "the spacing (upper - lower)/cells"
                if subject == "cells"
                else "the smallest spacing"
            )
            msg = (
                f"{subject}: {what} = {h:.3g} is too small for bounds of magnitude {scale:.3g}; "
                "neighbouring nodes would not be distinct"
            )
            raise GridError(msg, subject=subject)

    def _check_coordinates(self) -> None:
        def fail(detail: str) -> GridError:
            return GridError(f"coordinates: {detail}", subject="coordinates", detail=detail)

        try:
            x = np.asarray(self.coordinates, dtype=float)
        except (TypeError, ValueError) as exc:
            msg = "must be an array of numbers"
            raise fail(msg) from exc
        if x.shape != (self.cells + 1,):
            msg = f"need cells + 1 = {self.cells + 1} node coordinates, got shape {x.shape}"
            raise fail(msg)
        if not np.all(np.isfinite(x)):
            msg = "must be finite"
            raise fail(msg)
        if x[0] != self.lower or x[-1] != self.upper:
            msg = (
                f"must start at lower = {self.lower:g} and end at upper = "
                f"{self.upper:g}, got {x[0]:g} and {x[-1]:g}"
            )
            raise fail(msg)
        h = np.diff(x)
        if not np.all(h > 0.0):
            msg = "must be strictly increasing"
            raise fail(msg)
        self._check_spacing(float(np.min(h)), "coordinates")
        object.__setattr__(self, "coordinates", tuple(float(v) for v in x))

    @classmethod
    def from_nodes(
        cls,
        nodes: Sequence[float] | np.ndarray,
        lower_bc: Condition | None = None,
        upper_bc: Condition | None = None,
        centering: str = "node",
    ) -> Axis:
        """Return a stretched axis from its node coordinates (``cells = len(nodes) - 1``).

        The conditions default to homogeneous Dirichlet.  With
        ``centering="cell"`` the nodes are the cell faces.

        Examples
        --------
        >>> a = Axis.from_nodes([0.0, 0.1, 0.3, 0.6, 1.0])
        >>> a.cells, a.uniform, a.spacings.round(3).tolist()
        (4, False, [0.1, 0.2, 0.3, 0.4])
        """
        x = np.asarray(nodes, dtype=float).reshape(-1)
        if x.size < 2:
            msg = f"coordinates: need at least 2 nodes, got {x.size}"
            raise GridError(msg, subject="coordinates")
        lower_bc = Dirichlet() if lower_bc is None else lower_bc
        upper_bc = Dirichlet() if upper_bc is None else upper_bc
        return cls(x.size - 1, float(x[0]), float(x[-1]), lower_bc, upper_bc, tuple(x), centering)

    @property
    def uniform(self) -> bool:
        """True for evenly spaced nodes (no ``coordinates`` given)."""
        return self.coordinates is None

    @property
    def cell_centred(self) -> bool:
        """True when the unknowns sit at the cell centres (``centering="cell"``)."""
        return self.centering == "cell"

    def refined(self, factor: int) -> Axis:
        """Return the same axis with every interval split into ``factor`` equal parts.

        Bounds and conditions are kept; a stretched axis keeps its nodes and
        gains ``factor - 1`` evenly spaced ones inside every interval.

        Examples
        --------
        >>> Axis.from_nodes([0.0, 0.5, 2.0]).refined(2).nodes.tolist()
        [0.0, 0.25, 0.5, 1.25, 2.0]
        """
        if not is_count(factor, 1):
            msg = f"factor must be a positive integer, got {factor!r}"
            raise GridError(msg, subject="factor")
        factor = int(factor)
        if factor == 1:
            return self
        if self.coordinates is None:
            return replace(self, cells=self.cells * factor)
        x = np.asarray(self.coordinates)
        fine = (x[:-1, None] + np.diff(x)[:, None] * (np.arange(factor) / factor)).ravel()
        return replace(
            self, cells=self.cells * factor, coordinates=tuple(np.append(fine, x[-1]).tolist())
        )

    @property
    def h(self) -> float:
        """Spacing ``(upper - lower)/cells`` (the mean spacing on a stretched axis)."""
        return (self.upper - self.lower) / self.cells

    @cached_property
    def spacings(self) -> np.ndarray:
        """Length of every interval, ``x_{j+1} - x_j``, shape ``(cells,)``.

        All equal to :attr:`h` (exactly) on a uniform axis.
        """
        if self.coordinates is None:
            return np.full(self.cells, self.h)
        return np.diff(np.asarray(self.coordinates))

    @property
    def periodic(self) -> bool:
        """True for a periodic axis."""
        return isinstance(self.lower_bc, Periodic)

    @cached_property
    def nodes(self) -> np.ndarray:
        """All ``cells + 1`` node coordinates, shape ``(cells + 1,)`` (the faces of the cells)."""
        if self.coordinates is not None:
            return np.array(self.coordinates)
        x = self.lower + self.h * np.arange(self.cells + 1, dtype=float)
        x[-1] = self.upper  # exact end point despite rounding
        return x

    @cached_property
    def centres(self) -> np.ndarray:
        """The cell centres, shape ``(cells,)``: ``lower + (j + 1/2) h``, or mid-points of nodes."""
        if self.coordinates is None:
            return self.lower + self.h * (np.arange(self.cells, dtype=float) + 0.5)
        x = np.asarray(self.coordinates)
        return 0.5 * (x[:-1] + x[1:])

    @property
    def points(self) -> np.ndarray:
        """Where the axis' field has values: :attr:`nodes`, or :attr:`centres` if cell-centred."""
        return self.centres if self.cell_centred else self.nodes

    @property
    def unknown_slice(self) -> slice:
        """Slice of :attr:`points` that are unknowns (all of them on a cell-centred axis)."""
        if self.cell_centred:
            return slice(0, self.cells)
        start = 1 if isinstance(self.lower_bc, Dirichlet) else 0
        stop = self.cells if isinstance(self.upper_bc, (Dirichlet, Periodic)) else self.cells + 1
        return slice(start, stop)

    @property
    def n_unknowns(self) -> int:
        """Number of unknowns on this axis."""
        s = self.unknown_slice
        return s.stop - s.start

    @cached_property
    def weights(self) -> np.ndarray:
        """Trapezoid weights of the unknowns, shape ``(n_unknowns,)``.

        ``h`` for interior and periodic nodes, ``h/2`` for a Neumann/Robin
        boundary node.  ``sum(weights * v)`` is the trapezoid rule over the
        axis for a ``v`` that vanishes on Dirichlet nodes (exactly the
        periodic trapezoid rule on a periodic axis).  On a stretched axis the
        weight of node ``j`` is the length of its dual cell,
        ``(h_{j-1} + h_j)/2`` (``h_0/2``, ``h_{m-1}/2`` at the ends; on a
        periodic axis node 0 takes ``(h_{m-1} + h_0)/2``): again the
        trapezoid rule.  On a cell-centred axis the weights are the cell
        widths (``h``, or :attr:`spacings`): the mid-point rule.
        """
        if self.cell_centred:
            return self.spacings.copy()
        if self.coordinates is None:
            w = np.full(self.n_unknowns, self.h)
            if isinstance(self.lower_bc, (Neumann, Robin)):
                w[0] *= 0.5
            if isinstance(self.upper_bc, (Neumann, Robin)):
                w[-1] *= 0.5
            return w
        h = self.spacings
        dual = np.empty(self.cells + 1)
        dual[1:-1] = 0.5 * (h[:-1] + h[1:])
        dual[0] = 0.5 * h[0]
        dual[-1] = 0.5 * h[-1]
        if self.periodic:
            dual[0] = 0.5 * (h[-1] + h[0])
        return dual[self.unknown_slice]

    @property
    def has_null_space(self) -> bool:
        """True if the 1-D operator is singular (constants in its kernel)."""

        def free(bc: Condition) -> bool:
            return isinstance(bc, (Neumann, Periodic)) or (
                isinstance(bc, Robin) and bc.alpha == 0.0
            )

        return free(self.lower_bc) and free(self.upper_bc)
