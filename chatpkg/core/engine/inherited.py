"""Red tests a turn inherits: reported, not repaired.

A turn that ends red hands its failing tests to the next one, whose context shows them and asks
for a fix in the first reply. On the package benchmark a right test the embedded model could not
meet (textkit's ``slugify`` must lowercase) then took every later turn's candidates and repair
rounds, turn after turn, while those turns' own requests went unrepaired: 0 of 4 turns green.

So a turn answers for the failures it caused or changed. A test that failed before the turn, and
still fails with the very same first line (the same values, the same error), is *inherited*: the
turn's code did not change what it checks. It is named to the user and in the turn's outcome, and
left out of the candidates and the repairs, unless the request is about it: the request names the
test or one of the code's names the test calls (then a repair is what the user asked for).
A failure that changed, a test that was green before, a whole file that fails to collect and the
program's run are always the turn's own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chatpkg.core.engine import verdict
from chatpkg.core.runner import TestFailure, TestReport


@dataclass(frozen=True)
class Inherited:
    """The failures of the report the turn starts from: test id -> the first line of its failure."""

    before: dict[str, str]

    @classmethod
    def from_report(cls, report: dict[str, Any] | None) -> Inherited:
        if not report:
            return cls({})
        failures = TestReport.from_dict(report).failures
        return cls({f.test_id: verdict.first_line(f) for f in failures if "::" in f.test_id})

    def split(self, failures: tuple[TestFailure, ...] | list[TestFailure], request: str,
              root: Path) -> tuple[list[TestFailure], list[TestFailure]]:
        """The failures the turn answers for, and the ones it inherited unchanged and is not asked about."""
        own: list[TestFailure] = []
        inherited: list[TestFailure] = []
        code: set[str] | None = None  # the code's names, read once and only when needed
        for failure in failures:
            line = self.before.get(failure.test_id)
            if line is None or line != verdict.first_line(failure):
                own.append(failure)
                continue
            if code is None:
                code = set(verdict.definitions(root))
            (own if _asked_about(failure.test_id, request, root, code) else inherited).append(failure)
        return own, inherited


def _asked_about(test_id: str, request: str, root: Path, code: set[str]) -> bool:
    """Whether the request names the test, or a name of the code that the test uses."""
    path, _, name = test_id.partition("::")
    name = name.split("[", 1)[0]
    source = root / path
    uses = verdict.names_a_test_uses(source.read_text(encoding="utf-8"), name) if source.is_file() else None
    names = {name.rsplit("::", 1)[-1], *((uses or frozenset()) & code)}
    return any(re.search(rf"\b{re.escape(n)}\b", request) for n in names)


def described(failures: list[TestFailure]) -> str:
    """The line the turn's outcome names them with (``TurnEnded.notes``)."""
    tests = ", ".join(f.test_id for f in failures)
    return (f"reported, not repaired: {tests} failed before this turn with the same error, and this request "
            f"is not about {'it' if len(failures) == 1 else 'them'}")
