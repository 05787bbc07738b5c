"""What chatpkg uses when the command line does not say: model, settings, per-model facts.

Levels, each overriding the one before: the user's config file
(``config_path()``, TOML), the workspace's ``pyproject.toml`` (a
``[tool.chatpkg]`` table), ``$CHATPKG_MODEL`` (for ``model`` only), and the
command line's flags (applied by the caller). Without a model anywhere, the
embedded one is used when ``chatpkg[local]`` is installed.

Keys: ``model``, ``edit_format``, ``max_repairs``, ``test_timeout``, ``team``, ``candidates``, and
``[models."<model string>"]`` tables with ``context_window`` and ``api_base``
for models chatpkg cannot know. A bad value is a ``ValueError`` naming the file
and the key, for the command line to print in one line.

``.env`` files (the workspace's, then the one beside the config file) fill in
environment variables that are not set already: ``load_env_files``.
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import platformdirs

from chatpkg.core.engine.settings import MAX_CANDIDATES, TEAMS

EDIT_FORMATS = ("whole", "diff", "merge")
MAX_REPAIRS_LIMIT = 10  # the same bound as --max-repairs
SETTINGS_KEYS = ("edit_format", "max_repairs", "test_timeout", "team", "candidates")  # fields a config may set
MODEL_KEYS = ("context_window", "api_base")
# A workspace's pyproject.toml is written by the model too: letting it set an
# api_base would let a reply send the user's API key to any server.
USER_ONLY_MODEL_KEYS = ("api_base",)
PROJECT_TABLE = "tool.chatpkg"


# ----------------------------------------------------------------- where


def config_path() -> Path:
    """The user's config file (it may not exist)."""
    return platformdirs.user_config_path("chatpkg") / "config.toml"


def user_env_path() -> Path:
    return platformdirs.user_config_path("chatpkg") / ".env"


def project_config_path(root: Path) -> Path:
    return Path(root) / "pyproject.toml"


def config_files(root: Path | None = None) -> list[Path]:
    """The files chatpkg reads settings from, weakest first (they may not exist)."""
    return [config_path(), *([project_config_path(root)] if root is not None else [])]


# ------------------------------------------------------------------ read


def load_config(path: Path | None = None) -> dict[str, Any]:
    """A TOML file as it is (default: the user's config file); {} when absent."""
    path = path or config_path()
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"cannot read {path}: {exc}") from exc


def user_settings(path: Path | None = None) -> dict[str, Any]:
    """The validated settings of the user's config file."""
    path = path or config_path()
    return _validated(load_config(path), path, prefix="", project=False)


def project_settings(root: Path) -> dict[str, Any]:
    """The validated ``[tool.chatpkg]`` table of the workspace's pyproject.toml ({} without one)."""
    path = project_config_path(root)
    table = load_config(path).get("tool", {})
    table = table.get("chatpkg", {}) if isinstance(table, dict) else {}
    if not isinstance(table, dict):
        raise ValueError(f"{path}: {PROJECT_TABLE} must be a table")
    return _validated(table, path, prefix=f"{PROJECT_TABLE}.", project=True)


def _layers(root: Path | None) -> list[tuple[Path, dict[str, Any]]]:
    """(file, its settings), weakest first."""
    layers = [(config_path(), user_settings())]
    if root is not None:
        layers.append((project_config_path(root), project_settings(root)))
    return layers


def merged_settings(root: Path | None = None) -> dict[str, Any]:
    """User settings overridden by the project's; per-model tables are merged key by key."""
    result: dict[str, Any] = {}
    for _, layer in _layers(root):
        models = {**result.get("models", {})}
        for name, table in layer.get("models", {}).items():
            models[name] = {**models.get(name, {}), **table}
        result.update({k: v for k, v in layer.items() if k != "models"})
        if models:
            result["models"] = models
    return result


# -------------------------------------------------------------- validate


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_model(value: object) -> str | None:
    return None if isinstance(value, str) and value.strip() else "must be a model string, e.g. \"openai/gpt-4o-mini\""


def _check_edit_format(value: object) -> str | None:
    return None if value in EDIT_FORMATS else f"must be one of {', '.join(EDIT_FORMATS)}"


def _whole_number_to(most: int) -> Callable[[object], str | None]:
    """The check of a whole number from 0 to ``most`` (repair rounds, candidates)."""
    def check(value: object) -> str | None:
        if _is_int(value) and 0 <= value <= most:  # type: ignore[operator]
            return None
        return f"must be a whole number from 0 to {most}"
    return check


def _check_test_timeout(value: object) -> str | None:
    ok = (_is_int(value) or isinstance(value, float)) and math.isfinite(value) and value > 0  # type: ignore[arg-type]
    return None if ok else "must be a number of seconds above 0"


def _check_team(value: object) -> str | None:
    return None if value in TEAMS else f"must be one of {', '.join(TEAMS)}"


def _check_context_window(value: object) -> str | None:
    if _is_int(value) and value > 0:  # type: ignore[operator]
        return None
    return "must be a whole number of tokens above 0"


def _check_api_base(value: object) -> str | None:
    if isinstance(value, str) and value.startswith(("http://", "https://")):
        return None
    return "must be a URL starting with http:// or https://"


TOP_LEVEL: dict[str, Callable[[object], str | None]] = {
    "model": _check_model,
    "edit_format": _check_edit_format,
    "max_repairs": _whole_number_to(MAX_REPAIRS_LIMIT),
    "test_timeout": _check_test_timeout,
    "team": _check_team,
    "candidates": _whole_number_to(MAX_CANDIDATES),
}
PER_MODEL: dict[str, Callable[[object], str | None]] = {
    "context_window": _check_context_window,
    "api_base": _check_api_base,
}


def _problem(path: Path, key: str, text: str) -> ValueError:
    return ValueError(f"{path}: {key} {text}")


def _validated(table: dict[str, Any], path: Path, *, prefix: str, project: bool) -> dict[str, Any]:
    """The table's chatpkg settings, each checked; the first bad one is a ValueError."""
    result: dict[str, Any] = {}
    for key, value in table.items():
        if key == "models":
            result["models"] = _validated_models(value, path, prefix=f"{prefix}models", project=project)
            continue
        check = TOP_LEVEL.get(key)
        if check is None:
            known = ", ".join([*TOP_LEVEL, "models"])
            raise _problem(path, f"{prefix}{key}", f"is not a chatpkg setting (known: {known})")
        problem = check(value)
        if problem:
            raise _problem(path, f"{prefix}{key}", f"{problem}, not {value!r}")
        result[key] = float(value) if key == "test_timeout" else value
    return result


def _validated_models(value: object, path: Path, *, prefix: str, project: bool) -> dict[str, dict[str, Any]]:
    if not isinstance(value, dict):
        raise _problem(path, prefix, 'must be a table of tables, e.g. [models."ollama_chat/qwen2.5-coder:7b"]')
    models: dict[str, dict[str, Any]] = {}
    for name, table in value.items():
        where = f'{prefix}."{name}"'
        if not isinstance(table, dict):
            raise _problem(path, where, f"must be a table with {' and/or '.join(MODEL_KEYS)}")
        for key, item in table.items():
            check = PER_MODEL.get(key)
            if check is None:
                raise _problem(path, f"{where}.{key}", f"is not a model setting (known: {', '.join(PER_MODEL)})")
            if project and key in USER_ONLY_MODEL_KEYS:
                raise _problem(
                    path, f"{where}.{key}",
                    f"is not allowed in a workspace (it would send your API key where the workspace says); "
                    f"set it in {config_path()}",
                )
            problem = check(item)
            if problem:
                raise _problem(path, f"{where}.{key}", f"{problem}, not {item!r}")
        models[name] = dict(table)
    return models


# --------------------------------------------------------------- answers


def configured_model(root: Path | None = None) -> tuple[str | None, str]:
    """The model the user chose and where that was said ("$CHATPKG_MODEL" or a file's path)."""
    if os.environ.get("CHATPKG_MODEL"):
        return os.environ["CHATPKG_MODEL"], "$CHATPKG_MODEL"
    for path, layer in reversed(_layers(root)):
        if layer.get("model"):
            return str(layer["model"]), str(path)
    return None, ""


def default_model_spec(root: Path | None = None) -> str | None:
    """The chosen model, else the embedded one when it is installed, else None."""
    spec, _ = configured_model(root)
    if spec:
        return spec
    from chatpkg.core.models import embedded

    return embedded.EMBEDDED_MODEL if embedded.status().installed else None


def settings_defaults(root: Path | None) -> dict[str, Any]:
    """The Settings fields the config files set (only those), for flags to override."""
    merged = merged_settings(root)
    return {key: merged[key] for key in SETTINGS_KEYS if key in merged}


def model_config(model: str, root: Path | None = None) -> dict[str, Any]:
    """The ``[models."<model>"]`` table for this model string ({} when none), both levels merged."""
    return dict(merged_settings(root).get("models", {}).get(model, {}))


# ------------------------------------------------------------------- .env


def load_env_files(root: Path | None) -> list[Path]:
    """Load ``<workspace>/.env``, then ``<config dir>/.env``, never overriding a variable already set.

    The workspace's file comes first so that, as with the config files, the
    project's value wins over the user's. Returns the files that were read.
    """
    from dotenv import dotenv_values

    candidates = ([(Path(root) / ".env", True)] if root is not None else []) + [(user_env_path(), False)]
    loaded = []
    for path, workspace in candidates:
        if not path.is_file():
            continue
        for name, value in dotenv_values(path, encoding="utf-8").items():
            # A cloned repository's .env must not send the user's keys elsewhere: endpoints come
            # from the user's own environment or config only.
            if value is None or name in os.environ or (workspace and _is_endpoint(name)):
                continue
            os.environ[name] = value
        loaded.append(path)
    return loaded


def _is_endpoint(name: str) -> bool:
    upper = name.upper()
    return upper.endswith(("_API_BASE", "_BASE_URL", "_ENDPOINT", "_API_HOST")) or upper in ("HTTP_PROXY", "HTTPS_PROXY",
                                                                                             "ALL_PROXY")


# ------------------------------------------------------------ edit format

# The edit format each model does best with, measured on MTPB problems
# (docs/benchmarks.md, "Edit formats"); others get "whole", which strong models
# keep well-formed most often.
MEASURED_EDIT_FORMATS: dict[str, str] = {"local/qwen2.5-coder-1.5b": "merge"}


# The team each model does best with, measured with `chatpkg bench` (docs/benchmarks.md, "The default
# team of the embedded model"): model -> (team, candidates). Others get the coder alone. The embedded
# model with two candidates: HumanEval 70.1 % against 63.4 % asked once (four candidates), packages 12
# against 10 of 33 acceptance tests, no task worse.
MEASURED_TEAMS: dict[str, tuple[str, int]] = {"local/qwen2.5-coder-1.5b": ("coder", 2)}


def default_team(model: str) -> dict[str, Any]:
    """The Settings fields for the model's measured team (empty: the coder alone)."""
    if model not in MEASURED_TEAMS:
        return {}
    team, candidates = MEASURED_TEAMS[model]
    return {"team": team, "candidates": candidates}


def default_edit_format(model: str) -> str:
    return MEASURED_EDIT_FORMATS.get(model, "whole")
