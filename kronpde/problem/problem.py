"""Problem: a grid with its equation data, ``-div(k grad u) + c u = f``, as ``A u = b``.

:class:`Problem` is a facade over two objects: its checked and evaluated data
(:class:`~kronpde.problem.data.ProblemData`, shared by :meth:`Problem.with_shift`)
and its discretisation (:class:`~kronpde.problem.discretisation.Discretisation`,
chosen once by :func:`~kronpde.problem.schemes.discretise`: the Kronecker sum,
the flux form of a variable ``k`` or the compact fourth-order scheme), which
gives the operator, the right-hand side and the eigenvalue bound.  Solvers work
on ``Â y = D b`` with ``Â = D A D^{-1}``, ``D = W^{1/2}`` (``docs/discretisations.md``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cached_property
from typing import Any

import numpy as np
import scipy.sparse as sp

from kronpde.expr.expression import Expression
from kronpde.geometry.boundary import BoundaryData, data_error
from kronpde.geometry.grid import Grid
from kronpde.operators.flux import VariableBox
from kronpde.operators.stencils import AxisOperator
from kronpde.problem.anisotropy import equation_data
from kronpde.problem.certify import Certificate, Certifier, EigenvalueBound, smallest_eigenvalue
from kronpde.problem.complex_data import reject_complex
from kronpde.problem.data import Box, Merge, Nodes, ProblemData, check_grid, check_shift
from kronpde.problem.discretisation import Discretisation
from kronpde.problem.schemes import ORDERS, discretise
from kronpde.problem.shift_parts import shift_argument

__all__ = ["ORDERS", "Box", "Merge", "Nodes", "Problem"]

#: The order a problem has unless told (not repeated by ``repr``).
DEFAULT_ORDER = ORDERS[0]


class Problem:
    """The boundary-value problem ``-div(k grad u) + c u = f`` on a grid.

    Parameters
    ----------
    grid : Grid
        Axes, bounds and boundary conditions.
    source : float, str, callable or ndarray
        ``f``: a number, an expression string in the coordinates (the grammar of
        :mod:`kronpde.expr.expression`, as in case files), a callable ``f(x, y, ...)`` of
        broadcastable coordinate arrays, or an array of the grid's
        :attr:`~Grid.point_shape` (its :attr:`~Grid.node_shape` on a
        node-centred grid; the cell centres along cell-centred axes).
    shift : float or str
        ``c``, any finite real (``c < 0``: the indefinite Helmholtz equation, which
        the exact methods solve; see :mod:`kronpde.solvers.indefinite`), or an
        expression ``c(x)`` (:mod:`kronpde.problem.shift_parts`): a sum of
        functions of one axis each (``"x + y**2"``) joins the 1-D operators
        (with separable coefficients, or the non-divergence form: the fast
        solve stays exact); any other joins the flux form's diagonal.
    coefficient : float, str, callable, ndarray, or one of them per axis
        ``k > 0`` of ``-div(k grad u)``.  A number (or a constant expression)
        multiplies every 1-D operator and its lifting factors (the boundary
        conditions keep their meaning: ``du/dn = g`` stays a condition on
        ``du/dn``); an expression, a callable or a nodal array is a variable
        ``k(x)``, evaluated at every point of the field (every node, Dirichlet
        nodes included; the cell centres along a cell-centred axis).  An
        expression or a callable is also evaluated at every face a flux
        crosses (interval mid-points, cell faces); an array's faces take the
        harmonic mean of their neighbours.  One entry per axis (a list, or a
        mapping ``{"x": ..., "y": ...}``): anisotropic diffusion
        ``-Σ_i ∂_i(k_i ∂_i u)`` (:mod:`kronpde.problem.anisotropy`; exact for
        ``fastdiag`` where each ``k_i`` is a number or an expression of its
        own axis).
    second, first : mapping of axis name to number or expression, optional
        The non-divergence separable form ``-Σ_i (a_i u_ii + b_i u_i) + c u = f``
        instead of ``k``: ``second`` the ``a_i > 0``, ``first`` the ``b_i``
        (default 0), each an expression of its own axis
        (:mod:`kronpde.problem.nondivergence`).
    order : {2, 4}, optional
        The order of the discretisation (``[scheme] order`` of a case file):
        2 (default), the second differences; 4, the compact fourth-order
        scheme (:mod:`kronpde.operators.compact`), for a constant coefficient on
        uniform node-centred axes with any faces.
    domain : str, callable or ndarray of bool, optional
        A domain inside the box (``docs/embedded-boundaries.md``): a level-set
        expression or callable (the domain is where it is negative) or a
        boolean array of :attr:`~Grid.point_shape`; the unknowns are then the
        box's unknowns in the domain.
    embedded : Dirichlet or Neumann, optional
        The condition on the embedded boundary (default ``Dirichlet(0)``;
        ``du/dn`` along the normal out of the domain).
    check : bool, optional
        Evaluate every expression and callable (source, faces, coefficient) now
        (default), so that bad data fail here; with False they are evaluated
        where first used (a distributed solve evaluates each rank's box only),
        and so are the values of an array coefficient (each rank reads its part).

    Attributes
    ----------
    data : ProblemData
        The checked data, evaluated where first read (shared by :meth:`with_shift`).
    discretisation : Discretisation
        The scheme chosen for the data and ``order``: operator, ``b``, structure, bounds.

    Raises
    ------
    DataError
        For unusable data: a source, shift or coefficient of the wrong type or
        shape, not finite, or a coefficient that is not ``> 0`` somewhere (with
        ``check=True`` also data that are not finite where they are evaluated).
        The error's ``subject`` names the argument (``"source"``, ``"shift"``,
        ``"coefficient"``, or the face); ``"order"`` for an order other than 2
        or 4, or order 4 where the fourth-order scheme does not apply (a
        variable coefficient, a stretched or cell-centred axis).

    Examples
    --------
    >>> from kronpde import Grid, Problem
    >>> p = Problem(Grid.box([8, 8]), source="2*pi**2*sin(pi*x)*sin(pi*y)")
    >>> p.operator().shape
    (49, 49)
    >>> Problem(Grid.box([8, 8]), source="sin(pi*z)")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    kronpde.errors.ExpressionError: source: name 'z' is not allowed in a 2-D case; ...
    """

    def __init__(
        self,
        grid: Grid,
        source: BoundaryData = 0.0,
        shift: float = 0.0,
        coefficient: float | str | object = 1.0,
        *,
        order: int = 2,
        check: bool = True,
        domain: object = None,
        embedded: object = None,
        second: object = None,
        first: object = None,
    ):
        check_grid(grid)
        reject_complex(grid, source, shift)  # complex data: a ComplexProblem takes them
        data, shift = equation_data(
            grid, source, shift, coefficient, check=check, second=second, first=first
        )
        self._set(data, discretise(data, shift, order, domain=domain, embedded=embedded))
        if check:
            self.check()

    def _set(self, data: ProblemData, discretisation: Discretisation) -> None:
        self.data = data
        self.discretisation = discretisation
        self.grid = data.grid
        self.source = data.source
        self.coefficient = data.coefficient
        self.shift = discretisation.shift

    # -- checking --------------------------------------------------------------------
    def check(self) -> Problem:
        """Evaluate every piece of data once (source, faces, coefficient); raise if one is bad.

        The values are kept for the solvers, so checking costs nothing extra.

        Returns
        -------
        Problem
            ``self``.

        Raises
        ------
        DataError
            The first piece of data that is not finite where it is used, does not
            fit, or (the coefficient) is not ``> 0``; its ``subject`` names it.
        """
        self.rhs_values  # noqa: B018 - evaluates the source and the faces used in b
        self.check_faces()  # the faces b does not use (Dirichlet values, too)
        self.discretisation.check()
        return self

    def check_faces(self) -> None:
        """Evaluate the data of every face (once; the grid keeps them); raise if one is bad.

        Raises
        ------
        DataError
            The first face whose data are not finite on its nodes or do not fit.
        """
        self.data.check_faces()

    # -- the coefficient ---------------------------------------------------------------
    @property
    def variable_coefficient(self) -> bool:
        """True when ``k`` varies in space (an expression, a callable or an array)."""
        return self.data.variable_coefficient

    def coefficient_values(
        self,
        nodes: Nodes | None = None,
        *,
        owned: Sequence[slice] | None = None,
        merge: Merge | None = None,
    ) -> np.ndarray:
        """Return ``k`` at every point of the field, or at a box of nodes (a new array), checked.

        See :meth:`ProblemData.coefficient_values
        <kronpde.problem.data.ProblemData.coefficient_values>`.
        """
        return self.data.coefficient_values(nodes, owned=owned, merge=merge)

    def face_coefficient_values(self) -> dict[tuple[int, int], np.ndarray]:
        """Return ``k`` on the boundary faces of the cell-centred axes (new arrays), checked.

        See :meth:`ProblemData.face_coefficient_values
        <kronpde.problem.data.ProblemData.face_coefficient_values>`.
        """
        return self.data.face_coefficient_values()

    def coefficient_range(self) -> tuple[float, float]:
        """Return ``(k_min, k_max)`` over every ``k`` the fluxes use (points, every face)."""
        return self.data.coefficient_range()

    def variable_rows(
        self, box: Box, *, merge: Merge | None = None, keep: bool = True
    ) -> VariableBox:
        """Return the rows of ``Â`` of a box of unknowns, for a variable ``k``.

        See :meth:`FluxForm.variable_rows <kronpde.problem.flux_form.FluxForm.variable_rows>`.
        """
        return self.discretisation.variable_rows(box, merge=merge, keep=keep)

    # -- structure ---------------------------------------------------------------
    @property
    def order(self) -> int:
        """The order of the discretisation (2, or 4 for the compact scheme)."""
        return self.discretisation.order

    @property
    def axis_operators(self) -> tuple[AxisOperator, ...]:
        """The 1-D operators ``k T_i`` (physical spacing, not symmetrised).

        Raises
        ------
        SolverError
            Where ``A`` is not built of them (a variable coefficient).
        """
        return self.discretisation.axis_operators

    @property
    def scheme(self) -> Any:
        """The compact fourth-order scheme (:mod:`~kronpde.operators.compact`), None at order 2.

        Its factors are :attr:`axis_operators`; :meth:`CompactScheme.combine`
        is the eigenvalue combination the fast solve divides by.
        """
        return self.discretisation.scheme

    @property
    def symmetric_axis_operators(self) -> tuple[AxisOperator, ...]:
        """The symmetrised 1-D operators ``D_i T_i D_i^{-1}``."""
        return self.discretisation.symmetric_axis_operators

    @property
    def size(self) -> int:
        """Number of unknowns."""
        return self.grid.size

    @property
    def domain_size(self) -> int:
        """Number of unknowns in the domain (:attr:`size` without a domain inside the box)."""
        inside = self.discretisation.domain_unknowns()
        return self.size if inside is None else int(np.count_nonzero(inside))

    @property
    def singular(self) -> bool:
        """True for a pure Neumann/periodic problem with ``c = 0`` (constant null space)."""
        c_of_x = getattr(self.data, "shift_text", None) is not None  # a c(x), in A
        return self.discretisation.singular() and not c_of_x

    @property
    def is_kronecker_sum(self) -> bool:
        """True where the per-axis eigenvectors diagonalise ``A`` or its separable part.

        For callers outside the package; solvers ask ``discretisation.eigen_structure()``.
        """
        return self.discretisation.eigen_structure() is not None

    @property
    def fast_diagonalizable(self) -> bool:
        """True when the fast solve is exact (solvers ask ``fast_solve_obstacle()``)."""
        return self.discretisation.fast_solve_obstacle() is None

    def refined(self, factor: int) -> Problem:
        """Return the same problem on the grid with ``factor`` times the cells per axis.

        The grid is :meth:`Grid.refined`; source, shift and coefficient are kept.

        Raises
        ------
        DataError
            If the source or the coefficient is an array (known on these nodes only).
        """
        for name, value in (("source", self.source), ("coefficient", self.coefficient)):
            if isinstance(value, np.ndarray):
                raise data_error(name, "an array is known on its grid's nodes only; cannot refine")
        grid = self.grid.refined(factor)
        extra = self.discretisation.refined_arguments()  # a domain inside the box
        more = getattr(self.data, "arguments", dict)()  # second/first: the same form
        shift = shift_argument(self)  # a c(x): its expression
        return Problem(
            grid, self.source, shift, self.coefficient, order=self.order, **extra, **more
        )

    def with_shift(self, shift: float) -> Problem:
        """Return the same problem with the shift ``c = shift``, sharing what does not depend on it.

        For a time-stepping code whose step size changes (``c = 1/dt``):
        nothing is evaluated again.  The data (:class:`ProblemData`: source,
        ``k`` at the nodes and faces, weights, Dirichlet values) are the same
        object, and the discretisation shares what does not depend on ``c``
        (:class:`~kronpde.problem.discretisation.Shared`): the 1-D operators,
        the right-hand side where it does not contain ``c`` (at order 4 the
        faces' corrections do), a variable ``k``'s flux-form coefficients
        (with the diagonal shifted, a new array).  What depends on ``c`` is
        made anew where first used: the operators, the smallest eigenvalue and
        the certifier; whether the problem is singular follows ``c``.

        Returns a new problem (this one is unchanged); a ``shift`` that is not
        a finite number raises the :class:`DataError` of ``"shift"``.

        Examples
        --------
        >>> from kronpde import Grid, Neumann, Problem
        >>> p = Problem(Grid.box([8, 8], boundary=Neumann()), source="cos(pi*x)")
        >>> q = p.with_shift(2.0)
        >>> p.singular, q.singular, q.shift
        (True, False, 2.0)
        >>> q.rhs_values is p.rhs_values
        True
        """
        new = object.__new__(Problem)
        new._set(self.data, self.discretisation.with_shift(check_shift(shift)))
        return new

    # -- operators -----------------------------------------------------------------
    def operator(self, symmetric: bool = False) -> sp.csr_array:
        """Return the assembled operator: ``A``, or ``Â = D A D^{-1}`` with ``symmetric=True``."""
        return self.discretisation.operator(symmetric)

    def linear_operator(self, symmetric: bool = False) -> Any:
        """Return the matrix-free operator: ``A``, or ``Â`` with ``symmetric=True``."""
        return self.discretisation.linear_operator(symmetric)

    @property
    def _apply(self) -> Any:
        """The matrix-free ``A`` the residual is computed with (built once)."""
        return self.discretisation.apply

    def weighted_operator(self) -> sp.csr_array:
        """Return the row-scaled symmetric form ``W A`` (CSR)."""
        w = self.weights().reshape(-1)
        return sp.csr_array(sp.diags_array(w) @ self.operator())

    def diagonal(self) -> np.ndarray:
        """Return the diagonal of ``A`` (and of ``Â``), flat."""
        return self.discretisation.diagonal()

    def weights(self, box: Box | None = None) -> np.ndarray:
        """Weights of the unknowns (``W``), shape :attr:`Grid.shape` (or the box's).

        Trapezoid weights on node-centred axes, cell widths on cell-centred ones.
        """
        return self.data.weights(box)

    @property
    def unknown_weights(self) -> np.ndarray:
        """``W`` as one flat, read-only array, made once (shared by every shift).

        The weighted norms, means and the certified bound of a solve share it
        (each :meth:`weights` call makes a new array of the grid's size).
        """
        return self.data.unknown_weights

    @property
    def symmetric_scale(self) -> np.ndarray:
        """``D = W^{1/2}`` as a flat array: ``Â = D A D^{-1}``, ``b̂ = D b``, ``u = y / D``."""
        return self.data.symmetric_scale

    # -- right-hand side --------------------------------------------------------------
    def source_values(self, box: Box | None = None, *, merge: Merge | None = None) -> np.ndarray:
        """``f`` at the unknowns, shape :attr:`Grid.shape` (or the box's); a new array.

        See :meth:`ProblemData.source_values <kronpde.problem.data.ProblemData.source_values>`.
        """
        return self.data.source_values(box, merge=merge)

    def source_nodes(self, box: tuple[slice, ...] | None = None) -> np.ndarray:
        """Return ``f`` at every point of the field, or at a box of them (e.g. to write it).

        The shape is :attr:`Grid.point_shape` (or the box's: a ``slice(first,
        stop)`` per axis); a new array.
        """
        return self.data.source_nodes(box)

    @property
    def rhs_values(self) -> np.ndarray:
        """``b`` on all unknowns (read-only, evaluated once; :meth:`rhs` gives copies)."""
        return self.discretisation.rhs_values

    def rhs(self, box: Box | None = None, *, merge: Merge | None = None) -> np.ndarray:
        """Right-hand side ``b``: ``f`` plus the lifted boundary data (on a box with ``box``).

        See :meth:`Discretisation.rhs <kronpde.problem.discretisation.Discretisation.rhs>`.
        """
        return self.discretisation.rhs(box, merge=merge)

    # -- singular problems ----------------------------------------------------------
    def weighted_mean(self, v: np.ndarray) -> float:
        """Trapezoid-weighted mean ``(w · v) / (w · 1)`` of a vector on the unknowns."""
        w = self.unknown_weights
        null = self.discretisation.null_vector()  # a floating domain inside the box
        if null is not None:
            w = w * null
        return float(w @ np.asarray(v).reshape(-1) / w.sum())

    def project_rhs(self, b: np.ndarray) -> tuple[np.ndarray, float]:
        """Project ``b`` onto the range of ``A`` (singular problems only).

        The left null vector of ``A`` is ``w`` (``W A`` is symmetric and
        ``A 1 = 0``), so the range is ``{b : w · b = 0}``; the constant
        ``mean_w(b)`` is removed.

        Returns
        -------
        b_projected : ndarray
            ``b - mean_w(b)`` (a copy); ``b`` itself when not singular.
        projected_norm : float
            ``||b - b_projected||_2 / ||b||_2`` (0 when nothing was removed).
        """
        if not self.singular:
            return b, 0.0
        mean = self.weighted_mean(b)
        null = self.discretisation.null_vector()
        out = b - (mean if null is None else mean * null)
        norm_b = float(np.linalg.norm(b))
        removed = abs(mean) * math.sqrt(b.size if null is None else float(np.sum(null)))
        return out, (removed / norm_b if norm_b > 0 else 0.0)

    def remove_mean(self, u: np.ndarray) -> np.ndarray:
        """``u`` minus its weighted mean for singular problems (in place), else ``u``."""
        if self.singular:
            null = self.discretisation.null_vector()
            mean = self.weighted_mean(u)
            u -= mean if null is None else mean * null
        return u

    # -- results ------------------------------------------------------------------------
    def to_nodes(self, u: np.ndarray, dirichlet_values: np.ndarray | None = None) -> np.ndarray:
        """Return the field (shape :attr:`Grid.point_shape`) of a solution on the unknowns.

        With a domain inside the box the points outside it are NaN.
        """
        field = self.grid.to_nodes(u, dirichlet_values)  # None: the faces' slabs only
        points = self.discretisation.domain_points()
        if points is not None:
            field[~points] = np.nan
        return field

    def relative_residual(
        self, u: np.ndarray, b: np.ndarray | None = None, *, work: np.ndarray | None = None
    ) -> float:
        """``||b - A u||_2 / ||b||_2`` on the (unsymmetrised) system; ``||A u||`` if ``b = 0``.

        ``b`` defaults to :meth:`rhs`; ``work`` (shape ``(n,)``, overwritten)
        is scratch for the residual, so that nothing is allocated.
        """
        b = self.rhs_values.reshape(-1) if b is None else np.asarray(b).reshape(-1)
        r = np.empty_like(b) if work is None else work
        self._apply.matvec_into(np.ascontiguousarray(u, dtype=float).reshape(-1), r)
        np.subtract(b, r, out=r)
        nb = float(np.linalg.norm(b))
        nr = float(np.linalg.norm(r))
        return nr / nb if nb > 0 else nr

    # -- the certified algebraic error ---------------------------------------------------
    @cached_property
    def _eigenvalue_bound(self) -> EigenvalueBound | None:
        return smallest_eigenvalue(self)

    def smallest_eigenvalue(self) -> EigenvalueBound | None:
        """Return a certified lower bound on the smallest eigenvalue of ``A`` (computed once).

        For a singular problem the smallest non-zero one; the discretisation
        gives it (``docs/certificate.md``).  None where no positive bound is
        established (the error bound is then not computed).
        """
        return self._eigenvalue_bound

    @cached_property
    def certifier(self) -> Certifier:
        """The set-up of :meth:`error_bound` (eigenvalue bound, diagonal, weights), made once."""
        return Certifier(self, self._apply, self.smallest_eigenvalue())

    def error_bound(self, u: np.ndarray, b: np.ndarray | None = None) -> Certificate:
        """Return the residual of ``u`` and a certified bound on ``||u - u_h||_W``.

        ``u_h`` is the exact solution of ``A u_h = b``, ``||v||_W`` the discrete
        L² norm of the trapezoid weights; ``||u - u_h||_W <= ||b - A u||_W /
        λ_min`` plus rounding terms (``docs/certificate.md``).  ``b`` defaults
        to :meth:`rhs` (a singular problem's projected, :meth:`project_rhs`);
        the certificate's ``bound`` is None where :meth:`smallest_eigenvalue` is.

        Examples
        --------
        >>> from kronpde import Grid, Problem, solve
        >>> p = Problem(Grid.box([32, 32]), source="2*pi**2*sin(pi*x)*sin(pi*y)")
        >>> sol = solve(p, "cg", rtol=1e-6)
        >>> exact = solve(p, "fastdiag").x
        >>> cert = p.error_bound(sol.x)
        >>> w = p.weights().reshape(-1)
        >>> bool(np.sqrt(w @ (sol.x - exact) ** 2) <= cert.bound)
        True
        """
        if b is None:
            b, _ = self.project_rhs(self.rhs_values.reshape(-1))
        return self.certifier.certify(u, b)

    def __repr__(self) -> str:
        """Return a one-line summary."""
        k = self.coefficient
        k = (
            k.text
            if isinstance(k, Expression)
            else ("variable" if self.variable_coefficient else k)
        )
        order = f", order={self.order}" if self.order != DEFAULT_ORDER else ""
        return f"Problem({self.grid!r}, shift={self.shift:g}, k={k}{order})"
