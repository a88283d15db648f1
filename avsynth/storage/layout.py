"""Where a build and an export put their files: relative paths and file-name-safe ids.

The build writes (below its output folder)::

    images/{source}/{image_id}{ext}     # the source image, bytes as-is
    masks/{source}/{mask_id}.png        # 0/255 mask at the image's size
    audio/{clip_id}.wav                 # 16 kHz mono 16-bit PCM
    masks/union/{triplet_id}.png        # target of a multi / offscreen triplet (composed)
    audio/mix/{triplet_id}.wav          # what a multi / partial triplet hears (composed)

Ids become file names only if they are already safe (:func:`checked_name` refuses others, so
two ids never share a file); the AVSBench export instead rewrites ids into safe names
(:func:`safe_name`) and checks that no two collide.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from avsynth.errors import SourceError
from avsynth.sources.records import SourceClip, SourceImage, SourceMask

__all__ = [
    "audio_relpath",
    "checked_name",
    "image_relpath",
    "mask_relpath",
    "mix_relpath",
    "safe_name",
    "union_relpath",
]

_SAFE = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]*$")


def checked_name(name: str, what: str) -> str:
    """``name`` itself if it is a safe file name (letters, digits, ``_ - .``, <= 200 chars).

    Raises:
        SourceError: naming ``what``, for any other character, a leading ``.`` or length.
    """
    if not _SAFE.match(name) or len(name) > 200:
        raise SourceError(f"{what} {name!r} cannot be used as a file name (unsafe characters)")
    return name


def safe_name(text: str) -> str:
    """A file-name-safe version of an id (letters, digits, ``-``, ``_`` and ``.`` kept)."""
    out = "".join(c if (c.isascii() and (c.isalnum() or c in "-_.")) else "_" for c in text)
    return out.strip(".") or "_"


def image_relpath(im: SourceImage) -> str:
    """Where a materialised image lives below the output folder."""
    ext = PurePosixPath(im.path).suffix.lower() or ".jpg"
    return f"images/{im.source}/{checked_name(im.image_id, f'{im.source} image id')}{ext}"


def mask_relpath(m: SourceMask) -> str:
    """Where a materialised mask PNG lives below the output folder."""
    return f"masks/{m.source}/{checked_name(m.mask_id, f'{m.source} mask id')}.png"


def audio_relpath(c: SourceClip) -> str:
    """Where a materialised 16 kHz WAV lives below the output folder."""
    return f"audio/{checked_name(c.clip_id, 'VGGSound clip id')}.wav"


def union_relpath(triplet_id: str) -> str:
    """Where the target (union) mask of a multi / offscreen triplet lives."""
    return f"masks/union/{triplet_id}.png"


def mix_relpath(triplet_id: str) -> str:
    """Where the mixed WAV of a multi / partial triplet lives."""
    return f"audio/mix/{triplet_id}.wav"
