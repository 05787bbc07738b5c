"""A provider that fails mid-session: each fault is retried, or ends the turn cleanly, never half a turn.

The provider is the loopback fake from test_litellm_backend: rate limits,
server errors, a stream cut mid-reply, a stall past the timeout.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from chatpkg.core.engine.events import EditsApplied, ErrorOccurred, TurnEnded
from chatpkg.core.engine.settings import Settings
from chatpkg.core.engine.store import open_session
from chatpkg.core.models.litellm_backend import LiteLLMModel
from chatpkg.core.runner import TestReport
from tests.helpers import ADD_REPLY
from tests.test_litellm_backend import FakeProvider, Sleeps, drop_after, litellm_loaded, ok, stall, status  # noqa: F401

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:Item .* `ReadOnly` qualifier:UserWarning"),
]

HALF = ADD_REPLY[: len(ADD_REPLY) // 2]


class Passing:
    __test__ = False

    def run(self, root: Path, cancel=None) -> TestReport:  # type: ignore[no-untyped-def]
        return TestReport(passed=1)


@pytest.fixture()
def provider():  # type: ignore[no-untyped-def]
    server = FakeProvider()
    yield server
    server.close()


def turn_with(provider: FakeProvider, root: Path, script: list[dict], timeout: float = 10.0) -> list:  # type: ignore[type-arg]
    provider.script.extend(script)
    model = LiteLLMModel("openai/test-model", api_base=provider.api_base, extra={"api_key": "sk-test"},
                         sleep=Sleeps(), timeout=timeout, max_attempts=3)
    session, _ = open_session(root, model, settings=Settings(max_repairs=0), runner=Passing())
    head = session.workspace.head().sha
    events = list(session.run_turn("Add add(a, b) with a test."))
    end = events[-1]
    assert isinstance(end, TurnEnded)
    if end.outcome != "committed":  # never half a turn: nothing written, nothing committed
        assert session.workspace.head().sha == head and session.workspace.changed_paths() == []
        assert not (root / "pkg" / "calc.py").exists()
    return events


@pytest.mark.parametrize("fault", [status(429, "Rate limit reached"), status(500), status(503), drop_after(())],
                         ids=["429", "500", "503", "cut before any text"])
def test_a_passing_fault_is_retried_and_the_turn_completes(provider: FakeProvider, root: Path, fault: dict) -> None:
    events = turn_with(provider, root, [fault, ok(deltas=(ADD_REPLY,))])
    assert events[-1].outcome == "committed" and len(provider.requests) == 2


def test_a_provider_that_keeps_failing_ends_the_turn_with_a_clear_error(provider: FakeProvider, root: Path) -> None:
    events = turn_with(provider, root, [status(500)] * 3)
    assert events[-1].outcome == "error"
    error = next(e for e in events if isinstance(e, ErrorOccurred))
    assert "500" in error.message and "\n" not in error.message.strip()


def test_a_stream_cut_mid_reply_applies_nothing(provider: FakeProvider, root: Path) -> None:
    events = turn_with(provider, root, [drop_after((HALF,))])
    assert events[-1].outcome == "error"
    assert not any(isinstance(e, EditsApplied) for e in events)
    assert "mid-stream" in next(e for e in events if isinstance(e, ErrorOccurred)).message


def test_a_stalled_stream_times_out_into_a_clean_error(provider: FakeProvider, root: Path) -> None:
    events = turn_with(provider, root, [stall(deltas=(HALF,), seconds=6.0, keepalive=False)], timeout=1.5)
    assert events[-1].outcome == "error"
    assert not any(isinstance(e, EditsApplied) for e in events)
