"""Masks whose content is unusable never enter a dataset (issue 13, items 7 and 8): empty LVIS
polygons, all-zero Open Images PNGs, PNGs of the wrong shape or outside their box are dropped,
counted by reason, and replaced so the split sizes stay exact."""

from __future__ import annotations

from collections import Counter

import msgspec
import numpy as np
import pytest
from build_fixtures import records, tiny_map
from PIL import Image

import avsynth
from avsynth.manifest import read_manifest, read_sidecar
from avsynth.manifest.io import resolve_media_path
from avsynth.planning import make_plan
from avsynth.planning.content import check_mask, settle_plan
from avsynth.planning.planner import Planner
from avsynth.sources.openimages import iter_openimages_masks
from avsynth.sources.records import SourceImage, SourceMask
from avsynth.testing.sources import write_openimages, write_vggsound

GOOD = [[8.0, 8.0, 40.0, 8.0, 40.0, 30.0, 8.0, 30.0]]
BAD = {
    "collinear": [[5.0, 5.0, 20.0, 20.0, 35.0, 35.0]],
    "outside": [[100.0, 60.0, 140.0, 60.0, 140.0, 90.0]],
    "too_few_points": [[5.0, 5.0, 30.0, 30.0]],
}


def _lvis(mask_id: str, seg, image_id: str, label="dog") -> SourceMask:
    im = SourceImage("lvis", image_id, f"train2017/{image_id}.jpg", 64, 48, "cc", "train")
    return SourceMask(
        "lvis", mask_id, im, label, (0.1, 0.1, 0.5, 0.5), 0.2, False, True,
        segmentation=msgspec.json.encode(seg),
    )  # fmt: skip


@pytest.mark.parametrize("kind", sorted(BAD))
def test_degenerate_lvis_polygon_is_empty(kind):
    assert check_mask(_lvis("1", BAD[kind], "1"), None) == "empty_mask"
    assert check_mask(_lvis("2", GOOD, "2"), None) is None


def test_planner_replaces_empty_lvis_masks_and_counts_them():
    _, clips = records(clips_per_label=12)
    good, bad = [], []
    for i in range(24):
        label = ("dog", "cat")[i % 2]
        good.append(_lvis(f"g{i}", GOOD, f"{i}", label))
        if i % 3 == 0:
            kind = sorted(BAD)[i % len(BAD)]
            bad.append(_lvis(f"b{i}", BAD[kind], f"{100 + i}", label))
    cmap = tiny_map(("dog", "cat"))
    rejected_total = 0
    for seed in range(4):

        def make(rejected, seed=seed):
            return make_plan(good + bad, clips, cmap, split_sizes=(16, 4, 4), seed=seed,
                             rejected=rejected)  # fmt: skip

        plan, rejected, _ = settle_plan(make, roots={})
        assert Counter(t.split for t in plan.triplets) == {"train": 16, "val": 4, "test": 4}
        assert {t.mask.mask_id for t in plan.triplets} == {m.mask_id for m in good}
        assert set(rejected) <= {("lvis", m.mask_id) for m in bad}
        assert set(rejected.values()) <= {"empty_mask"}
        assert plan.skips.get("empty_mask", 0) == len(rejected)
        rejected_total += len(rejected)
    assert rejected_total > 0


def _plan_rows(plan):
    return [(t.id, t.split, t.category, t.mask.mask_id, t.clip.clip_id) for t in plan.triplets]


def test_replanning_around_rejections_equals_a_fresh_plan():
    """The build's planner computes selection and order once and re-plans by dropping the
    rejected masks; that must give exactly the plan (triplets, skips, counts) a fresh
    make_plan makes with the same rejections (whose selection applies them itself)."""
    masks, clips = records(clips_per_label=12)
    cmap = tiny_map(("dog", "cat"))
    for seed in range(3):
        kw = {"split_sizes": (16, 4, 4), "seed": seed}
        planner = Planner(masks, clips, cmap, **kw)
        first = planner.plan()
        chosen = sorted({(t.mask.source, t.mask.mask_id) for t in first.triplets})
        # reject in two rounds, as settle_plan does: 3 chosen masks, then 2 more
        round1 = {k: "empty_mask" for k in chosen[:3]}
        p1 = planner.plan(round1)
        chosen2 = sorted({(t.mask.source, t.mask.mask_id) for t in p1.triplets} - set(round1))
        round2 = round1 | {k: "mask_outside_box" for k in chosen2[:2]}
        p2 = planner.plan(round2)
        for got, rej in ((p1, round1), (p2, round2)):
            ref = make_plan(masks, clips, cmap, rejected=rej, **kw)
            assert _plan_rows(got) == _plan_rows(ref)
            assert got.skips == ref.skips and got.counts == ref.counts
            assert got.available == ref.available
            assert not {t.mask.mask_id for t in got.triplets} & {mid for _, mid in rej}
        assert p2.skips["mask_outside_box"] == 2 and p2.skips["empty_mask"] == 3


def test_replanning_pairs_again_only_the_cells_whose_masks_changed(monkeypatch):
    """A re-plan around one rejected mask re-pairs only the (category, split) cells whose
    chosen masks changed; the other cells' triplets are the very objects of the last plan."""
    import avsynth.planning.planner as planner_mod

    masks, clips = records(clips_per_label=12)
    cmap = tiny_map(("dog", "cat"))
    calls = []
    real_pair = planner_mod.pair
    monkeypatch.setattr(planner_mod, "pair", lambda ms, cs, **kw: calls.append(1) or
                        real_pair(ms, cs, **kw))  # fmt: skip
    planner = Planner(masks, clips, cmap, split_sizes=(16, 4, 4), seed=0)
    first = planner.plan()
    cells = {(t.category, t.split) for t in first.triplets}
    assert len(calls) == len(cells) == 6
    victim = next(t for t in first.triplets if t.split == "val")
    calls.clear()
    again = planner.plan({(victim.mask.source, victim.mask.mask_id): "empty_mask"})
    assert 1 <= len(calls) < len(cells)
    changed = {(t.category, t.split) for t in set(again.triplets) - set(first.triplets)}
    assert (victim.category, "val") in changed
    kept = [t for t in again.triplets if (t.category, t.split) not in changed]
    old = {(t.category, t.split, t.id): t for t in first.triplets}
    assert kept and all(old[(t.category, t.split, t.id)] is t for t in kept)


# ----------------------------------------------------------------- Open Images

H, W = 48, 64
DOG, CAT = "/m/0bt9lr", "/m/01yrx"


def _box_mask(h, w, box):  # box = normalised (x0, x1, y0, y1)
    m = np.zeros((h, w), bool)
    m[round(box[2] * h) : round(box[3] * h), round(box[0] * w) : round(box[1] * w)] = True
    return m


def _oi_case(kind: str):
    """(row extras, mask) for one Open Images mask of a 64x48 image; box = (x0,x1,y0,y1)."""
    box = (0.25, 0.5, 0.25, 0.75)
    keys = ("BoxXMin", "BoxXMax", "BoxYMin", "BoxYMax")
    row = dict(zip(keys, box, strict=True))
    if kind == "good":
        return row, _box_mask(H // 2, W // 2, box)  # half resolution: fine
    if kind == "empty_mask":
        return row, np.zeros((H // 2, W // 2), bool)
    if kind == "all_white_square":  # 10x10 all-white: stretched it would cover the image
        return row, np.ones((10, 10), bool)
    if kind == "transposed":
        return row, _box_mask(H, W, box).T.copy()
    if kind == "outside_box":
        return row, _box_mask(H, W, (0.7, 0.95, 0.05, 0.3))
    raise ValueError(kind)


OI_EXPECT = {
    "good": None,
    "empty_mask": "empty_mask",
    "all_white_square": "mask_aspect_mismatch",
    "transposed": "mask_aspect_mismatch",
    "outside_box": "mask_outside_box",
}


def test_openimages_mask_checks(tmp_path):
    rows, masks, arrays = [], [], {}
    for i, kind in enumerate(OI_EXPECT):
        iid = f"{i + 1:016x}"
        extra, m = _oi_case(kind)
        rows.append({"ImageID": iid, "LabelName": DOG, **extra})
        masks.append(m)
        arrays[iid] = np.full((H, W, 3), 128, np.uint8)
    write_openimages(tmp_path, "train", rows, masks, {DOG: "Dog"}, image_arrays=arrays)
    got = {
        m.image.image_id: check_mask(m, tmp_path) for m in iter_openimages_masks(tmp_path, [DOG])
    }
    assert got == {f"{i + 1:016x}": r for i, r in enumerate(OI_EXPECT.values())}
    (tmp_path / "train" / f"{1:016x}.jpg").unlink()  # unreadable: left to materialising
    m0 = next(m for m in iter_openimages_masks(tmp_path, [DOG]) if m.image.image_id.endswith("1"))
    assert check_mask(m0, tmp_path) is None


def _oi_world(root):
    rows, masks, arrays = [], [], {}
    kinds = ["good", "good", "empty_mask", "good", "all_white_square", "transposed", "good"]
    want_bad = set()
    for i in range(56):
        iid = f"{(i * 2654435761) % (1 << 64):016x}"
        kind = kinds[i % len(kinds)]
        extra, m = _oi_case(kind)
        rows.append({"ImageID": iid, "LabelName": (DOG, CAT)[i % 2], **extra})
        masks.append(m)
        arrays[iid] = np.full((H, W, 3), 40 + i, np.uint8)
        if kind != "good":
            want_bad.add(iid)
    write_openimages(root / "oi", "train", rows, masks, {DOG: "Dog", CAT: "Cat"},
                     image_arrays=arrays)  # fmt: skip
    labels = ("dog barking", "dog howling", "cat meowing")
    vrows = [(f"v{k}{j:09d}", j, lab, "test" if j % 3 == 0 else "train")
             for k, lab in enumerate(labels) for j in range(9)]  # fmt: skip
    sr = 16000
    tone = (0.2 * np.sin(2 * np.pi * 440 * np.arange(sr) / sr)).astype(np.float32)
    write_vggsound(root / "vgg", vrows, clips={f"{y}_{s:06d}": tone for y, s, _, _ in vrows})
    return want_bad


@pytest.mark.parametrize("workers", [1, 2])
def test_build_drops_bad_openimages_masks_keeps_sizes(tmp_path, workers):
    bad_images = _oi_world(tmp_path)
    n_good = 56 - len(bad_images)
    kw = dict(vggsound=tmp_path / "vgg", openimages=tmp_path / "oi", split_sizes=(n_good - 8, 4, 4),
              clip_seconds=1.0, progress=False)  # fmt: skip
    r = avsynth.build(tiny_map(("dog", "cat")), out=tmp_path / f"o{workers}", workers=workers, **kw)
    ts = read_manifest(r.manifest)
    assert Counter(t.split for t in ts) == {"train": n_good - 8, "val": 4, "test": 4}
    assert not {t.image.source_id for t in ts} & bad_images
    for t in ts:
        with Image.open(resolve_media_path(r.manifest, t.mask.path, "manifest")) as im:
            assert np.asarray(im).any()
    skips = read_sidecar(r.manifest)["skips"]  # the bad masks the planner chose, replaced
    found = skips.get("empty_mask", 0) + skips.get("mask_aspect_mismatch", 0)
    assert 0 < found <= len(bad_images) and "mask_outside_box" not in skips
    plan_only = avsynth.build(tiny_map(("dog", "cat")), out=tmp_path / "p", plan_only=True,
                              **{**kw, "split_sizes": (40, 4, 4)})  # fmt: skip
    assert "empty_mask" not in plan_only.plan.skips  # --plan-only reads no mask files
