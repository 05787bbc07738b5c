"""Where sessions live and how they are started or resumed.

Transcripts are ``.chatpkg/sessions/<id>.jsonl`` inside the workspace, a path
listed in ``.git/info/exclude``: git never tracks it, so undo never deletes it.
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from chatpkg import __version__
from chatpkg.core.engine.config import default_edit_format, default_team
from chatpkg.core.engine.events import Notice, SessionResumed, SettingsChanged, WorkspaceSnapshot
from chatpkg.core.engine.recovery import recover, unfinished_turns
from chatpkg.core.engine.render import describe_event
from chatpkg.core.engine.session import Session
from chatpkg.core.engine.settings import Settings
from chatpkg.core.engine.state import fold
from chatpkg.core.engine.transcript import Transcript, TranscriptContents, TranscriptHeader
from chatpkg.core.models import Model
from chatpkg.core.runner import PytestRunner, TestRunner
from chatpkg.core.runner.confine import Confinement, choose
from chatpkg.core.runner.program import ScriptRunner
from chatpkg.core.workspace import lock
from chatpkg.core.workspace.repository import Workspace, workspace_state_dir


class SessionNotFound(Exception):
    pass


def sessions_dir(root: Path) -> Path:
    return workspace_state_dir(root) / "sessions"


def new_session_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)


def list_sessions(root: Path) -> list[Path]:
    """Transcripts of this workspace, oldest first."""
    folder = sessions_dir(root)
    return sorted(folder.glob("*.jsonl"), key=lambda p: (p.stat().st_mtime, p.name)) if folder.is_dir() else []


def default_runner(settings: Settings, confinement: Confinement | None = None) -> TestRunner:
    """pytest; then the program too, when the session has one. Both in the sandbox the settings ask for."""
    confinement = confinement or choose(settings.sandbox)
    tests = PytestRunner(timeout=settings.test_timeout, confinement=confinement)
    if settings.program:
        return ScriptRunner(settings.program, timeout=settings.test_timeout, tests=tests, confinement=confinement)
    return tests


def open_session(
    root: Path,
    model: Model,
    *,
    settings: Settings | None = None,
    changes: dict[str, Any] | None = None,
    defaults: dict[str, Any] | None = None,
    runner: TestRunner | None = None,
    resume: bool = True,
    session_id: str | None = None,
    init: bool = False,
) -> tuple[Session, list[str]]:
    """Resume the named (or latest) session of ``root``, or start a new one.

    A new session gets ``settings``, or else ``defaults`` (the config's) with the
    model's measured edit format; ``changes`` (what the command line set) go on
    top. A resumed session keeps its recorded settings and model: ``changes`` that
    differ from them, and another model, are applied and recorded as
    ``SettingsChanged``. ``init`` agrees to make a folder of files a repository.
    Returns the session and the problems found reading its transcript (torn lines).
    """
    workspace = Workspace.open(root, init=init)
    lock.acquire(workspace_state_dir(workspace.root))
    path = _pick_transcript(workspace.root, resume, session_id)
    if path is None:
        measured = {"edit_format": default_edit_format(model.name), **default_team(model.name)}
        base = settings or Settings.from_dict({**measured, **(defaults or {})})
        chosen = replace(base, **(changes or {}))
        confinement = None if runner else choose(chosen.sandbox)
        runner = runner or default_runner(chosen, confinement)
        return _start(workspace, model, chosen, runner, session_id, confinement), []
    transcript, contents = Transcript.open_existing(path)
    recorded = recorded_settings(contents)
    chosen = replace(settings or recorded, **(changes or {}))
    confinement = None if runner else choose(chosen.sandbox)
    session = Session(
        session_id=contents.header.session_id,
        workspace=workspace,
        model=model,
        runner=runner or default_runner(chosen, confinement),
        transcript=transcript,
        settings=chosen,
        state=fold(contents.events),
        confinement=confinement,
    )
    problems = list(contents.problems)
    cut_short = bool(unfinished_turns(contents.events))
    removed = workspace.clear_stale_locks(crashed=cut_short)
    if removed:
        problems.append(f"removed git lock files a stopped chatpkg left behind: {', '.join(removed)}")
    for event in recover(workspace, session.session_id, contents.events):
        session.emit(event)
        if isinstance(event, Notice):
            problems.append(event.message)
    if not any(isinstance(e, WorkspaceSnapshot) for e in contents.events):
        _snapshot(session)  # stopped between the header and the snapshot: no turn ran, the workspace is as it was
    session.emit(SessionResumed(workspace.head().sha, __version__, model.name))
    differ = _differences(recorded, chosen, recorded_model(contents), model.name)
    if differ:
        change = session.emit(SettingsChanged(differ, "given when the session was resumed"))
        problems.append(describe_event(change).strip())  # shown by the front end as it opens
    return session, problems


def recorded_settings(contents: TranscriptContents) -> Settings:
    """A transcript's settings: its header's, with every later change applied."""
    values = dict(contents.header.settings)
    for event in contents.events:
        if isinstance(event, SettingsChanged):
            values.update({k: new for k, (_, new) in event.changes.items() if k != "model"})
    return Settings.from_dict(values)


def recorded_model(contents: TranscriptContents) -> str:
    """The model a transcript's session used last."""
    model = contents.header.model
    for event in contents.events:
        if isinstance(event, SettingsChanged) and "model" in event.changes:
            model = event.changes["model"][1]
    return model


def resumable(root: Path, *, resume: bool = True, session_id: str | None = None) -> Path | None:
    """The transcript ``open_session`` would resume, if any (without opening the workspace)."""
    if not (Path(root) / ".git").exists():
        return None
    return _pick_transcript(Path(root).resolve(), resume, session_id)


def _differences(old: Settings, new: Settings, old_model: str, new_model: str) -> dict[str, list[Any]]:
    before, after = old.to_dict(), new.to_dict()
    changed = {k: [before[k], after[k]] for k in after if before.get(k) != after[k]}
    if old_model != new_model:
        changed["model"] = [old_model, new_model]
    return changed


def _pick_transcript(root: Path, resume: bool, session_id: str | None) -> Path | None:
    if session_id:
        path = sessions_dir(root) / f"{session_id}.jsonl"
        if path.exists():
            return path
        if resume:
            raise SessionNotFound(f"no session {session_id} in {sessions_dir(root)}")
        return None
    existing = list_sessions(root)
    return existing[-1] if resume and existing else None


def _start(
    workspace: Workspace, model: Model, settings: Settings, runner: TestRunner, session_id: str | None,
    confinement: Confinement | None = None,
) -> Session:
    sid = session_id or new_session_id()
    header = TranscriptHeader(
        session_id=sid,
        chatpkg_version=__version__,
        model=model.name,
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        workspace=workspace.root.name,  # the folder name: a transcript travels, a home path should not
        settings=settings.to_dict(),
        sandbox=confinement.describe() if confinement else "a runner chatpkg did not choose",
    )
    transcript = Transcript.create(sessions_dir(workspace.root) / f"{sid}.jsonl", header)
    session = Session(
        session_id=sid, workspace=workspace, model=model, runner=runner, transcript=transcript, settings=settings,
        confinement=confinement,
    )
    _snapshot(session)
    return session


def _snapshot(session: Session) -> None:
    """The workspace a session starts from, for replay (``rebuild_workspace``)."""
    head = session.workspace.head()
    files, modes, complete = session.workspace.snapshot(head.sha)
    session.emit(WorkspaceSnapshot(head.sha, head.tree, files, modes, complete))
