"""Merge a partial Python file into the current one, by top-level name.

In the "merge" edit format the model sends only the new or changed code of a
file, so a definition it forgets to repeat is kept instead of lost. A def, a
class or a simple assignment replaces its namesake in place; new imports join
the imports; everything else is added at the end, before an
``if __name__ == "__main__":`` block. A class that repeats every member of the
old one replaces it whole; a partial class is merged member by member the same
way, so "the class with just the new method" keeps the other methods.
Likewise a block that restates every name of the file is the whole file: it
replaces the old one (old imports and docstring kept), which is how a broken
statement without a name (a call, a loop) gets fixed.

The text of every ``EditError`` is addressed to the model.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from chatpkg.core.workspace.edit_parser import MalformedReply

__all__ = ["InvalidMergeBlock", "bound_names", "is_python_path", "merge_python", "top_level_names",
           "unwrap_main_guard"]

_IMPORTS = ("future", "import")
_DEFS = ("def", "class")
_FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef)
PARSE_ERRORS = (SyntaxError, ValueError, RecursionError, MemoryError)
_ELISION = re.compile(
    r"^\s*#.*?(?:\.\.\.|…|\b(?:unchanged|omitted|as before|existing (?:code|functions?|methods?|definitions?)"
    r"|rest of (?:the )?(?:file|code|module|class))\b)",
    re.I,
)
_DEF_LINE = re.compile(r"^(?:async[ \t]+)?(?:def|class)[ \t]+(\w+)", re.M)
_ASSIGN_LINE = re.compile(r"^(\w+)[ \t]*(?::[^=\n]*)?=(?!=)", re.M)
_IMPORT_LINE = re.compile(r"^(?:from[ \t]+\S+[ \t]+)?import[ \t]+([^\n#]+)", re.M)


class InvalidMergeBlock(MalformedReply):
    """The block to merge is not valid Python; ``str(e)`` says where."""


@dataclass(eq=False)
class _Chunk:
    """Top-level statements that share lines, with the source lines that hold them."""

    stmts: list[ast.stmt]
    start: int  # line number of body[0], counted from 1
    body: list[str]
    notes: list[str] = field(default_factory=list)  # comment lines directly above
    lead: list[str] = field(default_factory=list)  # blank lines and loose comments above those
    key: tuple[str, ...] | None = None
    kind: str = "other"
    inserted: bool = False

    @property
    def dumps(self) -> list[str]:
        return [ast.dump(s) for s in self.stmts]


def is_python_path(path: str) -> bool:
    return path.lower().endswith((".py", ".pyi"))


# ---------------------------------------------------------------- reading a source


def _first_line(node: ast.stmt) -> int:
    """Where a statement starts, its decorators included."""
    return min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])


def _groups(body: list[ast.stmt]) -> list[list[ast.stmt]]:
    """Statements, with those that share a line (``a = 1; b = 2``) kept together."""
    groups: list[list[ast.stmt]] = []
    for stmt in body:
        if groups and _first_line(stmt) <= (groups[-1][-1].end_lineno or 0):
            groups[-1].append(stmt)
        else:
            groups.append([stmt])
    return groups


def _chunks(text: str) -> tuple[list[_Chunk], list[str]]:
    """The top-level chunks of ``text`` and the lines after the last one; raises on bad syntax."""
    tree = ast.parse(text)
    lines = text.split("\n")
    chunks: list[_Chunk] = []
    pos = 0
    for group in _groups(tree.body):
        start, end = _first_line(group[0]), group[-1].end_lineno or 0
        gap = lines[pos : start - 1]
        cut = len(gap)
        while cut and gap[cut - 1].lstrip().startswith("#"):
            cut -= 1
        chunk = _Chunk(group, start, lines[start - 1 : end], gap[cut:], gap[:cut])
        chunk.key, chunk.kind = _classify(group, first=not chunks)
        chunks.append(chunk)
        pos = end
    return chunks, lines[pos:]


def _is_import(stmt: ast.stmt) -> bool:
    if isinstance(stmt, ast.Try):  # try: import x / except ImportError: ...
        return all(isinstance(s, (ast.Import, ast.ImportFrom)) for s in stmt.body)
    return isinstance(stmt, (ast.Import, ast.ImportFrom))


def _is_main(stmt: ast.stmt) -> bool:
    """``if __name__ == "__main__":``, either way round."""
    test = stmt.test if isinstance(stmt, ast.If) else None
    if not isinstance(test, ast.Compare) or len(test.ops) != 1 or not isinstance(test.ops[0], ast.Eq):
        return False
    sides = [test.left, test.comparators[0]]
    return any(isinstance(s, ast.Name) and s.id == "__name__" for s in sides) and any(
        isinstance(s, ast.Constant) and s.value == "__main__" for s in sides
    )


def _is_docstring(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)


def _is_ellipsis(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and stmt.value.value is Ellipsis


def _reads(node: ast.AST | None, name: str) -> bool:
    return node is not None and any(
        isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load) for n in ast.walk(node)
    )


def _assigned_name(stmt: ast.stmt) -> str | None:
    """The name a simple assignment rebinds; None for ``x = x.lower()``, a step that builds
    on the earlier value and so must follow it rather than replace it."""
    target: ast.expr | None = None
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
        target = stmt.targets[0]
    elif isinstance(stmt, ast.AnnAssign):
        target = stmt.target
    if not isinstance(target, ast.Name) or _reads(stmt.value, target.id):
        return None
    return target.id


def _classify(group: list[ast.stmt], first: bool) -> tuple[tuple[str, ...] | None, str]:
    """The name a chunk replaces (if any) and its kind."""
    if all(_is_import(s) for s in group):
        future = all(isinstance(s, ast.ImportFrom) and s.module == "__future__" for s in group)
        return None, "future" if future else "import"
    if len(group) != 1:
        return None, "other"
    stmt = group[0]
    if isinstance(stmt, (*_FUNCS, ast.ClassDef)):
        return ("name", stmt.name), "class" if isinstance(stmt, ast.ClassDef) else "def"
    if _is_main(stmt):
        return ("main",), "main"
    if first and _is_docstring(stmt):
        return ("doc",), "doc"
    name = _assigned_name(stmt)
    return (("name", name), "assign") if name else (None, "other")


def _is_stub(chunk: _Chunk) -> bool:
    """A def or class whose body is only ``...``: the model's way of saying "unchanged"."""
    stmt = chunk.stmts[0]
    if len(chunk.stmts) != 1 or not isinstance(stmt, (*_FUNCS, ast.ClassDef)):
        return False
    body = stmt.body[1:] if _is_docstring(stmt.body[0]) else stmt.body
    return len(body) == 1 and _is_ellipsis(body[0])


def _prepare(chunks: list[_Chunk]) -> list[_Chunk]:
    """New chunks without elision markers (``...``, ``# rest unchanged``) or loose comments."""
    kept = []
    for chunk in chunks:
        if len(chunk.stmts) == 1 and _is_ellipsis(chunk.stmts[0]):
            continue
        chunk.notes = [line for line in chunk.notes if not _ELISION.match(line)]
        chunk.lead = []
        kept.append(chunk)
    return kept


# ---------------------------------------------------------------- names


def _header_parts(node: ast.AST) -> list[ast.AST]:
    """The parts of a def or class evaluated when it is defined (not its body)."""
    parts: list[ast.AST] = list(getattr(node, "decorator_list", []))
    if isinstance(node, ast.ClassDef):
        return parts + node.bases + [k.value for k in node.keywords]
    args = node.args  # type: ignore[attr-defined]
    parts += args.defaults + [d for d in args.kw_defaults if d is not None]
    if isinstance(node, _FUNCS):
        every = args.posonlyargs + args.args + args.kwonlyargs + [a for a in (args.vararg, args.kwarg) if a]
        parts += [a.annotation for a in every if a.annotation] + ([node.returns] if node.returns else [])
    return parts


def _shallow(nodes: Iterable[ast.AST], into_classes: bool) -> Iterator[ast.AST]:
    """Every node evaluated when the statements run: no function bodies."""
    stack = list(nodes)
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, (*_FUNCS, ast.Lambda)) or (isinstance(node, ast.ClassDef) and not into_classes):
            stack.extend(_header_parts(node))
        else:
            stack.extend(ast.iter_child_nodes(node))


def _eager_names(stmts: list[ast.stmt]) -> set[str]:
    return {n.id for n in _shallow(stmts, True) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _bound(stmts: list[ast.stmt]) -> set[str]:
    names: set[str] = set()
    for node in _shallow(stmts, False):
        if isinstance(node, (*_FUNCS, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update(a.asname or a.name.split(".")[0] for a in node.names)
    return names


def top_level_names(source: str) -> set[str]:
    """Names of the module's top-level functions and classes (line by line if it does not parse)."""
    try:
        tree = ast.parse(source)
    except PARSE_ERRORS:
        return set(_DEF_LINE.findall(source))
    return {s.name for s in tree.body if isinstance(s, (*_FUNCS, ast.ClassDef))}


def home_file(files: dict[str, str], code: str) -> str | None:
    """Where a Python block sent without its path belongs: the one Python file that already
    defines every function and class the block defines. None when the block defines none, or
    when no file or more than one does (then the model is asked for the path)."""
    names = top_level_names(code)
    if not names:
        return None
    homes = [path for path, text in files.items() if is_python_path(path) and names <= top_level_names(text)]
    return homes[0] if len(homes) == 1 else None


def bound_names(source: str) -> set[str]:
    """Every name the module binds when it runs: defs, classes, imports, assignments."""
    try:
        return _bound(ast.parse(source).body)
    except PARSE_ERRORS:
        pass
    names = set(_DEF_LINE.findall(source)) | set(_ASSIGN_LINE.findall(source))
    for clause in _IMPORT_LINE.findall(source):
        for part in clause.replace("(", " ").replace(")", " ").split(","):
            if part.split():
                names.add(part.split()[-1].split(".")[0])
    return names


def _import_items(stmts: Iterable[ast.stmt]) -> set[tuple[object, ...]]:
    items: set[tuple[object, ...]] = set()
    for s in stmts:
        if isinstance(s, ast.Import):
            items.update(("import", a.name, a.asname) for a in s.names)
        elif isinstance(s, ast.ImportFrom):
            items.update(("from", s.level, s.module, a.name, a.asname) for a in s.names)
    return items


# ---------------------------------------------------------------- merging


def _last(chunks: list[_Chunk], key: tuple[str, ...] | None) -> int | None:
    if key is None:
        return None
    return next((i for i in range(len(chunks) - 1, -1, -1) if chunks[i].key == key), None)


def _index(chunks: list[_Chunk], chunk: _Chunk) -> int:
    return next(i for i, c in enumerate(chunks) if c is chunk)


def _insert(out: list[_Chunk], at: int, chunks: list[_Chunk]) -> None:
    for chunk in chunks:
        chunk.inserted = True
    out[at:at] = chunks


def _redundant(chunk: _Chunk, present: set[str], imported: set[tuple[object, ...]]) -> bool:
    """Already in the old code: the same statements, or imports of the same names."""
    if all(isinstance(s, (ast.Import, ast.ImportFrom)) for s in chunk.stmts):
        return _import_items(chunk.stmts) <= imported
    return all(d in present for d in chunk.dumps)


def _replace(old: _Chunk, new: _Chunk, depth: int) -> _Chunk:
    """The new chunk in the old one's place; it keeps the old comments unless it brings its own."""
    body = _merge_class(old, new, depth) if old.kind == new.kind == "class" else None
    notes = new.notes or old.notes
    return _Chunk(new.stmts, new.start, new.body if body is None else body, notes, old.lead, new.key, new.kind)


def _hoist(out: list[_Chunk], replaced: list[_Chunk], pending: list[_Chunk]) -> list[_Chunk]:
    """New definitions that a replaced statement uses at once (an assignment's value, a
    decorator, a base class) go just before it instead of at the end; returns the rest."""
    for target in sorted(replaced, key=lambda c: _index(out, c)):
        needed = _eager_names(target.stmts)
        group: list[_Chunk] = []
        grew = True
        while grew:
            grew = False
            for chunk in pending:
                if chunk.kind in ("def", "class", "assign") and chunk.key and chunk.key[-1] in needed:
                    group.append(chunk)
                    needed |= _eager_names(chunk.stmts)
                    grew = True
            pending = [c for c in pending if all(c is not g for g in group)]
        group.sort(key=lambda c: c.start)
        _insert(out, _index(out, target), group)
    return pending


def _insert_imports(out: list[_Chunk], imports: list[_Chunk]) -> None:
    """After the last import (``__future__`` ones after the last of those), else after the docstring."""
    for chunk in imports:
        kinds = ("future",) if chunk.kind == "future" else _IMPORTS
        at = next((i + 1 for i in range(len(out) - 1, -1, -1) if out[i].kind in kinds), None)
        if at is None:
            at = 1 if out and out[0].kind == "doc" else 0
        _insert(out, at, [chunk])


def _blanks(prev: _Chunk | None, cur: _Chunk, depth: int) -> int:
    if prev is None:
        return 0
    if prev.kind in _IMPORTS and cur.kind in _IMPORTS:
        return 0
    if prev.kind in _DEFS or cur.kind in _DEFS:
        return 2 if depth == 0 else 1
    return 1 if depth == 0 else 0


def _space(out: list[_Chunk], depth: int) -> None:
    """Blank lines around inserted chunks; old spacing is only ever widened."""
    for i, chunk in enumerate(out):
        prev = out[i - 1] if i else None
        touched = chunk.inserted or (prev is not None and prev.inserted)
        if not touched or any(line.strip() for line in chunk.lead):
            continue
        want = _blanks(prev, chunk, depth)
        chunk.lead = [""] * (want if chunk.inserted else max(want, len(chunk.lead)))


def _reads_later_names(out: list[_Chunk], at: int, chunk: _Chunk) -> bool:
    """An assignment whose value reads names the file binds only after its namesake's line: in a
    program built step by step it rebinds the name later on, so it belongs at the end, not in place."""
    if chunk.kind != "assign":
        return False
    earlier = _bound([s for c in out[:at] for s in c.stmts])
    later = _bound([s for c in out[at + 1:] for s in c.stmts])
    return bool(_eager_names(chunk.stmts) & (later - earlier))


def _merge(old: list[_Chunk], tail: list[str], new: list[_Chunk], depth: int) -> list[str]:
    """The lines of ``old`` with ``new`` merged in by name."""
    out = list(old)
    present = {d for c in old for d in c.dumps}
    imported = _import_items(s for c in old for s in c.stmts)
    imports: list[_Chunk] = []
    appended: list[_Chunk] = []
    replaced: list[_Chunk] = []
    for chunk in new:
        at = _last(out, chunk.key)
        if _redundant(chunk, present, imported):
            continue
        if chunk.kind in _IMPORTS:
            imports.append(chunk)
        elif at is not None and _reads_later_names(out, at, chunk):
            appended.append(chunk)  # a later step of a program (lst = [mi, ma]): moving it up would break it
        elif at is not None:
            if not _is_stub(chunk) or _is_stub(out[at]):
                out[at] = _replace(out[at], chunk, depth)
                replaced.append(out[at])
        elif chunk.kind == "doc":
            _insert(out, 0, [chunk])
        else:
            appended.append(chunk)
    appended = _hoist(out, replaced, appended)
    main = _last(out, ("main",))
    _insert(out, len(out) if main is None else main, appended)
    _insert_imports(out, imports)
    _space(out, depth)
    return [line for c in out for line in (*c.lead, *c.notes, *c.body)] + tail


# ---------------------------------------------------------------- classes


def _string_lines(tree: ast.AST) -> set[int]:
    """Line numbers that continue a multi-line string: their indentation is content."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        text = isinstance(node, ast.JoinedStr) or (
            isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes))
        )
        if text and (node.end_lineno or 0) > node.lineno:  # type: ignore[attr-defined]
            lines.update(range(node.lineno + 1, (node.end_lineno or 0) + 1))  # type: ignore[attr-defined]
    return lines


def _class_parts(chunk: _Chunk) -> tuple[list[str], str, list[str]] | None:
    """A class chunk's header lines, body indentation and dedented body lines."""
    node = chunk.stmts[0]
    assert isinstance(node, ast.ClassDef)
    body_start = _first_line(node.body[0])
    if body_start <= node.lineno:
        return None  # class A: x = 1
    head = chunk.body[: body_start - chunk.start]
    while head and (not head[-1].strip() or head[-1].lstrip().startswith("#")):
        head.pop()
    first = chunk.body[body_start - chunk.start]
    indent = first[: len(first) - len(first.lstrip())]
    skip = _string_lines(node)
    body = []
    for number, line in enumerate(chunk.body[len(head) :], chunk.start + len(head)):
        if number in skip:
            body.append(line)
        else:
            body.append(line[len(indent) :] if line.startswith(indent) else line.lstrip())
    return (head, indent, body) if indent else None


def _members(node: ast.ClassDef) -> tuple[set[tuple[str, ...]], bool]:
    """The keys of a class's members, and whether any of them is a ``...`` stub."""
    keys, stub = set(), False
    for group in _groups(node.body):
        key, _ = _classify(group, first=group[0] is node.body[0])
        if key:
            keys.add(key)
        stub = stub or _is_stub(_Chunk(group, 0, []))
    return keys, stub


def _merge_class(old: _Chunk, new: _Chunk, depth: int) -> list[str] | None:
    """The class merged member by member, or None where the new class replaces it whole."""
    old_keys, _ = _members(old.stmts[0])  # type: ignore[arg-type]
    new_keys, new_stub = _members(new.stmts[0])  # type: ignore[arg-type]
    if old_keys <= new_keys and not new_stub:
        return None
    old_parts, new_parts = _class_parts(old), _class_parts(new)
    if old_parts is None or new_parts is None:
        return None
    indent = old_parts[1]
    try:
        old_chunks, tail = _chunks("\n".join(old_parts[2]))
        new_chunks = _prepare(_chunks("\n".join(new_parts[2]))[0])
        text = "\n".join(_merge(old_chunks, tail, new_chunks, depth + 1)).rstrip()
        skip = _string_lines(ast.parse(text))
    except PARSE_ERRORS:
        return None
    body = [
        line if n in skip else (indent + line if line.strip() else "")
        for n, line in enumerate(text.split("\n"), 1)
    ]
    return new_parts[0] + body


# ---------------------------------------------------------------- entry point


def _invalid(path: str, text: str, exc: SyntaxError) -> InvalidMergeBlock:
    number = exc.lineno or 0
    lines = text.split("\n")
    message = f"The code block for {path} is not valid Python (line {number} of the block: {exc.msg}), "
    message += "so it was not merged and no file was changed."
    if 0 < number <= len(lines) and lines[number - 1].strip():
        message += f"\nThat line is:\n    {lines[number - 1].rstrip()}"
    if isinstance(exc, IndentationError):
        message += (
            "\nTop-level code must start at column 0. To change a method, send its class: "
            "the `class` line, then the method indented under it."
        )
    message += "\nSend the block again as valid Python: only the new or changed functions, classes and statements."
    return InvalidMergeBlock(message)


def _lf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _text(lines: list[str]) -> str:
    text = "\n".join(lines).rstrip()
    return text + "\n" if text else ""


def unwrap_main_guard(code: str) -> str:
    """A program's step without ``if __name__ == "__main__":`` around it: a program run as a script
    continues with top-level statements, and a guard would run its prints after every later step."""
    try:
        tree = ast.parse(_lf(code))
    except PARSE_ERRORS:
        return code
    guards = [s for s in tree.body if _is_main(s) and not s.orelse]  # type: ignore[attr-defined]
    if not guards:
        return code
    lines = _lf(code).split("\n")
    for guard in reversed(guards):
        body = lines[guard.body[0].lineno - 1: guard.end_lineno]
        indent = min((len(line) - len(line.lstrip()) for line in body if line.strip()), default=0)
        lines[guard.lineno - 1: guard.end_lineno] = [line[indent:] for line in body]
    return "\n".join(lines)


def merge_python(old: str, new: str, *, path: str = "the file") -> str:
    """``old`` with the definitions and statements of ``new`` merged in by name.

    Raises ``InvalidMergeBlock`` when ``new`` is not valid Python. When ``old``
    is not, ``new`` is appended to it unchanged."""
    new = _lf(new)
    try:
        new_chunks, new_tail = _chunks(new)
    except SyntaxError as exc:
        raise _invalid(path, new, exc) from None
    except PARSE_ERRORS as exc:
        raise InvalidMergeBlock(f"The code block for {path} cannot be read as Python ({exc}); send it again.") from None
    try:
        old_chunks, tail = _chunks(_lf(old))
    except PARSE_ERRORS:
        return _text([old.rstrip(), "", "", new.strip("\n")] if old.strip() else [new])
    if _restates(old_chunks, new_chunks, new):
        carried = _prepare([c for c in old_chunks if c.kind in ("doc", *_IMPORTS)])
        return _text(_merge(new_chunks, new_tail, carried, 0))
    return _text(_merge(old_chunks, tail, _prepare(new_chunks), 0))


def _restates(old: list[_Chunk], new: list[_Chunk], new_text: str) -> bool:
    """``new`` is the whole file again: it names every def, class, assignment and main block
    of ``old``, repeats at least one of them unchanged, and has no stub or elision comment
    standing in for one. Then it replaces the file (keeping the old imports and docstring),
    so a broken statement such as a call, which has no name to be replaced by, can be fixed
    by sending the file without it."""
    named = ("def", "class", "assign", "main")
    old_named = [c for c in old if c.kind in named]
    if not old_named or any(_is_stub(c) for c in new) or any(_ELISION.match(line) for line in new_text.split("\n")):
        return False
    present = {d for c in old for d in c.dumps}
    if all(d in present for c in new for d in c.dumps):
        return False  # nothing new: merging keeps the file as it is
    new_named = [c for c in new if c.kind in named]
    unchanged = {d for c in old_named for d in c.dumps} & {d for c in new_named for d in c.dumps}
    return bool(unchanged) and {c.key for c in old_named} <= {c.key for c in new_named}
