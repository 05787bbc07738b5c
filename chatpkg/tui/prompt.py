"""The message input: multi-line, Enter sends, history on Up/Down, slash commands complete."""

from __future__ import annotations

import os
from dataclasses import dataclass

from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widgets import TextArea

from chatpkg.core.engine.commands import COMMANDS
from chatpkg.tui.history import InputHistory

NEWLINE_KEYS = ("ctrl+j", "alt+enter", "shift+enter")


def completions(text: str) -> list[str]:
    """Slash commands that the text (a first word starting with /) could become."""
    if not text.startswith("/") or " " in text or "\n" in text:
        return []
    return [c for c in COMMANDS if c.startswith(text) and c != text]


class PromptInput(TextArea):
    """Enter sends; Ctrl+J (or Alt+Enter) inserts a newline; Tab completes a slash command."""

    BINDINGS = [Binding("tab", "complete", "Complete", show=False)]

    @dataclass
    class Submitted(Message):
        prompt: PromptInput
        text: str

    @dataclass
    class CompletionsChanged(Message):
        prompt: PromptInput
        matches: list[str]

    def __init__(self, history: InputHistory | None = None, **kwargs: object) -> None:
        super().__init__(soft_wrap=True, show_line_numbers=False, tab_behavior="focus", **kwargs)  # type: ignore[arg-type]
        self.inputs = history or InputHistory()

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            self.send()
            return
        if event.key in NEWLINE_KEYS:
            event.stop()
            event.prevent_default()
            self.insert("\n")
            return
        if event.key == "up" and self.cursor_location[0] == 0:
            self._recall(self.inputs.previous(self.text), event)
            return
        if event.key == "down" and self.cursor_location[0] == self.document.line_count - 1:
            self._recall(self.inputs.next(), event)
            return
        await super()._on_key(event)

    def _recall(self, text: str | None, event: events.Key) -> None:
        event.stop()
        event.prevent_default()
        if text is not None:
            self.load_text(text)
            self.move_cursor(self.document.end)

    def send(self) -> None:
        text = self.text.strip()
        if not text:
            return
        self.inputs.add(text)
        self.load_text("")
        self.post_message(self.Submitted(self, text))

    def action_complete(self) -> None:
        matches = completions(self.text)
        if not matches:
            self.screen.focus_next()
            return
        common = os.path.commonprefix(matches)
        self.load_text(common + (" " if len(matches) == 1 else ""))
        self.move_cursor(self.document.end)

    def _on_text_area_changed(self, event: TextArea.Changed) -> None:
        self.post_message(self.CompletionsChanged(self, completions(self.text)))
