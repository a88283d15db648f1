"""Building a synthetic AVS dataset: :func:`plan` (metadata only) and :func:`build`.

``build`` reads the category map and the sources' metadata, plans the triplets (selection,
splits, pairing; see ``docs/dataset.md``), materialises the media (or, with ``plan_only``,
points into the sources) and writes ``manifest.jsonl`` last, so a failed build never leaves a
manifest behind.
"""

from __future__ import annotations

import gc
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path

from avsynth.catmap.schema import CategoryMap
from avsynth.errors import PlanError
from avsynth.files import atomic_write_text
from avsynth.manifest.io import SIDECAR, ManifestWriter
from avsynth.outfolder import OutFolderLock, check_out_folder
from avsynth.planning.from_sources import plan_from_sources
from avsynth.planning.options import check_build_options
from avsynth.planning.planner import Plan
from avsynth.planning.select import SelectionConfig
from avsynth.report import BuildReport
from avsynth.sources._util import gc_paused

MANIFEST = "manifest.jsonl"
DEFAULT_SPLIT_SIZES = (52609, 5000, 5000)


def plan(
    categories: str | os.PathLike[str] | CategoryMap,
    *,
    vggsound: str | os.PathLike[str],
    lvis: str | os.PathLike[str] | None = None,
    openimages: str | os.PathLike[str] | None = None,
    split_sizes: Sequence[int] = DEFAULT_SPLIT_SIZES,
    seed: int = 0,
    selection: SelectionConfig | None = None,
    require_clips: bool = False,
    fingerprint: bool = True,
    progress: bool = False,
    check_files: bool = False,
    workers: int = 1,
    compose: str | dict[str, float] | None = None,
) -> Plan:
    """Plan a build from metadata only (no media decoded, no media files needed).

    Args:
        categories: Category map (YAML path or loaded :class:`CategoryMap`).
        vggsound: VGGSound root (``vggsound.csv``, clips below it).
        lvis: LVIS root (``lvis_v1_{train,val}.json``), optional.
        openimages: Open Images root (``*-annotations-object-segmentation.csv``), optional.
        split_sizes: Exact (train, val, test) sizes.
        seed: Seed of every choice.
        selection: Selection rules (default :class:`SelectionConfig`).
        require_clips: Use only VGGSound rows whose clip file exists.
        fingerprint: Hash the metadata files (recorded in the sidecar).
        progress: Print one line per stage to stderr.
        check_files: Also check the content of the chosen Open Images masks (reads each PNG
            and its image's header, so the media must be there); LVIS masks are always
            checked. Masks that fail are replaced (see :mod:`avsynth.planning.content`).
        workers: Processes for those checks.
        compose: Compositions, e.g. ``"single=0.7,multi=0.2,offscreen=0.05,partial=0.05"``
            (default ``single=1``: today's plan); others give a
            :class:`~avsynth.planning.compose.ComposedPlan` (see ``docs/dataset.md``).

    Returns:
        The :class:`Plan` (with ``roots``, ``fingerprints`` and per-stage ``timings``).

    Raises:
        PlanError: too few usable instances, or bad arguments.
        SourceError, MapError: malformed inputs (message names file and entry).
    """
    gc.unfreeze()  # the records of an earlier plan in this process (see below)
    with gc_paused():  # millions of small, acyclic objects: cyclic GC passes cost ~30 %
        p = plan_from_sources(
            categories,
            vggsound=vggsound,
            lvis=lvis,
            openimages=openimages,
            split_sizes=split_sizes,
            seed=seed,
            selection=selection,
            require_clips=require_clips,
            fingerprint=fingerprint,
            progress=progress,
            check_files=check_files,
            workers=workers,
            compose=compose,
        )
        # Built with the collector paused, the records all sit in its youngest generation:
        # the next collections would scan them all, again and again (2-3 s of the write
        # stage at full scale). Frozen, collections skip them; they are still freed by
        # reference counting (they hold no cycles).
        gc.freeze()
    return p


def _clear_stale(out: Path) -> None:
    for name in (MANIFEST, SIDECAR):
        (out / name).unlink(missing_ok=True)


def build(
    categories: str | os.PathLike[str] | CategoryMap,
    *,
    out: str | os.PathLike[str],
    vggsound: str | os.PathLike[str],
    lvis: str | os.PathLike[str] | None = None,
    openimages: str | os.PathLike[str] | None = None,
    split_sizes: Sequence[int] = DEFAULT_SPLIT_SIZES,
    seed: int = 0,
    plan_only: bool = False,
    workers: int = 1,
    clip_seconds: float = 10.0,
    selection: SelectionConfig | None = None,
    require_clips: bool | None = None,
    on_error: str = "raise",
    progress: bool = True,
    force: bool = False,
    silent_audio: str = "keep",
    compose: str | dict[str, float] | None = None,
) -> BuildReport:
    """Plan and write a dataset: ``out/manifest.jsonl``, ``out/build_info.json``, media.

    Args:
        categories: Category map (YAML path or :class:`CategoryMap`).
        out: Output folder (created; an earlier build there is resumed: finished media kept).
        vggsound: VGGSound root.
        lvis: LVIS root (COCO 2017 images below it), optional.
        openimages: Open Images root (images below ``{subset}/``, mask zips), optional.
        split_sizes: Exact (train, val, test) sizes.
        seed: Seed of every choice.
        plan_only: Write the manifest with paths into the sources and the download lists;
            decode nothing.
        workers: Worker processes for materialisation.
        clip_seconds: Length of each WAV (VGGSound clips are 10 s).
        selection: Selection rules.
        require_clips: Use only clips whose file exists (default: True when materialising,
            False with ``plan_only``). Materialising needs it.
        on_error: ``raise`` (stop at the first undecodable file) or ``skip`` (drop its
            triplets, record them in the sidecar; the splits then fall short).
        progress: Show progress (in triplets, with the time left; plain lines when stderr
            is not a terminal).
        force: Build into an existing non-empty folder that is not an avsynth build folder
            (one without the ``.avsynth-build`` marker, see :mod:`avsynth.outfolder`).
        silent_audio: Clips whose every sample is zero: ``keep`` (default: the plan keeps
            its exact split sizes; they are counted in the sidecar's ``silent_clips``) or
            ``skip`` (drop their triplets like undecodable media).
        compose: Compositions and their shares, e.g.
            ``"single=0.7,multi=0.2,offscreen=0.05,partial=0.05"``; default ``single=1``
            (today's build, byte-identical). Others write schema 2 records, union masks and
            mixes (see ``docs/dataset.md``).

    Returns:
        :class:`BuildReport`.

    Raises:
        PlanError, SourceError, MapError, MediaError: the message names the cause.
        OutputError: ``out`` is a file, lies below one, or cannot be written.
    """
    from avsynth.constants import SILENT_AUDIO

    if silent_audio not in SILENT_AUDIO:
        raise PlanError(f"--silent-audio {silent_audio!r} is not one of {', '.join(SILENT_AUDIO)}")
    require_clips = check_build_options(
        on_error=on_error,
        clip_seconds=clip_seconds,
        workers=workers,
        plan_only=plan_only,
        require_clips=require_clips,
    )
    from avsynth.sources.guards import check_build_inputs

    check_build_inputs(out, clip_seconds, vggsound=vggsound, lvis=lvis, openimages=openimages)
    outp = check_out_folder(out, force=force)
    with OutFolderLock(outp):
        return _build_locked(
            categories,
            outp,
            vggsound=vggsound,
            lvis=lvis,
            openimages=openimages,
            split_sizes=split_sizes,
            seed=seed,
            plan_only=plan_only,
            workers=workers,
            clip_seconds=clip_seconds,
            selection=selection,
            require_clips=require_clips,
            on_error=on_error,
            progress=progress,
            silent_audio=silent_audio,
            compose=compose,
        )


def _build_locked(
    categories,
    outp: Path,
    *,
    vggsound,
    lvis,
    openimages,
    split_sizes,
    seed,
    plan_only,
    workers,
    clip_seconds,
    selection,
    require_clips,
    on_error,
    progress,
    silent_audio,
    compose=None,
) -> BuildReport:
    from avsynth import __version__
    from avsynth.planning.encode import manifest_lines
    from avsynth.planning.keys import image_key
    from avsynth.planning.output import build_info, check_source_paths, write_needed

    # Everything is validated (map, options, sources, plan) before anything in --out changes:
    # a typo never costs the previous build's manifest.
    p = plan(
        categories,
        vggsound=vggsound,
        lvis=lvis,
        openimages=openimages,
        split_sizes=split_sizes,
        seed=seed,
        selection=selection,
        require_clips=require_clips,
        progress=progress,
        check_files=not plan_only,
        workers=workers,
        compose=compose,
    )
    if getattr(p, "compose", None):  # a ComposedPlan: records, lists and media of its own
        from avsynth.composed import check_composed_paths, finish_composed

        check_composed_paths(p)
        check_out_folder(outp, force=True)
        _clear_stale(outp)
        return BuildReport(**finish_composed(
            p, outp, plan_only=plan_only, clip_seconds=clip_seconds, workers=workers,
            on_error=on_error, progress=progress, manifest_name=MANIFEST))  # fmt: skip
    check_source_paths(p)
    check_out_folder(outp, force=True)  # media subfolders still no symlinks after planning
    _clear_stale(outp)
    timings = dict(p.timings)
    t = time.perf_counter()
    needed = write_needed(p, outp)
    t_lists = time.perf_counter() - t
    media_skips: dict[str, str] = {}
    sizes: dict[str, tuple[int, int]] = {}
    frames: dict[str, int] = {}
    silent: list[str] = []
    triplets = p.triplets
    if not plan_only:
        from avsynth.materialise.runner import run_media  # not imported by --plan-only (0.1 s)

        t = time.perf_counter()
        res = run_media(
            p,
            str(outp),
            clip_seconds=clip_seconds,
            workers=workers,
            on_error=on_error,
            silent_audio=silent_audio,
            progress=progress,
        )
        timings["media"] = time.perf_counter() - t
        sizes, frames, silent = res.image_sizes, res.clip_frames, res.silent_clips
        media_skips = {**res.failed_images, **res.failed_clips}
        if media_skips:
            triplets = [
                t
                for t in triplets
                if image_key(t.mask) not in res.failed_images
                and t.clip.clip_id not in res.failed_clips
            ]
    t = time.perf_counter()
    info = build_info(
        p,
        plan_only=plan_only,
        clip_seconds=clip_seconds,
        version=__version__,
        media_skips=media_skips,
    )
    written = dict.fromkeys(("train", "val", "test"), 0)
    for x in triplets:
        written[x.split] += 1
    info["written"] = written
    if not plan_only:
        info["silent_clips"] = {"count": len(silent), "policy": silent_audio, "ids": silent}
    atomic_write_text(outp / SIDECAR, json.dumps(info, indent=2, sort_keys=False) + "\n")
    with ManifestWriter(outp / MANIFEST) as w:
        # dumps_record(to_triplet(x, ...)) of each triplet, encoded a chunk at a time
        for data, n in manifest_lines(triplets, clip_seconds=clip_seconds, frames=frames,
                                      sizes=sizes, materialised=not plan_only):  # fmt: skip
            w.write_encoded(data, n)
    timings["write"] = time.perf_counter() - t + t_lists
    return BuildReport(
        out=outp,
        manifest=outp / MANIFEST,
        sidecar=outp / SIDECAR,
        plan=p,
        written=written,
        needed=needed,
        media_skips=media_skips,
        timings=timings,
        silent_clips=silent,
    )
