"""The docs say what the code does: generated help is current, README's door is CI's."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_command_help_in_the_docs_is_current() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cogapp", "--check", "docs/commands.md"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, "run `cog -r docs/commands.md`:\n" + result.stdout + result.stderr


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```(?:bash|sh)\n(.+?)\n```", text, flags=re.S)


def test_ci_runs_the_test_command_written_in_the_readme() -> None:
    commands = readme_commands()
    assert len(commands) >= 2, "README needs its install-and-run and its test command"
    test_command = commands[1].strip()
    assert "pytest" in test_command
    assert test_command in (ROOT / ".ci" / "run").read_text()
