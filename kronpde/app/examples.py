"""The example cases shipped inside the package, for ``kronpde init`` (no clone needed).

They are copies of the repository's ``cases/*.toml`` (``tests/test_init.py``
keeps them equal), read with :mod:`importlib.resources`, so they work from a
wheel as from a checkout.
"""

from __future__ import annotations

import re
from importlib import resources

#: The example ``kronpde init`` writes when none is named.
DEFAULT = "poisson2d_dirichlet"


def _folder():
    return resources.files("kronpde.app") / "cases"


def names() -> tuple[str, ...]:
    """Return the names of the shipped examples, sorted.

    Returns
    -------
    tuple of str
        Names without the ``.toml`` extension.
    """
    return tuple(sorted(p.name[:-5] for p in _folder().iterdir() if p.name.endswith(".toml")))


def text(name: str) -> str:
    """Return the text of example ``name`` (a name of :func:`names`).

    Parameters
    ----------
    name : str
        The example.

    Returns
    -------
    str
        The TOML text, comments included.
    """
    if name not in names():
        msg = f"no example {name!r}; the examples are {', '.join(names())}"
        raise ValueError(msg)
    return (_folder() / f"{name}.toml").read_text(encoding="utf-8")


def describe(name: str) -> str:
    """Return the first comment line of example ``name`` (what it solves)."""
    for line in text(name).splitlines():
        if line.startswith("#"):
            return line.lstrip("# ").strip()
    return ""


def renamed(name: str, stem: str) -> str:
    """Return example ``name``'s text with its ``[output] file`` named after ``stem``.

    ``kronpde init mycase`` writes ``mycase.toml`` whose result is
    ``mycase.vti`` (the example's own extension), not the example's file name.
    """

    def rename(match: re.Match[str]) -> str:
        return f'{match[1]}"{stem}{match[3]}"'

    return re.sub(r'^(file\s*=\s*)"([^"/]*?)(\.\w+)"', rename, text(name), count=1, flags=re.M)
