"""Starting in a folder of files that is not a repository, and secrets: what chatpkg tracks and sends."""

from __future__ import annotations

import json
from pathlib import Path

import git
import pytest
from click.testing import CliRunner

from chatpkg.cli import main
from chatpkg.core.engine.events import EditsRejected, UserEditsCommitted
from chatpkg.core.engine.store import open_session
from chatpkg.core.models import ScriptedModel
from chatpkg.core.workspace.repository import NeedsConsent
from chatpkg.core.workspace.secrets import is_secret
from chatpkg.core.workspace.start import preview
from tests.helpers import ADD_REPLY, run, whole

SECRET = "sk-live-DO-NOT-SEND-4242"


def loose_folder(tmp_path: Path) -> Path:
    """A project someone started by hand: code, a key, a .env, a big data file, and ignore files."""
    root = tmp_path / "loose"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "core.py").write_text("def one():\n    return 1\n")
    (root / ".env").write_text(f"OPENAI_API_KEY={SECRET}\n")
    (root / ".env.example").write_text("OPENAI_API_KEY=\n")
    (root / "deploy.pem").write_text(f"-----BEGIN PRIVATE KEY-----\n{SECRET}\n")
    (root / "notes").mkdir()
    (root / "notes" / "private.md").write_text(f"my notes {SECRET}\n")
    (root / "build").mkdir()
    (root / "build" / "out.txt").write_text("generated\n")
    (root / ".gitignore").write_text("build/\n")
    (root / ".chatpkgignore").write_text("notes/\n")
    return root


def test_secret_names() -> None:
    for secret in (".env", ".env.local", "config/.env.production", "id_rsa", "deploy.pem", "a/.ssh/config",
                   ".netrc", ".pypirc", "certs/server.key"):
        assert is_secret(secret), secret
    for fine in (".env.example", "id_rsa.pub", "pkg/env.py", "keys.py", "README.md", "tests/test_env.py"):
        assert not is_secret(fine), fine


def test_a_folder_of_files_is_not_taken_over_without_consent(tmp_path: Path) -> None:
    root = loose_folder(tmp_path)

    with pytest.raises(NeedsConsent) as info:
        open_session(root, ScriptedModel([]))

    assert not (root / ".git").exists() and not (root / ".chatpkg").exists()  # nothing changed yet
    plan = info.value.plan
    assert set(plan.tracked) == {".chatpkgignore", ".env.example", ".gitignore", "pkg/__init__.py", "pkg/core.py"}
    assert set(plan.secrets) == {".env", "deploy.pem"}
    assert plan.left_out == 2  # build/out.txt (.gitignore) and notes/private.md (.chatpkgignore)
    text = str(info.value)
    assert "commit 5 file(s)" in text and ".env" in text and "secrets" in text


def test_with_consent_secrets_and_ignored_files_are_never_tracked_sent_or_recorded(tmp_path: Path) -> None:
    root = loose_folder(tmp_path)
    model = ScriptedModel([whole({"pkg/core.py": "def one():\n    return 1\n\n\ndef two():\n    return 2\n"})])

    session, _ = open_session(root, model, init=True)
    run(session, "Add two().")

    tracked = set(git.Repo(root).git.ls_files().splitlines())
    assert tracked >= {"pkg/core.py", ".env.example"}
    assert not tracked & {".env", "deploy.pem", "notes/private.md", "build/out.txt"}
    asked = json.dumps(model.asked)
    assert SECRET not in asked and "private.md" not in asked
    assert SECRET not in session.transcript.path.read_text()


def test_a_secret_the_user_adds_later_is_not_committed_and_does_not_block_undo(root: Path) -> None:
    model = ScriptedModel([ADD_REPLY])
    session, _ = open_session(root, model)
    (root / ".env").write_text(f"KEY={SECRET}\n")

    run(session, "Add add(a, b).")

    assert ".env" not in git.Repo(root).git.ls_files().splitlines()
    assert SECRET not in json.dumps(model.asked) and SECRET not in session.transcript.path.read_text()
    assert session.workspace.changed_paths() == []
    assert session.undo().kind == "undo"


def test_a_secret_the_user_tracks_is_committed_as_theirs_but_never_copied(root: Path) -> None:
    session, _ = open_session(root, ScriptedModel([ADD_REPLY]))
    (root / ".env").write_text("KEY=old\n")
    repo = git.Repo(root)
    repo.git.add("-f", ".env")
    repo.index.commit("the user tracks .env themselves")
    (root / ".env").write_text(f"KEY={SECRET}\n")

    events = run(session, "Add add(a, b).")

    edits = next(e for e in events if isinstance(e, UserEditsCommitted))
    assert edits.redacted == [".env"] and ".env" not in edits.files
    assert SECRET not in session.transcript.path.read_text()
    assert not repo.is_dirty()


def test_the_model_may_not_write_secrets_or_files_the_user_keeps_out(root: Path) -> None:
    replies = [whole({".env": "KEY=1\n"}), whole({"private/plan.md": "mine\n"}), ADD_REPLY]
    session, _ = open_session(root, ScriptedModel(replies))
    (root / ".chatpkgignore").write_text("private/\n")

    events = run(session, "Add add(a, b).")

    reasons = [e.reason for e in events if isinstance(e, EditsRejected)]
    assert "looks like a secret" in reasons[0] and ".chatpkgignore" in reasons[1]
    assert not (root / ".env").exists() and not (root / "private").exists()
    assert (root / "pkg" / "calc.py").exists()


def test_a_piped_run_refuses_a_folder_of_files_unless_told_init(tmp_path: Path) -> None:
    root = loose_folder(tmp_path)
    replies = tmp_path / "replies.json"
    replies.write_text(json.dumps([]))
    args = ["repl", "-w", str(root), "--model", f"scripted:{replies}"]

    refused = CliRunner().invoke(main, args, input="/quit\n")
    assert refused.exit_code == 2
    assert "not a git repository" in refused.output and "--init" in refused.output
    assert not (root / ".git").exists()

    started = CliRunner().invoke(main, [*args, "--init"], input="/quit\n")
    assert started.exit_code == 0, started.output
    assert "start tracking" in git.Repo(root).head.commit.message


def test_preview_leaves_the_folder_untouched(tmp_path: Path) -> None:
    root = loose_folder(tmp_path)
    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    preview(root)
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == before
