"""Token counting with tiktoken, offline.

tiktoken downloads its encodings on first use; litellm ships the cl100k_base
and o200k_base files, so we point TIKTOKEN_CACHE_DIR at them before tiktoken
loads anything. Counting is approximate for non-OpenAI models, which is what a
context budget needs.
"""

from __future__ import annotations

import functools
import importlib.util
import os
from pathlib import Path
from typing import Any

ENCODING = "cl100k_base"


def _litellm_tokenizer_dir() -> str | None:
    spec = importlib.util.find_spec("litellm")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "litellm_core_utils" / "tokenizers"
    return str(path) if path.is_dir() else None


@functools.lru_cache(maxsize=1)
def _encoding() -> Any:
    if "TIKTOKEN_CACHE_DIR" not in os.environ:
        cache = _litellm_tokenizer_dir()
        if cache:
            os.environ["TIKTOKEN_CACHE_DIR"] = cache
    import tiktoken

    return tiktoken.get_encoding(ENCODING)


def count_tokens(text: str) -> int:
    """Number of tokens ``text`` takes (cl100k_base)."""
    if not text:
        return 0
    return len(_encoding().encode(text, disallowed_special=()))


def count_message_tokens(messages: list[dict[str, str]]) -> int:
    """Tokens of a chat request: contents plus a small per-message overhead."""
    return sum(count_tokens(m.get("content") or "") + 4 for m in messages) + 2


def trim_to_tokens(text: str, budget: int, *, keep: str = "tail") -> str:
    """Cut ``text`` to about ``budget`` tokens, keeping its head or tail."""
    enc = _encoding()
    ids = enc.encode(text, disallowed_special=())
    if len(ids) <= budget:
        return text
    marker = "[... trimmed ...]"
    if keep == "head":
        return enc.decode(ids[:budget]) + "\n" + marker
    return marker + "\n" + enc.decode(ids[-budget:])
