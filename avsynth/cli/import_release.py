"""Turn the authors' AVS-Synthetic release (Zenodo record 8125822) into an avsynth manifest.

Reads ROOT/annotations.csv, ROOT/category_for_vggsound_audios.pkl (restricted unpickling:
plain containers, strings and numbers only) and checks images/, masks/ and audios/. Writes
OUT/manifest.jsonl and OUT/build_info.json; the manifest points into ROOT (nothing is
copied). Train rows get a seeded default clip of their class; the pools are kept in
build_info.json (audio_pools) for per-access clip drawing. Rows with missing files are
skipped and counted. The manifest then works with verify, stats, inspect, export-avsbench and
avsmodel train/eval.

Examples:

    avsynth import-release AVS_Synthetic --out avss

    avsynth import-release AVS_Synthetic --out avss --workers 8 --seed 1

    avsynth verify avss/manifest.jsonl
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from avsynth.cli.options import Quiet


def main(
    root: Annotated[Path, typer.Argument(help="The release folder (annotations.csv, ...).")],
    out: Annotated[Path, typer.Option(help="Output folder for manifest.jsonl.")] = ...,
    seed: Annotated[int, typer.Option(help="Seed of the train rows' default clips.")] = 0,
    workers: Annotated[int, typer.Option(help="Processes decoding masks.")] = 1,
    quiet: Quiet = False,
) -> None:
    """Import an AVS-Synthetic release."""
    from avsynth.release import import_release

    report = import_release(root, out, seed=seed, workers=workers, progress=not quiet)
    typer.echo(report.summary())
