"""Benchmark results: one JSON line per case, resumable, summarised and compared.

Every record carries the run's configuration (benchmark, model, mode, repair
budget, edit format) so a rerun with the same ``--out`` skips the cases already
done and refuses to mix two configurations in one file. Cases that ended in an
``error`` (a provider outage, say) are not done: a rerun tries them again.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CONFIG_KEYS = ("bench", "model", "mode", "max_repairs", "edit_format")
DONE = ("passed", "failed", "skipped")


class ResultsError(Exception):
    """A results file that cannot be resumed or compared."""


def case_key(record: dict[str, Any]) -> tuple[str, int]:
    return str(record["id"]), int(record.get("case", 0))


def read_records(path: Path) -> list[dict[str, Any]]:
    """The records of a results file; the last record of a case wins (reruns of errors)."""
    if not path.exists():
        return []
    latest: dict[tuple[str, int], dict[str, Any]] = {}
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            if number == len(lines):
                continue  # a torn last line from an interrupted run
            raise ResultsError(f"{path}:{number}: not a JSON line") from None
        latest[case_key(record)] = record
    return list(latest.values())


def drop_torn_tail(path: Path) -> None:
    """Cut a torn last line (a run killed mid-write) so the next record starts a line of its own.

    That record was never complete, and its case is not done, so nothing is lost.
    """
    if not path.exists() or path.stat().st_size == 0:
        return
    with path.open("rb+") as data:
        data.seek(-1, os.SEEK_END)
        if data.read(1) == b"\n":
            return
        data.seek(0)
        data.truncate(data.read().rfind(b"\n") + 1)


def source_commit() -> str:
    """The chatpkg commit that runs (its git checkout's HEAD), "+dirty" when files differ from it."""
    source = Path(__file__).resolve().parents[2]
    try:
        head = subprocess.run(["git", "rev-parse", "--short=10", "HEAD"], cwd=source, capture_output=True,
                              text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", "chatpkg"],
                               cwd=source, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (head or "unknown") + ("+dirty" if dirty else "")


class ResultsFile:
    """Append-only results for one configuration; every record names the chatpkg commit that made it."""

    def __init__(self, path: Path, config: dict[str, Any]) -> None:
        self.path = path
        self.config = {k: config.get(k) for k in CONFIG_KEYS}
        self.settings = {k: v for k, v in config.items() if k not in CONFIG_KEYS}  # recorded, not compared
        self.commit = source_commit()
        self.records = read_records(path)
        for record in self.records:
            theirs = {k: record.get(k) for k in CONFIG_KEYS}
            if theirs != self.config:
                different = ", ".join(f"{k}={theirs[k]!r}" for k in CONFIG_KEYS if theirs[k] != self.config[k])
                raise ResultsError(
                    f"{path} holds a run with {different}; use another --out to start a new run"
                )
        self.done = {case_key(r) for r in self.records if r.get("status") in DONE}

    def append(self, record: dict[str, Any]) -> dict[str, Any]:
        record = {**self.config, **self.settings, "commit": self.commit, **record}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        drop_torn_tail(self.path)
        with self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(record, default=str) + "\n")
        self.records = [r for r in self.records if case_key(r) != case_key(record)] + [record]
        if record.get("status") in DONE:
            self.done.add(case_key(record))
        return record


@dataclass(frozen=True)
class Job:
    """One case to run: its key and label, and how to run it (returns a record)."""

    id: str
    case: int
    label: str
    run: Callable[[], dict[str, Any]]


def pending(jobs: Iterable[Job], results: ResultsFile) -> list[Job]:
    """The jobs whose case the results file does not hold as done."""
    return [job for job in jobs if (job.id, job.case) not in results.done]


def run_jobs(
    todo: list[Job], results: ResultsFile, report: Callable[[int, int, dict[str, Any]], None]
) -> list[dict[str, Any]]:
    """Run the jobs, appending each record as it comes."""
    records = []
    for index, job in enumerate(todo, start=1):
        record = results.append({"id": job.id, "case": job.case, **job.run()})
        records.append(record)
        report(index, len(todo), record)
    return records


# --- summaries ------------------------------------------------------------------


@dataclass
class Summary:
    config: dict[str, Any]
    run: int = 0
    passed: int = 0
    errors: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    by_category: dict[str, tuple[int, int]] = field(default_factory=dict)
    means: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return 100.0 * self.passed / self.run if self.run else 0.0


MEASURES = {
    "turns": lambda r: r.get("turns", 0),
    "repair rounds": lambda r: r.get("repairs", 0),
    "tokens": lambda r: r.get("prompt_tokens", 0) + r.get("completion_tokens", 0),
    "seconds": lambda r: r.get("seconds", 0.0),
    "turns with candidates": lambda r: r.get("turns_with_candidates", 0),
    "candidates tried": lambda r: r.get("candidates_tried", 0),
}


def summarise(records: list[dict[str, Any]]) -> Summary:
    """Pass rate over the cases run (skipped and errored ones apart), by category, and means per case."""
    config = {k: records[0].get(k) for k in CONFIG_KEYS} if records else {}
    summary = Summary(config)
    scored = [r for r in records if r.get("status") in ("passed", "failed")]
    summary.run = len(scored)
    summary.passed = sum(r["status"] == "passed" for r in scored)
    summary.errors = sum(r.get("status") == "error" for r in records)
    seen_skips = {}
    for r in records:
        if r.get("status") == "skipped":
            seen_skips.setdefault(str(r["id"]), r.get("reason", ""))
    summary.skipped = sorted(seen_skips.items())
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in scored:
        counts[r.get("category") or "-"][0] += r["status"] == "passed"
        counts[r.get("category") or "-"][1] += 1
    summary.by_category = {k: (v[0], v[1]) for k, v in sorted(counts.items())}
    if scored:
        summary.means = {name: statistics.fmean(map(get, scored)) for name, get in MEASURES.items()}
    return summary


def _percent(passed: int, run: int) -> str:
    return f"{100.0 * passed / run:5.1f}% ({passed}/{run})" if run else "-"


def format_summary(summary: Summary) -> Iterator[str]:
    config = ", ".join(f"{k} {v}" for k, v in summary.config.items() if v is not None)
    yield f"{config}"
    yield f"pass rate      {_percent(summary.passed, summary.run)}"
    for category, (passed, run) in summary.by_category.items():
        yield f"  {category:<13}{_percent(passed, run)}"
    if summary.means:
        yield "per case       " + ", ".join(f"{name} {value:.1f}" for name, value in summary.means.items())
    for problem, reason in summary.skipped:
        yield f"skipped        {problem}: {reason}"
    if summary.errors:
        yield f"errors         {summary.errors} case(s) ended in an error; rerun to retry them"


def format_comparison(a: list[dict[str, Any]], b: list[dict[str, Any]], names: tuple[str, str]) -> Iterator[str]:
    """Two runs side by side: pass rates overall and by category, means, and the cases that differ."""
    sa, sb = summarise(a), summarise(b)
    values = [str(v) for summary in (sa, sb) for v in summary.config.values()]
    width = max(24, *(len(text) + 2 for text in [*names, *values]))
    label = max(16, *(len(text) + 1 for text in [*CONFIG_KEYS, *MEASURES]))  # "turns with candidates"
    yield f"{'':<{label}}{names[0]:>{width}}{names[1]:>{width}}"
    for key in CONFIG_KEYS:
        yield f"{key:<{label}}{sa.config.get(key)!s:>{width}}{sb.config.get(key)!s:>{width}}"
    yield f"{'pass rate':<{label}}{_percent(sa.passed, sa.run):>{width}}{_percent(sb.passed, sb.run):>{width}}"
    for category in sorted(set(sa.by_category) | set(sb.by_category)):
        left = _percent(*sa.by_category.get(category, (0, 0)))
        right = _percent(*sb.by_category.get(category, (0, 0)))
        yield f"  {category:<{label - 2}}{left:>{width}}{right:>{width}}"
    scored_a, scored_b = _scored(a), _scored(b)
    shared = scored_a.keys() & scored_b.keys()
    if shared != scored_a.keys() or shared != scored_b.keys():  # a partial run: compare like with like
        left, right = (_percent(sum(run[k] == "passed" for k in shared), len(shared)) for run in (scored_a, scored_b))
        yield f"{'same cases':<{label}}{left:>{width}}{right:>{width}}"
    for name in MEASURES:
        left, right = sa.means.get(name), sb.means.get(name)
        yield f"{name:<{label}}{_fmt(left):>{width}}{_fmt(right):>{width}}"
    status_a = {case_key(r): r.get("status") for r in a}
    status_b = {case_key(r): r.get("status") for r in b}
    for key in sorted(set(status_a) & set(status_b), key=_natural):
        if status_a[key] != status_b[key] and "skipped" not in (status_a[key], status_b[key]):
            yield f"  {key[0]} case {key[1]}: {status_a[key]} -> {status_b[key]}"


def _scored(records: list[dict[str, Any]]) -> dict[tuple[str, int], str]:
    """The status of each case that was scored (passed or failed)."""
    return {case_key(r): r["status"] for r in records if r.get("status") in ("passed", "failed")}


def _natural(key: tuple[str, int]) -> tuple[list[tuple[int, str]], int]:
    """Problem ids with their numbers in numeric order ("2" before "10", "HumanEval/9" before
    "HumanEval/10")."""
    parts = [(int(p), "") if p.isdigit() else (-1, p) for p in re.split(r"(\d+)", key[0]) if p]
    return parts, key[1]


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"
