"""The output of ``kronpde solve --backend petsc`` on several ranks: pieces, index, errors.

Each rank builds its own piece of the nodal field (its nodes plus the layer it
shares with the next rank, :meth:`~kronpde.solvers.petsc.backend.PetscSolver.nodal_piece`),
evaluates the case's fields there only, and writes the piece; rank 0 writes the
``.pvti``/``.pvtr`` index once every piece is written.  The error norms are
reduced over the ranks, each counting the nodes it owns.  The global field is
never gathered onto one rank.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from kronpde.errors import CaseError

__all__ = ["PARALLEL_FORMATS", "collective", "write_parallel"]

#: The formats a parallel run writes in pieces.
PARALLEL_FORMATS = (".vti", ".vtr")


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


def write_parallel(
    case: Any, prepared: Any, solution: Any, path: Path | None, write: bool
) -> tuple[Path | None, dict[str, float], list[str]]:
    """Write this rank's piece (and, on rank 0, the index) and reduce the error norms.

    Returns
    -------
    written : Path or None
        The index file (on every rank), or None when nothing was written.
    errors : dict
        ``error_max``, ``error_rms`` over all nodes (with ``[exact]``).
    names : list of str
        The point-data fields.
    """
    from kronpde.fields import CaseFields
    from kronpde.io.pieces import index_path, write_index, write_piece

    grid = case.grid
    owned, held = prepared.piece_box()
    fields = collective(prepared, lambda: CaseFields.of(case, held))
    data = fields.point_data(prepared.nodal_piece(solution))
    errors: dict[str, float] = {}
    if "error" in data:
        mine = tuple(slice(0, o.stop - h.start) for o, h in zip(owned, held, strict=True))
        err = data["error"][mine]
        total = float(np.prod(grid.node_shape))
        errors = {
            "error_max": prepared.allreduce(float(np.max(np.abs(err))), "max"),
            "error_rms": float(np.sqrt(prepared.allreduce(float(np.sum(err * err))) / total)),
        }
    if not write or path is None:
        return None, errors, list(data)
    extent = tuple((h.start, h.stop - 1) for h in held)
    write_piece(path, grid.nodes, extent, data, rank=solution.rank)
    extents = prepared.gather_to_root(extent)
    if solution.rank == 0:
        write_index(path, grid.nodes, extents, list(data))
    prepared.barrier()  # the index names every piece only once they are all there
    return index_path(path), errors, list(data)
