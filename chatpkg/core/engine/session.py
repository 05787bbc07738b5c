"""The session engine: one conversation over one workspace.

``Session.run_turn`` is a generator of events; the turn's steps live in
``turn.py``. Every persistent event is written to the transcript and folded
into the session state before the front end sees it, so what the user sees,
what is stored and what undo knows are the same thing. Front ends read the
session through its queries (``next_context``, ``state.rows()``, ``position``)
and act on it through ``run_turn``, ``undo``, ``redo`` and the slash commands.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from chatpkg.core.cancel import CancelToken
from chatpkg.core.engine.events import Event, Notice, SettingsChanged, TurnRedone, TurnUndone, UserEditsCommitted
from chatpkg.core.engine.settings import MIN_BUDGET, Settings
from chatpkg.core.engine.state import SessionState
from chatpkg.core.engine.transcript import Transcript
from chatpkg.core.engine.turn import TurnRun
from chatpkg.core.models import Model
from chatpkg.core.prompts.context import Context, build_context
from chatpkg.core.runner import TestReport, TestRunner
from chatpkg.core.runner.confine import Confinement
from chatpkg.core.workspace import Workspace


class Session:
    """One conversation over one workspace. Not thread-safe: one turn at a time."""

    def __init__(
        self,
        *,
        session_id: str,
        workspace: Workspace,
        model: Model,
        runner: TestRunner,
        transcript: Transcript,
        settings: Settings,
        state: SessionState | None = None,
        confinement: Confinement | None = None,
    ) -> None:
        self.session_id = session_id
        self.workspace = workspace
        self.model = model
        self.runner = runner
        self.transcript = transcript
        self.settings = settings
        self.state = state or SessionState()
        self.confinement = confinement  # how the runner confines model-written code (None: a runner given in)
        self.last_prompt_tokens = 0

    @property
    def budget(self) -> int:
        if self.settings.context_budget:
            return self.settings.context_budget
        return max(MIN_BUDGET, self.model.context_window - self.settings.reserve_output_tokens)

    def next_context(self, request: str = "") -> Context:
        """What the next turn's first request would send: the turn and /tokens both use this."""
        report = self.state.last_report()
        return build_context(
            request,
            self.workspace.text_files(),
            self.state.history(),
            last_tests=TestReport.from_dict(report).for_model() if report else None,
            edit_format=self.settings.edit_format,
            budget=self.budget,
            program=self.settings.program,
        )

    def emit(self, event: Event) -> Event:
        """Record ``event`` (when persistent) and fold it into the state."""
        if event.persistent:
            self.transcript.append(event)
        self.state.apply(event)
        return event

    def run_turn(self, text: str, cancel: CancelToken | None = None) -> Iterator[Event]:
        if not text.strip():
            raise ValueError("a turn needs a request")
        yield from self.commit_user_edits()
        yield from TurnRun(self, text.strip(), cancel or CancelToken()).run()

    def commit_user_edits(self) -> Iterator[Event]:
        """Commit what the user changed by hand, as its own commit, before a turn."""
        turn = self.state.next_turn
        message = f"user edits before turn {turn}\n\nChatpkg-Session: {self.session_id}\n"
        result = self.workspace.commit_all(message)
        if result is not None:
            commit, files, redacted = result
            yield self.emit(UserEditsCommitted(commit.sha, commit.tree, files, redacted))

    def change_settings(self, changes: dict[str, Any], why: str) -> Event | None:
        """Change settings from the next turn on; recorded, so a resume keeps them."""
        before = self.settings.to_dict()
        self.settings = replace(self.settings, **changes)
        after = self.settings.to_dict()
        differ = {k: [before[k], after[k]] for k in changes if before[k] != after[k]}
        return self.emit(SettingsChanged(differ, why)) if differ else None

    def switch_model(self, model: Model, why: str = "/model") -> Event:
        """Use ``model`` from the next request on; the change is recorded, so a resume keeps it."""
        old, self.model = self.model.name, model
        return self.emit(SettingsChanged({"model": [old, model.name]}, why))

    # --- moving between turns ---------------------------------------------------

    def undo(self) -> Event:
        current = self.state.current
        if current is None or current.commit is None:
            return Notice("nothing to undo")
        refusal = self._refuse_move(expected=current.commit, what="undo")
        if refusal:
            return refusal
        self.workspace.move_to(current.parent)
        return self.emit(TurnUndone(current.turn, current.commit, current.parent))

    def redo(self) -> Event:
        if not self.state.redo:
            return Notice("nothing to redo")
        record = self.state.turns[self.state.redo[-1]]
        assert record.commit is not None
        refusal = self._refuse_move(expected=record.parent, what="redo")
        if refusal:
            return refusal
        self.workspace.move_to(record.commit)
        return self.emit(TurnRedone(record.turn, record.parent, record.commit))

    def _refuse_move(self, *, expected: str, what: str) -> Notice | None:
        dirty = self.workspace.changed_paths()
        if dirty:
            shown = ", ".join(dirty[:5]) + (" ..." if len(dirty) > 5 else "")
            return Notice(
                f"{what} refused: uncommitted changes in {shown} would be lost. "
                "Commit or discard them first (or send a message: they are committed as user edits)."
            )
        head = self.workspace.head().sha
        if head != expected:
            return Notice(
                f"{what} refused: HEAD is {head[:7]}, not {expected[:7]} as chatpkg left it; "
                f"commits made since would be dropped."
            )
        return None

    @property
    def position(self) -> int:
        """The turn the workspace is at (0: before the first turn)."""
        current = self.state.current
        return current.turn if current else 0
