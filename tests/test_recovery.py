"""A turn cut short is ended on the next start; one chatpkg per workspace."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from chatpkg.core.engine.events import TestsStarted, TurnEnded, WorkspaceSnapshot
from chatpkg.core.engine.store import open_session
from chatpkg.core.engine.transcript import read_transcript
from chatpkg.core.engine.turn import commit_message
from chatpkg.core.models import ScriptedModel
from chatpkg.core.workspace.lock import WorkspaceBusy
from tests.helpers import ADD_REPLY, ADD_SRC


def crash_during_tests(root: Path):  # type: ignore[no-untyped-def]
    """Run a turn up to its test run and leave it there, as a kill -9 would (no rollback runs)."""
    session, _ = open_session(root, ScriptedModel([ADD_REPLY]))
    turn = session.run_turn("Add add(a, b).")
    for event in turn:
        if isinstance(event, TestsStarted):
            break
    return session, turn  # the caller keeps ``turn`` alive: closing it would roll back


def test_an_interrupted_turn_is_ended_and_its_files_put_back(root: Path) -> None:
    crashed, turn = crash_during_tests(root)
    parent = crashed.workspace.head().sha
    assert (root / "pkg" / "calc.py").read_text() == ADD_SRC  # the turn's files are in the workspace

    session, problems = open_session(root, ScriptedModel([]))

    assert any("interrupted" in p and "put back" in p for p in problems), problems
    assert not (root / "pkg" / "calc.py").exists() and session.workspace.changed_paths() == []
    assert session.workspace.head().sha == parent
    ends = [e for e in read_transcript(session.transcript.path).events if isinstance(e, TurnEnded)]
    assert [(e.turn, e.outcome) for e in ends] == [(1, "interrupted")]
    assert session.state.turns[1].outcome == "interrupted" and session.state.next_turn == 2
    del turn


def test_a_turn_interrupted_after_its_commit_is_kept(root: Path) -> None:
    crashed, turn = crash_during_tests(root)
    ws = crashed.workspace
    message = commit_message(1, "Add add(a, b).", "2 passed", crashed.session_id)
    commit = ws.commit_paths(["pkg/calc.py", "tests/test_calc.py"], message)  # the crash came right after this

    session, problems = open_session(root, ScriptedModel([]))

    assert any("after its commit" in p for p in problems), problems
    assert session.state.turns[1].commit == commit.sha and session.state.active == [1]
    assert session.workspace.head().sha == commit.sha and session.workspace.changed_paths() == []
    del turn


def test_a_second_chatpkg_on_the_same_workspace_is_refused(root: Path) -> None:
    open_session(root, ScriptedModel([]))  # makes the repository; this process holds the lock now
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\nfrom chatpkg.core.engine.store import open_session\n"
         "from chatpkg.core.models import ScriptedModel\n"
         f"open_session({str(root)!r}, ScriptedModel([]))\nprint('open', flush=True)\ntime.sleep(60)\n"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        # this process holds the lock: the other one is refused at once (it would otherwise print "open"
        # and wait a minute); the wait is for its start-up, slow on a loaded machine
        out, err = holder.communicate(timeout=45)
        assert holder.returncode != 0 and "WorkspaceBusy" in err and "open" not in out
    finally:
        holder.kill()
        holder.wait()


def test_the_lock_of_a_killed_chatpkg_is_gone(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import time\nfrom chatpkg.core.engine.store import open_session\n"
         "from chatpkg.core.models import ScriptedModel\n"
         f"open_session({str(root)!r}, ScriptedModel([]))\nprint('open', flush=True)\ntime.sleep(60)\n"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        with pytest.raises(WorkspaceBusy, match=f"pid {holder.pid}"):
            open_session(root, ScriptedModel([]))
    finally:
        holder.kill()
        holder.wait()
    session, _ = open_session(root, ScriptedModel([]))  # kill -9 released it
    assert session.workspace.root == root.resolve()


def test_a_session_stopped_before_its_workspace_snapshot_gets_one_when_resumed(root: Path) -> None:
    # A kill between the header's line and the snapshot's (seen once in test_faults under load).
    first, _ = open_session(root, ScriptedModel([]))
    path = first.transcript.path
    path.write_bytes(path.read_bytes().split(b"\n")[0] + b"\n")  # the header alone

    session, _ = open_session(root, ScriptedModel([]))

    snapshots = [e for e in read_transcript(session.transcript.path).events if isinstance(e, WorkspaceSnapshot)]
    assert [s.commit for s in snapshots] == [session.workspace.head().sha]
    assert "pkg/__init__.py" in snapshots[0].files
