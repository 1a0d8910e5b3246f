"""Names a package re-exports from its modules, imported on first use (PEP 562).

``kronpde`` and ``kronpde.solvers`` use it, so that importing them loads neither
the file layer nor pyamg, petsc4py or meshio.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, exports: Mapping[str, str], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Return the module ``__getattr__`` and ``__dir__`` of ``package``.

    Parameters
    ----------
    package : str
        The package's name (for the error of an unknown attribute).
    exports : mapping of str to str
        Each lazy name and the module that defines it.
    namespace : dict
        The package's ``globals()``: a name, once imported, is kept there.
    """

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            msg = f"module {package!r} has no attribute {name!r}"
            raise AttributeError(msg)
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(exports))

    return __getattr__, __dir__
