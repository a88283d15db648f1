"""Open Images V7 reader on generated real-format CSVs, class files and mask zips/folders."""

from __future__ import annotations

import numpy as np
import pytest

from avsynth.errors import MediaError, SourceError
from avsynth.sources.images import decode_mask
from avsynth.sources.openimages import iter_openimages_masks, openimages_classes
from avsynth.testing.sources import write_openimages

DOG, CAT, CAR = "/m/0bt9lr", "/m/01yrx", "/m/0k4j"
CLASSES = {DOG: "Dog", CAT: "Cat", CAR: "Car"}
H, W = 24, 32


def _truth(x0, y0, x1, y1, h=H, w=W) -> np.ndarray:
    m = np.zeros((h, w), bool)
    m[y0:y1, x0:x1] = True
    return m


def _dataset(root, *, zipped=True, mask_folders="one", class_format="v7"):
    img = np.full((H, W, 3), 128, np.uint8)
    rows = [
        {"ImageID": "a1b2c3d4e5f60718", "LabelName": DOG, "BoxID": "00000001",
         "PredictedIoU": "0.86864", "Clicks": "0.1 0.2 1;0.3 0.4 0"},
        {"ImageID": "a1b2c3d4e5f60718", "LabelName": CAR, "BoxID": "00000002"},
        {"ImageID": "0f00000000000001", "LabelName": CAT, "BoxID": "00000003",
         "PredictedIoU": "", "Clicks": ""},
    ]  # fmt: skip
    # The cat's mask is stored at twice the image size, as real OI masks often are.
    masks = [_truth(4, 2, 12, 10), _truth(20, 10, 30, 20), _truth(2, 4, 20, 40, 2 * H, 2 * W)]
    arrays = {"a1b2c3d4e5f60718": img, "0f00000000000001": img}
    write_openimages(
        root, "train", rows, masks, CLASSES, image_arrays=arrays, zipped=zipped,
        mask_folders=mask_folders, class_format=class_format,
    )  # fmt: skip
    return root


def test_records_and_zip_masks(tmp_path):
    root = _dataset(tmp_path)
    assert (root / "train-masks-a.zip").is_file() and (root / "train-masks-0.zip").is_file()
    ms = list(iter_openimages_masks(root, [DOG, CAT]))
    assert [m.mask_id for m in ms] == [
        "0f00000000000001_m01yrx_00000003",
        "a1b2c3d4e5f60718_m0bt9lr_00000001",
    ]
    cat, dog = ms
    assert dog.label == DOG and dog.mask_file == "a1b2c3d4e5f60718_m0bt9lr_00000001.png"
    assert dog.predicted_iou == pytest.approx(0.86864) and cat.predicted_iou is None
    assert dog.bbox == pytest.approx((4 / W, 2 / H, 8 / W, 8 / H), abs=1e-6)
    assert dog.area_fraction == pytest.approx(64 / (W * H), abs=1e-6)
    assert dog.image.path == "train/a1b2c3d4e5f60718.jpg" and dog.image.subset == "train"
    assert dog.image.width is None and dog.image.license == "CC BY 2.0"
    assert dog.exhaustive and not dog.iscrowd
    np.testing.assert_array_equal(decode_mask(dog, root), _truth(4, 2, 12, 10))
    # Stored at 2x: resized (nearest) to the image's size read from the JPEG header.
    np.testing.assert_array_equal(decode_mask(cat, root), _truth(1, 2, 10, 20))
    assert decode_mask(cat, root, height=2 * H, width=2 * W).sum() == 18 * 36


@pytest.mark.parametrize("mask_folders", ["one", "per_digit"])
def test_extracted_folders_equal_zips(tmp_path, mask_folders):
    zroot = _dataset(tmp_path / "z")
    froot = _dataset(tmp_path / "f", zipped=False, mask_folders=mask_folders)
    assert not list(froot.glob("*.zip"))
    mz = list(iter_openimages_masks(zroot, [DOG, CAT, CAR]))
    mf = list(iter_openimages_masks(froot, [DOG, CAT, CAR]))
    assert [m.mask_id for m in mz] == [m.mask_id for m in mf] and len(mz) == 3
    for a, b in zip(mz, mf, strict=True):
        np.testing.assert_array_equal(decode_mask(a, zroot), decode_mask(b, froot))


def test_class_files_v7_and_headerless_v6(tmp_path):
    v7 = _dataset(tmp_path / "v7")
    v6 = _dataset(tmp_path / "v6", class_format="v6")
    assert (v6 / "class-descriptions-boxable.csv").read_text().splitlines()[0] == "/m/0k4j,Car"
    assert openimages_classes(v7) == openimages_classes(v6) == dict(sorted(CLASSES.items()))


def test_subsets_filtering(tmp_path):
    root = _dataset(tmp_path)
    with pytest.raises(SourceError, match="no Open Images segmentation CSV"):
        list(iter_openimages_masks(root, [DOG], subsets=["validation"]))
    assert list(iter_openimages_masks(root, ["/m/unknown"])) == []


def test_errors_name_file_and_line(tmp_path):
    with pytest.raises(SourceError, match="is not a folder"):
        list(iter_openimages_masks(tmp_path / "missing", [DOG]))
    tmp_path.joinpath("x").mkdir()
    with pytest.raises(SourceError, match=r"no oidv7-class-descriptions-boxable.csv"):
        openimages_classes(tmp_path / "x")
    root = _dataset(tmp_path / "bad")
    csv_path = root / "train-annotations-object-segmentation.csv"
    lines = csv_path.read_text().splitlines()
    csv_path.write_text("\n".join([*lines, "x.png,abc,/m/0bt9lr"]) + "\n")
    with pytest.raises(SourceError, match=r"train-annotations-object-segmentation.csv:5: expected"):
        list(iter_openimages_masks(root, [DOG]))
    csv_path.write_text("\n".join([lines[0], lines[1].replace("0.125", "abc")]) + "\n")
    with pytest.raises(SourceError, match=r"BoxXMin is 'abc', not a number"):
        list(iter_openimages_masks(root, [DOG]))
    csv_path.write_text("ImageID,LabelName\n")
    with pytest.raises(SourceError, match=r"csv:1: header lacks"):
        list(iter_openimages_masks(root, [DOG]))


def test_missing_mask_names_zip(tmp_path):
    root = _dataset(tmp_path)
    (root / "train-masks-a.zip").unlink()
    dog = next(m for m in iter_openimages_masks(root, [DOG]))
    with pytest.raises(MediaError, match=r"a1b2c3d4e5f60718_m0bt9lr_00000001.png not found.*"
                       r"train-masks-a.zip"):  # fmt: skip
        decode_mask(dog, root)


REAL_ROWS = """\
MaskPath,ImageID,LabelName,BoxID,BoxXMin,BoxXMax,BoxYMin,BoxYMax,PredictedIoU,Clicks
677c122b0eaa5d16_m04yx4_9a041d52.png,677c122b0eaa5d16,/m/04yx4,9a041d52,0.8875,0.960938,\
0.454167,0.720833,0.86864,0.95498 0.65197 1;0.89370 0.56579 1;0.94701 0.48968 0
05529ae018130c68_m09j2d_b1115fd0.png,05529ae018130c68,/m/09j2d,b1115fd0,0.086875,0.254375,\
0.504708,0.79096,0.8025,0.16388 0.50114 1;0.25069 0.75425 1
96e7ee70b428a54e_m04yx4_05580497.png,96e7ee70b428a54e,/m/04yx4,05580497,0.45625,0.603125,\
0.222013,0.903104,0.5585,
"""


def test_real_rows_verbatim(tmp_path):
    """Rows as published (first lines of the OI train segmentation CSV), one with no Clicks."""
    (tmp_path / "train-annotations-object-segmentation.csv").write_text(REAL_ROWS)
    ms = list(iter_openimages_masks(tmp_path, ["/m/04yx4"]))
    assert [m.mask_id for m in ms] == [
        "677c122b0eaa5d16_m04yx4_9a041d52",
        "96e7ee70b428a54e_m04yx4_05580497",
    ]
    assert ms[0].bbox == pytest.approx((0.8875, 0.454167, 0.073438, 0.266666), abs=1e-6)
    assert ms[1].predicted_iou == pytest.approx(0.5585)
    assert ms[1].image.path == "train/96e7ee70b428a54e.jpg"


def test_quoted_file_reads_like_unquoted(tmp_path):
    """Files without a double quote (every real one) take pyarrow.dataset's filtered scan;
    files with quotes the streamed, row-counted path. Quoting every field (valid CSV) must
    not change a single record, and the unquoted file must really have no quote."""
    import csv

    plain = _dataset(tmp_path / "plain")
    csv_path = plain / "train-annotations-object-segmentation.csv"
    assert b'"' not in csv_path.read_bytes()
    quoted = tmp_path / "quoted"
    import shutil

    shutil.copytree(plain, quoted)
    with open(csv_path, newline="") as f:
        rows = list(csv.reader(f))
    with open(quoted / csv_path.name, "w", newline="") as f:
        csv.writer(f, quoting=csv.QUOTE_ALL).writerows(rows)
    assert (quoted / csv_path.name).read_bytes().count(b'"') == 2 * sum(len(r) for r in rows)
    a = list(iter_openimages_masks(plain, [DOG, CAT, CAR]))
    b = list(iter_openimages_masks(quoted, [DOG, CAT, CAR]))
    assert len(a) == 3
    # the records' fields (the image paths are relative, so the two roots do not show)
    assert a == b
