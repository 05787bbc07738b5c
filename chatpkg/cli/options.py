"""Options and helpers the ``chatpkg`` commands share: workspace, model, session settings."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import click

from chatpkg.core.engine.config import default_edit_format, default_model_spec
from chatpkg.core.engine.session import Session
from chatpkg.core.engine.settings import Settings
from chatpkg.core.engine.store import SessionNotFound, open_session
from chatpkg.core.engine.transcript import TranscriptError
from chatpkg.core.models import Model, ModelError, UnconfiguredModel, resolve_model
from chatpkg.core.models.embedded import EMBEDDED_MODEL

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


def model_from_spec(spec: str | None) -> Model:
    """The model ``--model`` names (default: the configured one); the embedded one is assembled first."""
    spec = spec or default_model_spec()
    if not spec:
        return UnconfiguredModel()
    if spec == EMBEDDED_MODEL:
        assemble_embedded()
    try:
        return resolve_model(spec)
    except ModelError as exc:
        raise click.ClickException(str(exc)) from exc


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

        flags = dict(max_repairs=self.max_repairs, edit_format=self.edit_format, test_timeout=self.test_timeout,
                     program=self.program)
        settings = _settings(chosen, flags)
        try:
            return open_session(
                self.workspace, chosen, settings=settings, resume=not self.new_session, session_id=self.session_id
            )
        except (SessionNotFound, TranscriptError) as exc:
            raise click.ClickException(str(exc)) from exc


def history_path(workspace: Path) -> Path:
    return workspace / ".chatpkg" / "input-history"
