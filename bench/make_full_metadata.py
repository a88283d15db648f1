"""Write full-scale synthetic metadata in the REAL formats, to time planning (--plan-only).

Output (default ``bench/_data/``, gitignored), no media::

    lvis/lvis_v1_train.json       100,170 images, 1,270,141 annotations (~1.1 GB), polygons
    lvis/lvis_v1_val.json         19,809 images, 244,707 annotations
    openimages/train-annotations-object-segmentation.csv        2,686,666 rows
    openimages/validation-annotations-object-segmentation.csv   24,730 rows
    openimages/test-annotations-object-segmentation.csv         74,102 rows
    openimages/oidv7-class-descriptions-boxable.csv             (the real 601 classes)
    vggsound/vggsound.csv         199,176 rows over the 309 real labels

Realism where it matters for planning cost: the 1203 real LVIS categories with their real
per-category train image and instance counts (``lvis_v1_train_cat_info.json``), polygons of
6-100 vertices at 2-decimal precision (the real file's average annotation is ~870 bytes), real
``not_exhaustive_category_ids``/``neg_category_ids`` lists; Open Images rows over 350 boxable
classes (every MID of the category map included) with Zipf-like frequencies, real MaskPath /
BoxID / Clicks formats; VGGSound's real per-label counts (``stat.csv``) and its real test split
(``test.csv``). Everything is seeded; the files are written in chunks.

Usage::

    .venv/bin/python bench/make_full_metadata.py --reference DIR [--out bench/_data] [--seed 0]
    # Open Images rows whose 350 classes include every MID of xl.yaml (bench/xl_scale.py):
    .venv/bin/python bench/make_full_metadata.py --reference DIR --only openimages --map XL

``DIR`` holds copies of the upstream label files, laid out as ``scripts/make_vocab.py``
describes.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import time
from pathlib import Path

import numpy as np
import yaml

REF = Path("reference")  # set from --reference in main()
HERE = Path(__file__).resolve().parent
MAP = HERE.parent / "category_maps" / "46.yaml"

LVIS_TRAIN_IMAGES, LVIS_TRAIN_ANNS = 100_170, 1_270_141
LVIS_VAL_IMAGES, LVIS_VAL_ANNS = 19_809, 244_707
OI_ROWS = {"train": 2_686_666, "validation": 24_730, "test": 74_102}
OI_IMAGES = {"train": 944_037, "validation": 13_524, "test": 40_386}
SIZES = [(640, 480), (640, 427), (480, 640), (640, 426), (500, 375), (640, 360), (427, 640)]
LICENSES = [
    ("Attribution-NonCommercial-ShareAlike License", "http://creativecommons.org/licenses/by-nc-sa/2.0/"),
    ("Attribution-NonCommercial License", "http://creativecommons.org/licenses/by-nc/2.0/"),
    ("Attribution-NonCommercial-NoDerivs License", "http://creativecommons.org/licenses/by-nc-nd/2.0/"),
    ("Attribution License", "http://creativecommons.org/licenses/by/2.0/"),
    ("Attribution-ShareAlike License", "http://creativecommons.org/licenses/by-sa/2.0/"),
    ("Attribution-NoDerivs License", "http://creativecommons.org/licenses/by-nd/2.0/"),
    ("No known copyright restrictions", "http://flickr.com/commons/usage/"),
    ("United States Government Work", "http://www.usa.gov/copyright.shtml"),
]  # fmt: skip
_B64 = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", np.uint8)


def _fmt2(x: float) -> str:
    s = f"{x:.2f}".rstrip("0").rstrip(".")
    return s if s != "-0" else "0"


def polygon_pool(rng: np.random.Generator, n: int = 20000) -> list[tuple[str, float, str]]:
    """``(segmentation json, area, bbox json)`` of ``n`` star-shaped polygons in a 640x360 frame."""
    pool = []
    for _ in range(n):
        k = int(rng.integers(6, 101))
        r = float(np.exp(rng.uniform(np.log(6), np.log(170))))
        cx, cy = rng.uniform(r, 640 - r), rng.uniform(min(r, 180), max(360 - r, 181))
        ang = np.sort(rng.uniform(0, 2 * np.pi, k))
        rad = r * rng.uniform(0.55, 1.0, k)
        xs = np.clip(cx + rad * np.cos(ang), 0, 639.99)
        ys = np.clip(cy + rad * np.sin(ang), 0, 359.99)
        area = 0.5 * abs(float(np.dot(xs, np.roll(ys, 1)) - np.dot(ys, np.roll(xs, 1))))
        coords = np.empty(2 * k)
        coords[0::2], coords[1::2] = xs, ys
        seg = "[[" + ",".join(_fmt2(v) for v in coords) + "]]"
        x0, y0 = float(xs.min()), float(ys.min())
        bbox = (
            f"[{_fmt2(x0)},{_fmt2(y0)},{_fmt2(float(xs.max()) - x0)},{_fmt2(float(ys.max()) - y0)}]"
        )
        pool.append((seg, round(area, 2), bbox))
    return pool


def _lvis_categories() -> list[dict]:
    return json.loads((REF / "lvis" / "lvis_v1_train_cat_info.json").read_text())


def write_lvis(path: Path, *, n_images: int, n_anns: int, val: bool, rng, pool) -> None:
    """One LVIS v1 JSON with the real categories and counts scaled to ``n_anns``."""
    cats = _lvis_categories()
    inst = np.array([c["instance_count"] for c in cats], np.int64)
    imgc = np.array([c["image_count"] for c in cats], np.int64)
    if inst.sum() != n_anns:  # val: scale the train distribution
        inst = np.maximum(1, np.round(inst * n_anns / inst.sum())).astype(np.int64)
        inst[np.argmax(inst)] += n_anns - inst.sum()
        imgc = np.minimum(np.maximum(1, np.round(imgc * n_images / LVIS_TRAIN_IMAGES)), inst)
    ids = np.sort(rng.choice(np.arange(1, 581_930), n_images, replace=False))
    ann_img = np.empty(n_anns, np.int64)
    ann_cat = np.empty(n_anns, np.int64)
    pos = 0
    not_exh: dict[int, list[int]] = {}
    for ci, c in enumerate(cats):
        k, n = int(min(imgc[ci], n_images)), int(inst[ci])
        imgs = rng.choice(n_images, k, replace=False)
        extra = rng.choice(imgs, n - k) if n > k else np.empty(0, np.int64)
        sel = np.concatenate([imgs, extra])[:n]
        ann_img[pos : pos + n], ann_cat[pos : pos + n] = sel, c["id"]
        pos += n
        for i in imgs[rng.random(k) < 0.08]:  # ~8 % of (image, category) pairs not exhaustive
            not_exh.setdefault(int(i), []).append(c["id"])
    order = np.lexsort((ann_cat, ann_img))
    ann_img, ann_cat = ann_img[order], ann_cat[order]
    sizes = rng.integers(0, len(SIZES), n_images)
    lic = rng.integers(1, 9, n_images)
    pick = rng.integers(0, len(pool), n_anns)
    with open(path, "w", encoding="utf-8") as f:
        info = {"description": "LVIS v1 (synthetic benchmark copy)", "version": "1.0", "year": 2020}
        f.write('{"info":' + json.dumps(info) + ',"annotations":[')
        chunk = 50_000
        for s in range(0, n_anns, chunk):
            parts = []
            for j in range(s, min(s + chunk, n_anns)):
                seg, area, bbox = pool[pick[j]]
                iid = int(ids[ann_img[j]])
                parts.append(
                    f'{{"area":{area},"id":{j + 1},"segmentation":{seg},"image_id":{iid},'
                    f'"bbox":{bbox},"category_id":{ann_cat[j]}}}'
                )
            f.write(("," if s else "") + ",".join(parts))
        f.write('],"images":[')
        parts = []
        for i in range(n_images):
            w, h = SIZES[sizes[i]]
            iid = int(ids[i])
            folder = "val2017" if val and i % 4 == 0 else "train2017"
            neg = ",".join(str(int(x)) for x in rng.integers(1, 1204, int(rng.integers(0, 12))))
            ne = ",".join(str(x) for x in not_exh.get(i, []))
            parts.append(
                f'{{"date_captured":"2013-11-14 16:28:13","neg_category_ids":[{neg}],'
                f'"id":{iid},"license":{lic[i]},"height":{h},"width":{w},'
                f'"flickr_url":"http://farm4.staticflickr.com/3153/{iid}_z.jpg",'
                f'"coco_url":"http://images.cocodataset.org/{folder}/{iid:012d}.jpg",'
                f'"not_exhaustive_category_ids":[{ne}]}}'
            )
        f.write(",".join(parts))
        lics = [{"name": n, "url": u, "id": i + 1} for i, (n, u) in enumerate(LICENSES)]
        f.write('],"licenses":' + json.dumps(lics) + ',"categories":' + json.dumps(cats) + "}")


def _hex_ids(rng, n: int) -> list[str]:
    v = rng.integers(0, 2**63, n, dtype=np.int64) * 2 + rng.integers(0, 2, n)
    return [f"{int(x) & 0xFFFFFFFFFFFFFFFF:016x}" for x in v]


def write_openimages(root: Path, *, rng) -> None:
    """The three segmentation CSVs + the real V7 boxable class list."""
    classes = list(csv.reader(open(REF / "openimages" / "oidv7-class-descriptions-boxable.csv")))[
        1:
    ]
    mids = [m for m, _ in classes]
    cmap = yaml.safe_load(MAP.read_text())
    wanted = sorted({o["mid"] for c in cmap["categories"] for o in c.get("openimages", [])})
    others = [m for m in mids if m not in set(wanted)]
    seg = wanted + list(rng.choice(others, 350 - len(wanted), replace=False))
    weights = 1.0 / np.arange(1, 351) ** 0.9
    weights = weights[rng.permutation(350)]
    weights /= weights.sum()
    clicks = [
        ";".join(f"{x:.5f} {y:.5f} {int(b)}" for x, y, b in zip(rng.random(k), rng.random(k),
                                                                rng.integers(0, 2, k), strict=True))
        for k in rng.integers(8, 13, 1000)
    ]  # fmt: skip
    (root / "oidv7-class-descriptions-boxable.csv").write_bytes(
        (REF / "openimages" / "oidv7-class-descriptions-boxable.csv").read_bytes()
    )
    for subset, n in OI_ROWS.items():
        images = _hex_ids(rng, OI_IMAGES[subset])
        img = rng.integers(0, len(images), n)
        lab = rng.choice(350, n, p=weights)
        x0 = rng.random(n) * 0.8
        y0 = rng.random(n) * 0.8
        x1 = np.minimum(1.0, x0 + rng.random(n) * 0.6 + 0.01)
        y1 = np.minimum(1.0, y0 + rng.random(n) * 0.6 + 0.01)
        iou = rng.uniform(0.2, 0.98, n)
        box = rng.integers(0, 2**32, n)
        click = rng.integers(0, len(clicks), n)
        with open(root / f"{subset}-annotations-object-segmentation.csv", "w", newline="") as f:
            f.write(
                "MaskPath,ImageID,LabelName,BoxID,BoxXMin,BoxXMax,BoxYMin,BoxYMax,PredictedIoU,Clicks\n"
            )
            for s in range(0, n, 100_000):
                buf = io.StringIO()
                for j in range(s, min(s + 100_000, n)):
                    iid, mid, b = images[img[j]], seg[lab[j]], f"{box[j]:08x}"
                    buf.write(
                        f"{iid}_{mid.replace('/', '')}_{b}.png,{iid},{mid},{b},{x0[j]:.6f},"
                        f"{x1[j]:.6f},{y0[j]:.6f},{y1[j]:.6f},{iou[j]:.5f},{clicks[click[j]]}\n"
                    )
                f.write(buf.getvalue())


def write_vggsound(root: Path, *, rng) -> None:
    """``vggsound.csv`` with the real per-label counts and the real test rows."""
    counts = {r[0]: int(r[1]) for r in csv.reader(open(REF / "vggsound" / "stat.csv", newline=""))}
    rows = []
    test_n: dict[str, int] = {}
    for name, label in csv.reader(open(REF / "vggsound" / "test.csv", newline="")):
        stem = name.rsplit(".", 1)[0]
        rows.append((stem[:-7], int(stem[-6:]), label, "test"))
        test_n[label] = test_n.get(label, 0) + 1
    for label, total in sorted(counts.items()):
        k = total - test_n.get(label, 0)
        chars = _B64[rng.integers(0, 64, (k, 11))]
        starts = rng.integers(0, 30, k) * 10
        rows.extend(
            (c.tobytes().decode(), int(s), label, "train")
            for c, s in zip(chars, starts, strict=True)
        )
    rows.sort()
    with open(root / "vggsound.csv", "w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reference", type=Path, required=True, help="upstream label files")
    ap.add_argument("--out", type=Path, default=HERE / "_data")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", choices=["lvis", "openimages", "vggsound"], action="append")
    ap.add_argument(
        "--map",
        type=Path,
        default=HERE.parent / "category_maps" / "46.yaml",
        help="category map whose MIDs are among the 350 segmentable classes",
    )
    args = ap.parse_args()
    global REF, MAP
    REF = args.reference
    MAP = args.map
    rng = np.random.default_rng(args.seed)
    todo = args.only or ["lvis", "openimages", "vggsound"]
    for name in todo:
        (args.out / name).mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    if "lvis" in todo:
        pool = polygon_pool(rng)
        for split, n_images, n_anns in (
            ("train", LVIS_TRAIN_IMAGES, LVIS_TRAIN_ANNS),
            ("val", LVIS_VAL_IMAGES, LVIS_VAL_ANNS),
        ):
            write_lvis(
                args.out / "lvis" / f"lvis_v1_{split}.json",
                n_images=n_images,
                n_anns=n_anns,
                val=split == "val",
                rng=rng,
                pool=pool,
            )
            print(f"lvis {split} {time.perf_counter() - t:.1f}s", flush=True)
    if "openimages" in todo:
        write_openimages(args.out / "openimages", rng=rng)
        print(f"openimages {time.perf_counter() - t:.1f}s", flush=True)
    if "vggsound" in todo:
        write_vggsound(args.out / "vggsound", rng=rng)
        print(f"vggsound {time.perf_counter() - t:.1f}s", flush=True)
    for p in sorted(args.out.rglob("*.*")):
        print(f"{p.stat().st_size / 1e6:10.1f} MB  {p}")


if __name__ == "__main__":
    main()
