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


async def test_the_side_views_take_a_diff_or_report_after_their_parts_are_gone() -> None:
    """A turn's diff can arrive while the app closes and removes the views' parts: never a crash."""
    from textual.app import App

    from chatpkg.tui.panels import DiffView, FilesView, TestsView

    diff, tests, files = DiffView(), TestsView(), FilesView()

    class Views(App[None]):
        def compose(self):  # type: ignore[no-untyped-def]
            yield from (diff, tests, files)

    async with Views().run_test():
        for view in (diff, tests, files):
            await view.remove_children()
        diff.show("turn 1", "diff --git a/x.py b/x.py\n+x = 1\n")
        tests.show("turn 1", {"passed": 2})
        files.show_file("x.py", "x = 1\n")
        files.show_tree(["x.py"], {"x.py"})

        assert "+x = 1" in str(diff.body.render()) and diff.border_title == "turn 1"
        assert "2 passed" in str(tests.body.render())
        assert files.file_scroll.border_title == "x.py"
