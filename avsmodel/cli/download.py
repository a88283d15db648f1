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

    avsmodel download vit_h --stall-timeout 30 --deadline 7200

A stalled server is retried (resuming the .part) after --stall-timeout seconds without
bytes; the whole call ends after --deadline seconds (run it again to resume); a file may not
grow past its published size plus about 10 %.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


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
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bars.")] = False,
    stall_timeout: Annotated[
        float, typer.Option(help="Seconds to wait for the next bytes before retrying.")
    ] = 60.0,
    deadline: Annotated[
        float, typer.Option(help="Seconds the whole download may take (then resume later).")
    ] = 6 * 3600.0,
) -> None:
    """Download official weights; prints each verified file's path."""
    from avsmodel.hub import download

    paths = download(
        names,
        dir=dir,
        mirror=mirror,
        progress=not quiet,
        force=force,
        stall_timeout=stall_timeout,
        deadline=deadline,
    )
    for path in paths:
        typer.echo(str(path))
