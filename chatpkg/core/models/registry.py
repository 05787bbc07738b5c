"""Model strings to models: a table of ``{prefix: factory}`` that new backends plug into.

``scripted:FILE`` serves canned replies, ``local:FILE.gguf`` runs a GGUF file in
process, and anything else is a litellm model string (``openai/gpt-4o-mini``,
``local/qwen2.5-coder-1.5b`` for the embedded model). A backend module is
imported only when its prefix is used.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from chatpkg.core.models.base import Model, ModelError

Factory = Callable[[str], Model]  # gets the model string without its prefix
BACKENDS: dict[str, Factory] = {}


def register_backend(prefix: str, factory: Factory) -> None:
    """Route model strings starting with ``prefix`` to ``factory``; "" is the fallback."""
    BACKENDS[prefix] = factory


def resolve_model(spec: str) -> Model:
    """The model a command line's ``--model`` names; the longest matching prefix wins."""
    for prefix in sorted(BACKENDS, key=len, reverse=True):
        if prefix and spec.startswith(prefix):
            return BACKENDS[prefix](spec.removeprefix(prefix))
    return BACKENDS[""](spec)


def _scripted(path: str) -> Model:
    from chatpkg.core.models.scripted import ScriptedModel

    return ScriptedModel.from_file(Path(path))


def _gguf(path: str) -> Model:
    from chatpkg.core.models.litellm_backend import LiteLLMModel
    from chatpkg.core.models.local_provider import register_gguf

    try:
        return LiteLLMModel(register_gguf(Path(path)))
    except FileNotFoundError as exc:
        raise ModelError(str(exc)) from exc


def _litellm(spec: str) -> Model:
    from chatpkg.core.models.litellm_backend import LiteLLMModel

    return LiteLLMModel(spec)


register_backend("scripted:", _scripted)
register_backend("local:", _gguf)
register_backend("", _litellm)
