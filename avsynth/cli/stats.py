"""Count a manifest's triplets: tables (CSV, Markdown) and plots (PNG).

Writes counts per category x split (counts.csv, counts.md), the LVIS / Open Images mix
(sources.csv, source_mix.png), triplets per category and split (counts.png), the mask-area
distribution (mask_area.png), audio-clip reuse (clip_reuse.png) and stats.json, then prints a
short summary.

Examples:

    avsynth stats out/manifest.jsonl --out out/stats

    avsynth stats out/manifest.jsonl --out docs/img --quiet
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from avsynth.cli.options import Quiet


def main(
    manifest: Annotated[Path, typer.Argument(help="manifest.jsonl (or .jsonl.gz) to count.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the tables and plots.")],
    quiet: Quiet = False,
) -> None:
    """Count a manifest's triplets and write tables and plots."""
    from avsynth.inspection.stats import stats

    report = stats(manifest, out, progress=not quiet)
    typer.echo(report.summary())
    typer.echo(f"wrote {', '.join(report.files)} to {out}")
