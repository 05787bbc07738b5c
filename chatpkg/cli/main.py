"""The ``chatpkg`` command line: the TUI (default in a terminal), the REPL, replay, models, bench."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import click

from chatpkg import __version__
from chatpkg.cli.bench import bench
from chatpkg.cli.options import SessionChoice, history_path, model_from_spec, session_options


@click.group(invoke_without_command=True)
@click.version_option(__version__, prog_name="chatpkg")
@session_options
@click.pass_context
def main(ctx: click.Context, **options: Any) -> None:
    """Build a Python package one tested, committed step at a time.

    Without a command, opens the TUI on the workspace (the REPL when stdin or
    stdout is not a terminal, e.g. in a script).
    """
    if ctx.invoked_subcommand is None:
        interactive = sys.stdin.isatty() and sys.stdout.isatty()
        ctx.invoke(tui if interactive else repl, **options)


@main.command()
@session_options
def tui(**options: Any) -> None:
    """The full-screen chat: chat, diff, tests, files and turns side by side."""
    from chatpkg.tui.app import ChatpkgApp

    choice = SessionChoice(**options)
    chosen = model_from_spec(choice.model)
    app = ChatpkgApp(lambda: choice.open(chosen), model_name=chosen.name, resolve_model=model_from_spec,
                     history=history_path(choice.workspace))
    code = app.run() or 0
    if app.preparing:  # quit while the model loads: don't wait seconds for llama.cpp to finish loading
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


@main.command()
@session_options
def repl(**options: Any) -> None:
    """Chat with chatpkg in a plain terminal (or from a script, with piped stdin)."""
    from chatpkg.repl import Repl, make_reader

    choice = SessionChoice(**options)
    session, problems = choice.open(model_from_spec(choice.model))
    for problem in problems:
        click.echo(f"warning: {problem}", err=True)
    reader = make_reader(history_path(choice.workspace))
    code = Repl(session, reader=reader, out=sys.stdout, resolve_model=model_from_spec, keys=sys.stdin).run()
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
@click.option("--tui", is_flag=True, help="Step through the replay turn by turn in the TUI (for teaching).")
def replay(transcript: Path, model: str | None, workspace: Path | None, tui: bool) -> None:
    """Re-run a recorded session and verify it turn by turn.

    With --model, send the same user turns to that model instead and show the
    recorded and new outcomes side by side. With --tui, open the session in the
    TUI and step through it (n / p): the chat, diff and tests at each turn.
    """
    from chatpkg.cli.replay import print_replay

    if tui:
        if model:
            raise click.UsageError("--tui replays the recorded replies; it does not take --model")
        from chatpkg.tui.replay_app import ReplayApp

        sys.exit(ReplayApp(transcript, workspace).run() or 0)

    with tempfile.TemporaryDirectory(prefix="chatpkg-replay-") as scratch:
        target = workspace or Path(scratch) / "workspace"
        code = print_replay(transcript, target, model_from_spec(model) if model else None)
    sys.exit(code)


@main.command()
def models() -> None:
    """Which model chatpkg uses, and whether the embedded model is installed."""
    from chatpkg.core.engine.config import config_path, configured_model
    from chatpkg.core.models import embedded

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


main.add_command(bench)

