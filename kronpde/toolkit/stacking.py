"""``vec`` and ``unvec``: the textbook chapter's column-stacking of a matrix."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from kronpde.operators.matmul import (
    as_float_array,
)

__all__ = ["unvec", "vec"]


def vec(X: ArrayLike) -> NDArray[Any]:
    """Stack the columns of ``X`` into one vector (column-major, Fortran order).

    This is the chapter's ``vec``: ``vec(X) = X.T.flatten()`` for a matrix,
    and it satisfies ``vec(A X B) = (B^T ⊗ A) vec(X)``.  For N-D arrays the
    first index varies fastest (Fortran order).

    Parameters
    ----------
    X : array_like, shape (m, n) or any N-D shape
        The array to stack.

    Returns
    -------
    numpy.ndarray, shape (X.size,)
        A new float64 (or complex128) vector.

    Raises
    ------
    TypeError
        If ``X`` is not numeric.

    Examples
    --------
    >>> import numpy as np
    >>> from kronpde.toolkit import vec
    >>> vec(np.array([[1.0, 2.0], [3.0, 4.0]]))
    array([1., 3., 2., 4.])
    """
    return as_float_array(X, "X").ravel(order="F")


def unvec(x: ArrayLike, shape: int | Sequence[int]) -> NDArray[Any]:
    """Invert :func:`vec`: refill an array of ``shape`` column by column.

    Parameters
    ----------
    x : array_like, shape (prod(shape),)
        A column-major stacked vector.
    shape : int or sequence of int
        The shape of the result, e.g. ``(m, n)``.

    Returns
    -------
    numpy.ndarray, shape ``shape``
        Fortran-ordered; a view of ``x`` where possible.

    Raises
    ------
    ValueError
        If ``x`` is not 1-D or its length does not match ``shape``.

    Examples
    --------
    >>> import numpy as np
    >>> from kronpde.toolkit import unvec, vec
    >>> X = np.arange(6.0).reshape(2, 3)
    >>> unvec(vec(X), (2, 3))
    array([[0., 1., 2.],
           [3., 4., 5.]])
    """
    x = as_float_array(x, "x")
    shape = (int(shape),) if np.ndim(shape) == 0 else tuple(int(s) for s in shape)
    if x.ndim != 1 or x.size != math.prod(shape):
        msg = f"x of shape {x.shape} cannot be unvec'ed into shape {shape}"
        raise ValueError(msg)
    return x.reshape(shape, order="F")
