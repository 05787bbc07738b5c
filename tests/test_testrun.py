"""Tests for chatpkg.core.runner: real pytest subprocesses on tiny workspaces."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest

from chatpkg.core.cancel import CancelToken
from chatpkg.core.runner import PytestRunner, TestFailure, TestReport, child_env
from chatpkg.core.runner.confine import Confinement
from chatpkg.core.runner.pytest_runner import LINE_CHARS, node_id, trim_failures
from chatpkg.core.tokens import count_tokens


def make_workspace(root: Path, tests: dict[str, str]) -> Path:
    (root / "pkg").mkdir(parents=True, exist_ok=True)
    (root / "pkg" / "__init__.py").write_text("def double(x):\n    return 2 * x\n")
    (root / "tests").mkdir(exist_ok=True)
    for name, body in tests.items():
        (root / "tests" / name).write_text(body)
    return root


def pid_gone(pid: int, within: float = 5.0) -> bool:
    """True once ``pid`` no longer exists (a zombie awaiting reaping counts as gone)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            if stat.rsplit(")", 1)[1].split()[0] == "Z":
                return True
        except (OSError, IndexError):
            pass
        time.sleep(0.05)
    return False


HANGING = "import time\n\ndef test_hang():\n    time.sleep(60)\n"


def test_all_passing(tmp_path: Path) -> None:
    root = make_workspace(tmp_path, {"test_a.py": (
        "from pkg import double\n\n"
        "def test_one():\n    assert double(2) == 4\n\n"
        "def test_two():\n    assert double(0) == 0\n"
    )})
    report = PytestRunner(timeout=30).run(root)
    assert (report.passed, report.failed, report.errors) == (2, 0, 0)
    assert report.collected == 2
    assert report.ok and not report.no_tests
    assert report.summary() == "2 passed"
    assert report.exit_code == 0
    assert report.seconds > 0
    assert not (root / ".pytest_cache").exists()
    assert not list(root.rglob("__pycache__"))
    assert not list(root.rglob("*.xml"))


def test_failing_assertion(tmp_path: Path) -> None:
    root = make_workspace(tmp_path, {"test_text.py": (
        "from pkg import double\n\n"
        "def test_good():\n    assert double(1) == 2\n\n"
        "def test_slugify():\n    print('captured-marker')\n    assert double(3) == 7\n\n"
        "class TestC:\n    def test_m(self):\n        raise ValueError('bad value')\n"
    )})
    report = PytestRunner(timeout=30).run(root)
    assert (report.passed, report.failed) == (1, 2)
    assert not report.ok
    assert report.summary() == "2 failed, 1 passed"
    ids = [f.test_id for f in report.failures]
    assert ids == ["tests/test_text.py::test_slugify", "tests/test_text.py::TestC::test_m"]
    first = report.failures[0]
    assert "assert 6 == 7" in first.message
    assert "\n" not in first.message
    assert "assert double(3) == 7" in first.output
    assert "captured-marker" in first.output
    assert first.output.rstrip().endswith("AssertionError")
    assert "ValueError: bad value" in report.failures[1].message
    text = report.for_model()
    assert text.startswith("Test run: 2 failed, 1 passed")
    for failure in report.failures:
        assert failure.test_id in text and failure.message in text
    assert "assert double(3) == 7" in text


def test_an_asserts_operands_are_shown_whole_without_the_long_diff(tmp_path: Path) -> None:
    root = make_workspace(tmp_path, {"test_lists.py": (
        "def rotate(values):\n    return values[1:] + values[:1]\n\n"
        "def test_rotate():\n    assert rotate([5, 6, 3, 4, 8, 9, 2]) == [2, 6, 3, 4, 8, 9, 5]\n\n"
        "def test_huge():\n    assert rotate(list(range(5000))) == []\n"
    )})

    report = PytestRunner(timeout=30).run(root)

    small, huge = report.failures
    assert "assert [6, 3, 4, 8, 9, 2, 5] == [2, 6, 3, 4, 8, 9, 5]" in small.output  # not cut after six items
    assert "At index 0 diff: 6 != 2" in small.output
    assert "Full diff" not in small.output and "E         -     2," not in small.output
    assert small.output.rstrip().endswith("AssertionError")
    assert max(len(line) for line in huge.output.splitlines()) <= LINE_CHARS + len(" ...")  # cut, not all shown
    assert "assert [1, 2, 3, 4, 5, 6, 7, 8, 9, 10," in huge.output


def test_collection_error(tmp_path: Path) -> None:
    root = make_workspace(tmp_path, {
        "test_ok.py": "def test_fine():\n    pass\n",
        "test_broken.py": "import does_not_exist_xyz\n\ndef test_x():\n    pass\n",
    })
    report = PytestRunner(timeout=30).run(root)
    assert report.errors >= 1
    assert not report.ok
    assert report.failures[0].test_id == "tests/test_broken.py"
    assert "does_not_exist_xyz" in report.failures[0].output
    assert "does_not_exist_xyz" in report.failures[0].message
    assert "error" in report.summary()


def test_a_test_file_that_does_not_import_hides_no_other_test(tmp_path: Path) -> None:
    root = make_workspace(tmp_path, {
        "test_ok.py": "def test_fine():\n    pass\n",
        "test_broken.py": "from pkg.store import Inventory\n\ndef test_x():\n    assert Inventory()\n",
    })
    (root / "pkg" / "store.py").write_text(
        "from dataclasses import dataclass\n\n\n@dataclass\nclass Inventory:\n    items: dict = {}\n")
    report = PytestRunner(timeout=30).run(root)
    assert report.errors == 1 and report.passed == 1 and report.passed_ids == ("tests/test_ok.py::test_fine",)
    (failure,) = report.failures
    # raised while importing the code, deep in dataclasses: the deepest frame of the workspace's own files
    assert failure.origin == "pkg/store.py:4" and failure.raised_in_code
    assert "mutable default" in failure.message
    assert f"FAILED tests/test_broken.py: {failure.message} (raised at pkg/store.py:4)" in report.for_model()


def test_where_a_failure_was_raised_code_or_test(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "calc.py").write_text("def div(a, b):\n    return a / b\n")
    root = make_workspace(tmp_path, {"test_calc.py": (
        "from pkg.calc import div\n\n\ndef test_crash():\n    assert div(1, 0) == 1\n\n\n"
        "def test_value():\n    assert div(1, 1) == 2\n")})
    crash, value = PytestRunner(timeout=30).run(root).failures
    assert (crash.origin, crash.raised_in_code) == ("pkg/calc.py:2", True)
    assert (value.origin, value.raised_in_code) == ("tests/test_calc.py:9", False)  # the test's own expectation


def test_conftest_import_error_without_xml(tmp_path: Path) -> None:
    root = make_workspace(tmp_path, {"test_ok.py": "def test_fine():\n    pass\n"})
    (root / "conftest.py").write_text("import does_not_exist_conftest\n")
    report = PytestRunner(timeout=30).run(root)
    assert not report.ok
    assert report.errors >= 1
    assert "does_not_exist_conftest" in report.output
    assert "does_not_exist_conftest" in report.for_model()


def test_no_tests(tmp_path: Path) -> None:
    root = make_workspace(tmp_path, {})
    report = PytestRunner(timeout=30).run(root)
    assert report.no_tests
    assert report.ok
    assert report.exit_code == 5
    assert report.summary() == "no tests collected"


def test_a_hanging_test_fails_alone_and_the_rest_still_report(tmp_path: Path) -> None:
    root = make_workspace(tmp_path, {"test_hang.py": HANGING + "\n\ndef test_fine():\n    assert 1 + 1 == 2\n"})
    started = time.monotonic()
    report = PytestRunner(timeout=3).run(root)  # a test may take a third: 1 s
    assert time.monotonic() - started < 8
    assert not report.timed_out and report.passed == 1 and report.failed == 1
    (failure,) = report.failures
    assert failure.test_id == "tests/test_hang.py::test_hang" and failure.hung
    assert "time.sleep(60)" in failure.output  # where it hung


def test_a_run_that_hangs_past_its_time_is_killed(tmp_path: Path) -> None:
    # SIGALRM blocked: the per-test limit cannot stop this one, the run's own limit does.
    unstoppable = "import signal\n" + HANGING.replace(
        "def test_hang():\n", "def test_hang():\n    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGALRM])\n")
    root = make_workspace(tmp_path, {"test_hang.py": unstoppable})
    started = time.monotonic()
    report = PytestRunner(timeout=2).run(root)
    elapsed = time.monotonic() - started
    assert report.timed_out
    assert not report.ok
    assert elapsed < 8
    assert report.summary().startswith("timed out after ")


def test_timeout_kills_grandchild(tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    root = make_workspace(tmp_path / "ws", {"test_spawn.py": (
        "import signal, subprocess, sys, time\n\n"
        "def test_spawn():\n"
        "    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGALRM])  # past the per-test limit\n"
        "    child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        f"    open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
        "    time.sleep(60)\n"
    )})
    # Without the sandbox (bwrap's PID namespace would hide the pid, and it may not write outside
    # the workspace): the fallback's process-group kill is what this checks.
    report = PytestRunner(timeout=2.5, confinement=Confinement(None, reason="the fallback")).run(root)
    assert report.timed_out
    pid = int(pid_file.read_text())
    assert pid_gone(pid)


def test_only_allowlisted_variables_reach_the_tests(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-fake")
    monkeypatch.setenv("MY_SERVICE_TOKEN", "tok")
    monkeypatch.setenv("DEPLOY_CREDENTIAL", "no name on any denylist")  # an allowlist keeps this out too
    monkeypatch.setenv("LC_ALL", "C.UTF-8")
    root = make_workspace(tmp_path, {"test_env.py": (
        "import os\n\n"
        "def test_env():\n"
        "    assert 'OPENAI_API_KEY' not in os.environ\n"
        "    assert 'MY_SERVICE_TOKEN' not in os.environ\n"
        "    assert 'DEPLOY_CREDENTIAL' not in os.environ\n"
        "    assert os.environ['LC_ALL'] == 'C.UTF-8' and os.environ['PATH']\n"
        "    assert os.environ['PYTHONDONTWRITEBYTECODE'] == '1'\n"
    )})
    report = PytestRunner(timeout=30).run(root)
    assert report.ok, report.for_model()
    assert report.passed == 1


def test_child_env_pythonpath(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    base = {"PYTHONPATH": "/elsewhere", "aws_secret": "x", "HF_HOME": "h", "Gemini_Key": "g", "PATH": "/bin",
            "DATABASE_URL": "postgres://user:pw@host/db"}
    env = child_env(tmp_path, base)
    assert env["PYTHONPATH"] == os.pathsep.join([str(tmp_path), str(tmp_path / "src"), "/elsewhere"])
    assert set(env) == {"PYTHONPATH", "PATH", "PYTHONDONTWRITEBYTECODE"}


def test_cancel_stops_hanging_run(tmp_path: Path) -> None:
    root = make_workspace(tmp_path, {"test_hang.py": HANGING})
    token = CancelToken()
    timer = threading.Timer(1.0, token.cancel)
    timer.start()
    started = time.monotonic()
    try:
        report = PytestRunner(timeout=30).run(root, cancel=token)
    finally:
        timer.cancel()
    assert report.cancelled and not report.timed_out
    assert not report.ok
    assert report.summary() == "cancelled"
    assert time.monotonic() - started < 8


def test_failure_output_respects_budget(tmp_path: Path) -> None:
    budget = 400  # four headers of up to MESSAGE_CHARS each, and some room for the outputs' tails
    root = make_workspace(tmp_path, {"test_big.py": (
        "import pytest\n\n"
        "def deep(n):\n"
        "    if n == 0:\n"
        "        raise RuntimeError('word ' * 5000)\n"
        "    return deep(n - 1)\n\n"
        "@pytest.mark.parametrize('i', range(3))\n"
        "def test_big(i):\n"
        "    print('noise line ' * 3000)\n"
        "    deep(40)\n\n"
        "def test_huge_message():\n"
        "    assert 'x' * 20000 == 'y'\n"
    )})
    report = PytestRunner(timeout=30, failure_token_budget=budget).run(root)
    assert report.failed == 4
    assert count_tokens(report.for_model()) < budget + 60
    assert all(f.output.rstrip().endswith(("RuntimeError", "AssertionError")) for f in report.failures)


def test_trim_failures_caps_count_and_budget() -> None:
    raw = [(f"tests/test_x.py::test_{i}", f"msg {i}", "line\n" * 500) for i in range(25)]
    failures = trim_failures(raw, 1000)
    assert len(failures) == 10
    total = sum(count_tokens(f"FAILED {f.test_id}: {f.message}\n{f.output}") for f in failures)
    assert total <= 1000
    report = TestReport(failed=25, failures=failures)
    assert "15 more not shown" in report.for_model()


def test_node_id_forms() -> None:
    assert node_id("tests/test_x.py", "tests.test_x", "test_a") == "tests/test_x.py::test_a"
    assert node_id("tests/test_x.py", "tests.test_x.TestC", "test_m[1]") == "tests/test_x.py::TestC::test_m[1]"
    assert node_id("tests/test_x.py", "", "tests.test_x") == "tests/test_x.py"
    assert node_id("", "tests.test_x.TestC", "test_m") == "tests/test_x.py::TestC::test_m"
    assert node_id("", "tests.test_x", "test_a") == "tests/test_x.py::test_a"


def test_round_trip_with_failures() -> None:
    report = TestReport(
        passed=3, failed=1, errors=1, skipped=2, exit_code=1, seconds=1.25,
        failures=(TestFailure("tests/test_a.py::test_b", "assert 1 == 2", "E  assert 1 == 2"),),
        output="1 failed, 3 passed",
    )
    data = json.loads(json.dumps(report.to_dict()))
    assert TestReport.from_dict(data) == report
    assert TestReport.from_dict(TestReport().to_dict()) == TestReport()


def test_summary_forms() -> None:
    assert TestReport(errors=1, exit_code=2).summary() == "1 error"
    assert TestReport(failed=1, passed=2, exit_code=1).summary() == "1 failed, 2 passed"
    assert TestReport(timed_out=True, seconds=60.04).summary() == "timed out after 60 s"
    assert TestReport(exit_code=5).no_tests and TestReport(exit_code=5).ok
    assert not TestReport(exit_code=3).ok
