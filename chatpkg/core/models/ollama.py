"""What an Ollama server says about a model's context window.

Ollama runs a model with ``num_ctx`` tokens of context: the request's
``options.num_ctx``, else the Modelfile's ``num_ctx`` parameter, else the
server's default (2048 in older releases; now 4096 or more depending on the
GPU's memory, or ``OLLAMA_CONTEXT_LENGTH``). A longer prompt is cut from the
front without an error. litellm's model info for ``ollama/`` and
``ollama_chat/`` models asks ``/api/show`` too, but reports the length the
model was trained for (``model_info["<arch>.context_length"]``), which is not
what the server runs. So chatpkg decides the window here and sends it as
``num_ctx`` with every request (``LiteLLMModel``).
"""

from __future__ import annotations

import os
import re

PREFIXES = ("ollama/", "ollama_chat/")
DEFAULT_API_BASE = "http://localhost:11434"
# Without a Modelfile num_ctx or a configured window, chatpkg asks for at most
# this much: Ollama allocates the KV cache for the whole num_ctx up front, and a
# model trained for 128k tokens would need gigabytes for it. chatpkg's prompts
# (a small package, its tests, compact history) fit; the embedded model uses the same.
WINDOW_CAP = 16384
PROBE_TIMEOUT = 3.0  # seconds; a refused connection answers at once
_ROUTES = ("/api/chat", "/api/generate", "/api/show", "/api/tags")
_NUM_CTX = re.compile(r"^\s*num_ctx\s+(\d+)\s*$", re.M)


def is_ollama(model: str) -> bool:
    return model.startswith(PREFIXES)


def server_base(api_base: str | None) -> str:
    """The server's root URL: the given base, else $OLLAMA_API_BASE, else localhost:11434."""
    base = (api_base or os.environ.get("OLLAMA_API_BASE") or DEFAULT_API_BASE).rstrip("/")
    for route in _ROUTES:
        base = base.removesuffix(route)
    return base


def model_tag(model: str) -> str:
    """``ollama_chat/qwen2.5-coder:7b`` -> ``qwen2.5-coder:7b``."""
    for prefix in PREFIXES:
        if model.startswith(prefix):
            return model.removeprefix(prefix)
    return model


def window_from_show(info: object) -> int | None:
    """The window to run with, from an ``/api/show`` answer; None when it says nothing usable.

    The Modelfile's ``num_ctx`` when it sets one (its author chose it), else the
    trained length capped at ``WINDOW_CAP``; never above the trained length.
    """
    if not isinstance(info, dict):
        return None
    trained = _trained_length(info.get("model_info"))
    parameters = info.get("parameters")
    match = _NUM_CTX.search(parameters) if isinstance(parameters, str) else None
    if match and int(match.group(1)) > 0:
        chosen = int(match.group(1))
        return min(chosen, trained) if trained else chosen
    return min(trained, WINDOW_CAP) if trained else None


def _trained_length(model_info: object) -> int | None:
    if not isinstance(model_info, dict):
        return None
    for key, value in model_info.items():
        if key.endswith(".context_length") and isinstance(value, int) and value > 0:
            return value
    return None


def probe_window(model: str, api_base: str | None, *, timeout: float = PROBE_TIMEOUT) -> int | None:
    """Ask the Ollama server (POST /api/show) for the model's window; None when it cannot say."""
    import httpx

    tag = model_tag(model)
    # "model" is the field today; older releases read "name" (litellm still sends only that).
    body = {"model": tag, "name": tag}
    try:
        response = httpx.post(f"{server_base(api_base)}/api/show", json=body, timeout=timeout)
        response.raise_for_status()
        return window_from_show(response.json())
    except (httpx.HTTPError, ValueError):
        return None
