"""``chatpkg replay``: re-run a recorded session, verify it, print the per-turn table (or one JSON document)."""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from chatpkg.cli.options import model_from_spec
from chatpkg.core.engine.replay import ReplayError, TurnCheck, replay_exact, resynthesize
from chatpkg.core.engine.transcript import TranscriptContents, TranscriptError, read_transcript
from chatpkg.core.models import Model


def _cell(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _row(check: TurnCheck, verdict: str) -> str:
    cells = (_cell(check.request, 32), _cell(check.recorded, 30), _cell(check.replayed, 30))
    return f"{check.turn:>4}  {cells[0]:<32}  {cells[1]:<30}  {cells[2]:<30}  {verdict}"


def _status(check: TurnCheck, *, exact: bool) -> str:
    if not exact:
        return "ran"  # re-synthesis has no verdict: the outcomes are lined up for a person
    return "skipped" if check.skipped else ("ok" if check.ok else "diverged")


def _read(path: Path) -> TranscriptContents:
    try:
        contents = read_transcript(path)
    except (OSError, TranscriptError) as exc:
        raise click.ClickException(str(exc)) from exc
    for problem in contents.problems:
        click.echo(f"warning: {problem}", err=True)
    return contents


def _checks(path: Path, target: Path, model: Model | None) -> Iterator[TurnCheck]:
    """Each step's check; a transcript that cannot be replayed at all is a ClickException."""
    try:
        yield from (resynthesize(path, target, model) if model else replay_exact(path, target))
    except ReplayError as exc:
        raise click.ClickException(f"cannot replay: {exc}") from exc


def print_replay(path: Path, target: Path, model: Model | None) -> int:
    """Print the table; 0 when every turn matched (exact) or ran (re-synthesis)."""
    contents = _read(path)
    title = f"re-synthesis with {model.name}" if model else "exact replay"
    click.echo(f"{title} of {path.name} (recorded with {contents.header.model})")
    click.echo(f"{'turn':>4}  {'request':<32}  {'recorded':<30}  {'now':<30}  check")
    return _print_rows(_checks(path, target, model), exact=model is None)


def _print_rows(checks: Iterator[TurnCheck], *, exact: bool) -> int:
    count = 0
    for check in checks:
        count += 1
        status = _status(check, exact=exact)
        click.echo(_row(check, {"ran": "", "diverged": "DIVERGED"}.get(status, status)))
        if not check.ok:
            for problem in check.problems:
                click.echo(f"      {problem}")
            click.echo(f"diverged at turn {check.turn}: {check.problems[0]}")
            return 1
    click.echo(f"{count} steps replayed" + (", all verified" if exact else ""))
    return 0


def _step(index: int, check: TurnCheck, *, exact: bool) -> dict[str, Any]:
    return {
        "step": index,
        "turn": check.turn,
        "request": check.request,
        "recorded": check.recorded,
        "now": check.replayed,
        "status": _status(check, exact=exact),
        "problems": list(check.problems),
    }


def json_replay(path: Path, target: Path, model: Model | None) -> int:
    """Print one JSON document for the whole replay; 0 as for the table.

    One document, not a line per step: a replay is one verdict on one file, and
    ``json.load`` or ``jq .ok`` reads it whole. It is printed also when the
    replay cannot run (``ok`` false, ``error`` the reason), before the error
    goes to stderr.
    """
    doc: dict[str, Any] = {
        "transcript": str(path), "mode": "resynthesis" if model else "exact",
        "model": model.name if model else None, "recorded_model": None,
        "ok": False, "diverged_at_turn": None, "steps": [], "warnings": [], "error": None,
    }
    try:
        contents = _read(path)
        doc["recorded_model"], doc["warnings"] = contents.header.model, list(contents.problems)
        for index, check in enumerate(_checks(path, target, model), start=1):
            doc["steps"].append(_step(index, check, exact=model is None))
            if not check.ok:
                doc["diverged_at_turn"] = check.turn
                break
    except click.ClickException as exc:
        doc["error"] = exc.message
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
        raise
    doc["ok"] = doc["diverged_at_turn"] is None
    click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
    return 0 if doc["ok"] else 1


@click.command()
@click.argument("transcript", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--model", "-m", default=None, help="Re-synthesise: send the recorded user turns to this model.")
@click.option(
    "--workspace",
    "-w",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="An empty directory to replay into [a temporary one].",
)
@click.option("--tui", is_flag=True, help="Step through the replay turn by turn in the TUI (for teaching).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document (the steps and the verdict), for CI.")
def replay(transcript: Path, model: str | None, workspace: Path | None, tui: bool, as_json: bool) -> None:
    """Re-run a recorded session and verify it turn by turn.

    With --model, send the same user turns to that model instead and show the
    recorded and new outcomes side by side. With --tui, open the session in the
    TUI and step through it (n / p): the chat, diff and tests at each turn.

    Exits 0 when every step verified (or, with --model, ran), 1 at the first
    divergence or when the transcript cannot be replayed.
    """
    if tui:
        if model or as_json:
            raise click.UsageError("--tui replays the recorded replies; it does not take --model or --json")
        from chatpkg.tui.replay_app import ReplayApp

        sys.exit(ReplayApp(transcript, workspace).run() or 0)

    show = json_replay if as_json else print_replay
    with tempfile.TemporaryDirectory(prefix="chatpkg-replay-") as scratch:
        target = workspace or Path(scratch) / "workspace"
        code = show(transcript, target, model_from_spec(model) if model else None)
    sys.exit(code)
