"""The ``chatpkg`` command line: the TUI (default in a terminal), the REPL, replay, models, bench."""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from chatpkg import __version__
from chatpkg.cli.bench import bench
from chatpkg.cli.doctor import doctor
from chatpkg.cli.models import models
from chatpkg.cli.options import SessionChoice, history_path, model_from_spec, model_resolver, session_options
from chatpkg.cli.replay import replay
from chatpkg.cli.sessions import sessions
from chatpkg.core.engine.config import load_env_files


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
    load_env_files(choice.workspace)
    chosen = model_from_spec(choice.model_spec(), choice.workspace)
    app = ChatpkgApp(lambda init=False: choice.open(chosen, init=init), model_name=chosen.name,
                     resolve_model=model_resolver(choice.workspace), history=history_path(choice.workspace))
    code = app.run() or 0
    if app.preparing:  # quit while the model loads: don't wait seconds for llama.cpp to finish loading
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


@main.command()
@session_options
@click.option("--events", type=click.Choice(["text", "jsonl"]), default="text", show_default=True,
              help="jsonl: every event as one JSON object per line on stdout, for scripts (no other text there).")
def repl(events: str, **options: Any) -> None:
    """Chat with chatpkg in a plain terminal (or from a script, with piped stdin).

    Exits 0 when every turn ended green (committed, tests passing), 1 otherwise.
    """
    from chatpkg.repl import Repl, make_reader

    choice = SessionChoice(**options)
    session, problems = choice.open_in_terminal()
    for problem in problems:
        click.echo(f"warning: {problem}", err=True)
    reader = make_reader(history_path(choice.workspace), echo=events == "text")
    repl_ = Repl(session, reader=reader, out=sys.stdout, resolve_model=model_resolver(choice.workspace),
                 keys=sys.stdin, events=events)
    sys.exit(repl_.run())


for command in (bench, replay, models, sessions, doctor):
    main.add_command(command)

