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
from avsynth.constants import (
    DEFAULT_CLIP_SECONDS,
    DEFAULT_SPLIT_SIZES,
    ON_ERROR,
    SILENT_AUDIO,
    SPLITS,
)
from avsynth.manifest.io import SIDECAR, ManifestWriter
from avsynth.planning.from_sources import plan_from_sources
from avsynth.planning.plan import Plan
from avsynth.planning.select import SelectionConfig
from avsynth.planning.spec import BuildSpec
from avsynth.report import BuildReport
from avsynth.sources.processes import gc_paused
from avsynth.storage.atomic import atomic_write_text
from avsynth.storage.outfolder import OutFolderLock, check_out_folder

MANIFEST = "manifest.jsonl"


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
            (default ``single=1``: single-source triplets); others plan composed triplets
            (see ``docs/dataset.md``).

    Returns:
        The :class:`Plan` (with ``roots``, ``fingerprints`` and per-stage ``timings``).

    Raises:
        PlanError: too few usable instances, or bad arguments.
        SourceError, MapError: malformed inputs (message names file and entry).
    """
    spec = BuildSpec.create(
        categories, vggsound=vggsound, lvis=lvis, openimages=openimages,
        split_sizes=split_sizes, seed=seed, selection=selection, require_clips=require_clips,
        compose=compose, plan_only=True, workers=workers,
    )  # fmt: skip
    return plan_spec(spec, fingerprint=fingerprint, progress=progress, check_files=check_files)


def plan_spec(spec: BuildSpec, *, fingerprint: bool, progress: bool, check_files: bool) -> Plan:
    """:func:`plan` of a validated :class:`BuildSpec`."""
    gc.unfreeze()  # the records of an earlier plan in this process (see below)
    with gc_paused():  # millions of small, acyclic objects: cyclic GC passes cost ~30 %
        p = plan_from_sources(
            spec, fingerprint=fingerprint, progress=progress, check_files=check_files
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
    clip_seconds: float = DEFAULT_CLIP_SECONDS,
    selection: SelectionConfig | None = None,
    require_clips: bool | None = None,
    on_error: str = ON_ERROR[0],
    progress: bool = True,
    force: bool = False,
    silent_audio: str = SILENT_AUDIO[0],
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
            (one without the ``.avsynth-build`` marker, see :mod:`avsynth.storage.outfolder`).
        silent_audio: Clips whose every sample is zero: ``keep`` (default: the plan keeps
            its exact split sizes; they are counted in the sidecar's ``silent_clips``) or
            ``skip`` (drop their triplets like undecodable media).
        compose: Compositions and their shares, e.g.
            ``"single=0.7,multi=0.2,offscreen=0.05,partial=0.05"``; default ``single=1``
            (single-source triplets, schema 1). Others write schema 2 records, union masks
            and mixes (see ``docs/dataset.md``).

    Returns:
        :class:`BuildReport`.

    Raises:
        PlanError, SourceError, MapError, MediaError: the message names the cause.
        OutputError: ``out`` is a file, lies below one, or cannot be written.
    """
    spec = BuildSpec.create(
        categories, vggsound=vggsound, lvis=lvis, openimages=openimages,
        split_sizes=split_sizes, seed=seed, selection=selection, require_clips=require_clips,
        compose=compose, plan_only=plan_only, clip_seconds=clip_seconds, on_error=on_error,
        silent_audio=silent_audio, workers=workers,
    )  # fmt: skip
    from avsynth.sources.guards import check_build_inputs

    check_build_inputs(out, clip_seconds, vggsound=vggsound, lvis=lvis, openimages=openimages)
    outp = check_out_folder(out, force=force)
    with OutFolderLock(outp):
        return build_spec(spec, outp, progress=progress)


def build_spec(spec: BuildSpec, outp: Path, *, progress: bool) -> BuildReport:
    """:func:`build` of a validated :class:`BuildSpec` into the locked folder ``outp``."""
    from avsynth.planning.output import check_source_paths, write_needed

    # Everything is validated (map, options, sources, plan) before anything in --out changes:
    # a typo never costs the previous build's manifest.
    p = plan_spec(spec, fingerprint=True, progress=progress, check_files=not spec.plan_only)
    check_source_paths(p)
    check_out_folder(outp, force=True)  # media subfolders still no symlinks after planning
    _clear_stale(outp)
    timings = dict(p.timings)
    t = time.perf_counter()
    needed = write_needed(p, outp)
    t_lists = time.perf_counter() - t
    media = None
    if not spec.plan_only:
        from avsynth.materialise.runner import run_media  # not imported by --plan-only (0.1 s)

        t = time.perf_counter()
        media = run_media(p, str(outp), clip_seconds=spec.clip_seconds, workers=spec.workers,
                          on_error=spec.on_error, silent_audio=spec.silent_audio,
                          progress=progress)  # fmt: skip
        timings["media"] = time.perf_counter() - t
    t = time.perf_counter()
    report = _write_records(spec, p, outp, media)
    timings["write"] = time.perf_counter() - t + t_lists
    report.needed, report.timings = needed, timings
    return report


def _write_records(spec: BuildSpec, p: Plan, outp: Path, media) -> BuildReport:
    """The sidecar, then the manifest (last) of plan ``p`` after its media stage (``media``:
    the :class:`~avsynth.materialise.runner.MediaResult`, ``None`` for a plan-only build)."""
    from avsynth import __version__
    from avsynth.planning.encode import manifest_lines
    from avsynth.planning.output import build_info

    triplets = p.triplets
    media_skips = media.skips if media is not None else {}
    if media_skips:
        triplets = [t for t in triplets if media.keeps(t)]
    info = build_info(p, plan_only=spec.plan_only, clip_seconds=spec.clip_seconds,
                      version=__version__, media_skips=media_skips)  # fmt: skip
    written = dict.fromkeys(SPLITS, 0)
    for x in triplets:
        written[x.split] += 1
    info["written"] = written
    silent = media.silent_clips if media is not None else []
    if p.schema_version >= 2:
        per_comp = {c: dict.fromkeys(SPLITS, 0) for c in p.compose}
        for x in triplets:
            per_comp[x.composition][x.split] += 1
        info["written_per_composition"] = per_comp
    elif media is not None:  # composed sidecars have never listed silent clips
        info["silent_clips"] = {"count": len(silent), "policy": spec.silent_audio, "ids": silent}
    atomic_write_text(outp / SIDECAR, json.dumps(info, indent=2, sort_keys=False) + "\n")
    with ManifestWriter(outp / MANIFEST) as w:
        for data, n in manifest_lines(
            triplets,
            clip_seconds=spec.clip_seconds,
            frames=media.clip_frames if media is not None else None,
            sizes=media.image_sizes if media is not None else None,
            materialised=not spec.plan_only,
            schema_version=p.schema_version,
        ):
            w.write_encoded(data, n)
    return BuildReport(out=outp, manifest=outp / MANIFEST, sidecar=outp / SIDECAR, plan=p,
                       written=written, media_skips=media_skips, silent_clips=silent)  # fmt: skip
