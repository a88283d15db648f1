"""Print a model's parameter counts: total, trainable, adapter, and the adapter share.

The adapter share is adapter / (total - adapter), audio encoder (VGGish) included, as in the
paper (SAMA-AVS ViT-H: 2,770,176 adapter parameters = 0.3884%). Counting uses the meta
device, so even ViT-H takes a second and no memory.

Examples:
    avsmodel params sama_avs_vit_h
    avsmodel params --all
    avsmodel params ap_sam_tiny --json
"""

from __future__ import annotations

from typing import Annotated

import typer

from avsynth.cli.options import Quiet


def main(
    name: Annotated[
        str | None, typer.Argument(help="Registry name, e.g. sama_avs_vit_h (see --all).")
    ] = None,
    all_models: Annotated[
        bool, typer.Option("--all", help="Print a table of every registered model.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
    quiet: Quiet = False,
) -> None:
    """Print parameter counts of one model or all models."""
    import json

    from avsmodel.errors import ConfigError
    from avsmodel.pretrained.build import parameter_counts
    from avsmodel.pretrained.registry import list_models

    if all_models == (name is not None):
        raise ConfigError("give a model NAME or --all (not both); see `avsmodel params --help`")
    names = list_models() if all_models else [name]
    counts = [parameter_counts(n) for n in names]
    if as_json:
        out = [c.to_dict() for c in counts]
        typer.echo(json.dumps(out if all_models else out[0], indent=2))
        return
    if not all_models:
        c = counts[0]
        typer.echo(f"model          {c.name}")
        typer.echo(f"total          {c.total:,}")
        typer.echo(f"trainable      {c.trainable:,}")
        typer.echo(f"adapter        {c.adapter:,}")
        typer.echo(f"audio encoder  {c.audio_encoder:,}")
        typer.echo(f"adapter share  {c.adapter_share:.4f}% of the rest of the model")
        return
    typer.echo(
        f"{'model':<18} {'total':>13} {'trainable':>13} {'adapter':>11} {'audio enc':>11} "
        f"{'share %':>8}"
    )
    for c in counts:
        typer.echo(
            f"{c.name:<18} {c.total:>13,} {c.trainable:>13,} {c.adapter:>11,} "
            f"{c.audio_encoder:>11,} {c.adapter_share:>8.4f}"
        )
