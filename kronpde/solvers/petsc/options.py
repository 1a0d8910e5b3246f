"""The PETSc backend's names and options, without petsc4py: methods, preconditioners, options.

Imported by the command line and the package to check arguments before MPI
or PETSc is touched; :mod:`kronpde.solvers.petsc.backend` imports it too.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from typing import Any

from kronpde.errors import OptionError, SolverError
from kronpde.solvers.indefinite import petsc_refusal

__all__ = [
    "DEFAULT_PC",
    "GATHERS",
    "INSTALL_HINT",
    "METHODS",
    "PCS",
    "PRECONDITIONERS",
    "PetscUnavailableError",
    "available",
    "choose_exact",
    "default_pc",
    "parse_petsc_options",
    "refusal",
]

#: Methods the PETSc backend runs (``"auto"``: ``"fastdiag"`` where it solves the problem
#: exactly, else ``"amg-cg"``; see :func:`choose_exact`).
METHODS = ("auto", "fastdiag", "fastdiag-cg", "amg-cg", "cg")

#: What ``"auto"`` says when it picks the distributed exact solve.
AUTO_EXACT = "auto: the distributed fast diagonalization solves this problem exactly (no iteration)"

#: Multigrid preconditioners of ``"amg-cg"``: PETSc's GAMG, hypre's BoomerAMG (algebraic),
#: PETSc's PCMG on the grid's own coarse grids (geometric, Galerkin coarse operators).
PRECONDITIONERS = ("gamg", "hypre", "mg")

#: The default preconditioner of ``"amg-cg"`` for a constant and for a variable ``k``: the
#: fastest measured at 128³ on 1 and 2 ranks (``scripts/bench_petsc.py``, README): the grid's
#: own geometric multigrid, set up and solved 3 to 4 times faster than GAMG and hypre for a
#: constant ``k`` as for a variable one.
DEFAULT_PC = {"constant": "mg", "variable": "mg"}

#: The values of option ``pc`` per method (the first is the default of ``"cg"``); a
#: bad one is said by :func:`kronpde.solvers.arguments.check_choice`.
PCS = {"amg-cg": PRECONDITIONERS, "cg": ("jacobi", "none"), "fastdiag-cg": ("fastdiag",)}

#: The values of option ``gather``: where the solution is collected.
GATHERS = ("root", "all", "none")


def default_pc(variable: bool) -> str:
    """Return the default preconditioner of ``"amg-cg"`` for a constant or a variable ``k``.

    Examples
    --------
    >>> default_pc(False), default_pc(True)
    ('mg', 'mg')
    """
    return DEFAULT_PC["variable" if variable else "constant"]


#: What to do when petsc4py is missing.
INSTALL_HINT = (
    "the petsc backend needs petsc4py and mpi4py, which are not installed in this Python "
    "environment; install them with `bash scripts/install-petsc.sh` from the kronpde "
    "repository (PETSc 3.18 from apt, then petsc4py and mpi4py built against it, about "
    "2.5 minutes), or, where PETSc is installed and PETSC_DIR is set, "
    "`pip install --no-build-isolation 'kronpde[petsc]'`"
)


class PetscUnavailableError(SolverError, ImportError):
    """petsc4py (or PETSc, or MPI) cannot be imported; the message says how to install it."""


def available() -> bool:
    """Return True if petsc4py can be imported (PETSc itself is not initialised)."""
    try:
        import petsc4py  # noqa: F401
    except ImportError:
        return False
    return True


def choose_exact(problem: Any, method: str, pc_given: bool = False) -> tuple[bool, str]:
    """Whether the PETSc backend runs the distributed exact solve for ``method``, and why.

    ``"fastdiag"`` always (refused with the obstacle's message, which names
    ``fastdiag-cg``, where the fast solve is not exact); ``"auto"`` where the
    problem's discretisation has no obstacle to an exact fast solve and no
    multigrid ``pc`` was asked for.  Asks nothing of petsc4py.

    Raises
    ------
    SolverError
        For ``"fastdiag"`` on a problem it cannot solve exactly.

    Examples
    --------
    >>> from kronpde import Grid, Problem
    >>> choose_exact(Problem(Grid.box([4, 4]), 1.0), "auto")[0]
    True
    >>> choose_exact(Problem(Grid.box([4, 4]), 1.0, coefficient="1 + x*y"), "auto")[0]
    False
    """
    if method not in ("auto", "fastdiag"):
        return False, ""
    obstacle = problem.discretisation.distributed_fast_obstacle()
    if method == "fastdiag":
        if obstacle is not None:
            msg = f"fastdiag: {obstacle} (under --backend petsc too)"
            raise SolverError(msg)
        return True, "requested"
    return obstacle is None and not pc_given, AUTO_EXACT


def _is_value(token: str) -> bool:
    """Whether a token after an option is its value (not the next option)."""
    if not token.startswith("-"):
        return True
    try:
        float(token)
    except ValueError:
        return False
    return True


def parse_petsc_options(
    options: str | Sequence[str] | Mapping[str, Any] | None,
) -> list[tuple[str, str]]:
    """PETSc options from a command-line string, a token list or a mapping.

    Parameters
    ----------
    options : str, sequence of str, mapping or None
        ``"-ksp_monitor -pc_gamg_threshold 0.05"`` (shell-quoted), the same as
        a list of tokens, or ``{"ksp_monitor": None, "pc_gamg_threshold":
        0.05}`` (keys with or without the leading ``-``; ``None`` or ``True``
        for a flag, ``False`` for ``false``).

    Returns
    -------
    list of (str, str)
        ``(name, value)`` with the name without its ``-`` and ``""`` for a flag.

    Raises
    ------
    SolverError
        For a token that is not an option, or an empty name.

    Examples
    --------
    >>> parse_petsc_options("-ksp_monitor -pc_gamg_threshold 0.05 -mat_shift -1")
    [('ksp_monitor', ''), ('pc_gamg_threshold', '0.05'), ('mat_shift', '-1')]
    >>> parse_petsc_options({"-ksp_view": True, "pc_hypre_boomeramg_strong_threshold": 0.5})
    [('ksp_view', ''), ('pc_hypre_boomeramg_strong_threshold', '0.5')]
    """
    if options is None:
        return []
    pairs: list[tuple[str, str]] = []
    if isinstance(options, Mapping):
        for key, value in options.items():
            name = str(key).lstrip("-")
            if not name or not isinstance(key, str):
                msg = f"petsc_options: {key!r} is not an option name"
                raise OptionError(msg)
            if value is None or value is True:
                text = ""
            elif value is False:
                text = "false"
            else:
                text = str(value)
            pairs.append((name, text))
        return pairs
    if isinstance(options, str):
        try:
            tokens = shlex.split(options)
        except ValueError as exc:
            msg = f"petsc_options: cannot split {options!r}: {exc}"
            raise OptionError(msg) from None
    else:
        tokens = [str(t) for t in options]
    i = 0
    while i < len(tokens):
        token = tokens[i]
        name = token.lstrip("-")
        if not token.startswith("-") or not name or _is_value(token):
            msg = (
                f"petsc_options: expected an option such as -ksp_monitor, got {token!r} "
                f"(in {' '.join(tokens)!r})"
            )
            raise OptionError(msg)
        value = ""
        if i + 1 < len(tokens) and _is_value(tokens[i + 1]):
            value = tokens[i + 1]
            i += 1
        pairs.append((name, value))
        i += 1
    return pairs


def refusal(problem) -> str | None:
    """Why the PETSc backend cannot solve ``problem`` whatever its options (None: it can).

    Asks nothing of petsc4py, so the command line says it before PETSc loads.
    The backend assembles every problem kronpde discretises (constant or
    variable ``k``, node- or cell-centred axes, order 2 or 4) in 1 to 3
    dimensions, PETSc's DMDA's.

    Examples
    --------
    >>> from kronpde import Grid, Problem
    >>> refusal(Problem(Grid.box([4, 4], centering="cell"), 1.0)) is None
    True
    >>> print(refusal(Problem(Grid.box([2, 2, 2, 2]), 1.0)))
    petsc backend: a 4-D grid; PETSc's DMDA has 1 to 3 dimensions
    """
    grid = getattr(problem, "grid", None)
    if grid is not None and not 1 <= grid.dimension <= 3:
        return f"petsc backend: a {grid.dimension}-D grid; PETSc's DMDA has 1 to 3 dimensions"
    return petsc_refusal(problem)  # a negative shift c: the serial backend's
