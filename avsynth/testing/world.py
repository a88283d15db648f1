"""A small, deterministic audio-visual "world" in the real LVIS / Open Images / VGGSound layouts.

Each category has its own look (a colour AND a shape: disc, square, triangle, ring, cross,
stripes, diamond, hexagon) and its own sound (a harmonic complex tone at a category-specific
fundamental with a category-specific amplitude-modulation rate; each clip varies in level,
phase and pitch by a few percent). Every image holds 2-3 non-overlapping objects of different
categories on a noisy grey background, so only a model that listens can tell which one to
segment. Used by tests of the whole pipeline and by the demo::

    from avsynth.testing.world import make_world
    world = make_world("/tmp/world", seed=0)
    world.lvis_root, world.openimages_root, world.vggsound_root  # real layouts
    world.write_category_map("/tmp/world/map.yaml")              # map for these categories
"""

from __future__ import annotations

import base64
import hashlib
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from avsynth.sources.media import decode_segmentation
from avsynth.testing.sources import (
    mask_to_rle,
    write_lvis,
    write_openimages,
    write_vggsound,
)

__all__ = ["DEFAULT_WORLD", "World", "WorldCategory", "category_sound", "make_world"]


@dataclass(frozen=True)
class WorldCategory:
    """One world category and its source labels (``lvis_id`` 0 = assign one)."""

    name: str
    lvis_name: str
    oi_mid: str
    oi_name: str
    vggsound_label: str
    lvis_synset: str = ""
    lvis_id: int = 0


DEFAULT_WORLD: tuple[WorldCategory, ...] = (
    WorldCategory("dog", "dog", "/m/0bt9lr", "Dog", "dog barking", "dog.n.01", 378),
    WorldCategory("cat", "cat", "/m/01yrx", "Cat", "cat meowing", "cat.n.01", 225),
    WorldCategory("horse", "horse", "/m/03k3r", "Horse", "horse clip-clop", "horse.n.01", 569),
    WorldCategory(
        "guitar", "guitar", "/m/0342h", "Guitar", "playing acoustic guitar", "guitar.n.01", 521
    ),
    WorldCategory("piano", "piano", "/m/05r5c", "Piano", "playing piano", "piano.n.01", 798),
    WorldCategory("bus", "bus_(vehicle)", "/m/01bjv", "Bus", "driving buses", "bus.n.01", 173),
)

SHAPES = ("disc", "square", "triangle", "ring", "cross", "stripes", "diamond", "hexagon")
COLOURS = (
    (220, 40, 40), (40, 180, 60), (50, 80, 220), (235, 210, 40),
    (200, 50, 200), (40, 200, 210), (240, 130, 30), (245, 245, 245),
)  # fmt: skip
_DISTRACTOR_ROWS = (("--Lj4Y_96f0", 120, "bee, wasp, etc. buzzing", "train"),
                    ("---g-f_I2yQ", 1, "people marching", "test"))  # fmt: skip


@dataclass(frozen=True)
class World:
    """What :func:`make_world` wrote.

    Attributes:
        root: Folder holding ``lvis/``, ``openimages/``, ``vggsound/``.
        categories: The world's categories (index = look/sound index).
        seed: Seed it was made from.
        counts: ``{"lvis": {cat: masks}, "openimages": {cat: masks}, "vggsound_rows":
            {cat: rows}, "vggsound_files": {cat: clip files}}``.
        images: ``{"lvis": n, "openimages": n}``.
    """

    root: Path
    categories: tuple[WorldCategory, ...]
    seed: int
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    images: dict[str, int] = field(default_factory=dict)

    @property
    def lvis_root(self) -> Path:
        return self.root / "lvis"

    @property
    def openimages_root(self) -> Path:
        return self.root / "openimages"

    @property
    def vggsound_root(self) -> Path:
        return self.root / "vggsound"

    def category_map(self) -> dict[str, Any]:
        """The category map (``avsynth.catmap`` YAML schema) that joins the world's labels."""
        return {
            "schema_version": 1,
            "name": f"world-{len(self.categories)}",
            "categories": [
                {
                    "name": c.name,
                    "lvis": [{"name": c.lvis_name, "synset": c.lvis_synset or f"{c.name}.n.01"}],
                    "openimages": [{"mid": c.oi_mid, "name": c.oi_name}],
                    "vggsound": [c.vggsound_label],
                }
                for c in self.categories
            ],
        }

    def write_category_map(self, path: str | Path) -> Path:
        """Write :meth:`category_map` as YAML; returns the path."""
        import yaml

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(self.category_map(), sort_keys=False))
        return path


# ----------------------------------------------------------------------------- looks


def _shape(kind: str, cx: float, cy: float, r: float, h: int, w: int):
    """Return ``(segmentation, mask)`` of one object; ring is an RLE (it has a hole)."""
    if kind == "ring":
        yy, xx = np.mgrid[0:h, 0:w]
        d = np.hypot(xx + 0.5 - cx, yy + 0.5 - cy)
        m = (d <= r) & (d >= 0.55 * r)
        return mask_to_rle(m), m
    if kind in ("disc", "hexagon", "diamond"):
        n, rot = {"disc": (32, 0.0), "hexagon": (6, 0.0), "diamond": (4, 0.0)}[kind]
        a = 2 * math.pi * np.arange(n) / n + rot
        pts = np.stack([cx + r * np.cos(a), cy + r * np.sin(a)], 1)
        polys = [pts.ravel().tolist()]
    elif kind == "square":
        s = 0.85 * r
        polys = [[cx - s, cy - s, cx + s, cy - s, cx + s, cy + s, cx - s, cy + s]]
    elif kind == "triangle":
        polys = [[cx, cy - r, cx + r, cy + r * 0.9, cx - r, cy + r * 0.9]]
    elif kind == "cross":
        t = 0.35 * r
        polys = [[cx - t, cy - r, cx + t, cy - r, cx + t, cy - t, cx + r, cy - t, cx + r, cy + t,
                  cx + t, cy + t, cx + t, cy + r, cx - t, cy + r, cx - t, cy + t, cx - r, cy + t,
                  cx - r, cy - t, cx - t, cy - t]]  # fmt: skip
    elif kind == "stripes":
        b = 0.4 * r
        polys = [[cx - r, y0, cx + r, y0, cx + r, y0 + b, cx - r, y0 + b]
                 for y0 in (cy - r, cy - b / 2, cy + r - b)]  # fmt: skip
    else:
        raise ValueError(f"unknown shape {kind!r}")
    polys = [[round(float(v), 2) for v in p] for p in polys]
    return polys, decode_segmentation(polys, h, w)


def _background(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    base = rng.uniform(90, 160)
    low = rng.normal(0, 18, size=(h // 16 + 2, w // 16 + 2, 1))
    low = np.kron(low, np.ones((16, 16, 1)))[:h, :w]
    tint = rng.normal(0, 6, size=3)
    img = base + low + tint + rng.normal(0, 10, size=(h, w, 3))
    return img


def _layout(rng: np.random.Generator, k: int, h: int, w: int):
    """Centres and radii of ``k`` objects whose boxes do not overlap."""
    scale = 1.0
    while True:
        placed: list[tuple[float, float, float]] = []
        for _ in range(200):
            r = rng.uniform(0.13, 0.21) * min(h, w) * scale
            cx, cy = rng.uniform(r + 1, w - r - 1), rng.uniform(r + 1, h - r - 1)
            if all(abs(cx - x) > r + q + 2 or abs(cy - y) > r + q + 2 for x, y, q in placed):
                placed.append((cx, cy, r))
                if len(placed) == k:
                    return placed
        scale *= 0.85


def _render(rng, cats: Sequence[int], h: int, w: int):
    img = _background(rng, h, w)
    objs = []
    for ci, (cx, cy, r) in zip(cats, _layout(rng, len(cats), h, w), strict=True):
        seg, m = _shape(SHAPES[ci % len(SHAPES)], cx, cy, r, h, w)
        colour = np.array(COLOURS[ci % len(COLOURS)], float) * rng.uniform(0.85, 1.05)
        img[m] = colour + rng.normal(0, 12, size=(int(m.sum()), 3))
        objs.append((ci, seg, m, (cx, cy, r)))
    return np.clip(img, 0, 255).astype(np.uint8), objs


# ----------------------------------------------------------------------------- sounds


def category_sound(
    index: int, rng: np.random.Generator, *, seconds: float = 10.0, sample_rate: int = 16000
) -> np.ndarray:
    """One clip of category ``index``: harmonic tone (f0, AM rate by category) + variation."""
    f0 = 150.0 * 2 ** ((index % 8) * 0.6) * math.exp(rng.normal(0, 0.02))
    am_rate = (0.0, 3.0, 7.0, 1.5, 5.0, 11.0)[index % 6] + 0.5 * (index // 8)
    tilt = 0.6 + 0.4 * (index % 3)
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    x = np.zeros_like(t)
    for k in range(1, 7):
        if k * f0 >= 0.45 * sample_rate:
            break
        x += np.sin(2 * np.pi * k * f0 * t + rng.uniform(0, 2 * np.pi)) / k**tilt
    if am_rate:
        depth = rng.uniform(0.5, 0.9)
        x *= 1 - depth * 0.5 * (1 + np.sin(2 * np.pi * am_rate * t + rng.uniform(0, 2 * np.pi)))
    x /= np.abs(x).max() + 1e-9
    x *= 10 ** (rng.uniform(-14, -4) / 20)
    x += rng.normal(0, 0.005, size=t.shape)
    return x.astype(np.float32)


# ----------------------------------------------------------------------------- world


def _hex(*parts: Any, n: int) -> str:
    return hashlib.sha1("/".join(map(str, parts)).encode()).hexdigest()[:n]


def _ytid(*parts: Any) -> str:
    raw = hashlib.sha1("/".join(map(str, parts)).encode()).digest()
    return base64.urlsafe_b64encode(raw).decode()[:11]


def _pick(rng: np.random.Generator, n_cats: int) -> list[int]:
    k = int(rng.integers(2, 4)) if n_cats >= 3 else min(2, n_cats)
    return [int(c) for c in rng.choice(n_cats, size=k, replace=False)]


def _make_lvis(root: Path, cats, n: int, size: int, seed: int, counts: Counter) -> None:
    cat_ids = [c.lvis_id or 2000 + i for i, c in enumerate(cats)]
    n_val = round(n * 0.2) if n >= 2 else 0
    ann_id = 1
    for subset, idxs in (("train", range(n - n_val)), ("val", range(n - n_val, n))):
        images, anns, arrays = [], [], {}
        for i in idxs:
            rng = np.random.default_rng([seed, 1, i])
            img, objs = _render(rng, _pick(rng, len(cats)), size, size)
            iid = 100000 + i
            folder = "val2017" if subset == "val" and i % 2 == 0 else "train2017"
            present = sorted({cat_ids[ci] for ci, *_ in objs})
            not_exh = [cat_ids[objs[0][0]]] if rng.random() < 0.1 else []
            images.append({
                "id": iid, "width": size, "height": size,
                "coco_url": f"http://images.cocodataset.org/{folder}/{iid:012d}.jpg",
                "neg_category_ids": sorted(set(cat_ids) - set(present)),
                "not_exhaustive_category_ids": not_exh,
            })  # fmt: skip
            arrays[iid] = img
            for ci, seg, _m, _geo in objs:
                anns.append({"id": ann_id, "image_id": iid, "category_id": cat_ids[ci],
                             "segmentation": seg})  # fmt: skip
                ann_id += 1
                counts[cats[ci].name] += 1
        categories = [
            {"id": cid, "name": c.lvis_name, "synset": c.lvis_synset or f"{c.name}.n.01"}
            for cid, c in sorted(zip(cat_ids, cats, strict=True))
        ]
        write_lvis(root, subset, images, anns, categories, image_arrays=arrays)


def _make_openimages(root: Path, cats, n: int, size: int, seed: int, counts: Counter) -> None:
    n_val = round(n * 0.2) if n >= 2 else 0
    classes = {c.oi_mid: c.oi_name for c in cats}
    for subset, idxs in (("train", range(n - n_val)), ("validation", range(n - n_val, n))):
        rows, masks, arrays = [], [], {}
        for i in idxs:
            rng = np.random.default_rng([seed, 2, i])
            img, objs = _render(rng, _pick(rng, len(cats)), size, size)
            iid = _hex("world", seed, "oi", i, n=16)
            arrays[iid] = img
            scale = (1.0, 1.5, 0.75)[i % 3]  # real OI masks often differ from the image size
            ms = max(8, int(round(size * scale)))
            for ci, _seg, m, (cx, cy, r) in objs:
                if scale != 1.0:
                    m = _shape(SHAPES[ci % len(SHAPES)], cx * scale, cy * scale, r * scale, ms, ms)[
                        1
                    ]
                box_id = _hex("world", seed, "box", i, ci, n=8)
                clicks = ";".join(
                    f"{rng.uniform():.5f} {rng.uniform():.5f} {int(rng.integers(0, 2))}"
                    for _ in range(int(rng.integers(0, 4)))
                )
                iou = f"{rng.uniform(0.6, 0.95):.5f}"
                row = {"ImageID": iid, "LabelName": cats[ci].oi_mid, "BoxID": box_id}
                rows.append(row | {"PredictedIoU": iou, "Clicks": clicks})
                masks.append(m)
                counts[cats[ci].name] += 1
        write_openimages(root, subset, rows, masks, classes, image_arrays=arrays, zipped=True)


def _make_vggsound(root: Path, cats, per_label: int, missing: int, fmt: str, seconds: float,
                   seed: int, rows_count: Counter, files_count: Counter) -> None:  # fmt: skip
    rows, clips, dirs = list(_DISTRACTOR_ROWS), {}, {}
    n_test = max(1, round(0.2 * per_label)) if per_label >= 2 else 0
    for ci, c in enumerate(cats):
        for j in range(per_label):
            rng = np.random.default_rng([seed, 3, ci, j])
            ytid = _ytid("world", seed, c.vggsound_label, j)
            if ci == 0 and j == 0:
                ytid = "-" + ytid[1:]  # real ids may start with '-'
            start = 10 * int(rng.integers(0, 30))
            split = "test" if j >= per_label - n_test else "train"
            rows.append((ytid, start, c.vggsound_label, split))
            rows_count[c.name] += 1
            if j < missing:
                continue  # a row whose clip was never downloaded
            cid = f"{ytid}_{start:06d}"
            clips[cid] = category_sound(ci, rng, seconds=seconds)
            dirs[cid] = f"video/{split}"
            files_count[c.name] += 1
    rows.sort(key=lambda r: (r[0], r[1]))
    write_vggsound(root, rows, clips=clips, fmt=fmt, clip_dir=dirs)


def make_world(
    root: str | Path,
    *,
    categories: Sequence[WorldCategory] = DEFAULT_WORLD,
    n_lvis_images: int = 300,
    n_openimages_images: int = 300,
    clips_per_label: int = 20,
    image_size: int = 128,
    clip_format: str = "wav",
    clip_seconds: float = 10.0,
    missing_clips_per_label: int = 0,
    seed: int = 0,
) -> World:
    """Write a world under ``root``: ``lvis/``, ``openimages/``, ``vggsound/`` (real layouts).

    Args:
        root: Output folder (created).
        categories: World categories (looks and sounds follow their index; at most 8 distinct
            looks).
        n_lvis_images: LVIS images (80% ``lvis_v1_train.json``, 20% ``lvis_v1_val.json``, half of
            the val images stored in ``train2017`` as in real LVIS).
        n_openimages_images: Open Images images (80% train, 20% validation; masks zipped, a
            third stored at 1.5x and a third at 0.75x the image size).
        clips_per_label: VGGSound rows per label (20% in split ``test``).
        image_size: Square image side in pixels.
        clip_format: ``wav``, ``flac`` or ``mp4``.
        clip_seconds: Clip length (16 kHz).
        missing_clips_per_label: Rows per label left without a clip file.
        seed: Everything is a function of it (same seed -> byte-identical files).

    Returns:
        The :class:`World`.
    """
    root = Path(root)
    cats = tuple(categories)
    if len(cats) < 2:
        raise ValueError("a world needs at least two categories")
    lv, oi, rows, files = Counter(), Counter(), Counter(), Counter()
    _make_lvis(root / "lvis", cats, n_lvis_images, image_size, seed, lv)
    _make_openimages(root / "openimages", cats, n_openimages_images, image_size, seed, oi)
    _make_vggsound(root / "vggsound", cats, clips_per_label, missing_clips_per_label,
                   clip_format, clip_seconds, seed, rows, files)  # fmt: skip
    names = [c.name for c in cats]
    return World(
        root=root,
        categories=cats,
        seed=seed,
        counts={
            "lvis": {n: lv[n] for n in names},
            "openimages": {n: oi[n] for n in names},
            "vggsound_rows": {n: rows[n] for n in names},
            "vggsound_files": {n: files[n] for n in names},
        },
        images={"lvis": n_lvis_images, "openimages": n_openimages_images},
    )
