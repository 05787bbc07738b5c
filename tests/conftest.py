"""Fixtures shared by the tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """An empty directory named ``pkg``: chatpkg scaffolds package ``pkg`` in it."""
    path = tmp_path / "pkg"
    path.mkdir()
    return path
