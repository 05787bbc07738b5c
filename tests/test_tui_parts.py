"""The TUI's small parts: input history shared with the REPL, slash completion, the CLI's choice of front end."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from prompt_toolkit.history import FileHistory

from chatpkg.cli import main
from chatpkg.tui.history import InputHistory
from chatpkg.tui.prompt import completions


def test_input_history_is_prompt_toolkits_file_format(tmp_path: Path) -> None:
    path = tmp_path / "input-history"
    FileHistory(str(path)).store_string("from the repl")
    history = InputHistory(path)
    history.add("first line\nsecond line")

    assert list(FileHistory(str(path)).load_history_strings()) == ["first line\nsecond line", "from the repl"]
    assert InputHistory(path).entries == ["from the repl", "first line\nsecond line"]


def test_input_history_walks_back_and_returns_to_the_draft() -> None:
    history = InputHistory()
    history.add("one")
    history.add("two")

    assert history.previous("draft") == "two"
    assert history.previous("two") == "one"
    assert history.previous("one") is None
    assert history.next() == "two"
    assert history.next() == "draft"
    assert history.next() is None


def test_slash_completions() -> None:
    assert completions("/re") == ["/redo"]
    assert completions("/") == ["/undo", "/redo", "/diff", "/test", "/files", "/history", "/tokens", "/model",
                                "/team", "/help", "/quit"]
    assert completions("/undo") == [] and completions("undo") == [] and completions("/diff 2") == []


def test_chatpkg_without_a_terminal_opens_the_repl(tmp_path: Path) -> None:
    replies = tmp_path / "r.json"
    replies.write_text(json.dumps([]))

    result = CliRunner().invoke(main, ["--workspace", str(tmp_path / "pkg"), "--model", f"scripted:{replies}"],
                                input="/history\n/quit\n")

    assert result.exit_code == 0, result.output
    assert "/help for commands" in result.output and "no turns yet" in result.output


def test_replay_tui_does_not_take_a_model() -> None:
    example = Path(__file__).parent.parent / "sessions" / "example.jsonl"

    result = CliRunner().invoke(main, ["replay", str(example), "--tui", "--model", "x"])

    assert result.exit_code == 2 and "does not take --model" in result.output
