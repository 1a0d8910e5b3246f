"""Separable operators (issue 28): coefficients at the faces, Robin of either sign, anisotropy.

Anchors: operators written entry by entry from the rules of case-format.md
("Separable operators, anisotropy, Helmholtz of either sign"), manufactured
solutions differentiated by hand (observed order), scipy's ``spsolve`` of the
same matrix, closed forms.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse.linalg as sla
from cell_reference import staggered_reference
from conftest import observed_order
from reference_operators import weighted_operator

from kronpde import Dirichlet, Grid, Neumann, Periodic, Problem, Robin
from kronpde.errors import DataError, OptionError, SolverError
from kronpde.solvers import prepare, solve


def test_a_formula_is_evaluated_at_every_face_the_fluxes_cross():
    """An expression and a callable give the same operator: k at the interval mid-points."""
    g = Grid.box([6, 5], boundary={"xmax": Robin(1.0, 2.0), "ymin": Robin(1.0, 1.0)})
    expr = Problem(g, 1.0, coefficient="1 + x + x*y**2")
    func = Problem(g, 1.0, coefficient=lambda x, y: 1 + x + x * y**2)
    mat, _ = staggered_reference(g, 1.0, 0.0, k=lambda x, y: 1 + x + x * y**2)
    scale = float(np.max(np.abs(mat)))
    assert np.max(np.abs(expr.operator().toarray() - mat)) <= 1e-13 * scale
    assert np.max(np.abs(func.operator().toarray() - mat)) <= 1e-13 * scale


def test_an_array_keeps_the_harmonic_mean_of_its_points():
    g = Grid.box([6, 5], boundary={"xmax": Robin(1.0, 2.0)})
    x, y = g.node_coordinates()
    k = 1 + x + x * y**2
    p = Problem(g, 1.0, coefficient=k)
    ref = weighted_operator(g, k).toarray()
    got = p.weighted_operator().toarray()
    assert np.max(np.abs(got - ref)) <= 1e-13 * np.max(np.abs(ref))
    mat, _ = staggered_reference(g, 1.0, 0.0, k=k)  # the cell reference's harmonic path
    assert np.max(np.abs(p.operator().toarray() - mat)) <= 1e-13 * np.max(np.abs(mat))


def test_faces_improve_a_rough_coefficient_and_keep_second_order():
    """-(k u')' = f with k = 1 + 0.9 sin(8 pi x): observed order 2 on the faces' k."""
    errors, hs = [], []
    for m in (32, 64, 128):
        g = Grid.box([m])
        k = "1 + 0.9*sin(8*pi*x)"
        # u = sin(pi x): -(k u')' = -(k' u' + k u'')
        f = "-(0.9*8*pi*cos(8*pi*x)*pi*cos(pi*x)) + (1 + 0.9*sin(8*pi*x))*pi**2*sin(pi*x)"
        u = solve(Problem(g, f, coefficient=k), method="direct").u
        xs = g.node_coordinates()[0]
        errors.append(float(np.max(np.abs(u - np.sin(np.pi * xs)))))
        hs.append(1.0 / m)
    order = observed_order(hs, errors)
    assert 1.9 <= order <= 2.1, (errors, order)


def test_a_face_value_that_is_not_finite_names_the_coefficient_and_the_point():
    g = Grid.box([5])  # nodes 0, 0.2, ..., 1; the interval mid-point 0.5 is a face
    with pytest.raises(DataError) as err:
        Problem(g, 1.0, coefficient="2 + (x - 0.5)/abs(x - 0.5)")
    assert err.value.subject == "coefficient"
    assert "0.5" in str(err.value)


def test_k_min_and_the_contrast_take_the_interior_faces():
    """k = 2 + cos(2 pi m x): 3 at every node, 1 at every interval mid-point."""
    m = 16
    g = Grid.box([m, m])
    p = Problem(g, 1.0, coefficient=f"2 + cos(2*pi*{m}*x)")
    k_min, k_max = p.coefficient_range()
    assert abs(k_min - 1.0) < 1e-12
    assert abs(k_max - 3.0) < 1e-12
    prepared = prepare(p, method="fastdiag-cg")
    assert abs(prepared.backend.contrast - 3.0) < 1e-9
    bound = p.smallest_eigenvalue()
    exact = sla.eigsh(p.operator(symmetric=True), k=1, sigma=0.0, return_eigenvectors=False)
    assert bound is not None
    assert bound.value <= float(exact[0])
    assert "k_min = 1 " in bound.how  # the faces' 1, not the nodes' 3


def _robin_grid(m: int) -> Grid:
    """u = exp(x) sin(y) + 1 on [0,1]^2; x = 0: u_x + u = 2 sin(y) + 1, i.e. alpha 1, beta -1."""
    return Grid.box(
        [m, m],
        boundary={"xmin": Robin(1.0, -1.0, "2*sin(y) + 1")},
        default=Dirichlet("exp(x)*sin(y) + 1"),
    )


@pytest.mark.parametrize("method", ["fastdiag", "direct"])
def test_robin_of_either_sign_is_second_order(method):
    errors, hs = [], []
    for m in (16, 32, 64):
        g = _robin_grid(m)
        p = Problem(g, source="exp(x)*sin(y)*0", shift=0.0)
        sol = solve(p, method=method)
        x, y = g.node_coordinates()
        errors.append(float(np.max(np.abs(sol.u - (np.exp(x) * np.sin(y) + 1)))))
        hs.append(1.0 / m)
    order = observed_order(hs, errors)
    assert 1.9 <= order <= 2.1, (errors, order)


def test_robin_feeding_energy_is_refused_by_cg_naming_the_exact_methods():
    """Neumann elsewhere: u = 1 has Rayleigh quotient -1 < 0, so A is indefinite."""
    g = Grid.box([16, 16], boundary={"xmin": Robin(1.0, -1.0, 0.0)}, default=Neumann())
    lam = sla.eigsh(Problem(g, 1.0).operator(symmetric=True), k=1, which="SA")[0][0]
    assert lam < 0.0
    p = Problem(g, source="x*y")
    with pytest.raises((OptionError, SolverError)) as err:
        solve(p, method="cg")
    assert "fastdiag" in str(err.value)
    # a k of x alone is a layered medium: fastdiag's tridiagonal axis solves it exactly
    layered = Problem(g, source="x*y", coefficient="1 + x")
    with pytest.raises((OptionError, SolverError)) as err:
        solve(layered, method="fastdiag-cg")
    assert "fastdiag" in str(err.value)
    k = Problem(g, source="x*y", coefficient="1 + x*y")  # no fast exact solve: direct
    with pytest.raises((OptionError, SolverError)) as err:
        solve(k, method="fastdiag-cg")
    assert "direct" in str(err.value)
    # the exact methods solve it: the same u to rounding, and A u = b
    a = solve(p, method="fastdiag").u
    b = solve(p, method="direct").u
    assert np.max(np.abs(a - b)) <= 1e-10 * np.max(np.abs(b))
    ref = sla.spsolve(p.operator().tocsc(), p.rhs())
    assert np.max(np.abs(p.to_nodes(ref) - a)) <= 1e-10 * np.max(np.abs(a))


# -- anisotropic diffusion (item 1) ---------------------------------------------------------

ANISOTROPIC = [
    # (cells, centring, boundary, k per axis as callables, separable)
    ([6, 5], "node", {"xmax": Robin(1.0, 2.0), "ymin": Neumann()}, "sep"),
    ([5, 4], "cell", {"xmin": Neumann(), "ymax": Robin(2.0, 1.0)}, "sep"),
    ([5, 4], ["node", "cell"], {"ymin": Periodic(), "ymax": Periodic()}, "mixed"),
    ([4, 3, 3], "node", {"zmin": Neumann()}, "sep"),
]


def _k_entries(kind: str, d: int):
    """Expressions, and the same as callables (axis i's own, or mixed)."""
    own = ["1 + x", "2 + sin(y)", "1.5 + z**2"][:d]
    texts = list(own) if kind == "sep" else ["1 + x*y", "2 + cos(2*pi*y)", "1 + z"][:d]
    if kind == "sep":
        texts[-1] = "3.0"  # a number on one axis
    funcs = [
        {
            "1 + x": lambda *c: 1 + c[0],
            "2 + sin(y)": lambda *c: 2 + np.sin(c[1]),
            "1.5 + z**2": lambda *c: 1.5 + c[2] ** 2,
            "3.0": lambda *c: 3.0 + 0 * c[0],
            "1 + x*y": lambda *c: 1 + c[0] * c[1],
            "2 + cos(2*pi*y)": lambda *c: 2 + np.cos(2 * np.pi * c[1]),
            "1 + z": lambda *c: 1 + c[2],
        }[t]
        for t in texts
    ]
    return texts, funcs


@pytest.mark.parametrize("case", ANISOTROPIC, ids=lambda c: f"{len(c[0])}d-{c[3]}")
def test_anisotropic_operator_is_the_flux_rules_and_fastdiag_is_spsolve(case):
    cells, centring, boundary, kind = case
    g = Grid.box(cells, boundary=boundary, centering=centring)
    texts, funcs = _k_entries(kind, g.dimension)
    names = "xyz"[: g.dimension]
    p = Problem(g, "1 + x", shift=0.3, coefficient=dict(zip(names, texts, strict=True)))
    assert type(p.discretisation).__name__ == ("SeparableSum" if kind == "sep" else "FluxForm")
    mat, rhs = staggered_reference(g, lambda *c: 1 + c[0], 0.3, k=funcs)
    scale = float(np.max(np.abs(mat)))
    assert np.max(np.abs(p.operator().toarray() - mat)) <= 1e-13 * scale
    assert np.max(np.abs(p.rhs() - rhs)) <= 1e-13 * np.max(np.abs(rhs))
    ref = sla.spsolve(p.operator().tocsc(), p.rhs())
    for method in ("fastdiag", "direct") if kind == "sep" else ("direct",):
        u = solve(p, method=method).u
        assert np.max(np.abs(p.to_nodes(ref) - u)) <= 1e-10 * np.max(np.abs(ref))
    callables = Problem(g, "1 + x", shift=0.3, coefficient=funcs)  # the same through Python
    assert np.max(np.abs(callables.operator().toarray() - mat)) <= 1e-13 * scale


ANISOTROPIC_MANUFACTURED = {
    # u = sin(pi x) sin(pi y); f = -(k_x u_x)_x - (k_y u_y)_y by hand
    "separable": (
        "1 + x",
        "2 + sin(y)",
        "-pi*cos(pi*x)*sin(pi*y) + (1 + x)*pi**2*sin(pi*x)*sin(pi*y)"
        " - cos(y)*pi*sin(pi*x)*cos(pi*y) + (2 + sin(y))*pi**2*sin(pi*x)*sin(pi*y)",
        ("fastdiag", "direct", "cg", "fastdiag-cg", "amg-cg"),
    ),
    "general": (
        "1 + x*y",
        "2 + x",
        "-y*pi*cos(pi*x)*sin(pi*y) + (1 + x*y)*pi**2*sin(pi*x)*sin(pi*y)"
        " + (2 + x)*pi**2*sin(pi*x)*sin(pi*y)",
        ("direct", "cg", "fastdiag-cg", "amg-cg"),
    ),
}


@pytest.mark.parametrize("kind", sorted(ANISOTROPIC_MANUFACTURED))
def test_anisotropic_order_two_with_every_method_that_accepts_it(kind):
    kx, ky, f, methods = ANISOTROPIC_MANUFACTURED[kind]
    errors = {m: [] for m in methods}
    hs = []
    for m in (16, 32, 64):
        g = Grid.box([m, m])
        p = Problem(g, f, coefficient={"x": kx, "y": ky})
        xs, ys = g.node_coordinates()
        exact = np.sin(np.pi * xs) * np.sin(np.pi * ys)
        for method in methods:
            u = solve(p, method=method, rtol=1e-12).u
            errors[method].append(float(np.max(np.abs(u - exact))))
        hs.append(1.0 / m)
    for method, e in errors.items():
        order = observed_order(hs, e)
        assert 1.9 <= order <= 2.1, (method, e, order)
    if kind == "general":
        with pytest.raises((OptionError, SolverError)) as err:
            solve(Problem(Grid.box([8, 8]), f, coefficient={"x": kx, "y": ky}), method="fastdiag")
        assert "fastdiag-cg" in str(err.value)


def test_a_per_axis_table_naming_an_axis_the_grid_lacks_names_the_key():
    with pytest.raises(DataError) as err:
        Problem(Grid.box([4, 4]), 1.0, coefficient={"x": 1.0, "z": 2.0})
    assert err.value.subject == "coefficient.z"
    with pytest.raises(DataError) as err:
        Problem(Grid.box([4, 4]), 1.0, coefficient={"x": 1.0})
    assert err.value.subject == "coefficient.y"
    with pytest.raises(DataError) as err:
        Problem(Grid.box([4, 4]), 1.0, coefficient={"x": 1.0, "y": "x - 2"})
    assert err.value.subject == "coefficient.y"


def test_equal_numbers_per_axis_are_the_isotropic_kronecker_sum():
    g = Grid.box([6, 5])
    same = Problem(g, 1.0, coefficient=[2.0, 2.0])
    iso = Problem(g, 1.0, coefficient=2.0)
    assert abs(same.operator() - iso.operator()).max() == 0.0
    aniso = Problem(g, 1.0, coefficient=[1.0, 4.0])  # the 1-D operators scaled per axis
    ref = (
        Problem(Grid.box([6]), 1.0).operator().toarray(),
        Problem(Grid.box([5]), 1.0).operator().toarray(),
    )
    kron = np.kron(ref[0], np.eye(4)) + 4.0 * np.kron(np.eye(5), ref[1])
    assert np.max(np.abs(aniso.operator().toarray() - kron)) <= 1e-12 * np.max(np.abs(kron))


ANISOTROPIC_DRIVER = """
import json, sys
import numpy as np
from mpi4py import MPI
from kronpde import Grid, Problem, solve

out = sys.argv[1]
records = {}
for name, k, methods in (
    ("separable", {"x": "1 + x", "y": 2.0}, ("fastdiag", "cg", "amg-cg")),
    ("general", {"x": "1 + x*y", "y": "2 + x"}, ("cg", "amg-cg", "fastdiag-cg")),
):
    p = Problem(Grid.box([24, 20]), "1 + x", coefficient=k)
    ref = solve(p, "direct")
    for method in methods:
        sol = solve(p, method, backend="petsc", rtol=1e-10)
        if MPI.COMM_WORLD.rank == 0:
            diff = float(np.abs(sol.u - ref.u).max() / np.abs(ref.u).max())
            records[f"{name} {method}"] = [diff, sol.report.method, sol.ranks]
if MPI.COMM_WORLD.rank == 0:
    with open(out, "w") as f:
        json.dump(records, f)
"""


@pytest.mark.petsc
def test_anisotropic_runs_on_petsc_as_a_variable_k(tmp_path):
    import json
    import os
    import shutil
    import subprocess
    import sys

    script = tmp_path / "driver.py"
    script.write_text(ANISOTROPIC_DRIVER)
    out = tmp_path / "out.json"
    env = dict(os.environ)
    env.update(
        OMPI_ALLOW_RUN_AS_ROOT="1",
        OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
        OMPI_MCA_rmaps_base_oversubscribe="1",
        OMPI_MCA_mpi_yield_when_idle="1",
        OMP_NUM_THREADS="1",
    )
    mpirun = shutil.which("mpirun") or shutil.which("mpiexec")
    assert mpirun is not None
    proc = subprocess.run(
        [mpirun, "-n", "2", sys.executable, str(script), str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    records = json.loads(out.read_text())
    assert len(records) == 6
    for name, (diff, method, ranks) in records.items():
        assert diff <= 1e-8, (name, diff)
        assert method == name.split()[1]
        assert ranks == 2


# -- MINRES with the absolute-value fast inverse (item 3) -----------------------------------


def _between_10th_and_11th(m: int, contrast: float):
    g = Grid.box([m, m])
    k = f"1 + {(contrast - 1) / 2}*(1 + sin(2*pi*x)*sin(2*pi*y))"
    base = Problem(g, "1 + x", coefficient=k)
    lam = np.sort(
        sla.eigsh(base.operator(symmetric=True).tocsc(), k=12, sigma=0.0, return_eigenvectors=False)
    )
    return base.with_shift(-0.5 * (lam[9] + lam[10])), lam


@pytest.mark.parametrize("contrast", [3.0, 19.0])
def test_minres_solves_a_variable_k_between_the_10th_and_11th_eigenvalues(contrast):
    p, lam = _between_10th_and_11th(48, contrast)
    assert lam[9] < -p.shift < lam[10]
    sol = solve(p, method="fastdiag-minres", rtol=1e-8)
    assert sol.report.converged
    b = p.rhs()
    true = np.linalg.norm(b - p.operator() @ sol.x) / np.linalg.norm(b)
    assert true <= 1e-8  # the true residual, not MINRES's estimate
    ref = sla.spsolve(p.operator().tocsc(), b)
    assert np.max(np.abs(sol.x - ref)) <= 1e-5 * np.max(np.abs(ref))
    assert 0 < sol.report.iterations < 200
    with pytest.raises((OptionError, SolverError)) as err:
        solve(p, method="fastdiag-cg")
    assert "direct" in str(err.value)


def test_the_absolute_preconditioner_is_far_from_resonance_and_spd():
    """k0 is chosen so that min |Λ0 + c| is the largest over the factors tried; M is SPD."""
    from kronpde.solvers.fastdiag_minres import K0_FACTORS, absolute_preconditioner

    p, _ = _between_10th_and_11th(16, 3.0)
    solver, k0, gap = absolute_preconditioner(p)
    k_ref = p.discretisation.reference_structure().coefficient
    unit = Problem(p.grid, 1.0)  # the unit Kronecker sum's eigenvalues, dense
    mu = np.linalg.eigvals(unit.operator().toarray()).real
    gaps = [np.min(np.abs(f * k_ref * mu + p.shift)) for f in K0_FACTORS]
    assert abs(gap - max(gaps)) <= 1e-8 * max(gaps)
    assert abs(k0 - K0_FACTORS[int(np.argmax(gaps))] * k_ref) <= 1e-12 * k0
    d = p.symmetric_scale
    m = np.column_stack([d * solver.solve(e / d) for e in np.eye(p.size)])
    assert np.max(np.abs(m - m.T)) <= 1e-12 * np.max(np.abs(m))
    assert np.min(np.linalg.eigvalsh(0.5 * (m + m.T))) > 0.0


# -- the non-divergence form (item 2) -------------------------------------------------------

ND_SECOND = {"x": "(1 + x)**2", "y": "exp(y)"}
ND_FIRST = {"x": "2*(1 + x)", "y": "y"}
# u = cos(x) (1 + y^2), c = 0.5: f = -(a_x u_xx + b_x u_x + a_y u_yy + b_y u_y) + c u
ND_SOURCE = (
    "(1 + x)**2*cos(x)*(1 + y**2) + 2*(1 + x)*sin(x)*(1 + y**2) - exp(y)*2*cos(x)"
    " - y*2*y*cos(x) + 0.5*cos(x)*(1 + y**2)"
)


def _nd_grid(m: int) -> Grid:
    return Grid.box(
        [m, m],
        boundary={"xmin": Neumann(0.0), "xmax": Robin(1.0, 2.0, "(cos(1) - 2*sin(1))*(1 + y**2)")},
        default=Dirichlet("cos(x)*(1 + y**2)"),
    )


def _nd_reference(g: Grid, a, b, shift: float) -> np.ndarray:
    """Central differences written node by node: -(a u'' + b u') per axis, ghost reflection."""
    axes = g.axes
    ranges = [range(ax.unknown_slice.start, ax.unknown_slice.stop) for ax in axes]
    unknowns = [(i, j) for i in ranges[0] for j in ranges[1]]
    index = {u: r for r, u in enumerate(unknowns)}
    mat = np.zeros((len(unknowns), len(unknowns)))
    for r, node in enumerate(unknowns):
        mat[r, r] += shift
        for ax_i, ax in enumerate(axes):
            h, j = ax.h, node[ax_i]
            x = ax.nodes[j]
            aa, bb = a[ax_i](x), b[ax_i](x)
            coef = {
                -1: -(aa / h**2 - bb / (2 * h)),
                0: 2 * aa / h**2,
                1: -(aa / h**2 + bb / (2 * h)),
            }
            mat[r, r] += coef[0]
            for step in (-1, 1):
                nb = list(node)
                nb[ax_i] = j + step
                if tuple(nb) in index:
                    mat[r, index[tuple(nb)]] += coef[step]
                    continue
                if 0 <= j + step <= ax.cells:
                    continue  # a Dirichlet node: the right-hand side
                bc = ax.upper_bc if step > 0 else ax.lower_bc
                mirror = list(node)
                mirror[ax_i] = j - step  # u_ghost = u_mirror + 2 h du/dn
                mat[r, index[tuple(mirror)]] += coef[step]
                if isinstance(bc, Robin):  # du/dn = (g - alpha u) / beta
                    mat[r, r] -= coef[step] * 2 * h * bc.alpha / bc.beta
    return mat


def test_nondivergence_operator_is_central_differences_and_fastdiag_is_spsolve():
    g = _nd_grid(8)
    p = Problem(g, ND_SOURCE, shift=0.5, second=ND_SECOND, first=ND_FIRST)
    assert type(p.discretisation).__name__ == "NonDivergenceSum"
    a = [lambda x: (1 + x) ** 2, np.exp]
    b = [lambda x: 2 * (1 + x), lambda y: y]
    ref = _nd_reference(g, a, b, 0.5)
    assert np.max(np.abs(p.operator().toarray() - ref)) <= 1e-12 * np.max(np.abs(ref))
    for shift in (0.5, -7.0):
        q = p.with_shift(shift)
        x = sla.spsolve(q.operator().tocsc(), q.rhs())
        for method in ("fastdiag", "direct"):
            u = solve(q, method=method).x
            assert np.max(np.abs(u - x)) <= 1e-10 * np.max(np.abs(x)), (shift, method)


@pytest.mark.parametrize("method", ["fastdiag", "direct"])
def test_nondivergence_is_second_order(method):
    errors, hs = [], []
    for m in (16, 32, 64):
        g = _nd_grid(m)
        p = Problem(g, ND_SOURCE, shift=0.5, second=ND_SECOND, first=ND_FIRST)
        x, y = g.node_coordinates()
        u = solve(p, method=method).u
        errors.append(float(np.max(np.abs(u - np.cos(x) * (1 + y**2)))))
        hs.append(1.0 / m)
    order = observed_order(hs, errors)
    assert 1.9 <= order <= 2.1, (errors, order)


@pytest.mark.parametrize("method", ["cg", "amg-cg", "fastdiag-cg"])
def test_cg_methods_refuse_the_nondivergence_form_naming_fastdiag_and_direct(method):
    p = Problem(_nd_grid(8), ND_SOURCE, second=ND_SECOND, first=ND_FIRST)
    with pytest.raises((OptionError, SolverError)) as err:
        solve(p, method=method)
    assert "'fastdiag'" in str(err.value)
    assert "'direct'" in str(err.value)


@pytest.mark.parametrize(
    ("cells", "second", "first", "words"),
    [
        # on both axes: one such axis is solved tridiagonally (test_nondivergence_partial.py)
        (16, {"x": 1.0, "y": 1.0}, {"x": "40", "y": "40"}, "Peclet"),  # |b| h / a = 2.5
        (32, {"x": 1.0, "y": 1.0}, {"x": "40", "y": "40"}, "condition number"),  # 1.25: 1.6e10
        (16, {"x": "exp(40*x)", "y": "exp(40*y)"}, None, "condition number"),  # w ~ 1/a: 4e7
    ],
)
def test_fastdiag_refuses_complex_spectra_and_ill_conditioned_eigenvectors(
    cells, second, first, words
):
    g = Grid.box([cells, cells])
    p = Problem(g, 1.0, second=second, first=first)
    with pytest.raises((OptionError, SolverError)) as err:
        solve(p, method="fastdiag")
    assert words in str(err.value)
    assert "'direct'" in str(err.value)
    sol = solve(p, method="direct")
    ref = sla.spsolve(p.operator().tocsc(), p.rhs())
    assert np.max(np.abs(sol.x - ref)) <= 1e-8 * np.max(np.abs(ref))
    assert solve(p).report.method == "direct"  # auto


@pytest.mark.parametrize(
    ("equation", "key", "words"),
    [
        ('second = { x = "1 + y", y = 1.0 }', "[equation] second.x", "x alone"),
        ('second = { x = 1.0, y = "y - 0.5" }', "[equation] second.y", "> 0"),
        ("coefficient = 2.0\nsecond = { x = 1.0, y = 1.0 }", "[equation] second", "both"),
        ("coefficient = { x = 1.0, z = 2.0 }", "[equation] coefficient.z", "no axis"),
        ("second = { x = 1.0, z = 2.0 }", "[equation] second.z", "no axis"),
    ],
)
def test_bad_separable_input_exits_2_naming_the_key(equation, key, words, tmp_path, capsys):
    from kronpde.app import cli

    case = tmp_path / "case.toml"
    case.write_text(
        "[grid]\ncells = [8, 8]\n[equation]\nsource = 1.0\n"
        + equation
        + '\n[boundary]\ndefault = { type = "dirichlet", value = 0 }\n'
    )
    assert cli.main(["check", str(case)]) == 2
    err = capsys.readouterr().err
    assert key in err, err
    assert words in err, err
    assert len(err.strip().splitlines()) == 1


# -- a shift c(x) that is a sum of functions of one axis each (item 3) -----------------------


def test_a_separable_shift_joins_the_1d_operators_and_fastdiag_stays_exact():
    g = Grid.box([12, 10], boundary={"xmax": Neumann()})
    p = Problem(g, "1 + x", shift="x**2 - 3*y", coefficient=2.0)
    x, y = g.unknown_coordinates()
    c = np.broadcast_to(x**2 - 3 * y, g.shape).reshape(-1)
    ref = 2.0 * Problem(g, 1.0).operator().toarray() + np.diag(c)
    assert np.max(np.abs(p.operator().toarray() - ref)) <= 1e-12 * np.max(np.abs(ref))
    exact = sla.spsolve(p.operator().tocsc(), p.rhs())
    u = solve(p, method="fastdiag").x
    assert np.max(np.abs(u - exact)) <= 1e-10 * np.max(np.abs(exact))
    # c < 0 somewhere: CG needs the certified bound, which the 1-D operators give
    q = Problem(g, "1 + x", shift="-40 + x", coefficient=1.0)
    assert np.min(np.linalg.eigvals(q.operator().toarray()).real) < 0
    with pytest.raises((OptionError, SolverError)) as err:
        solve(q, method="cg")
    assert "fastdiag" in str(err.value)


def test_a_separable_shift_with_a_coefficient_that_is_not_goes_to_the_flux_form():
    p = Problem(Grid.box([6, 6]), 1.0, shift="x", coefficient="1 + x*y")
    assert type(p.discretisation).__name__ == "FluxForm"
    with pytest.raises(DataError) as err:  # the non-divergence form keeps separable c only
        Problem(Grid.box([6, 6]), 1.0, shift="x*y", second={"x": 1.0, "y": 1.0})
    assert err.value.subject == "shift"


@pytest.mark.parametrize(
    ("k", "flux"),
    [({"x": "1 + x", "y": 3.0}, -2.0 * 0.7), ({"x": "1 + x*y", "y": "2 + x"}, -1.5 * 0.7)],
)
def test_anisotropic_fluxes_read_the_normal_axis_coefficient_and_balance(k, flux):
    """On x = 1, du/dn = 0.7: q = -∫ k_x 0.7 dy (k_x(1, y) = 2, or 1 + y: ∫ = 1.5)."""
    from kronpde.problem.fluxes import face_fluxes

    g = Grid.box([16, 12], boundary={"xmax": Neumann(0.7), "ymin": Robin(1.0, 2.0, 0.3)})
    p = Problem(g, "x*y + 1", shift=0.5, coefficient=k)
    balance = face_fluxes(p, solve(p, method="direct").u)
    assert abs(balance.fluxes["xmax"] - flux) <= 1e-12
    assert abs(balance.imbalance) <= 1e-12


# -- any other shift c(x): the flux form's diagonal -----------------------------------------

C_SOURCE = "2*pi**2*sin(pi*x)*sin(pi*y) + x*y*sin(pi*x)*sin(pi*y)"  # u = sin sin, c = x y


def test_a_shift_that_is_not_separable_is_second_order_with_every_method_that_takes_it():
    methods = ("direct", "cg", "fastdiag-cg", "amg-cg", "fastdiag-minres")
    errors = {m: [] for m in methods}
    hs = []
    for m in (16, 32, 64):
        g = Grid.box([m, m])
        p = Problem(g, C_SOURCE, shift="x*y")
        assert type(p.discretisation).__name__ == "FluxForm"
        x, y = g.node_coordinates()
        for method in methods:
            u = solve(p, method=method, rtol=1e-12).u
            errors[method].append(float(np.max(np.abs(u - np.sin(np.pi * x) * np.sin(np.pi * y)))))
        hs.append(1.0 / m)
    for method, e in errors.items():
        assert 1.9 <= observed_order(hs, e) <= 2.1, (method, e)
    with pytest.raises((OptionError, SolverError)) as err:
        solve(Problem(Grid.box([8, 8]), C_SOURCE, shift="x*y"), method="fastdiag")
    assert "c(x)" in str(err.value)


def test_a_shift_field_enters_the_diagonal_the_fluxes_and_the_indefinite_checks():
    g = Grid.box([12, 10], boundary={"xmax": Neumann(0.3)})
    p = Problem(g, "1 + x", shift="x*y + 1")
    x, y = g.unknown_coordinates()
    c = np.broadcast_to(x * y + 1, g.shape).reshape(-1)
    ref = Problem(g, 1.0).operator().toarray() + np.diag(c)
    assert np.max(np.abs(p.operator().toarray() - ref)) <= 1e-12 * np.max(np.abs(ref))
    from kronpde.problem.fluxes import face_fluxes

    assert abs(face_fluxes(p, solve(p, method="direct").u).imbalance) <= 1e-12
    q = Problem(g, "1 + x", shift="-60 + 10*x*y", coefficient="1 + x")  # indefinite
    with pytest.raises((OptionError, SolverError)) as err:
        solve(q, method="cg")
    assert "c(x) = -60 + 10*x*y" in str(err.value)
    sol = solve(q, method="fastdiag-minres", rtol=1e-10)
    exact = sla.spsolve(q.operator().tocsc(), q.rhs())
    assert np.max(np.abs(sol.x - exact)) <= 1e-8 * np.max(np.abs(exact))


@pytest.mark.parametrize("form", ["separable", "nondivergence"])
def test_prepare_once_and_set_any_real_shift(form):
    """prepare(...).set_shift(c) keeps the set-up for c of either sign; each solve is spsolve's."""
    from kronpde.solvers import prepare

    g = Grid.box([16, 12], boundary={"xmax": Neumann()})
    if form == "separable":
        p = Problem(g, "1 + x", coefficient={"x": "1 + x", "y": 2.0})
    else:
        p = Problem(g, "1 + x", second={"x": "(1 + x)**2", "y": 1.0}, first={"x": "x"})
    prepared = prepare(p, "fastdiag")
    for c in (3.0, -17.0, -60.5, 0.25):
        assert prepared.set_shift(c)
        q = p.with_shift(c)
        exact = sla.spsolve(q.operator().tocsc(), q.rhs())
        u = prepared.solve(q.rhs()).x
        assert np.max(np.abs(u - exact)) <= 1e-9 * np.max(np.abs(exact)), c


def test_refined_keeps_the_form_and_the_shift_expression():
    g = Grid.box([8, 6])
    for kwargs in (
        {"shift": "x + y", "second": {"x": "1 + x", "y": 1.0}, "first": {"x": "x"}},
        {"shift": "x*y", "coefficient": {"x": "1 + x", "y": 2.0}},
    ):
        fine = Problem(g, 1.0, **kwargs).refined(2)
        again = Problem(Grid.box([16, 12]), 1.0, **kwargs)
        assert abs(fine.operator() - again.operator()).max() == 0.0
