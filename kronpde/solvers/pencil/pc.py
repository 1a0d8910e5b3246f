"""The distributed fast solve as PETSc's preconditioner: the context of a ``python`` PC.

``fastdiag-cg`` under PETSc (a variable ``k``, later embedded boundaries)
preconditions CG with the exact solve of the constant-coefficient problem.  With
the DMDA created on the solver's own blocks (its ``ownership_ranges``, which
PETSc lays out in the same rank order), each rank's part of a PETSc vector *is*
its block of the solver's first layout, in C order (PETSc's ``x`` being
kronpde's last axis): no scatter is needed, ``apply`` reads and writes the
vectors' arrays in place.  petsc4py itself is not imported here::

    pc.setType(PETSc.PC.Type.PYTHON)
    pc.setPythonContext(PencilPreconditioner(PencilFastDiag(separable_problem, comm)))
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["PencilPreconditioner"]


class PencilPreconditioner:
    """``y = A_0^{-1} x`` by a :class:`~kronpde.solvers.pencil.PencilFastDiag` (a PC context).

    Parameters
    ----------
    solver : PencilFastDiag
        The distributed fast solve of the preconditioning operator ``A_0``.
        The vectors' parallel layout must be the solver's first layout (a DMDA
        with :meth:`~kronpde.solvers.pencil.PencilFastDiag.ownership_ranges`).
    scale : ndarray, optional
        This rank's ``D = W^{1/2}``: the PC is then ``D A_0^{-1} D^{-1}``, for
        CG on the symmetrised ``Â = D A D^{-1}`` (PETSc's ``fastdiag-cg``).
    keep : ndarray, optional
        This rank's 1 at the unknowns the fast solve acts on, 0 elsewhere (a
        domain inside the box): restrict by zero, solve, extend by zero.
    rest : ndarray, optional
        With ``keep``: what multiplies ``x`` on the other rows (``1/diag``).

    Attributes
    ----------
    applications : int
        How many times :meth:`apply` ran.
    """

    def __init__(self, solver: Any, scale: Any = None, keep: Any = None, rest: Any = None):
        self.solver = solver
        self.scale = None if scale is None else scale.reshape(solver.local_shape)
        self.keep = None if keep is None else np.asarray(keep, float).reshape(solver.local_shape)
        self.rest = None if rest is None else np.asarray(rest, float).reshape(solver.local_shape)
        self.applications = 0

    def apply(self, pc: Any, x: Any, y: Any) -> None:
        """Apply the fast solve to ``x`` into ``y`` (petsc4py ``Vec`` objects; collective).

        Raises
        ------
        ValueError
            If the vectors' local size is not the solver's block (another layout).
        """
        shape = self.solver.local_shape
        b = x.getArray(readonly=True)
        out = y.getArray()
        if b.size != out.size or b.size != self.solver.local_size:
            msg = (
                f"fastdiag: the PETSc vectors hold {b.size} entries on rank {self.solver.rank}, "
                f"the fast solve's block {shape} (create the DMDA with the solver's "
                "ownership_ranges())"
            )
            raise ValueError(msg)
        b = b.reshape(shape)
        if self.keep is not None:  # restrict by zero
            b = b * self.keep
        if self.scale is None:
            self.solver.solve(b, out=out.reshape(shape), record=False)
        else:  # Â_0^{-1} = D A_0^{-1} D^{-1} for CG on the symmetrised Â = D A D^{-1}
            into = out.reshape(shape)
            self.solver.solve(b / self.scale, out=into, record=False)
            into *= self.scale
        if self.keep is not None:  # extend by zero; the other rows' own diagonal
            into = out.reshape(shape)
            into *= self.keep
            into += self.rest * x.getArray(readonly=True).reshape(shape)
        self.applications += 1

    def setUp(self, pc: Any) -> None:  # noqa: N802 - petsc4py's name
        """Nothing to do: the solver is prepared once, before."""

    def view(self, pc: Any, viewer: Any = None) -> None:
        """Print the solver's layout (``-ksp_view``)."""
        if viewer is not None:
            viewer.printfASCII(f"  {self.solver.describe()}\n")
