"""Block-diagonal matrices: products, solves and a factor-once solver."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.linalg
import scipy.ndimage
from numpy.typing import ArrayLike, NDArray

from kronpde.errors import SolverError
from kronpde.operators.matmul import (
    as_float_array,
    split_batch,
)

__all__ = ["BlockDiagonalSolver", "block_diag_matvec", "block_diag_solve"]


def _as_blocks(blocks: ArrayLike | Sequence[ArrayLike], *, square: bool) -> NDArray[Any]:
    if isinstance(blocks, (list, tuple)):
        mats = [as_float_array(b, f"blocks[{i}]") for i, b in enumerate(blocks)]
        if not mats or any(m.ndim != 2 for m in mats) or len({m.shape for m in mats}) != 1:
            shapes = [m.shape for m in mats]
            msg = f"blocks must be a non-empty list of equal-size 2-D arrays, got shapes {shapes}"
            raise ValueError(msg)
        arr = np.stack(mats)
    else:
        arr = as_float_array(blocks, "blocks")
        if arr.ndim not in (2, 3):
            msg = (
                "blocks must be a 3-D array (k, n, n), a list of (n, n) arrays, or one "
                f"(n, n) array for I ⊗ A; got shape {arr.shape}"
            )
            raise ValueError(msg)
    if square and arr.shape[-1] != arr.shape[-2]:
        msg = f"blocks must be square, got blocks of shape {arr.shape[-2:]}"
        raise ValueError(msg)
    return arr


def _block_layout(
    k: int | None, n: int, x: NDArray[Any], name: str
) -> tuple[int, int | None, NDArray[Any]]:
    """Split ``x`` of shape (k*n,) or (k*n, r) into (k, r, X), X of shape (k, n, r or 1).

    ``k=None`` (one repeated block) infers ``k`` from ``len(x)``.
    """
    if k is None:
        if x.ndim == 0 or n == 0 or x.shape[0] % n:
            msg = f"{name} of shape {x.shape} does not split into blocks of size {n}"
            raise ValueError(msg)
        k = x.shape[0] // n
    r, x = split_batch(x, k * n, name)
    return k, r, np.ascontiguousarray(x).reshape(k, n, 1 if r is None else r)


def block_diag_matvec(blocks: ArrayLike | Sequence[ArrayLike], x: ArrayLike) -> NDArray[Any]:
    """Multiply by a block-diagonal matrix without forming it.

    Parameters
    ----------
    blocks : array_like, shape (k, p, n), list of k (p, n) arrays, or one (p, n) array
        The diagonal blocks ``D_i``.  A single 2-D array ``A`` stands for
        ``I_k ⊗ A`` with ``k`` inferred from ``len(x)``.
    x : array_like, shape (k*n,) or (k*n, r)
        Partitioned into ``k`` consecutive pieces of length ``n``.

    Returns
    -------
    numpy.ndarray, shape (k*p,) or (k*p, r)
        ``y_i = D_i x_i`` for each piece.

    Raises
    ------
    ValueError
        If the blocks have unequal shapes or ``x`` does not fit them.

    Examples
    --------
    >>> import numpy as np
    >>> from kronpde.toolkit import block_diag_matvec
    >>> D = [np.array([[2.0]]), np.array([[3.0]])]
    >>> block_diag_matvec(D, np.array([1.0, 1.0]))
    array([2., 3.])
    >>> A = np.array([[0.0, 1.0], [1.0, 0.0]])
    >>> block_diag_matvec(A, np.arange(4.0))  # I_2 ⊗ A
    array([1., 0., 3., 2.])
    """
    D = _as_blocks(blocks, square=False)
    x = as_float_array(x, "x")
    k, r, X = _block_layout(D.shape[0] if D.ndim == 3 else None, D.shape[-1], x, "x")
    if D.ndim == 2 and r is None:
        Y = X[:, :, 0] @ D.T  # I_k ⊗ A on one vector: a single GEMM
    else:
        Y = np.matmul(D, X)  # batched, or A broadcast over the k pieces
    p = D.shape[-2]
    return Y.reshape(k * p) if r is None else Y.reshape(k * p, r)


def _singular_block_error(D: NDArray[Any], what: str) -> SolverError:
    idx = []
    if D.ndim == 2:
        D = D[None]
    for i, blk in enumerate(D):
        try:
            np.linalg.solve(blk, np.zeros(blk.shape[0], dtype=blk.dtype))
        except np.linalg.LinAlgError:
            idx.append(i)
    where = f"block(s) {idx[:10]}{' ...' if len(idx) > 10 else ''}" if idx else "a block"
    return SolverError(f"{what}: {where} of size {D.shape[-1]} is exactly singular")


def block_diag_solve(blocks: ArrayLike | Sequence[ArrayLike], b: ArrayLike) -> NDArray[Any]:
    """Solve a block-diagonal system ``D x = b`` block by block.

    A 3-D stack is solved with one batched :func:`numpy.linalg.solve` (LU per
    block inside LAPACK, no Python loop); a single 2-D block ``A``
    (``I_k ⊗ A``) is factored once for all ``k`` pieces.  To solve repeatedly
    with the same blocks use :class:`BlockDiagonalSolver`.

    Parameters
    ----------
    blocks : array_like, shape (k, n, n), list of k (n, n) arrays, or one (n, n) array
        The diagonal blocks; a single 2-D array means ``I_k ⊗ A``.
    b : array_like, shape (k*n,) or (k*n, r)
        Right-hand side(s).

    Returns
    -------
    numpy.ndarray, shape b.shape

    Raises
    ------
    ValueError
        If the blocks are not square and equal-sized, or ``b`` does not fit.
    SolverError
        If a block is exactly singular (the message names it).

    Examples
    --------
    >>> import numpy as np
    >>> from kronpde.toolkit import block_diag_solve
    >>> block_diag_solve([np.array([[2.0]]), np.array([[4.0]])], np.array([1.0, 1.0]))
    array([0.5 , 0.25])
    """
    D = _as_blocks(blocks, square=True)
    b = as_float_array(b, "b")
    n = D.shape[-1]
    k, r, B = _block_layout(D.shape[0] if D.ndim == 3 else None, n, b, "b")
    try:
        if D.ndim == 3:
            X = np.linalg.solve(D, B)
        else:
            # (k, n, r) -> (n, k*r): all pieces are right-hand sides of one solve
            rhs = B.transpose(1, 0, 2).reshape(n, -1)
            X = np.linalg.solve(D, rhs).reshape(n, k, B.shape[2]).transpose(1, 0, 2)
    except np.linalg.LinAlgError:
        raise _singular_block_error(D, "block_diag_solve") from None
    return np.ascontiguousarray(X).reshape(b.shape)


class BlockDiagonalSolver:
    """Factor a block-diagonal matrix once, then solve for many right-hand sides.

    Each block gets an LU factorisation (:func:`scipy.linalg.lu_factor`); a
    single 2-D block ``A`` stands for ``I_k ⊗ A`` and is factored once for any
    ``k``.  Factoring a 3-D stack and solving with it loop over the blocks in
    Python (inside scipy), so many tiny blocks are cheaper through the batched
    :func:`block_diag_solve`.

    Parameters
    ----------
    blocks : array_like, shape (k, n, n), list of k (n, n) arrays, or one (n, n) array
        The diagonal blocks.

    Attributes
    ----------
    block_size : int
        ``n``.
    n_blocks : int or None
        ``k``; None for a single repeated block (``I_k ⊗ A``, any ``k``).

    Raises
    ------
    ValueError
        If the blocks are not square and equal-sized.
    SolverError
        If a block has an exactly zero pivot (singular).

    Examples
    --------
    >>> import numpy as np
    >>> from kronpde.toolkit import BlockDiagonalSolver
    >>> solver = BlockDiagonalSolver(np.array([[[2.0, 0.0], [0.0, 4.0]]]))
    >>> solver.solve(np.array([2.0, 2.0]))
    array([1. , 0.5])
    """

    def __init__(self, blocks: ArrayLike | Sequence[ArrayLike]) -> None:
        D = _as_blocks(blocks, square=True)
        if not np.all(np.isfinite(D)):
            msg = "blocks contain inf or NaN"
            raise ValueError(msg)
        self._repeated = D.ndim == 2
        self.block_size = D.shape[-1]
        self.n_blocks: int | None = None if self._repeated else D.shape[0]
        with warnings.catch_warnings():
            # lu_factor warns on a zero pivot; we raise instead, below.
            warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
            self._lu, self._piv = scipy.linalg.lu_factor(D, check_finite=False)
        diag = np.diagonal(self._lu, axis1=-2, axis2=-1)
        bad = np.flatnonzero(np.any(diag.reshape(-1, self.block_size) == 0, axis=1))
        if bad.size:
            which = "the repeated block" if self._repeated else f"block(s) {bad[:10].tolist()}"
            msg = f"BlockDiagonalSolver: {which} of size {self.block_size} is exactly singular"
            raise SolverError(msg)

    def solve(self, b: ArrayLike) -> NDArray[Any]:
        """Solve ``D x = b``.

        Parameters
        ----------
        b : array_like, shape (k*n,) or (k*n, r)
            Right-hand side(s).

        Returns
        -------
        numpy.ndarray, shape b.shape

        Raises
        ------
        ValueError
            If ``b`` does not fit the blocks.
        """
        b = as_float_array(b, "b")
        n = self.block_size
        k, r, B = _block_layout(self.n_blocks, n, b, "b")
        if self._repeated:
            rhs = B.transpose(1, 0, 2).reshape(n, -1)
            X = scipy.linalg.lu_solve((self._lu, self._piv), rhs, check_finite=False)
            X = X.reshape(n, k, B.shape[2]).transpose(1, 0, 2)
        else:
            X = scipy.linalg.lu_solve((self._lu, self._piv), B, check_finite=False)
        return np.ascontiguousarray(X).reshape(b.shape)
