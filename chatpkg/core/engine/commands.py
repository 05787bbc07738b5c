"""Slash commands, as plain text, for any front end.

Each command is a method returning the lines to show; the REPL prints them,
the TUI can show them in its chat pane. Turn logic stays in the session.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chatpkg.core.engine.events import Event, Notice, TurnRedone, TurnUndone
from chatpkg.core.engine.session import Session
from chatpkg.core.engine.settings import MAX_CANDIDATES, TEAMS
from chatpkg.core.models import Model
from chatpkg.core.runner import TestReport

HELP = {
    "/undo": "go back to the previous turn's commit",
    "/redo": "go forward again to the turn you undid",
    "/diff": "/diff [turn]: the changes a turn made (default: the current one)",
    "/test": "run the tests now",
    "/files": "list the workspace files (M: changed, ?: new, not committed)",
    "/history": "the turns of this session",
    "/tokens": "context tokens: last request, next request, budget",
    "/model": "/model [name]: show or switch the model",
    "/team": "/team [coder|coder+tester|analyst+coder+tester] [candidates]: who works on a turn",
    "/help": "this help",
    "/quit": "leave (also Ctrl-D)",
}
COMMANDS = tuple(HELP)


@dataclass(frozen=True)
class CommandResult:
    """What a command says, and what a front end with panes may do instead of printing it."""

    text: str
    quit: bool = False
    moved: bool = False  # the workspace moved to another turn (undo, redo): refresh what shows it
    pane: str | None = None  # "diff", "tests" or "files": the pane that shows this result
    turn: int | None = None  # the turn a /diff is about
    report: dict[str, Any] | None = None  # /test's report, as TestReport.to_dict()
    event: Event | None = None  # what /undo or /redo did, for front ends that render events


class Commands:
    def __init__(self, session: Session, resolve_model: Callable[[str], Model]) -> None:
        self.session = session
        self.resolve_model = resolve_model

    def run(self, line: str) -> CommandResult:
        try:
            name, *args = shlex.split(line.strip())
        except ValueError as exc:
            return CommandResult(f"cannot read the command: {exc}")
        handler = getattr(self, "do_" + name.lstrip("/"), None)
        if name not in HELP or handler is None:
            return CommandResult(f"unknown command {name}; /help lists them")
        try:
            return handler(*args)
        except TypeError:
            return CommandResult(f"usage: {HELP[name]}")

    def do_help(self) -> CommandResult:
        width = max(map(len, HELP))
        lines = [f"{name.ljust(width)}  {text}" for name, text in HELP.items()]
        lines.append("Anything else is a request for the next turn.")
        return CommandResult("\n".join(lines))

    def do_quit(self) -> CommandResult:
        return CommandResult("bye", quit=True)

    def do_undo(self) -> CommandResult:
        event = self.session.undo()
        if isinstance(event, TurnUndone):
            return CommandResult(
                f"back at turn {self.session.position} ({event.from_commit[:7]} kept for /redo)", moved=True, event=event
            )
        return CommandResult(event.message if isinstance(event, Notice) else str(event), event=event)

    def do_redo(self) -> CommandResult:
        event = self.session.redo()
        if isinstance(event, TurnRedone):
            return CommandResult(f"forward to turn {event.turn} ({event.to_commit[:7]})", moved=True, event=event)
        return CommandResult(event.message if isinstance(event, Notice) else str(event), event=event)

    def do_diff(self, turn: str = "") -> CommandResult:
        state = self.session.state
        number = int(turn) if turn.isdigit() else self.session.position
        record = state.turns.get(number)
        if record is None or record.commit is None:
            return CommandResult(f"turn {number} has no commit" if number else "no turn yet", pane="diff", turn=number)
        diff = self.session.workspace.diff(record.parent, record.commit)
        return CommandResult(diff or "(no changes)", pane="diff", turn=number)

    def do_test(self) -> CommandResult:
        report: TestReport = self.session.runner.run(self.session.workspace.root)
        return CommandResult(report.for_model(), pane="tests", report=report.to_dict())

    def do_files(self) -> CommandResult:
        ws = self.session.workspace
        changed = set(ws.changed_paths())
        files = ws.text_files()
        lines = [f"{'M' if p in changed else ' '} {p}" for p in files]
        lines += [f"? {p}" for p in sorted(changed - set(files))]
        return CommandResult("\n".join(lines) or "(no files)", pane="files")

    def do_history(self) -> CommandResult:
        rows = self.session.state.rows()
        if not rows:
            return CommandResult("no turns yet")
        lines = []
        for record, mark in rows:
            sha = record.commit[:7] if record.commit else "-------"
            outcome = record.tests or record.outcome
            lines.append(f"{record.turn:>3} {sha} {mark:<6} {record.text.splitlines()[0][:50]}  ({outcome})")
        lines.append(f"at turn {self.session.position}; * = in the workspace")
        return CommandResult("\n".join(lines))

    def do_tokens(self) -> CommandResult:
        s = self.session
        context = s.next_context()
        return CommandResult(
            f"last request: {s.last_prompt_tokens} tokens; next request: about {context.prompt_tokens}"
            f" tokens before your message; budget {s.budget} of {s.model.context_window}"
            f" (the window, from {s.model.context_window_source})"
        )

    def do_team(self, team: str = "", candidates: str = "") -> CommandResult:
        settings = self.session.settings
        if not team:
            return CommandResult(f"team: {settings.team}; candidates: {settings.candidates}")
        if team not in TEAMS:
            return CommandResult(f"unknown team {team}; choose one of: {', '.join(TEAMS)}")
        changes: dict[str, object] = {"team": team}
        if candidates:
            if not candidates.isdigit() or int(candidates) > MAX_CANDIDATES:
                return CommandResult(f"candidates: a number from 0 to {MAX_CANDIDATES}")
            changes["candidates"] = int(candidates)
        self.session.change_settings(changes, "/team")
        return CommandResult(f"team: {self.session.settings.team}; candidates: {self.session.settings.candidates}")

    def do_model(self, name: str = "") -> CommandResult:
        if not name:
            return CommandResult(f"model: {self.session.model.name}")
        self.session.switch_model(self.resolve_model(name))
        return CommandResult(f"model: {self.session.model.name}")
