"""Test-only references of the variable-coefficient operator, built another way.

kronpde assembles ``-div(k grad u) + c u`` from per-row coefficients
(:class:`kronpde.variable.VariableDiffusion`).  Here the symmetric form

    W A = sum_i D_iᵀ K_i D_i + R + c W

is summed from sparse Kronecker products instead: ``D_i = I ⊗ ... ⊗ D ⊗ ... ⊗ I``
with the one-sided difference ``D`` of axis ``i`` (:func:`difference`), ``K_i``
the diagonal of ``k_{e+1/2} / h_e`` times the dual-face area
``prod_{j != i} w_j``, ``R`` the Robin terms ``k alpha / beta`` times the face
area, ``W`` the trapezoid weights.  The harmonic mean of the nodal ``k`` on
each interval is computed here too, from the nodal array, so nothing but the
grid (axes, spacings, weights, unknown sets) is shared with the library.

Examples
--------
A constant ``k`` gives ``k`` times the weighted constant-coefficient operator:

>>> import numpy as np
>>> from kronpde import Grid, Problem
>>> g = Grid.box([4, 3])
>>> wa = weighted_operator(g, np.full(g.node_shape, 2.0))
>>> ref = 2.0 * Problem(g).weighted_operator()
>>> bool(abs(wa - ref).max() < 1e-12)
True
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

from kronpde import Dirichlet, Grid, Robin


def difference(axis) -> sp.csr_array:
    """Return the one-sided difference ``(D u)_e = u_{e+1} - u_e`` of one axis, shape (cells, n).

    Columns are the axis' unknowns: a Dirichlet node's column is dropped, and on
    a periodic axis node ``m`` is node ``0``.
    """
    m = axis.cells
    start = axis.unknown_slice.start
    n = axis.n_unknowns
    e = np.arange(m)
    rows = np.concatenate([e, e])
    nodes = np.concatenate([e, e + 1])
    vals = np.concatenate([-np.ones(m), np.ones(m)])
    if axis.periodic:
        nodes = nodes % m
    cols = nodes - start
    keep = (cols >= 0) & (cols < n)
    if not axis.periodic:  # a Dirichlet node is not a column
        if isinstance(axis.lower_bc, Dirichlet):
            keep &= nodes != 0
        if isinstance(axis.upper_bc, Dirichlet):
            keep &= nodes != m
    D = sp.coo_array((vals[keep], (rows[keep], cols[keep])), shape=(m, n)).tocsr()
    D.sum_duplicates()
    return D


def _interval_k(grid: Grid, k_nodes: np.ndarray, i: int):
    """Harmonic mean of ``k`` on the intervals of axis ``i``, and ``k`` at its two faces.

    On the lines of axis ``i`` through the unknowns of the other axes; axis ``i``
    last.  On a periodic axis node ``m`` is node ``0``.
    """
    index = list(grid.unknown_index)
    index[i] = slice(None)
    kn = np.moveaxis(np.asarray(k_nodes, dtype=float)[tuple(index)], i, -1).copy()
    if grid.axes[i].periodic:
        kn[..., -1] = kn[..., 0]
    a, b = kn[..., :-1], kn[..., 1:]
    return 2.0 * a * b / (a + b), kn[..., 0], kn[..., -1]


def weighted_operator(grid: Grid, k_nodes: np.ndarray, shift: float = 0.0) -> sp.csr_array:
    """Return ``W A = sum_i D_iᵀ K_i D_i + R + c W`` (CSR, symmetric) from Kronecker products.

    Parameters
    ----------
    grid : Grid
        Axes and boundary conditions.
    k_nodes : ndarray, shape ``grid.node_shape``
        ``k`` at every node (``> 0``).
    shift : float
        ``c``.

    Returns
    -------
    scipy.sparse.csr_array
        Shape ``(grid.size, grid.size)``.
    """
    d = grid.dimension
    shape = grid.shape
    n_total = grid.size
    w_axes = [a.weights for a in grid.axes]
    total = sp.csr_array((n_total, n_total))
    robin = np.zeros(shape)
    for i, axis in enumerate(grid.axes):
        D = difference(axis)
        eyes_before = sp.eye_array(math.prod(shape[:i]), format="csr")
        eyes_after = sp.eye_array(math.prod(shape[i + 1 :]), format="csr")
        Di = sp.kron(sp.kron(eyes_before, D, format="csr"), eyes_after, format="csr")
        edge_k, face_lo, face_hi = _interval_k(grid, k_nodes, i)
        cond = edge_k / axis.spacings  # k_{e+1/2} / h_e, axis i last
        area = np.ones(())
        for j in range(d):
            if j != i:
                area = np.multiply.outer(area, w_axes[j])
        Ki = np.moveaxis(cond * area[..., None], -1, i)
        total = total + Di.T @ sp.diags_array(Ki.reshape(-1)) @ Di
        for side, bc, kf in ((0, axis.lower_bc, face_lo), (1, axis.upper_bc, face_hi)):
            if isinstance(bc, Robin) and not axis.periodic:
                face = [slice(None)] * d
                face[i] = slice(-1, None) if side else slice(0, 1)
                robin[tuple(face)] += np.expand_dims(kf * (bc.alpha / bc.beta) * area, i)
    w = grid.weights().reshape(-1)
    total = total + sp.diags_array(robin.reshape(-1) + shift * w)
    total = sp.csr_array(total)
    total.sum_duplicates()
    total.eliminate_zeros()
    return total
