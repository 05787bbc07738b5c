"""``python -m chatpkg.cli``: the same as the ``chatpkg`` command."""

from chatpkg.cli.main import main

main()
