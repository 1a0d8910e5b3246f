"""The fields of a solved case as written and measured: ``u``, ``f``, ``u_exact``, ``error``.

The case reader only parses ``[exact] u``; this module evaluates it (and the
source ``f`` when ``[output] fields`` asks for it) on every node, once, before
the solve, so that a value that is not finite stops the run before any work
and names its key.  After the solve, :meth:`CaseFields.point_data` composes the
arrays for the writer and :func:`error_norms` the errors the summary reports.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kronpde.errors import CaseError, DataError
from kronpde.io.case import Case

__all__ = ["CaseFields", "error_norms"]


@dataclass(frozen=True, eq=False)
class CaseFields:
    """The data fields of a case on its nodes, evaluated once.

    Attributes
    ----------
    exact : ndarray or None
        ``[exact] u`` on every node (shape ``grid.node_shape``), None without ``[exact]``.
    source : ndarray or None
        ``f`` on every node when ``[output] fields`` asks for it, else None.
    """

    exact: np.ndarray | None
    source: np.ndarray | None

    @classmethod
    def of(cls, case: Case, box: tuple[slice, ...] | None = None) -> CaseFields:
        """Evaluate the case's fields on its nodes (or a box of them: a ``slice`` per axis).

        Raises
        ------
        CaseError
            If ``[exact] u`` is not finite on every node, or ``f`` is not where
            it is written; the message names the key.
        """
        grid = case.grid
        exact = None
        if case.exact is not None:
            try:
                exact = case.exact.evaluate(grid.node_coordinates(box))
            except DataError as exc:
                raise CaseError(exc.detail, file=str(case.path), key="[exact] u") from None
        source = None
        if "f" in case.fields:
            try:
                source = case.problem.source_nodes(box)
            except DataError as exc:
                msg = f"{exc.detail} (it is written as field f, so it must be finite on every node)"
                raise CaseError(msg, file=str(case.path), key="[equation] source") from None
        return cls(exact, source)

    def point_data(self, u: np.ndarray) -> dict[str, np.ndarray]:
        """Return the fields to write for the nodal solution ``u`` (shape ``grid.node_shape``).

        ``u`` always; ``f`` when requested; ``u_exact`` and ``error = u - u_exact``
        with ``[exact]``.
        """
        u = np.asarray(u, dtype=float)
        data = {"u": u}
        if self.source is not None:
            data["f"] = self.source
        if self.exact is not None:
            data["u_exact"] = self.exact
            data["error"] = u - self.exact
        return data


def error_norms(data: dict[str, np.ndarray]) -> dict[str, float]:
    """``error_max`` and ``error_rms`` of ``data["error"]`` over all nodes; empty without it."""
    if "error" not in data:
        return {}
    err = data["error"]
    return {
        "error_max": float(np.max(np.abs(err))),
        "error_rms": float(np.sqrt(np.mean(err * err))),
    }
