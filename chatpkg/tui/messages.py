"""The messages the TUI's workers post to the apps (attributes down, messages up).

Workers do the slow work (opening the session, the model, git, pytest, replay)
in threads and only post these; the apps' handlers update the widgets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message

from chatpkg.core.engine.commands import CommandResult
from chatpkg.core.engine.events import Event
from chatpkg.core.engine.replay import ReplayPage
from chatpkg.core.engine.session import Session
from chatpkg.core.workspace.start import StartPlan
from chatpkg.tui.panels import TurnRow

# --- the chat app --------------------------------------------------------------


@dataclass
class SessionOpened(Message):
    session: Session
    problems: list[str]


@dataclass
class SessionFailed(Message):
    error: str


@dataclass
class ConsentNeeded(Message):
    """The folder holds files but no repository: ask before opening it (``plan`` says what happens)."""

    plan: StartPlan


@dataclass
class ModelPrepared(Message):
    error: str | None


@dataclass
class TurnEvent(Message):
    event: Event


@dataclass
class TurnFinished(Message):
    pass


@dataclass
class CommandDone(Message):
    line: str
    result: CommandResult


@dataclass
class WorkspaceRead(Message):
    files: list[str]
    changed: set[str]
    rows: list[TurnRow]
    head: str
    turn: int


@dataclass
class TurnDiff(Message):
    number: int
    diff: str
    report: dict[str, Any] | None


# --- the replay app ------------------------------------------------------------


@dataclass
class PageReady(Message):
    page: ReplayPage


@dataclass
class ReplayFinished(Message):
    error: str | None = None
