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


AvsbenchSubset = Annotated[Subset | None, typer.Option(help="AVSBench subset.")]

RunSamCheckpoint = Annotated[
    Path | None, typer.Option(help="SAM weights path or name vit_b/l/h (default: the run's).")
]
RunVggishCheckpoint = Annotated[
    Path | None, typer.Option(help="VGGish weights path or name vggish (default: the run's).")
]


def recipe_default(key: str, recipes: tuple[str, ...] = ("paper", "tiny")) -> str:
    """``--help``'s default of a training option that the recipes set, read from the YAMLs:
    ``[default: from the recipe (paper.yaml: 80, tiny.yaml: 12)]``."""
    from importlib import resources

    import yaml

    values = []
    for name in recipes:
        text = resources.files("avsmodel.configs").joinpath(f"{name}.yaml").read_text("utf-8")
        values.append(f"{name}.yaml: {yaml.safe_load(text)[key]}")
    return f"[default: from the recipe ({', '.join(values)})]"
