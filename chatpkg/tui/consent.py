"""Asked before chatpkg makes a folder of files a git repository: what it would track and send."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from chatpkg.core.workspace.start import StartPlan


class ConsentScreen(ModalScreen[bool]):
    """The plan in words, and two answers: go ahead (True) or quit (False)."""

    BINDINGS = [Binding("escape", "answer(False)", "Quit"), Binding("y", "answer(True)", "Go ahead")]
    AUTO_FOCUS = "#consent-no"  # focused once the screen is up (an on_mount query can run before its widgets)

    def __init__(self, plan: StartPlan) -> None:
        super().__init__()
        self.plan = plan

    def compose(self) -> ComposeResult:
        with Vertical(id="consent"):
            yield Static("Start chatpkg here?", id="consent-title")
            yield Static(self.plan.describe(), id="consent-plan", markup=False)
            yield Static("Nothing has been changed yet. Add a .chatpkgignore (gitignore syntax) to leave files out.",
                         id="consent-hint", markup=False)
            with Horizontal(id="consent-buttons"):
                yield Button("Track and start (y)", variant="primary", id="consent-yes")
                yield Button("Quit (Esc)", id="consent-no")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "consent-yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
