"""``chatpkg models``: which model chatpkg uses, and what is installed (as text, or as JSON)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

OTHER_MODELS = "any litellm model string (--model provider/name), local:FILE.gguf, scripted:FILE"


def model_facts(root: Path) -> dict[str, Any]:
    """What ``chatpkg models`` shows, as one JSON-ready object; a config error is a field, not an exception."""
    from chatpkg.core.engine.config import config_files, config_path, configured_model, model_config
    from chatpkg.core.models import embedded

    state = embedded.status()
    try:
        spec, source = configured_model(root)
        per_model = model_config(spec, root) if spec else {}
        error = None
    except ValueError as exc:
        spec, source, per_model, error = None, "", {}, str(exc)
    default = spec or (embedded.EMBEDDED_MODEL if state.installed and error is None else None)
    window, window_source = _cheap_window(default, per_model)
    return {
        "default_model": default,
        "default_model_source": source if spec else ("embedded" if default else None),
        "context_window": window,
        "context_window_source": window_source,
        "embedded": {
            "model": embedded.EMBEDDED_MODEL,
            "installed": state.installed,
            "engine": state.engine,
            "parts_found": state.parts_found,
            "parts": embedded.PARTS,
            "missing_parts": list(state.missing_parts),
            "assembled": str(state.assembled) if state.assembled else None,
            "status": state.describe(),
        },
        "config_files": [
            {"path": str(path), "level": "user" if path == config_path() else "project", "exists": path.is_file()}
            for path in config_files(root)
        ],
        "config_error": error,
        "other_models": OTHER_MODELS,
    }


def _cheap_window(model: str | None, per_model: dict[str, Any]) -> tuple[int | None, str | None]:
    """The model's window when it is known without importing litellm or asking a server."""
    if model is None:
        return None, None
    if per_model.get("context_window"):
        return int(per_model["context_window"]), "config"
    if model.startswith(("local/", "local:")):
        from chatpkg.core.models.local_provider import context_window

        return context_window(model), "provider"
    from chatpkg.core.models.ollama import is_ollama, probe_window

    if is_ollama(model):  # one local HTTP call; None when the server does not answer
        window = probe_window(model, per_model.get("api_base"))
        return (window, "provider") if window else (None, None)
    return None, None  # litellm's map takes seconds to import: looked up when a session starts


def _print_text(facts: dict[str, Any]) -> None:
    if facts["config_error"]:
        raise click.ClickException(facts["config_error"])
    default, source = facts["default_model"], facts["default_model_source"]
    where = f"  (from {source})" if source not in (None, "embedded") else ""
    click.echo(f"default model:  {default or '(none)'}{where}")
    if facts["context_window"]:
        click.echo(f"context window: {facts['context_window']} tokens (from {facts['context_window_source']})")
    elif default:
        click.echo("context window: looked up when a session starts (/tokens shows it)")
    state = facts["embedded"]
    click.echo(f"embedded model: {state['model']} (Qwen2.5-Coder-1.5B-Instruct, Q4_K_M, CPU)")
    click.echo(f"                {state['status']}")
    if state["engine"]:
        click.echo(f"                llama-cpp-python {state['engine']}, {state['parts_found']}/{state['parts']} parts")
    for file in facts["config_files"]:
        label = f"{file['level']} config:"
        click.echo(f"{label:<16}{file['path']}" + ("" if file["exists"] else " (absent)"))
    click.echo(f"other models:   {facts['other_models']}")


@click.command()
@click.option(
    "--workspace", "-w", type=click.Path(file_okay=False, path_type=Path), default=Path("."), show_default=True,
    help="The workspace whose pyproject.toml [tool.chatpkg] is read too.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the same facts as one JSON object.")
def models(workspace: Path, as_json: bool) -> None:
    """Which model chatpkg uses, and whether the embedded model is installed."""
    from chatpkg.core.engine.config import load_env_files

    load_env_files(workspace)  # $CHATPKG_MODEL or $OLLAMA_API_BASE may be set there
    facts = model_facts(workspace)
    if as_json:
        click.echo(json.dumps(facts, indent=2))
        sys.exit(1 if facts["config_error"] else 0)
    _print_text(facts)
