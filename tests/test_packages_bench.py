"""`chatpkg bench packages` with the scripted model: sessions build a package, hidden acceptance tests score it."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result
from helpers import whole

from chatpkg.bench import packages
from chatpkg.bench.results import read_records
from chatpkg.cli import main
from chatpkg.core.models import ScriptedModel
from chatpkg.core.runner import TestFailure, TestReport

ACCEPTANCE = (
    "from tinypkg import greet\n\n\n"
    "def test_greets_by_name():\n    assert greet('Ann') == 'Hello, Ann!'\n\n\n"
    "def test_zq_hidden_marker():\n    assert greet('Zq') == 'Hello, Zq!'\n"
)
TASK = {
    "id": "tiny",
    "package": "tinypkg",
    "idea": "A package tinypkg with greet(name).",
    "turns": [
        "Add tinypkg/hello.py with greet(name) returning 'Hello, <name>!'. Test it.",
        "Export greet from the package itself. Test the import.",
    ],
    "acceptance": ACCEPTANCE,
}
GREET = "def greet(name):\n    return f'Hello, {name}!'\n"
TURN_1 = whole({
    "tinypkg/hello.py": GREET,
    "tests/test_greet.py":
        "from tinypkg.hello import greet\n\n\ndef test_greet():\n    assert greet('Bo') == 'Hello, Bo!'\n",
})
EXPORTS = whole({
    "tinypkg/__init__.py": "from .hello import greet\n",
    "tests/test_exports.py": "from tinypkg import greet\n\n\ndef test_export():\n    assert greet('Bo')\n",
})
# The second turn's reply forgets the export: its own test then fails, and so does the acceptance file.
NO_EXPORT = whole({
    "tests/test_exports.py": "from tinypkg import greet\n\n\ndef test_export():\n    assert greet('Bo')\n",
})


def task_file(tmp_path: Path) -> Path:
    path = tmp_path / "tasks.jsonl"
    path.write_text(json.dumps(TASK) + "\n")
    return path


def bench(tmp_path: Path, replies: list[str], *args: str) -> Result:
    script = tmp_path / "replies.json"  # one name: the model's name is part of a run's configuration
    script.write_text(json.dumps(replies))
    return CliRunner().invoke(main, ["bench", "packages", *args, "--model", f"scripted:{script}",
                                     "--edit-format", "whole"])


def test_a_package_that_passes_every_acceptance_test_passes(tmp_path: Path) -> None:
    out, keep = tmp_path / "run.jsonl", tmp_path / "keep"
    result = bench(tmp_path, [TURN_1, EXPORTS], str(task_file(tmp_path)), "--max-repairs", "0",
                   "--out", str(out), "--keep", str(keep))

    assert result.exit_code == 0, result.output
    [record] = read_records(out)
    assert record["status"] == "passed"
    assert (record["acceptance_passed"], record["acceptance_total"], record["acceptance_failures"]) == (2, 2, [])
    assert record["turns"] == 2 and record["turns_green"] == 2 and record["repairs"] == 0
    assert record["prompt_tokens"] > 0 and record["completion_tokens"] > 0
    assert (record["bench"], record["mode"], record["team"], record["candidates"]) == ("packages", "turns", "coder", 0)
    [workspace] = keep.glob("run-*/tiny/tinypkg")  # the workspace is named after the package
    assert (workspace / "tinypkg" / "hello.py").read_text() == GREET
    assert not any(workspace.rglob("test_acceptance.py"))  # scored from outside the workspace
    assert "tasks passing     100.0% (1/1)" in result.output
    assert "acceptance tests  100.0% (2/2)" in result.output
    assert "turns green       100.0% (2/2)" in result.output
    assert "per task          seconds " in result.output and "prompt tokens" in result.output
    assert "team coder, candidates 0" in result.output


def test_a_package_that_does_not_export_the_name_fails_with_its_acceptance_count(tmp_path: Path) -> None:
    out = tmp_path / "run.jsonl"
    result = bench(tmp_path, [TURN_1, NO_EXPORT], str(task_file(tmp_path)), "--max-repairs", "0", "--out", str(out))

    assert result.exit_code == 0, result.output
    [record] = read_records(out)
    assert record["status"] == "failed"
    assert (record["acceptance_passed"], record["acceptance_total"]) == (0, 2)  # not collected: both count
    assert "cannot import name 'greet' from 'tinypkg'" in record["reason"]
    assert record["turns_green"] == 1  # the second turn committed with its own test failing
    assert "tasks passing       0.0% (0/1)" in result.output
    assert "acceptance tests    0.0% (0/2)" in result.output


def test_the_session_never_sees_the_acceptance_tests(tmp_path: Path) -> None:
    model = ScriptedModel([TURN_1, NO_EXPORT, EXPORTS])  # one repair round: the export comes in it

    record = packages.run_task(TASK, model, tmp_path / "tinypkg", max_repairs=1, edit_format="whole")

    assert record["status"] == "passed" and record["repairs"] == 1
    assert len(model.asked) == 3
    texts = [message["content"] for request in model.asked for message in request]
    assert any("Export greet from the package itself" in text for text in texts)
    assert not any("zq" in text.lower() or "test_greets_by_name" in text for text in texts)
    # the repair round named where greet is and how to export it (the session's own failing test)
    assert "add `from .hello import greet` to tinypkg/__init__.py" in model.asked[2][-1]["content"]


def test_acceptance_counts_each_test_and_names_the_failures(tmp_path: Path) -> None:
    (tmp_path / "tinypkg").mkdir()
    (tmp_path / "tinypkg" / "__init__.py").write_text("def greet(name):\n    return 'Hello, Ann!'\n")

    report = packages.run_acceptance(tmp_path, ACCEPTANCE)
    record = packages.acceptance_record(report, packages.declared_tests(ACCEPTANCE))

    assert (record["status"], record["acceptance_passed"], record["acceptance_total"]) == ("failed", 1, 2)
    assert record["acceptance_failures"][0].startswith("test_acceptance.py::test_zq_hidden_marker: ")


def test_a_timed_out_run_fails_with_the_declared_count() -> None:
    report = TestReport(timed_out=True, seconds=60.0)
    assert packages.acceptance_record(report, 3) == {
        "status": "failed", "reason": "timed out after 60 s", "acceptance_passed": 0, "acceptance_total": 3,
        "acceptance_failures": ["timed out after 60 s"],
    }
    parametrized = TestReport(passed=4, failures=(), exit_code=0)
    assert packages.acceptance_record(parametrized, 2)["status"] == "passed"  # collected more than declared
    failing = TestReport(passed=1, failed=1, exit_code=1, failures=(TestFailure("t.py::test_b", "assert 1 == 2", ""),))
    assert packages.acceptance_record(failing, 2)["reason"] == "t.py::test_b: assert 1 == 2"


def test_declared_tests_counts_functions_and_test_class_methods() -> None:
    source = "def test_a():\n    pass\n\nclass TestB:\n    def test_c(self):\n        pass\n\ndef helper():\n    pass\n"
    assert packages.declared_tests(source) == 2
    assert packages.declared_tests("def test_a(:\n") == 0


def test_compare_shows_acceptance_and_team_side_by_side(tmp_path: Path) -> None:
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    tasks = str(task_file(tmp_path))
    # candidates are sampled only when a reply fails: the passing run asks for them and needs none
    assert bench(tmp_path, [TURN_1, EXPORTS], tasks, "--max-repairs", "0", "--candidates", "2",
                 "--out", str(a)).exit_code == 0
    assert bench(tmp_path, [TURN_1, NO_EXPORT], tasks, "--max-repairs", "0", "--out", str(b)).exit_code == 0

    result = CliRunner().invoke(main, ["bench", "packages", "--compare", str(a), str(b)])

    assert result.exit_code == 0, result.output
    rows = [line.split() for line in result.output.splitlines()]
    assert rows[0] == ["a.jsonl", "b.jsonl"]
    assert ["team", "coder", "coder"] in rows and ["candidates", "2", "0"] in rows
    assert ["acceptance", "tests", "100.0%", "(2/2)", "0.0%", "(0/2)"] in rows
    assert ["turns", "green", "100.0%", "(2/2)", "50.0%", "(1/2)"] in rows
    assert "  tiny case 0: passed -> failed" in result.output.splitlines()


def test_a_results_file_holds_one_team_and_number_of_candidates(tmp_path: Path) -> None:
    out = tmp_path / "run.jsonl"
    tasks = str(task_file(tmp_path))
    assert bench(tmp_path, [TURN_1, EXPORTS], tasks, "--max-repairs", "0", "--out", str(out)).exit_code == 0

    result = bench(tmp_path, [], tasks, "--max-repairs", "0", "--team", "coder+tester", "--out", str(out))

    assert result.exit_code == 1
    assert "holds a run with team='coder'" in result.output
    rerun = bench(tmp_path, [], tasks, "--max-repairs", "0", "--out", str(out))  # same settings: nothing to do
    assert rerun.exit_code == 0 and "1 case(s) already done, 0 to run" in rerun.output


def test_options_are_checked() -> None:
    runner = CliRunner()
    assert "Invalid value for '--team'" in runner.invoke(main, ["bench", "packages", "--team", "crowd"]).output
    assert "Invalid value for '--candidates'" in runner.invoke(main, ["bench", "packages", "--candidates", "-1"]).output
    assert "give the tasks file" in runner.invoke(main, ["bench", "packages"]).output
