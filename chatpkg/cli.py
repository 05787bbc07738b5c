"""The ``chatpkg`` command line."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import click

from chatpkg import __version__
from chatpkg.core.config import default_model_spec
from chatpkg.core.models import Model, ModelError, UnconfiguredModel, resolve_model
from chatpkg.core.session import Settings
from chatpkg.core.transcript import TranscriptError

WORKSPACE = click.option(
    "--workspace",
    "-w",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="The package directory (a git repository; created if missing).",
)
MODEL = click.option(
    "--model",
    "-m",
    default=None,
    help="A litellm model string, or scripted:FILE (a JSON list of replies). "
    "Default: $CHATPKG_MODEL, then the config file.",
)


def _model(spec: str | None) -> Model:
    spec = spec or default_model_spec()
    if not spec:
        return UnconfiguredModel()
    try:
        return resolve_model(spec)
    except ModelError as exc:
        raise click.ClickException(str(exc)) from exc


def _settings(max_repairs: int | None, edit_format: str | None, test_timeout: float | None) -> Settings | None:
    """Settings from flags; None keeps a resumed session's own settings."""
    given = {
        k: v
        for k, v in dict(max_repairs=max_repairs, edit_format=edit_format, test_timeout=test_timeout).items()
        if v is not None
    }
    return Settings.from_dict(given) if given else None


@click.group(invoke_without_command=True)
@click.version_option(__version__, prog_name="chatpkg")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Build a Python package one tested, committed step at a time.

    Without a command, opens the REPL on the current directory.
    """
    if ctx.invoked_subcommand is None:
        ctx.invoke(repl)


@main.command()
@WORKSPACE
@MODEL
@click.option("--max-repairs", type=click.IntRange(0, 10), default=None, help="Repair rounds for failing tests [2].")
@click.option("--edit-format", type=click.Choice(["whole", "diff"]), default=None, help="How the model edits [whole].")
@click.option("--test-timeout", type=float, default=None, help="Seconds before a test run is killed [60].")
@click.option("--new-session", is_flag=True, help="Start a new session instead of resuming the latest.")
@click.option("--session", "session_id", default=None, help="Resume this session id.")
def repl(
    workspace: Path,
    model: str | None,
    max_repairs: int | None,
    edit_format: str | None,
    test_timeout: float | None,
    new_session: bool,
    session_id: str | None,
) -> None:
    """Chat with chatpkg in a plain terminal (or from a script, with piped stdin)."""
    from chatpkg.core.store import SessionNotFound, open_session
    from chatpkg.repl import Repl, make_reader

    settings = _settings(max_repairs, edit_format, test_timeout)
    try:
        session, problems = open_session(
            workspace, _model(model), settings=settings, resume=not new_session, session_id=session_id
        )
    except (SessionNotFound, TranscriptError) as exc:
        raise click.ClickException(str(exc)) from exc
    for problem in problems:
        click.echo(f"warning: {problem}", err=True)
    history = session.transcript.path.parent.parent / "input-history"
    code = Repl(session, reader=make_reader(history), out=sys.stdout, resolve_model=_model, keys=sys.stdin).run()
    sys.exit(code)


@main.command()
@click.argument("transcript", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--model", "-m", default=None, help="Re-synthesise: send the recorded user turns to this model.")
@click.option(
    "--workspace",
    "-w",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="An empty directory to replay into [a temporary one].",
)
def replay(transcript: Path, model: str | None, workspace: Path | None) -> None:
    """Re-run a recorded session and verify it turn by turn.

    With --model, send the same user turns to that model instead and show the
    recorded and new outcomes side by side.
    """
    from chatpkg.replay_cli import print_replay

    with tempfile.TemporaryDirectory(prefix="chatpkg-replay-") as scratch:
        target = workspace or Path(scratch) / "workspace"
        code = print_replay(transcript, target, _model(model) if model else None)
    sys.exit(code)


@main.group()
def bench() -> None:
    """Benchmarks that print their figures."""


@bench.command("overhead")
@click.option("--turns", type=click.IntRange(5, 500), default=24, show_default=True)
def bench_overhead(turns: int) -> None:
    """chatpkg's own time per turn, with the scripted model, minus pytest's."""
    from chatpkg.bench.overhead import run_overhead_bench

    run_overhead_bench(turns)


if __name__ == "__main__":
    main()
