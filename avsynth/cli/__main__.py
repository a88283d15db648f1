"""``python -m avsynth.cli``: the ``avsynth`` command line, as the console script runs it."""

from avsynth.cli import main

main()
