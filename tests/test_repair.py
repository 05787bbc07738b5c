"""Repair messages: the failure, the edited files, and plain next steps for a small model."""

from __future__ import annotations

from chatpkg.core.prompts.repair import collection_errors, repair_hints, repair_message

FILES = {"pkg/__init__.py": "", "pkg/calc.py": "def add(a, b):\n    return a + b\n", "tests/test_calc.py": "x = 1\n"}


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


def test_a_crash_names_the_line_that_raised_and_input_gets_its_own_hint() -> None:
    """MTPB 14: every repair resent `x = [int(input()) ...]`, written by an earlier step, unchanged."""
    program = "import numpy as np\n\nx = [int(input()) for _ in range(11)]\ny = np.array(x)\n"
    problem = (
        "FAILED main.py: EOFError: EOF when reading a line\n"
        "Traceback (most recent call last):\n"
        '  File "/usr/lib/python3.11/runpy.py", line 198, in _run_module_as_main\n'
        '  File "/tmp/w/main.py", line 3, in <module>\n'
        "    x = [int(input()) for _ in range(11)]\n"
        "EOFError: EOF when reading a line\n"
    )
    assert repair_hints(problem, {"main.py": program}) == [
        "The error is raised by line 3 of main.py: `x = [int(input()) for _ in range(11)]`. Change that line "
        "in this reply, even if an earlier step wrote it: sending it again unchanged cannot fix the error.",
        "The program runs with no one typing, so input() gets nothing: use the values the requests give "
        "instead of input().",
    ]
    outside = '  File "/usr/lib/python3.11/json/decoder.py", line 9, in decode\nValueError: bad\n'
    assert repair_hints(outside, {"main.py": program}) == []  # no frame in a workspace file: no hint


def test_a_bare_standard_name_never_imported_gets_its_home_module() -> None:
    """HumanEval/8: a repair dropped `from functools import reduce` and kept using reduce."""
    solution = "def sum_product(numbers):\n    return sum(numbers), reduce(lambda a, b: a * b, numbers, 1)\n"
    problem = "E       NameError: name 'reduce' is not defined\n"
    assert repair_hints(problem, {"solution.py": solution}) == [
        "reduce is not defined: if you mean functools.reduce, add `from functools import reduce` at the top "
        "of the file that uses it; otherwise define reduce."
    ]
    assert "from typing import List" in repair_hints("NameError: name 'List' is not defined", {})[0]
    assert "from math import sqrt" in repair_hints("NameError: name 'sqrt' is not defined", {})[0]
    # a name the code defines, or one no standard module has, gets no such hint
    assert repair_hints(problem, {"solution.py": solution + "def reduce(f, xs, start):\n    pass\n"}) == []
    assert repair_hints("NameError: name 'helper_fn' is not defined", {"main.py": "helper_fn()\n"}) == []


# What pytest reports when a test imports a name the package does not export (seen above, run for real).
NOT_EXPORTED = (
    "Test run: 1 error\n\n"
    "FAILED tests/test_slug.py: ImportError: cannot import name 'slugify' from 'textkit' (/w/textkit/__init__.py)\n"
    "ImportError while importing test module '/w/tests/test_slug.py'.\n"
    "Traceback:\n"
    "tests/test_slug.py:1: in <module>\n"
    "    from textkit import slugify\n"
    "E   ImportError: cannot import name 'slugify' from 'textkit' (/w/textkit/__init__.py)\n"
)
TEXTKIT = {
    "textkit/__init__.py": '"""textkit."""\n',
    "textkit/slug.py": "import re\n\n\ndef slugify(title):\n    return title.lower()\n",
    "tests/test_slug.py": "from textkit import slugify\n",
}


def test_a_name_the_package_does_not_export_gets_its_module_and_both_fixes() -> None:
    assert repair_hints(NOT_EXPORTED, TEXTKIT) == [
        "`from textkit import slugify` fails: slugify is defined in textkit/slug.py, and textkit/__init__.py "
        "does not import it. Either import it from its module in the test (`from textkit.slug import slugify`), "
        "or export it from the package: add `from .slug import slugify` to textkit/__init__.py."
    ]


def test_a_request_that_the_package_export_names_gets_the_export_fix() -> None:
    request = "Export slugify from the package itself, so that `from textkit import slugify` works."
    assert repair_hints(NOT_EXPORTED, TEXTKIT, request) == [
        "`from textkit import slugify` fails: slugify is defined in textkit/slug.py, and textkit/__init__.py "
        "does not import it. The request asks for textkit itself to export it: add `from .slug import slugify` "
        "to textkit/__init__.py."
    ]
    message = repair_message(NOT_EXPORTED, {}, TEXTKIT, request)
    assert message.index("The request asks for textkit itself") > message.index("Test run: 1 error")


def test_a_name_that_lives_in_another_module_is_named_there() -> None:
    problem = "E   ImportError: cannot import name 'add' from 'pkg.ops' (/w/pkg/ops.py)\n"
    files = {**FILES, "pkg/ops.py": "def mul(a, b):\n    return a * b\n"}
    assert repair_hints(problem, files) == [
        "add is defined in pkg/calc.py, not in pkg/ops.py: import it from there (`from pkg.calc import add`)."
    ]
    nowhere = "E   ImportError: cannot import name 'div' from 'pkg' (/w/pkg/__init__.py)\n"
    assert repair_hints(nowhere, files) == ["pkg has no div: define div in pkg/__init__.py in this reply."]


def test_a_file_beside_the_package_folder_of_the_same_name_is_shadowed() -> None:
    files = {"textkit/__init__.py": "", "textkit.py": "def slugify(title):\n    return title\n",
             "tests/test_slug.py": "from textkit import slugify\n"}
    assert repair_hints(NOT_EXPORTED, files) == [
        "textkit.py is never imported: the package folder textkit/ shadows it, so `import textkit` loads "
        "textkit/__init__.py. Move the code of textkit.py into a module inside textkit/, and export slugify "
        "from textkit/__init__.py (`from .<module> import slugify`)."
    ]
    both = {**TEXTKIT, "textkit.py": "def slugify(title):\n    return title\n"}
    hints = repair_hints(NOT_EXPORTED, both)
    assert hints[0].startswith("textkit.py is never imported") and hints[1].startswith("`from textkit import")


def test_a_collection_error_gets_its_hint_before_the_others() -> None:
    inside_a_test = (
        "FAILED tests/test_calc.py::test_mul: ImportError: cannot import name 'mul' from 'pkg.calc' (/w/pkg/calc.py)\n"
        "tests/test_calc.py:5: in test_mul\n"
        "    from pkg.calc import mul\n"
        "E   ImportError: cannot import name 'mul' from 'pkg.calc' (/w/pkg/calc.py)\n\n"
    )
    not_collected = (
        "FAILED tests/test_other.py: NameError: name 'reduce' is not defined\n"
        "tests/test_other.py:1: in <module>\n"
        "    total = reduce(lambda a, b: a + b, [1, 2])\n"
        "E   NameError: name 'reduce' is not defined\n"
    )
    problem = "Test run: 2 errors\n\n" + inside_a_test + not_collected
    hints = repair_hints(problem, FILES)
    assert [hint.split(":")[0] for hint in hints] == ["reduce is not defined", "pkg.calc has no mul"]
    assert collection_errors(problem) == [not_collected]
    # a program's crash (a Python traceback) is not a collection error
    crash = 'FAILED main.py: NameError\nTraceback (most recent call last):\n  File "main.py", line 3, in <module>\n'
    assert collection_errors(crash) == []


def test_a_dataclass_with_a_mutable_default_gets_default_factory_named() -> None:
    problem = ("FAILED tests/test_store.py: ValueError: mutable default <class 'dict'> for field items is not "
               "allowed: use default_factory (raised at inventory/store.py:3)\n")
    assert repair_hints(problem, FILES) == [
        "A dataclass field cannot default to a shared dict: write `items: dict = field(default_factory=dict)`, "
        "with `from dataclasses import dataclass, field`."
    ]


def test_a_fixture_imported_from_pytest_is_told_to_be_a_tests_argument() -> None:
    # Package benchmark, inventory: "Test it with tmp_path" put this import at the top of the module.
    problem = ("E   ImportError: cannot import name 'tmp_path' from 'pytest' "
               "(/venv/lib/python3.11/site-packages/pytest/__init__.py)")
    files = {"inventory/__init__.py": "", "inventory/store.py": "from pytest import tmp_path\nimport csv\n"}

    assert repair_hints(problem, files) == [
        "tmp_path is a pytest fixture: nothing can import it. A test gets it as an argument "
        "(`def test_load(tmp_path):`); remove `from pytest import tmp_path` from inventory/store.py, "
        "and never use it outside a test function."]


def test_a_module_attribute_the_package_does_not_export_gets_the_same_fixes() -> None:
    # units on the package benchmark: the chosen tests did `import units` and called units.convert,
    # defined in units/length.py; eight tests failed alike
    problem = "E       AttributeError: module 'units' has no attribute 'convert'\n"
    files = {"units/__init__.py": "", "units/length.py": "def convert(value, a, b):\n    return value\n",
             "tests/test_units.py": "import units\n"}
    assert repair_hints(problem, files) == [
        "`units.convert` fails: convert is defined in units/length.py, and units/__init__.py does not import "
        "it. Either import it from its module in the test (`from units.length import convert`), or export it "
        "from the package: add `from .length import convert` to units/__init__.py."
    ]
    submodule = "E       AttributeError: module 'units' has no attribute 'length'\n"
    assert repair_hints(submodule, files) == [
        "units.length is a module that `import units` does not load: write `import units.length` "
        "(or `from units.length import ...`)."
    ]
    assert repair_hints("E   AttributeError: module 'math' has no attribute 'tau2'\n", files) == []
