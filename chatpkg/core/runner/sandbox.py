"""Running a command on a workspace the way model-written code must run.

Inside bubblewrap when it works (see ``confine.py``), always in its own process
group, under resource limits, with an allowlisted environment (no keys, no
tokens, nothing a test could send home), and killed at its timeout. When the
run ends, whatever it left running is killed too.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from chatpkg.core.cancel import CancelToken
from chatpkg.core.runner.confine import Confinement, bwrap_args, choose
from chatpkg.core.tokens import trim_to_tokens

OUTPUT_TOKENS = 400
TAIL_BYTES = 64 * 1024
POLL_SECONDS = 0.05

# Only these reach the child: what Python, pytest and a terminal need. Everything else
# (API keys, tokens, cloud credentials, proxies) stays out, whatever its name.
ALLOWED_ENV = frozenset({
    "PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "TERM", "TZ", "TMPDIR", "COLUMNS", "LINES",
    "NO_COLOR", "PYTHONPATH", "PYTHONIOENCODING", "PYTHONUTF8", "PYTHONHASHSEED", "VIRTUAL_ENV", "SYSTEMROOT",
})
ALLOWED_ENV_PREFIXES = ("LC_",)


def child_env(root: Path, base: dict[str, str] | None = None) -> dict[str, str]:
    """The allowlisted part of ``base`` (os.environ), importing from ``root`` first."""
    source = os.environ if base is None else base
    env = {k: v for k, v in source.items() if k in ALLOWED_ENV or k.startswith(ALLOWED_ENV_PREFIXES)}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    paths = [str(root)]
    if (root / "src").is_dir():
        paths.append(str(root / "src"))
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


def _set_limit(which: int, value: int) -> None:
    import resource

    try:
        _, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(which, (value, hard))
    except (ValueError, OSError):
        pass


def _limiter(cpu: int, memory: int, fsize: int) -> Callable[[], None]:
    def apply() -> None:
        import resource

        _set_limit(resource.RLIMIT_CPU, cpu)
        _set_limit(resource.RLIMIT_AS, memory)
        _set_limit(resource.RLIMIT_FSIZE, fsize)

    return apply


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill the run's process group: the command, and children it did not move elsewhere."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def _read_tail(path: Path) -> str:
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(fh.tell() - TAIL_BYTES, 0))
            data = fh.read()
    except OSError:
        return ""
    text = data.decode("utf-8", errors="replace")
    return trim_to_tokens(re.sub(r"\x1b\[[0-9;]*m", "", text), OUTPUT_TOKENS, keep="tail")


@dataclass(frozen=True)
class SandboxRun:
    code: int
    outcome: str  # "done", "timeout" or "cancelled"
    seconds: float
    output: str  # the tail of stdout and stderr together


@dataclass(frozen=True)
class Sandbox:
    """Runs a command on a workspace: confined (bwrap), own process group, limits, no secrets, a timeout."""

    timeout: float = 60.0
    cpu_seconds: int = 120
    memory_bytes: int = 2 * 1024**3
    file_size_bytes: int = 64 * 1024**2
    confinement: Confinement = field(default_factory=choose)

    def run(self, command: list[str], root: Path, log: Path, cancel: CancelToken | None = None,
            writable: tuple[Path, ...] = ()) -> SandboxRun:
        """Run ``command`` in ``root``; ``writable`` are folders outside it the run may write (its reports)."""
        root = Path(root).resolve()
        started = time.monotonic()
        with log.open("wb") as out:
            proc = subprocess.Popen(
                self.wrap(command, root, writable), cwd=root, env=child_env(root),
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_limiter(self.cpu_seconds, self.memory_bytes, self.file_size_bytes),
            )
            outcome = self._wait(proc, started, cancel)
            if outcome == "done":
                _kill_group(proc)  # children still running in its group (bwrap's PID namespace ends all others)
        return SandboxRun(proc.returncode, outcome, time.monotonic() - started, _read_tail(log))

    def wrap(self, command: list[str], root: Path, writable: tuple[Path, ...] = ()) -> list[str]:
        """``command`` as run: inside bwrap when the sandbox is active."""
        if not self.confinement.active:
            return command
        assert self.confinement.bwrap is not None
        paths = tuple(Path(p).resolve() for p in writable)
        return [self.confinement.bwrap, *bwrap_args(root, paths), "--", *command]

    def _wait(self, proc: subprocess.Popen[bytes], started: float, cancel: CancelToken | None) -> str:
        """Wait for the child: "done", "timeout" or "cancelled" (group killed)."""
        while True:
            if cancel is not None and cancel.cancelled:
                _kill_group(proc)
                return "cancelled"
            remaining = started + self.timeout - time.monotonic()
            if remaining <= 0:
                if proc.poll() is not None:  # it finished while we were not scheduled (e.g. suspended)
                    return "done"
                _kill_group(proc)
                return "timeout"
            try:
                proc.wait(timeout=min(POLL_SECONDS, remaining))
            except subprocess.TimeoutExpired:
                continue
            return "done"
