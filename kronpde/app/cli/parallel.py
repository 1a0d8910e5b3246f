"""The output of ``kronpde solve --backend petsc`` on several ranks: pieces, index, errors.

Structured formats (``.vti``/``.vtr``): each rank builds its own piece of the
field and writes it, rank 0 the ``.pvti``/``.pvtr`` index once every piece is
written; the global field is never gathered.  Where the pieces go:

* node-centred grid: point data; a rank's piece holds its nodes plus the
  layer it shares with the next rank
  (:meth:`~kronpde.solvers.petsc.backend.PetscSolver.nodal_piece`);
* cell-centred grid (every axis): cell data on the grid of the faces; a
  rank's piece holds its own cells, the faces around them shared with the
  neighbours (:meth:`~kronpde.solvers.petsc.backend.PetscSolver.cell_piece_extent`);
* mixed centring: point data on the grid of the points (nodes along the
  node-centred axes, cell centres along the others, as the serial file), a
  rank's piece its points plus the shared layer.

Each rank evaluates the case's fields on its piece only (:func:`piece_fields`,
before the solve, so that bad ``[exact]`` data stop every rank at once), and
the error norms are reduced over the ranks, each counting the points it owns.

Other formats (``.vtu``, ``.vtk``, ``.xdmf``) hold one mesh in one file: the
solution is gathered on rank 0 (``kronpde.app.cli.solve``), which evaluates the fields
and writes the file as a serial run does.  That costs rank 0 the whole field
(the writer needs the whole mesh anyway): for grids that fit one rank's memory.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import numpy as np

from kronpde.errors import CaseError

__all__ = [
    "PARALLEL_FORMATS",
    "collective",
    "piece_boxes",
    "piece_fields",
    "write_parallel",
]

#: The formats a parallel run writes in pieces; any other is gathered on rank 0.
PARALLEL_FORMATS = (".vti", ".vtr", ".vts")


def collective(prepared: Any, action: Any) -> Any:
    """Run ``action()`` on every rank; if it raises a CaseError on any, raise it on every one.

    The first rank's message that failed is the one rank 0 reports (the others'
    errors are not printed), so bad data found on one rank's piece end the run
    on all of them instead of leaving the rest waiting in a collective call.
    """
    try:
        result, message = action(), None
    except CaseError as exc:
        result, message = None, exc
    failed = prepared.allreduce(0.0 if message is None else 1.0, "max")
    if failed:
        messages = prepared.gather_to_root(
            None if message is None else (message.detail, message.file, message.key)
        )
        first = next((m for m in (messages or []) if m is not None), None) or (
            message.detail if message else "failed on another rank",
            None,
            None,
        )
        raise CaseError(first[0], file=first[1], key=first[2])
    return result


def piece_boxes(grid: Any, prepared: Any) -> tuple[tuple[slice, ...], tuple[slice, ...], bool]:
    """Return this rank's owned and held points and whether its piece is cell data.

    A grid cell-centred along every axis is written as cell data: the piece
    owns and holds its own cells.  Otherwise the points of
    :meth:`~kronpde.solvers.petsc.backend.PetscSolver.piece_box`.
    """
    if grid.cell_centred:
        box = tuple(slice(low, h) for low, h in prepared.cell_piece_extent())
        return box, box, True
    owned, held = prepared.piece_box()
    return owned, held, False


def piece_fields(case: Any, prepared: Any) -> Any:
    """Evaluate the case's fields on this rank's piece, checked over every rank (collective).

    Raises
    ------
    CaseError
        On every rank, if ``[exact] u`` or a written ``f`` is not finite on
        some rank's piece.
    """
    from kronpde.app.fields import CaseFields

    _, held, _ = piece_boxes(case.grid, prepared)
    return collective(prepared, lambda: CaseFields.of(case, held))


def write_parallel(
    case: Any, prepared: Any, solution: Any, path: Path | None, write: bool, fields: Any
) -> tuple[Path | None, dict[str, float], list[str]]:
    """Write this rank's piece (and, on rank 0, the index) and reduce the error norms.

    Parameters
    ----------
    case : Case
        The case.
    prepared : PetscSolver
        The solver (its ranks and boxes).
    solution : PetscSolution
        This rank's part of the solution.
    path : Path or None
        The output file (``.vti`` or ``.vtr``), or None.
    write : bool
        Whether to write (the solve converged).
    fields : CaseFields
        :func:`piece_fields`, evaluated before the solve.

    Returns
    -------
    written : Path or None
        The index file (on every rank), or None when nothing was written.
    errors : dict
        ``error_max``, ``error_rms`` over all points (with ``[exact]``).
    names : list of str
        The fields.
    """
    from kronpde.app.fields import output_geometry
    from kronpde.errors import GridError
    from kronpde.io.checks import OutputError
    from kronpde.io.pieces import index_path, piece_path, write_index, write_piece

    grid = case.grid
    owned, held, as_cells = piece_boxes(grid, prepared)
    if as_cells:
        values = np.asarray(solution.local, dtype=float).reshape(prepared.local_shape)
    else:
        values = prepared.nodal_piece(solution)
    data = fields.point_data(values)
    errors: dict[str, float] = {}
    if "error" in data:
        mine = tuple(
            slice(o.start - h.start, o.stop - h.start) for o, h in zip(owned, held, strict=True)
        )
        err = data["error"][mine]
        total = float(np.prod(grid.point_shape))
        if "domain" in data:  # a domain inside the box: over its points only
            err = err[data["domain"][mine] > 0.0]
            total = prepared.allreduce(float(err.size))
        errors = {
            "error_max": prepared.allreduce(float(np.max(np.abs(err), initial=0.0)), "max"),
            "error_rms": float(np.sqrt(prepared.allreduce(float(np.sum(err * err))) / total)),
        }
    if not write or path is None:
        return None, errors, list(data)
    axes, _ = output_geometry(grid)
    if as_cells:
        extent = prepared.cell_piece_extent()
    else:
        extent = tuple((h.start, h.stop - 1) for h in held)
    thin = any(first == last for first, last in extent)  # a piece must span a cell per axis
    if prepared.allreduce(1.0 if thin else 0.0, "max"):
        msg = (
            f"on {prepared.ranks} ranks some rank's piece spans no cell along an axis (it "
            "holds a single layer of points), which a structured file cannot hold; use fewer "
            "ranks or a larger grid"
        )
        raise CaseError(msg, file=str(case.path), key="[output] file")
    if solution.rank == 0:  # the pieces' folder, made once before any rank looks for it
        with contextlib.suppress(OSError):  # write_piece then says why, on every rank
            piece_path(path, 0).parent.mkdir(exist_ok=True)
    prepared.barrier()

    points = None  # a curvilinear grid's Cartesian points (.vts pieces, docs/curvilinear.md)
    if grid.coordinate_system is not None:
        points = grid.cartesian_points(nodes=as_cells)

    def write() -> None:
        try:
            if as_cells:
                write_piece(path, axes, extent, cell_data=data, rank=solution.rank, points=points)
            else:
                write_piece(path, axes, extent, data, rank=solution.rank, points=points)
        except (OutputError, GridError) as exc:  # on every rank, not only this one
            raise CaseError(str(exc), file=str(case.path), key="[output] file") from None

    collective(prepared, write)
    extents = prepared.gather_to_root(extent)
    if solution.rank == 0:
        if as_cells:
            write_index(path, axes, extents, cell_names=list(data))
        else:
            write_index(path, axes, extents, list(data))
    prepared.barrier()  # the index names every piece only once they are all there
    return index_path(path), errors, list(data)
