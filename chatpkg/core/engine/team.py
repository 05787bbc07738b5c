"""A turn's team beyond the coder: the analyst, the tester, and candidates chosen by the checks.

Each role is one request with its own short prompt (``prompts/roles.py``),
recorded like the coder's (``ModelRequest``/``ModelReply`` with their role).
When the first reply fails the tests, up to ``Settings.candidates`` more coder
replies are sampled from the same prompt (temperature > 0, a seed each; a
local engine reuses the prompt's KV cache), candidate 1 asked plainly instead
when the turn is about one file, existing or new (``_plain_target``), each tried against the tests,
stopping at the first that passes them all. The one that passes most tests
goes on; ties go to the reply whose result more candidates share and that
passes more (CodeT's dual agreement).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chatpkg.core.engine import checks, crosscheck, interface
from chatpkg.core.engine.events import CandidateChosen, CandidateTried, ChecksWritten, Event, Notice
from chatpkg.core.engine.examples import as_tests, examples, stated_in
from chatpkg.core.prompts.repair import asks_for_tests
from chatpkg.core.prompts.roles import (
    analyst_messages,
    plain_edit,
    plain_messages,
    plain_target,
    tester_messages,
    with_analysis,
)
from chatpkg.core.runner import TestReport
from chatpkg.core.runner.report import is_test_path
from chatpkg.core.tokens import count_message_tokens
from chatpkg.core.workspace.edits import EditError, parse_edits

if TYPE_CHECKING:
    from chatpkg.core.engine.turn import TurnRun

CANDIDATE_TEMPERATURE = 0.8
EVIDENCE_SAMPLES = 2  # coder replies sampled for a blamed test when the turn has no candidates


@dataclass(frozen=True)
class Tried:
    """A candidate and what the tests said of it: the shared checks it passed (not the tests it wrote
    itself, which any candidate could pass by writing more of them) and how many tests failed in all."""

    index: int
    reply: str
    passed: frozenset[str]
    failed: int
    applied: bool
    cross: frozenset[str] = frozenset()  # the other candidates' checks its code passes (crosscheck.py)
    pooled: frozenset[str] | None = None  # every candidate's checks it passes, its own included (None: not run)

    @property
    def score(self) -> int:
        return len(self.passed) + len(self.cross) if self.applied else -1


def choose(tried: list[Tried]) -> tuple[Tried, str]:
    """The candidate to go on with, and why: most checks passed (shared, and the other candidates'), then
    agreement, then the fewest failing tests in all, then the earliest. Where none passed a check, that
    every one failed is no agreement (HumanEval/26's three replies: "3 candidate(s) agree with it")."""
    best = max(t.score for t in tried)
    top = [t for t in tried if t.score == best]
    if best <= 0:
        chosen = max(top, key=lambda t: (-t.failed, -t.index))
        rest = "the only one whose edits applied" if len(top) == 1 and best == 0 else \
            "the one with the fewest failing tests, the earliest of those"
        return chosen, f"none passed a check; {rest}"
    if len(top) == 1:
        crossed = f": {len(top[0].cross)} of them the other candidates'" if top[0].cross else ""
        return top[0], f"it passed the most checks ({best}{crossed})"

    def agreement(t: Tried) -> int:  # how many candidates reached the very same result
        return sum(1 for o in tried if o.applied and o.passed == t.passed and o.pooled == t.pooled)

    chosen = max(top, key=lambda t: (agreement(t), -t.failed, -t.index))  # best >= 1 here: a tie that passed
    return chosen, f"tied at {best} checks passed; {agreement(chosen)} candidate(s) agree with it"


class Team:
    """The steps the team adds to a turn; each yields its events, like the turn's own steps."""

    def __init__(self, run: TurnRun) -> None:
        self.run = run
        team = run.s.settings.team
        self.analyst = team.startswith("analyst")
        self.tester = "tester" in team
        self.analysis = ""
        self.checks_written = False
        self.tried: list[Tried] = []  # this turn's candidates, for the evidence on a blamed test (verdict.py)
        self.chosen = 0
        self.kept: dict[str, str] = {}  # the tests the coder wrote when asked for them: every candidate's checks

    # --- the analyst -----------------------------------------------------------------

    def analyse(self) -> Iterator[Event]:
        """Before the coder: the functions, their results on the examples, the edge cases."""
        if not self.analyst:
            return
        run = self.run
        messages = analyst_messages(run.text)
        yield run._request_event(count_message_tokens(messages), role="analyst", messages=len(messages))
        self.analysis = yield from run._ask(messages, role="analyst")
        run.messages = with_analysis(run.messages, self.analysis)

    # --- the tester ------------------------------------------------------------------

    def write_checks(self) -> Iterator[Event]:
        """Once per turn, after the first code that applies: the user's examples as checks when the
        team has a tester or samples candidates (they are what candidates are chosen by), then the
        tester's checks, vetted, written. Returns whether the tester's checks were written just now."""
        if self.checks_written or not self._writes_checks():
            return False
        self.checks_written = True
        yield from self._write_examples()
        if not self.tester:
            return False
        run = self.run
        path = checks.checks_path(run.turn)
        messages = tester_messages(run.text, run.s.workspace.text_files(), path, self.analysis)
        yield run._request_event(count_message_tokens(messages), role="tester", messages=len(messages))
        reply = yield from run._ask(messages, role="tester")
        vetted = checks.vet(_checks_source(reply, path))
        if not vetted.tests:
            yield run.s.emit(ChecksWritten(run.turn, "", [], vetted.rejected))
            return False
        yield from self._write(path, vetted)
        return True

    def drop_hanging(self, report: TestReport) -> Iterator[Event]:
        """After the tester's checks first ran: one that did not finish in its time is no evidence. It is
        taken out of the checks file (the reason recorded, like a check that cannot fail) and the tests run
        again without it; returns the report the turn goes on with. The user's examples stay: a literal
        call of theirs that hangs is the code's fault."""
        run = self.run
        path = checks.checks_path(run.turn)
        hung = {f.test_id.split("::", 1)[1] for f in report.failures if f.hung and f.test_id.startswith(path + "::")}
        if not hung or path not in run.edited:
            return report
        limit = getattr(run.s.runner, "per_test_timeout", None)
        why = f"did not finish in {limit:g} s: a check that hangs is no evidence" if limit else "it hangs"
        vetted = checks.without(run.edited[path], hung)
        rejected = {name: why for name in sorted(hung)}
        if vetted.tests:
            yield from self._write(path, checks.Vetted(vetted.source, vetted.tests, rejected))
        else:  # nothing left of the file: put it back to what it was before the turn (absent)
            run.s.workspace.restore_paths(run.parent, [path])
            run.edited.pop(path, None)
            yield run.s.emit(ChecksWritten(run.turn, "", [], rejected))
        return (yield from run._test())

    def judges_unchanged(self) -> bool:
        """Whether a first reply that changes nothing is judged by the request's own checks (the names it
        states, ``from textkit import truncate``) rather than sent back as unchanged: textkit's export turn
        resent slug.py as it was three times and ended with no edit and nothing exported, where the
        failing import would have said why (and what to edit: the export hint)."""
        return not self.checks_written and self._writes_checks() and bool(interface.stated_names(self.run.text))

    def _writes_checks(self) -> bool:
        """Whether the turn's checks are written: the tester's, or the user's examples the candidates are
        chosen by."""
        return self.tester or self.run.s.settings.candidates > 0

    def _write_examples(self) -> Iterator[Event]:
        """The user's words as checks: the docstring examples the edited files held before the turn, the
        calls the request states for the functions the turn's code defines (the coder's docstrings are
        not the user's words; its function names are where the request's calls go), and the names the
        request puts in named modules and the module its ``python -m pkg`` runs (``engine/interface.py``)."""
        run = self.run
        ws = run.s.workspace
        code = [p for p in run.edited if p.endswith(".py") and not is_test_path(p)]
        before = {p: ws.file_at(run.parent, p) for p in code}
        found = examples({p: t for p, t in before.items() if t})
        found += [e for e in stated_in(run.text, {p: run.edited[p] for p in code}) if e not in found]
        source = "\n\n".join(filter(None, [as_tests(found), interface.as_tests(interface.stated_names(run.text)),
                                           interface.command_test(run.text, ws.text_files())]))
        if source:
            yield from self._write(checks.examples_path(run.turn), checks.vet(source))

    def _write(self, path: str, vetted: checks.Vetted) -> Iterator[Event]:
        run = self.run
        yield from run._write_whole(path, vetted.source)
        yield run.s.emit(ChecksWritten(run.turn, path, list(vetted.tests), vetted.rejected))

    # --- candidates --------------------------------------------------------------------

    def keep_tests(self) -> None:
        """The coder's first reply wrote no tests and the next one wrote them (turn.py): those test files
        stay as they are now while candidates come and go, and judge each of them like the tester's checks."""
        run = self.run
        ours = checks.chatpkgs(run.turn)
        self.kept = {p: t for p, t in run.edited.items() if is_test_path(p) and p not in ours}

    def candidates(self, reply: str, report: TestReport, code_reply: str | None = None) -> Iterator[Event]:
        """More coder replies when the first fails; returns the reply and report the turn goes on with.
        ``code_reply``: the first reply's code, when the reply being judged only added the tests it was
        asked for (candidate 0 is then that code with those tests)."""
        run = self.run
        extra = run.s.settings.candidates
        if extra <= 0:
            return reply, report
        asks = asks_for_tests(run.text)
        tried = [self._tried(0, code_reply or reply, report)]
        tests = {0: self._own_tests()}
        yield run.s.emit(CandidateTried(run.turn, 0, sorted(tried[0].passed), failed_ids(report)))
        for index in range(1, extra + 1):
            outcome = yield from self._sample(index)
            tried.append(outcome)
            tests[index] = self._own_tests() if outcome.applied else {}
            if outcome.applied and outcome.failed == 0 and (tests[index] or outcome.passed and not asks):
                break  # a full pass; code alone is none where tests were asked for (the others' run later)
        pooled = crosscheck.pool(run, tests)
        tried = crosscheck.cross_check(run, tried, pooled, self._candidates_files())
        chosen, why = choose(tried)
        self.tried, self.chosen = tried, chosen.index
        if chosen is not tried[-1]:
            yield from self._reapply(chosen)
        yield run.s.emit(CandidateChosen(run.turn, chosen.index, len(tried), why))
        run.notes.append(f"tried {len(tried)} candidates; went on with candidate {chosen.index}: {why}")
        agreed = crosscheck.agreed(run.turn, pooled, tried, chosen, tests[chosen.index])
        for path, source in agreed.items():  # vetted in the pool: written as they are, with their header
            yield from self._write(path, checks.Vetted(source, tuple(checks.test_functions(source))))
        if agreed or chosen is not tried[-1]:
            yield from run._test(candidate=chosen.index)
        report = run.report or report
        return (reply if chosen.index == 0 else chosen.reply), report

    def evidence(self) -> Iterator[Event]:
        """Coder replies to the turn's first request, sampled when a repair blames a test and the turn
        has no candidates: the verdict runs their code beside the workspace (never in it). Once a turn."""
        run = self.run
        if self.tried:
            return [t for t in self.tried if t.applied and t.index != self.chosen]
        yield run.s.emit(Notice(f"Weighing the blamed test: sampling {EVIDENCE_SAMPLES} more replies to the "
                                "turn's request, whose code runs beside the workspace as evidence."))
        for index in range(1, EVIDENCE_SAMPLES + 1):
            reply = yield from self._sampled_reply(index)
            self.tried.append(Tried(index, reply, frozenset(), 0, applied=True))
        return list(self.tried)

    def _sampled_reply(self, index: int) -> Iterator[Event]:
        """Coder reply ``index`` to the turn's first request, sampled (temperature, seed ``index``)."""
        run = self.run
        model = run.s.model.with_sampling(CANDIDATE_TEMPERATURE, index)
        messages = run.first_messages
        yield run._request_event(count_message_tokens(messages), role="coder", candidate=index,
                                 messages=len(messages))
        return (yield from run._ask(messages, candidate=index, model=model))

    def _sample(self, index: int) -> Iterator[Event]:
        run = self.run
        yield from self._put_back_code()  # the workspace as before the turn, but for the checks and kept tests
        if index == 1 and (target := self._plain_target()) is not None:
            reply = yield from self._plain_reply(*target)
        else:
            reply = yield from self._sampled_reply(index)
        problem, _ = yield from run._apply(reply, candidate=index)
        if problem is not None:
            yield run.s.emit(CandidateTried(run.turn, index, [], ["(its edits could not be applied)"]))
            return Tried(index, reply, frozenset(), 0, applied=False)
        report = yield from run._test(candidate=index)
        yield run.s.emit(CandidateTried(run.turn, index, sorted(report.passed_ids), failed_ids(report)))
        return self._tried(index, reply, report)

    def _plain_target(self) -> tuple[str, dict[str, str]] | None:
        """The file candidate 1 is asked about plainly (``prompts/roles.plain_messages``) with the workspace's
        files, or None: only in the ``merge`` format (a reply with the function alone keeps the file's other
        code). Read once the previous candidate is put back: a file candidate 0 created is a new file."""
        run = self.run
        if run.s.settings.edit_format != "merge":
            return None
        files = run.s.workspace.text_files()
        path = plain_target(run.text, files)
        return (path, files) if path is not None else None

    def _plain_reply(self, path: str, files: dict[str, str]) -> Iterator[Event]:
        """Candidate 1 asked another way: the request and ``path`` as it was before the turn (the other
        modules' signatures beside it), no system prompt, greedy. A second framing answers differently
        where sampling the first mostly repeats it. It writes code only: when the request asks for tests,
        a candidate chosen without them is asked for them afterwards (``TurnRun._untested``)."""
        run = self.run
        code_only = asks_for_tests(run.text)
        messages = plain_messages(run.text, path, files, code_only=code_only)
        yield run._request_event(count_message_tokens(messages), role="coder", candidate=1, messages=len(messages),
                                 plain=True)
        reply = yield from run._ask(messages, candidate=1)
        return plain_edit(reply, path, code_only=code_only)

    def _tried(self, index: int, reply: str, report: TestReport) -> Tried:
        """What the tests say of a candidate; a red test the turn inherited unchanged is not its failure."""
        own = {p for p in self._candidates_files() if is_test_path(p)}
        shared = frozenset(t for t in report.passed_ids if t.split("::", 1)[0] not in own)
        inherited = len(self.run.answers_for(report)[1]) if not report.ok else 0
        return Tried(index, reply, shared, report.failed + report.errors - inherited, applied=True)

    def _own_tests(self) -> dict[str, str]:
        """The test files the candidate now in the workspace wrote."""
        return {p: self.run.edited[p] for p in self._candidates_files() if is_test_path(p)}

    def _candidates_files(self) -> list[str]:
        """What the current candidate wrote: every file edited this turn but the checks chatpkg wrote and
        the kept tests as they were kept."""
        run = self.run
        keep = checks.chatpkgs(run.turn)
        return sorted(p for p in run.edited if p not in keep and self.kept.get(p) != run.edited[p])

    def _put_back_code(self) -> Iterator[Event]:
        """Undo the previous candidate's edits (the tester's checks and the kept tests stay) before the
        next is applied."""
        run = self.run
        paths = self._candidates_files()
        if paths:
            run.s.workspace.restore_paths(run.parent, paths)
            for path in paths:
                run.edited.pop(path, None)
        for path, text in self.kept.items():
            if path in paths:
                target = run.s.workspace.root / path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
                run.edited[path] = text
        yield from ()

    def _reapply(self, chosen: Tried) -> Iterator[Event]:
        run = self.run
        yield from self._put_back_code()
        yield run.s.emit(Notice(f"going on with candidate {chosen.index}"))
        yield from run._apply(chosen.reply, candidate=chosen.index)


def failed_ids(report: TestReport) -> list[str]:
    """A candidate's failures for its ``candidate`` event: the failing tests, or the run's summary."""
    return [f.test_id for f in report.failures] or ([f"{report.summary()}"] if not report.ok else [])


def _checks_source(reply: str, path: str) -> str:
    """The tester's file: the first fenced block of its reply, whatever path it wrote above it, or none.

    Read as a merge-format reply, whose ``default_path`` takes a block without a path (what the embedded
    model sends); the block's text is the same in every format.
    """
    try:
        edits = parse_edits(reply, edit_format="merge", default_path=path)
    except EditError:
        return reply if "def test" in reply else ""
    return edits[0].content if edits else ""
