"""Which model chatpkg uses when the command line does not say.

Order: ``--model``, then ``CHATPKG_MODEL``, then ``model = "..."`` in the
user's config file (``chatpkg models`` prints where it is), then the embedded
model when ``chatpkg[local]`` is installed.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import platformdirs


def config_path() -> Path:
    return platformdirs.user_config_path("chatpkg") / "config.toml"


def load_config(path: Path | None = None) -> dict[str, object]:
    path = path or config_path()
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"cannot read {path}: {exc}") from exc


def configured_model(config: dict[str, object] | None = None) -> tuple[str | None, str]:
    """The model the user chose and where that was said ("$CHATPKG_MODEL", the config file)."""
    if os.environ.get("CHATPKG_MODEL"):
        return os.environ["CHATPKG_MODEL"], "$CHATPKG_MODEL"
    value = (load_config() if config is None else config).get("model")
    return (str(value), str(config_path())) if value else (None, "")


def default_model_spec(config: dict[str, object] | None = None) -> str | None:
    """The chosen model, else the embedded one when it is installed, else None."""
    spec, _ = configured_model(config)
    if spec:
        return spec
    from chatpkg.core.models import embedded

    return embedded.EMBEDDED_MODEL if embedded.status().installed else None


# The edit format each model does best with, measured on MTPB problems
# (docs/benchmarks.md, "Edit formats"); others get "whole", which strong models
# keep well-formed most often.
MEASURED_EDIT_FORMATS: dict[str, str] = {"local/qwen2.5-coder-1.5b": "merge"}


def default_edit_format(model: str) -> str:
    return MEASURED_EDIT_FORMATS.get(model, "whole")
