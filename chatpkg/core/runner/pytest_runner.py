"""Run a workspace's pytest suite in the sandbox and summarise it.

A JUnit XML report, written outside the workspace, gives the counts and the
failures; the console output is kept (trimmed) for crashes where no XML
appears. A timeout or a cancel kills the whole process group.
"""

from __future__ import annotations

import importlib.util
import re
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from chatpkg.core.cancel import CancelToken
from chatpkg.core.runner.confine import Confinement, choose
from chatpkg.core.runner.report import EXIT_NO_TESTS, TestFailure, TestReport
from chatpkg.core.runner.sandbox import Sandbox
from chatpkg.core.tokens import count_tokens, trim_to_tokens

MAX_FAILURES = 10
# pytest plugins of chatpkg's own test tools (installed with its [test] extra): a workspace's tests
# have no use for them, and loading them tripled the time of a small package's run (0.9 s -> 2.6 s).
OWN_TEST_PLUGINS = ("hypothesispytest", "syrupy", "textual-snapshot")
MESSAGE_CHARS = 300
LINE_CHARS = 1000  # an explanation line longer than this (a huge operand) is cut
FULL_DIFF = re.compile(r"^E\s+Full diff:\s*$")
# A test may take a third of the run's time: one that hangs fails on its own (pytest-timeout names it and
# shows where it was), and the other tests still report, instead of the whole run being killed.
PER_TEST_SHARE = 3


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


_FRAME = re.compile(r"^(?P<path>[^\s/][^:\n]*\.py):(?P<line>\d+): ", re.MULTILINE)


def raised_in(text: str) -> str:
    """Where an error was raised: the deepest frame of the workspace's own files (pytest shows them
    relative to the root, and the rest absolute), as ``path:line``; empty when none is listed."""
    frames = [m for m in _FRAME.finditer(text) if "site-packages/" not in m["path"]]
    return f"{frames[-1]['path']}:{frames[-1]['line']}" if frames else ""


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
    passed_ids: list[str] = field(default_factory=list)


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
            text = _captured(case) + _explanation(elem.text or "")
            raw.append((tid, _message(elem.get("message") or "", elem.text or ""), text))
        if case.find("skipped") is not None:
            counts.skipped += 1
        elif not bad:
            counts.passed += 1
            counts.passed_ids.append(tid)
    return counts, raw


def _explanation(text: str) -> str:
    """A failure's traceback with pytest's assertion explanation at full verbosity (the run asks for it:
    the operands whole, where the default cuts a list after six items, ``[6, 3, 8, 9, 2, 4, ...]``, and
    a repair cannot see which value is wrong), minus the "Full diff:" listing that verbosity adds (the
    same two values again, one element a line), and with no line longer than LINE_CHARS."""
    kept: list[str] = []
    in_diff = False
    for line in text.splitlines():
        if FULL_DIFF.match(line):
            in_diff = True
            if kept and kept[-1].strip() == "E":  # the blank explanation line before it
                kept.pop()
            continue
        if in_diff and line.startswith("E "):
            continue
        in_diff = False
        kept.append(line if len(line) <= LINE_CHARS else line[:LINE_CHARS] + " ...")
    return "\n".join(kept) + ("\n" if text.endswith("\n") else "")


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
        TestFailure(tid, msg, trim_to_tokens(text, share, keep="tail") if share else "", raised_in(text))
        for (tid, msg, text), share in zip(chosen, shares)
    )


def _has_timeout_plugin(python: str) -> bool:
    """pytest-timeout is a dependency of chatpkg: there when the tests run with chatpkg's own Python."""
    return python == sys.executable and importlib.util.find_spec("pytest_timeout") is not None


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
        confinement: Confinement | None = None,
    ) -> None:
        self.timeout = timeout
        self.python = python
        self.sandbox = Sandbox(timeout, cpu_seconds, memory_bytes, file_size_bytes, confinement or choose())
        self.failure_token_budget = failure_token_budget
        self.extra_args = tuple(extra_args)
        self.per_test_timeout = timeout / PER_TEST_SHARE if timeout and _has_timeout_plugin(python) else None

    def command(self, root: Path, junit: Path) -> list[str]:
        return [
            self.python, "-m", "pytest", "-q", "-p", "no:cacheprovider",
            *(arg for name in OWN_TEST_PLUGINS for arg in ("-p", f"no:{name}")),
            "-l",  # the failing frame's locals: the values, not only the traceback
            "-o", "verbosity_assertions=2",  # an assert's operands whole, not cut after six items (_explanation)
            "--continue-on-collection-errors",  # a test file that does not import hides none of the others
            "-o", "junit_family=xunit1", "-o", "junit_logging=all",
            "-o", "junit_log_passing_tests=False", f"--junitxml={junit}",
            f"--rootdir={root}",
            *([f"--timeout={self.per_test_timeout:g}", "--timeout-method=signal"] if self.per_test_timeout else []),
            *self.extra_args,
        ]

    def run(self, root: Path, cancel: CancelToken | None = None) -> TestReport:
        root = Path(root).resolve()
        with tempfile.TemporaryDirectory(prefix="chatpkg-pytest-") as tmp:
            junit = Path(tmp) / "report.xml"
            run = self.sandbox.run(self.command(root, junit), root, Path(tmp) / "console.log", cancel,
                                   writable=(Path(tmp),))
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
            passed=counts.passed, failed=counts.failed, errors=counts.errors, passed_ids=tuple(counts.passed_ids),
            skipped=counts.skipped, exit_code=code, seconds=seconds,
            failures=trim_failures(raw, self.failure_token_budget), output=output,
        )
