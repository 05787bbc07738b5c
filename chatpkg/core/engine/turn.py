"""One turn's rounds: context -> model -> edits -> tests -> repair -> commit.

``TurnRun`` holds what changes within a turn; each step is a small method
taking plain values, and each yields the events it produces.
"""

from __future__ import annotations

import functools
import re
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

from chatpkg.core.cancel import CancelToken, TurnCancelled
from chatpkg.core.engine import agreement, checks, inherited, verdict
from chatpkg.core.runner.report import is_test_path
from chatpkg.core.engine.events import (
    FORMAT_CAUSES,
    CheckChanged,
    EditsApplied,
    EditsPending,
    EditsRejected,
    ErrorOccurred,
    Event,
    ModelDelta,
    ModelReply,
    ModelRequest,
    Notice,
    RepairRound,
    TestsRun,
    TestsStarted,
    TurnCommitted,
    TurnEnded,
    TurnStarted,
)
from chatpkg.core.engine.team import CANDIDATE_TEMPERATURE, Team
from chatpkg.core.models import Message, Model, ModelError, Usage
from chatpkg.core.prompts.context import EXAMPLE_PATH, as_program_step
from chatpkg.core.prompts.repair import (
    asks_for_tests,
    blamed_test_message,
    no_tests_message,
    repair_message,
    test_blamed,
)
from chatpkg.core.prompts.runaway import RunawayGuard
from chatpkg.core.runner import TestFailure, TestReport
from chatpkg.core.tokens import count_message_tokens, count_tokens
from chatpkg.core.workspace import Workspace
from chatpkg.core.workspace.edits import (
    EditError,
    FileEdit,
    MalformedReply,
    UnsafePath,
    apply_edits,
    current_files,
    parse_edits,
    plan_edits,
)
from chatpkg.core.workspace.merge import home_file, is_python_path, top_level_names
from chatpkg.core.workspace.modules import dropped_self_imports
from chatpkg.core.workspace.secrets import is_secret

if TYPE_CHECKING:
    from chatpkg.core.engine.session import Session


def _self_imports_left_out(edits: list[FileEdit], written: dict[str, str]) -> list[tuple[str, str]]:
    """The imports of a file's own names from itself that writing the edits left out (``modules``)."""
    whole = [e for e in edits if e.kind in ("whole", "merge") and e.path in written and is_python_path(e.path)]
    return [(e.path, line) for e in whole for line in dropped_self_imports(e.content, written[e.path], e.path)]


def _off_the_example(edits: list[FileEdit], files: Callable[[], dict[str, str]], request: str) -> list[FileEdit]:
    """Edits addressed to the format example's file, which a sampled reply sometimes copies, sent to
    the one file that defines their code. The path stands when the repository has that file or the
    request names it; an edit with no such home is refused with the reason."""
    if EXAMPLE_PATH in request or not any(e.path == EXAMPLE_PATH for e in edits) or EXAMPLE_PATH in files():
        return edits
    placed = []
    for edit in edits:
        if edit.path != EXAMPLE_PATH:
            placed.append(edit)
            continue
        home = home_file(files(), edit.content) if edit.kind != "replace" else None
        if home is None:
            raise MalformedReply(
                f"{EXAMPLE_PATH} is the file of the example in the instructions, not a file of this repository. "
                "Put the path of the repository's file the code belongs in on the line before its code block."
            )
        placed.append(replace(edit, path=home))
    return placed


DEF_LINE = re.compile(r"^\s*(?:async\s+)?def\s+(test\w*)")


def _user_tests(session: Session) -> dict[str, dict[str, str]]:
    """The user's tests as the turn starts: the test files no turn created (the scaffold's included),
    each with its test functions. A test whose ``def`` line a turn's commit wrote (``git blame``; the
    commit carries the ``Chatpkg-Turn`` trailer) is the assistant's, in this turn and later ones. The
    checks chatpkg wrote from earlier requests' examples (``tests/test_turn<N>_examples.py``) are the
    user's: they are the user's words."""
    ws = session.workspace
    mine = session.state.assistant_tests
    users: dict[str, dict[str, str]] = {}
    for path, text in ws.text_files().items():
        if checks.is_examples(path):  # the request's examples: the user's words, whoever wrote the file
            users[path] = checks.test_functions(text)
            continue
        if not is_test_path(path) or path in mine:
            continue
        by_turns = {m[1] for message, line in ws.lines_by_commit(path)
                    if "\nChatpkg-Turn: " in message and (m := DEF_LINE.match(line))}
        users[path] = {n: d for n, d in checks.test_functions(text).items() if n.rsplit("::", 1)[-1] not in by_turns}
    return users

NOTHING_CHANGED = (
    "# Your reply changed nothing\n\nThe files already hold exactly the code you sent. "
    "Send the code that makes the requested step: only what is new or changed."
)
REMOVAL = re.compile(r"\b(remove|delete|drop|rename|move|replace|rewrite|refactor|get rid|split|merge)", re.I)


def _examples_said(paths: list[str]) -> str:
    return " (the requests' examples as checks)" if any(map(checks.is_examples, paths)) else ""


def commit_message(turn: int, text: str, tests: str, session_id: str) -> str:
    """First line <= 72 chars, the request in the body, trailers last."""
    first = " ".join(text.split())
    subject = f"turn {turn}: {first}"
    if len(subject) > 72:
        subject = subject[:71].rstrip() + "…"
    return f"{subject}\n\n{text.strip()}\n\nTests: {tests}\n\nChatpkg-Session: {session_id}\nChatpkg-Turn: {turn}\n"


class TurnRun:
    """One turn's rounds. Holds what changes within a turn; the steps are methods."""

    def __init__(self, session: Session, text: str, cancel: CancelToken) -> None:
        self.s = session
        self.text = text
        self.cancel = cancel
        self.turn = session.state.next_turn
        self.parent = session.workspace.head().sha
        self.round = 0
        self.format_repairs = 0
        self.test_repairs = 0
        self.edited: dict[str, str] = {}
        self.untested_edits = False  # edits applied since the last test run
        self.tests_asked = False  # the reply was asked for the tests the request asks for (once a turn)
        self.report: TestReport | None = None
        self.unchanged = False  # the last reply applied left every file as it was
        self.messages: list[Message] = []
        self.first_messages: list[Message] = []  # the coder's first request: candidates are sampled from it
        self.notes: list[str] = []  # what the outcome names: checks changed, the candidate chosen
        self.user_tests = _user_tests(session)  # never changed by a repair or a candidate, test by test
        self.team = Team(self)
        self.judge = verdict.Judge(self)  # the evidence when a repair says a test is wrong
        self.answer_checked = False  # a program's printed answer was checked by rewrites (agreement.py)
        self.stood: dict[str, str] = {}  # blamed tests the other candidates' code passes, with that evidence
        self.inherited = inherited.Inherited.from_report(session.state.last_report())
        self.left: list[TestFailure] = []  # failing as before the turn, not asked about: reported, not repaired
        # A whole-file reply that drops a definition is sent back, unless the user asked for removals.
        self.guard_deletions = session.settings.edit_format == "whole" and not REMOVAL.search(text)

    def run(self) -> Iterator[Event]:
        emit = self.s.emit
        yield emit(TurnStarted(self.turn, self.text, self.parent))
        try:
            yield from self._rounds()
            yield from self._finish()
            return
        except TurnCancelled:
            outcome, error = "cancelled", None
        except ModelError as exc:
            outcome, error = "error", ErrorOccurred(self.turn, "model", str(exc))
        except GeneratorExit:
            # The front end stopped listening mid-turn: leave nothing half done.
            for event in self._rollback():
                emit(event)
            emit(self._ended("cancelled"))
            raise
        except Exception as exc:  # a bug must not leave a half-applied turn behind
            detail = "".join(traceback.format_exception(exc)[-3:]).strip()
            outcome, error = "error", ErrorOccurred(self.turn, type(exc).__name__, f"{exc}\n{detail}")
        if error is not None:
            yield emit(error)
        for event in self._rollback():
            yield emit(event)
        yield emit(self._ended(outcome))

    def _rounds(self) -> Iterator[Event]:
        dropped = self._first_messages()
        yield from self.team.analyse()
        self.first_messages = list(self.messages)
        yield self._request_event(count_message_tokens(self.messages), dropped)
        reply = yield from self._ask()
        previous = None
        sampled: Model | None = None  # once a repair changed nothing: greedy decoding would only repeat it
        code_reply: str | None = None  # the code, green but untested, when the next round asked for its tests
        first_run = 0  # the round whose reply the tests first judge: candidates are sampled there
        while True:
            self.unchanged = False
            problem, cause = yield from self._apply(reply)
            if cause == "unchanged" and self.round == 0 and self.team.judges_unchanged():
                problem = None  # the request's own checks say whether the workspace holds it already
            if problem is None:
                reply, problem, cause = yield from self._check(reply, code_reply, first_run)
                if problem is None:
                    return
                if cause == "no_tests":
                    code_reply, first_run = reply, self.round + 1
            if not self._may_repair(cause):
                if self.untested_edits:  # e.g. asked for its tests, the model never sent a reply that applied
                    yield from self._test()
                return
            if reply == previous and sampled is not None:
                yield self.s.emit(Notice("The model sent the same reply again; no more repair rounds this turn."))
                return
            stuck = self.round > 0 and (reply == previous or self.unchanged)
            previous = reply
            yield from self._repair(reply, cause, problem)
            if stuck and sampled is None:
                sampled = self.s.model.with_sampling(CANDIDATE_TEMPERATURE, self.round)
                yield self.s.emit(Notice(f"The repair changed nothing; asking again with sampling (temperature "
                                         f"{CANDIDATE_TEMPERATURE:g}) instead of the same greedy reply."))
            reply = yield from self._ask(model=sampled)

    def _check(self, reply: str, code_reply: str | None, first_run: int) -> Iterator[Event]:
        """The tests on an applied reply; candidates when they first fail (once a turn). Returns the reply
        the turn goes on with, and the problem to send back with its cause (None: the turn is done).

        Code that passes but wrote none of the tests the request asks for is asked for them (``no_tests``):
        without tests of its own, a reply or a candidate passes every test there is. Asked only once the
        tests pass: asked before they ran, the model resent its code and a broken import it had added went
        unrepaired (units, turn 2)."""
        if code_reply is not None and self.round == first_run:
            self.team.keep_tests()
        checks_new = yield from self.team.write_checks()
        report = yield from self._test()
        if checks_new:
            report = yield from self.team.drop_hanging(report)
        red = self._red_for_this_turn(report)
        if red and self.round == first_run and not self.team.tried:
            reply, report = yield from self.team.candidates(reply, report, code_reply)
            red = self._red_for_this_turn(report)
        if not red and not self.team.tried and not self.answer_checked and agreement.wanted(self, report):
            report = yield from agreement.agree(self, report)  # a printed answer checked by two rewrites
            red = self._red_for_this_turn(report)
        if red and self.round > first_run:  # a repair round, with its hint, left them as they were
            report = yield from self._drop_unpassable(report)
            red = self._red_for_this_turn(report)
        if not red:
            if (untested := self._untested()) is not None:
                return reply, no_tests_message(untested), "no_tests"
            if self.left:  # the turn's own tests pass; the old red ones it inherited are named, not repaired
                self.notes.append(inherited.described(self.left))
            return reply, None, ""
        left = {f.test_id for f in self.left}
        return reply, "# The tests fail\n\n" + report.for_model(left) + self._whose_tests(report, left), "tests"

    def _drop_unpassable(self, report: TestReport) -> Iterator[Event]:
        """The assistant's tests that no code can pass (``store = store.Inventory()``), still failing after
        a repair: taken out of their files, each a visible ``check_changed``; the tests run again. Inventory's
        six such tests kept every later turn red when the model did not blame them."""
        found, removals = verdict.unpassable(self.s.workspace.root, report, self.user_tests)
        if not found:
            return report
        before = current_files(self.s.workspace.root, removals)
        yield self.s.emit(EditsPending(self.turn, self.round, sorted(e.path for e in removals)))
        written = apply_edits(self.s.workspace.root, removals)
        yield from self._record_edits(written, before, 0)
        yield from self._check_changes("", written, before, {v.test: v for v in found})
        self.tests_asked = True  # its tests were written and judged: not asked for again
        return (yield from self._test())

    def _untested(self) -> dict[str, list[str]] | None:
        """When the request asks for tests and the code the turn goes on with (the reply, or the candidate
        chosen) passes with none of its own (no test function added or changed), the names its code added,
        by file; None otherwise. Asked once per turn, within the format repairs."""
        if self.tests_asked or not asks_for_tests(self.text) or not self._may_repair("format"):
            return None
        ws = self.s.workspace
        for path in (p for p in self.edited if is_test_path(p) and p not in checks.chatpkgs(self.turn)):
            text = self.edited[path]
            if set(checks.test_functions(text)) - checks.unchanged_tests(ws.file_at(self.parent, path), text):
                return None
        self.tests_asked = True
        added = {}
        for path in sorted(p for p in self.edited if p.endswith(".py") and not is_test_path(p)):
            old = top_level_names(ws.file_at(self.parent, path) or "")
            names = sorted(n for n in top_level_names(self.edited[path]) - old if not n.startswith("_"))
            if names:
                added[path] = names
        return added

    def answers_for(self, report: TestReport) -> tuple[list[TestFailure], list[TestFailure]]:
        """The report's failures this turn answers for, and those it inherited unchanged and is not asked
        about (engine/inherited.py), as the workspace stands now."""
        return self.inherited.split(report.failures, self.text, self.s.workspace.root)

    def _red_for_this_turn(self, report: TestReport) -> bool:
        """Whether a failure the turn answers for is left (sets ``self.left``, the inherited ones)."""
        if report.ok:
            self.left = []
            return False
        own, self.left = self.answers_for(report)
        unlisted = report.failed + report.errors - len(report.failures)
        return bool(own) or not self.left or unlisted > 0 or report.timed_out

    def _whose_tests(self, report: TestReport, left: set[str] | frozenset[str] = frozenset()) -> str:
        """For a failing run: which tests the repair may correct (the assistant's) and which never (the user's).

        A test can only be wrong where its own expectation failed: an error raised in the code (an import
        that fails, a crash) is the code's, and the repair is told so instead of being offered the test.
        Ownership goes by test: one a turn added to the user's file is the assistant's."""
        assistants = self.s.state.assistant_tests | set(self.edited)
        ours: dict[str, list[TestFailure]] = {}  # the assistant's failing tests, by file
        users: list[str] = []
        for failure in (f for f in report.failures if f.test_id not in left):
            path, _, name = failure.test_id.partition("::")
            if path in self.user_tests and (not name or name in self.user_tests[path]) or checks.is_examples(path):
                users.append(path)
            elif path in self.user_tests or path in assistants:
                ours.setdefault(path, []).append(failure)
        crashed = {p: fs for p, fs in ours.items() if all(f.raised_in_code for f in fs)}
        own = [p for p in ours if p not in crashed]
        lines = []
        if own:
            # a file of the assistant's by its path; the tests it added to a user's file one by one
            named = [n for p in own for n in ([f.test_id for f in ours[p]] if p in self.user_tests else [p])]
            lines.append(
                f"{', '.join(named)} {'was' if len(named) == 1 else 'were'} written by you: if a failing test there "
                "is wrong (its expected value does not follow from the request), correct that test and start your "
                "reply with one line `TEST: <why>`; otherwise fix the code."
            )
        if crashed:
            origins = sorted({f.origin for fs in crashed.values() for f in fs})
            lines.append(f"{', '.join(crashed)}: the error is raised in the code ({', '.join(origins)}), not by a "
                         "test's expected value. Fix the code.")
        if users:
            lines.append(f"{', '.join(dict.fromkeys(users))}: the user's tests{_examples_said(users)}. Never change "
                         "them; fix the code.")
        lines += [f"{f.test_id}: you said this test is wrong, but {self.stood[f.test_id]}: it stands. Fix the code."
                  for f in report.failures if f.test_id in self.stood]
        return "\n\n# Which to fix, the code or the test?\n" + "\n".join(lines) if lines else ""

    def _first_messages(self) -> int:
        """The coder's first request (the turn's context); how much history did not fit."""
        context = self.s.next_context(self.text)
        self.messages = list(context.messages)
        return context.dropped_history

    def _request_event(self, tokens: int, dropped: int = 0, *, role: str = "coder", candidate: int = 0,
                       messages: int | None = None, plain: bool = False) -> Event:
        self.s.last_prompt_tokens = tokens
        count = len(self.messages) if messages is None else messages
        event = ModelRequest(
            self.turn, self.round, self.s.model.name, tokens, self.s.budget, count, dropped, role, candidate, plain
        )
        return self.s.emit(event)

    def _ask(self, messages: list[Message] | None = None, *, role: str = "coder", candidate: int = 0,
             model: Model | None = None) -> Iterator[Event]:
        """One request to the model: stream its reply (watched for loops) and record it."""
        messages = self.messages if messages is None else messages
        guard = RunawayGuard()
        usage = Usage(0, 0)
        started = time.monotonic()
        stream = (model or self.s.model).stream(messages, self.cancel)
        try:
            for chunk in stream:
                self.cancel.raise_if_cancelled()
                if isinstance(chunk, Usage):
                    usage = chunk
                elif chunk:
                    yield self.s.emit(ModelDelta(self.turn, self.round, chunk))
                    if guard.feed(chunk):
                        break
        finally:
            getattr(stream, "close", lambda: None)()
        self.cancel.raise_if_cancelled()
        reply = guard.reply()
        if guard.tripped:  # the stream was left before its usage came: count what was read
            usage = Usage(count_message_tokens(messages), count_tokens(guard.text))
            yield self.s.emit(Notice(guard.notice()))
        seconds = round(time.monotonic() - started, 3)
        yield self.s.emit(ModelReply(self.turn, self.round, reply, usage.prompt_tokens, usage.completion_tokens,
                                     seconds, usage.cost, role, candidate))
        return reply

    def parse(self, reply: str) -> list[FileEdit]:
        """The edits a reply asks for, as this session reads them (raises ``EditError``)."""
        settings = self.s.settings
        files = functools.cache(self.s.workspace.text_files)  # read once, and only for a block without a path
        edits = parse_edits(reply, edit_format=settings.edit_format, default_path=settings.program,
                            home=lambda code: home_file(files(), code))
        edits = _off_the_example(edits, files, self.text)
        if settings.program:
            edits = [replace(e, content=as_program_step(e.content, self.text)) if e.path == settings.program
                     else e for e in edits]
        return edits

    def _apply(self, reply: str, candidate: int = 0) -> Iterator[Event]:
        root = self.s.workspace.root
        blames = self.round > 0 and self.report is not None and not self.report.ok and test_blamed(reply) is not None
        verdicts: dict[str, verdict.Verdict] = {}
        removals: list[FileEdit] = []
        try:
            edits = self.parse(reply)
            if blames:
                verdicts = yield from self.judge.weigh(test_blamed(reply) or "")
                self.stood |= {t: v.evidence for t, v in verdicts.items() if v.decision == verdict.STANDS}
                edits, removals = verdict.settle(root, edits, verdicts)
            self._refuse_left_out(edits)
            edits = yield from self._spare_examples(edits)
            self._refuse_user_tests(edits, candidate)
            before = current_files(root, edits + removals)
            yield self.s.emit(EditsPending(self.turn, self.round, sorted({e.path for e in edits + removals})))
            written = apply_edits(root, edits, guard_deletions=self.guard_deletions)
            written |= apply_edits(root, removals)  # wrong tests taken out, by the evidence: never guarded
            self.tests_asked |= bool(removals)  # its tests were written and judged: not asked for again
        except EditError as exc:
            yield self.s.emit(EditsRejected(self.turn, self.round, str(exc)))
            return f"# Your reply could not be applied\n\n{exc}", "format"
        yield from self._record_edits(written, before, candidate)
        for path, line in _self_imports_left_out(edits, written):
            yield self.s.emit(Notice(f"Left out `{line}` in {path}: the file defines those names itself, so the "
                                     "import was circular."))
        for path in sorted({e.path for e in edits if e.cut}):
            self.notes.append(f"the reply was cut off inside {path}: its complete tests were kept")
            yield self.s.emit(Notice(f"The reply was cut off inside {path}; its complete tests were kept."))
        yield from self._check_changes(reply, written, before, verdicts)
        if all(before.get(p) == t.encode("utf-8") for p, t in written.items()) and (written or verdicts):
            self.unchanged = True
            if blames:  # evidence, not "nothing changed"
                return blamed_test_message(self.text, self.report, self.stood), "tests"
            return NOTHING_CHANGED, "unchanged"
        return None, ""

    def _write_whole(self, path: str, text: str, candidate: int = 0) -> Iterator[Event]:
        """``text`` as the whole of ``path``, written by chatpkg (checks, a rewrite) and recorded as an edit."""
        root = self.s.workspace.root
        edits = [FileEdit(path, "whole", text)]
        before = current_files(root, edits)
        yield self.s.emit(EditsPending(self.turn, self.round, [path]))
        yield from self._record_edits(apply_edits(root, edits), before, candidate)

    def _record_edits(self, written: dict[str, str], before: dict[str, bytes | None], candidate: int) -> Iterator[Event]:
        self.edited.update(written)
        self.untested_edits = True
        blobs: dict[str, str | None] = {p: Workspace.blob_id(t) for p, t in written.items()}
        created = sorted(p for p in written if before.get(p) is None)
        yield self.s.emit(EditsApplied(self.turn, self.round, blobs, created, candidate))

    def _spare_examples(self, edits: list[FileEdit]) -> Iterator[Event]:
        """The checks chatpkg wrote from the requests' examples are the user's words, and chatpkg's to write:
        a reply that edits one loses that edit (named in the outcome), not the rest. The first reply too:
        the embedded model copies what it sees, and added its own test to turn 1's file in turn 2."""
        root = self.s.workspace.root
        spared = sorted({e.path for e in edits if checks.is_examples(e.path) and (root / e.path).exists()})
        for path in spared:
            note = f"left {path} as it was: it holds the user's examples"
            if note not in self.notes:  # once a turn, however many replies tried
                self.notes.append(note)
            yield self.s.emit(Notice(f"The reply rewrote {path}, the checks from the request's examples; "
                                     "that edit was dropped."))
        return [e for e in edits if e.path not in spared]

    def _refuse_user_tests(self, edits: list[FileEdit], candidate: int) -> None:
        """A repair or a candidate may not change or remove the user's tests: they say what is right. The
        tests a turn added to the user's files are the assistant's, and may be corrected."""
        if self.round == 0 and candidate == 0:
            return  # the first reply does what the request asks, tests included
        touched = [e for e in edits if e.path in self.user_tests]
        planned = plan_edits(self.s.workspace.root, touched) if touched else {}
        after = {path: checks.test_functions(text) for path, text in planned.items()}  # each file parsed once
        theirs = [f"{path}::{name}" for path in sorted(after)
                  for name, old in self.user_tests[path].items() if after[path].get(name) != old]
        if theirs:
            raise UnsafePath(
                f"{', '.join(theirs)}: the user's tests. A repair never changes or removes them; "
                "fix the code so that they pass."
            )

    def _check_changes(self, reply: str, written: dict[str, str], before: dict[str, bytes | None],
                       verdicts: dict[str, verdict.Verdict]) -> Iterator[Event]:
        """Every change a repair makes to the assistant's own tests is an event, named in the outcome,
        with the evidence for it when the other candidates' code gave some (engine/verdict.py)."""
        if self.round == 0:
            return
        blame = test_blamed(reply) or ""
        for path in sorted(p for p in written if is_test_path(p) and before.get(p) is not None):
            old = before[path]
            for test, change in checks.changes(old.decode("utf-8", "replace") if old else None, written[path]):
                evidence = verdicts.get(f"{path}::{test}")
                why = "; ".join(filter(None, [blame, evidence.evidence if evidence else ""]))
                yield self.s.emit(CheckChanged(self.turn, self.round, path, test, change, why))
                self.notes.append(f"changed its own test {path}::{test} ({change})" + (f": {why}" if why else ""))

    def _refuse_left_out(self, edits: list[FileEdit]) -> None:
        """Files .chatpkgignore names are the user's alone: the model neither sees nor writes them."""
        kept = sorted(self.s.workspace.left_out([e.path for e in edits if not is_secret(e.path)]))
        if kept:
            raise UnsafePath(
                f"Refusing to write {', '.join(kept)}: the user keeps it out of chatpkg's hands "
                "(.chatpkgignore). Make the step in other files."
            )

    def _test(self, candidate: int = 0) -> Iterator[Event]:
        yield self.s.emit(TestsStarted(self.turn, self.round))
        report = self.s.runner.run(self.s.workspace.root, self.cancel)
        if report.cancelled:
            raise TurnCancelled()
        self.report = report
        self.untested_edits = False
        yield self.s.emit(TestsRun(self.turn, self.round, report.to_dict(), candidate))
        return report

    def _may_repair(self, cause: str) -> bool:
        settings = self.s.settings
        if cause in FORMAT_CAUSES:
            return self.format_repairs < settings.max_format_repairs
        return self.test_repairs < settings.max_repairs

    def _repair(self, reply: str, cause: str, problem: str) -> Iterator[Event]:
        if cause in FORMAT_CAUSES:
            self.format_repairs += 1
            used, budget = self.format_repairs, self.s.settings.max_format_repairs
        else:
            self.test_repairs += 1
            used, budget = self.test_repairs, self.s.settings.max_repairs
        self.round += 1
        yield self.s.emit(RepairRound(self.turn, self.round, cause, used, budget))
        # chatpkg's checks from the request's examples are not the model's to resend: shown as "files you
        # edited", the model copied them back instead of fixing the code (units turn 2, 9 of 9 rounds)
        shown = sorted(p for p in self.edited if not checks.is_examples(p))
        current = {p: (self.s.workspace.root / p).read_text(encoding="utf-8") for p in shown}
        self.messages += [
            {"role": "assistant", "content": reply},
            {"role": "user", "content": repair_message(problem, current, self.s.workspace.text_files(), self.text)},
        ]
        yield self._request_event(count_message_tokens(self.messages))

    def _finish(self) -> Iterator[Event]:
        ws = self.s.workspace
        changed = sorted(set(self.edited) & set(ws.changed_paths()))
        if not changed:
            yield self.s.emit(self._ended("no_edits"))
            return
        tests = self.report.summary() if self.report else "not run"
        if self.report is not None and not self.report.ok:  # never carried into the next turn silently
            self.notes.append("the tests still fail: the next turn is shown the failures and told to fix them")
        message = commit_message(self.turn, self.text, tests, self.s.session_id)
        commit = ws.commit_paths(changed, message)
        ws.set_ref(f"{self.s.session_id}/turn-{self.turn}", commit.sha)
        subject = message.split("\n", 1)[0]
        yield self.s.emit(TurnCommitted(self.turn, commit.sha, commit.tree, subject, self.parent))
        yield self.s.emit(self._ended("committed", commit.sha, changed))

    def _ended(self, outcome: str, commit: str | None = None, files: list[str] | None = None) -> TurnEnded:
        rounds = self.round + 1
        tests = self.report.summary() if self.report else ""
        return TurnEnded(
            self.turn, outcome, rounds, self.format_repairs, self.test_repairs, tests, commit, files or [],
            list(self.notes),
        )

    def _rollback(self) -> list[Event]:
        """Put back the files this turn wrote; say so if even that fails."""
        if not self.edited:
            return []
        ws = self.s.workspace
        try:
            head = ws.head().sha
            if head != self.parent and ws.parent_of(head) == self.parent:
                ws.move_head(self.parent)  # the commit failed half-way, after moving the branch
            ws.restore_paths(self.parent, sorted(self.edited))
        except Exception as exc:  # the turn must still end, and say what is left behind
            left = ", ".join(sorted(self.edited))
            return [ErrorOccurred(self.turn, "rollback", f"could not restore {left}: {exc}")]
        return []
