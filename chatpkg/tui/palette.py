"""Every chatpkg command in Textual's command palette (Ctrl+P)."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

# (title, action name, help): the app's actions, so the palette and the bindings do the same thing.
PALETTE = (
    ("Undo the last turn", "undo", "Go back to the previous turn's commit"),
    ("Redo", "redo", "Go forward again to the turn you undid"),
    ("Run tests", "run_tests", "Run pytest on the workspace now"),
    ("Cancel the running turn", "cancel", "Stop the model stream or test run; nothing is committed"),
    ("Show diff", "show_tab('diff')", "The selected turn's diff"),
    ("Show tests", "show_tab('tests')", "The last test report"),
    ("Show files", "show_tab('files')", "The workspace tree"),
    ("Show turns", "show_tab('turns')", "The turn list"),
    ("Context tokens", "slash('/tokens')", "Tokens in the last and next request"),
    ("History", "slash('/history')", "The turns of this session"),
    ("Model", "slash('/model')", "The model in use; type /model NAME to switch"),
    ("Team", "slash('/team')", "Who works on a turn; type /team coder+tester 4 to add a tester and 4 candidates"),
    ("Help", "slash('/help')", "Slash commands and keys"),
    ("Save a screenshot", "save_svg", "Save the screen as an SVG file in the current directory"),
    ("Quit", "quit", "Leave chatpkg"),
)


class ChatpkgCommands(Provider):
    async def discover(self) -> Hits:
        for title, action, help_text in PALETTE:
            yield DiscoveryHit(title, partial(self.app.run_action, action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, action, help_text in PALETTE:
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), partial(self.app.run_action, action), help=help_text)
