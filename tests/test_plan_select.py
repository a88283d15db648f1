"""Selection rules, one by one, and path safety of planned outputs."""

from __future__ import annotations

import pytest
from build_fixtures import tiny_map
from msgspec.structs import replace

from avsynth.errors import ManifestError, PlanError, SourceError
from avsynth.manifest.schema import AudioRef, ImageRef, MaskRef, Triplet, safe_relpath
from avsynth.planning import SelectionConfig
from avsynth.planning.select import select_masks
from avsynth.sources.records import SourceClip, SourceImage, SourceMask
from avsynth.storage.layout import audio_relpath, image_relpath, mask_relpath

IM = SourceImage("lvis", "7", "train2017/000000000007.jpg", 100, 100, "cc", "train")
OI = SourceImage("openimages", "00ab", "train/00ab.jpg", None, None, "cc", "train")


def _m(mid: str, *, image=IM, label="dog", area=0.2, **kw) -> SourceMask:
    base = {"iscrowd": False, "exhaustive": True, **kw}
    return SourceMask(image.source, mid, image, label, (0.1, 0.1, 0.4, 0.4), area, **base)


def _select(masks, **cfg):
    return select_masks(masks, tiny_map(), SelectionConfig(**cfg))


@pytest.mark.parametrize(
    ("mask", "reason"),
    [
        (_m("1", iscrowd=True), "crowd"),
        (_m("1", exhaustive=False), "not_exhaustive"),
        (_m("1", image=OI, label="/m/0bt9lr", predicted_iou=0.3), "low_predicted_iou"),
        (_m("1", area=0.005), "too_small"),
        (_m("1", area=0.95), "too_large"),
    ],
)
def test_each_rule_drops_and_counts(mask, reason):
    cands, skips = _select([mask])
    assert cands == {} and skips == {reason: 1}
    flag = {
        "crowd": {"drop_crowd": False},
        "not_exhaustive": {"require_exhaustive": False},
        "low_predicted_iou": {"min_predicted_iou": 0.2},
        "too_small": {"min_area": 0.001},
        "too_large": {"max_area": 1.0},
    }[reason]
    cands, skips = _select([mask], **flag)
    assert list(cands) == ["dog"] and not skips


def test_missing_predicted_iou_is_kept():
    cands, _ = _select([_m("1", image=OI, label="/m/0bt9lr", predicted_iou=None)])
    assert len(cands["dog"]) == 1


def test_several_instances_of_a_category_drop_the_image_category():
    # two dogs (one of them tiny, still counted) and a cat in one image
    masks = [_m("1"), _m("2", area=0.001), _m("3", label="cat")]
    cands, skips = _select(masks)
    assert list(cands) == ["cat"]
    assert skips == {"too_small": 1, "several_instances": 1}
    cands, skips = _select(masks, single_instance=False)
    assert sorted(cands) == ["cat", "dog"] and len(cands["dog"]) == 1


def test_duplicates_and_unmapped_labels_ignored():
    cands, skips = _select([_m("1"), _m("1"), _m("9", label="zebra")])
    assert len(cands["dog"]) == 1 and not skips


@pytest.mark.parametrize(
    "kw",
    [{"min_area": 0.5, "max_area": 0.4}, {"min_predicted_iou": 1.5}, {"allocation": "greedy"}],
)
def test_bad_selection_config(kw):
    with pytest.raises(PlanError):
        SelectionConfig(**kw)


@pytest.mark.parametrize("bad", ["/etc/passwd", "../x", "a/../../b", "a\\b", "", "a/.."])
def test_safe_relpath_rejects(bad):
    with pytest.raises(ManifestError):
        safe_relpath(bad)


@pytest.mark.parametrize("good", ["a/b.jpg", "..a/b", "a/..b", "-x_000001.wav", "a/./b"])
def test_safe_relpath_accepts(good):
    assert safe_relpath(good) == good


def test_output_names_are_safe_file_names():
    assert image_relpath(IM) == "images/lvis/7.jpg"
    assert mask_relpath(_m("12")) == "masks/lvis/12.png"
    clip = SourceClip("-abc_DEF-12", 30, "dog barking", "train", None)
    assert audio_relpath(clip) == "audio/-abc_DEF-12_000030.wav"
    with pytest.raises(SourceError, match="file name"):
        image_relpath(replace(IM, image_id="../../etc"))
    with pytest.raises(SourceError, match="file name"):
        mask_relpath(_m("a/b"))


def test_triplet_dict_round_trip_keeps_key_order():
    t = Triplet(
        "id1", "val", "dog",
        ImageRef("images/lvis/7.jpg", "manifest", "lvis", "7", "train", 100, 100, "cc"),
        MaskRef(None, "lvis", "lvis", "12", "dog", (0.1, 0.2, 0.3, 0.4), 0.05),
        AudioRef("a.wav", "vggsound", "vggsound", "y", 30, "dog barking", "test", None, 10.0, "l"),
        extra={"note": [1, 2]},
    )  # fmt: skip
    d = t.to_dict()
    assert list(d) == [
        "schema_version",
        "id",
        "split",
        "category",
        "image",
        "mask",
        "audio",
        "extra",
    ]
    assert list(d["mask"]) == [
        "path", "root", "source", "source_id", "source_label", "bbox", "area_fraction"
    ]  # fmt: skip
    assert d["mask"]["bbox"] == [0.1, 0.2, 0.3, 0.4]
    assert Triplet.from_dict(d) == t
    d["extra"]["note"].append(3)
    assert t.extra == {"note": [1, 2]}  # to_dict copies mutable extras
