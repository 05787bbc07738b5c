"""``chatpkg doctor``: check that this machine can run chatpkg, and say what to do where it cannot."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from chatpkg.core.engine.config import load_env_files
from chatpkg.core.engine.diagnostics import FAIL, WARN, CheckResult, DoctorContext, failed, run_checks

MARKS = {"ok": "✓", "warn": "!", "fail": "✗", "skipped": "-"}


def render(results: list[CheckResult]) -> list[str]:
    """One line per check; under a failure or a warning, what to do."""
    width = max((len(r.name) for r in results), default=0)
    lines = []
    for result in results:
        lines.append(f"{MARKS.get(result.status, '?')} {result.name:<{width}}  {result.detail}")
        if result.fix and result.status in (FAIL, WARN):
            lines.append(f"  {'':<{width}}  → {result.fix}")
    fails = sum(r.status == FAIL for r in results)
    warns = sum(r.status == WARN for r in results)
    summary = f"{fails} failed, {warns} warning{'s' if warns != 1 else ''}"
    lines.append(summary if fails or warns else "all checks passed")
    return lines


@click.command()
@click.option(
    "--workspace", "-w", type=click.Path(file_okay=False, path_type=Path), default=Path("."), show_default=True,
    help="The workspace whose pyproject.toml, .env and .chatpkg/ are checked.",
)
@click.option("--model", "-m", "models", multiple=True, help="Check this model's provider too (repeatable).")
@click.option("--offline", is_flag=True, help="Make no network calls (providers' reachability is skipped).")
@click.option("--deep", is_flag=True, help="Re-verify the assembled embedded model's sha256 (reads 1.1 GB).")
@click.option("--json", "as_json", is_flag=True, help="Print the results as a JSON list.")
def doctor(workspace: Path, models: tuple[str, ...], offline: bool, deep: bool, as_json: bool) -> None:
    """Check Python, git, the config files, the models and their providers, and disk space.

    Prints one line per check (✓ ok, ! warning, ✗ failed, - skipped) and, under
    each failure, what to do. Exits with 1 when a check failed.
    """
    load_env_files(workspace)  # keys in .env files count, as they do for a session
    results = run_checks(DoctorContext(root=workspace, offline=offline, deep=deep, models=models))
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in results], indent=2))
    else:
        for line in render(results):
            click.echo(line)
    sys.exit(1 if failed(results) else 0)
