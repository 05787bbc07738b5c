"""A few snapshots pin the TUI's layout (pytest-textual-snapshot); behaviour is tested in test_tui.py.

Commit ids show on screen, so git's identity and dates are fixed here to make them repeatable.
Update after an intended layout change with: pytest tests/test_tui_snapshots.py --snapshot-update
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers import ADD_REPLY
from test_tui import EXAMPLE, until
from textual.pilot import Pilot

from chatpkg.core.engine.store import open_session
from chatpkg.core.models import ScriptedModel
from chatpkg.tui.app import ChatpkgApp
from chatpkg.tui.replay_app import ReplayApp


@pytest.fixture(autouse=True)
def fixed_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for who in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{who}_DATE", "1795341600 +0000")
        monkeypatch.setenv(f"GIT_{who}_NAME", "chatpkg")
        monkeypatch.setenv(f"GIT_{who}_EMAIL", "chatpkg@localhost")


def after_one_turn(root: Path) -> tuple[ChatpkgApp, Any]:
    model = ScriptedModel([ADD_REPLY])
    app = ChatpkgApp(lambda: open_session(root, model, resume=False, session_id="snapshot"),
                     model_name=model.name, resolve_model=lambda spec: model)

    async def run_before(pilot: Pilot[int]) -> None:
        app.prompt.cursor_blink = False  # a blinking cursor would make the snapshot depend on timing
        await until(pilot, lambda: app.session is not None)
        app.prompt.load_text("Add add(a, b) returning the sum, with a test")
        await pilot.press("enter")
        await until(pilot, lambda: app.session.position == 1 and not app.turn_running)  # type: ignore[union-attr]
        await until(pilot, lambda: app.turns.row_count == 1)
        await pilot.pause(0.3)

    return app, run_before


def test_after_a_turn_at_80x24(snap_compare: Any, root: Path) -> None:
    app, run_before = after_one_turn(root)
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_after_a_turn_wide(snap_compare: Any, root: Path) -> None:
    app, run_before = after_one_turn(root)
    assert snap_compare(app, terminal_size=(140, 40), run_before=run_before)


def test_replay_at_step_two(snap_compare: Any) -> None:
    app = ReplayApp(EXAMPLE)

    async def run_before(pilot: Pilot[int]) -> None:
        await until(pilot, lambda: app.finished)
        await pilot.press("n", "n")
        await until(pilot, lambda: app.position == 2)  # on a busy machine the keys land later
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=(120, 32), run_before=run_before)
