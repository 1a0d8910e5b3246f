"""The curvilinear examples under ``scripts/examples/``: they run and agree with closed forms.

Anchors: the coaxial capacitor's ``log`` profile and capacitance ``2 π ε L / log(b/a)``, the
heated pipe's θ-mean against the radial solution by quadrature, the sphere's spherical
harmonics; each at two resolutions, where the error falls as ``h²``.
"""

from __future__ import annotations

import math

import pytest
from test_examples import load

coax = load("coaxial_capacitor")
pipe = load("heated_pipe")
sphere = load("sphere_harmonics")


def test_coaxial_capacitor_log_profile_and_capacitance():
    runs = [coax.capacitor(cells) for cells in (16, 32)]
    rel = [abs(r["capacitance"] / r["exact_capacitance"] - 1) for r in runs]
    assert runs[1]["error"] < 5e-5
    assert rel[1] < 2e-4
    assert 1.9 < math.log2(rel[0] / rel[1]) < 2.1
    assert 1.9 < math.log2(runs[0]["error"] / runs[1]["error"]) < 2.1


def test_heated_pipe_mean_is_the_radial_solution():
    errors = [pipe.pipe(cells)["error"] for cells in (32, 64)]
    assert errors[1] < 0.01
    assert 1.8 < math.log2(errors[0] / errors[1]) < 2.2


def test_sphere_harmonics_against_the_exact_solution():
    errors = [sphere.sphere(cells)["error"] for cells in (16, 32)]
    assert errors[1] < 0.012
    assert 1.9 < math.log2(errors[0] / errors[1]) < 2.1
    # both poles shared points: fastdiag ties the south pole's copies after its solve
    fast = sphere.sphere(16, "fastdiag")["error"]
    assert fast == pytest.approx(sphere.sphere(16, "direct")["error"], rel=1e-10)


@pytest.mark.parametrize("module", ["coaxial_capacitor", "heated_pipe", "sphere_harmonics"])
def test_examples_write_their_picture(tmp_path, capsys, module):
    picture = tmp_path / f"{module}.png"
    assert load(module).main(["--cells", "16", "--picture", str(picture)]) == 0
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "observed order" in capsys.readouterr().out
