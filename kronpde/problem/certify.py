"""The certified algebraic error: a rigorous bound on ``||u - u_h||_W`` from the residual.

``u_h`` is the exact solution of the discrete system ``A u_h = b`` (the one
kronpde stores: its float64 coefficients and data taken as exact numbers), ``u``
the computed one, ``e = u - u_h`` its algebraic error, and
``||v||_W = (vᵀ W v)^{1/2} = ||D v||_2`` the discrete L² norm of the trapezoid
weights ``W`` (``D = W^{1/2}``).

Derivation
----------
``W A`` is symmetric, so ``A`` is self-adjoint in the inner product
``<v, z>_W = vᵀ W z`` and ``Â = D A D^{-1}`` is a symmetric matrix with the
eigenvalues of ``A``.  With ``r = b - A u`` we have ``A e = -r``, i.e.
``Â (D e) = -D r``, and therefore

    ``||e||_W = ||Â^{-1} D r||_2 <= ||D r||_2 / λ_min = ||r||_W / λ_min``,

with ``λ_min`` the smallest eigenvalue of ``A``.  (Note that ``||r||_W`` is
exactly the 2-norm of the residual ``D b - Â y`` of the symmetrised system CG
works on.)  Only a *lower* bound ``λ ≤ λ_min`` is needed, and only of the
symmetric part ``S = (Â + Âᵀ)/2``: for every ``v``,
``||Â v|| ||v|| >= vᵀ Â v = vᵀ S v >= λ_min(S) ||v||²``, so rounding that
makes the stored ``Â`` not exactly symmetric does no harm.

* Kronecker sum (constant ``k``): ``S = sum_i I ⊗ S_i ⊗ I + c I``, so
  ``λ_min(S) = sum_i λ_min(S_i) + c``.  Each ``λ_min(S_i)`` is computed from
  the stored 1-D operator by LAPACK's tridiagonal bisection (``stebz``), the
  circulant closed form ``d - 2|e|`` on a uniform periodic axis, or a dense
  ``eigvalsh`` on a stretched periodic axis, and lowered by a margin for the
  eigenvalue solver's error and for the rounding in forming ``S_i``
  (:data:`BISECTION_MARGIN` ``eps ||S_i||_∞``, or ``(4 n + 32) eps ||S_i||_∞``
  for the dense solver: Weyl's inequality with the solvers' backward errors).
* Singular problems (pure Neumann/periodic, ``c = 0``): ``u_h`` is the
  solution with zero ``W``-mean of the projected data, ``e`` is split into its
  ``W``-mean (bounded directly: ``|mean_w(u)| ||1||_W``) and the rest, and the
  residual is projected, ``P D r`` with ``P`` the orthogonal projection off
  ``v = D 1 / ||D 1||``.  The eigenvalue is that of ``S`` on ``v^⊥``, at least
  ``min_i λ_2(S_i)`` in exact arithmetic.  The stored ``S_i`` has ``v_i`` as a
  null vector only to rounding, so ``S_i = P_i S_i P_i + E_i`` with
  ``||E_i|| <= 3 ||S_i v_i||`` and the bound used is
  ``min_i (λ_2(S_i) - ||E_i||) - sum_i ||E_i||``.
* Variable ``k``: ``W A = sum_i D_iᵀ K_i D_i + R + c W`` (:mod:`kronpde.operators.flux`)
  with every flux coefficient a harmonic mean of two nodal ``k`` values (at
  least the smaller one) and every Robin term ``k`` at a boundary node, so
  ``W A - c W ⪰ k_min W A_1`` in the Loewner order, ``A_1`` the same grid's
  operator with ``k = 1``, ``c = 0``, and ``k_min`` the smallest nodal ``k``
  (boundary nodes included; on a cell-centred axis also the ``k`` of the
  boundary faces, which their fluxes use).  Hence ``λ_min(A) >= k_min λ_min(A_1) + c``, and
  likewise on ``v^⊥``; a margin of :data:`VARIABLE_MARGIN` ``eps ||Â||_∞``
  covers the rounding of the stored coefficients.

Floating point
--------------
The residual is computed, ``r̂ = fl(b - A u)``.  Each entry is a sum of at most
``K`` rounded terms, so ``|r - r̂| <= γ_K (|b| + |A| |u|)`` componentwise
(``γ_K = K eps / (1 - K eps)``, :func:`residual_terms` gives ``K``, with room
for any order of summation of the stencil).  The certified bound is

    ``bound = [(1 + γ_{n+4}) ||D r̂||_2 + ||D γ_K (|b| + (1 + 3 γ_K) |A| |u|)||_2
    (1 + γ_{n+4})] / λ + |mean_w(u)| ||1||_W``

(the mean term only for singular problems, where ``r̂`` is projected first and
``2 γ_{n+4} ||D r̂||`` is added for the rounding of the projection).  ``|A| |u|``
is ``2 diag(A) |u| - A |u|`` when ``A`` has a non-negative diagonal and
non-positive off-diagonal entries (every operator of the second-order scheme),
computed with one more product with ``A``.  ``eps = 2**-53`` is the unit
roundoff.

The rounding term is roughly ``γ_K ||A|| ||u||_W / λ``: the bound cannot go
below about ``eps`` times the condition number of ``A`` relative to ``||u||``,
which is also how well a residual computed in float64 can certify anything.

The fourth-order scheme
-----------------------
``Problem(order=4)`` applies ``A = P(T_1, …, T_d) + R``, the polynomial
``P = c + Σ_i (1 - c a_i) T_i - Σ_{i<j} (a_i + a_j) T_i T_j`` of the 1-D
operators (:mod:`kronpde.operators.compact`) plus the Robin faces' terms
``R = Σ γ E ⊗ (c + Σ_t T_t)`` (``γ >= 0``).  Symmetrised, ``Â_i = S_i + K_i``
(``K_i`` the antisymmetric part of the stored ``D_i T_i D_i^{-1}``, bounded by
Gershgorin; zero when ``W_i T_i`` is exactly symmetric in floating point).

* ``P(S_1, …)`` has the eigenvalues ``μ(λ_1, …, λ_d)`` over the products of
  the 1-D eigenpairs, and ``μ`` is affine in each ``λ_i`` separately, so its
  minimum over the box of intervals ``[lowest_i, highest_i]`` that hold each
  spectrum (bisection, with the margins above, for ``λ_1`` and ``λ_n``) is at
  one of the ``2^d`` corners: a lower bound on every mode's ``μ``.  (The corner
  is not always the one of the lowest modes: with ``c a_i`` large ``μ`` falls
  along an axis.)  Singular problems (every ``λ_i`` of the constants zero):
  ``S̃_i = P_i S_i P_i`` has the null vector exactly and its other eigenvalues in
  ``[λ_2(S_i) - margin - ||E_i||, highest_i + ||E_i||]`` (Weyl, given the gap), and
  the corners run over the ``2^d - 1`` sets of axes off their zero mode.
* ``||P(Â) - P(S̃)|| <= Σ_i |1 - c a_i| φ_i + Σ_{i<j} (a_i + a_j)(φ_i (N_j + φ_j)
  + (N_i + φ_i) φ_j)`` with ``φ_i = ||E_i|| + ||K_i||`` and ``N_i = ||S_i||_∞``
  (``Â_i Â_j - S̃_i S̃_j = F_i Â_j + S̃_i F_j``); it is subtracted, and so is the
  rounding of the corner values (``γ_{2(d+1)²}`` times their size).
* ``R`` is at least ``γ (c + Σ_t lowest_t) E ⊗ I``: where that is negative
  (a Neumann tangential axis, whose lowest bound is a rounding below zero) it
  is subtracted too, else ``R >= 0`` is dropped.

In floating point the residual is computed by the factored apply, so ``|A|``
in the rounding term is the same polynomial with every coefficient and every
1-D entry made absolute (:class:`_AbsoluteCompact`; it dominates the
assembled ``|A|``), and ``K = 8 d + 16`` (:func:`residual_terms`).
Any other order gets no bound (None: the report says it was not computed).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import scipy.linalg

from kronpde.operators.compact import apply_axis
from kronpde.operators.stencils import second_difference

__all__ = [
    "BISECTION_MARGIN",
    "DENSE_LIMIT",
    "UNIT_ROUNDOFF",
    "VARIABLE_MARGIN",
    "AxisSpectrum",
    "Certificate",
    "EigenvalueBound",
    "Certifier",
    "axis_spectrum",
    "gamma",
    "residual_terms",
    "smallest_eigenvalue",
]

#: The unit roundoff of float64, ``2**-53``.
UNIT_ROUNDOFF = 2.0**-53

#: Margin of a bisection eigenvalue, in units of ``eps ||S||_∞``: ``stebz``'s own tolerance
#: (``eps ||S||_1``), the backward error of the Sturm count (about ``2.5 eps ||S||``) and the
#: rounding in forming ``S`` from the stored operator (at most ``10 eps`` per entry), doubled.
BISECTION_MARGIN = 48.0

#: Margin of the variable-coefficient bound, in units of ``eps ||Â||_∞``: the rounding of the
#: stored harmonic means, flux factors and symmetrisation against their exact values.
VARIABLE_MARGIN = 64.0

#: Longest stretched periodic axis whose eigenvalues are computed densely (``n³`` work).
DENSE_LIMIT = 4096


def gamma(k: float) -> float:
    """Return ``γ_k = k eps / (1 - k eps)``, the classical bound of ``k`` rounded operations."""
    ke = k * UNIT_ROUNDOFF
    return ke / (1.0 - ke) if ke < 0.5 else math.inf


def residual_terms(dimension: int, order: int = 2) -> int:
    """Return ``K``, the rounded operations per entry of ``fl(b - A u)`` allowed for.

    Second order, ``K = 4 d + 8``: a row of the stencil has ``2 d + 1``
    entries (summed in any order, the diagonal itself a rounded sum of
    ``d + 1`` numbers, and on the variable operator two scalings by
    ``W^{±1/2}``); twice that covers any kernel.  Fourth order (the compact
    scheme applied as its polynomial, :class:`kronpde.operators.compact.CompactOperator`),
    ``K = 8 d + 16``: a term ``T_i T_j x`` is two nested 3-point applies (6
    rounded operations) and a scaling, the ``(d + 1)(d + 2)/2`` terms, the
    Robin planes and ``b`` are summed (at most 12 additions in 3-D), twice that.
    """
    if order == 4:
        return 8 * dimension + 16
    return 4 * dimension + 8


# --------------------------------------------------------------------------- eigenvalues


@dataclass(frozen=True)
class AxisSpectrum:
    """Certified facts about the symmetric part ``S`` of one symmetrised 1-D operator.

    Attributes
    ----------
    lowest : float
        A lower bound on ``λ_1(S)``.
    second : float or None
        A lower bound on ``λ_2(S)`` (when asked for; None for ``n = 1``).
    null_defect : float
        An upper bound on ``||E|| = ||S - P S P||_2 <= 3 ||S v||``, ``v`` the
        normalised ``D 1`` (only computed for a singular axis, else 0).
    norm : float
        ``||S||_∞`` (computed).
    how : str
        ``"bisection"``, ``"circulant"`` or ``"dense"``.
    computed : tuple of float
        The eigenvalues as computed, before the margins.
    highest : float
        An upper bound on the largest eigenvalue ``λ_n(S)``.
    margin : float
        The margin subtracted from (added to) every computed eigenvalue.
    skew : float
        An upper bound on ``||K||_2``, ``K = (Â - Âᵀ)/2`` the antisymmetric part
        of the stored symmetrised operator (0 where ``W T`` is exactly
        symmetric in floating point).
    """

    lowest: float
    second: float | None
    null_defect: float
    norm: float
    how: str
    computed: tuple[float, ...]
    highest: float = math.inf
    margin: float = 0.0
    skew: float = 0.0


def _symmetric_bands(op: Any) -> tuple[np.ndarray, np.ndarray, float | None]:
    """Diagonal, off-diagonal ``(r, r+1)`` and wrap ``(n-1, 0)`` of ``sym(D T D^{-1})``."""
    s = np.sqrt(np.asarray(op.weights, dtype=float))
    n = op.n
    d = np.array(op.diag, dtype=float)
    lower = np.asarray(op.lower, dtype=float)
    upper = np.asarray(op.upper, dtype=float)
    if n == 1:
        return d, np.zeros(0), None
    # Â[r, r+1] = upper[r] s_r / s_{r+1}, Â[r+1, r] = lower[r+1] s_{r+1} / s_r
    e = 0.5 * (upper[:-1] * (s[:-1] / s[1:]) + lower[1:] * (s[1:] / s[:-1]))
    wrap = None
    if op.periodic and n >= 3:
        # Â[n-1, 0] = upper[n-1] s_{n-1}/s_0, Â[0, n-1] = lower[0] s_0/s_{n-1}
        wrap = 0.5 * float(upper[-1] * (s[-1] / s[0]) + lower[0] * (s[0] / s[-1]))
    return d, e, wrap


def _skew_norm(op: Any) -> float:
    """Return a bound on ``||(Â - Âᵀ)/2||_2`` of ``Â = D T D^{-1}`` (Gershgorin, with rounding)."""
    n = op.n
    if n < 2:
        return 0.0
    s = np.sqrt(np.asarray(op.weights, dtype=float))
    lower = np.asarray(op.lower, dtype=float)
    upper = np.asarray(op.upper, dtype=float)
    up = upper[:-1] * (s[:-1] / s[1:])
    low = lower[1:] * (s[1:] / s[:-1])
    k = 0.5 * np.abs(up - low)
    big = float(np.max(np.abs(up) + np.abs(low)))
    wrap = 0.0
    if op.periodic and n >= 3:
        a, b = float(upper[-1] * (s[-1] / s[0])), float(lower[0] * (s[0] / s[-1]))
        wrap = 0.5 * abs(a - b)
        big = max(big, abs(a) + abs(b))
    rows = np.zeros(n)
    rows[:-1] += k
    rows[1:] += k
    rows[0] += wrap
    rows[-1] += wrap
    # each entry of K is one subtraction of two products of three rounded numbers
    return float(np.max(rows)) + 16.0 * UNIT_ROUNDOFF * big


def _apply_bands(d: np.ndarray, e: np.ndarray, wrap: float | None, v: np.ndarray) -> np.ndarray:
    out = d * v
    out[:-1] += e * v[1:]
    out[1:] += e * v[:-1]
    if wrap is not None:
        out[0] += wrap * v[-1]
        out[-1] += wrap * v[0]
    return out


def axis_spectrum(op: Any, *, singular: bool = False) -> AxisSpectrum | None:
    """Return certified bounds on the two smallest eigenvalues of one 1-D operator.

    Parameters
    ----------
    op : AxisOperator
        The stored 1-D operator ``T`` (any boundary conditions, uniform or
        stretched, any ``k``); ``diag(weights) T`` should be symmetric.
    singular : bool
        Also bound ``λ_2`` and the null-vector defect (the axis has the
        constants in its kernel).

    Returns
    -------
    AxisSpectrum or None
        None for a stretched periodic axis longer than :data:`DENSE_LIMIT`.

    Examples
    --------
    >>> from kronpde import Axis
    >>> from kronpde.operators.stencils import second_difference
    >>> t = second_difference(Axis(16))          # Dirichlet, h = 1/16
    >>> exact = 4 * 16**2 * np.sin(np.pi / 32) ** 2       # 4/h² sin²(πh/2)
    >>> a = axis_spectrum(t)
    >>> bool(exact - 1e-9 < a.lowest <= exact)
    True
    """
    d, e, wrap = _symmetric_bands(op)
    n = d.size
    absd = np.abs(d)
    rows = absd.copy()
    rows[:-1] += np.abs(e)
    rows[1:] += np.abs(e)
    if wrap is not None:
        rows[0] += abs(wrap)
        rows[-1] += abs(wrap)
    norm = float(np.max(rows))
    eps = UNIT_ROUNDOFF
    want = 2 if singular and n >= 2 else 1
    if n == 1:
        computed = (float(d[0]),)
        top = computed[0]
        margin, how = 4.0 * eps * norm, "bisection"
    elif not op.periodic:
        computed = tuple(
            float(v)
            for v in scipy.linalg.eigvalsh_tridiagonal(
                d, e, select="i", select_range=(0, want - 1), lapack_driver="stebz"
            )
        )
        top = float(
            scipy.linalg.eigvalsh_tridiagonal(
                d, e, select="i", select_range=(n - 1, n - 1), lapack_driver="stebz"
            )[0]
        )
        margin, how = BISECTION_MARGIN * eps * norm, "bisection"
    elif wrap is not None and np.all(d == d[0]) and np.all(e == e[0]) and wrap == e[0]:
        # a symmetric circulant: eigenvalues d + 2 e cos(2 pi k / n), the largest at the
        # cosine nearest -1 (k = n/2, or (n-1)/2 for odd n)
        a, b = float(d[0]), -abs(float(e[0]))
        computed = (a + 2.0 * b, a + 2.0 * b * math.cos(2.0 * math.pi / n))[:want]
        top = a - 2.0 * b * (1.0 if n % 2 == 0 else math.cos(math.pi / n))
        margin, how = 16.0 * eps * norm, "circulant"
    else:
        if n > DENSE_LIMIT:
            return None
        dense = np.diag(d)
        dense += np.diag(e, 1) + np.diag(e, -1)
        if wrap is not None:
            dense[0, -1] += wrap
            dense[-1, 0] += wrap
        values = scipy.linalg.eigvalsh(dense)
        computed = tuple(float(v) for v in values[:want])
        top = float(values[-1])
        margin, how = (4.0 * n + 32.0) * eps * norm, "dense"
    lowest = computed[0] - margin
    second = computed[1] - margin if want == 2 else None
    highest = top + margin
    defect = 0.0
    if singular:
        v = np.sqrt(np.asarray(op.weights, dtype=float))
        v /= np.linalg.norm(v)
        sv = _apply_bands(d, e, wrap, v)
        defect = 3.0 * (float(np.linalg.norm(sv)) + 24.0 * eps * norm)
    return AxisSpectrum(
        lowest, second, defect, norm, how, computed, highest, margin, _skew_norm(op)
    )


@dataclass(frozen=True)
class EigenvalueBound:
    """A certified lower bound on the smallest eigenvalue of ``A`` (smallest non-zero if singular).

    Attributes
    ----------
    value : float
        The bound ``λ > 0`` the error bound divides by.
    computed : float
        The eigenvalue as computed, before the rounding margins.
    how : str
        One sentence: where the number comes from.
    """

    value: float
    computed: float
    how: str


def _kronecker_bound(ops: Any, shift: float, singular: bool) -> tuple[float, float, str] | None:
    spectra = []
    for op in ops:
        s = axis_spectrum(op, singular=singular)
        if s is None:
            return None
        spectra.append(s)
    d = len(spectra)
    how = "/".join(s.how for s in spectra)
    if singular:
        defects = [s.null_defect for s in spectra]
        seconds = [s.second for s in spectra if s.second is not None]
        if not seconds:
            return None
        lower = min(s.second - s.null_defect for s in spectra if s.second is not None) - sum(
            defects
        )
        computed = min(s.computed[1] for s in spectra if len(s.computed) > 1)
        text = f"smallest non-zero eigenvalue min_i λ_2(T_i) of the Kronecker sum ({how})"
    else:
        lower = sum(s.lowest for s in spectra) + shift
        computed = sum(s.computed[0] for s in spectra) + shift
        text = f"sum of the 1-D smallest eigenvalues ({how})" + (" plus c" if shift else "")
    lower *= 1.0 - 4.0 * (d + 1) * UNIT_ROUNDOFF  # the rounding of the sums above
    return lower, computed, text


def _compact_bound(problem: Any) -> tuple[float, float, str] | None:
    """Return the fourth-order scheme's bound, its value as computed and a sentence."""
    scheme = problem.scheme
    singular = bool(problem.singular)
    spectra = []
    for op in scheme.ops:
        sp_ = axis_spectrum(op, singular=singular)
        if sp_ is None or not math.isfinite(sp_.highest):
            return None
        spectra.append(sp_)
    d = len(spectra)
    a, c = scheme.a, scheme.shift
    eps = UNIT_ROUNDOFF
    down = -math.inf
    # per axis: the interval of the eigenvalues of S̃_i (and of their values as computed)
    if singular:
        rho = [sp_.margin + sp_.null_defect for sp_ in spectra]
        if any(sp_.second is None for sp_ in spectra):
            return None
        lo = [sp_.computed[1] - r for sp_, r in zip(spectra, rho, strict=True)]
        # the gap that makes the exact zero of S̃_i its lowest eigenvalue
        if not all(
            lo_i > 0.0 and lo_i > sp_.computed[0] + r
            for lo_i, sp_, r in zip(lo, spectra, rho, strict=True)
        ):
            return None
        lo_c = [sp_.computed[1] for sp_ in spectra]
    else:
        rho = [sp_.margin for sp_ in spectra]
        lo = [sp_.lowest for sp_ in spectra]
        lo_c = [sp_.computed[0] for sp_ in spectra]
    hi = [sp_.highest + sp_.null_defect for sp_ in spectra]
    hi_c = [sp_.highest - sp_.margin for sp_ in spectra]
    lo = [float(np.nextafter(v, down)) for v in lo]

    def corners(lows: list[float], highs: list[float]) -> float:
        # μ is affine in each λ_i: its minimum over a box of intervals is at a corner
        best = math.inf
        subsets = range(1, 2**d) if singular else (2**d - 1,)
        for nonzero in subsets:  # singular: the axes off their zero mode (not all at zero)
            axes = [i for i in range(d) if nonzero >> i & 1]
            for corner in itertools.product((0, 1), repeat=len(axes)):
                lam = [np.float64(0.0)] * d
                for i, side in zip(axes, corner, strict=True):
                    lam[i] = np.float64(highs[i] if side else lows[i])
                best = min(best, float(scheme.combine(lam)))
        return best

    lower = corners(lo, hi)
    computed = corners(lo_c, hi_c)
    # Â_i = S̃_i + F_i, ||F_i|| <= φ_i (the null defect and the antisymmetric part):
    # ||P(Â) - P(S̃)|| <= Σ |1 - c a_i| φ_i + Σ_{i<j} (a_i + a_j)(φ_i (N_j + φ_j) + (N_i + φ_i) φ_j)
    phi = [sp_.null_defect + sp_.skew for sp_ in spectra]
    norm = [sp_.norm * (1.0 + 8.0 * eps) for sp_ in spectra]
    perturbation = sum(abs(1.0 - c * a[i]) * phi[i] for i in range(d))
    size = abs(c) + sum(abs(1.0 - c * a[i]) * max(abs(lo[i]), abs(hi[i])) for i in range(d))
    for i, j in itertools.combinations(range(d), 2):
        perturbation += (a[i] + a[j]) * (phi[i] * (norm[j] + phi[j]) + (norm[i] + phi[i]) * phi[j])
        size += (a[i] + a[j]) * max(abs(lo[i]), abs(hi[i])) * max(abs(lo[j]), abs(hi[j]))
    # the Robin terms γ E ⊗ (c + Σ_t S_t) are >= γ (c + Σ_t lowest_t) (γ >= 0)
    robin = 0.0
    for r in scheme.robin:
        if r.gamma < 0.0:
            return None
        floor = c + sum(spectra[t].lowest for t in range(d) if t not in r.axes)
        robin += max(0.0, -r.gamma * floor)
        size += r.gamma * (abs(c) + sum(norm[t] for t in range(d) if t not in r.axes))
    rounding = gamma(2 * (d + 1) ** 2) * size  # the corner values and the sums above
    lower -= perturbation + robin + rounding
    kinds = "/".join(sp_.how for sp_ in spectra)
    what = "smallest non-zero " if singular else "smallest "
    how = (
        f"{what}value of the fourth-order combination μ(λ_1, …) over the 1-D spectra' "
        f"extremes ({kinds})"
    ) + (", lowered for the Robin faces' terms" if scheme.robin else "")
    return lower, computed, how


def smallest_eigenvalue(problem: Any) -> EigenvalueBound | None:
    """Return a certified lower bound on ``λ_min(A)`` of a problem (``λ_2`` if singular).

    The module docstring derives it: the 1-D smallest eigenvalues summed for
    a Kronecker sum, ``k_min λ_min(A_1) + c`` for a variable ``k``, the
    smallest corner of the combination ``μ`` for the fourth-order scheme.

    Parameters
    ----------
    problem : Problem
        The problem (second- or fourth-order scheme).

    Returns
    -------
    EigenvalueBound or None
        None where no positive bound is established: an unknown scheme order, a
        nearly singular operator (the margins reach the eigenvalue), or a
        stretched periodic axis too long for a dense eigenvalue solve.

    Examples
    --------
    >>> from kronpde import Grid, Problem
    >>> lam = smallest_eigenvalue(Problem(Grid.box([64, 64]), source=1.0))
    >>> exact = 2 * 4 * 64**2 * np.sin(np.pi / 128) ** 2     # 2 (4/h²) sin²(πh/2)
    >>> bool(exact * (1 - 1e-9) < lam.value <= exact)
    True
    """
    order = getattr(problem, "order", 2)
    if order not in (2, 4):
        return None
    singular = bool(problem.singular)
    if order == 4:
        found = _compact_bound(problem)
        if found is None:
            return None
        lower, computed, how = found
    elif not problem.variable_coefficient:
        found = _kronecker_bound(problem.axis_operators, problem.shift, singular)
        if found is None:
            return None
        lower, computed, how = found
    else:
        unit = [second_difference(a) for a in problem.grid.axes]
        found = _kronecker_bound(unit, 0.0, singular)
        if found is None:
            return None
        base, base_computed, base_how = found
        # every k the operator uses: the points' and, on a cell-centred axis, the boundary
        # faces' own (their fluxes take k at the face, which may be below every cell's)
        k_min = min(
            [
                float(np.min(problem.coefficient_values())),
                *(float(np.min(f)) for f in problem.face_coefficient_values().values()),
            ]
        )
        a_hat = problem.linear_operator(symmetric=True)
        diag = problem.diagonal()
        ones = np.ones(problem.size)
        rowsum = 2.0 * diag - a_hat.matvec(ones)  # |Â| 1 (non-positive couplings)
        norm = float(np.max(rowsum)) * (1.0 + gamma(residual_terms(problem.grid.dimension)))
        margin = VARIABLE_MARGIN * UNIT_ROUNDOFF * norm
        lower = (1.0 - 16.0 * UNIT_ROUNDOFF) * k_min * base + problem.shift - margin
        if singular:
            v = problem.symmetric_scale / np.linalg.norm(problem.symmetric_scale)
            av = float(np.linalg.norm(a_hat.matvec(v)))
            lower -= 3.0 * (av + gamma(residual_terms(problem.grid.dimension)) * norm)
        computed = k_min * base_computed + problem.shift
        how = f"k_min = {k_min:.6g} times the k = 1, c = 0 operator's {base_how}" + (
            " plus c" if problem.shift else ""
        )
    if not (lower > 0.0 and math.isfinite(lower)):
        return None
    return EigenvalueBound(float(lower), float(computed), how)


# --------------------------------------------------------------------------- the bound


@dataclass(frozen=True)
class Certificate:
    """The residual of a computed ``u`` and the certified bound on its algebraic error.

    Attributes
    ----------
    residual_norm : float
        ``||r̂||_2`` of the computed residual ``r̂ = fl(b - A u)`` (the
        relative residual is this over ``||b||_2``).
    weighted_residual : float
        ``||D r̂||_2 = ||r̂||_W`` (projected for a singular problem).
    rounding : float
        The bound on ``||D (r - r̂)||_2`` and the rounding of the norms and the
        projection (module docstring).
    mean_term : float
        ``|mean_w(u)| ||1||_W`` for a singular problem, else 0.
    eigenvalue : float or None
        The ``λ`` divided by (None: no bound).
    bound : float or None
        ``(weighted_residual (1 + γ) + rounding) / λ + mean_term``: at least
        ``||u - u_h||_W``.  None without an eigenvalue bound.
    """

    residual_norm: float
    weighted_residual: float
    rounding: float
    mean_term: float
    eigenvalue: float | None
    bound: float | None


class _AbsoluteCompact:
    """``|P|(|T|) x``: the compact polynomial with every coefficient and 1-D entry made absolute.

    The computed ``fl(A x)`` of :class:`kronpde.operators.compact.CompactOperator`
    (``c x + Σ_i T_i [(1 - c a_i) x - Σ_{j>i} (a_i + a_j) T_j x]`` plus the
    Robin planes) differs from ``A x`` by at most ``γ_K`` times this (every
    intermediate's error is bounded by the same expression in absolute values).
    """

    def __init__(self, scheme: Any):
        self.scheme = scheme
        self.ops = [
            replace(op, diag=np.abs(op.diag), lower=np.abs(op.lower), upper=np.abs(op.upper))
            for op in scheme.ops
        ]
        self._work: tuple[np.ndarray, ...] | None = None

    def apply(self, x: np.ndarray, out: np.ndarray) -> np.ndarray:
        s = self.scheme
        d, a, c, shape = len(self.ops), s.a, s.shift, s.shape
        if self._work is None:
            self._work = tuple(np.empty(shape) for _ in range(4))
        z, tmp, work, tj = self._work
        X = x.reshape(shape)
        Y = out.reshape(shape)
        np.multiply(X, abs(c), out=Y)
        for i in range(d):
            np.multiply(X, abs(1.0 - c * a[i]), out=z)
            for j in range(i + 1, d):
                apply_axis(self.ops[j], X, j, tj, work)
                tj *= a[i] + a[j]
                z += tj
            apply_axis(self.ops[i], z, i, tmp, work)
            Y += tmp
        for r in s.robin:
            index: list[Any] = [slice(None)] * d
            for ax, row in r.rows:
                index[ax] = slice(row, row + 1)
            plane = np.ascontiguousarray(X[tuple(index)])
            acc = abs(c) * plane
            ptmp, pwork = np.empty_like(plane), np.empty_like(plane)
            for k in range(d):
                if k not in r.axes:
                    acc += apply_axis(self.ops[k], plane, k, ptmp, pwork)
            Y[tuple(index)] += abs(r.gamma) * acc
        return out


class Certifier:
    """Everything the bound of one problem needs, computed once: ``λ``, ``diag(A)``, ``W``.

    Made by :meth:`kronpde.Problem.certifier`; :meth:`certify` then costs two
    products with ``A`` and a few vector operations, in two work arrays kept
    here (so it is not thread-safe, like the prepared solvers).

    Parameters
    ----------
    problem : Problem
        The problem.
    apply : object
        Its matrix-free ``A`` (with ``matvec_into``).
    eigenvalue : EigenvalueBound or None
        :meth:`kronpde.Problem.smallest_eigenvalue`.
    """

    def __init__(self, problem: Any, apply: Any, eigenvalue: EigenvalueBound | None):
        self.problem = problem
        self.apply = apply
        self.eigenvalue = eigenvalue
        self.weights = problem.unknown_weights
        self.singular = bool(problem.singular)
        self.diagonal = problem.diagonal()
        order = getattr(problem, "order", 2)
        self.terms = residual_terms(problem.grid.dimension, order)
        self._compact = _AbsoluteCompact(problem.scheme) if order == 4 else None
        self._z_matrix = self._compact is None and self._is_z_matrix()
        self._abs_matrix: Any = None
        self._work: tuple[np.ndarray, np.ndarray] | None = None

    def _is_z_matrix(self) -> bool:
        """Return True if ``A`` has a non-negative diagonal and non-positive couplings."""
        p = self.problem
        if np.any(self.diagonal < 0.0):
            return False
        if p.variable_coefficient:
            data = p._variable
            parts = [*data.edges, *(w for w in data.wraps if w is not None)]
            return all(bool(np.all(e <= 0.0)) for e in parts)
        return all(
            bool(np.all(op.lower <= 0.0) and np.all(op.upper <= 0.0)) for op in p.axis_operators
        )

    def _abs_apply(self, absu: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Write ``|A| |u|`` (as computed; :meth:`certify` covers its rounding) into ``out``.

        ``absu`` (``|u|``) is overwritten.
        """
        if self._compact is not None:  # the polynomial in |T_i| (the apply's own form)
            return self._compact.apply(absu, out)
        if self._z_matrix:
            self.apply.matvec_into(absu, out)  # A |u|
            np.multiply(self.diagonal, absu, out=absu)
            absu *= 2.0  # exact: 2 (d |u|) is (2 d) |u| to the bit, without a third array
            np.subtract(absu, out, out=out)  # 2 diag |u| - A |u|
            np.maximum(out, 0.0, out=out)
            return out
        if self._abs_matrix is None:  # any other operator: the assembled |A|, once
            a = self.problem.operator().copy()
            a.data = np.abs(a.data)
            self._abs_matrix = a
        np.copyto(out, self._abs_matrix @ absu)
        return out

    def certify(self, u: np.ndarray, b: np.ndarray) -> Certificate:
        """Return the :class:`Certificate` of ``u`` for ``A u = b`` (``b`` projected if singular).

        Parameters
        ----------
        u : ndarray, shape (n,)
            The computed unknowns.
        b : ndarray, shape (n,)
            The right-hand side (for a singular problem the projected one).

        Returns
        -------
        Certificate
        """
        u = np.ascontiguousarray(u, dtype=float).reshape(-1)
        b = np.asarray(b, dtype=float).reshape(-1)
        n = u.size
        if self._work is None or self._work[0].size != n:
            self._work = (np.empty(n), np.empty(n))
        r, t = self._work
        w = self.weights
        self.apply.matvec_into(u, r)
        np.subtract(b, r, out=r)
        residual_norm = math.sqrt(float(np.einsum("i,i->", r, r)))
        g_norm = gamma(n + 4)  # a computed sum of n squares, its square root, the weights
        extra = 0.0
        mean_term = 0.0
        if self.singular:
            scale = self.problem.symmetric_scale  # D, only a singular problem's projection
            np.multiply(r, scale, out=t)  # D r
            v = scale / np.linalg.norm(scale)
            extra = 2.0 * g_norm * float(np.linalg.norm(t))  # the projection's rounding
            t -= float(v @ t) * v
            weighted = float(np.linalg.norm(t))
            total = float(w.sum())
            mean = abs(float(w @ u)) / total + g_norm * float(w @ np.abs(u)) / total
            mean_term = mean * math.sqrt(total) * (1.0 + g_norm)
        else:
            weighted = math.sqrt(float(np.einsum("i,i,i->", w, r, r)))
        np.abs(u, out=t)
        au = self._abs_apply(t, r)  # |A| |u| (r is free now)
        # ||D γ_K (|b| + (1 + 3 γ_K) |A||u|)|| <= γ_K (||D b|| + (1 + 3 γ_K) ||D |A||u| ||)
        g = gamma(self.terms)
        size = (1.0 + 3.0 * g) * math.sqrt(float(np.einsum("i,i,i->", w, au, au)))
        size += math.sqrt(float(np.einsum("i,i,i->", w, b, b)))
        rounding = g * size * (1.0 + g_norm) + extra
        lam = None if self.eigenvalue is None else self.eigenvalue.value
        bound = None
        if lam is not None:
            bound = ((1.0 + g_norm) * weighted + rounding) / lam + mean_term
            bound *= 1.0 + 4.0 * UNIT_ROUNDOFF  # the rounding of this expression
        return Certificate(residual_norm, weighted, rounding, mean_term, lam, bound)
