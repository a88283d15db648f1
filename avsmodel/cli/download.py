"""Fetch the official SAM and VGGish weights, verified by SHA-256, into the cache.

Names: sam_vit_b, sam_vit_l, sam_vit_h (aliases vit_b, vit_l, vit_h) and vggish. The cache
is $AVSMODEL_HOME (default: the user cache folder's avsmodel/, e.g. ~/.cache/avsmodel, which
follows $XDG_CACHE_HOME); afterwards every --sam-checkpoint / --vggish-checkpoint takes the
name instead of a path. An interrupted download resumes (run the same command again); nothing
appears under the final name before its hash is checked. --mirror (or $AVSMODEL_MIRROR)
fetches the same file names from another base URL.

Examples:

    avsmodel download sam_vit_h vggish

    avsmodel download sam_vit_b --out weights/

    avsmodel download vit_h --mirror https://mirror.example.org/avs-weights --json

    avsmodel download vit_h --stall-timeout 30 --deadline 7200

A stalled server is retried (resuming the .part) after --stall-timeout seconds without
bytes; the whole call ends after --deadline seconds (run it again to resume); a file may not
grow past its published size plus about 10 %.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from avsynth.cli.options import JsonOutput, Quiet

#: ``--out`` is the target folder, as in every command.
DEPRECATED = {"--dir": "--out"}


class WeightsName(StrEnum):
    """The names ``download`` takes (``pretrained.download.names()``; a test keeps them equal)."""

    SAM_VIT_B = "sam_vit_b"
    SAM_VIT_L = "sam_vit_l"
    SAM_VIT_H = "sam_vit_h"
    VIT_B = "vit_b"
    VIT_L = "vit_l"
    VIT_H = "vit_h"
    VGGISH = "vggish"


def main(
    names: Annotated[list[WeightsName], typer.Argument(help="Files to fetch.")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Target folder (default: the cache).")
    ] = None,
    mirror: Annotated[
        str | None, typer.Option(help="Base URL serving the same file names.")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Fetch again even if a file is there.")
    ] = False,
    quiet: Quiet = False,
    as_json: JsonOutput = False,
    stall_timeout: Annotated[
        float, typer.Option(help="Seconds to wait for the next bytes before retrying.")
    ] = 60.0,
    deadline: Annotated[
        float, typer.Option(help="Seconds the whole download may take (then resume later).")
    ] = 6 * 3600.0,
) -> None:
    """Download official weights; prints each verified file's path."""
    import json

    from avsmodel.pretrained.download import download

    paths = download(
        [n.value for n in names],
        dir=out,
        mirror=mirror,
        progress=not (quiet or as_json),
        force=force,
        stall_timeout=stall_timeout,
        deadline=deadline,
    )
    if as_json:
        typer.echo(json.dumps({n.value: str(p) for n, p in zip(names, paths, strict=True)}))
        return
    for path in paths:
        typer.echo(str(path))
