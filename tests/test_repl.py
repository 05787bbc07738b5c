"""The REPL driven as a person or a script would: piped input, whole output, stored transcript."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

from click.testing import CliRunner
from helpers import ADD_REPLY, make_session, whole
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from chatpkg.cli import main
from chatpkg.core.engine.transcript import read_transcript
from chatpkg.core.models import resolve_model
from chatpkg.repl import PromptReader, Repl, SlashCompleter

BROKEN = whole({"pkg/calc.py": "def add(a, b):\n    return a - b\n", "tests/test_calc.py": (
    "from pkg.calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n")}, prose="Done.")
FIXED = whole({"pkg/calc.py": "def add(a, b):\n    return a + b\n"}, prose="Fixed the sign.")


def normalise(text: str) -> str:
    return re.sub(r"\b[0-9a-f]{7}\b", "<sha>", text)


def test_piped_script_drives_a_whole_session(root: Path, tmp_path: Path) -> None:
    replies = tmp_path / "replies.json"
    replies.write_text(json.dumps([BROKEN, FIXED]))
    script = "Add add(a, b) with a test.\n/history\n/undo\n/redo\n/nope\n/quit\n"

    result = CliRunner().invoke(main, ["repl", "-w", str(root), "--model", f"scripted:{replies}"], input=script)

    assert result.exit_code == 0, result.output
    (path,) = (root / ".chatpkg" / "sessions").glob("*.jsonl")
    assert normalise(result.output) == normalise(
        f"chatpkg on {root} with scripted:{replies}; session {path.stem}; "
        f"transcript .chatpkg/sessions/{path.name}; /help for commands\n"
        "> Add add(a, b) with a test.\n"
        f"{BROKEN}\n"
        "  edited: pkg/calc.py, tests/test_calc.py\n"
        "  tests: 1 failed, 1 passed\n"
        "  repair 1/2: the tests fail\n"
        f"{FIXED}\n"
        "  edited: pkg/calc.py\n"
        "  tests: 2 passed  (after 1 repair round)\n"
        "  committed <sha>  turn 1\n"
        "> /history\n"
        "    1 <sha> *      Add add(a, b) with a test.  (2 passed)\n"
        "  at turn 1; * = in the workspace\n"
        "> /undo\n"
        "  back at turn 0 (<sha> kept for /redo)\n"
        "> /redo\n"
        "  forward to turn 1 (<sha>)\n"
        "> /nope\n"
        "  unknown command /nope; /help lists them\n"
        "> /quit\n"
        "  bye\n"
    )
    kinds = [e.kind for e in read_transcript(path).events]
    assert kinds == [
        "workspace", "turn", "request", "reply", "edits_pending", "edits", "tests", "repair", "request", "reply",
        "edits_pending", "edits", "tests", "commit", "turn_end", "undo", "redo",
    ]


def test_a_backslash_continues_a_message_on_the_next_line(root: Path, tmp_path: Path) -> None:
    replies = tmp_path / "r.json"
    replies.write_text(json.dumps([ADD_REPLY]))
    script = "Add add(a, b).\\\nAnd test it.\n"
    result = CliRunner().invoke(main, ["repl", "-w", str(root), "-m", f"scripted:{replies}"], input=script)
    assert "> Add add(a, b).\n. And test it.\n" in result.output
    (path,) = (root / ".chatpkg" / "sessions").glob("*.jsonl")
    assert read_transcript(path).events[1].text == "Add add(a, b).\nAnd test it."  # type: ignore[attr-defined]


def test_a_failed_turn_makes_the_script_exit_non_zero(root: Path, tmp_path: Path) -> None:
    replies = tmp_path / "none.json"
    replies.write_text("[]")
    result = CliRunner().invoke(main, ["repl", "-w", str(root), "-m", f"scripted:{replies}"], input="Add add.\n")
    assert result.exit_code == 1
    assert "has no more replies" in result.output and "turn failed: nothing committed" in result.output


def test_without_any_model_the_repl_says_how_to_choose_one(root: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("chatpkg.cli.options.default_model_spec", lambda *args: None)
    result = CliRunner().invoke(main, ["repl", "-w", str(root)], input="Add add.\n")
    assert result.exit_code == 1
    assert "error: no model configured: start chatpkg with --model" in result.output


def test_prompt_toolkit_input_sends_on_enter(root: Path) -> None:
    session, model = make_session(root, [ADD_REPLY])
    out = io.StringIO()
    with create_pipe_input() as pipe:
        pipe.send_text("Add add(a, b).\r")
        pipe.send_text("/history\r")
        pipe.send_text("/quit\r")
        reader = PromptReader(input=pipe, output=DummyOutput())
        code = Repl(session, reader=reader, out=out, resolve_model=resolve_model).run()

    assert code == 0
    text = normalise(out.getvalue())
    assert "  edited: pkg/calc.py, tests/test_calc.py\n  tests: 2 passed\n  committed <sha>  turn 1\n" in text
    assert "    1 <sha> *      Add add(a, b).  (2 passed)\n" in text
    assert text.endswith("  bye\n")
    assert model.asked[0][-1]["content"].endswith("# Request\n\nAdd add(a, b).")


def test_escape_enter_inserts_a_newline(root: Path) -> None:
    session, _ = make_session(root, [ADD_REPLY])
    with create_pipe_input() as pipe:
        pipe.send_text("first line\x1b\rsecond line\r")
        reader = PromptReader(input=pipe, output=DummyOutput())
        assert reader.read() == "first line\nsecond line"


def test_input_history_persists(root: Path, tmp_path: Path) -> None:
    history = tmp_path / "history"
    with create_pipe_input() as pipe:
        pipe.send_text("/help\r")
        PromptReader(history, input=pipe, output=DummyOutput()).read()
    with create_pipe_input() as pipe:
        pipe.send_text("\x1b[A\r")  # Up arrow recalls the last message
        assert PromptReader(history, input=pipe, output=DummyOutput()).read() == "/help"


def test_slash_commands_complete() -> None:
    completions = SlashCompleter().get_completions(Document("/h"), CompleteEvent())
    assert sorted(c.text for c in completions) == ["/help", "/history"]
    assert list(SlashCompleter().get_completions(Document("add /h"), CompleteEvent())) == []


def test_ctrl_c_on_a_terminal_is_read_as_a_key_during_a_turn() -> None:
    import os
    import termios

    from chatpkg.repl import CtrlCKey

    master, slave = os.openpty()
    with os.fdopen(slave, "r") as terminal:
        before = termios.tcgetattr(slave)[3]
        with CtrlCKey(terminal) as keys:
            assert not termios.tcgetattr(slave)[3] & termios.ISIG  # no SIGINT to git children
            assert not keys.pressed()
            os.write(master, b"ab\x03")
            assert keys.pressed()
        assert termios.tcgetattr(slave)[3] == before
    os.close(master)


def test_with_a_program_the_repl_shows_what_it_printed_and_records_the_setting(root: Path, tmp_path: Path) -> None:
    replies = tmp_path / "r.json"
    replies.write_text(json.dumps([whole({"main.py": "print(6 * 7)\n"}), whole({"main.py": "print('done')\n"})]))
    args = ["repl", "-w", str(root), "-m", f"scripted:{replies}", "--program", "main.py", "--edit-format", "merge"]

    result = CliRunner().invoke(main, args, input="Print 6 times 7.\nThen print done.\n")

    assert result.exit_code == 0, result.output
    assert re.search(r"tests: \d passed\n  main.py printed:\n    42\n  committed", result.output)
    assert "main.py printed:\n    42\n    done\n" in result.output
    (path,) = (root / ".chatpkg" / "sessions").glob("*.jsonl")
    assert read_transcript(path).header.settings["program"] == "main.py"


def test_a_program_outside_the_workspace_is_refused(root: Path) -> None:
    result = CliRunner().invoke(main, ["repl", "-w", str(root), "--program", "../evil.py"], input="")
    assert result.exit_code == 2 and "inside the workspace" in result.output


def test_events_jsonl_prints_every_event_as_a_json_line_and_nothing_else(root: Path, tmp_path: Path) -> None:
    replies = tmp_path / "replies.json"
    replies.write_text(json.dumps([BROKEN, FIXED]))
    args = ["repl", "-w", str(root), "-m", f"scripted:{replies}", "--events", "jsonl"]

    result = CliRunner().invoke(main, args, input="Add add(a, b) with a test.\n/history\n/undo\n/quit\n")

    assert result.exit_code == 0, result.output
    objects = [json.loads(line) for line in result.stdout.splitlines()]  # every line is JSON
    kinds = [o["kind"] for o in objects]
    assert kinds == [
        "session", "turn", "request", "reply", "edits_pending", "edits", "tests_started", "tests", "repair",
        "request", "reply", "edits_pending", "edits", "tests_started", "tests", "commit", "turn_end", "command",
        "command", "command", "exit",
    ]  # no "delta": each "reply" holds the whole text
    (path,) = (root / ".chatpkg" / "sessions").glob("*.jsonl")
    assert objects[0] == {"kind": "session", "session_id": path.stem, "workspace": str(root),
                          "model": f"scripted:{replies}", "transcript": str(path)}
    assert objects[3]["text"] == BROKEN and objects[7]["report"]["failed"] == 1
    history, undo, quit_ = objects[17:20]
    assert history["command"] == "/history" and "Add add(a, b) with a test." in history["text"]
    assert undo["event"]["kind"] == "undo" and quit_ == {"kind": "command", "command": "/quit", "text": "bye"}
    assert objects[-1] == {"kind": "exit", "code": 0, "turns": 1, "green": 1, "verdicts": ["green"]}
    stored = [e.to_dict() for e in read_transcript(path).events if e.kind in ("turn", "reply", "commit")]
    assert stored == [o for o in objects if o["kind"] in ("turn", "reply", "commit")]  # the same objects


def test_events_jsonl_ends_with_the_exit_status_of_a_red_run(root: Path, tmp_path: Path) -> None:
    replies = tmp_path / "replies.json"
    replies.write_text(json.dumps([BROKEN]))
    args = ["repl", "-w", str(root), "-m", f"scripted:{replies}", "--events", "jsonl", "--max-repairs", "0"]

    result = CliRunner().invoke(main, args, input="Add add(a, b) with a test.\n")

    assert result.exit_code == 1
    last = json.loads(result.stdout.splitlines()[-1])
    assert last == {"kind": "exit", "code": 1, "turns": 1, "green": 0, "verdicts": ["red"]}
