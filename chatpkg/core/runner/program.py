"""Tests for a workspace that is a program: pytest, then the program itself.

Multi-turn program synthesis (MTPB) builds a script turn by turn; a script that
crashes is a failure the model must see, even when it wrote no test. The
script's crash (its traceback) is added to the pytest report as one more
failure, so the repair loop treats both alike. A script that runs to the end
counts as one passed test, and what it printed goes into the report: the model
sees its program's output the way the user does.
"""

from __future__ import annotations

import dataclasses
import sys
import tempfile
from pathlib import Path

from chatpkg.core.cancel import CancelToken
from chatpkg.core.runner.confine import Confinement
from chatpkg.core.runner.pytest_runner import PytestRunner
from chatpkg.core.runner.report import TestFailure, TestReport
from chatpkg.core.runner.sandbox import Sandbox
from chatpkg.core.tokens import trim_to_tokens

SCRIPT_OUTPUT_TOKENS = 600
PRINTED_TOKENS = 300


class ScriptRunner:
    """Runs pytest, then ``python SCRIPT`` when the script exists."""

    def __init__(self, script: str = "main.py", *, timeout: float = 20.0, tests: PytestRunner | None = None,
                 confinement: Confinement | None = None) -> None:
        self.script = script
        self.tests = tests or PytestRunner(timeout=timeout, confinement=confinement)
        self.sandbox = Sandbox(timeout=timeout, confinement=confinement or self.tests.sandbox.confinement)

    def run(self, root: Path, cancel: CancelToken | None = None) -> TestReport:
        report = self.tests.run(root, cancel)
        if report.cancelled or not (Path(root) / self.script).is_file():
            return report
        with tempfile.TemporaryDirectory(prefix="chatpkg-script-") as tmp:
            run = self.sandbox.run([sys.executable, self.script], Path(root).resolve(), Path(tmp) / "out.log", cancel)
        if run.outcome == "cancelled":
            return dataclasses.replace(report, cancelled=True)
        if run.outcome == "done" and run.code == 0:
            code = 0 if report.no_tests else report.exit_code  # the script ran: something was tested
            return dataclasses.replace(
                report, passed=report.passed + 1, exit_code=code, seconds=report.seconds + run.seconds,
                passed_ids=(*report.passed_ids, self.script),
                program=self.script, program_output=trim_to_tokens(run.output, PRINTED_TOKENS),
            )
        return self._with_crash(report, run.outcome, run.code, run.output, run.seconds)

    def _with_crash(self, report: TestReport, outcome: str, code: int, output: str, seconds: float) -> TestReport:
        lines = [line for line in output.strip().splitlines() if line.strip()]
        if outcome == "timeout":
            message = f"{self.script} did not finish within {self.sandbox.timeout:g} s"
        else:
            message = lines[-1] if lines else f"{self.script} exited with status {code}"
        failure = TestFailure(self.script, message, trim_to_tokens(output, SCRIPT_OUTPUT_TOKENS))
        return dataclasses.replace(
            report,
            program=self.script,
            failed=report.failed + 1,
            exit_code=report.exit_code or 1,
            failures=(*report.failures, failure),
            seconds=report.seconds + seconds,
            timed_out=report.timed_out or outcome == "timeout",
        )
