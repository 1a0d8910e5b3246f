"""Write ``api.rst``: an autosummary of every name of ``kronpde.__all__`` (run by conf.py).

The list is read from the package at build time, so a name added to ``__all__``
gets its page without editing the docs; ``tests/test_docs.py`` checks the
grouping below leaves no name out of a group it can describe.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import kronpde

#: Section of the reference page for each kind of public name.
SECTIONS = {
    "solve": "Solving",
    "model": "Grids, faces and problems",
    "operators": "Operators",
    "io": "Case files",
    "expr": "Expressions",
    "errors": "Errors",
    "other": "Other names",
}
_SOLVING = {"solve", "prepare", "PreparedSolver", "Solution", "SolveReport", "METHODS", "refusal",
            "cg", "DirectSolver", "FastDiagSolver", "FastDiagPreconditioner"}
_MODEL = {"Grid", "Axis", "Dirichlet", "Neumann", "Robin", "Periodic", "Problem",
          "stretched_nodes"}
_OPERATORS = {"KronSumOperator", "AxisOperator", "assemble", "second_difference"}
_IO = {"Case", "load_case"}
_EXPR = {"Expression", "ExpressionError", "parse_expression"}


#: What a public constant is (autodoc would show the docstring of its type).
VALUES = {
    "METHODS": "The method names ``solve``, ``prepare`` and case files accept, ``auto`` first; "
    "see :doc:`methods`.",
}


def _is_value(name: str) -> bool:
    obj = getattr(kronpde, name)
    return not (inspect.isclass(obj) or callable(obj))


def section(name: str) -> str:
    """Return the key of :data:`SECTIONS` that ``name`` belongs to."""
    obj = getattr(kronpde, name)
    if name in _SOLVING:
        return "solve"
    if name in _MODEL:
        return "model"
    if name in _OPERATORS:
        return "operators"
    if name in _IO:
        return "io"
    if name in _EXPR:
        return "expr"
    if inspect.isclass(obj) and issubclass(obj, BaseException):
        return "errors"
    return "other"


def write(path: Path) -> None:
    """Write the API reference page to ``path`` (only when its text changes)."""
    groups: dict[str, list[str]] = {key: [] for key in SECTIONS}
    for name in sorted(kronpde.__all__, key=str.lower):
        groups[section(name)].append(name)
    lines = [
        ".. This page is written by docs/api_pages.py from kronpde.__all__; do not edit.",
        "",
        "API reference",
        "=============",
        "",
        "Every public name of ``kronpde`` (``kronpde.__all__``), generated from the",
        "docstrings, then those of ``kronpde.toolkit``.",
        "",
        ".. currentmodule:: kronpde",
        "",
    ]
    for key, title in SECTIONS.items():
        documented = [n for n in groups[key] if not _is_value(n)]
        values = [n for n in groups[key] if _is_value(n)]
        if not groups[key]:
            continue
        lines += [title, "-" * len(title), ""]
        if documented:
            lines += [".. autosummary::", "   :toctree: generated", ""]
            lines += [f"   {name}" for name in documented]
            lines.append("")
        for name in values:  # a constant: its value, and the comment that documents it
            lines += [f".. data:: {name}", f"   :value: {getattr(kronpde, name)!r}", ""]
            lines += [f"   {VALUES.get(name, '')}", ""]
    from kronpde import toolkit

    title = "Kronecker toolkit (``kronpde.toolkit``)"
    lines += [title, "-" * len(title), "", "The identities with examples: :doc:`toolkit`.", ""]
    lines += [".. currentmodule:: kronpde.toolkit", "", ".. autosummary::", "   :toctree: generated", ""]
    lines += [f"   {name}" for name in sorted(toolkit.__all__, key=str.lower)]
    lines.append("")
    text = "\n".join(lines)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
