"""A session's state, folded from its events.

The same fold serves a live session and one resumed from its transcript, so
undo, redo and the model's history survive a restart by construction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chatpkg.core.runner.report import is_test_path
from chatpkg.core.engine.events import (
    ChecksWritten,
    EditsApplied,
    Event,
    TestsRun,
    TurnCommitted,
    TurnEnded,
    TurnRedone,
    TurnStarted,
    TurnUndone,
)
from chatpkg.core.prompts.context import HistoryItem


@dataclass
class TurnRecord:
    turn: int
    text: str
    parent: str
    commit: str | None = None
    outcome: str = "running"
    files: tuple[str, ...] = ()
    tests: str = ""
    report: dict[str, Any] | None = None


@dataclass
class SessionState:
    turns: dict[int, TurnRecord] = field(default_factory=dict)
    active: list[int] = field(default_factory=list)  # committed turns, oldest first, up to HEAD
    redo: list[int] = field(default_factory=list)  # undone turns, the next redo last
    assistant_tests: set[str] = field(default_factory=set)  # test files a turn created: the assistant's own

    @property
    def next_turn(self) -> int:
        return max(self.turns, default=0) + 1

    @property
    def current(self) -> TurnRecord | None:
        return self.turns[self.active[-1]] if self.active else None

    def apply(self, event: Event) -> None:
        if isinstance(event, TurnStarted):
            self.turns[event.turn] = TurnRecord(event.turn, event.text, event.parent)
        elif isinstance(event, TestsRun):
            self.turns[event.turn].report = event.report
        elif isinstance(event, EditsApplied):
            self.assistant_tests |= {p for p in event.created if is_test_path(p)}
        elif isinstance(event, ChecksWritten):
            self.assistant_tests.add(event.path)
        elif isinstance(event, TurnCommitted):
            self.turns[event.turn].commit = event.commit
            self.active.append(event.turn)
            self.redo.clear()
        elif isinstance(event, TurnEnded):
            record = self.turns[event.turn]
            record.outcome, record.files, record.tests = event.outcome, tuple(event.files), event.tests
        elif isinstance(event, TurnUndone):
            self.redo.append(self.active.pop())
        elif isinstance(event, TurnRedone):
            self.active.append(self.redo.pop())

    def mark(self, turn: int) -> str:
        """Where a turn stands: "*" in the workspace, "undone" (redo brings it back), or ""."""
        if turn in self.active:
            return "*"
        return "undone" if turn in self.redo else ""

    def rows(self) -> list[tuple[TurnRecord, str]]:
        """Every turn, oldest first, with its mark: what /history and the Turns pane list."""
        return [(self.turns[n], self.mark(n)) for n in sorted(self.turns)]

    def history(self) -> list[HistoryItem]:
        """The active turns as the model sees them; undone turns are not there."""
        return [
            HistoryItem(r.turn, r.text, r.files, r.tests)
            for r in (self.turns[n] for n in self.active)
        ]

    def steps(self) -> list[str]:
        """What the user asked on the workspace's current line, oldest first: the active turns' requests
        and those of turns on that line whose replies changed nothing (``no_edits``: the request stands;
        an undone turn's, or one started from a commit since undone, does not)."""
        base = self.turns[min(self.turns)].parent if self.turns else None  # HEAD before the first turn
        line = {self.turns[n].commit for n in self.active} | {base}
        return [record.text for n, record in sorted(self.turns.items())
                if n in self.active or record.outcome == "no_edits" and record.parent in line]

    def last_report(self) -> dict[str, Any] | None:
        current = self.current
        return current.report if current else None


def fold(events: list[Event]) -> SessionState:
    state = SessionState()
    for event in events:
        state.apply(event)
    return state
