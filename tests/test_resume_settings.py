"""A resumed session keeps its model and settings; a flag changes that one setting, and says so."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from chatpkg.cli import main
from chatpkg.core.engine.events import SettingsChanged
from chatpkg.core.engine.store import open_session, recorded_model, recorded_settings
from chatpkg.core.engine.transcript import read_transcript
from chatpkg.core.models import ScriptedModel
from tests.helpers import ADD_REPLY


def scripted(tmp_path: Path, replies: list[str]) -> str:
    path = tmp_path / "replies.json"
    path.write_text(json.dumps(replies))
    return f"scripted:{path}"


def latest(root: Path) -> Path:
    return sorted((root / ".chatpkg" / "sessions").glob("*.jsonl"))[-1]


def test_resuming_without_flags_keeps_the_model_and_every_setting(tmp_path: Path, root: Path, monkeypatch) -> None:
    monkeypatch.setenv("CHATPKG_MODEL", "openai/some-default")  # what a fresh session would get
    model = scripted(tmp_path, [ADD_REPLY])
    first = CliRunner().invoke(main, ["repl", "-w", str(root), "--model", model, "--max-repairs", "3",
                                      "--edit-format", "diff", "--test-timeout", "30"], input="Add add(a, b).\n")
    assert first.exit_code == 0, first.output

    again = CliRunner().invoke(main, ["repl", "-w", str(root)], input="/model\n/quit\n")

    assert again.exit_code == 0, again.output
    assert f"model: {model}" in again.output
    contents = read_transcript(latest(root))
    settings = recorded_settings(contents)
    assert (settings.max_repairs, settings.edit_format, settings.test_timeout) == (3, "diff", 30.0)
    assert not any(isinstance(e, SettingsChanged) for e in contents.events)


def test_a_flag_on_resume_changes_that_setting_only_and_is_recorded(tmp_path: Path, root: Path) -> None:
    model = scripted(tmp_path, [ADD_REPLY])
    CliRunner().invoke(main, ["repl", "-w", str(root), "--model", model, "--max-repairs", "3",
                              "--edit-format", "diff"], input="Add add(a, b).\n")

    resumed = CliRunner().invoke(main, ["repl", "-w", str(root), "--max-repairs", "1"], input="/quit\n")

    assert "changed max_repairs 3 → 1 (given when the session was resumed)" in resumed.output
    contents = read_transcript(latest(root))
    settings = recorded_settings(contents)
    assert (settings.max_repairs, settings.edit_format) == (1, "diff")
    changes = [e for e in contents.events if isinstance(e, SettingsChanged)]
    assert [c.changes for c in changes] == [{"max_repairs": [3, 1]}]
    assert recorded_model(contents) == model


def test_switching_the_model_is_recorded_and_kept_on_resume(root: Path) -> None:
    session, _ = open_session(root, ScriptedModel([], name="scripted:a.json"))
    session.switch_model(ScriptedModel([], name="scripted:b.json"))

    resumed, _ = open_session(root, ScriptedModel([], name="scripted:c.json"))

    contents = read_transcript(resumed.transcript.path)
    changes = [e.changes for e in contents.events if isinstance(e, SettingsChanged)]
    assert changes == [{"model": ["scripted:a.json", "scripted:b.json"]}, {"model": ["scripted:b.json", "scripted:c.json"]}]
    assert recorded_model(contents) == "scripted:c.json"


def test_a_new_session_takes_the_config_defaults_and_flags_win(tmp_path: Path, root: Path) -> None:
    session, _ = open_session(root, ScriptedModel([]), defaults={"max_repairs": 4, "edit_format": "merge"},
                              changes={"max_repairs": 1})
    assert (session.settings.max_repairs, session.settings.edit_format) == (1, "merge")
