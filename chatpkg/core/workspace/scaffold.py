"""The minimal package a new, empty workspace starts with."""

from __future__ import annotations

PYPROJECT = """\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "{name}"
version = "0.1.0"
requires-python = ">=3.10"

[tool.pytest.ini_options]
testpaths = ["tests"]
pythonpath = ["."]
"""

GITIGNORE = """\
__pycache__/
*.egg-info/
.pytest_cache/
build/
dist/
"""


def scaffold_files(package: str) -> dict[str, str]:
    """Relative path -> text of a minimal, importable, tested package."""
    return {
        ".gitignore": GITIGNORE,
        "README.md": f"# {package}\n\nBuilt step by step with chatpkg.\n",
        "pyproject.toml": PYPROJECT.format(name=package.replace("_", "-")),
        f"{package}/__init__.py": f'"""{package}."""\n',
        f"tests/test_{package}.py": f"import {package}\n\n\ndef test_package_imports():\n"
        f"    assert {package}.__name__ == \"{package}\"\n",
    }
