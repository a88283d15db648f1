"""Export a manifest as a Hugging Face ``datasets`` folder: Parquet shards and a dataset card.

Layout (``datasets.load_dataset(OUT)`` reads it as a ``DatasetDict``, also with
``streaming=True``)::

    OUT/README.md                                        dataset card (YAML header: configs,
                                                         features, splits)
    OUT/data/{split}-{i:05d}-of-{n:05d}.parquet          split = train | validation | test
    OUT/export_info.json                                 provenance, counts, shard list

The manifest's ``val`` split is named ``validation``, the name the Hub and ``datasets`` use.
Rows are in :func:`avsynth.exporters.shards.by_split` order, ``shard_size`` rows per file, in
row groups of :data:`ROW_GROUP_SIZE`. The schema is :func:`hf_features` (``datasets``' own
``Image`` and ``Audio`` types, stored as ``{bytes, path}`` structs). The Parquet files hold no
time stamps or absolute paths, so the same manifest and media give the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from avsynth.constants import SAMPLE_RATE
from avsynth.exporters.samples import Sample
from avsynth.exporters.shards import ShardExport, chunks
from avsynth.exporters.staging import Staging
from avsynth.manifest import Triplet

__all__ = ["HF_SPLITS", "ROW_GROUP_SIZE", "hf_features", "hf_row", "write_hf"]

#: Manifest split -> ``datasets`` split name.
HF_SPLITS = {"train": "train", "val": "validation", "test": "test"}
#: Rows per Parquet row group (what ``datasets`` itself uses for image datasets).
ROW_GROUP_SIZE = 100
COMPRESSION = "zstd"


def hf_features() -> Any:
    """The ``datasets.Features`` of an exported row.

    ``box`` and the instances' ``box`` are the manifest's normalised ``[x, y, w, h]``;
    ``instances`` and ``components`` are the composition of a schema 2 record (empty lists
    for schema 1); ``audio_*`` describe the clip (for a composed record, the mix heard).
    """
    from datasets import Audio, Features, Image, List, Value

    text, f64, i32 = Value("string"), Value("float64"), Value("int32")
    box = List(Value("float64"), length=4)
    return Features(
        {
            "id": text,
            "split": text,
            "image": Image(),
            "mask": Image(),
            "audio": Audio(sampling_rate=SAMPLE_RATE),
            "category": text,
            "audio_label": text,
            "composition": text,
            "width": i32,
            "height": i32,
            "box": box,
            "area_fraction": f64,
            "image_source": text,
            "image_source_id": text,
            "image_subset": text,
            "image_license": text,
            "mask_source_id": text,
            "mask_source_label": text,
            "audio_youtube_id": text,
            "audio_start_seconds": i32,
            "audio_duration": f64,
            "audio_subset": text,
            "audio_license": text,
            "instances": List(
                {
                    "source": text,
                    "source_id": text,
                    "source_label": text,
                    "box": box,
                    "area_fraction": f64,
                }
            ),
            "components": List(
                {
                    "category": text,
                    "visible": Value("bool"),
                    "gain_db": f64,
                    "audio_label": text,
                    "youtube_id": text,
                    "start_seconds": i32,
                    "duration": f64,
                }
            ),
            "schema_version": i32,
        }
    )


def hf_row(s: Sample) -> dict[str, Any]:
    """One row of :func:`hf_features` in Arrow storage form (media as ``{bytes, path}``)."""
    t, im, m, a = s.triplet, s.triplet.image, s.triplet.mask, s.triplet.audio
    return {
        "id": t.id,
        "split": t.split,
        "image": {"bytes": s.image, "path": f"{s.key}.{s.image_ext}"},
        "mask": {"bytes": s.mask_png, "path": f"{s.key}.mask.png"},
        "audio": {"bytes": s.wav, "path": f"{s.key}.wav"},
        "category": t.category,
        "audio_label": a.label,
        "composition": t.composition,
        "width": s.width,
        "height": s.height,
        "box": [float(v) for v in m.bbox],
        "area_fraction": float(m.area_fraction),
        "image_source": im.source,
        "image_source_id": im.source_id,
        "image_subset": im.subset,
        "image_license": im.license,
        "mask_source_id": m.source_id,
        "mask_source_label": m.source_label,
        "audio_youtube_id": a.youtube_id,
        "audio_start_seconds": int(a.start_seconds),
        "audio_duration": float(a.duration),
        "audio_subset": a.subset,
        "audio_license": a.license,
        "instances": [
            {
                "source": i.source,
                "source_id": i.source_id,
                "source_label": i.source_label,
                "box": [float(v) for v in i.bbox],
                "area_fraction": float(i.area_fraction),
            }
            for i in t.instances
        ],
        "components": [
            {
                "category": c.category,
                "visible": bool(c.visible),
                "gain_db": float(c.gain_db),
                "audio_label": c.audio.label,
                "youtube_id": c.audio.youtube_id,
                "start_seconds": int(c.audio.start_seconds),
                "duration": float(c.audio.duration),
            }
            for c in t.components
        ],
        "schema_version": int(t.schema_version),
    }


def shard_name(split: str, index: int, count: int) -> str:
    """``data/{split}-{index:05d}-of-{count:05d}.parquet`` with the ``datasets`` split name."""
    return f"data/{HF_SPLITS[split]}-{index:05d}-of-{count:05d}.parquet"


def write_hf(
    st: Staging,
    groups: dict[str, list[Triplet]],
    samples: Callable[[Iterable[Triplet]], Iterable[Sample]],
    shard_size: int,
) -> tuple[ShardExport, dict[str, int]]:
    """Write the Parquet shards of every split into ``st``.

    Args:
        st: The staging folder.
        groups: Triplets per manifest split, in export order.
        samples: Turns triplets into their :class:`Sample` bytes, in order.
        shard_size: Rows per shard.

    Returns:
        The report (``root`` still to be set) and the Arrow bytes per split (the
        ``num_bytes`` of the card).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = hf_features().arrow_schema
    report = ShardExport(root=st.out, format="hf")
    nbytes: dict[str, int] = {}
    for split, triplets in groups.items():
        parts = chunks(triplets, shard_size)
        nbytes[split] = 0
        for i, part in enumerate(parts):
            rel = shard_name(split, i, len(parts))
            with st.writing(rel) as p, open(p, "wb") as f:
                with pq.ParquetWriter(f, schema, compression=COMPRESSION) as w:
                    for rows in chunks(part, ROW_GROUP_SIZE):
                        table = pa.Table.from_pylist([hf_row(s) for s in samples(rows)], schema)
                        nbytes[split] += table.nbytes
                        w.write_table(table, row_group_size=ROW_GROUP_SIZE)
            report.shards.append(rel)
        report.counts[split] = len(triplets)
    return report, nbytes
