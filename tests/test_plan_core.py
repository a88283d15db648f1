"""The planner on hand-built source records: sizes, stratification, grouping, pairing."""

from __future__ import annotations

import random
from collections import Counter, defaultdict

import pytest
from build_fixtures import CATS, records, tiny_map
from msgspec.structs import replace

from avsynth.errors import PlanError
from avsynth.planning import SelectionConfig, make_plan
from avsynth.planning.keys import image_key
from avsynth.planning.split import allocate, quotas

SIZES = (300, 40, 40)


def _plan(masks=None, clips=None, **kw):
    if masks is None:
        masks, clips = records()
    kw.setdefault("split_sizes", SIZES)
    return make_plan(masks, clips, tiny_map(), **kw)


def test_exact_split_sizes_and_sorted_records():
    p = _plan()
    assert Counter(t.split for t in p.triplets) == {"train": 300, "val": 40, "test": 40}
    keys = [({"train": 0, "val": 1, "test": 2}[t.split], t.category, t.id) for t in p.triplets]
    assert keys == sorted(keys)
    assert len({t.id for t in p.triplets}) == len(p.triplets)
    assert len({t.mask.mask_id for t in p.triplets}) == len(p.triplets)


def test_stratified_by_category():
    p = _plan()
    total = sum(SIZES)
    for cat, n in p.counts.items():
        t_c = sum(n.values())
        for k, split in enumerate(("train", "val", "test")):
            assert abs(n[split] - t_c * SIZES[k] / total) <= 1.5, (cat, n)


def test_balanced_allocation_caps_common_categories():
    p = _plan()  # piano is rare: it gives everything, the others share the rest equally
    assert sum(p.counts["piano"].values()) == p.available["piano"]
    others = [sum(n.values()) for c, n in p.counts.items() if c != "piano"]
    assert max(others) - min(others) <= 1


def test_proportional_allocation():
    p = _plan(selection=SelectionConfig(allocation="proportional"))
    total = sum(SIZES)
    avail = sum(p.available.values())
    for c, n in p.counts.items():
        assert abs(sum(n.values()) - total * p.available[c] / avail) < 1.0


def test_no_image_in_two_splits():
    p = _plan()
    split_of = defaultdict(set)
    for t in p.triplets:
        split_of[image_key(t.mask)].add(t.split)
    assert all(len(s) == 1 for s in split_of.values())
    assert any(len([t for t in p.triplets if image_key(t.mask) == g]) > 1 for g in split_of), (
        "fixture should put several chosen masks in one image"
    )


def test_clips_match_category_subset_and_never_cross_splits():
    p = _plan()
    cmap = tiny_map()
    to_cat = cmap.vggsound_to_category()
    used = defaultdict(set)
    for t in p.triplets:
        assert to_cat[t.clip.label] == t.category
        assert t.clip.subset == ("train" if t.split == "train" else "test")
        used[t.clip.clip_id].add(t.split)
    assert all(len(s) == 1 for s in used.values())


def test_clip_reuse_round_robin_balanced():
    p = _plan()
    per_cell = defaultdict(Counter)
    for t in p.triplets:
        per_cell[(t.category, t.split)][t.clip.clip_id] += 1
    for counts in per_cell.values():
        assert max(counts.values()) - min(counts.values()) <= 1


def test_deterministic_whatever_the_input_order():
    masks, clips = records()
    a = _plan(masks, clips, seed=3)
    rng = random.Random(99)
    m2, c2 = masks[:], clips[:]
    rng.shuffle(m2)
    rng.shuffle(c2)
    b = _plan(m2, c2, seed=3)
    assert [(t.id, t.split, t.clip.clip_id) for t in a.triplets] == [
        (t.id, t.split, t.clip.clip_id) for t in b.triplets
    ]
    c = _plan(masks, clips, seed=4)
    assert {t.id for t in a.triplets} != {t.id for t in c.triplets}


def test_category_without_clips_is_left_out_and_sizes_met():
    masks, clips = records()
    clips = [c for c in clips if c.label != "cat meowing"]
    p = _plan(masks, clips)
    assert "cat" not in p.counts
    assert p.left_out == {"cat": "no train VGGSound rows"}
    assert Counter(t.split for t in p.triplets) == {"train": 300, "val": 40, "test": 40}


def test_category_without_instances_is_left_out():
    masks, clips = records()
    masks = [m for m in masks if m.label not in ("horse", "/m/03k3r")]
    p = _plan(masks, clips)
    assert p.left_out == {"horse": "no usable instances"}
    assert len(p.triplets) == sum(SIZES)


def test_only_test_clips_missing_for_val():
    masks, clips = records()
    clips = [c for c in clips if not (c.label == "playing piano" and c.subset == "test")][:]
    clips.append(
        replace(
            next(c for c in clips if c.label == "playing piano"),
            subset="test",
            youtube_id="onlyone0000",
        )
    )
    p = _plan(masks, clips)
    assert p.left_out["piano"].startswith("1 test")


def test_shortfall_lists_counts_per_category():
    with pytest.raises(PlanError) as e:
        _plan(split_sizes=(5000, 10, 10))
    msg = str(e.value)
    assert "5020 requested" in msg and "dog=" in msg and "piano=" in msg
    assert "\n" not in msg


def test_require_clips_uses_only_clips_with_files():
    masks, clips = records()
    with_file = {c.clip_id for i, c in enumerate(clips) if i % 2 == 0}
    clips = [replace(c, path=f"v/{c.clip_id}.mp4") if c.clip_id in with_file else c for c in clips]
    p = _plan(masks, clips, require_clips=True)
    assert all(t.clip.clip_id in with_file for t in p.triplets)
    assert p.clips_missing == len(clips) - len(with_file)


def test_bad_split_sizes():
    with pytest.raises(PlanError, match="three non-negative"):
        _plan(split_sizes=(10, -1, 3))


@pytest.mark.parametrize("sizes", [(52609, 5000, 5000), (7, 1, 0), (1, 1, 1)])
def test_quotas_have_exact_margins(sizes):
    rng = random.Random(0)
    avail = {f"c{i}": rng.randint(1, 5000) for i in range(46)}
    total = sum(sizes)
    assert sum(avail.values()) >= total  # every case has enough masks for its splits
    per = allocate(avail, total, how="balanced", seed=0)
    assert sum(per.values()) == total
    q = quotas(per, sizes, seed=0)
    assert {c: sum(v) for c, v in q.items()} == per
    assert [sum(q[c][k] for c in q) for k in range(3)] == list(sizes)
    for c, row in q.items():
        for k, n in enumerate(row):
            assert abs(n - per[c] * sizes[k] / total) < 1.0 + 1e-9


def test_balanced_allocation_water_fills():
    per = allocate({"a": 3, "b": 100, "c": 100}, 103, how="balanced", seed=0)
    assert per == {"a": 3, "b": 50, "c": 50}
    per = allocate({"a": 3, "b": 100, "c": 100}, 104, how="balanced", seed=0)
    assert per["a"] == 3 and sorted((per["b"], per["c"])) == [50, 51]


@pytest.mark.parametrize("sizes", [(300, 0, 40), (0, 30, 30), (50, 10, 0)])
def test_zero_sized_splits(sizes):
    masks, clips = records()
    if sizes[0] == 0:  # no train split: train clips are not needed
        clips = [c for c in clips if c.subset == "test"]
    p = _plan(masks, clips, split_sizes=sizes)
    got = Counter(t.split for t in p.triplets)
    assert [got.get(s, 0) for s in ("train", "val", "test")] == list(sizes)
    used = defaultdict(set)
    for t in p.triplets:
        used[t.clip.clip_id].add(t.split)
    assert all(len(s) == 1 for s in used.values())


def test_clip_listed_in_both_vggsound_splits_is_used_once():
    masks, clips = records()
    train = [c for c in clips if c.subset == "train"]
    dup = [replace(c, subset="test", line=10_000 + i) for i, c in enumerate(train[::2])]
    dup_ids = {c.clip_id for c in dup}
    p = _plan(masks, clips + dup)
    used = defaultdict(set)
    for t in p.triplets:
        used[t.clip.clip_id].add(t.split)
        if t.clip.clip_id in dup_ids:  # the train row lost to its test duplicate
            assert t.clip.subset == "test" and t.split != "train"
    assert all(len(s) == 1 for s in used.values())
    assert any(cid in dup_ids for cid in used)


def test_one_planner_for_every_composition():
    masks, clips = records()
    kw = {"split_sizes": (60, 10, 10), "seed": 2}
    single = make_plan(masks, clips, tiny_map(), **kw)
    assert make_plan(masks, clips, tiny_map(), compose="single=1", **kw) == single
    mixed = make_plan(masks, clips, tiny_map(), compose="single=0.5,multi=0.5", **kw)
    to_cat = {label: name for name, mid, _, _ in CATS for label in (name, mid)}
    # exact halves of every split, and the record shape of each composition
    got = Counter((t.composition, t.split) for t in mixed.triplets)
    assert got == {(c, s): n // 2 for c in ("single", "multi") for s, n in zip(
        ("train", "val", "test"), (60, 10, 10), strict=True)}  # fmt: skip
    for t in mixed.triplets:
        n = len(t.targets)
        assert n == 1 if t.composition == "single" else 2 <= n <= 3
        assert len(t.components) == n and all(c.visible for c in t.components)
        assert all(m.image == t.image for m in t.targets)
        assert [c.category for c in t.components] == [to_cat[m.label] for m in t.targets]
    assert (single.schema_version, mixed.schema_version) == (1, 2)
    with pytest.raises(PlanError, match="single-source plans only"):
        make_plan(masks, clips, tiny_map(), compose="multi=1", rejected={("lvis", "1"): "x"}, **kw)
