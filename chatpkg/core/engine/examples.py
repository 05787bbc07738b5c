"""Checks chatpkg writes itself: the examples a docstring states (``>>> f(3)`` then ``6``).

They are the surest checks there are, the user's own words turned into
asserts without a model in between: the tester's file gets them when its
team includes a tester. Only one-line examples whose result is a Python
literal become checks; anything else is left to the tester.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

EXAMPLE = re.compile(r"^\s*>>> (?P<expr>.+)\n\s*(?P<want>(?!>>>)\S.*)$", re.M)


@dataclass(frozen=True)
class Example:
    module: str  # import path of the module, e.g. "pkg.calc"
    function: str
    expr: str
    want: str


def examples(files: dict[str, str], paths: set[str] | None = None) -> list[Example]:
    """The one-line docstring examples of the functions in ``paths`` (all Python files when None)."""
    found: list[Example] = []
    for path, text in sorted(files.items()):
        if not path.endswith(".py") or (paths is not None and path not in paths):
            continue
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        module = path[:-3].removeprefix("src/").replace("/", ".").removesuffix(".__init__")
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found += _of(module, node)
    return found


def _of(module: str, node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[Example]:
    doc = ast.get_docstring(node) or ""
    found = []
    for match in EXAMPLE.finditer(doc):
        expr, want = match["expr"].strip(), match["want"].strip()
        if _literal(want) and _calls(expr, node.name):
            found.append(Example(module, node.name, expr, want))
    return found


def _literal(text: str) -> bool:
    try:
        ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def _calls(expr: str, name: str) -> bool:
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError:
        return False
    called = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    return name in called and "print" not in called  # a printed result is text, not the value


def as_tests(found: list[Example]) -> str:
    """A pytest module asserting each example (floats compared with pytest.approx, as printed)."""
    if not found:
        return ""
    imports = sorted({(e.module, e.function) for e in found})
    lines = ["import pytest", "", *[f"from {m} import {f}" for m, f in imports], ""]
    counts: dict[str, int] = {}
    for example in found:
        counts[example.function] = counts.get(example.function, 0) + 1
        want = example.want
        value = ast.literal_eval(want)
        expected = f"pytest.approx({want})" if isinstance(value, float) else want
        lines += ["", f"def test_docstring_example_{example.function}_{counts[example.function]}():",
                  f"    assert {example.expr} == {expected}", ""]
    return "\n".join(lines).rstrip() + "\n"
