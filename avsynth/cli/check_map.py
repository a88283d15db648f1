"""Check a category map: its structure and every label against the real vocabularies.

By default the labels are checked against the lists shipped with avsynth (LVIS v1, Open Images
V7 boxable classes, VGGSound); pass the roots of your downloaded datasets (as to build) to
check against their files instead: LVIS's lvis_v1_val.json (else lvis_v1_train.json), Open
Images' oidv7-class-descriptions-boxable.csv, VGGSound's vggsound.csv. Prints one line per
problem (naming the category and the closest real label) and exits 1, or prints a one-line
summary and exits 0.

A shipped map's name (``46``) stands for the copy packaged with avsynth.

Examples:

    avsynth check-map 46

    avsynth check-map category_maps/46.yaml --json

    avsynth check-map my_map.yaml --lvis data/lvis --openimages data/openimages \\
        --vggsound data/vggsound
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from avsynth.cli.framework import deprecation_note
from avsynth.cli.options import JsonOutput, Quiet

_HIDDEN = {"hidden": True}


def main(
    path: Annotated[Path, typer.Argument(help="Category map YAML, or a shipped map's name: 46.")],
    lvis: Annotated[
        Path | None,
        typer.Option(help="LVIS root: its lvis_v1_val.json (else _train) gives the categories."),
    ] = None,
    openimages: Annotated[
        Path | None,
        typer.Option(help="Open Images root: its oidv7-class-descriptions-boxable.csv."),
    ] = None,
    vggsound: Annotated[Path | None, typer.Option(help="VGGSound root: its vggsound.csv.")] = None,
    lvis_json: Annotated[Path | None, typer.Option("--lvis-json", **_HIDDEN)] = None,
    openimages_classes: Annotated[
        Path | None, typer.Option("--openimages-classes", **_HIDDEN)
    ] = None,
    vggsound_csv: Annotated[Path | None, typer.Option("--vggsound-csv", **_HIDDEN)] = None,
    as_json: JsonOutput = False,
    quiet: Quiet = False,
) -> None:
    """Check a category map's structure and labels; exit 1 if there are problems."""
    import json

    from avsynth.catmap import check_map_file
    from avsynth.sources.lvis import lvis_categories_file
    from avsynth.sources.openimages import openimages_class_file
    from avsynth.sources.vggsound import vggsound_csv_path

    for old, value, new in (
        ("--lvis-json FILE", lvis_json, "--lvis ROOT"),
        ("--openimages-classes FILE", openimages_classes, "--openimages ROOT"),
        ("--vggsound-csv FILE", vggsound_csv, "--vggsound ROOT"),
    ):
        if value is not None:
            deprecation_note(old, new)
    files = {
        "lvis_json": lvis_categories_file(lvis) if lvis is not None else lvis_json,
        "openimages_classes": (
            openimages_class_file(openimages) if openimages is not None else openimages_classes
        ),
        "vggsound_csv": vggsound_csv_path(vggsound) if vggsound is not None else vggsound_csv,
    }
    problems, summary = check_map_file(path, **files)
    if as_json:
        d = {"map": str(path), "ok": not problems, "problems": problems}
        if summary is not None:
            d.update(summary.to_dict())
        typer.echo(json.dumps(d, indent=2))
        if problems:
            raise typer.Exit(1)
        return
    if problems:
        for line in problems:
            typer.echo(line, err=True)
        n = len(problems)
        typer.echo(f"{path}: {n} problem{'s' if n != 1 else ''}", err=True)
        raise typer.Exit(1)
    if not quiet:
        typer.echo(summary.line(str(path)))
