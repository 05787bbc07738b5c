"""The other roles of a team (Self-collaboration): the tester and the analyst, each one short request.

The tester turns the user's request into executable checks without seeing the
code's bodies: only the request, the analyst's notes when there are any, and
the interface (signatures and docstrings, where the docstring's examples are).
Checks written that way are evidence about the code, not a copy of it. The
analyst, an option, states the functions, their results on the request's
examples and the edge cases, before the coder writes anything.
"""

from __future__ import annotations

import ast
import re

from chatpkg.core.models import Message
from chatpkg.core.prompts.context import fence_for
from chatpkg.core.runner.report import is_test_path
from chatpkg.core.workspace.modules import dotted, main_module

TESTER_SYSTEM = """\
You write pytest checks for one step of a Python project. You see the request and the code's \
interface (signatures and docstrings), not its implementation. Reply with one file in one \
```python block and nothing else.
"""

TESTER_RULES = """\
Write {path}: plain pytest functions named test_*.
- Turn every example the request or a docstring states into an assert with exactly that input and \
that result.
- Add at most three more checks only when the request makes the result certain (a round trip, an \
invariant, a type); no other invented cases.
- Import what you test as: {imports}
- Every test must assert something that could fail."""

ANALYST_SYSTEM = """\
You analyse one step of a Python project before anyone writes code. Be brief: at most ten lines, no code.
"""

ANALYST_ASK = """\
List, for the request below: the function(s) or change(s) to make (file, name, parameters), what each \
must return for every example the request states, and the edge cases the request mentions.

# Request
{request}"""


PY_PATH = re.compile(r"[\w./-]*\w\.py\b")
PLAIN_BLOCK = re.compile(r"```(?:python|py)?[ \t]*\n(.*?)(?:```|\Z)", re.S)
TESTS_START = re.compile(r"^(?:def test|class Test|(?:import|from) (?:unittest|pytest)\b|if __name__\b"
                         r"|#.*\b(?:tests?|examples?|usage)\b)", re.M | re.I)
DEFINITION = re.compile(r"^(?:async def|def|class) \w", re.M)
PLAIN_ASK = "Reply with the complete new content of `{path}` in one ```python code block."
PLAIN_NEW = "Reply with the complete content of the new file `{path}` in one ```python code block."
PLAIN_CODE_ONLY = "Only the code: its tests are written separately."
PLAIN_OTHERS = "The package's other modules, as far as this file needs them (signatures only):"


def plain_target(request: str, files: dict[str, str]) -> str | None:
    """The one source file a request is about, for a candidate asked plainly, from the files as they were
    before the turn: the Python file it names (the tests it names aside), existing or new, the file its
    ``python -m`` runs, or the workspace's only one. None when that is not one file (a package turn across
    modules)."""
    named = {_in(files, p.removeprefix("./")) for p in PY_PATH.findall(request)}
    named = {p for p in named if not is_test_path(p)}
    if named:  # the one code file it names
        return next(iter(named)) if len(named) == 1 else None
    if (home := main_module(request, files)) is not None:  # the command line of `python -m pkg`
        return home
    sources = [p for p in files if p.endswith(".py") and not is_test_path(p) and files[p].strip()]
    return sources[0] if len(sources) == 1 else None


def _in(files: dict[str, str], path: str) -> str:
    """``path`` as the workspace has it: a module named without its package (``length.py``) is the one
    file of that name there, if there is exactly one."""
    if path in files:
        return path
    found = [p for p in files if p.endswith("/" + path)]
    return found[0] if len(found) == 1 else path


def plain_messages(request: str, path: str, files: dict[str, str], *, code_only: bool = False) -> list[Message]:
    """A second framing of the coder's request, for one candidate: the request and the one file it is
    about, with no system prompt, no edit format and no history (the embedded model asked this way
    passes other HumanEval tasks than through chatpkg's framing: 19 pass only so, 7 only through chatpkg).
    ``files``: the workspace before the turn; the other modules go along as signatures, for the imports
    of a package's module. ``code_only``: the request asks for tests too, which a later round writes."""
    shown = _interface({p: t for p, t in files.items() if p != path}, docstrings=False)
    content = files.get(path)
    ask = (PLAIN_ASK if content is not None else PLAIN_NEW).format(path=path)
    parts = [request, f"{PLAIN_OTHERS}\n\n{shown}" if shown else "",
             f"{ask} {PLAIN_CODE_ONLY}" if code_only else ask]
    if content is not None and content.strip():
        content = content if content.endswith("\n") else content + "\n"
        fence = fence_for(content)
        parts.append(f"`{path}`:\n{fence}python\n{content}{fence}")
    return [{"role": "user", "content": "\n\n".join(filter(None, parts))}]


def numbered_steps(steps: list[str]) -> str:
    """A session's requests as one numbered list, each on one line."""
    return "\n".join(f"{i}. {' '.join(step.split())}" for i, step in enumerate(steps, start=1))


def program_messages(steps: list[str], program: str) -> list[Message]:
    """The whole program asked for plainly, every step at once: no system prompt, no edit format (the
    printed answer's second rewrite, ``engine/agreement.py``)."""
    return [{"role": "user", "content": f"Write a Python program, `{program}`, that does these steps in this "
             f"order:\n{numbered_steps(steps)}\n\nReply with the complete content of `{program}` in one ```python code block."}]


def first_code_block(reply: str) -> str | None:
    """The text of a reply's first fenced block (untagged or tagged python), up to its end or the
    reply's; None without one. A plain reply's code (``plain_edit``, the ``--raw`` bench arm)."""
    match = PLAIN_BLOCK.search(reply)
    return match.group(1) if match else None


def plain_edit(reply: str, path: str, *, code_only: bool = False) -> str:
    """A plain reply as an edit of ``path`` in any edit format: its first code block under the path
    (the whole file, as asked; a block without the other code is merged by name in ``merge``).
    ``code_only``: the block stops where tests begin (``without_tests``)."""
    code = first_code_block(reply) or ""
    if not code.strip():
        return reply  # no code block: applied as it is, and rejected with the reason like any reply
    if code_only:
        code = without_tests(code)
    fence = fence_for(code)
    return f"{path}\n{fence}python\n{code.rstrip()}\n{fence}\n"


def without_tests(code: str) -> str:
    """A module's code up to the first top-level line where tests or examples begin, when code comes
    before it. Asked for "only the code", the embedded model still appended the tests the request
    asked for to the module (textkit: a ``# tests/test_slug.py`` part cut off mid-string, and a
    ``test_word_count()`` called at import whose wrong expectation broke every import of the module)."""
    start = TESTS_START.search(code)
    if start is None:
        return code
    head = code[: start.start()]
    return head.rstrip() + "\n" if DEFINITION.search(head) else code


def interface(files: dict[str, str], limit: int = 40) -> str:
    """Signatures and docstrings of the Python files (no bodies), for the tester."""
    return _interface(files, limit) or "(no Python code yet)"


def _interface(files: dict[str, str], limit: int = 40, *, docstrings: bool = True) -> str:
    """The code files' signatures (no bodies), each in its block under its path; empty when none has any.
    Without the docstrings for a plain candidate: asked for textkit's word_count beside slugify's, it
    wrote slugify again."""
    parts = []
    for path, text in sorted(files.items()):
        if not path.endswith(".py") or is_test_path(path):
            continue
        lines = _signatures(text, docstrings)
        if lines:
            shown = "\n".join(lines[:limit])
            fence = fence_for(shown)
            parts.append(f"{path}\n{fence}python\n{shown}\n{fence}")
    return "\n\n".join(parts)


def _signatures(text: str, docstrings: bool = True) -> list[str]:
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return []
    lines: list[str] = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            lines.append(ast.unparse(node))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            lines += _definition(node, "", docstrings)
    return lines


def _definition(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef, indent: str,
                docstrings: bool = True) -> list[str]:
    """A definition's head (a class's fields, methods and decorators too), its docstring when asked."""
    inside = indent + "    "
    doc = _docstring(node, inside) if docstrings else []
    decorators = [f"{indent}@{ast.unparse(d)}" for d in node.decorator_list]
    if isinstance(node, ast.ClassDef):
        bases = ", ".join(ast.unparse(b) for b in node.bases)
        head = [f"{indent}class {node.name}({bases}):" if bases else f"{indent}class {node.name}:"]
        fields = [f"{inside}{ast.unparse(n)}" for n in node.body if isinstance(n, ast.AnnAssign)]
        inner = [n for n in node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
        body = fields + [line for n in inner for line in _definition(n, inside, docstrings)]
        return decorators + head + doc + (body or [f"{inside}..."])
    prefix = "async def" if isinstance(node, ast.AsyncFunctionDef) else "def"
    returns = f" -> {ast.unparse(node.returns)}" if node.returns else ""
    head = [f"{indent}{prefix} {node.name}({ast.unparse(node.args)}){returns}:"]
    return decorators + head + (doc or [f"{inside}..."])


def _docstring(node: ast.AST, indent: str) -> list[str]:
    doc = ast.get_docstring(node, clean=False)  # type: ignore[arg-type]
    if not doc:
        return []
    return [f'{indent}"""'] + [f"{indent}{line.strip()}" if line.strip() else "" for line in doc.splitlines()] + [
        f'{indent}"""'
    ]


def import_hint(files: dict[str, str]) -> str:
    """How a test imports the code: from the package's modules, or from top-level modules."""
    modules = sorted(p for p in files if p.endswith(".py") and not is_test_path(p) and not p.endswith("__init__.py"))
    names = [dotted(p) for p in modules]
    return ", ".join(f"`from {n} import ...`" for n in names[:6]) or "`from <module> import ...`"


def tester_messages(request: str, files: dict[str, str], path: str, analysis: str = "") -> list[Message]:
    notes = f"# Analysis\n{analysis.strip()}\n\n" if analysis.strip() else ""
    rules = TESTER_RULES.format(path=path, imports=import_hint(files))
    body = f"# Request\n{request}\n\n{notes}# The code's interface\n{interface(files)}\n\n{rules}"
    return [{"role": "system", "content": TESTER_SYSTEM}, {"role": "user", "content": body}]


def analyst_messages(request: str) -> list[Message]:
    return [{"role": "system", "content": ANALYST_SYSTEM}, {"role": "user", "content": ANALYST_ASK.format(request=request)}]


def with_analysis(messages: list[Message], analysis: str) -> list[Message]:
    """The coder's messages with the analyst's notes just before the request."""
    if not analysis.strip():
        return messages
    last = dict(messages[-1])
    head, sep, request = last["content"].rpartition("# Request\n")
    if not sep:
        return messages
    last["content"] = f"{head}# Analysis (the analyst's notes)\n{analysis.strip()}\n\n# Request\n{request}"
    return [*messages[:-1], last]
