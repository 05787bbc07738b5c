"""A program's printed answer checked by agreement: the whole program written anew from every step.

In a program session (a script built step by step, ``Settings.program``) the tests only say that the
program runs; a wrong value passes them. On MTPB most failures are such values, and the same model asked
for the whole program at once gets more of them right than step by step (single-turn 78.2 % against
69.1 % multi-turn on the development split), but not the same ones: each framing misreads other steps.

So when a step asks the program to print and the program runs, two more programs are asked for, each
from all the session's steps at once: chatpkg's own request (the steps as one numbered list, the
program empty) and a plain one (no system prompt, no edit format). Their printed output is compared
with the step-by-step program's. The step-by-step program stays unless both rewrites ran, printed the
same, and it printed something else: two framings reaching one answer outvote the third (CodeT's
agreement, with printed output for the tests). When no two of the three agree and a rewrite printed
an answer, a third rewrite (chatpkg's request again, sampled) breaks the tie: agreeing with rewrite 2
it outvotes the program (MTPB 28: the program printed 17, rewrite 1 crashed, rewrite 2 printed 99),
agreeing with the program it confirms it. Its agreement with rewrite 1 counts for nothing: one framing
sampled twice shares its misreadings (MTPB 30: both set ``f = 5`` for "the positive integer 2").
Each rewrite is a candidate (``CandidateTried``), and the choice is a ``CandidateChosen`` with its
reason, as in ``team.py``. When the first rewrite prints what the program printed, the second is not
asked.

The steps are every request on the workspace's current line, those whose replies changed nothing
included (``SessionState.steps``): such a step is still part of the program asked for (MTPB 100's
"Remove the substring starting from the @" got the file back unchanged three times, and both
rewrites left it out because they were never told it).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from chatpkg.core.engine.events import CandidateChosen, CandidateTried, Event
from chatpkg.core.engine.team import CANDIDATE_TEMPERATURE, failed_ids
from chatpkg.core.models import Message
from chatpkg.core.prompts.context import PRINT_STEP, as_program_step, build_context
from chatpkg.core.prompts.roles import first_code_block, numbered_steps, program_messages
from chatpkg.core.runner import TestReport
from chatpkg.core.tokens import count_message_tokens

if TYPE_CHECKING:
    from chatpkg.core.engine.turn import TurnRun

ROLE = "rewriter"  # the requests' role in the transcript: the coder, asked for the whole program again


def steps_request(steps: list[str]) -> str:
    """Every step of the session so far, as one request for the whole program."""
    return f"Do all of these steps, in this order, in one program:\n{numbered_steps(steps)}"


def wanted(run: TurnRun, report: TestReport) -> bool:
    """Whether this turn's printed answer is cross-checked: a program session that samples candidates, a
    step that prints, after earlier steps (a first step asked alone is its own rewrite), and a program
    that ran and printed."""
    settings = run.s.settings
    printed = report.ok and report.program_ran and bool(report.program_output.strip())
    return (bool(settings.program) and settings.candidates > 0 and PRINT_STEP.search(run.text) is not None
            and bool(run.s.state.history()) and printed)


def agree(run: TurnRun, report: TestReport) -> Iterator[Event]:
    """The cross-check (module docstring); returns the report the turn goes on with."""
    run.answer_checked = True
    program = run.s.settings.program or ""
    steps = run.s.state.steps() + [run.text]
    texts = {0: run.edited.get(program, "")}
    outputs: dict[int, str | None] = {0: report.program_output}
    yield run.s.emit(CandidateTried(run.turn, 0, sorted(report.passed_ids), []))
    for index in (1, 2, 3):  # chatpkg's request, the plain one, chatpkg's again sampled
        if index == 2 and outputs[1] == outputs[0] or index == 3 and not _undecided(outputs):
            break
        plain = index == 2
        messages = program_messages(steps, program) if plain else _chatpkg_messages(run, steps, program)
        model = run.s.model.with_sampling(CANDIDATE_TEMPERATURE, index) if index == 3 else None
        yield run._request_event(count_message_tokens(messages), role=ROLE, candidate=index,
                                 messages=len(messages), plain=plain)
        reply = yield from run._ask(messages, role=ROLE, candidate=index, model=model)
        outputs[index], texts[index] = yield from _try(run, program, first_code_block(reply), index)
    chosen, why = _choose(outputs)
    yield run.s.emit(CandidateChosen(run.turn, chosen, len(outputs), why))
    run.notes.append(f"checked the printed answer against {len(outputs) - 1} rewrite(s) of the whole program; "
                     f"went on with {'the step-by-step program' if chosen == 0 else f'rewrite {chosen}'}: {why}")
    yield from run._write_whole(program, texts[chosen], chosen)
    return (yield from run._test(candidate=chosen))


def _chatpkg_messages(run: TurnRun, steps: list[str], program: str) -> list[Message]:
    """chatpkg's own request for the whole program: the steps as one request, the program empty."""
    files = {**run.s.workspace.text_files(), program: ""}
    return build_context(steps_request(steps), files, [], last_tests=None, edit_format=run.s.settings.edit_format,
                         budget=run.s.budget, program=program).messages


def _try(run: TurnRun, program: str, code: str | None, index: int) -> Iterator[Event]:
    """Rewrite ``index`` run in place of the program: what it printed (None when it has no code, did not
    run to the end, or failed a test) and its text."""
    if code is None or not code.strip():
        yield run.s.emit(CandidateTried(run.turn, index, [], ["(no code block)"]))
        return None, ""
    text = as_program_step(code if code.endswith("\n") else code + "\n", run.text)  # cleaned as a step is
    yield from run._write_whole(program, text, index)
    report = yield from run._test(candidate=index)
    yield run.s.emit(CandidateTried(run.turn, index, sorted(report.passed_ids), failed_ids(report)))
    return (report.program_output if report.ok and report.program_ran else None), text


def _undecided(outputs: dict[int, str | None]) -> bool:
    """Whether the first two rewrites leave the answer open: neither printed the program's answer nor
    the same as the other, and at least one printed an answer of its own (two crashes are no evidence)."""
    mine, first, second = outputs[0], outputs.get(1), outputs.get(2)
    printed = [o for o in (first, second) if o is not None]
    return bool(printed) and mine not in (first, second) and (first is None or first != second)


def _choose(outputs: dict[int, str | None]) -> tuple[int, str]:
    """The step-by-step program (0) unless two rewrites printed one answer that it did not."""
    mine, first, second, third = outputs[0], outputs.get(1), outputs.get(2), outputs.get(3)
    if first == mine:
        return 0, "rewrite 1 printed the same"
    if first is not None and first == second:
        return 1, "both rewrites printed the same, and the step-by-step program printed something else"
    if second == mine:
        return 0, "rewrite 2 printed the same; rewrite 1 did not"
    if 3 in outputs and third == mine:
        return 0, "rewrite 3 printed the same; rewrites 1 and 2 did not"
    if third is not None and third == second:  # not with rewrite 1: one framing, sampled twice, errs alike
        return 2, "rewrites 2 and 3 printed the same, and the step-by-step program printed something else"
    return 0, "no two programs printed the same: the step-by-step program stands"
