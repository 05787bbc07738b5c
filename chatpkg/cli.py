"""The ``chatpkg`` command line."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import click

from chatpkg import __version__
from chatpkg.core.config import default_edit_format, default_model_spec
from chatpkg.core.embedded import EMBEDDED_MODEL
from chatpkg.core.models import Model, ModelError, UnconfiguredModel, resolve_model
from chatpkg.core.session import Session, Settings
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


def _settings(model: Model, flags: dict[str, Any]) -> Settings | None:
    """Settings from flags; None keeps a resumed session's own settings (a new one gets the model's)."""
    given = {k: v for k, v in flags.items() if v is not None}
    if not given:
        return None
    given.setdefault("edit_format", default_edit_format(model.name))
    return Settings.from_dict(given)


def _program(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    path = PurePosixPath(value.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or path.suffix != ".py":
        raise click.BadParameter("give a .py file inside the workspace, relative to it (e.g. main.py)")
    return str(path)


def session_options(command: Callable[..., None]) -> Callable[..., None]:
    """The options that choose the workspace, the model and the session (TUI, REPL and the default)."""
    options = [
        WORKSPACE,
        MODEL,
        click.option("--max-repairs", type=click.IntRange(0, 10), default=None,
                     help="Repair rounds for failing tests [2]."),
        click.option("--edit-format", type=click.Choice(["whole", "diff", "merge"]), default=None,
                     help="How the model edits: whole files, SEARCH/REPLACE, or definitions merged by name "
                     "[the model's measured best]."),
        click.option("--test-timeout", type=float, default=None, help="Seconds before a test run is killed [60]."),
        click.option("--program", default=None, metavar="FILE", callback=_program,
                     help="The workspace's program, e.g. main.py: run after the tests in every round; a crash "
                     "counts as a failing test and what it prints is shown to the model."),
        click.option("--new-session", is_flag=True, help="Start a new session instead of resuming the latest."),
        click.option("--session", "session_id", default=None, help="Resume this session id."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@dataclass(frozen=True)
class SessionChoice:
    workspace: Path
    model: str | None
    max_repairs: int | None
    edit_format: str | None
    test_timeout: float | None
    program: str | None
    new_session: bool
    session_id: str | None

    def open(self, chosen: Model) -> tuple[Session, list[str]]:
        from chatpkg.core.store import SessionNotFound, open_session

        flags = dict(max_repairs=self.max_repairs, edit_format=self.edit_format, test_timeout=self.test_timeout,
                     program=self.program)
        settings = _settings(chosen, flags)
        try:
            return open_session(
                self.workspace, chosen, settings=settings, resume=not self.new_session, session_id=self.session_id
            )
        except (SessionNotFound, TranscriptError) as exc:
            raise click.ClickException(str(exc)) from exc


def _history_path(workspace: Path) -> Path:
    return workspace / ".chatpkg" / "input-history"


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
    chosen = _model(choice.model)
    app = ChatpkgApp(lambda: choice.open(chosen), model_name=chosen.name, resolve_model=_model,
                     history=_history_path(choice.workspace))
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
    session, problems = choice.open(_model(choice.model))
    for problem in problems:
        click.echo(f"warning: {problem}", err=True)
    reader = make_reader(_history_path(choice.workspace))
    code = Repl(session, reader=reader, out=sys.stdout, resolve_model=_model, keys=sys.stdin).run()
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
    from chatpkg.replay_cli import print_replay

    if tui:
        if model:
            raise click.UsageError("--tui replays the recorded replies; it does not take --model")
        from chatpkg.tui.replay_app import ReplayApp

        sys.exit(ReplayApp(transcript, workspace).run() or 0)

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


from chatpkg.bench_cli import bench  # noqa: E402  (the group needs main defined first)

main.add_command(bench)


if __name__ == "__main__":
    main()
