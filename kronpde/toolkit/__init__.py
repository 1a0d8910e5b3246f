"""The seed chapter's Kronecker toolkit: products, sums, block diagonals and matrix equations.

The toolkit kronpde grew from, with its own public namespace (``__all__``), one module a job:

* :mod:`~kronpde.toolkit.stacking`: :func:`vec`, :func:`unvec`;
* :mod:`~kronpde.toolkit.products`: the vec identity :func:`kron_matvec`
  (``(A ⊗ B) vec(X) = vec(B X A^T)``), built on :func:`matmul_axis` (a matrix
  along one axis of an N-D array), and the matrix-free :class:`KronProduct`; the
  Kronecker sum :class:`KronSum` is the one the solvers use
  (:mod:`kronpde.operators.kronsum`);
* :mod:`~kronpde.toolkit.blocks`: block-diagonal matrices, :func:`block_diag_matvec`,
  :func:`block_diag_solve`, :class:`BlockDiagonalSolver`;
* :mod:`~kronpde.toolkit.sylvester`: Sylvester equations ``A X + X B = C`` by
  diagonalisation, :func:`solve_sylvester`, which warns (:class:`IllConditionedWarning`)
  where diagonalisation loses accuracy;
* :mod:`~kronpde.toolkit.lstsq`: Kronecker-structured least squares, :func:`kron_lstsq`;
* :mod:`~kronpde.toolkit.filtering`: separable 2-D filtering ``H_row ⊗ H_col`` as two
  1-D passes, :func:`separable_filter`.

The argument checks are the operators' public ones (:mod:`kronpde.operators.matmul`).

Conventions
-----------
*Ordering.* ``A_1 ⊗ A_2 ⊗ ... ⊗ A_N`` is numpy's ``np.kron`` ordering: the
**first** factor acts on the **slowest** axis of a C-ordered N-D array.  So
with ``X`` of shape ``(n_1, ..., n_N)``, ``(A_1 ⊗ ... ⊗ A_N) X.ravel()`` is
``X`` with ``A_k`` applied along axis ``k`` (:func:`matmul_axis`), raveled
again in C order.  Beware that :func:`scipy.sparse.kronsum` uses the opposite
order (its first argument acts on the last axis).

*vec.* :func:`vec` and :func:`unvec` follow the textbook chapter: ``vec``
stacks the **columns** of a matrix (column-major, Fortran order), so that
``vec(A X B) = (B^T ⊗ A) vec(X)``.  Only the functions that say so use it
(:func:`kron_lstsq`, :func:`separable_filter`); everything else works on
C-ordered arrays and ``ravel()``.

All arithmetic is float64 (complex128 where the data are complex).  A singular
problem (a singular block, a singular Sylvester equation) raises
:class:`~kronpde.errors.SolverError`.
"""

from kronpde.operators.kronsum import KronSum
from kronpde.operators.matmul import matmul_axis
from kronpde.toolkit.blocks import BlockDiagonalSolver, block_diag_matvec, block_diag_solve
from kronpde.toolkit.filtering import separable_filter
from kronpde.toolkit.lstsq import kron_lstsq
from kronpde.toolkit.products import KronProduct, kron_matvec
from kronpde.toolkit.stacking import unvec, vec
from kronpde.toolkit.sylvester import EIGVEC_COND_MAX as EIGVEC_COND_MAX
from kronpde.toolkit.sylvester import IllConditionedWarning, solve_sylvester

__all__ = [
    "BlockDiagonalSolver",
    "IllConditionedWarning",
    "KronProduct",
    "KronSum",
    "block_diag_matvec",
    "block_diag_solve",
    "kron_lstsq",
    "kron_matvec",
    "matmul_axis",
    "separable_filter",
    "solve_sylvester",
    "unvec",
    "vec",
]
