"""What solvers and the certificate may ask of a problem: the :class:`SolvableProblem` protocol."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from kronpde.geometry.grid import Grid


class SolvableProblem(Protocol):
    """The interface of :class:`~kronpde.problem.problem.Problem` that the solvers use."""

    @property
    def grid(self) -> Grid:
        """The grid of unknowns."""
        ...

    @property
    def size(self) -> int:
        """The number of unknowns."""
        ...

    @property
    def singular(self) -> bool:
        """Whether the operator has the constants as its null space."""
        ...
