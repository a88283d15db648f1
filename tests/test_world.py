"""The demo world: deterministic bytes, real layouts the readers accept, distinct looks/sounds."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from avsynth.audio.decode import decode_audio
from avsynth.sources.images import decode_mask, read_image
from avsynth.sources.lvis import iter_lvis_masks, lvis_categories
from avsynth.sources.openimages import iter_openimages_masks, openimages_classes
from avsynth.sources.vggsound import read_vggsound
from avsynth.testing.world import DEFAULT_WORLD, make_world

SMALL = dict(n_lvis_images=10, n_openimages_images=10, clips_per_label=3, clip_seconds=1.0)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return make_world(tmp_path_factory.mktemp("w"), missing_clips_per_label=1, seed=3, **SMALL)


def _files(root):
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.suffix in (".json", ".csv", ".zip")
    }


def test_deterministic_bytes(tmp_path, world):
    again = make_world(tmp_path / "a", missing_clips_per_label=1, seed=3, **SMALL)
    a, b = _files(world.root), _files(again.root)
    assert "lvis/lvis_v1_train.json" in a and "vggsound/vggsound.csv" in a
    assert "openimages/train-annotations-object-segmentation.csv" in a
    assert a == b and again.counts == world.counts
    other = _files(make_world(tmp_path / "b", seed=4, **SMALL).root)
    assert other["lvis/lvis_v1_train.json"] != a["lvis/lvis_v1_train.json"]


def test_readers_accept_the_world(world):
    cats = world.categories
    assert [c.name for c in cats] == ["dog", "cat", "horse", "guitar", "piano", "bus"]
    assert lvis_categories(world.lvis_root)["bus_(vehicle)"] == "bus.n.01"
    assert openimages_classes(world.openimages_root)["/m/0bt9lr"] == "Dog"
    lv = list(iter_lvis_masks(world.lvis_root, [c.lvis_name for c in cats]))
    oi = list(iter_openimages_masks(world.openimages_root, [c.oi_mid for c in cats]))
    by_lvis = {c.lvis_name: c.name for c in cats}
    by_mid = {c.oi_mid: c.name for c in cats}
    for src, masks, name in (("lvis", lv, by_lvis), ("openimages", oi, by_mid)):
        counts = {c.name: 0 for c in cats}
        for m in masks:
            counts[name[m.label]] += 1
        assert counts == world.counts[src]
    assert {m.image.subset for m in lv} == {"train", "val"}
    assert {m.image.subset for m in oi} == {"train", "validation"}
    idx = read_vggsound(world.vggsound_root, labels=[c.vggsound_label for c in cats])
    assert idx.rows_without_file == len(cats) == sum(world.counts["vggsound_rows"].values()) // 3
    assert {c.subset for c in idx.clips} == {"train", "test"}
    assert any(c.youtube_id.startswith("-") for c in idx.clips)
    assert read_vggsound(world.vggsound_root).rows_total == len(idx.clips) + 2  # + distractors


@pytest.mark.parametrize("source", ["lvis", "openimages"])
def test_images_hold_two_or_three_disjoint_objects(world, source):
    cats = world.categories
    if source == "lvis":
        root, masks = (
            world.lvis_root,
            list(iter_lvis_masks(world.lvis_root, [c.lvis_name for c in cats])),
        )
    else:
        root = world.openimages_root
        masks = list(iter_openimages_masks(root, [c.oi_mid for c in cats]))
    per_image = {}
    for m in masks:
        per_image.setdefault(m.image.path, []).append(m)
    assert len(per_image) == 10
    for path, ms in per_image.items():
        assert 2 <= len(ms) <= 3 and len({m.label for m in ms}) == len(ms)
        img = read_image(root / path)
        decoded = [decode_mask(m, root) for m in ms]
        assert all(d.shape == img.shape[:2] and d.sum() > 50 for d in decoded)
        assert np.sum(decoded, axis=0).max() == 1  # objects do not overlap
        bg = img[~np.any(decoded, axis=0)].astype(float)
        for d in decoded:  # every object stands out from the grey background
            assert np.abs(img[d].astype(float).mean(0) - bg.mean(0)).max() > 40


def test_each_category_has_its_own_sound(world):
    idx = read_vggsound(world.vggsound_root)
    peaks = {}
    for c in idx.clips_with_file:
        y = decode_audio(world.vggsound_root / c.path)
        spec = np.abs(np.fft.rfft(y))
        peaks.setdefault(c.label, []).append(
            float(np.fft.rfftfreq(len(y), 1 / 16000)[spec.argmax()])
        )
    assert len(peaks) == 6
    for vals in peaks.values():  # clips of a label vary a little, labels differ a lot
        assert max(vals) / min(vals) < 1.1
    f0 = sorted(np.median(v) for v in peaks.values())
    assert all(b / a > 1.3 for a, b in zip(f0, f0[1:], strict=False))


def test_category_map(world, tmp_path):
    doc = yaml.safe_load(world.write_category_map(tmp_path / "map.yaml").read_text())
    assert doc["schema_version"] == 1 and len(doc["categories"]) == len(DEFAULT_WORLD)
    bus = doc["categories"][5]
    assert bus["lvis"] == [{"name": "bus_(vehicle)", "synset": "bus.n.01"}]
    assert bus["openimages"] == [{"mid": "/m/01bjv", "name": "Bus"}]
    assert bus["vggsound"] == ["driving buses"]


@pytest.mark.parametrize("fmt", ["flac", "mp4"])
def test_clip_formats(tmp_path, fmt):
    w = make_world(tmp_path, n_lvis_images=2, n_openimages_images=2, clips_per_label=1,
                   clip_seconds=0.5, clip_format=fmt)  # fmt: skip
    idx = read_vggsound(w.vggsound_root)
    assert {c.path.rsplit(".", 1)[1] for c in idx.clips_with_file} == {fmt}
    assert len(decode_audio(w.vggsound_root / idx.clips_with_file[0].path)) == pytest.approx(
        8000, abs=16
    )


def test_reuse_and_replace(tmp_path):
    w = make_world(tmp_path, n_lvis_images=2, n_openimages_images=2, clips_per_label=1,
                   clip_seconds=0.2)  # fmt: skip
    js = w.lvis_root / "lvis_v1_train.json"
    stamp = js.stat().st_mtime_ns
    again = make_world(tmp_path, n_lvis_images=2, n_openimages_images=2, clips_per_label=1,
                       clip_seconds=0.2)  # fmt: skip
    assert js.stat().st_mtime_ns == stamp and again.counts == w.counts
    bigger = make_world(tmp_path, n_lvis_images=5, n_openimages_images=2, clips_per_label=1,
                        clip_seconds=0.2)  # fmt: skip
    assert bigger.images["lvis"] == 5 and sum(bigger.counts["lvis"].values()) > 5
    foreign = tmp_path / "foreign"
    (foreign / "lvis").mkdir(parents=True)
    with pytest.raises(FileExistsError, match="not a generated world"):
        make_world(foreign, n_lvis_images=2, n_openimages_images=2, clips_per_label=1)


def test_full_real_vocabularies(world, tmp_path):
    """Like the real files, the world lists every LVIS category / OI class (any map reads it)."""
    cats = lvis_categories(world.lvis_root)
    assert len(cats) == 1203 and cats["car_(automobile)"] == "car.n.01"
    assert list(iter_lvis_masks(world.lvis_root, ["lion", "ambulance"])) == []
    doc = json.loads((world.lvis_root / "lvis_v1_val.json").read_text())
    ids = {c["name"]: c["id"] for c in doc["categories"]}
    assert (ids["aerosol_can"], ids["bus_(vehicle)"], ids["dog"], ids["zucchini"]) == (
        1,
        173,
        378,
        1203,
    )
    assert len(openimages_classes(world.openimages_root)) == 601
    small = make_world(tmp_path, n_lvis_images=2, n_openimages_images=2, clips_per_label=1,
                       clip_seconds=0.2, full_vocabulary=False)  # fmt: skip
    assert len(lvis_categories(small.lvis_root)) == 6


def test_interrupted_world_is_replaced(tmp_path):
    kw = dict(n_lvis_images=2, n_openimages_images=2, clips_per_label=1, clip_seconds=0.2)
    w = make_world(tmp_path, **kw)
    marker = json.loads((tmp_path / "world.json").read_text())
    (tmp_path / "world.json").write_text(json.dumps(marker | {"complete": False}))
    (w.lvis_root / "lvis_v1_val.json").unlink()  # as if killed half-way
    again = make_world(tmp_path, **kw)
    assert (again.lvis_root / "lvis_v1_val.json").is_file() and again.counts == w.counts


def test_one_object_fraction(tmp_path, world):
    """one_object_fraction=0.5: about half the images of each source hold exactly one
    annotated object (drawn per image); the default world (0) is byte-identical to before
    (its files equal those of a world made without the argument)."""
    w = make_world(tmp_path / "one", seed=3, one_object_fraction=0.5, **{**SMALL,
                   "n_lvis_images": 60, "n_openimages_images": 60})  # fmt: skip
    cats = w.categories
    lv = list(iter_lvis_masks(w.lvis_root, [c.lvis_name for c in cats]))
    oi = list(iter_openimages_masks(w.openimages_root, [c.oi_mid for c in cats]))
    for masks in (lv, oi):
        per_image = {}
        for m in masks:
            per_image.setdefault(m.image.image_id, []).append(m)
        sizes = [len(v) for v in per_image.values()]
        assert len(sizes) == 60 and set(sizes) == {1, 2, 3}
        assert 18 <= sizes.count(1) <= 42  # binomial(60, 0.5): 30 +- 4 sd
    zero = make_world(tmp_path / "zero", missing_clips_per_label=1, seed=3,
                      one_object_fraction=0.0, **SMALL)  # fmt: skip
    assert _files(zero.root) == _files(world.root)
    with pytest.raises(ValueError, match="one_object_fraction"):
        make_world(tmp_path / "bad", one_object_fraction=1.5, **SMALL)
