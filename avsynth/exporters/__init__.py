"""Export a manifest for other tools: AVSBench folders, Hugging Face ``datasets``, WebDataset.

:func:`export` is the one entry point (``avsynth export MANIFEST --format ... --out DIR``):

* ``avsbench``: the AVSBench S4 / MS3 folder layout
  (:func:`avsynth.inspection.export_avsbench.export_avsbench`, also ``avsynth export-avsbench``);
* ``hf``: Parquet shards and a dataset card that ``datasets.load_dataset(DIR)`` reads as
  ``train`` / ``validation`` / ``test`` (:mod:`avsynth.exporters.hf`);
* ``webdataset``: tar shards per split and an ``index.json`` (:mod:`avsynth.exporters.wds`).

The shard formats share the sample order, keys and shard cutting of
:mod:`avsynth.exporters.shards`, the bytes of :mod:`avsynth.exporters.samples` and the
all-or-nothing output folder of :mod:`avsynth.exporters.staging`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from avsynth import __version__
from avsynth.constants import SPLITS
from avsynth.errors import ManifestError
from avsynth.exporters.samples import Sample, SampleReader
from avsynth.exporters.shards import (
    DEFAULT_SHARD_SIZE,
    ShardExport,
    build_fingerprint,
    by_split,
    check_shard_size,
    sample_keys,
)
from avsynth.exporters.staging import EXPORT_INFO, Staging, check_export_out, staged_export
from avsynth.manifest import Triplet, check_split, iter_manifest, read_manifest
from avsynth.manifest.media import Roots

__all__ = ["DEFAULT_SHARD_SIZE", "FORMATS", "ShardExport", "export"]

FORMATS = ("avsbench", "hf", "webdataset")


def _triplets(path: Path, split: str | None) -> list[Triplet]:
    """The triplets to export (the split's), or a one-line error naming the splits present."""
    if split is not None and split not in SPLITS:
        check_split(split, {t.split for t in iter_manifest(path)}, source=path.name)
    triplets = read_manifest(path, split=split)
    if not triplets:
        if split is not None:
            check_split(split, {t.split for t in iter_manifest(path)}, source=path.name)
        raise ManifestError(f"{path}: no triplets")
    return triplets


class _SampleStream:
    """``stream(triplets)``: their :class:`Sample` bytes, counted on one progress bar."""

    def __init__(self, reader: SampleReader, keys: dict[str, str], bar: Any) -> None:
        self.reader, self.keys, self.bar = reader, keys, bar

    def __call__(self, triplets: Iterable[Triplet]) -> Iterator[Sample]:
        for t in triplets:
            yield self.reader.read(t, self.keys[t.id])
            self.bar.update(1)


def _write_info(st: Staging, fmt: str, report: ShardExport, split: str | None, **more: Any) -> None:
    """``export_info.json``: what was exported (marks the folder as an export for --overwrite)."""
    info = {
        "format": fmt,
        "split": split,
        "counts": {s: report.counts.get(s, 0) for s in SPLITS},
        "shards": report.shards,
        **more,
        "avsynth": __version__,
    }
    st.write_bytes(EXPORT_INFO, (json.dumps(info, indent=2, ensure_ascii=False) + "\n").encode())


def export(
    manifest: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    format: str,
    shard_size: int = DEFAULT_SHARD_SIZE,
    split: str | None = None,
    roots: Roots = None,
    overwrite: bool = False,
    progress: bool = True,
    subset: str = "s4",
) -> Any:
    """Export a manifest's triplets as ``format`` under ``out``.

    Args:
        manifest: ``manifest.jsonl`` (materialised, or plan-only with its source roots).
        out: Output folder. For ``hf`` and ``webdataset`` it must be new or empty, or hold an
            earlier export and ``overwrite`` be set; it is written in a temporary folder
            beside it and appears only when complete. ``avsbench`` writes as
            ``export-avsbench`` always has (into ``out``, file by file).
        format: ``avsbench``, ``hf`` or ``webdataset``.
        shard_size: Samples per Parquet file or tar shard (``hf``, ``webdataset``).
        split: Export only this split (``train``, ``val`` or ``test``).
        roots: Source roots for a plan-only manifest.
        overwrite: Replace an earlier export at ``out`` (``hf``, ``webdataset``).
        progress: Show a progress bar.
        subset: ``s4`` or ``ms3`` (``avsbench`` only).

    Returns:
        :class:`ShardExport` for ``hf`` / ``webdataset``; for ``avsbench`` the
        :class:`~avsynth.inspection.export_avsbench.ExportReport`.

    Raises:
        ManifestError: unknown format or split, no triplets, a bad ``shard_size``, ids that
            repeat or share a sample key, a composed plan-only record without its mix.
        OutputError: ``out`` cannot be written or may not be replaced; a write fails (full
            disk, permissions), naming the file.
        MediaError: a media file is missing or does not decode, naming it.
    """
    if format == "avsbench":
        from avsynth.inspection.export_avsbench import export_avsbench

        return export_avsbench(
            manifest, out, split=split, roots=roots, progress=progress, subset=subset
        )
    if format not in FORMATS:
        from avsynth.errors import did_you_mean

        raise ManifestError(
            f"unknown export format {format!r}; use {', '.join(FORMATS)}"
            + did_you_mean(format, FORMATS)
        )
    check_shard_size(shard_size)
    check_export_out(out, overwrite=overwrite)  # before reading anything; again when publishing
    path = Path(manifest)
    triplets = _triplets(path, split)
    keys = sample_keys(triplets)
    groups = by_split(triplets)
    provenance = build_fingerprint(path)
    reader = SampleReader(path, triplets, roots)
    from avsynth.progress import progress as progress_bar

    bar = progress_bar(total=len(triplets), desc=f"export {format}", unit="samples",
                       enabled=progress)  # fmt: skip
    samples = _SampleStream(reader, keys, bar)
    with bar, staged_export(out, overwrite=overwrite) as st:
        if format == "hf":
            report = _write_hf(st, triplets, groups, samples, shard_size, provenance)
        else:
            from avsynth.exporters.wds import write_webdataset

            report = write_webdataset(st, groups, samples, shard_size, provenance)
        _write_info(st, format, report, split, shard_size=shard_size, build=provenance)
        report.bytes = sum(p.stat().st_size for p in st.tmp.rglob("*") if p.is_file())
    report.root = Path(out)
    return report


def _write_hf(
    st: Staging,
    triplets: list[Triplet],
    groups: dict[str, list[Triplet]],
    samples: Any,
    shard_size: int,
    provenance: dict[str, Any],
) -> ShardExport:
    """The Parquet shards, then the dataset card (``README.md``)."""
    from avsynth.exporters.card import dataset_card
    from avsynth.exporters.hf import HF_SPLITS, write_hf

    report, nbytes = write_hf(st, groups, samples, shard_size)
    size = sum(st.path(rel).stat().st_size for rel in report.shards)
    card = dataset_card(triplets, report.counts, nbytes, size, provenance, HF_SPLITS)
    st.write_bytes("README.md", card.encode("utf-8"))
    return report
