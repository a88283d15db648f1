"""Predict the mask of the sounding object in one image, given one audio clip.

Writes the mask as a binary PNG at the image's size, and optionally an overlay (image with
the mask in translucent colour, its contour and a caption). The audio must last at least one
VGGish log-mel example, 0.975 s (15600 samples at 16 kHz); shorter clips are refused. The
image is resized as the run was trained (--resize overrides); --score-size input writes the
mask on the model's input grid (SxS for a squashed run), as the authors' code returns it.

Examples:
    avsmodel predict runs/tiny/best.pt --image dog.jpg --audio bark.wav \\
        --output mask.png
    avsmodel predict runs/tiny/best.pt --image dog.jpg --audio bark.wav \\
        --output mask.png --overlay overlay.png --json
    avsmodel predict runs/tiny/best.pt --image dog.jpg --audio bark.wav \\
        --output mask.png --device cpu
    avsmodel predict runs/tiny/best.pt --image dog.jpg --audio bark.wav \\
        --output mask.png --resize squash --score-size input
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from avsmodel.cli.options import (
    Device,
    ResizeOverride,
    RunSamCheckpoint,
    RunVggishCheckpoint,
    ScoreSize,
)
from avsynth.cli.choices import value
from avsynth.cli.options import JsonOutput, Quiet

#: ``--out`` is a folder in every command; the mask file is ``--output``.
DEPRECATED = {"--out": "--output"}

# avsynth.audio.logmel.MIN_SECONDS, written out so --help does not import numpy (a test keeps them
# equal).
MIN_SECONDS_TEXT = "0.975 s"


def main(
    ckpt: Annotated[Path, typer.Argument(help="best.pt / last.pt of avsmodel train.")],
    image: Annotated[Path, typer.Option(help="Image file.")] = ...,
    audio: Annotated[
        Path, typer.Option(help=f"Audio file (WAV/FLAC/MP4, >= {MIN_SECONDS_TEXT}).")
    ] = ...,
    output: Annotated[
        Path, typer.Option("--output", help="Mask PNG to write (0/255), a .png name.")
    ] = ...,
    overlay: Annotated[
        Path | None, typer.Option(help="Overlay image to write (.png, .jpg, ...).")
    ] = None,
    sam_checkpoint: RunSamCheckpoint = None,
    vggish_checkpoint: RunVggishCheckpoint = None,
    as_json: JsonOutput = False,
    quiet: Quiet = False,
    device: Device = "auto",
    resize: ResizeOverride = None,
    score_size: Annotated[
        ScoreSize,
        typer.Option(help="Mask at the image's size, or on the model's input grid (authors')."),
    ] = ScoreSize.GROUND_TRUTH,
) -> None:
    """Write the predicted mask (and overlay)."""
    import json

    from avsmodel.inference import predict

    r = predict(
        ckpt,
        image,
        audio,
        output,
        overlay,
        sam_checkpoint=sam_checkpoint,
        vggish_checkpoint=vggish_checkpoint,
        device=device,
        resize=value(resize),
        score_size=score_size.value,
    )
    if as_json:
        typer.echo(json.dumps({k: str(v) if isinstance(v, Path) else v for k, v in r.items()}))
        return
    if quiet:
        return
    typer.echo(f"mask {r['mask']} ({100 * r['area_fraction']:.1f}% of the image)")
    if r["overlay"]:
        typer.echo(f"overlay {r['overlay']}")
