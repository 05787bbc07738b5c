"""The chatpkg TUI: a second front end over the same session engine as the REPL.

Git, pytest and model work runs in thread workers that only post messages;
the handlers here update the widgets. The session is opened (and the model
prepared) in a worker too, so the first frame never waits for litellm.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Footer, Static

from chatpkg.core.cancel import CancelToken
from chatpkg.core.commands import Commands
from chatpkg.core.events import (
    EditsApplied,
    EditsRejected,
    ErrorOccurred,
    Event,
    ModelDelta,
    ModelReply,
    ModelRequest,
    Notice,
    RepairRound,
    TestsRun,
    TestsStarted,
    TurnEnded,
    TurnRedone,
    TurnUndone,
)
from chatpkg.core.models import Model
from chatpkg.core.render import describe_event
from chatpkg.core.session import Session
from chatpkg.core.testrun import TestReport
from chatpkg.tui.chat import ChatLog
from chatpkg.tui.history import InputHistory
from chatpkg.tui.palette import ChatpkgCommands
from chatpkg.tui.panels import DiffView, FilesView, SideTabs, TestsView, TurnRow, TurnsView
from chatpkg.tui.prompt import PromptInput
from chatpkg.tui.status import StatusLine

SessionOpener = Callable[[], tuple[Session, list[str]]]


# --- messages the workers post --------------------------------------------------


@dataclass
class SessionOpened(Message):
    session: Session
    problems: list[str]


@dataclass
class SessionFailed(Message):
    error: str


@dataclass
class ModelPrepared(Message):
    error: str | None


@dataclass
class TurnEvent(Message):
    event: Event


@dataclass
class TurnFinished(Message):
    pass


@dataclass
class CommandDone(Message):
    text: str
    moved: bool = False  # the workspace moved (undo/redo): refresh the panes


@dataclass
class TestsDone(Message):
    __test__ = False
    report: dict[str, Any]


@dataclass
class WorkspaceRead(Message):
    files: list[str]
    changed: set[str]
    rows: list[TurnRow]
    head: str
    turn: int


@dataclass
class TurnDiff(Message):
    number: int
    diff: str
    report: dict[str, Any] | None


class ChatpkgApp(App[int]):
    """Chat on the left; Diff, Tests, Files and Turns on the right; status line and keys below."""

    CSS_PATH = "chatpkg.tcss"
    TITLE = "chatpkg"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    COMMANDS = App.COMMANDS | {ChatpkgCommands}
    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+b", "undo", "Undo turn"),  # Ctrl+Z/Ctrl+Y undo typing in the input
        Binding("ctrl+f", "redo", "Redo turn"),
        Binding("ctrl+t", "run_tests", "Tests"),
        Binding("ctrl+n", "next_tab", "Pane"),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    def __init__(
        self,
        opener: SessionOpener,
        *,
        model_name: str,
        resolve_model: Callable[[str], Model],
        history: Path | None = None,
    ) -> None:
        super().__init__()
        self.opener = opener
        self.resolve_model = resolve_model
        self.session: Session | None = None
        self.commands: Commands | None = None
        self.cancel_token: CancelToken | None = None
        self.quit_after_turn = False
        self.cost: float | None = None
        self.failed_turns = 0
        self.preparing = False  # the model is still loading in a worker thread
        self.tests_ok = True  # the turn's last test run passed
        self.chat = ChatLog(id="chat")
        self.prompt = PromptInput(InputHistory(history), id="prompt")
        self.completions = Static("", id="completions", markup=False)
        self.diff = DiffView(id="diff-view")
        self.tests = TestsView(id="tests-view")
        self.files = FilesView(id="files-view")
        self.turns = TurnsView(id="turns-view")
        self.status = StatusLine(id="status")
        self.status.set(model=model_name)

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield self.chat
                yield self.completions
                yield self.prompt
            yield SideTabs({"Diff": self.diff, "Tests": self.tests, "Files": self.files, "Turns": self.turns})
        yield self.status
        yield Footer()

    def on_mount(self) -> None:
        self.prompt.focus()
        self.open_session()

    @property
    def turn_running(self) -> bool:
        return self.cancel_token is not None

    # --- opening ----------------------------------------------------------------

    @work(thread=True, group="open")
    def open_session(self) -> None:
        try:
            session, problems = self.opener()
        except Exception as exc:  # shown as a notification; the app stays up
            self.post_message(SessionFailed(str(exc)))
            return
        self.post_message(SessionOpened(session, problems))
        prepare = getattr(session.model, "prepare", None)
        if prepare is not None:
            # A plain daemon thread, not a worker: quitting must not wait for llama.cpp to load.
            self.preparing = True
            threading.Thread(target=self._prepare, args=(prepare,), name="chatpkg-prepare", daemon=True).start()

    def _prepare(self, prepare: Callable[[], None]) -> None:
        try:
            prepare()
        except Exception as exc:
            self.post_message(ModelPrepared(str(exc)))
            return
        finally:
            self.preparing = False
        self.post_message(ModelPrepared(None))

    async def on_session_opened(self, message: SessionOpened) -> None:
        self.session = message.session
        self.sub_title = str(message.session.workspace.root)
        self.commands = Commands(message.session, self.resolve_model)
        for problem in message.problems:
            self.notify(problem, title="transcript", severity="warning")
        preparing = hasattr(message.session.model, "prepare")
        self.status.set(model=message.session.model.name, state="loading the model" if preparing else "ready",
                        budget=message.session.budget)
        await self.show_earlier_turns(message.session)
        await self.chat.add_notice(
            f"chatpkg on {message.session.workspace.root.name} with {message.session.model.name}. "
            "Enter sends, Ctrl+J adds a line, /help lists commands, Ctrl+P opens the palette."
        )
        self.refresh_workspace()
        self.show_turn(message.session.position)

    async def show_earlier_turns(self, session: Session) -> None:
        """A resumed session shows its turns: each request and how it ended."""
        state = session.state
        for number, record in sorted(state.turns.items()):
            await self.chat.add_user(record.text)
            where = "" if number in state.active else (" (undone)" if number in state.redo else " (not in the workspace)")
            commit = f" {record.commit[:7]}" if record.commit else ""
            await self.chat.add_outcome(f"turn {number}: {record.outcome}{commit} · {record.tests or '-'}{where}",
                                        ok=record.outcome == "committed" and number in state.active)

    def on_session_failed(self, message: SessionFailed) -> None:
        self.status.set(state="no session")
        self.notify(message.error, title="cannot open the session", severity="error", timeout=30)

    def on_model_prepared(self, message: ModelPrepared) -> None:
        if message.error:
            self.notify(message.error, title="model", severity="error", timeout=30)
            self.status.set(state="model failed to load")
        elif not self.turn_running:
            self.status.set(state="ready")

    # --- input ------------------------------------------------------------------

    def on_prompt_input_completions_changed(self, message: PromptInput.CompletionsChanged) -> None:
        self.completions.update("  ".join(message.matches) + ("   (Tab completes)" if message.matches else ""))
        self.completions.display = bool(message.matches)

    async def on_prompt_input_submitted(self, message: PromptInput.Submitted) -> None:
        text = message.text
        if self.session is None:
            self.notify("The session is still opening.", severity="warning")
            self.prompt.load_text(text)
            return
        if self.turn_running:
            self.notify("A turn is running: Esc cancels it.", severity="warning")
            self.prompt.load_text(text)
            return
        if text.startswith("/"):
            await self.slash(text)
            return
        await self.chat.add_user(text)
        self.tests_ok = True
        self.cancel_token = CancelToken()
        self.status.set(state="asking the model")
        self.run_turn(text, self.cancel_token)

    async def slash(self, line: str) -> None:
        name, _, arg = line.partition(" ")
        actions = {"/undo": self.action_undo, "/redo": self.action_redo, "/test": self.action_run_tests}
        if name in actions:
            actions[name]()
        elif name == "/quit":
            await self.action_quit()
        elif name == "/diff":
            self.action_show_tab("diff")
            self.show_turn(int(arg) if arg.strip().isdigit() else self._position())
        elif name == "/files":
            self.action_show_tab("files")
        else:
            await self.chat.add_user(line)
            self.run_command(line)

    # --- the turn ----------------------------------------------------------------

    @work(thread=True, group="turn")
    def run_turn(self, text: str, cancel: CancelToken) -> None:
        assert self.session is not None
        try:
            for event in self.session.run_turn(text, cancel):
                self.post_message(TurnEvent(event))
        except Exception as exc:  # the engine reports its own errors; this is a last resort
            self.post_message(TurnEvent(ErrorOccurred(None, type(exc).__name__, str(exc))))
        finally:
            self.post_message(TurnFinished())

    async def on_turn_event(self, message: TurnEvent) -> None:
        event = message.event
        if isinstance(event, ModelDelta):
            await self.chat.stream_reply(event.text)
        elif isinstance(event, ModelRequest):
            state = "asking the model" + (f" (repair round {event.round})" if event.round else "")
            self.status.set(state=state, tokens=event.prompt_tokens, budget=event.budget)
        elif isinstance(event, ModelReply):
            await self.chat.end_reply()
            if event.cost is not None:
                self.cost = (self.cost or 0.0) + event.cost
                self.status.set(cost=self.cost)
        elif isinstance(event, TestsStarted):
            self.status.set(state="running the tests")
        elif isinstance(event, TestsRun):
            self.tests.show(f"turn {event.turn}, round {event.round}", event.report)
            report = TestReport.from_dict(event.report)
            self.tests_ok = report.ok
            self.status.set(tests=report.summary())
        elif isinstance(event, (EditsApplied, EditsRejected, RepairRound, Notice)):
            await self.chat.add_notice(describe_event(event) or "", classes="step")
        elif isinstance(event, ErrorOccurred):
            await self.chat.add_notice(f"error: {event.message.splitlines()[0] if event.message else event.error}",
                                       classes="error")
            self.notify(event.message or event.error, title=f"error ({event.error})", severity="error", timeout=15)
        elif isinstance(event, TurnEnded):
            await self.turn_ended(event)

    async def turn_ended(self, event: TurnEnded) -> None:
        repairs = event.format_repairs + event.test_repairs
        if event.outcome == "committed":
            parts = [f"turn {event.turn} committed {str(event.commit)[:7]}"]
            if event.files:
                parts.append("edited " + ", ".join(sorted(event.files)))
            if event.tests:
                parts.append(f"tests: {event.tests}")
            if repairs:
                parts.append(f"{repairs} repair round{'s' if repairs > 1 else ''}")
            await self.chat.add_outcome(("✓ " if self.tests_ok else "! ") + " · ".join(parts), ok=self.tests_ok)
            self.show_turn(event.turn)
        else:
            if event.outcome == "error":
                self.failed_turns += 1
            await self.chat.add_outcome("✗ " + (describe_event(event) or event.outcome).strip(), ok=False)

    async def on_turn_finished(self, message: TurnFinished) -> None:
        await self.chat.end_reply()
        self.cancel_token = None
        self.status.set(state="ready")
        self.refresh_workspace()
        if self.quit_after_turn:
            self.exit(1 if self.failed_turns else 0)

    # --- actions (bindings, palette, slash commands) -------------------------------

    async def action_cancel(self) -> None:
        if self.cancel_token is not None and not self.cancel_token.cancelled:
            self.cancel_token.cancel()
            self.status.set(state="cancelling")
            await self.chat.add_notice("cancelling the turn ...", classes="step")

    def _idle(self) -> bool:
        if self.session is None:
            self.notify("The session is still opening.", severity="warning")
            return False
        if self.turn_running:
            self.notify("A turn is running: Esc cancels it first.", severity="warning")
            return False
        return True

    def action_undo(self) -> None:
        if self._idle():
            self.move("undo")

    def action_redo(self) -> None:
        if self._idle():
            self.move("redo")

    def action_run_tests(self) -> None:
        if self._idle():
            self.status.set(state="running the tests")
            self.run_tests()

    def action_next_tab(self) -> None:
        self.query_one(SideTabs).show_next()

    def action_show_tab(self, tab: str) -> None:
        self.query_one(SideTabs).active = tab

    async def action_slash(self, line: str) -> None:
        if self._idle():
            await self.slash(line)

    def action_save_svg(self) -> None:
        path = self.save_screenshot(path=".")
        self.notify(f"saved {path}", title="screenshot")

    async def action_quit(self) -> None:
        if self.cancel_token is not None:
            self.quit_after_turn = True
            await self.action_cancel()
            return
        self.exit(1 if self.failed_turns else 0)

    # --- workers for git and pytest -------------------------------------------------

    @work(thread=True, group="git")
    def move(self, direction: str) -> None:
        assert self.session is not None
        event = self.session.undo() if direction == "undo" else self.session.redo()
        moved = isinstance(event, (TurnUndone, TurnRedone))
        self.post_message(CommandDone(describe_event(event) or str(event), moved=moved))

    @work(thread=True, group="git")
    def run_command(self, line: str) -> None:
        assert self.commands is not None
        self.post_message(CommandDone(self.commands.run(line).text))

    @work(thread=True, group="tests")
    def run_tests(self) -> None:
        assert self.session is not None
        self.post_message(TestsDone(self.session.runner.run(self.session.workspace.root).to_dict()))

    async def on_command_done(self, message: CommandDone) -> None:
        await self.chat.add_notice(message.text.strip(), classes="command")
        if message.moved:
            self.refresh_workspace()
            self.show_turn(self._position())

    def on_tests_done(self, message: TestsDone) -> None:
        self.tests.show("run now", message.report)
        self.status.set(state="ready", tests=TestReport.from_dict(message.report).summary())
        self.action_show_tab("tests")

    @work(thread=True, exclusive=True, group="refresh")
    def refresh_workspace(self) -> None:
        session = self.session
        assert session is not None
        ws, state = session.workspace, session.state
        rows = [
            TurnRow(n, r.commit, r.tests or r.outcome, r.text,
                    "*" if n in state.active else ("undone" if n in state.redo else ""))
            for n, r in sorted(state.turns.items())
        ]
        self.post_message(
            WorkspaceRead(sorted(ws.text_files()), set(ws.changed_paths()), rows, ws.head().sha, session.position)
        )

    def on_workspace_read(self, message: WorkspaceRead) -> None:
        self.files.show_tree(message.files, message.changed)
        self.turns.show_turns(message.rows)
        self.status.set(head=message.head, turn=message.turn)

    def _position(self) -> int:
        return self.session.position if self.session else 0

    @work(thread=True, group="git")
    def show_turn(self, number: int) -> None:
        assert self.session is not None
        record = self.session.state.turns.get(number)
        if record is None or record.commit is None:
            self.post_message(TurnDiff(number, "", None))
            return
        diff = self.session.workspace.diff(record.parent, record.commit)
        self.post_message(TurnDiff(number, diff, record.report))

    def on_turn_diff(self, message: TurnDiff) -> None:
        title = f"turn {message.number}" if message.number else "no turn yet"
        self.diff.show(title, message.diff)
        if message.report is not None:
            self.tests.show(title, message.report)

    def on_turns_view_turn_selected(self, message: TurnsView.TurnSelected) -> None:
        self.show_turn(message.number)
        self.action_show_tab("diff")

    @work(thread=True, group="git")
    def read_file(self, path: str) -> None:
        assert self.session is not None
        try:
            text = (self.session.workspace.root / path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            text = f"cannot show {path}: {exc}"
        self.call_from_thread(self.files.show_file, path, text)

    def on_files_view_file_selected(self, message: FilesView.FileSelected) -> None:
        self.read_file(message.path)
