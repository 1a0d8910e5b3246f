"""The one vocabulary of option checks: each method's declared choices and the one message."""

from __future__ import annotations

import numpy as np
import pytest

from kronpde import Grid, Problem
from kronpde._checks import choices_message, is_count, is_real, option_message
from kronpde.errors import OptionError
from kronpde.solvers import prepare
from kronpde.solvers.petsc.options import GATHERS, PCS
from kronpde.solvers.registry import METHODS, method_class


def _problem(method: str) -> Problem:
    """A problem ``method`` accepts: constant ``k`` for fastdiag, variable otherwise."""
    k = 1.0 if method == "fastdiag" else "1 + x * y"
    return Problem(Grid.box([8, 8]), source=1.0, coefficient=k)


DECLARED = [
    (name, option) for name in METHODS if name != "auto" for option in method_class(name).choices
]


def test_every_method_with_a_fixed_set_of_values_declares_it():
    assert set(DECLARED) == {
        ("cg", "jacobi"),
        ("amg-cg", "kind"),
        ("amg-cg", "cycle"),
        ("amg-cg", "preconditioner"),
        ("fastdiag-cg", "approximation"),
        ("fastdiag-cg", "kernels"),
        ("fastdiag-cg", "correction"),  # the band correction on a domain inside the box
        ("fastdiag-cg", "precision"),  # the fast solve in float32 or float64
        ("fastdiag", "kernels"),
        ("direct", "permc_spec"),
        ("fastdiag-minres", "kernels"),
    }
    for name, option in DECLARED:
        cls = method_class(name)
        if option in cls.defaults:  # amg-cg's options go to pyamg as given
            assert cls.defaults[option] in cls.choices[option]


@pytest.mark.parametrize(("name", "option"), DECLARED)
def test_a_declared_choice_is_accepted_and_another_value_gets_the_one_message(name, option):
    cls = method_class(name)
    prepare(_problem(name), name, options={option: cls.choices[option][-1]})
    with pytest.raises(OptionError) as info:
        prepare(_problem(name), name, options={option: "bogus"})
    text = str(info.value)
    listed = ", ".join(str(c) for c in cls.choices[option])
    assert f"{name}: " in text
    assert f"option {option} must be one of {listed}" in text
    assert text.endswith(f"; got {option}='bogus'")


def test_option_message_says_owner_option_choices_note_and_value():
    msg = option_message("amg-cg", "cycle", "AMLI", ("V", "W"), "AMLI needs flexible GMRES")
    assert msg == (
        "amg-cg: option cycle must be one of V, W (AMLI needs flexible GMRES); got cycle='AMLI'"
    )
    assert option_message("cg", "jacobi", 2, ("auto", True, False)) == (
        "cg: option jacobi must be one of auto, True, False; got jacobi=2"
    )
    assert choices_message("stretch", "x", ["uniform", "tanh"]) == (
        "stretch must be one of uniform, tanh; got 'x'"
    )


def test_the_petsc_backends_choices_keep_the_pinned_wording():
    # what test_petsc pins of the backend's message, once it says it through option_message
    msg = option_message("petsc backend: amg-cg", "pc", "ilu", PCS["amg-cg"])
    assert "pc must be one of gamg, hypre, mg" in msg
    assert PCS["cg"] == ("jacobi", "none")
    assert GATHERS == ("root", "all", "none")


def test_counts_and_reals():
    assert [is_count(v, 1) for v in (np.int64(3), True, 3.0, 0)] == [True, False, False, False]
    assert [is_count(v, None) for v in (-5, np.bool_(True))] == [True, False]
    assert [is_real(v) for v in (np.float32(1.5), np.bool_(False), 1j)] == [True, False, False]


@pytest.mark.parametrize(
    ("method", "options", "fragment"),
    [
        ("fastdiag", {"workers": True}, "workers must be a positive integer, got True"),
        ("fastdiag", {"workers": 2.0}, "workers must be a positive integer, got 2.0"),
        ("amg-cg", {"seed": False}, "option seed=False must be an integer >= 0"),
        ("direct", {"max_memory": True}, "max_memory must be a number of bytes > 0"),
        ("direct", {"max_memory": -1.0}, "max_memory must be a number of bytes > 0"),
    ],
)
def test_bools_are_not_numbers_for_the_options(method, options, fragment):
    with pytest.raises(OptionError, match=fragment):
        prepare(_problem(method), method, options=options)


def test_settings_take_counts_and_reals_but_not_bools():
    from kronpde.problem.settings import check_maxiter, check_tolerance

    assert type(check_maxiter(np.int64(5))) is int
    assert check_maxiter(np.int64(5)) == 5
    for bad in (True, np.bool_(False), 5.0, "5"):
        with pytest.raises(OptionError, match="maxiter: must be an integer"):
            check_maxiter(bad)
    with pytest.raises(OptionError, match="maxiter must be >= 0, got -1"):
        check_maxiter(-1)
    assert check_tolerance(np.float32(0.5), "rtol") == 0.5
    for bad in (True, np.bool_(True), 1j, float("nan")):
        with pytest.raises(OptionError, match="rtol must be a finite number >= 0"):
            check_tolerance(bad, "rtol")
