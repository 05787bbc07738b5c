"""A request that asks for tests gets them: a first reply with none is asked for them once."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatpkg.core.engine.events import CandidateChosen, RepairRound, TurnEnded
from chatpkg.core.engine.replay import replay_exact
from chatpkg.core.prompts.repair import asks_for_tests, no_tests_message
from tests.helpers import make_session, run, whole

REQUEST = "Add triple(x) in pkg/more.py returning three times x. Test it."
TEST = "from pkg.more import triple\n\n\ndef test_triple():\n    assert triple(3) == 9\n"


def code(body: str) -> str:
    return whole({"pkg/more.py": f"def triple(x):\n    return {body}\n"})


def ended(events: list) -> TurnEnded:  # type: ignore[type-arg]
    return next(e for e in events if isinstance(e, TurnEnded))


def test_the_tests_asked_for_a_package_s_init_import_the_package() -> None:
    asked = no_tests_message({"calc/__init__.py": ["calculate"], "src/calc/tokens.py": ["tokenize"]})

    assert "- calculate (in calc/__init__.py): tests/test_calc.py" in asked
    assert "tests/test_calc.py\n```python\nfrom calc import calculate\n" in asked
    assert "tests/test_tokens.py\n```python\nfrom calc.tokens import tokenize\n" in asked


def test_a_reply_without_the_tests_the_request_asks_for_is_asked_for_them(root: Path) -> None:
    # units on the package benchmark: asked "Test it.", the model sent parse() alone, the turn went green
    # with nothing checking it, and parse("12in"), the request's own example, failed acceptance.
    session, model = make_session(root, [code("3 * x"), whole({"tests/test_more.py": TEST})])

    events = run(session, REQUEST)

    asked = model.asked[1][-1]["content"]
    assert asked.startswith("# Your reply has no tests")
    assert "- triple (in pkg/more.py): tests/test_more.py" in asked
    assert "tests/test_more.py\n```python\nfrom pkg.more import triple\n\n\ndef test_triple():\n    assert triple(...) == ...\n```" in asked
    assert [(e.cause, e.used) for e in events if isinstance(e, RepairRound)] == [("no_tests", 1)]
    assert ended(events).outcome == "committed" and ended(events).tests == "2 passed"
    assert "test_triple" in (root / "tests" / "test_more.py").read_text()


def test_a_request_that_asks_for_no_tests_is_not_asked_for_them(root: Path) -> None:
    session, model = make_session(root, [code("3 * x")])

    events = run(session, "Add triple(x) in pkg/more.py returning three times x.")

    assert len(model.asked) == 1 and not any(isinstance(e, RepairRound) for e in events)
    assert ended(events).outcome == "committed"


def test_a_reply_with_tests_is_taken_as_it_is(root: Path) -> None:
    session, model = make_session(root, [code("3 * x") + whole({"tests/test_more.py": TEST})])

    run(session, REQUEST)

    assert len(model.asked) == 1


def test_the_tests_asked_for_judge_every_candidate(root: Path, tmp_path: Path) -> None:
    # the first code is wrong; its tests, asked for, catch it; a candidate's code (with no tests of its
    # own) passes them and is chosen, and the tests stay beside it
    session, model = make_session(root, [code("x + 3"), whole({"tests/test_more.py": TEST}), code("x * 3")],
                                  candidates=1)

    events = run(session, REQUEST)

    chosen = next(e for e in events if isinstance(e, CandidateChosen))
    assert chosen.candidate == 1 and chosen.tried == 2
    assert model.asked[2] == model.asked[0]  # the candidate is sampled from the coder's first request
    assert ended(events).outcome == "committed" and "failed" not in ended(events).tests
    assert (root / "tests" / "test_more.py").read_text() == TEST
    assert "x * 3" in (root / "pkg" / "more.py").read_text()
    assert all(c.ok for c in replay_exact(session.transcript.path, tmp_path / "replayed"))


@pytest.mark.parametrize(("request_text", "asks"), [
    ("Add parse(text) ... anything else raises ValueError. Test it.", True),
    ("Add Inventory ... Test all cases.", True),
    ("Export slugify from the package. Test the imports.", True),
    ("Add load_csv(path). Test it with tmp_path.", True),
    ("Solve it. Also write a short pytest test for `f` in tests/test_solution.py", True),
    ("Add double(x), with tests.", True),
    ("Make test_double pass.", False),
    ("Fix the failing tests.", False),
    ("Add double(x) returning twice x.", False),
])
def test_which_requests_ask_for_tests(request_text: str, asks: bool) -> None:
    assert asks_for_tests(request_text) is asks


def test_a_chosen_candidate_that_wrote_no_tests_is_asked_for_them(root: Path) -> None:
    # textkit, turn 3: the first reply's truncate and its test failed; a candidate with truncate alone
    # passed every test there was (none of them its) and the turn ended green with truncate untested
    request = "Add triple(x) in pkg/more.py returning three times x: triple(2) gives 6. Test it."
    # (code alone is no full pass where tests are asked for: candidate 2 is sampled too, and agrees)
    replies = [code("x + 3"), code("x * 3"), code("x * 3"), whole({"tests/test_more.py": TEST})]
    session, model = make_session(root, replies, candidates=2)

    events = run(session, request)

    assert next(e for e in events if isinstance(e, CandidateChosen)).candidate == 1
    asked = model.asked[3][-1]["content"]
    assert asked.startswith("# Your reply has no tests") and "x * 3" in model.asked[3][-2]["content"]
    assert [(e.cause, e.used) for e in events if isinstance(e, RepairRound)] == [("no_tests", 1)]
    assert ended(events).outcome == "committed" and "failed" not in ended(events).tests
    assert (root / "tests" / "test_more.py").read_text() == TEST and "x * 3" in (root / "pkg" / "more.py").read_text()


def test_a_chosen_candidate_tested_by_the_other_candidates_checks_is_not_asked_again(root: Path) -> None:
    # the first reply's test was right and its code wrong: the chosen code passes that test, kept as the turn's
    first = code("x + 3") + whole({"tests/test_more.py": TEST})
    # (code alone is no full pass where tests are asked for: candidate 2 is sampled too, and fails that test)
    session, model = make_session(root, [first, code("x * 3"), code("x - 1")], candidates=2)

    events = run(session, REQUEST)

    assert next(e for e in events if isinstance(e, CandidateChosen)).candidate == 1
    assert len(model.asked) == 3 and not any(isinstance(e, RepairRound) for e in events)
    assert "assert triple(3) == 9" in (root / "tests" / "test_turn1_candidate0_more.py").read_text()
    assert ended(events).outcome == "committed" and "failed" not in ended(events).tests


def test_a_turn_whose_tests_never_came_still_runs_the_tests_before_its_commit(root: Path) -> None:
    # textkit, turn 4: asked for its tests, the model sent replies that could not be applied; the turn was
    # committed without a test run ("tests: " empty)
    session, _ = make_session(root, [code("3 * x"), "No.", "Still no."], max_format_repairs=2)

    events = run(session, REQUEST)

    assert [e.cause for e in events if isinstance(e, RepairRound)] == ["no_tests", "format"]
    assert ended(events).outcome == "committed" and ended(events).tests == "1 passed"  # the scaffold's test


def test_code_that_fails_is_repaired_before_it_is_asked_for_tests(root: Path) -> None:
    # units, turn 2: asked for its tests before they ran, the model resent its code twice and the broken
    # import it had added (`from units import FACTORS`) was never repaired
    broken = whole({"pkg/more.py": "import no_such_module\n\n\ndef triple(x):\n    return 3 * x\n",
                    "pkg/__init__.py": "from pkg.more import triple\n"})
    fixed = whole({"pkg/more.py": "def triple(x):\n    return 3 * x\n"})
    session, model = make_session(root, [broken, fixed, whole({"tests/test_more.py": TEST})])

    events = run(session, REQUEST)

    assert [e.cause for e in events if isinstance(e, RepairRound)] == ["tests", "no_tests"]
    assert "no_such_module" in model.asked[1][-1]["content"]
    assert ended(events).outcome == "committed" and ended(events).tests == "2 passed"
