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


class Autocast(StrEnum):
    """Precision of evaluation forward passes: fp32 (as the paper), or autocast bf16/fp16."""

    NONE = "none"
    BF16 = "bf16"
    FP16 = "fp16"


AvsbenchSubset = Annotated[Subset | None, typer.Option(help="AVSBench subset.")]

RunSamCheckpoint = Annotated[
    Path | None, typer.Option(help="SAM weights path or name vit_b/l/h (default: the run's).")
]
RunVggishCheckpoint = Annotated[
    Path | None, typer.Option(help="VGGish weights path or name vggish (default: the run's).")
]


def check_device(spec: str | None) -> str | None:
    """Typer callback of ``--device``: refuse a malformed value as a usage error."""
    from avsmodel.device import parse_device
    from avsmodel.errors import ConfigError

    if spec is None:
        return None
    try:
        parse_device(spec)
    except ConfigError as e:
        raise typer.BadParameter(str(e)) from None
    return spec


Device = Annotated[
    str,
    typer.Option(
        metavar="<auto|cpu|cuda|cuda:N>",
        callback=check_device,
        help="Where to run: auto = CUDA when available (under torchrun: each rank's "
        "LOCAL_RANK GPU), else cpu.",
    ),
]
