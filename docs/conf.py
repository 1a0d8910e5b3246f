"""Sphinx configuration of kronpde's documentation site.

Build it with ``python -m sphinx -W --keep-going -b html docs docs/_build/html``
(after ``pip install -e '.[docs]'``).  The build needs no network: intersphinx
is off.  The gallery runs every ``scripts/examples/*.py`` but ``mpi_*.py`` (those
show the output of a recorded run) at the small sizes of ``gallery_argv.py``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(DOCS))  # gallery_argv, api_pages
sys.path.insert(0, str(ROOT))  # the checkout's kronpde wins over an installed one

import kronpde  # noqa: E402

import api_pages  # noqa: E402

project = "kronpde"
author = "the kronpde developers"
copyright = "the kronpde developers"  # noqa: A001
release = kronpde.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = [
    "_build",
    "Thumbs.db",
    ".DS_Store",
    "auto_examples/*.ipynb",
    "auto_examples/*.py",
    "auto_examples/*.zip",
    "auto_examples/*.json",
    "auto_examples/*.md5",
]
templates_path = ["_templates"]

# -- MyST: the Markdown pages ---------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "colon_fence", "deflist"]
myst_heading_anchors = 3
suppress_warnings = ["myst.header"]  # derivation pages start at any heading level

# -- API reference: one page per name of kronpde.__all__ ------------------------------------
api_pages.write(DOCS / "api.rst")
autosummary_generate = True
autodoc_typehints = "none"  # numpydoc shows the documented types
autodoc_default_options = {"inherited-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks: set[str] = set()

# -- sphinx-gallery: scripts/examples ---------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "scripts" / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/(?!mpi_)[^/]+\.py$",  # mpi_*.py: shown from a recorded run
    "reset_argv": "gallery_argv.reset_argv",
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "remove_config_comments": True,
    "show_memory": False,
    "plot_gallery": "True",
    "abort_on_example_error": False,
    "only_warn_on_example_error": False,
    "matplotlib_animations": False,
    "image_srcset": [],
    "write_computation_times": True,
}

# -- the command line's help, quoted by the reference page -------------------------------------
def _cli_help() -> None:
    out = DOCS / "_generated"
    out.mkdir(exist_ok=True)
    from kronpde.app.cli import COMMANDS

    parts = []
    for words in [[]] + [[name] for name in COMMANDS]:
        text = subprocess.run(
            [sys.executable, "-m", "kronpde", *words, "--help"],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
            env={**__import__("os").environ, "PYTHONPATH": str(ROOT), "COLUMNS": "90"},
        ).stdout
        title = "kronpde " + " ".join(words) if words else "kronpde"
        parts.append(f"### `{title} --help`\n\n```text\n{text.rstrip()}\n```\n")
    (out / "cli-help.md").write_text("\n".join(parts), encoding="utf-8")


_cli_help()

# -- HTML ------------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"kronpde {release}"
html_static_path: list[str] = []
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 8,
    "secondary_sidebar_items": ["page-toc"],
}
html_show_sourcelink = False
html_last_updated_fmt = None
