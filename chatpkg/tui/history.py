"""The input history, in prompt-toolkit's FileHistory format so the REPL and the TUI share it."""

from __future__ import annotations

import datetime
from pathlib import Path


class InputHistory:
    """Entries oldest first; Up walks back from the newest, Down walks forward to the draft."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.entries: list[str] = self._load() if path else []
        self.position = len(self.entries)  # len(entries): the draft being typed
        self.draft = ""

    def _load(self) -> list[str]:
        assert self.path is not None
        try:
            text = self.path.read_text(encoding="utf-8")
        except OSError:
            return []
        entries: list[str] = []
        lines: list[str] = []
        for line in text.splitlines():
            if line.startswith("+"):
                lines.append(line[1:])
            elif lines:
                entries.append("\n".join(lines))
                lines = []
        if lines:
            entries.append("\n".join(lines))
        return entries

    def add(self, text: str) -> None:
        if text and (not self.entries or self.entries[-1] != text):
            self.entries.append(text)
            if self.path is not None:
                self._save(text)
        self.position, self.draft = len(self.entries), ""

    def _save(self, text: str) -> None:
        assert self.path is not None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as out:
                out.write(f"\n# {datetime.datetime.now()}\n")
                out.writelines(f"+{line}\n" for line in text.split("\n"))
        except OSError:
            pass  # history is a convenience: never fail a turn over it

    def previous(self, current: str) -> str | None:
        if self.position == 0:
            return None
        if self.position == len(self.entries):
            self.draft = current
        self.position -= 1
        return self.entries[self.position]

    def next(self) -> str | None:
        if self.position >= len(self.entries):
            return None
        self.position += 1
        return self.draft if self.position == len(self.entries) else self.entries[self.position]
