"""A program's printed answer checked by two rewrites of the whole program (engine/agreement.py)."""

from __future__ import annotations

from pathlib import Path

from helpers import make_session, run

from chatpkg.core.engine.events import CandidateChosen, CandidateTried, ModelRequest, TurnEnded
from chatpkg.core.engine.render import describe_event
from chatpkg.core.engine.replay import replay_exact


def block(code: str) -> str:
    return f"main.py\n```python\n{code}```\n"


FIRST = block("numbers = [1, 2, 3]\n")
STEP = "Print the sum of the squares of numbers."
WRONG = block("print(sum(numbers) ** 2)\n")  # the step misread: 36
RIGHT = block("numbers = [1, 2, 3]\nprint(sum(n * n for n in numbers))\n")  # 14
ALSO_RIGHT = "Here it is:\n\n```python\nnumbers = [1, 2, 3]\nprint(sum([n ** 2 for n in numbers]))\n```\n"


def program_session(root: Path, replies: list[str], **settings: object):  # type: ignore[no-untyped-def]
    options = {"program": "main.py", "edit_format": "merge", "candidates": 2, **settings}
    session, model = make_session(root, [FIRST, *replies], **options)
    run(session, "Write the program in main.py. Set numbers to the list [1, 2, 3].")
    return session, model


def ended(events: list) -> TurnEnded:  # type: ignore[type-arg]
    return next(e for e in events if isinstance(e, TurnEnded))


def test_two_rewrites_that_agree_outvote_the_step_by_step_program(root: Path) -> None:
    session, model = program_session(root, [WRONG, RIGHT, ALSO_RIGHT])

    events = run(session, STEP)

    assert (root / "main.py").read_text() == "numbers = [1, 2, 3]\nprint(sum(n * n for n in numbers))\n"
    chosen = next(e for e in events if isinstance(e, CandidateChosen))
    assert (chosen.candidate, chosen.tried) == (1, 3) and "both rewrites printed the same" in chosen.why
    assert ended(events).outcome == "committed" and ended(events).tests.endswith("passed")
    whole, plain = model.asked[2], model.asked[3]
    assert "1. Write the program in main.py. Set numbers to the list [1, 2, 3].\n2. " + STEP in whole[-1]["content"]
    assert len(plain) == 1 and "Write a Python program, `main.py`" in plain[0]["content"]
    requests = [e for e in events if isinstance(e, ModelRequest)]
    assert [(e.role, e.plain) for e in requests] == [("coder", False), ("rewriter", False), ("rewriter", True)]
    assert (describe_event(requests[2]) or "").strip() == "rewrite 2: the whole program again, asked plainly, to check what it prints"
    assert any("went on with rewrite 1" in n for n in ended(events).notes)


def test_a_rewrite_that_prints_the_same_confirms_the_program_and_the_second_is_not_asked(root: Path) -> None:
    session, model = program_session(root, [block("print(sum(n * n for n in numbers))\n"), RIGHT])

    events = run(session, STEP)

    assert len(model.asked) == 3  # the first turn, the step, one rewrite
    assert (root / "main.py").read_text() == "numbers = [1, 2, 3]\n\nprint(sum(n * n for n in numbers))\n"
    assert next(e for e in events if isinstance(e, CandidateChosen)).candidate == 0


CRASH = block("print(sum(n * n for n in nums))\n")


def test_rewrites_that_disagree_or_crash_leave_the_step_by_step_program(root: Path) -> None:
    other = block("numbers = [1, 2, 3]\nprint(len(numbers))\n")  # the third rewrite agrees with neither: 3
    session, _ = program_session(root, [WRONG, RIGHT, CRASH, other])

    events = run(session, STEP)

    assert (root / "main.py").read_text() == "numbers = [1, 2, 3]\n\nprint(sum(numbers) ** 2)\n"
    chosen = next(e for e in events if isinstance(e, CandidateChosen))
    assert (chosen.candidate, chosen.tried) == (0, 4) and chosen.why.startswith("no two programs printed the same")
    tried = {e.candidate: e.failed for e in events if isinstance(e, CandidateTried)}
    assert tried[1] == [] and tried[2] == ["main.py"]  # the crash is the program's failure
    assert ended(events).outcome == "committed" and ended(events).tests.endswith("passed")


def test_a_third_rewrite_breaks_the_tie_when_no_two_agree(root: Path) -> None:
    """MTPB 28: the program printed 17, rewrite 1 crashed, rewrite 2 printed 99; a third rewrite,
    chatpkg's request sampled, that prints 99 too outvotes the program with rewrite 2."""
    session, model = program_session(root, [WRONG, CRASH, ALSO_RIGHT, RIGHT])

    events = run(session, STEP)

    chosen = next(e for e in events if isinstance(e, CandidateChosen))
    assert (chosen.candidate, chosen.tried) == (2, 4) and chosen.why.startswith("rewrites 2 and 3 printed the same")
    assert (root / "main.py").read_text() == "numbers = [1, 2, 3]\nprint(sum([n ** 2 for n in numbers]))\n"
    third = [e for e in events if isinstance(e, ModelRequest)][-1]
    assert (third.role, third.candidate, third.plain) == ("rewriter", 3, False)
    assert "to break the tie" in (describe_event(third) or "")
    assert model.asked[-1] == model.asked[-3]  # chatpkg's request again (sampled), not the plain one


def test_a_third_rewrite_that_prints_the_programs_answer_confirms_it(root: Path) -> None:
    session, _ = program_session(root, [WRONG, RIGHT, CRASH, block("numbers = [1, 2, 3]\nprint(sum(numbers) ** 2)\n")])

    events = run(session, STEP)

    chosen = next(e for e in events if isinstance(e, CandidateChosen))
    assert chosen.candidate == 0 and chosen.why.startswith("rewrite 3 printed the same")
    assert (root / "main.py").read_text() == "numbers = [1, 2, 3]\n\nprint(sum(numbers) ** 2)\n"


def test_a_third_rewrite_agreeing_with_the_first_decides_nothing(root: Path) -> None:
    """MTPB 30: rewrites 1 and 3 are one framing sampled twice; both set ``f = 5`` for "the positive integer
    2", and their agreement replaced a program that printed the right answer."""
    session, _ = program_session(root, [WRONG, RIGHT, CRASH, RIGHT])

    events = run(session, STEP)

    chosen = next(e for e in events if isinstance(e, CandidateChosen))
    assert chosen.candidate == 0 and chosen.why.startswith("no two programs printed the same")


def test_two_crashing_rewrites_ask_no_third(root: Path) -> None:
    session, model = program_session(root, [WRONG, CRASH, CRASH])

    events = run(session, STEP)

    assert len(model.asked) == 4 and next(e for e in events if isinstance(e, CandidateChosen)).tried == 3


def test_a_step_whose_replies_changed_nothing_is_still_a_step_of_the_rewrites(root: Path) -> None:
    """MTPB 100: "Remove the substring starting from the @" got the file back unchanged, so no commit; the
    rewrites were never told the step and left it out."""
    session, model = program_session(root, [FIRST, FIRST, FIRST, WRONG, RIGHT, ALSO_RIGHT], max_repairs=0,
                                        max_format_repairs=2)
    skipped = "Double every item of numbers."
    assert ended(run(session, skipped)).outcome == "no_edits"

    events = run(session, STEP)

    assert next(e for e in events if isinstance(e, CandidateChosen)).candidate == 1
    whole, plain = model.asked[-2][-1]["content"], model.asked[-1][0]["content"]
    assert f"2. {skipped}\n3. {STEP}" in whole and f"2. {skipped}\n3. {STEP}" in plain
    assert session.state.steps()[1] == skipped  # the model's history of turns still holds the committed ones
    assert skipped not in [h.request for h in session.state.history()]


def test_only_a_printing_step_after_others_with_candidates_is_cross_checked(root: Path) -> None:
    session, model = program_session(root, [block("total = sum(numbers)\n"), WRONG], candidates=2)
    run(session, "Store the sum of numbers in total.")  # prints nothing
    assert len(model.asked) == 2
    session.change_settings({"candidates": 0}, "test")
    run(session, STEP)  # no candidates: the team does not sample
    assert len(model.asked) == 3


def test_a_session_whose_answer_was_cross_checked_replays_verified(root: Path, tmp_path: Path) -> None:
    session, _ = program_session(root, [WRONG, RIGHT, ALSO_RIGHT])
    run(session, STEP)

    checks = list(replay_exact(session.transcript.path, tmp_path / "replayed"))

    assert checks and all(c.ok for c in checks), [c.problems for c in checks]
