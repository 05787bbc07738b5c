"""Fix the code or fix the test: the evidence for a test the model says is wrong.

A repair that starts with ``TEST: <why>`` says one of the assistant's failing tests expects the
wrong value. The model's word alone decides nothing: on the package benchmark the embedded model
blamed right tests (``slugify`` must lowercase, as the request says) as readily as wrong ones
(``convert(6, "ft", "m") == 18.288`` expected as ``1.8288``), and when it was right it often sent
no corrected test. The other candidates sampled for the turn are independent evidence (CodeT's
agreement between code and tests): each one's code is run, beside the workspace in a scratch copy,
against the tests as they are now.

- A candidate whose code passes the test shows it can be met: **the test stands**, and a change the
  reply makes to it is not applied.
- When none passes it and another candidate's code fails it with the very same values (the same
  first line of the failure: the same actual value against the same expected one), two pieces of
  code written apart agree on what the test rejects: **the test is wrong**. A correction the reply
  sends is kept; a test it left as it was is removed. Either way a ``CheckChanged`` names it, with
  the evidence, in the turn's outcome.
- Otherwise there is **no evidence**, and the reply is taken as it is.

A turn that sampled no candidates (the coder alone, or a first reply that passed) samples some
when a repair first blames a test (``Team.evidence``): coder replies to the turn's first request,
whose code is only ever run here, beside the workspace.

Only a candidate that wrote code of its own for what the test calls is a second opinion: one that
carried ``slugify`` over from the parent commit fails its test exactly as the turn's code does.

A test is weighed when it fails in itself: an assert, or an error of its own (inventory's test
used a ``store`` it never set, and every candidate's code failed it alike); an error raised in the
code is the code's. One that reads its own local name before setting it (UnboundLocalError in the
test's frame) needs no candidate: no code can pass it, and it is wrong whether the reason names it
or not; still failing after a repair round, it is taken out without a blame (``unpassable``). The user's tests and the examples chatpkg wrote from the user's words are never
weighed: they say what is right.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from chatpkg.core.cancel import TurnCancelled
from chatpkg.core.engine import checks
from chatpkg.core.engine.events import BlameWeighed, Event
from chatpkg.core.engine.scratch import NOT_CODE, code_edits, scratch_copy
from chatpkg.core.prompts.repair import UNBOUND_LOCAL
from chatpkg.core.runner import TestFailure, TestReport
from chatpkg.core.runner.report import is_test_path
from chatpkg.core.workspace.edits import EditError, FileEdit, apply_edits, plan_edits

if TYPE_CHECKING:
    from chatpkg.core.engine.team import Tried
    from chatpkg.core.engine.turn import TurnRun

WRONG, STANDS, UNKNOWN = "test wrong", "test stands", "no evidence"


@dataclass(frozen=True)
class Verdict:
    """What the other candidates' code says of one blamed test."""

    test: str  # "path::name"
    decision: str  # WRONG, STANDS or UNKNOWN
    evidence: str

    @property
    def path(self) -> str:
        return self.test.split("::", 1)[0]

    @property
    def name(self) -> str:
        """The name ``checks.test_functions`` gives it: ``test_x`` or ``TestC::test_m``, parameters dropped."""
        return self.test.split("::", 1)[1].split("[", 1)[0]


@dataclass(frozen=True)
class Elsewhere:
    """Another candidate's code, run against the tests as they are now: the report, and its definitions."""

    report: TestReport
    code: dict[str, tuple[str, frozenset[str]]]  # its definitions
    carried: dict[str, tuple[str, frozenset[str]]]  # the definitions before its edits: the parent's


def first_line(failure: TestFailure) -> str:
    return failure.message.strip().splitlines()[0] if failure.message.strip() else ""


def self_evident(failure: TestFailure) -> Verdict | None:
    """A test that reads one of its own local names before setting it (``store = store.Inventory()``
    raises UnboundLocalError in the test itself) fails whatever the code: wrong, with no candidate."""
    found = UNBOUND_LOCAL.search(first_line(failure))
    if found is None or failure.origin.rsplit(":", 1)[0] != failure.test_id.split("::", 1)[0]:
        return None
    return Verdict(failure.test_id, WRONG, f"it reads its local name {found[1]} before setting it "
                   "(UnboundLocalError in the test itself): no code can pass it")


def decide(failure: TestFailure, outcomes: dict[int, TestReport | None]) -> Verdict:
    """The verdict on one failing test from the reports of the other candidates' code (None: it did
    not apply or run)."""
    ran = {i: r for i, r in outcomes.items() if r is not None}
    passes = [i for i, r in ran.items() if failure.test_id in r.passed_ids]
    line = first_line(failure)
    same = [i for i, r in ran.items() if any(f.test_id == failure.test_id and first_line(f) == line
                                             for f in r.failures)]
    if passes:
        return Verdict(failure.test_id, STANDS, f"candidate {passes[0]}'s code passes it")
    if same and line:
        who = ", ".join(str(i) for i in same)
        return Verdict(failure.test_id, WRONG,
                       f"the code of candidate {who} fails it with the same values ({line}) and none passes it")
    if not ran:
        return Verdict(failure.test_id, UNKNOWN, "no other candidate's code could be run")
    return Verdict(failure.test_id, UNKNOWN,
                   f"none of {len(ran)} other candidate(s) passes it or gives the same values")


def definitions(root: Path) -> dict[str, tuple[str, frozenset[str]]]:
    """The code's top-level functions, classes and assigned names (not the tests'), by name: the dump
    of each one's AST and the names it uses."""
    found: dict[str, tuple[str, frozenset[str]]] = {}
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        if is_test_path(rel.as_posix()) or any(part in NOT_CODE for part in rel.parts):
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, OSError):
            continue
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names = [node.name]
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names = [t.id for t in targets if isinstance(t, ast.Name)]
            else:
                continue
            for name in names:
                dump, uses = found.get(name, ("", frozenset()))
                found[name] = (dump + ast.dump(node), uses | used_names(node))
    return found


def used_names(node: ast.AST) -> frozenset[str]:
    return frozenset(n.id if isinstance(n, ast.Name) else n.attr
                     for n in ast.walk(node) if isinstance(n, (ast.Name, ast.Attribute)))


def names_a_test_uses(source: str, name: str) -> frozenset[str] | None:
    """The names a test (``test_x`` or ``TestC::test_m``) uses; None when it cannot be found."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    node = checks.test_nodes(tree).get(name)
    return used_names(node) if node is not None else None


def differs(test: frozenset[str] | None, theirs: dict[str, tuple[str, frozenset[str]]],
            ours: dict[str, tuple[str, frozenset[str]]]) -> bool:
    """Whether a candidate's code (``theirs``) differs from the code it started from (``ours``: the
    parent commit's) in anything the test uses, directly or through the definitions it calls. Code a
    candidate only carried over is no second opinion: a later turn's candidates that did not touch
    ``slugify`` all fail its test alike. Unknown uses count as a difference."""
    if test is None:
        return True
    seen: set[str] = set()
    todo = list(test)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        if theirs.get(name, ("", frozenset()))[0] != ours.get(name, ("", frozenset()))[0]:
            return True
        todo += [*theirs.get(name, ("", frozenset()))[1], *ours.get(name, ("", frozenset()))[1]]
    return False


def blamed(report: TestReport, why: str, users: dict[str, dict[str, str]]) -> list[TestFailure]:
    """The failing tests a ``TEST:`` reply may be blaming: the assistant's, failing in the test itself (an
    assert, or an error of the test's own such as a name it never set; not an error raised in the code,
    not a timeout); the ones its reason names, when it names any, with those of their files that fail
    with the same first line."""
    found = []
    for failure in report.failures:
        path, _, name = failure.test_id.partition("::")
        if not name or not is_test_path(path) or checks.is_examples(path):
            continue
        if path in users and name.split("[", 1)[0] in users[path]:
            continue
        if failure.raised_in_code or failure.hung:
            continue
        found.append(failure)
    named = [f for f in found if re.search(rf"\b{re.escape(f.test_id.rsplit('::', 1)[1].split('[', 1)[0])}\b", why)]
    # the tests of the same file failing with the very same first line go with a named one (units: eight
    # tests calling units.convert, one removed per round while the others kept the turn red)
    alike = {(f.test_id.split("::", 1)[0], first_line(f)) for f in named}
    return [f for f in found if f in named or (f.test_id.split("::", 1)[0], first_line(f)) in alike] or found


def remove_tests(source: str, names: set[str]) -> str:
    """The test file without these tests (``test_x``, ``TestC::test_m``), cut out by their lines so
    that the rest keeps its comments and layout; a class left with no tests goes with them."""
    tree = ast.parse(source)
    tests = checks.test_nodes(tree)
    spans: list[ast.stmt] = [tests[name] for name in names if "::" not in name and name in tests]
    for cls in (n for n in tree.body if isinstance(n, ast.ClassDef)):
        inner = [tests[name] for name in names if name.partition("::")[0] == cls.name and name in tests]
        spans.extend([cls] if inner and len(inner) == len(cls.body) else inner)
    lines = source.splitlines(keepends=True)
    for node in sorted(spans, key=lambda n: n.lineno, reverse=True):
        start = min([d.lineno for d in getattr(node, "decorator_list", [])] + [node.lineno]) - 1
        del lines[start:node.end_lineno]
    return "".join(lines)


def settle(root: Path, edits: list[FileEdit], verdicts: dict[str, Verdict]) -> tuple[list[FileEdit], list[FileEdit]]:
    """The verdicts carried out on the reply's edits: those left (an edit that changes a test that
    stands is left out) and the removals to apply after them (a wrong test the reply did not correct,
    taken out of its file as the reply leaves it)."""
    if not verdicts:
        return edits, []
    planned = plan_edits(root, edits)
    now = {v.path: _read(root / v.path) for v in verdicts.values()}
    for v in (v for v in verdicts.values() if v.decision == STANDS and v.path in planned):
        if checks.test_functions(planned[v.path]).get(v.name) != checks.test_functions(now[v.path]).get(v.name):
            edits = [e for e in edits if e.path != v.path]
            planned.pop(v.path)
    wrong: dict[str, set[str]] = {}
    for v in (v for v in verdicts.values() if v.decision == WRONG):
        text = planned.get(v.path, now[v.path])
        old = checks.test_functions(now[v.path]).get(v.name)
        if old is not None and checks.test_functions(text).get(v.name) == old:  # present, not corrected
            wrong.setdefault(v.path, set()).add(v.name)
    removals = [FileEdit(path, "whole", remove_tests(planned.get(path, now[path]), names))
                for path, names in wrong.items()]
    return edits, removals


def unpassable(root: Path, report: TestReport, users: dict[str, dict[str, str]]) -> tuple[list[Verdict], list[FileEdit]]:
    """The assistant's failing tests that no code can pass (``self_evident``), and their removals: a check
    that cannot pass is no evidence, as one that cannot fail is none (``checks.vet``)."""
    found = [v for f in blamed(report, "", users) if (v := self_evident(f)) is not None]
    names: dict[str, set[str]] = {}
    for v in found:
        names.setdefault(v.path, set()).add(v.name)
    return found, [FileEdit(path, "whole", remove_tests(_read(root / path), tests)) for path, tests in names.items()]


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.is_file() else ""


class Judge:
    """Weighs a ``TEST:`` reply's blame with the code of the turn's other candidates."""

    def __init__(self, run: TurnRun) -> None:
        self.run = run
        self.known: dict[tuple[str, str], Verdict | None] = {}  # (test, first line of its failure) -> verdict

    def weigh(self, why: str) -> Iterator[Event]:
        """The verdicts on the tests a reply blames (``why``: its ``TEST:`` line), each an event. Without
        candidates of the turn's, ``Team.evidence`` samples coder replies whose code is only run here."""
        run = self.run
        if run.report is None or not (failures := blamed(run.report, why, run.user_tests)):
            return {}
        # a test that fails whatever the code is wrong, whether the reason names it or not
        failures += [f for f in blamed(run.report, "", run.user_tests) if f not in failures and self_evident(f)]
        for failure in failures:
            self.known.setdefault((failure.test_id, first_line(failure)), self_evident(failure))
        others: list[Tried] = []
        if any(self.known[(f.test_id, first_line(f))] is None for f in failures):
            others = [t for t in run.team.tried if t.applied and t.index != run.team.chosen]
            if not others:  # the turn sampled no candidates: sample some now, as evidence only
                others = yield from run.team.evidence()
        outcomes: dict[int, Elsewhere | None] | None = None
        verdicts: dict[str, Verdict] = {}
        for failure in failures:
            key = (failure.test_id, first_line(failure))
            verdict = self.known[key]
            if verdict is None:
                if not others:
                    continue
                if outcomes is None:
                    outcomes = {t.index: self._elsewhere(t) for t in others}
                verdict = self.known[key] = self._decide(failure, outcomes)
            verdicts[failure.test_id] = verdict
            yield run.s.emit(BlameWeighed(run.turn, run.round, verdict.test, verdict.decision, verdict.evidence))
        return verdicts

    def _decide(self, failure: TestFailure, outcomes: dict[int, Elsewhere | None]) -> Verdict:
        """The verdict from the candidates that wrote code of their own for what the test uses."""
        root = self.run.s.workspace.root
        path, _, name = failure.test_id.partition("::")
        uses = names_a_test_uses(_read(root / path), name.split("[", 1)[0])
        apart = {i: o.report for i, o in outcomes.items() if o is not None and differs(uses, o.code, o.carried)}
        if not apart and any(outcomes.values()):
            return Verdict(failure.test_id, UNKNOWN, "no other candidate wrote code of its own for what the test calls")
        return decide(failure, apart)

    def _elsewhere(self, tried: Tried) -> Elsewhere | None:
        """The tests as they are now, run on a scratch copy of the workspace holding this candidate's
        code instead of the turn's (None when its edits cannot be applied there)."""
        run = self.run
        code = code_edits(run, tried.reply)
        if not code:
            return None
        with scratch_copy(run, (p for p in run.edited if not is_test_path(p))) as scratch:
            carried = definitions(scratch)
            try:
                apply_edits(scratch, code)
            except (EditError, OSError):
                return None
            report = run.s.runner.run(scratch, run.cancel)
            written = definitions(scratch)
        if report.cancelled:
            raise TurnCancelled()
        return Elsewhere(report, written, carried)
