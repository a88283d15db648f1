"""Looks and sounds of the demo world's categories (see :mod:`avsynth.testing.world`).

Category ``i`` is drawn as shape ``SHAPES[i % 8]`` in a colour that shifts every 8 categories
(so shape/colour pairs stay distinct), and sounds like a harmonic complex tone with a
category-specific fundamental, spectral tilt and amplitude-modulation rate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from avsynth.sources.images import decode_segmentation
from avsynth.testing.media import mask_to_rle

__all__ = [
    "COLOURS",
    "SHAPES",
    "category_sound",
    "draw_shape",
    "look_colour",
    "look_shape",
    "render_image",
]

SHAPES = ("disc", "square", "triangle", "ring", "cross", "stripes", "diamond", "hexagon")
COLOURS = (
    (220, 40, 40), (40, 180, 60), (50, 80, 220), (235, 210, 40),
    (200, 50, 200), (40, 200, 210), (240, 130, 30), (245, 245, 245),
)  # fmt: skip


# ----------------------------------------------------------------------------- looks


def look_shape(index: int) -> str:
    """Shape name of category ``index``."""
    return SHAPES[index % len(SHAPES)]


def look_colour(index: int) -> tuple[int, int, int]:
    """RGB colour of category ``index``."""
    # Shift the colour every len(SHAPES) categories: (shape, colour) pairs stay distinct.
    return COLOURS[(index + index // len(SHAPES)) % len(COLOURS)]


def draw_shape(kind: str, cx: float, cy: float, r: float, h: int, w: int):
    """One object of radius ``r`` centred at ``(cx, cy)`` in an ``h x w`` image.

    Returns:
        ``(segmentation, mask)``: LVIS polygons (an RLE dict for ``ring``, which has a hole)
        and the bool ``HxW`` mask pycocotools draws from them (so the two always agree).
    """
    if kind == "ring":
        yy, xx = np.mgrid[0:h, 0:w]
        d = np.hypot(xx + 0.5 - cx, yy + 0.5 - cy)
        m = (d <= r) & (d >= 0.55 * r)
        return mask_to_rle(m), m
    if kind in ("disc", "hexagon", "diamond"):
        n = {"disc": 32, "hexagon": 6, "diamond": 4}[kind]
        a = 2 * math.pi * np.arange(n) / n
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


def render_image(rng: np.random.Generator, cats: Sequence[int], h: int, w: int):
    """Draw categories ``cats`` (indices) as disjoint objects on a noisy grey background.

    Returns:
        ``(image uint8 HxWx3, [(index, segmentation, mask, (cx, cy, r)), ...])``.
    """
    img = _background(rng, h, w)
    objs = []
    for ci, (cx, cy, r) in zip(cats, _layout(rng, len(cats), h, w), strict=True):
        seg, m = draw_shape(look_shape(ci), cx, cy, r, h, w)
        colour = np.array(look_colour(ci), float) * rng.uniform(0.85, 1.05)
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
