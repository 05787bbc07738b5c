"""llama.cpp in process: one loaded model per GGUF file, reused by every request.

Keeping one ``Llama`` instance is what makes multi-turn work affordable on a
CPU: llama.cpp keeps the KV cache of the last request, and a request whose
tokens start with the same prefix only evaluates the tokens after it. chatpkg
orders its prompts from the most stable part to the least stable one, so a
repair round or the next turn pays for its new tokens, not the whole context.
"""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_CONTEXT = 16384
DEFAULT_MAX_TOKENS = 2048
TOKENS_PER_PIECE = 4

_engines: dict[str, LlamaEngine] = {}
_engines_lock = threading.Lock()


def physical_cores() -> int:
    """Physical cores (hyper-threads share a core's units; llama.cpp gains nothing from them)."""
    try:
        cores = set()
        physical = "0"
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                key, _, value = line.partition(":")
                key, value = key.strip(), value.strip()
                if key == "physical id":
                    physical = value
                elif key == "core id":
                    cores.add((physical, value))
        if cores:
            return len(cores)
    except OSError:
        pass
    return max(1, (os.cpu_count() or 2) // 2)


@dataclass
class Generation:
    """Filled in while a reply streams: what the request cost."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str = "stop"


class LlamaEngine:
    """One GGUF loaded with llama-cpp-python (mmap), serving one request at a time."""

    def __init__(self, path: Path, *, n_ctx: int = DEFAULT_CONTEXT, threads: int | None = None) -> None:
        from llama_cpp import Llama

        self.path = path
        self.n_ctx = n_ctx
        self.threads = threads or physical_cores()
        self.llama = Llama(
            model_path=str(path),
            n_ctx=n_ctx,
            n_threads=self.threads,
            n_threads_batch=self.threads,
            use_mmap=True,
            seed=0,
            verbose=False,
        )
        self.lock = threading.Lock()

    def stream_chat(
        self,
        messages: list[dict[str, str]],
        generation: Generation,
        *,
        temperature: float = 0.0,
        seed: int | None = 0,
        max_tokens: int | None = None,
    ) -> Iterator[str]:
        """Yield the reply's text; ``generation`` gets the token counts.

        Tokens are handed on in groups of ``TOKENS_PER_PIECE``: each piece costs
        about a millisecond in litellm's stream wrapper, which at CPU decode speeds
        would otherwise be a few percent of the decode time.
        """
        with self.lock:
            stream = self.llama.create_chat_completion(
                messages=messages,  # type: ignore[arg-type]
                stream=True,
                temperature=temperature,
                seed=seed,
                max_tokens=max_tokens or DEFAULT_MAX_TOKENS,
            )
            reply: list[str] = []
            pending: list[str] = []
            try:
                for chunk in stream:
                    choice: dict[str, Any] = chunk["choices"][0]  # type: ignore[index]
                    text = choice.get("delta", {}).get("content")
                    if text:
                        pending.append(text)
                    if choice.get("finish_reason"):
                        generation.finish_reason = choice["finish_reason"]
                    if len(pending) >= TOKENS_PER_PIECE:
                        reply.append("".join(pending))
                        pending.clear()
                        yield reply[-1]
                if pending:
                    reply.append("".join(pending))
                    yield reply[-1]
            finally:
                close = getattr(stream, "close", None)
                if close:
                    close()
                self._count(generation, "".join(reply))

    def _count(self, generation: Generation, reply: str) -> None:
        completion = len(self.llama.tokenize(reply.encode("utf-8"), add_bos=False, special=False)) if reply else 0
        generation.completion_tokens = completion
        generation.prompt_tokens = max(0, self.llama.n_tokens - completion)


@atexit.register
def _close_all() -> None:
    """Free the models before interpreter teardown, when llama_cpp's own __del__ fails."""
    with _engines_lock:
        for engine in _engines.values():
            engine.llama.close()
        _engines.clear()


def engine_for(path: Path, *, n_ctx: int = DEFAULT_CONTEXT) -> LlamaEngine:
    """The process's one engine for ``path``, loaded on first use."""
    key = str(Path(path).resolve())
    with _engines_lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _engines[key] = LlamaEngine(Path(key), n_ctx=n_ctx)
        return engine
