"""Build (image, mask, audio) triplets from LVIS / Open Images and VGGSound.

Plans the dataset from metadata (selection, splits stratified by category and grouped by
image, clip pairing), then copies the images, writes masks as 0/255 PNGs and clips as 16 kHz
mono 16-bit WAVs, and writes OUT/manifest.jsonl (last) and OUT/build_info.json. Re-running
the same command resumes: finished files are kept. Everything (map, options, sources) is checked
before --out changes; --out must be new, empty or an earlier build (marker .avsynth-build),
and one build at a time holds it (lock file .avsynth-build.lock).

Examples:

  avsynth build --categories category_maps/46.yaml --vggsound data/vggsound \\
      --lvis data/lvis --openimages data/openimages --out avs46 --workers 8

  # plan only (no media needed): write needed_images_*.txt / needed_clips.csv to download
  avsynth build --categories category_maps/46.yaml --vggsound data/vggsound \\
      --lvis data/lvis --out plan46 --plan-only

  avsynth build --categories category_maps/46.yaml --vggsound vgg --lvis lvis \\
      --out tiny --split-sizes 60,10,10 --seed 1 --min-area 0.02

  # the summary as JSON (counts per category and split, skips, where the files are)
  avsynth build --categories 46 --vggsound vgg --lvis lvis --out tiny --json

  # multi-source, off-screen and partly off-screen triplets (schema 2 records, mixes)
  avsynth build --categories category_maps/46.yaml --vggsound vgg --lvis lvis \\
      --out ms --compose single=0.70,multi=0.20,offscreen=0.05,partial=0.05
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from avsynth.cli.choices import Allocation, OnError, SilentAudio
from avsynth.cli.options import JsonOutput, quiet_option
from avsynth.constants import DEFAULT_CLIP_SECONDS, DEFAULT_SPLIT_SIZES
from avsynth.errors import PlanError

_DEFAULT_SIZES = ",".join(map(str, DEFAULT_SPLIT_SIZES))


def _sizes(text: str) -> tuple[int, ...]:
    try:
        parts = tuple(int(x) for x in text.split(","))
    except ValueError:
        parts = ()
    if len(parts) != 3:
        raise PlanError(f"--split-sizes {text!r}: expected TRAIN,VAL,TEST, e.g. {_DEFAULT_SIZES}")
    return parts


def main(
    categories: Annotated[
        Path,
        typer.Option(help="Category map YAML, or a shipped map's name: 46 (the curated map)."),
    ],
    vggsound: Annotated[Path, typer.Option(help="VGGSound root: vggsound.csv and clip files.")],
    out: Annotated[Path, typer.Option(help="Output folder (created; re-running resumes).")],
    lvis: Annotated[
        Path | None, typer.Option(help="LVIS root: lvis_v1_{train,val}.json, train2017/, val2017/.")
    ] = None,
    openimages: Annotated[
        Path | None,
        typer.Option(
            help="Open Images root: *-annotations-object-segmentation.csv, images, mask zips."
        ),
    ] = None,
    split_sizes: Annotated[str, typer.Option(help="Exact TRAIN,VAL,TEST sizes.")] = _DEFAULT_SIZES,
    seed: Annotated[
        int, typer.Option(help="Seed of every choice (selection, split, pairing).")
    ] = 0,
    workers: Annotated[int, typer.Option(help="Worker processes for media.")] = 1,
    plan_only: Annotated[
        bool,
        typer.Option(
            "--plan-only", help="Metadata only: manifest into the sources + download lists."
        ),
    ] = False,
    clip_seconds: Annotated[
        float, typer.Option(help="Seconds of audio per WAV.")
    ] = DEFAULT_CLIP_SECONDS,
    require_clips: Annotated[
        bool | None,
        typer.Option(
            "--require-clips/--no-require-clips",
            help="Use only clips with a file [default: require unless --plan-only].",
        ),
    ] = None,
    on_error: Annotated[
        OnError, typer.Option(help="Undecodable media: raise (stop) or skip (drop its triplets).")
    ] = next(iter(OnError)),
    min_area: Annotated[float, typer.Option(help="Drop masks below this image fraction.")] = 0.01,
    max_area: Annotated[float, typer.Option(help="Drop masks above this image fraction.")] = 0.9,
    min_predicted_iou: Annotated[
        float, typer.Option(help="Drop Open Images masks with lower PredictedIoU.")
    ] = 0.5,
    keep_crowd: Annotated[bool, typer.Option("--keep-crowd", help="Keep iscrowd masks.")] = False,
    keep_not_exhaustive: Annotated[
        bool,
        typer.Option("--keep-not-exhaustive", help="Keep LVIS masks of non-exhaustive categories."),
    ] = False,
    allow_several: Annotated[
        bool,
        typer.Option("--allow-several", help="Keep images with several instances of a category."),
    ] = False,
    allocation: Annotated[
        Allocation,
        typer.Option(help="Instances per category: balanced (equal cap) or proportional."),
    ] = Allocation.BALANCED,
    silent_audio: Annotated[
        SilentAudio,
        typer.Option(
            help="Clips whose every sample is zero: keep (counted in build_info.json) or skip "
            "(drop their triplets)."
        ),
    ] = next(iter(SilentAudio)),
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Build into an existing non-empty folder that is not an avsynth build folder.",
        ),
    ] = False,
    compose: Annotated[
        str,
        typer.Option(
            help="Compositions and shares: single, multi (2-3 sounding objects), offscreen "
            "(sound of a verified-absent category, empty target), partial (visible + absent)."
        ),
    ] = "single=1",
    quiet: Annotated[bool, quiet_option("No progress bar, log messages or summary.")] = False,
    as_json: JsonOutput = False,
) -> None:
    import json

    from avsynth.pipeline import build
    from avsynth.planning.select import SelectionConfig

    selection = SelectionConfig(
        drop_crowd=not keep_crowd,
        min_area=min_area,
        max_area=max_area,
        require_exhaustive=not keep_not_exhaustive,
        min_predicted_iou=min_predicted_iou,
        single_instance=not allow_several,
        allocation=allocation.value,
    )
    report = build(
        categories,
        out=out,
        vggsound=vggsound,
        lvis=lvis,
        openimages=openimages,
        split_sizes=_sizes(split_sizes),
        seed=seed,
        plan_only=plan_only,
        workers=workers,
        clip_seconds=clip_seconds,
        selection=selection,
        require_clips=require_clips,
        on_error=on_error.value,
        progress=not (quiet or as_json),
        silent_audio=silent_audio.value,
        force=force,
        compose=compose,
    )
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
    elif not quiet:
        typer.echo(report.summary())
