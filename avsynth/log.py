"""Logging for both packages: the library logs, the command line decides what is shown.

Library modules log through ``logging.getLogger(__name__)`` (loggers ``avsynth.*`` and
``avsmodel.*``); each package's ``__init__`` adds a :class:`logging.NullHandler`, so a program
that imports the library and configures nothing sees nothing beyond Python's own warnings.
To see the messages, or send them elsewhere, configure the ``avsynth`` / ``avsmodel`` loggers
as usual::

    import logging
    logging.getLogger("avsynth").setLevel(logging.INFO)
    logging.getLogger("avsynth").addHandler(logging.StreamHandler())

The command lines call :func:`configure`: messages at INFO and above go to stderr as
``[avsynth] MESSAGE``; ``-v`` adds DEBUG, ``--quiet`` keeps only warnings and errors.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO, cast

#: The packages whose loggers the command lines configure.
PACKAGES = ("avsynth", "avsmodel")


class PackageFormatter(logging.Formatter):
    """``[package] message``: the top-level package of the logger, not its full dotted name."""

    def format(self, record: logging.LogRecord) -> str:
        """Format ``record`` as ``[package] message`` (warnings say ``warning:`` too)."""
        head = record.name.split(".", 1)[0]
        text = record.getMessage()
        if record.levelno >= logging.WARNING:
            text = f"{record.levelname.lower()}: {text}"
        return f"[{head}] {text}"


#: Marks the handler :func:`configure` installs, so calling it again replaces it.
_CLI_HANDLER = "avsynth-cli"


class StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a record is emitted (not when the handler was
    made), as :data:`logging.lastResort` does: redirected or captured stderr keeps working."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self):  # type: ignore[override]
        """The current ``sys.stderr``."""
        return sys.stderr

    @stream.setter
    def stream(self, value: object) -> None:
        pass


def configure(level: int = logging.INFO, stream: object | None = None) -> None:
    """Show the packages' log messages of ``level`` and above on ``stream`` (default stderr).

    Idempotent: a second call replaces the handler of the first (and sets the new level).
    """
    handler: logging.Handler = StderrHandler()
    if stream is not None:
        handler = logging.StreamHandler(cast(TextIO, stream))
    handler.set_name(_CLI_HANDLER)
    handler.setFormatter(PackageFormatter())
    for name in PACKAGES:
        logger = logging.getLogger(name)
        for h in [h for h in logger.handlers if h.get_name() == _CLI_HANDLER]:
            logger.removeHandler(h)
        logger.addHandler(handler)
        logger.setLevel(level)


def set_level(level: int) -> None:
    """Change the level of both packages' loggers (``--quiet``: ``logging.WARNING``)."""
    for name in PACKAGES:
        logging.getLogger(name).setLevel(level)


def level_for(verbose: int = 0, quiet: bool = False) -> int:
    """The level of ``-v`` (given ``verbose`` times) and ``--quiet``."""
    if quiet:
        return logging.WARNING
    return logging.DEBUG if verbose > 0 else logging.INFO
