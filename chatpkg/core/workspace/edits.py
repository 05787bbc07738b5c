"""Apply parsed file edits safely inside a workspace.

Applying is strict: every path is confined to the workspace, every edit is
validated in memory before a byte is written, and a failed write rolls back the
files already written. The text of every ``EditError`` is addressed to the
model, so the session can send it back verbatim and get a corrected reply.

Parsing lives in :mod:`chatpkg.core.workspace.edit_parser`; its public names are
re-exported here so existing imports keep working. Merging a "merge" edit into
a Python file lives in :mod:`chatpkg.core.workspace.merge`.
"""

from __future__ import annotations

import contextlib
import difflib
import glob
import heapq
import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

from chatpkg.core.workspace.edit_parser import (
    EditError,
    FileEdit,
    MalformedReply,
    NoEdits,
    _normalise,
    parse_edits,
)
from chatpkg.core.workspace.merge import InvalidMergeBlock, bound_names, is_python_path, merge_python, top_level_names
from chatpkg.core.workspace.modules import without_self_imports
from chatpkg.core.workspace.secrets import is_secret

__all__ = [
    "DroppedDefinitions", "EditError", "FileEdit", "InvalidMergeBlock", "MalformedReply", "NoEdits",
    "SearchNotFound", "UnsafePath", "apply_edits", "current_files", "parse_edits", "plan_edits", "safe_path", "top_level_names",
]


class UnsafePath(EditError):
    """The path would reach outside the workspace or into its metadata."""


class SearchNotFound(EditError):
    """A SEARCH section matches nothing, so applying it would guess."""


class DroppedDefinitions(EditError):
    """A whole-file edit leaves out top-level functions or classes the file has."""

    def __init__(self, path: str, names: list[str]) -> None:
        self.path, self.names = path, names
        listed = ", ".join(f"`{n}`" for n in names)
        super().__init__(
            f"Your new version of {path} leaves out {listed}, which the current file defines, so "
            f"nothing was written. Send the complete file again, keeping every existing definition "
            f"({listed} included), or use SEARCH/REPLACE blocks to change only part of it:\n\n"
            f"{path}\n```python\n<<<<<<< SEARCH\n<exact lines from the current file>\n=======\n"
            "<new lines>\n>>>>>>> REPLACE\n```"
        )


_DRIVE = re.compile(r"^[A-Za-z]:")
_FORBIDDEN_DIRS = frozenset({".git", ".chatpkg"})


def _path_problem(rel: str) -> str | None:
    """Syntactic reasons to refuse a path, before touching the file system."""
    parts = rel.split("/")
    checks = [
        (not rel, "the path is empty"),
        ("\0" in rel, "the path contains a NUL byte"),
        (rel.startswith("~"), "paths starting with ~ point into a home directory"),
        (rel.startswith("/") or bool(_DRIVE.match(rel)), "absolute paths are not allowed"),
        (".." in parts, "'..' would leave the project directory"),
        (any(p.lower() in _FORBIDDEN_DIRS for p in parts), "files under .git or .chatpkg are managed by the tools"),
        (is_secret(rel), "it looks like a secret (.env, keys, credentials), which only the user writes"),
    ]
    return next((reason for bad, reason in checks if bad), None)


def _unsafe(path: str, reason: str) -> UnsafePath:
    return UnsafePath(
        f"Refusing to write {path!r}: {reason}. Use a path relative to the project root "
        "inside the project, such as 'pkg/module.py'."
    )


def safe_path(root: Path, path: str) -> Path:
    """The resolved absolute location of ``path``, proven to lie inside ``root``."""
    rel = _normalise(path)
    problem = _path_problem(rel)
    if problem:
        raise _unsafe(path, problem)
    base = Path(root).resolve()
    try:
        resolved = (base / rel).resolve()
    except (OSError, RuntimeError) as exc:  # symlink loops
        raise _unsafe(path, f"it cannot be resolved ({exc})") from exc
    if resolved == base or not resolved.is_relative_to(base):
        raise _unsafe(path, "it resolves (through a symlink) to a location outside the project")
    if any(p.lower() in _FORBIDDEN_DIRS for p in resolved.relative_to(base).parts):
        raise _unsafe(path, "it resolves (through a symlink) into .git or .chatpkg")
    return resolved


def _split(text: str) -> tuple[list[str], bool]:
    """Lines without their newlines, and whether the text ended with one."""
    final = text.endswith("\n")
    body = text[:-1] if final else text
    return (body.split("\n") if text else []), final


def _splice(text: str, start: int, count: int, new: list[str]) -> str:
    lines, final = _split(text)
    out = lines[:start] + new + lines[start + count :]
    return "\n".join(out) + ("\n" if final and out else "")


def _find_exact(text: str, search: str) -> int:
    """First occurrence, preferring one that starts a line over a mid-line one."""
    first = idx = text.find(search)
    while idx > 0 and text[idx - 1] != "\n":
        idx = text.find(search, idx + 1)
    return idx if idx >= 0 else first


def _indent_of(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _window_prefix(window: list[str], wanted: list[str]) -> str | None:
    """The one indentation that turns every wanted line into the window's line."""
    prefix: str | None = None
    for have, want in zip(window, wanted):
        have = have.rstrip()
        if not want:
            if have:
                return None
            continue
        lead = have[: len(have) - len(want)]
        if not have.endswith(want) or lead.strip() or prefix not in (None, lead):
            return None
        prefix = lead
    return prefix


def _match_lines(text: str, search: str, replace: str, shift: bool) -> str | None:
    """Line match ignoring trailing whitespace and, with ``shift``, a uniform
    indentation difference; REPLACE is re-indented by that difference."""
    lines, _ = _split(text)
    s_lines = _split(search)[0]
    common = os.path.commonprefix([_indent_of(s) for s in s_lines if s.strip()]) if shift else ""
    wanted = [s[len(common) :].rstrip() if s.strip() else "" for s in s_lines]
    for i in range(len(lines) - len(wanted) + 1):
        prefix = _window_prefix(lines[i : i + len(wanted)], wanted)
        if prefix is None or (prefix and not shift):
            continue
        new = []
        for line in _split(replace)[0]:
            cut = min(len(_indent_of(line)), len(common))
            new.append(prefix + line[cut:] if line.strip() else "")
        return _splice(text, i, len(wanted), new)
    return None


def _apply_search(text: str, search: str, replace: str) -> str | None:
    idx = _find_exact(text, search)
    if idx >= 0:
        return text[:idx] + replace + text[idx + len(search) :]
    return _match_lines(text, search, replace, False) or _match_lines(text, search, replace, True)


def _anchors(lines: list[str], wanted: list[str]) -> set[int]:
    """Likely window starts, from the file lines most like the first and last SEARCH
    lines; scoring every window instead takes a minute on a large file."""
    keys = [(k, w.strip()) for k, w in enumerate(wanted) if w.strip()]
    last_start = max(0, len(lines) - len(wanted))
    starts: set[int] = set()
    for offset, key in keys[:1] + keys[-1:]:
        matcher = difflib.SequenceMatcher(None, autojunk=False)
        matcher.set_seq2(key)
        scored = []
        for n, line in enumerate(lines):
            matcher.set_seq1(line.strip())
            if matcher.real_quick_ratio() > 0.5 and matcher.quick_ratio() > 0.5:
                scored.append((matcher.ratio(), n - offset))
        starts.update(min(max(0, at), last_start) for _, at in heapq.nlargest(5, scored))
    return starts


def _closest(text: str, wanted: list[str]) -> tuple[int, list[str]] | None:
    """The window of the file most like the SEARCH text, if any is close."""
    lines = text.split("\n")
    target = "\n".join(w.strip() for w in wanted)
    best, at = 0.6, -1
    for i in sorted(_anchors(lines, wanted)):
        window = "\n".join(line.strip() for line in lines[i : i + len(wanted)])
        ratio = difflib.SequenceMatcher(None, window, target, autojunk=False).ratio()
        if ratio > best:
            best, at = ratio, i
    return (at, lines[at : at + len(wanted)]) if at >= 0 else None


def _not_found(rel: str, text: str, search: str) -> SearchNotFound:
    wanted = _split(search)[0]
    shown = "\n".join(f"    {line}" for line in wanted[:5]) + ("\n    ..." if len(wanted) > 5 else "")
    message = f"The SEARCH block for {rel} matched nothing in the current file. Its SEARCH text began:\n{shown}\n"
    near = _closest(text, wanted)
    if near is not None:
        start, block = near
        body = "\n".join(f"    {line}" for line in block[:12])
        message += f"The closest lines in {rel} (from line {start + 1}) are:\n{body}\n"
    message += "Copy the SEARCH lines exactly from the current file (spelling, spacing, comments) and send the block again."
    return SearchNotFound(message)


@dataclass
class _Target:
    """One file's state while planning: what is on disk and what will be."""

    rel: str
    path: Path
    old: bytes | None  # None: the file does not exist yet
    mode: int | None
    text: str | None  # planned text with LF newlines; None: absent or binary
    crlf: bool = False

    def encoded(self) -> bytes:
        text = self.text or ""
        if self.crlf:
            text = text.replace("\r\n", "\n").replace("\n", "\r\n")
        return text.encode("utf-8")


def _load(path: Path, rel: str) -> _Target:
    if path.is_dir():
        raise EditError(f"{rel} is a directory, not a file; give the path of a file inside it.")
    parent = path.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise EditError(f"Cannot create {rel}: {parent.name} is a file, not a directory.")
    if not path.exists():
        return _Target(rel, path, None, None, None)
    try:
        old, mode = path.read_bytes(), path.stat().st_mode & 0o7777
    except OSError as exc:
        raise EditError(f"Cannot read {rel}: {exc.strerror}.") from exc
    try:
        decoded = old.decode("utf-8")
    except UnicodeDecodeError:
        return _Target(rel, path, old, mode, None)
    return _Target(rel, path, old, mode, decoded.replace("\r\n", "\n"), "\r\n" in decoded)


def _check_dropped(target: _Target, edit: FileEdit) -> None:
    """Refuses a whole Python file that no longer binds a top-level def or class it had."""
    if target.text is None or not is_python_path(target.rel):
        return
    dropped = top_level_names(target.text) - bound_names(edit.content)
    if dropped:
        raise DroppedDefinitions(target.rel, sorted(dropped))


def _apply_one(target: _Target, edit: FileEdit, guard_deletions: bool = False) -> str:
    if edit.kind == "whole":
        if guard_deletions:
            _check_dropped(target, edit)
        return _python(target.rel, edit.content)
    if edit.kind == "merge":
        if target.text is None or not is_python_path(target.rel):  # new, binary or not Python
            return _python(target.rel, edit.content)
        return _python(target.rel, merge_python(target.text, edit.content, path=target.rel))
    if edit.kind != "replace":
        raise EditError(f"Unknown edit kind {edit.kind!r} for {target.rel}.")
    if target.text is None and target.old is not None:
        raise EditError(
            f"{target.rel} is a binary file (not UTF-8 text), so SEARCH/REPLACE cannot edit it. "
            "Leave it alone or replace it with a complete text file."
        )
    if not edit.search.strip():
        if target.text is None:
            return edit.replace
        sep = "\n" if target.text and not target.text.endswith("\n") else ""
        return target.text + sep + edit.replace
    if target.text is None:
        raise SearchNotFound(
            f"The SEARCH block for {target.rel} cannot match: the file does not exist. To create it, "
            "send the complete file, or a SEARCH/REPLACE block with an empty SEARCH section."
        )
    new = _apply_search(target.text, edit.search, edit.replace)
    if new is None:
        raise _not_found(target.rel, target.text, edit.search)
    return new


def _python(rel: str, text: str) -> str:
    """A whole or merged Python file as it is written: without imports of its own names from itself."""
    return without_self_imports(text, rel) if is_python_path(rel) else text


def _plan(root: Path, edits: list[FileEdit], guard_deletions: bool = False) -> list[_Target]:
    """Every file's final state, computed in memory; the first problem raises."""
    if not Path(root).is_dir():
        raise EditError(f"The workspace {root} does not exist.")
    targets: dict[Path, _Target] = {}
    for edit in edits:
        rel = _normalise(edit.path)
        path = safe_path(root, edit.path)
        target = targets.get(path) or _load(path, rel)
        target.text = _apply_one(target, edit, guard_deletions)
        targets[path] = target
    return list(targets.values())


def current_files(root: Path, edits: list[FileEdit]) -> dict[str, bytes | None]:
    """What is on disk now at each path the edits touch (None: no such file), keyed as
    ``apply_edits`` keys its result; a path outside ``root`` raises ``UnsafePath``."""
    found: dict[str, bytes | None] = {}
    for edit in edits:
        path = safe_path(root, edit.path)
        found[_normalise(edit.path)] = path.read_bytes() if path.is_file() else None
    return found


def plan_edits(root: Path, edits: list[FileEdit], *, guard_deletions: bool = False) -> dict[str, str]:
    """Validates every edit and returns ``path -> new text`` without writing anything.

    With ``guard_deletions`` a whole-file edit of an existing Python file that drops
    one of its top-level functions or classes raises ``DroppedDefinitions``."""
    return {t.rel: t.encoded().decode("utf-8") for t in _plan(root, edits, guard_deletions)}


def write_leftovers(path: Path) -> list[Path]:
    """Temporary files of ``_atomic_write`` for ``path`` that a killed process left behind."""
    return sorted(path.parent.glob(f".{glob.escape(path.name)}.{'[0-9a-f]' * 12}.tmp"))


def _atomic_write(path: Path, data: bytes, mode: int | None) -> None:
    """Readers see the old file or the new one, never half of it."""
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex[:12]}.tmp"  # write_leftovers() finds these
    # Not mkstemp: its 0o600 would stick to new files; 0o666 lets the umask decide.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _make_parents(directory: Path, created: list[Path]) -> None:
    missing = []
    while not directory.exists():
        missing.append(directory)
        directory = directory.parent
    for folder in reversed(missing):
        folder.mkdir()
        created.append(folder)


def _rollback(written: list[_Target], created: list[Path]) -> list[str]:
    """Best effort undo; returns the files it could not restore."""
    failed = []
    for target in reversed(written):
        try:
            if target.old is None:
                target.path.unlink(missing_ok=True)
            else:
                _atomic_write(target.path, target.old, target.mode)
        except OSError:
            failed.append(target.rel)
    for folder in reversed(created):
        with contextlib.suppress(OSError):
            folder.rmdir()
    return failed


def apply_edits(root: Path, edits: list[FileEdit], *, guard_deletions: bool = False) -> dict[str, str]:
    """Plans (see ``plan_edits``), then writes every changed file; on a failed write undoes the others."""
    targets = _plan(root, edits, guard_deletions)
    written: list[_Target] = []
    created: list[Path] = []
    try:
        for target in targets:
            data = target.encoded()
            if data == target.old:
                continue
            _make_parents(target.path.parent, created)
            _atomic_write(target.path, data, target.mode)
            written.append(target)
    except BaseException as exc:
        failed = _rollback(written, created)
        if failed and hasattr(exc, "add_note"):  # Python 3.11+
            exc.add_note(f"could not restore: {', '.join(failed)}")
        raise
    return {t.rel: t.encoded().decode("utf-8") for t in targets}
