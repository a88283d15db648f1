"""Small real-format inputs for the training/evaluation tests (no network, tiny sizes).

``make_manifest`` writes PNG images (two coloured shapes of different categories each), binary
mask PNGs of the sounding object and 16 kHz 16-bit WAVs (a tone per category), and a manifest
through ``avsynth.manifest.ManifestWriter``: exactly what a materialised avsynth build holds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
from PIL import Image

from avsynth.manifest import AudioRef, ImageRef, ManifestWriter, MaskRef, Triplet

# category -> (RGB colour, tone Hz)
CATS = {
    "dog": ((220, 40, 40), 440.0),
    "cat": ((40, 60, 220), 1500.0),
    "piano": ((40, 200, 60), 3200.0),
}


def _shape_mask(h: int, w: int, cy: int, cx: int, r: int, kind: int) -> np.ndarray:
    yy, xx = np.mgrid[:h, :w]
    if kind == 0:
        return (np.abs(yy - cy) <= r) & (np.abs(xx - cx) <= r)
    return (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r


def make_manifest(
    root: Path,
    *,
    n: dict[str, int] | None = None,
    size: tuple[int, int] = (48, 64),
    seconds: float = 2.0,
    seed: int = 0,
    cats: tuple[str, ...] = ("dog", "cat", "piano"),
) -> Path:
    """Write a tiny materialised build below ``root``; returns ``root/manifest.jsonl``.

    Args:
        root: Output folder.
        n: Triplets per split (default train 12, val 6, test 6).
        size: Image ``(height, width)``.
        seconds: Clip length.
        seed: Seed of the layouts.
        cats: Categories to draw from (need two or more).
    """
    n = n or {"train": 12, "val": 6, "test": 6}
    rng = np.random.default_rng(seed)
    root = Path(root)
    for sub in ("images", "masks", "audio"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    h, w = size
    records = []
    k = 0
    for split, count in n.items():
        for _ in range(count):
            a, b = rng.choice(len(cats), size=2, replace=False)
            img = np.full((h, w, 3), 128, np.uint8)
            img += rng.integers(0, 20, size=img.shape, dtype=np.uint8)
            masks = []
            for j, ci in enumerate((a, b)):
                r = int(min(h, w) * 0.18)
                cy = int(rng.integers(r, h - r))
                cx = int(rng.integers(r, w // 2 - r) + j * (w // 2))
                m = _shape_mask(h, w, cy, cx, r, j)
                img[m] = CATS[cats[ci]][0]
                masks.append(m)
            cat = cats[a]
            name = f"t{k:04d}"
            Image.fromarray(img).save(root / "images" / f"{name}.png")
            Image.fromarray(masks[0].astype(np.uint8) * 255).save(root / "masks" / f"{name}.png")
            t = np.arange(int(seconds * 16000)) / 16000.0
            wave = 0.3 * np.sin(2 * np.pi * CATS[cat][1] * t) + 0.01 * rng.standard_normal(t.size)
            sf.write(root / "audio" / f"{name}.wav", wave, 16000, subtype="PCM_16")
            ys, xs = np.nonzero(masks[0])
            bbox = (xs.min() / w, ys.min() / h, (np.ptp(xs) + 1) / w, (np.ptp(ys) + 1) / h)
            records.append(
                Triplet(
                    id=name,
                    split=split,
                    category=cat,
                    image=ImageRef(
                        f"images/{name}.png", "manifest", "lvis", str(k), "train", w, h, "CC BY 4.0"
                    ),
                    mask=MaskRef(
                        f"masks/{name}.png",
                        "manifest",
                        "lvis",
                        str(1000 + k),
                        cat,
                        tuple(float(v) for v in bbox),
                        float(masks[0].mean()),
                    ),
                    audio=AudioRef(
                        f"audio/{name}.wav",
                        "manifest",
                        "vggsound",
                        f"yt{k:05d}",
                        0,
                        cat,
                        "train",
                        16000,
                        seconds,
                        "CC BY 4.0",
                    ),
                )
            )
            k += 1
    path = root / "manifest.jsonl"
    with ManifestWriter(path) as wr:
        wr.write_all(records)
    return path
