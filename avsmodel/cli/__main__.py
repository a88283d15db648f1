"""``python -m avsmodel.cli``: the ``avsmodel`` command line, as the console script runs it."""

from avsmodel.cli import main

main()
