"""The TUI asks before it makes a folder of files a repository."""

from __future__ import annotations

import time
from pathlib import Path

from textual.pilot import Pilot

from chatpkg.core.engine.store import open_session
from chatpkg.core.models import ScriptedModel
from chatpkg.tui.app import ChatpkgApp
from chatpkg.tui.consent import ConsentScreen


def folder_of_files(tmp_path: Path) -> Path:
    root = tmp_path / "notes"
    root.mkdir()
    (root / "todo.py").write_text("print('todo')\n")
    (root / ".env").write_text("KEY=secret\n")
    return root


def app_for(root: Path) -> ChatpkgApp:
    model = ScriptedModel([])
    return ChatpkgApp(lambda init=False: open_session(root, model, init=init), model_name=model.name,
                      resolve_model=lambda spec: model, history=root.parent / "history")


async def until(pilot: Pilot[int], condition: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out waiting for the app"
        await pilot.pause(0.05)


def asked(app: ChatpkgApp) -> bool:
    """The consent dialog is up and composed (on a loaded machine the screen comes before its widgets)."""
    return isinstance(app.screen, ConsentScreen) and bool(app.screen.query("#consent-plan")) \
        and bool(app.screen.query("#consent-no"))


async def test_the_tui_asks_and_starts_when_told_yes(tmp_path: Path) -> None:
    root = folder_of_files(tmp_path)
    app = app_for(root)
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: asked(app))
        plan = str(app.screen.query_one("#consent-plan").render())
        assert "todo.py" in plan and ".env" in plan and "not a git repository" in plan
        assert not (root / ".git").exists()

        await pilot.press("y")
        await until(pilot, lambda: app.session is not None)

    assert (root / ".git").is_dir()


async def test_the_tui_quits_and_changes_nothing_when_told_no(tmp_path: Path) -> None:
    root = folder_of_files(tmp_path)
    app = app_for(root)
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: asked(app))
        await pilot.press("escape")
        await pilot.pause(0.2)

    assert app.return_code == 0 and app.session is None
    assert not (root / ".git").exists()


async def test_quit_has_the_focus_so_enter_changes_nothing(tmp_path: Path) -> None:
    root = folder_of_files(tmp_path)
    app = app_for(root)
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: asked(app) and app.focused is not None)
        assert app.focused.id == "consent-no"  # type: ignore[union-attr]
        await pilot.press("enter")
        await pilot.pause(0.2)

    assert app.session is None and not (root / ".git").exists()
