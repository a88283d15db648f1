"""Train a model on an avsynth manifest (train split; val every epoch) or on AVSBench.

Defaults are the paper's recipe as the authors' code runs it (avsmodel/configs/paper.yaml:
BCE + soft IoU at the input size, AdamW 2e-4, cosine to 1e-7 over 80 epochs stepped per
epoch, batch 2 per GPU, images squashed to 1024); --config recommended takes the project's
own choices instead (docs/reproduce.md); *_tiny models use configs/tiny.yaml. --train-list
trains on the ids of a file, in its order (with --train-fraction R: its first int(N*R)).
The run folder gets metrics.jsonl, curves.png, config.yaml, best.pt (best val mIoU) and
last.pt. A folder that already holds a run is refused unless --resume (continue it) or
--overwrite (start over) is given. A loss that stops being finite ends training with an
error. Under torchrun the same command trains with DistributedDataParallel. A WebDataset export
(avsynth export --format webdataset) is streamed from its tar shards instead: shuffle buffer,
shards split over processes and workers, epochs of the split's sample count.

Examples:
    avsmodel train out/manifest.jsonl --model sama_avs_tiny --out runs/tiny
    avsmodel train out/manifest.jsonl --model sama_avs_vit_h \\
        --out runs/synth --sam-checkpoint sam_vit_h_4b8939.pth \\
        --vggish-checkpoint vggish-10086976.pth
    torchrun --nproc_per_node 8 --no-python avsmodel train \\
        out/manifest.jsonl --model sama_avs_vit_h --out runs/synth \\
        --sam-checkpoint sam_vit_h_4b8939.pth \\
        --vggish-checkpoint vggish-10086976.pth
    avsmodel train --avsbench avsbench_data --subset s4 \\
        --model sama_avs_vit_h --out runs/s4 --init runs/synth/best.pt \\
        --sam-checkpoint sam_vit_h_4b8939.pth \\
        --vggish-checkpoint vggish-10086976.pth
    avsmodel train out/manifest.jsonl --model sama_avs_tiny \\
        --out runs/tiny --resume
    avsmodel train out/manifest.jsonl --model sama_avs_tiny --out runs/cpu --device cpu
    avsynth export out/manifest.jsonl --format webdataset --out synth_wds
    avsmodel train synth_wds --model sama_avs_tiny --out runs/tiny_wds
    avsmodel train out/manifest.jsonl --model sama_avs_vit_h --out runs/synth \\
        --sam-checkpoint vit_h --vggish-checkpoint vggish
    avsmodel train --avsbench avsbench_data --subset s4 \\
        --model sama_avs_vit_h --out runs/s4_10pct --train-fraction 0.1 \\
        --sam-checkpoint sam_vit_h_4b8939.pth \\
        --vggish-checkpoint vggish-10086976.pth
    avsmodel train --avsbench avsbench_data --subset s4 --model sama_avs_vit_h \\
        --out runs/s4_list --train-list s4_ids.txt --train-fraction 0.1 \\
        --sam-checkpoint vit_h --vggish-checkpoint vggish
    avsmodel train out/manifest.jsonl --model sama_avs_vit_h --out runs/rec \\
        --config recommended --sam-checkpoint vit_h --vggish-checkpoint vggish
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from avsmodel.cli.options import (
    LOADER_WORKERS_RENAMED,
    AvsbenchSubset,
    Device,
    recipe_default,
)
from avsynth.cli.choices import value
from avsynth.cli.options import LvisRoot, OpenImagesRoot, Quiet, VggsoundRoot, source_roots

DEPRECATED = LOADER_WORKERS_RENAMED


def main(
    manifest: Annotated[
        Path | None,
        typer.Argument(help="avsynth manifest.jsonl, or a WebDataset export folder (streamed)."),
    ] = None,
    model: Annotated[str, typer.Option(help="Model name (see `avsmodel params --all`).")] = ...,
    out: Annotated[Path, typer.Option(help="Run folder (created).")] = ...,
    avsbench: Annotated[
        Path | None, typer.Option(help="AVSBench root instead of a manifest.")
    ] = None,
    subset: AvsbenchSubset = None,
    sam_checkpoint: Annotated[
        Path | None, typer.Option(help="SAM weights: sam_vit_*.pth or a name (vit_h).")
    ] = None,
    vggish_checkpoint: Annotated[
        Path | None, typer.Option(help="VGGish weights: vggish-10086976.pth or the name vggish.")
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(help="YAML overriding keys of the bundled recipe, or `recommended`."),
    ] = None,
    epochs: Annotated[
        int | None, typer.Option(help=f"Epochs (cosine length) {recipe_default('epochs')}.")
    ] = None,
    batch_size: Annotated[
        int | None,
        typer.Option(help=f"Batch per process/GPU {recipe_default('batch_size')}."),
    ] = None,
    lr: Annotated[
        float | None, typer.Option(help=f"Peak AdamW learning rate {recipe_default('lr')}.")
    ] = None,
    init: Annotated[
        Path | None, typer.Option(help="Warm-start from another run's checkpoint.")
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue OUT/last.pt to the same result.")
    ] = False,
    overwrite: Annotated[
        bool,
        typer.Option("--overwrite", help="OUT holds a run: delete its run files, start over."),
    ] = False,
    loader_workers: Annotated[
        int | None,
        typer.Option(
            "--loader-workers",
            help=f"DataLoader worker processes per training process {recipe_default('workers')}.",
        ),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option(help=f"Seed of init, data order, workers {recipe_default('seed')}."),
    ] = None,
    train_fraction: Annotated[
        float | None,
        typer.Option(help="Few-shot: train on this fraction R (nested: 0.1 inside 0.3)."),
    ] = None,
    train_list: Annotated[
        Path | None,
        typer.Option(help="File of train ids in order; keeps its first int(N*R) (authors')."),
    ] = None,
    lvis: LvisRoot = None,
    openimages: OpenImagesRoot = None,
    vggsound: VggsoundRoot = None,
    device: Device = "auto",
    stop_after: Annotated[
        int | None,
        typer.Option(help="Stop after N epochs in this call (continue later with --resume)."),
    ] = None,
    quiet: Quiet = False,
) -> None:
    """Train a model; prints the best validation mIoU and where the run is."""
    from avsmodel.training import train

    roots = source_roots(lvis, openimages, vggsound)
    result = train(
        manifest,
        model=model,
        out=out,
        config=config,
        avsbench=avsbench,
        subset=value(subset),
        sam_checkpoint=sam_checkpoint,
        vggish_checkpoint=vggish_checkpoint,
        init=init,
        resume=resume,
        overwrite=overwrite,
        stop_after=stop_after,
        roots=roots,
        device=device,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        workers=loader_workers,
        seed=seed,
        train_fraction=train_fraction,
        progress=not quiet,
        train_list=train_list,
    )
    import os

    if int(os.environ.get("RANK", "0")) == 0 and not quiet:
        typer.echo(
            f"best val mIoU {result.best_miou:.4f} at epoch {result.best_epoch}/"
            f"{result.epochs}; checkpoints {result.best_path} and {result.last_path}; "
            f"curves {result.out / 'curves.png'}"
        )
