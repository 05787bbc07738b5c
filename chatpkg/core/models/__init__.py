"""Models: the protocol (``base``), its backends, and the registry that picks one.

This layer imports nothing of chatpkg but ``chatpkg.core.cancel`` and
``chatpkg.core.tokens``. Modules inside it import each other by their full
module path, never through this package, so the package import stays acyclic.
"""

from chatpkg.core.models.base import DEFAULT_CONTEXT_WINDOW, Chunk, Message, Model, ModelError, Usage
from chatpkg.core.models.registry import register_backend, resolve_model
from chatpkg.core.models.scripted import ScriptedModel, UnconfiguredModel

__all__ = [
    "DEFAULT_CONTEXT_WINDOW",
    "Chunk",
    "Message",
    "Model",
    "ModelError",
    "ScriptedModel",
    "UnconfiguredModel",
    "Usage",
    "register_backend",
    "resolve_model",
]
