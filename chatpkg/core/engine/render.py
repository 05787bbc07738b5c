"""Plain-text lines for events, shared by the REPL, replay and scripts.

Front ends with richer widgets may render events their own way; this is the
one place that says, in words, what an event means to the user.
"""

from __future__ import annotations

from chatpkg.core.engine import checks
from chatpkg.core.engine.events import (
    BlameWeighed,
    CandidateChosen,
    CandidateTried,
    CheckChanged,
    ChecksWritten,
    EditsApplied,
    EditsRejected,
    ErrorOccurred,
    Event,
    ModelRequest,
    Notice,
    RepairRound,
    SessionResumed,
    SettingsChanged,
    TestsRun,
    TurnCommitted,
    TurnEnded,
    TurnRedone,
    TurnUndone,
    UserEditsCommitted,
)
from chatpkg.core.runner import TestReport

INDENT = "  "
ROLE_STEPS = {"tester": "tester: writing checks from the request", "analyst": "analyst: reading the request"}
PRINTED_LINES = 10


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def describe_event(event: Event) -> str | None:
    """One or more lines saying what happened; None for events shown otherwise."""
    text = _describe(event)
    if text is None:
        return None
    return "\n".join(INDENT + line for line in text.splitlines())


def _describe(event: Event) -> str | None:
    if isinstance(event, EditsApplied):
        return "edited: " + ", ".join(sorted(event.files))
    if isinstance(event, EditsRejected):
        return "reply not applied: " + event.reason
    if isinstance(event, TestsRun):
        report = TestReport.from_dict(event.report)
        after = f"  (after {_plural(event.round, 'repair round')})" if event.round else ""
        return f"tests: {report.summary()}{after}" + _printed(report)
    if isinstance(event, RepairRound):
        why = {"tests": "the tests fail", "no_tests": "the reply has none of the tests the request asks for",
               "unchanged": "the reply changed nothing"}.get(event.cause, "the reply could not be applied")
        return f"repair {event.used}/{event.budget}: {why}"
    if isinstance(event, TurnCommitted):
        return f"committed {event.commit[:7]}  turn {event.turn}"
    if isinstance(event, TurnEnded):
        return _describe_end(event)
    if isinstance(event, ErrorOccurred):
        return f"error: {event.message}"
    if isinstance(event, UserEditsCommitted):
        return f"committed your own edits ({', '.join(sorted(event.files))}) as {event.commit[:7]}"
    if isinstance(event, TurnUndone):
        return f"undid turn {event.turn}: back at {event.to_commit[:7]} ({event.from_commit[:7]} kept for /redo)"
    if isinstance(event, TurnRedone):
        return f"redid turn {event.turn}: at {event.to_commit[:7]}"
    if isinstance(event, ModelRequest):
        if event.role == "rewriter":
            how = ("asked plainly, to check what it prints" if event.plain
                   else "one request with every step, sampled, to break the tie" if event.candidate == 3
                   else "one request with every step, to check what it prints")
            return f"rewrite {event.candidate}: the whole program again, {how}"
        if event.role != "coder":
            return ROLE_STEPS.get(event.role, event.role)
        if event.plain:
            return f"candidate {event.candidate}: asking plainly (the request and the one file, no edit format)"
        return f"candidate {event.candidate}: asking again, sampling" if event.candidate else None
    if isinstance(event, ChecksWritten):
        if not event.path:
            return "tester: no checks kept (" + "; ".join(f"{k}: {v}" for k, v in event.rejected.items()) + ")"
        rejected = f"; rejected {', '.join(f'{k} ({v})' for k, v in event.rejected.items())}" if event.rejected else ""
        return f"{_whose_checks(event.path)}: {len(event.tests)} check(s) in {event.path}{rejected}"
    if isinstance(event, CandidateTried):
        return f"candidate {event.candidate}: {len(event.passed)} passed, {len(event.failed)} failed"
    if isinstance(event, CandidateChosen):
        return f"went on with candidate {event.candidate} of {event.tried}: {event.why}"
    if isinstance(event, CheckChanged):
        why = f": {event.reason}" if event.reason else ""
        return f"changed its own test {event.path}::{event.test} ({event.change}){why}"
    if isinstance(event, BlameWeighed):
        return f"the model said {event.test} is wrong; {event.decision}: {event.evidence}"
    if isinstance(event, SettingsChanged):
        changes = ", ".join(f"{name} {old} → {new}" for name, (old, new) in event.changes.items())
        return f"changed {changes}" + (f" ({event.why})" if event.why else "")
    if isinstance(event, SessionResumed):
        return f"resumed the session at {event.head[:7]}"
    if isinstance(event, Notice):
        return event.message
    return None


def _printed(report: TestReport, most: int = PRINTED_LINES) -> str:
    """What the program printed, its last lines, under the test line."""
    if not report.program_ran:
        return ""
    lines = report.printed.splitlines()
    if len(lines) > most:
        lines = [f"... {len(lines) - most} more lines above", *lines[-most:]]
    return f"\n{report.program} printed:\n" + "\n".join(INDENT + line for line in lines)


def _describe_end(event: TurnEnded) -> str | None:
    if event.outcome == "committed":
        return "\n".join(event.notes) or None
    if event.outcome == "no_edits":
        return "no edits: nothing committed"
    if event.outcome == "cancelled":
        return "cancelled: nothing committed"
    if event.outcome == "interrupted":
        return "interrupted (chatpkg stopped mid-turn): nothing committed, its files put back"
    return "turn failed: nothing committed"


def _whose_checks(path: str) -> str:
    """Who the checks in a file chatpkg wrote come from (``engine/checks.py``, ``engine/crosscheck.py``)."""
    if checks.is_examples(path):
        return "the request's examples"
    if "_candidate" in path:
        return "other candidates' checks the chosen code passes"
    return "tester"
