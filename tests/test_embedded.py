"""Embedded boundaries (issue 26): orders, the matrices against independent constructions,
the methods against spsolve, masks, the bound, the output and the case-file errors."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as sla
from scipy.optimize import brentq

from kronpde import Dirichlet, Grid, Neumann, Problem, prepare, solve
from kronpde.app import cli
from kronpde.errors import DataError
from kronpde.expr.expression import parse_expression
from kronpde.geometry.domain import Domain, DomainGeometry, cut_fraction
from kronpde.problem.embedded_rows import THETA_MIN

DISC = "sqrt(x**2 + y**2) - 0.8"
DISC_U = "exp(x)*sin(2*y) + x**2"
DISC_F = "-(exp(x)*sin(2*y)*(1 - 4) + 2)"


def disc_problem(n: int, centering: str = "node") -> Problem:
    g = Grid.box([n, n], lower=[-1, -1], upper=[1, 1], boundary=Dirichlet(0.0), centering=centering)
    return Problem(g, source=DISC_F, domain=DISC, embedded=Dirichlet(DISC_U))


def exact_at_unknowns(p: Problem, text: str) -> np.ndarray:
    ex = parse_expression(text, dimension=p.grid.dimension)
    coords = p.grid.unknown_coordinates()
    with np.errstate(all="ignore"):
        return np.broadcast_to(ex.evaluate(coords, mask=False), p.grid.shape).reshape(-1)


def norms(p: Problem, x: np.ndarray, text: str) -> tuple[float, float]:
    inside = p.discretisation.domain_unknowns()
    e = (x - exact_at_unknowns(p, text))[inside]
    w = p.unknown_weights[inside]
    return float(np.max(np.abs(e))), float(np.sqrt(np.sum(w * e * e) / np.sum(w)))


def orders(errors: list[float]) -> list[float]:
    return [math.log2(a / b) for a, b in zip(errors, errors[1:], strict=False)]


def spsolve(p: Problem) -> np.ndarray:
    return sla.spsolve(sp.csc_matrix(p.operator()), p.rhs())


# -- the geometry ----------------------------------------------------------------------


def test_min_max_make_unions_and_intersections():
    g = Grid.box([40, 40], lower=[-1, -1], upper=[1, 1])
    a, b = "sqrt((x - 0.3)**2 + y**2) - 0.4", "sqrt((x + 0.3)**2 + y**2) - 0.4"
    union = DomainGeometry(g, Domain(f"min({a}, {b})", dimension=2)).inside
    inter = DomainGeometry(g, Domain(f"max({a}, {b})", dimension=2)).inside
    one = DomainGeometry(g, Domain(a, dimension=2)).inside
    two = DomainGeometry(g, Domain(b, dimension=2)).inside
    assert np.array_equal(union, one | two)
    assert np.array_equal(inter, one & two)


def test_crossings_are_roots_of_the_level_set():
    g = Grid.box([24, 24], lower=[-1, -1], upper=[1, 1])
    geo = DomainGeometry(g, Domain(DISC, dimension=2))
    x, y = g.points
    for axis in (0, 1):
        theta = geo.crossings(axis)
        for i, j in zip(*np.nonzero(~np.isnan(theta)), strict=True):
            a = (i, j)
            b = (i + 1, j) if axis == 0 else (i, j + 1)
            inside, outside = (a, b) if geo.inside[a] else (b, a)
            p = np.array([x[inside[0]], y[inside[1]]])
            q = np.array([x[outside[0]], y[outside[1]]])
            t = brentq(lambda s, p=p, q=q: np.hypot(*(p + s * (q - p))) - 0.8, 0.0, 1.0, xtol=1e-15)
            assert abs(theta[i, j] - t) < 1e-11


def test_volume_fractions_converge_to_the_disc_area():
    errors = []
    for n in (32, 64, 128):
        g = Grid.box([n, n], lower=[-1, -1], upper=[1, 1])
        vf = DomainGeometry(g, Domain(DISC, dimension=2)).volume_fraction
        errors.append(abs(vf.sum() * (2 / n) ** 2 - math.pi * 0.64))
    assert min(orders(errors)) > 1.8


def test_cut_fraction_of_a_linear_level_set_is_exact():
    # φ = x + 2y - 0.5 on the unit square: {φ < 0} is a triangle of area 0.5 * 0.5 * 0.25
    corners = np.array([[[-0.5, 1.5], [0.5, 2.5]]])  # [x][y] at (0,0), (0,1), (1,0), (1,1)
    assert abs(cut_fraction(corners)[0] - 0.0625) < 1e-8


# -- Dirichlet: the ghost rule ----------------------------------------------------------


def dense_dirichlet(n: int, level: str, g_emb: str, g_box: str, f: str):
    """GFCK's rule built point by point, roots by brentq: A and b on every box unknown."""
    h = 2.0 / n
    x = -1.0 + h * np.arange(n + 1)
    phi = parse_expression(level, dimension=2)
    ge, gb, src = (parse_expression(t, dimension=2) for t in (g_emb, g_box, f))

    def val(e, px, py):
        return float(e.evaluate([np.array(px), np.array(py)]))

    m = n - 1
    a = np.zeros((m * m, m * m))
    b = np.zeros(m * m)
    for i in range(1, n):
        for j in range(1, n):
            r = (i - 1) * m + (j - 1)
            a[r, r] = 4 / h**2
            if not val(phi, x[i], x[j]) < 0:
                continue
            b[r] = val(src, x[i], x[j])
            for di, dj in ((1, 0), (-1, 0), (0, 1), (0, -1)):
                qi, qj = i + di, j + dj
                q_in = val(phi, x[qi], x[qj]) < 0
                if q_in and 0 < qi < n and 0 < qj < n:
                    a[r, (qi - 1) * m + (qj - 1)] = -1 / h**2
                elif q_in:
                    b[r] += val(gb, x[qi], x[qj]) / h**2
                else:

                    def along(s, i=i, j=j, di=di, dj=dj):
                        return val(phi, x[i] + s * di * h, x[j] + s * dj * h)

                    t = brentq(along, 0.0, 1.0, xtol=1e-15)
                    th = max(t, THETA_MIN)
                    a[r, r] += (1 - th) / th / h**2
                    b[r] += val(ge, x[i] + t * di * h, x[j] + t * dj * h) / th / h**2
    return a, b


@pytest.mark.parametrize("level", [DISC, "max(abs(x) - 0.55, abs(y + 0.2) - 0.9)"])
def test_dirichlet_matrix_equals_an_independent_dense_construction(level):
    n = 14
    g = Grid.box([n, n], lower=[-1, -1], upper=[1, 1], boundary=Dirichlet("x - y"))
    p = Problem(g, source=DISC_F, domain=level, embedded=Dirichlet(DISC_U))
    a, b = dense_dirichlet(n, level, DISC_U, "x - y", DISC_F)
    ours = p.operator().toarray()
    assert np.max(np.abs(ours - a)) <= 1e-10 * np.max(np.abs(a))
    assert np.max(np.abs(p.rhs() - b)) <= 1e-10 * np.max(np.abs(b))
    sym = p.operator(symmetric=True).toarray()
    assert np.max(np.abs(sym - sym.T)) == 0.0


@pytest.mark.parametrize("centering", ["node", "cell"])
def test_disc_dirichlet_is_second_order_in_the_max_norm(centering):
    errors = []
    for n in (64, 128, 256):
        p = disc_problem(n, centering)
        errors.append(norms(p, spsolve(p), DISC_U)[0])
    got = orders(errors)
    assert all(1.8 <= o <= 2.2 for o in got), got
    overall = math.log2(errors[0] / errors[-1]) / 2
    assert 1.9 <= overall <= 2.1, (errors, got)


def test_every_method_that_accepts_it_equals_spsolve():
    p = disc_problem(64)
    ref = spsolve(p)
    scale = np.max(np.abs(ref))
    for method in ("fastdiag-cg", "amg-cg", "cg", "direct", "auto"):
        x = solve(p, method, rtol=1e-13).x
        assert np.max(np.abs(x - ref)) <= 1e-9 * scale, method
    sol = solve(p, "fastdiag-cg", rtol=1e-13, options={"correction": "none"})
    assert np.max(np.abs(sol.x - ref)) <= 1e-9 * scale


def test_the_band_correction_saves_iterations():
    p = disc_problem(128)
    with_band = solve(p, "fastdiag-cg", rtol=1e-8).report.iterations
    without = solve(p, "fastdiag-cg", rtol=1e-8, options={"correction": "none"}).report.iterations
    assert with_band * 2 < without, (with_band, without)


def test_ball_removed_from_a_box_is_second_order_in_rms():
    c = (0.0312, -0.0217, 0.0143)
    r = f"sqrt((x - {c[0]})**2 + (y - {c[1]})**2 + (z - {c[2]})**2)"
    u = f"1/{r}"
    rms = []
    for n in (16, 32, 64):
        g = Grid.box([n] * 3, lower=[-1] * 3, upper=[1] * 3, boundary=Dirichlet(u))
        p = Problem(g, source=0.0, domain=f"0.5 - {r}", embedded=Dirichlet(u))
        x = solve(p, "fastdiag-cg", rtol=1e-12).x
        if n == 16:
            assert np.max(np.abs(x - spsolve(p))) <= 1e-9 * np.max(np.abs(x))
        rms.append(norms(p, x, u)[1])
    got = orders(rms)
    assert all(1.8 <= o <= 2.2 for o in got[1:]), (rms, got)


def test_the_bound_is_below_the_smallest_eigenvalue():
    p = disc_problem(24)
    bound = p.smallest_eigenvalue()
    sym = p.operator(symmetric=True).toarray()
    inside = p.discretisation.domain_unknowns()
    lam = np.linalg.eigvalsh(sym[np.ix_(inside, inside)])[0]
    assert bound is not None
    assert 0.0 < bound.value <= lam
    # the box with every face made Dirichlet is the bound: far below the box's own minimum
    assert bound.value > 0.5 * lam
    neumann = Problem(p.grid, source=0.0, domain="0.5 - sqrt(x**2 + y**2)", embedded=Neumann())
    assert neumann.smallest_eigenvalue() is None
    report = solve(neumann, "fastdiag-cg", rtol="auto").report
    assert report.algebraic_error_bound is None


# -- Neumann: the cut cells -------------------------------------------------------------

CYL_U = "x*(1 + 0.25/(x**2 + y**2))"


def cylinder(n: int, centering: str = "node") -> Problem:
    g = Grid.box(
        [n, n], lower=[-2, -2], upper=[2, 2], boundary=Dirichlet(CYL_U), centering=centering
    )
    return Problem(g, source=0.0, domain="0.5 - sqrt(x**2 + y**2)", embedded=Neumann(0.0))


@pytest.mark.parametrize("centering", ["node", "cell"])
def test_neumann_cylinder_orders(centering):
    errors = []
    for n in (64, 128, 256):
        p = cylinder(n, centering)
        errors.append(norms(p, spsolve(p), CYL_U))
    rms = [e[1] for e in errors]
    mx = [e[0] for e in errors]
    assert math.log2(rms[0] / rms[-1]) / 2 >= 1.8, rms
    assert min(orders(rms)) >= 1.7, rms
    assert math.log2(mx[0] / mx[-1]) / 2 >= 1.4, mx


def test_neumann_methods_equal_spsolve_and_the_matrix_is_symmetric():
    p = cylinder(48)
    ref = spsolve(p)
    for method in ("fastdiag-cg", "amg-cg", "cg", "direct"):
        x = solve(p, method, rtol=1e-13).x
        assert np.max(np.abs(x - ref)) <= 1e-9 * np.max(np.abs(ref)), method
    sym = p.operator(symmetric=True)
    assert abs(sym - sym.T).max() <= 1e-12 * abs(sym).max()


def _clip(poly: list, a: float, b: float, c: float) -> list:
    """Sutherland-Hodgman: the part of a polygon where a x + b y + c < 0."""
    out = []
    for k in range(len(poly)):
        p, q = np.array(poly[k]), np.array(poly[(k + 1) % len(poly)])
        fp, fq = a * p[0] + b * p[1] + c, a * q[0] + b * q[1] + c
        if fp < 0:
            out.append(tuple(p))
        if (fp < 0) != (fq < 0):
            t = fp / (fp - fq)
            out.append(tuple(p + t * (q - p)))
    return out


def _area(poly: list) -> float:
    if len(poly) < 3:
        return 0.0
    xy = np.array(poly)
    return 0.5 * abs(
        np.dot(xy[:, 0], np.roll(xy[:, 1], -1)) - np.dot(xy[:, 1], np.roll(xy[:, 0], -1))
    )


def test_neumann_matrix_equals_an_exact_cut_cell_construction():
    # a straight boundary a x + b y + c = 0: the cut cells' areas and apertures are exact
    a_, b_, c_ = 1.0, 0.37, -0.21
    n = 10
    h = 1.0 / n
    g = Grid.box([n, n], boundary=Dirichlet("1 + x*y"))
    gval = 0.7
    p = Problem(
        g, source="x + 2", domain=f"{a_}*x + {b_}*y + {c_}", embedded=Neumann(gval), shift=0.5
    )
    x = h * np.arange(n + 1)
    dual = np.concatenate([[0.0], 0.5 * (x[:-1] + x[1:]), [1.0]])
    m = n - 1
    big = np.zeros((m * m, m * m))
    rhs = np.zeros(m * m)
    k = 1.0
    for i in range(1, n):
        for j in range(1, n):
            r = (i - 1) * m + (j - 1)
            x0, x1, y0, y1 = dual[i], dual[i + 1], dual[j], dual[j + 1]
            rect = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
            cut = _clip(rect, a_, b_, c_)
            w = (x1 - x0) * (y1 - y0)
            vf = _area(cut) / w

            def aperture(p0, p1):
                f0, f1 = a_ * p0[0] + b_ * p0[1] + c_, a_ * p1[0] + b_ * p1[1] + c_
                if f0 < 0 and f1 < 0:
                    return 1.0
                if f0 >= 0 and f1 >= 0:
                    return 0.0
                return (f0 if f0 < 0 else f1) / (f0 - f1) * (1 if f0 < 0 else -1)

            faces = {
                (1, 0): aperture((x1, y0), (x1, y1)),
                (-1, 0): aperture((x0, y0), (x0, y1)),
                (0, 1): aperture((x0, y1), (x1, y1)),
                (0, -1): aperture((x0, y0), (x1, y0)),
            }
            if vf == 0.0 and max(faces.values()) == 0.0:
                big[r, r] = 4 / h**2 + 0.5
                continue
            big[r, r] += 0.5 * vf
            rhs[r] += (x[i] + 2) * vf
            for (di, dj), alpha in faces.items():
                if alpha == 0.0:
                    continue
                coupling = k * alpha * (h / h) / w  # face length h over the distance h, per area
                big[r, r] += coupling
                qi, qj = i + di, j + dj
                if 0 < qi < n and 0 < qj < n:
                    big[r, (qi - 1) * m + (qj - 1)] -= coupling
                else:
                    rhs[r] += coupling * (1 + x[qi] * x[qj])
            # the boundary's piece: a straight chord, its length from the exact polygon
            chord = 0.0
            for s in range(len(cut)):
                p0, p1 = np.array(cut[s]), np.array(cut[(s + 1) % len(cut)])
                if (
                    abs(a_ * p0[0] + b_ * p0[1] + c_) < 1e-14
                    and abs(a_ * p1[0] + b_ * p1[1] + c_) < 1e-14
                ):
                    chord += float(np.hypot(*(p1 - p0)))
            rhs[r] += k * gval * chord / w
    ours = p.operator().toarray()
    assert np.max(np.abs(ours - big)) <= 1e-7 * np.max(np.abs(big))
    assert np.max(np.abs(p.rhs() - rhs)) <= 1e-7 * np.max(np.abs(rhs))


# -- masks ------------------------------------------------------------------------------


def mask_of(n: int) -> np.ndarray:
    rng = np.random.default_rng(7)
    x = np.linspace(-1, 1, n + 1)
    r = np.hypot(*np.meshgrid(x, x, indexing="ij"))
    return (r < 0.7) | ((r < 0.85) & (rng.random(r.shape) < 0.5))


def test_a_dirichlet_mask_is_the_pixel_exact_problem():
    n = 40
    mask = mask_of(n)
    g = Grid.box([n, n], lower=[-1, -1], upper=[1, 1], boundary=Dirichlet("x"))
    p = Problem(g, source="1 + y", domain=mask, embedded=Dirichlet("x*y"))
    x = solve(p, "direct").x.reshape(g.shape)
    # independently: the 5-point Laplacian on the masked points, the rest moved to b
    h = 2.0 / n
    pts = np.linspace(-1, 1, n + 1)
    inner = np.zeros_like(mask)
    inner[1:-1, 1:-1] = mask[1:-1, 1:-1]
    idx = -np.ones(mask.shape, dtype=int)
    idx[inner] = np.arange(int(inner.sum()))
    rows, cols, vals = [], [], []
    b = np.zeros(int(inner.sum()))
    for i, j in zip(*np.nonzero(inner), strict=True):
        r = idx[i, j]
        rows.append(r)
        cols.append(r)
        vals.append(4 / h**2)
        b[r] = 1 + pts[j]
        for qi, qj in ((i + 1, j), (i - 1, j), (i, j + 1), (i, j - 1)):
            if inner[qi, qj]:
                rows.append(r)
                cols.append(idx[qi, qj])
                vals.append(-1 / h**2)
            elif mask[qi, qj]:  # a box Dirichlet node in the mask
                b[r] += pts[qi] / h**2
            else:  # the boundary at the outside point
                b[r] += pts[qi] * pts[qj] / h**2
    a = sp.csc_matrix((vals, (rows, cols)))
    ref = sla.spsolve(a, b)
    got = x[inner[1:-1, 1:-1]]
    assert np.max(np.abs(got - ref)) <= 1e-10 * np.max(np.abs(ref))


def test_a_neumann_mask_closes_the_faces():
    n = 30
    mask = mask_of(n)
    g = Grid.box([n, n], lower=[-1, -1], upper=[1, 1], boundary=Dirichlet("x"))
    p = Problem(g, source=0.0, domain=mask, embedded=Neumann(0.0))
    h = 2.0 / n
    a = p.operator().toarray()
    inside = mask[1:-1, 1:-1].reshape(-1)
    m = n - 1
    for r in np.flatnonzero(inside)[:200]:
        i, j = divmod(r, m)
        nb = [(i + 1, j), (i - 1, j), (i, j + 1), (i, j - 1)]
        open_faces = sum(bool(mask[qi + 1, qj + 1]) for qi, qj in nb)
        assert abs(a[r, r] - open_faces / h**2) < 1e-9 / h**2


# -- prepared solves, the fastdiag refusal ---------------------------------------------


def test_fastdiag_refuses_naming_the_methods_that_accept_it():
    p = disc_problem(16)
    with pytest.raises(Exception, match="fastdiag-cg', 'amg-cg', 'cg' or 'direct'"):
        solve(p, "fastdiag")


def test_a_prepared_solve_keeps_its_setup_across_shifts():
    p = disc_problem(48)
    s = prepare(p, "fastdiag-cg")
    assert s.set_shift(10.0) is True
    q = disc_problem(48).with_shift(10.0)
    x = s.solve(rtol=1e-12).x
    assert np.max(np.abs(x - spsolve(q))) <= 1e-9 * np.max(np.abs(x))


def test_python_domain_errors():
    g = Grid.box([8, 8], lower=[-1, -1], upper=[1, 1])
    with pytest.raises(DataError, match="no point of the grid"):
        Problem(g, domain="1.0")
    with pytest.raises(DataError, match="point shape"):
        Problem(g, domain=np.ones((3, 3), dtype=bool))
    with pytest.raises(DataError, match="domain"):
        Problem(g, domain="log(x)")
    with pytest.raises(DataError, match="needs a domain"):
        Problem(g, embedded=Dirichlet(1.0))
    inside = Problem(g, domain=lambda x, y: x**2 + y**2 - 0.5)
    assert inside.domain_size == int(
        np.sum(np.add.outer(*(np.linspace(-1, 1, 9)[1:-1] ** 2,) * 2) < 0.5)
    )


# -- the case file and the output -----------------------------------------------------

CASE = """
[grid]
cells = [32, 32]
lower = [-1, -1]
upper = [1, 1]
[geometry]
{geometry}
[equation]
source = "{f}"
[boundary]
default = {{ type = "dirichlet", value = 0 }}
embedded = {{ type = "dirichlet", value = "{u}" }}
[exact]
u = "{u}"
[output]
file = "out.vti"
fields = ["u", "level_set"]
{solver}
"""


def write_case(tmp_path, geometry=f'level_set = "{DISC}"', solver="", text=None):
    case = tmp_path / "case.toml"
    case.write_text(text or CASE.format(geometry=geometry, f=DISC_F, u=DISC_U, solver=solver))
    return case


def test_case_file_output_blanks_the_outside(tmp_path, capsys):
    from kronpde.io.result import read_result

    case = write_case(tmp_path, solver="[solver]\nrtol = 1e-12")
    code = cli.main(["solve", str(case), "--json", "-q"])
    out, _ = capsys.readouterr()
    assert code == 0
    record = json.loads(out.strip().splitlines()[-1])
    p = disc_problem(32)
    assert record["unknowns"] == p.domain_size < p.size
    x = solve(p, "direct").x
    err_max, _ = norms(p, x, DISC_U)
    assert abs(record["error_max"] - err_max) <= 1e-6 * err_max
    result = read_result(tmp_path / "out.vti")
    fields = result.fields
    domain = fields["domain"] > 0
    assert np.all(np.isnan(fields["u"][~domain]))
    assert np.all(np.isfinite(fields["u"][domain]))
    assert np.array_equal(fields["vtkGhostType"] == 0, domain)
    assert np.array_equal(
        fields["level_set"] < 0, DomainGeometry(p.grid, Domain(DISC, dimension=2)).inside
    )
    text = (tmp_path / "out.vti").read_bytes()
    assert b'type="UInt8" Name="vtkGhostType"' in text


BAD = [
    ('level_set = "1.0"', "[geometry] level_set", "no point"),
    ('level_set = "log(x + 0.5)"', "[geometry] level_set", ""),
    ('mask = "missing.npy"', "[geometry] mask", "no such file"),
    ('mask = "small.npy"', "[geometry] mask", "point shape"),
    (f'level_set = "{DISC}"\nmask = "small.npy"', "[geometry] mask", "not both"),
]


@pytest.mark.parametrize(("geometry", "key", "words"), BAD)
def test_bad_geometry_exits_2_naming_the_key(tmp_path, capsys, geometry, key, words):
    np.save(tmp_path / "small.npy", np.ones((5, 5), dtype=bool))
    case = write_case(tmp_path, geometry)
    code = cli.main(["solve", str(case), "-q"])
    _, err = capsys.readouterr()
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert key in lines[0], err
    assert words in lines[0], err


def test_embedded_without_geometry_and_fastdiag_exit_2(tmp_path, capsys):
    text = CASE.format(geometry="", f=DISC_F, u=DISC_U, solver="").replace("[geometry]\n", "")
    case = write_case(tmp_path, text=text)
    assert cli.main(["solve", str(case), "-q"]) == 2
    _, err = capsys.readouterr()
    assert len(err.strip().splitlines()) == 1
    assert "[boundary] embedded" in err
    case = write_case(tmp_path, solver='[solver]\nmethod = "fastdiag"')
    assert cli.main(["solve", str(case), "-q"]) == 2
    _, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "[solver] method" in lines[0], err
    assert "fastdiag-cg" in lines[0], err


def test_a_floating_neumann_domain_is_singular_and_projected():
    g = Grid.box([40, 40], boundary=Neumann(0.0))
    p = Problem(
        g, source="x - 0.4", domain="0.2 - sqrt((x - 0.5)**2 + (y - 0.5)**2)", embedded=Neumann()
    )
    assert p.singular
    null = p.discretisation.null_vector()
    assert np.array_equal(null > 0, p.discretisation.domain_unknowns())
    a = p.operator()
    assert np.max(np.abs(a @ null)) <= 1e-10 * np.max(np.abs(a.diagonal()))
    b, removed = p.project_rhs(p.rhs())
    assert removed > 1e-3  # x - 0.4 is not compatible: its domain mean is removed
    w = p.unknown_weights * null
    assert abs(w @ b) <= 1e-12 * np.linalg.norm(b)
    ref = np.linalg.lstsq(a.toarray(), b, rcond=None)[0]
    ref -= (w @ ref) / w.sum() * null
    for method in ("fastdiag-cg", "amg-cg", "cg", "direct"):
        sol = solve(p, method, rtol=1e-12)
        assert abs(w @ sol.x) <= 1e-9 * w.sum() * np.max(np.abs(ref)), method
        assert np.max(np.abs(sol.x - ref)) <= 1e-8 * np.max(np.abs(ref)), method
    assert not Problem(g, domain="0.2 - sqrt(x**2 + y**2)", embedded=Neumann(), shift=1.0).singular


def test_converge_and_compare_measure_the_domain(tmp_path, capsys):
    case = write_case(tmp_path)
    assert cli.main(["converge", str(case), "--levels", "2"]) == 0
    out, _ = capsys.readouterr()
    rows = [line.split() for line in out.splitlines() if line.strip()[:1] in ("0", "1")]
    errors = [float(r[4]) for r in rows]
    assert all(math.isfinite(e) and e > 0 for e in errors)
    assert [int(r[3].replace(",", "")) for r in rows] == [
        disc_problem(n).domain_size for n in (32, 64)
    ]
    assert 1.8 < math.log2(errors[0] / errors[1]) < 2.3
    assert cli.main(["compare", str(case)]) == 0
    out, _ = capsys.readouterr()
    assert "nan" not in out
