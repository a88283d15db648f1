"""Command-line options shared by several ``avsmodel`` commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

RunSamCheckpoint = Annotated[
    Path | None, typer.Option(help="SAM weights path or name vit_b/l/h (default: the run's).")
]
RunVggishCheckpoint = Annotated[
    Path | None, typer.Option(help="VGGish weights path or name vggish (default: the run's).")
]
