"""Export a manifest in the AVSBench S4 (or MS3) layout, so AVSBench-style code trains on it.

Writes OUT/Single-source/s4_meta_data.csv (name,start,category,split) and
OUT/Single-source/s4_data/{visual_frames,gt_masks,audio_wav,audio_log_mel}/<split>/<category>/...
like OpenNLPLab/AVSBench: 5 frames of 224x224 (the still image repeated), the mask for each
frame, the first 5 s of audio as a 16 kHz WAV and its VGGish log-mel as a pickled
torch tensor [5,1,96,64]. The category is the sound's VGGSound label as S4 spells it
(dog barking -> dog_barking). Point AVSBench's cfg.DATA paths at OUT/Single-source.
--subset ms3 writes OUT/Multi-sources/ms3_meta_data.csv (video_id,split) and ms3_data/ in
the MS3 layout instead (for composed builds: multi / offscreen / partial targets as built).

Examples:

    avsynth export-avsbench out/manifest.jsonl --out avsbench_synth

    avsynth export-avsbench out/manifest.jsonl --out avsbench_synth_test --split test

    avsynth export-avsbench composed/manifest.jsonl --out avsbench_ms3 --subset ms3
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from avsynth.cli.choices import SPLIT_METAVAR, Subset
from avsynth.cli.options import (
    LvisRoot,
    OpenImagesRoot,
    Quiet,
    VggsoundRoot,
    source_roots,
)


def main(
    manifest: Annotated[Path, typer.Argument(help="manifest.jsonl (or .jsonl.gz) to export.")],
    out: Annotated[Path, typer.Option("--out", help="Output folder.")],
    split: Annotated[
        str | None, typer.Option("--split", metavar=SPLIT_METAVAR, help="Only this split.")
    ] = None,
    subset: Annotated[
        Subset, typer.Option("--subset", help="AVSBench layout: s4 (Single-source) or ms3.")
    ] = Subset.S4,
    lvis: LvisRoot = None,
    openimages: OpenImagesRoot = None,
    vggsound: VggsoundRoot = None,
    quiet: Quiet = False,
) -> None:
    """Export a manifest in the AVSBench S4 or MS3 layout."""
    from avsynth.inspection.export_avsbench import export_avsbench

    roots = source_roots(lvis, openimages, vggsound)
    report = export_avsbench(manifest, out, split=split, roots=roots, progress=not quiet,
                              subset=subset.value)  # fmt: skip
    typer.echo(f"{report.summary()} -> {report.root}")
