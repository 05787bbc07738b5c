"""Candidate 1 asked plainly: which file, what it is shown, and how its reply becomes an edit (team.py,
prompts/roles.py)."""

from __future__ import annotations

from pathlib import Path

from chatpkg.core.engine.events import CandidateChosen, CandidateTried, TurnEnded
from chatpkg.core.prompts.roles import plain_edit, plain_target, without_tests
from tests.helpers import make_session, run


def ended(events: list) -> TurnEnded:  # type: ignore[type-arg]
    return next(e for e in events if isinstance(e, TurnEnded))


def test_a_plain_candidate_is_asked_only_about_one_file() -> None:
    files = {"pkg/__init__.py": "", "pkg/calc.py": "def double(x): ...\n", "pkg/io.py": "def load(p): ...\n",
             "tests/test_calc.py": "def test_x():\n    assert 1\n"}

    assert plain_target("Add triple(x) to pkg/calc.py.", files) == "pkg/calc.py"
    assert plain_target("Add triple(x).", files) is None  # two modules, none named: not one file
    assert plain_target("Add triple(x) to pkg/more.py.", files) == "pkg/more.py"  # a new file
    assert plain_target("Add triple(x) to calc.py. Test it in tests/test_calc.py.", files) == "pkg/calc.py"
    assert plain_target("Add triple(x) to pkg/calc.py and pkg/io.py.", files) is None
    assert plain_target("Add run() in pkg/__init__.py.", files) == "pkg/__init__.py"  # empty, but named
    assert plain_target("Add triple(x).", {"solution.py": "x = 1\n", "tests/test_s.py": "def test_s(): ..."}) == "solution.py"
    assert plain_target("Add a command line: `python -m pkg 3 4` prints 7.", files) == "pkg/__main__.py"
    assert plain_edit("Sure:\n```python\ndef triple(x):\n    return 3 * x\n```\nDone.", "pkg/calc.py") == (
        "pkg/calc.py\n```python\ndef triple(x):\n    return 3 * x\n```\n")


def test_a_plain_candidate_writes_a_new_file_the_request_names(root: Path) -> None:
    # The plain target was read from the workspace with candidate 0's new file in it; put back, the
    # file was gone when the plain candidate read it, and the turn ended in a FileNotFoundError.
    request = "Add triple(x) in pkg/more.py returning 3 * x; for example, triple(2) is 6."
    wrong = "pkg/more.py\n```python\ndef triple(x):\n    return x + 1\n```\n"
    plain = "```python\ndef triple(x):\n    return 3 * x\n```"
    session, model = make_session(root, [wrong, plain], candidates=2, max_repairs=0, edit_format="merge")

    events = run(session, request)

    asked = model.asked[1][0]["content"]
    assert len(model.asked[1]) == 1 and "new file `pkg/more.py`" in asked and "```python\n```" not in asked
    assert next(e for e in events if isinstance(e, CandidateChosen)).candidate == 1
    assert ended(events).outcome == "committed" and ended(events).tests.endswith("passed")
    assert (root / "pkg" / "more.py").read_text() == "def triple(x):\n    return 3 * x\n"


def test_a_plain_candidate_for_a_turn_that_asks_for_tests_is_asked_for_code_then_for_its_tests(root: Path) -> None:
    request = "Add triple(x) in pkg/more.py returning 3 * x; for example, triple(2) is 6. Test it."
    wrong = ("pkg/more.py\n```python\ndef triple(x):\n    return x + 1\n```\n\ntests/test_more.py\n```python\n"
             "from pkg.more import triple\n\n\ndef test_triple():\n    assert triple(2) == 3\n```\n")
    plain = ("```python\nfrom pkg.calc import double\n\n\ndef triple(x):\n    return double(x) + x\n\n\n"
             "# Test the function\ndef test_triple():\n    assert triple(2) == 7\n\n\ntest_triple()\n```")  # at import
    tests = "tests/test_more.py\n```python\nfrom pkg.more import triple\n\n\ndef test_triple():\n    assert triple(2) == 6\n```\n"
    session, model = make_session(root, [wrong, plain, tests], candidates=1, max_repairs=1, edit_format="merge")
    (root / "pkg" / "calc.py").write_text('def double(x):\n    """Twice x."""\n    return 2 * x\n')

    events = run(session, request)

    asked = model.asked[1][0]["content"]
    assert "Only the code: its tests are written separately." in asked
    assert "pkg/calc.py\n```python\ndef double(x):\n    ...\n```" in asked  # the other module's signature
    assert "return 2 * x" not in asked and "Twice" not in asked and "```python\n```" not in asked
    assert next(e for e in events if isinstance(e, CandidateChosen)).candidate == 1
    assert "# Your reply has no tests" in model.asked[2][-1]["content"]  # asked for them afterwards
    assert ended(events).outcome == "committed" and ended(events).tests.endswith("passed")
    assert "assert triple(2) == 6" in (root / "tests" / "test_more.py").read_text()
    assert (root / "pkg" / "more.py").read_text().endswith("    return double(x) + x\n")  # its tests cut off


def test_a_code_only_plain_reply_stops_where_its_tests_begin() -> None:
    code = "import re\n\n\ndef slug(t):\n    return t\n"
    for tail in ["\n# tests/test_slug.py\nimport unittest\n\nclass TestSlug(unittest.TestCase):\n    def test_a(self):\n"
                 "        self.assertEqual(slug('a b", "\nif __name__ == '__main__':\n    print(slug('x'))\n",
                 "\nimport pytest\n\n\ndef test_slug():\n    assert slug('a') == 'a'\n", "\n# Example usage:\nprint(1)\n"]:
        assert without_tests(code + tail) == code
        assert plain_edit(f"```python\n{code + tail}```", "m.py", code_only=True) == f"m.py\n```python\n{code}```\n"
    assert without_tests("# Tests for the module follow\nx = 1\n") == "# Tests for the module follow\nx = 1\n"  # no code before
    assert "class TestSlug" in plain_edit(f"```python\n{code}class TestSlug:\n    pass\n```", "m.py")  # not code_only


def test_code_alone_is_no_full_pass_where_tests_were_asked_for(root: Path) -> None:
    request = "Add triple(x) in pkg/more.py returning 3 * x; for example, triple(2) is 6. Test it."
    wrong = ("pkg/more.py\n```python\ndef triple(x):\n    return x + 1\n```\n\ntests/test_more.py\n```python\n"
             "from pkg.more import triple\n\n\ndef test_triple():\n    assert triple(2) == 3\n```\n")
    plain = "```python\ndef triple(x):\n    return 3 * x\n```"
    third = ("pkg/more.py\n```python\ndef triple(x):\n    return x * 3\n```\n\ntests/test_more.py\n```python\n"
             "from pkg.more import triple\n\n\ndef test_triple_ten():\n    assert triple(10) == 30\n```\n")
    session, model = make_session(root, [wrong, plain, third], candidates=2, max_repairs=1, edit_format="merge")

    events = run(session, request)

    # the plain candidate passed the example, but with no test of its own: the third is sampled, and
    # the plain code, passing the third's test too, goes on with that test kept
    assert [e.candidate for e in events if isinstance(e, CandidateTried)] == [0, 1, 2]
    assert next(e for e in events if isinstance(e, CandidateChosen)).candidate == 1
    assert ended(events).tests.endswith("passed") and len(model.replies) == 0
    assert "triple(10) == 30" in (root / "tests" / "test_turn1_candidate2_more.py").read_text()
