"""Axes, grids, boundary conditions and the map between unknowns and nodes."""

from __future__ import annotations

import numpy as np
import pytest

from kronpde import Axis, DataError, Dirichlet, Grid, GridError, Neumann, Periodic, Robin
from kronpde.geometry.boundary import evaluate_data


def test_axis_nodes_and_unknowns():
    a = Axis(4, -1.0, 1.0, Dirichlet(), Neumann())
    assert a.h == 0.5
    np.testing.assert_array_equal(a.nodes, [-1.0, -0.5, 0.0, 0.5, 1.0])
    assert a.unknown_slice == slice(1, 5)
    np.testing.assert_array_equal(a.weights, [0.5, 0.5, 0.5, 0.25])
    p = Axis(4, 0.0, 2.0, Periodic(), Periodic())
    assert p.unknown_slice == slice(0, 4)
    assert p.periodic
    np.testing.assert_array_equal(p.weights, [0.5] * 4)
    # trapezoid rule: sum of weights is the length covered (Neumann both: full length)
    n = Axis(5, 0.0, 3.0, Neumann(), Robin(1.0, 2.0))
    assert n.weights.sum() == pytest.approx(3.0)


def test_grid_shapes_and_scatter():
    g = Grid.box(
        [4, 3, 2],
        upper=[2.0, 1.5, 1.0],
        boundary={
            "xmin": Dirichlet(5.0),
            "xmax": Neumann(),
            "ymin": Periodic(),
            "ymax": Periodic(),
            "zmin": Robin(1, 1),
            "zmax": Dirichlet(-1.0),
        },
    )
    assert g.dimension == 3
    assert g.shape == (4, 3, 2)
    assert g.node_shape == (5, 4, 3)
    u = np.arange(g.size, dtype=float)
    full = g.to_nodes(u)
    np.testing.assert_array_equal(full[1:, :3, :2].reshape(-1), u)
    np.testing.assert_array_equal(full[:, 3, :], full[:, 0, :])  # periodic node m = node 0
    # Dirichlet nodes carry their values; where xmin (5) and zmax (-1) meet: the mean
    np.testing.assert_array_equal(full[0, :, :2], 5.0)
    np.testing.assert_array_equal(full[1:, :, 2], -1.0)
    np.testing.assert_array_equal(full[0, :, 2], 2.0)
    np.testing.assert_array_equal(g.from_nodes(full).reshape(-1), u)


def test_weights_are_kronecker_product():
    g = Grid.box([3, 4], boundary={"xmin": Neumann(), "ymax": Robin(2, 1)})
    w = g.weights()
    np.testing.assert_allclose(w.reshape(-1), np.kron(g.axes[0].weights, g.axes[1].weights))


def test_face_data_callables_and_arrays():
    g = Grid.box(
        [2, 3],
        upper=[1.0, 3.0],
        boundary={
            "xmax": Neumann(lambda x, y: x + 10 * y),
            "ymin": Dirichlet(np.array([1.0, 2.0, 3.0])),
        },
    )
    np.testing.assert_allclose(g.face_data(0, 1).reshape(-1), 1.0 + 10 * np.arange(4.0))
    np.testing.assert_allclose(g.face_data(1, 0).reshape(-1), [1.0, 2.0, 3.0])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"cells": [0, 8]}, "cells"),
        ({"cells": [2.5]}, "cells"),
        ({"cells": [True]}, "cells"),
        ({"cells": [1]}, "at least 2 cells"),
        ({"cells": [4], "lower": [1.0], "upper": [0.0]}, "lower < upper"),
        ({"cells": [4], "upper": [float("nan")]}, "finite"),
        ({"cells": [4, 4], "upper": [1.0]}, "one entry per axis"),
        ({"cells": [4], "boundary": {"xmin": Periodic()}}, "both faces"),
        ({"cells": [4], "boundary": {"ymin": Neumann()}}, "'ymin' does not exist"),
        ({"cells": [4], "boundary": {"top": Neumann()}}, "'top' does not exist"),
    ],
)
def test_grid_errors(kwargs, message):
    with pytest.raises(GridError, match=message):
        Grid.box(**kwargs)


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: Robin(1.0, 0.0), GridError, "beta"),
        (lambda: Robin(float("nan"), -1.0), GridError, "alpha: must be finite"),
        (lambda: Robin(float("inf"), 1.0), GridError, "finite"),
        (lambda: Dirichlet(float("nan")), DataError, "finite"),
        (lambda: Neumann(True), DataError, "boolean"),
        (lambda: Dirichlet(np.array([1.0, np.inf])), DataError, "non-finite"),
        (lambda: Dirichlet("x.real"), DataError, "attribute access 'x.real' is not allowed"),
        (lambda: Dirichlet(object()), DataError, "must be a number, an expression string"),
    ],
)
def test_condition_errors(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_condition_accepts_expression_strings_and_the_grid_checks_their_coordinates():
    """A string is the grammar of case files: Dirichlet("sin(x)") works as it does there."""
    g = Grid.box([4, 2], boundary={"xmax": Neumann("y**2"), "ymin": Dirichlet("sin(pi*x)")})
    np.testing.assert_allclose(g.face_data(0, 1).reshape(-1), np.linspace(0, 1, 3) ** 2)
    np.testing.assert_allclose(
        g.face_data(1, 0).reshape(-1), np.sin(np.pi * np.linspace(0, 1, 5)), atol=1e-15
    )
    with pytest.raises(DataError, match="ymin: name 'z' is not allowed in a 2-D case") as info:
        Grid.box([4, 2], boundary={"ymin": Dirichlet("z")})
    assert info.value.subject == "ymin"


def test_evaluate_data_errors():
    with pytest.raises(DataError, match="shape"):
        evaluate_data(np.ones(3), [], (2, 2), "src")
    with pytest.raises(DataError, match="not finite"):
        evaluate_data(lambda x: np.log(x - 2), [np.array([0.0, 1.0])], (2,), "src")
    with pytest.raises(DataError, match="callable raised ZeroDivisionError"):
        evaluate_data(lambda x: 1 / 0, [np.array([0.0])], (1,), "src")
