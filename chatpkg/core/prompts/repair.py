"""What a failed round sends back to the model, with plain next steps for it.

The failure (test report or the reason a reply could not be applied) comes
first, then the current content of the files the turn edited, then hints for
failures a small model misreads (prompt enhancement, as in Pygen): hints go
last, where small models look.
"""

from __future__ import annotations

import importlib.util
import re

from chatpkg.core.prompts.context import packages, render_files

MISSING_MODULE = re.compile(r"No module named '([\w.]+)'")
MISSING_NAME = re.compile(r"cannot import name '(\w+)' from '([\w.]+)'")
UNDEFINED_NAME = re.compile(r"NameError: name '(\w+)' is not defined")
TRACEBACK_FRAME = re.compile(r'File "([^"\n]+)", line (\d+), in ')
NO_INPUT = "EOFError: EOF when reading a line"
FLOAT = r"-?\d+\.\d+(?:e[-+]?\d+)?"
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


def repair_hints(problem: str, files: dict[str, str]) -> list[str]:
    """Plain next steps for failures small models misread (prompt enhancement, as in Pygen)."""
    hints: list[str] = []
    local = set(packages(files))
    for module in dict.fromkeys(MISSING_MODULE.findall(problem)):
        if module.split(".")[0] in local and "." in module:
            path = module.replace(".", "/") + ".py"
            hints.append(f"The module {module} does not exist: create {path} with that code in this reply.")
    for name, module in dict.fromkeys(MISSING_NAME.findall(problem)):
        if module.split(".")[0] in local:
            hints.append(f"{module} has no {name}: define {name} in {module.replace('.', '/')}.py in this reply.")
    for name in dict.fromkeys(UNDEFINED_NAME.findall(problem)):
        if unimported_module(name, problem, files):
            hints.append(f"{name} is a module that was never imported: add `import {name}` at the top of "
                         "the file that uses it.")
        elif home := standard_home(name, problem, files):
            hints.append(f"{name} is not defined: if you mean {home}.{name}, add `from {home} import {name}` "
                         f"at the top of the file that uses it; otherwise define {name}.")
    hints += crash_hints(problem, files)
    for left, right in dict.fromkeys(FLOAT_EQUALITY.findall(problem)):
        if rounding_only(left, right):
            hints.append(f"{left} and {right} differ only by float rounding: the code may be right. "
                         f"Compare floats in tests with pytest.approx (`import pytest`, then "
                         f"`assert value == pytest.approx({right})`).")
    return hints


def repair_message(problem: str, files: dict[str, str], all_files: dict[str, str] | None = None) -> str:
    """The message that sends a failed round back to the model; hints last, where small models look."""
    parts = [problem]
    if files:
        parts += ["# Current content of the files you edited", render_files(files)]
    parts += repair_hints(problem, all_files or files)
    parts.append("Fix this now: reply with the edits, in the same format.")
    return "\n\n".join(parts)
