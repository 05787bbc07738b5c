"""``chatpkg replay``: prints the per-turn table of a replay."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import click

from chatpkg.core.engine.replay import ReplayError, TurnCheck, replay_exact, resynthesize
from chatpkg.core.engine.transcript import TranscriptError, read_transcript
from chatpkg.core.models import Model


def _cell(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _row(check: TurnCheck, verdict: str) -> str:
    cells = (_cell(check.request, 32), _cell(check.recorded, 30), _cell(check.replayed, 30))
    return f"{check.turn:>4}  {cells[0]:<32}  {cells[1]:<30}  {cells[2]:<30}  {verdict}"


def print_replay(path: Path, target: Path, model: Model | None) -> int:
    """Print the table; 0 when every turn matched (exact) or ran (re-synthesis)."""
    try:
        contents = read_transcript(path)
    except (OSError, TranscriptError) as exc:
        raise click.ClickException(str(exc)) from exc
    for problem in contents.problems:
        click.echo(f"warning: {problem}", err=True)
    title = f"re-synthesis with {model.name}" if model else "exact replay"
    click.echo(f"{title} of {path.name} (recorded with {contents.header.model})")
    click.echo(f"{'turn':>4}  {'request':<32}  {'recorded':<30}  {'now':<30}  check")
    try:
        checks = resynthesize(path, target, model) if model else replay_exact(path, target)
        return _print_rows(checks, exact=model is None)
    except ReplayError as exc:
        raise click.ClickException(f"cannot replay: {exc}") from exc


def _print_rows(checks: Iterator[TurnCheck], *, exact: bool) -> int:
    count = 0
    for check in checks:
        count += 1
        verdict = "skipped" if check.skipped else ("ok" if check.ok else "DIVERGED")
        click.echo(_row(check, verdict if exact else ""))
        if not check.ok:
            for problem in check.problems:
                click.echo(f"      {problem}")
            click.echo(f"diverged at turn {check.turn}: {check.problems[0]}")
            return 1
    click.echo(f"{count} steps replayed" + (", all verified" if exact else ""))
    return 0
