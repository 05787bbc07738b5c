"""Exit statuses a script can rely on: 0 all green, 1 a turn not green or a replay diverged, 2 usage errors."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import ADD_REPLY, whole

from chatpkg.cli import main
from chatpkg.cli.sessions import sessions

RED = whole({"pkg/calc.py": "def add(a, b):\n    return a - b\n", "tests/test_calc.py": (
    "from pkg.calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n")})
MUL = whole({"pkg/mul.py": "def mul(a, b):\n    return a * b\n", "tests/test_mul.py": (
    "from pkg.mul import mul\n\n\ndef test_mul():\n    assert mul(2, 3) == 6\n")})


def repl(root: Path, tmp_path: Path, replies: list[str], script: str, *extra: str) -> tuple[int, str]:
    path = tmp_path / "replies.json"
    path.write_text(json.dumps(replies))
    result = CliRunner().invoke(main, ["repl", "-w", str(root), "-m", f"scripted:{path}", *extra], input=script)
    return result.exit_code, result.output


def test_a_piped_run_where_every_turn_ends_green_exits_0(root: Path, tmp_path: Path) -> None:
    code, output = repl(root, tmp_path, [ADD_REPLY, MUL], "Add add(a, b).\nAdd mul(a, b).\n")
    assert code == 0, output
    assert output.count("committed ") == 2


def test_a_turn_committed_with_failing_tests_makes_a_piped_run_exit_1(root: Path, tmp_path: Path) -> None:
    code, output = repl(root, tmp_path, [RED, MUL], "Add add(a, b).\nAdd mul(a, b).\n", "--max-repairs", "0")
    assert code == 1, output
    assert re.search(r"tests: 1 failed, \d passed\n  committed [0-9a-f]{7}  turn 1\n", output)  # red: committed anyway
    assert "turn 2\n" in output  # the run went on after it: the status comes at the end


def test_a_turn_that_committed_nothing_is_not_green(root: Path, tmp_path: Path) -> None:
    code, output = repl(root, tmp_path, ["no code", "still none", "none"], "Add add(a, b).\n")
    assert code == 1, output
    assert "no edits: nothing committed" in output


def test_a_run_without_turns_exits_0(root: Path, tmp_path: Path) -> None:
    assert repl(root, tmp_path, [], "/help\n/history\n")[0] == 0


def test_piped_chatpkg_without_a_command_is_the_repl_with_its_exit_status(root: Path, tmp_path: Path) -> None:
    replies = tmp_path / "r.json"
    replies.write_text(json.dumps([RED]))
    args = ["-w", str(root), "-m", f"scripted:{replies}", "--max-repairs", "0"]
    result = CliRunner().invoke(main, args, input="Add add(a, b).\n")
    assert result.exit_code == 1, result.output
    assert "tests: 1 failed" in result.output


@pytest.mark.parametrize("args", [
    ["repl", "--events", "xml"],
    ["repl", "--no-such-option"],
    ["replay"],
    ["replay", "missing.jsonl"],
    ["no-such-command"],
])
def test_usage_errors_exit_2(args: list[str], root: Path) -> None:
    result = CliRunner().invoke(main, args, input="")
    assert result.exit_code == 2, result.output


def test_a_usage_error_of_sessions_exits_2(tmp_path: Path) -> None:
    assert CliRunner().invoke(sessions, ["--bogus"]).exit_code == 2
    assert CliRunner().invoke(sessions, ["-w", str(tmp_path / "missing")]).exit_code == 2


def test_a_copied_transcript_replays_elsewhere_and_a_divergence_exits_1(root: Path, tmp_path: Path) -> None:
    assert repl(root, tmp_path, [ADD_REPLY, MUL], "Add add(a, b).\nAdd mul(a, b).\n")[0] == 0
    (recorded,) = (root / ".chatpkg" / "sessions").glob("*.jsonl")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    copy = Path(shutil.copy(recorded, elsewhere / "lesson.jsonl"))
    shutil.rmtree(root)  # the transcript is self-contained: the workspace is not needed

    assert CliRunner().invoke(main, ["replay", str(copy)]).exit_code == 0

    copy.write_text(copy.read_text().replace("return a * b", "return a + b"))
    result = CliRunner().invoke(main, ["replay", str(copy)])
    assert result.exit_code == 1
    assert "diverged at turn 2" in result.output
