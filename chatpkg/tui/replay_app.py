"""``chatpkg replay FILE --tui``: step through a recorded session, turn by turn, for teaching.

A worker replays the transcript exactly (recorded replies, verified against the
recorded edits, tests and trees) into a scratch workspace and posts one page per
step; the teacher moves with n / p (or → / ←). Step k shows the chat up to step
k, and that step's diff and test report as they were.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Footer

from chatpkg.core.engine.replay import ReplayError, ReplayPage, replay_pages
from chatpkg.core.engine.transcript import TranscriptError
from chatpkg.tui.chat import ChatLog
from chatpkg.tui.messages import PageReady, ReplayFinished
from chatpkg.tui.panels import DiffView, SideTabs, TestsView, TurnRow, TurnsView
from chatpkg.tui.status import StatusLine
from chatpkg.tui.turn_view import TurnRenderer


def verdict(page: ReplayPage) -> str:
    if page.check.skipped:
        return "skipped"
    return "verified" if page.check.ok else "DIVERGED"


class ReplayApp(App[int]):
    CSS_PATH = "chatpkg.tcss"
    TITLE = "chatpkg replay"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    BINDINGS = [
        Binding("n,right", "next", "Next"),
        Binding("p,left", "previous", "Previous"),
        Binding("home", "first", "First", show=False),
        Binding("end", "last", "Last", show=False),
        Binding("ctrl+n", "next_tab", "Pane"),
        Binding("q,ctrl+q", "quit", "Quit"),
    ]

    def __init__(self, transcript: Path, workspace: Path | None = None) -> None:
        super().__init__()
        self.transcript = transcript
        self.workspace = workspace
        self.pages: list[ReplayPage] = []
        self.position = 0  # 0: before the first step
        self.finished = False
        self.error: str | None = None
        self.waiting = False  # "next" was pressed before the page was replayed
        self.chat = ChatLog(id="chat")
        self.renderer = TurnRenderer(self.chat)
        self.diff = DiffView(id="diff-view")
        self.tests = TestsView(id="tests-view")
        self.turns = TurnsView(id="turns-view")
        self.status = StatusLine(id="status")

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            yield self.chat
            yield SideTabs({"Diff": self.diff, "Tests": self.tests, "Turns": self.turns})
        yield self.status
        yield Footer()

    async def on_mount(self) -> None:
        self.update_status()
        await self.chat.add_notice(f"Replaying {self.transcript.name}. n / → next step, p / ← previous.")
        self.replay()

    @work(thread=True)
    def replay(self) -> None:
        with tempfile.TemporaryDirectory(prefix="chatpkg-replay-") as scratch:
            target = self.workspace or Path(scratch) / "workspace"
            try:
                for page in replay_pages(self.transcript, target):
                    self.post_message(PageReady(page))
            except (ReplayError, TranscriptError, OSError) as exc:
                self.post_message(ReplayFinished(str(exc)))
                return
        self.post_message(ReplayFinished())

    async def on_page_ready(self, message: PageReady) -> None:
        self.pages.append(message.page)
        self.turns.show_turns([self.row(p) for p in self.pages])
        if self.waiting:
            self.waiting = False
            await self.go(self.position + 1)
        self.update_status()

    def on_replay_finished(self, message: ReplayFinished) -> None:
        self.finished, self.error = True, message.error
        self.waiting = False
        if message.error:
            self.notify(message.error, title="cannot replay", severity="error", timeout=30)
        self.update_status()

    @staticmethod
    def row(page: ReplayPage) -> TurnRow:
        text = page.check.request if page.kind == "turn" else f"/{page.kind}"
        return TurnRow(page.step, page.commit, page.check.recorded, text, verdict(page))

    def update_status(self) -> None:
        total = f"{len(self.pages)}" + ("" if self.finished else "+")
        state = f"step {self.position}/{total}"
        if self.error:
            state += " · replay failed"
        elif any(not p.check.ok for p in self.pages):
            state += " · DIVERGED"
        elif self.finished:
            state += " · all verified"
        else:
            state += " · replaying"
        current = self.pages[self.position - 1] if self.position else None
        self.status.set(model=f"replay {self.transcript.name}", state=state,
                        turn=current.check.turn if current else 0,
                        tests=current.check.recorded if current and current.kind == "turn" else "-",
                        head=(current.commit or "") if current else "")

    # --- moving -----------------------------------------------------------------

    async def action_next(self) -> None:
        if self.position < len(self.pages):
            await self.go(self.position + 1)
        elif not self.finished:
            self.waiting = True
            self.notify("Replaying the next step ...", timeout=2)
        else:
            self.notify("That was the last step.", timeout=2)

    async def action_previous(self) -> None:
        if self.position > 0:
            await self.go(self.position - 1)

    async def action_first(self) -> None:
        await self.go(min(1, len(self.pages)))

    async def action_last(self) -> None:
        await self.go(len(self.pages))

    def action_next_tab(self) -> None:
        self.query_one(SideTabs).show_next()

    async def on_turns_view_turn_selected(self, message: TurnsView.TurnSelected) -> None:
        await self.go(message.number)
        self.query_one(SideTabs).active = "diff"

    async def go(self, position: int) -> None:
        """Show the chat up to step ``position`` and that step's diff and tests."""
        self.position = position
        await self.chat.clear_log()
        for page in self.pages[:position]:
            await self.show_step(page)
        current = self.pages[position - 1] if position else None
        if current is None:
            self.diff.show("before the first step", "")
            self.tests.show("before the first step", None)
        else:
            title = f"step {current.step}: turn {current.check.turn}"
            self.diff.show(title, current.diff)
            self.tests.show(title, current.report)
            self.turns.move_cursor(row=position - 1)
        self.update_status()

    async def show_step(self, page: ReplayPage) -> None:
        if page.kind != "turn":
            await self.chat.add_notice(f"/{page.kind} (turn {page.check.turn}): {verdict(page)}", classes="command")
            return
        problems = "; ".join(page.check.problems)
        line = f"turn {page.check.turn}: {page.check.recorded} · {verdict(page)}" + (f": {problems}" if problems else "")
        outcome = ("✓ " if page.check.ok else "✗ ") + line
        await self.renderer.recorded(page.check.request, list(page.replies), outcome, ok=page.check.ok)
