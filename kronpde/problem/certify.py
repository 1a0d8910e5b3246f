"""The certified algebraic error: a rigorous bound on ``||u - u_h||_W`` from the residual.

:class:`Certifier` bounds the error of a computed ``u`` against the exact
solution ``u_h`` of ``A u_h = b`` by ``||r||_W / λ_min`` plus the rounding of
the computed residual; the eigenvalue bound comes from the problem's
discretisation (:mod:`kronpde.problem.spectrum`).  ``docs/certificate.md``
derives both.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from kronpde.problem.spectrum import (
    BISECTION_MARGIN,
    DENSE_LIMIT,
    UNIT_ROUNDOFF,
    VARIABLE_MARGIN,
    AxisSpectrum,
    Bound,
    EigenvalueBound,
    LocalSums,
    Sums,
    axis_spectrum,
    gamma,
    polynomial_terms,
    stencil_terms,
)

if TYPE_CHECKING:
    from kronpde.problem.protocol import SolvableProblem

__all__ = [
    "BISECTION_MARGIN",
    "DENSE_LIMIT",
    "UNIT_ROUNDOFF",
    "VARIABLE_MARGIN",
    "AxisSpectrum",
    "Certificate",
    "Certifier",
    "EigenvalueBound",
    "LocalSums",
    "Measure",
    "Sums",
    "axis_spectrum",
    "certificate",
    "certified_eigenvalue",
    "gamma",
    "residual_terms",
    "smallest_eigenvalue",
]

#: ``K`` of :func:`residual_terms` by the order of the scheme applied.
_TERMS_BY_ORDER = {2: stencil_terms, 4: polynomial_terms}


def residual_terms(dimension: int, order: int = 2) -> int:
    """Return ``K``, the rounded operations per entry of ``fl(b - A u)`` allowed for.

    Second order ``4 d + 8`` (:func:`~kronpde.problem.spectrum.stencil_terms`),
    fourth order ``8 d + 16`` (:func:`~kronpde.problem.spectrum.polynomial_terms`).
    A problem's own count is ``problem.discretisation.residual_terms()``.
    """
    return _TERMS_BY_ORDER.get(order, stencil_terms)(dimension)


def smallest_eigenvalue(problem: SolvableProblem) -> EigenvalueBound | None:
    """Return a certified lower bound on ``λ_min(A)`` of a problem (``λ_2`` if singular).

    The problem's discretisation gives it (``docs/certificate.md`` derives
    each): the 1-D smallest eigenvalues summed for a Kronecker sum,
    ``k_min λ_min(A_1) + c`` for a variable ``k``, the smallest corner of the
    combination ``μ`` for the fourth-order scheme.

    Returns
    -------
    EigenvalueBound or None
        None where no positive bound is established: a nearly singular
        operator (the margins reach the eigenvalue), a stretched periodic axis
        too long for a dense eigenvalue solve, or a scheme without a bound.

    Examples
    --------
    >>> from kronpde import Grid, Problem
    >>> lam = smallest_eigenvalue(Problem(Grid.box([64, 64]), source=1.0))
    >>> exact = 2 * 4 * 64**2 * np.sin(np.pi / 128) ** 2     # 2 (4/h²) sin²(πh/2)
    >>> bool(exact * (1 - 1e-9) < lam.value <= exact)
    True
    """
    return certified_eigenvalue(problem.discretisation.smallest_eigenvalue(bool(problem.singular)))


def certified_eigenvalue(found: Bound | None) -> EigenvalueBound | None:
    """Return a scheme's ``(lower, computed, how)`` as a bound; None unless ``lower > 0``."""
    if found is None:
        return None
    lower, computed, how = found
    if not (lower > 0.0 and math.isfinite(lower)):
        return None
    return EigenvalueBound(float(lower), float(computed), how)


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
        projection (``docs/certificate.md``).
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


@dataclass(frozen=True)
class Measure:
    """What :func:`certificate` measures with: this process's ``W`` and the sums over all.

    Attributes
    ----------
    weights : ndarray
        ``W`` of this process's unknowns, flat.
    scale : ndarray or None
        ``D = W^{1/2}`` of them (a singular problem's projection only; else None).
    null : ndarray or None
        This process's part of ``v = D 1 / ||D 1||`` for a singular problem, else None.
    total : float
        ``Σ W`` over every unknown.
    size : int
        The number of unknowns (of every process).
    terms : int
        ``K``, the rounded operations per entry of a computed ``b - A u``.
    sums : Sums
        The sums over the unknowns (:class:`LocalSums` in one process).
    """

    weights: np.ndarray
    scale: np.ndarray | None
    null: np.ndarray | None
    total: float
    size: int
    terms: int
    sums: Sums


def certificate(
    r: np.ndarray,
    u: np.ndarray,
    b: np.ndarray,
    absolute: Callable[[np.ndarray], np.ndarray],
    measure: Measure,
    eigenvalue: EigenvalueBound | None,
    work: np.ndarray | None = None,
) -> Certificate:
    """Return the :class:`Certificate` of ``u`` from its computed residual ``r = fl(b - A u)``.

    The one formula of the bound (``docs/certificate.md``), serial or
    distributed: every array is this process's part, ``measure.sums`` adds
    the parts up.

    Parameters
    ----------
    r : ndarray
        The computed residual (free once ``absolute`` is called: it may write there).
    u, b : ndarray
        The unknowns and the right-hand side (projected for a singular problem).
    absolute : callable
        ``|u| -> |A| |u|`` as computed (it may overwrite its argument).
    measure : Measure
        The weights, the null vector, the counts and the sums.
    eigenvalue : EigenvalueBound or None
        The ``λ`` the bound divides by (None: residuals only).
    work : ndarray, optional
        Scratch of ``u``'s size.
    """
    sums = measure.sums
    w = measure.weights
    t = np.empty_like(r) if work is None else work
    residual_norm = math.sqrt(sums.squares(r))
    g_norm = gamma(measure.size + 4)  # a computed sum of n squares, its square root, the weights
    extra = 0.0
    mean_term = 0.0
    if measure.null is not None:
        v = measure.null
        np.multiply(r, measure.scale, out=t)  # D r
        extra = 2.0 * g_norm * sums.norm(t)  # the projection's rounding
        t -= sums.dot(v, t) * v
        weighted = sums.norm(t)
        total = measure.total
        mean = abs(sums.dot(w, u)) / total + g_norm * sums.dot(w, np.abs(u)) / total
        mean_term = mean * math.sqrt(total) * (1.0 + g_norm)
    else:
        weighted = math.sqrt(sums.squares(r, w))
    np.abs(u, out=t)
    au = absolute(t)  # |A| |u|
    # ||D γ_K (|b| + (1 + 3 γ_K) |A||u|)|| <= γ_K (||D b|| + (1 + 3 γ_K) ||D |A||u| ||)
    g = gamma(measure.terms)
    size = (1.0 + 3.0 * g) * math.sqrt(sums.squares(au, w))
    size += math.sqrt(sums.squares(b, w))
    rounding = g * size * (1.0 + g_norm) + extra
    lam = None if eigenvalue is None else eigenvalue.value
    bound = None
    if lam is not None:
        bound = ((1.0 + g_norm) * weighted + rounding) / lam + mean_term
        bound *= 1.0 + 4.0 * UNIT_ROUNDOFF  # the rounding of this expression
    return Certificate(residual_norm, weighted, rounding, mean_term, lam, bound)


def certificate_from_sums(
    sums: np.ndarray, measure: Measure, eigenvalue: EigenvalueBound | None
) -> Certificate:
    """Return the :class:`Certificate` of a nonsingular problem from one pass's four sums.

    :func:`certificate`'s formula without a null space, from ``Σ r²``,
    ``Σ w r²``, ``Σ w (|A||u|)²`` and ``Σ w b²`` (the sums of a fused
    residual kernel, whose ``|A||u|`` is the absolute row sums as computed).
    """
    rr, wrr, waa, wbb = (max(float(v), 0.0) for v in sums)
    g_norm = gamma(measure.size + 4)
    g = gamma(measure.terms)
    size = (1.0 + 3.0 * g) * math.sqrt(waa) + math.sqrt(wbb)
    rounding = g * size * (1.0 + g_norm)
    weighted = math.sqrt(wrr)
    lam = None if eigenvalue is None else eigenvalue.value
    bound = None
    if lam is not None:
        bound = ((1.0 + g_norm) * weighted + rounding) / lam
        bound *= 1.0 + 4.0 * UNIT_ROUNDOFF
    return Certificate(math.sqrt(rr), weighted, rounding, 0.0, lam, bound)


class Certifier:
    """Everything the bound of one problem needs, computed once: ``λ``, ``diag(A)``, ``W``.

    Made by :meth:`kronpde.Problem.certifier`; :meth:`certify` then costs one
    pass for a banded Kronecker sum (the residual and its sums together,
    :meth:`kronpde.operators.kronsum.KronSum.residual_sums`), else two
    products with ``A`` and a few vector operations in two work arrays kept
    here (so it is not thread-safe, like the prepared solvers).  ``W``,
    ``diag(A)`` and the :class:`Measure` are made on first use.

    Parameters
    ----------
    problem : Problem
        The problem.
    apply : object
        Its matrix-free ``A`` (with ``matvec_into``).
    eigenvalue : EigenvalueBound or None
        :meth:`kronpde.Problem.smallest_eigenvalue`.
    """

    def __init__(self, problem: SolvableProblem, apply: Any, eigenvalue: EigenvalueBound | None):
        self.problem = problem
        self.apply = apply
        self.eigenvalue = eigenvalue
        self.singular = bool(problem.singular)
        scheme = problem.discretisation
        self.terms = scheme.residual_terms()
        # |A| |u| in the apply's own form where the scheme has one (the compact polynomial)
        self._absolute = scheme.absolute_operator()
        self._abs_matrix: Any = None
        self._work: tuple[np.ndarray, np.ndarray] | None = None

    # W, diag(A) and the measure are made on first use: the one-pass residual of a
    # banded Kronecker sum (an exact solve's certificate) needs none of them
    @cached_property
    def weights(self) -> np.ndarray:
        """``W`` of the unknowns, flat (the problem's ``unknown_weights``)."""
        return self.problem.unknown_weights

    @cached_property
    def diagonal(self) -> np.ndarray:
        """``diag(A)``, flat (the problem's ``diagonal()``)."""
        return self.problem.diagonal()

    @cached_property
    def _z_matrix(self) -> bool:
        """Whether ``|A| |u|`` is ``2 diag(A) |u| - A |u|`` (see :meth:`_is_z_matrix`)."""
        return self._absolute is None and self._is_z_matrix()

    @cached_property
    def measure(self) -> Measure:
        """The :class:`Measure` of :func:`certificate` for this problem."""
        scale = self.problem.symmetric_scale if self.singular else None  # D: the projection only
        null = None
        if scale is not None:  # D 1, or D 1_domain for a floating domain inside the box
            floating = self.problem.discretisation.null_vector()
            null = scale if floating is None else scale * floating
            null = null / np.linalg.norm(null)
        return Measure(
            weights=self.weights,
            scale=scale,
            null=null,
            total=float(self.weights.sum()),
            size=int(self.problem.size),
            terms=self.terms,
            sums=LocalSums(),
        )

    def _is_z_matrix(self) -> bool:
        """Return True if ``A`` has a non-negative diagonal and non-positive couplings."""
        if np.any(self.diagonal < 0.0):
            return False
        return self.problem.discretisation.couplings_nonpositive()

    def _abs_apply(self, absu: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Write ``|A| |u|`` (as computed; :meth:`certify` covers its rounding) into ``out``.

        ``absu`` (``|u|``) is overwritten.
        """
        if self._absolute is not None:  # the apply's own |A| (the polynomial in |T_i|)
            return self._absolute.apply(absu, out)
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
        fused = getattr(self.apply, "residual_sums", None)
        if self._absolute is not None:  # the compact scheme's |P|(|T|): its own pass, if any
            fused = getattr(self._absolute, "residual_sums", None)
        if fused is not None and not self.singular:
            weights = [a.weights for a in self.problem.grid.axes]
            sums = fused(u, b, None, weights)  # one pass: the residual and the sums
            if sums is not None:
                return certificate_from_sums(sums, self._sums_measure(), self.eigenvalue)
        n = u.size
        if self._work is None or self._work[0].size != n:
            self._work = (np.empty(n), np.empty(n))
        r, t = self._work
        self.apply.matvec_into(u, r)
        np.subtract(b, r, out=r)
        return certificate(
            r, u, b, lambda absu: self._abs_apply(absu, r), self.measure, self.eigenvalue, t
        )

    def _sums_measure(self) -> Measure:
        """Return what :func:`certificate_from_sums` reads of the measure: its size and ``K``."""
        if "measure" in self.__dict__:
            return self.measure
        empty = np.empty(0)
        size = int(self.problem.size)
        return Measure(empty, None, None, math.nan, size, self.terms, LocalSums())
