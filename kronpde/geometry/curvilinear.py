"""Grids in curvilinear coordinates: :class:`CurvilinearGrid` and the per-axis metric.

A :class:`CurvilinearGrid` is a tensor grid of :class:`~kronpde.geometry.axis.Axis`
objects in one of the :mod:`~kronpde.geometry.coordinates` systems.  Its axes
are checked against the system (``r >= 0``, ``0 <= θ <= π`` for a colatitude,
an azimuth spanning at most ``2π`` and exactly ``2π`` when periodic, ``axis``
faces at ``r = 0`` and ``pole`` faces at ``θ = 0, π``).  A node-centred point
on the axis or at a pole is one unknown shared by every line through it: the
unknowns are the tensor product of the axes' unknowns (:attr:`tensor_shape`)
with the copies of each such point merged, so :attr:`Grid.shape` is flat,
``(size,)``, and :meth:`to_nodes` repeats a shared value on every line.
:class:`AxisMetric` holds what the discretisation needs of one axis: the
control widths and volumes of its unknowns and the flux factors of its faces
(``docs/curvilinear.md``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
import scipy.sparse as sp

from kronpde.errors import GridError
from kronpde.geometry.axis import Axis, face_name
from kronpde.geometry.boundary import (
    Condition,
    Dirichlet,
    Neumann,
    OnAxis,
    Pole,
    Robin,
)
from kronpde.geometry.coordinates import Coordinates, coordinates
from kronpde.geometry.grid import Grid

__all__ = ["AxisMetric", "CurvilinearGrid"]

#: How close an angle's span must be to ``2π`` (relative) to count as the full circle.
FULL_TURN_TOLERANCE = 1e-9

_TWO_PI = 2.0 * math.pi


@dataclass(frozen=True)
class AxisMetric:
    """The metric of one axis on its unknowns (``docs/curvilinear.md``).

    Attributes
    ----------
    x : ndarray
        The unknowns' coordinates.
    faces : ndarray
        The positions of the faces between consecutive unknowns (and the wrap
        face last on a periodic axis).
    distance : ndarray
        The distances between the unknowns across those faces.
    width : ndarray
        The control width of every unknown (the ghost-reflection width at a
        node-centred Neumann or Robin end, as FISHPACK's rows have it).
    mass : ndarray
        ``∫ j_i`` over the control interval: ``j_i(x) width``, integrated
        exactly at a node on the axis or at a pole.
    singular : tuple of bool
        Per end: a node-centred axis or pole point.
    """

    x: np.ndarray
    faces: np.ndarray
    distance: np.ndarray
    width: np.ndarray
    mass: np.ndarray
    singular: tuple[bool, bool]
    system: Coordinates
    index: int

    def cross(self, flux: int) -> np.ndarray:
        """``∫ b_{flux,i}`` over every unknown's control interval (0 where it diverges).

        Where it diverges (``1/r`` on the axis, ``1/sin θ`` at a pole) it only
        multiplies couplings between copies of one shared point, which cancel.
        """
        b = self.system.b(flux, self.index)
        out = b(self.x) * self.width
        for side, end in ((0, 0), (1, -1)):
            if self.singular[side]:
                lo, hi = self._control(side)
                v = b.end_integral(lo, hi, side == 0)
                out[end] = 0.0 if not math.isfinite(v) else v
        return out

    def _control(self, side: int) -> tuple[float, float]:
        x0 = float(self.x[0 if side == 0 else -1])
        d = float(self.distance[0 if side == 0 else len(self.x) - 2])
        return (x0, x0 + d / 2) if side == 0 else (x0 - d / 2, x0)


class CurvilinearGrid(Grid):
    """A tensor grid in curvilinear coordinates (module docstring).

    Parameters
    ----------
    axes : sequence of Axis
        The axes in the system's order (``r, theta``; ...).
    system : Coordinates
        The coordinate system (:func:`kronpde.geometry.coordinates.coordinates`).

    Raises
    ------
    GridError
        For axes the system does not allow; ``subject`` names the bound
        (``lower``/``upper``) or the face (``rmin``, ``thetamax``, ...).
    """

    def __init__(self, axes: Sequence[Axis], system: Coordinates):
        super().__init__(axes)
        if len(self.axes) != system.dimension:
            msg = f"{system.name} coordinates need {system.dimension} axes, got {len(self.axes)}"
            raise GridError(msg, subject="cells")
        self.coordinate_system = system
        for i in range(system.dimension):
            self._check_axis(i)
        self._shares = self._shared_points()

    # -- construction --------------------------------------------------------------------
    @classmethod
    def build(
        cls,
        system: str | Coordinates,
        cells: Sequence[int],
        lower: Sequence[float] | None = None,
        upper: Sequence[float] | None = None,
        boundary: Mapping[str, Condition] | Condition | None = None,
        default: Condition | None = None,
        centering: str | Sequence[str] = "node",
        radius: float = 1.0,
        nodes: Sequence[Sequence[float] | np.ndarray | None] | None = None,
    ) -> CurvilinearGrid:
        """Build a curvilinear grid from per-axis lists and faces named after its axes.

        Parameters
        ----------
        system : str or Coordinates
            ``"polar"``, ``"cylindrical"``, ``"spherical"`` or ``"sphere"``.
        cells, lower, upper, default, centering
            As for :meth:`Grid.box` (``lower`` defaults to 0, ``upper`` to 1).
        boundary : mapping or condition
            Faces ``rmin rmax thetamin thetamax zmin zmax phimin phimax`` (those
            of the system), conditions as for boxes plus
            :class:`~kronpde.geometry.boundary.OnAxis` and
            :class:`~kronpde.geometry.boundary.Pole`.
        radius : float
            The sphere's radius (``sphere`` only).
        nodes : sequence, optional
            Stretched axes' node coordinates, as for :meth:`Grid.box`.

        Examples
        --------
        >>> from kronpde.geometry.boundary import Dirichlet, OnAxis, Periodic
        >>> g = CurvilinearGrid.build("polar", [4, 8], upper=[1.0, 6.283185307179586],
        ...     boundary={"rmin": OnAxis(), "thetamin": Periodic(), "thetamax": Periodic()})
        >>> g.tensor_shape, g.size
        ((4, 8), 25)
        """
        if not isinstance(system, Coordinates):
            try:
                system = coordinates(system, len(cells), radius)
            except ValueError as exc:
                msg = f"coordinates: {exc}"
                raise GridError(msg, subject="coordinates_name") from None
        if system.name == "sphere" and not (math.isfinite(radius) and radius > 0.0):
            msg = f"radius: must be finite and > 0, got {radius!r}"
            raise GridError(msg, subject="radius")
        names = {system.face_name(i, s): face_name(i, s) for i in range(system.dimension)
                 for s in (0, 1)}  # fmt: skip
        back = {v: k for k, v in names.items()}
        if isinstance(boundary, Mapping):
            for key in boundary:
                if key not in names:
                    msg = (
                        f"face {key!r} does not exist in {system.title} coordinates; faces "
                        f"are {', '.join(system.face_names)}"
                    )
                    raise GridError(msg, subject=key)
            boundary = {names[k]: v for k, v in boundary.items()}
        try:
            box = Grid.box(cells, lower, upper, boundary, default, nodes, centering)
        except GridError as exc:
            subject = back.get(exc.subject, exc.subject)
            raise GridError(str(exc), subject=subject, axis=exc.axis, detail=exc.detail) from None
        return cls(box.axes, system)

    @classmethod
    def polar(
        cls, cells: Sequence[int], lower=None, upper=None, boundary=None, **kw
    ) -> CurvilinearGrid:  # noqa: ANN001
        """Return :meth:`build` of ``"polar"`` (axes ``r, theta``)."""
        return cls.build("polar", cells, lower, upper, boundary, **kw)

    @classmethod
    def cylindrical(
        cls, cells: Sequence[int], lower=None, upper=None, boundary=None, **kw
    ) -> CurvilinearGrid:  # noqa: ANN001
        """Return :meth:`build` of ``"cylindrical"`` (``r, theta, z``; ``r, z`` in 2-D)."""
        return cls.build("cylindrical", cells, lower, upper, boundary, **kw)

    @classmethod
    def spherical(
        cls, cells: Sequence[int], lower=None, upper=None, boundary=None, **kw
    ) -> CurvilinearGrid:  # noqa: ANN001
        """Return :meth:`build` of ``"spherical"`` (``r, theta, phi``; ``r, theta`` in 2-D)."""
        return cls.build("spherical", cells, lower, upper, boundary, **kw)

    @classmethod
    def sphere(
        cls, cells: Sequence[int], lower=None, upper=None, boundary=None, **kw
    ) -> CurvilinearGrid:  # noqa: ANN001
        """Return :meth:`build` of ``"sphere"`` (``theta, phi``; ``radius=``)."""
        return cls.build("sphere", cells, lower, upper, boundary, **kw)

    def expression(self, text: object) -> object:
        """Return an expression in the grid's names (``r``, ``theta``, ..., ``x, y, z``)."""
        return self.coordinate_system.expression(text)

    def _check_axis(self, i: int) -> None:
        s = self.coordinate_system
        a = self.axes[i]
        kind = s.kind(i)
        name = s.axes[i]
        conds = (a.lower_bc, a.upper_bc)
        faces = (s.face_name(i, 0), s.face_name(i, 1))
        for side, bc in enumerate(conds):
            if isinstance(bc, OnAxis) and not (kind == "r" and side == 0 and a.lower == 0.0):
                where = "the face rmin with lower r = 0" if kind == "r" else "rmin"
                msg = (
                    f"{faces[side]}: an axis face must be {where} (got {name} = "
                    f"{(a.lower, a.upper)[side]:g}); the axis is where r = 0"
                )
                raise GridError(msg, subject=faces[side])
            if isinstance(bc, Pole):
                at = (a.lower, a.upper)[side]
                ok = kind == "colatitude" and at == (0.0, math.pi)[side]
                if not ok and kind == "colatitude" and abs(at - (0.0, math.pi)[side]) < 1e-12:
                    ok = True
                if not ok:
                    msg = (
                        f"{faces[side]}: a pole face must be thetamin at theta = 0 or thetamax "
                        f"at theta = pi of a spherical grid or the sphere, got {name} = {at:g}"
                    )
                    raise GridError(msg, subject=faces[side])
        if kind == "r":
            self._check_radius(a, faces)
        elif kind == "colatitude":
            self._check_colatitude(a, faces)
        elif kind == "azimuth":
            self._check_azimuth(a, name, faces)

    @staticmethod
    def _check_radius(a: Axis, faces: tuple[str, str]) -> None:
        if a.lower < 0.0:
            msg = f"lower: r must be >= 0 (it is a distance from the axis), got {a.lower:g}"
            raise GridError(msg, subject="lower")
        if a.periodic:
            msg = f"{faces[0]}: the r axis cannot be periodic"
            raise GridError(msg, subject=faces[0])
        if a.lower == 0.0 and not isinstance(a.lower_bc, OnAxis):
            if a.cell_centred or not isinstance(a.lower_bc, Dirichlet):
                msg = (
                    f'{faces[0]}: lower r = 0 is the axis: use type = "axis" (the solution is '
                    f"regular there), got {a.lower_bc.kind}"
                )
                raise GridError(msg, subject=faces[0])

    @staticmethod
    def _check_colatitude(a: Axis, faces: tuple[str, str]) -> None:
        if a.lower < 0.0:
            msg = f"lower: theta (the colatitude) must lie in [0, pi], got {a.lower:g}"
            raise GridError(msg, subject="lower")
        if a.upper > math.pi * (1 + 1e-15):
            msg = f"upper: theta (the colatitude) must lie in [0, pi], got {a.upper:.17g}"
            raise GridError(msg, subject="upper")
        if a.periodic:
            msg = f"{faces[0]}: theta (the colatitude) cannot be periodic"
            raise GridError(msg, subject=faces[0])
        for side, at in ((0, a.lower), (1, a.upper)):
            bc = (a.lower_bc, a.upper_bc)[side]
            if abs(at - (0.0, math.pi)[side]) < 1e-12 and not isinstance(bc, Pole):
                if a.cell_centred or not isinstance(bc, Dirichlet):
                    msg = (
                        f"{faces[side]}: theta = {('0', 'pi')[side]} is a pole: use type = "
                        f'"pole", got {bc.kind}'
                    )
                    raise GridError(msg, subject=faces[side])

    @staticmethod
    def _check_azimuth(a: Axis, name: str, faces: tuple[str, str]) -> None:
        span = a.upper - a.lower
        full = abs(span - _TWO_PI) <= FULL_TURN_TOLERANCE * _TWO_PI
        if span > _TWO_PI and not full:
            msg = f"upper: the {name} span upper - lower = {span:.17g} is over 2*pi"
            raise GridError(msg, subject="upper")
        if a.periodic and not full:
            msg = (
                f"{faces[0]}: a periodic {name} axis must span 2*pi (upper - lower = "
                f"{span:.17g}); make the faces neumann or dirichlet, or span the full turn"
            )
            raise GridError(msg, subject=faces[0])

    # -- shared points -------------------------------------------------------------------
    def _shared_points(self) -> list[tuple[int, int, tuple[int, ...]]]:
        """``(axis, end index, shared axes)`` of every node-centred axis or pole point."""
        s = self.coordinate_system
        out = []
        for i, a in enumerate(self.axes):
            if a.cell_centred:
                continue
            kind = s.kind(i)
            if kind == "r" and isinstance(a.lower_bc, OnAxis):
                shared = tuple(j for j in range(self.dimension) if s.kind(j) != "z" and j != i)
                if shared:
                    out.append((i, 0, shared))
            if kind == "colatitude":
                shared = tuple(j for j in range(self.dimension) if s.kind(j) == "azimuth")
                for side, bc in enumerate((a.lower_bc, a.upper_bc)):
                    if isinstance(bc, Pole) and shared:
                        out.append((i, 0 if side == 0 else a.n_unknowns - 1, shared))
        for i, _end, shared in out:
            for j in shared:
                b = self.axes[j]
                for side, bc in enumerate((b.lower_bc, b.upper_bc)):
                    if isinstance(bc, (Dirichlet, Robin)) and not isinstance(bc, Neumann):
                        what = "axis" if s.kind(i) == "r" else "pole"
                        face = s.face_name(j, side)
                        msg = (
                            f"{face}: a node-centred {what} point is shared by every "
                            f"{s.axes[j]} line, so the {s.axes[j]} faces must be periodic or "
                            f"neumann, got {bc.kind} (or make {s.axes[i]} cell-centred)"
                        )
                        raise GridError(msg, subject=face)
        return out

    @property
    def shared_points(self) -> list[tuple[int, int, tuple[int, ...]]]:
        """Return ``(axis, end index, shared axes)`` of every node-centred axis or pole point."""
        return list(self._shares)

    @cached_property
    def tensor_shape(self) -> tuple[int, ...]:
        """The tensor product of the axes' unknowns, shared points counted on every line."""
        return tuple(a.n_unknowns for a in self.axes)

    @cached_property
    def owner(self) -> np.ndarray:
        """For every tensor unknown (flat, C order), the index of its unknown."""
        idx = list(np.indices(self.tensor_shape).reshape(self.dimension, -1))
        for i, end, shared in self._shares:
            at = idx[i] == end
            for j in shared:
                idx[j] = np.where(at, 0, idx[j])
        canon = np.ravel_multi_index(tuple(idx), self.tensor_shape)
        _, owner = np.unique(canon, return_inverse=True)
        return owner.reshape(-1)

    @cached_property
    def representative(self) -> np.ndarray:
        """For every unknown, one tensor unknown (flat) that is it."""
        rep = np.empty(self.size, dtype=np.int64)
        rep[self.owner[::-1]] = np.arange(self.owner.size)[::-1]
        return rep

    @cached_property
    def gather(self) -> sp.csr_array:
        """``P``: the unknowns to the tensor unknowns (copies), a sparse 0/1 matrix."""
        n = self.owner.size
        return sp.csr_array(
            (np.ones(n), (np.arange(n), self.owner)), shape=(n, int(self.owner.max()) + 1)
        )

    # -- sizes ---------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        """The tensor shape, or ``(size,)`` with a shared point (the unknowns then are flat)."""
        return (self.size,) if self._shares else self.tensor_shape

    @property
    def size(self) -> int:
        """The number of unknowns, a shared axis or pole point counted once."""
        if not self._shares:
            return math.prod(self.tensor_shape)
        return int(self.owner.max()) + 1

    @cached_property
    def metrics(self) -> tuple[AxisMetric, ...]:
        """The :class:`AxisMetric` of every axis."""
        return tuple(_metric(self.coordinate_system, i, a) for i, a in enumerate(self.axes))

    def tensor_weights(self) -> np.ndarray:
        """Return the control volumes of the tensor unknowns (copies share a point's)."""
        w = np.ones(())
        for m in self.metrics:
            w = np.multiply.outer(w, m.mass)
        return w

    def box_weights(self, box: tuple[Sequence[int], Sequence[int]]) -> np.ndarray:
        """Return the control volumes of a box of unknowns (a grid without shared points)."""
        lo, hi = box
        index = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))
        return self.tensor_weights()[index]

    def weights(self) -> np.ndarray:
        """Return the control volumes of the unknowns (flat): ``A``'s symmetrising weights."""
        return self.gather.T @ self.tensor_weights().reshape(-1)

    def refined(self, factor: int) -> CurvilinearGrid:
        """Return the same grid with every interval split into ``factor`` parts."""
        return CurvilinearGrid([a.refined(factor) for a in self.axes], self.coordinate_system)

    def with_axes(self, axes: Sequence[Axis]) -> CurvilinearGrid:
        """Return a grid of the same coordinates on other axes."""
        return CurvilinearGrid(axes, self.coordinate_system)

    # -- fields --------------------------------------------------------------------------
    def expand(self, u: np.ndarray) -> np.ndarray:
        """Return the tensor unknowns of unknowns ``u`` (a shared value on every line)."""
        u = np.asarray(u).reshape(-1)
        return u[self.owner].reshape(self.tensor_shape)

    def reduce(self, u: np.ndarray) -> np.ndarray:
        """Return the unknowns of tensor unknowns ``u`` (one copy of each shared point), flat."""
        return np.asarray(u).reshape(-1)[self.representative]

    def to_nodes(self, u: np.ndarray, dirichlet_values: np.ndarray | None = None) -> np.ndarray:
        """Scatter the unknowns into the field (:meth:`Grid.to_nodes`)."""
        t = self.expand(np.asarray(u, dtype=float))
        if dirichlet_values is None:
            dirichlet_values, _ = self.dirichlet_nodes()
        full = np.array(dirichlet_values, dtype=float, copy=True)
        full[self.unknown_index] = t
        return self.wrap_periodic(full)

    def from_nodes(self, field: np.ndarray) -> np.ndarray:
        """Return the unknowns' values of a field (shape :attr:`point_shape`), a copy."""
        field = np.asarray(field, dtype=float)
        if field.shape != self.point_shape:
            msg = f"expected an array of the point shape {self.point_shape}, got {field.shape}"
            raise GridError(msg, subject="field")
        t = field[self.unknown_index].reshape(-1)
        return np.array(t[self.representative])

    def cartesian_points(self, nodes: bool = False) -> tuple[np.ndarray, ...]:
        """``(x, y, z)`` of every point of the field (or every node), each of that shape."""
        axes = self.nodes if nodes else self.points
        grids = np.meshgrid(*axes, indexing="ij")
        x, y, z = self.coordinate_system.cartesian(list(grids))
        shape = grids[0].shape
        return tuple(np.broadcast_to(v, shape).astype(float) for v in (x, y, z))

    def __repr__(self) -> str:
        """Return a one-line summary."""
        s = self.coordinate_system
        parts = [
            f"{s.axes[i]}: {a.cells} cells on [{a.lower:g}, {a.upper:g}] "
            f"({a.lower_bc.kind}/{a.upper_bc.kind}{', cell-centred' if a.cell_centred else ''})"
            for i, a in enumerate(self.axes)
        ]
        return f"CurvilinearGrid({s.title}; {'; '.join(parts)})"


def _metric(system: Coordinates, i: int, a: Axis) -> AxisMetric:
    """Return the :class:`AxisMetric` of axis ``i`` (``docs/curvilinear.md``)."""
    pts = a.points
    sl = a.unknown_slice
    x = pts[sl]
    n = x.size
    nodes = a.nodes
    if a.cell_centred:
        faces = nodes[1:-1]
        distance = np.diff(pts)
        width = a.spacings.copy()
        if a.periodic:
            faces = np.append(faces, nodes[-1])
            distance = np.append(distance, 0.5 * (a.spacings[0] + a.spacings[-1]))
    else:
        faces = 0.5 * (x[:-1] + x[1:])
        distance = np.diff(x)
        if a.periodic:
            faces = np.append(faces, 0.5 * (nodes[-2] + nodes[-1]))
            distance = np.append(distance, nodes[-1] - nodes[-2])
        width = a.weights.copy()
    own = system.a(i)
    singular = [False, False]
    if not a.cell_centred:
        for side, bc in enumerate((a.lower_bc, a.upper_bc)):
            if not isinstance(bc, Neumann | Robin) or n < 2:
                continue
            end = 0 if side == 0 else -1
            d = float(np.diff(nodes)[0 if side == 0 else -1])
            xb = float(x[end])
            if isinstance(bc, OnAxis | Pole):
                singular[side] = True
                continue
            step = d / 2 if side == 0 else -d / 2
            a_in, a_gh = float(own(np.array(xb + step))), float(own(np.array(xb - step)))
            width[end] = d * a_in / (a_in + a_gh) if a_gh > 0.0 else d / 2
    ends = (singular[0], singular[1])
    metric = AxisMetric(x, faces, distance, width, np.empty(0), ends, system, i)
    mass = system.j(i)(x) * width
    for side, end in ((0, 0), (1, -1)):
        if singular[side]:
            lo, hi = metric._control(side)  # noqa: SLF001 - the same module
            mass[end] = system.j(i).end_integral(lo, hi, side == 0)
    return replace(metric, mass=mass)
