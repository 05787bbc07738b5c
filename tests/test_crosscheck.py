"""Candidates judged by each other's tests: CodeT's dual agreement."""

from __future__ import annotations

from pathlib import Path

from chatpkg.core.engine.crosscheck import added_tests
from chatpkg.core.engine.events import CandidateChosen, TurnEnded
from chatpkg.core.engine.replay import replay_exact
from tests.helpers import make_session, run, whole

REQUEST = "Add double(x) in pkg/calc.py returning twice x."
RIGHT_TEST = "from pkg.calc import double\n\n\ndef test_double():\n    assert double(3) == 6\n    assert double(0) == 0\n"
UNEXPORTED = "from pkg import double\n\n\ndef test_double():\n    assert double(3) == 6\n"


def test_a_candidate_whose_code_passes_the_others_tests_is_chosen(root: Path, tmp_path: Path) -> None:
    # textkit, turn 1: the first slugify forgot to lowercase and failed its own right test; the samples
    # lowercased, but their tests imported textkit.slugify, which the package did not export. By the
    # checks they shared they tied, and agreement kept the first, wrong code.
    first = whole({"pkg/calc.py": "def double(x):\n    return x + 2\n", "tests/test_calc.py": RIGHT_TEST})
    second = whole({"pkg/calc.py": "def double(x):\n    return 2 * x\n", "tests/test_calc.py": UNEXPORTED})
    session, _ = make_session(root, [first, second, whole({"pkg/__init__.py": "from pkg.calc import double\n"})],
                              candidates=1, max_repairs=1)

    events = run(session, REQUEST)

    chosen = next(e for e in events if isinstance(e, CandidateChosen))
    assert chosen.candidate == 1
    assert chosen.why == "it passed the most checks (4: 2 of them the other candidates')"
    assert "2 * x" in (root / "pkg" / "calc.py").read_text()
    # the first reply's checks the chosen code passes stay as the turn's tests; double(3) == 6 its own holds
    kept = (root / "tests" / "test_turn1_candidate0_calc.py").read_text()
    assert "def test_double_2():\n    assert double(0) == 0" in kept and "double(3)" not in kept
    assert next(e for e in events if isinstance(e, TurnEnded)).tests == "4 passed"
    assert all(c.ok for c in replay_exact(session.transcript.path, tmp_path / "replayed"))


def test_only_checks_the_chosen_code_passes_are_kept(root: Path) -> None:
    wrong_test = ("from pkg.calc import double\n\n\ndef test_double():\n    assert double(3) == 6\n"
                  "    assert double(2) == 4\n    assert double(1) == 3\n")  # the last expectation is wrong
    first = whole({"pkg/calc.py": "def double(x):\n    return x + 3\n", "tests/test_calc.py": wrong_test})
    other = "from pkg.calc import double\n\n\ndef test_five():\n    assert double(5) == 10\n"
    second = whole({"pkg/calc.py": "def double(x):\n    return 2 * x\n", "tests/test_more.py": other})
    session, _ = make_session(root, [first, second], candidates=1, max_repairs=0)

    events = run(session, REQUEST)

    assert next(e for e in events if isinstance(e, CandidateChosen)).candidate == 1
    kept = (root / "tests" / "test_turn1_candidate0_calc.py").read_text()
    assert kept.startswith("# Candidate 0's checks that the code chosen in turn 1 passes")
    assert "double(3) == 6" in kept and "double(2) == 4" in kept and "double(1) == 3" not in kept
    ended = next(e for e in events if isinstance(e, TurnEnded))
    assert ended.outcome == "committed" and ended.tests == "5 passed"  # + the stated name, test_five, 2 kept


def test_nothing_is_kept_from_a_tie(root: Path) -> None:
    # each code passes one of the other's checks: the choice is by agreement, and may be the wrong code
    first = whole({"pkg/calc.py": "def double(x):\n    return x + 2\n",
                   "tests/test_calc.py": "from pkg.calc import double\n\n\ndef test_two():\n    assert double(2) == 4\n"
                                         "    assert double(0) == 0\n"})
    second = whole({"pkg/calc.py": "def double(x):\n    return x * 2\n",
                    "tests/test_more.py": "from pkg.calc import double\n\n\ndef test_one():\n    assert double(1) == 3\n"})
    session, _ = make_session(root, [first, second], candidates=1, max_repairs=0)

    events = run(session, REQUEST)

    assert next(e for e in events if isinstance(e, CandidateChosen)).why.startswith("tied")
    assert not list((root / "tests").glob("test_turn1_candidate*"))


def test_only_the_tests_a_candidate_added_or_changed_are_its_evidence() -> None:
    before = "from pkg.calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n"
    after = before + "\n\ndef test_double():\n    assert double(1) == 2\n    assert double(2) == 4\n"

    pooled = added_tests(before, after)

    assert "def test_add" not in pooled and "from pkg.calc import add" in pooled
    assert "def test_double_1" in pooled and "def test_double_2" in pooled  # one check per assert
    assert added_tests(before, before) == "" and added_tests(None, "def test_x(:\n") == ""
