"""A session's settings: repairs, edit format, timeouts, budget, program. Stored in the transcript header."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

MIN_BUDGET = 1024  # tokens: the smallest context budget a session uses
TEAMS = ("coder", "coder+tester", "analyst+coder+tester")
MAX_CANDIDATES = 8


@dataclass(frozen=True)
class Settings:
    max_repairs: int = 2  # rounds spent on failing tests
    max_format_repairs: int = 2  # rounds spent on replies that could not be applied
    edit_format: str = "whole"
    test_timeout: float = 60.0
    context_budget: int | None = None  # tokens; None: the model's window minus the reserve
    reserve_output_tokens: int = 2048
    program: str | None = None  # a script that is the workspace's program: run after the tests
    sandbox: str = "on"  # "on": model-written code runs in bubblewrap when it can; "off": never
    team: str = "coder"  # who works on a turn: "coder", "coder+tester" or "analyst+coder+tester"
    candidates: int = 0  # extra coder replies sampled when the first fails the checks (0: none)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Settings:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})
