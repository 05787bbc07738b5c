"""Model strings to models: a table of ``{prefix: factory}`` that new backends plug into.

``scripted:FILE`` serves canned replies, ``local:FILE.gguf`` runs a GGUF file in
process, and anything else is a litellm model string (``openai/gpt-4o-mini``,
``local/qwen2.5-coder-1.5b`` for the embedded model). A backend module is
imported only when its prefix is used.

``config`` is the model's table from the config files (``context_window``,
``api_base``; ``chatpkg.core.engine.config.model_config``); a backend uses what
applies to it and ignores the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from chatpkg.core.models.base import Model, ModelError

ModelConfig = Mapping[str, Any]
Factory = Callable[[str, ModelConfig], Model]  # gets the model string without its prefix, and its config
BACKENDS: dict[str, Factory] = {}


def register_backend(prefix: str, factory: Factory) -> None:
    """Route model strings starting with ``prefix`` to ``factory``; "" is the fallback."""
    BACKENDS[prefix] = factory


def resolve_model(spec: str, config: ModelConfig | None = None) -> Model:
    """The model a command line's ``--model`` names; the longest matching prefix wins."""
    config = config or {}
    for prefix in sorted(BACKENDS, key=len, reverse=True):
        if prefix and spec.startswith(prefix):
            return BACKENDS[prefix](spec.removeprefix(prefix), config)
    return BACKENDS[""](spec, config)


def _scripted(path: str, config: ModelConfig) -> Model:
    from chatpkg.core.models.scripted import ScriptedModel

    return ScriptedModel.from_file(Path(path))


def _gguf(path: str, config: ModelConfig) -> Model:
    from chatpkg.core.models.litellm_backend import LiteLLMModel
    from chatpkg.core.models.local_provider import register_gguf

    try:
        return LiteLLMModel(register_gguf(Path(path)))
    except FileNotFoundError as exc:
        raise ModelError(str(exc)) from exc


def _litellm(spec: str, config: ModelConfig) -> Model:
    from chatpkg.core.models.litellm_backend import LiteLLMModel

    return LiteLLMModel(spec, api_base=config.get("api_base"), context_window=config.get("context_window"))


register_backend("scripted:", _scripted)
register_backend("local:", _gguf)
register_backend("", _litellm)
