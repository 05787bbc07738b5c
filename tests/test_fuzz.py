"""Fuzz: generated model replies never crash chatpkg and never touch a file outside the workspace.

Replies are built from the pieces small models and hostile ones produce: fences
of every kind (closed or not), paths (hostile ones included), SEARCH/REPLACE
blocks that do not match, unicode, control characters, NUL bytes and huge
bodies. The examples are derandomized: CI sees the same 1,200 every run.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatpkg.core.engine.events import TurnEnded
from chatpkg.core.engine.settings import Settings
from chatpkg.core.engine.store import open_session
from chatpkg.core.models import ScriptedModel
from chatpkg.core.runner import TestReport
from chatpkg.core.workspace.edits import EditError, apply_edits, parse_edits

PATHS = [
    "pkg/a.py", "pkg/new.py", "tests/test_a.py", "main.py", "README.md", "pkg/ü.py", "pkg/sub/deep/mod.py",
    "../outside.py", "../../etc/passwd", "/etc/passwd", "~/.bashrc", ".git/hooks/pre-commit", ".git/config",
    ".chatpkg/sessions/x.jsonl", ".env", "id_rsa", "pkg/../../escape.py", "pkg/link/escape.py", "C:\\x.py",
    "pkg/\x00nul.py", "a" * 300 + ".py", "", " ", ".", "pkg/", "pkg\\win.py", "./pkg/dot.py", "PKG/A.PY",
]
FENCES = ["```", "```python", "```py", "````", "~~~", "``` python", "```diff", ""]
BODIES = st.one_of(
    st.text(max_size=200),
    st.sampled_from(["def f():\n    return 1\n", "x = 1\n", "class A:\n    pass\n", "\x00\x01\x02", "é" * 50,
                     "import os\nos.system('rm -rf ~')\n", "def a():\n  if True:\n\treturn\n"]),
    st.text(min_size=1, max_size=20).map(lambda s: s * 4000),  # huge
)


@st.composite
def blocks(draw) -> str:  # type: ignore[no-untyped-def]
    kind = draw(st.sampled_from(["whole", "search", "merge", "prose", "unclosed"]))
    path, fence, body = draw(st.sampled_from(PATHS)), draw(st.sampled_from(FENCES)), draw(BODIES)
    if kind == "search":
        body = f"<<<<<<< SEARCH\n{draw(BODIES)}\n=======\n{body}\n>>>>>>> REPLACE"
    if kind == "prose":
        return body
    closing = "" if kind == "unclosed" else f"\n{fence[:3] or '```'}"
    return f"{path}\n{fence}\n{body}{closing}"


REPLIES = st.lists(blocks(), min_size=1, max_size=4).map("\n\n".join)


def workspace(scratch: Path) -> Path:
    root = scratch / "ws"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "a.py").write_text("def f():\n    return 1\n")
    (root / ".git").mkdir()
    (scratch / "outside").mkdir()
    (root / "pkg" / "link").symlink_to(scratch / "outside")  # a symlink out of the workspace
    return root


def outside_state(scratch: Path, root: Path) -> dict[str, float]:
    seen = {}
    for path in scratch.rglob("*"):
        if not path.is_relative_to(root):
            seen[str(path)] = path.lstat().st_mtime
    return seen


@settings(max_examples=1000, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(reply=REPLIES, edit_format=st.sampled_from(["whole", "diff", "merge"]))
def test_parsing_and_applying_any_reply_stays_inside_the_workspace(reply: str, edit_format: str) -> None:
    with tempfile.TemporaryDirectory(prefix="chatpkg-fuzz-") as tmp:
        scratch = Path(tmp)
        root = workspace(scratch)
        before = outside_state(scratch, root)
        try:
            edits = parse_edits(reply, edit_format=edit_format)
            written = apply_edits(root, edits, guard_deletions=edit_format == "whole")
        except EditError:
            written = {}
        assert outside_state(scratch, root) == before
        for rel in written:
            assert (root / rel).resolve().is_relative_to(root.resolve()), rel
        assert not list((scratch / "outside").iterdir())
        assert not (root / ".git" / "hooks").exists() and not (root / ".env").exists()


class Passing:
    __test__ = False

    def run(self, root: Path, cancel=None) -> TestReport:  # type: ignore[no-untyped-def]
        return TestReport(passed=1)


def test_whole_turns_on_generated_replies_end_cleanly(tmp_path: Path) -> None:
    """200 turns through the real engine (quick runner): each ends, none raises, git stays clean."""
    root = tmp_path / "pkg"
    session, _ = open_session(root, ScriptedModel([]), settings=Settings(max_repairs=0, max_format_repairs=0),
                              runner=Passing())
    outcomes: list[str] = []

    @settings(max_examples=200, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.function_scoped_fixture])
    @given(reply=REPLIES)
    def one_turn(reply: str) -> None:
        session.model = ScriptedModel([reply])
        events = list(session.run_turn("Make the step."))
        end = events[-1]
        assert isinstance(end, TurnEnded) and end.outcome in ("committed", "no_edits"), end
        outcomes.append(end.outcome)
        assert session.workspace.changed_paths() == []

    one_turn()
    assert len(outcomes) == 200 and "committed" in outcomes and "no_edits" in outcomes
    assert not (tmp_path / "outside.py").exists() and not Path(os.path.expanduser("~/.bashrc-chatpkg")).exists()


DOC_PIECES = st.sampled_from([
    ">>> f(1)", ">>> f(1) == 2", "2", "True", "f(3) = 6", "f(n) = 1 + n", "f([1, 2]) # => 'Yes'", "f(1) => true",
    "For x = 1 the output should be 2.", "For x = [1, 2], y = 'a', the result should be (1, 'a')",
    "Input: x = 1", "Input:", "x : [1, 2]", "y : 3", "Output: 5  # five", "Output:", "Example 1:", "f(", ")",
    "= = =", "For For x =", "Input: [1,", "Output: [2, 1]", "f('\"') == '\\''", "f(1) ➞ False", "",
])
DOCS = st.lists(st.one_of(DOC_PIECES, st.text(max_size=40)), max_size=12).map("\n    ".join)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(doc=DOCS, params=st.sampled_from(["x", "x, y", "arr, k", ""]))
def test_any_docstring_gives_checks_that_are_valid_python(doc: str, params: str) -> None:
    """Whatever a docstring says, reading its examples does not fail, and the checks written from them
    compile: a check file that is not Python would fail every candidate alike."""
    from chatpkg.core.engine.examples import as_tests, examples

    quoted = doc.replace("\\", "\\\\").replace('"""', "'''")
    source = f'def f({params}):\n    """{quoted}\n    """\n    return 0\n'
    try:
        compile(source, "m.py", "exec")
    except (SyntaxError, ValueError):
        return  # not a module: no docstring to read
    found = examples({"m.py": source})
    compile(as_tests(found) or "pass\n", "test_m.py", "exec")
