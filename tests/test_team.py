"""The team: the tester's checks, candidates chosen by them, and the fix-the-code-or-the-test decision."""

from __future__ import annotations

from pathlib import Path

import git
import pytest

from chatpkg.core.engine.checks import vet
from chatpkg.core.engine.events import (
    CandidateChosen,
    CandidateTried,
    CheckChanged,
    ChecksWritten,
    EditsRejected,
    ModelReply,
    ModelRequest,
    TurnEnded,
)
from chatpkg.core.engine.examples import as_tests, examples, stated_in
from chatpkg.core.engine.render import describe_event
from chatpkg.core.engine.replay import replay_exact
from chatpkg.core.engine.team import Tried, choose
from chatpkg.core.engine.transcript import read_transcript
from tests.helpers import make_session, run, whole

REQUEST = "Add double(x) in pkg/calc.py returning 2 * x; for example, 3 doubled is 6."
GOOD = whole({"pkg/calc.py": "def double(x):\n    return 2 * x\n"})
WRONG = whole({"pkg/calc.py": "def double(x):\n    return x + 2\n"})  # right for x == 2 only
NO_EVIDENCE = ["No code.", "No code."]  # the replies sampled as evidence when a repair blames a test (verdict.py)
CHECKS = ("from pkg.calc import double\n\n\ndef test_example():\n    assert double(3) == 6\n\n\n"
          "def test_zero():\n    assert double(0) == 0\n")


def checks_reply(source: str = CHECKS) -> str:
    return f"tests/test_turn1_checks.py\n```python\n{source}```\n"


def ended(events: list) -> TurnEnded:  # type: ignore[type-arg]
    return next(e for e in events if isinstance(e, TurnEnded))


def written_by_tester(events: list) -> list[ChecksWritten]:  # type: ignore[type-arg]
    """The tester's checks written, not chatpkg's own (the request's examples and stated names, which
    REQUEST's "double(x) in pkg/calc.py" adds as one more passing test: engine/interface.py)."""
    return [e for e in events if isinstance(e, ChecksWritten) and not e.path.endswith("_examples.py")]


def test_the_testers_checks_are_written_recorded_and_the_assistants(root: Path) -> None:
    session, model = make_session(root, [GOOD, checks_reply()], team="coder+tester")

    events = run(session, REQUEST)

    written = written_by_tester(events)[0]
    assert written.path == "tests/test_turn1_checks.py" and written.tests == ["test_example", "test_zero"]
    assert ended(events).outcome == "committed" and ended(events).tests == "4 passed"
    assert "tests/test_turn1_checks.py" in git.Repo(root).git.ls_files().splitlines()
    assert written.path in session.state.assistant_tests
    roles = [e.role for e in read_transcript(session.transcript.path).events if isinstance(e, ModelReply)]
    assert roles == ["coder", "tester"]
    tester_prompt = model.asked[1][-1]["content"]
    assert "return 2 * x" not in tester_prompt and "def double(x)" in tester_prompt  # the interface, no bodies


def test_a_tester_block_without_a_path_is_taken_as_the_checks(root: Path) -> None:
    # What the embedded model sends: one ```python block, no path line above it.
    session, _ = make_session(root, [GOOD, f"```python\n{CHECKS}```\n"], team="coder+tester")

    events = run(session, REQUEST)

    written = written_by_tester(events)[0]
    assert written.path == "tests/test_turn1_checks.py" and written.tests == ["test_example", "test_zero"]
    assert "assert double(3) == 6" in (root / written.path).read_text()


def test_checks_that_cannot_fail_or_do_not_parse_are_rejected_with_the_reason() -> None:
    vetted = vet("def test_true():\n    assert True\n\n\ndef test_nothing():\n    x = 1\n\n\n"
                 "def test_real():\n    assert f(1) == 2\n")
    assert vetted.tests == ("test_real",)
    assert "cannot fail" in vetted.rejected["test_true"] and "no assert" in vetted.rejected["test_nothing"]
    broken = vet("def test_x(:\n")
    assert broken.tests == () and "not valid Python" in broken.rejected["*"]


def test_a_test_with_several_checks_becomes_one_test_per_check() -> None:
    # The embedded model's tester puts every assert in one function; its first wrong expectation hid
    # the rest, and every candidate failed "the" check alike (HumanEval/0-2 with the team).
    vetted = vet(
        "import pytest\nfrom pkg.calc import double\n\n\ndef test_double():\n    x = 3\n    assert double(x) == 6\n"
        "    assert double(0) == 1\n    for n in (1, 2):\n        assert double(n) == 2 * n\n"
        "    with pytest.raises(TypeError):\n        double(None)\n    assert True\n\n\n"
        "@pytest.mark.parametrize('n', [1])\ndef test_kept_whole(n):\n    assert double(n) == 2\n    assert n\n"
    )

    assert vetted.tests == ("test_double_1", "test_double_2", "test_double_3", "test_double_4", "test_kept_whole")
    assert "cannot fail" in vetted.rejected["test_double_5"]
    namespace: dict = {}  # type: ignore[type-arg]
    exec(compile(vetted.source.replace("from pkg.calc import double", "double = lambda v: 2 * v"), "t", "exec"),
         namespace)
    namespace["test_double_1"]()  # x = 3 is set up again before each check that follows it
    with pytest.raises(AssertionError):
        namespace["test_double_2"]()
    namespace["test_double_3"]()  # the loop is one check, run whole


def test_a_tester_reply_that_is_not_python_is_rejected_and_the_turn_goes_on(root: Path) -> None:
    session, _ = make_session(root, [GOOD, "I cannot write tests for this, sorry."], team="coder+tester")
    events = run(session, REQUEST)
    written = written_by_tester(events)[0]
    assert written.path == "" and written.rejected
    assert ended(events).outcome == "committed"


def test_a_check_that_hangs_is_taken_out_with_the_reason_and_never_counts(root: Path) -> None:
    hanging = CHECKS + "\n\ndef test_forever():\n    n = 0\n    while double(1) == 2:\n        n += 1\n    assert n\n"
    session, _ = make_session(root, [GOOD, checks_reply(hanging)], team="coder+tester", candidates=2,
                              test_timeout=9)  # a test may take 3 s (loaded CI)

    events = run(session, REQUEST)

    first, second = written_by_tester(events)
    assert first.tests == ["test_example", "test_zero", "test_forever"]
    assert second.tests == ["test_example", "test_zero"] and "hangs" in second.rejected["test_forever"]
    assert not any(isinstance(e, CandidateTried) for e in events)  # the first code passes every check left
    assert ended(events).outcome == "committed" and ended(events).tests == "4 passed"
    committed = git.Repo(root).git.show("HEAD:tests/test_turn1_checks.py")
    assert "test_forever" not in committed and "def test_zero" in committed


def test_candidates_are_tried_until_one_passes_every_check(root: Path) -> None:
    replies = [WRONG, checks_reply(), WRONG, GOOD, GOOD]
    session, model = make_session(root, replies, team="coder+tester", candidates=3, max_repairs=0)

    events = run(session, REQUEST)

    tried = [e for e in events if isinstance(e, CandidateTried)]
    assert [t.candidate for t in tried] == [0, 1, 2]  # stopped at the first full pass
    chosen = next(e for e in events if isinstance(e, CandidateChosen))
    assert chosen.candidate == 2 and chosen.tried == 3
    assert ended(events).tests == "4 passed" and "candidate 2" in ended(events).notes[0]
    assert (root / "pkg" / "calc.py").read_text() == "def double(x):\n    return 2 * x\n"
    assert len(model.replies) == 1  # the third candidate was never asked for


def test_a_candidate_put_back_leaves_no_folder_it_made(root: Path) -> None:
    # A put-back candidate's new file was removed but its new folder stayed, empty, in the workspace.
    wrong_elsewhere = whole({"pkg/calc.py": "def double(x):\n    return x + 2\n", "pkg/extra/util.py": "X = 1\n"})
    session, _ = make_session(root, [wrong_elsewhere, checks_reply(), GOOD], team="coder+tester", candidates=2,
                              max_repairs=0)

    events = run(session, REQUEST)

    assert next(e for e in events if isinstance(e, CandidateChosen)).candidate == 1
    assert not (root / "pkg" / "extra").exists() and (root / "pkg").is_dir()


def test_a_candidates_own_tests_do_not_count_for_it(root: Path) -> None:
    # HumanEval/101: a candidate that wrote six tests of its own beat, by count, one that passed every check.
    half = whole({"pkg/maths.py": "def triple(x):\n    return x + 4\n"})  # passes triple(2) == 6 only
    padded = whole({
        "pkg/maths.py": "def triple(x):\n    return 0\n",
        "tests/test_mine.py": "".join(f"def test_{n}():\n    assert len('{n}') == 1\n\n\n" for n in "abc"),
    })
    session, _ = make_session(root, [half, padded], team="coder", candidates=1, max_repairs=0)
    (root / "pkg" / "maths.py").write_text(STUB)

    events = run(session, "Implement triple in pkg/maths.py as its docstring says.")

    tried = [e for e in events if isinstance(e, CandidateTried)]
    assert len(tried[1].passed) > len(tried[0].passed)  # by raw count the padded one would win
    chosen = next(e for e in events if isinstance(e, CandidateChosen))
    assert chosen.candidate == 0 and "most checks (2)" in chosen.why  # the scaffold's test and triple(2)
    assert not (root / "tests" / "test_mine.py").exists()


def test_ties_go_to_the_result_more_candidates_agree_on() -> None:
    a = Tried(0, "r0", frozenset({"t::a", "t::b"}), 1, True)
    b = Tried(1, "r1", frozenset({"t::a", "t::c"}), 1, True)
    c = Tried(2, "r2", frozenset({"t::a", "t::c"}), 1, True)
    chosen, why = choose([a, b, c])
    assert chosen is b and "2 candidate(s) agree" in why
    assert choose([Tried(0, "x", frozenset(), 0, False), a])[0] is a


def test_candidates_that_all_fail_every_check_do_not_agree() -> None:
    first, fewer, also = (Tried(i, f"r{i}", frozenset(), failed, True) for i, failed in enumerate((2, 1, 1)))

    chosen, why = choose([first, fewer, also])

    assert chosen is fewer and "agree" not in why and why.startswith("none passed a check")
    unapplied = Tried(3, "r3", frozenset(), 0, False)
    assert choose([first, unapplied]) == (first, "none passed a check; the only one whose edits applied")


def test_a_wrong_check_is_corrected_visibly_when_the_test_is_wrong(root: Path) -> None:
    wrong_check = "from pkg.calc import double\n\n\ndef test_example():\n    assert double(3) == 7\n"
    fixed_check = "TEST: double(3) is 6 by the request's own example\n\n" + checks_reply(
        "from pkg.calc import double\n\n\ndef test_example():\n    assert double(3) == 6\n"
    )
    session, model = make_session(root, [GOOD, checks_reply(wrong_check), fixed_check, *NO_EVIDENCE],
                                  team="coder+tester")

    events = run(session, REQUEST)

    changed = next(e for e in events if isinstance(e, CheckChanged))
    assert (changed.test, changed.change) == ("test_example", "expected values")
    assert "by the request's own example" in changed.reason
    assert "changed its own test" in ended(events).notes[0] and ended(events).tests == "3 passed"
    assert "written by you" in model.asked[2][-1]["content"]  # the repair was told it may correct its test


def test_blaming_the_test_without_changing_it_gets_the_request_and_the_values(root: Path) -> None:
    own_test = "from pkg.calc import double\n\n\ndef test_double():\n    assert double(3) == 6\n"
    first = whole({"pkg/calc.py": "def double(x):\n    return x + 2\n", "tests/test_calc.py": own_test})
    blame = "TEST: the test is incorrect\n\n" + first  # what the embedded model sent: the same files
    session, model = make_session(root, [first, blame, *NO_EVIDENCE, GOOD], max_repairs=2)

    events = run(session, REQUEST)

    told = model.asked[4][-1]["content"]
    assert "changed no test" in told and "The files already hold" not in told
    assert REQUEST in told and "assert 5 == 6" in told  # the request's words and the assert's two values
    assert "the test stands" in told and "Change the code so that these checks pass" in told
    assert not any(isinstance(e, CheckChanged) for e in events)
    assert ended(events).tests == "2 passed" and ended(events).test_repairs == 2


def test_the_code_is_fixed_when_the_code_is_wrong(root: Path) -> None:
    session, _ = make_session(root, [WRONG, checks_reply(), GOOD], team="coder+tester")
    events = run(session, REQUEST)
    assert not any(isinstance(e, CheckChanged) for e in events)
    assert ended(events).tests == "4 passed" and ended(events).notes == []


def test_an_error_the_code_raises_is_never_offered_as_the_tests_fault(root: Path) -> None:
    own_test = "from pkg.calc import double\n\n\ndef test_double():\n    assert double(3) == 6\n"
    crashing = whole({"pkg/calc.py": "def double(x):\n    return x * undefined\n", "tests/test_calc.py": own_test})
    value = whole({"pkg/calc.py": "def double(x):\n    return x + 2\n"})
    session, model = make_session(root, [crashing, value, GOOD])

    events = run(session, REQUEST)

    crash_told, value_told = model.asked[1][-1]["content"], model.asked[2][-1]["content"]
    assert "(raised at pkg/calc.py:2)" in crash_told
    assert "the error is raised in the code (pkg/calc.py:2), not by a test's expected value" in crash_told
    assert "TEST:" not in crash_told  # no evidence against the test: the choice is not offered
    assert "tests/test_calc.py was written by you" in value_told and "TEST:" in value_told  # a value: both ways
    assert ended(events).tests == "2 passed"


def test_the_users_tests_are_never_changed_by_a_repair(root: Path) -> None:
    user_test = "from pkg.calc import double\n\n\ndef test_users_example():\n    assert double(5) == 10\n"
    session, _ = make_session(root, [WRONG, whole({"tests/test_user.py": user_test.replace("10", "7")}), GOOD])
    (root / "tests" / "test_user.py").write_text(user_test)  # the user's own test, committed before the turn

    events = run(session, REQUEST)

    rejected = [e.reason for e in events if isinstance(e, EditsRejected)]
    assert rejected and "the user's tests" in rejected[0]
    assert (root / "tests" / "test_user.py").read_text() == user_test
    assert ended(events).outcome == "committed" and ended(events).tests == "2 passed"


def test_tests_added_to_the_users_file_are_the_assistants_and_the_users_stay_untouchable(root: Path) -> None:
    # Seen on the package benchmark: the first reply rewrote the scaffold's tests/test_units.py with its
    # own tests, and no repair could then correct their wrong expectations ("the user's tests").
    session, model = make_session(root, [])
    scaffold = (root / "tests" / "test_pkg.py").read_text()
    wrong = scaffold + "\n\nfrom pkg.calc import double\n\n\ndef test_double():\n    assert double(3) == 7\n"
    users_changed = wrong.replace("import pkg\n", "import pkg  # the user's line\n").replace(
        "def test_package_imports():\n", "def test_package_imports():\n    return\n")
    fixed = wrong.replace("== 7", "== 6")
    model.load([whole({"pkg/calc.py": "def double(x):\n    return 2 * x\n", "tests/test_pkg.py": wrong}),
                "TEST: 3 doubled is 6\n\n" + whole({"tests/test_pkg.py": users_changed}), *NO_EVIDENCE,
                "TEST: 3 doubled is 6\n\n" + whole({"tests/test_pkg.py": fixed})])

    events = run(session, REQUEST)

    told = model.asked[1][-1]["content"]
    assert "tests/test_pkg.py::test_double was written by you" in told and "the user's tests" not in told
    (rejected,) = [e.reason for e in events if isinstance(e, EditsRejected)]
    assert rejected.startswith("tests/test_pkg.py::test_package_imports: the user's tests")
    changed = next(e for e in events if isinstance(e, CheckChanged))
    assert (changed.path, changed.test) == ("tests/test_pkg.py", "test_double")
    assert ended(events).tests == "2 passed"
    assert "def test_package_imports():\n    assert" in (root / "tests" / "test_pkg.py").read_text()


def test_a_test_an_earlier_turn_added_to_the_users_file_stays_the_assistants(root: Path) -> None:
    session, model = make_session(root, [])
    scaffold = (root / "tests" / "test_pkg.py").read_text()
    wrong = scaffold + "\n\nfrom pkg.calc import double\n\n\ndef test_double():\n    assert double(1) == 4\n"
    model.load([whole({"pkg/calc.py": "def double(x):\n    return x + 3\n", "tests/test_pkg.py": wrong}),
                whole({"pkg/calc.py": "def double(x):\n    return 2 * x\n"}),
                "TEST: 1 doubled is 2\n\n" + whole({"tests/test_pkg.py": wrong.replace("== 4", "== 2")}),
                *NO_EVIDENCE])
    assert ended(run(session, "Add double(x) in pkg/calc.py, with a test.")).tests == "2 passed"

    events = run(session, "double(x) must return 2 * x.")

    assert "tests/test_pkg.py::test_double was written by you" in model.asked[2][-1]["content"]
    assert not any(isinstance(e, EditsRejected) for e in events)
    assert ended(events).tests == "2 passed"


def test_a_team_session_replays_verified(root: Path, tmp_path: Path) -> None:
    replies = [WRONG, checks_reply(), WRONG, GOOD]
    session, _ = make_session(root, replies, team="coder+tester", candidates=2, max_repairs=1)
    run(session, REQUEST)

    checks = list(replay_exact(session.transcript.path, tmp_path / "replayed"))

    assert checks and all(c.ok for c in checks), [c.problems for c in checks]


def test_the_team_is_chosen_in_the_repl_and_recorded(root: Path, tmp_path: Path) -> None:
    import json

    from click.testing import CliRunner

    from chatpkg.cli import main
    from chatpkg.core.engine.events import SettingsChanged

    replies = tmp_path / "r.json"
    replies.write_text(json.dumps([GOOD, checks_reply()]))
    result = CliRunner().invoke(main, ["repl", "-w", str(root), "--model", f"scripted:{replies}", "--team",
                                       "coder+tester"], input=f"/team\n{REQUEST}\n/team coder 2\n/quit\n")

    assert result.exit_code == 0, result.output
    assert "team: coder+tester; candidates: 0" in result.output
    assert "tester: 2 check(s) in tests/test_turn1_checks.py" in result.output
    assert "team: coder; candidates: 2" in result.output
    (path,) = (root / ".chatpkg" / "sessions").glob("*.jsonl")
    contents = read_transcript(path)
    assert contents.header.settings["team"] == "coder+tester"
    changes = [e.changes for e in contents.events if isinstance(e, SettingsChanged)]
    assert changes == [{"team": ["coder+tester", "coder"], "candidates": [0, 2]}]


def test_a_turn_that_ends_red_says_so(root: Path) -> None:
    session, _ = make_session(root, [WRONG, checks_reply()], team="coder+tester", max_repairs=0)
    events = run(session, REQUEST)
    assert ended(events).outcome == "committed" and "the tests still fail" in ended(events).notes[-1]


async def test_the_team_is_chosen_in_the_tui(root: Path) -> None:
    import time as _time

    from chatpkg.core.engine.store import open_session
    from chatpkg.core.models import ScriptedModel
    from chatpkg.tui.app import ChatpkgApp
    from chatpkg.tui.chat import NoticeLine

    model = ScriptedModel([GOOD, checks_reply()])
    app = ChatpkgApp(lambda: open_session(root, model, resume=False), model_name=model.name,
                     resolve_model=lambda spec: model, history=root.parent / "history")

    async def until(pilot, condition) -> None:  # type: ignore[no-untyped-def]
        deadline = _time.monotonic() + 20
        while not condition():
            assert _time.monotonic() < deadline, "timed out"
            await pilot.pause(0.05)

    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: app.session is not None)
        await app.run_action("slash('/team coder+tester')")
        await until(pilot, lambda: app.session.settings.team == "coder+tester")  # type: ignore[union-attr]
        app.prompt.load_text(REQUEST)
        await pilot.press("enter")
        await until(pilot, lambda: app.session.state.turns.get(1) and  # type: ignore[union-attr]
                    app.session.state.turns[1].outcome == "committed")  # type: ignore[union-attr]

        def notices() -> list[str]:
            return [str(w.render()) for w in app.chat.children if isinstance(w, NoticeLine)]

        # the worker's events reach the chat as messages: on a busy machine after the state has them
        await until(pilot, lambda: any("tester: 2 check(s)" in n for n in notices()))
        shown = notices()
    assert any("team: coder+tester" in n for n in shown)
    assert any("tester: writing checks from the request" in n for n in shown)


STUB = ('def triple(x):\n    """Three times x.\n\n    >>> triple(2)\n    6\n    >>> triple(0.5)\n    1.5\n'
        '    >>> print(triple(1))\n    3\n    """\n    raise NotImplementedError\n')


def test_docstring_examples_become_checks_word_for_word() -> None:
    found = examples({"pkg/maths.py": STUB})
    assert [(e.module, e.expr, e.want) for e in found] == [("pkg.maths", "triple(2)", "6"),
                                                          ("pkg.maths", "triple(0.5)", "1.5")]
    source = as_tests(found)
    assert "from pkg.maths import triple" in source
    assert "assert triple(0.5) == pytest.approx(1.5)" in source and vet(source).tests == (
        "test_docstring_example_triple_1", "test_docstring_example_triple_2")


def test_a_stubs_examples_pick_the_candidate(root: Path) -> None:
    wrong = whole({"pkg/maths.py": "def triple(x):\n    return x + 4\n"})  # right for 2, wrong for 0.5
    good = whole({"pkg/maths.py": "def triple(x):\n    return 3 * x\n"})
    no_checks = "Nothing to add."
    session, _ = make_session(root, [wrong, no_checks, good], team="coder+tester", candidates=2, max_repairs=0)
    (root / "pkg" / "maths.py").write_text(STUB)  # the user's stub, committed as their edit before the turn

    events = run(session, "Implement triple in pkg/maths.py as its docstring says.")

    written = [e for e in events if isinstance(e, ChecksWritten)]
    assert written[0].path == "tests/test_turn1_examples.py" and len(written[0].tests) == 2
    chosen = next(e for e in events if isinstance(e, CandidateChosen))
    assert chosen.candidate == 1 and ended(events).tests == "3 passed"


def test_the_coder_alone_with_candidates_chooses_by_the_docstrings_examples(root: Path) -> None:
    wrong = whole({"pkg/maths.py": "def triple(x):\n    return x + 4\n"})  # right for 2, wrong for 0.5
    good = whole({"pkg/maths.py": "def triple(x):\n    return 3 * x\n"})
    session, model = make_session(root, [wrong, good], team="coder", candidates=2, max_repairs=0)
    (root / "pkg" / "maths.py").write_text(STUB)

    events = run(session, "Implement triple in pkg/maths.py as its docstring says.")

    assert [e.path for e in events if isinstance(e, ChecksWritten)] == ["tests/test_turn1_examples.py"]
    assert next(e for e in events if isinstance(e, CandidateChosen)).candidate == 1
    assert [e.role for e in events if isinstance(e, ModelReply)] == ["coder", "coder"]  # no tester asked
    assert (root / "pkg" / "maths.py").read_text() == "def triple(x):\n    return 3 * x\n"


def test_examples_stated_on_one_line_become_checks() -> None:
    doc = (
        'def fly(q, w):\n    """Whether q flies.\n\n    Example:\n    fly([1, 2], 5) ➞ False\n'
        "    fly([3], 5) should return True.\n    fly(q, w) => True when q is balanced\n"
        '    fly([1], 1) = 3 is not a literal result\n    >>> round(fly([2], 2), 1)  # a comment\n    1.0\n'
        '    >>> fly([4], 4) == True\n    fly([5], 1) # => false\n    fly([6], 9) = True\n    """\n'
    )
    found = [(e.expr, e.want) for e in examples({"pkg/air.py": doc})]

    assert found == [("round(fly([2], 2), 1)", "1.0"), ("fly([1, 2], 5)", "False"), ("fly([3], 5)", "True"),
                     ("fly([4], 4)", "True"), ("fly([5], 1)", "False"), ("fly([6], 9)", "True")]
    assert "assert round(fly([2], 2), 1) == pytest.approx(1.0)" in as_tests(examples({"pkg/air.py": doc}))


def test_a_recurrences_equals_signs_are_not_results() -> None:
    """HumanEval/130 defines ``tri`` by ``tri(n) = 1 + n / 2`` and then writes ``tri(4) = 3``, where the
    function returns a list: with such a definition in the docstring a lone ``=`` states no result."""
    doc = ('def tri(n):\n    """The sequence.\n\n    tri(1) = 3\n    tri(n) = 1 + n / 2, if n is even.\n'
           '    tri(4) = 3\n    >>> tri(3)\n    [1, 3, 2, 8]\n    """\n')
    assert [(e.expr, e.want) for e in examples({"seq.py": doc})] == [("tri(3)", "[1, 3, 2, 8]")]


def test_examples_that_name_their_inputs_become_checks_in_the_parameters_order() -> None:
    doc = ('def cut(s, c):\n    """Delete c from s.\n\n    For c = "b", s = "abc" the result should be (\'ac\', False)\n'
           '    For s = "x", the sum of digits will be 1 the output should be "x".\n'
           '    Example 1:\n        Input: s = "aa", c = "a"\n        Output: (\'\', True)  # all gone\n'
           '    Example 2:\n        Input:\n            s : "ab"\n            c : "b"\n        Output: (\'a\', True)\n'
           '    Example 3:\n        Input: s = "ab", k = 1\n        Output: 5\n    """\n')
    found = [(e.expr, e.want) for e in examples({"cut.py": doc})]

    assert found == [("cut('abc', 'b')", "('ac', False)"), ("cut('aa', 'a')", "('', True)"),
                     ("cut('ab', 'b')", "('a', True)")]  # s alone names too few; k is not a parameter
    one = 'def pluck(arr):\n    """Pick.\n\n    Input: [4,2,3]\n    Output: [2, 1]\n    """\n'
    assert [(e.expr, e.want) for e in examples({"p.py": one})] == [("pluck([4,2,3])", "[2, 1]")]


def test_calls_the_request_states_become_checks_of_the_functions_the_code_defines(root: Path) -> None:
    request = "Add double(x) in pkg/calc.py: `double(3)` gives `6`, and double(0.5) should return 1.0."
    wrong = whole({"pkg/calc.py": "def double(x):\n    return x + 3\n"})  # right for 3, wrong for 0.5
    session, _ = make_session(root, [wrong, GOOD], team="coder", candidates=1, max_repairs=0)

    events = run(session, request)

    written = next(e for e in events if isinstance(e, ChecksWritten))
    assert written.tests == ["test_request_example_double_1", "test_request_example_double_2",
                             "test_request_states_pkg_calc_double"]
    assert "assert double(0.5) == pytest.approx(1.0)" in (root / written.path).read_text()
    assert next(e for e in events if isinstance(e, CandidateChosen)).candidate == 1
    assert ended(events).tests == "4 passed"  # the scaffold's test, the two examples, the stated name
    assert [(e.expr, e.want) for e in stated_in("f(a) gives 2; g(1) gives 2", {"m.py": "def f(a):\n    pass\n"})] == []


def test_a_repair_never_rewrites_an_earlier_requests_examples(root: Path) -> None:
    """tests/test_turn<N>_examples.py holds the user's words: a repair that rewrites it to suit wrong code
    loses that edit (named in the outcome), keeps the rest, and was told whose tests they are."""
    request = "Add double(x) in pkg/calc.py: `double(3)` gives `6`."
    bent = {"tests/test_turn1_examples.py": "from pkg.calc import double\n\n\ndef test_it():\n    assert double(3) == 7\n"}
    broken = whole({"pkg/calc.py": "def double(x):\n    return x + 4\n\n\ndef half(x):\n    return x / 2\n", **bent})
    repair = whole({"pkg/calc.py": "def double(x):\n    return 2 * x\n\n\ndef half(x):\n    return x / 2\n", **bent})
    session, model = make_session(root, [GOOD, broken, repair], team="coder", candidates=1, max_repairs=1)
    assert ended(run(session, request)).tests == "3 passed"
    examples_before = (root / "tests/test_turn1_examples.py").read_text()
    session.change_settings({"candidates": 0}, "test")

    events = run(session, "Add half(x) in pkg/calc.py.")

    assert (root / "tests/test_turn1_examples.py").read_text() == examples_before
    assert "def half" in (root / "pkg/calc.py").read_text() and "2 * x" in (root / "pkg/calc.py").read_text()
    assert ended(events).tests == "3 passed" and ended(events).outcome == "committed"
    assert ended(events).notes.count("left tests/test_turn1_examples.py as it was: it holds the user's examples") == 1
    told = model.asked[-1][-1]["content"]
    assert "tests/test_turn1_examples.py: the user's tests (the requests' examples as checks)" in told


def test_a_repair_is_shown_the_code_it_wrote_not_chatpkgs_examples_file(root: Path) -> None:
    """Shown under "files you edited", the examples file was what the model sent back (units turn 2: 9 of 9
    repair replies resent it unchanged); the failure names it, the code is what to fix."""
    wrong = whole({"pkg/calc.py": "def double(x):\n    return x + 3\n"})
    also_wrong = whole({"pkg/calc.py": "def double(x):\n    return x * x\n"})
    session, model = make_session(root, [wrong, also_wrong, GOOD], team="coder", candidates=1, max_repairs=1)

    events = run(session, "Add double(x) in pkg/calc.py: `double(3)` gives `6`, and double(0.5) should return 1.0.")

    assert ended(events).tests == "4 passed"
    told = model.asked[-1][-1]["content"]
    shown = told.split("# Current content of the files you edited", 1)[1]
    assert "pkg/calc.py" in shown and "return x + 3" in shown
    assert "def test_request_example_double_2" not in shown and "tests/test_turn1_examples.py" in told


def test_a_first_reply_that_adds_its_test_to_an_earlier_examples_file_loses_that_edit(root: Path) -> None:
    # textkit, turn 2: the model copied turn 1's examples file and added a test of its own to it
    session, _ = make_session(root, [GOOD], team="coder", candidates=1)
    run(session, "Add double(x) in pkg/calc.py: `double(3)` gives `6`.")
    examples_before = (root / "tests/test_turn1_examples.py").read_text()
    half = "def half(x):\n    return x / 2\n"
    reply = whole({"pkg/calc.py": "def double(x):\n    return 2 * x\n\n\n" + half,
                   "tests/test_turn1_examples.py": "def test_mine():\n    assert 1 + 1 == 2\n"})
    session.model.replies.append(reply)  # type: ignore[attr-defined]

    events = run(session, "Add half(x) in pkg/calc.py.")

    assert (root / "tests/test_turn1_examples.py").read_text() == examples_before
    assert "def half" in (root / "pkg/calc.py").read_text()
    assert "left tests/test_turn1_examples.py as it was: it holds the user's examples" in ended(events).notes


def test_a_session_with_a_plain_candidate_replays_verified(root: Path, tmp_path: Path) -> None:
    plain = "```python\ndef double(x):\n    return 2 * x\n```"
    session, model = make_session(root, [WRONG, checks_reply(), plain], team="coder+tester", candidates=2,
                                  edit_format="merge")
    (root / "pkg" / "calc.py").write_text("def double(x):\n    raise NotImplementedError\n")  # the user's stub
    events = run(session, REQUEST)

    assert len(model.asked[2]) == 1 and "`pkg/calc.py`" in model.asked[2][0]["content"]  # asked plainly
    (plain_request,) = [e for e in events if isinstance(e, ModelRequest) and e.plain]
    assert plain_request.candidate == 1 and "asking plainly" in (describe_event(plain_request) or "")
    assert ended(events).tests.endswith("passed") and "return 2 * x" in (root / "pkg" / "calc.py").read_text()
    checks = list(replay_exact(session.transcript.path, tmp_path / "replayed"))
    assert checks and all(c.ok for c in checks), [c.problems for c in checks]


def test_a_first_reply_that_changes_nothing_is_judged_by_the_requests_own_checks(root: Path) -> None:
    # textkit's export turn: the model resent slug.py as it was, three times, and the turn ended with no
    # edit and nothing exported. The request's own import, as a check, fails and says why.
    request = "Export double from the package itself, so that `from pkg import double` works."
    calc = "def double(x):\n    return 2 * x\n"
    export = "pkg/__init__.py\n```python\nfrom .calc import double\n```\n"
    session, model = make_session(root, [whole({"pkg/calc.py": calc}), export], candidates=1, max_repairs=1,
                                  edit_format="merge")
    (root / "pkg" / "calc.py").write_text(calc)
    session.workspace.repo.git.add(A=True)
    session.workspace.repo.index.commit("the user's double")

    events = run(session, request)

    tried = [e for e in events if isinstance(e, CandidateTried)]
    assert [t.candidate for t in tried] == [0, 1] and tried[0].failed == ["tests/test_turn1_examples.py::test_request_states_pkg_double"]
    assert next(e for e in events if isinstance(e, CandidateChosen)).candidate == 1
    assert ended(events).outcome == "committed" and ended(events).tests.endswith("passed")
    assert "from .calc import double" in (root / "pkg" / "__init__.py").read_text()
