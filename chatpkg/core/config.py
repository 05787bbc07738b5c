"""Which model chatpkg uses when the command line does not say.

Order: ``--model``, then ``CHATPKG_MODEL``, then ``model = "..."`` in the
user's config file (``chatpkg config-path`` prints where it is).
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


def default_model_spec(config: dict[str, object] | None = None) -> str | None:
    if os.environ.get("CHATPKG_MODEL"):
        return os.environ["CHATPKG_MODEL"]
    value = (load_config() if config is None else config).get("model")
    return str(value) if value else None
