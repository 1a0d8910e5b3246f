"""Separable 2-D filtering ``H_row ⊗ H_col`` as two 1-D passes: :func:`separable_filter`."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.linalg
import scipy.ndimage
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from kronpde._checks import choices_message
from kronpde.operators.matmul import (
    as_float_array,
    as_matrix,
    matmul_axis,
    result_dtype,
)

__all__ = ["separable_filter"]


_NDIMAGE_MODES = (
    "constant",
    "grid-constant",
    "reflect",
    "grid-mirror",
    "mirror",
    "nearest",
    "wrap",
    "grid-wrap",
)


def _filter_along(
    x: NDArray[Any], h: Any, axis: int, mode: str, cval: float, name: str
) -> NDArray[Any]:
    if sp.issparse(h) or np.ndim(h) == 2:
        H = as_matrix(h, name)
        if H.shape[1] != x.shape[axis]:
            msg = (
                f"{name} has {H.shape[1]} columns but the image has "
                f"{x.shape[axis]} along axis {axis}"
            )
            raise ValueError(msg)
        return matmul_axis(H, x, axis)
    w = as_float_array(h, name)
    if w.ndim != 1 or w.size == 0:
        msg = f"{name} must be a non-empty 1-D kernel or a 2-D matrix, got shape {w.shape}"
        raise ValueError(msg)
    dtype = result_dtype(x.dtype, w.dtype)
    return scipy.ndimage.correlate1d(x, w, axis=axis, output=dtype, mode=mode, cval=cval)


def separable_filter(
    image: ArrayLike,
    h_row: ArrayLike,
    h_col: ArrayLike,
    mode: str = "constant",
    cval: float = 0.0,
) -> NDArray[Any]:
    """Apply the separable 2-D filter ``H_row ⊗ H_col`` as two 1-D passes.

    Follows the chapter's definitions exactly: with its column-major ``vec``,
    the filtered image is ``unvec((H_row ⊗ H_col) vec(image))``, i.e.
    ``H_col @ image @ H_row.T``.  So ``h_row`` filters along each **row**
    (acts on axis 1, the column index) and ``h_col`` along each **column**
    (acts on axis 0).  The 2-D kernel is ``np.outer(h_col, h_row)``.

    A 1-D kernel ``h`` is the chapter's ``conv_matrix_1d(h, n)``: the
    operator ``H[i, i + k - len(h)//2] = h[k]``, a correlation (the kernel is
    not flipped; for symmetric kernels it equals convolution), applied with
    :func:`scipy.ndimage.correlate1d`.  ``mode="constant"`` with ``cval=0``
    (zero padding) is the chapter's matrix; the other ``scipy.ndimage``
    boundary modes are accepted too.  A 2-D ``h_row``/``h_col`` is used as the
    operator matrix itself (then ``mode`` does not apply to that pass).

    Parameters
    ----------
    image : array_like, shape (n_rows, n_cols)
        The image.
    h_row : array_like, shape (L,) or (p, n_cols)
        Kernel (or matrix) applied along each row.
    h_col : array_like, shape (L,) or (q, n_rows)
        Kernel (or matrix) applied along each column.
    mode : str, optional
        Boundary handling of 1-D kernels, one of ``'constant'`` (default, zero
        padding), ``'grid-constant'``, ``'reflect'``, ``'grid-mirror'``,
        ``'mirror'``, ``'nearest'``, ``'wrap'``, ``'grid-wrap'``.
    cval : float, optional
        Fill value for ``'constant'`` modes (default 0).

    Returns
    -------
    numpy.ndarray, shape (n_rows, n_cols), or (q, p) with matrices

    Raises
    ------
    ValueError
        If ``image`` is not 2-D, a kernel is empty or not 1-D/2-D, a matrix
        does not fit, or ``mode`` is unknown.

    Examples
    --------
    >>> import numpy as np
    >>> from kronpde.toolkit import separable_filter
    >>> image = np.zeros((3, 4))
    >>> image[1, 1] = 1.0
    >>> separable_filter(image, [1.0, 2.0, 3.0], [0.0, 1.0, 0.0])
    array([[0., 0., 0., 0.],
           [3., 2., 1., 0.],
           [0., 0., 0., 0.]])
    """
    x = as_float_array(image, "image")
    if x.ndim != 2:
        msg = f"image must be 2-D, got shape {x.shape}"
        raise ValueError(msg)
    if mode not in _NDIMAGE_MODES:
        msg = choices_message("mode", mode, _NDIMAGE_MODES)
        raise ValueError(msg)
    x = _filter_along(x, h_col, 0, mode, cval, "h_col")
    return _filter_along(x, h_row, 1, mode, cval, "h_row")
