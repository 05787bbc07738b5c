"""The typed events a session emits.

A turn is a stream of these. Front ends render them, the transcript stores the
persistent ones (one JSON object per line), and replay reads them back.
Each event is a frozen dataclass with a stable wire ``kind``; ``to_dict`` and
``event_from_dict`` are the only (de)serialisers.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

_EVENT_TYPES: dict[str, type[Event]] = {}

E = TypeVar("E", bound="type[Event]")


def _register(cls: E) -> E:
    _EVENT_TYPES[cls.kind] = cls
    return cls


@dataclass(frozen=True)
class Event:
    """Base of all events. ``persistent`` events go to the transcript."""

    kind: ClassVar[str] = "event"
    persistent: ClassVar[bool] = True

    def to_dict(self) -> dict[str, Any]:
        data = {"kind": self.kind}
        data.update(dataclasses.asdict(self))
        return data


def event_from_dict(data: dict[str, Any]) -> Event:
    """Build the event a transcript line describes; unknown fields are ignored."""
    kind = data.get("kind")
    cls = _EVENT_TYPES.get(str(kind))
    if cls is None:
        raise ValueError(f"unknown event kind {kind!r}")
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in names})


# --- workspace state -------------------------------------------------------


@_register
@dataclass(frozen=True)
class WorkspaceSnapshot(Event):
    """The workspace a session started from, so replay can rebuild it.

    ``files`` maps path -> text for every tracked text file, ``modes`` the
    modes other than 100644; ``complete`` is false when binary files or a
    tree too large to embed were left out (replay then cannot rebuild it).
    """

    kind: ClassVar[str] = "workspace"
    commit: str
    tree: str
    files: dict[str, str]
    modes: dict[str, str] = field(default_factory=dict)
    complete: bool = True


@_register
@dataclass(frozen=True)
class UserEditsCommitted(Event):
    """Changes the user made by hand, committed before a turn touched anything.

    ``files`` maps path -> new text, or None for a deleted file. ``redacted`` lists
    changed files that look like secrets: committed (the user tracks them) but their
    text is never copied here.
    """

    kind: ClassVar[str] = "user_edits"
    commit: str
    tree: str
    files: dict[str, str | None]
    redacted: list[str] = field(default_factory=list)


@_register
@dataclass(frozen=True)
class SessionResumed(Event):
    kind: ClassVar[str] = "resumed"
    head: str
    chatpkg_version: str
    model: str


@_register
@dataclass(frozen=True)
class SettingsChanged(Event):
    """The session's model or settings changed: ``changes`` maps a name to [old, new].

    ``why`` says what changed them (a flag given on resume, /model). A resumed session
    starts from its header's settings and model with every change applied in order.
    """

    kind: ClassVar[str] = "settings"
    changes: dict[str, list[Any]]
    why: str = ""


# --- a turn ------------------------------------------------------------------


@_register
@dataclass(frozen=True)
class TurnStarted(Event):
    kind: ClassVar[str] = "turn"
    turn: int
    text: str
    parent: str


@_register
@dataclass(frozen=True)
class ModelRequest(Event):
    """A summary of what was sent: not the messages themselves."""

    kind: ClassVar[str] = "request"
    turn: int
    round: int
    model: str
    prompt_tokens: int
    budget: int
    messages: int
    dropped_history: int = 0
    role: str = "coder"  # who is asked: "coder", "tester", "analyst" or "rewriter" (engine/agreement.py)
    candidate: int = 0  # 0: the first (greedy) reply; 1..k: sampled candidates
    plain: bool = False  # asked plainly: the request and one file, no system prompt, greedy (team.py)


@dataclass(frozen=True)
class ModelDelta(Event):
    """A streamed piece of the reply; shown live, never stored."""

    kind: ClassVar[str] = "delta"
    persistent: ClassVar[bool] = False
    turn: int
    round: int
    text: str


@_register
@dataclass(frozen=True)
class ModelReply(Event):
    kind: ClassVar[str] = "reply"
    turn: int
    round: int
    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    cost: float | None = None
    role: str = "coder"
    candidate: int = 0


@_register
@dataclass(frozen=True)
class EditsApplied(Event):
    """``files`` maps each written path to its git blob id (None: deleted); ``created``: new files."""

    kind: ClassVar[str] = "edits"
    turn: int
    round: int
    files: dict[str, str | None]
    created: list[str] = field(default_factory=list)
    candidate: int = 0


@_register
@dataclass(frozen=True)
class EditsPending(Event):
    """The files a round is about to write, recorded first: a crash mid-write can be undone."""

    kind: ClassVar[str] = "edits_pending"
    turn: int
    round: int
    paths: list[str]


@_register
@dataclass(frozen=True)
class EditsRejected(Event):
    """The reply could not be applied; ``reason`` is what the model is told."""

    kind: ClassVar[str] = "edits_rejected"
    turn: int
    round: int
    reason: str


@dataclass(frozen=True)
class TestsStarted(Event):
    kind: ClassVar[str] = "tests_started"
    __test__: ClassVar[bool] = False
    persistent: ClassVar[bool] = False
    turn: int
    round: int


@_register
@dataclass(frozen=True)
class TestsRun(Event):
    """``report`` is ``TestReport.to_dict()``."""

    kind: ClassVar[str] = "tests"
    __test__: ClassVar[bool] = False
    turn: int
    round: int
    report: dict[str, Any]
    candidate: int = 0


@_register
@dataclass(frozen=True)
class ChecksWritten(Event):
    """The tester's checks for a turn: the file, the tests kept, and each rejected test with why.

    A rejected test (not valid Python, cannot fail, hangs) is never counted as evidence.
    """

    kind: ClassVar[str] = "checks"
    turn: int
    path: str
    tests: list[str]
    rejected: dict[str, str] = field(default_factory=dict)


@_register
@dataclass(frozen=True)
class CandidateTried(Event):
    """One coder reply tried against the turn's tests: which passed."""

    kind: ClassVar[str] = "candidate"
    turn: int
    candidate: int
    passed: list[str]
    failed: list[str]


@_register
@dataclass(frozen=True)
class CandidateChosen(Event):
    """The reply the turn goes on with: most tests passed, ties broken by agreement between candidates."""

    kind: ClassVar[str] = "chosen"
    turn: int
    candidate: int
    tried: int
    why: str


@_register
@dataclass(frozen=True)
class CheckChanged(Event):
    """A repair changed one of the assistant's own tests: never silent, named in the turn's outcome."""

    kind: ClassVar[str] = "check_changed"
    turn: int
    round: int
    path: str
    test: str
    change: str  # "expected values", "removed" or "skipped"
    reason: str = ""


@_register
@dataclass(frozen=True)
class BlameWeighed(Event):
    """A repair said one of the assistant's tests is wrong; what the other candidates' code says of it
    (``engine/verdict.py``): "test wrong", "test stands" or "no evidence"."""

    kind: ClassVar[str] = "blame"
    turn: int
    round: int
    test: str
    decision: str
    evidence: str


FORMAT_CAUSES = ("format", "unchanged", "no_tests")  # the repair causes counted against ``Settings.max_format_repairs``


@_register
@dataclass(frozen=True)
class RepairRound(Event):
    """Round ``round`` is a repair; ``cause`` is "tests", "format" (the reply could not be applied),
    "unchanged" (it applied, and changed nothing) or "no_tests" (the reply wrote none of the tests the request
    asks for); all but "tests" are counted with the format repairs."""

    kind: ClassVar[str] = "repair"
    turn: int
    round: int
    cause: str
    used: int
    budget: int


@_register
@dataclass(frozen=True)
class TurnCommitted(Event):
    kind: ClassVar[str] = "commit"
    turn: int
    commit: str
    tree: str
    message: str
    parent: str


@_register
@dataclass(frozen=True)
class TurnEnded(Event):
    """How the turn ended: committed, no_edits, cancelled, error, or interrupted (chatpkg stopped mid-turn)."""

    kind: ClassVar[str] = "turn_end"
    turn: int
    outcome: str
    rounds: int
    format_repairs: int
    test_repairs: int
    tests: str = ""
    commit: str | None = None
    files: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the user must know: tests changed, candidate chosen


@_register
@dataclass(frozen=True)
class ErrorOccurred(Event):
    kind: ClassVar[str] = "error"
    turn: int | None
    error: str
    message: str


# --- moving between turns ------------------------------------------------------


@_register
@dataclass(frozen=True)
class TurnUndone(Event):
    kind: ClassVar[str] = "undo"
    turn: int
    from_commit: str
    to_commit: str


@_register
@dataclass(frozen=True)
class TurnRedone(Event):
    kind: ClassVar[str] = "redo"
    turn: int
    from_commit: str
    to_commit: str


@dataclass(frozen=True)
class Notice(Event):
    """A line for the user that changes nothing (e.g. why undo refused)."""

    kind: ClassVar[str] = "notice"
    persistent: ClassVar[bool] = False
    message: str
