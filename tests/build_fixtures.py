"""Tiny real-format sources (LVIS JSON + images, Open Images CSV + mask zips, VGGSound CSV +
WAVs) for the planner/build tests, written with :mod:`avsynth.testing.sources`."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np

import avsynth
from avsynth.catmap.schema import Category, CategoryMap, LvisRef, OpenImagesRef
from avsynth.sources.records import SourceClip, SourceImage, SourceMask

CATS = (
    ("dog", "/m/0bt9lr", "Dog", ("dog barking", "dog howling")),
    ("cat", "/m/01yrx", "Cat", ("cat meowing",)),
    ("horse", "/m/03k3r", "Horse", ("horse clip-clop",)),
    ("piano", "/m/05r5c", "Piano", ("playing piano",)),
)


def tiny_map(names: tuple[str, ...] | None = None) -> CategoryMap:
    """A category map over (a subset of) :data:`CATS`."""
    cats = tuple(
        Category(n, (LvisRef(n, f"{n}.n.01"),), (OpenImagesRef(mid, disp),), labels)
        for n, mid, disp, labels in CATS
        if names is None or n in names
    )
    return CategoryMap(1, "tiny", cats, sha256="0" * 64)


def build_tiny(roots: dict[str, Path], out: Path, **kw):
    """Run :func:`avsynth.build` on :func:`tiny_map` over :func:`write_sources` roots, quietly."""
    return avsynth.build(
        tiny_map(),
        out=out,
        vggsound=roots["vggsound"],
        lvis=roots["lvis"],
        openimages=roots["openimages"],
        progress=False,
        **kw,
    )


def records(
    n_images: int = 400, *, seed: int = 0, clips_per_label: int = 12, piano_rate: float = 0.3
) -> tuple[list[SourceMask], list[SourceClip]]:
    """Hand-built source records (no files): images with 1-2 objects of distinct categories."""
    rng = random.Random(seed)
    masks: list[SourceMask] = []
    aid = 0
    for i in range(n_images):
        src = "lvis" if i % 2 else "openimages"
        iid = str(i) if src == "lvis" else f"{i:016x}"
        im = SourceImage(src, iid, f"train2017/{iid}.jpg", 64, 48, "cc", "train")
        for name, mid, _, _ in rng.sample(CATS, 2 if i % 3 else 1):
            if name == "piano" and rng.random() > piano_rate:
                continue
            aid += 1
            label = name if src == "lvis" else mid
            mask_id = str(aid) if src == "lvis" else f"{iid}_{aid:08x}"
            area = rng.uniform(0.0, 0.6)
            masks.append(
                SourceMask(src, mask_id, im, label, (0.1, 0.1, 0.5, 0.5), area, False, True)
            )
    clips = [
        SourceClip(f"y{n}{li}{j:08d}", 10 * j, label, "test" if j % 4 == 0 else "train", None, j)
        for n, (_, _, _, labels) in enumerate(CATS)
        for li, label in enumerate(labels)
        for j in range(clips_per_label)
    ]
    return masks, clips


def _shape_mask(rng: np.random.Generator, h: int, w: int) -> tuple[np.ndarray, list[float]]:
    """A filled rectangle polygon covering 5-40 % of the image."""
    bw, bh = int(rng.integers(w // 4, w * 2 // 3)), int(rng.integers(h // 4, h * 2 // 3))
    x0, y0 = int(rng.integers(0, w - bw)), int(rng.integers(0, h - bh))
    m = np.zeros((h, w), bool)
    m[y0 : y0 + bh, x0 : x0 + bw] = True
    poly = [x0, y0, x0 + bw, y0, x0 + bw, y0 + bh, x0, y0 + bh]
    return m, [float(v) for v in poly]


def write_sources(
    root: Path,
    *,
    n_lvis: int = 40,
    n_oi: int = 40,
    clips_per_label: int = 6,
    seed: int = 0,
    clip_files: bool = True,
    image_files: bool = True,
    clip_seconds: float = 1.0,
    names: tuple[str, ...] | None = None,
) -> dict[str, Path]:
    """Write tiny LVIS / Open Images / VGGSound roots below ``root``; returns the roots."""
    from avsynth.testing.sources import write_lvis, write_openimages, write_vggsound

    rng = np.random.default_rng(seed)
    cats = [c for c in CATS if names is None or c[0] in names]
    h, w = 48, 64
    images, anns, arrays = [], [], {}
    aid = 0
    for i in range(n_lvis):
        iid = 1000 + i
        images.append({"id": iid, "width": w, "height": h})
        arrays[iid] = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
        for k in rng.choice(len(cats), size=min(2, len(cats)), replace=False):
            aid += 1
            _, poly = _shape_mask(rng, h, w)
            anns.append(
                {"id": aid, "image_id": iid, "category_id": int(k) + 1, "segmentation": [poly]}
            )
    lcats = [{"id": k + 1, "name": c[0]} for k, c in enumerate(cats)]
    write_lvis(
        root / "lvis", "train", images, anns, lcats, image_arrays=arrays if image_files else None
    )
    rows, oi_masks, oi_arrays = [], [], {}
    for i in range(n_oi):
        iid = f"{(i * 2654435761) % (1 << 64):016x}"
        oi_arrays[iid] = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
        for k in rng.choice(len(cats), size=min(2, len(cats)), replace=False):
            m, _ = _shape_mask(rng, h // 2, w // 2)  # mask PNGs smaller than the image
            rows.append({"ImageID": iid, "LabelName": cats[int(k)][1]})
            oi_masks.append(m)
    classes = {c[1]: c[2] for c in cats}
    write_openimages(
        root / "openimages",
        "train",
        rows,
        oi_masks,
        classes,
        image_arrays=oi_arrays if image_files else None,
    )
    vrows, clips = [], {}
    sr = 16000
    for n, (_, _, _, labels) in enumerate(cats):
        for li, label in enumerate(labels):
            for j in range(clips_per_label):
                yt = f"c{n}l{li}-{j:06d}"
                subset = "test" if j % 3 == 0 else "train"
                vrows.append((yt, 30 + j, label, subset))
                t = np.arange(int(sr * clip_seconds)) / sr
                clips[f"{yt}_{30 + j:06d}"] = 0.3 * np.sin(2 * np.pi * (300 + 100 * n) * t)
    write_vggsound(root / "vggsound", vrows, clips=clips if clip_files else None)
    return {"lvis": root / "lvis", "openimages": root / "openimages", "vggsound": root / "vggsound"}
