"""What the model is shown for a turn, within its token budget.

Messages run from the most stable part to the least stable one, so providers
and local engines can reuse a cached prefix: the system prompt, then one user
message holding the compact history of earlier turns (append-only), the
workspace files, the last test report and the request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from chatpkg.core.models import Message
from chatpkg.core.tokens import count_message_tokens, count_tokens
from chatpkg.core.workspace.merge import unwrap_main_guard
from chatpkg.core.workspace.modules import RUN_MODULE, package_main

ROLE = """\
You are chatpkg, an expert Python engineer working in a git repository that holds a \
Python package. Each user message asks for one step. Make that step by editing files; \
chatpkg applies your edits, runs the tests with pytest, and shows you any failures.
"""

WHOLE_FORMAT = """\
# How to edit files
For every file you create or change, write its path on a line by itself, then a fenced \
code block with the COMPLETE new content of the file. Never elide code with comments \
like "rest unchanged": keep every existing definition you were not asked to remove.

The shape of each edit (placeholders in angle brackets):

<path of the file, e.g. pkg/module.py>
```python
<the complete new content of that file>
```
"""

# The file the format examples edit. A model that copies it (seen at temperature 0.8) is sent
# to the file the code belongs in (``engine/turn.py``), so the name must stay in one place.
EXAMPLE_PATH = "geometry/shapes.py"

DIFF_FORMAT = f"""\
# How to edit files
Change files with SEARCH/REPLACE blocks. Write the file path on a line by itself, then the block. Example, from another project (its file is not in this repository):

{EXAMPLE_PATH}
```python
<<<<<<< SEARCH
def square_area(side):
    return side
=======
def square_area(side):
    return side * side
>>>>>>> REPLACE
```

SEARCH must copy the current lines exactly. To create a file, leave SEARCH empty.
"""

RULES = """\
# Rules
- Make the change the request asks for, in the files it is about; keep the rest as it is.
- Only edit files inside the repository, with relative paths.
- When the request asks for tests, put them in tests/test_*.py as plain pytest functions that import the code they test.
- Every module you import must already exist or be created in the same reply.
- Reply with the edits and at most a few sentences; do not repeat unchanged files.
"""

MERGE_FORMAT = """\
# How to edit files
For every file you create or change, write its path on a line by itself, then a fenced \
code block.
- For a new file, or a file that is not Python, write the complete file.
- For an existing Python file, write only the new or changed functions, classes and \
statements of the file. chatpkg merges them into the file by name: a def or class with \
an existing name replaces it, everything else is added at the end. New imports go to \
the top.
- To change one method, write its class with only that method; the other methods are kept.
- Never repeat unchanged code, and never write "..." or "rest unchanged".
"""

MERGE_EXAMPLE = f"""\
Example, from another project (its file is not in this repository): to change `square_area` and add \
`circle_area` in {EXAMPLE_PATH}, write:

{EXAMPLE_PATH}
```python
def square_area(side):
    return side * side


def circle_area(radius):
    return 3.14159 * radius * radius
```
"""

# In a program workspace the example's file name leaks: a small model writes steps into
# geometry/shapes.py. The program hint shows a step of the program itself instead.
MERGE_SHAPE = """\
The shape of each edit (placeholders in angle brackets):

<path of the file>
```python
<the new or changed code of that file>
```
"""

FORMATS = {"whole": WHOLE_FORMAT, "diff": DIFF_FORMAT, "merge": MERGE_FORMAT + "\n" + MERGE_EXAMPLE}
PRINT_STEP = re.compile(r"\bprint", re.I)
# A step about a string, not a list: a list of squares was copied for "a list from 1 to f" (MTPB 30, 74, 112)
EXAMPLE_NAME = "shout"
EXAMPLE_STEP = f'Store the word "hello" in capital letters in `{EXAMPLE_NAME}`.'
EXAMPLE_CODE = f'{EXAMPLE_NAME} = "hello".upper()'
# The summary line of a report (``TestReport.for_model``) that did not pass: failures, errors, a
# timeout, or pytest ending in another way.
RED_SUMMARY = re.compile(r"^Test run: (?:.*\b\d+ (?:failed|errors?)\b|timed out|pytest exited with code)")
RED_NOTE = "The tests failed after the last turn (see the report above): make them pass in this reply too."


@dataclass(frozen=True)
class HistoryItem:
    """An earlier turn as the model sees it: the request and what came of it."""

    turn: int
    request: str
    files: tuple[str, ...]
    tests: str

    def as_line(self) -> str:
        changed = ", ".join(self.files) or "nothing"
        request = " ".join(self.request.split())
        return f"- turn {self.turn}: {request} (edited {changed}; tests: {self.tests or 'not run'})"


@dataclass(frozen=True)
class Context:
    messages: list[Message]
    prompt_tokens: int
    budget: int
    dropped_history: int
    files_shown: tuple[str, ...]


def system_prompt(edit_format: str, program: str | None = None) -> str:
    how = FORMATS.get(edit_format, WHOLE_FORMAT)
    if program and edit_format == "merge":
        how = MERGE_FORMAT + "\n" + MERGE_SHAPE
    return "\n".join([ROLE, how, RULES])


def fence_for(text: str) -> str:
    """A backtick fence longer than any backtick run in ``text`` (CommonMark's rule), so a file
    that holds fenced code itself (a README's example) is shown whole, not cut at its first fence."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def render_files(files: dict[str, str]) -> str:
    blocks = []
    for path, text in files.items():
        fence = fence_for(text)
        blocks.append(f"{path}\n{fence}\n{text.rstrip()}\n{fence}\n")
    return "\n".join(blocks)


def _mentioned(request: str, files: dict[str, str]) -> set[str]:
    words = set(re.findall(r"[\w./-]+", request))
    return {p for p in files if p in words or p.rsplit("/", 1)[-1] in words}


def _select_files(files: dict[str, str], request: str, recent: set[str], budget: int) -> dict[str, str]:
    """All files when they fit; otherwise the named and recently edited ones first."""
    if sum(count_tokens(t) for t in files.values()) <= budget:
        return files
    wanted = [p for p in files if p in _mentioned(request, files) | recent]
    chosen: dict[str, str] = {}
    used = 0
    for path in wanted:
        cost = count_tokens(files[path])
        if used + cost <= budget:
            chosen[path] = files[path]
            used += cost
    return chosen


def packages(files: dict[str, str]) -> list[str]:
    """Top-level import packages of the repository (folders with an __init__.py)."""
    found = {p.split("/")[-2] for p in files if p.endswith("/__init__.py") and p.count("/") == 1}
    found |= {p.split("/")[1] for p in files if p.startswith("src/") and p.endswith("/__init__.py") and p.count("/") == 2}
    return sorted(found - {"tests"})


def layout_hint(files: dict[str, str]) -> str | None:
    names = packages(files)
    if len(names) != 1:
        return None
    name = names[0]
    return (
        f"The package is `{name}`: put code in {name}/<module>.py files and import it in tests "
        f"as `from {name}.<module> import ...`."
    )


def command_hint(request: str, files: dict[str, str]) -> str | None:
    """Where the command line a request asks for goes (``package_main``)."""
    home = package_main(request, files)
    if home is None:
        return None
    return f"`{RUN_MODULE.search(request)[0]}` runs {home}: the command line goes in that file."


def history_section(history: list[HistoryItem]) -> str:
    """Earlier turns as a list inside the request, not as chat turns: a small model
    imitates earlier assistant messages, so they must not look like replies."""
    if not history:
        return ""
    lines = [item.as_line() for item in history]
    return "# Earlier requests (done; their changes are in the files below)\n" + "\n".join(lines) + "\n\n"


def program_hint(program: str, edit_format: str) -> str:
    """Where a step goes in a workspace that is one program (a script built step by step).

    Measured on MTPB (docs/benchmarks.md): with no example the model wrote command-line
    programs (``sys.argv`` checks) instead of steps; an example that used a name of its
    own (``numbers``) leaked into programs that had none and crashed them. So the example
    is a step that stands on its own and prints nothing, and shares nothing with list arithmetic:
    ``squares = [n * n for n in range(1, 6)]`` came back as ``[n * n for n in range(1, f + 1)]``
    for "Create a list from 1 to f", which no exact-line filter catches."""
    hint = (
        f"{program} is the program, run as `python {program}`; each request is its next step. "
        f"Unless the request names another file, make the step in {program}, as top-level statements "
        "that continue the program (a function or class only when the request asks for one)."
    )
    if edit_format != "merge":
        return hint
    return (
        f'{hint} For example, the step "{EXAMPLE_STEP}" '
        f"is answered with:\n\n{program}\n```python\n{EXAMPLE_CODE}\n```"
    )


def without_example(code: str, request: str) -> str:
    """``code`` minus the program hint's example line, which a small model sometimes copies
    into the program (11 of 55 MTPB programs) when the request is not about it."""
    if EXAMPLE_NAME in request:
        return code
    return "".join(line for line in code.splitlines(keepends=True) if line.strip() != EXAMPLE_CODE)


def as_program_step(code: str, request: str) -> str:
    """A step of the session's program as it should be merged: without the hint's example line
    (which a small model copies) and without a ``__main__`` guard (whose prints would come last)."""
    return unwrap_main_guard(without_example(code, request))


def tests_failed(last_tests: str | None) -> bool:
    """Whether the last test report says the suite is red."""
    if not last_tests:
        return False
    return RED_SUMMARY.search(last_tests.splitlines()[0]) is not None


def turn_message(
    request: str, files: dict[str, str], shown: dict[str, str], last_tests: str | None,
    program: str | None = None, edit_format: str = "whole",
) -> str:
    parts = ["# Repository files", render_files(shown) if shown else "(no files shown)"]
    hint = program_hint(program, edit_format) if program else layout_hint(files)
    if hint:
        parts.append(hint)
    command = None if program else command_hint(request, files)
    if command:
        parts.append(command)
    hidden = sorted(set(files) - set(shown))
    if hidden:
        parts += ["# Other files (not shown; name them to see them)", "\n".join(hidden)]
    if last_tests:
        parts += ["# Last test report", last_tests]
    if tests_failed(last_tests):
        parts.append(RED_NOTE)  # said plainly: a red suite carried into the next turn goes unnoticed
    parts += ["# Request", request]
    if program and PRINT_STEP.search(request):
        parts.append(f"({program} itself must print this when it runs: add the print call to {program}.)")
    return "\n\n".join(parts)


def build_context(
    request: str,
    files: dict[str, str],
    history: list[HistoryItem],
    *,
    last_tests: str | None,
    edit_format: str,
    budget: int,
    program: str | None = None,
) -> Context:
    """Messages for a turn's first round, dropping the oldest history first."""
    system = {"role": "system", "content": system_prompt(edit_format, program)}
    recent = {f for item in history[-2:] for f in item.files}
    shown = _select_files(files, request, recent, budget // 2)
    body = turn_message(request, files, shown, last_tests, program, edit_format)
    kept = list(history)
    while True:
        messages = [system, {"role": "user", "content": history_section(kept) + body}]
        tokens = count_message_tokens(messages)
        if tokens <= budget or not kept:
            break
        kept.pop(0)
    return Context(messages, tokens, budget, len(history) - len(kept), tuple(shown))
