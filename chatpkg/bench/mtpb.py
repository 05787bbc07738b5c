"""MTPB problems run as real chatpkg sessions: one user turn per prompt, scored on the gold output.

The assistant sees only what a user would give it: the turn texts, the
program's own runtime errors (ScriptRunner), and the tests it writes itself.
The gold outputs are used for scoring only.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from chatpkg.bench.mtpb_score import score
from chatpkg.core.models import Model
from chatpkg.core.scriptrun import ScriptRunner
from chatpkg.core.session import Settings
from chatpkg.core.store import open_session

SCRIPT = "main.py"
FIRST_TURN_NOTE = f"Write the program in {SCRIPT} (a script run with `python {SCRIPT}`)."
# Problems that read data files the benchmark does not ship.
MISSING_DATA = re.compile(r"\.(csv|tsv|xlsx|json|txt)\b|\bread (the )?file\b", re.I)


@dataclass
class CaseResult:
    id: str
    name: str
    category: str
    case: int
    mode: str
    edit_format: str
    passed: bool
    printed: Any
    turns: int
    repairs: int
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    outcomes: list[str]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_problems(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def missing_data(problem: dict[str, Any]) -> str | None:
    """Why the problem cannot run here, or None."""
    for prompt in problem["prompts"]:
        match = MISSING_DATA.search(prompt)
        if match:
            return f"needs a data file the benchmark does not ship ({match.group(0)!r})"
    return None


def turn_texts(problem: dict[str, Any], case: int, mode: str) -> list[str]:
    """The user turns for one test case, filled like the reference harness (str.format)."""
    prompts = [p.format(**problem["inputs"][case]) for p in problem["prompts"]]
    if mode == "single":
        steps = "\n".join(f"{i}. {p}" for i, p in enumerate(prompts, start=1))
        return [f"{FIRST_TURN_NOTE} Do all of these steps:\n{steps}"]
    return [f"{FIRST_TURN_NOTE} {prompts[0]}", *prompts[1:]]


def run_case(
    problem: dict[str, Any], case: int, model: Model, workdir: Path, *,
    mode: str = "multi", edit_format: str = "whole", max_repairs: int = 1,
) -> CaseResult:
    """One problem and test case as a chatpkg session in a fresh workspace."""
    workdir.mkdir(parents=True)
    (workdir / SCRIPT).write_text("# The program, built one turn at a time.\n")
    settings = Settings(max_repairs=max_repairs, edit_format=edit_format, test_timeout=30)
    session, _ = open_session(workdir, model, settings=settings, runner=ScriptRunner(SCRIPT), resume=False)
    started = time.monotonic()
    repairs = prompt_tokens = completion_tokens = 0
    outcomes: list[str] = []
    texts = turn_texts(problem, case, mode)
    for text in texts:
        for event in session.run_turn(text):
            if event.kind == "reply":
                prompt_tokens += event.prompt_tokens  # type: ignore[attr-defined]
                completion_tokens += event.completion_tokens  # type: ignore[attr-defined]
            elif event.kind == "turn_end":
                repairs += event.format_repairs + event.test_repairs  # type: ignore[attr-defined]
                outcomes.append(f"{event.outcome}: {event.tests}")  # type: ignore[attr-defined]
    passed, printed = score(workdir, problem["outputs"][case], SCRIPT)
    return CaseResult(
        str(problem["id"]), problem["name"], problem.get("category", ""), case, mode, edit_format, passed,
        printed, len(texts), repairs, prompt_tokens, completion_tokens, round(time.monotonic() - started, 1), outcomes,
    )
