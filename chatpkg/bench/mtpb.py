"""MTPB problems run as real chatpkg sessions: one user turn per prompt, scored on the gold output.

The assistant sees only what a user would give it: the turn texts, the
program's own output and runtime errors (the session's program, run by
ScriptRunner), and the tests it writes itself.
The gold outputs are used for scoring only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from chatpkg.bench.drive import bench_settings, drive
from chatpkg.bench.mtpb_score import score
from chatpkg.bench.results import Job
from chatpkg.core.engine.store import open_session
from chatpkg.core.models import Model

SCRIPT = "main.py"
FIRST_TURN_NOTE = f"Write the program in {SCRIPT} (a script run with `python {SCRIPT}`)."
# Problems that read data files the benchmark does not ship.
MISSING_DATA = re.compile(r"\.(csv|tsv|xlsx|json|txt)\b|\bread (the )?file\b", re.I)


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
    mode: str = "multi", edit_format: str = "whole", max_repairs: int = 1, team: str = "coder", candidates: int = 0,
) -> dict[str, Any]:
    """One problem and test case as a chatpkg session in a fresh workspace: its result record."""
    about = {"name": problem["name"], "category": problem.get("category", "")}
    reason = missing_data(problem)
    if reason:
        return {**about, "status": "skipped", "reason": reason}
    workdir.mkdir(parents=True)
    (workdir / SCRIPT).write_text("")
    settings = bench_settings(max_repairs, edit_format, program=SCRIPT, team=team, candidates=candidates)
    session, _ = open_session(workdir, model, settings=settings, resume=False, init=True)  # the benchmark made the folder
    tally = drive(session, turn_texts(problem, case, mode))
    if tally.model_error:
        return {**about, "status": "error", "reason": tally.model_error, **tally.to_dict()}
    passed, printed = score(workdir, problem["outputs"][case], SCRIPT)
    return {**about, "status": "passed" if passed else "failed", "printed": printed, **tally.to_dict()}


def mtpb_jobs(
    problems: list[dict[str, Any]], model: Model, scratch: Path, *,
    cases: int, mode: str, edit_format: str, max_repairs: int, team: str = "coder", candidates: int = 0,
) -> Iterator[Job]:
    """A job per problem and test case (the first ``cases`` of each problem's five)."""
    for problem in problems:
        for case in range(min(cases, len(problem["inputs"]))):
            def run(problem: dict[str, Any] = problem, case: int = case) -> dict[str, Any]:
                workdir = scratch / f"{problem['id']}-{case}"
                return run_case(problem, case, model, workdir, mode=mode, edit_format=edit_format,
                                max_repairs=max_repairs, team=team, candidates=candidates)
            yield Job(str(problem["id"]), case, f"{problem['id']} {problem['name']} case {case}", run)


def select(problems: list[dict[str, Any]], ids: list[str] | None, limit: int | None) -> list[dict[str, Any]]:
    chosen = [p for p in problems if not ids or str(p["id"]) in ids]
    if ids:
        unknown = set(ids) - {str(p["id"]) for p in problems}
        if unknown:
            raise ValueError(f"no problem with id {', '.join(sorted(unknown))}")
    return chosen[:limit] if limit else chosen
