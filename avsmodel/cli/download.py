"""Fetch the official SAM and VGGish weights, verified by SHA-256, into the cache.

Names: sam_vit_b, sam_vit_l, sam_vit_h (aliases vit_b, vit_l, vit_h) and vggish. The cache
is $AVSMODEL_HOME (default ~/.cache/avsmodel); afterwards every --sam-checkpoint /
--vggish-checkpoint takes the name instead of a path. An interrupted download resumes (run
the same command again); nothing appears under the final name before its hash is checked.
--mirror (or $AVSMODEL_MIRROR) fetches the same file names from another base URL.

Examples:

    avsmodel download sam_vit_h vggish

    avsmodel download sam_vit_b --dir weights/

    avsmodel download vit_h --mirror https://mirror.example.org/avs-weights
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from avsynth.cli.options import Quiet


def main(
    names: Annotated[
        list[str], typer.Argument(help="Files to fetch: sam_vit_b sam_vit_l sam_vit_h vggish.")
    ],
    dir: Annotated[
        Path | None, typer.Option(help="Target folder (default: $AVSMODEL_HOME).")
    ] = None,
    mirror: Annotated[
        str | None, typer.Option(help="Base URL serving the same file names.")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Fetch again even if a file is there.")
    ] = False,
    quiet: Quiet = False,
) -> None:
    """Download official weights; prints each verified file's path."""
    from avsmodel.hub import download

    for path in download(names, dir=dir, mirror=mirror, progress=not quiet, force=force):
        typer.echo(str(path))
