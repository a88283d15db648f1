"""Seeded, order-free keys: every random choice of the planner is a salted hash of stable ids.

Nothing in the plan depends on input order or on a global RNG: lists are sorted by
``stable_hash(seed, purpose, id)`` (ties broken by the id itself), so the same inputs and seed
give the same plan on any machine and with any number of workers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from avsynth.sources.records import SourceClip, SourceImage, SourceMask


@lru_cache(maxsize=64)
def _base(seed: int, purpose: str) -> Any:
    return hashlib.blake2b(
        digest_size=8, key=str(seed).encode("ascii"), person=purpose[:16].encode()
    )


def stable_hash(seed: int, purpose: str, key: str) -> int:
    """64-bit BLAKE2b of ``key`` keyed by ``seed`` and salted with ``purpose``.

    Args:
        seed: The build seed.
        purpose: What the hash is used for (``"select"``, ``"pair"``, ...), so that orders used
            for different choices are independent.
        key: A stable id, e.g. ``lvis:12345``.
    """
    h = _base(seed, purpose).copy()
    h.update(key.encode("utf-8"))
    return int.from_bytes(h.digest(), "big")


def hashed_keys(seed: int, purpose: str, keys: Iterable[str]) -> list[int]:
    """:func:`stable_hash` of each key, in order (one hasher set up for all of them)."""
    base = _base(seed, purpose)
    out = []
    for key in keys:
        h = base.copy()
        h.update(key.encode("utf-8"))
        out.append(int.from_bytes(h.digest(), "big"))
    return out


def mask_key(m: SourceMask) -> str:
    """Stable id of a mask across sources: ``{source}:{mask_id}``."""
    return f"{m.source}:{m.mask_id}"


def image_key(m: SourceMask) -> str:
    """Stable id of the image of a mask: ``{source}:{image_id}`` (the split grouping unit)."""
    return f"{m.source}:{m.image.image_id}"


def key_of_image(im: SourceImage) -> str:
    """:func:`image_key` of an image itself: ``{source}:{image_id}``."""
    return f"{im.source}:{im.image_id}"


def triplet_id(m: SourceMask, c: SourceClip) -> str:
    """Deterministic 16-hex-digit id of a (mask, clip) pair."""
    h = hashlib.blake2b(f"{mask_key(m)}|{c.clip_id}".encode(), digest_size=8)
    return h.hexdigest()
