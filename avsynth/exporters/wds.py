"""Export a manifest as WebDataset tar shards, written with ``webdataset.TarWriter``.

Layout::

    OUT/{split}-{i:06d}.tar     split = train | val | test (the manifest's names)
    OUT/index.json              shards and sample counts (written last)
    OUT/export_info.json        provenance

Each sample is four tar members sharing its key (:func:`avsynth.exporters.shards.sample_key`):
``<key>.jpg`` or ``<key>.png`` (the built image bytes), ``<key>.mask.png`` (0/255 mask),
``<key>.wav`` (16 kHz mono PCM_16) and ``<key>.json`` (the manifest record, one JSON object
as the manifest line spells it; its ``id`` is the true triplet id). Members are written in
sorted name order with a fixed mtime (0), mode 0444, uid/gid 0 and user/group ``avsynth``, so
the same manifest and media give the same tar bytes.

``index.json``::

    {"format": "webdataset", "version": 1, "avsynth": "<version>", "shard_size": 500,
     "sample_rate": 16000,
     "extensions": {"image": ["jpg", "png"], "mask": "mask.png", "audio": "wav",
                    "record": "json"},
     "splits": {"train": {"num_samples": 80,
                          "shards": [{"url": "train-000000.tar", "nsamples": 80,
                                      "bytes": 123, "sha256": "..."}]}, ...},
     "build": {...}}

``url`` is relative to the folder; ``nsamples`` is the name ``wids`` shard lists use.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from avsynth import __version__
from avsynth.constants import SAMPLE_RATE
from avsynth.exporters.samples import Sample
from avsynth.exporters.shards import ShardExport, chunks
from avsynth.exporters.staging import Staging
from avsynth.manifest import Triplet
from avsynth.manifest.encode import encode_record
from avsynth.storage.atomic import file_sha256

__all__ = ["INDEX", "INDEX_VERSION", "shard_name", "wds_sample", "write_webdataset"]

INDEX = "index.json"
INDEX_VERSION = 1
TAR_USER = "avsynth"
#: Member extensions of a sample, by role.
EXTENSIONS = {"image": ["jpg", "png"], "mask": "mask.png", "audio": "wav", "record": "json"}


def shard_name(split: str, index: int) -> str:
    """``{split}-{index:06d}.tar``."""
    return f"{split}-{index:06d}.tar"


def wds_sample(s: Sample) -> dict[str, Any]:
    """The ``TarWriter`` dict of one sample (``__key__`` plus one bytes value per member)."""
    return {
        "__key__": s.key,
        s.image_ext: s.image,
        "mask.png": s.mask_png,
        "wav": s.wav,
        "json": encode_record(s.triplet),
    }


def write_webdataset(
    st: Staging,
    groups: dict[str, list[Triplet]],
    samples: Callable[[Iterable[Triplet]], Iterable[Sample]],
    shard_size: int,
    provenance: dict[str, Any],
) -> ShardExport:
    """Write the tar shards of every split and ``index.json`` (last) into ``st``.

    Args:
        st: The staging folder.
        groups: Triplets per manifest split, in export order.
        samples: Turns triplets into their :class:`Sample` bytes, in order.
        shard_size: Samples per shard.
        provenance: :func:`~avsynth.exporters.shards.build_fingerprint` of the manifest.

    Returns:
        The report (``root`` is the final folder).
    """
    from webdataset import TarWriter

    report = ShardExport(root=st.out, format="webdataset")
    splits: dict[str, Any] = {}
    for split, triplets in groups.items():
        shards = []
        for i, part in enumerate(chunks(triplets, shard_size)):
            rel = shard_name(split, i)
            with st.writing(rel) as p, open(p, "wb") as f:
                with TarWriter(
                    f, user=TAR_USER, group=TAR_USER, mode=0o444, mtime=0.0, encoder=False
                ) as w:
                    for s in samples(part):
                        w.write(wds_sample(s))
            size, digest = p.stat().st_size, file_sha256(p)
            shards.append({"url": rel, "nsamples": len(part), "bytes": size, "sha256": digest})
            report.shards.append(rel)
        splits[split] = {"num_samples": len(triplets), "shards": shards}
        report.counts[split] = len(triplets)
    index = {
        "format": "webdataset",
        "version": INDEX_VERSION,
        "avsynth": __version__,
        "shard_size": shard_size,
        "sample_rate": SAMPLE_RATE,
        "extensions": EXTENSIONS,
        "splits": splits,
        "build": provenance,
    }
    st.write_bytes(INDEX, (json.dumps(index, indent=2, ensure_ascii=False) + "\n").encode())
    return report
