"""How a turn looks in the chat pane, wherever it comes from.

One renderer for the three ways a turn reaches the screen: live (its events as
the engine emits them), a resumed session's earlier turns (from the session
state), and a replay step (the recorded replies). Each shows the request, the
replies and repair rounds in between, and one outcome line.
"""

from __future__ import annotations

from chatpkg.core.engine.events import (
    BlameWeighed,
    CandidateChosen,
    CandidateTried,
    CheckChanged,
    ChecksWritten,
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
    TurnEnded,
)
from chatpkg.core.engine.render import describe_event
from chatpkg.core.engine.state import TurnRecord
from chatpkg.core.runner import TestReport
from chatpkg.tui.chat import ChatLog

WHERE = {"*": "", "undone": " (undone)", "": " (not in the workspace)"}


def committed_line(event: TurnEnded) -> str:
    """The outcome of a committed turn: commit, files, tests, repairs."""
    repairs = event.format_repairs + event.test_repairs
    parts = [f"turn {event.turn} committed {str(event.commit)[:7]}"]
    if event.files:
        parts.append("edited " + ", ".join(sorted(event.files)))
    if event.tests:
        parts.append(f"tests: {event.tests}")
    if repairs:
        parts.append(f"{repairs} repair round{'s' if repairs > 1 else ''}")
    return " · ".join(parts) + "".join(f"\n  {note}" for note in event.notes)


class TurnRenderer:
    """Draws turns into a ChatLog."""

    def __init__(self, chat: ChatLog) -> None:
        self.chat = chat
        self.tests_ok = True  # the live turn's last test run passed

    # --- a live turn, event by event ------------------------------------------------

    async def request(self, text: str) -> None:
        self.tests_ok = True
        await self.chat.add_user(text)

    async def event(self, event: Event) -> None:
        if isinstance(event, ModelDelta):
            await self.chat.stream_reply(event.text)
        elif isinstance(event, ModelReply):
            await self.chat.end_reply()
        elif isinstance(event, TestsRun):
            self.tests_ok = TestReport.from_dict(event.report).ok
        elif isinstance(event, ModelRequest) and (event.role != "coder" or event.candidate):
            await self.chat.add_notice(describe_event(event) or event.role, classes="step")
        elif isinstance(event, (EditsApplied, EditsRejected, RepairRound, Notice, ChecksWritten, CandidateTried,
                                CandidateChosen, CheckChanged, BlameWeighed)):
            await self.chat.add_notice(describe_event(event) or "", classes="step")
        elif isinstance(event, ErrorOccurred):
            first = event.message.splitlines()[0] if event.message else event.error
            await self.chat.add_notice(f"error: {first}", classes="error")
        elif isinstance(event, TurnEnded):
            await self.ended(event)

    async def ended(self, event: TurnEnded) -> None:
        if event.outcome == "committed":
            await self.chat.add_outcome(("✓ " if self.tests_ok else "! ") + committed_line(event), ok=self.tests_ok)
        else:
            await self.chat.add_outcome("✗ " + (describe_event(event) or event.outcome).strip(), ok=False)

    # --- a whole turn at once: resumed sessions and replay steps ------------------------

    async def recorded(self, request: str, replies: list[str], outcome: str, *, ok: bool) -> None:
        """The request, each reply (repair rounds marked between them) and the outcome line."""
        await self.chat.add_user(request)
        for round_number, reply in enumerate(replies):
            if round_number:
                await self.chat.add_notice(f"repair round {round_number}", classes="step")
            await self.chat.add_reply(reply)
        await self.chat.add_outcome(outcome, ok=ok)

    async def earlier(self, record: TurnRecord, mark: str) -> None:
        """A resumed session's turn: its request and how it ended (replies are in the transcript)."""
        commit = f" {record.commit[:7]}" if record.commit else ""
        line = f"turn {record.turn}: {record.outcome}{commit} · {record.tests or '-'}{WHERE[mark]}"
        await self.recorded(record.text, [], line, ok=record.outcome == "committed" and mark == "*")
