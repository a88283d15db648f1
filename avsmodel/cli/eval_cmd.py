"""Evaluate a checkpoint (or the SAM oracle): mIoU (J) and F on a manifest split or AVSBench.

F is reported under three protocols (docs/metrics.md): avsbench (AVSBench's test scripts:
sigmoid, batches of 4 videos), authors (the paper's code: thresholds on raw logits, one
video per batch) and dataset (batch-independent). --audio mismatched pairs every image with
a clip of another category (deterministic): a model that listens drops sharply, one that
ignores the sound does not. The SAM oracle needs no training: --model sam_oracle_vit_h with
--sam-checkpoint and no run checkpoint; --oracle picks the variant (everything: the paper's
automatic-mask-generator proposals; multimask: SAM's 3 no-prompt masks).
--device auto (default) runs on CUDA when there is a GPU; batches come from --workers loader
processes in pinned memory. --autocast bf16/fp16 is faster on GPUs; fp32 (none) is the paper's.
Under torchrun each rank scores its share of the batches on its LOCAL_RANK GPU and the scores
are combined in dataset order: the numbers are exactly those of one process.

Examples:
    avsmodel eval runs/tiny/best.pt --manifest out/manifest.jsonl
    avsmodel eval runs/tiny/best.pt --manifest out/manifest.jsonl \\
        --audio mismatched --json
    avsmodel eval runs/s4/best.pt --avsbench avsbench_data --subset s4 --json
    avsmodel eval --model sam_oracle_vit_h --sam-checkpoint sam_vit_h_4b8939.pth \\
        --avsbench avsbench_data --subset s4
    avsmodel eval --model sam_oracle_tiny --oracle multimask \\
        --manifest out/manifest.jsonl
    avsmodel eval runs/s4/best.pt --avsbench avsbench_data --subset s4 \\
        --device cuda:1 --batch-size 16 --workers 8 --autocast bf16
    torchrun --nproc_per_node 8 --no-python avsmodel eval runs/s4/best.pt \\
        --avsbench avsbench_data --subset s4 --batch-size 16 --workers 4
    avsmodel eval runs/tiny/best.pt --manifest out/manifest.jsonl \\
        --resize squash --score-size input

Frames are resized and scored as the run's recipe says (paper recipe: squashed to the
input size and scored on that grid, as the authors; --json reports resize and score_size);
--resize and --score-size override it.

A composed manifest (avsynth build --compose) is also scored per composition (single,
multi, offscreen, partial): J, F and the mean predicted area (offscreen: should be ~0).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from avsmodel.cli.options import (
    LOADER_WORKERS_RENAMED,
    Audio,
    Autocast,
    AvsbenchSubset,
    Device,
    LoaderWorkers,
    Oracle,
    ResizeOverride,
    RunVggishCheckpoint,
    ScoreSize,
    recipe_values,
)
from avsynth.cli.choices import SPLIT_METAVAR, value
from avsynth.cli.options import LvisRoot, OpenImagesRoot, Quiet, VggsoundRoot, source_roots

DEPRECATED = LOADER_WORKERS_RENAMED

#: Printed under the scores when some F is undefined.
UNDEFINED_F = (
    "F -: undefined (null in --json): every target there is empty, and F skips empty targets"
)


def format_f(f: float | None) -> str:
    """``0.1234``, or ``-`` for an undefined F."""
    return "-" if f is None else f"{f:.4f}"


def main(
    ckpt: Annotated[
        Path | None, typer.Argument(help="best.pt / last.pt of avsmodel train.")
    ] = None,
    model: Annotated[
        str | None, typer.Option(help="sam_oracle_* to score without a run checkpoint.")
    ] = None,
    oracle: Annotated[Oracle, typer.Option(help="SAM oracle variant.")] = Oracle.EVERYTHING,
    manifest: Annotated[Path | None, typer.Option(help="avsynth manifest.jsonl.")] = None,
    avsbench: Annotated[Path | None, typer.Option(help="AVSBench root.")] = None,
    subset: AvsbenchSubset = None,
    split: Annotated[str, typer.Option(metavar=SPLIT_METAVAR, help="Split to score.")] = "test",
    audio: Annotated[
        Audio, typer.Option(help="Each image's own clip, or one of another category.")
    ] = Audio.MATCHED,
    batch_size: Annotated[
        int | None,
        typer.Option(
            help="Frames per forward pass [default: the run's val_batch_size, from its recipe "
            f"({recipe_values('val_batch_size')})]."
        ),
    ] = None,
    fscore_batch: Annotated[
        int | None, typer.Option(help="Also report a per-batch F of this many frames.")
    ] = None,
    sam_checkpoint: Annotated[
        Path | None,
        typer.Option(help="SAM weights (default: the run's; needed with --model *_vit_*)."),
    ] = None,
    vggish_checkpoint: RunVggishCheckpoint = None,
    loader_workers: LoaderWorkers = 0,
    score_size: Annotated[
        ScoreSize | None,
        typer.Option(help="Score at each frame's size or the input grid (default: the run's)."),
    ] = None,
    resize: ResizeOverride = None,
    lvis: LvisRoot = None,
    openimages: OpenImagesRoot = None,
    vggsound: VggsoundRoot = None,
    device: Device = "auto",
    autocast: Annotated[
        Autocast, typer.Option(help="Forward passes in fp32 (none, as the paper) or bf16/fp16.")
    ] = Autocast.NONE,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object (miou, fscore{...}, n, ...).")
    ] = False,
    quiet: Quiet = False,
) -> None:
    """Print mIoU and F of a checkpoint."""
    import json
    import os

    from avsmodel.evaluation import evaluate

    roots = source_roots(lvis, openimages, vggsound)
    r = evaluate(
        ckpt,
        model=model,
        oracle=oracle.value,
        manifest=manifest,
        avsbench=avsbench,
        subset=value(subset),
        split=split,
        audio=audio.value,
        batch_size=batch_size,
        fscore_batch=fscore_batch,
        sam_checkpoint=sam_checkpoint,
        vggish_checkpoint=vggish_checkpoint,
        workers=loader_workers,
        score_size=value(score_size),
        resize=value(resize),
        roots=roots,
        progress=not (as_json or quiet),
        device=device,
        autocast=autocast.value,
    )
    if r["world_size"] > 1 and int(os.environ.get("RANK", "0")) != 0:
        return  # under torchrun every rank holds the same result; rank 0 prints it
    if as_json:
        typer.echo(json.dumps(r, sort_keys=True))
        return
    variant = f", {r['oracle']} oracle" if "oracle" in r else ""
    typer.echo(f"{r['model']} on {split} ({audio.value} audio{variant}), {r['n']} frames")
    typer.echo(f"mIoU {r['miou']:.4f}")
    for protocol, f in r["fscore"].items():
        typer.echo(f"F    {format_f(f)}  ({protocol} protocol)")
    if "fscore_official" in r:
        typer.echo(
            f"F    {format_f(r['fscore_official'])}  (batches of {r['fscore_batch']} frames)"
        )
    if any(f is None for f in r["fscore"].values()):
        typer.echo(UNDEFINED_F)
    for cat, miou in r.get("per_category", {}).items():
        typer.echo(f"  mIoU {cat:<24} {miou:.4f}")
    for comp, v in r.get("per_composition", {}).items():
        typer.echo(
            f"  {comp:<10} n {v['n']:<5} mIoU {v['miou']:.4f}  F {format_f(v['fscore'])}  "
            f"predicted area {v['pred_area']:.4f}"
        )
    if any(v["fscore"] is None for v in r.get("per_composition", {}).values()):
        typer.echo(f"  {UNDEFINED_F}")
