"""LVIS v1 reader on generated real-format JSON (polygons and RLE), plus its errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from avsynth.errors import MediaError, SourceError
from avsynth.sources.images import decode_mask, read_image
from avsynth.sources.lvis import iter_lvis_masks, lvis_categories
from avsynth.testing.sources import mask_to_rle, write_lvis

H, W = 30, 40
CATS = [
    {"id": 378, "name": "dog", "synset": "dog.n.01"},
    {"id": 225, "name": "cat", "synset": "cat.n.01", "frequency": "f"},
    {"id": 173, "name": "bus_(vehicle)", "synset": "bus.n.01"},
]


def _truth_rects() -> np.ndarray:
    m = np.zeros((H, W), bool)
    m[5:12, 5:15] = True  # polygon (5,5)-(15,12): pycocotools fills x 5..14, y 5..11
    m[20:26, 30:38] = True
    return m


def _truth_ring() -> np.ndarray:
    yy, xx = np.mgrid[0:H, 0:W]
    d = np.hypot(xx - 20, yy - 15)
    return (d < 9) & (d > 4)  # has a hole: not expressible as one polygon


def _uncompressed_rle(m: np.ndarray) -> dict:
    """COCO uncompressed RLE computed by hand: column-major runs starting with zeros."""
    flat = m.flatten(order="F").astype(np.uint8)
    counts, cur, run = [], 0, 0
    for v in flat:
        if v == cur:
            run += 1
        else:
            counts.append(run)
            cur, run = v, 1
    counts.append(run)
    return {"size": [H, W], "counts": counts}


@pytest.fixture()
def lvis_root(tmp_path):
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 255, size=(H, W, 3), dtype=np.uint8)
    train_imgs = [{"id": 1, "width": W, "height": H, "not_exhaustive_category_ids": [225]}]
    train_anns = [
        {"id": 12, "image_id": 1, "category_id": 225, "segmentation": mask_to_rle(_truth_ring())},
        {"id": 11, "image_id": 1, "category_id": 378,
         "segmentation": [[5, 5, 15, 5, 15, 12, 5, 12], [30, 20, 38, 20, 38, 26, 30, 26]]},
        {"id": 13, "image_id": 1, "category_id": 173, "segmentation": [[0, 0, 4, 0, 4, 4, 0, 4]]},
    ]  # fmt: skip
    write_lvis(tmp_path, "train", train_imgs, train_anns, CATS, image_arrays={1: arr})
    # LVIS val images mostly come from COCO train2017: the folder must follow coco_url.
    val_imgs = [
        {"id": 2, "width": W, "height": H,
         "coco_url": "http://images.cocodataset.org/train2017/000000000002.jpg"},
        {"id": 3, "width": W, "height": H},
    ]  # fmt: skip
    val_anns = [
        {"id": 21, "image_id": 2, "category_id": 378, "iscrowd": 1,
         "segmentation": _uncompressed_rle(_truth_ring())},
        {"id": 22, "image_id": 3, "category_id": 225, "segmentation": [[1, 1, 9, 1, 9, 9, 1, 9]]},
    ]  # fmt: skip
    write_lvis(tmp_path, "val", val_imgs, val_anns, CATS, image_arrays={2: arr, 3: arr})
    return tmp_path


def test_polygon_and_rle_masks_match_hand_drawn_truth(lvis_root):
    masks = {m.mask_id: m for m in iter_lvis_masks(lvis_root, ["dog", "cat"])}
    assert sorted(masks) == ["11", "12", "21", "22"]
    np.testing.assert_array_equal(decode_mask(masks["11"], lvis_root), _truth_rects())
    np.testing.assert_array_equal(decode_mask(masks["12"], lvis_root), _truth_ring())
    np.testing.assert_array_equal(decode_mask(masks["21"], lvis_root), _truth_ring())
    assert masks["21"].iscrowd and not masks["11"].iscrowd


def test_record_fields(lvis_root):
    ms = list(iter_lvis_masks(lvis_root, ["dog", "cat"]))
    assert [m.mask_id for m in ms] == ["11", "12", "21", "22"]  # train then val, by id
    dog = ms[0]
    assert dog.label == "dog" and dog.source == "lvis" and dog.exhaustive
    assert dog.image.path == "train2017/000000000001.jpg" and dog.image.subset == "train"
    assert (dog.image.width, dog.image.height) == (W, H)
    assert dog.image.license == "http://creativecommons.org/licenses/by/2.0/"
    assert dog.bbox == pytest.approx((5 / W, 5 / H, 33 / W, 21 / H))
    assert dog.area_fraction == pytest.approx(_truth_rects().sum() / (W * H))
    assert ms[1].label == "cat" and not ms[1].exhaustive  # listed as not exhaustive
    assert ms[2].image.path == "train2017/000000000002.jpg" and ms[2].image.subset == "val"
    assert ms[3].image.path == "val2017/000000000003.jpg"
    assert read_image(lvis_root / ms[3].image.path).shape == (H, W, 3)


def test_subsets_and_resize(lvis_root):
    ms = list(iter_lvis_masks(lvis_root, ["cat"], subsets=["val"]))
    assert [m.mask_id for m in ms] == ["22"]
    big = decode_mask(ms[0], lvis_root, height=2 * H, width=2 * W)
    assert big.shape == (2 * H, 2 * W) and big.sum() == 4 * 64


def test_categories(lvis_root):
    assert lvis_categories(lvis_root) == {
        "bus_(vehicle)": "bus.n.01",
        "cat": "cat.n.01",
        "dog": "dog.n.01",
    }


def test_missing_files_and_unknown_labels(tmp_path, lvis_root):
    with pytest.raises(SourceError, match="no lvis_v1_train.json or lvis_v1_val.json in"):
        list(iter_lvis_masks(tmp_path / "empty_dir_that_is_missing", ["dog"]))
    (tmp_path / "e").mkdir()
    with pytest.raises(SourceError, match=r"no lvis_v1_train.json or lvis_v1_val.json in .*/e"):
        list(iter_lvis_masks(tmp_path / "e", ["dog"]))
    with pytest.raises(SourceError, match=r"no LVIS category 'dogg'; did you mean 'dog'"):
        list(iter_lvis_masks(lvis_root, ["dogg"]))


def test_malformed_json_names_file_and_line(tmp_path):
    doc = {"images": [], "annotations": [], "categories": []}
    text = json.dumps(doc, indent=1).replace('"annotations": []', '"annotations": [,]')
    (tmp_path / "lvis_v1_val.json").write_text(text)
    with pytest.raises(SourceError, match=r"lvis_v1_val.json:3: malformed JSON"):
        list(iter_lvis_masks(tmp_path, ["dog"]))


def test_wrong_types_name_the_entry(tmp_path):
    doc = {"images": [{"id": 1, "width": 4, "height": "x"}], "annotations": [], "categories": []}
    (tmp_path / "lvis_v1_train.json").write_text(json.dumps(doc))
    with pytest.raises(SourceError, match=r"lvis_v1_train.json.*images\[0\]\.height"):
        list(iter_lvis_masks(tmp_path, ["dog"]))


def test_missing_image_in_coco_url_and_bad_segmentation(tmp_path):
    imgs = [{"id": 1, "width": 4, "height": 4, "coco_url": ""}]
    anns = [{"id": 1, "image_id": 1, "category_id": 378, "segmentation": [[0, 0, 2, 0, 2, 2]],
             "bbox": [0, 0, 2, 2], "area": 2}]  # fmt: skip
    write_lvis(tmp_path, "train", imgs, anns, CATS)
    with pytest.raises(SourceError, match="image 1 has no usable coco_url"):
        list(iter_lvis_masks(tmp_path, ["dog"]))
    imgs = [{"id": 1, "width": 4, "height": 4}]
    anns[0]["segmentation"] = {"size": [5, 5], "counts": "abc"}
    write_lvis(tmp_path, "train", imgs, anns, CATS)
    (m,) = iter_lvis_masks(tmp_path, ["dog"])
    with pytest.raises(MediaError, match=r"LVIS annotation 1 .*RLE size \[5, 5\]"):
        decode_mask(m, tmp_path)


@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")  # pycocotools
def test_official_lvis_api_reads_the_written_files(lvis_root):
    """The official lvis-api loads what the writer wrote and draws the same masks."""
    from lvis import LVIS

    api = LVIS(str(lvis_root / "lvis_v1_train.json"))
    ours = {m.mask_id: m for m in iter_lvis_masks(lvis_root, ["dog", "cat"], subsets=["train"])}
    assert sorted(api.get_ann_ids(cat_ids=[378, 225])) == [11, 12]
    for ann in api.load_anns([11, 12]):
        np.testing.assert_array_equal(
            api.ann_to_mask(ann).astype(bool), decode_mask(ours[str(ann["id"])], lvis_root)
        )
