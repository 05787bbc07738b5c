"""The turn pipeline end to end: scripted model, real git, real pytest."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import git
from helpers import ADD_REPLY, ADD_SRC, ADD_TEST, kinds, make_session, run, whole

from chatpkg.core.cancel import CancelToken
from chatpkg.core.engine.events import (
    EditsRejected,
    ErrorOccurred,
    Notice,
    RepairRound,
    TestsRun,
    TurnEnded,
)
from chatpkg.core.engine.render import describe_event
from chatpkg.core.engine.settings import Settings
from chatpkg.core.engine.store import open_session
from chatpkg.core.engine.transcript import read_transcript
from chatpkg.core.models import Message, Model, ModelError, ScriptedModel, Usage
from chatpkg.core.prompts.context import EXAMPLE_CODE, EXAMPLE_NAME
from chatpkg.core.prompts.context import EXAMPLE_PATH
from chatpkg.core.runner import TestReport

MUL_SRC = ADD_SRC + "\n\ndef mul(a, b):\n    return a * b\n"
MUL_TEST = ADD_TEST + "\n\ndef test_mul():\n    from pkg.calc import mul\n\n    assert mul(2, 3) == 6\n"


def log(root: Path) -> list[str]:
    return [c.summary for c in git.Repo(root).iter_commits()]


def ended(events: list) -> TurnEnded:  # type: ignore[type-arg]
    return next(e for e in events if isinstance(e, TurnEnded))


def test_new_workspace_is_a_tested_package(root: Path) -> None:
    session, _ = make_session(root, [])
    assert (root / "pkg" / "__init__.py").is_file()
    assert (root / "pyproject.toml").is_file()
    assert log(root) == ["chatpkg: new package pkg"]
    assert ".chatpkg/" in (root / ".git" / "info" / "exclude").read_text()
    assert session.runner.run(root).summary() == "1 passed"


def test_multi_turn_session_commits_each_turn_and_records_it(root: Path) -> None:
    session, model = make_session(root, [ADD_REPLY, whole({"pkg/calc.py": MUL_SRC, "tests/test_calc.py": MUL_TEST})])

    first = run(session, "Add a function add(a, b). Test it.")
    second = run(session, "Add mul(a, b) too.")

    assert kinds(first) == ["turn", "request", "reply", "edits_pending", "edits", "tests_started", "tests", "commit",
                            "turn_end"]
    assert ended(first).tests == "2 passed" and ended(second).tests == "3 passed"
    assert log(root) == ["turn 2: Add mul(a, b) too.", "turn 1: Add a function add(a, b). Test it.", "chatpkg: new package pkg"]
    message = git.Repo(root).head.commit.message
    assert f"Chatpkg-Session: {session.session_id}\nChatpkg-Turn: 2" in message
    assert (root / "pkg" / "calc.py").read_text() == MUL_SRC
    # The second request carries the first turn as compact history and the current files.
    (system, second_request) = model.asked[1]
    assert system["role"] == "system" and second_request["role"] == "user"
    assert "- turn 1: Add a function add(a, b). Test it. (edited pkg/calc.py, tests/test_calc.py; tests: 2 passed)" in (
        second_request["content"]
    )
    assert "def add(a, b)" in second_request["content"]
    stored = [e.kind for e in read_transcript(session.transcript.path).events]
    assert stored.count("commit") == 2 and "delta" not in stored


def test_failing_tests_are_repaired_within_the_budget(root: Path) -> None:
    broken = whole({"pkg/calc.py": "def add(a, b):\n    return a - b\n", "tests/test_calc.py": ADD_TEST})
    fixed = whole({"pkg/calc.py": ADD_SRC})
    session, model = make_session(root, [broken, fixed])

    events = run(session, "Add add(a, b) with a test.")

    reports = [TestReport.from_dict(e.report) for e in events if isinstance(e, TestsRun)]
    assert [r.ok for r in reports] == [False, True]
    repair = next(e for e in events if isinstance(e, RepairRound))
    assert (repair.cause, repair.used, repair.budget) == ("tests", 1, 2)
    repair_prompt = model.asked[1][-1]["content"]
    assert "tests/test_calc.py::test_add" in repair_prompt and "return a - b" in repair_prompt
    end = ended(events)
    assert (end.outcome, end.test_repairs, end.rounds, end.tests) == ("committed", 1, 2, "2 passed")
    assert len(log(root)) == 2  # one commit for the whole turn


def test_a_turn_still_failing_after_the_budget_is_committed_red(root: Path) -> None:
    broken = whole({"pkg/calc.py": "def add(a, b):\n    return 0\n", "tests/test_calc.py": ADD_TEST})
    session, model = make_session(root, [broken, broken, broken], max_repairs=1)

    events = run(session, "Add add(a, b).")

    end = ended(events)
    assert (end.outcome, end.test_repairs, end.tests) == ("committed", 1, "1 failed, 1 passed")
    # the repair resent the same code: asked once more, sampling; the same again ends the repairs
    assert len(model.asked) == 3
    notices = [e.message for e in events if isinstance(e, Notice)]
    assert any("asking again with sampling" in n for n in notices) and "same reply again" in notices[-1]
    assert "Tests: 1 failed, 1 passed" in git.Repo(root).head.commit.message


def test_malformed_reply_goes_back_to_the_model_with_the_reason(root: Path) -> None:
    session, model = make_session(root, ["I would write a function that adds.", ADD_REPLY])

    events = run(session, "Add add(a, b).")

    rejected = next(e for e in events if isinstance(e, EditsRejected))
    assert rejected.round == 0
    assert rejected.reason in model.asked[1][-1]["content"]
    end = ended(events)
    assert (end.outcome, end.format_repairs, end.test_repairs) == ("committed", 1, 0)


def test_replies_that_never_parse_end_the_turn_without_a_commit(root: Path) -> None:
    session, model = make_session(root, ["no code", "still none", "nope"], max_format_repairs=2)

    end = ended(run(session, "Add add(a, b)."))

    assert (end.outcome, end.format_repairs, end.commit) == ("no_edits", 2, None)
    assert len(model.asked) == 3
    assert log(root) == ["chatpkg: new package pkg"]


def test_search_that_does_not_match_is_reported_exactly(root: Path) -> None:
    bad = "pkg/__init__.py\n```python\n<<<<<<< SEARCH\nimport missing\n=======\nimport os\n>>>>>>> REPLACE\n```\n"
    session, model = make_session(root, [bad, ADD_REPLY])

    events = run(session, "Change the package.")

    reason = next(e for e in events if isinstance(e, EditsRejected)).reason
    assert "pkg/__init__.py" in reason and "import missing" in reason
    assert ended(events).outcome == "committed"


def test_hostile_paths_are_refused_and_nothing_is_written(root: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.py"
    make_session(root, [])
    (root / "escape").symlink_to(tmp_path, target_is_directory=True)
    git.Repo(root).git.add("escape")
    git.Repo(root).index.commit("a symlink out")
    hostile = [
        whole({str(outside): "x = 1\n"}),
        whole({"../outside.py": "x = 1\n"}),
        whole({".git/hooks/pre-commit": "rm -rf /\n"}),
        whole({"escape/outside.py": "x = 1\n"}),
    ]
    for reply in hostile:
        session, _ = make_session(root, [reply], max_format_repairs=0)
        events = run(session, "Write a file.")
        assert isinstance(next(e for e in events if e.kind == "edits_rejected"), EditsRejected)
        assert ended(events).outcome == "no_edits"
    assert not outside.exists()
    assert not (root / ".git" / "hooks" / "pre-commit").exists()
    assert git.Repo(root).head.commit.summary == "a symlink out"


def test_a_hanging_test_fails_alone_and_the_turn_ends(root: Path) -> None:
    hang = whole({"tests/test_hang.py": "import time\n\n\ndef test_hang():\n    time.sleep(120)\n"})
    session, _ = make_session(root, [hang], max_repairs=0, test_timeout=9)  # a test may take 3 s (loaded CI)

    events = run(session, "Add a slow test.")

    report = TestReport.from_dict(next(e for e in events if isinstance(e, TestsRun)).report)
    assert not report.timed_out and report.seconds < 20
    assert [f.test_id for f in report.failures if f.hung] == ["tests/test_hang.py::test_hang"]
    end = ended(events)
    assert end.outcome == "committed" and end.tests == "1 failed, 1 passed"  # the scaffold's test still ran


class CancellingModel(Model):
    """Streams a few chunks, then the user presses Ctrl-C."""

    name = "cancelling"
    context_window = 8192

    def stream(self, messages: list[Message], cancel: CancelToken | None = None) -> Iterator[str | Usage]:
        yield "pkg/calc.py\n```python\n"
        assert cancel is not None
        cancel.cancel()
        yield "def add(a, b):\n"
        yield "    return a + b\n```\n"
        yield Usage(1, 1)


def test_cancel_mid_stream_commits_nothing_and_says_so(root: Path) -> None:
    session, _ = open_session(root, CancellingModel(), resume=False)
    head = session.workspace.head().sha

    events = run(session, "Add add(a, b).")

    assert ended(events).outcome == "cancelled"
    assert session.workspace.head().sha == head and not session.workspace.is_dirty()
    stored = read_transcript(session.transcript.path).events
    assert [e.kind for e in stored][-1] == "turn_end" and stored[-1].outcome == "cancelled"  # type: ignore[attr-defined]


class DownModel(Model):
    name = "down"
    context_window = 8192

    def stream(self, messages: list[Message], cancel: CancelToken | None = None) -> Iterator[str | Usage]:
        raise ModelError("provider/x: the provider kept failing (503) after 4 attempts")
        yield ""  # pragma: no cover


def test_provider_outage_ends_the_turn_with_a_clear_error_and_no_commit(root: Path) -> None:
    session, _ = open_session(root, DownModel(), resume=False)

    events = run(session, "Add add(a, b).")

    error = next(e for e in events if isinstance(e, ErrorOccurred))
    assert "kept failing" in error.message and error.error == "model"
    assert ended(events).outcome == "error"
    assert log(root) == ["chatpkg: new package pkg"]


class ExplodingRunner:
    def run(self, root: Path, cancel: CancelToken | None = None) -> TestReport:
        raise RuntimeError("disk on fire")


def test_a_crash_mid_turn_rolls_the_workspace_back(root: Path) -> None:
    model = ScriptedModel([ADD_REPLY])
    session, _ = open_session(root, model, runner=ExplodingRunner(), resume=False)

    events = run(session, "Add add(a, b).")

    error = next(e for e in events if isinstance(e, ErrorOccurred))
    assert error.error == "RuntimeError" and "disk on fire" in error.message
    assert not (root / "pkg" / "calc.py").exists() and not session.workspace.is_dirty()
    assert read_transcript(session.transcript.path).events[-1].kind == "turn_end"


def test_a_modules_import_of_itself_is_left_out_and_the_user_is_told(root: Path) -> None:
    circular = "from pkg.calc import add\n\n\n" + ADD_SRC
    session, _ = make_session(root, [whole({"pkg/calc.py": circular, "tests/test_calc.py": ADD_TEST})])

    events = run(session, "Add add(a, b) to pkg/calc.py, with a test.")

    assert (root / "pkg/calc.py").read_text() == ADD_SRC and ended(events).tests == "2 passed"
    told = [e.message for e in events if isinstance(e, Notice)]
    assert "Left out `from pkg.calc import add` in pkg/calc.py: the file defines those names itself, so the " \
           "import was circular." in told


def test_a_reply_that_changes_nothing_commits_nothing(root: Path) -> None:
    same = whole({"pkg/__init__.py": '"""pkg."""\n'})
    session, _ = make_session(root, [same], max_format_repairs=0)

    end = ended(run(session, "Touch the package."))

    assert end.outcome == "no_edits" and log(root) == ["chatpkg: new package pkg"]


def test_a_reply_that_changes_nothing_is_sent_back_and_a_repeat_is_asked_again_sampling(root: Path) -> None:
    same = whole({"pkg/__init__.py": '"""pkg."""\n'})
    sampled: list[tuple[float, int]] = []
    session, model = make_session(root, [same, same, ADD_REPLY])
    model.with_sampling = lambda t, seed: sampled.append((t, seed)) or model  # type: ignore[method-assign]

    events = run(session, "Add add(a, b).")

    assert "changed nothing" in model.asked[1][-1]["content"]
    repair = next(e for e in events if isinstance(e, RepairRound))
    assert repair.cause == "unchanged" and describe_event(repair).strip() == "repair 1/2: the reply changed nothing"
    notice = next(e for e in events if isinstance(e, Notice))
    assert "asking again with sampling (temperature 0.8)" in notice.message
    assert sampled == [(0.8, 2)]  # greedy decoding would only have sent the same reply a third time
    assert len(model.asked) == 3 and ended(events).outcome == "committed"


def test_a_no_op_reply_repaired_with_the_change_is_committed(root: Path) -> None:
    same = whole({"pkg/__init__.py": '"""pkg."""\n'})
    session, model = make_session(root, [same, ADD_REPLY])

    end = ended(run(session, "Add add(a, b)."))

    assert end.outcome == "committed" and end.format_repairs == 1 and (root / "pkg" / "calc.py").exists()


def test_history_drops_oldest_turns_first_when_over_budget(root: Path) -> None:
    long_request = "Add add(a, b). " + "Please be careful. " * 150
    replies = [ADD_REPLY, whole({"pkg/calc.py": MUL_SRC, "tests/test_calc.py": MUL_TEST}), ADD_REPLY]
    session, model = make_session(root, replies, context_budget=1050)
    run(session, long_request)
    run(session, "Add mul(a, b).")
    request = next(e for e in run(session, "Go back to add only.") if e.kind == "request")

    assert request.dropped_history == 1  # type: ignore[attr-defined]
    content = model.asked[2][-1]["content"]
    assert "Please be careful." not in content and "- turn 2: Add mul(a, b)." in content
    assert request.prompt_tokens <= 1050  # type: ignore[attr-defined]


def test_commit_subject_is_at_most_72_characters(root: Path) -> None:
    session, _ = make_session(root, [ADD_REPLY])
    run(session, "Add a function add(a, b) that returns the sum of both numbers, and test it well please.")
    subject = git.Repo(root).head.commit.summary
    assert len(subject) <= 72 and subject.startswith("turn 1: Add a function add(a, b)")


def test_settings_are_recorded_in_the_header(root: Path) -> None:
    session, _ = make_session(root, [], max_repairs=5)
    header = read_transcript(session.transcript.path).header
    assert Settings.from_dict(header.settings).max_repairs == 5
    assert header.model == "scripted"


def test_a_session_with_a_program_runs_it_after_the_tests(root: Path) -> None:
    reply = whole({"main.py": "print(6 * 7)\n"})
    session, model = make_session(root, [reply, whole({"main.py": "print(6 * 7)\nprint(1)\n"})], program="main.py")

    run(session, "Print 6 times 7.")
    run(session, "Also print 1.")

    assert "printed:\n42" in model.asked[1][-1]["content"]


def test_the_program_hints_example_line_is_not_copied_into_the_program(root: Path) -> None:
    reply = f"main.py\n```python\nx = 2\n{EXAMPLE_CODE}\nprint(x)\n```\n"
    session, _ = make_session(root, [reply, reply.replace("x = 2\n", "")], program="main.py", edit_format="merge")

    run(session, "Set x to 2 and print it.")
    assert (root / "main.py").read_text() == "x = 2\nprint(x)\n"

    run(session, f"Store the word in `{EXAMPLE_NAME}` and print x.")
    assert EXAMPLE_CODE in (root / "main.py").read_text()


def test_tokens_counts_what_the_next_turn_sends_also_in_a_program_session(root: Path) -> None:
    from chatpkg.core.engine.commands import Commands
    from chatpkg.core.prompts.context import build_context

    session, model = make_session(root, [ADD_REPLY], program="main.py", edit_format="merge")
    text = "Add add(a, b)."
    expected = session.next_context(text).messages
    before = session.next_context().prompt_tokens
    no_program = build_context("", session.workspace.text_files(), [], last_tests=None, edit_format="merge",
                               budget=session.budget).prompt_tokens

    shown = Commands(session, lambda name: model).run("/tokens").text
    run(session, text)

    assert f"about {before} tokens" in shown and before > no_program  # the program hint is counted
    assert model.asked[0] == expected  # the turn sent exactly what next_context built


def test_a_block_without_a_path_goes_to_the_one_file_that_defines_its_names(root: Path) -> None:
    # The embedded model, given a short system prompt, sent its HumanEval answers as a bare
    # ```python block; a block that restates a function of exactly one file can only mean that file.
    fixed = "Here it is:\n```python\ndef add(a, b):\n    return int(a) + int(b)\n```\n"
    new_name = "```python\ndef mul(a, b):\n    return a * b\n```\n"
    session, model = make_session(root, [ADD_REPLY, fixed, new_name], edit_format="merge", max_repairs=0)
    run(session, "Add add(a, b) in pkg/calc.py with a test.")

    events = run(session, "Make add accept numeric strings.")

    assert (root / "pkg/calc.py").read_text() == "def add(a, b):\n    return int(a) + int(b)\n"
    assert [e.outcome for e in events if e.kind == "turn_end"] == ["committed"]
    events = run(session, "Add mul(a, b).")  # a new name has no home: the model is asked for the path
    rejected = [e.reason for e in events if e.kind == "edits_rejected"]
    assert rejected and "without a file path" in rejected[0]
    assert "def mul" not in (root / "pkg/calc.py").read_text()


def test_code_sent_to_the_format_examples_file_goes_to_the_file_that_defines_it(root: Path) -> None:
    # A HumanEval candidate sampled at temperature 0.8 wrote its answer under the system prompt's
    # example path; the file it created scored nothing and stayed behind as an empty folder.
    copied = f"{EXAMPLE_PATH}\n```python\ndef add(a, b):\n    return int(a) + int(b)\n```\n"
    new_name = f"{EXAMPLE_PATH}\n```python\ndef mul(a, b):\n    return a * b\n```\n"
    session, model = make_session(root, [ADD_REPLY, copied, new_name], edit_format="merge", max_repairs=0)
    run(session, "Add add(a, b) in pkg/calc.py with a test.")

    events = run(session, "Make add accept numeric strings.")

    assert (root / "pkg/calc.py").read_text() == "def add(a, b):\n    return int(a) + int(b)\n"
    assert not (root / EXAMPLE_PATH).parent.exists()
    assert [e.outcome for e in events if e.kind == "turn_end"] == ["committed"]
    events = run(session, "Add mul(a, b).")  # no file defines mul: the model is told the path is the example's
    rejected = [e.reason for e in events if e.kind == "edits_rejected"]
    assert rejected and "example in the instructions" in rejected[0]
    assert not (root / EXAMPLE_PATH).exists()


def test_the_format_examples_path_stands_when_the_request_names_it(root: Path) -> None:
    shapes = f"{EXAMPLE_PATH}\n```python\ndef add(a, b):\n    return a + b\n```\n"
    session, model = make_session(root, [ADD_REPLY, shapes], edit_format="merge", max_repairs=0)
    run(session, "Add add(a, b) in pkg/calc.py with a test.")

    run(session, f"Copy add into {EXAMPLE_PATH}.")

    assert (root / EXAMPLE_PATH).read_text() == "def add(a, b):\n    return a + b\n"
