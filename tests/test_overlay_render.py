"""Prediction overlays stay readable whatever the objects' colours.

``render_overlay`` draws the mask as a line of one colour inside a black halo and darkens the
rest of the image, so the outline shows on objects of any colour (also the line's own colour),
and captions are at least 14 px tall at the overlay's own size.
"""

from __future__ import annotations

import numpy as np
import pytest

from avsmodel.inference import COLOUR, render_overlay


def _scene(colour: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    img = np.full((96, 96, 3), 120, np.uint8)
    img[30:70, 20:60] = colour  # the object, exactly the mask
    mask = np.zeros((96, 96), bool)
    mask[30:70, 20:60] = True
    return img, mask


@pytest.mark.parametrize(
    "colour",
    [(40, 200, 60), (255, 48, 160), (255, 255, 255), (0, 0, 0), COLOUR, (128, 128, 128)],
)
def test_outline_is_halo_line_halo_on_any_object_colour(colour):
    img, mask = _scene(colour)
    out = np.asarray(render_overlay(img, mask, scale_to=None)).astype(int)
    row = out[50]  # a scanline through the object; its left edge is at x = 20
    left = [tuple(p) for p in row[16:25]]
    black, line = (0, 0, 0), tuple(COLOUR)
    # outside -> black halo -> the line -> black halo -> the object's inside
    runs = [left[0]]
    for p in left[1:]:
        if p != runs[-1]:
            runs.append(p)
    assert black in runs and line in runs
    i = runs.index(line)
    assert runs[i - 1] == black and runs[i + 1] == black, runs
    # pixels well inside keep the object's colour; pixels well outside are darkened
    assert tuple(out[50, 40]) == colour
    assert (out[5, 5] < 120).all()


@pytest.mark.parametrize("width", [48, 96, 300])
def test_caption_is_at_least_14_px_tall(width):
    img, mask = _scene((40, 200, 60))
    img = np.resize(img, (width, width, 3)).astype(np.uint8)
    mask = np.resize(mask, (width, width))
    out = np.asarray(render_overlay(img, mask, "ground truth: dog\nHg", scale_to=384)).astype(int)
    text = (out >= 128).all(-1)  # white glyphs (and their anti-aliased edges) on black
    band = np.flatnonzero(((out <= 10).all(-1)).mean(1) > 0.5)
    band = band[: int(np.argmax(np.diff(band) > 1)) + 1] if (np.diff(band) > 1).any() else band
    rows = np.flatnonzero(text[: band[-1] + 1, 2:-2].any(1))
    lines = np.split(rows, np.flatnonzero(np.diff(rows) > 2) + 1)
    assert len(lines) == 2  # two caption lines
    assert all(int(ln[-1] - ln[0]) + 1 >= 14 for ln in lines), [len(ln) for ln in lines]
