"""The ``chatpkg`` command line (click). ``main`` is the console script's entry point."""

import os

# Without git on PATH, importing GitPython fails outright; let chatpkg start so `chatpkg doctor` can say so.
os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")

from chatpkg.cli.main import main  # noqa: E402

__all__ = ["main"]
