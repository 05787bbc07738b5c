"""Red tests a turn inherits unchanged are reported, not repaired; the turn's own failures are."""

from __future__ import annotations

from pathlib import Path

from chatpkg.core.engine.events import CandidateTried, RepairRound, TurnEnded
from chatpkg.core.engine.inherited import Inherited
from chatpkg.core.runner import TestFailure, TestReport
from tests.helpers import make_session, run, whole

DOUBLE = "Add double(x) in pkg/calc.py returning twice x."
WRONG_DOUBLE = {
    "pkg/calc.py": "def double(x):\n    return x + 2\n",
    "tests/test_calc.py": "from pkg.calc import double\n\n\ndef test_double():\n    assert double(3) == 6\n",
}
TRIPLE = "Add triple(x) in pkg/more.py returning three times x."


def triple(body: str = "3 * x", expected: int = 9) -> str:
    return whole({
        "pkg/more.py": f"def triple(x):\n    return {body}\n",
        "tests/test_more.py": f"from pkg.more import triple\n\n\ndef test_triple():\n    assert triple(3) == {expected}\n",
    })


def ended(events: list) -> TurnEnded:  # type: ignore[type-arg]
    return next(e for e in events if isinstance(e, TurnEnded))


def red_first_turn(root: Path, later: list[str], **settings: object):  # type: ignore[no-untyped-def]
    """A session whose first turn ends red: double's right test, code that fails it, one repair that
    changes nothing of it."""
    replies = [whole(WRONG_DOUBLE), whole({"pkg/calc.py": "def double(x):\n    return 2 + x\n"}), *later]
    session, model = make_session(root, replies, max_repairs=1)
    first = run(session, DOUBLE)
    assert "1 failed" in ended(first).tests
    if settings:
        session.change_settings(settings, "from the second turn on")
    return session, model


def test_an_old_red_test_the_turn_did_not_change_is_reported_not_repaired(root: Path) -> None:
    # textkit on the package benchmark: turn 1's right slugify test, which the model could not meet,
    # took every later turn's candidates and repair rounds; no later turn ended green.
    session, model = red_first_turn(root, [triple()], candidates=1)
    asked = len(model.asked)

    events = run(session, TRIPLE)

    assert len(model.asked) == asked + 1  # the coder once: no candidate, no repair
    assert not any(isinstance(e, (RepairRound, CandidateTried)) for e in events)
    line = ("reported, not repaired: tests/test_calc.py::test_double failed before this turn with the same error, "
            "and this request is not about it")
    outcome = ended(events)
    assert outcome.outcome == "committed" and outcome.tests == "1 failed, 3 passed"  # with the interface check
    assert line in outcome.notes
    assert "the tests still fail: the next turn is shown the failures and told to fix them" in outcome.notes


def test_a_request_about_the_old_red_test_repairs_it(root: Path) -> None:
    fixed = whole({"pkg/calc.py": "def double(x):\n    return 2 * x\n"})
    session, model = red_first_turn(root, [triple(), fixed])

    events = run(session, "Fix double so that it returns twice x, and " + TRIPLE[0].lower() + TRIPLE[1:])

    assert [e.used for e in events if isinstance(e, RepairRound)] == [1]
    assert "assert 5 == 6" in model.asked[-1][-1]["content"]
    assert ended(events).tests == "3 passed"


def test_a_failure_the_turn_changed_is_its_own(root: Path) -> None:
    # the turn's code changed what double returns: a different failure is this turn's to repair
    worse = whole({"pkg/calc.py": "def double(x):\n    return x * 3\n"}) + "\n" + triple()
    fixed = whole({"pkg/calc.py": "def double(x):\n    return x * 2\n"})
    session, model = red_first_turn(root, [worse, fixed])

    events = run(session, TRIPLE)

    assert [e.used for e in events if isinstance(e, RepairRound)] == [1]
    assert "assert 9 == 6" in model.asked[-1][-1]["content"]
    assert ended(events).tests == "3 passed"


def test_the_repair_is_aimed_at_the_turns_own_failure_and_names_the_old_one_aside(root: Path) -> None:
    session, model = red_first_turn(root, [triple("x + 3"), triple()])

    events = run(session, TRIPLE)

    told = model.asked[-1][-1]["content"]
    assert "FAILED tests/test_more.py::test_triple" in told and "assert 6 == 9" in told
    assert "assert 5 == 6" not in told  # the inherited failure is not shown again
    assert "Failing as before this turn (not this repair's task): tests/test_calc.py::test_double" in told
    assert ended(events).tests == "1 failed, 2 passed"
    assert any("reported, not repaired" in note for note in ended(events).notes)


def test_what_counts_as_inherited(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "pkg.py").write_text("def slugify(s):\n    return s\n")
    (tmp_path / "tests" / "test_s.py").write_text(
        "from pkg import slugify\n\n\ndef test_lower():\n    assert slugify('A') == 'a'\n")
    lower = TestFailure("tests/test_s.py::test_lower", "AssertionError: assert 'A' == 'a'\nmore", "")
    before = TestReport(failed=2, failures=(lower, TestFailure("main.py", "EOFError", "")))
    inherited = Inherited.from_report(before.to_dict())

    assert inherited.before == {"tests/test_s.py::test_lower": "AssertionError: assert 'A' == 'a'"}  # not the program
    assert inherited.split([lower], "Add count_words(text).", tmp_path) == ([], [lower])
    assert inherited.split([lower], "Make slugify keep digits.", tmp_path) == ([lower], [])  # a name it calls
    assert inherited.split([lower], "Why does test_lower fail?", tmp_path) == ([lower], [])  # the test itself
    changed = TestFailure(lower.test_id, "AssertionError: assert 'a-' == 'a'", "")
    assert inherited.split([changed], "Add count_words(text).", tmp_path) == ([changed], [])
    assert Inherited.from_report(None).split([lower], "", tmp_path) == ([lower], [])


def test_the_report_for_the_model_names_inherited_failures_without_their_detail() -> None:
    report = TestReport(failed=2, failures=(
        TestFailure("tests/t.py::test_new", "assert 1 == 2", "the new one's output"),
        TestFailure("tests/t.py::test_old", "assert 3 == 4", "the old one's output"),
    ))

    shown = report.for_model({"tests/t.py::test_old"})

    assert shown.startswith("Test run: 2 failed")
    assert "the new one's output" in shown and "the old one's output" not in shown and "assert 3 == 4" not in shown
    assert shown.endswith("Failing as before this turn (not this repair's task): tests/t.py::test_old")
    assert report.for_model() == report.for_model(())
