"""A turn cut short by a crash (``kill -9``, power loss) is finished on the next start.

The transcript is written ahead of every change: ``EditsPending`` names the
files a round is about to write before it writes them, and the user's own
hand edits were committed before the turn began. So at start-up a turn with
no ``turn_end`` is ended as ``interrupted`` and the files it wrote are put
back from its pre-turn commit, unless its commit was already made: then the
turn is complete but for its end, which is recorded. Either way the workspace
is at a turn commit or at the pre-turn state, and nothing of the user's is lost.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from chatpkg.core.engine.events import (
    FORMAT_CAUSES,
    EditsApplied,
    EditsPending,
    Event,
    Notice,
    RepairRound,
    TestsRun,
    TurnCommitted,
    TurnEnded,
    TurnStarted,
)
from chatpkg.core.runner import TestReport
from chatpkg.core.workspace import Workspace
from chatpkg.core.workspace.edits import write_leftovers


@dataclass
class Unfinished:
    """What the transcript says of a turn that never ended."""

    turn: int
    text: str
    parent: str
    files: set[str] = field(default_factory=set)
    commit: str | None = None
    rounds: int = 1
    format_repairs: int = 0
    test_repairs: int = 0
    tests: str = ""


def unfinished_turns(events: list[Event]) -> list[Unfinished]:
    """Turns with a ``turn`` event and no ``turn_end``, oldest first."""
    open_turns: dict[int, Unfinished] = {}
    for event in events:
        if isinstance(event, TurnStarted):
            open_turns[event.turn] = Unfinished(event.turn, event.text, event.parent)
            continue
        record = open_turns.get(getattr(event, "turn", -1))
        if record is None:
            continue
        if isinstance(event, TurnEnded):
            del open_turns[event.turn]
        elif isinstance(event, (EditsPending, EditsApplied)):
            record.files |= set(event.paths if isinstance(event, EditsPending) else event.files)
        elif isinstance(event, TurnCommitted):
            record.commit = event.commit
        elif isinstance(event, RepairRound):
            record.rounds = event.round + 1
            if event.cause in FORMAT_CAUSES:
                record.format_repairs += 1
            else:
                record.test_repairs += 1
        elif isinstance(event, TestsRun):
            record.tests = TestReport.from_dict(event.report).summary()
    return list(open_turns.values())


def recover(workspace: Workspace, session_id: str, events: list[Event]) -> Iterator[Event]:
    """The events that end every unfinished turn, after putting its files back (or keeping its commit)."""
    for record in unfinished_turns(events):
        yield from _end(workspace, session_id, record)


def _end(workspace: Workspace, session_id: str, record: Unfinished) -> Iterator[Event]:
    head = workspace.head()
    commit = record.commit or _own_commit(workspace, session_id, record, head.sha)
    if commit is not None:
        if record.commit is None:  # the commit was made, its event was not written
            workspace.set_ref(f"{session_id}/turn-{record.turn}", commit)
            yield TurnCommitted(record.turn, commit, workspace.tree_of(commit), _subject(workspace, commit),
                                record.parent)
        yield Notice(f"turn {record.turn} was interrupted after its commit {commit[:7]}: it is kept")
        yield _ended(record, "committed", commit)
        return
    for rel in record.files:  # a write cut short leaves its temporary file
        for leftover in write_leftovers(workspace.root / rel):
            leftover.unlink(missing_ok=True)
    if head.sha == record.parent and record.files:
        workspace.restore_paths(record.parent, sorted(record.files))
        put_back = ", ".join(sorted(record.files))
        yield Notice(f"turn {record.turn} was interrupted (chatpkg stopped mid-turn): put back {put_back}")
    else:
        yield Notice(f"turn {record.turn} was interrupted (chatpkg stopped mid-turn); nothing to put back")
    yield _ended(record, "interrupted", None)


def _own_commit(workspace: Workspace, session_id: str, record: Unfinished, head: str) -> str | None:
    """HEAD, when it is this turn's commit (its trailers say so) on top of the turn's parent."""
    if head == record.parent or workspace.parent_of(head) != record.parent:
        return None
    message = workspace.message_of(head)
    own = f"Chatpkg-Session: {session_id}" in message and f"Chatpkg-Turn: {record.turn}\n" in message + "\n"
    return head if own else None


def _subject(workspace: Workspace, commit: str) -> str:
    return workspace.message_of(commit).split("\n", 1)[0]


def _ended(record: Unfinished, outcome: str, commit: str | None) -> TurnEnded:
    files = sorted(record.files) if commit else []
    return TurnEnded(record.turn, outcome, record.rounds, record.format_repairs, record.test_repairs,
                     record.tests, commit, files)
