"""``chatpkg bench sandbox``: what the sandbox costs and what it stops, side by side in one run.

1. A small package's pytest run (the scaffold plus a module with five tests),
   with and without bubblewrap, alternating, so machine noise hits both alike;
   the ratio of the medians is the figure (target <= 1.2).
2. The hostile tests of ``hostile.py``, under the sandbox and without it: how
   many each contains. Escapes without the sandbox are cleaned up after.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from chatpkg.bench.hostile import run_all
from chatpkg.core.runner import PytestRunner
from chatpkg.core.runner.confine import Confinement, choose
from chatpkg.core.workspace.scaffold import scaffold_files

MODULE = '''def slugify(title):
    return "-".join(title.lower().split())


def word_count(text):
    return len(text.split())
'''
TESTS = '''from smallpkg.text import slugify, word_count


def test_slug():
    assert slugify("Hello World") == "hello-world"


def test_slug_spaces():
    assert slugify("  a   b ") == "a-b"


def test_words():
    assert word_count("one two three") == 3


def test_no_words():
    assert word_count("") == 0


def test_slug_empty():
    assert slugify("") == ""
'''


def small_package(root: Path) -> Path:
    files = {**scaffold_files("smallpkg"), "smallpkg/text.py": MODULE, "tests/test_text.py": TESTS}
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    (root / ".git").mkdir()  # mounted read-only in the sandbox, as in a real workspace
    return root


def time_runs(sandboxed: Confinement, runs: int, root: Path) -> tuple[list[float], list[float]]:
    """Wall seconds of ``runs`` pytest runs in the sandbox and without, alternating."""
    plain = Confinement(None, reason="the comparison run")
    inside, outside = PytestRunner(timeout=60, confinement=sandboxed), PytestRunner(timeout=60, confinement=plain)
    with_, without = [], []
    for _ in range(runs):
        for runner, times in ((inside, with_), (outside, without)):
            started = time.perf_counter()
            report = runner.run(root)
            times.append(time.perf_counter() - started)
            assert report.passed == 6, report.for_model()
    return with_, without


def run_sandbox_bench(runs: int = 10, *, hostile: bool = True, echo: Callable[[str], None] = print) -> dict[str, float]:
    sandboxed = choose("on")
    echo(f"sandbox: {sandboxed.describe()}")
    if not sandboxed.active:
        echo("nothing to compare: the sandbox cannot run here")
        return {}
    with tempfile.TemporaryDirectory(prefix="chatpkg-bench-") as scratch:
        with_, without = time_runs(sandboxed, runs, small_package(Path(scratch)))
    ratio = statistics.median(with_) / statistics.median(without)
    echo(f"small package, pytest run (6 tests), {runs} runs each, alternating")
    echo(f"  in the sandbox      median {statistics.median(with_) * 1000:7.1f} ms   min {min(with_) * 1000:7.1f} ms")
    echo(f"  without it          median {statistics.median(without) * 1000:7.1f} ms   min {min(without) * 1000:7.1f} ms")
    echo(f"  ratio               {ratio:.2f}   (target <= 1.2)")
    figures = {"with_ms": statistics.median(with_) * 1000, "without_ms": statistics.median(without) * 1000,
               "ratio": ratio}
    if hostile:
        figures.update(_hostile(sandboxed, echo))
    return figures


def _hostile(sandboxed: Confinement, echo: Callable[[str], None]) -> dict[str, float]:
    inside = run_all(sandboxed)
    outside = run_all(Confinement(None, reason="--sandbox off"))
    echo(f"  {'hostile test (what a model-written test tries)':<58} {'sandbox':<9} no sandbox")
    for a, b in zip(inside, outside):
        echo(f"  {a.case:<58} {_verdict(a.escaped):<9} {_verdict(b.escaped)}")
    contained = (sum(o.escaped is None for o in inside), sum(o.escaped is None for o in outside))
    echo(f"  {'contained':<58} {contained[0]}/{len(inside):<7} "
         f"{contained[1]}/{len(outside)}")
    return {"contained_with": contained[0], "contained_without": contained[1], "hostile_cases": len(inside)}


def _verdict(escaped: str | None) -> str:
    return "contained" if escaped is None else "GOT OUT"
