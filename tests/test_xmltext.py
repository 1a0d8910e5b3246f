"""The writers' attribute quoting equals the standard library's (``xml.sax.saxutils``)."""

from xml.sax.saxutils import quoteattr as reference

from hypothesis import given
from hypothesis import strategies as st

from kronpde.io.xmltext import quoteattr


@given(st.text(alphabet=st.sampled_from(list("ab<>&\"' \t\n\r_é")), max_size=12))
def test_quoteattr_equals_saxutils(text):
    assert quoteattr(text) == reference(text)


def test_writing_a_field_does_not_import_urllib_request():
    """Importing the VTK writer no longer costs ``urllib.request`` (20-50 ms per command)."""
    import subprocess
    import sys

    code = "import sys, kronpde.io.vtk; assert 'urllib.request' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
