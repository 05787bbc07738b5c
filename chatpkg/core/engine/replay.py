"""Replaying a transcript: exactly (recorded replies, verified) or with another model.

Exact replay rebuilds the session's starting workspace from the transcript,
feeds each turn's recorded replies back through the real session engine, and
checks every turn against the record: the same edits, the same test outcomes,
the same tree. Re-synthesis sends the same user turns to another model and
lines the two outcomes up.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import git

from chatpkg.core.engine.events import (
    EditsApplied,
    Event,
    ModelReply,
    SettingsChanged,
    TestsRun,
    TurnCommitted,
    TurnEnded,
    TurnRedone,
    TurnStarted,
    TurnUndone,
    UserEditsCommitted,
    WorkspaceSnapshot,
)
from chatpkg.core.engine.session import Session
from chatpkg.core.engine.settings import Settings
from chatpkg.core.engine.store import default_runner, open_session
from chatpkg.core.engine.transcript import TranscriptContents, read_transcript
from chatpkg.core.models import Model, ScriptedModel
from chatpkg.core.runner import TestRunner


class ReplayError(Exception):
    """The transcript cannot be replayed at all (e.g. no workspace snapshot)."""


@dataclass
class TurnRecordSummary:
    """What one turn did, gathered from its events: what replay compares."""

    turn: int
    text: str
    replies: list[str] = field(default_factory=list)
    edits: list[dict[str, str | None]] = field(default_factory=list)
    tests: list[tuple[int, int, int, bool]] = field(default_factory=list)
    tree: str | None = None
    commit: str | None = None  # as recorded (a replay's own commits get new ids)
    outcome: str = "unfinished"
    rounds: int = 0
    summary: str = ""

    def add(self, event: Event) -> None:
        if isinstance(event, ModelReply):
            self.replies.append(event.text)
        elif isinstance(event, EditsApplied):
            self.edits.append(dict(event.files))
        elif isinstance(event, TestsRun):
            r = event.report
            self.tests.append((r.get("passed", 0), r.get("failed", 0), r.get("errors", 0), r.get("timed_out", False)))
        elif isinstance(event, TurnCommitted):
            self.tree, self.commit = event.tree, event.commit
        elif isinstance(event, TurnEnded):
            self.outcome, self.rounds = event.outcome, event.rounds
            self.summary = describe(event)

    @property
    def replayable(self) -> bool:
        return self.outcome in ("committed", "no_edits")


def describe(end: TurnEnded) -> str:
    repairs = end.format_repairs + end.test_repairs
    parts = [end.outcome]
    if end.tests:
        parts.append(end.tests)
    if repairs:
        parts.append(f"{repairs} repair{'s' if repairs > 1 else ''}")
    return ", ".join(parts)


@dataclass(frozen=True)
class Step:
    """One thing the user did: a turn, hand edits, an undo or a redo."""

    kind: str
    event: Event | None = None
    turn: TurnRecordSummary | None = None
    settings: dict[str, Any] = field(default_factory=dict)  # settings changed since the start (SettingsChanged)


def steps_of(events: list[Event]) -> list[Step]:
    steps: list[Step] = []
    turns: dict[int, TurnRecordSummary] = {}
    changed: dict[str, Any] = {}
    for event in events:
        if isinstance(event, SettingsChanged):
            changed.update({k: new for k, (_, new) in event.changes.items() if k != "model"})
        elif isinstance(event, TurnStarted):
            turns[event.turn] = TurnRecordSummary(event.turn, event.text)
            steps.append(Step("turn", turn=turns[event.turn], settings=dict(changed)))
        elif isinstance(event, (UserEditsCommitted, TurnUndone, TurnRedone)):
            steps.append(Step(event.kind, event=event))
        elif (number := getattr(event, "turn", None)) in turns:
            turns[number].add(event)
    return steps


def rebuild_workspace(snapshot: WorkspaceSnapshot, target: Path) -> None:
    """Write the session's starting files into an empty ``target`` and commit them."""
    if not snapshot.complete:
        raise ReplayError(
            "the transcript's workspace snapshot is incomplete: binary, large or secret-looking files "
            "(.env, keys) are never stored in a transcript"
        )
    target.mkdir(parents=True, exist_ok=True)
    if any(target.iterdir()):
        raise ReplayError(f"{target} is not empty: replay needs a fresh directory")
    repo = git.Repo.init(target)
    for rel, text in snapshot.files.items():
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        if rel in snapshot.modes and int(snapshot.modes[rel], 8) & 0o111:
            os.chmod(path, 0o755)
    repo.git.add(A=True)
    repo.git.add(*[p for p in snapshot.files], force=True)  # files the record tracked despite .gitignore
    repo.git.commit("-q", "--no-verify", "-m", "chatpkg replay: starting workspace", env=_ident_env())
    tree = repo.head.commit.tree.hexsha
    if tree != snapshot.tree:
        raise ReplayError(f"rebuilt workspace tree {tree[:10]} differs from recorded {snapshot.tree[:10]}")


def _ident_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()}
    for who in ("AUTHOR", "COMMITTER"):
        env.setdefault(f"GIT_{who}_NAME", "chatpkg")
        env.setdefault(f"GIT_{who}_EMAIL", "chatpkg@localhost")
    return env


@dataclass(frozen=True)
class TurnCheck:
    """One row of a replay: the recorded turn and how it went this time."""

    turn: int
    request: str
    recorded: str
    replayed: str
    problems: tuple[str, ...] = ()
    skipped: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems


def compare(recorded: TurnRecordSummary, replayed: TurnRecordSummary) -> tuple[str, ...]:
    """What differs between two runs of a turn, first difference first."""
    problems: list[str] = []
    for index, (old, new) in enumerate(zip(recorded.edits, replayed.edits)):
        if old != new:
            changed = sorted(p for p in set(old) | set(new) if old.get(p) != new.get(p))
            problems.append(f"round {index}: edits differ in {', '.join(changed)}")
    if len(recorded.edits) != len(replayed.edits):
        problems.append(f"{len(replayed.edits)} rounds applied edits, recorded {len(recorded.edits)}")
    if recorded.tests != replayed.tests:
        problems.append(f"test outcomes differ: recorded {recorded.tests}, now {replayed.tests}")
    if recorded.outcome != replayed.outcome:
        problems.append(f"outcome {replayed.outcome}, recorded {recorded.outcome}")
    if recorded.tree != replayed.tree:
        problems.append(f"tree {str(replayed.tree)[:10]}, recorded {str(recorded.tree)[:10]}")
    return tuple(problems)


class Replayer:
    """Drives a fresh session through a recorded one, step by step."""

    def __init__(self, contents: TranscriptContents, target: Path, model: Model, runner: TestRunner | None) -> None:
        snapshots = [e for e in contents.events if isinstance(e, WorkspaceSnapshot)]
        if not snapshots:
            raise ReplayError("the transcript has no workspace snapshot to start from")
        rebuild_workspace(snapshots[0], target)
        self.settings = Settings.from_dict(contents.header.settings)
        self.own_runner = runner is None
        self.session: Session
        self.session, _ = open_session(target, model, settings=self.settings, runner=runner, resume=False)
        self.steps = steps_of(contents.events)

    def use_settings(self, changed: dict[str, Any]) -> None:
        """The settings the recorded session had at this step (it may have been resumed with other flags)."""
        settings = replace(self.settings, **changed)
        if settings != self.session.settings:
            self.session.settings = settings
            if self.own_runner:
                self.session.runner = default_runner(settings)

    def run_turn(self, recorded: TurnRecordSummary, changed: dict[str, Any] | None = None) -> TurnRecordSummary:
        self.use_settings(changed or {})
        replayed = TurnRecordSummary(recorded.turn, recorded.text)
        for event in self.session.run_turn(recorded.text):
            replayed.add(event)
        return replayed

    def skip_turn(self, recorded: TurnRecordSummary) -> None:
        """Keep turn numbers aligned with the record for a turn that cannot be replayed."""
        number = self.session.state.next_turn
        self.session.emit(TurnStarted(number, recorded.text, self.session.workspace.head().sha))
        self.session.emit(TurnEnded(number, recorded.outcome, recorded.rounds, 0, 0))

    def apply_user_edits(self, event: UserEditsCommitted) -> tuple[str, ...]:
        root = self.session.workspace.root
        for rel, text in event.files.items():
            path = root / rel
            if text is None:
                path.unlink(missing_ok=True)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
        committed = [e for e in self.session.commit_user_edits() if isinstance(e, UserEditsCommitted)]
        tree = committed[0].tree if committed else None
        if tree == event.tree:
            return ()
        secret = f" (hand edits to {', '.join(event.redacted)} are not stored: they look like secrets)"
        return (f"user edits tree {str(tree)[:10]}, recorded {event.tree[:10]}" + (secret if event.redacted else ""),)

    def move(self, event: Event) -> tuple[str, ...]:
        result = self.session.undo() if isinstance(event, TurnUndone) else self.session.redo()
        if type(result) is not type(event):
            return (f"{event.kind} of turn {getattr(event, 'turn', '?')} refused: {getattr(result, 'message', '')}",)
        return ()


def replay_exact(path: Path, target: Path, runner: TestRunner | None = None) -> Iterator[TurnCheck]:
    """Replay ``path`` into ``target`` with its recorded replies; stops after the first divergence."""
    return (page.check for page in replay_pages(path, target, runner))


@dataclass(frozen=True)
class ReplayPage:
    """One step of an exact replay as a teacher shows it: request, replies, diff and test report."""

    step: int
    kind: str  # "turn", "user_edits", "undo" or "redo"
    check: TurnCheck
    replies: tuple[str, ...] = ()
    diff: str = ""
    report: dict[str, Any] | None = None
    commit: str | None = None  # the recorded commit the workspace was at after this step


def replay_pages(path: Path, target: Path, runner: TestRunner | None = None) -> Iterator[ReplayPage]:
    """Each step of ``path`` replayed and verified, with what the workspace showed after it."""
    contents = read_transcript(path)
    model = ScriptedModel(name="replay")
    replayer = Replayer(contents, target, model, runner)
    for index, step in enumerate(replayer.steps, start=1):
        check = _exact_step(replayer, model, step)
        if check is None:
            continue
        yield _page(index, step, check, replayer.session)
        if not check.ok:
            return


def _page(index: int, step: Step, check: TurnCheck, session: Session) -> ReplayPage:
    ws = session.workspace
    if step.turn is not None:
        record = session.state.turns.get(check.turn)
        diff = ws.diff(record.parent, record.commit) if record and record.commit else ""
        report = record.report if record else None
        return ReplayPage(index, "turn", check, tuple(step.turn.replies), diff, report, step.turn.commit)
    if isinstance(step.event, UserEditsCommitted):
        head = ws.head().sha
        parent = ws.parent_of(head)
        diff = ws.diff(parent, head) if parent else ""
        return ReplayPage(index, step.kind, check, commit=step.event.commit, diff=diff)
    return ReplayPage(index, step.kind, check, commit=getattr(step.event, "to_commit", None))


def _exact_step(replayer: Replayer, model: ScriptedModel, step: Step) -> TurnCheck | None:
    if step.turn is None:
        assert step.event is not None
        if isinstance(step.event, UserEditsCommitted):
            problems = replayer.apply_user_edits(step.event)
        else:
            problems = replayer.move(step.event)
        turn = getattr(step.event, "turn", 0)
        return TurnCheck(turn, f"/{step.kind}", step.kind, "ok" if not problems else "diverged", problems)
    recorded = step.turn
    if not recorded.replayable:
        replayer.skip_turn(recorded)
        return TurnCheck(recorded.turn, recorded.text, recorded.outcome, "skipped", skipped=True)
    model.load(recorded.replies)
    replayed = replayer.run_turn(recorded, step.settings)
    problems = compare(recorded, replayed)
    if model.replies:
        problems += (f"{len(model.replies)} recorded replies were not used",)
    return TurnCheck(recorded.turn, recorded.text, recorded.summary, replayed.summary, problems)


def resynthesize(
    path: Path, target: Path, model: Model, runner: TestRunner | None = None
) -> Iterator[TurnCheck]:
    """Send the recorded user turns to ``model``; rows hold both outcomes (no verdict)."""
    contents = read_transcript(path)
    replayer = Replayer(contents, target, model, runner)
    for step in replayer.steps:
        if step.turn is None:
            assert step.event is not None
            if isinstance(step.event, UserEditsCommitted):
                replayer.apply_user_edits(step.event)
            else:
                replayer.move(step.event)
            continue
        replayed = replayer.run_turn(step.turn, step.settings)
        yield TurnCheck(step.turn.turn, step.turn.text, step.turn.summary, replayed.summary)
