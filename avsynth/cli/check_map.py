"""Check a category map: its structure and every label against the real vocabularies.

By default the labels are checked against the lists shipped with avsynth (LVIS v1, Open Images
V7 boxable classes, VGGSound); pass your own downloaded files to check against those instead.
Prints one line per problem (naming the category and the closest real label) and exits 1, or
prints a one-line summary and exits 0.

A shipped map's name (``46``) stands for the copy packaged with avsynth.

Examples:

    avsynth check-map 46

    avsynth check-map category_maps/46.yaml

    avsynth check-map my_map.yaml --lvis-json lvis/lvis_v1_train.json \\
        --openimages-classes openimages/oidv7-class-descriptions-boxable.csv \\
        --vggsound-csv vggsound/vggsound.csv
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def main(
    path: Annotated[Path, typer.Argument(help="Category map YAML, or a shipped map's name: 46.")],
    lvis_json: Annotated[
        Path | None,
        typer.Option(
            "--lvis-json",
            help="LVIS json (e.g. lvis_v1_train.json); only its 'categories' are read.",
        ),
    ] = None,
    openimages_classes: Annotated[
        Path | None,
        typer.Option(
            "--openimages-classes",
            help="Open Images class-description CSV (MID,DisplayName; header optional).",
        ),
    ] = None,
    vggsound_csv: Annotated[
        Path | None,
        typer.Option("--vggsound-csv", help="vggsound.csv (no header), stat.csv or test.csv."),
    ] = None,
) -> None:
    """Check a category map's structure and labels; exit 1 if there are problems."""
    from avsynth.catmap import check_map_file

    problems, summary = check_map_file(
        path,
        lvis_json=lvis_json,
        openimages_classes=openimages_classes,
        vggsound_csv=vggsound_csv,
    )
    if problems:
        for line in problems:
            typer.echo(line, err=True)
        n = len(problems)
        typer.echo(f"{path}: {n} problem{'s' if n != 1 else ''}", err=True)
        raise typer.Exit(1)
    typer.echo(summary.line(str(path)))
