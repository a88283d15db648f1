"""Write a run checkpoint as a pretrained folder: model.safetensors, config.json, README.md.

The folder loads with avsmodel.from_pretrained(DIR) or avsmodel.Predictor.from_pretrained,
and every avsmodel command that takes a checkpoint takes it (eval, predict, train --init),
with the same results. --adapters-only keeps only what the official SAM / VGGish files
cannot give back, and records their names and SHA-256 (tens of MB instead of 2.9 GB for
ViT-H); loading it needs those files (--sam-checkpoint / --vggish-checkpoint, or the cache
names of `avsmodel download`). Loading never runs code: JSON and safetensors only.

Examples:
    avsmodel export-pretrained runs/tiny/best.pt --out tiny_model
    avsmodel export-pretrained runs/s4/best.pt --out s4_adapters --adapters-only
    avsmodel eval s4_adapters --avsbench avsbench_data --subset s4 \\
        --sam-checkpoint vit_h --vggish-checkpoint vggish
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from avsmodel.cli.options import RunSamCheckpoint, RunVggishCheckpoint


def main(
    ckpt: Annotated[Path, typer.Argument(help="best.pt / last.pt of avsmodel train.")],
    out: Annotated[Path, typer.Option(help="Folder to write (new or empty).")] = ...,
    adapters_only: Annotated[
        bool,
        typer.Option("--adapters-only", help="Store only the tensors the official files lack."),
    ] = False,
    sam_checkpoint: RunSamCheckpoint = None,
    vggish_checkpoint: RunVggishCheckpoint = None,
) -> None:
    """Export a checkpoint as a pretrained folder; prints where it is and its size."""
    from avsmodel.pretrained.folder import export_pretrained

    path = export_pretrained(
        ckpt,
        out,
        adapters_only=adapters_only,
        sam_checkpoint=sam_checkpoint,
        vggish_checkpoint=vggish_checkpoint,
    )
    size = sum(f.stat().st_size for f in path.iterdir())
    form = "adapters only" if adapters_only else "full"
    typer.echo(f"wrote {path} ({form}, {size:,} bytes)")
