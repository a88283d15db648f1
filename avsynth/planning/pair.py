"""Pairing: every chosen mask gets one VGGSound clip of its category.

Train triplets draw from VGGSound's ``train`` split, val and test from its ``test`` split,
whose clips are first divided between val and test (in proportion to their sizes), so no clip
is shared across splits. Within a (category, split) pool clips are reused round-robin over a
seeded permutation: use counts differ by at most one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

from avsynth.constants import SPLITS as SPLITS  # re-exported for the planner
from avsynth.planning.keys import hashed_keys, mask_key
from avsynth.sources.records import SourceClip, SourceMask

VGG_SUBSET = {"train": "train", "val": "test", "test": "test"}


def clips_by_category(
    clips: Iterable[SourceClip], to_category: Mapping[str, str], *, require_files: bool
) -> tuple[dict[str, dict[str, list[SourceClip]]], int]:
    """Usable clips per category and VGGSound subset (each clip id once).

    Returns:
        ``(pools, without_file)``: ``pools[category][subset]`` sorted by clip id, and the
        number of selected rows skipped because their file is missing (only counted when
        ``require_files``).
    """
    best: dict[str, SourceClip] = {}
    missing = 0
    for c in clips:
        if c.label not in to_category:
            continue
        if require_files and c.path is None:
            missing += 1
            continue
        # A clip listed twice (two labels, or both VGGSound splits) is used once: its test row
        # first (so it can never serve train and val/test), then the smallest label.
        prev = best.get(c.clip_id)
        rank = (c.subset != "test", c.label, c.line)
        if prev is None or rank < (prev.subset != "test", prev.label, prev.line):
            best[c.clip_id] = c
    pools: dict[str, dict[str, list[SourceClip]]] = defaultdict(lambda: defaultdict(list))
    for cid in sorted(best):
        c = best[cid]
        pools[to_category[c.label]][c.subset].append(c)
    out = {cat: dict(subs) for cat, subs in pools.items()}
    return out, missing


def split_pools(
    pools: Mapping[str, list[SourceClip]], want: Sequence[int], *, seed: int, category: str
) -> list[list[SourceClip]]:
    """The clip pool of each split for one category.

    Args:
        pools: The category's clips per VGGSound subset.
        want: Instances per split (train, val, test).
        seed: Build seed.
        category: Category name (salt of the permutation).

    Returns:
        Clips per split in their seeded round-robin order; val and test take disjoint parts of
        the ``test`` subset (sizes proportional to their instance counts, at least one each
        when both need clips).
    """

    def perm(cs: Sequence[SourceClip]) -> list[SourceClip]:
        hashes = hashed_keys(seed, "clip", [f"{category}|{c.clip_id}" for c in cs])
        rows = sorted(zip(hashes, (c.clip_id for c in cs), range(len(cs)), strict=True))
        return [cs[r[2]] for r in rows]

    train = perm(pools.get("train", [])) if want[0] else []
    test = perm(pools.get("test", []))
    nv, nt = want[1], want[2]
    if nv and nt:
        k = round(len(test) * nv / (nv + nt))
        k = min(max(k, 1), len(test) - 1)
        return [train, test[:k], test[k:]]
    return [train, test if nv else [], test if nt else []]


def clip_need(want: Sequence[int]) -> tuple[int, int]:
    """Minimum (train, test) clips a category needs for instance counts ``want``."""
    return (1 if want[0] else 0, (1 if want[1] else 0) + (1 if want[2] else 0))


def pair(
    chosen: Sequence[SourceMask], clips: Sequence[SourceClip], *, seed: int
) -> list[tuple[SourceMask, SourceClip]]:
    """Pair masks of one (category, split) cell with clips round-robin.

    Masks are taken in seeded order and the i-th gets ``clips[i % len(clips)]``.
    """
    if chosen and not clips:
        raise ValueError("pair() needs at least one clip")
    keys = [mask_key(m) for m in chosen]
    rows = sorted(zip(hashed_keys(seed, "pair", keys), keys, range(len(keys)), strict=True))
    return [(chosen[r[2]], clips[i % len(clips)]) for i, r in enumerate(rows)]
