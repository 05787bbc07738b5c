"""The transcript file: round trips, torn lines, schema versions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import ADD_REPLY, make_session, run

from chatpkg.core.engine.events import TestsRun, TurnCommitted, TurnEnded, event_from_dict
from chatpkg.core.engine.store import open_session
from chatpkg.core.engine.transcript import (
    MIGRATIONS,
    SCHEMA_VERSION,
    Transcript,
    TranscriptError,
    TranscriptHeader,
    read_transcript,
)
from chatpkg.core.models import ScriptedModel


def header() -> TranscriptHeader:
    return TranscriptHeader("s1", "0.1.0", "scripted", "2026-11-22T00:00:00+00:00", "/w", {"max_repairs": 2})


def test_events_round_trip_through_the_file(tmp_path: Path) -> None:
    path = tmp_path / "s1.jsonl"
    transcript = Transcript.create(path, header())
    events = [
        TestsRun(1, 0, {"passed": 2, "failures": [{"test_id": "t::x", "message": "m", "output": "o"}]}),
        TurnCommitted(1, "a" * 40, "b" * 40, "turn 1: x", "c" * 40),
        TurnEnded(1, "committed", 1, 0, 0, "2 passed", "a" * 40, ["pkg/x.py"]),
    ]
    for event in events:
        transcript.append(event)

    contents = read_transcript(path)

    assert contents.header == header() and contents.events == events and contents.problems == []
    first = json.loads(path.read_text().splitlines()[0])
    assert first["kind"] == "header" and first["schema"] == SCHEMA_VERSION


def test_a_torn_last_line_is_reported_skipped_and_closed_off(root: Path) -> None:
    session, _ = make_session(root, [ADD_REPLY])
    run(session, "Add add(a, b).")
    path = session.transcript.path
    whole_events = read_transcript(path).events
    with open(path, "a") as fh:
        fh.write('{"kind":"undo","turn":1,"from_co')  # the crash hit mid-write

    contents = read_transcript(path)
    assert contents.events == whole_events
    assert len(contents.problems) == 1 and "torn last line" in contents.problems[0]

    # Resuming keeps every complete event and appends on a fresh line.
    resumed, problems = open_session(root, ScriptedModel([]))
    assert problems == contents.problems and resumed.position == 1
    resumed.undo()
    after = read_transcript(path)
    assert after.events[: len(whole_events)] == whole_events
    assert [e.kind for e in after.events[len(whole_events) :]] == ["resumed", "undo"]


def test_unknown_event_kinds_are_reported_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    Transcript.create(path, header())
    with open(path, "a") as fh:
        fh.write('{"kind":"from_the_future","x":1}\n')
    contents = read_transcript(path)
    assert contents.events == [] and "from_the_future" in contents.problems[0]


def test_a_newer_schema_is_refused_with_a_reason(tmp_path: Path) -> None:
    path = tmp_path / "new.jsonl"
    path.write_text(json.dumps({"kind": "header", **header().__dict__, "schema": SCHEMA_VERSION + 1}) + "\n")
    with pytest.raises(TranscriptError, match="upgrade chatpkg"):
        read_transcript(path)


def test_not_a_transcript(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text('{"hello": 1}\n')
    with pytest.raises(TranscriptError, match="not a chatpkg transcript"):
        read_transcript(path)


def test_an_incomplete_header_is_a_transcript_error(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text('{"kind": "header", "schema": 1}\n')
    with pytest.raises(TranscriptError, match="header line is incomplete"):
        read_transcript(path)


def test_migrations_upgrade_old_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def m002_rename(header: dict, events: list[dict]) -> None:  # type: ignore[type-arg]
        for event in events:
            if event["kind"] == "old_notice":
                event.update(kind="error", turn=None, error="legacy", message=event.pop("text"))

    monkeypatch.setattr("chatpkg.core.engine.transcript.MIGRATIONS", [*MIGRATIONS, m002_rename])
    monkeypatch.setattr("chatpkg.core.engine.transcript.SCHEMA_VERSION", SCHEMA_VERSION + 1)
    path = tmp_path / "old.jsonl"
    path.write_text(
        json.dumps({"kind": "header", **header().__dict__, "schema": 1})
        + "\n"
        + json.dumps({"kind": "old_notice", "text": "hi"})
        + "\n"
    )
    contents = read_transcript(path)
    assert contents.events == [event_from_dict({"kind": "error", "turn": None, "error": "legacy", "message": "hi"})]
    assert contents.header.schema == SCHEMA_VERSION + 1
