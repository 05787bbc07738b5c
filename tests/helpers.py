"""Helpers for tests: scripted replies and sessions on fresh workspaces."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from chatpkg.core.engine.session import Session
from chatpkg.core.engine.settings import Settings
from chatpkg.core.engine.store import open_session
from chatpkg.core.models import ScriptedModel


def whole(files: dict[str, str], prose: str = "Here are the edits.") -> str:
    """A reply in the whole-file format."""
    blocks = [f"{path}\n```python\n{text.rstrip()}\n```" for path, text in files.items()]
    return prose + "\n\n" + "\n\n".join(blocks) + "\n"


ADD_SRC = "def add(a, b):\n    return a + b\n"
ADD_TEST = "from pkg.calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
ADD_REPLY = whole({"pkg/calc.py": ADD_SRC, "tests/test_calc.py": ADD_TEST})


def make_session(root: Path, replies: list[str], **settings: object) -> tuple[Session, ScriptedModel]:
    model = ScriptedModel(replies)
    session, _ = open_session(root, model, settings=Settings(**settings), resume=False)  # type: ignore[arg-type]
    return session, model


def run(session: Session, text: str) -> list:  # type: ignore[type-arg]
    return list(session.run_turn(text))


def kinds(events: list) -> list[str]:  # type: ignore[type-arg]
    return [e.kind for e in events if e.kind not in ("delta",)]


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that does not log each request to stderr."""

    def log_message(self, *args: object) -> None:
        pass


class LoopbackServer:
    """An HTTP server on a free 127.0.0.1 port, serving from a daemon thread: the tests' fake providers."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
