"""The choice of a problem's discretisation, made once when the problem is built.

:func:`discretise` checks the order and returns the one
:class:`~kronpde.problem.discretisation.Discretisation` that applies: the
Kronecker sum (constant ``k``, order 2), the flux form (variable ``k``) or the
compact fourth-order scheme (``order=4``).
"""

from __future__ import annotations

import numpy as np

from kronpde.geometry.boundary import data_error
from kronpde.problem.compact_scheme import CompactFourthOrder, compact_obstacle
from kronpde.problem.curvilinear import CurvilinearFlux, refuse_order
from kronpde.problem.data import ProblemData
from kronpde.problem.discretisation import Discretisation
from kronpde.problem.embedded import embedded_discretisation
from kronpde.problem.flux_form import FluxForm
from kronpde.problem.kronecker import KroneckerSum
from kronpde.problem.layered import LayeredFluxForm, layered_axis
from kronpde.problem.nondivergence import NonDivergenceSum
from kronpde.problem.product_k import ProductFluxForm, may_be_product
from kronpde.problem.separable import SeparableSum

__all__ = ["ORDERS", "discretise"]

#: The orders of the discretisation: second differences, the fourth-order compact scheme.
ORDERS = (2, 4)


def discretise(
    data: ProblemData,
    shift: float,
    order: object = 2,
    *,
    domain: object = None,
    embedded: object = None,
) -> Discretisation:
    """Return the discretisation of ``data`` with shift ``c`` at ``order``.

    With a ``domain`` (a level set, a mask or a :class:`~kronpde.geometry.domain.Domain`)
    and its ``embedded`` condition: the embedded boundary
    (:func:`~kronpde.problem.embedded.embedded_discretisation`).

    Raises
    ------
    DataError
        ``subject`` ``"order"``: an order other than 2 or 4, or order 4 where
        the fourth-order scheme does not apply (a variable coefficient, a
        stretched or cell-centred axis).
    """
    subject = "order"
    if isinstance(order, (bool, np.bool_)) or order not in ORDERS:
        raise data_error(subject, f"must be 2 or 4, got {order!r}")
    special = getattr(data, "nondivergence", False) or hasattr(data, "axis_shift")
    if special and domain is not None:
        subject = "equation"
        raise data_error(
            subject,
            "a per-axis coefficient, a shift expression or the non-divergence form needs a "
            "Cartesian box without a domain inside it",
        )
    if special and data.grid.coordinate_system is not None:  # a shift c(x) is the flux form's
        subject = "equation"
        raise data_error(
            subject,
            "a per-axis coefficient or the non-divergence form needs Cartesian coordinates (a "
            "curvilinear grid takes an isotropic k and any shift c(x))",
        )
    if domain is not None:
        if data.grid.coordinate_system is not None:
            subject = "geometry"
            raise data_error(subject, "a domain inside the box needs Cartesian coordinates")
        return embedded_discretisation(data, shift, int(order), domain, embedded)
    if embedded is not None:
        subject = "embedded"
        raise data_error(subject, "an embedded condition needs a domain (a level set or a mask)")
    if data.grid.coordinate_system is not None:  # a curvilinear grid: its own flux form
        if int(order) != 2:
            raise refuse_order(int(order))
        return CurvilinearFlux(data, shift)
    if getattr(data, "nondivergence", False):  # second/first: central differences
        if int(order) != 2:
            raise data_error(subject, "the non-divergence form (second/first) is second order")
        return NonDivergenceSum(data, shift)
    if getattr(data, "shift_field", None) is not None:  # a c(x) no 1-D operator holds
        if int(order) != 2:
            raise data_error(subject, "a shift c(x) is discretised at order 2 only")
        return FluxForm(data, shift)
    if int(order) == CompactFourthOrder.order:
        why = compact_obstacle(data)
        if why is not None:
            raise data_error(subject, f"the fourth-order scheme (order = 4) {why}; use order 2")
        return CompactFourthOrder(data, shift)
    if getattr(data, "separable", False):  # per-axis k_i, each of its own axis
        return SeparableSum(data, shift)
    if data.variable_coefficient:
        if layered_axis(data) is not None:  # k of one coordinate: a tridiagonal axis
            return LayeredFluxForm(data, shift)
        if may_be_product(data):  # 2-D k_s = a(s) b(t), k_t = c(t) d(s): checked when asked
            return ProductFluxForm(data, shift)
        return FluxForm(data, shift)
    return KroneckerSum(data, shift)
