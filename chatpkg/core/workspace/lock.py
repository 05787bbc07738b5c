"""One chatpkg per workspace: a lock file in ``.chatpkg/`` held while a session is open.

POSIX record locks (``fcntl.lockf``) belong to a process: the kernel drops them
when it ends, however it ends (``kill -9`` included), so a crashed chatpkg never
leaves a stale lock behind; and a process may take its own lock again (a
front end that reopens its session). The file says who holds it.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from pathlib import Path
from typing import IO

LOCK_NAME = "lock"

_held: dict[Path, IO[str]] = {}  # closing any descriptor of a locked file would drop the lock
_guard = threading.Lock()


class WorkspaceBusy(Exception):
    """Another chatpkg process has this workspace open."""


def acquire(state_dir: Path) -> None:
    """Hold ``state_dir/lock`` for this process; ``WorkspaceBusy`` names the process that holds it."""
    path = (Path(state_dir) / LOCK_NAME).resolve()
    with _guard:
        if path in _held:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a+", encoding="utf-8")
        try:
            fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise WorkspaceBusy(
                f"{path.parent.parent} is open in another chatpkg ({holder}). One chatpkg per workspace: "
                "quit the other one first (its session resumes here afterwards)."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}, since {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        handle.flush()
        _held[path] = handle


def release(state_dir: Path) -> None:
    """Let go of the lock (the process ending does the same)."""
    path = (Path(state_dir) / LOCK_NAME).resolve()
    with _guard:
        handle = _held.pop(path, None)
    if handle is not None:
        handle.close()
