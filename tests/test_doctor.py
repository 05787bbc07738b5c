"""``chatpkg doctor``: each failure a newcomer meets is found, explained, and fails the exit status."""

from __future__ import annotations

import hashlib
import json
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from chatpkg.cli.doctor import doctor
from chatpkg.core.engine import config
from chatpkg.core.engine.diagnostics import (
    CHECKS,
    FAIL,
    OK,
    WARN,
    CheckResult,
    DoctorContext,
    check_embedded_model,
    run_checks,
)
from chatpkg.core.models import embedded
from tests.helpers import LoopbackServer, QuietHandler

ENV = ("CHATPKG_MODEL", "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_API_BASE", "OPENAI_BASE_URL", "OLLAMA_API_BASE")


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Our own config and cache directories, and no model or key from the environment."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def run(root: Path, *args: str) -> tuple[int, dict[str, dict]]:
    result = CliRunner().invoke(doctor, ["--json", "-w", str(root), *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    checks = json.loads(result.output)
    assert all(set(c) == {"name", "status", "detail", "fix"} for c in checks)
    return result.exit_code, {c["name"]: c for c in checks}


def user_config(text: str) -> Path:
    path = config.config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_ready_machine_passes(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHATPKG_MODEL", "openai/gpt-4o-mini")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    code, checks = run(root, "--offline")
    assert code == 0
    assert not [c for c in checks.values() if c["status"] == FAIL]
    assert checks["python"]["status"] == OK
    assert checks["default model"]["detail"] == "openai/gpt-4o-mini (from $CHATPKG_MODEL)"
    assert checks["provider openai"]["status"] == "skipped"  # --offline: not contacted
    assert "free" in checks["disk"]["detail"]


def test_no_git_on_path(root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    code, checks = run(root, "--offline")
    assert code == 1
    assert checks["git"]["status"] == FAIL
    assert checks["git"]["detail"] == "git is not on PATH"
    assert "install git" in checks["git"]["fix"]


def test_missing_api_key(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHATPKG_MODEL", "anthropic/claude-sonnet-4-6")
    code, checks = run(root, "--offline")
    assert code == 1
    provider = checks["provider anthropic"]
    assert provider["status"] == FAIL
    assert provider["detail"] == "ANTHROPIC_API_KEY is not set (for anthropic/claude-sonnet-4-6)"
    assert provider["fix"].startswith("export ANTHROPIC_API_KEY=...")


def test_a_key_in_a_dotenv_file_counts(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHATPKG_MODEL", "anthropic/claude-sonnet-4-6")
    (root / ".env").write_text("ANTHROPIC_API_KEY=sk-ant-test\n")
    # Recorded as unset, so that monkeypatch removes what the .env file sets.
    monkeypatch.setenv("ANTHROPIC_API_KEY", "")
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    code, checks = run(root, "--offline")
    assert checks["provider anthropic"]["status"] == "skipped"  # the key is there; --offline
    assert str(root / ".env") in checks[".env files"]["detail"]
    assert code == 0


def test_unreachable_provider(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base = f"http://127.0.0.1:{closed_port()}/v1"
    user_config(f'model = "openai/local-coder"\n[models."openai/local-coder"]\napi_base = "{base}"\n')
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    code, checks = run(root)
    assert code == 1
    provider = checks["provider openai"]
    assert provider["status"] == FAIL
    assert provider["detail"].startswith(f"cannot reach {base}/models")
    assert "api_base" in provider["fix"]


class FakeOllamaTags(LoopbackServer):
    """GET /api/tags lists the pulled models."""

    def __init__(self, names: list[str]) -> None:
        body = json.dumps({"models": [{"name": n} for n in names]}).encode()

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                self.send_response(200 if self.path == "/api/tags" else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        super().__init__(Handler)


def test_ollama_reachable_and_pulled(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    server = FakeOllamaTags(["qwen2.5-coder:7b", "llama3.1:latest"])
    try:
        monkeypatch.setenv("OLLAMA_API_BASE", server.base)
        code, checks = run(root, "-m", "ollama_chat/qwen2.5-coder:7b", "-m", "ollama_chat/llama3.1")
        assert checks["provider ollama_chat"]["status"] == OK  # no key needed
        code, checks = run(root, "-m", "ollama_chat/qwen2.5-coder:14b")
        assert checks["provider ollama_chat"]["status"] == WARN
        assert checks["provider ollama_chat"]["fix"] == "ollama pull qwen2.5-coder:14b"
    finally:
        server.close()


def test_missing_model_part(root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parts = tmp_path / "parts"
    parts.mkdir()
    for n in range(1, embedded.PARTS + 1):
        if n != 7:
            (parts / f"part{n:02d}.bin").write_bytes(b"x")
    # The part lookup points at a folder that lacks part 7 (as if one package failed to install).
    monkeypatch.setattr(embedded, "part_path", lambda n: parts / f"part{n:02d}.bin")
    code, checks = run(root, "--offline")
    assert code == 1
    model = checks["embedded model"]
    assert model["status"] == FAIL
    assert model["detail"] == "21/22 parts found; missing part 7"
    assert model["fix"] == embedded.INSTALL_HINT


def test_config_parse_error(root: Path) -> None:
    path = user_config('model = "openai/gpt-4o-mini\n')
    code, checks = run(root, "--offline")
    assert code == 1
    assert checks["user config"]["status"] == FAIL
    assert checks["user config"]["detail"].startswith(f"cannot read {path}")
    assert checks["default model"]["status"] == "skipped"


def test_config_bad_value_in_the_project(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHATPKG_MODEL", "openai/gpt-4o-mini")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    (root / "pyproject.toml").write_text('[tool.chatpkg]\nedit_format = "patch"\n')
    code, checks = run(root, "--offline")
    assert code == 1
    assert checks["project config"]["detail"].endswith("tool.chatpkg.edit_format must be one of whole, diff, merge, not 'patch'")


def test_text_output_marks_and_says_what_to_do(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHATPKG_MODEL", "openai/gpt-4o-mini")
    result = CliRunner().invoke(doctor, ["-w", str(root), "--offline"])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    failing = next(i for i, line in enumerate(lines) if line.startswith("✗ provider openai"))
    assert "OPENAI_API_KEY is not set" in lines[failing]
    assert lines[failing + 1].strip().startswith("→ export OPENAI_API_KEY=...")
    assert any(line.startswith("✓ python") for line in lines)
    assert lines[-1].startswith("1 failed")


def test_a_new_check_plugs_in_and_a_broken_one_is_reported() -> None:
    def check_sandbox(context: DoctorContext):
        yield CheckResult("sandbox", OK, "bwrap works")

    def check_broken(context: DoctorContext):
        raise RuntimeError("boom")

    results = run_checks(DoctorContext(offline=True), [CHECKS[0], check_sandbox, check_broken])
    assert [r.name for r in results] == ["python", "sandbox", "broken"]
    assert results[2].status == FAIL and "boom" in results[2].detail


def test_deep_rechecks_the_assembled_model(tmp_path: Path) -> None:
    parts = tmp_path / "parts"
    parts.mkdir()
    for n in range(1, embedded.PARTS + 1):
        (parts / f"part{n:02d}.bin").write_bytes(b"x")
    assembled = tmp_path / "model.gguf"
    assembled.write_bytes(b"model bytes")
    good = hashlib.sha256(b"model bytes").hexdigest()

    def context(**kwargs) -> DoctorContext:
        return DoctorContext(part_path=lambda n: parts / f"part{n:02d}.bin", model_file=assembled,
                             model_size=len(b"model bytes"), models=(embedded.EMBEDDED_MODEL,), **kwargs)

    (shallow,) = check_embedded_model(context(model_sha256="0" * 64))
    assert shallow.status == OK and "not re-checked" in shallow.detail
    (damaged,) = check_embedded_model(context(model_sha256="0" * 64, deep=True))
    assert damaged.status == FAIL and str(assembled) in damaged.fix
    (verified,) = check_embedded_model(context(model_sha256=good, deep=True))
    assert verified.status == OK and "sha256 verified" in verified.detail
