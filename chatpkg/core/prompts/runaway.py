"""Catch a reply that has fallen into a loop, and cut it there.

At temperature 0 a small model sometimes repeats one line until it runs out of
tokens: ``assert f(41.1) == 0.1``, ``assert f(42.1) == 0.1``, ... On a CPU that
is minutes of decoding, and the reply ends inside an open code block, so the
whole reply is lost. The guard watches the reply as it streams and stops it when
the same line (or a cycle of up to 12 lines) comes back too many times in a row,
lines equal but for their numbers keep coming (sooner when each is longer than
the last), or one line keeps repeating a short piece: the reply keeps what came
before (the model's own lines, loop included up to the limit; a looping line is
dropped whole), and an open code block is closed so the edits can still be
applied.

It also keeps litellm's own check (100 identical streamed chunks in a row)
from firing: that one ends the reply as a provider error, and the turn is lost.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

SAME_LINE_LIMIT = 6  # the very same line, or the same cycle of lines, this many times in a row
SHORT_CYCLE = 4  # ... a cycle of at most this many lines (HumanEval/119 alternated two asserts)
LONG_CYCLE_LIMIT = 3  # a longer cycle, this many times in a row (textkit's truncate: 7 asserts, over and over)
CYCLE_MAX = 12  # ... of at most this many lines
SAME_SHAPE_LIMIT = 16  # lines equal but for their numbers, this many times in a row
GROWING_LIMIT = 8  # ... or this many when each is longer than the last (a list growing by an item a line)
BLANK_LIMIT = 12  # blank lines in a row
SAME_BLOCK_LIMIT = 3  # the very same code block (its path line and body), this many times in the reply
PERIOD_SPAN = 400  # characters of one line made of one repeated piece ...
PERIOD_MAX = 40  # ... of at most this many characters: `2.0, 3.0, 4.0, 5.0, 2.0, 3.0, ...`
FENCE = "```"
NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
NUMBERS = re.compile(r"0(?:, *0)+")
SAME_ITEMS = re.compile(r"""('[^'\n]*'|"[^"\n]*")(?:, *\1)+""")  # 'a', 'a', 'a' -> 'a'


def cycle_limit(p: int) -> int:
    """How many times in a row a cycle of ``p`` lines may come before it counts as a loop."""
    return SAME_LINE_LIMIT if p <= SHORT_CYCLE else LONG_CYCLE_LIMIT


def shape(line: str) -> str:
    """A line with its numbers blanked and runs of numbers collapsed.

    ``assert f(41.1) == 0.1`` matches ``assert f(42.1) == 0.1``, and
    ``assert f([1, 2, -3]) == True`` matches ``assert f([1, 2, -3, -4]) == True``
    (a loop that grows a list by one item per line); so do lists that grow
    by repeating one string.
    """
    return SAME_ITEMS.sub(r"\1", NUMBERS.sub("0", NUMBER.sub("0", line.strip())))


@dataclass
class RunawayGuard:
    """Fed the reply piece by piece; ``tripped`` once a loop is seen."""

    text: str = ""
    tripped: bool = False
    _scanned: int = 0  # where the next unscanned line starts
    _recent: list[str] = field(default_factory=list)  # the last CYCLE_MAX non-blank lines
    _repeats: list[int] = field(default_factory=lambda: [0] * (CYCLE_MAX + 1))  # [p]: lines equal to p back
    _same_shape: int = 0
    _growing: int = 0
    _blank: int = 0
    _cut: int = 0
    _loop: str = ""  # what repeated, for the notice
    _block: list[str] | None = None  # the code block being read, from the line above its opening fence
    _blocks: dict[str, int] = field(default_factory=dict)  # each complete block: how many times it came

    def feed(self, piece: str) -> bool:
        """Take the next piece of the reply; True when the reply should stop here."""
        if self.tripped:
            return True
        self.text += piece
        while (end := self.text.find("\n", self._scanned)) != -1:
            line = self.text[self._scanned:end]
            self._scanned = end + 1
            if self._count(line):
                self.tripped, self._cut = True, self._scanned
                self._loop = self._loop or line.strip() or "blank lines"
                return True
        unit = periodic_tail(self.text[self._scanned:])
        if unit:
            self.tripped, self._cut, self._loop = True, self._scanned, unit
        return self.tripped

    def _count(self, line: str) -> bool:
        if self._repeated_block(line):
            return True
        if not line.strip():
            self._blank += 1  # blank lines do not break a run of lines, but many of them are a loop
            return self._blank >= BLANK_LIMIT
        self._blank = 0
        last = self._recent[-1] if self._recent else None  # the line before, blank lines skipped
        cycled = self._cycled(line.rstrip())
        if last is None:
            self._same_shape = self._growing = 1
            return False
        same_shape = shape(line) == shape(last)
        self._same_shape = self._same_shape + 1 if same_shape else 1
        self._growing = self._growing + 1 if same_shape and len(line.rstrip()) > len(last) else 1
        return cycled or self._same_shape >= SAME_SHAPE_LIMIT or self._growing >= GROWING_LIMIT

    def _repeated_block(self, line: str) -> bool:
        """Whether a code block just closed that the reply already sent, path and all, SAME_BLOCK_LIMIT - 1
        times: a loop over whole files, too long for a cycle of lines (textkit, turn 4: slug.py and count.py,
        28 lines, sent over and over until the reply was cut off inside a block)."""
        if not line.lstrip().startswith(FENCE):
            if self._block is not None:
                self._block.append(line)
            return False
        if self._block is None:  # an opening fence: the block is named by the last non-blank line before it
            self._block = [self._recent[-1] if self._recent else "", line]
            return False
        name, text, self._block = self._block[0], "\n".join(self._block), None
        self._blocks[text] = self._blocks.get(text, 0) + 1
        if self._blocks[text] < SAME_BLOCK_LIMIT:
            return False
        self._loop = f"the block for {name.strip()}"
        return True

    def _cycled(self, line: str) -> bool:
        """Whether the last lines are one cycle of p lines repeated: SAME_LINE_LIMIT times over for a short
        cycle, LONG_CYCLE_LIMIT times for a longer one (p at most CYCLE_MAX)."""
        recent = self._recent
        for p in range(1, CYCLE_MAX + 1):
            same = len(recent) >= p and line == recent[-p]
            self._repeats[p] = self._repeats[p] + 1 if same else 0
        self._recent = (recent + [line])[-CYCLE_MAX:]
        return any(self._repeats[p] >= (cycle_limit(p) - 1) * p for p in range(1, CYCLE_MAX + 1))

    def reply(self) -> str:
        """The reply as it should be used: cut after the loop's last kept line, its code block closed."""
        if not self.tripped:
            return self.text
        kept = self.text[:self._cut]
        open_fence = sum(1 for line in kept.splitlines() if line.lstrip().startswith(FENCE)) % 2 == 1
        return kept + (FENCE + "\n" if open_fence else "")

    def notice(self) -> str:
        return (f"the model started repeating itself ({self._loop[:80]!r} again and again): "
                "its reply was cut there and its open code block closed")


def periodic_tail(line: str) -> str:
    """The piece an unfinished line ends repeating (``PERIOD_SPAN`` characters of it), or ""."""
    if len(line) < PERIOD_SPAN:
        return ""
    window = line[-PERIOD_SPAN:]
    for period in range(1, PERIOD_MAX + 1):
        if window[period:] == window[:-period]:
            return window[-period:]
    return ""
