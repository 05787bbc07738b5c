"""Candidates judged by each other's tests (CodeT's dual agreement).

Each candidate writes tests beside its code. Its own tests never count for it: a candidate could
win by writing more of them, or by writing none. Another candidate's tests are independent evidence,
though. On the package benchmark (textkit, turn 1) the first reply's ``slugify`` forgot to lowercase
and failed its own right test; the two sampled candidates lowercased, but their tests imported
``textkit.slugify``, which the package does not export, and failed. Judged by the checks all three
shared, they tied, and agreement kept the first: the wrong code. Run against the first reply's test,
both samples' code passes most of its asserts.

So once the candidates are sampled, the tests each one added or changed (one check per assert,
vetted: ``checks.vet``) are pooled under names of their own, and each candidate's code runs against
the pool in a scratch copy of the workspace (``scratch.py``). The other candidates' checks its code
passes count for it (``Tried.cross``), unless every candidate's code passes them: a check nothing
fails tells no code apart (HumanEval/101: a sample padded with ``assert len('a') == 1`` would hand
every other candidate its points). The pooled checks it passes, its own included, are what
agreement compares (``Tried.pooled``).

When the chosen code passed the most checks outright, the other candidates' checks it passes are
kept as the turn's tests (``tests/test_turn<N>_candidate<i>_<stem>.py``, the assistant's). Thrown
away, textkit's chosen ``slugify`` was left with no test once its own (a wrong import) was removed, and
the test it was asked for next carried a wrong expectation.
"""

from __future__ import annotations

import ast
from dataclasses import replace
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from chatpkg.core.cancel import TurnCancelled
from chatpkg.core.engine import checks
from chatpkg.core.engine.scratch import code_edits, scratch_copy
from chatpkg.core.workspace.edits import EditError, apply_edits

if TYPE_CHECKING:
    from chatpkg.core.engine.team import Tried
    from chatpkg.core.engine.turn import TurnRun


def added_tests(before: str | None, source: str) -> str:
    """A test file without the test functions it holds exactly as before the turn (an old test in a file a
    candidate extended is no evidence of its), vetted into one check per assert; "" when none is left."""
    same = {name for name in checks.unchanged_tests(before, source) if "::" not in name}
    try:
        source = checks.without(source, same).source if same else source
    except SyntaxError:
        return ""
    return checks.vet(source).source if source else ""


def pool(run: TurnRun, tests: dict[int, dict[str, str]]) -> dict[str, tuple[int, str]]:
    """Every candidate's added checks under a name of their own: scratch path -> (candidate, source)."""
    pooled: dict[str, tuple[int, str]] = {}
    for index, files in sorted(tests.items()):
        for path, source in sorted(files.items()):
            if checks.is_examples(path):  # the user's words, never a candidate's evidence
                continue
            added = added_tests(run.s.workspace.file_at(run.parent, path), source)
            if added:
                stem = PurePosixPath(path).stem.removeprefix("test_")
                pooled[f"tests/test_candidate{index}_{stem}.py"] = (index, added)
    return pooled


def cross_check(run: TurnRun, tried: list[Tried], pooled: dict[str, tuple[int, str]],
                put_back: list[str]) -> list[Tried]:
    """Each applied candidate's code run against the pooled checks (``put_back``: the files the candidate
    in the workspace wrote, as the parent holds them in the copy); the candidates with what they passed."""
    owners = {index for index, _ in pooled.values()}
    if not owners or sum(t.applied for t in tried) < 2:
        return tried
    judged = []
    for t in tried:
        code = code_edits(run, t.reply) if t.applied else None
        if not code:
            judged.append(t)
            continue
        with scratch_copy(run, put_back) as scratch:
            try:
                apply_edits(scratch, code)
            except (EditError, OSError):
                judged.append(t)
                continue
            for path, (_, source) in pooled.items():
                (scratch / path).parent.mkdir(parents=True, exist_ok=True)
                (scratch / path).write_text(source, encoding="utf-8")
            report = run.s.runner.run(scratch, run.cancel)
        if report.cancelled:
            raise TurnCancelled()
        passed = frozenset(i for i in report.passed_ids if i.split("::", 1)[0] in pooled)
        judged.append(replace(t, pooled=passed))
    ran = [t for t in judged if t.pooled is not None]
    everyone = frozenset.intersection(*(t.pooled for t in ran)) if len(ran) > 1 else frozenset()
    return [replace(t, cross=frozenset(i for i in t.pooled - everyone if pooled[i.split("::", 1)[0]][0] != t.index))
            if t.pooled is not None else t for t in judged]


def agreed(turn: int, pooled: dict[str, tuple[int, str]], tried: list[Tried], chosen: Tried,
           own: dict[str, str]) -> dict[str, str]:
    """The other candidates' checks the chosen code passes, as files to keep: path -> source; only when it
    passed more checks than every other candidate (a tie broken by agreement is weak evidence: the
    chosen code may be the wrong one, and a wrong check its code passes would then be kept). A check the
    chosen candidate's own tests (``own``) already hold, statement for statement, is not kept twice; a
    parametrized test or a test class is not kept (the pool's results name a plain test function)."""
    if not chosen.pooled or any(t.score >= chosen.score for t in tried if t is not chosen):
        return {}
    seen = {ast.dump(stmt) for text in own.values()
            for node in checks.top_level_tests(_parsed(text)) for stmt in node.body}
    kept = {}
    for path, (owner, source) in pooled.items():
        if owner == chosen.index:
            continue
        passed = {i.split("::", 1)[1] for i in chosen.pooled if i.split("::", 1)[0] == path}
        tree = _parsed(source)
        keep = {n.name for n in checks.top_level_tests(tree) if n.name in passed and not n.decorator_list
                and not all(ast.dump(stmt) in seen for stmt in n.body)}
        if keep:
            tree.body = [n for n in tree.body if not (checks.is_test_function(n) and n.name not in keep)  # type: ignore[union-attr]
                         and not (isinstance(n, ast.ClassDef) and n.name.startswith("Test"))]
            header = (f"# Candidate {owner}'s checks that the code chosen in turn {turn} passes: kept by chatpkg "
                      "as the turn's tests (engine/crosscheck.py).\n")
            kept[path.replace("tests/test_", f"tests/test_turn{turn}_", 1)] = header + ast.unparse(tree) + "\n"
    return kept


def _parsed(source: str) -> ast.Module:
    try:
        return ast.parse(source)
    except SyntaxError:
        return ast.Module(body=[], type_ignores=[])
