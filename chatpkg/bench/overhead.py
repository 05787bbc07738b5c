"""The engine's own time per turn: turn wall time minus the pytest run inside it.

Runs a scripted session on a fresh package (one new module and test per
turn) and reports medians per phase, so a slow step is easy to spot.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from chatpkg.core.engine.events import ModelReply, ModelRequest, TestsRun, TestsStarted, TurnCommitted, TurnEnded
from chatpkg.core.engine.store import open_session
from chatpkg.core.models import ScriptedModel
from chatpkg.core.runner import TestReport

PHASE_END = {
    ModelRequest: "context",
    ModelReply: "model",
    TestsStarted: "apply edits",
    TestsRun: "tests (pytest)",
    TurnCommitted: "commit",
    TurnEnded: "finish",
}


def scripted_reply(package: str, i: int) -> str:
    return (
        f"{package}/f{i}.py\n```python\ndef f{i}(x):\n    return x + {i}\n```\n\n"
        f"tests/test_f{i}.py\n```python\nfrom {package}.f{i} import f{i}\n\n\n"
        f"def test_f{i}():\n    assert f{i}(1) == {i + 1}\n```\n"
    )


def _timed_turn(session, text: str) -> tuple[float, float, dict[str, float]]:  # type: ignore[no-untyped-def]
    phases: dict[str, float] = {}
    pytest_seconds = 0.0
    start = last = time.perf_counter()
    for event in session.run_turn(text):
        now = time.perf_counter()
        name = PHASE_END.get(type(event))
        if name:
            phases[name] = phases.get(name, 0.0) + now - last
            last = now
        if isinstance(event, TestsRun):
            pytest_seconds += TestReport.from_dict(event.report).seconds
    return time.perf_counter() - start, pytest_seconds, phases


def run_overhead_bench(turns: int = 24, *, echo=print) -> dict[str, float]:  # type: ignore[no-untyped-def]
    with tempfile.TemporaryDirectory(prefix="chatpkg-bench-") as scratch:
        root = Path(scratch) / "benchpkg"
        model = ScriptedModel([scripted_reply("benchpkg", i) for i in range(turns)], chunk_chars=64)
        session, _ = open_session(root, model)
        walls, pytests, overheads = [], [], []
        per_phase: dict[str, list[float]] = defaultdict(list)
        for i in range(turns):
            wall, pytest_s, phases = _timed_turn(session, f"Add f{i}(x) returning x + {i}, with a test.")
            walls.append(wall)
            pytests.append(pytest_s)
            overheads.append(wall - pytest_s)
            for name, seconds in phases.items():
                per_phase[name].append(seconds)
    ms = lambda values: statistics.median(values) * 1000  # noqa: E731
    echo(f"chatpkg engine overhead, {turns} turns, scripted model")
    echo(f"  median turn wall time     {ms(walls):8.1f} ms")
    echo(f"  median pytest run         {ms(pytests):8.1f} ms")
    echo(f"  median engine overhead    {ms(overheads):8.1f} ms   (target <= 50 ms)")
    echo(f"  overhead / turn           {statistics.median(overheads) / statistics.median(walls):8.2f}")
    echo("  median per phase (wall, pytest included in 'tests'):")
    for name, values in per_phase.items():
        echo(f"    {name:<22} {ms(values):8.1f} ms")
    return {"wall_ms": ms(walls), "pytest_ms": ms(pytests), "overhead_ms": ms(overheads)}
