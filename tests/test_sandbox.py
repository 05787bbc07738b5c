"""Choosing the sandbox, saying when there is none, and recording it."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from chatpkg.cli import main
from chatpkg.core.engine.diagnostics import DoctorContext, check_sandbox
from chatpkg.core.engine.settings import Settings
from chatpkg.core.engine.store import open_session
from chatpkg.core.engine.transcript import read_transcript
from chatpkg.core.models import ScriptedModel
from chatpkg.core.runner import PytestRunner, confine
from chatpkg.core.runner.confine import bwrap_args, choose
from chatpkg.core.runner.sandbox import Sandbox


@pytest.fixture
def no_userns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A bwrap that fails the way it does where user namespaces are off."""
    fake = tmp_path / "bwrap"
    fake.write_text("#!/bin/sh\necho 'bwrap: No permissions to create new namespace' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setattr(confine, "find_bwrap", lambda: (str(fake), "a test bwrap"))
    confine.probe.cache_clear()
    yield fake
    confine.probe.cache_clear()


def test_the_sandbox_is_bwrap_here_and_hides_home_and_network() -> None:
    chosen = choose("on")
    assert chosen.active, chosen.reason
    args = bwrap_args(Path("/tmp/ws"))
    assert {"--unshare-net", "--unshare-pid", "--die-with-parent"} <= set(args)
    pairs = list(zip(args, args[1:]))
    assert all(("--tmpfs", str(home)) in pairs for home in confine.homes()) and confine.homes()
    assert ("--bind", "/tmp/ws") in pairs and ("--ro-bind", "/") in pairs


def test_turned_off_on_request() -> None:
    chosen = choose("off")
    assert not chosen.active and "--sandbox off" in chosen.reason


def test_without_user_namespaces_it_says_why_and_runs_under_limits(no_userns: Path, tmp_path: Path) -> None:
    chosen = choose("on")
    assert not chosen.active and "No permissions to create new namespace" in chosen.reason
    root = tmp_path / "ws"
    (root / "tests").mkdir(parents=True)
    (root / "tests" / "test_ok.py").write_text("def test_ok():\n    assert True\n")
    assert PytestRunner(timeout=30, confinement=chosen).run(root).passed == 1  # still runs, unconfined


def test_the_repl_banner_says_once_there_is_no_sandbox(no_userns: Path, root: Path, tmp_path: Path) -> None:
    replies = tmp_path / "r.json"
    replies.write_text("[]")
    result = CliRunner().invoke(main, ["repl", "-w", str(root), "--model", f"scripted:{replies}"], input="/quit\n")
    assert result.output.count("no sandbox: bwrap cannot create a sandbox here") == 1
    assert result.exit_code == 0


def test_the_transcript_header_records_the_sandbox(root: Path) -> None:
    session, _ = open_session(root, ScriptedModel([]), settings=Settings(sandbox="off"))
    header = read_transcript(session.transcript.path).header
    assert header.settings["sandbox"] == "off" and "turned off" in header.sandbox
    raw = json.loads(session.transcript.path.read_text().splitlines()[0])
    assert raw["sandbox"] == header.sandbox


def test_doctor_reports_the_sandbox_and_what_to_do(no_userns: Path) -> None:
    (result,) = check_sandbox(DoctorContext())
    assert result.status == "warn" and "user namespaces" in result.fix


def test_a_python_that_lives_in_tmp_still_runs_inside(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The sandbox's /tmp is private and empty, so a virtual environment under /tmp (a CI clone, a
    # scratch checkout) must be bound back, read-only, or no test could start.
    import subprocess
    import sys

    scratch = Path(tempfile.mkdtemp(dir="/tmp"))
    try:
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(scratch / "venv")], check=True)
        found = confine.python_paths()
        monkeypatch.setattr(confine, "python_paths", lambda: [*found, scratch / "venv"])
        work = tmp_path / "ws"
        work.mkdir()
        python = scratch / "venv" / "bin" / "python"
        run = Sandbox().run([str(python), "-c", "import sys; print(sys.prefix)"], work, tmp_path / "log")
        assert run.code == 0 and str(scratch / "venv") in run.output, run.output
        wrote = Sandbox().run(["sh", "-c", f"touch {scratch}/venv/x"], work, tmp_path / "log2")
        assert wrote.code != 0 and not (scratch / "venv" / "x").exists()
    finally:
        shutil.rmtree(scratch)
