"""``[geometry]`` of a case file: the domain inside the box (a level set or a mask file).

``level_set`` is an expression (the domain is where it is negative); ``mask``
a ``.npy`` file of booleans on the grid's points, resolved against the case
file's folder.  ``[boundary] embedded`` is the condition on the embedded
boundary (``case-format.md``, "Embedded boundaries").
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kronpde.errors import DataError
from kronpde.geometry.boundary import Condition
from kronpde.geometry.domain import Domain
from kronpde.io.case_values import ValueReader

__all__ = ["read_embedded", "read_geometry"]


def read_geometry(reader: ValueReader, data: dict[str, Any], dimension: int) -> Domain | None:
    """Return the domain of ``[geometry]`` (None without the table).

    Raises
    ------
    CaseError
        Naming ``[geometry] level_set`` or ``[geometry] mask``: neither or both
        given, an expression that is not allowed, a mask file that is missing,
        unreadable or not boolean.
    """
    if "geometry" not in data:
        return None
    table = reader.table(data, "geometry", required=True)
    given = [k for k in ("level_set", "mask") if k in table]
    if len(given) != 1:
        key = "[geometry] mask" if len(given) == 2 else "[geometry]"
        msg = (
            "give one of level_set and mask, not both"
            if given
            else 'missing: give level_set = "..." (negative inside) or mask = "file.npy"'
        )
        raise reader.error(key, msg)
    if given[0] == "level_set":
        key = "[geometry] level_set"
        value = table["level_set"]
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise reader.error(key, "must be an expression string (negative inside the domain)")
        expr = reader.expression_text(value, key, dimension)
        return Domain(expr, dimension=dimension, subject="level_set")
    key = "[geometry] mask"
    name = table["mask"]
    if not isinstance(name, str) or not name:
        raise reader.error(key, 'must be the name of a .npy file, e.g. mask = "domain.npy"')
    path = reader.path.parent / name
    try:
        mask = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise reader.error(key, f"no such file {str(path)!r}") from None
    except (OSError, ValueError) as exc:
        raise reader.error(key, f"cannot read {str(path)!r} as a .npy array: {exc}") from None
    if mask.dtype != bool:
        if mask.dtype.kind in "iu" and np.isin(mask, (0, 1)).all():
            mask = mask.astype(bool)
        else:
            raise reader.error(key, f"must hold booleans (or 0 and 1), got dtype {mask.dtype}")
    return Domain(mask, dimension=dimension, subject="mask")


def read_embedded(
    reader: Any, boundary: dict[str, Any] | None, domain: Domain | None, dimension: int
) -> Condition | None:
    """Return ``[boundary] embedded``'s condition (None where not given).

    Raises
    ------
    CaseError
        ``[boundary] embedded`` without ``[geometry]``, or a condition other
        than dirichlet or neumann.
    """
    if not boundary or "embedded" not in boundary:
        return None
    key = "[boundary] embedded"
    if domain is None:
        raise reader.error(key, "an embedded boundary needs [geometry] level_set or mask")
    spec = boundary["embedded"]
    if isinstance(spec, dict) and spec.get("type") not in (None, "dirichlet", "neumann"):
        subject = f"{key}.type"
        raise reader.error(subject, 'must be "dirichlet" or "neumann"')
    try:
        return reader.condition(spec, "embedded", dimension)
    except DataError as exc:  # pragma: no cover - the reader names its own keys
        raise reader.error(key, str(exc)) from None
