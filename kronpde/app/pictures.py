"""Pictures: field slices, convergence plots and residual histories (optional matplotlib).

This is the only module of kronpde that uses matplotlib, and it imports it
only inside the functions that draw, so kronpde works without it.  Figures
are made with matplotlib's object-oriented API and rendered by the Agg
backend directly (no pyplot, no global backend switch, no display).  Without
matplotlib, :func:`require_matplotlib` raises :class:`PlottingUnavailable`,
whose message says how to install it (``pip install 'kronpde[plot]'``).

Every picture is rendered in memory and written to a temporary file in the
target folder that then replaces the target in one step (``os.replace``): a
failed or interrupted write leaves an existing file as it was and no
temporary behind.
"""

from __future__ import annotations

import io
import os
import pathlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from kronpde.errors import KronpdeError
from kronpde.io.atomic import replace_atomically
from kronpde.io.checks import check_folder

__all__ = [
    "DEFAULT_DPI",
    "FIGSIZE",
    "INSTALL_HINT",
    "PICTURE_EXTENSIONS",
    "FieldSlice",
    "PictureError",
    "save_surface_picture",
    "PlottingUnavailable",
    "check_picture_path",
    "require_matplotlib",
    "save_convergence_picture",
    "save_field_picture",
    "save_residual_picture",
    "slice_field",
]

#: Figure size in inches; at :data:`DEFAULT_DPI` a picture is 640 x 480 pixels.
FIGSIZE = (6.4, 4.8)
DEFAULT_DPI = 100
PICTURE_EXTENSIONS = (".png", ".svg", ".pdf")
INSTALL_HINT = "pip install 'kronpde[plot]'"
_AXES = "xyz"


class PlottingUnavailable(KronpdeError, ImportError):
    """matplotlib is not installed; the message says how to install it."""


class PictureError(KronpdeError, ValueError):
    """A picture cannot be drawn or written (file name, folder, slice, field)."""


def require_matplotlib() -> Any:
    """Import matplotlib, or say how to install it.

    Returns
    -------
    module
        The ``matplotlib`` package.

    Raises
    ------
    PlottingUnavailable
        If matplotlib cannot be imported.
    """
    try:
        import matplotlib
        import matplotlib.figure  # noqa: F401
        from matplotlib.backends import backend_agg  # noqa: F401
    except ImportError:
        msg = (
            "drawing pictures needs matplotlib, which is not installed; install it with "
            f"{INSTALL_HINT}"
        )
        raise PlottingUnavailable(msg) from None
    return matplotlib


def check_picture_path(path: str | os.PathLike[str]) -> pathlib.Path:
    """Check, before any work, that a picture could be written to ``path``.

    Nothing is created.

    Parameters
    ----------
    path : str or path-like
        A ``.png``, ``.svg`` or ``.pdf`` file in an existing, writable folder.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    PictureError
        For another extension, a missing or read-only folder, or a folder at ``path``.
    """
    target = pathlib.Path(path)
    if target.suffix.lower() not in PICTURE_EXTENSIONS:
        shown = repr(target.suffix) if target.suffix else "no extension"
        msg = (
            f"cannot write {str(target)!r}: {shown} is not a picture format; "
            f"use one of {', '.join(PICTURE_EXTENSIONS)}"
        )
        raise PictureError(msg)
    check_folder(target, error=PictureError)
    return target


def _write_atomic(target: pathlib.Path, data: bytes) -> pathlib.Path:
    """Write ``data`` to ``target`` through a temporary file in its folder."""
    return replace_atomically(target, lambda tmp: pathlib.Path(tmp).write_bytes(data), PictureError)


def _figure() -> Any:
    require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=FIGSIZE)  # no layout engine: it would draw everything twice
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Any, path: str | os.PathLike[str], dpi: int) -> pathlib.Path:
    target = check_picture_path(path)
    buffer = io.BytesIO()
    fig.savefig(buffer, format=target.suffix.lower().lstrip("."), dpi=dpi)
    return _write_atomic(target, buffer.getvalue())


# --------------------------------------------------------------------------- fields


@dataclass(frozen=True, eq=False)
class FieldSlice:
    """A field restricted to a line or plane of nodes (or of cells).

    Attributes
    ----------
    nodes : tuple of ndarray
        Coordinates of the remaining axes (1 or 2).
    values : ndarray
        The field on them, shape ``tuple(len(x) for x in nodes)``, or
        ``tuple(len(x) - 1 for x in nodes)`` for cell data.
    labels : tuple of str
        Names of the remaining axes (``"x"``, ``"y"``, ``"z"``).
    where : str
        The cut, e.g. ``"z = 0.5"``; empty when nothing was cut.
    cells : bool
        True for cell data: ``nodes`` are the cell faces, one value per cell.
    """

    nodes: tuple[np.ndarray, ...]
    values: np.ndarray
    labels: tuple[str, ...]
    where: str
    cells: bool = False


def slice_field(
    nodes: Sequence[np.ndarray],
    values: np.ndarray,
    axis: str | None = None,
    at: float | None = None,
) -> FieldSlice:
    """Cut a field to something drawable: a 3-D field to a plane, a 2-D one to a line.

    Parameters
    ----------
    nodes : sequence of ndarray
        Coordinates of each axis (1 to 3 axes).
    values : ndarray
        The field: point data of shape ``tuple(len(x) for x in nodes)``, or
        cell data of shape ``tuple(len(x) - 1 for x in nodes)`` (the nodes
        are then the cell faces, and a cut takes the layer of cells whose
        centres are nearest ``at``).
    axis : {"x", "y", "z"}, optional
        The axis across which to cut; default ``"z"`` for a 3-D field (a 3-D
        field is always cut), no cut for 1-D and 2-D fields.
    at : float, optional
        Coordinate of the cut along ``axis``; the nearest node plane is used.
        Default: the node nearest the middle of the axis.

    Returns
    -------
    FieldSlice

    Raises
    ------
    PictureError
        For an axis the field does not have, a cut of a 1-D field, ``at``
        outside the axis' range, or values of neither shape.

    Examples
    --------
    >>> x = np.linspace(0, 1, 5)
    >>> s = slice_field([x, x, x], np.zeros((5, 5, 5)), "y", 0.3)
    >>> s.labels, s.where, s.values.shape
    (('x', 'z'), 'y = 0.25', (5, 5))
    >>> c = slice_field([x, x, x], np.zeros((4, 4, 4)), "y", 0.3)   # cell data
    >>> c.cells, c.where, c.values.shape
    (True, 'y = 0.375', (4, 4))
    """
    nodes = [np.asarray(x, dtype=float) for x in nodes]
    values = np.asarray(values, dtype=float)
    d = len(nodes)
    names = _AXES[:d]
    point_shape = tuple(x.size for x in nodes)
    cell_shape = tuple(x.size - 1 for x in nodes)
    if values.shape not in (point_shape, cell_shape):
        msg = (
            f"the field has shape {values.shape}; point data on these axes have shape "
            f"{point_shape}, cell data {cell_shape}"
        )
        raise PictureError(msg)
    cells = values.shape == cell_shape
    if axis is None and at is not None:
        if d != 3:
            msg = "a cut position (at) needs the axis across which to cut"
            raise PictureError(msg)
        axis = "z"
    if axis is None and d == 3:
        axis = "z"
    if axis is None:
        return FieldSlice(tuple(nodes), values, tuple(names), "", cells)
    if axis not in names:
        msg = f"axis {axis!r}: the field is {d}-D, its axes are {', '.join(names)}"
        raise PictureError(msg)
    if d == 1:
        msg = "a 1-D field is drawn whole; there is no axis to cut across"
        raise PictureError(msg)
    i = names.index(axis)
    x = nodes[i]
    if at is None:
        at = 0.5 * (x[0] + x[-1])
    tol = 1e-9 * max(abs(x[0]), abs(x[-1]), x[-1] - x[0])
    if not (np.isfinite(at) and x[0] - tol <= at <= x[-1] + tol):
        msg = f"cut at {axis} = {at:g} is outside the box, {x[0]:g} <= {axis} <= {x[-1]:g}"
        raise PictureError(msg)
    where = 0.5 * (x[:-1] + x[1:]) if cells else x  # a layer of cells: at their centres
    j = int(np.argmin(np.abs(where - at)))
    keep = [k for k in range(d) if k != i]
    return FieldSlice(
        tuple(nodes[k] for k in keep),
        np.take(values, j, axis=i),
        tuple(names[k] for k in keep),
        f"{axis} = {where[j]:.6g}",
        cells,
    )


def save_field_picture(
    path: str | os.PathLike[str],
    nodes: Sequence[np.ndarray],
    values: np.ndarray,
    *,
    name: str = "u",
    axis: str | None = None,
    at: float | None = None,
    title: str | None = None,
    dpi: int = DEFAULT_DPI,
) -> pathlib.Path:
    """Draw a field: a line (1-D), a colour map (2-D) or a slice of a 3-D field.

    Parameters
    ----------
    path : str or path-like
        The picture (``.png``, ``.svg`` or ``.pdf``), written atomically.
    nodes : sequence of ndarray
        Coordinates of each axis.
    values : ndarray
        The field: point data, shape ``tuple(len(x) for x in nodes)``, or cell
        data, shape ``tuple(len(x) - 1 for x in nodes)`` with the nodes the
        cell faces (drawn as one flat value per cell: steps in 1-D, flat
        shading in 2-D).
    name : str, optional
        The field's name, on the colour bar (or the vertical axis) and in the title.
    axis, at : optional
        Where to cut (see :func:`slice_field`).
    title : str, optional
        Title; default the field's name and the cut.
    dpi : int, optional
        Resolution: the picture is ``6.4 dpi`` by ``4.8 dpi`` pixels.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    PictureError
        See :func:`slice_field` and :func:`check_picture_path`.
    PlottingUnavailable
        Without matplotlib.
    """
    check_picture_path(path)
    cut = slice_field(nodes, values, axis, at)
    fig = _figure()
    ax = fig.add_subplot()
    heading = name if not cut.where else f"{name} at {cut.where}"
    if title:
        heading = f"{title}: {heading}"
    if len(cut.nodes) == 1 and cut.cells:
        ax.stairs(cut.values, cut.nodes[0], color="C0")
        ax.set_xlabel(cut.labels[0])
        ax.set_ylabel(f"{name} (cell data)")
        ax.grid(True, alpha=0.3)
    elif len(cut.nodes) == 1:
        x = cut.nodes[0]
        ax.plot(x, cut.values, "-", marker="." if x.size <= 65 else None, color="C0")
        ax.set_xlabel(cut.labels[0])
        ax.set_ylabel(name)
        ax.grid(True, alpha=0.3)
    else:
        from mpl_toolkits.axes_grid1 import make_axes_locatable

        x, y = cut.nodes
        shading = "flat" if cut.cells else "gouraud"  # flat: one colour per cell
        mesh = ax.pcolormesh(x, y, cut.values.T, shading=shading, cmap="viridis")
        ratio = (y[-1] - y[0]) / (x[-1] - x[0])
        if 0.25 <= ratio <= 4.0:  # true proportions, unless the box is very elongated
            ax.set_aspect("equal")
        # the colour bar follows the (possibly narrowed) plot instead of the figure's edge
        bar = make_axes_locatable(ax).append_axes("right", size="5%", pad=0.15)
        fig.colorbar(mesh, cax=bar, label=name)
        ax.set_xlabel(cut.labels[0])
        ax.set_ylabel(cut.labels[1])
    ax.set_title(heading)
    return _save(fig, path, dpi)


def save_surface_picture(
    path: str | os.PathLike[str],
    points: Sequence[np.ndarray],
    values: np.ndarray,
    *,
    name: str = "u",
    title: str | None = None,
    dpi: int = DEFAULT_DPI,
) -> pathlib.Path:
    """Draw a field of a curvilinear grid in its true shape (a disc, a meridian, a sphere).

    Parameters
    ----------
    path : str or path-like
        The picture (``.png``, ``.svg`` or ``.pdf``).
    points : (x, y, z)
        The Cartesian positions of the grid's points (the cell corners for
        cell data), each of the grid's shape (2-D or 3-D: a 3-D grid is cut at
        the middle of its last axis).
    values : ndarray
        The field on the points, or on the cells between them (flat shading).
    name, title, dpi
        As for :func:`save_field_picture`.

    Returns
    -------
    pathlib.Path
    """
    check_picture_path(path)
    xyz = [np.asarray(p, dtype=float) for p in points]
    values = np.asarray(values, dtype=float)
    cells = values.shape != xyz[0].shape
    where = ""
    if xyz[0].ndim == 3:  # the middle surface of the last axis
        k = xyz[0].shape[2] // 2
        xyz = [p[:, :, k] for p in xyz]
        kc = min(k, values.shape[2] - 1)
        values = values[:, :, kc]
        where = " (the middle surface of the third axis)"
    spread = [float(np.ptp(p)) for p in xyz]
    fig = _figure()
    heading = f"{title}: {name}{where}" if title else f"{name}{where}"
    if min(spread) > 1e-12 * max(spread):  # a surface in space: the sphere
        ax = fig.add_subplot(projection="3d")
        require_matplotlib()
        from matplotlib import cm, colors

        face = values if cells else 0.25 * (
            values[:-1, :-1] + values[1:, :-1] + values[:-1, 1:] + values[1:, 1:]
        )
        norm = colors.Normalize(float(np.min(face)), float(np.max(face)))
        ax.plot_surface(*xyz, facecolors=cm.viridis(norm(face)), shade=False)
        ax.set_box_aspect((spread[0], spread[1], spread[2]))
        mappable = cm.ScalarMappable(norm=norm, cmap="viridis")
        fig.colorbar(mappable, ax=ax, label=name, shrink=0.7)
    else:
        keep = [i for i in range(3) if spread[i] > 1e-12 * max(spread)][:2]
        ax = fig.add_subplot()
        shading = "flat" if cells else "gouraud"
        mesh = ax.pcolormesh(xyz[keep[0]], xyz[keep[1]], values, shading=shading, cmap="viridis")
        ax.set_aspect("equal")
        fig.colorbar(mesh, ax=ax, label=name)
        ax.set_xlabel("xyz"[keep[0]])
        ax.set_ylabel("xyz"[keep[1]])
    ax.set_title(heading)
    return _save(fig, path, dpi)


# --------------------------------------------------------------------------- studies


def save_convergence_picture(
    path: str | os.PathLike[str],
    h: Sequence[float],
    errors: Mapping[str, Sequence[float]],
    *,
    title: str | None = None,
    dpi: int = DEFAULT_DPI,
    order: int = 2,
) -> pathlib.Path:
    """Draw errors against the spacing on log-log axes, with an ``h^order`` reference line.

    Parameters
    ----------
    path : str or path-like
        The picture, written atomically.
    h : sequence of float
        Spacing of each level.
    errors : mapping of str to sequence of float
        Label -> error of each level (e.g. ``{"max": [...], "rms": [...]}``);
        zero errors are left out (log axes).
    title, dpi : optional
        As for :func:`save_field_picture`.
    order : int, optional
        The scheme's order: the reference line is ``h²`` (default) or ``h⁴``.

    Returns
    -------
    pathlib.Path
    """
    check_picture_path(path)
    h = np.asarray(h, dtype=float)
    fig = _figure()
    ax = fig.add_subplot()
    top = None
    for k, (label, values) in enumerate(errors.items()):
        e = np.asarray(values, dtype=float)
        ok = (e > 0) & np.isfinite(e)
        if np.any(ok):
            ax.loglog(h[ok], e[ok], "o-", color=f"C{k}", label=f"{label} error")
            top = e[ok][0] if top is None else max(top, e[ok][0])
    if top is not None:
        ref = top * 1.5 * (h / h[0]) ** order  # through the coarsest point, a little above
        power = {2: "²", 4: "⁴"}.get(order, f"^{order}")
        words = {2: "second", 4: "fourth"}.get(order, f"order {order}")
        label = f"h{power} ({words} order)" if order in (2, 4) else f"h{power}"
        ax.loglog(h, ref, "k--", linewidth=1, label=label)
    ax.set_xlabel("h (largest spacing)")
    ax.set_ylabel("error")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    ax.set_title(title or "grid convergence")
    return _save(fig, path, dpi)


def save_residual_picture(
    path: str | os.PathLike[str],
    histories: Mapping[str, Sequence[float]],
    *,
    title: str | None = None,
    dpi: int = DEFAULT_DPI,
) -> pathlib.Path:
    """Draw residual histories, relative to their first entry, on a log scale.

    Parameters
    ----------
    path : str or path-like
        The picture, written atomically.
    histories : mapping of str to sequence of float
        Method -> residual norm per iteration (entry 0 the initial residual).
    title, dpi : optional
        As for :func:`save_field_picture`.

    Returns
    -------
    pathlib.Path
    """
    check_picture_path(path)
    fig = _figure()
    ax = fig.add_subplot()
    for k, (label, norms) in enumerate(histories.items()):
        r = np.asarray(norms, dtype=float)
        if r.size == 0 or not r[0] > 0:
            continue
        rel = r / r[0]
        it = np.arange(r.size)
        ok = rel > 0
        ax.semilogy(it[ok], rel[ok], "-", color=f"C{k}", label=f"{label} ({r.size - 1} it.)")
    ax.set_xlabel("iteration")
    ax.set_ylabel("residual / initial residual")
    ax.grid(True, which="both", alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend()
    ax.set_title(title or "residual histories")
    return _save(fig, path, dpi)
