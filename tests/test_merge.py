"""Behaviour of the "merge" edit format and of the guard on whole-file edits."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatpkg.core.prompts.context import FORMATS, system_prompt
from chatpkg.core.workspace.edits import (
    DroppedDefinitions,
    EditError,
    FileEdit,
    InvalidMergeBlock,
    MalformedReply,
    NoEdits,
    apply_edits,
    parse_edits,
    plan_edits,
    top_level_names,
)
from chatpkg.core.workspace.merge import merge_python
from chatpkg.core.workspace.modules import dropped_self_imports

F = "```"

OLD = '''\
"""Arithmetic."""
import os


def add(a, b):
    return a + b


def sub(a, b):
    return a - b


def mul(a, b):
    return a * b
'''


def merged(new: str, old: str = OLD) -> str:
    return merge_python(old, new)


# ---------------------------------------------------------------- merge_python


def test_changed_function_is_replaced_in_place_and_the_others_kept_in_order() -> None:
    assert merged("def sub(a, b):\n    return b - a\n") == OLD.replace("return a - b", "return b - a")


def test_new_function_is_appended() -> None:
    assert merged("def div(a, b):\n    return a / b\n") == OLD + "\n\ndef div(a, b):\n    return a / b\n"


def test_new_import_goes_after_the_last_import_and_known_imports_are_skipped() -> None:
    new = "import os\nimport math\n\n\ndef root(x):\n    return math.sqrt(x)\n"
    assert merged(new) == (
        OLD.replace("import os\n", "import os\nimport math\n") + "\n\ndef root(x):\n    return math.sqrt(x)\n"
    )


def test_first_import_goes_after_the_module_docstring() -> None:
    old = '"""Doc."""\n\nX = 1\n'
    assert merge_python(old, "import sys\n\nY = sys.argv\n") == '"""Doc."""\n\nimport sys\n\nX = 1\n\nY = sys.argv\n'
    assert merge_python("X = 1\n", "from os import path\n") == "from os import path\n\nX = 1\n"


def test_from_import_of_a_new_name_is_added() -> None:
    old = "from os import path\n\nX = 1\n"
    assert merge_python(old, "from os import path, sep\n") == "from os import path\nfrom os import path, sep\n\nX = 1\n"


def test_assignment_is_replaced_in_place() -> None:
    old = "DEBUG = False\nLIMIT: int = 3\n\n\ndef f():\n    return LIMIT\n"
    new = "LIMIT: int = 10\nDEBUG = True\n"
    assert merge_python(old, new) == "DEBUG = True\nLIMIT: int = 10\n\n\ndef f():\n    return LIMIT\n"


MAIN = 'def a():\n    return 1\n\n\nif __name__ == "__main__":\n    print(a())\n'


def test_main_guard_stays_last() -> None:
    new = "def b():\n    return 2\n\n\nprint(b())\n"
    assert merge_python(MAIN, new) == (
        'def a():\n    return 1\n\n\ndef b():\n    return 2\n\n\nprint(b())\n\n\nif __name__ == "__main__":\n'
        "    print(a())\n"
    )


def test_new_main_guard_replaces_the_old_one() -> None:
    new = 'def b():\n    return 2\n\n\nif __name__ == "__main__":\n    print(a(), b())\n'
    assert merge_python(MAIN, new) == (
        'def a():\n    return 1\n\n\ndef b():\n    return 2\n\n\nif __name__ == "__main__":\n    print(a(), b())\n'
    )


def test_statements_already_present_are_not_repeated() -> None:
    old = 'import os\n\nprint("hi")\n\n\ndef a():\n    return 1\n'
    new = 'import os\n\nprint("hi")\n\n\ndef a():\n    return 1\n\n\nprint("bye")\n'
    assert merge_python(old, new) == old + '\n\nprint("bye")\n'


def test_the_whole_file_sent_again_merges_to_itself() -> None:
    assert merged(OLD) == OLD
    assert merged(OLD.replace("a * b", "b * a")) == OLD.replace("a * b", "b * a")


def test_decorators_are_replaced_with_the_function() -> None:
    old = "import functools\n\n\n@functools.cache\n@staticmethod\ndef f(x):\n    return x\n\n\nY = 2\n"
    new = "@functools.lru_cache(maxsize=2)\ndef f(x):\n    return x + 1\n"
    assert merge_python(old, new) == (
        "import functools\n\n\n@functools.lru_cache(maxsize=2)\ndef f(x):\n    return x + 1\n\n\nY = 2\n"
    )


def test_comments_above_a_definition_go_with_it() -> None:
    old = "# adds\ndef add(a, b):\n    return a + b\n"
    assert merge_python(old, "def add(a, b):\n    return b + a\n") == "# adds\ndef add(a, b):\n    return b + a\n"
    assert merge_python(old, "# sums\ndef add(a, b):\n    return 0\n") == "# sums\ndef add(a, b):\n    return 0\n"


CLASS = '''\
class Stack:
    """A stack."""

    def __init__(self):
        self.items = []

    def push(self, x):
        self.items.append(x)


def helper():
    return Stack()
'''


def test_a_complete_class_is_replaced_as_a_whole() -> None:
    new = (
        'class Stack(list):\n    """A list stack."""\n\n    def push(self, x):\n        self.append(x)\n\n'
        "    def __init__(self):\n        pass\n"
    )
    assert merge_python(CLASS, new) == new + "\n\ndef helper():\n    return Stack()\n"


def test_a_partial_class_is_merged_method_by_method() -> None:
    new = "class Stack:\n    def pop(self):\n        return self.items.pop()\n\n    def push(self, x):\n        pass\n"
    assert merge_python(CLASS, new) == (
        'class Stack:\n    """A stack."""\n\n    def __init__(self):\n        self.items = []\n\n'
        "    def push(self, x):\n        pass\n\n    def pop(self):\n        return self.items.pop()\n\n\n"
        "def helper():\n    return Stack()\n"
    )


def test_elision_markers_do_not_replace_code() -> None:
    new = "# ... existing code ...\n\ndef add(a, b):\n    ...\n\n\n...\n\n\ndef sub(a, b):\n    return 0\n"
    assert merged(new) == OLD.replace("return a - b", "return 0")


def test_a_replaced_assignment_gets_the_new_definitions_it_uses_before_it() -> None:
    old = "def add(a, b):\n    return a + b\n\n\nOPS = {'add': add}\n\n\nprint(OPS)\n"
    new = "def sub(a, b):\n    return a - b\n\n\nOPS = {'add': add, 'sub': sub}\n"
    assert merge_python(old, new) == (
        "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n\n\n"
        "OPS = {'add': add, 'sub': sub}\n\n\nprint(OPS)\n"
    )


def test_invalid_new_code_is_an_error_naming_the_line() -> None:
    with pytest.raises(InvalidMergeBlock, match=r"pkg/calc\.py is not valid Python \(line 2 of the block") as info:
        merge_python(OLD, "def f():\n    return (1\n\nX = 2\n", path="pkg/calc.py")
    assert isinstance(info.value, MalformedReply)
    with pytest.raises(InvalidMergeBlock, match="send its class"):
        merge_python(OLD, "    def method(self):\n        return 1\n", path="pkg/calc.py")


def test_an_old_file_that_does_not_parse_gets_the_new_code_appended() -> None:
    assert merge_python("def f(:\n", "X = 1\n") == "def f(:\n\n\nX = 1\n"


def test_merge_into_an_empty_file_is_the_new_code() -> None:
    assert merge_python("", "import os\n\nX = 1\n") == "import os\n\nX = 1\n"


# ---------------------------------------------------------------- parsing and applying


def test_parse_edits_in_merge_format_gives_merge_edits_and_keeps_search_replace() -> None:
    reply = (
        f"pkg/calc.py\n{F}python\ndef div(a, b):\n    return a / b\n{F}\n\n"
        f"pkg/other.py\n{F}python\n<<<<<<< SEARCH\nX = 1\n=======\nX = 2\n>>>>>>> REPLACE\n{F}\n"
    )
    assert parse_edits(reply, edit_format="merge") == [
        FileEdit("pkg/calc.py", "merge", content="def div(a, b):\n    return a / b\n"),
        FileEdit("pkg/other.py", "replace", search="X = 1\n", replace="X = 2\n"),
    ]
    assert [e.kind for e in parse_edits(reply)] == ["whole", "replace"]
    assert [e.kind for e in parse_edits(reply, edit_format="diff")] == ["whole", "replace"]


def test_merge_format_help_describes_merging() -> None:
    with pytest.raises(NoEdits, match="only the new or changed functions"):
        parse_edits("Nothing to do.", edit_format="merge")
    with pytest.raises(NoEdits, match="complete file"):
        parse_edits("Nothing to do.")


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def test_apply_edits_merges_python_and_writes_new_and_other_files_whole(tmp_path: Path) -> None:
    write(tmp_path, {"pkg/calc.py": OLD, "README.md": "# Old\n\nText.\n"})
    reply = (
        f"pkg/calc.py\n{F}python\ndef div(a, b):\n    return a / b\n{F}\n\n"
        f"tests/test_calc.py\n{F}python\nfrom pkg.calc import div\n{F}\n\n"
        f"README.md\n{F}markdown\n# New\n{F}\n"
    )
    written = apply_edits(tmp_path, parse_edits(reply, edit_format="merge"))
    expected = {
        "pkg/calc.py": OLD + "\n\ndef div(a, b):\n    return a / b\n",
        "tests/test_calc.py": "from pkg.calc import div\n",
        "README.md": "# New\n",
    }
    assert written == expected
    assert {rel: (tmp_path / rel).read_text() for rel in expected} == expected


def test_a_module_s_import_of_its_own_names_from_itself_is_not_written(tmp_path: Path) -> None:
    # units on the package benchmark: `from units import FACTORS` merged into units/length.py, which defines
    # FACTORS, was a circular import that kept every test red through two repairs.
    write(tmp_path, {"units/__init__.py": "", "units/length.py": "FACTORS = {'m': 1.0}\n"})
    reply = (
        f"units/length.py\n{F}python\nimport re\nfrom units import FACTORS\nfrom .length import FACTORS as F\n\n"
        f"def parse(text):\n    return float(text), 'm'\n{F}\n\n"
        f"units/cli.py\n{F}python\nfrom units.length import parse\nfrom units.cli import main\n\n\n"
        f"def main():\n    return parse('1')\n{F}\n"
    )
    written = apply_edits(tmp_path, parse_edits(reply, edit_format="merge"))

    assert written["units/length.py"] == (
        "import re\nfrom .length import FACTORS as F\n\nFACTORS = {'m': 1.0}\n\n\n"
        "def parse(text):\n    return float(text), 'm'\n")  # an import under another name binds something else
    assert written["units/cli.py"] == "from units.length import parse\n\n\ndef main():\n    return parse('1')\n"
    told = {e.path: dropped_self_imports(e.content, written[e.path], e.path) for e in parse_edits(reply, edit_format="merge")}
    assert told == {"units/length.py": ["from units import FACTORS"], "units/cli.py": ["from units.cli import main"]}


def test_invalid_merge_block_writes_nothing(tmp_path: Path) -> None:
    write(tmp_path, {"pkg/calc.py": OLD})
    edits = [FileEdit("pkg/new.py", "merge", content="X = 1\n"), FileEdit("pkg/calc.py", "merge", content="def (\n")]
    with pytest.raises(EditError, match=r"pkg/calc\.py is not valid Python \(line 1"):
        apply_edits(tmp_path, edits)
    assert (tmp_path / "pkg/calc.py").read_text() == OLD
    assert not (tmp_path / "pkg/new.py").exists()


def test_merge_then_search_replace_on_the_same_file(tmp_path: Path) -> None:
    write(tmp_path, {"pkg/calc.py": OLD})
    edits = [
        FileEdit("pkg/calc.py", "merge", content="def div(a, b):\n    return a / b\n"),
        FileEdit("pkg/calc.py", "replace", search="a / b", replace="a // b"),
    ]
    assert plan_edits(tmp_path, edits) == {"pkg/calc.py": OLD + "\n\ndef div(a, b):\n    return a // b\n"}


# ---------------------------------------------------------------- guard on whole-file edits


def test_top_level_names() -> None:
    assert top_level_names(OLD + "\nclass K:\n    def m(self):\n        pass\n") == {"add", "sub", "mul", "K"}
    assert top_level_names("def f():\n    pass\nclass G(:\n") == {"f", "G"}


def test_dropped_definitions_are_refused_and_nothing_is_written(tmp_path: Path) -> None:
    write(tmp_path, {"pkg/calc.py": OLD, "pkg/a.py": "A = 1\n"})
    edits = [
        FileEdit("pkg/a.py", "whole", content="A = 2\n"),
        FileEdit("pkg/calc.py", "whole", content="def add(a, b):\n    return a + b\n"),
    ]
    with pytest.raises(DroppedDefinitions) as info:
        apply_edits(tmp_path, edits, guard_deletions=True)
    assert info.value.path == "pkg/calc.py"
    assert info.value.names == ["mul", "sub"]
    message = str(info.value)
    assert "pkg/calc.py" in message and "`mul`, `sub`" in message
    assert "Send the complete file again, keeping every existing definition" in message
    assert "SEARCH/REPLACE" in message
    assert (tmp_path / "pkg/calc.py").read_text() == OLD
    assert (tmp_path / "pkg/a.py").read_text() == "A = 1\n"


def test_guard_allows_complete_files_imports_of_moved_names_and_non_python(tmp_path: Path) -> None:
    write(tmp_path, {"pkg/calc.py": OLD, "notes.txt": "def x\n"})
    edits = [
        FileEdit("pkg/calc.py", "whole", content="from pkg.ops import add, sub\n\n\ndef mul(a, b):\n    return 0\n"),
        FileEdit("pkg/ops.py", "whole", content="def add(a, b):\n    return a + b\n"),
        FileEdit("notes.txt", "whole", content="nothing\n"),
    ]
    assert set(apply_edits(tmp_path, edits, guard_deletions=True)) == {"pkg/calc.py", "pkg/ops.py", "notes.txt"}


def test_guard_off_applies_whole_edits_as_before(tmp_path: Path) -> None:
    write(tmp_path, {"pkg/calc.py": OLD})
    edit = FileEdit("pkg/calc.py", "whole", content="def add(a, b):\n    return a + b\n")
    assert apply_edits(tmp_path, [edit]) == {"pkg/calc.py": edit.content}
    assert (tmp_path / "pkg/calc.py").read_text() == edit.content


# ---------------------------------------------------------------- system prompt


def test_merge_format_prompt_explains_merging_by_name() -> None:
    prompt = system_prompt("merge")
    assert FORMATS["merge"] in prompt
    assert "only the new or changed functions" in prompt
    assert "a def or class with an existing name replaces it" in prompt
    assert "Never repeat unchanged code" in prompt
    assert system_prompt("whole") != prompt and system_prompt("diff") != prompt


def test_an_assignment_that_builds_on_the_old_value_follows_it() -> None:
    old = 'word = "ABC"\n'
    assert merged("word = word.lower()\n", old) == 'word = "ABC"\n\nword = word.lower()\n'


def test_a_plain_reassignment_still_replaces_in_place_and_a_repeated_step_is_kept_once() -> None:
    old = 'word = "ABC"\n\nword = word.lower()\n\nprint(word)\n'
    assert merged('word = "XYZ"\n', old) == old.replace("ABC", "XYZ")
    assert merged('word = "ABC"\nword = word.lower()\nprint(word)\n', old) == old


def test_a_block_that_restates_the_whole_file_replaces_it_so_a_broken_call_can_go() -> None:
    old = "import numpy as np\n\nx = [1, 2]\n\nmodel = Model()\n\nmodel.fit(x.reshape(-1, 1))\n"
    new = "x = [1, 2]\n\nmodel = Model()\n\nmodel.fit(np.array(x).reshape(-1, 1))\n"
    assert merged(new, old) == "import numpy as np\n\n" + new


def test_changing_every_definition_at_once_is_still_a_merge() -> None:
    old = "def f():\n    return 1\n\n\ndef g():\n    return 2\n\n\nprint(f(), g())\n"
    new = "def f():\n    return 10\n\n\ndef g():\n    return 20\n"
    assert merged(new, old) == old.replace("1\n", "10\n").replace("2\n", "20\n")


def test_a_restatement_with_a_stub_or_an_elision_comment_is_a_merge() -> None:
    old = "def f():\n    return 1\n\n\nx = f()\n\nprint(x)\n"
    assert merged("def f():\n    ...\n\n\nx = f()\n\nprint(x + 1)\n", old) == old + "\nprint(x + 1)\n"
    assert merged("# rest unchanged\nx = f()\n\nprint(x + 1)\n", old.replace("def f():\n    return 1\n\n\n", "")) \
        == "x = f()\n\nprint(x)\n\nprint(x + 1)\n"


def test_a_later_step_of_a_program_that_rebinds_a_name_is_appended_not_moved_up() -> None:
    # MTPB, problems the team had not seen: `lst = [mi, ma]` replaced the first `lst = ...` in place,
    # before mi and ma existed, and the program crashed.
    program = "lst = [3, 1, 2]\nmi = min(lst)\nma = max(lst)\n"
    merged = merge_python(program, "lst = [mi, ma]\nprint(lst)\n")
    lines = [line for line in merged.splitlines() if line.strip()]
    assert lines == ["lst = [3, 1, 2]", "mi = min(lst)", "ma = max(lst)", "lst = [mi, ma]", "print(lst)"]
    namespace: dict = {}
    exec(merged, namespace)
    assert namespace["lst"] == [1, 3]


def test_an_assignment_that_only_reads_earlier_names_still_replaces_in_place() -> None:
    old = "SIZE = 3\nlimit = SIZE * 2\n\n\ndef f():\n    return limit\n"
    assert merge_python(old, "limit = SIZE * 4\n") == "SIZE = 3\nlimit = SIZE * 4\n\n\ndef f():\n    return limit\n"


def test_a_main_guard_in_a_program_step_is_unwrapped() -> None:
    from chatpkg.core.workspace.merge import unwrap_main_guard

    step = 'total = sum(nums)\n\nif __name__ == "__main__":\n    print(total)\n    print("done")\n'
    assert unwrap_main_guard(step) == 'total = sum(nums)\n\nprint(total)\nprint("done")\n'
    assert unwrap_main_guard("x = 1\n") == "x = 1\n"
    guarded_else = 'if __name__ == "__main__":\n    run()\nelse:\n    pass\n'
    assert unwrap_main_guard(guarded_else) == guarded_else  # not a plain guard: left alone


def test_a_pathless_block_has_a_home_only_when_exactly_one_file_defines_its_names() -> None:
    from chatpkg.core.workspace.merge import home_file

    files = {"pkg/a.py": "def f():\n    pass\n\n\ndef g():\n    pass\n", "pkg/b.py": "def g():\n    pass\n",
             "README.md": "def f():\n"}
    assert home_file(files, "def f():\n    return 1\n") == "pkg/a.py"
    assert home_file(files, "import os\n\n\ndef f():\n    return os.sep\n\n\ndef g():\n    return 2\n") == "pkg/a.py"
    assert home_file(files, "def g():\n    return 2\n") is None  # two files define g
    assert home_file(files, "def h():\n    return 2\n") is None  # nobody does
    assert home_file(files, "print(1)\n") is None  # defines nothing
