"""Evaluate a checkpoint (or the SAM oracle): mIoU (J) and F on a manifest split or AVSBench.

F is reported under three protocols (docs/metrics.md): avsbench (AVSBench's test scripts:
sigmoid, batches of 4 videos), authors (the paper's code: thresholds on raw logits, one
video per batch) and dataset (batch-independent). --audio mismatched pairs every image with
a clip of another category (deterministic): a model that listens drops sharply, one that
ignores the sound does not. The SAM oracle needs no training: --model sam_oracle_vit_h with
--sam-checkpoint and no run checkpoint; --oracle picks the variant (everything: the paper's
automatic-mask-generator proposals; multimask: SAM's 3 no-prompt masks).

Examples:
    avsmodel eval runs/tiny/best.pt --manifest out/manifest.jsonl
    avsmodel eval runs/tiny/best.pt --manifest out/manifest.jsonl \\
        --audio mismatched --json
    avsmodel eval runs/s4/best.pt --avsbench avsbench_data --subset s4 --json
    avsmodel eval --model sam_oracle_vit_h --sam-checkpoint sam_vit_h_4b8939.pth \\
        --avsbench avsbench_data --subset s4
    avsmodel eval --model sam_oracle_tiny --oracle multimask \\
        --manifest out/manifest.jsonl
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from avsmodel.cli._options import RunVggishCheckpoint
from avsynth.cli.options import LvisRoot, OpenImagesRoot, VggsoundRoot, source_roots


def main(
    ckpt: Annotated[
        Path | None, typer.Argument(help="best.pt / last.pt of avsmodel train.")
    ] = None,
    model: Annotated[
        str | None, typer.Option(help="sam_oracle_* to score without a run checkpoint.")
    ] = None,
    oracle: Annotated[
        str, typer.Option(help="SAM oracle variant: everything or multimask.")
    ] = "everything",
    manifest: Annotated[Path | None, typer.Option(help="avsynth manifest.jsonl.")] = None,
    avsbench: Annotated[Path | None, typer.Option(help="AVSBench root.")] = None,
    subset: Annotated[str | None, typer.Option(help="AVSBench subset: s4 or ms3.")] = None,
    split: Annotated[str, typer.Option(help="train, val or test.")] = "test",
    audio: Annotated[str, typer.Option(help="matched or mismatched.")] = "matched",
    batch_size: Annotated[int | None, typer.Option(help="Frames per forward pass.")] = None,
    fscore_batch: Annotated[
        int | None, typer.Option(help="Also report a per-batch F of this many frames.")
    ] = None,
    sam_checkpoint: Annotated[
        Path | None,
        typer.Option(help="SAM weights (default: the run's; needed with --model *_vit_*)."),
    ] = None,
    vggish_checkpoint: RunVggishCheckpoint = None,
    workers: Annotated[int, typer.Option(help="DataLoader workers.")] = 0,
    score_size: Annotated[
        str,
        typer.Option(help="ground_truth (each frame's own size) or input (the model's grid)."),
    ] = "ground_truth",
    lvis: LvisRoot = None,
    openimages: OpenImagesRoot = None,
    vggsound: VggsoundRoot = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object (miou, fscore{...}, n, ...).")
    ] = False,
) -> None:
    """Print mIoU and F of a checkpoint."""
    import json

    from avsmodel.evaluation import evaluate

    roots = source_roots(lvis, openimages, vggsound)
    r = evaluate(
        ckpt,
        model=model,
        oracle=oracle,
        manifest=manifest,
        avsbench=avsbench,
        subset=subset,
        split=split,
        audio=audio,
        batch_size=batch_size,
        fscore_batch=fscore_batch,
        sam_checkpoint=sam_checkpoint,
        vggish_checkpoint=vggish_checkpoint,
        workers=workers,
        score_size=score_size,
        roots=roots,
        progress=not as_json,
    )
    if as_json:
        typer.echo(json.dumps(r, sort_keys=True))
        return
    variant = f", {r['oracle']} oracle" if "oracle" in r else ""
    typer.echo(f"{r['model']} on {split} ({audio} audio{variant}), {r['n']} frames")
    typer.echo(f"mIoU {r['miou']:.4f}")
    for protocol, f in r["fscore"].items():
        typer.echo(f"F    {f:.4f}  ({protocol} protocol)")
    if "fscore_official" in r:
        typer.echo(f"F    {r['fscore_official']:.4f}  (batches of {r['fscore_batch']} frames)")
    for cat, miou in r.get("per_category", {}).items():
        typer.echo(f"  mIoU {cat:<24} {miou:.4f}")
