"""Choice options as Enums, so that ``--help`` lists the accepted values (``<raise|skip>``)
and Typer refuses anything else.

``--split`` is the exception: it stays a string whose ``--help`` lists the values
(:data:`SPLIT_METAVAR`), because the library checks it against the data and its one-line
error also names the splits the manifest (or AVSBench meta CSV) actually holds.
Commands pass ``.value`` (a plain string) to the library functions. Public: ``avsmodel``'s
CLI uses it too.
"""

from __future__ import annotations

from enum import Enum, StrEnum

from avsynth.constants import ON_ERROR, SILENT_AUDIO

#: ``--help`` shows the splits as the choice options show theirs.
SPLIT_METAVAR = "<train|val|test>"


#: What ``build`` does with undecodable media: stop, or drop its triplets (the choices of
#: :data:`avsynth.constants.ON_ERROR`, the default first).
OnError = StrEnum("OnError", {v.upper(): v for v in ON_ERROR})
#: What ``build`` does with all-zero clips: keep, or drop their triplets
#: (:data:`avsynth.constants.SILENT_AUDIO`, the default first).
SilentAudio = StrEnum("SilentAudio", {v.upper(): v for v in SILENT_AUDIO})


class Subset(StrEnum):
    """AVSBench subset (layout): single-source (S4) or multi-source (MS3)."""

    S4 = "s4"
    MS3 = "ms3"


class Allocation(StrEnum):
    """How ``build`` spreads instances over categories."""

    BALANCED = "balanced"
    PROPORTIONAL = "proportional"


def value(choice: Enum | None) -> str | None:
    """The plain string of a choice (None stays None)."""
    return None if choice is None else str(choice.value)
