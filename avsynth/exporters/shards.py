"""What the shard exporters (``hf``, ``webdataset``) share: sample order, keys, shards and the
record of the build they came from.

* **Order.** Samples are grouped by split (``train``, ``val``, ``test``) and sorted by triplet
  id inside a split, so the same manifest gives the same shards whatever order its lines are
  in. Build ids are content hashes, so this order also mixes categories across shards.
* **Keys.** WebDataset groups a tar's files into samples by the name before the *first* dot,
  so a key holds only ``A-Z a-z 0-9 _ -``. An id made of those is its own key; any other id
  becomes its characters with the rest replaced by ``_``, plus ``_`` and the first 8 hex digits
  of the id's SHA-256 (``cat.01`` -> ``cat_01_<8 hex>``), so two ids never share a key by
  accident (a clash is still checked). The true id stays in the sample's record.
* **Shards.** ``shard_size`` samples per shard (the last one of a split holds the rest).
* **Provenance.** :func:`build_fingerprint` condenses the ``build_info.json`` beside the
  manifest; it leaves out the source roots (paths of the machine that built it), so copies of
  one build give the same fingerprint.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from avsynth.constants import SPLITS
from avsynth.errors import ManifestError
from avsynth.manifest import Triplet, read_sidecar
from avsynth.storage.atomic import file_sha256

__all__ = [
    "DEFAULT_SHARD_SIZE",
    "ShardExport",
    "build_fingerprint",
    "by_split",
    "check_shard_size",
    "chunks",
    "sample_keys",
    "sample_key",
]

#: Samples per shard unless told otherwise (about 200-250 MB of 640x480 images and 10 s clips).
DEFAULT_SHARD_SIZE = 500
_KEY_CHARS = re.compile(r"[A-Za-z0-9_-]+")
_NOT_KEY = re.compile(r"[^A-Za-z0-9_-]")


def sample_key(triplet_id: str) -> str:
    """The WebDataset key of a triplet id (see the module notes): no dots, no separators."""
    if _KEY_CHARS.fullmatch(triplet_id):
        return triplet_id
    digest = hashlib.sha256(triplet_id.encode("utf-8")).hexdigest()[:8]
    return f"{_NOT_KEY.sub('_', triplet_id)}_{digest}"


def sample_keys(triplets: list[Triplet]) -> dict[str, str]:
    """``{id: key}`` for every triplet.

    Raises:
        ManifestError: two triplets share an id, or two ids map to one key.
    """
    keys: dict[str, str] = {}
    owner: dict[str, str] = {}
    for t in triplets:
        if t.id in keys:
            raise ManifestError(f"triplet id {t.id!r} appears twice; ids must be unique")
        key = sample_key(t.id)
        if key in owner:
            raise ManifestError(
                f"triplet ids {owner[key]!r} and {t.id!r} both become sample key {key!r}; "
                "make the ids distinct"
            )
        keys[t.id], owner[key] = key, t.id
    return keys


def by_split(triplets: list[Triplet]) -> dict[str, list[Triplet]]:
    """The triplets of each split present, splits in ``train, val, test`` order, ids sorted."""
    out: dict[str, list[Triplet]] = {s: [] for s in SPLITS}
    for t in triplets:
        out[t.split].append(t)
    return {s: sorted(ts, key=lambda t: t.id) for s, ts in out.items() if ts}


def check_shard_size(shard_size: int) -> int:
    """``shard_size`` if it is a positive integer.

    Raises:
        ManifestError: otherwise (the message names ``--shard-size``).
    """
    if isinstance(shard_size, bool) or not isinstance(shard_size, int) or shard_size < 1:
        raise ManifestError(f"--shard-size {shard_size!r}: give a positive number of samples")
    return shard_size


def chunks(items: list[Any], size: int) -> list[list[Any]]:
    """``items`` cut into consecutive lists of ``size`` (the last may be shorter)."""
    return [items[i : i + size] for i in range(0, len(items), size)]


def build_fingerprint(manifest: str | os.PathLike[str]) -> dict[str, Any]:
    """What identifies the build behind ``manifest``, for dataset cards and indexes.

    Returns:
        ``manifest_sha256`` (the manifest file's bytes) and, when a ``build_info.json`` lies
        beside it, ``build_info_sha256`` (SHA-256 of its canonical JSON without ``roots``),
        ``avsynth_version``, ``seed``, ``category_map``, ``split_sizes``, ``clip_seconds``,
        ``compose`` and ``plan_only``.

    Raises:
        ManifestError: the sidecar is not valid JSON.
    """
    out: dict[str, Any] = {"manifest_sha256": file_sha256(manifest)}
    info = read_sidecar(manifest)
    if not info:
        return out
    portable = {k: v for k, v in info.items() if k != "roots"}
    canonical = json.dumps(portable, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    out["build_info_sha256"] = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    for key in (
        "avsynth_version",
        "seed",
        "category_map",
        "split_sizes",
        "clip_seconds",
        "compose",
        "plan_only",
    ):  # fmt: skip
        if key in info:
            out[key] = info[key]
    return out


@dataclass
class ShardExport:
    """What a shard export (:func:`avsynth.exporters.export`, ``hf`` or ``webdataset``) wrote.

    Attributes:
        root: The output folder.
        format: ``hf`` or ``webdataset``.
        counts: Samples per manifest split (``train``, ``val``, ``test``).
        shards: Shard paths relative to ``root``, in order.
        bytes: Total size of the files written.
    """

    root: Path
    format: str
    counts: dict[str, int] = field(default_factory=dict)
    shards: list[str] = field(default_factory=list)
    bytes: int = 0

    def summary(self) -> str:
        """One line for the terminal."""
        parts = ", ".join(f"{s} {self.counts.get(s, 0)}" for s in SPLITS)
        return (
            f"{sum(self.counts.values())} samples ({parts}) in {len(self.shards)} "
            f"{self.format} shards, {self.bytes / 1e6:.1f} MB"
        )
