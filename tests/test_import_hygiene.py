"""The session core imports no UI library, and nothing slow at import time."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import chatpkg.core

ROOT = Path(__file__).resolve().parent.parent

CORE_MODULES = sorted(m.name for m in pkgutil.walk_packages(chatpkg.core.__path__, "chatpkg.core."))


def imported_after(modules: list[str]) -> set[str]:
    code = "import json, sys\n" + "".join(f"import {m}\n" for m in modules) + "print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return {name.split(".")[0] for name in json.loads(out)}


def test_the_core_imports_no_ui_library() -> None:
    assert len(CORE_MODULES) >= 30  # every module of every layer
    loaded = imported_after(CORE_MODULES)
    assert loaded.isdisjoint({"textual", "prompt_toolkit", "rich"}), loaded & {"textual", "prompt_toolkit", "rich"}


def test_litellm_is_imported_only_when_a_litellm_model_is_used() -> None:
    assert "litellm" not in imported_after([*CORE_MODULES, "chatpkg.cli", "chatpkg.repl"])


def test_the_import_linter_contract_holds() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint_imports), "--no-cache"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
