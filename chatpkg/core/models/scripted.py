"""Models that need no provider: canned replies, and a stand-in when none was chosen."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterable, Iterator
from pathlib import Path

from chatpkg.core.cancel import CancelToken
from chatpkg.core.models.base import DEFAULT_CONTEXT_WINDOW, Chunk, Message, Model, ModelError, Usage
from chatpkg.core.tokens import count_message_tokens, count_tokens


class ScriptedModel(Model):
    """Serves replies from a queue and records every request it was sent."""

    def __init__(
        self,
        replies: Iterable[str] = (),
        *,
        name: str = "scripted",
        context_window: int = 32768,
        chunk_chars: int = 16,
    ) -> None:
        self.name = name
        self.context_window = context_window
        self.context_window_source = "scripted"
        self.replies: deque[str] = deque(replies)
        self.asked: list[list[Message]] = []
        self.chunk_chars = chunk_chars

    @classmethod
    def from_file(cls, path: Path) -> ScriptedModel:
        """A JSON list of replies (strings, or objects with a "reply" field)."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot read scripted replies from {path}: {exc}") from exc
        if not isinstance(data, list):
            raise ModelError(f"{path}: expected a JSON list of replies")
        replies = [item["reply"] if isinstance(item, dict) else str(item) for item in data]
        return cls(replies, name=f"scripted:{path}")

    def load(self, replies: Iterable[str]) -> None:
        self.replies = deque(replies)

    def stream(self, messages: list[Message], cancel: CancelToken | None = None) -> Iterator[Chunk]:
        self.asked.append([dict(m) for m in messages])
        if not self.replies:
            raise ModelError(f"{self.name} has no more replies")
        reply = self.replies.popleft()
        for start in range(0, len(reply), self.chunk_chars):
            if cancel is not None:
                cancel.raise_if_cancelled()
            yield reply[start : start + self.chunk_chars]
        yield Usage(count_message_tokens(messages), count_tokens(reply))


class UnconfiguredModel(Model):
    """Stands in when no model was chosen: the session opens, turns explain what to do."""

    name = "(no model)"
    context_window = DEFAULT_CONTEXT_WINDOW

    def stream(self, messages: list[Message], cancel: CancelToken | None = None) -> Iterator[Chunk]:
        raise ModelError(
            "no model configured: start chatpkg with --model MODEL (any litellm model string, "
            "or scripted:FILE), set CHATPKG_MODEL, or use /model MODEL"
        )
