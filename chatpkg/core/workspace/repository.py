"""The git workspace a session edits (GitPython).

A new or empty directory becomes a git repository holding a minimal package.
An existing repository is used as it is. Turns are commits; undo and redo move
the current branch between them; every turn commit also gets a ref under
``refs/chatpkg/`` so that nothing chatpkg made is lost to ``git gc``.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import git
import pathspec

from chatpkg.core.workspace.scaffold import scaffold_files
from chatpkg.core.workspace.secrets import exclude_lines, is_secret
from chatpkg.core.workspace.start import CHATPKG_IGNORE, StartPlan, has_files, preview

STATE_DIR = ".chatpkg"
MAX_TEXT_FILE_BYTES = 64 * 1024
FALLBACK_ACTOR = git.Actor("chatpkg", "chatpkg@localhost")


_Method = TypeVar("_Method", bound=Callable[..., Any])


def _serialized(method: _Method) -> _Method:
    """Run ``method`` holding the workspace's lock.

    GitPython keeps one ``git cat-file --batch`` process per repository and is not
    thread-safe: two threads reading objects at once (a front end's workers, say)
    interleave on its pipes, which garbles replies or hangs both. One lock per
    workspace makes every git access take its turn.
    """

    @functools.wraps(method)
    def locked(self: Workspace, *args: Any, **kwargs: Any) -> Any:
        with self.lock:
            return method(self, *args, **kwargs)

    return locked  # type: ignore[return-value]


class WorkspaceError(Exception):
    """A git operation chatpkg refused or could not do; the message says why."""


class NeedsConsent(WorkspaceError):
    """The folder holds files but no git repository: chatpkg asks before tracking and sending them."""

    def __init__(self, plan: StartPlan) -> None:
        self.plan = plan
        super().__init__(plan.describe())


@dataclass(frozen=True)
class Commit:
    sha: str
    tree: str


class Workspace:
    """A git work tree. All paths are POSIX paths relative to ``root``."""

    def __init__(self, repo: git.Repo) -> None:
        self.repo = repo
        self.lock = threading.RLock()  # see _serialized: one git access at a time
        if repo.working_tree_dir is None:
            raise WorkspaceError("bare repositories are not supported")
        self.root = Path(repo.working_tree_dir).resolve()

    # --- opening ---------------------------------------------------------------

    @classmethod
    def open(cls, root: Path, *, package: str | None = None, init: bool = False) -> Workspace:
        """Open ``root``; create the repository (and a package, if empty) as needed.

        A folder that holds files but no repository is only made one with ``init``
        (the user said yes to ``preview(root)``); otherwise ``NeedsConsent`` says what
        would be tracked and sent.
        """
        root = Path(root)
        root.mkdir(parents=True, exist_ok=True)
        try:
            repo = git.Repo(root)
        except git.InvalidGitRepositoryError:
            if has_files(root) and not init:
                raise NeedsConsent(preview(root)) from None
            repo = git.Repo.init(root)
            _exclude_new_repository(repo, root)
        if repo.working_tree_dir is None or Path(repo.working_tree_dir).resolve() != root.resolve():
            top = repo.working_tree_dir
            raise WorkspaceError(f"{root} is inside the git repository {top}: open {top} instead")
        workspace = cls(repo)
        workspace._exclude_state_dir()
        if not repo.head.is_valid():
            workspace._first_commit(package or package_name_for(root))
        return workspace

    def _exclude_state_dir(self) -> None:
        exclude = Path(self.repo.git_dir) / "info" / "exclude"
        exclude.parent.mkdir(parents=True, exist_ok=True)
        lines = exclude.read_text().splitlines() if exclude.exists() else []
        if f"/{STATE_DIR}/" not in lines:
            exclude.write_text("\n".join([*lines, f"/{STATE_DIR}/"]) + "\n")

    def _first_commit(self, package: str) -> None:
        if not self.changed_paths():
            for rel, text in scaffold_files(package).items():
                path = self.root / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
            message = f"chatpkg: new package {package}"
        else:
            message = "chatpkg: start tracking the workspace"
        self.repo.git.add(A=True)
        self._commit(message)

    # --- reading ---------------------------------------------------------------

    @_serialized
    def head(self) -> Commit:
        commit = self.repo.head.commit
        return Commit(commit.hexsha, commit.tree.hexsha)

    @_serialized
    def tree_of(self, sha: str) -> str:
        return self.repo.commit(sha).tree.hexsha

    def clear_stale_locks(self, *, crashed: bool) -> list[str]:
        """Remove the lock files a killed chatpkg leaves in .git; the names of those removed.

        Called while this process holds the workspace (``lock.py``): refs under refs/chatpkg/ are
        only ever written by chatpkg, so their locks are stale. The index's and HEAD's locks could
        also be a git command the user runs right now, so they go only when a turn was cut short.
        """
        git_dir = Path(self.repo.git_dir)
        stale = list((git_dir / "refs" / "chatpkg").rglob("*.lock"))
        if crashed:
            stale += [git_dir / "index.lock", git_dir / "HEAD.lock", *(git_dir / "refs" / "heads").rglob("*.lock"),
                      *(git_dir / "logs").rglob("*.lock")]  # GitPython locks the reflog while it commits
        removed = []
        for path in stale:
            if path.is_file():
                path.unlink()
                removed.append(str(path.relative_to(git_dir)))
        return removed

    @_serialized
    def message_of(self, sha: str) -> str:
        message = self.repo.commit(sha).message
        return message if isinstance(message, str) else message.decode("utf-8", errors="replace")

    @_serialized
    def parent_of(self, sha: str) -> str | None:
        parents = self.repo.commit(sha).parents
        return parents[0].hexsha if parents else None

    @_serialized
    def changed_paths(self) -> list[str]:
        """Paths that differ from HEAD, untracked files included (ignored ones not)."""
        out = self.repo.git.status("--porcelain=v1", "-z", "--untracked-files=all")
        paths: list[str] = []
        untracked: list[str] = []
        entries = iter(out.split("\0"))
        for entry in entries:
            if not entry:
                continue
            code, path = entry[:2], entry[3:]
            if code[0] in "RC":
                paths.append(next(entries, ""))  # rename: the old path follows
            (untracked if code == "??" else paths).append(path)
        # chatpkg never adds secrets or .chatpkgignore'd files to git: they are not its changes.
        left_out = self.left_out(untracked)
        paths += [p for p in untracked if p not in left_out]
        return sorted({p for p in paths if p and not p.startswith(f"{STATE_DIR}/")})

    @_serialized
    def left_out(self, paths: list[str]) -> set[str]:
        """Which of ``paths`` chatpkg keeps away from the model and its commits: secrets, .chatpkgignore."""
        secret = {p for p in paths if is_secret(p)}
        return secret | self._chatpkg_ignored([p for p in paths if p not in secret])

    def _chatpkg_ignored(self, paths: list[str]) -> set[str]:
        """Paths .chatpkgignore names (gitignore syntax), whether the files exist yet or not."""
        ignore = self.root / CHATPKG_IGNORE
        if not paths or not ignore.is_file():
            return set()
        spec = pathspec.GitIgnoreSpec.from_lines(ignore.read_text(encoding="utf-8", errors="replace").splitlines())
        return {p for p in paths if spec.match_file(p)}

    def is_dirty(self) -> bool:
        return bool(self.changed_paths())

    @_serialized
    def text_files(self, *, max_bytes: int = MAX_TEXT_FILE_BYTES) -> dict[str, str]:
        """Tracked and untracked (not ignored) UTF-8 files up to ``max_bytes``: what the model may see.

        Secrets and .chatpkgignore'd files are never among them.
        """
        listed = sorted(set(self.repo.git.ls_files("-z", "--cached", "--others", "--exclude-standard").split("\0")) - {""})
        left_out = self.left_out(listed)
        files: dict[str, str] = {}
        for rel in (p for p in listed if p not in left_out):
            path = self.root / rel
            if rel.startswith(f"{STATE_DIR}/") or path.is_symlink() or not path.is_file():
                continue
            if path.stat().st_size > max_bytes:
                continue
            try:
                files[rel] = path.read_text(encoding="utf-8")
            except (UnicodeDecodeError, OSError):
                continue
        return files

    @_serialized
    def lines_by_commit(self, rel: str) -> list[tuple[str, str]]:
        """``git blame`` of a committed file at HEAD: (the message of the commit that wrote the line, the
        line), in order; empty when the file is not committed."""
        try:
            blamed = self.repo.blame("HEAD", rel)
        except git.GitCommandError:
            return []
        return [(commit.message, line if isinstance(line, str) else line.decode("utf-8", "replace"))
                for commit, lines in blamed or [] for line in lines]

    @_serialized
    def file_at(self, sha: str, rel: str) -> str | None:
        try:
            blob = self.repo.commit(sha).tree / rel
        except KeyError:
            return None
        return blob.data_stream.read().decode("utf-8", errors="replace")

    @_serialized
    def diff(self, old: str, new: str) -> str:
        return self.repo.git.diff(old, new, "--no-color", "--stat", "--patch")

    @staticmethod
    def blob_id(text: str) -> str:
        """The git blob id of ``text``: how edits are compared in replay."""
        data = text.encode("utf-8")
        return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()

    # --- writing ---------------------------------------------------------------

    @_serialized
    def commit_all(self, message: str) -> tuple[Commit, dict[str, str | None], list[str]] | None:
        """Commit every change (the user's hand edits); None when clean.

        Returns the commit, the new text of each path (None: deleted), and the paths whose
        text is left out because they look like secrets (tracked by the user, never copied).
        """
        paths = self.changed_paths()
        if not paths:
            return None
        redacted = [p for p in paths if is_secret(p)]
        files = {p: self._read_or_none(p) for p in paths if p not in redacted}
        self.repo.git.add("-A", "--", *paths)
        return self._commit(message), files, redacted

    @_serialized
    def commit_paths(self, paths: list[str], message: str) -> Commit:
        """Commit exactly ``paths`` (added, changed or deleted)."""
        self.repo.git.add("-A", "--", *paths)
        return self._commit(message)

    def _commit(self, message: str) -> Commit:
        actor = None if self._has_identity() else FALLBACK_ACTOR
        commit = self.repo.index.commit(message, author=actor, committer=actor, skip_hooks=True)
        return Commit(commit.hexsha, commit.tree.hexsha)

    def _has_identity(self) -> bool:
        reader = self.repo.config_reader()
        return bool(reader.get_value("user", "name", "")) and bool(reader.get_value("user", "email", ""))

    def _read_or_none(self, rel: str) -> str | None:
        path = self.root / rel
        if not path.is_file():
            return None
        return path.read_text(encoding="utf-8", errors="replace")

    @_serialized
    def move_to(self, sha: str) -> None:
        """Point the current branch (or detached HEAD) at ``sha``, work tree included."""
        self.repo.head.reset(sha, index=True, working_tree=True)

    @_serialized
    def move_head(self, sha: str) -> None:
        """Point the branch at ``sha`` and leave the index and the files as they are (git reset --soft)."""
        self.repo.head.reset(sha, index=False, working_tree=False)

    @_serialized
    def restore_paths(self, sha: str, paths: list[str]) -> None:
        """Put ``paths`` back as they are in ``sha``; files new since then are removed.

        Only these paths: anything else the user changed meanwhile is kept.
        """
        known = [rel for rel in paths if self.file_at(sha, rel) is not None]
        # The index too: a commit cut short may have staged them (git add ran, git commit did not).
        staged = set(self.repo.git.ls_files("-z", "--", *paths).split("\0")) - {""}
        in_index_or_tree = [rel for rel in paths if rel in staged or rel in known]
        if in_index_or_tree:
            self.repo.git.reset("-q", sha, "--", *in_index_or_tree)
        if known:
            self.repo.git.checkout(sha, "--", *known)
        for rel in set(paths) - set(known):
            path = self.root / rel
            if path.is_file() or path.is_symlink():
                path.unlink()
                self._prune_empty_folders(path.parent)

    def _prune_empty_folders(self, folder: Path) -> None:
        """Remove the folders a removed file leaves empty, up to the workspace's root."""
        while folder != self.root and self.root in folder.parents:
            try:
                folder.rmdir()  # only ever an empty folder
            except OSError:
                return
            folder = folder.parent

    @_serialized
    def snapshot(self, sha: str, *, max_bytes: int = 2 * 1024 * 1024) -> tuple[dict[str, str], dict[str, str], bool]:
        """Text files of commit ``sha``, their non-default modes, and whether that is all of it.

        A secret-looking file is never embedded (the snapshot is then incomplete).
        """
        files: dict[str, str] = {}
        modes: dict[str, str] = {}
        complete, total = True, 0
        for item in self.repo.commit(sha).tree.traverse():
            if item.type != "blob":
                continue
            if is_secret(item.path):
                complete = False
                continue
            data = item.data_stream.read()
            total += len(data)
            try:
                files[item.path] = data.decode("utf-8")
            except UnicodeDecodeError:
                complete = False
                continue
            if item.mode != 0o100644:
                modes[item.path] = oct(item.mode)
            if total > max_bytes:
                return {}, {}, False
        return files, modes, complete

    @_serialized
    def set_ref(self, name: str, sha: str) -> None:
        git.Reference.create(self.repo, f"refs/chatpkg/{name}", sha, force=True)

    @_serialized
    def is_ancestor(self, old: str, new: str) -> bool:
        return self.repo.is_ancestor(old, new)


def _exclude_new_repository(repo: git.Repo, root: Path) -> None:
    """A repository chatpkg creates never tracks secrets or what .chatpkgignore names."""
    exclude = Path(repo.git_dir) / "info" / "exclude"
    exclude.parent.mkdir(parents=True, exist_ok=True)
    lines = exclude.read_text().splitlines() if exclude.exists() else []
    ignore = root / CHATPKG_IGNORE
    own = ignore.read_text(encoding="utf-8", errors="replace").splitlines() if ignore.is_file() else []
    added = ["# chatpkg: secrets and .chatpkgignore are never tracked", *exclude_lines(), *own]
    exclude.write_text("\n".join([*lines, *added]) + "\n")


def package_name_for(root: Path) -> str:
    """A valid import name from a directory name ("My Pkg-2" -> "my_pkg_2")."""
    name = re.sub(r"\W+", "_", root.resolve().name.lower()).strip("_") or "mypkg"
    return f"pkg_{name}" if name[0].isdigit() else name


def workspace_state_dir(root: Path) -> Path:
    return Path(os.fspath(root)) / STATE_DIR
