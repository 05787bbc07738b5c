"""The Textual TUI, driven with Textual's pilot and the scripted model.

Assertions are on messages and widget state; test_tui_snapshots.py pins the layout.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import ADD_REPLY, ADD_TEST, whole
from textual.message import Message
from textual.pilot import Pilot

from chatpkg.core.cancel import CancelToken
from chatpkg.core.engine.events import TurnEnded
from chatpkg.core.engine.settings import Settings
from chatpkg.core.engine.store import open_session
from chatpkg.core.engine.transcript import read_transcript
from chatpkg.core.models import Message as ChatMessage
from chatpkg.core.models import Model, ScriptedModel
from chatpkg.tui.app import ChatpkgApp
from chatpkg.tui.chat import AssistantMessage, NoticeLine, OutcomeLine, UserMessage
from chatpkg.tui.messages import CommandDone, TurnEvent
from chatpkg.tui.panels import SideTabs
from chatpkg.tui.replay_app import ReplayApp

EXAMPLE = Path(__file__).parent.parent / "sessions" / "example.jsonl"


class GatedModel(Model):
    """Streams its first chunk, then waits (checking for cancel) until released."""

    name = "gated"
    context_window = 32768

    def __init__(self, reply: str) -> None:
        self.reply = reply
        self.release = threading.Event()
        self.streaming = threading.Event()

    def stream(self, messages: list[ChatMessage], cancel: CancelToken | None = None) -> Iterator[str]:
        yield self.reply[:20]
        self.streaming.set()
        while not self.release.wait(0.02):
            if cancel is not None:
                cancel.raise_if_cancelled()
        yield self.reply[20:]


def make_app(root: Path, model: Model) -> tuple[ChatpkgApp, list[Message]]:
    app = ChatpkgApp(lambda: open_session(root, model, resume=False), model_name=model.name,
                     resolve_model=lambda spec: model, history=root.parent / "history")
    return app, []


async def until(pilot: Pilot[int], condition: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the app")
        await pilot.pause(0.05)


async def send(pilot: Pilot[int], app: ChatpkgApp, text: str) -> None:
    await until(pilot, lambda: app.session is not None)
    app.prompt.load_text(text)
    await pilot.press("enter")


def turn_ends(messages: list[Message]) -> list[TurnEnded]:
    return [m.event for m in messages if isinstance(m, TurnEvent) and isinstance(m.event, TurnEnded)]


async def test_a_turn_updates_chat_diff_tests_turns_and_status(root: Path) -> None:
    app, _ = make_app(root, ScriptedModel([ADD_REPLY]))
    seen: list[Message] = []
    async with app.run_test(size=(120, 36), message_hook=seen.append) as pilot:
        await send(pilot, app, "Add add(a, b) with a test")
        await until(pilot, lambda: turn_ends(seen) and not app.turn_running)
        await pilot.pause(0.3)

        kinds = [m.event.kind for m in seen if isinstance(m, TurnEvent)]
        assert kinds[0] == "turn" and "delta" in kinds and kinds[-1] == "turn_end"
        assert kinds.index("reply") < kinds.index("edits") < kinds.index("tests") < kinds.index("commit")
        chat = list(app.chat.children)
        assert [type(w) for w in chat if not isinstance(w, NoticeLine)] == [UserMessage, AssistantMessage, OutcomeLine]
        outcome = str(chat[-1].render())
        assert outcome.startswith("✓ turn 1 committed") and "tests: 2 passed" in outcome
        assert "+def add(a, b):" in app.diff.diff
        assert app.tests.report is not None and app.tests.report.passed == 2
        assert app.turns.row_count == 1
        assert app.status.status.tests == "2 passed" and app.status.status.turn == 1
        assert app.status.status.head == app.session.workspace.head().sha  # type: ignore[union-attr]
        assert app.status.status.tokens > 0


async def test_the_team_is_chosen_in_the_tui_and_the_tester_is_named(root: Path) -> None:
    checks = whole({"tests/test_turn1_checks.py": ADD_TEST.replace("test_add", "test_add_example")})
    app, _ = make_app(root, ScriptedModel([ADD_REPLY, checks]))
    seen: list[Message] = []
    async with app.run_test(size=(120, 36), message_hook=seen.append) as pilot:
        await send(pilot, app, "/team coder+tester")
        await until(pilot, lambda: app.session.settings.team == "coder+tester")  # type: ignore[union-attr]
        await send(pilot, app, "Add add(a, b) with a test")
        await until(pilot, lambda: turn_ends(seen) and not app.turn_running)
        await pilot.pause(0.2)

        notices = [str(w.render()) for w in app.chat.children if isinstance(w, NoticeLine)]
        assert any("team: coder+tester" in n for n in notices), notices
        assert any("tester: writing checks from the request" in n for n in notices), notices
        assert any("tester: 1 check(s) in tests/test_turn1_checks.py" in n for n in notices), notices
        assert turn_ends(seen)[0].outcome == "committed"
    assert (root / "tests" / "test_turn1_checks.py").is_file()


async def test_undo_and_redo_from_key_bindings(root: Path) -> None:
    app, _ = make_app(root, ScriptedModel([ADD_REPLY]))
    seen: list[Message] = []
    async with app.run_test(size=(120, 36), message_hook=seen.append) as pilot:
        await send(pilot, app, "Add add(a, b) with a test")
        await until(pilot, lambda: turn_ends(seen) and not app.turn_running)

        await pilot.press("ctrl+b")
        await until(pilot, lambda: app.session.position == 0)  # type: ignore[union-attr]
        assert not (root / "pkg" / "calc.py").exists()
        await until(pilot, lambda: app.turns.get_row_at(0)[2] == "undone")

        await pilot.press("ctrl+f")
        await until(pilot, lambda: app.session.position == 1)  # type: ignore[union-attr]
        assert (root / "pkg" / "calc.py").exists()
        notices = [str(w.render()) for w in app.chat.children if isinstance(w, NoticeLine)]
        assert any("undid turn 1" in n for n in notices) and any("redid turn 1" in n for n in notices)


async def test_escape_cancels_mid_stream_and_commits_nothing(root: Path) -> None:
    model = GatedModel(ADD_REPLY)
    app, _ = make_app(root, model)
    seen: list[Message] = []
    async with app.run_test(size=(120, 36), message_hook=seen.append) as pilot:
        await send(pilot, app, "Add add(a, b) with a test")
        await until(pilot, model.streaming.is_set)
        head = app.session.workspace.head().sha  # type: ignore[union-attr]

        await pilot.press("escape")
        await until(pilot, lambda: turn_ends(seen) and not app.turn_running)

        assert turn_ends(seen)[-1].outcome == "cancelled"
        assert app.session.workspace.head().sha == head  # type: ignore[union-attr]
        assert str(list(app.chat.children)[-1].render()) == "✗ cancelled: nothing committed"
        recorded = [e for e in read_transcript(app.session.transcript.path).events if e.kind == "turn_end"]  # type: ignore[union-attr]
        assert [e.outcome for e in recorded] == ["cancelled"]  # type: ignore[attr-defined]


async def test_the_command_palette_runs_chatpkg_commands(root: Path) -> None:
    app, _ = make_app(root, ScriptedModel([]))
    seen: list[Message] = []
    async with app.run_test(size=(120, 36), message_hook=seen.append) as pilot:
        await until(pilot, lambda: app.session is not None)
        await pilot.press("ctrl+p")
        await pilot.press(*"run tests")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await until(pilot, lambda: any(isinstance(m, CommandDone) and m.result.pane == "tests" for m in seen))
        await pilot.pause(0.1)

        assert app.query_one("#side").active == "tests"  # type: ignore[attr-defined]
        assert app.tests.report is not None and app.tests.report.passed == 1  # the scaffold's own test


async def test_the_command_palette_shows_the_model(root: Path) -> None:
    app, _ = make_app(root, ScriptedModel([]))
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: app.session is not None)
        await pilot.press("ctrl+p")
        await pilot.press(*"model")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await until(pilot, lambda: any("model: scripted" in str(w.render()) for w in app.chat.children))


async def test_slash_commands_complete_and_input_history_recalls(root: Path) -> None:
    app, _ = make_app(root, ScriptedModel([]))
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: app.session is not None)
        await pilot.press(*"/hi")
        await pilot.pause(0.1)
        assert "/history" in str(app.completions.render()) and app.completions.display
        await pilot.press("tab")
        assert app.prompt.text == "/history "

        await pilot.press("enter")
        await until(pilot, lambda: any("no turns yet" in str(w.render()) for w in app.chat.children))
        assert app.prompt.text == ""
        await pilot.press("up")
        assert app.prompt.text == "/history"
        await pilot.press("down")
        assert app.prompt.text == ""
    assert "+/history" in (root.parent / "history").read_text()


async def test_ctrl_j_inserts_a_newline_instead_of_sending(root: Path) -> None:
    app, _ = make_app(root, ScriptedModel([]))
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: app.session is not None)
        await pilot.press(*"first", "ctrl+j", *"second")
        assert app.prompt.text == "first\nsecond"


async def test_a_provider_error_is_a_notification_not_a_traceback(root: Path) -> None:
    app, _ = make_app(root, ScriptedModel([]))  # no replies: the model fails like a provider outage
    seen: list[Message] = []
    async with app.run_test(size=(120, 36), message_hook=seen.append) as pilot:
        await send(pilot, app, "Add add(a, b)")
        await until(pilot, lambda: turn_ends(seen) and not app.turn_running)

        assert turn_ends(seen)[-1].outcome == "error"
        assert any("has no more replies" in str(n.message) and n.severity == "error" for n in app._notifications)
        assert any("error:" in str(w.render()) for w in app.chat.children if isinstance(w, NoticeLine))
        assert app.is_running and app.prompt.has_focus


async def test_a_workspace_that_cannot_open_is_reported(tmp_path: Path) -> None:
    def fail() -> tuple[object, list[str]]:
        raise RuntimeError("not a directory: /nope")

    app = ChatpkgApp(fail, model_name="x", resolve_model=lambda spec: ScriptedModel([]))  # type: ignore[arg-type]
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.status.status.state == "no session")
        assert any("not a directory" in str(n.message) for n in app._notifications)


async def test_replay_steps_through_a_recorded_session() -> None:
    app = ReplayApp(EXAMPLE)
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: app.finished)
        assert [p.check.ok for p in app.pages] == [True] * 5
        assert app.turns.row_count == 5

        await pilot.press("n")
        assert app.position == 1 and "def slugify" in app.diff.diff
        assert app.tests.report is not None and app.tests.report.passed == 3
        await pilot.press("n", "n")
        assert app.position == 3
        assert sum(isinstance(w, UserMessage) for w in app.chat.children) == 3
        await pilot.press("p")
        assert app.position == 2
        assert sum(isinstance(w, UserMessage) for w in app.chat.children) == 2
        assert "step 2/5 · all verified" in app.status.status.state

        side = app.query_one(SideTabs)  # ctrl+n cycles the replay's three panes, then wraps
        seen = [side.active]
        for _ in range(3):
            await pilot.press("ctrl+n")
            seen.append(side.active)
        assert seen == ["diff", "tests", "turns", "diff"]


async def test_replay_of_a_broken_transcript_says_why(tmp_path: Path) -> None:
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"kind": "header", "version": 1}\n')
    app = ReplayApp(broken)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.finished)
        assert app.error and any("cannot replay" in str(n.title) for n in app._notifications)


@pytest.fixture(autouse=True)
def _quiet_git(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_TERMINAL_PROMPT", "0")


async def test_the_tests_tab_shows_what_the_program_printed(root: Path) -> None:
    model = ScriptedModel([whole({"main.py": "print('hello from main')\n"})])
    app = ChatpkgApp(lambda: open_session(root, model, settings=Settings(program="main.py"), resume=False),
                     model_name=model.name, resolve_model=lambda spec: model, history=root.parent / "history")
    seen: list[Message] = []
    async with app.run_test(size=(120, 36), message_hook=seen.append) as pilot:
        await send(pilot, app, "Print a greeting")
        await until(pilot, lambda: turn_ends(seen) and not app.turn_running)
        await pilot.pause(0.3)

        body = str(app.tests.query_one("#tests-body").render())
        assert "main.py printed:\nhello from main" in body


async def test_a_candidates_request_is_shown_and_a_plain_one_says_so(root: Path) -> None:
    wrong = whole({"pkg/calc.py": "def double(x):\n    return x + 2\n"})
    model = ScriptedModel([wrong, "```python\ndef double(x):\n    return 2 * x\n```"])
    settings = Settings(edit_format="merge", candidates=2)
    app = ChatpkgApp(lambda: open_session(root, model, settings=settings, resume=False), model_name=model.name,
                     resolve_model=lambda spec: model, history=root.parent / "history")
    seen: list[Message] = []
    async with app.run_test(size=(120, 36), message_hook=seen.append) as pilot:
        await until(pilot, lambda: app.session is not None)
        (root / "pkg" / "calc.py").write_text("def double(x):\n    raise NotImplementedError\n")
        await send(pilot, app, "Add double(x) in pkg/calc.py; for example, double(3) == 6.")
        await until(pilot, lambda: turn_ends(seen) and not app.turn_running)
        await pilot.pause(0.2)

        notices = [str(w.render()) for w in app.chat.children if isinstance(w, NoticeLine)]
        assert any("candidate 1: asking plainly" in n for n in notices), notices
        assert turn_ends(seen)[0].outcome == "committed"
    assert "return 2 * x" in (root / "pkg" / "calc.py").read_text()
