"""What a test run returns (``TestReport``), and what a runner is (``TestRunner``)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar, Protocol

from chatpkg.core.cancel import CancelToken

EXIT_NO_TESTS = 5


@dataclass(frozen=True)
class TestFailure:
    """One failed or errored test, as the model is shown it."""

    __test__: ClassVar[bool] = False

    test_id: str
    message: str
    output: str
    origin: str = ""  # where the error was raised: the deepest frame in the workspace's files, "path:line"

    @property
    def raised_in_code(self) -> bool:
        """The error came from a file that is not a test (the code), not from a test's own expectation."""
        path = self.origin.rsplit(":", 1)[0]
        return bool(path) and path != self.test_id.split("::", 1)[0] and not is_test_path(path)

    @property
    def hung(self) -> bool:
        """It did not finish within the per-test time limit (pytest-timeout failed it)."""
        return "from pytest-timeout" in self.message


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
    passed_ids: tuple[str, ...] = ()  # the tests that passed (candidates are compared by these)

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

    def for_model(self, inherited: Collection[str] = ()) -> str:
        """Summary plus every listed failure; the console tail when none is listed. The failures in
        ``inherited`` (failing as before the turn, not its task) are only named, last."""
        lines = [f"Test run: {self.summary()}"]
        for failure in (f for f in self.failures if f.test_id not in inherited):
            where = f" (raised at {failure.origin})" if failure.raised_in_code else ""
            lines += ["", f"FAILED {failure.test_id}: {failure.message}{where}", failure.output.rstrip()]
        hidden = self.failed + self.errors - len(self.failures)
        if self.failures and hidden > 0:
            lines += ["", f"... and {hidden} more not shown"]
        if not self.failures and not self.ok and self.output:
            lines += ["", "Console output (tail):", self.output.rstrip()]
        named = [f.test_id for f in self.failures if f.test_id in inherited]
        if named:
            lines += ["", f"Failing as before this turn (not this repair's task): {', '.join(named)}"]
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
        fields["passed_ids"] = tuple(data.get("passed_ids", ()))
        return cls(**fields)


def is_test_path(path: str) -> bool:
    """A file pytest collects or configures: under tests/, test_*.py, *_test.py, conftest.py."""
    name = PurePosixPath(path).name
    if not name.endswith(".py"):
        return False
    return path.startswith("tests/") or name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py"


class TestRunner(Protocol):
    """Runs a workspace's checks; the engine takes one as a constructor argument."""

    __test__: ClassVar[bool] = False

    def run(self, root: Path, cancel: CancelToken | None = None) -> TestReport: ...
