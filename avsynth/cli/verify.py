"""Check that every file a manifest references exists, decodes and matches its record.

Images decode at the recorded size; masks are binary, non-empty and at the image's size;
materialised audio is 16 kHz mono 16-bit PCM of the recorded duration; recorded SHA-256 digests
match; no path escapes its root. Prints one line per bad file and a summary line; exits 1 if
anything is wrong. A plan-only manifest reads the source datasets: their roots come from
build_info.json unless given here.

Examples:

    avsynth verify out/manifest.jsonl

    avsynth verify out/manifest.jsonl --json --quiet

    avsynth verify plan/manifest.jsonl --lvis /data/lvis --openimages /data/oi \\
        --vggsound /data/vggsound
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from avsynth.cli.options import (
    JsonOutput,
    LvisRoot,
    OpenImagesRoot,
    Quiet,
    VggsoundRoot,
    source_roots,
)


def main(
    manifest: Annotated[Path, typer.Argument(help="manifest.jsonl (or .jsonl.gz) to check.")],
    lvis: LvisRoot = None,
    openimages: OpenImagesRoot = None,
    vggsound: VggsoundRoot = None,
    quiet: Quiet = False,
    as_json: JsonOutput = False,
) -> None:
    """Check every file a manifest references."""
    import json

    from avsynth.inspection.verify import verify_report

    roots = source_roots(lvis, openimages, vggsound)
    report = verify_report(manifest, roots=roots, progress=not (quiet or as_json))
    if as_json:
        typer.echo(json.dumps({"manifest": str(manifest), **report.to_dict()}, indent=2))
        if report.problems:
            raise typer.Exit(1)
        return
    for line in report.problems:
        typer.echo(line)
    typer.echo(report.summary())
    if report.problems:
        raise typer.Exit(1)
