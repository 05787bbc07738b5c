"""Run a workspace's pytest suite in a sandboxed subprocess and summarise it.

The child runs in its own process group under resource limits, with a scrubbed
environment (no API keys). A JUnit XML report, written outside the workspace,
gives the counts and the failures; the console output is kept (trimmed) for
crashes where no XML appears. A timeout or a cancel kills the whole group.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, ClassVar

from chatpkg.core.cancel import CancelToken
from chatpkg.core.tokens import count_tokens, trim_to_tokens

OUTPUT_TOKENS = 400
MAX_FAILURES = 10
MESSAGE_CHARS = 300
TAIL_BYTES = 64 * 1024
POLL_SECONDS = 0.05
EXIT_NO_TESTS = 5

_SECRET_WORDS = ("API_KEY", "TOKEN", "SECRET", "PASSWORD")
_SECRET_PREFIXES = (
    "AWS_", "OPENAI", "ANTHROPIC", "AZURE_", "GEMINI",
    "GOOGLE_APPLICATION", "HF_", "HUGGINGFACE",
)


@dataclass(frozen=True)
class TestFailure:
    """One failed or errored test, as the model is shown it."""

    __test__: ClassVar[bool] = False

    test_id: str
    message: str
    output: str


@dataclass(frozen=True)
class TestReport:
    """The outcome of one pytest run."""

    __test__: ClassVar[bool] = False

    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    exit_code: int = 0
    timed_out: bool = False
    cancelled: bool = False
    seconds: float = 0.0
    failures: tuple[TestFailure, ...] = ()
    output: str = ""
    program: str = ""  # the workspace's program, when the run also ran it
    program_output: str = ""  # what the program printed, when it ran to the end

    @property
    def collected(self) -> int:
        return self.passed + self.failed + self.errors + self.skipped

    @property
    def no_tests(self) -> bool:
        if self.timed_out or self.cancelled:
            return False
        return self.exit_code == EXIT_NO_TESTS or (self.collected == 0 and self.exit_code == 0)

    @property
    def ok(self) -> bool:
        if self.timed_out or self.cancelled or self.failed or self.errors:
            return False
        return self.exit_code in (0, EXIT_NO_TESTS)

    @property
    def program_ran(self) -> bool:
        """The run included the workspace's program, and it ran to the end."""
        return bool(self.program) and all(f.test_id != self.program for f in self.failures)

    @property
    def printed(self) -> str:
        """What the program printed, or "(nothing)"."""
        return self.program_output.rstrip() or "(nothing)"

    def summary(self) -> str:
        if self.cancelled:
            return "cancelled"
        if self.timed_out:
            return f"timed out after {self.seconds:.0f} s"
        parts = [f"{n} {word}" for n, word in (
            (self.failed, "failed"), (self.passed, "passed"), (self.skipped, "skipped"),
        ) if n]
        if self.errors:
            parts.append(f"{self.errors} error" + ("s" if self.errors > 1 else ""))
        if parts:
            return ", ".join(parts)
        if self.no_tests:
            return "no tests collected"
        return f"pytest exited with code {self.exit_code}"

    def for_model(self) -> str:
        """Summary plus every listed failure; the console tail when none is listed."""
        lines = [f"Test run: {self.summary()}"]
        for failure in self.failures:
            lines += ["", f"FAILED {failure.test_id}: {failure.message}", failure.output.rstrip()]
        hidden = self.failed + self.errors - len(self.failures)
        if self.failures and hidden > 0:
            lines += ["", f"... and {hidden} more not shown"]
        if not self.failures and not self.ok and self.output:
            lines += ["", "Console output (tail):", self.output.rstrip()]
        if self.program_ran:
            lines += ["", f"`python {self.program}` ran to the end and printed:", self.printed]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["failures"] = [asdict(f) for f in self.failures]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TestReport:
        fields = dict(data)
        fields["failures"] = tuple(TestFailure(**f) for f in data.get("failures", ()))
        return cls(**fields)


# --- environment and limits -------------------------------------------------


def _is_secret(name: str) -> bool:
    upper = name.upper()
    return any(w in upper for w in _SECRET_WORDS) or upper.startswith(_SECRET_PREFIXES)


def child_env(root: Path, base: dict[str, str] | None = None) -> dict[str, str]:
    """A copy of ``base`` (os.environ) without secrets, importing from ``root``."""
    source = os.environ if base is None else base
    env = {k: v for k, v in source.items() if not _is_secret(k)}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    paths = [str(root)]
    if (root / "src").is_dir():
        paths.append(str(root / "src"))
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


def _set_limit(which: int, value: int) -> None:
    import resource

    try:
        _, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(which, (value, hard))
    except (ValueError, OSError):
        pass


def _limiter(cpu: int, memory: int, fsize: int) -> Callable[[], None]:
    def apply() -> None:
        import resource

        _set_limit(resource.RLIMIT_CPU, cpu)
        _set_limit(resource.RLIMIT_AS, memory)
        _set_limit(resource.RLIMIT_FSIZE, fsize)

    return apply


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


# --- JUnit XML --------------------------------------------------------------


def node_id(file: str, classname: str, name: str) -> str:
    """The pytest node id of a JUnit testcase (xunit1 ``file`` if present)."""
    if file:
        module = file[:-3].replace("/", ".") if file.endswith(".py") else ""
        if not classname:
            return file if name.replace(".", "/") + ".py" == file else f"{file}::{name}"
        classes = classname[len(module) + 1:] if module and classname.startswith(module + ".") else ""
        return "::".join(p for p in (file, classes.replace(".", "::"), name) if p)
    parts = classname.split(".") if classname else []
    cut = next((i for i, p in enumerate(parts) if p[:1].isupper()), len(parts))
    if not parts:
        return name.replace(".", "/") + ".py"
    path = "/".join(parts[:cut]) + ".py"
    return "::".join([path, *parts[cut:], name])


def _message(attr: str, text: str) -> str:
    """One line: the message attribute, or the last ``E`` line for a bare
    "collection failure"."""
    lines = [s.strip() for s in (attr or text).splitlines() if s.strip()]
    line = lines[0] if lines else ""
    if line in ("", "collection failure"):
        errs = [s[1:].strip() for s in text.splitlines() if s.startswith("E ")]
        line = errs[-1] if errs else line
    return line if len(line) <= MESSAGE_CHARS else line[:MESSAGE_CHARS] + " ..."


_CAPTURE_HEADER = re.compile(r"^-+ Captured (\w+) -+$", re.MULTILINE)


def _captured(case: ET.Element) -> str:
    """Non-empty captured log/stdout/stderr sections of a testcase, placed
    before the traceback so a tail-keeping trim drops them first."""
    text = "\n".join(e.text or "" for e in case if e.tag in ("system-out", "system-err"))
    pieces = _CAPTURE_HEADER.split(text)
    parts: list[str] = [pieces[0].strip()] if pieces[0].strip() else []
    for name, body in zip(pieces[1::2], pieces[2::2]):
        if body.strip():
            parts.append(f"--- captured {name.lower()} ---\n{body.strip()}")
    return "\n".join(parts) + "\n--- traceback ---\n" if parts else ""


@dataclass
class _Counts:
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0


def _read_junit(path: Path) -> tuple[_Counts, list[tuple[str, str, str]]] | None:
    """Counts and raw (id, message, text) failures; None when there is no report."""
    try:
        tree = ET.parse(path)
    except (OSError, ET.ParseError):
        return None
    counts = _Counts()
    raw: list[tuple[str, str, str]] = []
    for case in tree.iter("testcase"):
        tid = node_id(case.get("file", ""), case.get("classname", ""), case.get("name", ""))
        bad = [e for e in case if e.tag in ("failure", "error")]
        for elem in bad:
            if elem.tag == "failure":
                counts.failed += 1
            else:
                counts.errors += 1
            text = _captured(case) + (elem.text or "")
            raw.append((tid, _message(elem.get("message") or "", elem.text or ""), text))
        if case.find("skipped") is not None:
            counts.skipped += 1
        elif not bad:
            counts.passed += 1
    return counts, raw


def _share_budget(needs: list[int], budget: int) -> list[int]:
    """Split ``budget`` so small items get all they need and big ones share the rest."""
    shares = [0] * len(needs)
    left = budget
    order = sorted(range(len(needs)), key=lambda i: needs[i])
    for pos, i in enumerate(order):
        fair = left // (len(order) - pos)
        shares[i] = min(needs[i], fair)
        left -= shares[i]
    return shares


def trim_failures(raw: list[tuple[str, str, str]], budget: int) -> tuple[TestFailure, ...]:
    """At most MAX_FAILURES failures whose headers and outputs fit ``budget`` tokens."""
    chosen = raw[:MAX_FAILURES]
    header_cost = sum(count_tokens(f"FAILED {t}: {m}") + 4 for t, m, _ in chosen)
    marker_cost = 8 * len(chosen)
    available = max(budget - header_cost - marker_cost, 0)
    shares = _share_budget([count_tokens(text) for _, _, text in chosen], available)
    return tuple(
        TestFailure(tid, msg, trim_to_tokens(text, share, keep="tail") if share else "")
        for (tid, msg, text), share in zip(chosen, shares)
    )


# --- the runner -------------------------------------------------------------


def _read_tail(path: Path) -> str:
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(fh.tell() - TAIL_BYTES, 0))
            data = fh.read()
    except OSError:
        return ""
    text = data.decode("utf-8", errors="replace")
    return trim_to_tokens(re.sub(r"\x1b\[[0-9;]*m", "", text), OUTPUT_TOKENS, keep="tail")


@dataclass(frozen=True)
class SandboxRun:
    code: int
    outcome: str  # "done", "timeout" or "cancelled"
    seconds: float
    output: str  # the tail of stdout and stderr together


@dataclass(frozen=True)
class Sandbox:
    """Runs a command on a workspace: own process group, resource limits, no secrets, a timeout."""

    timeout: float = 60.0
    cpu_seconds: int = 120
    memory_bytes: int = 2 * 1024**3
    file_size_bytes: int = 64 * 1024**2

    def run(self, command: list[str], root: Path, log: Path, cancel: CancelToken | None = None) -> SandboxRun:
        started = time.monotonic()
        with log.open("wb") as out:
            proc = subprocess.Popen(
                command, cwd=root, env=child_env(root),
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_limiter(self.cpu_seconds, self.memory_bytes, self.file_size_bytes),
            )
            outcome = self._wait(proc, started, cancel)
        return SandboxRun(proc.returncode, outcome, time.monotonic() - started, _read_tail(log))

    def _wait(self, proc: subprocess.Popen[bytes], started: float, cancel: CancelToken | None) -> str:
        """Wait for the child: "done", "timeout" or "cancelled" (group killed)."""
        while True:
            if cancel is not None and cancel.cancelled:
                _kill_group(proc)
                return "cancelled"
            remaining = started + self.timeout - time.monotonic()
            if remaining <= 0:
                if proc.poll() is not None:  # it finished while we were not scheduled (e.g. suspended)
                    return "done"
                _kill_group(proc)
                return "timeout"
            try:
                proc.wait(timeout=min(POLL_SECONDS, remaining))
            except subprocess.TimeoutExpired:
                continue
            return "done"


class PytestRunner:
    """Runs ``python -m pytest`` on a workspace, bounded in time and resources."""

    def __init__(
        self,
        *,
        timeout: float = 60.0,
        python: str = sys.executable,
        cpu_seconds: int = 120,
        memory_bytes: int = 2 * 1024**3,
        file_size_bytes: int = 64 * 1024**2,
        failure_token_budget: int = 1500,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.timeout = timeout
        self.python = python
        self.sandbox = Sandbox(timeout, cpu_seconds, memory_bytes, file_size_bytes)
        self.failure_token_budget = failure_token_budget
        self.extra_args = tuple(extra_args)

    def command(self, root: Path, junit: Path) -> list[str]:
        return [
            self.python, "-m", "pytest", "-q", "-p", "no:cacheprovider",
            "-o", "junit_family=xunit1", "-o", "junit_logging=all",
            "-o", "junit_log_passing_tests=False", f"--junitxml={junit}",
            f"--rootdir={root}", *self.extra_args,
        ]

    def run(self, root: Path, cancel: CancelToken | None = None) -> TestReport:
        root = Path(root).resolve()
        with tempfile.TemporaryDirectory(prefix="chatpkg-pytest-") as tmp:
            junit = Path(tmp) / "report.xml"
            run = self.sandbox.run(self.command(root, junit), root, Path(tmp) / "console.log", cancel)
            return self._report(run.code, run.outcome, run.seconds, junit, run.output)

    def _report(self, code: int, outcome: str, seconds: float, junit: Path, output: str) -> TestReport:
        if outcome != "done":
            return TestReport(exit_code=code, timed_out=outcome == "timeout",
                              cancelled=outcome == "cancelled", seconds=seconds, output=output)
        parsed = _read_junit(junit)
        if parsed is None:
            errors = 0 if code == EXIT_NO_TESTS else 1
            return TestReport(errors=errors, exit_code=code, seconds=seconds, output=output)
        counts, raw = parsed
        return TestReport(
            passed=counts.passed, failed=counts.failed, errors=counts.errors,
            skipped=counts.skipped, exit_code=code, seconds=seconds,
            failures=trim_failures(raw, self.failure_token_budget), output=output,
        )
