"""One exception hierarchy for avsynth.

Every error a user can cause is an :class:`AvsynthError`; the CLI prints its message on one
line and exits non-zero, without a traceback (``AVSYNTH_DEBUG=1`` shows it).
"""


class AvsynthError(Exception):
    """Base class of every user-facing avsynth error."""


class MapError(AvsynthError):
    """The category map is malformed or names labels that do not exist."""


class SourceError(AvsynthError):
    """A source dataset file is missing or malformed (the message names file and line/entry)."""


class PlanError(AvsynthError):
    """The plan cannot be made, e.g. too few instances for the requested split sizes."""


class ManifestError(AvsynthError):
    """A manifest is missing, malformed, of an unknown schema version or unsafe."""


class MediaError(AvsynthError):
    """A media file (image, mask, audio) is missing or does not decode."""


class OutputError(AvsynthError):
    """An output path cannot be written: a file where a folder must be, no permission, ..."""


def did_you_mean(word: str, choices, *, n: int = 1, cutoff: float = 0.6) -> str:
    """The one did-you-mean hint of avsynth's (and avsmodel's) messages.

    Returns ``"; did you mean 'x'?"`` (``'x' or 'y'`` when ``n > 1`` finds several) for the
    closest of ``choices`` to ``word`` by :func:`difflib.get_close_matches`, or ``""``.
    """
    import difflib

    close = difflib.get_close_matches(word, [str(c) for c in choices], n=n, cutoff=cutoff)
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


class ManifestRecordError(ManifestError):
    """A manifest record does not fit the schema: a wrong type, a missing field, an unknown
    choice, or a number that is not finite or out of range (the message names file:line and
    the field, e.g. ``manifest.jsonl:7: audio.duration: expected float, got str``).

    Attributes:
        field: The field's path in the record (``audio.duration``, ``mask.bbox[2]``).
    """

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field
