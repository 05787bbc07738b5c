"""LiteLLMModel against a tiny OpenAI-compatible SSE server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from chatpkg.core.cancel import CancelToken, TurnCancelled  # noqa: E402
from chatpkg.core.models import DEFAULT_CONTEXT_WINDOW, ModelError, Usage  # noqa: E402
from chatpkg.core.models.litellm_backend import LiteLLMModel  # noqa: E402
from tests.helpers import LoopbackServer, QuietHandler  # noqa: E402

# litellm itself trips pydantic warnings (deprecations on every chunk, ReadOnly TypedDicts).
pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:Item .* `ReadOnly` qualifier:UserWarning"),
]

MODEL = "openai/test-model"
MESSAGES = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Say hello."},
]


# ------------------------------------------------------------------ server


def ok(deltas=("Hel", "lo", " world"), usage=(17, 3)) -> dict:
    return {"kind": "stream", "deltas": list(deltas), "usage": usage}


def status(code: int, message: str | None = None) -> dict:
    return {"kind": "status", "code": code, "message": message or f"scripted {code}"}


def drop_after(deltas=("Hel",)) -> dict:
    """Send these deltas, then cut the connection mid-body (incomplete chunked read)."""
    return {"kind": "drop", "deltas": list(deltas)}


def stall(deltas=("Hel",), seconds: float = 5.0, keepalive: bool = True) -> dict:
    """Send these deltas, then hang for ``seconds`` (with SSE comments, or silent)."""
    return {"kind": "stall", "deltas": list(deltas), "seconds": seconds, "keepalive": keepalive}


class FakeProvider(LoopbackServer):
    """Serves POST /v1/chat/completions from a script; an empty script means ``ok()``."""

    def __init__(self) -> None:
        self.script: deque[dict] = deque()
        self.requests: list[dict] = []
        self.client_left = threading.Event()  # a stalled stream saw the client hang up
        self.lock = threading.Lock()
        provider = self

        class Handler(QuietHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                with provider.lock:
                    # HTTP header names are case-insensitive (clients differ in the case they send).
                    headers = {name.lower(): value for name, value in self.headers.items()}
                    provider.requests.append({"path": self.path, "body": body, "headers": headers})
                    step = provider.script.popleft() if provider.script else ok()
                try:
                    provider.serve(self, step)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        super().__init__(Handler)

    @property
    def api_base(self) -> str:
        return f"{self.base}/v1"

    def serve(self, h: BaseHTTPRequestHandler, step: dict) -> None:
        if step["kind"] == "status":
            payload = json.dumps({"error": {"message": step["message"], "type": "scripted", "code": step["code"]}})
            data = payload.encode()
            h.send_response(step["code"])
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data)
            h.wfile.flush()
            return

        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        h.send_header("Cache-Control", "no-cache")
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()

        def raw(data: bytes) -> None:
            h.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            h.wfile.flush()

        def event(obj: dict) -> None:
            raw(b"data: " + json.dumps(obj).encode() + b"\n\n")

        base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1700000000, "model": "test-model"}
        deltas = step["deltas"]
        for i, text in enumerate(deltas):
            delta = {"content": text}
            if i == 0:
                delta["role"] = "assistant"
            event({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]})

        if step["kind"] == "drop":
            h.close_connection = True
            h.connection.shutdown(2)  # no terminating chunk: the body is incomplete
            return
        if step["kind"] == "stall":
            deadline = time.monotonic() + step["seconds"]
            while time.monotonic() < deadline:
                time.sleep(0.05)
                if step["keepalive"]:
                    try:
                        raw(b": keep-alive\n\n")
                    except OSError:
                        self.client_left.set()
                        return
            h.close_connection = True
            h.connection.shutdown(2)
            return

        event({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        if step["usage"] is not None:
            prompt, completion = step["usage"]
            usage = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
            event({**base, "choices": [], "usage": usage})
        raw(b"data: [DONE]\n\n")
        h.wfile.write(b"0\r\n\r\n")
        h.wfile.flush()


@pytest.fixture(scope="module", autouse=True)
def litellm_loaded():
    """Import litellm (seconds) before any test starts a clock."""
    from chatpkg.core.models.litellm_backend import _litellm

    _litellm()


@pytest.fixture()
def provider():
    server = FakeProvider()
    yield server
    server.close()


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def make_model(provider: FakeProvider, **kwargs) -> LiteLLMModel:
    kwargs.setdefault("sleep", Sleeps())
    kwargs.setdefault("timeout", 10.0)
    return LiteLLMModel(MODEL, api_base=provider.api_base, extra={"api_key": "sk-test"}, **kwargs)


def collect(model: LiteLLMModel, cancel: CancelToken | None = None) -> tuple[str, list[Usage]]:
    text, usages = [], []
    for chunk in model.stream(MESSAGES, cancel):
        if isinstance(chunk, Usage):
            usages.append(chunk)
        else:
            assert isinstance(chunk, str) and chunk
            assert not usages, "text after Usage"
            text.append(chunk)
    return "".join(text), usages


# ------------------------------------------------------------------- tests


def test_normal_stream(provider):
    model = make_model(provider)
    deltas = []
    usages = []
    for chunk in model.stream(MESSAGES):
        (usages if isinstance(chunk, Usage) else deltas).append(chunk)
    assert deltas == ["Hel", "lo", " world"]
    assert usages == [Usage(17, 3, None)]  # unknown model: no price
    assert len(provider.requests) == 1
    request = provider.requests[0]
    assert request["path"] == "/v1/chat/completions"
    body = request["body"]
    assert body["messages"] == MESSAGES
    assert body["stream"] is True
    assert body["temperature"] == 0
    assert body["seed"] == 0
    assert body["stream_options"] == {"include_usage": True}
    assert request["headers"].get("authorization") == "Bearer sk-test"


def test_usage_estimated_when_provider_sends_none(provider):
    provider.script.append(ok(deltas=("Hi", " there"), usage=None))
    text, usages = collect(make_model(provider))
    assert text == "Hi there"
    assert len(usages) == 1
    assert usages[0].prompt_tokens > 0 and usages[0].completion_tokens > 0


def test_known_model_gets_a_cost(provider):
    # A priced model name, served by the fake provider: cost comes from litellm's map.
    model = LiteLLMModel(
        "openai/gpt-4o-mini", api_base=provider.api_base, extra={"api_key": "sk-test"}, sleep=Sleeps()
    )
    provider.script.append(ok(usage=(1000, 100)))
    _, usages = collect(model)
    assert usages[0].prompt_tokens == 1000 and usages[0].completion_tokens == 100
    assert usages[0].cost is not None and usages[0].cost > 0


def test_retries_503_then_succeeds(provider):
    provider.script.extend([status(503), status(503), ok()])
    sleeps = Sleeps()
    text, usages = collect(make_model(provider, sleep=sleeps, backoff=0.5))
    assert text == "Hello world"
    assert usages == [Usage(17, 3, None)]
    assert len(provider.requests) == 3
    assert sleeps.calls == [0.5, 1.0]


def test_backoff_is_capped(provider):
    provider.script.extend([status(500)] * 5 + [ok()])
    sleeps = Sleeps()
    text, _ = collect(make_model(provider, sleep=sleeps, backoff=10.0, max_attempts=6))
    assert text == "Hello world"
    assert sleeps.calls[:2] == [10.0, 20.0]
    assert max(sleeps.calls) <= 30.0
    assert sleeps.calls == sorted(sleeps.calls)


def test_always_503_gives_up(provider):
    provider.script.extend([status(503)] * 10)
    sleeps = Sleeps()
    with pytest.raises(ModelError) as info:
        collect(make_model(provider, sleep=sleeps, max_attempts=3))
    message = str(info.value)
    assert "\n" not in message
    assert MODEL in message
    assert "kept failing" in message
    assert "503 Service Unavailable" in message
    assert "3 attempts" in message
    assert len(provider.requests) == 3
    assert sleeps.calls == [1.0, 2.0]
    assert type(info.value) is ModelError


def test_401_fails_at_once(provider):
    provider.script.extend([status(401, "Incorrect API key provided"), ok()])
    sleeps = Sleeps()
    with pytest.raises(ModelError) as info:
        collect(make_model(provider, sleep=sleeps))
    message = str(info.value)
    assert "authentication" in message.lower()
    assert "Incorrect API key provided" in message
    assert "\n" not in message
    assert len(provider.requests) == 1
    assert sleeps.calls == []


@pytest.mark.parametrize("code", [400, 404])
def test_client_errors_fail_at_once(provider, code):
    provider.script.extend([status(code), ok()])
    with pytest.raises(ModelError):
        collect(make_model(provider))
    assert len(provider.requests) == 1


def test_context_window_exceeded_fails_at_once(provider):
    provider.script.extend(
        [status(400, "This model's maximum context length is 8192 tokens. However, you requested 9000 tokens."), ok()]
    )
    with pytest.raises(ModelError) as info:
        collect(make_model(provider))
    assert "context window" in str(info.value)
    assert len(provider.requests) == 1


def test_429_is_retried(provider):
    provider.script.extend([status(429, "Rate limit reached"), ok()])
    sleeps = Sleeps()
    text, _ = collect(make_model(provider, sleep=sleeps))
    assert text == "Hello world"
    assert len(provider.requests) == 2
    assert sleeps.calls == [1.0]


def test_drop_before_any_text_is_retried(provider):
    provider.script.extend([drop_after(deltas=()), ok()])
    text, _ = collect(make_model(provider))
    assert text == "Hello world"
    assert len(provider.requests) == 2


def test_drop_mid_stream_is_not_retried(provider):
    provider.script.extend([drop_after(("Hel",)), ok()])
    model = make_model(provider)
    got = []
    with pytest.raises(ModelError) as info:
        for chunk in model.stream(MESSAGES):
            got.append(chunk)
    assert got == ["Hel"]
    assert "mid-stream" in str(info.value)
    assert "\n" not in str(info.value)
    assert len(provider.requests) == 1


def test_timeout_is_retried_then_reported(provider):
    provider.script.extend([stall(deltas=(), seconds=2.0, keepalive=False)] * 2)
    sleeps = Sleeps()
    started = time.monotonic()
    with pytest.raises(ModelError) as info:
        collect(make_model(provider, sleep=sleeps, timeout=0.3, max_attempts=2))
    assert time.monotonic() - started < 5
    message = str(info.value)
    assert "kept failing" in message and "timed out" in message and "2 attempts" in message
    assert len(provider.requests) == 2


def test_cancelled_before_streaming(provider):
    cancel = CancelToken()
    cancel.cancel()
    with pytest.raises(TurnCancelled):
        collect(make_model(provider), cancel)
    assert len(provider.requests) == 0


def test_cancelled_while_streaming(provider):
    provider.script.append(stall(("Hel", "lo"), seconds=3.0))
    cancel = CancelToken()
    model = make_model(provider)
    got = []
    started = 0.0
    with pytest.raises(TurnCancelled):
        for chunk in model.stream(MESSAGES, cancel):
            got.append(chunk)
            started = time.monotonic()
            cancel.cancel()
    assert got == ["Hel"]
    assert time.monotonic() - started < 1.0  # did not wait for the stalled server
    assert len(provider.requests) == 1
    # the HTTP stream was closed, not left hanging until the server gives up
    assert provider.client_left.wait(2.0)


def test_cancel_during_backoff_is_immediate(provider):
    provider.script.extend([status(503), ok()])
    cancel = CancelToken()
    model = LiteLLMModel(MODEL, api_base=provider.api_base, extra={"api_key": "sk-test"}, backoff=20.0)
    threading.Timer(0.3, cancel.cancel).start()
    started = time.monotonic()
    with pytest.raises(TurnCancelled):
        collect(model, cancel)
    assert time.monotonic() - started < 5
    assert len(provider.requests) == 1


def test_connection_refused_is_retried_then_reported():
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sleeps = Sleeps()
    model = LiteLLMModel(
        MODEL, api_base=f"http://127.0.0.1:{port}/v1", extra={"api_key": "sk-test"}, sleep=sleeps, max_attempts=2
    )
    with pytest.raises(ModelError) as info:
        collect(model)
    assert "2 attempts" in str(info.value)
    assert sleeps.calls == [1.0]


def test_context_window():
    known = LiteLLMModel("gpt-4o-mini")
    assert (known.context_window, known.context_window_source) == (128000, "litellm")
    unknown = LiteLLMModel("openai/test-model")
    assert (unknown.context_window, unknown.context_window_source) == (DEFAULT_CONTEXT_WINDOW, "fallback")
    assert LiteLLMModel("no-such-provider/nothing").context_window == DEFAULT_CONTEXT_WINDOW


def test_configured_context_window_wins_over_litellms_map():
    model = LiteLLMModel("gpt-4o-mini", context_window=32000)
    assert (model.context_window, model.context_window_source) == (32000, "config")
    assert "num_ctx" not in model._request(MESSAGES)  # only Ollama takes it


def test_resolve_model_passes_the_model_config(provider):
    from chatpkg.core.models import resolve_model

    model = resolve_model(MODEL, {"context_window": 12000, "api_base": provider.api_base})
    assert isinstance(model, LiteLLMModel)
    assert (model.context_window, model.context_window_source, model.api_base) == (12000, "config", provider.api_base)
    plain = resolve_model(MODEL)  # without config, as before
    assert plain.api_base is None and plain.context_window == DEFAULT_CONTEXT_WINDOW


def test_import_does_not_load_litellm():
    code = (
        "import sys, chatpkg.core.models.litellm_backend as b\n"
        "m = b.LiteLLMModel('openai/x')\n"
        "assert m.name == 'openai/x'\n"
        "print('litellm' in sys.modules)\n"
    )
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=root, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
