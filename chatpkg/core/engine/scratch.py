"""A scratch copy of the workspace, for running code that is not the turn's beside it.

The verdict on a blamed test (verdict.py) and the candidates' cross-checks (crosscheck.py) both
run other candidates' code against tests without touching the workspace: a copy in a temporary
folder, with the files the turn wrote put back as the parent commit holds them.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from chatpkg.core.runner.report import is_test_path
from chatpkg.core.workspace.edits import EditError, FileEdit

if TYPE_CHECKING:
    from chatpkg.core.engine.turn import TurnRun

NOT_CODE = (".git", ".chatpkg", "__pycache__", ".venv", "venv", ".tox", ".pytest_cache", "node_modules")
NOT_COPIED = shutil.ignore_patterns(*NOT_CODE, "*.egg-info")


def code_edits(run: TurnRun, reply: str) -> list[FileEdit] | None:
    """A candidate's edits to the code (not to tests), read as the turn reads replies; None when it sent
    none or the reply cannot be read."""
    try:
        return [e for e in run.parse(reply) if not is_test_path(e.path)] or None
    except EditError:
        return None


@contextmanager
def scratch_copy(run: TurnRun, put_back: Iterable[str]) -> Iterator[Path]:
    """A copy of the workspace (removed afterwards) with ``put_back`` as the turn's parent commit holds them."""
    ws = run.s.workspace
    with tempfile.TemporaryDirectory(prefix="chatpkg-evidence-") as tmp:
        scratch = Path(tmp) / ws.root.name
        shutil.copytree(ws.root, scratch, ignore=NOT_COPIED, symlinks=True)
        for path in put_back:
            old = ws.file_at(run.parent, path)
            if old is None:
                (scratch / path).unlink(missing_ok=True)
            else:
                (scratch / path).write_text(old, encoding="utf-8")
        yield scratch
