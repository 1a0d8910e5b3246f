"""The size rules of the layout issue, measured on the package's own source.

No module over 700 lines, no class over 500 lines, no function whose code (its
lines less the docstring, blank lines and comment-only lines) runs over 100
lines.  ``python tests/test_layout.py`` prints the ten largest of each.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "kronpde"
MODULE_LINES, CLASS_LINES, FUNCTION_CODE_LINES = 700, 500, 100


def _code_lines(lines: list[str], node: ast.AST) -> int:
    body = getattr(node, "body", [])
    skip: set[int] = set()
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        if isinstance(body[0].value.value, str):
            skip = set(range(body[0].lineno, body[0].end_lineno + 1))
    count = 0
    for number in range(node.lineno, node.end_lineno + 1):
        text = lines[number - 1].strip()
        if number not in skip and text and not text.startswith("#"):
            count += 1
    return count


def sizes() -> tuple[list, list, list]:
    """Return (lines, name) of every module, class and function, largest first."""
    modules, classes, functions = [], [], []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text()
        lines = text.splitlines()
        name = str(path.relative_to(PACKAGE.parent))
        modules.append((len(lines), name))
        for node in ast.walk(ast.parse(text)):
            where = f"{name}:{getattr(node, 'lineno', 0)} {getattr(node, 'name', '')}"
            if isinstance(node, ast.ClassDef):
                classes.append((node.end_lineno - node.lineno + 1, where))
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                functions.append((_code_lines(lines, node), where))
    return tuple(sorted(group, reverse=True) for group in (modules, classes, functions))


MODULES, CLASSES, FUNCTIONS = sizes()


def test_the_sizes_are_read():
    # anchors: the package has modules, classes and functions, and the counts are not zero
    assert len(MODULES) > 30
    assert len(CLASSES) > 20
    assert len(FUNCTIONS) > 200
    assert MODULES[0][0] > 300
    assert FUNCTIONS[0][0] > 30


def test_no_module_over_700_lines():
    assert [m for m in MODULES if m[0] > MODULE_LINES] == []


def test_no_class_over_500_lines():
    assert [c for c in CLASSES if c[0] > CLASS_LINES] == []


def test_no_function_over_100_lines_of_code():
    assert [f for f in FUNCTIONS if f[0] > FUNCTION_CODE_LINES] == []


if __name__ == "__main__":
    for title, group in zip(("modules (lines)", "classes (lines)", "functions (code lines)"),
                            (MODULES, CLASSES, FUNCTIONS), strict=True):
        print(f"## ten largest {title}")
        for size, name in group[:10]:
            print(f"{size:6d}  {name}")
    sys.exit(0)
