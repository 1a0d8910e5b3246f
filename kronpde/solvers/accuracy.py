"""The discretisation-error estimates behind ``rtol="auto"``: ``"exact"`` and ``"richardson"``.

Each is computed through a :class:`~kronpde.solvers.space.SolveSpace`, so the
serial driver and the PETSc backend make them in one way; their types live in
:mod:`kronpde.solvers.estimate`, the coarse grids in :mod:`kronpde.solvers.coarse`.
The estimates, their first guesses and the fallback: ``docs/accuracy.md``.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from kronpde.errors import OptionError
from kronpde.geometry.boundary import check_data, evaluate_data
from kronpde.solvers.coarse import coarse_problem, scheme_order
from kronpde.solvers.estimate import AUTO_FRACTION, ErrorEstimate, Unavailable
from kronpde.solvers.space import SerialSpace, SolveSpace

if TYPE_CHECKING:
    from kronpde.geometry.grid import Grid
    from kronpde.problem.protocol import SolvableProblem

__all__ = ["exact_array", "exact_estimate", "exact_unknowns", "richardson_estimate"]


def _space(where: SolveSpace | SolvableProblem) -> SolveSpace:
    """Return ``where`` if it is a space, else the serial space of a problem."""
    return where if isinstance(where, SolveSpace) else SerialSpace(where)


def exact_array(grid: Grid, exact: np.ndarray) -> np.ndarray:
    """Return an exact solution given as an array at the unknowns, shape ``grid.shape``.

    Parameters
    ----------
    grid : Grid
        The grid.
    exact : ndarray
        Values over the grid's points (:attr:`Grid.point_shape`) or its
        unknowns (``(n,)`` or :attr:`Grid.shape`).

    Raises
    ------
    OptionError
        For an array of another shape.
    """
    arr = np.asarray(exact, dtype=float)
    if arr.shape == grid.point_shape:
        return grid.from_nodes(arr)
    if arr.shape not in ((grid.size,), grid.shape):
        msg = (
            f"exact must have the point shape {grid.point_shape} or the unknowns' shape "
            f"({grid.size},) or {grid.shape}, got {arr.shape}"
        )
        raise OptionError(msg)
    return arr.reshape(grid.shape)


def exact_unknowns(problem: SolvableProblem, exact: object) -> np.ndarray:
    """Evaluate an exact solution at the problem's unknowns (flat, a new array).

    Parameters
    ----------
    problem : Problem
        The problem.
    exact : number, str, callable or ndarray
        ``u`` as a number, an expression string, a callable ``u(x, y, ...)``,
        or an array over the grid's points (:attr:`Grid.point_shape`: the
        nodes, or the cell centres along cell-centred axes) or the unknowns
        (``(n,)`` or :attr:`Grid.shape`).

    Raises
    ------
    OptionError
        For an array of another shape or values that are not finite.
    DataError
        For a bad expression (its ``subject`` is ``"exact"``).
    """
    g = problem.grid
    inside = problem.discretisation.domain_unknowns()  # a domain inside the box: only there
    if isinstance(exact, np.ndarray) and exact.ndim > 0:
        out = np.array(exact_array(g, exact), dtype=float).reshape(-1)
    else:
        value = check_data(exact, "exact", dimension=g.dimension)
        coords, shape = g.point_coordinates(), g.point_shape
        points = evaluate_data(value, coords, shape, "exact", check=inside is None)
        out = g.from_nodes(points).reshape(-1)
    if inside is not None:
        out = np.where(inside, out, 0.0)
    if not np.all(np.isfinite(out)):
        msg = "exact contains NaN or infinity"
        raise OptionError(msg)
    return out


def exact_estimate(
    where: SolveSpace | SolvableProblem, exact: np.ndarray, b: np.ndarray
) -> ErrorEstimate:
    """Return the ``"exact"`` estimate: ``||x - u_exact||_W`` over the unknowns.

    Parameters
    ----------
    where : SolveSpace or Problem
        The unknowns (a problem: all of them, serially).
    exact : ndarray
        The exact solution at the unknowns (:func:`exact_unknowns`; under
        PETSc, this rank's).
    b : ndarray
        The right-hand side solved for (projected if singular): the certified
        bound of ``u_exact`` against it is the first guess.
    """
    space = _space(where)
    singular = space.singular
    centred = exact
    if singular:  # as u_h is
        centred = exact - space.reductions.dot(space.weights, exact) / space.weight_sum

    def first() -> float | None:  # the bound of u_exact: an iterative goal's first guess
        return space.certify(centred, b).bound

    def measure(x: np.ndarray) -> float:
        return space.weighted_norm(np.asarray(x).reshape(-1) - exact, singular)

    size = space.weighted_norm(exact, False)
    return ErrorEstimate("exact", "||u - u_exact||_W over the unknowns", first, measure, size)


def _pair(coarse_space: SolveSpace) -> tuple[Any, Any, np.ndarray] | None:
    """Return the coarser space, its restriction and solution to round-off (None: no grid)."""
    try:
        coarser, resample = coarse_problem(coarse_space.problem)
    except Unavailable:
        return None
    coarser_space = coarse_space.coarse(coarser)
    xcc, _ = coarser_space.solve_to_roundoff()
    return coarser_space, coarse_space.restriction(coarser_space, resample), xcc


def _pair_guess(coarse_space: SolveSpace, xc: np.ndarray, p: int) -> float | None:
    """Return the coarse pair's estimate over ``2^p``: a first guess of the fine one's."""
    pair = _pair(coarse_space)
    if pair is None:
        return None
    _, between, xcc = pair
    guess = between.difference(xc, xcc) / (2.0**p - 1.0) / 2.0**p
    between.close()
    return guess


def _coarse_by_pair(coarse_space: SolveSpace, p: int) -> tuple[np.ndarray, Any, Any]:
    """Solve the coarse problem iteratively to a tenth of the estimate the pair gives.

    The coarser grid (a quarter of the cells) to round-off, the coarse one only to
    a tenth of the estimate: the coarse pair's estimate over ``2^p`` is the fine
    one's.  Returns the coarse solution, its bound and the first guess (None
    without a coarser grid: then the coarse solve runs to round-off).
    """
    pair = _pair(coarse_space)
    if pair is None:
        xc, bound = coarse_space.solve_to_roundoff()
        return xc, bound, None
    coarser_space, between, xcc = pair
    factor = 2.0**p - 1.0
    estimate = ErrorEstimate(
        "richardson",
        "the coarse pair",
        None,
        lambda x: between.difference(x, xcc) / factor,
        coarser_space.weighted_norm(xcc, False),
    )
    xc, bound = coarse_space.solve_for_estimate(estimate, AUTO_FRACTION / 2.0**p)
    initial = between.difference(xc, xcc) / factor / 2.0**p
    between.close()
    return xc, bound, initial


def richardson_estimate(where: SolveSpace | SolvableProblem) -> ErrorEstimate:
    """Return the ``"richardson"`` estimate of a problem (one coarse solve, two if it can).

    Parameters
    ----------
    where : SolveSpace or Problem
        The unknowns (a problem: all of them, serially); the coarse problems
        are solved by its :meth:`~kronpde.solvers.space.SolveSpace.coarse` spaces.

    Raises
    ------
    Unavailable
        Where the coarse grid does not exist.
    """
    space = _space(where)
    problem = space.problem
    p = scheme_order(problem)
    factor = 2.0**p - 1.0
    coarse, resample = coarse_problem(problem)
    coarse_space = space.coarse(coarse)
    if coarse_space.solves_directly():  # exact at once; the coarser pair only if asked
        xc, coarse_bound = coarse_space.solve_to_roundoff()
        initial: Any = partial(_pair_guess, coarse_space, xc, p)
    else:
        xc, coarse_bound, initial = _coarse_by_pair(coarse_space, p)
    restriction = space.restriction(coarse_space, resample)

    def measure(x: np.ndarray) -> float:
        return restriction.difference(x, xc) / factor

    cells = " x ".join(str(c) for c in coarse.grid.cells)
    shared = all(r.stride is not None for r in resample)
    how = "its nodes" if shared else f"its points (Lagrange interpolation of degree {p + 1})"
    description = f"Richardson, ||u_h - u_2h||_W / (2^{p} - 1) against the {cells} grid at {how}"
    size = coarse_space.weighted_norm(xc, False)
    space.coarse_parts = (coarse_space, restriction)  # kept alive with the estimate
    return ErrorEstimate("richardson", description, initial, measure, size, coarse_bound)
