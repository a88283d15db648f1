"""Choice options as Enums, so that ``--help`` lists the accepted values (``[raise|skip]``)
and Typer rejects anything else with a one-line usage error.

Public: ``avsmodel``'s CLI uses :class:`Split` too. Commands pass ``.value`` (a plain string)
to the library functions.
"""

from __future__ import annotations

from enum import Enum, StrEnum


class Split(StrEnum):
    """A manifest split."""

    TRAIN = "train"
    VAL = "val"
    TEST = "test"


class OnError(StrEnum):
    """What ``build`` does with undecodable media: stop, or drop its triplets."""

    RAISE = "raise"
    SKIP = "skip"


class Allocation(StrEnum):
    """How ``build`` spreads instances over categories."""

    BALANCED = "balanced"
    PROPORTIONAL = "proportional"


def value(choice: Enum | None) -> str | None:
    """The plain string of a choice (None stays None)."""
    return None if choice is None else str(choice.value)
