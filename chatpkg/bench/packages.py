"""Package-building tasks as real chatpkg sessions, scored on acceptance tests the session never sees.

Each task (a JSON line: id, package, idea, turns, acceptance; see
``../shared/pkgbench/README.md``) runs in a fresh, empty workspace folder named
after its package, which chatpkg scaffolds. The task's turns go to one session,
one by one. Then the acceptance tests run from outside the workspace: a
temporary folder holding only the acceptance test file, with the workspace
importable through PYTHONPATH, inside chatpkg's sandbox. The session sees
its own files and tests only; the acceptance file is used to score and nothing else.
"""

from __future__ import annotations

import ast
import json
import re
import statistics
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from chatpkg.bench.drive import bench_settings, drive
from chatpkg.bench.results import CONFIG_KEYS, Job, format_comparison, summarise
from chatpkg.core.cancel import CancelToken
from chatpkg.core.engine.catalog import summarize
from chatpkg.core.engine.store import open_session
from chatpkg.core.models import Model
from chatpkg.core.runner import PytestRunner, TestReport

ACCEPTANCE_FILE = "test_acceptance.py"
ACCEPTANCE_TIMEOUT = 60.0
SETTINGS_KEYS = ("team", "candidates")  # recorded beside the compared configuration; a run holds one of each
MAX_LISTED = 10  # failing acceptance tests named in a record


def load_tasks(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def declared_tests(source: str) -> int:
    """Test functions the acceptance file declares (top level and in Test classes).

    The total when the file cannot even be collected (the package does not import):
    then pytest reports one error for the whole module, not one per test.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return 0

    def tests_in(body: list[ast.stmt]) -> int:
        count = 0
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
                count += 1
            elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
                count += tests_in(node.body)
        return count

    return tests_in(tree.body)


class AcceptanceRunner(PytestRunner):
    """pytest on a folder outside the workspace, with the workspace importable (PYTHONPATH)."""

    def __init__(self, workspace: Path, **options: Any) -> None:
        super().__init__(**options)
        self.workspace = Path(workspace).resolve()

    def command(self, root: Path, junit: Path) -> list[str]:
        paths = [self.workspace, *([self.workspace / "src"] if (self.workspace / "src").is_dir() else [])]
        # `env` sets it for pytest and for what the tests start (`python -m package`).
        return ["env", "PYTHONPATH=" + ":".join(map(str, paths)), *super().command(root, junit)]

    def run(self, root: Path, cancel: CancelToken | None = None) -> TestReport:
        root = Path(root).resolve()
        with tempfile.TemporaryDirectory(prefix="chatpkg-acceptance-report-") as tmp:
            junit = Path(tmp) / "report.xml"
            # The sandbox shows only the run's folder and its writable ones (its /tmp is empty): the
            # workspace, often under /tmp, is bound too. The session is over: nothing it writes is seen.
            run = self.sandbox.run(self.command(root, junit), root, Path(tmp) / "console.log", cancel,
                                   writable=(Path(tmp), self.workspace))
            return self._report(run.code, run.outcome, run.seconds, junit, run.output)


def run_acceptance(workspace: Path, source: str, timeout: float = ACCEPTANCE_TIMEOUT) -> TestReport:
    """The acceptance tests, alone in a temporary folder, against the workspace's package."""
    with tempfile.TemporaryDirectory(prefix="chatpkg-acceptance-") as tmp:
        (Path(tmp) / ACCEPTANCE_FILE).write_text(source, encoding="utf-8")
        return AcceptanceRunner(workspace, timeout=timeout).run(Path(tmp))


def acceptance_record(report: TestReport, declared: int) -> dict[str, Any]:
    """Counts and the failing tests; a task passes when every acceptance test passes."""
    total = max(declared, report.collected)
    passed = report.passed
    failures = [f"{f.test_id}: {f.message}" for f in report.failures[:MAX_LISTED]]
    if report.timed_out:
        failures.append(report.summary())
    reason = failures[0] if failures else ("" if passed == total else report.summary())
    return {
        "status": "passed" if total and passed == total and report.ok else "failed",
        "reason": reason[:300],
        "acceptance_passed": passed,
        "acceptance_total": total,
        "acceptance_failures": failures,
    }


def run_task(
    task: dict[str, Any], model: Model, workdir: Path, *, max_repairs: int, edit_format: str,
    team: str = "coder", candidates: int = 0,
) -> dict[str, Any]:
    """One task: its turns as a session in ``workdir`` (a new, empty folder), then the acceptance tests."""
    workdir.mkdir(parents=True)
    settings = bench_settings(max_repairs, edit_format, team=team, candidates=candidates)
    session, _ = open_session(workdir, model, settings=settings, resume=False)
    tally = drive(session, list(task["turns"]))
    # turns committed with passing tests, counted as `chatpkg sessions` counts them
    about = {"name": task["package"], "category": "package", "turns_green": summarize(session.transcript.path).green}
    if tally.model_error:
        return {**about, "status": "error", "reason": tally.model_error, **tally.to_dict()}
    report = run_acceptance(workdir, task["acceptance"])
    return {**about, **acceptance_record(report, declared_tests(task["acceptance"])), **tally.to_dict()}


def package_jobs(
    tasks: list[dict[str, Any]], model: Model, scratch: Path, *, max_repairs: int, edit_format: str,
    team: str = "coder", candidates: int = 0,
) -> Iterator[Job]:
    for task in tasks:
        def run(task: dict[str, Any] = task) -> dict[str, Any]:
            workdir = scratch / re.sub(r"[^\w.-]", "-", str(task["id"])) / task["package"]
            return run_task(task, model, workdir, max_repairs=max_repairs, edit_format=edit_format,
                            team=team, candidates=candidates)
        yield Job(str(task["id"]), 0, str(task["id"]), run)


def settings_conflict(records: list[dict[str, Any]], config: dict[str, Any]) -> str | None:
    """Why a results file cannot take this run: it holds another configuration, team or number of
    candidates (ResultsFile itself compares only the configuration every benchmark has)."""
    for record in records:
        differ = [f"{k}={record.get(k)!r}" for k in (*CONFIG_KEYS, *SETTINGS_KEYS) if record.get(k) != config.get(k)]
        if differ:
            return f"holds a run with {', '.join(differ)}; use another --out to start a new run"
    return None


# --- summaries ------------------------------------------------------------------


def _scored(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if r.get("status") in ("passed", "failed")]


def _share(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:5.1f}% ({part}/{whole})" if whole else "-"


def acceptance_share(records: list[dict[str, Any]]) -> str:
    scored = _scored(records)
    return _share(sum(r.get("acceptance_passed", 0) for r in scored), sum(r.get("acceptance_total", 0) for r in scored))


def green_share(records: list[dict[str, Any]]) -> str:
    scored = _scored(records)
    return _share(sum(r.get("turns_green", 0) for r in scored), sum(r.get("turns", 0) for r in scored))


def format_packages_summary(records: list[dict[str, Any]]) -> Iterator[str]:
    """Tasks fully passing, acceptance tests passed, turns green, and the means per task."""
    summary = summarise(records)
    scored = _scored(records)
    config = {**summary.config, **{k: records[0].get(k) for k in SETTINGS_KEYS}} if records else {}
    yield ", ".join(f"{k} {v}" for k, v in config.items() if v is not None)
    yield f"tasks passing     {_share(summary.passed, summary.run)}"
    yield f"acceptance tests  {acceptance_share(records)}"
    yield f"turns green       {green_share(records)}"
    if scored:
        means = {name: statistics.fmean(r.get(key, 0) for r in scored) for name, key in (
            ("seconds", "seconds"), ("prompt tokens", "prompt_tokens"),
            ("completion tokens", "completion_tokens"), ("repair rounds", "repairs"))}
        yield "per task          " + ", ".join(f"{name} {value:.1f}" for name, value in means.items())
    if summary.errors:
        yield f"errors            {summary.errors} task(s) ended in an error; rerun to retry them"


def format_packages_comparison(a: list[dict[str, Any]], b: list[dict[str, Any]],
                               names: tuple[str, str]) -> Iterator[str]:
    """``format_comparison``'s table with the team, candidates, acceptance tests and turns green added."""
    lines = list(format_comparison(a, b, names))
    width = (len(lines[0]) - 16) // 2  # the same columns: a 16-wide label, then two right-aligned ones
    first = {k: (a[0].get(k) if a else None, b[0].get(k) if b else None) for k in SETTINGS_KEYS}
    for line in lines:
        yield line
        if line.startswith("edit_format"):
            for key, (left, right) in first.items():
                yield f"{key:<16}{left!s:>{width}}{right!s:>{width}}"
        elif line.startswith("pass rate"):
            yield f"{'acceptance tests':<16}{acceptance_share(a):>{width}}{acceptance_share(b):>{width}}"
            yield f"{'turns green':<16}{green_share(a):>{width}}{green_share(b):>{width}}"
