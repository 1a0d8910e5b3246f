"""Certified eigenvalue bounds: of one 1-D operator, and of the operators built from them.

The rounding counts of a computed residual (:func:`gamma`, :func:`stencil_terms`,
:func:`polynomial_terms`), the spectrum of one symmetrised 1-D operator
(:func:`axis_spectrum`) and the lower bounds on ``λ_min`` of a Kronecker sum, of
the compact fourth-order polynomial and of the flux form that the
discretisations give (``docs/certificate.md`` derives them).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np
import scipy.linalg

if TYPE_CHECKING:
    from kronpde.operators.compact import CompactScheme
    from kronpde.operators.stencils import AxisOperator

__all__ = [
    "BISECTION_MARGIN",
    "DENSE_LIMIT",
    "UNIT_ROUNDOFF",
    "VARIABLE_MARGIN",
    "AxisSpectrum",
    "EigenvalueBound",
    "LocalSums",
    "Sums",
    "axis_spectrum",
    "compact_bound",
    "gamma",
    "kronecker_bound",
    "polynomial_terms",
    "stencil_terms",
    "variable_bound",
]

#: A bound as computed: ``(lower, computed, how)`` (the certified value, the value before the
#: margins, one sentence on where it comes from).
Bound = tuple[float, float, str]

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


def stencil_terms(dimension: int) -> int:
    """Return ``K = 4 d + 8``, the rounded operations per entry of ``fl(b - A u)`` of a stencil.

    A row of the second-order stencil has ``2 d + 1`` entries (summed in any
    order, the diagonal itself a rounded sum of ``d + 1`` numbers, and on the
    variable operator two scalings by ``W^{±1/2}``); twice that covers any kernel.
    """
    return 4 * dimension + 8


def polynomial_terms(dimension: int) -> int:
    """Return ``K = 8 d + 16`` for the compact scheme applied as its polynomial.

    A term ``T_i T_j x`` is two nested 3-point applies (6 rounded operations)
    and a scaling, the ``(d + 1)(d + 2)/2`` terms, the Robin planes and ``b``
    are summed (at most 12 additions in 3-D), twice that
    (:class:`kronpde.operators.compact.CompactOperator`).
    """
    return 8 * dimension + 16


class Sums(Protocol):
    """Sums over all the unknowns of vectors that each process holds a part of.

    The certified bounds are computed from them, so that one formula serves a
    serial solve (:class:`LocalSums`) and a distributed one (the PETSc
    backend's sums over the ranks).
    """

    def dot(self, a: np.ndarray, b: np.ndarray) -> float:
        """Return ``a · b``."""
        ...

    def norm(self, values: np.ndarray) -> float:
        """Return ``||values||_2``."""
        ...

    def squares(self, values: np.ndarray, weights: np.ndarray | None = None) -> float:
        """Return ``Σ values²`` (``Σ weights values²`` with ``weights``)."""
        ...

    def largest(self, values: np.ndarray) -> float:
        """Return ``max(values)`` (``-inf`` for no values at all)."""
        ...


class LocalSums:
    """:class:`Sums` of vectors held whole by this process (plain NumPy)."""

    def dot(self, a: np.ndarray, b: np.ndarray) -> float:
        """Return ``a · b``."""
        return float(a @ b)

    def norm(self, values: np.ndarray) -> float:
        """Return ``||values||_2``."""
        return float(np.linalg.norm(values))

    def squares(self, values: np.ndarray, weights: np.ndarray | None = None) -> float:
        """Return ``Σ values²`` (``Σ weights values²`` with ``weights``)."""
        if weights is None:
            return float(np.einsum("i,i->", values, values))
        return float(np.einsum("i,i,i->", weights, values, values))

    def largest(self, values: np.ndarray) -> float:
        """Return ``max(values)`` (``-inf`` for no values at all)."""
        return float(np.max(values, initial=-np.inf))


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


def _symmetric_bands(op: AxisOperator) -> tuple[np.ndarray, np.ndarray, float | None]:
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


def _skew_norm(op: AxisOperator) -> float:
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


def axis_spectrum(op: AxisOperator, *, singular: bool = False) -> AxisSpectrum | None:
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


def kronecker_bound(ops: Sequence[AxisOperator], shift: float, singular: bool) -> Bound | None:
    """Return the bound of ``Σ_i T_i + c`` from its 1-D operators' spectra (None: none found).

    ``Σ_i λ_min(S_i) + c``; for a singular operator ``min_i (λ_2(S_i) - ||E_i||) -
    Σ_i ||E_i||``, lowered for the rounding of the sums.
    """
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


def compact_bound(scheme: CompactScheme, singular: bool) -> Bound | None:
    """Return the fourth-order scheme's bound, its value as computed and a sentence.

    The least corner of the combination ``μ`` over the boxes of the 1-D
    spectra, lowered for the perturbations, the rounding and the Robin terms.
    """
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


def variable_bound(
    unit: Bound,
    k_min: float,
    shift: float,
    apply: Callable[[np.ndarray], np.ndarray],
    diagonal: np.ndarray | None,
    null: np.ndarray | None,
    dimension: int,
    sums: Sums | None = None,
    *,
    row_norm: float | None = None,
) -> Bound:
    """Return the flux form's bound ``k_min λ_min(A_1) + c`` lowered for rounding.

    Serial and distributed alike: ``apply``, ``diagonal`` and ``null`` are this
    process's part, ``sums`` reduces over all of them.

    Parameters
    ----------
    unit : (lower, computed, how)
        The bound of the same grid's operator with ``k = 1``, ``c = 0``
        (:func:`kronecker_bound` of its 1-D operators).
    k_min : float
        The smallest ``k`` the fluxes use (over every process).
    shift : float
        ``c``.
    apply : callable
        ``x -> Â x`` (non-positive couplings: ``|Â| 1 = 2 diag - Â 1``).
    diagonal : ndarray or None
        Its diagonal (unused, and may be None, with ``row_norm``).
    null : ndarray or None
        ``v = D 1 / ||D 1||`` of a singular operator (its null vector), else None.
    dimension : int
        The grid's dimension (the rounding count of a row, :func:`stencil_terms`).
    sums : Sums, optional
        The sums over the unknowns (default :class:`LocalSums`).
    row_norm : float, optional
        ``max_i Σ_j |Â_ij|`` as computed (over every process), where the
        caller has it from the coefficients; else ``2 diag - Â 1`` is applied.
    """
    sums = LocalSums() if sums is None else sums
    base, base_computed, base_how = unit
    terms = gamma(stencil_terms(dimension))
    if row_norm is None:
        ones = np.ones(diagonal.size)
        rowsum = 2.0 * diagonal - apply(ones)  # |Â| 1 (non-positive couplings)
        row_norm = sums.largest(rowsum)
    norm = row_norm * (1.0 + terms)
    margin = VARIABLE_MARGIN * UNIT_ROUNDOFF * norm
    lower = (1.0 - 16.0 * UNIT_ROUNDOFF) * k_min * base + shift - margin
    if null is not None:
        av = sums.norm(apply(null))
        lower -= 3.0 * (av + terms * norm)
    computed = k_min * base_computed + shift
    how = f"k_min = {k_min:.6g} times the k = 1, c = 0 operator's {base_how}" + (
        " plus c" if shift else ""
    )
    return lower, computed, how
