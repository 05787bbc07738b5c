"""Checks chatpkg writes itself: the examples a docstring or the request states.

They are the surest checks there are, the user's own words turned into
asserts without a model in between. A turn writes them as a test file when
its team has a tester or samples candidates (``engine/team.py``). Two ways of
writing an example are read:

- a doctest, ``>>> f(3)`` and ``6`` on the next line;
- a stated call and its result on one line: ``f(3) == 6``, ``f(3) -> 6``,
  ``f(3) => 6``, ``f(3) ➞ 6``, ``f(3) returns 6``, ``f(3) should return 6.``,
  ``f(3) # => 6``, and a doctest line that is such a comparison itself
  (``>>> f(3) == 6`` with no output line); here every argument must be a
  literal, so prose such as ``is_happy(a) => False`` is not mistaken for code.
  A lone ``=`` (``f(3) = 6``) counts in a docstring unless the docstring also
  defines the function by ``=`` over a variable (``tri(n) = 1 + n / 2``): its
  ``tri(1) = 3`` is then a line of the recurrence, not a result;
- the inputs named and the result stated: ``For lst = [1, 2] the output should
  be 5``, and ``Input: arr = [4, 2], k = 1`` (or ``grid : [[1]]`` lines, or
  one bare literal for a one-argument function) followed by ``Output: [4]``;
  the names must be the function's parameters, every one of them.

The request is read for stated calls of the functions the turn's code
defines (``calculate("2^3^2")`` gives ``512.0``), and for the inputs it says
the one function it asks for takes (``parse(text) that reads strings like
"3.5 km" or "12in"``): each must give a result, no error and not None, since
no result is stated. Only one-line examples whose
result is a Python literal become checks, and only for module-level functions
(a test can import those); anything else is left to the tester.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from dataclasses import dataclass, field

from chatpkg.core.engine.interface import stated_names
from chatpkg.core.workspace.modules import dotted

EXAMPLE = re.compile(r"^\s*>>> (?P<expr>.+)\n\s*(?P<want>(?!>>>)\S.*)$", re.M)
# What may stand between a stated call and its result (longest first, so "==>" is not read as "=="),
# after a comment's "#" or not (``file_name_check("a.txt") # => 'Yes'``).
STATED = re.compile(r"`*\s*(?:#\s*)?(?:==>|==|=>|->|→|➞|should\s+return\b|returns\b|gives\b|is\b)\s*(?P<want>.+)$")
EQUALS = re.compile(r"`*\s*=(?![=>])\s*(?P<want>.+)$", re.M)  # a lone "=", read in docstrings only
# "For lst = [1, 2] the output should be 5"; "For s = "ab", c = "b", the result should be ('a', False)".
FOR_STATED = re.compile(r"\bFor\s+(?P<inputs>\w+\s*=.+?),?\s+the\s+(?:output|result)\s+(?:should|will)\s+be\s+"
                        r"(?P<want>.+)$", re.I)
# "Input: arr = [4, 2], k = 1" (or "grid : [[1]]" lines, or one bare literal) and "Output: [4]" below it.
IN_OUT = re.compile(r"^[ \t]*Input\s*:(?P<inputs>(?:(?!\bInput\s*:|\bOutput\s*:).)*)^[ \t]*Output\s*:[ \t]*"
                    r"(?P<want>[^\n]+)", re.M | re.S)
# A quoted input not inside a call's parentheses (the call is read by _stated)
BARE_INPUT = re.compile(r"""(?<![\w(,=])\s*`?(?P<arg>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')""")
QUOTED = r"""`?(?:"[^"\n]*"|'[^'\n]*')`?"""
LISTED = r"(?:\s*,\s*(?:(?:or|and)\s+)?|\s+(?:or|and)\s+)"  # between the items of a list
# Inputs the asked function is stated to take: 'reads strings like "3.5 km", "12in" or " 7 ft "'.
ACCEPTS = re.compile(rf"\b(?:reads?|parses?|accepts?|takes?|handles?|understands?)\s+(?:[\w-]+\s+){{0,3}}?"
                     rf"(?:like|such as|e\.g\.,?|for example)\s+(?P<inputs>{QUOTED}(?:{LISTED}{QUOTED})*)")
# The kind of result such a line states: "into a (value, unit) tuple", "returning a dict".
RETURNS = re.compile(r"\b(?:returns?|returning|into|gives?)\s+an?\s+(?:\([^()]*\)\s+)?"
                     r"(?P<type>tuple|list|dict|dictionary|set|float|int|integer|str|string|bool|boolean)\b")
TYPES = {"dictionary": "dict", "integer": "int", "string": "str", "boolean": "bool", "float": "(int, float)"}


@dataclass(frozen=True)
class Example:
    module: str  # import path of the module, e.g. "pkg.calc"
    function: str
    expr: str
    want: str  # "": an input the function is stated to take, with no result stated (it must return one)
    source: str = field(default="docstring", compare=False)  # or "request"; the same example either way
    returns: str = field(default="", compare=False)  # for an input: the type of result stated ("tuple")


def examples(files: dict[str, str], paths: set[str] | None = None) -> list[Example]:
    """The one-line docstring examples of the functions in ``paths`` (all Python files when None)."""
    found: list[Example] = []
    for path, text in sorted(files.items()):
        if paths is None or path in paths:
            found += [e for module, node in _functions(path, text) for e in _of(module, node)]
    return found


def stated_in(request: str, files: dict[str, str]) -> list[Example]:
    """The calls of the files' functions that the request states with their result, and the bare
    inputs it states for the one function it asks for (``"2*(3+4)"` gives `[2.0, ...]``; ``reads strings
    like "3.5 km" or "12in"``, which it must take without an error)."""
    found: list[Example] = []
    asked = [s for s in stated_names(request) if s.kind == "callable"]
    for path, text in sorted(files.items()):
        for module, node in _functions(path, text):
            bare = len(asked) == 1 and (asked[0].module, asked[0].name) == (module, node.name)
            for line in request.splitlines():
                stated = _stated(line, node.name) + (_bare(line, node.name) if bare else [])
                found += [Example(module, node.name, expr, want, "request") for expr, want in stated]
                if bare:
                    found += [Example(module, node.name, expr, "", "request", kind)
                              for expr, kind in _accepted(line, node.name)]
    return found


def _bare(line: str, name: str) -> list[tuple[str, str]]:
    """A quoted input stated with its result, no call written (``"2*(3+4)" gives [2.0, ...]``): the
    input of the one function the request asks for. Only a string counts as the input; a bare number
    is prose too often (``1 in is 0.0254 m``)."""
    found = []
    for match in BARE_INPUT.finditer(line):
        stated = STATED.match(line, match.end())
        want = _result(stated["want"]) if stated else None
        if want is not None and _literal(match["arg"]):
            found.append((f"{name}({match['arg']})", want))
    return found


def _accepted(line: str, name: str) -> list[tuple[str, str]]:
    """The inputs a line states the function takes (``parses strings like "3.5 km" or "12in"``), each a call
    with no stated result, and the type of result the line states, if any (``into a (value, unit) tuple``:
    ``tuple``). Seen on the package benchmark: ``parse`` took ``float()`` of the whole string, every turn
    went green, and the acceptance tests' ``parse("3.5 km")`` raised; another returned a float."""
    kind = next((TYPES.get(m["type"], m["type"]) for m in RETURNS.finditer(line)), "")
    return [(f"{name}({arg.strip('`')})", kind) for match in ACCEPTS.finditer(line)
            for arg in re.findall(QUOTED, match["inputs"]) if _literal(arg.strip("`"))]


def _functions(path: str, text: str) -> list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """The module-level functions of a Python file, with the module's import path."""
    if not path.endswith(".py"):
        return []
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return []
    module = dotted(path)  # the same spelling as a stated name's module (interface.py), which stated_in compares
    return [(module, n) for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


def _of(module: str, node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[Example]:
    doc = ast.get_docstring(node) or ""
    found = []
    for match in EXAMPLE.finditer(doc):
        expr, want = _code(match["expr"]), match["want"].strip()
        if expr and _literal(want) and _calls(expr, node.name):
            found.append(Example(module, node.name, expr, want))
    equals = not _recurrence(doc, node.name)
    lines = doc.splitlines()
    for index, line in enumerate(lines):
        text = line.strip()
        if text.startswith(">>>"):  # a doctest line that is a comparison itself, with no output below it
            below = lines[index + 1].strip() if index + 1 < len(lines) else ""
            stated = [] if _literal(below) else _stated(text.removeprefix(">>>"), node.name)
        else:
            stated = _stated(line, node.name, equals=equals) + _for_stated(line, node)
        found += [Example(module, node.name, expr, want) for expr, want in stated]
    found += [Example(module, node.name, expr, want) for expr, want in _input_output(doc, node)]
    return found


def _recurrence(doc: str, name: str) -> bool:
    """Whether the docstring defines the function by ``=`` over a variable (``tri(n) = 1 + n / 2``): its
    lines with a lone ``=`` are then steps of the definition (``tri(4) = 3`` where ``tri(4)`` returns a
    list, HumanEval/130), not results."""
    for start in (m.start() for m in re.finditer(rf"(?<![\w.]){re.escape(name)}\(", doc)):
        end = _closing(doc, start + len(name))
        if end is not None and EQUALS.match(doc, end) and not _literal_call(doc[start:end]):
            return True
    return False


def _for_stated(line: str, node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[tuple[str, str]]:
    """``For lst = [1, 2] the output should be 5``: the call with those inputs, and the result."""
    match = FOR_STATED.search(line)
    call = _named_call(node, match["inputs"]) if match else None
    want = _result(match["want"]) if match else None
    return [(call, want)] if call and want is not None else []


def _input_output(doc: str, node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[tuple[str, str]]:
    """``Input: arr = [4, 2], k = 1`` then ``Output: [4]``: the call with those inputs, and the result (a
    comment after it left out). Inputs as ``name : value`` lines are read as ``name = value``; one bare
    literal is the argument of a function that takes one."""
    found, one = [], len(_parameters(node)) == 1
    for match in IN_OUT.finditer(doc):
        lines = [re.sub(r"^(\w+)\s*:\s*", r"\1 = ", text.strip()) for text in match["inputs"].splitlines()]
        inputs = ", ".join(text for text in lines if text)
        call = _named_call(node, inputs)
        if call is None and one and _literal(inputs):
            call = f"{node.name}({inputs})"
        want = _result(re.sub(r"\s+#.*$", "", match["want"]))
        if call and want is not None:
            found.append((call, want))
    return found


def _parameters(node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    return [a.arg for a in [*node.args.posonlyargs, *node.args.args] if a.arg not in ("self", "cls")]


def _named_call(node: ast.FunctionDef | ast.AsyncFunctionDef, inputs: str) -> str | None:
    """The call that gives the function the inputs named (``s = "ab", c = "b"``), its parameters in their
    order; None unless every parameter is named once with a literal and nothing else is. Prose after the
    inputs (``N = 1000, the sum of digits will be 1``) is cut at a comma."""
    parts, params = inputs.split(","), _parameters(node)
    for count in range(len(parts), 0, -1):
        try:
            call = ast.parse(f"f({','.join(parts[:count])})", mode="eval").body
        except SyntaxError:
            continue
        if not isinstance(call, ast.Call) or call.args or not all(_literal(k.value) for k in call.keywords):
            continue
        given = {k.arg: ast.unparse(k.value) for k in call.keywords}
        if set(given) == set(params) and len(given) == len(call.keywords):
            return f"{node.name}({', '.join(given[p] for p in params)})"
    return None


def _code(expr: str) -> str | None:
    """The expression as written, without a trailing comment (which would swallow the assert's ``==``)."""
    expr = expr.strip()
    try:
        ast.parse(expr, mode="eval")
    except SyntaxError:
        return None
    tokens = tokenize.generate_tokens(io.StringIO(expr).readline)
    comment = next((t.start[1] for t in tokens if t.type == tokenize.COMMENT), None)
    return expr if comment is None else expr[:comment].rstrip()


def _stated(line: str, name: str, *, equals: bool = False) -> list[tuple[str, str]]:
    """The calls of ``name`` on a line that state their result: ``f(3) == 6`` gives ``("f(3)", "6")``;
    with ``equals``, ``f(3) = 6`` too."""
    found = []
    for start in (m.start() for m in re.finditer(rf"(?<![\w.]){re.escape(name)}\(", line)):
        end = _closing(line, start + len(name))
        if end is None:
            continue
        expr = _code(line[start:end]) or ""
        match = STATED.match(line, end) or (EQUALS.match(line, end) if equals else None)
        want = _result(match["want"]) if match else None
        if want is not None and _literal_call(expr):
            found.append((expr, want))
    return found


def _closing(line: str, opening: int) -> int | None:
    """The index just past the parenthesis that closes the one at ``opening``, ignoring those in strings."""
    depth, quote = 0, ""
    for index in range(opening, len(line)):
        char = line[index]
        if quote:
            quote = "" if char == quote and line[index - 1] != "\\" else quote
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth == 0:
                return index + 1
    return None


def _result(text: str) -> str | None:
    """The stated result: the longest literal the rest of the line starts with, up to a sentence's or a
    clause's end (``6`, and f(4) gives 8.`` gives ``6``)."""
    text = text.strip().lstrip("`").strip()
    if (word := re.match(r"(true|false)\b", text)) is not None:  # ``is_simple_power(2, 2) => true``
        return word[1].capitalize()
    ends = [m.start() for m in re.finditer(r"`|[,;]|\.(?:\s|$)|\s+(?:and|or|but|while|when)\s", text)]
    for end in sorted({len(text), *ends}, reverse=True):
        candidate = text[:end].strip()
        if candidate.endswith(".") and _literal(candidate[:-1]):  # a sentence's full stop: "should be 1."
            return candidate[:-1]
        if candidate and _literal(candidate):
            return candidate
    return None


def _literal_call(expr: str) -> bool:
    """A call whose arguments are all literals (prose like ``f(a)`` names no value)."""
    try:
        call = ast.parse(expr, mode="eval").body
    except SyntaxError:
        return False
    if not isinstance(call, ast.Call) or call.keywords:
        return False
    return all(_literal(arg) for arg in call.args)


def _literal(text: str | ast.expr) -> bool:
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


def _compares(expr: str) -> bool:
    try:
        return isinstance(ast.parse(expr, mode="eval").body, ast.Compare)
    except SyntaxError:
        return False


def as_tests(found: list[Example]) -> str:
    """A pytest module asserting each example (floats compared with pytest.approx, as printed)."""
    if not found:
        return ""
    imports = sorted({(e.module, e.function) for e in found})
    lines = ["import pytest", "", *[f"from {m} import {f}" for m, f in imports], ""]
    counts: dict[str, int] = {}
    for example in found:
        key = f"{example.source}_{'example' if example.want else 'input'}_{example.function}"
        counts[key] = counts.get(key, 0) + 1
        want = example.want
        if not want:  # an input it takes: a result of the stated type, else any but an error and None
            check = f"isinstance({example.expr}, {example.returns})" if example.returns else f"{example.expr} is not None"
            lines += ["", f"def test_{key}_{counts[key]}():", f"    assert {check}", ""]
            continue
        value = ast.literal_eval(want)
        expected = f"pytest.approx({want})" if isinstance(value, float) else want
        expr = f"({example.expr})" if _compares(example.expr) else example.expr  # not a chain: f(x) == 3 == True
        lines += ["", f"def test_{key}_{counts[key]}():",
                  f"    assert {expr} == {expected}", ""]
    return "\n".join(lines).rstrip() + "\n"
