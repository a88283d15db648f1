"""Composed plans: ``single``, ``multi``, ``offscreen`` and ``partial`` triplets.

``--compose single=0.70,multi=0.20,offscreen=0.05,partial=0.05`` splits every split size over
the compositions (largest remainder: exact counts per (split, composition)). Each composition
is planned from *units*, a deterministic function of the selected masks and the verified
absences (:mod:`avsynth.sources.absence`):

* ``single``: one usable mask (today's triplet); stratum = its category.
* ``multi``: an image with usable masks of 2 or 3 mapped categories (one instance each); when
  an image has 3 or more, a seeded hash picks 2 or 3 of them; stratum = the sorted categories
  joined by ``+``.
* ``offscreen``: an image and one category verified absent from it (LVIS ``neg_category_ids``
  holding every LVIS name of the category; Open Images ``Confidence`` 0 for every MID), with
  no mapped annotation of that category in the image; stratum = the absent category.
* ``partial``: one usable mask plus a category verified absent from its image; stratum = the
  visible category.

Compositions are assigned scarcest first (multi, partial, offscreen, single) with one shared
image -> split map (an image never serves two splits) and every mask is the target of at most
one triplet. Clips: each category's VGGSound clips are divided once between the splits
(:func:`avsynth.planning.pair.split_pools` with the build's split sizes), and every
(category, split) pool is used round-robin over all compositions' demands.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from avsynth.catmap.schema import CategoryMap
from avsynth.constants import DEFAULT_SPLIT_SIZES
from avsynth.errors import PlanError
from avsynth.planning.compose_spec import (
    COMPOSITIONS,
    GAIN_DB,
    ORDER,
    composition_sizes,
    parse_compose,
    single_only,
)
from avsynth.planning.keys import image_key, mask_key, stable_hash, triplet_id
from avsynth.planning.pair import SPLITS, clip_need, clips_by_category, split_pools
from avsynth.planning.plan import Component, Plan, PlannedTriplet, check_split_sizes
from avsynth.planning.select import SelectionConfig, category_of, select_masks
from avsynth.planning.split import allocate, quotas
from avsynth.sources.records import SourceClip, SourceImage, SourceMask

__all__ = [
    "COMPOSITIONS",
    "GAIN_DB",
    "composition_sizes",
    "make_composed_plan",
    "parse_compose",
    "single_only",
]


@dataclass(frozen=True, slots=True)
class _Unit:
    key: str
    image: SourceImage
    stratum: str
    targets: tuple[SourceMask, ...]
    sounds: tuple[tuple[str, bool], ...]  # (category, visible)
    consumes: tuple[str, ...]


def _absent_categories(
    cmap: CategoryMap, absent: Mapping[str, frozenset[str]], present: Mapping[str, set[str]]
) -> dict[str, list[str]]:
    """image key -> map categories verified absent (every source label of it)."""
    labels = {
        c.name: ({r.name for r in c.lvis}, {r.mid for r in c.openimages}) for c in cmap.categories
    }
    out: dict[str, list[str]] = {}
    for g, neg in absent.items():
        source = g.split(":", 1)[0]
        cats = []
        for cat, (lv, oi) in labels.items():
            need = lv if source == "lvis" else oi
            if need and need <= neg and cat not in present.get(g, ()):
                cats.append(cat)
        if cats:
            out[g] = sorted(cats)
    return out


def _units(
    comp: str,
    usable: Mapping[str, dict[str, list[SourceMask]]],
    images: Mapping[str, SourceImage],
    absent: Mapping[str, list[str]],
    sounding: set[str],
    seed: int,
) -> list[_Unit]:
    out: list[_Unit] = []
    for g in sorted(usable if comp != "offscreen" else absent):
        ones = {c: ms[0] for c, ms in usable.get(g, {}).items() if len(ms) == 1 and c in sounding}
        if comp == "single":
            for c, ms in sorted(usable[g].items()):
                for m in ms:
                    if c in sounding:
                        out.append(
                            _Unit(mask_key(m), m.image, c, (m,), ((c, True),), (mask_key(m),))
                        )
        elif comp == "multi" and len(ones) >= 2:
            cats = sorted(ones, key=lambda c: (stable_hash(seed, "multi-cat", f"{g}|{c}"), c))
            k = 2 if len(cats) == 2 else 2 + stable_hash(seed, "multi-k", g) % 2
            pick = sorted(cats[:k])
            ms = tuple(ones[c] for c in pick)
            out.append(
                _Unit(
                    f"{g}|{'+'.join(pick)}",
                    ms[0].image,
                    "+".join(pick),
                    ms,
                    tuple((c, True) for c in pick),
                    tuple(mask_key(m) for m in ms),
                )  # fmt: skip
            )
        elif comp == "offscreen":
            for a in absent[g]:
                if a in sounding:
                    out.append(_Unit(f"{g}|-{a}", images[g], a, (), ((a, False),), (f"off:{g}",)))
        elif comp == "partial":
            for c, m in sorted(ones.items()):
                for a in absent.get(g, ()):
                    if a in sounding:
                        out.append(
                            _Unit(
                                f"{mask_key(m)}|-{a}",
                                m.image,
                                c,
                                (m,),
                                ((c, True), (a, False)),
                                (mask_key(m),),
                            )  # fmt: skip
                        )
    return out


def _assign(
    comp: str,
    units: Sequence[_Unit],
    quota: Mapping[str, list[int]],
    sizes: Sequence[int],
    image_split: dict[str, int],
    used: set[str],
    seed: int,
) -> list[list[_Unit]]:
    """Choose units per split (quota per stratum, image grouping shared across compositions)."""
    by: dict[str, list[_Unit]] = defaultdict(list)
    for u in units:
        by[u.stratum].append(u)
    for s in by:
        by[s].sort(key=lambda u: (stable_hash(seed, f"sel-{comp}", u.key), u.key))
    chosen: list[list[_Unit]] = [[] for _ in sizes]

    def gkey(u: _Unit) -> str:
        return f"{u.image.source}:{u.image.image_id}"

    def take(u: _Unit, k: int) -> bool:
        if any(x in used for x in u.consumes) or image_split.setdefault(gkey(u), k) != k:
            return False
        used.update(u.consumes)
        chosen[k].append(u)
        return True

    slack = {s: len(by[s]) - sum(quota.get(s, [0])) for s in by}
    for s in sorted(by, key=lambda s: (slack[s], s)):
        want = list(quota.get(s, [0] * len(sizes)))
        need = list(want)
        for u in by[s]:  # images already placed first
            k = image_split.get(gkey(u))
            if k is not None and need[k] > 0 and take(u, k):
                need[k] -= 1
        for u in by[s]:
            if not any(need):
                break
            k = image_split.get(gkey(u))
            if k is None:
                k = max((i for i in range(len(sizes)) if need[i] > 0),
                        key=lambda i: (need[i] / want[i], -i))  # fmt: skip
            if need[k] > 0 and take(u, k):
                need[k] -= 1
    for k, size in enumerate(sizes):  # refill cells left short by grouping
        short = size - len(chosen[k])
        for u in sorted(units, key=lambda u: (stable_hash(seed, f"fill-{comp}", u.key), u.key)):
            if short <= 0:
                break
            if image_split.get(gkey(u), k) == k and take(u, k):
                short -= 1
        if short > 0:
            raise PlanError(
                f"composition {comp}, split {SPLITS[k]}: {short} triplet(s) short after grouping "
                "by image; lower its --compose weight or --split-sizes, or add sources"
            )
    return chosen


def _composed_id(comp: str, u: _Unit, clips: Sequence[SourceClip]) -> str:
    key = f"{comp}|{u.key}|{'|'.join(c.clip_id for c in clips)}"
    return hashlib.blake2b(key.encode(), digest_size=8).hexdigest()


def _gain(seed: int, tid: str, i: int) -> float:
    lo, hi = GAIN_DB
    u = stable_hash(seed, "gain", f"{tid}|{i}") / 2.0**64
    return round(lo + (hi - lo) * u, 3)


def make_composed_plan(
    masks: Iterable[SourceMask],
    clips: Iterable[SourceClip],
    category_map: CategoryMap,
    *,
    compose: Mapping[str, float],
    absent: Mapping[str, frozenset[str]],
    split_sizes: Sequence[int] = DEFAULT_SPLIT_SIZES,
    seed: int = 0,
    selection: SelectionConfig | None = None,
    require_clips: bool = False,
) -> Plan:
    """Plan a composed build (pure: reads no files).

    Args:
        masks: Source masks (any order).
        clips: VGGSound rows (any order).
        category_map: The map.
        compose: Composition weights (:func:`parse_compose`).
        absent: Verified-absent source labels per image key (:mod:`avsynth.sources.absence`).
        split_sizes: Exact (train, val, test) sizes.
        seed: Seed of every choice.
        selection: Selection rules.
        require_clips: Use only clips with a file.

    Raises:
        PlanError: a composition lacks units or clips for its counts (names it).
    """
    sizes = check_split_sizes(split_sizes)
    cfg = selection or SelectionConfig()
    masks = list(masks)
    candidates, skips = select_masks(masks, category_map, cfg)
    usable, images, absent_cats = _image_index(masks, candidates, category_map, absent)
    pools, missing = clips_by_category(
        clips, category_map.vggsound_to_category(), require_files=require_clips
    )
    min_train, min_test = clip_need(sizes)
    left_out: dict[str, str] = {}
    sounding: set[str] = set()
    for cat in category_map.names:
        p = pools.get(cat, {})
        if len(p.get("train", [])) < min_train or len(p.get("test", [])) < min_test:
            left_out[cat] = "too few clips for every split"
        else:
            sounding.add(cat)
    split_clips = {c: split_pools(pools[c], sizes, seed=seed, category=c) for c in sorted(sounding)}
    per_comp = composition_sizes(sizes, compose, seed)
    picked, counts, available = _pick(
        per_comp, usable, images, absent_cats, sounding, cfg.allocation, seed
    )
    given, clip_use = _give_clips(picked, split_clips, seed)
    triplets = _triplets(picked, given, seed)
    n_abs = Counter(g.split(":", 1)[0] for g in absent_cats)
    return Plan(
        triplets=triplets,
        split_sizes=sizes,
        seed=seed,
        category_map=category_map,
        selection=cfg,
        require_clips=require_clips,
        counts=dict(sorted(counts.items())),
        available=available,
        skips={r: skips[r] for r in sorted(skips)},
        left_out=dict(sorted(left_out.items())),
        clips_missing=missing,
        clip_use=clip_use,
        compose=dict(compose),
        composition_counts={c: dict(zip(SPLITS, per_comp[c], strict=True)) for c in per_comp},
        absent_images=dict(sorted(n_abs.items())),
    )


def _image_index(
    masks: Sequence[SourceMask],
    candidates: Mapping[str, list[SourceMask]],
    category_map: CategoryMap,
    absent: Mapping[str, frozenset[str]],
) -> tuple[dict[str, dict[str, list[SourceMask]]], dict[str, SourceImage], dict[str, list[str]]]:
    """Per image key: the usable masks by category, the image, and the mapped categories
    verified absent from it (images with a mapped annotation only)."""
    to_cat = category_of(category_map)
    present: dict[str, set[str]] = defaultdict(set)
    images: dict[str, SourceImage] = {}
    for m in masks:
        cat = to_cat.get((m.source, m.label))
        if cat is not None:
            present[image_key(m)].add(cat)
            images[image_key(m)] = m.image
    usable: dict[str, dict[str, list[SourceMask]]] = defaultdict(lambda: defaultdict(list))
    for cat, ms in candidates.items():
        for m in ms:
            usable[image_key(m)][cat].append(m)
    absent_cats = {
        g: cs for g, cs in _absent_categories(category_map, absent, present).items() if g in images
    }
    return usable, images, absent_cats


def _pick(
    per_comp: Mapping[str, list[int]],
    usable: Mapping[str, dict[str, list[SourceMask]]],
    images: Mapping[str, SourceImage],
    absent_cats: Mapping[str, list[str]],
    sounding: set[str],
    allocation: str,
    seed: int,
) -> tuple[dict[str, list[list[_Unit]]], dict[str, dict[str, int]], dict[str, int]]:
    """Units chosen per composition (scarcest first) and split; triplets and candidates per
    ``composition:stratum``."""
    image_split: dict[str, int] = {}
    used: set[str] = set()
    picked: dict[str, list[list[_Unit]]] = {}
    counts: dict[str, dict[str, int]] = {}
    available: dict[str, int] = {}
    for comp in (c for c in ORDER if c in per_comp):
        want = per_comp[comp]
        units = [
            u
            for u in _units(comp, usable, images, absent_cats, sounding, seed)
            if not any(x in used for x in u.consumes)
        ]
        avail = Counter(u.stratum for u in units)
        available.update({f"{comp}:{s}": n for s, n in sorted(avail.items())})
        if len(units) < sum(want):
            raise PlanError(
                f"composition {comp}: only {len(units)} usable candidates for {sum(want)} "
                f"requested; lower its --compose weight or --split-sizes, or add sources"
                + (
                    " (offscreen/partial need verified absences: LVIS neg_category_ids or Open "
                    "Images *-annotations-human-imagelabels*.csv)"
                    if comp in ("offscreen", "partial") and not absent_cats
                    else ""
                )  # fmt: skip
            )
        per_stratum = allocate(dict(avail), sum(want), how=allocation, seed=seed)
        quota = quotas(per_stratum, want, seed=seed)
        picked[comp] = _assign(comp, units, quota, want, image_split, used, seed)
        for k, split in enumerate(SPLITS):
            for u in picked[comp][k]:
                counts.setdefault(f"{comp}:{u.stratum}", dict.fromkeys(SPLITS, 0))[split] += 1
    return picked, counts, available


def _give_clips(
    picked: Mapping[str, list[list[_Unit]]],
    split_clips: Mapping[str, list[list[SourceClip]]],
    seed: int,
) -> tuple[dict[tuple[str, str, int], SourceClip], dict[str, int]]:
    """Clips: every (category, split) pool round-robin over all demands, in seeded order.
    Returns the clip of each ``(composition, unit key, component)`` and the most uses of one
    clip per split."""
    demands: dict[tuple[str, int], list[tuple[str, str, int]]] = defaultdict(list)
    for comp, per_split in picked.items():
        for k, us in enumerate(per_split):
            for u in us:
                for i, (c, _vis) in enumerate(u.sounds):
                    demands[(c, k)].append((comp, u.key, i))
    given: dict[tuple[str, str, int], SourceClip] = {}
    clip_use: dict[str, int] = {}
    for (c, k), ds in sorted(demands.items()):
        pool = split_clips[c][k]
        if not pool:
            raise PlanError(f"category {c}: no {SPLITS[k]} clips left after dividing test clips")
        ds.sort(key=lambda d: (stable_hash(seed, "pair", f"{d[0]}|{d[1]}|{d[2]}"), d))
        uses = Counter()
        for j, d in enumerate(ds):
            given[d] = pool[j % len(pool)]
            uses[given[d].clip_id] += 1
        clip_use[SPLITS[k]] = max(clip_use.get(SPLITS[k], 0), max(uses.values()))
    return given, clip_use


def _triplets(
    picked: Mapping[str, list[list[_Unit]]],
    given: Mapping[tuple[str, str, int], SourceClip],
    seed: int,
) -> list[PlannedTriplet]:
    """The planned triplets of the chosen units and their clips, in manifest order."""
    triplets: list[PlannedTriplet] = []
    for comp, per_split in picked.items():
        for k, us in enumerate(per_split):
            for u in us:
                cl = [given[(comp, u.key, i)] for i in range(len(u.sounds))]
                if comp == "single":
                    tid = triplet_id(u.targets[0], cl[0])
                else:
                    tid = _composed_id(comp, u, cl)
                mixed = comp in ("multi", "partial")
                comps = tuple(
                    Component(c, cl[i], vis, _gain(seed, tid, i) if mixed else 0.0)
                    for i, (c, vis) in enumerate(u.sounds)
                )
                cat = u.stratum if comp != "partial" else u.sounds[0][0]
                triplets.append(
                    PlannedTriplet(tid, SPLITS[k], cat, comp, u.image, u.targets, comps)
                )
    order = {s: i for i, s in enumerate(SPLITS)}
    corder = {c: i for i, c in enumerate(COMPOSITIONS)}
    triplets.sort(key=lambda t: (order[t.split], corder[t.composition], t.category, t.id))
    return triplets
