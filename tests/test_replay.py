"""Exact replay verifies a transcript; re-synthesis runs its turns on another model."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from helpers import ADD_REPLY, ADD_SRC, make_session, run, whole

from chatpkg.cli import main
from chatpkg.core.engine.replay import replay_exact, resynthesize
from chatpkg.core.models import ScriptedModel

REPO = Path(__file__).resolve().parent.parent
BROKEN = whole({"pkg/mul.py": "def mul(a, b):\n    return a + b\n", "tests/test_mul.py": (
    "from pkg.mul import mul\n\n\ndef test_mul():\n    assert mul(2, 3) == 6\n")})
FIXED = whole({"pkg/mul.py": "def mul(a, b):\n    return a * b\n"})


def recorded_session(root: Path) -> Path:
    """Two turns (one with a repair), hand edits, an undo and a redo."""
    session, _ = make_session(root, [ADD_REPLY, BROKEN, FIXED])
    run(session, "Add add(a, b).")
    (root / "NOTES.md").write_text("notes\n")
    run(session, "Add mul(a, b).")
    session.undo()
    session.redo()
    return session.transcript.path


def test_exact_replay_verifies_every_step(root: Path, tmp_path: Path) -> None:
    checks = list(replay_exact(recorded_session(root), tmp_path / "replayed"))

    assert [c.ok for c in checks] == [True] * 5
    assert [c.request for c in checks] == ["Add add(a, b).", "/user_edits", "Add mul(a, b).", "/undo", "/redo"]
    assert checks[2].recorded == checks[2].replayed == "committed, 3 passed, 1 repair"
    assert (tmp_path / "replayed" / "pkg" / "mul.py").read_text() == "def mul(a, b):\n    return a * b\n"


def tamper(path: Path, turn: int, round_: int, old: str, new: str) -> None:
    lines = path.read_text().splitlines()
    for i, line in enumerate(lines):
        data = json.loads(line)
        if data.get("kind") == "reply" and data["turn"] == turn and data["round"] == round_:
            assert old in data["text"]
            data["text"] = data["text"].replace(old, new)
            lines[i] = json.dumps(data)
    path.write_text("\n".join(lines) + "\n")


def test_a_tampered_reply_is_detected_and_named(root: Path, tmp_path: Path) -> None:
    path = recorded_session(root)
    tamper(path, 2, 1, "a * b", "b * a")

    checks = list(replay_exact(path, tmp_path / "replayed"))

    assert [c.ok for c in checks] == [True, True, False]  # stops at the first divergence
    assert checks[-1].turn == 2 and "round 1: edits differ in pkg/mul.py" in checks[-1].problems


def test_replay_command_prints_the_table_and_fails_on_divergence(root: Path) -> None:
    path = recorded_session(root)
    runner = CliRunner()

    ok = runner.invoke(main, ["replay", str(path)])
    assert ok.exit_code == 0, ok.output
    assert "5 steps replayed, all verified" in ok.output
    assert "Add mul(a, b)." in ok.output and "committed, 3 passed, 1 repair" in ok.output

    tamper(path, 1, 0, "return a + b", "return a - b")
    bad = runner.invoke(main, ["replay", str(path)])
    assert bad.exit_code == 1
    assert "diverged at turn 1: test outcomes differ" in bad.output or "diverged at turn 1: round 0" in bad.output


def test_resynthesis_shows_recorded_and_new_outcomes(root: Path, tmp_path: Path) -> None:
    path = recorded_session(root)
    other = ScriptedModel([whole({"pkg/calc.py": ADD_SRC}), "no code at all", "none", "nope"], name="other")

    rows = list(resynthesize(path, tmp_path / "again", other))

    assert [(r.request, r.recorded, r.replayed) for r in rows] == [
        ("Add add(a, b).", "committed, 2 passed", "committed, 1 passed"),
        ("Add mul(a, b).", "committed, 3 passed, 1 repair", "no_edits, 2 repairs"),
    ]
    assert other.asked[0][-1]["content"].endswith("Add add(a, b).")


def test_the_shipped_example_session_verifies() -> None:
    result = CliRunner().invoke(main, ["replay", str(REPO / "sessions" / "example.jsonl")])
    assert result.exit_code == 0, result.output
    assert "all verified" in result.output


def test_replay_json_is_one_document_with_each_step_and_the_verdict(root: Path) -> None:
    path = recorded_session(root)
    runner = CliRunner()

    ok = runner.invoke(main, ["replay", str(path), "--json"])
    assert ok.exit_code == 0, ok.output
    doc = json.loads(ok.stdout)
    assert (doc["ok"], doc["mode"], doc["diverged_at_turn"], doc["error"]) == (True, "exact", None, None)
    assert [s["request"] for s in doc["steps"]] == ["Add add(a, b).", "/user_edits", "Add mul(a, b).", "/undo", "/redo"]
    outcome = "committed, 3 passed, 1 repair"
    assert doc["steps"][2] == {"step": 3, "turn": 2, "request": "Add mul(a, b).", "recorded": outcome, "now": outcome,
                               "status": "ok", "problems": []}

    tamper(path, 2, 1, "a * b", "b * a")
    bad = runner.invoke(main, ["replay", str(path), "--json"])
    assert bad.exit_code == 1
    doc = json.loads(bad.stdout)
    assert (doc["ok"], doc["diverged_at_turn"]) == (False, 2)
    last = doc["steps"][-1]
    assert last["status"] == "diverged" and "round 1: edits differ in pkg/mul.py" in last["problems"]


def test_replay_json_reports_a_transcript_that_cannot_be_read(tmp_path: Path) -> None:
    path = tmp_path / "notes.jsonl"
    path.write_text("hello\n")
    result = CliRunner().invoke(main, ["replay", str(path), "--json"])
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["ok"] is False and "is not a chatpkg transcript" in doc["error"] and doc["steps"] == []
