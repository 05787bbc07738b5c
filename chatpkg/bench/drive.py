"""Drive a real chatpkg session through a list of user turns and tally what it cost."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from chatpkg.core.engine.session import Session
from chatpkg.core.engine.settings import Settings


def bench_settings(max_repairs: int, edit_format: str, program: str | None = None, team: str = "coder",
                   candidates: int = 0) -> Settings:
    """A repair budget of 0 turns off both repair loops: the model is asked once per turn."""
    return Settings(
        max_repairs=max_repairs, max_format_repairs=2 if max_repairs else 0, edit_format=edit_format,
        test_timeout=30, program=program, team=team, candidates=candidates,
    )


@dataclass
class Tally:
    turns: int = 0
    repairs: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    turns_with_candidates: int = 0  # turns whose first reply failed and sampled more
    candidates_tried: int = 0  # extra coder replies, all turns together
    outcomes: list[str] = field(default_factory=list)
    model_error: str | None = None  # the provider failed: the case is not scored

    def to_dict(self) -> dict[str, Any]:
        return {
            "turns": self.turns,
            "repairs": self.repairs,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "seconds": round(self.seconds, 1),
            "turns_with_candidates": self.turns_with_candidates,
            "candidates_tried": self.candidates_tried,
            "outcomes": self.outcomes,
        }


def drive(session: Session, texts: list[str]) -> Tally:
    """Send each text as one turn; stop early if the model itself fails."""
    tally = Tally()
    started = time.monotonic()
    for text in texts:
        tally.turns += 1
        for event in session.run_turn(text):
            if event.kind == "reply":
                tally.prompt_tokens += event.prompt_tokens  # type: ignore[attr-defined]
                tally.completion_tokens += event.completion_tokens  # type: ignore[attr-defined]
            elif event.kind == "error" and event.error == "model":  # type: ignore[attr-defined]
                tally.model_error = event.message  # type: ignore[attr-defined]
            elif event.kind == "chosen":
                tally.turns_with_candidates += 1
                tally.candidates_tried += event.tried - 1  # type: ignore[attr-defined]
            elif event.kind == "turn_end":
                tally.repairs += event.format_repairs + event.test_repairs  # type: ignore[attr-defined]
                tally.outcomes.append(f"{event.outcome}: {event.tests}")  # type: ignore[attr-defined]
        if tally.model_error:
            break
    tally.seconds = time.monotonic() - started
    return tally
