"""What the model is shown: order, layout hint, history as a list, the program hint."""

from __future__ import annotations

from chatpkg.core.prompts.context import EXAMPLE_CODE, HistoryItem, build_context, command_hint, layout_hint
from chatpkg.core.runner import TestFailure, TestReport
from chatpkg.core.workspace.modules import main_module

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


def test_a_program_session_is_told_where_steps_go_without_a_foreign_example() -> None:
    files = {"main.py": "numbers = [3, 1, 2]\n"}
    context = build_context("Sort the list.", files, [], last_tests=None, edit_format="merge", budget=8000,
                            program="main.py")

    system, request = (m["content"] for m in context.messages)
    assert "geometry/shapes.py" not in system and "<path of the file>" in system
    assert "main.py is the program, run as `python main.py`" in request
    assert f"main.py\n```python\n{EXAMPLE_CODE}\n```" in request and "[n * n" not in request
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


def test_a_red_suite_from_the_last_turn_is_said_plainly_before_the_request() -> None:
    failure = TestFailure("tests/test_calc.py::test_mul", "assert 6 == 5", "")
    red = TestReport(passed=1, failed=1, exit_code=1, failures=(failure,))
    context = build_context("Add div.", FILES, [], last_tests=red.for_model(), edit_format="merge", budget=8000)

    text = context.messages[1]["content"]
    note = "The tests failed after the last turn (see the report above): make them pass in this reply too."
    assert text.index("# Last test report") < text.index(note) < text.index("# Request\n\nAdd div.")
    for green in (TestReport(passed=2), TestReport(exit_code=5), None):
        report = green.for_model() if green else None
        quiet = build_context("Add div.", FILES, [], last_tests=report, edit_format="merge", budget=8000)
        assert "tests failed" not in quiet.messages[1]["content"]
    for other in (TestReport(errors=1, exit_code=2), TestReport(timed_out=True, seconds=30.0)):
        assert note in build_context("Add div.", FILES, [], last_tests=other.for_model(), edit_format="merge",
                                     budget=8000).messages[1]["content"]


def test_a_file_that_holds_fenced_code_is_shown_whole() -> None:
    from chatpkg.core.prompts.context import render_files
    from chatpkg.core.workspace.edits import parse_edits

    readme = "# calc\n\n```python\nfrom pkg.calc import add\nadd(1, 2)\n```\n\nThe end.\n"
    files = {"README.md": readme, "pkg/calc.py": FILES["pkg/calc.py"]}
    listing = render_files(files)

    assert "README.md\n````\n# calc" in listing and "pkg/calc.py\n```\ndef add" in listing
    # read back the way a reply is read, each file comes out whole: the README's own fence did not end it
    assert {e.path: e.content for e in parse_edits(listing)} == files


def test_a_command_line_of_python_m_is_sent_to_the_package_s_main_module() -> None:
    # units on the package benchmark: the command line went into units/length.py; `python -m units` exited 1.
    request = 'Add a command line: `python -m pkg "3.5 km" m` prints the result.'
    context = build_context(request, FILES, [], last_tests=None, edit_format="merge", budget=8000)

    assert "`python -m pkg` runs pkg/__main__.py: the command line goes in that file." in context.messages[1]["content"]
    assert main_module(request, FILES) == "pkg/__main__.py"
    assert main_module("Run it as python -m calc.", {"calc.py": ""}) == "calc.py"
    assert main_module("Run `python -m pytest -q`.", FILES) is None  # not the workspace's
    assert command_hint("Run it as python -m calc.", {"calc.py": ""}) is None  # a module is its own file
