"""Launch to first frame: the TUI and the REPL, started as a user starts them, side by side.

Each run starts ``chatpkg tui`` or ``chatpkg repl`` in a pseudo-terminal on a
fresh workspace and times until the first frame is on the terminal: the
footer's key line for the TUI, the REPL's banner for the REPL. Runs alternate
so both see the same machine load.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from collections.abc import Callable
from pathlib import Path

MARKERS = {"tui": b"Undo turn", "repl": b"/help for commands"}
TARGET_SECONDS = 1.0


def chatpkg_command() -> list[str]:
    exe = shutil.which("chatpkg")
    return [exe] if exe else [sys.executable, "-m", "chatpkg.cli"]


def time_to_first_frame(front: str, workspace: Path, model: str | None, *, timeout: float = 30.0,
                        size: tuple[int, int] = (100, 30)) -> float:
    """Seconds from spawning ``chatpkg FRONT`` until its first frame's marker is on the terminal."""
    command = [*chatpkg_command(), front, "--workspace", str(workspace), *(["--model", model] if model else [])]
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": str(size[0]), "LINES": str(size[1])}
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdin=follower, stdout=follower, stderr=follower, env=env,
                            start_new_session=True, close_fds=True)
    os.close(follower)
    seen = b""
    try:
        while time.perf_counter() - started < timeout:
            ready, _, _ = select.select([leader], [], [], 0.01)
            if not ready:
                continue
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            seen += chunk
            if MARKERS[front] in seen:
                return time.perf_counter() - started
        raise RuntimeError(f"no first frame from chatpkg {front} within {timeout:g} s: {seen[-300:]!r}")
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
        os.close(leader)


def run_startup_bench(runs: int, model: str | None, echo: Callable[[str], None]) -> dict[str, float]:
    times: dict[str, list[float]] = {"tui": [], "repl": []}
    with tempfile.TemporaryDirectory(prefix="chatpkg-startup-") as scratch:
        workspace = Path(scratch) / "pkg"
        time_to_first_frame("repl", workspace, model)  # creates the workspace; warms the OS file cache
        for index in range(runs):
            order = ("tui", "repl") if index % 2 == 0 else ("repl", "tui")
            for front in order:
                times[front].append(time_to_first_frame(front, workspace, model))
    medians = {front: statistics.median(values) for front, values in times.items()}
    echo(f"launch to first frame, {runs} runs each, alternating (model: {model or 'the default'})")
    echo(f"{'front end':<10}{'median':>10}{'min':>10}{'max':>10}   target ≤ {TARGET_SECONDS:.1f} s")
    for front, values in times.items():
        verdict = "ok" if medians[front] <= TARGET_SECONDS else "OVER"
        echo(f"{front:<10}{medians[front]:>9.3f}s{min(values):>9.3f}s{max(values):>9.3f}s   {verdict}")
    echo(f"tui / repl  {medians['tui'] / medians['repl']:.2f}")
    return medians
