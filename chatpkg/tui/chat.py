"""The chat pane: user messages, the assistant's streamed Markdown replies, outcome lines."""

from __future__ import annotations

from textual.containers import VerticalScroll
from textual.widgets import Markdown, Static
from textual.widgets.markdown import MarkdownStream


class UserMessage(Static):
    """What the user asked."""


class AssistantMessage(Markdown):
    """One model reply, streamed in as Markdown."""


class OutcomeLine(Static):
    """How a turn ended: files, tests, repairs, commit (or why nothing was committed)."""


class NoticeLine(Static):
    """What chatpkg says: command output, repairs, notices."""


class ChatLog(VerticalScroll):
    """The conversation. Replies stream through a MarkdownStream, which batches fast deltas."""

    DEFAULT_CLASSES = "chat"

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.reply: AssistantMessage | None = None
        self.stream: MarkdownStream | None = None
        self.streamed = ""

    async def add_user(self, text: str) -> None:
        await self.end_reply()
        await self._add(UserMessage(text, markup=False))

    async def add_notice(self, text: str, *, classes: str = "") -> None:
        await self.end_reply()
        await self._add(NoticeLine(text, markup=False, classes=classes))

    async def add_outcome(self, text: str, *, ok: bool) -> None:
        await self.end_reply()
        await self._add(OutcomeLine(text, markup=False, classes="ok" if ok else "bad"))

    async def add_reply(self, text: str) -> None:
        """A whole reply at once (replay)."""
        await self.end_reply()
        await self._add(AssistantMessage(text))

    async def stream_reply(self, delta: str) -> None:
        if self.reply is None:
            self.reply = AssistantMessage()
            await self._add(self.reply)
            self.stream = Markdown.get_stream(self.reply)
            self.streamed = ""
        assert self.stream is not None
        self.streamed += delta
        await self.stream.write(delta)
        self.scroll_end(animate=False)

    async def end_reply(self) -> None:
        if self.stream is not None:
            await self.stream.stop()
        self.reply, self.stream = None, None

    async def clear_log(self) -> None:
        await self.end_reply()
        await self.remove_children()

    async def _add(self, widget: Static | Markdown) -> None:
        await self.mount(widget)
        self.scroll_end(animate=False)
