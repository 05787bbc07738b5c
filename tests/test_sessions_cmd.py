"""``chatpkg sessions``: every transcript of a workspace listed, the resumed one marked, broken ones named."""

from __future__ import annotations

import json
import os
from pathlib import Path

from click.testing import CliRunner
from helpers import ADD_REPLY, make_session, run, whole

from chatpkg.cli.sessions import sessions
from chatpkg.core.engine.catalog import GREEN, RED, list_summaries, turn_verdict
from chatpkg.core.engine.store import open_session
from chatpkg.core.models import ScriptedModel

BROKEN_MUL = whole({"pkg/mul.py": "def mul(a, b):\n    return a + b\n", "tests/test_mul.py": (
    "from pkg.mul import mul\n\n\ndef test_mul():\n    assert mul(2, 3) == 6\n")})


def two_sessions(root: Path) -> tuple[Path, Path]:
    """An older session with one green turn; a newer one with a green and a red turn."""
    first, _ = make_session(root, [ADD_REPLY])
    run(first, "Add add(a, b).")
    second, _ = make_session(root, [whole({"pkg/calc.py": "def add(a, b):\n    return b + a\n"}), BROKEN_MUL],
                             max_repairs=0)
    run(second, "Swap the operands.")
    run(second, "Add mul(a, b).")
    older, newer = first.transcript.path, second.transcript.path
    os.utime(older, (1_000_000_000, 1_000_000_000))  # the order must not hang on the clock's resolution
    return older, newer


def test_a_folder_without_sessions_says_so(tmp_path: Path) -> None:
    result = CliRunner().invoke(sessions, ["-w", str(tmp_path)])
    assert result.exit_code == 0
    assert result.output.startswith(f"no sessions in {tmp_path}")
    as_json = CliRunner().invoke(sessions, ["-w", str(tmp_path), "--json"])
    assert as_json.exit_code == 0 and json.loads(as_json.output) == []


def test_sessions_are_listed_oldest_activity_first_with_the_resumed_one_marked(root: Path) -> None:
    older, newer = two_sessions(root)

    result = CliRunner().invoke(sessions, ["-w", str(root)])

    assert result.exit_code == 0, result.output
    header, first, second, *notes = result.output.splitlines()
    assert header.split() == ["session", "created", "model", "turns", "green", "last", "activity", "transcript"]
    assert first.split()[0] == older.stem and first.endswith(str(older))
    assert first.split()[4:6] == ["1", "1"]  # 1 turn, 1 green
    assert second.split()[:2] == ["*", newer.stem] and second.endswith(str(newer))
    assert second.split()[5:7] == ["2", "1"]  # 2 turns, 1 green
    assert notes[0].startswith("* = the session `chatpkg` resumes here")


def test_json_lists_one_object_per_session(root: Path) -> None:
    older, newer = two_sessions(root)

    result = CliRunner().invoke(sessions, ["-w", str(root), "--json"])

    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [r["session_id"] for r in rows] == [older.stem, newer.stem]
    assert [(r["turns"], r["green"], r["resume"]) for r in rows] == [(1, 1, False), (2, 1, True)]
    assert rows[1]["transcript"] == str(newer.resolve())
    assert rows[1]["model"] == "scripted" and rows[1]["created"].startswith("20")
    assert rows[1]["last_activity"] and rows[1]["problems"] == []


def test_torn_and_unreadable_transcripts_are_listed_with_their_problem(root: Path) -> None:
    older, newer = two_sessions(root)
    with open(older, "a", encoding="utf-8") as fh:
        fh.write('{"kind":"turn","turn":2,"te')  # chatpkg died mid-write
    os.utime(older, (1_000_000_000, 1_000_000_000))  # still the older one
    folder = newer.parent
    (folder / "garbage.jsonl").write_text("not json at all\n")
    (folder / "future.jsonl").write_text(json.dumps({"kind": "header", "schema": 99}) + "\n")
    for name in ("garbage.jsonl", "future.jsonl"):
        os.utime(folder / name, (1_000_000_001, 1_000_000_001))  # older than the real sessions

    result = CliRunner().invoke(sessions, ["-w", str(root)])

    assert result.exit_code == 0, result.output
    assert "problem: " + older.name + ":" in result.output and "torn last line" in result.output
    assert "garbage.jsonl is not a chatpkg transcript" in result.output
    assert "has schema 99; this chatpkg reads up to" in result.output
    rows = json.loads(CliRunner().invoke(sessions, ["-w", str(root), "--json"]).output)
    by_id = {r["session_id"]: r for r in rows}
    assert by_id[older.stem]["turns"] == 1 and len(by_id[older.stem]["problems"]) == 1
    assert by_id["garbage"]["turns"] == 0 and by_id["garbage"]["model"] is None
    assert rows[-1]["session_id"] == newer.stem and rows[-1]["resume"]


def test_the_marked_session_is_the_one_chatpkg_resumes(root: Path) -> None:
    two_sessions(root)
    (marked,) = [s for s in list_summaries(root) if s.resume]
    resumed, _ = open_session(root, ScriptedModel([]), resume=True)
    assert resumed.session_id == marked.session_id


def test_green_means_committed_with_passing_tests() -> None:
    passing = {"passed": 2, "exit_code": 0}
    failing = {"passed": 1, "failed": 1, "exit_code": 1}
    assert turn_verdict("committed", passing) == GREEN
    assert turn_verdict("committed", failing) == RED
    assert turn_verdict("committed", None) == RED
    assert turn_verdict("committed", {"exit_code": 5}) == GREEN  # no tests collected passes, as in the repair loop
    assert [turn_verdict(o, passing) for o in ("no_edits", "cancelled", "error")] == ["no_edits", "cancelled", "error"]
