"""What the model is shown: order, layout hint, history as a list, repair hints."""

from __future__ import annotations

from chatpkg.core.context import HistoryItem, build_context, layout_hint, repair_hints, repair_message

FILES = {"pkg/__init__.py": "", "pkg/calc.py": "def add(a, b):\n    return a + b\n", "tests/test_calc.py": "x = 1\n"}


def test_stable_parts_come_first_and_history_is_a_list_in_the_request() -> None:
    history = [HistoryItem(1, "Add add(a, b).", ("pkg/calc.py",), "2 passed")]
    context = build_context("Add mul.", FILES, history, last_tests="Test run: 2 passed", edit_format="merge", budget=8000)

    system, request = context.messages
    assert system["role"] == "system" and "merges them into the file by name" in system["content"]
    text = request["content"]
    order = [text.index(part) for part in (
        "- turn 1: Add add(a, b). (edited pkg/calc.py; tests: 2 passed)", "# Repository files",
        "def add(a, b)", "The package is `pkg`", "# Last test report", "# Request\n\nAdd mul.",
    )]
    assert order == sorted(order)


def test_the_layout_hint_names_the_one_package() -> None:
    assert layout_hint(FILES) == (
        "The package is `pkg`: put code in pkg/<module>.py files and import it in tests "
        "as `from pkg.<module> import ...`."
    )
    assert layout_hint({"main.py": ""}) is None


def test_missing_local_modules_and_names_get_a_plain_next_step() -> None:
    problem = (
        "E   ModuleNotFoundError: No module named 'pkg.add'\n"
        "E   ImportError: cannot import name 'mul' from 'pkg.calc' (/w/pkg/calc.py)\n"
        "E   ModuleNotFoundError: No module named 'numpy'\n"
    )
    assert repair_hints(problem, FILES) == [
        "The module pkg.add does not exist: create pkg/add.py with that code in this reply.",
        "pkg.calc has no mul: define mul in pkg/calc.py in this reply.",
    ]
    message = repair_message(problem, {"pkg/calc.py": FILES["pkg/calc.py"]}, FILES)
    assert message.index("create pkg/add.py") > message.index("def add(a, b)")  # hints last


def test_a_program_session_is_told_where_steps_go_without_a_foreign_example() -> None:
    files = {"main.py": "numbers = [3, 1, 2]\n"}
    context = build_context("Sort the list.", files, [], last_tests=None, edit_format="merge", budget=8000,
                            program="main.py")

    system, request = (m["content"] for m in context.messages)
    assert "geometry/shapes.py" not in system and "<path of the file>" in system
    assert "main.py is the program, run as `python main.py`" in request
    assert "main.py\n```python\nsquares = [n * n for n in range(1, 6)]\n```" in request
    assert "must print" not in request


def test_a_print_step_is_told_that_the_program_itself_prints() -> None:
    context = build_context("Print the sorted list.", {"main.py": "x = 1\n"}, [], last_tests=None,
                            edit_format="merge", budget=8000, program="main.py")
    assert context.messages[1]["content"].endswith("(main.py itself must print this when it runs: "
                                                    "add the print call to main.py.)")


def test_a_package_session_keeps_the_merge_example() -> None:
    context = build_context("Add mul.", {"pkg/__init__.py": ""}, [], last_tests=None, edit_format="merge",
                            budget=8000)
    system, request = (m["content"] for m in context.messages)
    assert "geometry/shapes.py" in system and "is the program" not in request


def test_a_float_compared_with_equality_gets_the_approx_hint() -> None:
    problem = (
        "FAILED tests/test_solution.py::test_truncate: assert 0.09999999999999964 == 0.1\n"
        "E   assert 0.5 == 0.25\n"
    )
    assert repair_hints(problem, FILES) == [
        "0.09999999999999964 and 0.1 differ only by float rounding: the code may be right. "
        "Compare floats in tests with pytest.approx (`import pytest`, then `assert value == pytest.approx(0.1)`)."
    ]  # 0.5 against 0.25 is a real difference: no hint


def test_a_module_used_but_never_imported_gets_its_import_named() -> None:
    test = "from solution import f\n\ndef test_f():\n    assert pytest.approx(f(1.1)) == 0.1\n"
    problem = "E       NameError: name 'pytest' is not defined\n"
    assert repair_hints(problem, {"tests/test_solution.py": test}) == [
        "pytest is a module that was never imported: add `import pytest` at the top of the file that uses it."
    ]
    # a variable named like a standard module is not one: no hint
    program = "numbers.append(4)\nnumbers = [1, 2]\n"
    assert repair_hints("NameError: name 'numbers' is not defined", {"main.py": program}) == []
    assert repair_hints("NameError: name 'pytest' is not defined", {"t.py": "x = pytest\n"}) == []
