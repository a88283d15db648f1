"""Browse a manifest in the FiftyOne App: image, mask, category, sound and provenance.

Loads the manifest into a persistent FiftyOne dataset (one sample per triplet, updated in place
on re-runs), renders a log-mel spectrogram per clip and an "image | mask overlay | spectrogram"
preview under <manifest folder>/inspect/, and with --launch serves the App on 127.0.0.1 until
Ctrl-C. The database is FiftyOne's own (FIFTYONE_DATABASE_DIR) or FIFTYONE_DATABASE_URI.

Examples:

    avsynth inspect out/manifest.jsonl --launch

    avsynth inspect out/manifest.jsonl --split val --name my-val --launch --port 5252

    avsynth inspect plan/manifest.jsonl --no-launch --lvis /data/lvis --vggsound /data/vgg
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Annotated

import typer

from avsynth.cli.choices import SPLIT_METAVAR
from avsynth.cli.options import (
    LvisRoot,
    OpenImagesRoot,
    Quiet,
    VggsoundRoot,
    source_roots,
)


def main(
    manifest: Annotated[Path, typer.Argument(help="manifest.jsonl (or .jsonl.gz) to load.")],
    name: Annotated[
        str | None, typer.Option("--name", help="Dataset name (default: from the manifest path).")
    ] = None,
    split: Annotated[
        str | None, typer.Option("--split", metavar=SPLIT_METAVAR, help="Only this split.")
    ] = None,
    launch: Annotated[
        bool, typer.Option("--launch/--no-launch", help="Serve the App after loading.")
    ] = False,
    port: Annotated[int, typer.Option("--port", help="Port of the App server.")] = 5151,
    address: Annotated[
        str, typer.Option("--address", help="Interface the App listens on.")
    ] = "127.0.0.1",
    spectrograms: Annotated[
        bool,
        typer.Option("--spectrograms/--no-spectrograms", help="Render spectrograms and previews."),
    ] = True,
    workers: Annotated[int, typer.Option("--workers", help="Processes for rendering.")] = 1,
    lvis: LvisRoot = None,
    openimages: OpenImagesRoot = None,
    vggsound: VggsoundRoot = None,
    quiet: Quiet = False,
) -> None:
    """Load a manifest into FiftyOne and optionally serve the App."""
    from avsynth.inspection.fiftyone_app import (
        check_port,
        database_description,
        launch_app,
        load_fiftyone,
    )

    if launch:
        check_port(port, address)  # before the (long) load

    roots = source_roots(lvis, openimages, vggsound)
    ds = load_fiftyone(
        manifest,
        name=name,
        split=split,
        roots=roots,
        spectrograms=spectrograms,
        workers=workers,
        progress=not quiet,
    )
    typer.echo(f"dataset {ds.name!r}: {len(ds)} samples ({database_description()})")
    if not launch:
        typer.echo(f"open it with: avsynth inspect {manifest} --launch")
        return
    session = launch_app(ds, port=port, address=address)
    typer.echo(f"FiftyOne App: http://{address}:{port}/  (Ctrl-C to stop)")
    # Ctrl-C must stop the App even when the shell started us with SIGINT ignored, and a
    # plain `kill` (SIGTERM) should shut down as cleanly.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        session.wait(-1)
    except KeyboardInterrupt:
        typer.echo("stopping the App")
    finally:
        session.close()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
