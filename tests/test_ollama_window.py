"""The context window of an Ollama model: asked from a fake Ollama server on 127.0.0.1, and sent as num_ctx."""

from __future__ import annotations

import json

import pytest

from chatpkg.core.models import DEFAULT_CONTEXT_WINDOW
from chatpkg.core.models.litellm_backend import LiteLLMModel
from tests.helpers import LoopbackServer, QuietHandler
from tests.test_litellm_backend import MESSAGES, collect, litellm_loaded, pytestmark  # noqa: F401  (fixture, marks)

class FakeOllama(LoopbackServer):
    """POST /api/show answers ``show`` (or ``show_status``); POST /api/chat streams one NDJSON reply."""

    def __init__(self, show: dict | None = None, show_status: int = 200) -> None:
        self.show = show or {}
        self.show_status = show_status
        self.requests: list[tuple[str, dict]] = []
        fake = self

        class Handler(QuietHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                fake.requests.append((self.path, body))
                if self.path == "/api/show":
                    self.reply(fake.show_status, json.dumps(fake.show).encode(), "application/json")
                    return
                lines = [
                    {"model": body.get("model"), "message": {"role": "assistant", "content": "Hi"}, "done": False},
                    {"model": body.get("model"), "message": {"role": "assistant", "content": ""}, "done": True,
                     "done_reason": "stop", "prompt_eval_count": 5, "eval_count": 1},
                ]
                data = b"".join(json.dumps(line).encode() + b"\n" for line in lines)
                self.reply(200, data, "application/x-ndjson")

            def reply(self, code: int, data: bytes, kind: str) -> None:
                self.send_response(code)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        super().__init__(Handler)

    def paths(self) -> list[str]:
        return [path for path, _ in self.requests]


def show(trained: int | None = 32768, num_ctx: int | None = None) -> dict:
    info = {"general.architecture": "qwen2", **({"qwen2.context_length": trained} if trained else {})}
    parameters = 'stop "<|im_end|>"' + (f"\nnum_ctx {num_ctx}" if num_ctx else "")
    return {"model_info": info, "parameters": parameters}


@pytest.fixture()
def ollama_server():
    servers: list[FakeOllama] = []

    def start(**kwargs) -> FakeOllama:
        servers.append(FakeOllama(**kwargs))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


OLLAMA = "ollama_chat/qwen2.5-coder:7b"


def test_ollama_window_is_the_modelfiles_num_ctx_and_is_sent(ollama_server):
    server = ollama_server(show=show(trained=32768, num_ctx=8192))
    model = LiteLLMModel(OLLAMA, api_base=server.base)
    assert (model.context_window, model.context_window_source) == (8192, "provider")
    assert server.requests == [("/api/show", {"model": "qwen2.5-coder:7b", "name": "qwen2.5-coder:7b"})]
    text, usages = collect(model)
    assert text == "Hi" and usages[0].prompt_tokens == 5
    chat = [body for path, body in server.requests if path == "/api/chat"]
    assert len(chat) == 1
    assert chat[0]["options"]["num_ctx"] == 8192  # Ollama runs the window the budget assumes


def test_ollama_window_caps_the_trained_length(ollama_server):
    from chatpkg.core.models.ollama import WINDOW_CAP

    server = ollama_server(show=show(trained=131072))
    model = LiteLLMModel(OLLAMA, api_base=server.base)
    assert (model.context_window, model.context_window_source) == (WINDOW_CAP, "provider")
    small = ollama_server(show=show(trained=4096))
    assert LiteLLMModel(OLLAMA, api_base=small.base).context_window == 4096


def test_ollama_configured_window_is_not_asked_and_is_sent(ollama_server):
    server = ollama_server(show=show(trained=32768))
    model = LiteLLMModel(OLLAMA, api_base=server.base, context_window=24576)
    assert (model.context_window, model.context_window_source) == (24576, "config")
    assert server.requests == []  # the configured window needs no question
    collect(model)
    chat = [body for path, body in server.requests if path == "/api/chat"]
    assert chat[0]["options"]["num_ctx"] == 24576


def test_ollama_server_base_from_the_environment(ollama_server, monkeypatch):
    server = ollama_server(show=show(trained=32768, num_ctx=4096))
    monkeypatch.setenv("OLLAMA_API_BASE", server.base)
    model = LiteLLMModel(OLLAMA)
    assert (model.context_window, model.context_window_source) == (4096, "provider")


def test_ollama_unknown_model_falls_back(ollama_server):
    server = ollama_server(show={"error": "model 'nothing' not found"}, show_status=404)
    model = LiteLLMModel("ollama_chat/nothing", api_base=server.base)
    assert (model.context_window, model.context_window_source) == (DEFAULT_CONTEXT_WINDOW, "fallback")
    assert model._request(MESSAGES)["num_ctx"] == DEFAULT_CONTEXT_WINDOW  # still sent: no silent 2048


def test_ollama_unreachable_uses_litellms_static_map():
    base = f"http://127.0.0.1:{closed_port()}"
    model = LiteLLMModel("ollama_chat/llama3.1", api_base=base)
    assert (model.context_window, model.context_window_source) == (8192, "litellm")
    unknown = LiteLLMModel("ollama/qwen2.5-coder:7b", api_base=base)
    assert (unknown.context_window, unknown.context_window_source) == (DEFAULT_CONTEXT_WINDOW, "fallback")
    assert unknown._request(MESSAGES)["num_ctx"] == DEFAULT_CONTEXT_WINDOW


@pytest.mark.parametrize(
    ("answer", "window"),
    [
        (show(trained=32768), 16384),
        (show(trained=32768, num_ctx=2048), 2048),
        (show(trained=4096, num_ctx=8192), 4096),  # never above what the model was trained for
        (show(trained=None, num_ctx=6000), 6000),
        (show(trained=None), None),
        ({"model_info": "nonsense"}, None),
        ([], None),
    ],
)
def test_window_from_show(answer, window):
    from chatpkg.core.models.ollama import window_from_show

    assert window_from_show(answer) == window


def test_server_base():
    from chatpkg.core.models.ollama import server_base

    assert server_base("http://box:11434/") == "http://box:11434"
    assert server_base("http://box:11434/api/chat") == "http://box:11434"
