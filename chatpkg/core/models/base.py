"""The one small protocol every model backend implements.

``Model.stream(messages, cancel)`` yields text deltas and ends with one
``Usage``; ``Model.prepare()`` does slow start-up work ahead of the first
request (the default does nothing). Backends: ``scripted.py`` (canned replies
for tests, demos and replay), ``litellm_backend.py`` (every real provider, and
the embedded model through litellm). ``registry.py`` turns a model string into
one of them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from chatpkg.core.cancel import CancelToken

Message = dict[str, str]
DEFAULT_CONTEXT_WINDOW = 8192


class ModelError(Exception):
    """The model could not answer; the turn ends with this message, uncommitted."""


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int
    cost: float | None = None


Chunk = str | Usage


class Model(Protocol):
    """What the engine needs of a model. Backends subclass it to inherit ``prepare``."""

    name: str
    context_window: int
    context_window_source: str = "the model"  # who said how big the window is ("provider", "config", ...)

    def stream(self, messages: list[Message], cancel: CancelToken | None = None) -> Iterator[Chunk]:
        """Yield the reply as text deltas, then one Usage."""
        ...

    def with_sampling(self, temperature: float, seed: int) -> Model:
        """This model sampling at ``temperature`` with ``seed`` (for candidates); the default: itself."""
        return self

    def prepare(self) -> None:
        """Do slow start-up work now (load weights, import a client), e.g. while the user types.

        Front ends call it in the background once a session opens; errors surface again at the
        first request, so raising here is allowed.
        """
        return None
