"""The MTPB scorer follows the reference harness's rules, awkward cases included."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatpkg.bench.mtpb import missing_data, turn_texts
from chatpkg.bench.mtpb_score import matches, score


def program(tmp_path: Path, source: str) -> Path:
    (tmp_path / "main.py").write_text(source)
    return tmp_path


@pytest.mark.parametrize(
    ("value", "gold", "expected"),
    [
        (True, True, True),
        ("True", True, True),
        (1, True, True),
        (0, True, False),
        (0.30000000000000004, 0.3, True),
        (0.3001, 0.3, False),
        ("3.0", 3, True),
        ([1.0, 2.0], [1, 2], True),
        ([1, 2], [1, 2, 3], False),
        ((1, 2), [1, 2], True),
        ("abc", ["a", "b", "c"], True),
        (5, "5", True),
        ({"a": 1}, {"a": 1.0}, True),
        ({"a": 1}, {"b": 1}, False),
    ],
)
def test_values_are_cast_to_the_gold_type(value: object, gold: object, expected: bool) -> None:
    assert matches(value, gold) is expected


def test_the_first_argument_of_the_last_print_counts(tmp_path: Path) -> None:
    root = program(tmp_path, "print('ignored')\nprint([1, 2, 3], 'extra', sep=',')\n")
    assert score(root, [1, 2, 3]) == (True, [1, 2, 3])


def test_a_last_bare_expression_counts_as_printed(tmp_path: Path) -> None:
    root = program(tmp_path, "total = 2 + 3\nprint('x')\ntotal * 2\n")
    assert score(root, 10) == (True, 10)


def test_numpy_values_are_compared_as_lists(tmp_path: Path) -> None:
    root = program(tmp_path, "import numpy as np\nprint(np.array([0.5, 1.5]) * 2)\n")
    assert score(root, [1.0, 3.0]) == (True, [1.0, 3.0])


def test_a_program_that_crashes_after_printing_is_scored_on_what_it_printed(tmp_path: Path) -> None:
    root = program(tmp_path, "print(42)\nraise SystemError('late')\n")
    assert score(root, 42) == (True, 42)


def test_a_program_that_prints_nothing_fails(tmp_path: Path) -> None:
    root = program(tmp_path, "x = 1\n")
    assert score(root, 1) == (False, None)


def test_bool_gold_against_printed_false(tmp_path: Path) -> None:
    root = program(tmp_path, "print(3 > 4)\n")
    assert score(root, False) == (True, False)


def test_turns_are_filled_like_the_reference_harness() -> None:
    problem = {"prompts": ["Let a be {a}.", "Print {{a}} times {b}."], "inputs": [{"a": 2, "b": "x"}]}
    multi = turn_texts(problem, 0, "multi")
    assert multi[0].endswith("Let a be 2.") and multi[1] == "Print {a} times x."
    (single,) = turn_texts(problem, 0, "single")
    assert "1. Let a be 2.\n2. Print {a} times x." in single


def test_problems_needing_unshipped_files_are_named() -> None:
    assert "data file" in str(missing_data({"prompts": ["Load 'data.csv' into a dataframe."]}))
    assert missing_data({"prompts": ["Add two numbers."]}) is None
