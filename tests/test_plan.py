"""The one accuracy policy (:mod:`kronpde.solvers.plan`) and the serial space it asks.

The PETSc backend makes its plan with the same :func:`plan_solve`; its runs are in
``test_petsc.py``.  Here: the rules of the plan on the serial space, and that the
space's reductions reproduce the problem's own projection and norms to the bit.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from kronpde import Grid, Neumann, Problem
from kronpde.errors import OptionError
from kronpde.solvers.accuracy import exact_array
from kronpde.solvers.estimate import FALLBACK_RTOL
from kronpde.solvers.plan import SolvePlan, plan_solve
from kronpde.solvers.space import Reductions, SerialSpace

U = "sin(pi*x)*sin(pi*y)"
F = "2*pi**2*sin(pi*x)*sin(pi*y)"


def _plan(space, b, **given):
    settings = {
        "rtol": 1e-8,
        "atol": 0.0,
        "nb": float(np.linalg.norm(b)),
        "estimate": None,
        "exact": None,
        "own_rhs": lambda: True,
        "iterative": True,
    }
    settings.update(given)
    return plan_solve(space, b, **settings)


def test_a_numeric_rtol_without_an_estimate_plans_its_target_only():
    p = Problem(Grid.box([8, 8]), source=F)
    b = p.rhs_values.reshape(-1)
    plan = _plan(SerialSpace(p), b, rtol=1e-6, atol=1.0)
    assert plan.estimator is None
    assert plan.goal is None
    assert plan.warnings == []
    assert plan.target == max(1e-6, 1.0 / np.linalg.norm(b))


def test_auto_plans_a_goal_for_an_iterative_method_and_none_for_an_exact_one():
    p = Problem(Grid.box([16, 16]), source=F)
    space = SerialSpace(p)
    b = p.rhs_values.reshape(-1)
    iterative = _plan(space, b, rtol="auto")
    assert iterative.goal is not None
    assert iterative.estimator.kind == "richardson"
    assert iterative.target == FALLBACK_RTOL
    assert iterative.goal.eigenvalue == p.smallest_eigenvalue().value
    exact = _plan(space, b, rtol="auto", iterative=False)
    assert exact.goal is None
    assert exact.estimator is iterative.estimator  # made once per space
    assert exact.warnings == []


def test_another_rhs_gets_the_warnings_of_no_estimate_and_of_the_fallback():
    p = Problem(Grid.box([16, 16]), source=F)
    b = np.ones(p.size)
    asked = _plan(SerialSpace(p), b, estimate=True, own_rhs=lambda: False)
    assert asked.estimator is None
    assert asked.warnings == [
        "No discretisation-error estimate: b is not the problem's own right-hand side, so the "
        "coarse grid has no counterpart of it (pass exact= to compare with a known solution)."
    ]
    auto = _plan(SerialSpace(p), b, rtol="auto", own_rhs=lambda: False)
    assert auto.goal is None
    assert auto.target == FALLBACK_RTOL
    assert len(auto.warnings) == 1
    assert auto.warnings[0].startswith("rtol='auto' fell back to rtol = 1e-10")


def test_the_conclusion_words_the_bound_and_the_estimate():
    p = Problem(Grid.box([16, 16]), source=F)
    x = np.zeros(p.size)
    b = p.rhs_values.reshape(-1)
    certificate = p.error_bound(x, b)
    plain = SolvePlan(None, None, 1e-8)
    fields = plain.conclude(x, certificate, "cg: done.")
    assert fields["message"] == (
        f"cg: done. Certified algebraic error ||u - u_h||_W <= {certificate.bound:.3e}."
    )
    assert fields["checked"] is True
    assert fields["discretisation_estimate"] is None
    unchecked = plain.conclude(x, None, "cg: done.")
    assert unchecked["message"].endswith(
        "The certified error bound was not computed (check=False)."
    )
    assert unchecked["checked"] is False
    assert plain.conclude(x, None, "fastdiag: lean.", said=True)["message"] == "fastdiag: lean."


def test_the_serial_space_projects_and_measures_as_the_problem_does():
    grid = Grid.box([9, 7], boundary=Neumann(0.0))
    p = Problem(grid, source="x - y + 0.3")
    space = SerialSpace(p)
    assert space.singular
    b = p.rhs_values.reshape(-1)
    mine, removed = space.project(b)
    theirs, removed_theirs = p.project_rhs(b)
    assert np.array_equal(mine, theirs)
    assert removed == removed_theirs
    w = p.unknown_weights
    d = b - float(w @ b) / float(w.sum())
    assert space.weighted_norm(b, True) == math.sqrt(float(w @ (d * d)))
    x = b.copy()
    assert np.array_equal(space.remove_mean(x), p.remove_mean(b.copy()))


def test_the_serial_reductions_are_plain_numpy():
    v = np.array([3.0, 4.0])
    red = Reductions()
    assert (red.sum(v), red.dot(v, v), red.norm(v), red.allreduce(2.5, "max")) == (
        7.0,
        25.0,
        5.0,
        2.5,
    )


def test_an_exact_array_of_another_shape_is_refused():
    grid = Grid.box([4, 4])
    assert exact_array(grid, np.ones(grid.point_shape)).shape == grid.shape
    assert exact_array(grid, np.ones(grid.size)).shape == grid.shape
    with pytest.raises(OptionError, match=r"exact must have the point shape \(5, 5\)"):
        exact_array(grid, np.ones(7))
