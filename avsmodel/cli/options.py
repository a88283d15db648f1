"""Command-line options shared by several ``avsmodel`` commands."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer


class Subset(StrEnum):
    """AVSBench subset: single-source (S4) or multi-source (MS3)."""

    S4 = "s4"
    MS3 = "ms3"


class Audio(StrEnum):
    """Evaluation audio: each image's own clip, or a clip of another category."""

    MATCHED = "matched"
    MISMATCHED = "mismatched"


class Oracle(StrEnum):
    """SAM oracle variant: automatic-mask-generator proposals, or no-prompt best-of-3."""

    EVERYTHING = "everything"
    MULTIMASK = "multimask"


class ScoreSize(StrEnum):
    """Grid the metrics are computed on: each frame's own size, or the model's input grid."""

    GROUND_TRUTH = "ground_truth"
    INPUT = "input"


class Resize(StrEnum):
    """How frames reach the model's input size: SAM's aspect-keeping pad, or a squash."""

    PAD = "pad"
    SQUASH = "squash"


ResizeOverride = Annotated[
    Resize | None,
    typer.Option(help="Override the run's resize (pad: SAM's letterbox; squash: the authors')."),
]

AvsbenchSubset = Annotated[Subset | None, typer.Option(help="AVSBench subset.")]

RunSamCheckpoint = Annotated[
    Path | None, typer.Option(help="SAM weights path or name vit_b/l/h (default: the run's).")
]
RunVggishCheckpoint = Annotated[
    Path | None, typer.Option(help="VGGish weights path or name vggish (default: the run's).")
]
