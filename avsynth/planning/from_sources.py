"""Planning from the sources' metadata: the stages behind :func:`avsynth.plan`.

Reads VGGSound, checks the category map against the very inputs, reads LVIS while the Open
Images CSVs parse in a background thread, then plans (single triplets, or compositions with
``compose``) and collects the input fingerprints; each stage is timed (``Plan.timings``).
"""

from __future__ import annotations

import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from avsynth.catmap.schema import CategoryMap
from avsynth.planning.options import check_roots
from avsynth.planning.planner import Plan, make_plan


def load_category_map(categories: str | os.PathLike[str] | CategoryMap) -> CategoryMap:
    """``categories`` as a :class:`CategoryMap` (a loaded map, a YAML path or a shipped name)."""
    if isinstance(categories, CategoryMap):
        return categories
    from avsynth.catmap import load_map

    return load_map(categories)


class _Stages:
    """Times named stages; with ``verbose`` prints one line per stage to stderr."""

    def __init__(self, verbose: bool) -> None:
        self.verbose = verbose
        self.timings: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str, what: str):
        if self.verbose and what:
            print(f"[avsynth] {what} ...", file=sys.stderr, flush=True)
        t = time.perf_counter()
        note: list[str] = []
        yield note
        self.timings[name] = time.perf_counter() - t
        if self.verbose and what:
            extra = f"{note[0]}, " if note else ""
            print(f"[avsynth]   {extra}{self.timings[name]:.1f} s", file=sys.stderr, flush=True)


def plan_from_sources(
    categories,
    *,
    vggsound,
    lvis,
    openimages,
    split_sizes,
    seed,
    selection,
    require_clips,
    fingerprint,
    progress,
    check_files,
    workers,
    compose=None,
) -> Plan:
    """The body of :func:`avsynth.plan`: read the sources' metadata, check the map against
    them, plan (single or composed), with per-stage timings (arguments as there)."""
    from avsynth.planning.compose import parse_compose, single_only
    from avsynth.planning.fingerprint import start_fingerprints
    from avsynth.planning.mapcheck import check_map_against_sources
    from avsynth.sources.lvis import iter_lvis_masks
    from avsynth.sources.openimages import read_openimages_masks
    from avsynth.sources.vggsound import read_vggsound, vggsound_csv_path

    weights = parse_compose(compose)
    stage = _Stages(progress)
    with stage("map", ""):
        cmap = load_category_map(categories)
        roots = check_roots(vggsound, lvis, openimages)
    with stage("vggsound", "reading VGGSound metadata") as note:
        index = read_vggsound(vggsound, labels=sorted(cmap.vggsound_to_category()))
        note.append(f"{len(index.clips):,} rows of mapped labels")
    with stage("map_check", ""):
        # Every label of the map must exist in these very inputs (as check-map checks them)
        # before the expensive mask metadata is read.
        check_map_against_sources(
            categories,
            lvis=lvis,
            openimages=openimages,
            vggsound_labels=index.labels,
            vggsound_source=str(vggsound_csv_path(vggsound)),
        )
        fut = start_fingerprints(roots) if fingerprint else None

    # The Open Images CSVs are parsed (pyarrow, its own threads, mostly without the GIL) in a
    # background thread while LVIS decodes here; their records are made afterwards, so the
    # two readers' Python objects never compete for the GIL nor add up in memory. The
    # "openimages" stage times the wait plus the records ("openimages_parse": the parse).
    def timed(fn):
        t = time.perf_counter()
        return fn(), time.perf_counter() - t

    mids = sorted({r.mid for c in cmap.categories for r in c.openimages})
    pool = ThreadPoolExecutor(1, thread_name_prefix="avsynth-read")
    oi_fut = (
        pool.submit(timed, lambda: read_openimages_masks(openimages, mids))
        if openimages is not None
        else None
    )
    try:
        masks = []
        if lvis is not None:
            with stage("lvis", "reading LVIS metadata") as note:
                names = sorted({r.name for c in cmap.categories for r in c.lvis})
                masks.extend(iter_lvis_masks(lvis, names))
                note.append(f"{len(masks):,} masks of mapped categories")
        if oi_fut is not None:
            with stage("openimages", "reading Open Images metadata") as note:
                records, stage.timings["openimages_parse"] = oi_fut.result()
                oi_masks = records()
                masks.extend(oi_masks)
                note.append(f"{len(oi_masks):,} masks of mapped classes")
                del oi_masks
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    if not single_only(weights):  # composed build: its own planner (docs/dataset.md)
        from avsynth.composed import plan_composed

        with stage("plan", "planning compositions (absences, selection, splits, pairing)"):
            p = plan_composed(masks, index.clips, cmap, lvis=lvis, openimages=openimages,
                              weights=weights, split_sizes=split_sizes, seed=seed,
                              selection=selection, require_clips=require_clips)  # fmt: skip
        return _finish(p, index, roots, fut, stage)
    with stage("plan", "planning (selection, splits, pairing)") as note:
        from avsynth.planning.content import settle_plan

        def make(rejected):
            return make_plan(
                masks,
                index.clips,
                cmap,
                split_sizes=split_sizes,
                seed=seed,
                selection=selection,
                require_clips=require_clips,
                rejected=rejected,
            )

        # Chosen masks are checked for content (empty, wrong size); failures are replaced.
        files = {"openimages": roots["openimages"]} if check_files and openimages else {}
        if files and workers > 1 and fut is not None:
            fut.result()  # no hashing thread running while the check workers are forked
        p, rejected, checked = settle_plan(make, roots=files, workers=workers)
        note.append(f"{checked:,} chosen masks checked, {len(rejected):,} replaced")
    return _finish(p, index, roots, fut, stage)


def _finish(p, index, roots, fut, stage: _Stages):
    """Attach what every plan carries: missing clip rows, roots, fingerprints, timings."""
    p.clips_missing = index.rows_without_file
    p.roots = roots
    if fut is not None:
        with stage("fingerprint_wait", ""):
            p.fingerprints = fut.result()
    p.timings = stage.timings
    return p
