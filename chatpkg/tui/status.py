"""The status line: model, turn, context tokens / budget, cost, tests, HEAD."""

from __future__ import annotations

from dataclasses import dataclass, replace

from textual.widgets import Static


@dataclass(frozen=True)
class Status:
    model: str = "…"
    state: str = "opening the session"
    turn: int = 0
    tokens: int = 0
    budget: int = 0
    window: str = ""  # the model's context window and who said so, once the model is ready
    cost: float | None = None
    tests: str = "-"
    head: str = ""
    sandboxed: bool = True  # False: model-written code runs without the sandbox, and the line says so

    def line(self) -> str:
        parts = [self.model, self.state, f"turn {self.turn}"]
        if self.budget:
            window = f" of {self.window}" if self.window else ""
            parts.append(f"ctx {self.tokens / 1000:.1f}k/{self.budget / 1000:.1f}k{window}")
        if self.cost is not None:
            parts.append(f"${self.cost:.4f}")
        parts += [f"tests {self.tests}", f"HEAD {self.head[:7] or '-'}"]
        if not self.sandboxed:
            parts.append("NO SANDBOX")
        return " · ".join(parts)


class StatusLine(Static):
    def __init__(self, **kwargs: object) -> None:
        super().__init__(Status().line(), markup=False, **kwargs)  # type: ignore[arg-type]
        self.status = Status()

    def set(self, **changes: object) -> None:
        self.status = replace(self.status, **changes)  # type: ignore[arg-type]
        self.update(self.status.line())
