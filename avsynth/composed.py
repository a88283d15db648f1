"""Composed builds (``avsynth build --compose ...``): planning from the read sources, then
download lists, media (images, instance masks, clips; then union masks and mixes), sidecar and
the schema 2 manifest (written last). :func:`avsynth.build` / :func:`avsynth.plan` call these
when ``compose`` is not ``single=1``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from avsynth.catmap.schema import CategoryMap
from avsynth.files import atomic_write_text
from avsynth.planning.compose import ComposedPlan, make_composed_plan
from avsynth.planning.select import SelectionConfig
from avsynth.sources.records import SourceClip, SourceMask


def plan_composed(
    masks: Sequence[SourceMask],
    clips: Sequence[SourceClip],
    cmap: CategoryMap,
    *,
    lvis,
    openimages,
    weights: Mapping[str, float],
    split_sizes: Sequence[int],
    seed: int,
    selection: SelectionConfig | None,
    require_clips: bool,
) -> ComposedPlan:
    """Read the verified absences (LVIS ``neg_category_ids``, Open Images human-verified image
    labels) when a composition needs them, and plan."""
    from avsynth.sources.absence import lvis_absent, openimages_absent

    absent: dict[str, frozenset[str]] = {}
    if {"offscreen", "partial"} & set(weights):
        if lvis is not None:
            absent.update(
                lvis_absent(lvis, sorted({r.name for c in cmap.categories for r in c.lvis}))
            )
        if openimages is not None:
            mids = sorted({r.mid for c in cmap.categories for r in c.openimages})
            absent.update(openimages_absent(openimages, mids))
    return make_composed_plan(
        masks,
        clips,
        cmap,
        compose=weights,
        absent=absent,
        split_sizes=split_sizes,
        seed=seed,
        selection=selection,
        require_clips=require_clips,
    )


def finish_composed(
    p: ComposedPlan,
    outp: Path,
    *,
    plan_only: bool,
    clip_seconds: float,
    workers: int,
    on_error: str,
    progress: bool,
    manifest_name: str,
) -> dict:
    """Download lists, media, sidecar and manifest (``manifest_name``) of a composed plan
    (:func:`avsynth.build`); returns the fields of its ``BuildReport``."""
    from avsynth import __version__
    from avsynth.manifest.io import SIDECAR, ManifestWriter
    from avsynth.materialise.mix import composed_media_tasks, composed_mix_tasks
    from avsynth.materialise.runner import run_media
    from avsynth.planning.compose_output import (
        composed_info,
        composed_needed_lists,
        composed_triplet,
    )
    from avsynth.planning.output import build_info

    timings = dict(p.timings)
    t0 = time.perf_counter()
    needed = []
    for name, text in composed_needed_lists(p).items():
        atomic_write_text(outp / name, text)
        needed.append(outp / name)
    t_lists = time.perf_counter() - t0
    media_skips: dict[str, str] = {}
    sizes: dict[str, tuple[int, int]] = {}
    triplets = list(p.triplets)
    if not plan_only:
        t0 = time.perf_counter()
        kw = {"clip_seconds": clip_seconds, "workers": workers, "on_error": on_error,
              "progress": progress}  # fmt: skip
        res = run_media(p, str(outp), tasks=composed_media_tasks(p, str(outp), clip_seconds), **kw)
        sizes = res.image_sizes
        bad = set(res.failed_images) | set(res.failed_clips)
        res2 = run_media(
            p, str(outp), tasks=composed_mix_tasks(p, str(outp), clip_seconds, sizes, bad), **kw
        )
        timings["media"] = time.perf_counter() - t0
        media_skips = {**res.failed_images, **res.failed_clips, **res2.failed_clips}
        if media_skips:
            triplets = [
                t
                for t in triplets
                if f"{t.image.source}:{t.image.image_id}" not in media_skips
                and t.id not in media_skips
                and not any(c.clip.clip_id in media_skips for c in t.components)
            ]
    t0 = time.perf_counter()
    info = build_info(
        _Flat(p), plan_only=plan_only, clip_seconds=clip_seconds, version=__version__,
        media_skips=media_skips,
    )  # fmt: skip
    info.update(composed_info(p))
    written = dict.fromkeys(("train", "val", "test"), 0)
    per_comp = {c: dict.fromkeys(("train", "val", "test"), 0) for c in p.compose}
    for x in triplets:
        written[x.split] += 1
        per_comp[x.composition][x.split] += 1
    info["written"] = written
    info["written_per_composition"] = per_comp
    atomic_write_text(outp / SIDECAR, json.dumps(info, indent=2, sort_keys=False) + "\n")
    with ManifestWriter(outp / manifest_name) as w:
        for x in triplets:
            g = f"{x.image.source}:{x.image.image_id}"
            w.write(
                composed_triplet(
                    x,
                    clip_seconds=clip_seconds,
                    image_size=sizes.get(g),
                    materialised=not plan_only,
                )  # fmt: skip
            )
    timings["write"] = time.perf_counter() - t0 + t_lists
    return {
        "out": outp,
        "manifest": outp / manifest_name,
        "sidecar": outp / SIDECAR,
        "plan": p,
        "written": written,
        "needed": needed,
        "media_skips": media_skips,
        "timings": timings,
    }


def check_composed_paths(p: ComposedPlan) -> None:
    """Reject source paths (from metadata) that would leave their source root."""
    from avsynth.planning.output import check_source_path

    for t in p.triplets:
        im = t.image  # type: ignore[attr-defined]
        check_source_path(f"{im.source} image {im.image_id}", im.path)
        for m in t.targets:  # type: ignore[attr-defined]
            check_source_path(f"{m.source} mask {m.mask_id}", m.mask_file)
        for c in t.components:  # type: ignore[attr-defined]
            check_source_path(f"VGGSound clip {c.clip.clip_id}", c.clip.path)


class _Flat:
    """A view of a composed plan as (mask, clip) triplets, for the single-build helpers that
    check source paths and fill the common sidecar fields."""

    def __init__(self, p: ComposedPlan) -> None:
        from avsynth.planning.planner import PlannedTriplet

        self._p = p
        flat = []
        for t in p.triplets:
            for i, c in enumerate(t.components):  # type: ignore[attr-defined]
                m = t.targets[min(i, len(t.targets) - 1)] if t.targets else None  # type: ignore[attr-defined]
                flat.append(PlannedTriplet(t.id, t.split, t.category, m, c.clip))
        self.triplets = flat

    def __getattr__(self, name: str):
        return getattr(self._p, name)
