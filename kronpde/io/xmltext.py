"""XML attribute quoting for the writers, without ``xml.sax.saxutils``.

``xml.sax.saxutils`` imports ``urllib.request`` (and with it ``http.client``
and the email package): 20-50 ms of every ``kronpde solve`` that writes a file,
for one function of six lines.
"""

from __future__ import annotations

__all__ = ["quoteattr"]

_ENTITIES = (
    ("&", "&amp;"),
    (">", "&gt;"),
    ("<", "&lt;"),
    ("\n", "&#10;"),
    ("\r", "&#13;"),
    ("\t", "&#9;"),
)


def quoteattr(data: str) -> str:
    """Escape ``&``, ``<``, ``>`` and line breaks and tabs, then quote for an attribute value.

    The same result as :func:`xml.sax.saxutils.quoteattr`: double quotes, or
    single ones where the value holds a double quote only, else ``&quot;``.

    Parameters
    ----------
    data : str
        The attribute's value.

    Returns
    -------
    str
        The quoted value, quotes included.

    Examples
    --------
    >>> print(quoteattr('a<b & "c"'))
    'a&lt;b &amp; "c"'
    """
    for raw, entity in _ENTITIES:
        data = data.replace(raw, entity)
    if '"' not in data:
        return f'"{data}"'
    if "'" not in data:
        return f"'{data}'"
    return '"{}"'.format(data.replace('"', "&quot;"))
