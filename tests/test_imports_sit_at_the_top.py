"""Project imports sit at the top of their modules, where a reader sees what a module depends on. At most
five stay inside functions, each with a comment that says why (a circular import, Django's ready() hook).
The check parses every module of the project's packages (migrations aside)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("core", "generation", "gallery", "history", "imagegen")
MAX_INSIDE = 5


def _project_import(node: ast.AST) -> bool:
    if isinstance(node, ast.ImportFrom):
        return node.level > 0 or (node.module or "").split(".")[0] in PACKAGES
    if isinstance(node, ast.Import):
        return any(alias.name.split(".")[0] in PACKAGES for alias in node.names)
    return False


def imports_inside_functions(source: str) -> list[tuple[int, bool]]:
    """(line, commented) of each project import inside a function: commented when the import's own line or
    the line above it carries a comment."""
    lines = source.splitlines()
    found = []
    for func in ast.walk(ast.parse(source)):
        if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(func):
            if _project_import(node):
                own, above = lines[node.lineno - 1], lines[node.lineno - 2] if node.lineno > 1 else ""
                found.append((node.lineno, "#" in own or above.strip().startswith("#")))
    return sorted(set(found))


def project_modules():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def test_at_most_five_project_imports_sit_inside_functions_each_saying_why():
    inside = [(path.relative_to(ROOT), line, commented) for path in project_modules()
              for line, commented in imports_inside_functions(path.read_text())]
    assert len(inside) <= MAX_INSIDE, inside
    assert all(commented for _path, _line, commented in inside), [i for i in inside if not i[2]]


def test_the_check_finds_an_import_inside_a_function_and_whether_it_says_why():
    source = (
        "from generation import models\n\n"
        "def plain():\n    from gallery import selectors\n\n"
        "def explained():\n    # circular: gallery imports this module\n    from . import views\n\n"
        "def outside():\n    import json\n"
    )
    assert imports_inside_functions(source) == [(4, False), (8, True)]
