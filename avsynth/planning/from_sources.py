"""Planning from the sources' metadata: the stages behind :func:`avsynth.plan`.

Reads VGGSound, checks the category map against the very inputs, reads LVIS while the Open
Images CSVs parse in a background process, then plans (single triplets, or compositions with
``compose``) and collects the input fingerprints; each stage is timed (``Plan.timings``).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from functools import partial

from avsynth.catmap.schema import CategoryMap
from avsynth.planning.plan import Plan
from avsynth.planning.select import SelectionConfig
from avsynth.planning.spec import BuildSpec, check_roots
from avsynth.sources.records import SourceClip, SourceMask

logger = logging.getLogger(__name__)


def load_category_map(categories: str | os.PathLike[str] | CategoryMap) -> CategoryMap:
    """``categories`` as a :class:`CategoryMap` (a loaded map, a YAML path or a shipped name)."""
    if isinstance(categories, CategoryMap):
        return categories
    from avsynth.catmap import load_map

    return load_map(categories)


class _Stages:
    """Times named stages; with ``verbose`` logs one line per stage (INFO)."""

    def __init__(self, verbose: bool) -> None:
        self.verbose = verbose
        self.timings: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str, what: str):
        if self.verbose and what:
            logger.info("%s ...", what)
        t = time.perf_counter()
        note: list[str] = []
        yield note
        self.timings[name] = time.perf_counter() - t
        if self.verbose and what:
            extra = f"{note[0]}, " if note else ""
            logger.info("  %s%.1f s", extra, self.timings[name])


def plan_from_sources(
    spec: BuildSpec, *, fingerprint: bool, progress: bool, check_files: bool
) -> Plan:
    """The body of :func:`avsynth.plan`: read the sources' metadata, check the map against
    them, plan (single or composed), with per-stage timings.

    Args:
        spec: The validated build specification (sources, sizes, seed, selection, ...).
        fingerprint: Hash the metadata files (in a background process).
        progress: Print one line per stage to stderr.
        check_files: Check the chosen Open Images masks' content (see
            :mod:`avsynth.planning.content`).
    """
    from avsynth.planning.background import BackgroundJobs
    from avsynth.planning.fingerprint import fingerprint_files
    from avsynth.planning.mapcheck import check_map_against_sources
    from avsynth.sources.lvis import lvis_files, lvis_masks
    from avsynth.sources.openimages import openimages_files, parse_openimages_tables
    from avsynth.sources.vggsound import read_vggsound, vggsound_csv_path

    vggsound, lvis, openimages = spec.vggsound, spec.lvis, spec.openimages
    stage = _Stages(progress)
    with stage("map", ""):
        cmap = load_category_map(spec.categories)
        roots = check_roots(vggsound, lvis, openimages)
        oi_files = openimages_files(openimages) if openimages is not None else []
        lvis_subsets = [s for s, _ in lvis_files(lvis)] if lvis is not None else []

    # A worker process decodes LVIS val and parses the Open Images CSVs (pyarrow), then
    # hashes the metadata files, while VGGSound and LVIS train are read here (msgspec holds
    # the GIL for seconds: a thread could not run alongside it). It is forked first, while
    # this process is small (it inherits less). The Open Images rows come back as Arrow
    # tables, made into records here after LVIS; the fingerprints are collected after
    # planning. "lvis" times train plus the wait for val; "openimages" the wait plus the
    # records ("openimages_parse": the parse, in the worker).
    names = sorted({r.name for c in cmap.categories for r in c.lvis})
    mids = sorted({r.mid for c in cmap.categories for r in c.openimages})
    lvis_here, lvis_there = lvis_subsets[:1], lvis_subsets[1:]
    jobs = [partial(lvis_masks, lvis, names, s) for s in lvis_there]
    if oi_files:
        jobs.append(partial(parse_openimages_tables, oi_files, mids))
    if fingerprint:
        jobs.append(partial(fingerprint_files, roots))
    worker = BackgroundJobs(jobs, name="avsynth-plan-reader")
    try:
        with stage("vggsound", "reading VGGSound metadata") as note:
            index = read_vggsound(vggsound, labels=sorted(cmap.vggsound_to_category()))
            note.append(f"{len(index.clips):,} rows of mapped labels")
        with stage("map_check", ""):
            # Every label of the map must exist in these very inputs (as check-map checks
            # them) before the expensive mask metadata is read.
            check_map_against_sources(
                spec.categories,
                lvis=lvis,
                openimages=openimages,
                vggsound_labels=index.labels,
                vggsound_source=str(vggsound_csv_path(vggsound)),
            )
        masks = _read_masks(stage, lvis, names, lvis_here, len(lvis_there), oi_files, worker)
        p = _plan(stage, spec, masks, index, cmap, roots=roots, check_files=check_files)
        p.clips_missing = index.rows_without_file
        p.roots = roots
        if fingerprint:
            with stage("fingerprint_wait", ""):
                p.fingerprints = worker.next()
    except BaseException:
        worker.cancel()  # a failure leaves no worker behind
        raise
    p.timings = stage.timings
    return p


def _read_masks(stage: _Stages, lvis, names, here, n_there, oi_files, worker) -> list:
    """LVIS's masks (the ``here`` subsets decoded here, then ``n_there`` more from the
    worker) and Open Images' (the worker's next result, if ``oi_files``), in that order."""
    from avsynth.sources.lvis import iter_lvis_masks
    from avsynth.sources.openimages import openimages_records

    masks = []
    if here:
        with stage("lvis", "reading LVIS metadata") as note:
            masks.extend(iter_lvis_masks(lvis, names, subsets=here))
            for _ in range(n_there):
                masks.extend(worker.next())
            note.append(f"{len(masks):,} masks of mapped categories")
    if oi_files:
        with stage("openimages", "reading Open Images metadata") as note:
            tables, stage.timings["openimages_parse"] = worker.next()
            oi_masks = openimages_records(tables)
            masks.extend(oi_masks)
            note.append(f"{len(oi_masks):,} masks of mapped classes")
    return masks


def _plan(stage: _Stages, spec: BuildSpec, masks, index, cmap, *, roots, check_files) -> Plan:
    """The single plan (content checks settled) or, with compositions, the composed one."""
    from avsynth.planning.compose import single_only

    if not single_only(spec.compose):  # composed build: its own planner (docs/dataset.md)
        with stage("plan", "planning compositions (absences, selection, splits, pairing)"):
            return plan_composed(masks, index.clips, cmap, lvis=spec.lvis,
                                 openimages=spec.openimages, weights=spec.compose,
                                 split_sizes=spec.split_sizes, seed=spec.seed,
                                 selection=spec.selection,
                                 require_clips=spec.require_clips)  # fmt: skip
    with stage("plan", "planning (selection, splits, pairing)") as note:
        from avsynth.planning.content import settle_plan
        from avsynth.planning.planner import Planner

        # Selection and the seeded candidate order are computed once; re-planning around
        # rejected masks redoes only the allocation, split assignment and pairing.
        planner = Planner(
            masks,
            index.clips,
            cmap,
            split_sizes=spec.split_sizes,
            seed=spec.seed,
            selection=spec.selection,
            require_clips=spec.require_clips,
        )
        # Chosen masks are checked for content (empty, wrong size); failures are replaced.
        files = {"openimages": roots["openimages"]} if check_files and spec.openimages else {}
        p, rejected, checked = settle_plan(planner.plan, roots=files, workers=spec.workers)
        note.append(f"{checked:,} chosen masks checked, {len(rejected):,} replaced")
    return p


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
) -> Plan:
    """Read the verified absences (LVIS ``neg_category_ids``, Open Images human-verified image
    labels) when a composition needs them, and plan
    (:func:`~avsynth.planning.planner.make_plan`)."""
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
    from avsynth.planning.planner import make_plan

    return make_plan(
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
