"""Command-line options shared by several ``avsmodel`` commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

RunSamCheckpoint = Annotated[
    Path | None, typer.Option(help="SAM weights (default: the path the run used).")
]
RunVggishCheckpoint = Annotated[
    Path | None, typer.Option(help="VGGish weights (default: the path the run used).")
]
