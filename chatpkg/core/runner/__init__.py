"""Running code the model wrote: pytest, the workspace's program, and the sandbox they run in.

This layer imports nothing of chatpkg but ``chatpkg.core.cancel`` and ``chatpkg.core.tokens``.
"""

from chatpkg.core.runner.program import ScriptRunner
from chatpkg.core.runner.pytest_runner import PytestRunner
from chatpkg.core.runner.report import EXIT_NO_TESTS, TestFailure, TestReport, TestRunner
from chatpkg.core.runner.sandbox import Sandbox, SandboxRun, child_env

__all__ = [
    "EXIT_NO_TESTS",
    "PytestRunner",
    "Sandbox",
    "SandboxRun",
    "ScriptRunner",
    "TestFailure",
    "TestReport",
    "TestRunner",
    "child_env",
]
