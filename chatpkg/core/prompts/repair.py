"""What a failed round sends back to the model, with plain next steps for it.

The failure (test report or the reason a reply could not be applied) comes
first, then the current content of the files the turn edited, then hints for
failures a small model misreads (prompt enhancement, as in Pygen): hints go
last, where small models look.
"""

from __future__ import annotations

import ast
import importlib.util
import re

from chatpkg.core.prompts.context import packages, render_files
from chatpkg.core.runner import TestReport
from chatpkg.core.workspace.modules import dotted, module_file

MISSING_MODULE = re.compile(r"No module named '([\w.]+)'")
MISSING_NAME = re.compile(r"cannot import name '(\w+)' from '([\w.]+)'")
MISSING_ATTRIBUTE = re.compile(r"AttributeError: module '([\w.]+)' has no attribute '(\w+)'")
UNDEFINED_NAME = re.compile(r"NameError: name '(\w+)' is not defined")
UNBOUND_LOCAL = re.compile(r"UnboundLocalError: (?:cannot access local variable|local variable) '(\w+)'")
TRACEBACK_FRAME = re.compile(r'File "([^"\n]+)", line (\d+), in ')
NO_INPUT = "EOFError: EOF when reading a line"
FLOAT = r"-?\d+\.\d+(?:e[-+]?\d+)?"
# dataclasses' own words for a list/dict/set default (package benchmark, inventory: resent unchanged 3 rounds)
MUTABLE_DEFAULT = re.compile(r"mutable default <class '(\w+)'> for field (\w+) is not allowed")
# pytest's fixtures, which a small model imports (package benchmark, inventory: "Test it with tmp_path"
# gave `from pytest import tmp_path` at the top of inventory/store.py, and nothing imported)
PYTEST_FIXTURES = ("tmp_path", "tmpdir", "capsys", "capfd", "monkeypatch", "caplog", "tmp_path_factory", "request")
FLOAT_EQUALITY = re.compile(rf"assert ({FLOAT}) == ({FLOAT})\b")
# Standard modules whose names a small model uses bare and forgets to import (HumanEval/8: reduce).
NAME_HOMES = ("functools", "collections", "itertools", "math", "typing", "dataclasses", "heapq", "bisect",
              "fractions", "decimal", "statistics")


def _bound(name: str, code: str) -> bool:
    """Whether the code assigns ``name`` or defines it somewhere (``as name`` included)."""
    return re.search(rf"\b{name}\s*=[^=]|\bfor\s+{name}\b|\b(?:def|class)\s+{name}\b|\bas\s+{name}\b", code) is not None


def unimported_module(name: str, problem: str, files: dict[str, str]) -> bool:
    """An undefined ``name`` used as ``name.attr`` that is an importable module and bound nowhere.

    ``pytest.approx`` without ``import pytest`` qualifies; a list called ``numbers``
    (also a standard module's name) does not, as the code assigns it somewhere.
    """
    code = "\n".join([problem, *files.values()])
    if not re.search(rf"\b{name}\.\w", code):
        return False
    if _bound(name, code):
        return False
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def standard_home(name: str, problem: str, files: dict[str, str]) -> str | None:
    """The standard module an undefined bare ``name`` most likely comes from, if the code binds it nowhere."""
    if len(name) < 3 or name.startswith("_") or _bound(name, "\n".join([problem, *files.values()])):
        return None
    for home in map(importlib.import_module, NAME_HOMES):
        public = getattr(home, "__all__", None)
        if name in public if public is not None else hasattr(home, name):
            return home.__name__
    return None


def crash_line(problem: str, files: dict[str, str]) -> tuple[str, int, str] | None:
    """The deepest traceback frame in a workspace file: its path, line number and code."""
    for path, number in reversed(TRACEBACK_FRAME.findall(problem)):
        rel = next((r for r in files if path == r or path.endswith("/" + r)), None)
        if rel is None:
            continue
        lines, line = files[rel].splitlines(), int(number)
        if 1 <= line <= len(lines) and lines[line - 1].strip():
            return rel, line, lines[line - 1].strip()
    return None


def crash_hints(problem: str, files: dict[str, str]) -> list[str]:
    """Point at the line that raised: small models resend a line an earlier step wrote, unchanged."""
    found = crash_line(problem, files)
    if found is None:
        return []
    rel, number, code = found
    hints = [f"The error is raised by line {number} of {rel}: `{code}`. Change that line in this reply, "
             "even if an earlier step wrote it: sending it again unchanged cannot fix the error."]
    if NO_INPUT in problem and "input(" in code:
        hints.append("The program runs with no one typing, so input() gets nothing: use the values the "
                     "requests give instead of input().")
    return hints


def rounding_only(left: str, right: str) -> bool:
    """Two floats a test compared with == that differ only by float rounding."""
    a, b = float(left), float(right)
    return a != b and abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


# A failure pytest reports for a whole test module (no "::" in its id): the module could not be collected.
COLLECTION_ERROR = re.compile(r"^FAILED ([\w./-]+\.py): .*?(?=^FAILED |\Z)", re.M | re.S)
COLLECTING = re.compile(r"while importing test module|\.py:\d+: in (?:<module>|importtestmodule)")
EXPORT_REQUEST = r"\bexport|\bimportable from\b|\bfrom {module} import\b"


def collection_errors(problem: str) -> list[str]:
    """The failures of test modules that could not even be collected (their tests never ran)."""
    return [m.group(0) for m in COLLECTION_ERROR.finditer(problem) if COLLECTING.search(m.group(0))]


def defining_files(name: str, files: dict[str, str], top: str) -> list[str]:
    """The files of package ``top`` that define ``name`` at their top level (def, class or assignment)."""
    pattern = re.compile(rf"^(?:(?:async\s+)?def|class)\s+{name}\b|^{name}\s*(?::[^=\n]*)?=(?!=)", re.M)
    inside = (f"{top}/", f"src/{top}/")
    return [p for p in sorted(files) if p.endswith(".py") and p.startswith(inside) and pattern.search(files[p])]


def shadow_hint(top: str, name: str, files: dict[str, str]) -> str | None:
    """A file ``top.py`` beside the package folder ``top/``: Python imports the folder, never the file."""
    init = module_file(top, files)
    if f"{top}.py" not in files or not init.endswith("/__init__.py"):
        return None
    return (f"{top}.py is never imported: the package folder {top}/ shadows it, so `import {top}` loads {init}. "
            f"Move the code of {top}.py into a module inside {top}/, and export {name} from {init} "
            f"(`from .<module> import {name}`).")


def export_hint(name: str, module: str, home: str, init: str, request: str, failing: str = "") -> str:
    """``from pkg import Name`` (or ``pkg.Name``: ``failing``) where pkg/module.py defines Name and
    pkg/__init__.py does not import it."""
    source, relative = dotted(home), "." + dotted(home).removeprefix(module + ".")
    add = f"add `from {relative} import {name}` to {init}"
    failing = failing or f"from {module} import {name}"
    found = f"`{failing}` fails: {name} is defined in {home}, and {init} does not import it."
    if re.search(EXPORT_REQUEST.format(module=re.escape(module)), request, re.I):
        return f"{found} The request asks for {module} itself to export it: {add}."
    return (f"{found} Either import it from its module in the test (`from {source} import {name}`), "
            f"or export it from the package: {add}.")


def missing_name_hints(name: str, module: str, files: dict[str, str], request: str, failing: str = "") -> list[str]:
    """``cannot import name`` from a local module (or ``module.name`` missing: ``failing``, the expression
    that failed): where the name really is, and how to import it."""
    failing = failing or f"from {module} import {name}"
    top = module.split(".")[0]
    shadow = shadow_hint(top, name, files)
    target = module_file(module, files)
    homes = [p for p in defining_files(name, files, top) if p != target]
    if homes and target.endswith("/__init__.py") and dotted(homes[0]).startswith(module + "."):
        return [*filter(None, [shadow]), export_hint(name, module, homes[0], target, request, failing)]
    if homes:
        return [*filter(None, [shadow]), f"{name} is defined in {homes[0]}, not in {target}: import it from "
                f"there (`from {dotted(homes[0])} import {name}`)."]
    if shadow:
        return [shadow]
    owner = method_of(name, files.get(target, ""))
    if owner:
        return [f"{name} is a method of class {owner} in {target}, so `{failing}` cannot find it. "
                f"Define {name} at the top level of {target}, outside the class (not indented), as a function "
                f"that may create and return a {owner}."]
    return [f"{module} has no {name}: define {name} in {target} in this reply."]


def fixture_hint(name: str, files: dict[str, str]) -> str:
    """``from pytest import tmp_path``: a fixture is a test's argument, never imported."""
    where = [p for p in sorted(files) if re.search(rf"^from pytest import .*\b{name}\b", files[p], re.M)]
    remove = f"remove `from pytest import {name}` from {', '.join(where)}" if where else "remove that import"
    return (f"{name} is a pytest fixture: nothing can import it. A test gets it as an argument "
            f"(`def test_load({name}):`); {remove}, and never use it outside a test function.")


def method_of(name: str, code: str) -> str | None:
    """The class whose method ``name`` is, where the module has no top-level ``name`` (package benchmark,
    inventory: "Add load_csv(path) in inventory/store.py" written as ``Inventory.load_csv``)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    for cls in (n for n in tree.body if isinstance(n, ast.ClassDef)):
        if any(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == name for n in cls.body):
            return cls.name
    return None


def unbound_hint(name: str, files: dict[str, str]) -> str:
    """``store = store.Inventory()`` in a function: the assignment makes ``store`` local to the whole
    function, so reading the module of that name fails (package benchmark, inventory: six tests of the
    model's failed so, and it resent them unchanged through every repair)."""
    reading = re.compile(rf"^\s+{name}\s*=(?!=).*\b{name}\b.*$", re.M)
    found = next(((p, m.group(0).strip()) for p in sorted(files) if (m := reading.search(files[p]))), None)
    where = f"`{found[1]}` in {found[0]}" if found else f"An assignment to {name}"
    attr = re.search(rf"\b{name}\.(\w+)", found[1]) if found else None
    other = attr[1].lower() if attr and attr[1].lower() != name else f"{name}_"
    return (f"{where} makes {name} a local name of the whole function, so every use of {name} before it "
            f"(the right-hand side too) reads the unset local, never the {name} imported at the top. Give "
            f"the local another name (`{other} = ...`) and use that name below it, in every such function.")


def repair_hints(problem: str, files: dict[str, str], request: str = "") -> list[str]:
    """Plain next steps for failures small models misread (prompt enhancement, as in Pygen).

    A test module that could not be collected comes first: none of its tests ran.
    """
    first = [hint for failure in collection_errors(problem) for hint in failure_hints(failure, files, request)]
    return list(dict.fromkeys([*first, *failure_hints(problem, files, request)]))


def failure_hints(problem: str, files: dict[str, str], request: str = "") -> list[str]:
    """The hints for the failures in ``problem``, in the order of their kinds."""
    hints: list[str] = []
    local = set(packages(files))
    for module in dict.fromkeys(MISSING_MODULE.findall(problem)):
        if module.split(".")[0] in local and "." in module:
            path = module.replace(".", "/") + ".py"
            hints.append(f"The module {module} does not exist: create {path} with that code in this reply.")
    for name, module in dict.fromkeys(MISSING_NAME.findall(problem)):
        if module.split(".")[0] in local:
            hints += missing_name_hints(name, module, files, request)
        elif module == "pytest" and name in PYTEST_FIXTURES:
            hints.append(fixture_hint(name, files))
    for module, name in dict.fromkeys(MISSING_ATTRIBUTE.findall(problem)):  # `import units; units.convert(...)`
        if module.split(".")[0] not in local:
            continue
        if module_file(f"{module}.{name}", files) in files:
            hints.append(f"{module}.{name} is a module that `import {module}` does not load: write "
                         f"`import {module}.{name}` (or `from {module}.{name} import ...`).")
        else:
            hints += missing_name_hints(name, module, files, request, failing=f"{module}.{name}")
    for name in dict.fromkeys(UNDEFINED_NAME.findall(problem)):
        if unimported_module(name, problem, files):
            hints.append(f"{name} is a module that was never imported: add `import {name}` at the top of "
                         "the file that uses it.")
        elif home := standard_home(name, problem, files):
            hints.append(f"{name} is not defined: if you mean {home}.{name}, add `from {home} import {name}` "
                         f"at the top of the file that uses it; otherwise define {name}.")
    hints += [unbound_hint(name, files) for name in dict.fromkeys(UNBOUND_LOCAL.findall(problem))]
    hints += crash_hints(problem, files)
    for kind, name in dict.fromkeys(MUTABLE_DEFAULT.findall(problem)):
        hints.append(f"A dataclass field cannot default to a shared {kind}: write `{name}: {kind} = "
                     f"field(default_factory={kind})`, with `from dataclasses import dataclass, field`.")
    for left, right in dict.fromkeys(FLOAT_EQUALITY.findall(problem)):
        if rounding_only(left, right):
            hints.append(f"{left} and {right} differ only by float rounding: the code may be right. "
                         f"Compare floats in tests with pytest.approx (`import pytest`, then "
                         f"`assert value == pytest.approx({right})`).")
    return hints


def repair_message(problem: str, files: dict[str, str], all_files: dict[str, str] | None = None,
                   request: str = "") -> str:
    """The message that sends a failed round back to the model; hints last, where small models look.

    ``request`` (the turn's) lets a hint follow what it asked, e.g. that the package export a name.
    """
    parts = [problem]
    if files:
        parts += ["# Current content of the files you edited", render_files(files)]
    parts += repair_hints(problem, all_files or files, request)
    parts.append("Fix this now: reply with the edits, in the same format.")
    return "\n\n".join(parts)


def test_blamed(reply: str) -> str | None:
    """The reason a repair gave on its ``TEST: <why>`` line (it says its own test is wrong); None without one."""
    return next((line.split(":", 1)[1].strip() for line in reply.splitlines() if line.startswith("TEST:")), None)


def blamed_test_message(request: str, report: TestReport, stood: dict[str, str] | None = None, shown: int = 3) -> str:
    """For a ``TEST:`` reply that changed no test: the test stands, and the code is to be fixed.

    Seen on the embedded model: told only that its reply changed nothing, it blamed the test,
    resent the same code and test, then sent chatpkg's own message back as its reply. Asked again to
    decide between the code and the test, it resent the same reply: on two package tasks all 14 repair
    replies started with ``TEST:``, one changed a test, and no turn went green. A test it does not
    change is the one it keeps, so the code has to meet it."""
    failing = [f"FAILED {f.test_id}: {f.message}" for f in report.failures[:shown]]
    met = [f"{test}: {evidence}, so it can be met." for test, evidence in (stood or {}).items()
           if any(f.test_id == test for f in report.failures)]
    return "\n\n".join(filter(None, [
        "# You said a test is wrong, but " + ("another candidate's code passes it" if met else "changed no test"),
        ("A change to a test that code can pass is not applied: the test stands and the same checks fail again."
         if met else "Your reply starts with `TEST:` and sends the test as it was, so the test stands and the same "
         "checks fail again.") + " The request:\n" + request,
        "\n".join(met),
        "The failing checks, with the value the code gave and the expected one:\n" + "\n".join(failing),
        "Change the code so that these checks pass. Start your reply with the file's path, not `TEST:`.",
    ]))


# "Test it.", "Test all cases.", "Test the imports.", "write a short pytest test", "add tests", "with tests"
ASKS_FOR_TESTS = re.compile(
    r"\btest (?:it|them|this|that|all|each|every|both|the)\b|\b(?:add|write|with) (?:\w+ ){0,3}tests?\b", re.I)


def asks_for_tests(request: str) -> bool:
    """Whether the request asks for tests of what it adds."""
    return ASKS_FOR_TESTS.search(request) is not None


def no_tests_message(untested: dict[str, list[str]]) -> str:
    """The request asked for tests and the reply wrote none: what to test, and where.

    Seen on the package benchmark: asked "Test it.", the embedded model sent parse() alone, the turn
    went green with nothing checking it, and parse("12in"), one of the request's own examples, failed
    the acceptance test."""
    where = [f"{', '.join(names)} (in {path}): {_test_file(path)}" for path, names in untested.items()]
    listed = "\n".join(f"- {line}" for line in where) or "- the code your reply adds: a tests/test_<module>.py file"
    return "\n\n".join(filter(None, [
        "# Your reply has no tests\n\nThe request asks for tests, and your reply wrote none. Add them now, as "
        "pytest functions that import the code and assert what it returns for the request's own examples and "
        "edge cases:\n" + listed,
        "\n\n".join(_test_skeleton(path, names) for path, names in untested.items()),
        "Reply with the test file, every `...` filled in; the code is already applied: do not send it again.",
    ]))


def _test_skeleton(path: str, names: list[str]) -> str:
    """The test file to write, with a test per name: the shape a small model fills in rather than resending
    its code (seen: asked only in words, the embedded model sent its code again, twice)."""
    module = dotted(path)
    tests = "\n\n\n".join(f"def test_{name.lower()}():\n    assert {name}(...) == ..." for name in names)
    return f"{_test_file(path)}\n```python\nfrom {module} import {', '.join(names)}\n\n\n{tests}\n```"


def _test_file(path: str) -> str:
    """Where the tests of a code file go: ``pkg/store.py`` -> ``tests/test_store.py``, ``pkg/__init__.py`` ->
    ``tests/test_pkg.py``."""
    return f"tests/test_{dotted(path).rsplit('.', 1)[-1]}.py"
