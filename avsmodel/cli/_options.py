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


AvsbenchSubset = Annotated[Subset | None, typer.Option(help="AVSBench subset.")]

RunSamCheckpoint = Annotated[
    Path | None, typer.Option(help="SAM weights path or name vit_b/l/h (default: the run's).")
]
RunVggishCheckpoint = Annotated[
    Path | None, typer.Option(help="VGGish weights path or name vggish (default: the run's).")
]
