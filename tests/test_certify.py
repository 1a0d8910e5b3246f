"""Tests of the certified algebraic error (kronpde.problem.certify, Problem.error_bound).

The anchors: the eigenvalues of the assembled symmetric operator from
``numpy.linalg.eigvalsh`` (dense), the exact discrete solution from ``direct``
or ``fastdiag`` (whose own distance from it is bounded by its own certificate,
so ``bound(u) >= ||u - u_ref||_W - bound(u_ref)`` is what is asserted), and the
residual recomputed in extended precision (``np.longdouble``) from the
assembled matrix for the rounding term.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import kronpde.problem.spectrum as spectrum_module
from kronpde import Dirichlet, Grid, Neumann, Periodic, Problem, Robin, solve
from kronpde.geometry.grid import stretched_nodes
from kronpde.operators.stencils import second_difference
from kronpde.problem.certify import axis_spectrum, gamma, residual_terms, smallest_eigenvalue
from kronpde.problem.kronecker import KroneckerSum
from kronpde.solvers.report import projection_warning


def _source(*x):
    return np.exp(0.5 * x[0]) * np.cos(2.0 * x[-1]) + 0.3 * x[0] ** 2


def _k(*x):
    return 1.0 + 0.6 * np.sin(3.0 * x[0]) * np.cos(2.0 * x[-1]) ** 2


def _problem(kind: str, cells=(18, 12)) -> Problem:
    """One problem of each kind the bound must cover."""
    d = len(cells)
    faces = [f"{a}{s}" for a in "xyz"[:d] for s in ("min", "max")]
    upper = [1.0, 0.8, 1.3][:d]
    shift, k, nodes = 0.0, 1.0, None
    if kind == "dirichlet":
        bc = {f: Dirichlet("0.5 + sin(3*x)") for f in faces}
    elif kind == "neumann":
        bc = {f: (Neumann(0.4) if f.endswith("max") else Dirichlet(-0.2)) for f in faces}
    elif kind == "robin":
        bc = {f: Robin(1.5, 0.5, 0.3) for f in faces}
    elif kind == "periodic":
        bc = {f: Dirichlet(0.1) for f in faces}
        bc["xmin"] = bc["xmax"] = Periodic()
    elif kind == "mixed":
        bc = {"xmin": Dirichlet(1.0), "xmax": Robin(2.0, 1.0, -0.5)}
        if d > 1:
            bc.update({"ymin": Neumann(0.25), "ymax": Dirichlet("x")})
        if d > 2:
            bc.update({"zmin": Periodic(), "zmax": Periodic()})
    elif kind == "pure-neumann":  # singular, incompatible data
        bc = {f: Neumann(0.2) for f in faces}
    elif kind == "pure-periodic":  # singular
        bc = {f: Periodic() for f in faces}
    elif kind == "shift":  # all faces free, c > 0: not singular
        bc, shift = {f: Neumann(0.0) for f in faces}, 2.5
    elif kind == "stretched":
        bc = {f: (Neumann(0.3) if f == "xmax" else Dirichlet(0.2)) for f in faces}
        nodes = [stretched_nodes(cells[0], 0.0, upper[0], "tanh", 2.0)] + [None] * (d - 1)
    elif kind == "stretched-periodic":
        bc = {f: Dirichlet(0.1) for f in faces}
        bc["xmin"] = bc["xmax"] = Periodic()
        x = np.linspace(0.0, upper[0], cells[0] + 1) ** 1.3 / upper[0] ** 0.3
        nodes = [x] + [None] * (d - 1)
    elif kind == "variable":
        bc, k = {f: Dirichlet("x") for f in faces}, _k
    elif kind == "variable-shift":
        bc, k, shift = {f: Robin(1.0, 2.0, 0.5) for f in faces}, _k, 0.7
    elif kind == "variable-singular":
        bc, k = {f: Neumann(0.1) for f in faces}, _k
    elif kind == "variable-singular-shift":
        bc, k, shift = {f: Neumann(0.1) for f in faces}, _k, 0.3
    else:
        raise AssertionError(kind)
    grid = Grid.box(list(cells), upper=upper, boundary=bc, nodes=nodes)
    return Problem(grid, source=_source, shift=shift, coefficient=k)


KINDS = (
    "dirichlet",
    "neumann",
    "robin",
    "periodic",
    "mixed",
    "pure-neumann",
    "pure-periodic",
    "shift",
    "stretched",
    "stretched-periodic",
    "variable",
    "variable-shift",
    "variable-singular",
    "variable-singular-shift",
)


def _dense_eigenvalue(problem: Problem) -> float:
    """The smallest (non-zero if singular) eigenvalue of the assembled symmetric operator."""
    a = problem.operator(symmetric=True).toarray()
    lam = np.linalg.eigvalsh(0.5 * (a + a.T))
    return float(lam[1] if problem.singular else lam[0])


def _w_norm(problem: Problem, v: np.ndarray) -> float:
    w = problem.weights().reshape(-1)
    return float(np.sqrt(w @ (v * v)))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("cells", [(30,), (18, 12), (7, 6, 5)], ids=["1d", "2d", "3d"])
def test_eigenvalue_bound_is_below_the_dense_eigenvalue(kind, cells):
    problem = _problem(kind, cells)
    bound = problem.smallest_eigenvalue()
    true = _dense_eigenvalue(problem)
    assert 0.0 < bound.value <= true
    if problem.variable_coefficient:  # k_min times the k = 1 operator's: a lower bound only
        k = problem.coefficient_values()
        assert bound.value >= true * np.min(k) / np.max(k) * 0.99
    else:  # the sum of the 1-D minima is the eigenvalue itself, less the rounding margins
        assert bound.value >= true * (1.0 - 1e-9)
        assert bound.computed == pytest.approx(true, rel=1e-10)


def test_axis_spectrum_matches_the_closed_forms():
    """Dirichlet: 4/h² sin²(πh/2); Neumann: λ_2 = 4/h² sin²(πh/2) too (h = 1/m)."""
    m = 40
    dirichlet = axis_spectrum(second_difference(Axis_(m, Dirichlet(), Dirichlet())))
    neumann = axis_spectrum(second_difference(Axis_(m, Neumann(), Neumann())), singular=True)
    periodic = axis_spectrum(second_difference(Axis_(m, Periodic(), Periodic())), singular=True)
    s = m * m
    assert dirichlet.lowest == pytest.approx(4 * s * math.sin(math.pi / (2 * m)) ** 2, rel=1e-9)
    assert neumann.second == pytest.approx(4 * s * math.sin(math.pi / (2 * m)) ** 2, rel=1e-9)
    assert periodic.second == pytest.approx(4 * s * math.sin(math.pi / m) ** 2, rel=1e-9)
    assert (dirichlet.how, neumann.how, periodic.how) == ("bisection", "bisection", "circulant")
    assert abs(neumann.lowest) < 1e-9 * s
    assert neumann.null_defect < 1e-9 * s


def Axis_(m, lo, hi):  # noqa: N802 - a tiny factory for the test above
    from kronpde import Axis

    return Axis(m, 0.0, 1.0, lo, hi)


def test_the_bound_is_exact_for_an_error_along_the_lowest_mode():
    """e = ε v_1 gives r = -λ_1 ε v_1: the bound is ||e||_W up to the rounding terms."""
    problem = _problem("neumann", (24, 16))
    exact = solve(problem, "fastdiag")
    a = problem.operator(symmetric=True).toarray()
    lam, vectors = np.linalg.eigh(0.5 * (a + a.T))
    d = problem.symmetric_scale
    error = 1e-4 * vectors[:, 0] / d  # W-norm 1e-4
    cert = problem.error_bound(exact.x + error)
    assert _w_norm(problem, error) == pytest.approx(1e-4, rel=1e-12)
    assert 1e-4 <= cert.bound <= 1e-4 * (1.0 + 1e-6)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("rtol", [1e-2, 1e-4, 1e-6, 1e-8, 1e-10, 1e-12])
def test_the_bound_is_never_below_the_algebraic_error_of_cg(kind, rtol):
    problem = _problem(kind)
    reference = solve(problem, "direct")
    ref_bound = reference.report.algebraic_error_bound
    ratios = []
    for method in ("cg", "amg-cg"):
        sol = solve(problem, method, rtol=rtol)
        bound = sol.report.algebraic_error_bound
        error = _w_norm(problem, sol.x - reference.x)
        assert bound >= error - ref_bound, (method, bound, error)
        ratios.append(bound / max(error, 1e-15))
    assert ref_bound < 1e-9
    # and it says something: residual bounds are pessimistic (most for a small shift c,
    # the smallest eigenvalue, under a diffusive error), but by a bounded factor here
    assert max(ratios) < 1e4, ratios


@pytest.mark.parametrize("kind", KINDS)
def test_the_bound_holds_for_any_u_and_the_exact_methods_report_it(kind, rng):
    problem = _problem(kind, (10, 9, 6))
    ref = solve(problem, "direct")
    structured = problem.discretisation.eigen_structure() is not None
    fast = solve(problem, "fastdiag") if structured else None
    for sol in filter(None, (ref, fast)):
        assert 0.0 < sol.report.algebraic_error_bound < 1e-10
        # incompatible singular data warn (issue 24); nothing else
        warned = projection_warning(sol.report.projected_norm)
        assert sol.report.warnings == ((warned,) if warned else ())
    if fast is not None:
        diff = _w_norm(problem, fast.x - ref.x)
        assert diff <= fast.report.algebraic_error_bound + ref.report.algebraic_error_bound
    b, _ = problem.project_rhs(problem.rhs())
    for scale in (1e-12, 1e-6, 1.0):
        e = scale * rng.standard_normal(problem.size)
        cert = problem.error_bound(ref.x + e, b)
        truth = _w_norm(problem, e)
        assert cert.bound >= truth - ref.report.algebraic_error_bound


def test_singular_problem_counts_the_mean_of_u():
    """u_h has zero weighted mean: a constant added to u is algebraic error, and bounded."""
    problem = _problem("pure-neumann", (16, 12))
    ref = solve(problem, "fastdiag")
    b, _ = problem.project_rhs(problem.rhs())
    shifted = ref.x + 1e-3
    cert = problem.error_bound(shifted, b)
    assert cert.mean_term >= _w_norm(problem, np.full(problem.size, 1e-3))
    assert cert.bound >= _w_norm(problem, shifted - ref.x)
    assert cert.weighted_residual < 1e-9  # the constant is in the null space: no residual


def _longdouble_residual(problem: Problem, u: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``b - A u`` accumulated in extended precision from the assembled CSR coefficients."""
    a = problem.operator().tocoo()
    ld = np.longdouble
    au = np.zeros(problem.size, dtype=ld)
    np.add.at(au, a.row, a.data.astype(ld) * u.astype(ld)[a.col])
    return b.astype(ld) - au


@pytest.mark.parametrize("kind", ["dirichlet", "robin", "periodic", "stretched", "variable"])
def test_the_rounding_term_covers_the_computed_residual(kind):
    """At the discrete solution the residual is all rounding: the term must cover it."""
    problem = _problem(kind, (60, 40))
    u = solve(problem, "direct").x
    b, _ = problem.project_rhs(problem.rhs())
    cert = problem.error_bound(u, b)
    r_hat = b - problem.linear_operator().matvec(u)  # the residual the certificate computes
    r_ld = _longdouble_residual(problem, u, b)
    d = problem.symmetric_scale.astype(np.longdouble)
    gap = float(np.sqrt(np.sum((d * (r_ld - r_hat.astype(np.longdouble))) ** 2)))
    assert gap <= cert.rounding
    true_weighted = float(np.sqrt(np.sum((d * r_ld) ** 2)))
    assert true_weighted <= (1 + 1e-12) * cert.weighted_residual + cert.rounding
    # the term is a worst case, but not an absurd one (about 45 times the gap here)
    assert cert.rounding < 200.0 * gap


def test_the_absolute_operator_shortcut_equals_the_assembled_one(rng):
    """|A| |u| as 2 diag |u| - A |u| (an M-matrix) against |A| assembled entry by entry."""
    problem = _problem("mixed", (14, 11, 5))
    certifier = problem.certifier
    assert certifier._z_matrix
    u = rng.standard_normal(problem.size)
    b = problem.rhs()
    fast = certifier.certify(u, b)
    certifier._z_matrix = False
    try:
        slow = certifier.certify(u, b)
    finally:
        certifier._z_matrix = True
    assert slow.rounding == pytest.approx(fast.rounding, rel=1e-10)
    assert slow.bound == pytest.approx(fast.bound, rel=1e-12)


def test_gamma_and_terms():
    eps = 2.0**-53
    assert gamma(10) == pytest.approx(10 * eps / (1 - 10 * eps), rel=1e-15)
    assert gamma(2**60) == math.inf
    assert residual_terms(3) == 20


class _Unbounded(KroneckerSum):
    """A discretisation that establishes no eigenvalue bound (as a new scheme may not)."""

    def smallest_eigenvalue(self, singular):
        return None


def test_an_order_without_a_bound_reports_none():
    """A scheme the certificate does not know: no bound, and the report says so."""
    problem = _problem("dirichlet")
    scheme = problem.discretisation  # the same operator, but no bound: only that is asked for
    problem.discretisation = _Unbounded(scheme.data, scheme.shift, scheme.shared)
    assert smallest_eigenvalue(problem) is None
    sol = solve(problem, "fastdiag")
    assert sol.report.algebraic_error_bound is None
    assert any("not computed" in w for w in sol.report.warnings)


# --------------------------------------------------------------------------- fourth order

FOURTH = (
    "dirichlet",
    "neumann",
    "robin",
    "periodic",
    "mixed",
    "pure-neumann",
    "pure-periodic",
    "shift",
)


def _fourth(kind: str, cells=(18, 12)) -> Problem:
    p = _problem(kind, cells)
    return Problem(p.grid, p.source, p.shift, p.coefficient, order=4)


@pytest.mark.parametrize("kind", FOURTH)
@pytest.mark.parametrize("cells", [(30,), (18, 12), (7, 6, 5)], ids=["1d", "2d", "3d"])
def test_fourth_order_eigenvalue_bound_is_below_the_dense_eigenvalue(kind, cells):
    """min μ over the corners of the 1-D spectra: the eigenvalue itself, or below with Robin."""
    problem = _fourth(kind, cells)
    bound = problem.smallest_eigenvalue()
    true = _dense_eigenvalue(problem)
    assert 0.0 < bound.value <= true
    if problem.scheme.separable:
        assert bound.value >= true * (1.0 - 1e-9)
        assert bound.computed == pytest.approx(true, rel=1e-10)
    else:  # the Robin terms R >= 0 are left out: a lower bound
        assert bound.value >= 0.5 * true
        assert "Robin" in bound.how


@pytest.mark.parametrize("shift", [0.0, 40.0, 4000.0])
def test_fourth_order_minimum_is_not_at_the_lowest_modes_for_a_large_shift(shift):
    """With c a_i large the combination falls along an axis: the corners find where."""
    problem = Problem(Grid.box([6, 5, 7], upper=[1.0, 2.0, 0.7]), 1.0, shift, order=4)
    bound = problem.smallest_eigenvalue()
    true = _dense_eigenvalue(problem)
    assert bound.computed == pytest.approx(true, rel=1e-10)
    assert true * (1.0 - 1e-9) <= bound.value <= true
    assert true == pytest.approx(problem.scheme.smallest_eigenvalue(), rel=1e-10)


@pytest.mark.parametrize("kind", ["dirichlet", "robin", "mixed", "pure-neumann"])
def test_fourth_order_bound_is_never_below_the_algebraic_error(kind, rng):
    problem = _fourth(kind, (14, 11))
    reference = solve(problem, "direct")
    ref_bound = reference.report.algebraic_error_bound
    assert 0.0 < ref_bound < 1e-9
    for rtol in (1e-3, 1e-7, 1e-11):
        sol = solve(problem, "cg", rtol=rtol)
        error = _w_norm(problem, sol.x - reference.x)
        assert sol.report.algebraic_error_bound >= error - ref_bound
    b, _ = problem.project_rhs(problem.rhs())
    for scale in (1e-12, 1e-6, 1.0):
        e = scale * rng.standard_normal(problem.size)
        truth = _w_norm(problem, e)  # the mean of e too, for a singular problem
        assert problem.error_bound(reference.x + e, b).bound >= truth - ref_bound


def test_fourth_order_bound_is_exact_for_an_error_along_the_lowest_mode():
    problem = _fourth("neumann", (24, 16))
    exact = solve(problem, "fastdiag")
    a = problem.operator(symmetric=True).toarray()
    lam, vectors = np.linalg.eigh(0.5 * (a + a.T))
    error = 1e-4 * vectors[:, 0] / problem.symmetric_scale
    cert = problem.error_bound(exact.x + error)
    assert 1e-4 * (1.0 - 1e-9) <= cert.bound <= 1e-4 * (1.0 + 1e-6)


@pytest.mark.parametrize("kind", ["dirichlet", "robin", "periodic", "shift"])
def test_fourth_order_rounding_term_covers_the_computed_residual(kind):
    """The polynomial in |T_i| (the apply's own form) bounds the rounding of fl(b - A u)."""
    problem = _fourth(kind, (60, 40))
    u = solve(problem, "direct").x
    b, _ = problem.project_rhs(problem.rhs())
    cert = problem.error_bound(u, b)
    r_hat = b - problem.linear_operator().matvec(u)
    r_ld = _longdouble_residual(problem, u, b)
    d = problem.symmetric_scale.astype(np.longdouble)
    gap = float(np.sqrt(np.sum((d * (r_ld - r_hat.astype(np.longdouble))) ** 2)))
    assert gap <= cert.rounding
    assert cert.rounding < 1000.0 * gap
    # |P|(|T|) |u| is at least the assembled |A| |u| entry by entry
    out = np.empty(problem.size)
    absolute = problem.certifier._abs_apply(np.abs(u), out)
    assembled = abs(problem.operator()) @ np.abs(u)
    assert np.all(absolute >= assembled * (1.0 - 1e-12))
    assert residual_terms(2, 4) == 32


def test_a_long_stretched_periodic_axis_has_no_dense_bound(monkeypatch):
    monkeypatch.setattr(spectrum_module, "DENSE_LIMIT", 10)
    problem = _problem("stretched-periodic", (24, 6))
    assert problem.smallest_eigenvalue() is None
    assert problem.error_bound(np.zeros(problem.size)).bound is None


@pytest.mark.parametrize("cells", [(16,), (16, 10)], ids=["1d", "2d"])
def test_a_small_k_on_a_boundary_face_lowers_the_cell_centred_bound(cells):
    # k is 1e-3 on the face x = 0 and about 1 at every cell centre: the face's flux makes
    # the x = 0 end nearly insulated, so the operator's smallest eigenvalue is about a
    # quarter of the centres' k_min times the Dirichlet one; the bound must see the face
    def k(*x):
        return 1e-3 + np.tanh(200.0 * x[0])

    faces = [f"{a}{s}" for a in "xy"[: len(cells)] for s in ("min", "max")]
    grid = Grid.box(list(cells), boundary={f: Dirichlet(0.0) for f in faces}, centering="cell")
    problem = Problem(grid, source=1.0, coefficient=k)
    true = _dense_eigenvalue(problem)
    bound = problem.smallest_eigenvalue()
    assert float(np.min(problem.coefficient_values())) * _unit_bound(problem) > true
    assert 0.0 < bound.value <= true
    assert bound.value >= 1e-3 * _unit_bound(problem) * (1.0 - 1e-9)
    faces_k = problem.face_coefficient_values()
    assert faces_k[(0, 0)] == pytest.approx(1e-3)
    assert faces_k[(0, 1)] == pytest.approx(1e-3 + np.tanh(200.0))


def _unit_bound(problem: Problem) -> float:
    """The smallest eigenvalue of the same grid's operator with k = 1, c = 0 (dense)."""
    unit = Problem(problem.grid, source=1.0)
    return _dense_eigenvalue(unit)


# -- one formula for the serial and the distributed bound ---------------------------------


class _PartSums:
    """The sums over the parts of vectors that threads hold: the ranks of a distributed solve,
    in one process (each thread its part; every call is collective, as over MPI)."""

    def __init__(self, barrier, slots: list, me: int):
        self.barrier, self.slots, self.me = barrier, slots, me

    def _all(self, value):
        self.slots[self.me] = value
        self.barrier.wait()
        values = list(self.slots)
        self.barrier.wait()
        return values

    def dot(self, a, b):
        return sum(self._all(float(a @ b)))

    def squares(self, values, weights=None):
        local = values @ values if weights is None else weights @ (values * values)
        return sum(self._all(float(local)))

    def norm(self, values):
        return math.sqrt(self.squares(values))

    def largest(self, values):
        return max(self._all(float(np.max(values, initial=-np.inf))))

    def gather(self, values):
        return np.concatenate(self._all(np.asarray(values)))


def _in_parts(n: int, work):
    """Run ``work(part, sums)`` on two threads, each with its half of ``range(n)``; return both."""
    import threading

    parts = [slice(0, n // 2), slice(n // 2, n)]
    barrier, slots, out = threading.Barrier(2), [None, None], [None, None]

    def run(me):
        out[me] = work(parts[me], _PartSums(barrier, slots, me))

    threads = [threading.Thread(target=run, args=(me,)) for me in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


@pytest.mark.parametrize("kind", ["dirichlet", "robin", "pure-neumann", "variable"])
def test_the_certificate_summed_over_parts_is_the_serial_one(kind, rng):
    """certify.certificate on the parts of the vectors, with sums over the parts (what the PETSc
    backend's ranks do), gives the serial Certifier's numbers."""
    from kronpde.problem.certify import Measure, certificate

    problem = _problem(kind, (10, 9))
    b, _ = problem.project_rhs(problem.rhs_values.reshape(-1))
    u = solve(problem, "direct").x + 1e-6 * rng.standard_normal(problem.size)
    serial = problem.error_bound(u, b)
    certifier = problem.certifier
    r = b - problem.linear_operator().matvec(u)
    au = certifier._abs_apply(np.abs(u), np.empty(problem.size))
    w, scale = problem.unknown_weights, problem.symmetric_scale
    null = scale / np.linalg.norm(scale) if problem.singular else None

    def part_certificate(part, sums):
        measure = Measure(
            w[part], scale[part], None if null is None else null[part], float(w.sum()),
            problem.size, certifier.terms, sums,
        )  # fmt: skip
        return certificate(
            r[part].copy(), u[part], b[part], lambda _: au[part], measure, certifier.eigenvalue
        )

    for got in _in_parts(problem.size, part_certificate):
        for field in ("residual_norm", "weighted_residual", "rounding", "mean_term", "bound"):
            assert getattr(got, field) == pytest.approx(getattr(serial, field), rel=1e-12), field


@pytest.mark.parametrize("kind", [k for k in KINDS if k.startswith("variable")])
def test_the_variable_bound_summed_over_parts_is_the_serial_one(kind):
    """spectrum.variable_bound on the parts of the rows, with sums over the parts (the PETSc
    backend's flux-form bound), gives the serial flux form's bound."""
    from kronpde.problem.certify import certified_eigenvalue
    from kronpde.problem.spectrum import variable_bound

    problem = _problem(kind, (10, 9))
    scheme = problem.discretisation
    singular = bool(problem.singular)
    serial = problem.smallest_eigenvalue()
    a_hat = problem.linear_operator(symmetric=True)
    diagonal = problem.diagonal()
    faces = problem.face_coefficient_values().values()
    k_min = min([float(np.min(problem.coefficient_values())), *(float(np.min(f)) for f in faces)])
    scale = problem.symmetric_scale
    null = scale / np.linalg.norm(scale) if singular else None

    def part_bound(part, sums):
        def apply(x):
            return a_hat.matvec(sums.gather(x))[part]

        found = variable_bound(
            scheme.unit_bound(singular), k_min, problem.shift, apply, diagonal[part],
            None if null is None else null[part], problem.grid.dimension, sums,
        )  # fmt: skip
        return certified_eigenvalue(found)

    for got in _in_parts(problem.size, part_bound):
        assert got.value == pytest.approx(serial.value, rel=1e-13)
        assert got.computed == serial.computed
        assert got.how == serial.how


def _two_apply_certificate(problem: Problem, u: np.ndarray, b: np.ndarray):
    """The certificate as computed before the one-pass residual: ``A u``, then ``|A||u|``."""
    from kronpde.problem.certify import certificate

    certifier = problem.certifier
    n = u.size
    r, t = np.empty(n), np.empty(n)
    problem.linear_operator().matvec_into(u, r)
    np.subtract(b, r, out=r)
    return certificate(
        r,
        u,
        b,
        lambda absu: certifier._abs_apply(absu, r),
        certifier.measure,
        certifier.eigenvalue,
        t,
    )


@pytest.mark.parametrize(
    "kind", ["dirichlet", "neumann", "robin", "periodic", "mixed", "shift", "stretched",
             "stretched-periodic"],
)  # fmt: skip
@pytest.mark.parametrize("cells", [(40,), (18, 12), (12, 10, 9)])
@pytest.mark.parametrize("signs", ["solution", "one-signed", "mixed"])
def test_the_one_pass_certificate_equals_the_two_apply_one(kind, cells, signs):
    """The NumPy one-pass residual and its sums give the certificate of two applies (1e-12)."""
    problem = _problem(kind, cells)
    assert problem.linear_operator().residual_sums is not None
    b, _ = problem.project_rhs(problem.rhs_values.reshape(-1))
    rng = np.random.default_rng(len(cells))
    u = solve(problem, "direct").x
    if signs == "one-signed":  # the Z-matrix shortcut for |A||u| (positive and negative)
        u = np.abs(u) + 0.1 + 1e-6 * rng.random(problem.size)
        u = -u if len(cells) == 2 else u
    elif signs == "mixed":
        u = u + 1e-3 * rng.standard_normal(problem.size)
    new = problem.error_bound(u, b)
    old = _two_apply_certificate(problem, u, b)
    assert new.residual_norm == pytest.approx(old.residual_norm, rel=1e-12)
    assert new.weighted_residual == pytest.approx(old.weighted_residual, rel=1e-12)
    assert new.rounding == pytest.approx(old.rounding, rel=1e-12)
    assert new.bound == pytest.approx(old.bound, rel=1e-12)

