"""The rules of docs/architecture.md, read off the package's own imports.

Every ``import`` and ``from ... import`` in every module of ``kronpde/`` counts,
at module level and inside functions (only ``if TYPE_CHECKING:`` blocks, which
never run, are left out), and so does every string constant that names a
kronpde module (what ``importlib.import_module`` is given by the lazy
registries).  The test fails on a cycle between modules or on an import that
breaks a layer rule; a second group of tests runs fresh interpreters to check
what ``import kronpde`` and ``kronpde --help`` load.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "kronpde"

#: Layer of each package folder or top-level module (the longest matching prefix wins).
LAYERS = {
    "kronpde.errors": "base",
    "kronpde._checks": "base",
    "kronpde._lazy": "base",
    "kronpde._version": "base",
    "kronpde.expr": "expr",
    "kronpde.geometry": "geometry",
    "kronpde.operators": "operators",
    "kronpde.toolkit": "toolkit",
    "kronpde.problem": "problem",
    "kronpde.solvers": "solvers",
    "kronpde.io": "io",
    "kronpde.app": "app",
    "kronpde": "api",
    "kronpde.__main__": "api",
}

#: What each layer may import (besides itself), lowest layer first.
ALLOWED = {
    "base": set(),
    "expr": {"base"},
    "geometry": {"base", "expr"},
    "operators": {"base", "expr", "geometry"},
    "toolkit": {"base", "expr", "geometry", "operators"},
    "problem": {"base", "expr", "geometry", "operators"},
    "solvers": {"base", "expr", "geometry", "operators", "problem"},
    "io": {"base", "expr", "geometry", "operators", "problem"},
    "app": {"base", "expr", "geometry", "operators", "problem", "solvers", "io"},
    "api": {"base", "expr", "geometry", "operators", "toolkit", "problem", "solvers", "io", "app"},
}

#: The only modules at the top of the package; every other module sits in a layer's folder.
TOP_LEVEL = {"kronpde", "kronpde.__main__", "kronpde.errors", "kronpde._checks", "kronpde._lazy",
             "kronpde._version"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def layer(module: str) -> str:
    best = max((k for k in LAYERS if module == k or module.startswith(k + ".")), key=len)
    return LAYERS[best]


def _type_checking(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
    )


def imports_of(module: str) -> set[str]:
    """The kronpde modules ``module`` imports, anywhere in its code."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()

    def add(name: str) -> None:
        if name in MODULES:
            found.add(name)

    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if _type_checking(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                full = f"{base}.{alias.name}"
                add(full if full in MODULES else base)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and "." in node.value:
            add(node.value)  # a module named for importlib.import_module (not the word kronpde)
        stack.extend(ast.iter_child_nodes(node))
    found.discard(module)
    return found


GRAPH = {m: imports_of(m) for m in MODULES}


def test_the_graph_is_read():
    # anchors: edges that must be found (module level, inside a function, by string)
    assert "kronpde.geometry.grid" in GRAPH["kronpde.problem.problem"]
    assert "kronpde.solvers.petsc" in GRAPH["kronpde.solvers.driver"]  # inside prepare()
    assert "kronpde.solvers.amg" in GRAPH["kronpde.solvers.registry"]  # for importlib
    assert len(MODULES) > 30


def test_no_import_cycle():
    # Tarjan's strongly connected components over the module graph
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    cycles: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(GRAPH[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    assert cycles == [], f"import cycles: {cycles}"


def test_layers_import_only_below():
    broken = []
    for module, targets in GRAPH.items():
        own = layer(module)
        for target in targets:
            other = layer(target)
            if other != own and other not in ALLOWED[own]:
                broken.append(f"{module} ({own}) imports {target} ({other})")
    assert broken == []


def test_solvers_and_files_never_import_each_other():
    pairs = [
        (m, t)
        for m, targets in GRAPH.items()
        for t in targets
        if {layer(m), layer(t)} == {"solvers", "files"}
    ]
    assert pairs == []


def test_every_module_has_a_layer():
    assert all(layer(m) in ALLOWED for m in MODULES)


def test_every_module_sits_in_a_layer_folder():
    loose = [
        m for m in MODULES
        if m.count(".") == 1 and m not in TOP_LEVEL and MODULES[m].name != "__init__.py"
    ]
    assert loose == []
    assert {m for m in MODULES if m.count(".") <= 1} >= TOP_LEVEL - {"kronpde._checks"}


def test_no_module_is_named_after_a_stdlib_module():
    # module files; the folder kronpde/io/ is the file layer's name in the layout issue
    clashes = [
        m for m in MODULES
        if m.rpartition(".")[2] in sys.stdlib_module_names and MODULES[m].name != "__init__.py"
    ]
    assert clashes == []


def test_the_toolkit_is_imported_only_by_the_public_api():
    users = [m for m, targets in GRAPH.items() for t in targets
             if layer(t) == "toolkit" and layer(m) not in {"toolkit", "api"}]
    assert users == []


# --------------------------------------------------------------------------- what loads


def loaded_after(code: str) -> list[str]:
    """The modules a fresh interpreter has after running ``code``."""
    script = code + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


HEAVY = ("meshio", "matplotlib", "petsc4py", "mpi4py", "pyamg", "numba", "kronpde.io")


@pytest.mark.parametrize(
    "code",
    ["import kronpde", "from kronpde import Grid, Problem, prepare, solve"],
)
def test_the_numerical_api_loads_no_file_layer_and_no_optional_package(code):
    loaded = loaded_after(code)
    assert [m for m in loaded if m.split(".")[0] in HEAVY or m.startswith(HEAVY)] == []
    assert "kronpde" in loaded


def test_pyamg_loads_only_when_an_amg_method_is_prepared():
    code = (
        "from kronpde import Grid, Problem, prepare\n"
        "p = Problem(Grid.box([8, 8]), source=1.0)\n"
        "for m in ('fastdiag', 'cg', 'direct', 'fastdiag-cg'):\n"
        "    prepare(p, m).solve()\n"
        "import sys\nassert 'pyamg' not in sys.modules\n"
        "prepare(p, 'amg-cg')\n"
    )
    assert "pyamg" in loaded_after(code)


def test_kronpde_help_imports_no_solver():
    code = (
        "import contextlib, io\nfrom kronpde.app.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    assert main(['--help']) == 0\n"
    )
    loaded = loaded_after(code)
    assert [m for m in loaded if m.startswith(("kronpde.solvers", "kronpde.io"))] == []
    assert "kronpde.app.cli.solve" in loaded  # the subcommands' summaries are there
