"""``chatpkg models``: the same facts as text and as one JSON object."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from chatpkg.cli.models import models
from chatpkg.core.engine import config
from chatpkg.core.models import embedded


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.delenv("CHATPKG_MODEL", raising=False)


def user_config(text: str) -> Path:
    path = config.config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def facts(root: Path) -> tuple[int, dict]:
    result = CliRunner().invoke(models, ["--json", "-w", str(root)])
    return result.exit_code, json.loads(result.output)


def test_json_names_the_model_its_source_and_the_files(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = user_config('[models."ollama_chat/qwen2.5-coder:7b"]\ncontext_window = 24576\n')
    monkeypatch.setenv("CHATPKG_MODEL", "ollama_chat/qwen2.5-coder:7b")
    code, got = facts(root)
    assert code == 0
    assert got["default_model"] == "ollama_chat/qwen2.5-coder:7b"
    assert got["default_model_source"] == "$CHATPKG_MODEL"
    assert (got["context_window"], got["context_window_source"]) == (24576, "config")
    assert got["config_files"] == [
        {"path": str(path), "level": "user", "exists": True},
        {"path": str(root / "pyproject.toml"), "level": "project", "exists": False},
    ]
    assert got["embedded"]["model"] == embedded.EMBEDDED_MODEL
    assert got["embedded"]["parts"] == embedded.PARTS
    assert got["config_error"] is None


def test_json_project_model_and_unknown_window(root: Path) -> None:
    (root / "pyproject.toml").write_text('[tool.chatpkg]\nmodel = "openai/gpt-4o-mini"\n')
    code, got = facts(root)
    assert code == 0
    assert got["default_model_source"] == str(root / "pyproject.toml")
    assert got["context_window"] is None  # litellm's map costs seconds to import: not looked up here


def test_json_reports_a_config_error(root: Path) -> None:
    path = user_config("max_repairs = 99\n")
    code, got = facts(root)
    assert code == 1
    assert got["config_error"].startswith(f"{path}: max_repairs must be")


def test_text_output(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHATPKG_MODEL", "openai/gpt-4o-mini")
    result = CliRunner().invoke(models, ["-w", str(root)])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == "default model:  openai/gpt-4o-mini  (from $CHATPKG_MODEL)"
    assert any(line.startswith("embedded model: local/qwen2.5-coder-1.5b") for line in lines)
    assert f"user config:    {config.config_path()} (absent)" in lines
    user_config("max_repairs = 99\n")
    broken = CliRunner().invoke(models, ["-w", str(root)])
    assert broken.exit_code == 1 and "max_repairs must be" in broken.output
