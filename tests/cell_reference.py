"""Test-only reference of the staggered discretisation, built unknown by unknown.

Not a test module.  :func:`staggered_reference` writes the dense ``A`` and
``b`` of ``-div(k grad u) + c u = f`` straight from the rules of
``case-format.md`` and the issue, with nothing from kronpde but the grid's
description (cells, bounds, the node/face coordinates and the conditions):

* a cell-centred axis: the finite-volume balance of every cell,
  ``sum over its two faces of k_f / (d_f w_j) (u_j - u_other)``; an interior
  face has ``d_f`` the distance of the two centres and ``k_f`` the
  conductance of the two half-cells in series; a boundary face has a ghost
  value one boundary-cell width ``h`` away, ``u_ghost = A u_j + B g`` from
  Dirichlet ``u_ghost = 2 g - u_j``, Neumann ``u_ghost = u_j + h g`` or Robin
  ``alpha (u_j + u_ghost)/2 + beta (u_ghost - u_j)/h = g`` solved for
  ``u_ghost``, and ``k_f`` at the face point itself;
* a node-centred axis (uniform only): the vertex-centred balance of the dual
  cell of every unknown node (``h``, ``h/2`` at a Neumann/Robin node), the
  harmonic mean of the nodal ``k`` on every interval, a known Dirichlet
  neighbour moved to the right-hand side, ``k du/dn = k g`` (Robin: ``k (g -
  alpha u)/beta``) through a Neumann/Robin face, wrap-around on periodic axes.

``k`` may be a number, a callable of the coordinates or an array of its
values at the points, or a list of them, one per axis (anisotropic: the fluxes
along axis ``i`` read ``k_i``).  A callable is evaluated where each flux needs it: at
the face between two cells, the mid-point of an interval, a cell-centred
boundary face (case-format.md, "Separable operators"); an array's values
give the harmonic means above (weighted by the half-cells on a stretched
axis), a cell-centred boundary face then taking its boundary cell's value.
"""

from __future__ import annotations

import itertools

import numpy as np

from kronpde import Dirichlet, Neumann, Robin


def _value(data, coords) -> float:
    return float(data(*[np.array(c) for c in coords])) if callable(data) else float(data)


def staggered_reference(grid, source, shift: float = 0.0, k=1.0):
    """Return the dense operator and right-hand side of ``grid`` (module docstring).

    Returns
    -------
    mat : ndarray, shape (n, n)
    rhs : ndarray, shape (n,)
        Unknowns in C order over the per-axis unknown sets (axis 0 slowest):
        nodes ``j`` not on a Dirichlet face (``0..m-1`` periodic) on a
        node-centred axis, the cells ``0..m-1`` on a cell-centred one.
    """
    axes = grid.axes
    ranges, positions = [], []
    for a in axes:
        x = np.array(a.nodes)  # the faces of a cell-centred axis, the nodes otherwise
        if a.centering == "cell":
            ranges.append(list(range(a.cells)))
            positions.append(0.5 * (x[:-1] + x[1:]))
        else:
            assert a.uniform, "the reference writes node-centred axes uniform only"
            lo = 1 if isinstance(a.lower_bc, Dirichlet) else 0
            hi = a.cells - 1 if (a.periodic or isinstance(a.upper_bc, Dirichlet)) else a.cells
            ranges.append(list(range(lo, hi + 1)))
            positions.append(a.lower + a.h * np.arange(a.cells + 1))
    unknowns = list(itertools.product(*ranges))
    index = {u: r for r, u in enumerate(unknowns)}
    n = len(unknowns)
    mat = np.zeros((n, n))
    rhs = np.zeros(n)

    def coords(point):
        return [positions[i][j] for i, j in enumerate(point)]

    ks = list(k) if isinstance(k, list) else [k] * len(axes)  # a list: k_i per axis

    def kval(c, point=None):
        if isinstance(k, np.ndarray):
            return float(k[tuple(point)])
        return _value(k, c)

    def k_between(point, there, i, mid):
        """``k`` of the flux between ``point`` and ``there`` along axis ``i`` (face at ``mid``)."""
        if not isinstance(k, np.ndarray):
            face = coords(point)
            face[i] = mid
            return _value(k, face)
        return None

    for r, point in enumerate(unknowns):
        here = coords(point)
        rhs[r] += _value(source, here)
        mat[r, r] += shift
        for i, a in enumerate(axes):
            k = ks[i]  # the fluxes along axis i read k_i (the helpers above see it)
            j = point[i]
            m = a.cells
            x = np.array(a.nodes)
            if a.centering == "cell":
                w = x[j + 1] - x[j]
                for side, step in ((0, -1), (1, +1)):
                    nb = j + step
                    if 0 <= nb < m or a.periodic:
                        nb %= m
                        w_nb = x[nb + 1] - x[nb]
                        there = list(point)
                        there[i] = nb
                        d = 0.5 * (w + w_nb)
                        face_x = x[(j + 1) % m if a.periodic else j + 1] if step > 0 else x[j]
                        k_f = k_between(point, there, i, face_x)
                        if k_f is None:
                            k_a, k_b = kval(here, point), kval(coords(there), there)
                            k_f = (w + w_nb) / (w / k_a + w_nb / k_b)
                        coef = k_f / (d * w)
                        mat[r, r] += coef
                        mat[r, index[tuple(there)]] -= coef
                        continue
                    bc = a.upper_bc if side else a.lower_bc
                    face = list(here)
                    face[i] = x[-1] if side else x[0]
                    h = w
                    k_face = kval(here, point) if isinstance(k, np.ndarray) else kval(face)
                    coef = k_face / (h * w)
                    g = _value(bc.value, face)
                    if isinstance(bc, Dirichlet):
                        ghost_u, ghost_g = -1.0, 2.0
                    elif isinstance(bc, Neumann):
                        ghost_u, ghost_g = 1.0, h
                    else:
                        assert isinstance(bc, Robin)
                        denominator = 0.5 * bc.alpha + bc.beta / h
                        ghost_u = (bc.beta / h - 0.5 * bc.alpha) / denominator
                        ghost_g = 1.0 / denominator
                    # coef (u_j - u_ghost) with u_ghost = ghost_u u_j + ghost_g g
                    mat[r, r] += coef * (1.0 - ghost_u)
                    rhs[r] += coef * ghost_g * g
                continue
            h = a.h
            boundary = (not a.periodic) and (j == 0 or j == m)
            dual = 0.5 * h if boundary else h
            for step in (-1, +1):
                nb = j + step
                if a.periodic:
                    nb %= m
                there = list(point)
                there[i] = nb
                if 0 <= nb <= m:
                    mid = (j + 0.5 * step) % m if a.periodic else j + 0.5 * step
                    k_f = k_between(point, there, i, a.lower + h * mid)
                    if k_f is None:
                        k_a, k_b = kval(here, point), kval(coords(there), there)
                        k_f = 2.0 * k_a * k_b / (k_a + k_b)
                    coef = k_f / (h * dual)
                    mat[r, r] += coef
                    if tuple(there) in index:
                        mat[r, index[tuple(there)]] -= coef
                    else:  # a Dirichlet node
                        bc = a.lower_bc if nb == 0 else a.upper_bc
                        rhs[r] += coef * _value(bc.value, coords(there))
                    continue
                bc = a.lower_bc if step < 0 else a.upper_bc  # no interval beyond the face
                g = _value(bc.value, here)
                k_node = kval(here, point)
                if isinstance(bc, Neumann):
                    rhs[r] += k_node * g / dual
                else:
                    assert isinstance(bc, Robin)
                    rhs[r] += k_node * g / (bc.beta * dual)
                    mat[r, r] += k_node * bc.alpha / (bc.beta * dual)
    return mat, rhs
