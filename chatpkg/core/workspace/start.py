"""Before chatpkg makes a folder of files a git repository: what it would track and send.

An empty or new folder gets a scaffolded package without a question. A folder
that already holds files but no repository is only taken over when the user
agrees, so ``preview`` lists what git would track (``.gitignore`` and
``.chatpkgignore`` honoured), what the model would be shown, and the
secret-looking files chatpkg leaves alone.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from chatpkg.core.workspace.secrets import is_secret

CHATPKG_IGNORE = ".chatpkgignore"
SHOWN_TEXT_BYTES = 64 * 1024  # the largest file the model is shown (Workspace.text_files)
QUIET_NAMES = frozenset({".chatpkg", ".DS_Store"})  # a folder holding only these is empty


def has_files(root: Path) -> bool:
    """Whether ``root`` holds a file besides chatpkg's own state (empty folders do not count)."""
    for entry in Path(root).iterdir():
        if entry.name in QUIET_NAMES:
            continue
        if not entry.is_dir() or entry.is_symlink() or any(p.is_file() for p in entry.rglob("*")):
            return True
    return False


@dataclass(frozen=True)
class StartPlan:
    """What starting chatpkg in a folder of files (not a repository) would do."""

    root: Path
    tracked: tuple[str, ...]  # files the first commit would hold
    shown: tuple[str, ...]  # text files of those the model would be shown
    secrets: tuple[str, ...]  # secret-looking files: never tracked, shown or copied
    left_out: int  # files .gitignore or .chatpkgignore leave out

    def describe(self, most: int = 8) -> str:
        def listing(paths: tuple[str, ...]) -> str:
            more = f", ... ({len(paths) - most} more)" if len(paths) > most else ""
            return ", ".join(paths[:most]) + more

        lines = [
            f"{self.root} holds files but is not a git repository.",
            f"chatpkg would make it one and commit {len(self.tracked)} file(s): {listing(self.tracked)}.",
            f"The model would be shown {len(self.shown)} text file(s) of those, and every turn is recorded "
            "in .chatpkg/sessions/ with the files' text.",
        ]
        if self.secrets:
            lines.append(f"Left alone as secrets (never committed, shown or recorded): {listing(self.secrets)}.")
        if self.left_out:
            lines.append(f"{self.left_out} file(s) that .gitignore or {CHATPKG_IGNORE} name are left out.")
        return "\n".join(lines)


def _git_list(root: Path, git_dir: Path, *args: str) -> list[str]:
    out = subprocess.run(
        ["git", f"--git-dir={git_dir}", f"--work-tree={root}", "ls-files", "-z", "--others", *args],
        cwd=root, capture_output=True, text=True, check=True,
    ).stdout
    return sorted(set(out.split("\0")) - {""})


def _is_shown_text(path: Path) -> bool:
    try:
        if path.is_symlink() or path.stat().st_size > SHOWN_TEXT_BYTES:
            return False
        path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return True


def preview(root: Path) -> StartPlan:
    """What ``Workspace.open(root, init=True)`` would track and show, asked of git itself."""
    root = Path(root).resolve()
    ignore = root / CHATPKG_IGNORE
    extra = [f"--exclude-from={ignore}"] if ignore.is_file() else []
    with tempfile.TemporaryDirectory(prefix="chatpkg-preview-") as scratch:
        git_dir = Path(scratch) / "git"
        subprocess.run(["git", "init", "--quiet", "--bare", str(git_dir)], check=True, capture_output=True)
        everything = [p for p in _git_list(root, git_dir) if not p.startswith(".chatpkg/")]
        kept = [p for p in _git_list(root, git_dir, "--exclude-standard", *extra) if not p.startswith(".chatpkg/")]
    secrets = tuple(p for p in kept if is_secret(p))
    tracked = tuple(p for p in kept if p not in secrets)
    shown = tuple(p for p in tracked if _is_shown_text(root / p))
    return StartPlan(root, tracked, shown, secrets, len(everything) - len(kept))
