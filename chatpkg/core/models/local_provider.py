"""The ``local/`` litellm provider: GGUF models run in process by llama.cpp.

Registered in litellm's ``custom_provider_map``, so the session core talks to
the embedded model exactly as it talks to any provider: the same
``litellm.completion(stream=True)``, the same usage counts, the same errors.

``local/qwen2.5-coder-1.5b`` is the embedded model (assembled from its PyPI
parts on first use); ``local:/path/model.gguf`` on the command line registers
any GGUF file under ``local/<file stem>``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from chatpkg.core.models import embedded
from chatpkg.core.models.llama_engine import DEFAULT_CONTEXT, Generation, engine_for

PROVIDER = "local"
_gguf_paths: dict[str, Path] = {}


def register_gguf(path: Path) -> str:
    """Make a GGUF file reachable as a litellm model string; returns that string."""
    path = Path(path).expanduser().resolve()
    if not path.is_file():
        raise FileNotFoundError(f"no GGUF file at {path}")
    _gguf_paths[path.stem] = path
    return f"{PROVIDER}/{path.stem}"


def gguf_path(model: str) -> Path:
    """The file behind ``model`` (with or without the ``local/`` prefix)."""
    name = model.removeprefix(f"{PROVIDER}/")
    if name == embedded.EMBEDDED_MODEL.removeprefix(f"{PROVIDER}/"):
        return embedded.assemble()
    if name in _gguf_paths:
        return _gguf_paths[name]
    known = ", ".join([embedded.EMBEDDED_MODEL, *(f"{PROVIDER}/{n}" for n in _gguf_paths)])
    raise ValueError(f"unknown local model {model!r}; known: {known} (or pass --model local:/path/model.gguf)")


def context_window(model: str) -> int:
    return DEFAULT_CONTEXT


def _chunk(text: str, *, finished: bool = False, finish: str = "", usage: dict[str, int] | None = None) -> Any:
    return {
        "text": text,
        "is_finished": finished,
        "finish_reason": finish,
        "usage": usage,
        "index": 0,
        "tool_use": None,
    }


def _stream(model: str, messages: list[dict[str, str]], params: dict[str, Any]) -> Iterator[Any]:
    engine = engine_for(gguf_path(model))
    generation = Generation()
    for text in engine.stream_chat(
        messages,
        generation,
        temperature=float(params.get("temperature") or 0.0),
        seed=params.get("seed", 0),
        max_tokens=params.get("max_tokens") or params.get("max_completion_tokens"),
    ):
        yield _chunk(text)
    usage = {
        "prompt_tokens": generation.prompt_tokens,
        "completion_tokens": generation.completion_tokens,
        "total_tokens": generation.prompt_tokens + generation.completion_tokens,
    }
    yield _chunk("", finished=True, finish=generation.finish_reason, usage=usage)


def make_handler() -> Any:
    """A litellm ``CustomLLM`` serving ``local/...`` models (litellm imported by the caller)."""
    from litellm import CustomLLM, ModelResponse

    class LocalLLM(CustomLLM):  # type: ignore[misc]
        def streaming(self, model: str, messages: list, optional_params: dict, **_: Any) -> Iterator[Any]:  # type: ignore[override]
            return _stream(model, messages, optional_params)

        def completion(self, model: str, messages: list, optional_params: dict, **_: Any) -> Any:  # type: ignore[override]
            chunks = list(_stream(model, messages, optional_params))
            text = "".join(c["text"] for c in chunks)
            usage = chunks[-1]["usage"]
            return ModelResponse(
                model=f"{PROVIDER}/{model}",
                created=int(time.time()),
                choices=[{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                usage=usage,
            )

    return LocalLLM()


def register(litellm: Any) -> None:
    """Add the ``local`` provider to litellm (once)."""
    if any(item.get("provider") == PROVIDER for item in litellm.custom_provider_map):
        return
    litellm.custom_provider_map = [
        *litellm.custom_provider_map,
        {"provider": PROVIDER, "custom_handler": make_handler()},
    ]
    from litellm.utils import custom_llm_setup

    custom_llm_setup()
