"""Test-only references of the variable-coefficient operator, built another way.

kronpde assembles ``-div(k grad u) + c u`` from per-row coefficients
(:class:`kronpde.operators.flux.VariableDiffusion`).  Here the symmetric form

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

import itertools
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


# -- the fourth-order compact operator, node by node ------------------------------------------


def _compact_weights(h, k: float, c: float) -> dict[tuple[int, ...], float]:
    """Stencil weights of the compact scheme at an interior node, by offset.

    From the stencil's definition: with ``s_i = k [-1, 2, -1] / h_i²`` the
    positive second difference along axis ``i`` and ``a_i = h_i² / (12 k)``,
    ``A = Σ_i (1 - c a_i) s_i + c - Σ_{i<j} (a_i + a_j) s_i s_j`` (``s_i s_j`` the
    outer product of the two 1-D stencils): in 2-D with equal spacing and
    ``k = 1``, ``(1/6h²)[-1 -4 -1; -4 20 -4; -1 -4 -1]``.
    """
    d = len(h)
    a = [hi * hi / (12.0 * k) for hi in h]
    one_d = {-1: -1.0, 0: 2.0, 1: -1.0}
    weights: dict[tuple[int, ...], float] = {}

    def add(offset, value):
        weights[offset] = weights.get(offset, 0.0) + value

    add((0,) * d, c)
    for i in range(d):
        for o, w in one_d.items():
            off = [0] * d
            off[i] = o
            add(tuple(off), (1.0 - c * a[i]) * k * w / h[i] ** 2)
    for i in range(d):
        for j in range(i + 1, d):
            for oi, wi in one_d.items():
                for oj, wj in one_d.items():
                    off = [0] * d
                    off[i], off[j] = oi, oj
                    add(tuple(off), -(a[i] + a[j]) * k * k * wi * wj / (h[i] ** 2 * h[j] ** 2))
    return weights


def _resolve(grid: Grid, node: tuple[int, ...]) -> dict[tuple[int, ...], float]:
    """A node of the grid extended by one ghost layer, as a combination of unknown nodes.

    Periodic axes wrap; a ghost outside a Neumann/Robin face is reflected,
    ``u_{-1} = u_1 - (2 h alpha/beta) u_0`` (+ data, dropped here), axis by axis;
    a Dirichlet node is known (dropped).
    """
    terms = {tuple(node): 1.0}
    for i, a in enumerate(grid.axes):
        out: dict[tuple[int, ...], float] = {}
        for q, w in terms.items():
            j = q[i]
            if a.periodic:
                targets = [(j % a.cells, 1.0)]
            elif j in (-1, a.cells + 1):
                bc = a.lower_bc if j < 0 else a.upper_bc
                face, inner = (0, 1) if j < 0 else (a.cells, a.cells - 1)
                ratio = bc.alpha / bc.beta if isinstance(bc, Robin) else 0.0
                targets = [(inner, 1.0), (face, -2.0 * a.h * ratio)]
            elif (j == 0 and isinstance(a.lower_bc, Dirichlet)) or (
                j == a.cells and isinstance(a.upper_bc, Dirichlet)
            ):
                targets = []
            else:
                targets = [(j, 1.0)]
            known = {0} if isinstance(a.lower_bc, Dirichlet) else set()
            known |= {a.cells} if isinstance(a.upper_bc, Dirichlet) and not a.periodic else set()
            for t, f in targets:
                if t in known:  # a ghost reflected onto a Dirichlet node (one-cell axis)
                    continue
                r = list(q)
                r[i] = t
                out[tuple(r)] = out.get(tuple(r), 0.0) + w * f
        terms = out
    return terms


def compact_operator(grid: Grid, k: float = 1.0, shift: float = 0.0) -> np.ndarray:
    """Return the fourth-order compact operator ``A`` (dense), built node by node.

    Independent of kronpde.operators.compact: every unknown node applies the stencil of
    :func:`_compact_weights` on the grid extended by ghost nodes, resolved by
    :func:`_resolve` (reflection at Neumann/Robin faces and corners, wrap-around
    on periodic axes, Dirichlet nodes known).  A Robin face (``r = alpha/beta``)
    adds, on each of its unknown nodes, ``(h r / 3)`` times the tangential
    second differences (the same ghost rules) plus ``c``; an edge of two Robin
    faces adds ``(h h' r r' / 9)`` times the second differences along the edge
    plus ``c`` (case-format's fourth-order ghost correction of the unknowns).
    """
    d = grid.dimension
    axes = grid.axes
    ranges = [range(a.unknown_slice.start, a.unknown_slice.stop) for a in axes]
    unknowns = list(itertools.product(*ranges))
    index = {node: r for r, node in enumerate(unknowns)}
    mat = np.zeros((len(unknowns), len(unknowns)))
    weights = _compact_weights([a.h for a in axes], k, shift)

    def stencil(r: int, node, offsets: dict[tuple[int, ...], float], scale: float) -> None:
        for off, w in offsets.items():
            q = tuple(n + o for n, o in zip(node, off, strict=True))
            for target, f in _resolve(grid, q).items():
                mat[r, index[target]] += scale * w * f

    def tangential(skip: set[int]) -> dict[tuple[int, ...], float]:
        out = {(0,) * d: shift}
        for t, a in enumerate(axes):
            if t in skip:
                continue
            for o, w in {-1: -1.0, 0: 2.0, 1: -1.0}.items():
                off = [0] * d
                off[t] = o
                out[tuple(off)] = out.get(tuple(off), 0.0) + k * w / a.h**2
        return out

    robin = []  # (axis, boundary node, h alpha / beta)
    for i, a in enumerate(axes):
        for node, bc in ((0, a.lower_bc), (a.cells, a.upper_bc)):
            if isinstance(bc, Robin) and bc.alpha != 0.0:
                robin.append((i, node, a.h * bc.alpha / bc.beta))
    for r, node in enumerate(unknowns):
        stencil(r, node, weights, 1.0)
        on = [(i, q) for i, n, q in robin if node[i] == n]
        for i, q in on:
            stencil(r, node, tangential({i}), q / 3.0)
        for (i, qi), (j, qj) in itertools.combinations(on, 2):
            if i != j:
                stencil(r, node, tangential({i, j}), qi * qj / 9.0)
    return mat
