"""Evaluate a checkpoint: mIoU (J) and F-score on a manifest split or on AVSBench.

--audio mismatched pairs every image with a clip of another category (deterministic): a
model that listens drops sharply, one that ignores the sound does not. F is the maximum over
thresholds of the dataset-mean F curve (batch-independent); --fscore-batch 4 also reports
the official AVSBench code's per-batch number.

Examples:
    avsmodel eval runs/tiny/best.pt --manifest out/manifest.jsonl
    avsmodel eval runs/tiny/best.pt --manifest out/manifest.jsonl \\
        --audio mismatched --json
    avsmodel eval runs/s4/best.pt --avsbench avsbench_data --subset s4 \\
        --fscore-batch 4

A composed manifest (avsynth build --compose) is also scored per composition (single,
multi, offscreen, partial): J, F and the mean predicted area (offscreen: should be ~0).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from avsmodel.cli._options import Audio, AvsbenchSubset, RunSamCheckpoint, RunVggishCheckpoint
from avsynth.cli.choices import SPLIT_METAVAR, value
from avsynth.cli.options import LvisRoot, OpenImagesRoot, VggsoundRoot, source_roots


def main(
    ckpt: Annotated[Path, typer.Argument(help="best.pt / last.pt of avsmodel train.")],
    manifest: Annotated[Path | None, typer.Option(help="avsynth manifest.jsonl.")] = None,
    avsbench: Annotated[Path | None, typer.Option(help="AVSBench root.")] = None,
    subset: AvsbenchSubset = None,
    split: Annotated[str, typer.Option(metavar=SPLIT_METAVAR, help="Split to score.")] = "test",
    audio: Annotated[
        Audio, typer.Option(help="Each image's own clip, or one of another category.")
    ] = Audio.MATCHED,
    batch_size: Annotated[int | None, typer.Option(help="Frames per forward pass.")] = None,
    fscore_batch: Annotated[
        int | None, typer.Option(help="Also report the official per-batch F (e.g. 4).")
    ] = None,
    sam_checkpoint: RunSamCheckpoint = None,
    vggish_checkpoint: RunVggishCheckpoint = None,
    workers: Annotated[int, typer.Option(help="DataLoader workers.")] = 0,
    lvis: LvisRoot = None,
    openimages: OpenImagesRoot = None,
    vggsound: VggsoundRoot = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object (miou, fscore, n, ...).")
    ] = False,
) -> None:
    """Print mIoU and F of a checkpoint."""
    import json

    from avsmodel.evaluation import evaluate

    roots = source_roots(lvis, openimages, vggsound)
    r = evaluate(
        ckpt,
        manifest=manifest,
        avsbench=avsbench,
        subset=value(subset),
        split=split,
        audio=audio.value,
        batch_size=batch_size,
        fscore_batch=fscore_batch,
        sam_checkpoint=sam_checkpoint,
        vggish_checkpoint=vggish_checkpoint,
        workers=workers,
        roots=roots,
        progress=not as_json,
    )
    if as_json:
        typer.echo(json.dumps(r, sort_keys=True))
        return
    typer.echo(f"{r['model']} on {split} ({audio.value} audio), {r['n']} frames")
    typer.echo(f"mIoU {r['miou']:.4f}")
    typer.echo(f"F    {r['fscore']:.4f}")
    if "fscore_official" in r:
        typer.echo(f"F (official, batch {r['fscore_batch']}) {r['fscore_official']:.4f}")
    for cat, miou in r.get("per_category", {}).items():
        typer.echo(f"  mIoU {cat:<24} {miou:.4f}")
    for comp, v in r.get("per_composition", {}).items():
        f = "-" if v["fscore"] is None else f"{v['fscore']:.4f}"
        typer.echo(
            f"  {comp:<10} n {v['n']:<5} mIoU {v['miou']:.4f}  F {f}  "
            f"predicted area {v['pred_area']:.4f}"
        )
