"""Command-line options shared by several ``avsmodel`` commands."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from avsynth.cli.choices import Subset


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


LoaderWorkers = Annotated[
    int | None,
    typer.Option(
        "--loader-workers",
        help="DataLoader worker processes.",
    ),
]

#: ``--workers`` of train / eval meant DataLoader workers; it is ``--loader-workers`` now.
LOADER_WORKERS_RENAMED = {"--workers": "--loader-workers"}


class Autocast(StrEnum):
    """Precision of evaluation forward passes: fp32 (as the paper), or autocast bf16/fp16."""

    NONE = "none"
    BF16 = "bf16"
    FP16 = "fp16"


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


def recipe_values(key: str, recipes: tuple[str, ...] = ("paper", "tiny")) -> str:
    """A recipe key's values, read from the bundled YAMLs: ``paper.yaml: 80, tiny.yaml: 12``."""
    from importlib import resources

    import yaml

    values = []
    for name in recipes:
        text = resources.files("avsmodel.configs").joinpath(f"{name}.yaml").read_text("utf-8")
        values.append(f"{name}.yaml: {yaml.safe_load(text)[key]}")
    return ", ".join(values)


def recipe_default(key: str, recipes: tuple[str, ...] = ("paper", "tiny")) -> str:
    """``--help``'s default of a training option that the recipes set:
    ``[default: from the recipe (paper.yaml: 80, tiny.yaml: 12)]``."""
    return f"[default: from the recipe ({recipe_values(key, recipes)})]"


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
