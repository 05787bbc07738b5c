"""Where sessions live and how they are started or resumed.

Transcripts are ``.chatpkg/sessions/<id>.jsonl`` inside the workspace, a path
listed in ``.git/info/exclude``: git never tracks it, so undo never deletes it.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timezone
from pathlib import Path

from chatpkg import __version__
from chatpkg.core.engine.config import default_edit_format
from chatpkg.core.engine.events import SessionResumed, WorkspaceSnapshot
from chatpkg.core.engine.session import Session
from chatpkg.core.engine.settings import Settings
from chatpkg.core.engine.state import fold
from chatpkg.core.engine.transcript import Transcript, TranscriptHeader
from chatpkg.core.models import Model
from chatpkg.core.runner import PytestRunner, TestRunner
from chatpkg.core.runner.program import ScriptRunner
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


def default_runner(settings: Settings) -> TestRunner:
    """pytest; then the program too, when the session has one."""
    tests = PytestRunner(timeout=settings.test_timeout)
    if settings.program:
        return ScriptRunner(settings.program, timeout=settings.test_timeout, tests=tests)
    return tests


def open_session(
    root: Path,
    model: Model,
    *,
    settings: Settings | None = None,
    runner: TestRunner | None = None,
    resume: bool = True,
    session_id: str | None = None,
) -> tuple[Session, list[str]]:
    """Resume the named (or latest) session of ``root``, or start a new one.

    Returns the session and the problems found reading its transcript (torn lines).
    Settings of a resumed session come from its transcript unless given.
    """
    workspace = Workspace.open(root)
    path = _pick_transcript(workspace.root, resume, session_id)
    if path is None:
        settings = settings or Settings(edit_format=default_edit_format(model.name))
        runner = runner or default_runner(settings)
        return _start(workspace, model, settings, runner, session_id), []
    transcript, contents = Transcript.open_existing(path)
    settings = settings or Settings.from_dict(contents.header.settings)
    session = Session(
        session_id=contents.header.session_id,
        workspace=workspace,
        model=model,
        runner=runner or default_runner(settings),
        transcript=transcript,
        settings=settings,
        state=fold(contents.events),
    )
    session.emit(SessionResumed(workspace.head().sha, __version__, model.name))
    return session, contents.problems


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
    workspace: Workspace, model: Model, settings: Settings, runner: TestRunner, session_id: str | None
) -> Session:
    sid = session_id or new_session_id()
    header = TranscriptHeader(
        session_id=sid,
        chatpkg_version=__version__,
        model=model.name,
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        workspace=workspace.root.name,  # the folder name: a transcript travels, a home path should not
        settings=settings.to_dict(),
    )
    transcript = Transcript.create(sessions_dir(workspace.root) / f"{sid}.jsonl", header)
    session = Session(
        session_id=sid, workspace=workspace, model=model, runner=runner, transcript=transcript, settings=settings
    )
    head = workspace.head()
    files, modes, complete = workspace.snapshot(head.sha)
    session.emit(WorkspaceSnapshot(head.sha, head.tree, files, modes, complete))
    return session
