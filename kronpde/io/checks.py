"""Check what a result writer is given, before anything is written.

Shared by the structured VTK writer (:mod:`kronpde.io.vtk`) and the meshio
formats (:mod:`kronpde.io.mesh`): the formats and their extensions, the
target file and its folder, the grid's node coordinates, and the point and
cell arrays; with the errors each check raises.  Nothing here writes a file.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Mapping, Sequence

import numpy as np

from kronpde._checks import is_count
from kronpde.errors import GridError, KronpdeError

__all__ = [
    "MESH_EXTENSIONS",
    "STRUCTURED_EXTENSIONS",
    "SUPPORTED_EXTENSIONS",
    "FieldDataError",
    "NotUniformError",
    "OutputError",
    "check_arrays",
    "check_compression",
    "check_folder",
    "check_nodes",
    "check_writable",
    "output_extension",
    "uniform_spacing",
]

#: VTK XML structured formats, written by :mod:`kronpde.io.vtk`.
STRUCTURED_EXTENSIONS = (".vti", ".vtr")
#: VTK XML StructuredGrid: points anywhere (curvilinear grids), :mod:`kronpde.io.vts`.
POINT_EXTENSIONS = (".vts",)
#: Unstructured formats, written through meshio by :mod:`kronpde.io.mesh`.
MESH_EXTENSIONS = (".vtu", ".vtk", ".xdmf")
#: Every extension :func:`kronpde.io.vtk.write_result` writes.
SUPPORTED_EXTENSIONS = STRUCTURED_EXTENSIONS + POINT_EXTENSIONS + MESH_EXTENSIONS

#: Relative deviation from ``x_0 + i h`` up to which an axis counts as uniform.
UNIFORM_RTOL = 1e-12

# Elements per slab when a check or a writer walks an array in pieces: 8 MB of
# float64, small beside the arrays and large enough that per-slab costs vanish.
SLAB_ITEMS = 1 << 20


class OutputError(KronpdeError, OSError):
    """The result file cannot be written (folder, extension, or the write failed)."""


class NotUniformError(OutputError, ValueError):
    """The format needs uniform axes (``.vti``) and the grid has a stretched one."""


class FieldDataError(KronpdeError, ValueError):
    """A point- or cell-data array is unusable: bad name, wrong size, not real, or not finite."""


def output_extension(path: pathlib.Path, file_format: str | None = None) -> str:
    """Return the format of ``path`` as a lower-case extension, e.g. ``".vti"``.

    Parameters
    ----------
    path : pathlib.Path
        The output file.
    file_format : str, optional
        ``"vti"``, ``"vtr"``, ``"vtu"``, ``"vtk"`` or ``"xdmf"`` (with or
        without the dot); by default the extension of ``path``.

    Returns
    -------
    str
        One of :data:`SUPPORTED_EXTENSIONS`.

    Raises
    ------
    OutputError
        If the format is not one of them.
    """
    if file_format is not None:
        ext = "." + file_format.lower().lstrip(".")
        what = f"file_format {file_format!r}"
    else:
        ext = path.suffix.lower()
        what = f"extension {path.suffix!r}" if path.suffix else "no extension"
    if ext not in SUPPORTED_EXTENSIONS:
        msg = (
            f"cannot write {str(path)!r}: {what} is not supported; "
            f"use one of {', '.join(SUPPORTED_EXTENSIONS)}"
        )
        raise OutputError(msg)
    return ext


def check_folder(
    path: pathlib.Path, *, create: bool = False, error: type[Exception] = OutputError
) -> None:
    """Raise ``error`` (an :class:`OutputError` by default) unless a file ``path`` could be written.

    Parameters
    ----------
    path : pathlib.Path
        The intended file.
    create : bool
        If true, a missing folder is fine when its parent folder is writable
        (the folder of parallel pieces or of a time series' steps, created by
        the writer).
    error : exception class
        What to raise (the pictures raise their own :class:`~kronpde.app.pictures.PictureError`).
    """
    folder = path.parent
    shown = str(folder)
    if create and not folder.exists():
        check_folder(folder, error=error)
        return
    if not folder.exists():
        msg = f"cannot write {str(path)!r}: the folder {shown!r} does not exist"
        raise error(msg)
    if not folder.is_dir():
        msg = f"cannot write {str(path)!r}: {shown!r} is not a folder"
        raise error(msg)
    if not os.access(folder, os.W_OK | os.X_OK):
        msg = f"cannot write {str(path)!r}: the folder {shown!r} is not writable"
        raise error(msg)
    if path.is_dir():
        msg = f"cannot write {str(path)!r}: it is a folder"
        raise error(msg)


def check_nodes(nodes: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Return the grid's coordinate arrays as float64, checked.

    Parameters
    ----------
    nodes : sequence of 1-D arrays
        One strictly increasing, finite coordinate array of at least two
        entries per axis (1 to 3 axes).

    Returns
    -------
    list of ndarray
        The arrays as float64 (copies).

    Raises
    ------
    GridError
        If ``nodes`` is anything else.
    """
    if isinstance(nodes, np.ndarray) and nodes.ndim == 1:
        msg = (
            "nodes must be a sequence of 1 to 3 coordinate arrays, one per axis, "
            "not a single array; wrap it in a list for a 1-D grid"
        )
        raise GridError(msg)
    axes = list(nodes)
    if not 1 <= len(axes) <= 3:
        msg = f"nodes must hold 1, 2 or 3 coordinate arrays, got {len(axes)}"
        raise GridError(msg)
    out = []
    for i, x in enumerate(axes):
        x = np.asarray(x)
        if x.ndim != 1 or x.size < 2:
            msg = f"nodes[{i}] must be a 1-D array of at least 2 coordinates, got shape {x.shape}"
            raise GridError(msg)
        if not np.issubdtype(x.dtype, np.number) or np.iscomplexobj(x):
            msg = f"nodes[{i}] must be real numbers, got dtype {x.dtype}"
            raise GridError(msg)
        x = x.astype(np.float64)
        if not np.all(np.isfinite(x)):
            msg = f"nodes[{i}] contains NaN or infinite coordinates"
            raise GridError(msg)
        if not np.all(np.diff(x) > 0):
            msg = f"nodes[{i}] must be strictly increasing"
            raise GridError(msg)
        out.append(x)
    return out


def uniform_spacing(x: np.ndarray) -> float | None:
    """Return the spacing ``h`` of evenly spaced coordinates, else None.

    ``x`` counts as uniform when every ``x[i]`` is within
    ``UNIFORM_RTOL * max(|x[0]|, |x[-1]|)`` of ``x[0] + i h`` with
    ``h = (x[-1] - x[0]) / (len(x) - 1)``: the positions VTK's ImageData
    gives its points (origin plus index times spacing), so a ``.vti`` file
    puts every node where it is, to that accuracy (a grid's uniform nodes
    ``lower + i h`` are reproduced exactly except the last, within an ulp).

    Parameters
    ----------
    x : ndarray
        Strictly increasing coordinates, at least two.

    Returns
    -------
    float or None
        ``h``, or None for a stretched axis.
    """
    x = np.asarray(x, dtype=np.float64)
    h = (x[-1] - x[0]) / (x.size - 1)
    deviation = np.max(np.abs(x - (x[0] + h * np.arange(x.size))))
    scale = max(abs(x[0]), abs(x[-1]))
    return float(h) if deviation <= UNIFORM_RTOL * scale else None


def check_compression(compression: int | None) -> None:
    """Raise an :class:`OutputError` unless ``compression`` is None or a zlib level 1 to 9."""
    if compression is None:
        return
    if not is_count(compression):
        msg = f"compression must be None or a zlib level 1 to 9, got {compression!r}"
        raise OutputError(msg)
    if not 1 <= compression <= 9:
        msg = f"compression must be None or a zlib level 1 to 9, got {compression}"
        raise OutputError(msg)


def check_uniform(path: pathlib.Path, nodes: Sequence[np.ndarray]) -> None:
    """Raise :class:`NotUniformError` if an axis of ``nodes`` is not uniform."""
    for i, x in enumerate(nodes):
        if uniform_spacing(x) is None:
            msg = (
                f"cannot write {str(path)!r}: .vti (VTK ImageData) stores an origin and a "
                f"spacing per axis, but axis {'xyz'[i]} of the grid is stretched "
                "(not evenly spaced); write .vtr (RectilinearGrid), which keeps every "
                "coordinate"
            )
            raise NotUniformError(msg)


def check_writable(
    path: str | os.PathLike[str],
    *,
    file_format: str | None = None,
    nodes: Sequence[np.ndarray] | None = None,
    probe: bool = False,
) -> pathlib.Path:
    """Check, before an expensive solve, that a result file could be written.

    Nothing is modified; with ``probe`` the temporary file the write would
    start with is created and removed again (:func:`kronpde.io.atomic.try_create`),
    which catches folders that permissions alone do not (``/proc``, a read-only
    mount, a full disk quota).

    Parameters
    ----------
    path : str or path-like
        The intended output file.
    file_format : str, optional
        ``"vti"``, ``"vtr"``, ``"vtu"``, ``"vtk"`` or ``"xdmf"``; by default
        taken from the extension.
    nodes : sequence of 1-D arrays, optional
        The grid's node coordinates.  Given, a ``.vti`` target is checked to
        have uniform axes (the writer's own test, :func:`uniform_spacing`).
    probe : bool, optional
        Try the write: create and remove a temporary file in the folder.

    Returns
    -------
    pathlib.Path
        ``path`` as a :class:`pathlib.Path`.

    Raises
    ------
    OutputError
        If the format is not supported, the folder does not exist, is not a
        folder or is not writable, or ``path`` is a folder.
    NotUniformError
        (An ``OutputError`` and a ``ValueError``.)  If ``path`` is ``.vti``
        and an axis of ``nodes`` is stretched; the message suggests ``.vtr``.
    GridError
        If ``nodes`` is given and is not a valid grid.
    """
    target = pathlib.Path(path)
    ext = output_extension(target, file_format)
    check_folder(target)
    if nodes is not None and ext == ".vti":
        check_uniform(target, check_nodes(nodes))
    if probe:
        from kronpde.io.atomic import try_create

        try_create(target, OutputError)
    return target


#: The array that hides points (VTK's ghost flags, UInt8); with it, NaN marks the hidden points.
GHOST_ARRAY = "vtkGhostType"


def _check_finite(name: str, what: str, a: np.ndarray, blanked: bool = False) -> None:
    """Raise :class:`FieldDataError` if ``a`` holds NaN or infinity, scanning slab by slab.

    With ``blanked`` (the data carry :data:`GHOST_ARRAY`) NaN is allowed: it marks
    the points outside a domain inside the box.
    """
    if a.dtype.kind in "biu" or a.size == 0:
        return
    if blanked:
        if np.isinf(a).any():
            msg = f"{what} {name!r} has infinite value(s)"
            raise FieldDataError(msg)
        return
    flat = a.reshape(a.shape[0], -1) if a.ndim > 1 else a.reshape(-1, 1)
    step = max(1, SLAB_ITEMS // max(1, flat.shape[1]))
    bad = 0
    for i in range(0, flat.shape[0], step):
        bad += int(flat[i : i + step].size - np.count_nonzero(np.isfinite(flat[i : i + step])))
    if bad:
        msg = f"{what} {name!r} has {bad} NaN or infinite value(s)"
        raise FieldDataError(msg)


def check_arrays(
    data: Mapping[str, np.ndarray] | None,
    shape: tuple[int, ...],
    what: str = "point data",
    *,
    vectors: bool = False,
) -> dict[str, np.ndarray]:
    """Return the arrays of ``data`` in the nodal (or cell) shape, checked, without copying.

    Parameters
    ----------
    data : mapping of str to array, or None
        Fields, each of ``shape`` in C order or flat of ``prod(shape)``
        values, real (integers and booleans are written as float64) and
        finite.  None is no fields.
    shape : tuple of int
        ``(len(nodes[0]), ...)`` for point data, one less per axis for cell
        data.
    what : str
        ``"point data"`` or ``"cell data"``, for the messages.
    vectors : bool, optional
        Also accept vector fields of shape ``shape + (3,)`` (three components
        per point, VTK's vectors; the structured writers take them).

    Returns
    -------
    dict of str to ndarray
        The caller's arrays (views, never modified), reshaped to ``shape``.

    Raises
    ------
    FieldDataError
        If a name is empty or has white space, or an array is not real, has
        the wrong size, or holds NaN or infinity.
    """
    out: dict[str, np.ndarray] = {}
    n = int(np.prod(shape))
    blanked = GHOST_ARRAY in (data or {})
    for name, values in (data or {}).items():
        if not isinstance(name, str) or not name or any(c.isspace() for c in name):
            msg = f"{what} name {name!r} is not allowed; use a non-empty string without spaces"
            raise FieldDataError(msg)
        a = np.asarray(values)
        if not (np.issubdtype(a.dtype, np.number) or a.dtype == np.bool_) or np.iscomplexobj(a):
            msg = f"{what} {name!r} must be real numbers, got dtype {a.dtype}"
            raise FieldDataError(msg)
        if vectors and a.shape == (*shape, 3):
            _check_finite(name, what, a, blanked)
            out[name] = a
            continue
        if a.shape != shape and a.shape != (n,):
            msg = f"{what} {name!r} has shape {a.shape}; expected {shape} or ({n},)"
            raise FieldDataError(msg)
        a = a.reshape(shape)  # a view for C-ordered flat arrays
        _check_finite(name, what, a, blanked)
        out[name] = a
    return out
