"""The assistant's checks: which tests are whose, which can count as evidence, and what a repair changed.

Tests the user wrote or kept are never changed by a repair or a candidate; the
assistant's own tests (created by a turn, or written by the tester) may be
corrected, but every change to one, its removal or a skip is reported.
A check that is not valid Python or cannot fail (no assert, ``assert True``)
is rejected before it runs, and one that hangs at its first run is taken out
after it; neither is counted as evidence.
"""

from __future__ import annotations

import ast
import copy
import re
from dataclasses import dataclass, field

SKIP_MARKS = ("skip", "skipif", "xfail")


def checks_path(turn: int) -> str:
    return f"tests/test_turn{turn}_checks.py"


def examples_path(turn: int) -> str:
    """Where chatpkg writes the docstring examples as checks (engine/examples.py)."""
    return f"tests/test_turn{turn}_examples.py"


def chatpkgs(turn: int) -> set[str]:
    """The checks chatpkg writes in a turn: the tester's, and the user's examples."""
    return {checks_path(turn), examples_path(turn)}


EXAMPLES_FILE = re.compile(r"tests/test_turn\d+_examples\.py")  # examples_path of any turn: the user's words


def is_examples(path: str) -> bool:
    """A file of checks chatpkg wrote from a request's examples (any turn's): the user's words."""
    return EXAMPLES_FILE.fullmatch(path) is not None


@dataclass(frozen=True)
class Vetted:
    """A checks file after vetting: the source to write (rejected tests taken out), kept and rejected tests."""

    source: str
    tests: tuple[str, ...]
    rejected: dict[str, str] = field(default_factory=dict)


def vet(source: str) -> Vetted:
    """Keep the test functions that can fail, one check each; reject the rest (and the whole file when
    it does not parse)."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        return Vetted("", (), {"*": f"not valid Python ({exc.msg}, line {exc.lineno})"})
    tree.body = [part for n in tree.body for part in _one_check_each(n, tree)]
    rejected = {}
    for node in top_level_tests(tree):
        reason = _cannot_fail(node)
        if reason:
            rejected[node.name] = reason
    tree.body = [n for n in tree.body if not (is_test_function(n) and n.name in rejected)]  # type: ignore[union-attr]
    kept = tuple(n.name for n in top_level_tests(tree))
    if not kept:
        return Vetted("", (), rejected or {"*": "no test functions"})
    return Vetted(ast.unparse(tree) + "\n", kept, rejected)


def test_functions(source: str | None) -> dict[str, str]:
    """A test file's tests by pytest name (``test_x``, ``TestC::test_m``), each as the dump of its AST
    (formatting and comments do not count); empty when the file is absent or does not parse."""
    try:
        tree = ast.parse(source or "")
    except SyntaxError:
        return {}
    return {name: ast.dump(node) for name, node in test_nodes(tree).items()}


def unchanged_tests(before: str | None, after: str | None) -> set[str]:
    """The tests of ``after`` that ``before`` holds exactly as they are (by pytest name)."""
    old = test_functions(before)
    return {name for name, dump in test_functions(after).items() if old.get(name) == dump}


def test_nodes(tree: ast.Module) -> dict[str, ast.FunctionDef | ast.AsyncFunctionDef]:
    """A parsed test file's tests by pytest name (``test_x``, ``TestC::test_m``)."""
    found: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {n.name: n for n in top_level_tests(tree)}
    for cls in (n for n in tree.body if isinstance(n, ast.ClassDef) and n.name.startswith("Test")):
        found |= {f"{cls.name}::{n.name}": n for n in cls.body if is_test_function(n)}  # type: ignore[misc]
    return found


def without(source: str, names: set[str]) -> Vetted:
    """The checks file with these tests taken out (what is left, vetted as it was)."""
    tree = ast.parse(source)
    tree.body = [n for n in tree.body if not (is_test_function(n) and n.name in names)]  # type: ignore[union-attr]
    kept = tuple(n.name for n in top_level_tests(tree))
    return Vetted(ast.unparse(tree) + "\n" if kept else "", kept)


def _one_check_each(node: ast.stmt, tree: ast.Module) -> list[ast.stmt]:
    """A test function with several checks as one test per check, each with the statements before it.

    A small model puts all its asserts in one function, so the first wrong expectation hides every
    later one: split, each check is its own evidence, and candidates are told apart by how many they
    pass. A check is a top-level statement of the body that asserts (an ``assert``, a loop holding
    asserts, ``with pytest.raises``); the others (setup) go before every check that follows them.
    Decorated tests (parametrize, fixtures by marks) stay whole."""
    if not is_test_function(node) or node.decorator_list:  # type: ignore[union-attr]
        return [node]
    test: ast.FunctionDef | ast.AsyncFunctionDef = node  # type: ignore[assignment]
    asserting = [_asserts(stmt) for stmt in test.body]
    checks = [i for i, yes in enumerate(asserting) if yes]
    names = [f"{test.name}_{k}" for k in range(1, len(checks) + 1)]
    if len(checks) < 2 or set(names) & {n.name for n in top_level_tests(tree)}:
        return [test]
    parts = []
    for name, index in zip(names, checks):
        setup = [stmt for stmt, yes in zip(test.body[:index], asserting) if not yes]
        part = copy.copy(test)  # the signature is shared; each part gets its own body
        part.name, part.body = name, copy.deepcopy([*setup, test.body[index]])
        parts.append(part)
    return parts


def _asserts(stmt: ast.stmt) -> bool:
    return any(isinstance(n, ast.Assert) for n in ast.walk(stmt)) or _expects_error(stmt)


def is_test_function(node: ast.stmt) -> bool:
    return isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test")


def top_level_tests(tree: ast.Module) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [n for n in tree.body if is_test_function(n)]  # type: ignore[misc]


def _cannot_fail(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    """Why this test can never fail, or None when it can."""
    if any(_marks_skip(d) for d in node.decorator_list):
        return "skipped: it checks nothing"
    asserts = [n for n in ast.walk(node) if isinstance(n, ast.Assert)]
    if _expects_error(node):
        return None
    if not asserts:
        return "no assert: it cannot fail"
    if all(_constant(a.test) for a in asserts):
        return "asserts only constants (like assert True): it cannot fail"
    return None


def _expects_error(node: ast.AST) -> bool:
    """``with pytest.raises(...)`` around a call that could fail to raise."""
    for item in (i for w in ast.walk(node) if isinstance(w, ast.With) for i in w.items):
        call = item.context_expr
        if isinstance(call, ast.Call) and ast.unparse(call.func).endswith("raises"):
            return True
    return False


def _constant(expr: ast.expr) -> bool:
    """No name, call, attribute or subscript in it: its value is fixed before the code runs."""
    return not any(isinstance(n, (ast.Name, ast.Call, ast.Attribute, ast.Subscript)) for n in ast.walk(expr))


def _marks_skip(decorator: ast.expr) -> bool:
    text = ast.unparse(decorator)
    return any(f"mark.{mark}" in text for mark in SKIP_MARKS)


def changes(before: str | None, after: str | None) -> list[tuple[str, str]]:
    """(test, change) for each test of an assistant's file a repair changed: its asserts
    ("expected values"), "removed", or "skipped"; nothing for a file that only gained tests."""
    if before is None:
        return []
    old = _test_sources(before)
    if after is None:
        return [(name, "removed") for name in old]
    new = _test_sources(after)
    found = []
    for name, (asserts, skipped) in old.items():
        if name not in new:
            found.append((name, "removed"))
        elif new[name][1] and not skipped:
            found.append((name, "skipped"))
        elif new[name][0] != asserts:
            found.append((name, "expected values"))
    return found


def _test_sources(source: str) -> dict[str, tuple[tuple[str, ...], bool]]:
    """Each test's asserts (as text) and whether it is skipped."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    found = {}
    for node in top_level_tests(tree):
        asserts = tuple(ast.unparse(n) for n in ast.walk(node) if isinstance(n, ast.Assert))
        skipped = any(_marks_skip(d) for d in node.decorator_list) or "pytest.skip(" in ast.unparse(node)
        found[node.name] = (asserts, skipped)
    return found
