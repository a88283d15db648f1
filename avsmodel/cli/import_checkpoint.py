"""Convert a checkpoint of the authors' code (jinxiang-liu/anno-free-AVS) for eval/predict.

Reads their models/sam.py state dict (image_encoder.* with the adapters under
image_encoder.prompt_generator, mask_decoder.*, pe_layer.*, no_mask_embed.*,
audio_encoder.audio_backbone.*; possibly under module. or {"model": ...}) with
weights_only=True, maps every key strictly (an unknown or missing key, or a wrong shape, is
an error naming it), and writes an avsmodel checkpoint. With --sam-checkpoint and
--vggish-checkpoint (paths or names: vit_h, vggish) the frozen encoder is stored by
reference; their own positional encoding and no_mask_embed are always kept.

Examples:

    avsmodel import-checkpoint s4_best.pth --model sama_avs_vit_h --output s4.pt \\
        --sam-checkpoint vit_h --vggish-checkpoint vggish

    avsmodel eval s4.pt --avsbench avsbench_data --subset s4
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from avsynth.cli.options import Quiet

#: ``--out`` is a folder in every command; the converted file is ``--output``.
DEPRECATED = {"--out": "--output"}


def main(
    theirs: Annotated[Path, typer.Argument(help="The authors' .pth checkpoint.")],
    model: Annotated[str, typer.Option(help="A sama_avs_* model of their size.")] = (
        "sama_avs_vit_h"
    ),
    output: Annotated[
        Path, typer.Option("--output", help="avsmodel checkpoint to write (.pt).")
    ] = ...,
    sam_checkpoint: Annotated[
        Path | None, typer.Option(help="SAM weights path or name (vit_h) for the encoder.")
    ] = None,
    vggish_checkpoint: Annotated[
        Path | None, typer.Option(help="VGGish weights path or the name vggish.")
    ] = None,
    quiet: Quiet = False,
) -> None:
    """Import the authors' checkpoint; prints where the converted one is."""
    from avsmodel.pretrained.authors_checkpoint import import_checkpoint

    path = import_checkpoint(
        theirs,
        model=model,
        out=output,
        sam_checkpoint=sam_checkpoint,
        vggish_checkpoint=vggish_checkpoint,
    )
    if not quiet:
        typer.echo(f"wrote {path} ({model}); evaluate it with `avsmodel eval {path} ...`")
