"""``chatpkg sessions``: a workspace's sessions, the one ``chatpkg`` resumes marked."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from chatpkg.core.engine.catalog import SessionSummary

COLUMNS = ("", "session", "created", "model", "turns", "green", "last activity", "transcript")


def _local(stamp: str | None) -> str:
    """An ISO time as the reader's local minute; what it is when it does not parse."""
    if not stamp:
        return "?"
    try:
        return datetime.fromisoformat(stamp).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return stamp


def _cells(summary: SessionSummary) -> tuple[str, ...]:
    return (
        "*" if summary.resume else "",
        summary.session_id,
        _local(summary.created),
        summary.model or "?",
        str(summary.turns),
        str(summary.green),
        _local(summary.last_activity),
        str(summary.path),
    )


def table(summaries: list[SessionSummary]) -> list[str]:
    """Aligned columns, a session's problems indented under its row."""
    rows = [COLUMNS, *map(_cells, summaries)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    right = {4, 5}  # numbers

    def line(row: tuple[str, ...]) -> str:
        cells = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))]
        return "  ".join(cells).rstrip()

    lines = [line(COLUMNS)]
    for summary, row in zip(summaries, rows[1:]):
        lines.append(line(row))
        lines += [f"{' ' * widths[0]}  problem: {p}" for p in summary.problems]
    return lines


@click.command()
@click.option(
    "--workspace",
    "-w",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="The package directory whose sessions to list.",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of objects, one per session.")
def sessions(workspace: Path, as_json: bool) -> None:
    """List the workspace's sessions: turns, green turns, last activity, transcript.

    Oldest activity first; * marks the session chatpkg resumes (the last one).
    A turn is green when it committed with passing tests. A transcript that
    cannot be read is listed with its problem.
    """
    from chatpkg.core.engine.catalog import list_summaries

    summaries = list_summaries(workspace)
    if as_json:
        rows = [s.to_dict() | {"transcript": str(s.path.resolve())} for s in summaries]
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not summaries:
        click.echo(f"no sessions in {workspace}: chatpkg starts one there on its first run")
        return
    for text in table(summaries):
        click.echo(text)
    click.echo("* = the session `chatpkg` resumes here (--new-session starts another, --session ID picks one)")
    click.echo("replay one with: chatpkg replay TRANSCRIPT")
