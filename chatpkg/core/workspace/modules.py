"""Where a workspace's Python modules live: a file's dotted module name, a module's file, and the file that
``python -m`` runs."""

from __future__ import annotations

import ast
import re

from chatpkg.core.workspace.merge import PARSE_ERRORS

RUN_MODULE = re.compile(r"\bpython3? -m ([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)")


def module_file(module: str, files: dict[str, str]) -> str:
    """The workspace file of a dotted module: its package's __init__.py or its .py file."""
    base = module.replace(".", "/")
    for path in (f"{base}/__init__.py", f"{base}.py", f"src/{base}/__init__.py", f"src/{base}.py"):
        if path in files:
            return path
    return f"{base}.py"


def dotted(path: str) -> str:
    """``pkg/calc.py`` -> ``pkg.calc``; ``pkg/sub/__init__.py`` -> ``pkg.sub``."""
    name = path.removeprefix("src/").removesuffix(".py").removesuffix("/__init__")
    return name.replace("/", ".")


def main_module(request: str, files: dict[str, str]) -> str | None:
    """The file that the request's ``python -m X`` runs, when X is the workspace's: ``X/__main__.py`` for a
    package, ``X.py`` for a module. Seen on the package benchmark: asked for "`python -m units "3.5 km" m`",
    the embedded model put the command line in ``units/length.py``, and ``python -m units`` exited 1."""
    match = RUN_MODULE.search(request)
    if match is None:
        return None
    path = module_file(match[1], files)
    if path not in files:
        return None
    return path.removesuffix("__init__.py") + "__main__.py" if path.endswith("/__init__.py") else path


def package_main(request: str, files: dict[str, str]) -> str | None:
    """``main_module`` where it is a package's ``__main__.py`` (a module ``X.py`` is its own file)."""
    home = main_module(request, files)
    return home if home is not None and home.endswith("/__main__.py") else None


def without_self_imports(text: str, path: str) -> str:
    """``text`` without its top-level ``from`` imports of names it defines itself, from its own module or a
    package above it (``from units import FACTORS`` in ``units/length.py``, which defines ``FACTORS``). Such
    an import is at best redundant and usually a circular import that fails before the definition runs.
    Seen on the package benchmark: merged into ``units/length.py``, it turned every test red through two
    repair rounds, each reply keeping it."""
    try:
        tree = ast.parse(text)
    except PARSE_ERRORS:
        return text
    defined = _defined(tree.body)
    drop = [node for node in _own_imports(tree, path)
            if all(a.name in defined and a.asname in (None, a.name) for a in node.names)]
    if not drop:
        return text
    lines = text.split("\n")
    for node in reversed(drop):
        del lines[node.lineno - 1:node.end_lineno]
    return "\n".join(lines).lstrip("\n")


def dropped_self_imports(block: str, written: str, path: str) -> list[str]:
    """The imports from its own module or a package above it that a reply's ``block`` for ``path`` holds
    and the file as written does not: what ``without_self_imports`` took out, for the user to be told."""
    try:
        tree = ast.parse(block)
    except PARSE_ERRORS:
        return []
    kept = {line.strip() for line in written.splitlines()}
    found = (ast.get_source_segment(block, node) or "" for node in _own_imports(tree, path))
    return [line for line in found if line and line.strip() not in kept]


def _own_imports(tree: ast.Module, path: str) -> list[ast.ImportFrom]:
    """The top-level ``from`` imports of a module's own name, or of a package above it."""
    own = dotted(path).split(".")
    package = own if path.endswith("__init__.py") else own[:-1]
    homes = {".".join(own[:i]) for i in range(1, len(own) + 1)}
    return [node for node in tree.body if isinstance(node, ast.ImportFrom) and _absolute(node, package) in homes]


def _defined(body: list[ast.stmt]) -> set[str]:
    """The names a module's top level defines: functions, classes, assigned names (not imports)."""
    names = set()
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
    return names


def _absolute(node: ast.ImportFrom, package: list[str]) -> str:
    """The module an import names, a relative one resolved against ``package``."""
    if not node.level:
        return node.module or ""
    base = package[:len(package) - node.level + 1] if node.level <= len(package) else []
    return ".".join([*base, *([node.module] if node.module else [])])
