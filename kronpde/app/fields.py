"""The fields of a solved case as written and measured: ``u``, ``f``, ``u_exact``, ``error``.

``grad_u`` and ``flux`` (``-k grad u``), when ``[output] fields`` asks for them, are vector
fields (three components, VTK's vectors) computed from the written ``u`` by second-order
differences on its points (:func:`gradient`).

The case reader only parses ``[exact] u``; this module evaluates it (and the
source ``f`` when ``[output] fields`` asks for it) on every point of the field
(every node; the cell centres along cell-centred axes), once, before the
solve, so that a value that is not finite stops the run before any work and
names its key.  After the solve, :meth:`CaseFields.point_data` composes the
arrays, :func:`output_geometry` says where the writer puts them and
:func:`error_norms` gives the errors the summary reports.

Where the fields go in the file
-------------------------------
* node-centred grid: point data on the nodes;
* cell-centred grid (every axis): cell data on the grid whose points are the
  cell faces (``case-format.md``), so a reader shows every value on its own
  cell;
* mixed centring (a MAC velocity component, node-centred along its own axis
  and cell-centred along the others): point data on the grid of the points
  themselves, nodes along the node-centred axes and cell centres along the
  others.  Cell data would need cells around the values of the node-centred
  axes, i.e. half cells at their ends: the file would no longer be the grid
  of the problem.  Every value sits where it was computed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from kronpde.errors import CaseError, DataError
from kronpde.geometry.grid import Grid
from kronpde.io.case import Case
from kronpde.io.checks import GHOST_ARRAY

__all__ = [
    "VECTOR_FIELDS",
    "CaseFields",
    "error_norms",
    "gradient",
    "measured_over",
    "output_geometry",
]

#: VTK's ghost flag of a hidden point (vtkDataSetAttributes::HIDDENPOINT); a cell's is 32.
GHOST_HIDDEN = 2

#: VTK's ghost flag of a hidden cell (vtkDataSetAttributes::HIDDENCELL).
GHOST_HIDDEN_CELL = 32

#: The vector fields ``[output] fields`` may ask for (three components per point).
VECTOR_FIELDS = ("grad_u", "flux")


def gradient(u: np.ndarray, points: list[np.ndarray]) -> np.ndarray:
    """Return ``grad u`` on the points, shape ``u.shape + (3,)`` (zero beyond the dimension).

    Central differences inside, second-order one-sided differences at the ends of
    every axis (:func:`numpy.gradient` with ``edge_order=2``; stretched axes
    take their own spacings); an axis of fewer than 3 points has first-order ends.

    Examples
    --------
    >>> x = np.linspace(0.0, 1.0, 5)
    >>> gradient(x * x, [x])[:, 0].round(12).tolist()
    [0.0, 0.5, 1.0, 1.5, 2.0]
    """
    out = np.zeros((*u.shape, 3))
    for i, x in enumerate(points):
        if u.shape[i] < 2:
            continue
        out[..., i] = np.gradient(u, x, axis=i, edge_order=2 if u.shape[i] > 2 else 1)
    return out


def measured_over(grid: Grid) -> str:
    """Say over which points the errors are measured (for the summaries).

    Examples
    --------
    >>> from kronpde import Grid
    >>> measured_over(Grid.box([4, 4], centering="cell"))
    'all cell centres'
    """
    if grid.cell_centred:
        return "all cell centres"
    if any(a.cell_centred for a in grid.axes):
        return "all points (nodes, and cell centres along cell-centred axes)"
    return "all nodes"


def output_geometry(grid: Grid) -> tuple[list[np.ndarray], bool]:
    """Return the axes' coordinates of the output file and whether the fields are cell data.

    The module docstring says why: the cell faces and True on a cell-centred
    grid, else the points (nodes, or cell centres along cell-centred axes) and
    False.

    Examples
    --------
    >>> from kronpde import Grid
    >>> axes, cells = output_geometry(Grid.box([4], centering="cell"))
    >>> axes[0].tolist(), cells
    ([0.0, 0.25, 0.5, 0.75, 1.0], True)
    """
    if grid.cell_centred:
        return grid.nodes, True
    return grid.points, False


@dataclass(frozen=True, eq=False)
class CaseFields:
    """The data fields of a case on its points, evaluated once.

    Attributes
    ----------
    exact : ndarray or None
        ``[exact] u`` on every point (shape ``grid.point_shape``: the nodes, or
        the cell centres along cell-centred axes), None without ``[exact]``.
    source : ndarray or None
        ``f`` on every point when ``[output] fields`` asks for it, else None.
    vectors : tuple of str
        The vector fields asked for (:data:`VECTOR_FIELDS`).
    points : list of ndarray or None
        The points' coordinates per axis (for the vector fields), else None.
    coefficient : ndarray or float or None
        ``k`` on the points when ``flux`` is asked for, else None.
    """

    exact: np.ndarray | None
    source: np.ndarray | None
    vectors: tuple[str, ...] = ()
    points: list[np.ndarray] | None = None
    coefficient: np.ndarray | float | None = None
    domain: np.ndarray | None = None  # a domain inside the box: its points (else None)
    level_set: np.ndarray | None = None  # its level set, when [output] fields asks for it
    hidden: int = 2  # the ghost flag of a point outside (a cell's on a cell-centred grid)
    grid: Grid | None = None  # a curvilinear grid: grad u in Cartesian components

    @classmethod
    def of(cls, case: Case, box: tuple[slice, ...] | None = None) -> CaseFields:
        """Evaluate the case's fields on its points (or a box of them: a ``slice`` per axis).

        Raises
        ------
        CaseError
            If ``[exact] u`` is not finite on every node, or ``f`` is not where
            it is written; the message names the key.
        """
        grid = case.grid
        disc = case.problem.discretisation
        domain = disc.domain_points()
        if domain is not None:  # outside the domain nothing is evaluated
            if box is not None:
                domain = domain[box]
            made = cls._of(case, box, domain)
            level = None
            if "level_set" in case.fields:
                level = disc.geometry.level_set_field()
                level = level if box is None else level[box]
            hidden = GHOST_HIDDEN_CELL if grid.cell_centred else GHOST_HIDDEN
            return replace(made, domain=domain, level_set=level, hidden=hidden)
        return cls._of(case, box, None)

    @classmethod
    def _of(cls, case: Case, box: tuple[slice, ...] | None, domain: np.ndarray | None):
        grid = case.grid
        exact = None
        if case.exact is not None:
            try:
                exact = case.exact.evaluate(grid.point_coordinates(box), mask=domain)
            except DataError as exc:
                raise CaseError(exc.detail, file=str(case.path), key="[exact] u") from None
        source = None
        if "f" in case.fields:
            try:
                source = case.problem.source_nodes(box)
            except DataError as exc:
                msg = f"{exc.detail} (it is written as field f, so it must be finite on every node)"
                raise CaseError(msg, file=str(case.path), key="[equation] source") from None
        vectors = tuple(f for f in VECTOR_FIELDS if f in case.fields)
        if not vectors or box is not None:  # a rank's piece: refused by the command line
            return cls(exact, source)
        k = None
        if "flux" in vectors:
            problem = case.problem
            variable = problem.variable_coefficient
            k = problem.coefficient_values()[..., None] if variable else float(problem.coefficient)
        curvilinear = grid if grid.coordinate_system is not None else None
        return cls(exact, source, vectors, grid.points, k, grid=curvilinear)

    def point_data(self, u: np.ndarray) -> dict[str, np.ndarray]:
        """Return the fields to write for the solution ``u`` (shape ``grid.point_shape``).

        ``u`` always; ``f`` when requested; ``u_exact`` and ``error = u - u_exact``
        with ``[exact]``.
        """
        u = np.asarray(u, dtype=float)
        if self.domain is not None:
            u = self._blank(u)
        data = {"u": u}
        if self.source is not None:
            data["f"] = self.source if self.domain is None else self._blank(self.source)
        if self.vectors:
            grad = self._gradient(u)
            if "grad_u" in self.vectors:
                data["grad_u"] = grad
            if "flux" in self.vectors:
                data["flux"] = -self.coefficient * grad
        if self.exact is not None:
            data["u_exact"] = self.exact if self.domain is None else self._blank(self.exact)
            data["error"] = u - data["u_exact"]
        if self.domain is not None:  # NaN outside, the domain array and ParaView's ghost flags
            data["domain"] = self.domain.astype(float)
            if self.level_set is not None:
                data["level_set"] = self.level_set
            data[GHOST_ARRAY] = np.where(self.domain, 0, self.hidden).astype(np.uint8)
        return data

    def _gradient(self, u: np.ndarray) -> np.ndarray:
        """``grad u``: Cartesian components on a curvilinear grid, NaN outside a domain."""
        if self.grid is not None:
            from kronpde.problem.fluxes_curvilinear import physical_gradient

            return physical_gradient(self.grid, u)  # type: ignore[arg-type]
        if self.domain is not None:
            from kronpde.problem.fluxes_embedded import domain_gradient

            return domain_gradient(u, self.points, self.domain)
        return gradient(u, self.points)

    def _blank(self, values: np.ndarray) -> np.ndarray:
        """``values`` with NaN at the points outside the domain (a new array)."""
        return np.where(self.domain, values, np.nan)


def error_norms(data: dict[str, np.ndarray]) -> dict[str, float]:
    """``error_max`` and ``error_rms`` of ``data["error"]`` over all points; empty without it.

    The points are the nodes (Dirichlet nodes included), or the cell centres
    along cell-centred axes.
    """
    if "error" not in data:
        return {}
    err = data["error"]
    if "domain" in data:  # a domain inside the box: over its points only
        err = err[data["domain"] > 0.0]
    return {
        "error_max": float(np.max(np.abs(err))),
        "error_rms": float(np.sqrt(np.mean(err * err))),
    }
