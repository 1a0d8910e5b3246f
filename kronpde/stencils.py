"""1-D operators of one axis: the second difference with each boundary condition.

Axis with spacing ``h``, unknowns ``u_r`` (see :mod:`kronpde.grid`).  The
operator ``T`` approximates ``-u''``:

* interior row: ``(-u_{r-1} + 2 u_r - u_{r+1}) / h**2``;
* Dirichlet face: the known boundary node is dropped from the row, its value
  ``g`` moves to the right-hand side as ``+ g / h**2``;
* Neumann face (``du/dn = g``, outward normal): ghost-node reflection.  At the
  lower face ``u_{-1} = u_1 + 2 h g``, so the row becomes
  ``(2 u_0 - 2 u_1) / h**2`` with ``+ 2 g / h`` on the right-hand side (the
  same at the upper face);
* Robin face (``alpha u + beta du/dn = g``): ``du/dn = (g - alpha u)/beta`` in
  the reflection gives the Neumann row plus ``2 alpha / (beta h)`` on the
  diagonal and ``+ 2 g / (beta h)`` on the right-hand side;
* periodic axis: the rows wrap around (``u_{-1} = u_{m-1}``, ``u_m = u_0``).

Symmetry.  ``T`` is not symmetric on Neumann/Robin rows (``T[0, 1] = -2/h**2``
but ``T[1, 0] = -1/h**2``).  With the trapezoid weights ``w`` (``h`` inside,
``h/2`` on a Neumann/Robin node), ``W T`` is symmetric: scaling row 0 by
``h/2`` and row 1 by ``h`` gives ``-1/h`` for both couplings, and every other
pair of rows has equal weights.  Consequently the similarity transform
``D T D^{-1}`` with ``D = W^{1/2}`` is symmetric too, and has the same
eigenvalues.  In N-D, ``W = W_0 ⊗ W_1 ⊗ ...`` and
``D (I ⊗ T_i ⊗ I) D^{-1} = I ⊗ D_i T_i D_i^{-1} ⊗ I``, so the symmetrised N-D
operator is again a Kronecker sum: every solver works on it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from kronpde.boundary import Dirichlet, Neumann, Robin
from kronpde.grid import Axis


@dataclass(frozen=True, eq=False)
class AxisOperator:
    """A 1-D operator in tridiagonal-with-wrap form, acting on one axis' unknowns.

    Row ``r`` of the operator is
    ``lower[r] * u[r-1] + diag[r] * u[r] + upper[r] * u[r+1]`` where, on a
    periodic axis, ``u[-1]`` means ``u[n-1]`` and ``u[n]`` means ``u[0]``; on a
    non-periodic axis ``lower[0] = upper[n-1] = 0``.  For periodic axes with
    ``n <= 2`` coinciding neighbours are folded so that every non-zero
    coefficient has its own column (``n = 1``: all on the diagonal; ``n = 2``:
    row 0 on ``upper``, row 1 on ``lower``).

    Attributes
    ----------
    diag, lower, upper : ndarray, shape (n,)
        Coefficients.
    periodic : bool
        Whether rows wrap around.
    weights : ndarray, shape (n,)
        Trapezoid weights; ``diag(weights) @ T`` is symmetric.
    lift : tuple of float
        ``(lower, upper)`` factors that multiply the boundary data of each face
        into the right-hand side of the first / last row (0 for periodic).
    """

    diag: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    periodic: bool
    weights: np.ndarray
    lift: tuple[float, float] = (0.0, 0.0)

    @property
    def n(self) -> int:
        """Number of unknowns."""
        return self.diag.size

    def tosparse(self) -> sp.csr_array:
        """The operator as a CSR array of shape ``(n, n)``."""
        n = self.n
        r = np.arange(n)
        rows = np.concatenate([r, r, r])
        lower_cols = (r - 1) % n if self.periodic else np.maximum(r - 1, 0)
        upper_cols = (r + 1) % n if self.periodic else np.minimum(r + 1, n - 1)
        cols = np.concatenate([r, lower_cols, upper_cols])
        vals = np.concatenate([self.diag, self.lower, self.upper])
        a = sp.coo_array((vals, (rows, cols)), shape=(n, n)).tocsr()
        a.sum_duplicates()
        a.eliminate_zeros()
        return a

    def todense(self) -> np.ndarray:
        """The operator as a dense array of shape ``(n, n)``."""
        return self.tosparse().toarray()

    def symmetrized(self) -> AxisOperator:
        """``D T D^{-1}`` with ``D = diag(sqrt(weights))``: symmetric, same eigenvalues."""
        s = np.sqrt(self.weights)
        lower = self.lower * s / np.roll(s, 1)
        upper = self.upper * s / np.roll(s, -1)
        return AxisOperator(self.diag.copy(), lower, upper, self.periodic, self.weights, self.lift)

    def scaled(self, factor: float) -> AxisOperator:
        """The operator times a number (same weights and lifting factors times ``factor``)."""
        return AxisOperator(
            self.diag * factor,
            self.lower * factor,
            self.upper * factor,
            self.periodic,
            self.weights,
            (self.lift[0] * factor, self.lift[1] * factor),
        )


def second_difference(axis: Axis) -> AxisOperator:
    """The operator ``T`` approximating ``-d²/dx²`` on an axis' unknowns.

    Parameters
    ----------
    axis : Axis
        Cells, bounds and boundary conditions.

    Returns
    -------
    AxisOperator
        ``T`` in tridiagonal-with-wrap form, with physical spacing ``h`` (the
        module docstring gives the rows).

    Examples
    --------
    >>> from kronpde import Axis, Neumann
    >>> t = second_difference(Axis(2, 0.0, 1.0, Neumann(), Neumann()))
    >>> t.todense()
    array([[ 8., -8.,  0.],
           [-4.,  8., -4.],
           [ 0., -8.,  8.]])
    """
    n = axis.n_unknowns
    h = axis.h
    inv_h2 = 1.0 / (h * h)
    diag = np.full(n, 2.0 * inv_h2)
    lower = np.full(n, -inv_h2)
    upper = np.full(n, -inv_h2)
    lift = [0.0, 0.0]
    if axis.periodic:
        if n == 1:  # u_{-1} = u_1 = u_0: the row is identically zero
            diag[:] = 0.0
            lower[:] = upper[:] = 0.0
        elif n == 2:  # both neighbours are the other node
            upper[0] += lower[0]
            lower[0] = 0.0
            lower[1] += upper[1]
            upper[1] = 0.0
        return AxisOperator(diag, lower, upper, True, axis.weights.copy(), (0.0, 0.0))
    lower[0] = 0.0
    upper[-1] = 0.0
    faces = ((0, axis.lower_bc), (1, axis.upper_bc))
    for side, bc in faces:
        if isinstance(bc, Dirichlet):
            lift[side] = inv_h2
    for side, bc in faces:
        if isinstance(bc, Dirichlet):
            continue
        row = -1 if side else 0
        # Neumann / Robin: ghost-node reflection doubles the inward coupling.
        if n == 1:  # the inward neighbour is the other face's Dirichlet node
            lift[1 - side] *= 2.0
        elif side == 0:
            upper[0] *= 2.0
        else:
            lower[-1] *= 2.0
        if isinstance(bc, Neumann):
            lift[side] = 2.0 / h
        elif isinstance(bc, Robin):
            diag[row] += 2.0 * bc.alpha / (bc.beta * h)
            lift[side] = 2.0 / (bc.beta * h)
    return AxisOperator(diag, lower, upper, False, axis.weights.copy(), (lift[0], lift[1]))
