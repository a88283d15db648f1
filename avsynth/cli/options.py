"""Command-line options shared by several ``avsynth`` commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

LvisRoot = Annotated[
    Path | None, typer.Option("--lvis", help="LVIS root for a plan-only manifest.")
]
OpenImagesRoot = Annotated[
    Path | None,
    typer.Option("--openimages", help="Open Images root for a plan-only manifest."),
]
VggsoundRoot = Annotated[
    Path | None, typer.Option("--vggsound", help="VGGSound root for a plan-only manifest.")
]

JsonOutput = Annotated[
    bool, typer.Option("--json", help="Print one JSON object (the summary) instead of text.")
]


def quiet_logging(value: bool) -> bool:
    """``--quiet``'s callback: keep only warnings and errors of the log messages."""
    if value:
        import logging

        from avsynth import log

        log.set_level(logging.WARNING)
    return value


def quiet_option(help: str = "No progress bars; log only warnings and errors.") -> Any:
    """A ``--quiet`` / ``-q`` option that also quiets the log messages."""
    return typer.Option("--quiet", "-q", help=help, callback=quiet_logging)


Quiet = Annotated[bool, quiet_option()]


def source_roots(
    lvis: Path | None, openimages: Path | None, vggsound: Path | None
) -> dict[str, Path] | None:
    """The source roots given on the command line (``None`` if none was)."""
    roots = {
        k: v
        for k, v in (("lvis", lvis), ("openimages", openimages), ("vggsound", vggsound))
        if v is not None
    }
    return roots or None
