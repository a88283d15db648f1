"""Run the whole pipeline on a small generated world: dataset, training, evaluation, pictures.

On CPU in a few minutes: generates sample LVIS / Open Images / VGGSound sources, builds a
dataset with the shipped 46-category map, counts it (stats), trains sama_avs_tiny, evaluates it
on the test split with matched and with mismatched audio, and draws predictions. Writes
OUT/world, OUT/build, OUT/stats, OUT/run (curves.png, best.pt), OUT/predictions (grid.png) and
OUT/summary.json. A rerun keeps the finished stages. `python -m avsmodel.cli demo` is the same.

Examples:

    avsmodel demo --out demo_out

    avsmodel demo --out demo_small --images 100 --epochs 4 --quiet
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from avsmodel.cli.options import recipe_default
from avsynth.cli.options import Quiet


def main(
    out: Annotated[Path, typer.Option(help="Demo folder (created; a rerun resumes).")] = Path(
        "demo_out"
    ),
    epochs: Annotated[
        int | None,
        typer.Option(help=f"Training epochs {recipe_default('epochs', ('tiny',))}."),
    ] = None,
    images: Annotated[int, typer.Option(help="Images per source in the generated world.")] = 200,
    seed: Annotated[int, typer.Option(help="Seed of world, build and training.")] = 0,
    categories: Annotated[
        str | None,
        typer.Option(help="Category map: a YAML or a shipped map's name [default: 46]."),
    ] = None,
    quiet: Quiet = False,
) -> None:
    """Run the demo; prints the stages and the final numbers."""
    import os

    from avsmodel.demo import run_demo

    os.environ.setdefault("FIFTYONE_DO_NOT_TRACK", "true")
    run_demo(
        out, epochs=epochs, n_images=images, seed=seed, category_map=categories,
        progress=not quiet, log=None if quiet else typer.echo,
    )  # fmt: skip
