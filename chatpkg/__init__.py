"""chatpkg: build Python packages one tested, committed step at a time."""

__version__ = "0.1.0"
