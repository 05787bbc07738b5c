"""A reply that falls into a loop is cut there, applied, and replays the same."""

from __future__ import annotations

from pathlib import Path

from helpers import make_session, run

from chatpkg.core.engine.events import ModelReply, Notice
from chatpkg.core.engine.replay import replay_exact
from chatpkg.core.prompts.runaway import (
    BLANK_LIMIT,
    GROWING_LIMIT,
    LONG_CYCLE_LIMIT,
    PERIOD_SPAN,
    SAME_LINE_LIMIT,
    SAME_SHAPE_LIMIT,
    RunawayGuard,
)

SOLUTION = "pkg/frac.py\n```python\ndef frac(x):\n    return x - int(x)\n```\n\n"
LOOP_HEAD = "tests/test_frac.py\n```python\nfrom pkg.frac import frac\n\n\ndef test_frac():\n"


def looping_reply(lines: int) -> str:
    """What the embedded model did on HumanEval/2: one assert per number, until max_tokens."""
    asserts = "".join(f"    assert frac({n}.5) == 0.5\n" for n in range(lines))
    return SOLUTION + LOOP_HEAD + asserts + "    assert frac(99"  # cut off mid-line, block never closed


def fed(text: str, piece: int = 7) -> RunawayGuard:
    guard = RunawayGuard()
    for start in range(0, len(text), piece):
        if guard.feed(text[start:start + piece]):
            break
    return guard


def test_lines_equal_but_for_numbers_trip_the_guard_at_the_limit() -> None:
    guard = fed(looping_reply(200))

    assert guard.tripped
    reply = guard.reply()
    assert reply.count("assert frac(") == SAME_SHAPE_LIMIT
    assert reply.endswith(f"    assert frac({SAME_SHAPE_LIMIT - 1}.5) == 0.5\n```\n")  # block closed


def test_a_list_growing_by_one_number_per_line_is_a_loop_too() -> None:
    """HumanEval/3: below_zero([1, 2, 3, 4, 5, -1]), then [..., -1, -2], and so on."""
    lines = [f"    assert below_zero([1, 2, 3, 4, 5{''.join(f', -{k}' for k in range(1, n))}]) == True\n"
             for n in range(1, 60)]
    guard = fed("```python\n" + "".join(lines))
    assert guard.tripped and guard.reply().count("assert") == GROWING_LIMIT  # growing lines trip it sooner
    copies = [f"    assert repeat('ab', {n}) == [{', '.join([repr('ab')] * n)}]\n" for n in range(1, 60)]
    assert fed("".join(copies)).tripped  # the same string, one more time per line


def test_long_growing_lines_are_cut_before_max_tokens() -> None:
    """HumanEval/26: 15 ever longer lines of digits filled 2048 tokens before 16 same-shape lines came."""
    lines = [f"    assert dedup([{', '.join(map(str, range(1, n + 1)))}]) == [{', '.join(map(str, range(1, n + 1)))}]\n"
             for n in range(10, 40)]
    guard = fed(SOLUTION + LOOP_HEAD + "    assert dedup([1, 2, 3, 2, 4]) == [1, 3, 4]\n" + "".join(lines))
    assert guard.tripped and guard.reply().count("assert dedup(") == GROWING_LIMIT  # the docstring example starts the run
    assert guard.reply().startswith(SOLUTION) and len(guard.reply()) < 2000
    # same-shape lines that do not grow (a data table) run to the longer limit
    rows = [f"    ({n}, 'row', {n * 3}),\n" for n in range(10, 10 + SAME_SHAPE_LIMIT - 1)]
    assert not fed("ROWS = [\n" + "".join(rows) + "]\n").tripped


def test_the_very_same_line_trips_it_sooner() -> None:
    text = "Here:\n```python\n" + "print('again')\n" * 50
    guard = fed(text)
    assert guard.tripped and guard.reply() == "Here:\n```python\n" + "print('again')\n" * SAME_LINE_LIMIT + "```\n"
    assert "print('again')" in guard.notice()


def test_a_cycle_of_lines_trips_it_too() -> None:
    """HumanEval/119: two asserts, one after the other, until 3 replies of 2048 tokens."""
    pair = ("    assert match_parens(['(', ')', '(', ')']) == 'Yes'\n"
            "    assert match_parens([')', ')', '(', ')']) == 'No'\n")
    guard = fed("```python\ndef test_parens():\n" + pair * 100)
    assert guard.tripped and guard.reply().count("assert") == 2 * SAME_LINE_LIMIT
    assert guard.reply().endswith("'No'\n```\n")
    assert not fed("```python\n" + pair * (SAME_LINE_LIMIT - 1) + "    assert done()\n").tripped


def test_a_long_cycle_trips_it_after_fewer_rounds() -> None:
    """textkit's truncate (pkgbench): seven asserts, over and over, for 316 s until max_tokens."""
    cycle = "".join(f'    assert truncate("Truncate this text", {w}, "...") == "Truncate..."\n' for w in range(5, -1, -1))
    cycle += '    assert truncate("Truncate this text", 10, "...") == "Truncate this text"\n'
    head = "```python\ndef test_truncate():\n"
    guard = fed(head + cycle * 40)
    assert guard.tripped and guard.reply() == head + cycle * LONG_CYCLE_LIMIT + "```\n"
    twice = head + cycle * (LONG_CYCLE_LIMIT - 1) + "    assert truncate('', 3) == ''\n"
    assert not fed(twice).tripped


def test_whole_files_sent_over_and_over_trip_it_at_the_third_copy() -> None:
    """textkit, turn 4 (pkgbench): slug.py and count.py, 28 lines, sent again and again until max_tokens."""
    slug = "textkit/slug.py\n```python\n" + "".join(f"def s{n}(t):\n    return t\n\n\n" for n in range(7)) + "```\n\n"
    count = "textkit/count.py\n```python\nimport re\n\ndef word_count(text):\n    return {}\n```\n\n"
    guard = fed((slug + count) * 8 + "textkit/slug.py\n```python\ndef s0(t):\n")
    assert guard.tripped and guard.reply() == (slug + count) * 2 + slug.rstrip("\n") + "\n"
    assert "the block for textkit/slug.py" in guard.notice()
    assert not fed((slug + count) * 2).tripped  # a block sent twice is not yet a loop


def test_one_line_repeating_a_short_piece_is_dropped_whole() -> None:
    """HumanEval/20: `[1.0, 2.0, 3.0, 4.0, 5.0, 2.0, 3.0, 4.0, 5.0, 2.0, ...` until max_tokens."""
    head = "```python\ndef test_closest():\n"
    guard = fed(head + "    assert closest([1.0, " + "2.0, 3.0, 4.0, 5.0, " * 200)
    assert guard.tripped and guard.reply() == head + "```\n"
    assert "2.0, 3.0, 4.0, 5.0" in guard.notice()


def test_a_flood_of_blank_lines_is_a_loop() -> None:
    guard = fed("x = 1\n" + "\n" * 100)
    assert guard.tripped and guard.reply() == "x = 1\n" + "\n" * BLANK_LIMIT


def test_ordinary_code_and_tables_pass_untouched() -> None:
    table = "ROMAN = [\n" + "".join(f"    ({n}, '{'m' * (n % 4 + 1)}x{n}'),\n" for n in range(30)) + "]\n"
    blank_separated = "\n\n".join(f"def f{n}():\n    return {n}\n" for n in range(30))
    short_run = "x = 1\n" * (SAME_LINE_LIMIT - 1) + "y = 2\n"
    long_line = "WORDS = [" + ", ".join(repr(f"w{n * n}") for n in range(PERIOD_SPAN)) + "]\n"
    for text in (table, blank_separated, short_run, looping_reply(SAME_SHAPE_LIMIT - 2), long_line):
        guard = fed(text)
        assert not guard.tripped and guard.reply() == text


def test_a_looping_reply_is_cut_applied_and_tested(root: Path, tmp_path: Path) -> None:
    session, _ = make_session(root, [looping_reply(300)])

    events = run(session, "Add frac(x), the decimal part of x, with a test.")

    notices = [e.message for e in events if isinstance(e, Notice)]
    assert len(notices) == 1 and "repeating itself" in notices[0]
    (reply,) = [e for e in events if isinstance(e, ModelReply)]
    assert reply.text.endswith("```\n") and reply.completion_tokens > 0
    assert events[-1].outcome == "committed" and events[-1].tests == "2 passed"  # the scaffold's test and this one
    assert (root / "tests" / "test_frac.py").read_text().count("assert") == SAME_SHAPE_LIMIT

    checks = list(replay_exact(session.transcript.path, tmp_path / "replayed"))
    assert [c.ok for c in checks] == [True]  # the recorded (cut) reply replays to the same commit


def test_a_test_file_cut_off_keeps_its_complete_tests_and_the_code_before_it(root: Path) -> None:
    """rpn on the package benchmark: the test's asserts grew until max tokens, three times, and the
    whole reply was refused each time, the complete tokens.py with it; the turn ended with nothing."""
    cut = (SOLUTION + LOOP_HEAD + "    assert frac(1.5) == 0.5\n    assert frac(2.25) == 0.25\n"
           "\n\ndef test_more():\n    assert frac(3.75) == 0.75\n    assert frac(99")  # max tokens, mid-line
    session, _ = make_session(root, [cut], edit_format="merge")

    events = run(session, "Add frac(x) in pkg/frac.py returning the fractional part, with tests.")

    assert (root / "pkg" / "frac.py").read_text() == "def frac(x):\n    return x - int(x)\n"
    kept = (root / "tests" / "test_frac.py").read_text()
    assert kept.endswith("def test_more():\n    assert frac(3.75) == 0.75\n") and "frac(99" not in kept
    assert any(isinstance(e, Notice) and "cut off inside tests/test_frac.py" in e.message for e in events)
    end = next(e for e in events if e.kind == "turn_end")
    assert end.outcome == "committed" and end.tests == "3 passed"  # type: ignore[attr-defined]
