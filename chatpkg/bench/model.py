"""The embedded model's speed, through chatpkg's litellm path and through llama_cpp directly.

Both sides run the same prompts, greedy, with the same token limit, in one
process and one run, so their ratio means something on a noisy machine. The
second part times a turn whose prompt extends the previous one (llama.cpp
reuses the KV cache of the common prefix) against the same prompt sent cold.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from chatpkg.core.models import Message, Usage
from chatpkg.core.models.embedded import EMBEDDED_MODEL, assemble
from chatpkg.core.models.llama_engine import DEFAULT_CONTEXT, engine_for, physical_cores
from chatpkg.core.prompts.context import build_context
from chatpkg.core.workspace.scaffold import scaffold_files

MAX_TOKENS = 160
REQUESTS = [
    "Add a function slugify(title) that lowercases the title and joins its words with '-'. Test it.",
    "Add word_count(text) returning a dict from each word to its count, ignoring case. Test it.",
    "Add a dataclass Task with a title and a due date, and a function overdue(tasks, today).",
    "Add a function parse_duration(text) that turns '1h30m' into minutes. Test it.",
]


@dataclass
class Timing:
    first_token: float  # seconds to the first streamed piece
    last_token: float  # seconds to the last streamed piece
    total: float  # seconds until the stream ended (usage included)
    prompt_tokens: int
    completion_tokens: int
    first_piece_tokens: int  # tokens in the first piece (chatpkg groups a few)

    @property
    def prompt_rate(self) -> float:
        return self.prompt_tokens / self.first_token if self.first_token else 0.0

    @property
    def decode_rate(self) -> float:
        """Tokens per second between the first and the last piece of text."""
        decode = self.last_token - self.first_token
        return (self.completion_tokens - self.first_piece_tokens) / decode if decode > 0 else 0.0


GROWN_FILES = {
    "textkit/text.py": 'import re\n\n\ndef slugify(title):\n    """Lowercase, drop punctuation, join words with -."""\n'
    '    return "-".join(re.sub(r"[^\\w\\s]", "", title.lower()).split())\n\n\ndef shout(text):\n'
    '    return text.upper() + "!"\n\n\ndef initials(name):\n    return "".join(w[0].upper() for w in name.split())\n',
    "textkit/counting.py": "from collections import Counter\n\n\ndef word_count(text):\n"
    '    """How often each word occurs, ignoring case."""\n    return dict(Counter(text.lower().split()))\n\n\n'
    "def top_words(text, n=3):\n    return [w for w, _ in Counter(text.lower().split()).most_common(n)]\n",
    "tests/test_text.py": "from textkit.text import initials, shout, slugify\n\n\ndef test_slugify():\n"
    '    assert slugify("Hello, World!") == "hello-world"\n\n\ndef test_shout():\n    assert shout("hi") == "HI!"\n\n\n'
    'def test_initials():\n    assert initials("ada lovelace") == "AL"\n',
    "tests/test_counting.py": "from textkit.counting import top_words, word_count\n\n\ndef test_word_count():\n"
    '    assert word_count("a b A") == {"a": 2, "b": 1}\n\n\ndef test_top_words():\n'
    '    assert top_words("a b a c a b", 2) == ["a", "b"]\n',
}


def turn_messages(request: str, files: dict[str, str] | None = None) -> list[Message]:
    """A realistic request: chatpkg's own context for a package (fresh, or grown over a few turns)."""
    files = files if files is not None else scaffold_files("textkit")
    return build_context(
        request, files, [], last_tests=None, edit_format="whole", budget=DEFAULT_CONTEXT
    ).messages


def _timed(pieces: Iterator[str | Usage], count: Callable[[str], int]) -> Timing:
    start = time.perf_counter()
    first = last = 0.0
    text: list[str] = []
    usage = Usage(0, 0)
    for piece in pieces:
        if isinstance(piece, Usage):
            usage = piece
            continue
        last = time.perf_counter() - start
        first = first or last
        text.append(piece)
    total = time.perf_counter() - start
    completion = usage.completion_tokens or count("".join(text))
    first_piece = count(text[0]) if text else 0
    return Timing(first, last, total, usage.prompt_tokens, completion, first_piece)


def _token_counter(llama) -> Callable[[str], int]:  # type: ignore[no-untyped-def]
    return lambda text: len(llama.tokenize(text.encode(), add_bos=False))


def _direct_stream(llama, messages: list[Message]) -> Iterator[str | Usage]:  # type: ignore[no-untyped-def]
    llama.reset()  # cold: no KV cache reuse between prompts
    pieces = []
    for chunk in llama.create_chat_completion(messages=messages, stream=True, temperature=0.0, seed=0, max_tokens=MAX_TOKENS):
        text = chunk["choices"][0]["delta"].get("content")
        if text:
            pieces.append(text)
            yield text
    completion = len(llama.tokenize("".join(pieces).encode(), add_bos=False, special=False))
    yield Usage(llama.n_tokens - completion, completion)


def run_model_bench(echo: Callable[[str], None] = print) -> dict[str, float]:
    from llama_cpp import Llama

    from chatpkg.core.models.litellm_backend import LiteLLMModel

    path = assemble()
    started = time.perf_counter()
    direct = Llama(model_path=str(path), n_ctx=DEFAULT_CONTEXT, n_threads=physical_cores(),
                   n_threads_batch=physical_cores(), seed=0, verbose=False)
    direct_load = time.perf_counter() - started
    started = time.perf_counter()
    engine = engine_for(path)
    model = LiteLLMModel(EMBEDDED_MODEL, max_tokens=MAX_TOKENS)
    list(model.stream([{"role": "user", "content": "hi"}]))  # imports litellm, registers the provider
    chatpkg_load = time.perf_counter() - started

    tokens = _token_counter(direct)
    rows: list[tuple[Timing, Timing]] = []
    for index, request in enumerate(REQUESTS):
        messages = turn_messages(request)
        engine.llama.reset()
        if index % 2:  # alternate who goes first, so neither always gets the warmer machine
            theirs = _timed(_direct_stream(direct, messages), tokens)
            ours = _timed(model.stream(messages), tokens)
        else:
            ours = _timed(model.stream(messages), tokens)
            theirs = _timed(_direct_stream(direct, messages), tokens)
        rows.append((ours, theirs))
    direct.close()
    figures = _report_paths(rows, chatpkg_load, direct_load, echo)
    figures.update(_prefix_reuse(model, engine, echo))
    return figures


def _report_paths(rows: list[tuple[Timing, Timing]], ours_load: float, direct_load: float, echo) -> dict[str, float]:  # type: ignore[no-untyped-def]
    def med(values: list[float]) -> float:
        return statistics.median(values)

    keys = ("first_token", "prompt_rate", "decode_rate", "total")
    ours = {k: med([getattr(r[0], k) for r in rows]) for k in keys}
    direct = {k: med([getattr(r[1], k) for r in rows]) for k in keys}
    echo(f"embedded model {EMBEDDED_MODEL}, {physical_cores()} threads, {len(rows)} prompts, "
         f"max {MAX_TOKENS} new tokens, greedy")
    echo(f"{'':28}{'chatpkg (litellm)':>20}{'llama_cpp direct':>20}{'ratio':>9}")
    echo(f"{'load (s)':28}{ours_load:>20.2f}{direct_load:>20.2f}")
    for key, label in (("first_token", "time to first token (s)"), ("prompt_rate", "prompt tokens/s"),
                       ("decode_rate", "decode tokens/s"), ("total", "whole reply (s)")):
        ratio = ours[key] / direct[key] if direct[key] else 0.0
        echo(f"{label:28}{ours[key]:>20.2f}{direct[key]:>20.2f}{ratio:>9.3f}")
    decode_ratio = ours["decode_rate"] / direct["decode_rate"] if direct["decode_rate"] else 0.0
    echo(f"decode ratio chatpkg/direct: {decode_ratio:.3f} (target >= 0.95)")
    return {"decode_ratio": decode_ratio, "chatpkg_decode": ours["decode_rate"], "direct_decode": direct["decode_rate"]}


def _prefix_reuse(model, engine, echo) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """A second turn extending the first, warm (shared prefix) and cold, on a grown package."""
    first = turn_messages(REQUESTS[1], {**scaffold_files("textkit"), **GROWN_FILES})
    engine.llama.reset()
    reply = "".join(p for p in model.stream(first) if isinstance(p, str))
    second = [*first, {"role": "assistant", "content": reply},
              {"role": "user", "content": "The tests fail: word_count keeps punctuation. Drop punctuation too."}]
    count = _token_counter(engine.llama)
    warm = _timed(model.stream(second), count)
    engine.llama.reset()
    cold = _timed(model.stream(second), count)
    speedup = cold.total / warm.total if warm.total else 0.0
    echo(f"second turn ({warm.prompt_tokens} prompt tokens, extends the first):")
    echo(f"  warm (prefix reused) {warm.total:7.2f} s, first token {warm.first_token:6.2f} s")
    echo(f"  cold                 {cold.total:7.2f} s, first token {cold.first_token:6.2f} s")
    echo(f"  speed-up cold/warm   {speedup:7.2f}x (target >= 3x); first token "
         f"{cold.first_token / warm.first_token if warm.first_token else 0:.2f}x")
    return {"prefix_speedup": speedup}

