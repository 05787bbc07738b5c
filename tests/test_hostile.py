"""Model-written tests that try to get out are contained by the default sandbox.

The sandbox must be active on the machine that runs this suite (CI): a run that
cannot confine these tests fails here, it is not skipped.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from chatpkg.bench.hostile import CASES, Case, run_case
from chatpkg.core.runner.confine import choose


@pytest.fixture(scope="module")
def confinement():  # type: ignore[no-untyped-def]
    chosen = choose("on")
    assert chosen.active, f"the sandbox is not available here: {chosen.reason}"
    return chosen


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_hostile_test_is_contained(case: Case, confinement, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    outcome = run_case(case, tmp_path, confinement, timeout=5.0)
    assert outcome.escaped is None, f"{case.name}: {outcome.escaped}"
    assert outcome.seconds < 15, "the run outlived its timeout"
