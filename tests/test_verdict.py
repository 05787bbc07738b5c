"""Fix the code or fix the test, decided by evidence: the other candidates' code run against a test the model blames."""

from __future__ import annotations

import ast
from pathlib import Path

from chatpkg.core.engine.events import BlameWeighed, CandidateChosen, CheckChanged, Notice, RepairRound, TurnEnded
from chatpkg.core.engine.replay import replay_exact
from chatpkg.core.engine.verdict import STANDS, UNKNOWN, WRONG, blamed, decide, remove_tests
from chatpkg.core.runner import TestFailure, TestReport
from tests.helpers import make_session, run, whole

REQUEST = "Add double(x) in pkg/calc.py returning twice x."
RIGHT_CODE = "def double(x):\n    return 2 * x\n"
WRONG_CODE = "def double(x):\n    return x + 2\n"


def with_test(code: str, expectation: str) -> dict[str, str]:
    test = ("from pkg.calc import double\n\n\n"
            f"def test_double():\n    # the model's own test\n    assert {expectation}\n")
    return {"pkg/calc.py": code, "tests/test_calc.py": test}


def ended(events: list) -> TurnEnded:  # type: ignore[type-arg]
    return next(e for e in events if isinstance(e, TurnEnded))


def test_a_blamed_test_that_another_candidates_code_also_fails_with_the_same_values_is_removed(root: Path) -> None:
    # units on the package benchmark: convert(6, "ft", "m") is 1.8288, the model's test said 18.288; it
    # blamed the test rightly but sent only code, and the wrong test took every later repair round.
    first = whole(with_test(RIGHT_CODE, "double(3) == 7"))
    second = whole(with_test("def double(x):\n    return x * 2\n", "double(1) == 3"))
    blame = "TEST: double(3) is 6 by the request, not 7\n\n" + whole({"pkg/calc.py": RIGHT_CODE})
    session, model = make_session(root, [first, second, blame], candidates=1, max_repairs=2)

    events = run(session, REQUEST)

    assert next(e for e in events if isinstance(e, CandidateChosen)).candidate == 0
    weighed = next(e for e in events if isinstance(e, BlameWeighed))
    assert (weighed.test, weighed.decision) == ("tests/test_calc.py::test_double", WRONG)
    assert "candidate 1 fails it with the same values (assert 6 == 7) and none passes it" in weighed.evidence
    removed = next(e for e in events if isinstance(e, CheckChanged))
    assert (removed.test, removed.change) == ("test_double", "removed")
    assert "double(3) is 6 by the request" in removed.reason and "candidate 1" in removed.reason
    assert "changed its own test tests/test_calc.py::test_double (removed)" in "\n".join(ended(events).notes)
    assert ended(events).outcome == "committed" and "failed" not in ended(events).tests
    kept = (root / "tests" / "test_calc.py").read_text()
    assert "def test_double" not in kept and kept.startswith("from pkg.calc import double")
    assert len(model.asked) == 3  # no round was spent after the removal


def test_a_blamed_test_another_candidates_code_passes_stands_and_its_change_is_not_applied(root: Path) -> None:
    # textkit on the package benchmark: the model blamed slugify's right test (it must lowercase).
    first = whole(with_test(WRONG_CODE, "double(3) == 6"))
    second = whole(with_test(RIGHT_CODE, "double(1) == 3"))
    weakened = "TEST: double(3) is 5\n\n" + whole(with_test(WRONG_CODE, "double(3) == 5"))
    session, model = make_session(root, [first, second, weakened, whole({"pkg/calc.py": RIGHT_CODE})],
                                  candidates=1, max_repairs=2)

    events = run(session, REQUEST)

    weighed = next(e for e in events if isinstance(e, BlameWeighed))
    assert weighed.decision == STANDS and weighed.evidence == "candidate 1's code passes it"
    assert not any(isinstance(e, CheckChanged) for e in events)
    told = model.asked[3][-1]["content"]
    assert "another candidate's code passes it" in told and "candidate 1's code passes it, so it can be met" in told
    assert "assert 5 == 6" in told
    assert "double(3) == 6" in (root / "tests" / "test_calc.py").read_text()
    assert ended(events).outcome == "committed" and "failed" not in ended(events).tests


def test_candidates_with_the_same_code_for_what_a_test_calls_are_no_evidence(root: Path) -> None:
    # textkit, turn 2: candidates that wrote only count.py all failed turn 1's slugify test alike, and
    # that right test was removed as wrong. Code carried over from the parent is no second opinion.
    first = whole(with_test(WRONG_CODE, "double(3) == 6"))
    blame_first = "TEST: test_double is wrong\n\n" + first  # turn 1's candidate sent no code: nothing to weigh
    triple = whole({"pkg/more.py": "def triple(x):\n    return 3 * x\n"})
    triple_too = whole({"pkg/more.py": "def triple(x):\n    return x * 3\n"})
    blame_later = "TEST: test_double expects the wrong value\n\n" + triple
    session, _ = make_session(root, [first, "I would rather not.", blame_first, triple, triple_too, blame_later],
                              candidates=1, max_repairs=1)

    # the request names double: its old red test is this turn's to repair (engine/inherited.py)
    events = run(session, REQUEST) + run(session, "Add triple(x) in pkg/more.py returning three times x, like double.")

    weighed = [e for e in events if isinstance(e, BlameWeighed)]
    assert [(e.turn, e.decision) for e in weighed] == [(2, UNKNOWN)]
    assert weighed[0].evidence == "no other candidate wrote code of its own for what the test calls"
    assert not any(isinstance(e, CheckChanged) for e in events)
    assert "double(3) == 6" in (root / "tests" / "test_calc.py").read_text()  # the right test stays, red


def test_a_blame_weighed_by_candidates_replays_verified(root: Path, tmp_path: Path) -> None:
    first = whole(with_test(RIGHT_CODE, "double(3) == 7"))
    second = whole(with_test("def double(x):\n    return x * 2\n", "double(1) == 3"))
    blame = "TEST: double(3) is 6\n\n" + whole({"pkg/calc.py": RIGHT_CODE})
    session, _ = make_session(root, [first, second, blame], candidates=1, max_repairs=2)
    run(session, REQUEST)

    checks = list(replay_exact(session.transcript.path, tmp_path / "replayed"))

    assert checks and all(c.ok for c in checks), [c.problems for c in checks]


def test_the_coder_alone_samples_replies_as_evidence_when_a_repair_blames_a_test(root: Path, tmp_path: Path) -> None:
    first = whole(with_test(RIGHT_CODE, "double(3) == 7"))
    blame = "TEST: double(3) is 6\n\n" + whole({"pkg/calc.py": RIGHT_CODE})
    samples = [whole(with_test("def double(x):\n    return x * 2\n", "double(2) == 4")), "I would rather not."]
    session, model = make_session(root, [first, blame, *samples], max_repairs=2)

    events = run(session, REQUEST)

    assert len(model.asked) == 4 and model.asked[2] == model.asked[0] == model.asked[3]  # the first request, again
    assert any(isinstance(e, Notice) and "sampling 2 more replies" in e.message for e in events)
    weighed = next(e for e in events if isinstance(e, BlameWeighed))
    assert weighed.decision == WRONG and "candidate 1 fails it with the same values (assert 6 == 7)" in weighed.evidence
    assert "def test_double" not in (root / "tests" / "test_calc.py").read_text()  # removed, with the evidence
    assert ended(events).outcome == "committed" and "failed" not in ended(events).tests
    assert not any(isinstance(e, CandidateChosen) for e in events)  # evidence only: the workspace kept its code
    assert all(c.ok for c in replay_exact(session.transcript.path, tmp_path / "replayed"))


def test_a_sampled_reply_that_passes_the_blamed_test_makes_it_stand(root: Path) -> None:
    first = whole(with_test(WRONG_CODE, "double(3) == 6"))
    blame = "TEST: double(3) is 5\n\n" + whole(with_test(WRONG_CODE, "double(3) == 5"))
    samples = [whole({"pkg/calc.py": RIGHT_CODE}), whole({"pkg/calc.py": WRONG_CODE})]
    session, _ = make_session(root, [first, blame, *samples, whole({"pkg/calc.py": RIGHT_CODE})], max_repairs=2)

    events = run(session, REQUEST)

    weighed = next(e for e in events if isinstance(e, BlameWeighed))
    assert weighed.decision == STANDS and weighed.evidence == "candidate 1's code passes it"
    assert "double(3) == 6" in (root / "tests" / "test_calc.py").read_text()
    assert ended(events).outcome == "committed" and "failed" not in ended(events).tests


def failure(message: str, test: str = "tests/t.py::test_a") -> TestFailure:
    return TestFailure(test, message, "")


def test_no_verdict_without_agreement_or_a_pass() -> None:
    blamed = failure("AssertionError: assert 6 == 7\n+  where 6 = double(3)")
    differently = TestReport(failed=1, failures=(failure("AssertionError: assert 4 == 7"),))
    same = TestReport(failed=1, failures=(failure("AssertionError: assert 6 == 7\n+  where 6 = twice(3)"),))
    passing = TestReport(passed=1, passed_ids=("tests/t.py::test_a",))

    assert decide(blamed, {1: differently, 2: None}).decision == UNKNOWN
    assert "1 other candidate(s)" in decide(blamed, {1: differently, 2: None}).evidence
    assert decide(blamed, {1: differently, 2: same}).decision == WRONG  # the first lines agree
    assert decide(blamed, {1: same, 2: passing}).decision == STANDS  # a pass outweighs agreement


def test_only_the_assistants_tests_failing_in_themselves_are_weighed_and_the_ones_the_reason_names() -> None:
    in_code = TestFailure("tests/test_calc.py::test_crash", "ZeroDivisionError: division by zero", "", "pkg/calc.py:2")
    own_error = TestFailure("tests/test_calc.py::test_unset", "UnboundLocalError: cannot access local variable "
                            "'store' where it is not associated with a value", "", "tests/test_calc.py:9")
    report = TestReport(failed=6, failures=(
        failure("AssertionError: assert 6 == 7", "tests/test_calc.py::test_value"),
        failure("AssertionError: assert 0 == 1", "tests/test_calc.py::test_other"),
        in_code,
        own_error,
        failure("AssertionError: assert 1 == 2", "tests/test_user.py::test_theirs"),
        failure("AssertionError: assert 1 == 2", "tests/test_turn1_examples.py::test_example_1"),
    ))
    users = {"tests/test_user.py": {"test_theirs": "..."}}

    assert [f.test_id for f in blamed(report, "the test is wrong", users)] == [
        "tests/test_calc.py::test_value", "tests/test_calc.py::test_other", "tests/test_calc.py::test_unset"]
    assert [f.test_id for f in blamed(report, "test_other expects 1", users)] == ["tests/test_calc.py::test_other"]
    # units: eight tests calling units.convert failed alike; the reason named one, one was removed per round
    alike = TestReport(failed=3, failures=tuple(
        failure("AttributeError: module 'units' has no attribute 'convert'", f"tests/test_units.py::test_{unit}")
        for unit in ("mm", "cm", "km")) + (failure("AssertionError: assert 1 == 2", "tests/test_units.py::test_in"),))
    assert [f.test_id for f in blamed(alike, "test_mm calls units.convert", users)] == [
        "tests/test_units.py::test_mm", "tests/test_units.py::test_cm", "tests/test_units.py::test_km"]


def test_removing_tests_keeps_the_rest_of_the_file_as_it_was() -> None:
    source = (
        "import pytest  # the fixtures\n\n\n"
        "@pytest.mark.parametrize('x', [1, 2])\ndef test_wrong(x):\n    assert x == 3\n\n\n"
        "def test_kept():\n    # a comment that stays\n    assert 1 == 1\n\n\n"
        "class TestBox:\n    def test_one(self):\n        assert 0\n\n    def test_two(self):\n        assert 1\n\n\n"
        "class TestGone:\n    def test_only(self):\n        assert 0\n"
    )

    left = remove_tests(source, {"test_wrong", "TestBox::test_one", "TestGone::test_only"})

    assert "# a comment that stays" in left and "import pytest  # the fixtures" in left
    assert "parametrize" not in left and "test_wrong" not in left and "TestGone" not in left
    assert "def test_two" in left and "def test_one" not in left
    ast.parse(left)


def test_a_turn_whose_wrong_test_was_removed_is_not_asked_for_tests_again(root: Path) -> None:
    # textkit, turn 1: the removed test's file held no test of the turn's any more, the turn was asked for
    # its tests, and the model wrote the removed test again, with new wrong expectations
    first = whole(with_test(RIGHT_CODE, "double(3) == 7"))
    second = whole(with_test("def double(x):\n    return x * 2\n", "double(1) == 3"))
    blame = "TEST: double(3) is 6 by the request, not 7\n\n" + whole({"pkg/calc.py": RIGHT_CODE})
    session, model = make_session(root, [first, second, blame], candidates=1, max_repairs=2)

    events = run(session, REQUEST + " Test it.")

    assert len(model.asked) == 3 and ended(events).outcome == "committed"
    assert not any(isinstance(e, RepairRound) and e.cause == "no_tests" for e in events)


def test_a_test_that_reads_its_own_local_before_setting_it_is_wrong_without_candidates(root: Path) -> None:
    # inventory on the package benchmark: `store = store.Inventory()` in six tests of the model's; it
    # blamed one, resent them unchanged through every repair, and every later turn inherited them red
    shadowing = ("from pkg import calc\n\n\ndef test_double():\n    calc = calc.double(3)\n    assert calc == 6\n\n\n"
                 "def test_zero():\n    calc = calc.double(0)\n    assert calc == 0\n")
    first = whole({"pkg/calc.py": RIGHT_CODE, "tests/test_calc.py": shadowing})
    blame = "TEST: test_double never sets calc\n\n" + first
    session, model = make_session(root, [first, blame], max_repairs=1)

    events = run(session, REQUEST)

    assert "`calc = calc.double(3)` in tests/test_calc.py makes calc a local name" in model.asked[1][-1]["content"]
    weighed = [(e.test, e.decision) for e in events if isinstance(e, BlameWeighed)]
    assert weighed == [("tests/test_calc.py::test_double", WRONG), ("tests/test_calc.py::test_zero", WRONG)]
    assert len(model.asked) == 2  # no candidate sampled: no code can pass such a test
    assert "def test_" not in (root / "tests" / "test_calc.py").read_text()
    assert ended(events).outcome == "committed" and "failed" not in ended(events).tests


def test_tests_no_code_can_pass_are_taken_out_after_a_repair_that_left_them(root: Path) -> None:
    # inventory at 0f2d553: the model read the hint, renamed the local in new tests of its own, and never
    # said TEST:; the six old ones stayed red through the turn and every later one
    shadowing = "from pkg import calc\n\n\ndef test_double():\n    calc = calc.double(3)\n    assert calc == 6\n"
    first = whole({"pkg/calc.py": RIGHT_CODE, "tests/test_calc.py": shadowing})
    renamed = ("from pkg import calc\n\n\ndef test_twice():\n    result = calc.double(3)\n    assert result == 6\n")
    session, model = make_session(root, [first, whole({"tests/test_calc.py": renamed})], max_repairs=2,
                                  edit_format="merge")  # the embedded model's: the new test is added beside

    events = run(session, REQUEST)

    assert len(model.asked) == 2  # the first reply, one repair; no blame was needed
    removed = [(e.test, e.change) for e in events if isinstance(e, CheckChanged)]
    assert removed == [("test_double", "removed")]
    assert "UnboundLocalError in the test itself" in next(e for e in events if isinstance(e, CheckChanged)).reason
    left = (root / "tests" / "test_calc.py").read_text()
    assert "def test_twice" in left and "def test_double" not in left
    assert ended(events).outcome == "committed" and ended(events).tests == "2 passed"  # the scaffold's, test_twice
    assert any(n.startswith("changed its own test tests/test_calc.py::test_double (removed)") for n in ended(events).notes)
