"""A workspace that is a program: its crashes count as failures the model sees."""

from __future__ import annotations

from pathlib import Path

from chatpkg.core.runner.program import ScriptRunner


def test_a_script_that_runs_counts_as_passing(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text("print(sum([1, 2, 3]))\n")
    report = ScriptRunner().run(tmp_path)
    assert report.ok and report.passed == 1 and report.no_tests is False


def test_a_crashing_script_is_a_failure_with_its_traceback(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text("numbers = [1, 2]\nprint(numbers[5])\n")
    report = ScriptRunner().run(tmp_path)
    assert not report.ok and report.failed == 1
    (failure,) = report.failures
    assert failure.test_id == "main.py" and failure.message == "IndexError: list index out of range"
    assert "line 2" in failure.output and "main.py" in report.for_model()


def test_a_hanging_script_is_stopped(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text("while True:\n    pass\n")
    report = ScriptRunner(timeout=1).run(tmp_path)
    assert report.timed_out and not report.ok and "did not finish within 1 s" in report.failures[0].message


def test_without_the_script_only_pytest_runs(tmp_path: Path) -> None:
    report = ScriptRunner().run(tmp_path)
    assert report.no_tests and report.ok


def test_what_the_script_printed_is_in_the_report_the_model_sees(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text("print(sum([1, 2, 3]))\n")
    report = ScriptRunner().run(tmp_path)
    assert report.program == "main.py" and report.program_output.strip() == "6"
    assert "`python main.py` ran to the end and printed:\n6" in report.for_model()


def test_a_silent_script_is_reported_as_printing_nothing(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text("x = 1\n")
    assert "printed:\n(nothing)" in ScriptRunner().run(tmp_path).for_model()


def test_a_crash_is_not_reported_as_a_run_to_the_end(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text("print('partial')\nraise SystemExit(3)\n")
    text = ScriptRunner().run(tmp_path).for_model()
    assert "ran to the end" not in text and "FAILED main.py" in text
