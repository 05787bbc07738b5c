"""Faults: chatpkg killed at random points of its turns, and a provider that fails.

Kills: a forked chatpkg runs scripted turns on one workspace (resuming the
session each time, so kills also land in start-up and recovery) and is sent
SIGKILL at a random moment. After each kill the next start must find a readable
transcript with nothing lost, a workspace at a turn commit or at the pre-turn
state, no unfinished turn, and no process of the killed run left behind. Most
runs use a quick test runner, so kills land in the engine's own steps; some use
the real sandboxed pytest runner.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import tempfile
import time
from pathlib import Path

import pytest

from chatpkg.core.engine.events import WorkspaceSnapshot
from chatpkg.core.engine.settings import Settings
from chatpkg.core.engine.store import open_session, sessions_dir
from chatpkg.core.engine.transcript import read_transcript
from chatpkg.core.models import ScriptedModel
from chatpkg.core.runner import TestReport
from chatpkg.core.workspace import lock
from chatpkg.core.workspace.repository import workspace_state_dir

QUICK_KILLS = 80
PYTEST_KILLS = 24


class QuickRunner:
    """Passes when every module of the package compiles; a few milliseconds, so kills hit the engine."""

    __test__ = False

    def run(self, root: Path, cancel=None) -> TestReport:  # type: ignore[no-untyped-def]
        time.sleep(0.005)
        broken = [p for p in (root / "pkg").glob("*.py") if "BROKEN" in p.read_text()]
        return TestReport(failed=len(broken), passed=1, exit_code=1 if broken else 0)


def reply(turn: int, broken: bool) -> str:
    body = "    return x  # BROKEN\n" if broken else f"    return x + {turn}\n"
    return (f"pkg/f{turn}.py\n```python\ndef f{turn}(x):\n{body}```\n\n"
            f"tests/test_f{turn}.py\n```python\nfrom pkg.f{turn} import f{turn}\n\n\n"
            f"def test_f{turn}():\n    assert f{turn}(1) == {turn + 1}\n```\n")


def drive(root: Path, quick: bool) -> None:
    """The chatpkg that gets killed: resume the session and run scripted turns (the odd ones repaired once).

    It never stops by itself, so the kill always finds it running, however fast the machine. Its
    temporary folders (the test runner's report folder, which a SIGKILL leaves behind) go beside the
    workspace, into the test's own folder, not into the machine's /tmp.
    """
    tempfile.tempdir = str(root.parent)
    runner = QuickRunner() if quick else None
    session, _ = open_session(root, ScriptedModel([]), settings=Settings(max_repairs=1), runner=runner)
    while True:
        n = session.state.next_turn
        replies = [reply(n, True), reply(n, False)] if n % 2 else [reply(n, False)]
        session.model = ScriptedModel(replies)
        for _event in session.run_turn(f"Add f{n}(x) returning x + {n}."):
            pass


def processes_of(root: Path) -> list[int]:
    marker = str(root).encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if marker in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def transcript_lines(root: Path) -> list[bytes]:
    files = sorted(sessions_dir(root).glob("*.jsonl")) if sessions_dir(root).is_dir() else []
    if not files:
        return []
    data = files[-1].read_bytes()
    return data.split(b"\n")[:-1]  # complete lines only: a torn last line may be cut


def check_restart(root: Path, before: list[bytes]) -> None:
    session, problems = open_session(root, ScriptedModel([]), runner=QuickRunner())
    try:
        contents = read_transcript(session.transcript.path)
        assert all("torn" in p for p in contents.problems), contents.problems
        after = session.transcript.path.read_bytes().split(b"\n")
        assert after[: len(before)] == before, "an event written before the kill was lost"
        assert all(r.outcome != "running" for r in session.state.turns.values())
        tail = [e.kind for e in contents.events][-8:] + [e.message for e in contents.events if e.kind == "error"][-1:]
        assert session.workspace.changed_paths() == [], f"the workspace is between states; {problems}, {tail}"
        snapshot = next(e for e in contents.events if isinstance(e, WorkspaceSnapshot))
        current = session.state.current
        assert session.workspace.head().sha == (current.commit if current else snapshot.commit)
    finally:
        lock.release(workspace_state_dir(session.workspace.root))


def kill_at_random(root: Path, *, quick: bool, kills: int, span: float, seed: int) -> int:
    rng = random.Random(seed)
    context = multiprocessing.get_context("fork")
    killed = 0
    for _ in range(kills):
        child = context.Process(target=drive, args=(root, quick))
        child.start()
        time.sleep(rng.uniform(0.0, span))
        child.kill()
        child.join()
        killed += child.exitcode == -signal.SIGKILL
        deadline = time.monotonic() + 5
        while processes_of(root) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not processes_of(root), "a process of the killed run is still running"
        check_restart(root, transcript_lines(root))
    return killed


@pytest.mark.parametrize(("quick", "kills", "span"), [(True, QUICK_KILLS, 0.35), (False, PYTEST_KILLS, 3.0)],
                         ids=["quick runner", "sandboxed pytest"])
def test_sigkill_at_random_points_loses_nothing(tmp_path: Path, quick: bool, kills: int, span: float) -> None:
    root = tmp_path / "pkg"
    seed = int(os.environ.get("CHATPKG_FAULT_SEED", kills))  # a fixed seed; set it to explore others
    killed = kill_at_random(root, quick=quick, kills=kills, span=span, seed=seed)
    assert killed == kills, f"only {killed} of {kills} runs were still going when the kill came"
