"""Export a manifest for other tools: AVSBench folders, Hugging Face datasets or WebDataset.

--format hf writes Parquet shards under OUT/data/ ({split}-00000-of-0000N.parquet, split =
train, validation, test) and a dataset card OUT/README.md, so `datasets.load_dataset(OUT)`
gives a DatasetDict (also with streaming=True). --format webdataset writes tar shards
OUT/{split}-000000.tar (split = train, val, test) whose samples hold <key>.jpg or .png,
<key>.mask.png, <key>.wav and <key>.json (the manifest record), and OUT/index.json listing
the shards and their counts. --shard-size sets the samples per shard. Both are written in a
temporary folder beside OUT and appear only when complete; OUT must be new or empty, or
hold an earlier export and --overwrite be given. --format avsbench is `avsynth
export-avsbench` (with --subset s4 or ms3).

Examples:

    avsynth export out/manifest.jsonl --format hf --out synth_hf

    avsynth export out/manifest.jsonl --format webdataset --out synth_wds --shard-size 1000

    avsynth export out/manifest.jsonl --format webdataset --out synth_wds --overwrite

    avsynth export composed/manifest.jsonl --format avsbench --subset ms3 --out avsbench_ms3
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from avsynth.cli.choices import SPLIT_METAVAR
from avsynth.cli.options import LvisRoot, OpenImagesRoot, Quiet, VggsoundRoot, source_roots

DEFAULT_SHARD_SIZE = 500  # = avsynth.exporters.DEFAULT_SHARD_SIZE (not imported: --help stays fast)


class ExportFormat(StrEnum):
    """What ``export`` writes (``avsynth.exporters.FORMATS``)."""

    AVSBENCH = "avsbench"
    HF = "hf"
    WEBDATASET = "webdataset"


def main(
    manifest: Annotated[Path, typer.Argument(help="manifest.jsonl (or .jsonl.gz) to export.")],
    format: Annotated[ExportFormat, typer.Option("--format", help="Output format.")],
    out: Annotated[Path, typer.Option("--out", help="Output folder.")],
    shard_size: Annotated[
        int, typer.Option("--shard-size", help="Samples per shard (hf, webdataset).")
    ] = DEFAULT_SHARD_SIZE,
    split: Annotated[
        str | None, typer.Option("--split", metavar=SPLIT_METAVAR, help="Only this split.")
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an earlier export in --out.")
    ] = False,
    subset: Annotated[
        str, typer.Option("--subset", help="avsbench only: s4 (Single-source) or ms3.")
    ] = "s4",
    lvis: LvisRoot = None,
    openimages: OpenImagesRoot = None,
    vggsound: VggsoundRoot = None,
    quiet: Quiet = False,
) -> None:
    """Export a manifest as AVSBench folders, Hugging Face Parquet or WebDataset shards."""
    from avsynth.exporters import export

    roots = source_roots(lvis, openimages, vggsound)
    report = export(manifest, out, format=format.value, shard_size=shard_size, split=split,
                    roots=roots, overwrite=overwrite, progress=not quiet,
                    subset=subset)  # fmt: skip
    typer.echo(f"{report.summary()} -> {report.root}")
