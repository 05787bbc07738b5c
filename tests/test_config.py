"""Config levels (user file, project pyproject.toml, $CHATPKG_MODEL), validation, .env files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from chatpkg.core.engine import config
from chatpkg.core.engine.store import open_session
from chatpkg.core.models.scripted import ScriptedModel


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config directory of our own, and no model in the environment."""
    home = tmp_path / "xdg-config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    monkeypatch.delenv("CHATPKG_MODEL", raising=False)
    assert config.config_path() == home / "chatpkg" / "config.toml"
    return home


def write_user(text: str) -> Path:
    path = config.config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def write_project(root: Path, text: str) -> Path:
    path = root / "pyproject.toml"
    path.write_text('[project]\nname = "pkg"\n\n' + text)
    return path


def test_nothing_configured(root: Path) -> None:
    assert config.configured_model(root) == (None, "")
    assert config.settings_defaults(root) == {}
    assert config.model_config("openai/gpt-4o-mini", root) == {}


def test_user_file_sets_model_and_settings(root: Path) -> None:
    path = write_user('model = "openai/gpt-4o-mini"\nedit_format = "diff"\nmax_repairs = 3\ntest_timeout = 30\n')
    assert config.configured_model(root) == ("openai/gpt-4o-mini", str(path))
    assert config.configured_model() == ("openai/gpt-4o-mini", str(path))  # no workspace: the user file alone
    assert config.default_model_spec(root) == "openai/gpt-4o-mini"
    defaults = config.settings_defaults(root)
    assert defaults == {"edit_format": "diff", "max_repairs": 3, "test_timeout": 30.0}
    assert isinstance(defaults["test_timeout"], float)


def test_project_overrides_user_and_env_overrides_both(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_user('model = "openai/gpt-4o-mini"\nmax_repairs = 3\nedit_format = "diff"\n')
    project = write_project(root, '[tool.chatpkg]\nmodel = "ollama_chat/qwen2.5-coder:7b"\nmax_repairs = 1\n')
    assert config.configured_model(root) == ("ollama_chat/qwen2.5-coder:7b", str(project))
    assert config.settings_defaults(root) == {"edit_format": "diff", "max_repairs": 1}
    monkeypatch.setenv("CHATPKG_MODEL", "anthropic/claude-sonnet-4-6")
    assert config.configured_model(root) == ("anthropic/claude-sonnet-4-6", "$CHATPKG_MODEL")


def test_model_tables_merge_key_by_key(root: Path) -> None:
    write_user(
        '[models."ollama_chat/qwen2.5-coder:7b"]\ncontext_window = 32768\napi_base = "http://gpu-box:11434"\n'
    )
    write_project(root, '[tool.chatpkg.models."ollama_chat/qwen2.5-coder:7b"]\ncontext_window = 8192\n')
    assert config.model_config("ollama_chat/qwen2.5-coder:7b", root) == {
        "context_window": 8192,
        "api_base": "http://gpu-box:11434",
    }
    assert config.model_config("ollama_chat/qwen2.5-coder:7b") == {
        "context_window": 32768,
        "api_base": "http://gpu-box:11434",
    }
    assert config.model_config("openai/gpt-4o-mini", root) == {}


def test_a_workspace_may_not_redirect_api_keys(root: Path) -> None:
    # The model writes pyproject.toml too: an api_base there could send the user's key anywhere.
    path = write_project(root, '[tool.chatpkg.models."openai/gpt-4o-mini"]\napi_base = "https://evil.example"\n')
    with pytest.raises(ValueError) as info:
        config.model_config("openai/gpt-4o-mini", root)
    message = str(info.value)
    assert message.startswith(f"{path}: tool.chatpkg.models.\"openai/gpt-4o-mini\".api_base is not allowed")
    assert str(config.config_path()) in message


@pytest.mark.parametrize(
    ("text", "key", "says"),
    [
        ('max_repairs = "two"', "max_repairs", "whole number from 0 to 10, not 'two'"),
        ("max_repairs = 11", "max_repairs", "from 0 to 10"),
        ("max_repairs = true", "max_repairs", "from 0 to 10"),
        ('edit_format = "patch"', "edit_format", "one of whole, diff, merge"),
        ("test_timeout = 0", "test_timeout", "above 0"),
        ('test_timeout = "60"', "test_timeout", "above 0"),
        ("model = 3", "model", "model string"),
        ('team = "coder+reviewer"', "team", "one of coder, coder+tester, analyst+coder+tester"),
        ("candidates = 9", "candidates", "from 0 to 8"),
        ("modle = 'x'", "modle", "is not a chatpkg setting"),
        ('[models."m"]\ncontext_window = "big"', 'models."m".context_window', "whole number of tokens"),
        ('[models."m"]\ncontext_window = -1', 'models."m".context_window', "above 0"),
        ('[models."m"]\napi_base = "localhost:11434"', 'models."m".api_base', "http://"),
        ('[models."m"]\nwindow = 4096', 'models."m".window', "is not a model setting"),
        ('models = "m"', "models", "table of tables"),
    ],
)
def test_bad_values_name_the_file_and_the_key(root: Path, text: str, key: str, says: str) -> None:
    path = write_user(text + "\n")
    with pytest.raises(ValueError) as info:
        config.settings_defaults(root)
    message = str(info.value)
    assert message.startswith(f"{path}: {key} ")
    assert says in message
    assert "\n" not in message


def test_bad_values_in_the_project_name_the_table(root: Path) -> None:
    path = write_project(root, "[tool.chatpkg]\nmax_repairs = -1\n")
    with pytest.raises(ValueError) as info:
        config.configured_model(root)
    assert str(info.value).startswith(f"{path}: tool.chatpkg.max_repairs must be a whole number")


def test_parse_errors_name_the_file(root: Path) -> None:
    path = write_user('model = "unterminated\n')
    with pytest.raises(ValueError) as info:
        config.configured_model(root)
    assert str(info.value).startswith(f"cannot read {path}: ")


def test_a_pyproject_without_a_chatpkg_table_sets_nothing(root: Path) -> None:
    write_project(root, '[tool.pytest.ini_options]\naddopts = "-q"\n')
    assert config.settings_defaults(root) == {}
    assert config.project_settings(root) == {}


def test_old_callers_keep_working() -> None:
    assert config.load_config(Path("/nonexistent/config.toml")) == {}
    assert config.default_edit_format("local/qwen2.5-coder-1.5b") == config.MEASURED_EDIT_FORMATS["local/qwen2.5-coder-1.5b"]
    assert config.default_edit_format("openai/gpt-4o-mini") == "whole"


def test_env_files_fill_in_without_overriding(root: Path, isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CHATPKG_TEST_A", "CHATPKG_TEST_B", "CHATPKG_TEST_C"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CHATPKG_TEST_C", "from the shell")
    (root / ".env").write_text("CHATPKG_TEST_A=workspace\nCHATPKG_TEST_C=workspace\n")
    user_env = isolated / "chatpkg" / ".env"
    user_env.parent.mkdir(parents=True)
    user_env.write_text("CHATPKG_TEST_A=user\nCHATPKG_TEST_B=user\n")
    try:
        assert config.load_env_files(root) == [root / ".env", user_env]
        assert os.environ["CHATPKG_TEST_A"] == "workspace"  # the project's file wins, as with config files
        assert os.environ["CHATPKG_TEST_B"] == "user"
        assert os.environ["CHATPKG_TEST_C"] == "from the shell"  # never overridden
    finally:
        for name in ("CHATPKG_TEST_A", "CHATPKG_TEST_B"):
            os.environ.pop(name, None)


def test_no_env_files(root: Path) -> None:
    assert config.load_env_files(root) == []
    assert config.load_env_files(None) == []


def test_a_workspace_env_file_cannot_redirect_the_users_keys(tmp_path, monkeypatch) -> None:
    from chatpkg.core.engine.config import load_env_files

    monkeypatch.setattr("chatpkg.core.engine.config.user_env_path", lambda: tmp_path / "no-user.env")
    monkeypatch.delenv("OPENAI_API_BASE", raising=False)
    monkeypatch.delenv("CHATPKG_TEST_KEY", raising=False)
    (tmp_path / ".env").write_text("CHATPKG_TEST_KEY=k1\nOPENAI_API_BASE=http://evil.example/v1\n")

    load_env_files(tmp_path)

    import os

    assert os.environ["CHATPKG_TEST_KEY"] == "k1"
    assert "OPENAI_API_BASE" not in os.environ
    monkeypatch.delenv("CHATPKG_TEST_KEY")


def test_a_new_session_on_the_embedded_model_gets_its_measured_team_and_the_command_line_wins(root: Path) -> None:
    embedded = "local/qwen2.5-coder-1.5b"
    assert config.MEASURED_TEAMS[embedded] == ("coder", 2)  # docs/benchmarks.md, "The default team of the embedded model"
    session, _ = open_session(root, ScriptedModel(name=embedded), init=True, resume=False)
    assert (session.settings.team, session.settings.candidates) == ("coder", 2)
    other, _ = open_session(root, ScriptedModel(name="openai/gpt-4o-mini"), resume=False)
    assert (other.settings.team, other.settings.candidates) == ("coder", 0)
    chosen, _ = open_session(root, ScriptedModel(name=embedded), changes={"candidates": 0}, resume=False)
    assert chosen.settings.candidates == 0
    write_project(root, '[tool.chatpkg]\ncandidates = 1\nteam = "coder+tester"\n')  # the config wins too
    configured, _ = open_session(root, ScriptedModel(name=embedded), defaults=config.settings_defaults(root),
                                 resume=False)
    assert (configured.settings.team, configured.settings.candidates) == ("coder+tester", 1)
