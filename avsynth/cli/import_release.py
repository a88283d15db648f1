"""Turn the authors' AVS-Synthetic release (Zenodo record 8125822) into an avsynth manifest.

Reads ROOT/annotations.csv, ROOT/category_for_vggsound_audios.pkl (restricted unpickling:
plain containers, strings and numbers only) and checks images/, masks/ and audios/. Writes
OUT/manifest.jsonl and OUT/build_info.json; the manifest points into ROOT (nothing is
copied). Train rows get a seeded default clip of their class; the pools are kept in
build_info.json (audio_pools) for per-access clip drawing. Rows with missing files are
skipped and counted; rows with an empty mask are kept and counted, as the authors keep them
(--drop-empty skips them). --binarize pil reads masks with PIL's convert('1'), as the
authors' loaders do (it dithers grey levels other than 0/255); the choice is recorded in
build_info.json and training reads the masks the same way. The manifest then works with
verify, stats, inspect, export-avsbench and avsmodel train/eval.

Examples:

    avsynth import-release AVS_Synthetic --out avss

    avsynth import-release AVS_Synthetic --out avss --workers 8 --seed 1

    avsynth import-release AVS_Synthetic --out avss_authors --binarize pil

    avsynth verify avss/manifest.jsonl
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from avsynth.cli.options import Quiet


class Binarize(StrEnum):
    """How mask images become binary."""

    THRESHOLD = "threshold"
    PIL = "pil"


def main(
    root: Annotated[Path, typer.Argument(help="The release folder (annotations.csv, ...).")],
    out: Annotated[Path, typer.Option(help="Output folder for manifest.jsonl.")] = ...,
    seed: Annotated[int, typer.Option(help="Seed of the train rows' default clips.")] = 0,
    workers: Annotated[int, typer.Option(help="Processes decoding masks.")] = 1,
    drop_empty: Annotated[
        bool, typer.Option("--drop-empty", help="Skip rows whose mask is empty (kept by default).")
    ] = False,
    binarize: Annotated[
        Binarize,
        typer.Option(help="Masks: grey >= 128 (threshold) or PIL's convert('1') (pil, authors')."),
    ] = Binarize.THRESHOLD,
    quiet: Quiet = False,
) -> None:
    """Import an AVS-Synthetic release."""
    from avsynth.release import import_release

    report = import_release(
        root,
        out,
        seed=seed,
        workers=workers,
        progress=not quiet,
        drop_empty=drop_empty,
        binarize=binarize.value,
    )
    typer.echo(report.summary())
