"""Scoring an MTPB program the way the reference harness does.

The program's answer is the first argument of its last ``print`` call (a last
bare expression counts as printed). It is compared with the gold output after
casting it to the gold's type; floats match within 1e-6; numpy and pandas
values are compared as plain lists. A program that crashes after printing is
scored on what it printed.
"""

from __future__ import annotations

import json
import math
import sys
import tempfile
from pathlib import Path
from typing import Any

from chatpkg.core.runner import Sandbox

FLOAT_TOLERANCE = 1e-6

# Runs the program with print() recording its first argument; a last bare
# expression becomes a print. Writes {"value": ...} or {"missing": true} as JSON.
PROBE = r'''
import ast, builtins, json, sys
script, out = sys.argv[1], sys.argv[2]
seen = []
real_print = builtins.print
def recording_print(*args, **kwargs):
    if args:
        seen[:] = [args[0]]
    return real_print(*args, **kwargs)
builtins.print = recording_print
def plain(value):
    for attr in ("tolist", "to_list"):
        if hasattr(value, attr) and callable(getattr(value, attr)):
            try:
                return plain(getattr(value, attr)())
            except Exception:
                pass
    if hasattr(value, "to_dict") and callable(value.to_dict):
        try:
            return plain(value.to_dict())
        except Exception:
            pass
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((plain(v) for v in value), key=repr)
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if hasattr(value, "item"):
        try:
            return plain(value.item())
        except Exception:
            pass
    return str(value)
try:
    tree = ast.parse(open(script).read(), script)
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        call = tree.body[-1].value
        if not (isinstance(call, ast.Call) and getattr(call.func, "id", "") == "print"):
            tree.body[-1] = ast.Expr(ast.Call(ast.Name("print", ast.Load()), [call], []))
            ast.fix_missing_locations(tree)
    exec(compile(tree, script, "exec"), {"__name__": "__main__", "__file__": script})
finally:
    with open(out, "w") as fh:
        json.dump({"value": plain(seen[0])} if seen else {"missing": True}, fh)
'''


def printed_value(root: Path, script: str = "main.py", timeout: float = 30.0) -> tuple[bool, Any]:
    """(found, value): the first argument of the program's last print, as plain JSON data.

    The program runs in the same sandbox as the tests (process group killed on timeout).
    """
    with tempfile.TemporaryDirectory(prefix="chatpkg-mtpb-") as tmp:
        out = Path(tmp) / "printed.json"
        command = [sys.executable, "-c", PROBE, script, str(out)]
        Sandbox(timeout=timeout).run(command, Path(root).resolve(), Path(tmp) / "output.log", writable=(Path(tmp),))
        if not out.exists():
            return False, None
        data = json.loads(out.read_text())
    return ("value" in data), data.get("value")


def matches(value: Any, gold: Any) -> bool:
    """Is the printed ``value`` the gold answer, after casting to the gold's type?"""
    if isinstance(gold, bool):
        return _as_bool(value) is gold
    if isinstance(gold, (int, float)):
        try:
            number = float(value)
        except (TypeError, ValueError):
            return False
        return math.isclose(number, float(gold), abs_tol=FLOAT_TOLERANCE, rel_tol=0.0)
    if isinstance(gold, str):
        return _as_str(value) == gold
    if isinstance(gold, list):
        items = _as_list(value)
        return items is not None and len(items) == len(gold) and all(map(matches, items, gold))
    if isinstance(gold, dict):
        if not isinstance(value, dict) or set(map(str, value)) != set(map(str, gold)):
            return False
        plain = {str(k): v for k, v in value.items()}
        return all(matches(plain[str(k)], v) for k, v in gold.items())
    return value == gold


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, str):
        return {"true": True, "false": False}.get(value.strip().lower())
    if isinstance(value, (bool, int, float)):
        return bool(value)
    return None


def _as_str(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _as_list(value: Any) -> list[Any] | None:
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, str):
        return list(value)
    if isinstance(value, dict):
        return list(value)
    return None


def score(root: Path, gold: Any, script: str = "main.py") -> tuple[bool, Any]:
    """(passed, what was printed) for the program in ``root``."""
    found, value = printed_value(root, script)
    return (found and matches(value, gold)), value
