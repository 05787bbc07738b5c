"""The real-provider backend: any litellm model string, streamed.

litellm is slow to import (seconds) and, unless told otherwise, fetches its
price map from the network at import time, so it is imported lazily, on first
use, with ``LITELLM_LOCAL_MODEL_COST_MAP`` set to keep it offline.

``LiteLLMModel.stream`` yields text deltas and then exactly one ``Usage``. It
retries transient provider failures (rate limits, timeouts, connection errors,
5xx) with exponential backoff, but only while nothing has been yielded yet, so
a reply is never duplicated. Every failure leaves it as a one-line
``ModelError``; ``TurnCancelled`` passes through.

litellm quirks handled here (litellm 1.10x):

* ``stream=True`` errors on HTTP status arrive from ``litellm.completion``
  itself; errors after the headers (a dropped connection) arrive while
  iterating, as ``MidStreamFallbackError`` - a ``ServiceUnavailableError``
  subclass, so "retryable" by type but not once text went out.
* A missing OpenAI key surfaces as ``InternalServerError("Missing
  credentials ...")`` (a "5xx"), and a refused connection as
  ``InternalServerError`` too; the former must not be retried.
* ``temperature=0``/``seed`` are rejected (``UnsupportedParamsError``) by
  providers or models that lack them (Anthropic: seed; o-series/gpt-5:
  temperature), so ``drop_params=True`` is passed unless ``extra`` says
  otherwise.
* ``CustomStreamWrapper`` has no synchronous ``close()``; the HTTP stream
  is its ``completion_stream``.
* When the provider sends no usage chunk, litellm synthesizes an estimate.
* For ``ollama/`` and ``ollama_chat/`` models ``get_model_info`` asks the
  server and reports the trained length, not the ``num_ctx`` it runs with
  (``ollama.py``); extra keyword arguments such as ``num_ctx`` reach Ollama's
  ``options``.

The context window comes from, in order: the local engine (``local/``), the
``context_window`` chatpkg was configured with, the Ollama server, litellm's
bundled map, else 8192; ``context_window_source`` names which.
"""

from __future__ import annotations

import copy
import http
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from chatpkg.core.cancel import CancelToken, TurnCancelled
from chatpkg.core.models.base import DEFAULT_CONTEXT_WINDOW, Chunk, Message, Model, ModelError, Usage
from chatpkg.core.models.ollama import is_ollama, model_tag, probe_window
from chatpkg.core.tokens import count_message_tokens, count_tokens

MAX_BACKOFF = 30.0

_litellm_module: Any = None
_import_lock = threading.Lock()


def _litellm() -> Any:
    """Import litellm once, offline and quiet."""
    global _litellm_module
    if _litellm_module is not None:
        return _litellm_module
    with _import_lock:
        if _litellm_module is None:
            os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
            os.environ.setdefault("LITELLM_LOG", "ERROR")
            try:
                import litellm
            except Exception as exc:  # ImportError, or a broken install
                raise ModelError(f"cannot load litellm: {exc}") from exc
            from chatpkg.core.models.local_provider import register

            register(litellm)
            litellm.telemetry = False
            litellm.suppress_debug_info = True
            litellm.set_verbose = False
            for name in ("callbacks", "success_callback", "failure_callback", "input_callback"):
                if isinstance(getattr(litellm, name, None), list):
                    setattr(litellm, name, [])
            _litellm_module = litellm
    return _litellm_module


def _status_text(code: int | None) -> str:
    if not code:
        return ""
    try:
        return f"{code} {http.HTTPStatus(code).phrase}"
    except ValueError:
        return f"HTTP {code}"


_PREFIX = re.compile(r"^(?:litellm\.\w+:\s*|\w+Error:\s*|\w+Exception\s*-\s*)+")


def _detail(exc: BaseException, limit: int = 160) -> str:
    """The provider's own message, without litellm's class-name prefixes, one line."""
    text = str(exc).strip()
    text = text.split(" Original exception:", 1)[0]
    text = text.split("Received Model Group=", 1)[0]
    text = _PREFIX.sub("", text).strip()
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 3].rstrip() + "..."
    return text


_KEY_VAR = re.compile(r"`?\b([A-Z][A-Z0-9_]*_(?:API_KEY|AUTH_TOKEN|KEY))\b`?")


_CONNECTION = re.compile(r"connection (error|refused|reset|aborted)|peer closed connection|name or service not known")


def _unwrap(exc: BaseException) -> BaseException:
    """The provider error inside litellm's MidStreamFallbackError wrapper."""
    seen = 0
    while type(exc).__name__ == "MidStreamFallbackError" and seen < 5:
        inner = getattr(exc, "original_exception", None)
        if not isinstance(inner, BaseException):
            break
        exc = inner
        seen += 1
    return exc


def _looks_like_missing_key(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "missing credentials" in text or "missing api key" in text or (
        "api key" in text and "missing" in text
    ) or ("api_key" in text and ("must be set" in text or "not set" in text))


class LiteLLMModel(Model):
    """A chat model behind litellm; implements the ``Model`` protocol."""

    def __init__(
        self,
        model: str,
        *,
        temperature: float | None = 0.0,
        seed: int | None = 0,
        max_tokens: int | None = None,
        timeout: float = 600.0,
        api_base: str | None = None,
        max_attempts: int = 4,
        backoff: float = 1.0,
        sleep: Callable[[float], None] | None = None,
        extra: dict | None = None,
        context_window: int | None = None,
    ) -> None:
        self.name = model
        self.temperature = temperature
        self.seed = seed
        self.max_tokens = max_tokens
        self.timeout = timeout
        self.api_base = api_base
        self.max_attempts = max(1, int(max_attempts))
        self.backoff = backoff
        self._sleep = sleep
        self.extra = dict(extra or {})
        self._configured_window = int(context_window) if context_window else None
        self._window: tuple[int, str] | None = None  # (tokens, where they came from), looked up once

    def with_sampling(self, temperature: float, seed: int) -> LiteLLMModel:
        """A copy that samples (candidates): the same provider, window and settings."""
        twin = copy.copy(self)
        twin.temperature, twin.seed = temperature, seed
        return twin

    def __repr__(self) -> str:
        return f"LiteLLMModel({self.name!r})"

    def prepare(self) -> None:
        """Do the slow start-up now (import litellm; load a local model), e.g. while the user types."""
        _litellm()
        self._resolved_window()  # may ask an Ollama server: better here, off the UI thread
        if self.name.startswith("local/"):
            from chatpkg.core.models.llama_engine import engine_for
            from chatpkg.core.models.local_provider import gguf_path

            engine_for(gguf_path(self.name))

    # ------------------------------------------------------------------ info

    @property
    def context_window(self) -> int:
        """Input tokens the model takes; ``context_window_source`` says who said so."""
        return self._resolved_window()[0]

    @context_window.setter
    def context_window(self, value: int) -> None:
        self._window = (int(value), "config")

    @property
    def context_window_source(self) -> str:
        """Where the window came from: "provider" (the server or the local engine), "config",
        "litellm" (its bundled model map) or "fallback" (8192)."""
        return self._resolved_window()[1]

    def _resolved_window(self) -> tuple[int, str]:
        if self._window is None:
            self._window = self._lookup_context_window()
        return self._window

    def _lookup_context_window(self) -> tuple[int, str]:
        """The first that knows: the local engine, the config, an Ollama server, litellm's map, 8192.

        A configured window comes before the Ollama server's answer: the server
        reports what the model was trained for, the user knows what fits in
        memory, and chatpkg sends its choice as num_ctx either way.
        """
        if self.name.startswith("local/"):
            from chatpkg.core.models.local_provider import context_window

            return context_window(self.name), "provider"
        if self._configured_window:
            return self._configured_window, "config"
        if is_ollama(self.name):
            served = probe_window(self.name, self.api_base)
            if served:
                return served, "provider"
        mapped = self._litellm_map_window()
        return (mapped, "litellm") if mapped else (DEFAULT_CONTEXT_WINDOW, "fallback")

    def _litellm_map_window(self) -> int | None:
        """litellm's bundled model map; for Ollama only its static entries (no second /api/show)."""
        try:
            litellm = _litellm()
            if is_ollama(self.name):
                tag = model_tag(self.name).removesuffix(":latest")
                info = litellm.model_cost.get(f"ollama/{tag}") or {}
            else:
                info = litellm.get_model_info(self.name)
        except Exception:
            return None
        for key in ("max_input_tokens", "max_tokens"):
            value = info.get(key)
            if isinstance(value, int) and value > 0:
                return value
        return None

    # ---------------------------------------------------------------- stream

    def _request(self, messages: list[Message]) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "model": self.name,
            "messages": messages,
            "stream": True,
            "stream_options": {"include_usage": True},
            "timeout": self.timeout,
            "num_retries": 0,
            "drop_params": True,
        }
        if self.temperature is not None:
            kwargs["temperature"] = self.temperature
        if self.seed is not None:
            kwargs["seed"] = self.seed
        if self.max_tokens is not None:
            kwargs["max_tokens"] = self.max_tokens
        if self.api_base:
            kwargs["api_base"] = self.api_base
        if is_ollama(self.name):
            # Ollama runs its own default window unless asked; ask for the one the budget assumes.
            kwargs["num_ctx"] = self.context_window
        kwargs.update(self.extra)
        return kwargs

    def stream(self, messages: list[Message], cancel: CancelToken | None = None) -> Iterator[Chunk]:
        """Yield the reply as text deltas, then one Usage."""
        if cancel is not None:
            cancel.raise_if_cancelled()
        litellm = _litellm()
        request = self._request(messages)
        attempt = 0
        while True:
            attempt += 1
            produced: list[str] = []
            usage: Any = None
            response: Any = None
            try:
                response = litellm.completion(**request)
                for chunk in response:
                    if cancel is not None:
                        cancel.raise_if_cancelled()
                    chunk_usage = getattr(chunk, "usage", None)
                    if chunk_usage is not None:
                        usage = chunk_usage
                    text = _delta_text(chunk)
                    if text:
                        produced.append(text)
                        yield text
                        if cancel is not None:
                            cancel.raise_if_cancelled()
            except (TurnCancelled, GeneratorExit):
                raise
            except Exception as exc:
                cause = _unwrap(exc)
                if produced:
                    raise ModelError(
                        f"{self.name}: the reply broke off mid-stream ({self._describe(cause)})"
                    ) from exc
                if not self._retryable(cause):
                    raise ModelError(self._fatal_message(cause)) from exc
                if attempt >= self.max_attempts:
                    raise ModelError(
                        f"{self.name}: the provider kept failing ({self._describe(cause)}) "
                        f"after {attempt} attempt{'s' if attempt != 1 else ''}"
                    ) from exc
                _close(response)
                response = None
                self._wait(min(self.backoff * 2 ** (attempt - 1), MAX_BACKOFF), cancel)
                continue
            finally:
                _close(response)
            break
        yield self._usage(messages, "".join(produced), usage)

    def _wait(self, seconds: float, cancel: CancelToken | None) -> None:
        if self._sleep is not None:
            self._sleep(seconds)
        elif cancel is not None:
            if cancel.wait(seconds):
                raise TurnCancelled()
        else:
            time.sleep(seconds)
        if cancel is not None:
            cancel.raise_if_cancelled()

    def _usage(self, messages: list[Message], reply: str, usage: Any) -> Usage:
        prompt = getattr(usage, "prompt_tokens", None) if usage is not None else None
        completion = getattr(usage, "completion_tokens", None) if usage is not None else None
        if not isinstance(prompt, int) or not isinstance(completion, int):
            try:
                prompt = count_message_tokens(messages)
                completion = count_tokens(reply)
            except Exception:
                prompt = sum(len(m.get("content") or "") for m in messages) // 4
                completion = len(reply) // 4
        return Usage(prompt, completion, self._cost(prompt, completion))

    def _cost(self, prompt_tokens: int, completion_tokens: int) -> float | None:
        try:
            prompt_cost, completion_cost = _litellm().cost_per_token(
                model=self.name, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens
            )
            total = float(prompt_cost) + float(completion_cost)
        except Exception:
            return None
        return total if total >= 0 else None

    # ---------------------------------------------------------------- errors

    def _retryable(self, exc: BaseException) -> bool:
        litellm = _litellm()
        if _looks_like_missing_key(exc):
            return False
        transient = (
            litellm.RateLimitError,
            litellm.Timeout,
            litellm.APIConnectionError,
            litellm.InternalServerError,
            litellm.ServiceUnavailableError,
            litellm.BadGatewayError,
        )
        if isinstance(exc, transient):
            return True
        fatal = (
            litellm.AuthenticationError,
            litellm.NotFoundError,
            litellm.BadRequestError,
            getattr(litellm, "PermissionDeniedError", litellm.AuthenticationError),
        )
        if isinstance(exc, fatal):
            return False
        status = getattr(exc, "status_code", None)
        if isinstance(status, int):
            return status in (408, 409, 425, 429) or status >= 500
        try:
            import httpx

            return isinstance(exc, (httpx.TransportError, TimeoutError, ConnectionError))
        except ImportError:
            return isinstance(exc, (TimeoutError, ConnectionError))

    def _describe(self, exc: BaseException) -> str:
        """A short cause: status line or kind, plus the provider's words."""
        litellm = _litellm()
        detail = _detail(exc)
        lowered = detail.lower()
        if isinstance(exc, litellm.Timeout) or "timed out" in lowered or "timeout" in lowered:
            return f"timed out after {self.timeout:g} s"
        if isinstance(exc, litellm.APIConnectionError) or _CONNECTION.search(lowered):
            head = "connection error"
        else:
            head = _status_text(getattr(exc, "status_code", None)) or type(exc).__name__
        if not detail or lowered.rstrip(".") in head.lower():
            return head
        if lowered.startswith(head.lower()):
            return detail.rstrip(".")
        return f"{head}: {detail}"

    def _fatal_message(self, exc: BaseException) -> str:
        litellm = _litellm()
        name = self.name
        detail = _detail(exc)
        if isinstance(exc, litellm.AuthenticationError) or _looks_like_missing_key(exc) or (
            getattr(exc, "status_code", None) == 401
        ):
            hint = self._key_hint(exc)
            if _looks_like_missing_key(exc) and hint:
                return f"{name}: no API key{hint}"
            return f"{name}: authentication failed{hint} ({detail or '401 Unauthorized'})"
        if isinstance(exc, litellm.ContextWindowExceededError):
            return f"{name}: the conversation is too long for the model's context window ({detail})"
        if isinstance(exc, litellm.NotFoundError):
            return f"{name}: model or endpoint not found ({detail})"
        if "LLM Provider NOT provided" in str(exc):
            return (
                f"{name}: litellm cannot tell the provider; "
                "write the model as provider/model, e.g. openai/gpt-4o-mini"
            )
        if isinstance(exc, litellm.BadRequestError):
            return f"{name}: the provider rejected the request ({detail})"
        return f"{name}: {self._describe(exc)}"

    def _key_hint(self, exc: BaseException) -> str:
        """'; set OPENAI_API_KEY' when litellm names (or knows) the missing key."""
        match = _KEY_VAR.search(str(exc))
        if match:
            return f"; set {match.group(1)}"
        if "api_key" in self.extra:
            return ""
        try:
            missing = _litellm().validate_environment(self.name).get("missing_keys") or []
        except Exception:
            missing = []
        keys = [k for k in missing if "KEY" in k or "TOKEN" in k]
        if keys:
            return f"; set {' or '.join(keys)}"
        return ""


def litellm_provider(model: str) -> tuple[str, list[str]]:
    """litellm's provider for a model string, and the key variables it needs that are unset."""
    try:
        litellm = _litellm()
        provider = str(litellm.get_llm_provider(model)[1])
        missing = litellm.validate_environment(model).get("missing_keys") or []
    except Exception:
        return "unknown", []
    return provider, [key for key in missing if "KEY" in key or "TOKEN" in key]


def _delta_text(chunk: Any) -> str:
    try:
        choices = chunk.choices
        if not choices:
            return ""
        delta = choices[0].delta
        content = getattr(delta, "content", None)
        if content is None and isinstance(delta, dict):
            content = delta.get("content")
    except (AttributeError, IndexError, TypeError):
        return ""
    return content if isinstance(content, str) else ""


def _close(response: Any) -> None:
    """Close a litellm stream (and its HTTP stream), ignoring every error."""
    if response is None:
        return
    for target in (response, getattr(response, "completion_stream", None)):
        close = getattr(target, "close", None)
        if callable(close):
            try:
                close()
            except Exception:
                pass
