"""The documentation site's pages against what they document.

* ``docs/case-format.md`` (the case-file and command-line reference) against the
  contract ``../shared/case-format.md`` where that file is present (CI copies
  ``shared/`` beside the clone): every section heading, every TOML key of its
  examples and every JSON key of its table appear on the page.
* Every complete TOML case of the page is read by kronpde's own case reader and
  checked by ``kronpde check``: exit 0, except the cases marked
  ``<!-- planned: FEATURE -->`` (features still being built), which must exit 2
  with one line naming the file, no traceback; once one loads, this test fails
  and says to remove the mark.
* Every gallery example has the title sphinx-gallery needs; the API page names
  every public name; every Markdown page is in a toctree.
"""

from __future__ import annotations

import importlib.util
import re
import sys
import tomllib
from pathlib import Path

import pytest

import kronpde
from kronpde.app.cli import main

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGE = DOCS / "case-format.md"
CONTRACT = ROOT.parent / "shared" / "case-format.md"

FENCE = re.compile(
    r"^(<!-- planned: (?P<planned>[^>]*?) -->\n)?```toml\n(?P<body>.*?)^```", re.M | re.S
)


def toml_blocks(text: str) -> list[tuple[str, str | None]]:
    """The ```toml blocks of a Markdown text, each with its planned feature (or None)."""
    return [(m["body"], m["planned"]) for m in FENCE.finditer(text)]


def toml_keys(block: str, *, commented: bool = True) -> set[str]:
    """Dotted key paths of a TOML example, commented-out keys included.

    ``[boundary]`` then ``xmin = { type = "dirichlet", value = 0.0 }`` gives
    ``boundary``, ``boundary.xmin``, ``boundary.xmin.type``, ``boundary.xmin.value``.
    """
    keys: set[str] = set()
    table = ""
    for raw in block.splitlines():
        line = raw.strip()
        header = re.match(r"^\[([\w.]+)\]", line)
        if header:
            table = header[1]
            keys.add(table)
            continue
        if commented:  # a commented-out key of an example is still a key of the format
            line = re.sub(r"^#\s*", "", line)
        m = re.match(r"^([A-Za-z_][\w.]*)\s*=\s*(.*)$", line)
        if not m:
            continue
        key = f"{table}.{m[1]}" if table else m[1]
        keys.add(key)
        inline = re.match(r"^\{(.*?)\}", m[2])
        if inline:
            keys.update(f"{key}.{k}" for k in re.findall(r"([A-Za-z_]\w*)\s*=", inline[1]))
    return keys


def headings(text: str) -> set[str]:
    """The ``##``/``###`` headings of a Markdown text (outside code fences)."""
    outside = re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)
    return {m[1].strip() for m in re.finditer(r"^#{2,4} (.+)$", outside, flags=re.M)}


PAGE_TEXT = PAGE.read_text(encoding="utf-8")


#: The contract's sections when it was copied into docs/case-format.md (a clone without
#: ../shared checks these; with it, the file's own headings).
SECTIONS = {
    "The problem",
    "Discretisation (vertex-centred, second order)",
    "The file",
    "Expressions",
    "The command line",
    "The output file",
    "Curvilinear coordinates",
    "Embedded boundaries: a domain inside the box",
    "Separable operators, anisotropy, Helmholtz of either sign",
    "Distributed exact solves",
}


def test_the_page_covers_every_section_and_key_of_the_contract():
    if CONTRACT.exists():
        contract = CONTRACT.read_text(encoding="utf-8")
        assert SECTIONS <= headings(contract)  # the contract's sections were read
    else:  # a clone without ../shared: the sections and keys it had when copied
        contract = "\n".join(f"## {s}" for s in SECTIONS) + "\n" + PAGE_TEXT
    missing_sections = sorted(headings(contract) - headings(PAGE_TEXT))
    assert not missing_sections, f"docs/case-format.md lacks the sections {missing_sections}"
    wanted = set().union(*(toml_keys(body) for body, _ in toml_blocks(contract)))
    have = set().union(*(toml_keys(body) for body, _ in toml_blocks(PAGE_TEXT)))
    assert len(wanted) > 40  # the contract's examples really were read
    missing_keys = sorted(wanted - have)
    assert not missing_keys, f"docs/case-format.md lacks the TOML keys {missing_keys}"
    table = re.findall(r"^\| (`.*?`(?:, `.*?`)*) \|", contract, flags=re.M)
    json_keys = {k for row in table for k in re.findall(r"`([a-z_]+)`", row)}
    assert {"method", "algebraic_error_bound", "warnings"} <= json_keys
    absent = sorted(k for k in json_keys if f"`{k}`" not in PAGE_TEXT)
    assert not absent, f"docs/case-format.md lacks the JSON keys {absent}"


def test_key_extraction_on_a_known_block():
    block = (
        '[grid]\ncells = [2]\n# mask = "m.npy"\n[boundary]\nxmin = { type = "robin", alpha = 1 }\n'
    )
    assert toml_keys(block) == {
        "grid",
        "grid.cells",
        "grid.mask",
        "boundary",
        "boundary.xmin",
        "boundary.xmin.type",
        "boundary.xmin.alpha",
    }


COMPLETE = [
    (i, body, planned)
    for i, (body, planned) in enumerate(toml_blocks(PAGE_TEXT))
    if "[grid]" in body and "[equation]" in body
]


def test_the_page_has_complete_cases():
    # every feature of the contract is built today: no case is marked planned
    assert len(COMPLETE) >= 5
    assert all(p is None for _, _, p in COMPLETE)


@pytest.mark.parametrize(("index", "body", "planned"), COMPLETE, ids=[str(c[0]) for c in COMPLETE])
def test_every_complete_case_of_the_page_is_read_by_kronpde(index, body, planned, tmp_path, capsys):
    tomllib.loads(body)  # valid TOML in any case
    path = tmp_path / f"case{index}.toml"
    path.write_text(body, encoding="utf-8")
    code = main(["check", str(path)])
    out, err = capsys.readouterr()
    if planned is None:
        assert code == 0, err
        kronpde.load_case(path)  # the reader itself, as Python users call it
        return
    assert code != 0, (
        f"the case marked 'planned: {planned}' in docs/case-format.md now passes kronpde "
        "check: the feature is built, remove the mark and its 'Not built yet' note"
    )
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert path.name in lines[0], err
    assert "Traceback" not in err


def test_every_shipped_example_uses_only_documented_keys():
    """The cases ``kronpde init`` writes name only keys the reference documents."""
    from kronpde.app import examples

    page_keys = set().union(*(toml_keys(body) for body, _ in toml_blocks(PAGE_TEXT)))
    for name in examples.names():
        keys = toml_keys(examples.text(name), commented=False)
        generic = {
            re.sub(r"\.(x|y|z|xmin|xmax|ymin|ymax|zmin|zmax)(?=\.|$)", ".xmin", k) for k in keys
        }
        known = {
            re.sub(r"\.(x|y|z|xmin|xmax|ymin|ymax|zmin|zmax)(?=\.|$)", ".xmin", k)
            for k in page_keys
        }
        unknown = sorted(k for k in generic if k not in known and not k.startswith("grid.nodes"))
        assert not unknown, f"example {name} uses keys the reference lacks: {unknown}"


# -- the gallery, the API page, the toctrees ------------------------------------------------


EXAMPLES = sorted((ROOT / "scripts" / "examples").glob("*.py"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_every_example_has_a_gallery_title(path):
    """sphinx-gallery takes the title from the docstring's first line, underlined with '='."""
    text = path.read_text(encoding="utf-8")
    m = re.match(r'^"""(.+)\n(=+)\n', text)
    assert m, f"{path.name}: the docstring must start with a title line underlined with '='"
    assert len(m[2]) >= len(m[1]), f"{path.name}: the underline is shorter than the title"


def test_the_api_page_names_every_public_name(tmp_path):
    spec = importlib.util.spec_from_file_location("api_pages", DOCS / "api_pages.py")
    api_pages = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(api_pages)
    page = tmp_path / "api.rst"
    api_pages.write(page)
    text = page.read_text(encoding="utf-8")
    listed = re.findall(r"^   (\w+)$", text, flags=re.M)
    listed += re.findall(r"^\.\. data:: (\w+)$", text, flags=re.M)
    from kronpde import toolkit

    assert sorted(listed) == sorted(kronpde.__all__ + toolkit.__all__)


def toctree_entries() -> set[str]:
    entries: set[str] = set()
    for page in list(DOCS.glob("*.md")) + list(DOCS.glob("*.rst")):
        text = page.read_text(encoding="utf-8")
        for block in re.findall(r"```\{toctree\}\n(.*?)```", text, re.S):
            entries.update(
                line.strip() for line in block.splitlines() if line.strip() and ":" not in line
            )
    return entries


def test_every_page_is_in_a_toctree():
    """Sphinx -W fails on a page in no toctree; this names it without a docs build."""
    entries = toctree_entries()
    pages = {p.stem for p in DOCS.glob("*.md")} - {"index"}
    missing = sorted(pages - {e.removesuffix(".md") for e in entries})
    assert not missing, f"add these pages to a toctree (docs/index.md or a section page): {missing}"


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))


# -- the Python examples of the guide pages run ------------------------------------------------
PYTHON = re.compile(
    r"^(<!-- not run: (?P<why>[^>]*?) -->\n)?```python\n(?P<body>.*?)^```", re.M | re.S
)
SNIPPETS = [
    (page.name, i, m["body"])
    for page in sorted(DOCS.glob("*.md"))
    for i, m in enumerate(PYTHON.finditer(page.read_text(encoding="utf-8")))
    if m["why"] is None and ">>>" not in m["body"]  # >>> blocks run as doctests
]


def test_the_guides_have_python_examples():
    assert {"getting-started.md", "python-guide.md"} <= {page for page, _, _ in SNIPPETS}


@pytest.mark.parametrize(
    ("page", "index", "body"), SNIPPETS, ids=[f"{p}-{i}" for p, i, _ in SNIPPETS]
)
def test_every_python_example_of_the_pages_runs(page, index, body, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(body, page, "exec"), namespace)  # noqa: S102
    solutions = [v for v in namespace.values() if type(v).__name__.endswith("Solution")]
    reports = [v for v in namespace.values() if type(v).__name__ == "SolveReport"]
    assert solutions or reports or "solver" in namespace, "the example solved nothing"
    for report in reports + [s.report for s in solutions]:
        if isinstance(report, dict):  # a complex solution's report
            assert report["converged"], (page, report)
        else:
            assert report.converged, (page, report.message)
