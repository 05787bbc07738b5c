"""Behaviour of reply parsing and all-or-nothing application of edits."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from chatpkg.core.workspace import edits as edits_mod
from chatpkg.core.workspace.edits import (
    EditError,
    FileEdit,
    MalformedReply,
    NoEdits,
    SearchNotFound,
    UnsafePath,
    apply_edits,
    parse_edits,
    plan_edits,
    safe_path,
)

BODY = "def f():\n    return 1\n"
F = "```"


def whole(path: str, content: str = BODY) -> FileEdit:
    return FileEdit(path, "whole", content=content)


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


# ---------------------------------------------------------------- whole-file paths


@pytest.mark.parametrize(
    "above",
    [
        "pkg/x.py",
        "pkg/x.py:",
        "**pkg/x.py**",
        "`pkg/x.py`",
        "### pkg/x.py",
        "File: pkg/x.py",
        "# File: pkg/x.py",
        "Filename: pkg/x.py",
        "**File: `pkg/x.py`**",
        "Here is the updated `pkg/x.py`:",
    ],
)
def test_path_on_line_above_fence(above: str) -> None:
    reply = f"Sure.\n\n{above}\n{F}python\n{BODY}{F}\n\nDone."
    assert parse_edits(reply) == [whole("pkg/x.py")]


def test_blank_line_between_path_and_fence() -> None:
    assert parse_edits(f"pkg/x.py\n\n{F}python\n{BODY}{F}\n") == [whole("pkg/x.py")]


@pytest.mark.parametrize(
    "info",
    ["python pkg/x.py", "pkg/x.py", 'python title="pkg/x.py"', "python:pkg/x.py"],
)
def test_path_on_fence_line(info: str) -> None:
    assert parse_edits(f"Here you go:\n{F}{info}\n{BODY}{F}\n") == [whole("pkg/x.py")]


@pytest.mark.parametrize("comment", ["# pkg/x.py", "# file: pkg/x.py", "# filename: pkg/x.py"])
def test_path_as_first_line_comment_is_removed(comment: str) -> None:
    assert parse_edits(f"Code:\n{F}python\n{comment}\n{BODY}{F}\n") == [whole("pkg/x.py")]


def test_first_line_comment_naming_other_file_is_content() -> None:
    reply = f"pkg/x.py\n{F}python\n# see pkg/y.py\n{BODY}{F}\n"
    assert parse_edits(reply)[0].content == "# see pkg/y.py\n" + BODY


def test_tilde_fence_longer_fence_and_no_language() -> None:
    reply = "a.txt\n~~~~\nhello\n```\nstill inside\n~~~~\n\nb.cfg\n````\n[x]\n```\n````\n"
    assert parse_edits(reply) == [
        whole("a.txt", "hello\n```\nstill inside\n"),
        whole("b.cfg", "[x]\n```\n"),
    ]


def test_multiple_files_with_prose_and_trailing_newline_normalised() -> None:
    reply = (
        "I will create two files.\n\npkg/a.py\n```python\nA = 1\n\n\n```\n"
        "Then the test:\n\n./tests/test_a.py\n```\nfrom pkg.a import A\n```\nThat's all!"
    )
    assert parse_edits(reply) == [
        whole("pkg/a.py", "A = 1\n"),
        whole("tests/test_a.py", "from pkg.a import A\n"),
    ]


def test_crlf_reply_and_indented_fence() -> None:
    reply = "1. Create it:\r\n   pkg/x.py\r\n   ```python\r\n   def f():\r\n       return 1\r\n   ```\r\n"
    assert parse_edits(reply) == [whole("pkg/x.py")]


def test_markdown_file_with_nested_fences() -> None:
    readme = "# Title\n\n```python\nprint(1)\n```\n\nEnd.\n"
    assert parse_edits(f"README.md\n```markdown\n{readme}```\n") == [whole("README.md", readme)]
    # the way chatpkg shows such a file (a longer fence), answered back the same way
    assert parse_edits(f"README.md\n````\n{readme}````\n\nb.py\n```\nB = 1\n```\n") == [
        whole("README.md", readme), whole("b.py", "B = 1\n")]


def test_prose_and_urls_are_not_paths() -> None:
    for above in ["Here is the code.", "https://example.com/x.py", "Python 3.11"]:
        with pytest.raises(MalformedReply):
            parse_edits(f"{above}\n{F}python\nprint(1)\n{F}\n")


# ---------------------------------------------------------------- malformed / pathless


def test_unclosed_fence_names_the_file() -> None:
    with pytest.raises(MalformedReply, match=r"ended inside the code block for pkg/x\.py"):
        parse_edits(f"pkg/ok.py\n{F}python\nOK = 1\n{F}\n\npkg/x.py\n{F}python\ndef f():\n")


def test_a_cut_off_repeat_of_a_file_already_sent_is_dropped_and_the_complete_block_stands() -> None:
    # textkit, turn 4: a looping reply sent slug.py and count.py three times over and was cut off inside
    # count.py; the reply was rejected twice and the turn lost its edits
    slug, count = f"pkg/slug.py\n{F}python\nS = 1\n{F}\n", f"pkg/count.py\n{F}python\nC = 1\n{F}\n"
    edits = parse_edits(slug + count + slug + f"pkg/count.py\n{F}python\nC =", edit_format="merge")
    assert [(e.path, e.content) for e in edits] == [
        ("pkg/slug.py", "S = 1\n"), ("pkg/count.py", "C = 1\n"), ("pkg/slug.py", "S = 1\n")]


def test_unclosed_fence_with_path_comment_names_the_file() -> None:
    with pytest.raises(MalformedReply, match=r"pkg/z\.py"):
        parse_edits(f"Here:\n{F}python\n# pkg/z.py\nimport os\n")


def test_pathless_python_block_alone_is_malformed() -> None:
    with pytest.raises(MalformedReply, match="file path on the line just before"):
        parse_edits(f"Try this:\n{F}python\nprint('hi')\n{F}\n")
    with pytest.raises(MalformedReply):
        parse_edits(f"Try this:\n{F}\nprint('hi')\n{F}\n")


def test_pathless_blocks_ignored_next_to_real_edit() -> None:
    reply = f"pkg/x.py\n{F}python\n{BODY}{F}\nExample use:\n{F}python\nf()\n{F}\nRun:\n{F}bash\npytest\n{F}\n"
    assert parse_edits(reply) == [whole("pkg/x.py")]


def test_shell_block_alone_means_no_edits() -> None:
    with pytest.raises(NoEdits):
        parse_edits(f"Run the tests:\n{F}bash\npytest -q\n{F}\n")
    with pytest.raises(NoEdits):
        parse_edits("I think the design is fine as it is.")


def test_unclosed_pathless_shell_block_is_ignored() -> None:
    reply = f"pkg/x.py\n{F}python\n{BODY}{F}\nNow run:\n{F}bash\npytest"
    assert parse_edits(reply) == [whole("pkg/x.py")]


def test_diff_block_with_path_is_refused() -> None:
    with pytest.raises(MalformedReply, match="diff"):
        parse_edits(f"pkg/x.py\n{F}diff\n-a\n+b\n{F}\n")


# ---------------------------------------------------------------- SEARCH/REPLACE parsing


def sr(search: str, replace: str, *, marks: tuple[str, str, str] = ("<<<<<<< SEARCH", "=======", ">>>>>>> REPLACE")) -> str:
    return f"{marks[0]}\n{search}{marks[1]}\n{replace}{marks[2]}\n"


SR_AB = sr("a\n", "b\n")
SR_A12 = sr("a = 1\n", "a = 2\n")
SR_C_DELETE = sr("c\n", "")
SR_CREATE = sr("", "new\n")
SR_MISSING = sr("nope\n", "b = 2\n")


def test_search_replace_in_fence_with_path_above() -> None:
    reply = f"pkg/x.py\n{F}python\n{SR_A12}{F}\n"
    assert parse_edits(reply) == [FileEdit("pkg/x.py", "replace", search="a = 1\n", replace="a = 2\n")]


def test_search_replace_path_on_fence_line_or_inside_fence() -> None:
    expected = [FileEdit("pkg/x.py", "replace", search="a\n", replace="b\n")]
    assert parse_edits(f"{F}python pkg/x.py\n{SR_AB}{F}\n") == expected
    assert parse_edits(f"{F}python\npkg/x.py\n{SR_AB}{F}\n") == expected


def test_search_replace_without_fence_and_sloppy_markers() -> None:
    marks = ("<<<<< SEARCH  ", "=========", ">>>>>>>>> REPLACE ")
    sloppy = sr("a\n", "b\n", marks=marks)
    reply = f"Change it:\npkg/x.py\n{sloppy}\nDone."
    assert parse_edits(reply) == [FileEdit("pkg/x.py", "replace", search="a\n", replace="b\n")]


def test_several_blocks_share_path_and_path_line_switches_file() -> None:
    reply = f"pkg/x.py\n{F}python\n{SR_AB}\n{SR_C_DELETE}pkg/y.py\n{SR_CREATE}{F}\n"
    assert parse_edits(reply) == [
        FileEdit("pkg/x.py", "replace", search="a\n", replace="b\n"),
        FileEdit("pkg/x.py", "replace", search="c\n", replace=""),
        FileEdit("pkg/y.py", "replace", search="", replace="new\n"),
    ]


def test_bare_blocks_share_path_and_stray_closing_fence_is_skipped() -> None:
    reply = f"pkg/x.py\n{SR_AB}\n{SR_C_DELETE}{F}\n\npkg/y.py\n{F}python\nY = 1\n{F}\n"
    assert parse_edits(reply) == [
        FileEdit("pkg/x.py", "replace", search="a\n", replace="b\n"),
        FileEdit("pkg/x.py", "replace", search="c\n", replace=""),
        whole("pkg/y.py", "Y = 1\n"),
    ]


def test_fenced_search_replace_missing_closing_fence_is_tolerated() -> None:
    assert parse_edits(f"pkg/x.py\n{F}python\n{SR_AB}") == [
        FileEdit("pkg/x.py", "replace", search="a\n", replace="b\n")
    ]


def test_search_replace_fence_is_never_a_whole_file() -> None:
    edits = parse_edits(f"pkg/x.py\n{F}python\n{SR_AB}{F}\n")
    assert [e.kind for e in edits] == ["replace"]


@pytest.mark.parametrize(
    "block",
    ["<<<<<<< SEARCH\na\n>>>>>>> REPLACE\n", "<<<<<<< SEARCH\na\n=======\nb\n", "<<<<<<< SEARCH\na\n"],
)
def test_broken_search_replace_is_malformed(block: str) -> None:
    with pytest.raises(MalformedReply, match="pkg/x.py"):
        parse_edits(f"pkg/x.py\n{F}python\n{block}{F}\n")


def test_search_replace_without_path_is_malformed() -> None:
    with pytest.raises(MalformedReply, match="no file path"):
        parse_edits(f"Change:\n{F}python\n{SR_AB}{F}\n")


# ---------------------------------------------------------------- applying


def test_whole_file_creates_dirs_and_replaces(tmp_path: Path) -> None:
    (tmp_path / "old.py").write_text("old\n")
    result = apply_edits(tmp_path, [whole("a/b/new.py", "x = 1\n"), whole("./old.py", "new\n")])
    assert result == {"a/b/new.py": "x = 1\n", "old.py": "new\n"}
    assert (tmp_path / "a/b/new.py").read_text() == "x = 1\n"
    assert (tmp_path / "old.py").read_text() == "new\n"


def test_replace_end_to_end_from_reply(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg/x.py").write_text("a = 1\nb = 2\nc = 3\n")
    first, second = sr("a = 1\n", "a = 10\n"), sr("a = 10\nb = 2\n", "b = 20\n")
    reply = f"pkg/x.py\n{F}python\n{first}{second}{F}\n"
    assert apply_edits(tmp_path, parse_edits(reply)) == {"pkg/x.py": "b = 20\nc = 3\n"}
    assert (tmp_path / "pkg/x.py").read_text() == "b = 20\nc = 3\n"


def test_exact_match_prefers_whole_line(tmp_path: Path) -> None:
    (tmp_path / "x.py").write_text("max = 1\nx = 1\n")
    apply_edits(tmp_path, [FileEdit("x.py", "replace", search="x = 1\n", replace="x = 2\n")])
    assert (tmp_path / "x.py").read_text() == "max = 1\nx = 2\n"


def test_empty_search_creates_then_appends(tmp_path: Path) -> None:
    create = FileEdit("n.py", "replace", search="", replace="a = 1\n")
    apply_edits(tmp_path, [create])
    assert (tmp_path / "n.py").read_text() == "a = 1\n"
    (tmp_path / "m.py").write_text("x = 1")  # no final newline
    apply_edits(tmp_path, [create, FileEdit("m.py", "replace", search="\n", replace="y = 2\n")])
    assert (tmp_path / "n.py").read_text() == "a = 1\na = 1\n"
    assert (tmp_path / "m.py").read_text() == "x = 1\ny = 2\n"


def test_match_ignoring_trailing_whitespace(tmp_path: Path) -> None:
    (tmp_path / "x.py").write_text("def f():   \n    return 1\t\nz = 0\n")
    apply_edits(tmp_path, [FileEdit("x.py", "replace", search="def f():\n    return 1\n", replace="def f():\n    return 2\n")])
    assert (tmp_path / "x.py").read_text() == "def f():\n    return 2\nz = 0\n"


def test_match_ignoring_uniform_indentation_reindents_replace(tmp_path: Path) -> None:
    (tmp_path / "x.py").write_text("class A:\n    def f(self):\n        return 1\n")
    edit = FileEdit("x.py", "replace", search="def f(self):\n    return 1\n", replace="def f(self):\n    if x:\n        return 2\n")
    apply_edits(tmp_path, [edit])
    assert (tmp_path / "x.py").read_text() == "class A:\n    def f(self):\n        if x:\n            return 2\n"


def test_over_indented_search_matches_less_indented_file(tmp_path: Path) -> None:
    (tmp_path / "x.py").write_text("a = 1\nb = 2\n")
    apply_edits(tmp_path, [FileEdit("x.py", "replace", search="    a = 1\n    b = 2\n", replace="    a = 3\n")])
    assert (tmp_path / "x.py").read_text() == "a = 3\n"


def test_crlf_file_keeps_its_line_endings(tmp_path: Path) -> None:
    (tmp_path / "w.py").write_bytes(b"a = 1\r\nb = 2\r\n")
    apply_edits(tmp_path, [FileEdit("w.py", "replace", search="a = 1\n", replace="a = 5\n")])
    assert (tmp_path / "w.py").read_bytes() == b"a = 5\r\nb = 2\r\n"


def test_search_not_found_names_file_and_suggests_near_match(tmp_path: Path) -> None:
    (tmp_path / "x.py").write_text("import os\n\ndef compute_total(items):\n    return sum(items)\n")
    edit = FileEdit("x.py", "replace", search="def compute_totals(items):\n    return sum(item)\n", replace="pass\n")
    with pytest.raises(SearchNotFound) as info:
        apply_edits(tmp_path, [edit])
    message = str(info.value)
    assert "x.py" in message and "def compute_totals(items):" in message
    assert "closest lines" in message and "(from line 3)" in message
    assert "    def compute_total(items):" in message


def test_search_in_missing_file_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(SearchNotFound, match="ghost.py.*does not exist"):
        plan_edits(tmp_path, [FileEdit("ghost.py", "replace", search="a\n", replace="b\n")])


def test_binary_file_refused_for_search_replace(tmp_path: Path) -> None:
    (tmp_path / "blob.dat").write_bytes(b"\xff\xfe\x00a")
    with pytest.raises(EditError, match="binary"):
        apply_edits(tmp_path, [FileEdit("blob.dat", "replace", search="a\n", replace="b\n")])
    assert (tmp_path / "blob.dat").read_bytes() == b"\xff\xfe\x00a"


def test_plan_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "x.py").write_text("a\n")
    plan = plan_edits(tmp_path, [whole("x.py", "b\n"), whole("new/y.py", "c\n")])
    assert plan == {"x.py": "b\n", "new/y.py": "c\n"}
    assert snapshot(tmp_path) == {"x.py": b"a\n"}
    assert not (tmp_path / "new").exists()


def test_executable_mode_is_kept(tmp_path: Path) -> None:
    script = tmp_path / "run.sh"
    script.write_text("echo 1\n")
    script.chmod(0o755)
    apply_edits(tmp_path, [whole("run.sh", "echo 2\n")])
    assert script.stat().st_mode & 0o777 == 0o755
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


# ---------------------------------------------------------------- safety


@pytest.mark.parametrize(
    "path",
    ["/etc/passwd", "../outside.py", "pkg/../../x.py", ".git/config", "pkg/.GIT/hooks/x", ".chatpkg/state.json",
     "~/x.py", "C:\\x.py", "", ".", "a\0b.py"],
)
def test_hostile_paths_are_refused(tmp_path: Path, path: str) -> None:
    (tmp_path / "keep.py").write_text("k\n")
    with pytest.raises(UnsafePath):
        apply_edits(tmp_path, [whole("ok.py", "fine\n"), whole(path, "evil\n")])
    assert snapshot(tmp_path) == {"keep.py": b"k\n"}


def test_hostile_path_from_reply_is_refused_not_ignored(tmp_path: Path) -> None:
    with pytest.raises(UnsafePath, match="absolute"):
        apply_edits(tmp_path, parse_edits(f"/etc/passwd\n{F}\nroot::0:0\n{F}\n"))


def test_symlinked_dir_pointing_outside_is_refused(tmp_path: Path) -> None:
    root, outside = tmp_path / "ws", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "link").symlink_to(outside, target_is_directory=True)
    with pytest.raises(UnsafePath, match="outside"):
        apply_edits(root, [whole("link/evil.py", "evil\n")])
    assert list(outside.iterdir()) == []


def test_symlink_file_pointing_outside_is_refused(tmp_path: Path) -> None:
    root, secret = tmp_path / "ws", tmp_path / "secret.txt"
    root.mkdir()
    secret.write_text("secret\n")
    (root / "s.txt").symlink_to(secret)
    with pytest.raises(UnsafePath):
        apply_edits(root, [FileEdit("s.txt", "replace", search="secret\n", replace="pwned\n")])
    assert secret.read_text() == "secret\n"
    assert (root / "s.txt").is_symlink()


def test_symlink_into_git_dir_is_refused(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "g").symlink_to(tmp_path / ".git", target_is_directory=True)
    with pytest.raises(UnsafePath):
        safe_path(tmp_path, "g/config")


def test_safe_path_returns_absolute_inside_root(tmp_path: Path) -> None:
    assert safe_path(tmp_path, "./pkg//x.py") == tmp_path.resolve() / "pkg" / "x.py"
    assert safe_path(tmp_path, "pkg\\x.py") == tmp_path.resolve() / "pkg" / "x.py"


# ---------------------------------------------------------------- all or nothing


def test_second_edit_failing_leaves_first_file_untouched(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("a = 1\n")
    (tmp_path / "b.py").write_text("b = 1\n")
    reply = f"a.py\n{F}python\na = 2\n{F}\n\nb.py\n{F}python\n{SR_MISSING}{F}\n"
    with pytest.raises(SearchNotFound, match="b.py"):
        apply_edits(tmp_path, parse_edits(reply))
    assert snapshot(tmp_path) == {"a.py": b"a = 1\n", "b.py": b"b = 1\n"}


def test_failed_write_rolls_back_written_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a.py").write_text("a = 1\n")
    real = edits_mod._atomic_write
    calls = []

    def flaky(path: Path, data: bytes, mode: int | None) -> None:
        calls.append(path.name)
        if path.name == "c.py":
            raise OSError("disk full")
        real(path, data, mode)

    monkeypatch.setattr(edits_mod, "_atomic_write", flaky)
    with pytest.raises(OSError, match="disk full"):
        apply_edits(tmp_path, [whole("a.py", "a = 2\n"), whole("new/b.py", "b\n"), whole("c.py", "c\n")])
    assert calls[:3] == ["a.py", "b.py", "c.py"]
    assert snapshot(tmp_path) == {"a.py": b"a = 1\n"}
    assert not (tmp_path / "new").exists()


def test_directory_target_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    with pytest.raises(EditError, match="directory"):
        apply_edits(tmp_path, [whole("pkg", "x\n")])
    assert os.listdir(tmp_path / "pkg") == []


def test_pathless_python_goes_to_the_program_in_the_merge_format() -> None:
    reply = "Here:\n\n```python\nprint(total)\n```\n"
    (edit,) = parse_edits(reply, edit_format="merge", default_path="main.py")
    assert edit == FileEdit("main.py", "merge", content="print(total)\n")


def test_pathless_python_without_a_program_or_outside_merge_is_still_refused() -> None:
    reply = "```python\nprint(total)\n```\n"
    for kwargs in ({"edit_format": "merge"}, {"edit_format": "whole", "default_path": "main.py"}):
        with pytest.raises(MalformedReply, match="without a file path"):
            parse_edits(reply, **kwargs)


def test_a_labelled_block_wins_over_the_program_default() -> None:
    reply = "pkg/a.py\n```python\nx = 1\n```\n\n```python\nprint(x)\n```\n"
    assert [e.path for e in parse_edits(reply, edit_format="merge", default_path="main.py")] == ["pkg/a.py"]


def test_current_files_reads_only_the_targets_and_checks_their_paths(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_bytes(b"x = 1\n")
    edits = [FileEdit("./a.py", "merge", content="y = 2\n"), FileEdit("new.py", "whole", content="")]
    assert edits_mod.current_files(tmp_path, edits) == {"a.py": b"x = 1\n", "new.py": None}
    with pytest.raises(UnsafePath):
        edits_mod.current_files(tmp_path, [FileEdit("../outside.py", "whole", content="")])
