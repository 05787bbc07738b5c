"""The interface a request states, as checks: which names it asks for, and in which module.

"Add load_csv(path) in inventory/store.py" states a module-level ``load_csv``
that ``from inventory.store import load_csv`` finds. A small model that writes
it as a method of a class instead passes its own tests (which call the method)
and fails every test written against the request: on the package benchmark's
inventory task one such name cost all 8 acceptance tests. Like the examples
(``engine/examples.py``), these checks are the user's words, read without a
model in between, and written with them (``engine/team.py``).

Three ways of stating a name are read, each naming its module:

- a module and what it holds: ``pkg/calc.py with double(x)``, ``... with a
  dataclass Item(...)``, ``... with a dict FACTORS``;
- a name put into a module: ``double(x) in pkg/calc.py``, ``truncate(...) to
  pkg/text.py``, ``a class Inventory in pkg/store.py``;
- an import in backticks: ```from pkg import slugify, truncate```;
- ``Add convert(...)`` in a request that names one module, and no other.

Only what is unambiguous counts: a call's parentheses, a class named as one, or
an all-capitals constant; prose (``with the header name,...``), test files and
methods (``Inventory.total(...)``) are left to the tester.
"""

from __future__ import annotations

import ast
import keyword
import re
import shlex
from dataclasses import dataclass

from chatpkg.core.runner.report import is_test_path
from chatpkg.core.workspace.modules import RUN_MODULE, dotted, package_main

IDENT = r"[A-Za-z_]\w*"
PATH = rf"(?<![\w/.-])(?P<path>{IDENT}(?:/{IDENT})*\.py)\b"
KINDS = r"dataclass|class|function|dict|list|set|tuple|constant|mapping"
HOLDS = re.compile(rf"{PATH}\s+with\s+(?:(?:a|an|the)\s+)?(?:(?P<kind>{KINDS})\s+)?(?P<name>{IDENT})(?P<call>\()?")
PUT = re.compile(rf"(?:\b(?P<kind>dataclass|class|function)\s+)?(?<![\w.])(?P<name>{IDENT})(?P<call>\([^()]*\))?"
                 rf"\s+(?:in|to|into)\s+(?:the\s+(?:module|file)\s+)?{PATH}")
# "Add convert(...)" in a request that names one module (units: "Add units/length.py with ... Add convert(...)")
ADD = re.compile(rf"\b(?:Add|Define|Write|Implement)\s+(?:a\s+function\s+)?(?<![\w.])(?P<name>{IDENT})\(")
IMPORT = re.compile(r"`(?P<code>from\s+[\w.]+\s+import\s+[^`]+)`")


@dataclass(frozen=True)
class Stated:
    module: str  # import path, e.g. "inventory.store"
    name: str
    kind: str  # "callable", "class" or "name"
    words: str  # the request's words that state it


def stated_names(request: str) -> list[Stated]:
    """The names the request puts in named modules, in the order it states them, each once."""
    found: dict[tuple[str, str], Stated] = {}
    for match in [*HOLDS.finditer(request), *PUT.finditer(request)]:
        kind = _kind(match["kind"], match["name"], bool(match["call"]))
        if kind and not is_test_path(match["path"]) and not keyword.iskeyword(match["name"]):
            item = Stated(dotted(match["path"]), match["name"], kind, match.group(0))
            found.setdefault((item.module, item.name), item)
    modules = {dotted(p) for p in re.findall(PATH, request) if not is_test_path(p)}
    if len(modules) == 1:
        for match in ADD.finditer(request):
            if not keyword.iskeyword(match["name"]):
                item = Stated(next(iter(modules)), match["name"], "callable", match.group(0))
                found.setdefault((item.module, item.name), item)
    for match in IMPORT.finditer(request):
        for item in _imported(match["code"]):
            found.setdefault((item.module, item.name), item)
    return sorted(found.values(), key=lambda s: request.find(s.words))


def _kind(kind: str | None, name: str, call: bool) -> str | None:
    if kind in ("class", "dataclass"):
        return "class"
    if call:
        return "callable"
    if kind or (name.isupper() and len(name) > 1):
        return "name"
    return None


def _imported(code: str) -> list[Stated]:
    """The names of the ``from module import ...`` statements in one backticked span."""
    try:
        tree = ast.parse(code.strip())
    except SyntaxError:
        return []
    return [Stated(node.module, alias.name, "name", f"`{code}`")
            for node in tree.body if isinstance(node, ast.ImportFrom) and node.module and not node.level
            for alias in node.names if alias.name != "*"]


def as_tests(stated: list[Stated]) -> str:
    """One test per stated name: the import the request implies, inside the test (a missing name fails
    that test alone, not the whole file), and an assert on what kind of thing it is."""
    lines: list[str] = []
    for item in stated:
        what = {"callable": f"callable({item.name})", "class": f"isinstance({item.name}, type)",
                "name": f"{item.name} is not None"}[item.kind]
        words = re.sub(r"\s+", " ", item.words).rstrip("(").replace('"', "'")
        lines += ["", f"def test_request_states_{item.module.replace('.', '_')}_{item.name}():",
                  f"    from {item.module} import {item.name}",
                  f'    assert {what}, "the request states: {words}"', ""]
    return "\n".join(lines).strip() + "\n" if lines else ""


# A command line stated in backticks and said to print: `python -m units "3.5 km" m` prints the result
PRINTS = re.compile(r"`(?P<command>python3? -m [^`\n]+)`\s+(?:should\s+)?prints?\b(?!\s+an?\s+(?:error|usage))")


def command_test(request: str, files: dict[str, str]) -> str:
    """A check of the package module a stated ``python -m pkg`` runs (``pkg/__main__.py``): that it imports,
    and where the request shows the command with its arguments and says it prints, that the command run so
    exits 0 and prints. Seen on the package benchmark: ``units/__main__.py`` imported a name ``units`` does
    not export, then another had no ``if __name__ == "__main__":`` call of its ``main``; no test ran it,
    and ``python -m units "3.5 km" m`` printed nothing."""
    home = package_main(request, files)
    if home is None:
        return ""
    module, words = dotted(home), RUN_MODULE.search(request)[0]
    name = f"test_request_runs_{module.replace('.', '_')}"
    stated = PRINTS.search(request)
    try:
        argv = shlex.split(stated["command"])[1:] if stated else []
    except ValueError:  # unbalanced quotes
        argv = []
    if argv[:2] != ["-m", words.split()[-1]]:
        return (f"def {name}():\n    import importlib\n\n"
                f'    assert importlib.import_module("{module}"), "the request states: {words}"\n')
    said = stated.group(0).replace('"', "'").replace("\\", "/").replace("{", "{{").replace("}", "}}")
    return (f"def {name}():\n    import os\n    import subprocess\n    import sys\n\n"
            "    env = {**os.environ, 'PYTHONPATH': os.pathsep.join(sys.path)}  # the test's imports (a src/ layout)\n"
            f"    run = subprocess.run([sys.executable, *{argv!r}], capture_output=True, text=True, timeout=30, env=env)\n"
            f"    assert run.returncode == 0 and run.stdout.strip(), (\n"
            f'        f"the request states: {said}; it exited {{run.returncode}}, printing {{run.stdout[-300:]!r}}, "\n'
            f'        f"stderr {{run.stderr[-500:]!r}}")\n')
