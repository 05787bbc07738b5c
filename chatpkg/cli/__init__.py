"""The ``chatpkg`` command line (click). ``main`` is the console script's entry point."""

from chatpkg.cli.main import main

__all__ = ["main"]
