"""The chatpkg TUI: a second front end over the same session engine as the REPL.

Git, pytest and model work runs in thread workers that only post messages;
the handlers here update the widgets. The session is opened (and the model
prepared) in a worker too, so the first frame never waits for litellm.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Static

from chatpkg.core.cancel import CancelToken
from chatpkg.core.engine.commands import Commands
from chatpkg.core.engine.events import ErrorOccurred, ModelReply, ModelRequest, TestsRun, TestsStarted, TurnEnded
from chatpkg.core.engine.render import describe_event
from chatpkg.core.engine.session import Session
from chatpkg.core.models import Model
from chatpkg.core.runner import TestReport
from chatpkg.core.workspace.repository import NeedsConsent
from chatpkg.tui.chat import ChatLog
from chatpkg.tui.consent import ConsentScreen
from chatpkg.tui.history import InputHistory
from chatpkg.tui.messages import (
    CommandDone,
    ConsentNeeded,
    ModelPrepared,
    SessionFailed,
    SessionOpened,
    TurnDiff,
    TurnEvent,
    TurnFinished,
    WorkspaceRead,
)
from chatpkg.tui.palette import ChatpkgCommands
from chatpkg.tui.panels import DiffView, FilesView, SideTabs, TestsView, TurnRow, TurnsView
from chatpkg.tui.prompt import PromptInput
from chatpkg.tui.status import StatusLine
from chatpkg.tui.turn_view import TurnRenderer

SessionOpener = Callable[..., tuple[Session, list[str]]]  # called with init=True once the user agreed


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
        self.chat = ChatLog(id="chat")
        self.renderer = TurnRenderer(self.chat)
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
    def open_session(self, init: bool = False) -> None:
        try:
            session, problems = self.opener(init=True) if init else self.opener()
        except NeedsConsent as exc:
            self.post_message(ConsentNeeded(exc.plan))
            return
        except Exception as exc:  # shown as a notification; the app stays up
            self.post_message(SessionFailed(str(exc)))
            return
        # A plain daemon thread, not a worker: quitting must not wait for llama.cpp to load.
        self.preparing = True
        self.post_message(SessionOpened(session, problems))
        threading.Thread(target=self._prepare, args=(session.model,), name="chatpkg-prepare", daemon=True).start()

    def _prepare(self, model: Model) -> None:
        try:
            model.prepare()
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
        self.status.set(model=message.session.model.name, state="loading the model" if self.preparing else "ready",
                        budget=message.session.budget)
        confinement = message.session.confinement
        if confinement is not None and not confinement.active:
            self.status.set(sandboxed=False)
            self.notify(confinement.describe(), title="no sandbox", severity="warning", timeout=20)
        for record, mark in message.session.state.rows():
            await self.renderer.earlier(record, mark)
        session = message.session
        transcript = session.transcript.path.relative_to(session.workspace.root)
        await self.chat.add_notice(
            f"chatpkg on {session.workspace.root.name} with {session.model.name}. "
            "Enter sends, Ctrl+J adds a line, /help lists commands, Ctrl+P opens the palette.\n"
            f"Session {session.session_id}, recorded in {transcript} (chatpkg replay that file to replay it)."
        )
        self.refresh_workspace()
        self.show_turn(message.session.position)

    def on_consent_needed(self, message: ConsentNeeded) -> None:
        self.status.set(state="waiting for your answer")

        def answered(yes: bool | None) -> None:
            if yes:
                self.status.set(state="opening the session")
                self.open_session(init=True)
            else:
                self.exit(0)

        self.push_screen(ConsentScreen(message.plan), answered)

    def on_session_failed(self, message: SessionFailed) -> None:
        self.status.set(state="no session")
        self.notify(message.error, title="cannot open the session", severity="error", timeout=30)

    def on_model_prepared(self, message: ModelPrepared) -> None:
        if self.session is not None and not message.error:
            model = self.session.model  # prepared: its window is known without waiting
            self.status.set(window=f"{model.context_window / 1000:.1f}k ({model.context_window_source})",
                            budget=self.session.budget)
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
        await self.renderer.request(text)
        self.cancel_token = CancelToken()
        self.status.set(state="asking the model")
        self.run_turn(text, self.cancel_token)

    async def slash(self, line: str) -> None:
        """Every slash command goes through the session's Commands; the result picks the pane."""
        if line.split(maxsplit=1)[0] == "/test":
            self.status.set(state="running the tests")
        self.run_command(line.strip())

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
        await self.renderer.event(event)
        if isinstance(event, ModelRequest):
            state = "asking the model" + (f" (repair round {event.round})" if event.round else "")
            self.status.set(state=state, tokens=event.prompt_tokens, budget=event.budget)
        elif isinstance(event, ModelReply) and event.cost is not None:
            self.cost = (self.cost or 0.0) + event.cost
            self.status.set(cost=self.cost)
        elif isinstance(event, TestsStarted):
            self.status.set(state="running the tests")
        elif isinstance(event, TestsRun):
            self.tests.show(f"turn {event.turn}, round {event.round}", event.report)
            self.status.set(tests=TestReport.from_dict(event.report).summary())
        elif isinstance(event, ErrorOccurred):
            self.notify(event.message or event.error, title=f"error ({event.error})", severity="error", timeout=15)
        elif isinstance(event, TurnEnded):
            if event.outcome == "committed":
                self.show_turn(event.turn)
            if event.outcome != "committed" or not self.renderer.tests_ok:  # not green: the exit status says so
                self.failed_turns += 1

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
            self.run_command("/undo")

    def action_redo(self) -> None:
        if self._idle():
            self.run_command("/redo")

    def action_run_tests(self) -> None:
        if self._idle():
            self.status.set(state="running the tests")
            self.run_command("/test")

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

    # --- workers for commands, git and pytest ------------------------------------------

    @work(thread=True, group="git")
    def run_command(self, line: str) -> None:
        assert self.commands is not None
        self.post_message(CommandDone(line, self.commands.run(line)))

    async def on_command_done(self, message: CommandDone) -> None:
        result = message.result
        if result.quit:
            await self.action_quit()
        elif result.pane == "diff":
            self.action_show_tab("diff")
            self.show_turn(result.turn if result.turn is not None else self._position())
        elif result.pane == "tests" and result.report is not None:
            self.tests.show("run now", result.report)
            self.status.set(state="ready", tests=TestReport.from_dict(result.report).summary())
            self.action_show_tab("tests")
        elif result.pane == "files":
            self.action_show_tab("files")
        elif result.event is not None:  # undo, redo: said the way the chat says events
            await self.chat.add_notice((describe_event(result.event) or result.text).strip(), classes="command")
        else:
            if not result.moved:
                await self.chat.add_user(message.line)
            await self.chat.add_notice(result.text.strip(), classes="command")
        if result.moved:
            self.refresh_workspace()
            self.show_turn(self._position())

    @work(thread=True, exclusive=True, group="refresh")
    def refresh_workspace(self) -> None:
        session = self.session
        assert session is not None
        ws = session.workspace
        rows = [TurnRow(r.turn, r.commit, r.tests or r.outcome, r.text, mark) for r, mark in session.state.rows()]
        self.post_message(
            WorkspaceRead(sorted(ws.text_files()), set(ws.changed_paths()), rows, ws.head().sha, session.position)
        )

    def on_workspace_read(self, message: WorkspaceRead) -> None:
        try:
            self.files.show_tree(message.files, message.changed)
        except NoMatches:
            return  # the app is closing: a refresh that comes late has no tree left to show
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
