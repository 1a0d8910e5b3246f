"""Curvilinear coordinate systems: axes, faces, metric factors, Cartesian positions, expressions.

A :class:`Coordinates` is one of the systems of ``case-format.md`` ("Curvilinear
coordinates"): ``polar``, ``cylindrical`` (3-D, or 2-D axisymmetric),
``spherical`` (3-D, or 2-D axisymmetric) and ``sphere``.  Each is orthogonal
and *separable*: the volume density is ``J = Π_i j_i(x_i)`` and the flux factor
of axis ``l`` is ``C_l = J g^{ll} = a_l(x_l) Π_{i≠l} b_{li}(x_i)``, so that
``-div(grad u) = -(1/J) Σ_l ∂_l (C_l ∂_l u)``.  The factors are
:class:`Factor` objects (``c x^p`` or ``c sin(x)^p``) that also integrate, which
the control volume of a node on the axis or at a pole needs.  The derivation
of the discretisation: ``docs/curvilinear.md``.
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass, field, replace

import numpy as np

from kronpde.expr.expression import Expression, ExpressionError, parse_expression
from kronpde.expr.grammar import COORDINATES

__all__ = ["SYSTEMS", "Coordinates", "Factor", "coordinates"]

#: The coordinate systems a grid may have (``[grid] coordinates``), ``cartesian`` first.
SYSTEMS = ("cartesian", "polar", "cylindrical", "spherical", "sphere")

_CONSTANTS = ("pi", "e")


@dataclass(frozen=True)
class Factor:
    """A 1-D metric factor ``c x^p`` (``kind="pow"``) or ``c sin(x)^p`` (``kind="sin"``)."""

    kind: str = "pow"
    power: int = 0
    scale: float = 1.0

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Return the factor at ``x``."""
        x = np.asarray(x, dtype=float)
        base = x if self.kind == "pow" else np.sin(x)
        if self.power == 0:
            return np.full(x.shape, self.scale)
        with np.errstate(divide="ignore"):
            return self.scale * base**self.power

    @property
    def constant(self) -> bool:
        """Whether the factor is the constant ``c``."""
        return self.power == 0

    def integral(self, lo: float, hi: float) -> float:
        """``∫_lo^hi`` of the factor (``inf`` where it diverges)."""
        c, p = self.scale, self.power
        if self.kind == "pow":
            if p == -1:
                return math.inf if lo <= 0.0 <= hi else c * math.log(hi / lo)
            return c * (hi ** (p + 1) - lo ** (p + 1)) / (p + 1)
        if p == 0:
            return c * (hi - lo)
        if p == 1:
            return c * (math.cos(lo) - math.cos(hi))
        if p == -1:
            if math.sin(lo) <= 0.0 or math.sin(hi) <= 0.0:
                return math.inf
            return c * (math.log(math.tan(hi / 2)) - math.log(math.tan(lo / 2)))
        msg = f"no integral of sin(x)**{p}"  # pragma: no cover - no system has one
        raise ValueError(msg)

    def end_integral(self, lo: float, hi: float, at_lower: bool) -> float:
        """``∫_lo^hi`` over the half cell of an axis or pole point, as FISHPACK takes it.

        Exact for ``c x^p``; ``c sin(x)`` (zero at the pole) is taken as
        ``c sin(half) (hi - lo)/2``, the half cell's value at its far end
        times the width over ``p + 1 = 2``: the row of the point is then
        FISHPACK's ``4/h²`` times the mean of its neighbours less itself
        (the limit ``2 u_θθ`` of ``(1/sin θ)(sin θ u_θ)_θ``).
        """
        if self.kind == "sin" and self.power == 1:
            far = hi if at_lower else lo
            return self.scale * abs(math.sin(far)) * (hi - lo) / 2
        return self.integral(lo, hi)


_ONE = Factor()


@dataclass(frozen=True)
class Coordinates:
    """A curvilinear coordinate system of a given dimension (module docstring).

    Attributes
    ----------
    name : str
        ``polar``, ``cylindrical``, ``spherical`` or ``sphere``.
    dimension : int
        2 or 3 (the number of axes).
    axes : tuple of str
        The axis names in order (``("r", "theta")``; ``("r", "z")`` for the
        axisymmetric cylinder; ``("theta", "phi")`` for the sphere).
    radius : float
        The sphere's radius (``sphere`` only; 1 otherwise).
    """

    name: str
    dimension: int
    axes: tuple[str, ...]
    radius: float = 1.0
    density: dict[str, Factor] = field(default_factory=dict, repr=False, compare=False)
    own: dict[str, Factor] = field(default_factory=dict, repr=False, compare=False)
    cross: dict[tuple[str, str], Factor] = field(default_factory=dict, repr=False, compare=False)

    # -- names --------------------------------------------------------------------------
    def face_name(self, i: int, side: int) -> str:
        """``rmin``, ``thetamax``, ..."""
        return self.axes[i] + ("min", "max")[side]

    @property
    def face_names(self) -> tuple[str, ...]:
        """Every face, axis by axis."""
        return tuple(self.face_name(i, s) for i in range(self.dimension) for s in (0, 1))

    def kind(self, i: int) -> str:
        """``"r"``, ``"z"``, ``"azimuth"`` or ``"colatitude"``."""
        name = self.axes[i]
        if name == "phi" or (name == "theta" and self.name in ("polar", "cylindrical")):
            return "azimuth"
        if name == "theta":
            return "colatitude"
        return name

    @property
    def title(self) -> str:
        """How messages name the system (``"2-D axisymmetric cylindrical"``)."""
        if self.name in ("cylindrical", "spherical") and self.dimension == 2:
            return f"2-D axisymmetric {self.name}"
        return f"{self.dimension}-D {self.name}" if self.name != "sphere" else "sphere"

    # -- metric factors -------------------------------------------------------------------
    def j(self, i: int) -> Factor:
        """Return the volume density's factor of axis ``i`` (``J = Π_i j_i``)."""
        return self.density.get(self.axes[i], _ONE)

    def a(self, i: int) -> Factor:
        """Return the flux factor of axis ``i`` along its own coordinate."""
        return self.own.get(self.axes[i], _ONE)

    def b(self, flux: int, other: int) -> Factor:
        """Return the flux factor of axis ``flux`` along the coordinate of axis ``other``."""
        return self.cross.get((self.axes[flux], self.axes[other]), _ONE)

    def scale(self, i: int, points: list[np.ndarray]) -> np.ndarray:
        """Return the length per unit of coordinate ``i`` (``sqrt(g_ii)``) at points."""
        kind = self.kind(i)
        if kind in ("r", "z"):
            return np.ones(())
        r = self.radius if self.name == "sphere" else points[self.axes.index("r")]
        if kind == "colatitude" or self.name in ("polar", "cylindrical"):
            return np.asarray(r, dtype=float)
        theta = points[self.axes.index("theta")]
        return np.abs(r * np.sin(theta))

    def cartesian(self, points: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(x, y, z)`` of points (an axisymmetric grid: the ``y = 0`` meridian)."""
        names = dict(zip(self.axes, points, strict=True))
        zero = np.zeros(())
        if self.name in ("polar", "cylindrical"):
            r = names["r"]
            theta = names.get("theta", zero)
            z = names.get("z", zero)
            return r * np.cos(theta), r * np.sin(theta), z * np.ones_like(r)
        r = self.radius if self.name == "sphere" else names["r"]
        theta, phi = names["theta"], names.get("phi", zero)
        return r * np.sin(theta) * np.cos(phi), r * np.sin(theta) * np.sin(phi), r * np.cos(theta)

    def _cartesian_text(self) -> dict[str, str]:
        """Return the Cartesian names in the grammar's coordinate slots."""
        slot = dict(zip(self.axes, COORDINATES, strict=False))
        if self.name in ("polar", "cylindrical"):
            r, t = slot["r"], slot.get("theta")
            z = slot.get("z", "0")
            if t is None:
                return {"x": f"({r})", "y": "(0)", "z": f"({z})"}
            return {"x": f"({r}*cos({t}))", "y": f"({r}*sin({t}))", "z": f"({z})"}
        r = repr(float(self.radius)) if self.name == "sphere" else slot["r"]
        t, p = slot["theta"], slot.get("phi")
        if p is None:
            return {"x": f"({r}*sin({t}))", "y": "(0)", "z": f"({r}*cos({t}))"}
        return {
            "x": f"({r}*sin({t})*cos({p}))",
            "y": f"({r}*sin({t})*sin({p}))",
            "z": f"({r}*cos({t}))",
        }

    # -- expressions ------------------------------------------------------------------------
    @property
    def names(self) -> tuple[str, ...]:
        """The names an expression may use: the axes, then the Cartesian ``x, y, z``."""
        extra = [n for n in ("x", "y", "z") if n not in self.axes]
        return (*self.axes, *extra)

    def expression(self, text: object) -> Expression:
        """Parse an expression in this system's names into one in the grid's coordinates.

        The axis names become the grammar's coordinates of their axes and the
        Cartesian ``x, y, z`` their expressions in the axes; the result
        evaluates with the grid's (curvilinear) point coordinates.

        Raises
        ------
        ExpressionError
            For a name the system does not have, or anything the grammar refuses.
        """
        if isinstance(text, Expression):
            return text
        if not isinstance(text, str):
            return parse_expression(text, dimension=self.dimension)
        try:
            tree = ast.parse(text.strip(), mode="eval")
        except SyntaxError:
            return parse_expression(text, dimension=self.dimension)  # its own message
        slots = dict(zip(self.axes, COORDINATES, strict=False))
        cart = self._cartesian_text()
        called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
        allowed = ", ".join([*self.names, *_CONSTANTS])
        for node in ast.walk(tree):
            if not isinstance(node, ast.Name) or id(node) in called:
                continue
            if node.id not in slots and node.id not in cart and node.id not in _CONSTANTS:
                msg = (
                    f"name {node.id!r} is not allowed in {self.title} coordinates; allowed "
                    f"names: {allowed}"
                )
                raise ExpressionError(msg, detail=msg)

        class _Swap(ast.NodeTransformer):
            def visit_Name(self, node: ast.Name) -> ast.AST:  # noqa: N802 - ast's name
                if id(node) in called:
                    return node
                if node.id in slots:
                    return ast.Name(id=slots[node.id], ctx=ast.Load())
                if node.id in cart:
                    return ast.parse(cart[node.id], mode="eval").body
                return node

        new = ast.unparse(_Swap().visit(tree))
        # compiled in the grid's coordinate slots, shown as the user wrote it
        return replace(parse_expression(new, dimension=self.dimension), text=text.strip())


def coordinates(name: str, dimension: int, radius: float = 1.0) -> Coordinates:
    """Return the system ``name`` in ``dimension`` axes.

    Raises
    ------
    ValueError
        For a name or dimension the contract does not have (the message says what is).
    """
    pw, sn = "pow", "sin"
    if name == "polar" and dimension == 2:
        return Coordinates(
            name, 2, ("r", "theta"), 1.0,
            {"r": Factor(pw, 1)}, {"r": Factor(pw, 1)}, {("theta", "r"): Factor(pw, -1)},
        )  # fmt: skip
    if name == "cylindrical" and dimension == 3:
        return Coordinates(
            name, 3, ("r", "theta", "z"), 1.0,
            {"r": Factor(pw, 1)}, {"r": Factor(pw, 1)},
            {("theta", "r"): Factor(pw, -1), ("z", "r"): Factor(pw, 1)},
        )  # fmt: skip
    if name == "cylindrical" and dimension == 2:
        return Coordinates(
            name, 2, ("r", "z"), 1.0,
            {"r": Factor(pw, 1)}, {"r": Factor(pw, 1)}, {("z", "r"): Factor(pw, 1)},
        )  # fmt: skip
    if name == "spherical" and dimension == 3:
        return Coordinates(
            name, 3, ("r", "theta", "phi"), 1.0,
            {"r": Factor(pw, 2), "theta": Factor(sn, 1)},
            {"r": Factor(pw, 2), "theta": Factor(sn, 1)},
            {("r", "theta"): Factor(sn, 1), ("phi", "theta"): Factor(sn, -1)},
        )  # fmt: skip
    if name == "spherical" and dimension == 2:
        return Coordinates(
            name, 2, ("r", "theta"), 1.0,
            {"r": Factor(pw, 2), "theta": Factor(sn, 1)},
            {"r": Factor(pw, 2), "theta": Factor(sn, 1)},
            {("r", "theta"): Factor(sn, 1)},
        )  # fmt: skip
    if name == "sphere" and dimension == 2:
        big = float(radius) ** 2
        return Coordinates(
            name, 2, ("theta", "phi"), float(radius),
            {"theta": Factor(sn, 1, big)}, {"theta": Factor(sn, 1)},
            {("phi", "theta"): Factor(sn, -1)},
        )  # fmt: skip
    dims = {"polar": "2", "cylindrical": "2 or 3", "spherical": "2 or 3", "sphere": "2"}
    if name not in dims:
        msg = f"must be one of {', '.join(SYSTEMS)}, got {name!r}"
        raise ValueError(msg)
    msg = f"{name} coordinates have {dims[name]} axes, but cells has {dimension} entries"
    raise ValueError(msg)
