"""Cooperative cancellation shared by the model stream and the test run."""

from __future__ import annotations

import threading


class TurnCancelled(Exception):
    """Raised inside a turn when its CancelToken was set."""


class CancelToken:
    """Set from any thread (a Ctrl-C handler, a TUI key); checked by the turn."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise TurnCancelled()

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True when cancelled meanwhile."""
        return self._event.wait(seconds)
