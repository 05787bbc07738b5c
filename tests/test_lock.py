"""The environment the suite runs in is the locked one (requirements/lock.txt).

README's commands and .ci/run install with the lock as constraints; a package at
another version than the lock's means an install that did not use it, or a lock
that no longer matches pyproject.toml.
"""

from __future__ import annotations

import importlib.metadata as metadata
import re
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements" / "lock.txt"


def locked(path: Path = LOCK) -> dict[str, str]:
    """name -> version for the pins whose markers hold on this interpreter."""
    pins: dict[str, str] = {}
    text = path.read_text(encoding="utf-8").replace("\\\n", " ")
    for line in text.splitlines():
        line = line.split(" --hash", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate():
            pins[canonicalize_name(requirement.name)] = str(requirement.specifier).removeprefix("==")
    return pins


def test_every_pin_has_hashes() -> None:
    text = LOCK.read_text(encoding="utf-8")
    pins = re.findall(r"^(\S+==\S+)((?: ;[^\\\n]*)?) \\\n((?:    --hash=sha256:[0-9a-f]{64}(?: \\)?\n)+)", text, re.M)
    assert len(pins) == len(re.findall(r"^\S+==", text, re.M)) > 50


def test_installed_packages_are_at_their_locked_versions() -> None:
    pins = locked()
    wrong = {}
    for dist in metadata.distributions():
        name = canonicalize_name(dist.metadata["Name"])
        if name in pins and dist.version != pins[name]:
            wrong[name] = f"{dist.version} installed, {pins[name]} locked"
    assert not wrong, wrong


def test_every_dependency_of_chatpkg_is_locked() -> None:
    pins = locked()
    declared = {canonicalize_name(Requirement(r).name) for r in metadata.requires("chatpkg") or []}
    assert declared - {"chatpkg"} <= set(pins), declared - set(pins)
