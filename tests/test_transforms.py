"""SAM input transform (resize longest side, normalise, pad) and the way back."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from segment_anything.utils.transforms import ResizeLongestSide

from avsmodel.transforms import SamTransform

MEAN = np.array([123.675, 116.28, 103.53])
STD = np.array([58.395, 57.12, 57.375])


def _image(h=60, w=100, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_image_resize_normalise_pad():
    t = SamTransform(128)
    img = _image()
    x, (h, w) = t.image(img)
    assert x.shape == (3, 128, 128) and (h, w) == (77, 128)  # 60 * 128 / 100 = 76.8 -> 77
    resized = ResizeLongestSide(128).apply_image(img)  # SAM's own resize
    expect = (resized.astype(np.float64) - MEAN) / STD
    np.testing.assert_allclose(x[:, :h, :w].permute(1, 2, 0).numpy(), expect, atol=1e-5)
    assert torch.all(x[:, h:, :] == 0) and torch.all(x[:, :, w:] == 0)


def test_mask_nearest_and_padding():
    t = SamTransform(128)
    m = np.zeros((60, 100), dtype=bool)
    m[10:30, 20:50] = True
    out = t.mask(m)
    assert out.shape == (128, 128) and out.dtype == torch.float32
    assert set(out.unique().tolist()) <= {0.0, 1.0}
    assert out[77:].sum() == 0
    # Nearest resize keeps the box's area ratio (up to one-pixel edges).
    area = out.sum().item() / (77 * 128)
    assert area == pytest.approx(m.mean(), abs=0.02)
    assert out[int(20 * 128 / 100), int(35 * 128 / 100)] == 1


def test_postprocess_roundtrip():
    t = SamTransform(128)
    m = np.zeros((60, 100), dtype=bool)
    m[10:40, 30:80] = True
    padded = t.mask(m)
    small = torch.nn.functional.interpolate(padded[None, None], size=(32, 32), mode="area")
    logits = (small - 0.5) * 20
    back = t.postprocess(logits, (77, 128), (60, 100))
    assert back.shape == (1, 1, 60, 100)
    agree = ((back[0, 0] > 0).numpy() == m).mean()
    assert agree > 0.97


def test_rejects_bad_inputs():
    t = SamTransform(64)
    with pytest.raises(ValueError, match="uint8"):
        t.image(np.zeros((10, 10, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="HxW"):
        t.mask(np.zeros((10, 10, 3), dtype=bool))
