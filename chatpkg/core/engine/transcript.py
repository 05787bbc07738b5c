"""The session transcript: one JSON object per line, appended and fsynced per event.

Line 1 is a header (schema version, chatpkg version, session id, model,
settings). Every further line is a persistent event (see events.py). A crash
can leave a torn last line: readers report and skip it; writers start a fresh
line after it, so nothing written before is ever lost.

Schema upgrades are an append-only list of named functions (as in llm's
migrations.py): a transcript at version N is upgraded by MIGRATIONS[N:].
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from chatpkg.core.engine.events import Event, event_from_dict

Upgrade = Callable[[dict[str, Any], list[dict[str, Any]]], None]
MIGRATIONS: list[Upgrade] = []
migration = MIGRATIONS.append


@migration
def m001_initial(header: dict[str, Any], events: list[dict[str, Any]]) -> None:
    """Version 1 is the first format; nothing to change."""


SCHEMA_VERSION = len(MIGRATIONS)


class TranscriptError(Exception):
    """The file is not a chatpkg transcript, or is from a newer chatpkg."""


@dataclass(frozen=True)
class TranscriptHeader:
    session_id: str
    chatpkg_version: str
    model: str
    created: str
    workspace: str
    settings: dict[str, Any] = field(default_factory=dict)
    schema: int = SCHEMA_VERSION
    sandbox: str = ""  # how model-written code ran when the session started (Confinement.describe())

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "header", **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TranscriptHeader:
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True)
class TranscriptContents:
    header: TranscriptHeader
    events: list[Event]
    problems: list[str]


def _dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


class Transcript:
    """An open transcript file that events are appended to."""

    def __init__(self, path: Path, header: TranscriptHeader) -> None:
        self.path = path
        self.header = header

    @classmethod
    def create(cls, path: Path, header: TranscriptHeader) -> Transcript:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "x", encoding="utf-8") as fh:
            fh.write(_dumps(header.to_dict()) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        return cls(path, header)

    @classmethod
    def open_existing(cls, path: Path) -> tuple[Transcript, TranscriptContents]:
        """Open for appending; a torn last line is closed off first (kept, not lost)."""
        contents = read_transcript(path)
        with open(path, "rb+") as fh:
            fh.seek(0, os.SEEK_END)
            if fh.tell():
                fh.seek(-1, os.SEEK_END)
                if fh.read(1) != b"\n":
                    fh.write(b"\n")
                    fh.flush()
                    os.fsync(fh.fileno())
        return cls(path, contents.header), contents

    def append(self, event: Event) -> None:
        line = _dumps(event.to_dict()) + "\n"
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())


def _parse_lines(path: Path) -> tuple[list[dict[str, Any]], list[str]]:
    rows: list[dict[str, Any]] = []
    problems: list[str] = []
    raw = path.read_bytes().split(b"\n")
    for number, line in enumerate(raw, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line.decode("utf-8"))
            if not isinstance(data, dict):
                raise ValueError("not an object")
        except (ValueError, UnicodeDecodeError) as exc:
            torn = number == len(raw) or (number == len(raw) - 1 and raw[-1] == b"")
            what = "torn last line (an interrupted write)" if torn else "unreadable line"
            problems.append(f"{path.name}:{number}: skipped {what}: {exc}")
            continue
        rows.append(data)
    return rows, problems


def read_transcript(path: Path) -> TranscriptContents:
    """Read a transcript, upgrading old schemas; bad lines become ``problems``."""
    rows, problems = _parse_lines(path)
    if not rows or rows[0].get("kind") != "header":
        raise TranscriptError(f"{path} is not a chatpkg transcript (no header line)")
    header, event_rows = rows[0], rows[1:]
    version = int(header.get("schema", 1))
    if version > SCHEMA_VERSION:
        raise TranscriptError(
            f"{path} has schema {version}; this chatpkg reads up to {SCHEMA_VERSION}: upgrade chatpkg"
        )
    for upgrade in MIGRATIONS[version:]:
        upgrade(header, event_rows)
    header["schema"] = SCHEMA_VERSION
    events: list[Event] = []
    for data in event_rows:
        try:
            events.append(event_from_dict(data))
        except (TypeError, ValueError) as exc:
            problems.append(f"{path.name}: skipped event {data.get('kind')!r}: {exc}")
    try:
        parsed = TranscriptHeader.from_dict(header)
    except TypeError as exc:
        raise TranscriptError(f"{path}: the header line is incomplete ({exc})") from exc
    return TranscriptContents(parsed, events, problems)
