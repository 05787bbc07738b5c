"""A workspace's sessions at a glance, read from their transcripts, and what counts as a green turn.

``chatpkg sessions`` lists these summaries; the REPL uses ``turn_verdict`` for its
exit status. Reading never fails on one bad file: a transcript that cannot be
read is summarised with its problem, so a listing always shows every file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from chatpkg.core.engine.events import Event, TestsRun, TurnEnded, TurnStarted
from chatpkg.core.engine.store import list_sessions, recorded_model, resumable
from chatpkg.core.engine.transcript import TranscriptError, read_transcript
from chatpkg.core.runner import TestReport

GREEN = "green"  # committed, and the last test run passed
RED = "red"  # committed with failing tests


def turn_verdict(outcome: str, report: dict[str, Any] | None) -> str:
    """green, red, or the outcome itself (no_edits, cancelled, error, running) for a turn that committed nothing.

    A committed turn is green when its last test run passed (``TestReport.ok``:
    no tests collected counts as passing, as it does for the repair loop).
    """
    if outcome != "committed":
        return outcome
    return GREEN if report is not None and TestReport.from_dict(report).ok else RED


@dataclass(frozen=True)
class SessionSummary:
    """One transcript, as ``chatpkg sessions`` lists it."""

    session_id: str
    path: Path
    created: str | None  # from the header; None when the header cannot be read
    model: str | None  # the model the session used last (a /model switch is recorded)
    turns: int
    green: int
    last_activity: str  # the transcript's last write (every event is appended as it happens)
    resume: bool  # the session ``chatpkg`` would resume in this workspace
    problems: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "created": self.created,
            "model": self.model,
            "turns": self.turns,
            "green": self.green,
            "last_activity": self.last_activity,
            "transcript": str(self.path),
            "resume": self.resume,
            "problems": list(self.problems),
        }


def _tally(events: list[Event]) -> tuple[int, int]:
    """Turns started, and how many ended green; tolerant of events out of order (a torn file)."""
    outcomes: dict[int, str] = {}
    reports: dict[int, dict[str, Any]] = {}
    for event in events:
        if isinstance(event, TurnStarted):
            outcomes[event.turn] = "running"
        elif isinstance(event, TestsRun):
            reports[event.turn] = event.report
        elif isinstance(event, TurnEnded):
            outcomes[event.turn] = event.outcome
    green = sum(turn_verdict(outcome, reports.get(n)) == GREEN for n, outcome in outcomes.items())
    return len(outcomes), green


def _modified(path: Path) -> str:
    try:
        stamp = path.stat().st_mtime
    except OSError:
        return ""
    return datetime.fromtimestamp(stamp, timezone.utc).isoformat(timespec="seconds")


def summarize(path: Path, *, resume: bool = False) -> SessionSummary:
    """What one transcript holds; a file that cannot be read is described by its problem."""
    last = _modified(path)
    try:
        contents = read_transcript(path)
    except (OSError, TranscriptError, ValueError, TypeError) as exc:  # a file, not the listing, is broken
        return SessionSummary(path.stem, path, None, None, 0, 0, last, resume, (str(exc),))
    header = contents.header
    turns, green = _tally(contents.events)
    model = recorded_model(contents)
    return SessionSummary(
        header.session_id, path, header.created, model, turns, green, last, resume, tuple(contents.problems)
    )


def list_summaries(root: Path) -> list[SessionSummary]:
    """The workspace's sessions, last active last; ``resume`` marks the one ``open_session`` would resume."""
    chosen = resumable(root)
    chosen = chosen.resolve() if chosen else None
    return [summarize(path, resume=path.resolve() == chosen) for path in list_sessions(root)]
